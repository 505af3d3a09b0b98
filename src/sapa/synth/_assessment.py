"""Assessment data of the synthetic nation, drawn from a known truth.

Three programmes are simulated (sources in ``docs/synthetic-nation.md``):

* **MODO4** and **MODO9**, the monitoring of educational achievements in grades 4 and 9, in
  reading (READ), mathematical literacy (MLIT) and science literacy (SLIT), administered in
  April–May 2025 (``MODO4-2025``, ``MODO9-2025``). Today's grade-9 pupils sat the grade-4
  monitoring five years earlier: ``MODO4-2020`` gives them the same grade-4 pool and forms as
  ``MODO4-2025`` (its own booklets, ``MODO4-2020-F1-KK`` …), so the two grade-4 sittings are
  linked by common items and every grade-9 pupil has a prior attainment. Each domain's pool
  holds three blocks; each of three forms holds two blocks per domain (blocks 1+2, 2+3, 3+1), so
  every pair of blocks is linked through a form. A grade-4 form has the published 10 + 12 + 8 =
  30 items (blocks of 5, 6 and 4 items, 45 in the pool). Grade-9 counts are not published; blocks
  of 7, 8 and 5 items (40 per form, 60 in the pool) are assumed. Every form exists in Kazakh and
  Russian: six booklets per administration.
* **OZP**, the teachers' qualification test: 30 pedagogy items (PED) shared by everyone plus 70
  content items of the teacher's main subject, one booklet per subject and language.

Item parameters are drawn once per nation from ``stream(seed, -1, "items")`` and rounded to three
decimals, so the truth written beside the data is exactly the one simulated. Every parameter is
on the logistic metric (``D = 1``): ``P(X = 1 | θ) = g + (1 − g)·σ(a·(θ − b))``; partial-credit
items follow the GPCM with step difficulties ``b1``, ``b2`` (Muraki, 1992).

Published MODO forms use single-answer items only (30 points for 30 items). The synthetic forms
mix about 60% four-option choice items (3PL, lower asymptote near 0.2), 25% constructed-response
items (2PL) and 15% partial-credit items (GPCM, 0–2 points), so that every model of
:mod:`sapa.irt` is exercised. In each grade two or three dichotomous items are planted with DIF:
their Russian version is 0.5–0.7 logits harder or easier; every other item is invariant.

A pupil's proficiency in domain ``d`` (in pupil SD units, national mean near 0) is

``θ_d = region shift + school quality + pupil effects + language gap + sex gap_d + e_d``

with the school quality of the workforce stage, low income −0.2, special needs −0.5, socially
vulnerable −0.15, classes not taught in Russian −0.1 (they sit the Kazakh version), girls +0.15
in reading, and within-school residuals ``e`` of variance 0.9 correlated 0.72 across domains. The
between-school part has a variance of about 0.1 in the synthetic nation, so the national SD is
about 1 and the three domains correlate about 0.75. Three per cent of pupils are absent; 5% of
the presented items are omitted at random (1% in the teachers' test, where omitted = wrong).

**Prior attainment and the true value-added.** Write a grade-9 pupil ``i`` of school ``j`` in
region ``r`` as ``θ9_d = s_r + q_j + p_d``, where ``s_r`` is the region shift, ``q_j`` the school
quality and ``p_d`` the pupil's own part (pupil effects, language and sex gaps and ``e_d``).
Their grade-4 proficiency in 2020 is

``θ4_d = ρ·p_d / √0.9 + √(1 − ρ²)·z_d``,  ``ρ = 0.7``,

with ``z`` standard normal, correlated 0.72 across domains like ``e`` and independent of
everything else, and √0.9 the SD of ``e_d`` (so θ4 has an SD of about 1 and correlates 0.7 with
the pupil's own part). θ4 carries nothing of the grade-9 school or region. Because ``(θ9, θ4)``
are jointly normal given the context (sex, low income, special needs, socially vulnerable,
language of instruction), ``E[θ9_d | θ4, context, school j] = α + β'θ4 + γ'context + s_r + q_j``
exactly, with one ``β, γ`` for the nation. The **true value-added** of school ``j`` in domain
``d`` is therefore ``s_r + q_j`` (``region_shift + quality`` of ``truth/schools.csv``, the same in
every domain), up to the national constant ``α``: a random-intercept model of θ9 on θ4 and the
context estimates its deviation from the mean of the schools.

References
----------
Muraki, E. (1992). A generalized partial credit model. Applied Psychological Measurement 16,
159–176.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sapa._files import atomic_destination
from sapa.domain.assessment import DEFAULT_IRT_MODEL
from sapa.errors import DataValidationError, Problem
from sapa.irt.models import ItemBank
from sapa.irt.simulate import simulate_responses
from sapa.store.columnar import ResponseWriter
from sapa.synth._frame import SUBJECTS, TEACHING_SUBJECT_SHARES, RegionFrame, allocate, stream
from sapa.synth._targets import REFERENCE_DATE

__all__ = ["DOMAINS", "PASS_THRESHOLDS", "AssessmentSimulation"]

DOMAINS = ("READ", "MLIT", "SLIT")
"""The monitoring's domains, in booklet order."""

PASS_THRESHOLDS = {
    "pedagogue": 50.0,
    "pedagogue_moderator": 60.0,
    "pedagogue_expert": 70.0,
    "pedagogue_researcher": 80.0,
    "pedagogue_master": 90.0,
}
"""OZP pass threshold in percent by the category the test is taken for (National Testing Centre)."""

_LANGUAGES = ("kk", "ru")
_YEAR = 2025
_PRIOR_YEAR = 2020
_N_BLOCKS = 3
_MONITORING_WINDOW = (dt.date(2025, 4, 21), dt.date(2025, 5, 8))
_PRIOR_WINDOW = (dt.date(2020, 4, 20), dt.date(2020, 5, 7))
_OZP_WINDOW = (dt.date(2025, 1, 6), dt.date(2025, 6, 30))
_OZP_PEDAGOGY_ITEMS = 30
_OZP_CONTENT_ITEMS = 70
_OZP_LONG_SUBJECTS = frozenset({"MATH", "PHYS", "CHEM", "INF"})
"""Subjects whose OZP lasts 240 instead of 210 minutes (National Testing Centre)."""

_MONITORING_TYPES = (("multiple_choice", 0.60), ("constructed", 0.25), ("partial_credit", 0.15))
_OZP_TYPES = (("multiple_choice", 0.70), ("multiple_response", 0.30))
_STRANDS = {
    "READ": ("locating information", "interpreting", "evaluating and reflecting"),
    "MLIT": ("number and quantity", "space and shape", "data and uncertainty"),
    "SLIT": ("living systems", "physical systems", "earth and space systems"),
}
_OPTIONS = {"multiple_choice": 4, "multiple_response": 6}
_MONITORING_DIFFICULTY = (0.0, 0.8)
"""Mean and SD of the monitoring items' b: centred on the pupils of the grade."""
_OZP_DIFFICULTY = (-0.6, 0.9)
"""Mean and SD of the OZP items' b: a teacher of average ability scores about 66%, so about half
of the sitters pass (41–64% passed in 2018–2020, fewer for higher categories)."""

_ABSENCE = 0.03
_OMISSION = 0.05
_OZP_OMISSION = 0.01
_PUPIL_EFFECTS = {"low_income": -0.2, "special_needs": -0.5, "socially_vulnerable": -0.15}
_KAZAKH_MEDIUM_GAP = -0.1
_GIRLS_READING_GAP = 0.15
_WITHIN_VARIANCE = 0.9
_WITHIN_CORRELATION = 0.72
_PRIOR_CORRELATION = 0.7
"""ρ: correlation of a grade-9 pupil's grade-4 proficiency with their own part of θ9."""
_SITTER_COLUMNS = (
    "teacher_code",
    "tested_on",
    "target_category",
    "main_subject",
    "language",
    "ability",
)
_PUPIL_TRUTH = pa.schema(
    [
        pa.field("student_code", pa.string(), nullable=False),
        pa.field("organization_code", pa.string(), nullable=False),
        pa.field("administration_code", pa.string(), nullable=False),
        pa.field("booklet_code", pa.string()),
        *(pa.field(f"theta_{domain.lower()}", pa.float64(), nullable=False) for domain in DOMAINS),
        pa.field("prior_booklet_code", pa.string()),
        *(pa.field(f"prior_theta_{domain.lower()}", pa.float64()) for domain in DOMAINS),
    ]
)


@dataclass(frozen=True)
class _Programme:
    """A programme and one of its administrations (2025 unless ``year`` says otherwise)."""

    code: str
    name: str
    kind: str
    population: str
    grade: int | None
    window: tuple[dt.date, dt.date]
    reviewed_on: dt.date
    year: int = _YEAR

    @property
    def administration(self) -> str:
        """Code of the administration, e.g. ``MODO4-2025``."""
        return f"{self.code}-{self.year}"

    @property
    def files_created_at(self) -> dt.datetime:
        """When the response files are written: the evening of the last testing day, or of the
        snapshot day while the window is still open. Fixed, so output is reproducible."""
        return dt.datetime.combine(min(self.window[1], REFERENCE_DATE), dt.time(18, 0))


_MODO4 = _Programme(
    "MODO4",
    "Monitoring of educational achievements, grade 4",
    "achievement_monitoring",
    "students",
    4,
    _MONITORING_WINDOW,
    dt.date(2025, 2, 28),
)
_MODO9 = _Programme(
    "MODO9",
    "Monitoring of educational achievements, grade 9",
    "achievement_monitoring",
    "students",
    9,
    _MONITORING_WINDOW,
    dt.date(2025, 2, 28),
)
_OZP = _Programme(
    "OZP",
    "Assessment of pedagogues' knowledge (qualification test)",
    "teacher_qualification",
    "teachers",
    None,
    _OZP_WINDOW,
    dt.date(2024, 12, 16),
)
_MODO4_PRIOR = replace(_MODO4, window=_PRIOR_WINDOW, year=_PRIOR_YEAR)
"""The grade-4 monitoring of 2020, sat by the pupils in grade 9 in 2025."""
_MONITORING = (
    (_MODO4, (5, 6, 4), 75),
    (_MODO9, (7, 8, 5), 90),
)
"""Monitoring programmes with their items per block (READ, MLIT, SLIT) and time limit (minutes;
grade 9's 90 is assumed)."""
_SITTINGS = (*_MONITORING, (_MODO4_PRIOR, *_MONITORING[0][1:]))
"""Monitoring administrations with booklets: the 2025 ones and MODO4-2020 (the MODO4 pool)."""


@dataclass(frozen=True)
class _Booklet:
    """One booklet: its items in order, split into parts that measure one proficiency each.

    ``parts`` pairs a column of the sitters' proficiency matrix with the bank of the booklet's
    items measuring it (in the booklet's language version). ``form`` is the monitoring form
    (1–3) and ``subject`` the OZP content subject; each is left empty (0, "") where it does not
    apply.
    """

    code: str
    programme: _Programme
    language: str
    time_limit_minutes: int
    items: tuple[str, ...]
    parts: tuple[tuple[int, ItemBank], ...]
    form: int = 0
    subject: str = ""


def _draw_pool(
    rng: np.random.Generator,
    prefix: str,
    subject: str,
    n_items: int,
    types: tuple[tuple[str, float], ...],
    difficulty: tuple[float, float],
    strands: tuple[str, ...],
) -> pd.DataFrame:
    """True parameters of one item pool (Kazakh version), one row per item, rounded to 3 decimals.

    Item types in the shares of ``types``, in random order. Slopes are log-normal around 1.1
    within 0.6–2.0; difficulties normal with ``difficulty = (mean, sd)``, within 2 logits of the
    mean; lower asymptotes of four-option choice items Beta(20, 80) (mean 0.2); partial-credit
    steps lie 0.3–0.9 logits either side of the item's location ``b``; multiple-response items
    have two or three keyed options out of six. Content areas cycle through ``strands``.
    """
    counts = allocate(n_items, np.array([share for _, share in types]))
    item_type = rng.permutation(np.repeat([name for name, _ in types], counts))
    a = np.round(np.clip(np.exp(rng.normal(np.log(1.1), 0.3, n_items)), 0.6, 2.0), 3)
    mean, sd = difficulty
    b = np.round(np.clip(rng.normal(mean, sd, n_items), mean - 2, mean + 2), 3)
    guess = np.round(rng.beta(20, 80, n_items), 3)
    step = np.round(rng.uniform(0.3, 0.9, n_items), 3)
    keys = rng.integers(1, 5, n_items)
    n_keyed = rng.integers(2, 4, n_items)
    chosen = np.argsort(rng.random((n_items, 6)), axis=1)
    partial = item_type == "partial_credit"
    choice = item_type == "multiple_choice"
    response = item_type == "multiple_response"
    answer_key = [
        str(keys[j])
        if choice[j]
        else "+".join(str(o + 1) for o in sorted(chosen[j, : n_keyed[j]]))
        if response[j]
        else None
        for j in range(n_items)
    ]
    return pd.DataFrame(
        {
            "code": [f"{prefix}-{subject}-{j + 1:03d}" for j in range(n_items)],
            "subject_code": subject,
            "item_type": item_type,
            "model": [DEFAULT_IRT_MODEL[t] for t in item_type],
            "max_score": np.where(partial, 2, 1),
            "option_count": pd.array([_OPTIONS.get(t) for t in item_type], dtype="Int64"),
            "answer_key": pd.Series(answer_key, dtype=object),
            "content_area": [strands[j % len(strands)] for j in range(n_items)],
            "a": a,
            "b": b,
            "b1": np.where(partial, np.round(b - step, 3), np.nan),
            "b2": np.where(partial, np.round(b + step, 3), np.nan),
            "g": np.where(choice, guess, 0.0),
            "dif_shift": 0.0,
        }
    )


def _plant_dif(rng: np.random.Generator, items: pd.DataFrame) -> None:
    """Give two or three dichotomous items of moderate difficulty and discrimination (so the
    effect is detectable) a Russian version 0.5–0.7 logits harder or easier, in place; signs
    alternate so both directions occur."""
    candidates = np.flatnonzero(
        (items["max_score"] == 1).to_numpy()
        & (items["a"] >= 0.9).to_numpy()
        & (items["b"].abs() <= 1.0).to_numpy()
    )
    n_dif = int(rng.integers(2, 4))
    chosen = np.sort(rng.choice(candidates, n_dif, replace=False))
    first = rng.choice([-1.0, 1.0])
    signs = np.where(np.arange(n_dif) % 2 == 0, first, -first)
    shifts = np.round(signs * rng.uniform(0.5, 0.7, n_dif), 3)
    items.iloc[chosen, items.columns.get_loc("dif_shift")] = shifts


def _language_bank(items: pd.DataFrame, language: str) -> ItemBank:
    """The bank of ``items`` as delivered in ``language`` (Russian: DIF shifts applied)."""
    shift = items["dif_shift"].to_numpy() if language == "ru" else 0.0
    steps = items[["b1", "b2"]].to_numpy()
    dichotomous = np.isnan(steps[:, 0])
    b = np.where(
        dichotomous[:, None],
        np.column_stack([np.round(items["b"].to_numpy() + shift, 3), np.full(len(items), np.nan)]),
        steps,
    )
    return ItemBank.from_irt(
        items["a"].to_numpy(),
        b,
        items["g"].to_numpy(),
        models=list(items["model"]),
        names=list(items["code"]),
    )


class AssessmentSimulation:
    """The assessment side of the synthetic nation: item banks, booklets, responses and truth.

    The one stateful object that spans regions. It holds one :class:`ResponseWriter` per booklet
    (``out_dir/responses/<booklet code>.parquet``), to which each region's responses are
    appended, and the pupils' true proficiencies (``out_dir/truth/pupils.parquet``, appended
    region by region), so memory stays bounded by the largest region. :meth:`finish` completes
    the files and writes the item truth (``out_dir/truth/items.csv``, see :meth:`item_truth`).

    ``truth/pupils.parquet`` has one row per grade-4 and grade-9 pupil: ``student_code``,
    ``organization_code``, ``administration_code`` (of the 2025 sitting), ``booklet_code``
    (empty for absent pupils), ``theta_read``, ``theta_mlit``, ``theta_slit`` (true
    proficiency, logistic metric of the item truth, D = 1), and for grade-9 pupils their
    MODO4-2020 sitting: ``prior_booklet_code`` (empty if absent) and ``prior_theta_read``,
    ``prior_theta_mlit``, ``prior_theta_slit`` (true grade-4 proficiency on the MODO4 scale;
    empty for grade-4 pupils).

    Responses depend only on ``(seed, region)``; with the same seed and the same order of calls
    every file is byte-identical. Used as a context manager, an error inside the block removes
    the unfinished files.

    Parameters
    ----------
    seed : int
        The nation's seed; item parameters come from ``stream(seed, -1, "items")``.
    out_dir : Path
        Folder of the generated data; ``responses/`` and ``truth/`` are created inside.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     simulation = AssessmentSimulation(7, Path(folder))
    ...     tables = simulation.national_tables()
    ...     files = simulation.finish()
    >>> sorted(tables["booklet"]["code"])[:2]
    ['MODO4-2020-F1-KK', 'MODO4-2020-F1-RU']
    >>> len(files["response_file"])
    0
    """

    def __init__(self, seed: int, out_dir: Path) -> None:
        self.seed = seed
        self.out_dir = Path(out_dir)
        rng = stream(seed, -1, "items")
        pools = []
        for programme, blocks, _ in _MONITORING:
            grade_pools = [
                _draw_pool(
                    rng,
                    programme.code,
                    domain,
                    _N_BLOCKS * size,
                    _MONITORING_TYPES,
                    _MONITORING_DIFFICULTY,
                    _STRANDS[domain],
                )
                for domain, size in zip(DOMAINS, blocks, strict=True)
            ]
            grade_items = pd.concat(grade_pools, ignore_index=True)
            _plant_dif(rng, grade_items)
            pools.append(grade_items)
        for subject, n_items, area in (
            ("PED", _OZP_PEDAGOGY_ITEMS, "pedagogy and teaching methods"),
            *((s, _OZP_CONTENT_ITEMS, "subject content") for s in TEACHING_SUBJECT_SHARES),
        ):
            pools.append(
                _draw_pool(rng, _OZP.code, subject, n_items, _OZP_TYPES, _OZP_DIFFICULTY, (area,))
            )
        self._items = pd.concat(pools, ignore_index=True)
        self._booklets = self._design()
        self._writers: dict[str, ResponseWriter] = {}
        with ExitStack() as stack:
            temporary = stack.enter_context(
                atomic_destination(self.out_dir / "truth" / "pupils.parquet")
            )
            self._pupil_truth = stack.enter_context(
                pq.ParquetWriter(temporary, _PUPIL_TRUTH, compression="zstd")
            )
            self._files = stack.pop_all()

    # ------------------------------------------------------------------ design
    def _design(self) -> dict[str, _Booklet]:
        """Every booklet of the four administrations, keyed by code."""
        booklets = {}
        items = self._items.set_index("code", drop=False)
        for programme, blocks, minutes in _SITTINGS:
            pool = items[items["code"].str.startswith(f"{programme.code}-")]
            banks = {language: _language_bank(pool, language) for language in _LANGUAGES}
            for form in range(1, _N_BLOCKS + 1):
                for language, bank in banks.items():
                    parts = []
                    for d, (domain, size) in enumerate(zip(DOMAINS, blocks, strict=True)):
                        domain_items = pool.index[pool["subject_code"] == domain]
                        chosen = [
                            code
                            for block in (form - 1, form % _N_BLOCKS)
                            for code in domain_items[block * size : (block + 1) * size]
                        ]
                        parts.append((d, bank.subset(chosen)))
                    code = f"{programme.administration}-F{form}-{language.upper()}"
                    booklets[code] = _Booklet(
                        code=code,
                        programme=programme,
                        language=language,
                        time_limit_minutes=minutes,
                        items=tuple(c for _, part in parts for c in part.names),
                        parts=tuple(parts),
                        form=form,
                    )
        pedagogy = items[items["code"].str.startswith(f"{_OZP.code}-PED-")]
        for subject in TEACHING_SUBJECT_SHARES:
            content = items[items["code"].str.startswith(f"{_OZP.code}-{subject}-")]
            for language in _LANGUAGES:
                bank = _language_bank(pd.concat([content, pedagogy]), language)
                code = f"{_OZP.administration}-{subject}-{language.upper()}"
                booklets[code] = _Booklet(
                    code=code,
                    programme=_OZP,
                    language=language,
                    time_limit_minutes=240 if subject in _OZP_LONG_SUBJECTS else 210,
                    items=bank.names,
                    parts=((0, bank),),
                    subject=subject,
                )
        return booklets

    # ------------------------------------------------------------------ tables
    def national_tables(self) -> dict[str, pd.DataFrame]:
        """Import-ready tables of the assessment side, keyed by entity name.

        ``subject``, ``assessment_programme``, ``administration``, ``item``, ``item_version``
        (Kazakh and Russian of every item), ``booklet`` and ``booklet_item``, with the columns
        of ``docs/data-formats.md`` in its order.
        """
        programmes = (_MODO4, _MODO9, _OZP)
        administrations = (_MODO4_PRIOR, *programmes)
        items = self._items
        versions = [(code, language) for code in items["code"] for language in _LANGUAGES]
        reviewed = {p.code: p.reviewed_on for p in programmes}
        booklets = list(self._booklets.values())
        return {
            "subject": pd.DataFrame(SUBJECTS, columns=["code", "name_en", "name_kk", "name_ru"]),
            "assessment_programme": pd.DataFrame(
                {
                    "code": [p.code for p in programmes],
                    "name": [p.name for p in programmes],
                    "kind": [p.kind for p in programmes],
                    "population": [p.population for p in programmes],
                    "grade": pd.array([p.grade for p in programmes], dtype="Int64"),
                }
            ),
            "administration": pd.DataFrame(
                {
                    "code": [p.administration for p in administrations],
                    "assessment_programme_code": [p.code for p in administrations],
                    "year": [p.year for p in administrations],
                    "cycle": pd.array([1] * len(administrations), dtype="Int64"),
                    "starts_on": [p.window[0] for p in administrations],
                    "ends_on": [p.window[1] for p in administrations],
                    "mode": "computer",
                }
            ),
            "item": pd.DataFrame(
                {
                    "code": items["code"],
                    "subject_code": items["subject_code"],
                    "item_type": items["item_type"],
                    "max_score": items["max_score"].astype(np.int64),
                    "option_count": items["option_count"],
                    "answer_key": items["answer_key"],
                    "content_area": items["content_area"],
                }
            ),
            "item_version": pd.DataFrame(
                {
                    "item_code": [code for code, _ in versions],
                    "language": [language for _, language in versions],
                    "bank_reference": [
                        f"NTC-BANK/{code.split('-')[0]}/{code}/{language}"
                        for code, language in versions
                    ],
                    "reviewed_on": [reviewed[code.split("-")[0]] for code, _ in versions],
                }
            ),
            "booklet": pd.DataFrame(
                {
                    "code": [b.code for b in booklets],
                    "administration_code": [b.programme.administration for b in booklets],
                    "language": [b.language for b in booklets],
                    "time_limit_minutes": pd.array(
                        [b.time_limit_minutes for b in booklets], dtype="Int64"
                    ),
                }
            ),
            "booklet_item": pd.DataFrame(
                [
                    (b.code, position, code)
                    for b in booklets
                    for position, code in enumerate(b.items, start=1)
                ],
                columns=["booklet_code", "position", "item_code"],
            ),
        }

    # --------------------------------------------------------------- responses
    def _append(self, booklet: _Booklet, person_codes: np.ndarray, values: np.ndarray) -> None:
        """Append rows to the booklet's response file, opening it on first use."""
        writer = self._writers.get(booklet.code)
        if writer is None:
            path = self.out_dir / "responses" / f"{booklet.code}.parquet"
            writer = self._files.enter_context(ResponseWriter(path, booklet.items))
            self._writers[booklet.code] = writer
        writer.append(list(person_codes), values)

    def _respond(
        self,
        rng: np.random.Generator,
        booklet: _Booklet,
        theta: np.ndarray,
        missing: float,
    ) -> np.ndarray:
        """Responses of persons with proficiencies ``theta`` (one column per part) to a booklet."""
        return np.hstack(
            [
                simulate_responses(bank, theta[:, column], rng=rng, missing=missing)
                for column, bank in booklet.parts
            ]
        )

    def _sit(
        self,
        rng: np.random.Generator,
        programme: _Programme,
        codes: np.ndarray,
        theta: np.ndarray,
        language: np.ndarray,
    ) -> np.ndarray:
        """Pupils ``codes`` with proficiencies ``theta`` sitting one monitoring administration.

        3% are absent; the others sit a form drawn at random in their ``language`` (kk or ru).
        Responses are appended to the booklets' files. Returns each pupil's booklet code (None
        for the absent).
        """
        n = len(codes)
        tested = rng.random(n) >= _ABSENCE
        form = rng.integers(1, _N_BLOCKS + 1, n)
        assigned = np.full(n, None, dtype=object)
        for booklet in self._booklets.values():
            if booklet.programme is not programme:
                continue
            sitting = np.flatnonzero(
                tested & (form == booklet.form) & (language == booklet.language)
            )
            assigned[sitting] = booklet.code
            if sitting.size:
                values = self._respond(rng, booklet, theta[sitting], _OMISSION)
                self._append(booklet, codes[sitting], values)
        return assigned

    def add_region(self, frame: RegionFrame) -> None:
        """Simulate the region's grade-4 and grade-9 pupils sitting the 2025 monitoring, and the
        grade-9 pupils sitting MODO4-2020 five years earlier.

        Each pupil gets a true proficiency per domain and each grade-9 pupil a grade-4 prior
        (see the module docstring); at each sitting 3% are absent, the others sit a form drawn
        at random in their class language (Russian-medium classes the Russian version, every
        other class the Kazakh one). Responses are appended to the booklets' files and the
        proficiencies to the pupils' truth. The 2025 sittings draw from
        ``frame.rng("assessment")`` and the 2020 one from ``frame.rng("prior_assessment")``, so
        the result depends only on ``(seed, region)``.

        Parameters
        ----------
        frame : RegionFrame
            The region, with its ``students`` and ``schools`` (including ``quality``) frames.
        """
        rng = frame.rng("assessment")
        prior_rng = frame.rng("prior_assessment")
        quality = frame.schools.set_index("code")["quality"]
        within = _WITHIN_VARIANCE * np.full((len(DOMAINS), len(DOMAINS)), _WITHIN_CORRELATION)
        np.fill_diagonal(within, _WITHIN_VARIANCE)
        root = np.linalg.cholesky(within)
        for programme, _, _ in _MONITORING:
            pupils = frame.students[frame.students["grade"] == programme.grade]
            n = len(pupils)
            if not n:
                continue
            school = frame.plan.target.quality_shift + quality.loc[
                pupils["organization_code"]
            ].to_numpy(dtype=np.float64)
            base = school
            for column, effect in _PUPIL_EFFECTS.items():
                base = base + effect * pupils[column].to_numpy(dtype=bool, na_value=False)
            language = np.where(pupils["instruction_language"].to_numpy() == "ru", "ru", "kk")
            base = base + _KAZAKH_MEDIUM_GAP * (language == "kk")
            theta = base[:, None] + rng.standard_normal((n, len(DOMAINS))) @ root.T
            theta[:, 0] += _GIRLS_READING_GAP * (pupils["sex"].to_numpy() == "F")
            codes = pupils["code"].to_numpy()
            truth = {
                "student_code": codes,
                "organization_code": pupils["organization_code"].to_numpy(),
                "administration_code": np.full(n, programme.administration, dtype=object),
                "booklet_code": self._sit(rng, programme, codes, theta, language),
            }
            truth |= {f"theta_{d.lower()}": theta[:, k] for k, d in enumerate(DOMAINS)}
            prior = np.full_like(theta, np.nan)
            prior_booklet = np.full(n, None, dtype=object)
            if programme is _MODO9:
                scale = np.sqrt(_WITHIN_VARIANCE)
                noise = prior_rng.standard_normal((n, len(DOMAINS))) @ (root / scale).T
                rho = _PRIOR_CORRELATION
                prior = rho * (theta - school[:, None]) / scale + np.sqrt(1.0 - rho**2) * noise
                prior_booklet = self._sit(prior_rng, _MODO4_PRIOR, codes, prior, language)
            truth["prior_booklet_code"] = prior_booklet
            truth |= {
                f"prior_theta_{d.lower()}": pa.array(prior[:, k], from_pandas=True)
                for k, d in enumerate(DOMAINS)
            }
            self._pupil_truth.write_table(pa.table(truth, schema=_PUPIL_TRUTH))

    def sit_qualification_test(self, frame: RegionFrame, sitters: pd.DataFrame) -> pd.DataFrame:
        """Simulate the region's teachers sitting the OZP-2025 qualification test.

        Each sitter answers the booklet of their main subject and language: 70 content items and
        the 30 shared pedagogy items, dichotomous (3PL choice, 2PL multiple-response items),
        with ability ``θ`` as given. Responses are appended to the booklets' files. Call it at
        most once per region: draws come from ``frame.rng("qualification_test")``.

        Parameters
        ----------
        frame : RegionFrame
            The region the teachers work in.
        sitters : DataFrame
            ``teacher_code``, ``tested_on`` (date), ``target_category`` (a key of
            :data:`PASS_THRESHOLDS`), ``main_subject`` (a key of ``TEACHING_SUBJECT_SHARES``),
            ``language`` (kk or ru) and ``ability`` (true θ, teacher SD units). A teacher sits
            once.

        Returns
        -------
        DataFrame
            Import-ready ``qualification_test_result`` rows in the sitters' order:
            ``teacher_code``, ``tested_on``, ``target_category``, ``score_percent`` (percent of
            the 100 items answered correctly, omitted = wrong, one decimal),
            ``threshold_percent`` and ``passed`` (score ≥ threshold).

        Raises
        ------
        DataValidationError
            If a column is missing or a category, subject or language is unknown.
        """
        _check_sitters(sitters)
        rng = frame.rng("qualification_test")
        subject = sitters["main_subject"].to_numpy()
        language = sitters["language"].to_numpy()
        ability = sitters["ability"].to_numpy(dtype=np.float64)[:, None]
        codes = sitters["teacher_code"].to_numpy()
        correct = np.zeros(len(sitters), dtype=np.int64)
        n_items = _OZP_CONTENT_ITEMS + _OZP_PEDAGOGY_ITEMS
        for booklet in self._booklets.values():
            if booklet.programme is not _OZP:
                continue
            sitting = np.flatnonzero((subject == booklet.subject) & (language == booklet.language))
            if sitting.size:
                values = self._respond(rng, booklet, ability[sitting], _OZP_OMISSION)
                self._append(booklet, codes[sitting], values)
                correct[sitting] = (values == 1).sum(axis=1)
        score = np.round(100.0 * correct / n_items, 1)
        threshold = sitters["target_category"].map(PASS_THRESHOLDS).to_numpy(dtype=np.float64)
        return pd.DataFrame(
            {
                "teacher_code": codes,
                "tested_on": sitters["tested_on"].to_numpy(),
                "target_category": sitters["target_category"].to_numpy(),
                "score_percent": score,
                "threshold_percent": threshold,
                "passed": score >= threshold,
            }
        )

    # ------------------------------------------------------------------- files
    def item_truth(self) -> pd.DataFrame:
        """The true parameters of every item version, as written to ``truth/items.csv``.

        One row per item and language: ``item_code``, ``language``, ``subject_code``,
        ``item_type``, ``model``, ``a``, ``b`` (GPCM: the location, the mean of the steps),
        ``b1``, ``b2`` (GPCM step difficulties, empty otherwise), ``g``, ``dif_shift`` (Russian
        ``b`` minus Kazakh ``b``; 0 for invariant items and every Kazakh version) and
        ``scaling`` (``D = 1``: the logistic metric, ``P = g + (1 − g)·σ(a·(θ − b))``).
        """
        frames = []
        for language in _LANGUAGES:
            version = self._items.rename(columns={"code": "item_code"})
            version.insert(1, "language", language)
            if language == "kk":
                version["dif_shift"] = 0.0
            else:
                version["b"] = np.round(version["b"] + version["dif_shift"], 3)
            frames.append(version)
        truth = pd.concat(frames, ignore_index=True)
        truth["scaling"] = 1.0
        columns = ["item_code", "language", "subject_code", "item_type", "model", "a", "b"]
        columns += ["b1", "b2", "g", "dif_shift", "scaling"]
        return truth.sort_values(["item_code", "language"], kind="stable")[columns]

    def finish(self) -> dict[str, pd.DataFrame]:
        """Complete every response file and the truth files.

        Returns
        -------
        dict of str to DataFrame
            ``{"response_file": ...}``: one import-ready row per written booklet file, with its
            path relative to ``out_dir``, SHA-256, shape and a fixed ``created_at`` (the end of
            the administration's window), so that output is reproducible.
        """
        with atomic_destination(self.out_dir / "truth" / "items.csv") as temporary:
            self.item_truth().to_csv(temporary, index=False, lineterminator="\n")
        self._files.close()
        rows = []
        for code in sorted(self._writers):
            info = self._writers[code].info
            booklet = self._booklets[code]
            rows.append(
                (
                    f"{code}-responses",
                    booklet.programme.administration,
                    code,
                    "responses",
                    info.path.relative_to(self.out_dir).as_posix(),
                    info.sha256,
                    info.n_persons,
                    info.n_items,
                    booklet.programme.files_created_at,
                )
            )
        columns = ["code", "administration_code", "booklet_code", "content", "path", "sha256"]
        columns += ["n_persons", "n_items", "created_at"]
        return {"response_file": pd.DataFrame(rows, columns=columns)}

    def __enter__(self) -> AssessmentSimulation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._files.__exit__(exc_type, exc, traceback)


def _check_sitters(sitters: pd.DataFrame) -> None:
    """Refuse sitters with missing columns or unknown categories, subjects or languages."""
    missing = [column for column in _SITTER_COLUMNS if column not in sitters.columns]
    if missing:
        raise DataValidationError(
            Problem("<sitters>", None, None, f"missing column(s): {', '.join(missing)}")
        )
    problems = []
    for column, allowed in (
        ("target_category", PASS_THRESHOLDS),
        ("main_subject", TEACHING_SUBJECT_SHARES),
        ("language", _LANGUAGES),
    ):
        unknown = sorted(set(sitters[column]) - set(allowed))
        if unknown:
            problems.append(
                Problem(
                    "<sitters>",
                    None,
                    column,
                    f"unknown value(s) {unknown}; expected one of {sorted(allowed)}",
                )
            )
    if problems:
        raise DataValidationError(problems)
