"""Scales, the regional plan, random streams and the frame one region is built in.

The nation is built one region at a time (memory stays bounded by the largest region). Each
region and each stage draws from its own random stream derived from ``(seed, region, stage)``,
so a region's output does not depend on the order regions are built in or on other stages.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sapa.synth._targets import NATIONAL, RegionTarget, region_targets

__all__ = [
    "SCALES",
    "SUBJECTS",
    "TEACHING_SUBJECT_SHARES",
    "RegionFrame",
    "RegionPlan",
    "Scale",
    "allocate",
    "plan_nation",
    "stream",
]


@dataclass(frozen=True)
class Scale:
    """A size of synthetic nation: a fraction of the real one, all 20 regions present."""

    name: str
    fraction: float
    min_schools: int
    description: str


SCALES = {
    scale.name: scale
    for scale in (
        Scale("tiny", 1 / 100, 2, "1/100 of the nation (≈ 80 schools): tests and quick looks"),
        Scale("region", 1 / 20, 4, "1/20 of the nation (≈ 390 schools, the size of a region)"),
        Scale("national", 1.0, 1, "the whole nation (≈ 7,860 schools, 3.9 million pupils)"),
    )
}
"""The scales ``sapa synth --scale`` accepts."""

SUBJECTS = (
    ("PRIM", "Primary education", "Бастауыш білім беру", "Начальное обучение"),
    (
        "KAZ",
        "Kazakh language and literature",
        "Қазақ тілі мен әдебиеті",
        "Казахский язык и литература",
    ),
    (
        "RUS",
        "Russian language and literature",
        "Орыс тілі мен әдебиеті",
        "Русский язык и литература",
    ),
    ("ENG", "English", "Ағылшын тілі", "Английский язык"),
    ("MATH", "Mathematics", "Математика", "Математика"),
    ("PHYS", "Physics", "Физика", "Физика"),
    ("CHEM", "Chemistry", "Химия", "Химия"),
    ("BIO", "Biology", "Биология", "Биология"),
    ("GEO", "Geography", "География", "География"),
    ("HIST", "History", "Тарих", "История"),
    ("INF", "Computer science", "Информатика", "Информатика"),
    ("PE", "Physical education", "Дене шынықтыру", "Физическая культура"),
    ("ART", "Music and art", "Музыка және көркем еңбек", "Музыка и художественный труд"),
    ("READ", "Reading literacy", "Оқу сауаттылығы", "Читательская грамотность"),
    ("MLIT", "Mathematical literacy", "Математикалық сауаттылық", "Математическая грамотность"),
    ("SLIT", "Science literacy", "Жаратылыстану сауаттылығы", "Естественнонаучная грамотность"),
    ("PED", "Pedagogy and teaching methods", "Педагогика және әдістеме", "Педагогика и методика"),
)
"""Subjects: ``(code, English, Kazakh, Russian)``. READ, MLIT and SLIT are the monitoring's
domains; PED is the pedagogy part of the teachers' qualification test."""

TEACHING_SUBJECT_SHARES = {
    "PRIM": 0.22,
    "KAZ": 0.12,
    "RUS": 0.08,
    "ENG": 0.08,
    "MATH": 0.11,
    "PHYS": 0.04,
    "CHEM": 0.03,
    "BIO": 0.04,
    "GEO": 0.03,
    "HIST": 0.06,
    "INF": 0.04,
    "PE": 0.07,
    "ART": 0.08,
}
"""Shares of teachers by main subject (assumed from the weekly hours of the curriculum)."""


def stream(seed: int, region: int, stage: str) -> np.random.Generator:
    """An independent random stream for one stage of one region (``region = -1``: national)."""
    key = (region + 1, zlib.crc32(stage.encode()))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def allocate(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder), each at
    least ``minimum``; the parts sum to ``total`` unless the minimums alone exceed it."""
    weights = np.asarray(weights, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        return np.full(len(weights), minimum, dtype=np.int64)
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - parts), kind="stable")
    parts[order[: total - parts.sum()]] += 1
    short = parts < minimum
    if short.any():
        fixed = int(minimum * short.sum())
        parts[short] = minimum
        if total > fixed:
            parts[~short] = allocate(total - fixed, weights[~short])
    return parts


@dataclass(frozen=True)
class RegionPlan:
    """How much of one region the chosen scale builds."""

    target: RegionTarget
    schools: int
    pupils: int
    teachers: int
    three_shift_schools: int
    emergency_schools: int


def plan_nation(scale: Scale) -> list[RegionPlan]:
    """Counts per region: national totals × the scale's fraction, split by regional weights.

    Teachers are split by need (pupils outside small-class schools at about 10.8 per teacher,
    about 20 teachers per small-class school: 14% of teachers work in them), except where a
    regional total is known, which is kept.
    """
    targets = region_targets()
    fraction = scale.fraction
    schools = allocate(
        round(NATIONAL.schools * fraction),
        np.array([t.schools for t in targets]),
        scale.min_schools,
    )
    pupils = allocate(round(NATIONAL.pupils * fraction), np.array([t.pupils for t in targets]))
    small_pupil_share = NATIONAL.small_class_pupil_share
    need = np.array(
        [
            p * (1 - small_pupil_share) / 10.8 + s * t.small_class_share * 20
            for t, p, s in zip(targets, pupils, schools, strict=True)
        ]
    )
    known = np.array([t.teachers is not None for t in targets])
    teachers = np.zeros(len(targets), dtype=np.int64)
    teachers[known] = [round(t.teachers * fraction) for t in targets if t.teachers is not None]
    teachers[~known] = allocate(
        round(NATIONAL.teachers * fraction) - int(teachers[known].sum()), need[~known]
    )
    three_shift = allocate(
        round(NATIONAL.three_shift_schools * fraction),
        np.array([t.three_shift_schools for t in targets]),
    )
    emergency = allocate(
        round(NATIONAL.emergency_schools * fraction),
        np.array([t.emergency_schools for t in targets]),
    )
    return [
        RegionPlan(
            target=t,
            schools=int(schools[i]),
            pupils=int(pupils[i]),
            teachers=int(teachers[i]),
            three_shift_schools=int(three_shift[i]),
            emergency_schools=int(emergency[i]),
        )
        for i, t in enumerate(targets)
    ]


@dataclass
class RegionFrame:
    """One region while it is being built: its plan, its import-ready tables so far, and the
    internal attributes later stages need (which never leave the generator).

    ``schools`` has one row per school with ``code``, ``district_code``, ``settlement_code``,
    ``urban``, ``small_class``, ``school_type``, ``language`` (kk, ru or mixed), ``enrolment``,
    ``capacity``, ``shifts``, ``three_shift``, ``emergency``, ``building_code`` and ``quality``
    (the school's true effect on achievement, SD units). ``teachers`` has ``code``,
    ``organization_code``, ``sex``, ``birth_year``, ``position``, ``category``,
    ``main_subject``, ``experience_years``, ``hired_on``, ``left_on``, ``young_specialist``,
    ``young_specialist_since`` and ``ability``. ``students`` has ``code``, ``organization_code``,
    ``grade``, ``class_label``, ``instruction_language``, ``sex``, ``birth_year``,
    ``low_income``, ``socially_vulnerable`` and ``special_needs``.
    """

    plan: RegionPlan
    seed: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    schools: pd.DataFrame = field(default_factory=pd.DataFrame)
    teachers: pd.DataFrame = field(default_factory=pd.DataFrame)
    students: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def code(self) -> str:
        """The region's ISO code, e.g. ``KZ-71``."""
        return self.plan.target.code

    @property
    def digits(self) -> str:
        """The region's two digits, used inside codes (``71`` for Astana)."""
        return self.plan.target.code[3:]

    def rng(self, stage: str) -> np.random.Generator:
        """This region's random stream for ``stage``."""
        return stream(self.seed, self.plan.target.index, stage)
