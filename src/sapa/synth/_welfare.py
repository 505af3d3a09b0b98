"""Welfare of the synthetic nation: meals, catering inspections, children's rights, parents.

One region's welfare tables are drawn from its schools and pupils (:func:`add_welfare`); the
national parent survey and its items are fixed (:func:`welfare_national_tables`). Every table has
its own random stream, ``welfare.<table>``, so changing one table leaves the others as they were.

Rates that no source gives are assumptions, stated here:

* meals (since 1 Sept 2023; see docs/synthetic-nation.md): every pupil of grades 1–4 is fed from the
  local budget, pupils of grades 5–11 from low-income or socially vulnerable families from the
  universal-education fund; two periods (the two half-years of 2024/25). A row is short of its
  eligible pupils with probability 3% (local budget) or 10% (fund: late documents), by 2–20%.
  The cost per child-day is the region's ``meal_cost_tenge`` times a school factor
  ``exp(N(0, 0.05²))``;
* catering inspections: 1 + Binomial(2, 0.45) a school per year; violations Poisson(0.2), or
  Poisson(2.5) in the 12% of schools with a troubled kitchen;
* child-rights incidents: 1.5 documented cases per 1,000 pupils per school year, 45% bullying and
  20% cyberbullying; severity by kind; high and critical cases are often referred to the police
  or a child-protection body; the others close after ``3 + Gamma(2, 10)`` days;
* trustee councils: 9 + Poisson(2) members (at least 9 by Order No. 355 of 27 July 2017),
  2–4 meetings a year, 15% of members absent on average;
* appeals: 8 per 1,000 pupils a year (the 12 months before the snapshot), 85% about one school;
  answered within the 30-day deadline (88%), late (9%) or never (3%).

Inspections, council meetings and incident reports fall on school days (:data:`SCHOOL_DAYS`), a
school's inspections and meetings spread over the year.

The parent survey follows a graded response model (Samejima 1969) whose truth is public
(:data:`SURVEY_ITEMS`, :data:`SATISFACTION_EFFECTS`, :func:`survey_item_bank`), so that an
analysis can be checked against it. Respondent ``i`` of school ``s`` has the latent satisfaction

.. math::

    θ_i = β_0 + β_q q_s + β_2 (\\mathrm{shifts}_s − 1) + β_3 \\mathrm{three\\_shift}_s
          + β_e \\mathrm{emergency}_s + β_m \\mathrm{meal\\_gap}_s + u_s + ε_i,
    \\quad u_s ∼ N(0, σ_s^2),\\ ε_i ∼ N(0, 1),

where ``q_s`` is the school's ``quality`` and ``meal_gap_s`` is 1 when some meal row of the school
fed fewer pupils than were eligible. Answers are the GRM categories ``0 … 4`` plus one
(``P(X ≥ k | θ) = σ(a θ + d_k)``, logit metric, D = 1). A 3% simple random sample of pupils
stands for the respondents: one parent per sampled pupil answers every item.

References
----------
Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores.
Psychometrika Monograph No. 17.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sapa.irt.models import ItemBank
from sapa.irt.simulate import simulate_responses
from sapa.synth._frame import RegionFrame
from sapa.synth._targets import REFERENCE_DATE, SCHOOL_YEAR_START

__all__ = [
    "MEAL_PERIODS",
    "RESPONDENT_SHARE",
    "SATISFACTION_EFFECTS",
    "SCHOOL_DAYS",
    "SURVEY_CODE",
    "SURVEY_ITEMS",
    "add_welfare",
    "survey_item_bank",
    "welfare_national_tables",
]

SCHOOL_YEAR_END = dt.date(2025, 5, 24)
"""Last teaching day of 2024/25 (grades 1–11)."""

MEAL_PERIODS = (
    (SCHOOL_YEAR_START, dt.date(2024, 12, 27)),
    (dt.date(2025, 1, 8), SCHOOL_YEAR_END),
)
"""The two half-years of 2024/25 for which free meals are reported."""

_BREAKS = ((dt.date(2024, 10, 28), 7), (dt.date(2024, 12, 30), 9), (dt.date(2025, 3, 19), 11))
_PUBLIC_HOLIDAYS = (
    "2024-10-25",
    "2024-12-16",
    "2024-12-17",
    "2025-01-01",
    "2025-01-02",
    "2025-01-07",
    "2025-03-10",
    "2025-05-01",
    "2025-05-07",
    "2025-05-09",
)
SCHOOL_DAYS = np.busdaycalendar(
    holidays=np.concatenate(
        [
            np.array(_PUBLIC_HOLIDAYS, dtype="datetime64[D]"),
            *(np.datetime64(first, "D") + np.arange(days) for first, days in _BREAKS),
        ]
    )
)
"""Days with lessons in 2024/25: weekdays other than public holidays and the autumn, winter and
spring breaks. Inspections, council meetings and incident reports fall on these days."""

SURVEY_CODE = "PS-2025-NAT"
"""Code of the national parent survey of spring 2025."""

SURVEY_ITEMS: tuple[tuple[str, str, float, tuple[float, float, float, float]], ...] = (
    (
        "Балам мектепте қауіпсіз сезінеді.",
        "Мой ребёнок чувствует себя в школе в безопасности.",
        1.8,
        (4.1, 3.1, 1.7, -0.1),
    ),
    (
        "Мұғалімдер сабақты түсінікті әрі қызықты өткізеді.",
        "Учителя объясняют материал понятно и интересно.",
        2.0,
        (3.9, 2.8, 1.4, -0.4),
    ),
    (
        "Мұғалімдер баламның үлгерімі туралы уақытылы хабарлайды.",
        "Учителя своевременно сообщают об успеваемости ребёнка.",
        1.5,
        (4.0, 3.0, 1.6, 0.0),
    ),
    (
        "Мектеп ата-аналардың пікірін ескереді.",
        "Школа учитывает мнение родителей.",
        1.7,
        (3.5, 2.4, 1.0, -0.7),
    ),
    (
        "Мектептегі тамақ сапалы әрі баланың жасына сай.",
        "Питание в школе качественное и соответствует возрасту ребёнка.",
        1.3,
        (3.1, 2.0, 0.6, -1.0),
    ),
    (
        "Мектеп ғимараты, сыныптары мен дәретханалары таза әрі жайлы.",
        "Здание школы, классы и туалеты чистые и удобные.",
        1.4,
        (3.3, 2.1, 0.7, -0.9),
    ),
    (
        "Мектепте буллингтің алдын алу үшін тиімді шаралар қолданылады.",
        "Школа принимает действенные меры против травли (буллинга).",
        1.6,
        (3.6, 2.5, 1.1, -0.6),
    ),
    (
        "Сыныптар заманауи құрал-жабдықпен жабдықталған.",
        "Кабинеты оснащены современным оборудованием.",
        1.2,
        (3.0, 1.8, 0.4, -1.2),
    ),
    (
        "Баламның оқу жүктемесі шамадан тыс емес.",
        "Учебная нагрузка ребёнка не чрезмерна.",
        0.9,
        (3.4, 2.2, 0.8, -0.8),
    ),
    (
        "Жалпы алғанда мектептің жұмысына көңілім толады.",
        "В целом я доволен (довольна) работой школы.",
        2.4,
        (4.5, 3.4, 1.8, -0.2),
    ),
)
"""The survey's items: ``(text_kk, text_ru, slope a, GRM intercepts d_1 > … > d_4)``, in
questionnaire order; item ``k`` (1-based) has the code ``PS-2025-NAT-Qkk``. Parameters are on the
logit metric (D = 1)."""

SATISFACTION_EFFECTS = {
    "intercept": 0.2,
    "quality": 0.6,
    "extra_shift": -0.15,
    "three_shift": -0.3,
    "emergency": -0.5,
    "meal_gap": -0.3,
    "school_sd": 0.25,
}
"""True coefficients of the latent satisfaction (module docstring): ``β_0``, ``β_q``, ``β_2`` per
shift beyond the first, ``β_3``, ``β_e``, ``β_m`` and the school random-effect SD ``σ_s``; the
respondent residual has SD 1."""

RESPONDENT_SHARE = 0.03
"""Share of pupils whose parent answers the survey."""

_INCIDENT_RATE = 1.5
_FEEDBACK_RATE = 8.0
_FEEDBACK_WINDOW_START = dt.date(2024, 6, 1)
_FEEDBACK_DEADLINE_DAYS = 30

_INCIDENT_KINDS = (
    "bullying",
    "cyberbullying",
    "violence",
    "sexual_violence",
    "neglect",
    "self_harm",
    "discrimination",
    "other",
)
_INCIDENT_KIND_P = (0.45, 0.20, 0.12, 0.02, 0.08, 0.04, 0.04, 0.05)
_SEVERITIES = ("low", "medium", "high", "critical")
_SEVERITY_P = np.array(
    [
        [0.45, 0.40, 0.13, 0.02],
        [0.40, 0.40, 0.17, 0.03],
        [0.15, 0.40, 0.35, 0.10],
        [0.00, 0.10, 0.45, 0.45],
        [0.35, 0.40, 0.20, 0.05],
        [0.00, 0.20, 0.50, 0.30],
        [0.50, 0.35, 0.13, 0.02],
        [0.50, 0.35, 0.13, 0.02],
    ]
)
"""Severity probabilities (low, medium, high, critical) for each incident kind, in kind order."""
_REFERRAL_P = np.array([0.02, 0.08, 0.35, 0.70])

_INSPECTORS = (
    "sanitary_epidemiological",
    "quality_assurance_committee",
    "education_department",
    "parent_commission",
    "other",
)
_INSPECTOR_P = (0.35, 0.15, 0.20, 0.25, 0.05)
_FINDINGS = (
    ("Порции меньше нормы", "Порциялар нормадан аз"),
    ("Нет бракеражного журнала", "Бракераж журналы жоқ"),
    (
        "Просрочены медицинские книжки работников пищеблока",
        "Асхана қызметкерлерінің медициналық кітапшаларының мерзімі өткен",
    ),
    (
        "Нарушен температурный режим хранения продуктов",
        "Азық-түлікті сақтаудың температуралық режимі бұзылған",
    ),
    ("Меню не соответствует утверждённому", "Мәзір бекітілген мәзірге сәйкес емес"),
    ("Отсутствуют суточные пробы", "Тәуліктік сынамалар жоқ"),
    ("Неисправно холодильное оборудование", "Тоңазытқыш жабдығы ақаулы"),
)
_NO_FINDINGS = ("Нарушений не выявлено.", "Бұзушылық анықталған жоқ.")

_AGENDA = (
    ("План работы на 2024–2025 учебный год", "2024–2025 оқу жылына арналған жұмыс жоспары"),
    ("Организация питания", "Тамақтануды ұйымдастыру"),
    ("Безопасность учащихся", "Оқушылардың қауіпсіздігі"),
    ("Профилактика буллинга", "Буллингтің алдын алу"),
    ("Отчёт о расходовании спонсорских средств", "Демеушілік қаражаттың жұмсалуы туралы есеп"),
    ("Поддержка детей из малообеспеченных семей", "Аз қамтылған отбасылардың балаларын қолдау"),
    ("Внеурочная деятельность и кружки", "Сабақтан тыс іс-шаралар мен үйірмелер"),
    ("Летний отдых и занятость детей", "Балалардың жазғы демалысы мен бос уақыты"),
)

_CHANNELS = ("hotline_111", "egov", "email", "letter", "visit", "social_media", "school_box")
_CHANNEL_P = (0.25, 0.35, 0.08, 0.10, 0.12, 0.05, 0.05)
_TOPICS = (
    "meals",
    "safety",
    "bullying",
    "teaching",
    "admission",
    "fees",
    "infrastructure",
    "other",
)
_TOPIC_P = (0.15, 0.10, 0.10, 0.20, 0.20, 0.08, 0.12, 0.05)


def welfare_national_tables() -> dict[str, pd.DataFrame]:
    """The national parent survey of 2025 and its items.

    Returns
    -------
    dict of str to DataFrame
        ``parent_survey`` (one row, national: empty ``region_code``) and ``survey_item``
        (:data:`SURVEY_ITEMS` in order), columns as in ``docs/data-formats.md``.
    """
    survey = pd.DataFrame(
        {
            "code": [SURVEY_CODE],
            "title": ["Удовлетворённость родителей качеством школьного образования 2025"],
            "region_code": [None],
            "opens_on": [dt.date(2025, 4, 1)],
            "closes_on": [dt.date(2025, 4, 30)],
        }
    )
    items = pd.DataFrame(
        {
            "code": list(_item_codes()),
            "parent_survey_code": SURVEY_CODE,
            "number": np.arange(1, len(SURVEY_ITEMS) + 1),
            "text_kk": [item[0] for item in SURVEY_ITEMS],
            "text_ru": [item[1] for item in SURVEY_ITEMS],
        }
    )
    return {"parent_survey": survey, "survey_item": items}


def survey_item_bank() -> ItemBank:
    """The survey's true item parameters as a GRM :class:`~sapa.irt.models.ItemBank`.

    Five categories per item (``0 … 4``, answers 1–5); slope–intercept form on the logit metric
    (D = 1); item names are the survey item codes.
    """
    return ItemBank(
        names=_item_codes(),
        models=("GRM",) * len(SURVEY_ITEMS),
        slopes=np.array([item[2] for item in SURVEY_ITEMS]),
        intercepts=np.array([item[3] for item in SURVEY_ITEMS]),
        guessing=np.zeros(len(SURVEY_ITEMS)),
        n_categories=np.full(len(SURVEY_ITEMS), 5),
    )


def add_welfare(frame: RegionFrame) -> None:
    """Add one region's welfare tables to ``frame.tables``.

    Adds ``meal_provision``, ``catering_inspection``, ``child_rights_incident``,
    ``survey_answer``, ``trustee_council_meeting`` and ``feedback`` (columns as in
    ``docs/data-formats.md``), drawn from the region's schools and pupils at the rates of the
    module docstring. Codes carry the region's digits, so they are unique nationally.

    Parameters
    ----------
    frame : RegionFrame
        The region, with its ``schools`` and ``students`` frames built.
    """
    schools = frame.schools.reset_index(drop=True)
    school_of_pupil = pd.Index(schools["code"]).get_indexer(frame.students["organization_code"])
    pupils = np.bincount(school_of_pupil, minlength=len(schools))
    meals, meal_gap = _meal_provision(frame, schools, school_of_pupil)
    frame.tables["meal_provision"] = meals
    frame.tables["catering_inspection"] = _catering_inspections(frame, schools)
    frame.tables["child_rights_incident"] = _incidents(frame, schools, pupils)
    frame.tables["survey_answer"] = _survey_answers(frame, schools, school_of_pupil, meal_gap)
    frame.tables["trustee_council_meeting"] = _trustee_meetings(frame, schools)
    frame.tables["feedback"] = _feedback(frame, schools, pupils)


def _item_codes() -> tuple[str, ...]:
    return tuple(f"{SURVEY_CODE}-Q{k:02d}" for k in range(1, len(SURVEY_ITEMS) + 1))


def _day(day: dt.date) -> np.datetime64:
    return np.datetime64(day, "D")


def _as_dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` values as an object array of ``datetime.date`` (``None`` for NaT)."""
    return np.array(days.astype("datetime64[D]").tolist(), dtype=object)


def _spread(
    rng: np.random.Generator, counts: np.ndarray, start: dt.date, end: dt.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``counts[s]`` distinct school days of school ``s`` from ``start`` up to ``end``.

    The school year is cut into ``counts[s]`` equal spans of school days and one day is drawn
    uniformly in each, so a school's events are spread over the year and never share a day.
    Returns the school index of each event, its rank within the school and its date.
    """
    school = np.repeat(np.arange(len(counts)), counts)
    rank = np.arange(len(school)) - np.repeat(np.cumsum(counts) - counts, counts)
    n_days = int(np.busday_count(_day(start), _day(end), busdaycal=SCHOOL_DAYS))
    per = counts[school]
    offset = np.floor((rank + rng.random(len(school))) / per * n_days).astype(np.int64)
    days = np.busday_offset(_day(start), offset, roll="forward", busdaycal=SCHOOL_DAYS)
    return school, rank, days


def _meal_provision(
    frame: RegionFrame, schools: pd.DataFrame, school_of_pupil: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Free meals per school, half-year and funding source; and each school's meal gap flag."""
    rng = frame.rng("welfare.meals")
    students = frame.students
    grade = students["grade"].to_numpy()
    vulnerable = students["low_income"].to_numpy(bool) | students["socially_vulnerable"].to_numpy(
        bool
    )
    n_schools = len(schools)
    primary = np.bincount(school_of_pupil[(grade >= 1) & (grade <= 4)], minlength=n_schools)
    fund = np.bincount(
        school_of_pupil[(grade >= 5) & (grade <= 11) & vulnerable], minlength=n_schools
    )
    cost = np.round(frame.plan.target.meal_cost_tenge * np.exp(rng.normal(0.0, 0.05, n_schools)), 2)
    parts = []
    for source, eligible, gap_p in (
        ("local_budget", primary, 0.03),
        ("universal_education_fund", fund, 0.10),
    ):
        fed = np.flatnonzero(eligible > 0)
        for start, end in MEAL_PERIODS:
            count = eligible[fed]
            short = rng.random(len(fed)) < gap_p
            missing = np.maximum(1, np.round(count * rng.uniform(0.02, 0.2, len(fed))))
            covered = np.where(short, np.maximum(count - missing, 0), count).astype(np.int64)
            parts.append(
                pd.DataFrame(
                    {
                        "school": fed,
                        "period_start": start,
                        "period_end": end,
                        "funding_source": source,
                        "eligible_count": count.astype(np.int64),
                        "covered_count": covered,
                    }
                )
            )
    rows = pd.concat(parts, ignore_index=True).sort_values(
        ["school", "period_start", "funding_source"], kind="stable", ignore_index=True
    )
    school = rows["school"].to_numpy()
    gap = np.zeros(n_schools, dtype=bool)
    gap[school[rows["covered_count"].to_numpy() < rows["eligible_count"].to_numpy()]] = True
    table = pd.DataFrame(
        {
            "organization_code": schools["code"].to_numpy()[school],
            "period_start": rows["period_start"],
            "period_end": rows["period_end"],
            "funding_source": rows["funding_source"],
            "eligible_count": rows["eligible_count"],
            "covered_count": rows["covered_count"],
            "cost_per_child_day_tenge": cost[school],
        }
    )
    return table, gap


def _language_column(schools: pd.DataFrame) -> np.ndarray:
    """1 where a school's texts are written in Kazakh (Kazakh-medium schools), else 0 (Russian)."""
    return (schools["language"].to_numpy() == "kk").astype(np.int64)


def _catering_inspections(frame: RegionFrame, schools: pd.DataFrame) -> pd.DataFrame:
    rng = frame.rng("welfare.catering")
    n_schools = len(schools)
    counts = 1 + rng.binomial(2, 0.45, n_schools)
    troubled = rng.random(n_schools) < 0.12
    school, _, days = _spread(rng, counts, SCHOOL_YEAR_START, SCHOOL_YEAR_END)
    violations = rng.poisson(np.where(troubled[school], 2.5, 0.2))
    first = rng.integers(0, len(_FINDINGS), len(school))
    kazakh = _language_column(schools)[school]
    findings = [
        _NO_FINDINGS[kk]
        if v == 0
        else "; ".join(_FINDINGS[(f + k) % len(_FINDINGS)][kk] for k in range(min(v, 3))) + "."
        for v, f, kk in zip(violations.tolist(), first.tolist(), kazakh.tolist(), strict=True)
    ]
    return pd.DataFrame(
        {
            "organization_code": schools["code"].to_numpy()[school],
            "inspected_on": _as_dates(days),
            "inspector": np.asarray(_INSPECTORS, dtype=object)[
                rng.choice(len(_INSPECTORS), len(school), p=_INSPECTOR_P)
            ],
            "violations_count": violations.astype(np.int64),
            "findings": np.asarray(findings, dtype=object),
        }
    )


def _choose_schools(rng: np.random.Generator, pupils: np.ndarray, n: int) -> np.ndarray:
    """``n`` school indices drawn with probability proportional to pupils × a Gamma(2, 0.5)
    school propensity (some schools report far more than others of their size)."""
    weight = pupils * rng.gamma(2.0, 0.5, len(pupils))
    if weight.sum() <= 0:
        weight = np.ones(len(pupils))
    return rng.choice(len(pupils), n, p=weight / weight.sum())


def _numbered(prefix: str, days: np.ndarray) -> np.ndarray:
    """Case numbers ``<prefix>-<year>-<nnnnn>`` in date order (``days`` sorted ascending)."""
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    return np.array(
        [f"{prefix}-{year}-{k:05d}" for k, year in enumerate(years.tolist(), start=1)],
        dtype=object,
    )


def _incidents(frame: RegionFrame, schools: pd.DataFrame, pupils: np.ndarray) -> pd.DataFrame:
    rng = frame.rng("welfare.incidents")
    n = int(rng.poisson(_INCIDENT_RATE * pupils.sum() / 1000))
    school = _choose_schools(rng, pupils, n)
    n_days = int(
        np.busday_count(_day(SCHOOL_YEAR_START), _day(REFERENCE_DATE), busdaycal=SCHOOL_DAYS)
    )
    offset = rng.integers(0, n_days, n)
    reported = np.sort(
        np.busday_offset(_day(SCHOOL_YEAR_START), offset, roll="forward", busdaycal=SCHOOL_DAYS)
    )
    kind = rng.choice(len(_INCIDENT_KINDS), n, p=_INCIDENT_KIND_P)
    cumulative = np.cumsum(_SEVERITY_P[kind], axis=1)
    severity = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), 3)
    referred = rng.random(n) < _REFERRAL_P[severity]
    duration = np.round(3 + rng.gamma(2.0, 10.0, n)).astype(np.int64)
    closes = reported + duration.astype("timedelta64[D]")
    closed = ~referred & (closes <= _day(REFERENCE_DATE))
    unfounded = rng.random(n) < 0.2
    recent = (_day(REFERENCE_DATE) - reported).astype(np.int64) < 5
    status = np.select(
        [referred, closed & unfounded, closed, recent],
        ["referred", "unfounded", "resolved", "reported"],
        "under_review",
    ).astype(object)
    return pd.DataFrame(
        {
            "code": _numbered(f"CR-{frame.digits}", reported),
            "organization_code": schools["code"].to_numpy()[school],
            "kind": np.asarray(_INCIDENT_KINDS, dtype=object)[kind],
            "severity": np.asarray(_SEVERITIES, dtype=object)[severity],
            "status": status,
            "reported_on": _as_dates(reported),
            "closed_on": _as_dates(np.where(closed, closes, np.datetime64("NaT", "D"))),
            "restricted": np.ones(n, dtype=bool),
        }
    )


def _survey_answers(
    frame: RegionFrame, schools: pd.DataFrame, school_of_pupil: np.ndarray, meal_gap: np.ndarray
) -> pd.DataFrame:
    rng = frame.rng("welfare.survey")
    effects = SATISFACTION_EFFECTS
    shifts = schools["shifts"].to_numpy(np.float64)
    school_mean = (
        effects["intercept"]
        + effects["quality"] * schools["quality"].to_numpy(np.float64)
        + effects["extra_shift"] * (shifts - 1)
        + effects["three_shift"] * schools["three_shift"].to_numpy(np.float64)
        + effects["emergency"] * schools["emergency"].to_numpy(np.float64)
        + effects["meal_gap"] * meal_gap
        + rng.normal(0.0, effects["school_sd"], len(schools))
    )
    sampled = np.flatnonzero(rng.random(len(school_of_pupil)) < RESPONDENT_SHARE)
    school = school_of_pupil[sampled]
    theta = school_mean[school] + rng.normal(0.0, 1.0, len(sampled))
    bank = survey_item_bank()
    answers = simulate_responses(bank, theta, rng=rng).astype(np.int64) + 1
    respondents = np.array(
        [f"PS25-{frame.digits}-{k:07d}" for k in range(1, len(sampled) + 1)], dtype=object
    )
    return pd.DataFrame(
        {
            "survey_item_code": np.tile(np.asarray(bank.names, dtype=object), len(sampled)),
            "respondent_code": np.repeat(respondents, bank.n_items),
            "organization_code": np.repeat(schools["code"].to_numpy()[school], bank.n_items),
            "answer": answers.reshape(-1),
        }
    )


def _trustee_meetings(frame: RegionFrame, schools: pd.DataFrame) -> pd.DataFrame:
    rng = frame.rng("welfare.trustees")
    n_schools = len(schools)
    members = np.minimum(9 + rng.poisson(2.0, n_schools), 21)
    counts = rng.integers(2, 5, n_schools)
    school, rank, days = _spread(rng, counts, SCHOOL_YEAR_START, SCHOOL_YEAR_END)
    total = members[school]
    n_topics = rng.integers(1, 4, len(school))
    first = rng.integers(1, len(_AGENDA), len(school))
    kazakh = _language_column(schools)[school]
    agenda = [
        "; ".join(
            _AGENDA[0 if (r == 0 and k == 0) else 1 + (f + k - 1) % (len(_AGENDA) - 1)][kk]
            for k in range(t)
        )
        for r, t, f, kk in zip(
            rank.tolist(), n_topics.tolist(), first.tolist(), kazakh.tolist(), strict=True
        )
    ]
    return pd.DataFrame(
        {
            "organization_code": schools["code"].to_numpy()[school],
            "held_on": _as_dates(days),
            "members_total": total.astype(np.int64),
            "members_present": (total - rng.binomial(total, 0.15)).astype(np.int64),
            "decisions_count": (1 + rng.poisson(1.5, len(school))).astype(np.int64),
            "agenda": np.asarray(agenda, dtype=object),
        }
    )


def _feedback(frame: RegionFrame, schools: pd.DataFrame, pupils: np.ndarray) -> pd.DataFrame:
    rng = frame.rng("welfare.feedback")
    n = int(rng.poisson(_FEEDBACK_RATE * pupils.sum() / 1000))
    start = _day(_FEEDBACK_WINDOW_START)
    n_days = int((_day(REFERENCE_DATE) - start).astype(np.int64)) + 1
    received = np.sort(start + rng.integers(0, n_days, n).astype("timedelta64[D]"))
    about_school = rng.random(n) < 0.85
    school = _choose_schools(rng, pupils, n)
    organization = np.where(about_school, schools["code"].to_numpy()[school], None)
    outcome = rng.choice(3, n, p=(0.88, 0.09, 0.03))
    delay = np.where(
        outcome == 0,
        np.minimum(1 + np.round(rng.gamma(2.0, 5.0, n)), _FEEDBACK_DEADLINE_DAYS),
        _FEEDBACK_DEADLINE_DAYS + rng.integers(1, 46, n),
    ).astype(np.int64)
    answered = received + delay.astype("timedelta64[D]")
    answered = np.where(
        (outcome < 2) & (answered <= _day(REFERENCE_DATE)), answered, np.datetime64("NaT", "D")
    )
    return pd.DataFrame(
        {
            "code": _numbered(f"FB-{frame.digits}", received),
            "organization_code": organization,
            "region_code": frame.code,
            "channel": np.asarray(_CHANNELS, dtype=object)[
                rng.choice(len(_CHANNELS), n, p=_CHANNEL_P)
            ],
            "topic": np.asarray(_TOPICS, dtype=object)[rng.choice(len(_TOPICS), n, p=_TOPIC_P)],
            "received_on": _as_dates(received),
            "deadline_on": _as_dates(received + np.timedelta64(_FEEDBACK_DEADLINE_DAYS, "D")),
            "answered_on": _as_dates(answered),
        }
    )
