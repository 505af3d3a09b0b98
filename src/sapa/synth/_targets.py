"""The facts the synthetic nation is calibrated to, with their sources.

National totals are for the 2024/25 school year. Regional figures (``sapa/data/synth_regions.csv``)
come from regional statements of different years and definitions, so they are used only as
relative weights and normalised to the national totals; the file's ``assumed`` column names the
figures that no source gave and that were set from population and neighbouring regions. Every
source is listed in ``docs/synthetic-nation.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "CATEGORY_SHARES",
    "CLASS_SIZE_LIMIT",
    "GRADE_WEIGHTS",
    "MRP_TENGE",
    "NATIONAL",
    "REFERENCE_DATE",
    "SCHOOL_YEAR_START",
    "NationalTotals",
    "RegionTarget",
    "region_targets",
]

REFERENCE_DATE = dt.date(2025, 5, 31)
"""The snapshot's date: the end of the 2024/25 school year. Every record is as of this day."""

SCHOOL_YEAR_START = dt.date(2024, 9, 2)
"""First teaching day of the 2024/25 school year."""

MRP_TENGE = 3692
"""Monthly calculation index (МРП) for 2024 in tenge; awards and allowances are set in MRP."""

CLASS_SIZE_LIMIT = 25
"""Sanitary maximum of pupils per class; overcrowded urban schools run 30–36."""


@dataclass(frozen=True)
class NationalTotals:
    """National totals of 2024/25 (MoE, BNS; see the module docstring)."""

    schools: int = 7860
    pupils: int = 3_900_000
    teachers: int = 399_000
    urban_school_share: float = 0.316
    small_class_school_share: float = 0.36
    small_class_pupil_share: float = 0.053
    small_class_teacher_share: float = 0.14
    three_shift_schools: int = 53
    emergency_schools: int = 32
    comfortable_schools_2024: int = 105
    comfortable_places_2024: int = 217_300
    comfortable_schools_2025: int = 112
    comfortable_places_2025: int = 206_000
    leader_reservists: int = 583
    leader_appointed: int = 419
    female_teacher_share: float = 0.78


NATIONAL = NationalTotals()

CATEGORY_SHARES = {
    "pedagogue_moderator": 0.231,
    "pedagogue_expert": 0.218,
    "pedagogue_researcher": 0.191,
    "pedagogue_master": 0.009,
}
"""Shares of teachers holding each category in 2024 (24.kz, 398,854 teachers); the rest
(≈ 35%) hold the basic category ``pedagogue``."""

GRADE_WEIGHTS = (9.6, 9.6, 9.4, 9.3, 9.2, 9.0, 8.9, 8.8, 8.6, 6.0, 5.6)
"""Relative size of grades 1–11: ≈ 360k first graders and ≈ 219k in grade 11 (2024/25); grades
10–11 are smaller because many pupils leave for colleges after grade 9."""


@dataclass(frozen=True)
class RegionTarget:
    """What one region of the synthetic nation is calibrated to (before scaling).

    ``schools`` and ``pupils`` are relative weights; ``teachers`` is a regional total to match
    where a source gives one (Zhambyl ≈ 40,000), else ``None``. ``kazakh_share`` is the share of
    pupils in Kazakh-medium classes; ``quality_shift`` the region's effect on achievement in SD
    units (negative for the regions the government named below average in 2023).
    """

    index: int
    code: str
    name_en: str
    centre: tuple[str, str, str]
    kind: str
    schools: int
    pupils: int
    teachers: int | None
    urban_school_share: float
    small_class_share: float
    kazakh_share: float
    three_shift_schools: int
    emergency_schools: int
    place_deficit: bool
    quality_shift: float
    meal_cost_tenge: int
    assumed: tuple[str, ...]


def region_targets() -> list[RegionTarget]:
    """The 20 regions' targets in ISO-code order, read from the package's calibration table."""
    names = {}
    with resources.files("sapa.data").joinpath("kz_regions.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names[row["iso_code"]] = (
                row["name_en"],
                (row["centre_en"], row["centre_kk"], row["centre_ru"]),
                row["kind"],
            )
    targets = []
    with resources.files("sapa.data").joinpath("synth_regions.csv").open(encoding="utf-8") as f:
        for index, row in enumerate(csv.DictReader(f)):
            name_en, centre, kind = names[row["code"]]
            targets.append(
                RegionTarget(
                    index=index,
                    code=row["code"],
                    name_en=name_en,
                    centre=centre,
                    kind=kind,
                    schools=int(row["schools"]),
                    pupils=int(row["pupils"]),
                    teachers=int(row["teachers"]) if row["teachers"] else None,
                    urban_school_share=float(row["urban_school_share"]),
                    small_class_share=float(row["small_class_share"]),
                    kazakh_share=float(row["kazakh_share"]),
                    three_shift_schools=int(row["three_shift_schools"]),
                    emergency_schools=int(row["emergency_schools"]),
                    place_deficit=row["place_deficit"] == "true",
                    quality_shift=float(row["quality_shift"]),
                    meal_cost_tenge=int(row["meal_cost_tenge"]),
                    assumed=tuple(row["assumed"].split()),
                )
            )
    return targets
