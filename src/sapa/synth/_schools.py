"""Schools of a synthetic region: kind, size, language, shifts, buildings and classrooms.

Sizes: urban schools ≈ lognormal around 1,100 pupils, rural ones around 350, small-class schools
(rural only) around 70 (5–180): 36% of schools holding ≈ 5% of pupils nationally. Sizes of the
schools that are not small-class are then rescaled so the region's pupils match its target.

Language: a share of schools is mixed (both streams, more often urban); the others are made
Kazakh-medium in random order until the region's share of pupils in Kazakh-medium classes is
reached (a school joins only if that does not overshoot by more than half its size), counting
half of a mixed school's pupils.

Places: schools run one or two shifts with design capacity per shift above their pupils per
shift, except in the place-deficit regions (Astana, Almaty, Shymkent, Almaty and Turkistan
regions) where large urban schools are overcrowded, and the region's three-shift schools are its
largest urban ones. Emergency buildings are among the oldest rural ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sapa.synth._frame import RegionFrame
from sapa.synth._identity import bin_numbers

__all__ = ["add_organizations", "plan_schools"]

_SMALL_CLASS_SIZE = (5, 180)


def plan_schools(frame: RegionFrame) -> None:
    """Create ``frame.schools`` with sizes, type, language, ownership, shifts and places."""
    rng = frame.rng("schools")
    plan, target = frame.plan, frame.plan.target
    n = plan.schools
    n_urban = n if target.kind == "city" else round(n * target.urban_school_share)
    n_small = min(round(n * target.small_class_share), n - n_urban)
    urban = np.zeros(n, dtype=bool)
    urban[:n_urban] = True
    small = np.zeros(n, dtype=bool)
    small[n_urban : n_urban + n_small] = True

    size = np.where(urban, rng.lognormal(np.log(1000), 0.55, n), rng.lognormal(np.log(330), 0.6, n))
    small_size = np.clip(rng.lognormal(np.log(60), 0.6, n), *_SMALL_CLASS_SIZE)
    size = np.where(small, small_size, size)
    if (~small).any():
        rest = plan.pupils - small_size[small].sum()
        size[~small] *= max(rest, 40 * (~small).sum()) / size[~small].sum()
    enrolment = np.maximum(np.round(size).astype(np.int64), 5)

    school_type = np.where(
        small,
        np.where(enrolment < 40, "primary", np.where(enrolment < 100, "basic", "general")),
        np.where(
            urban,
            rng.choice(
                ["general", "gymnasium", "lyceum", "specialised", "boarding"],
                n,
                p=[0.64, 0.17, 0.12, 0.05, 0.02],
            ),
            rng.choice(["general", "basic", "boarding"], n, p=[0.88, 0.10, 0.02]),
        ),
    )
    private_share = 0.37 if target.kind == "city" else 0.06
    ownership = np.where(
        urban & (rng.random(n) < private_share),
        "private",
        np.where(urban & (rng.random(n) < 0.02), "republican", "state"),
    )
    ownership = np.where(~urban & (rng.random(n) < 0.015), "private", ownership)
    language = _languages(rng, urban, small, enrolment, target.kazakh_share)

    shifts = np.where(small | (enrolment < 400), 1, np.where(rng.random(n) < 0.75, 2, 1))
    crowding = np.where(
        target.place_deficit & urban, rng.uniform(1.05, 1.45, n), rng.uniform(0.6, 1.0, n)
    )
    three_shift = np.zeros(n, dtype=bool)
    if plan.three_shift_schools:
        candidates = np.flatnonzero(urban) if urban.any() else np.arange(n)
        largest = candidates[np.argsort(-enrolment[candidates], kind="stable")]
        three_shift[largest[: plan.three_shift_schools]] = True
    shifts = np.where(three_shift, 3, shifts)
    crowding = np.where(three_shift, rng.uniform(1.3, 1.6, n), crowding)
    capacity = np.ceil(enrolment / shifts / crowding / 10).astype(np.int64) * 10
    capacity = np.maximum(capacity, 20)

    year_built = np.where(urban, rng.integers(1955, 2024, n), rng.integers(1950, 2015, n)).astype(
        np.int64
    )
    emergency = np.zeros(n, dtype=bool)
    if plan.emergency_schools:
        pool = np.flatnonzero(~urban) if (~urban).sum() >= plan.emergency_schools else np.arange(n)
        oldest = pool[np.argsort(year_built[pool], kind="stable")]
        emergency[oldest[: plan.emergency_schools]] = True

    order = rng.permutation(n)
    frame.schools = pd.DataFrame(
        {
            "code": [f"SCH-{frame.digits}-{k + 1:04d}" for k in range(n)],
            "urban": urban[order],
            "small_class": small[order],
            "school_type": school_type[order],
            "ownership": ownership[order],
            "language": language[order],
            "enrolment": enrolment[order],
            "capacity": capacity[order],
            "shifts": shifts[order],
            "three_shift": three_shift[order],
            "emergency": emergency[order],
            "year_built": year_built[order],
        }
    )


def _languages(
    rng: np.random.Generator,
    urban: np.ndarray,
    small: np.ndarray,
    enrolment: np.ndarray,
    kazakh_share: float,
) -> np.ndarray:
    n = len(urban)
    # Mixed schools are rare where nearly every pupil learns in Kazakh.
    rarity = min(1.0, 2 * (1 - kazakh_share))
    mixed_probability = rarity * np.where(urban, 0.35, np.where(small, 0.03, 0.12))
    language = np.where(rng.random(n) < mixed_probability, "mixed", "ru").astype(object)
    goal = kazakh_share * enrolment.sum() - 0.5 * enrolment[language == "mixed"].sum()
    filled = 0.0
    for school in rng.permutation(np.flatnonzero(language == "ru")):
        if filled + enrolment[school] / 2 <= goal:
            language[school] = "kk"
            filled += enrolment[school]
    return language.astype(str)


def add_organizations(frame: RegionFrame) -> None:
    """Add ``organization``, ``building`` and ``subject_classroom`` tables; adds
    ``building_code`` to ``frame.schools``. Needs :func:`plan_schools` and the geography."""
    rng = frame.rng("organizations")
    schools = frame.schools
    n = len(schools)
    settlements = frame.tables["settlement"].set_index("code")["name"]
    number = np.arange(1, n + 1)
    kazakh_name = {
        "general": "жалпы білім беретін мектебі",
        "basic": "негізгі орта мектебі",
        "primary": "бастауыш мектебі",
        "gymnasium": "мектеп-гимназиясы",
        "lyceum": "мектеп-лицейі",
        "specialised": "мамандандырылған мектебі",
        "boarding": "мектеп-интернаты",
    }
    russian_name = {
        "general": "Общеобразовательная школа",
        "basic": "Основная средняя школа",
        "primary": "Начальная школа",
        "gymnasium": "Школа-гимназия",
        "lyceum": "Школа-лицей",
        "specialised": "Специализированная школа",
        "boarding": "Школа-интернат",
    }
    names = []
    for k, row in enumerate(schools.itertuples()):
        place = settlements[row.settlement_code]
        if row.language == "ru":
            label = f"{russian_name[row.school_type]} №{number[k]}"
            names.append(label if row.urban else f"{label} села {place}")
        else:
            label = f"№{number[k]} {kazakh_name[row.school_type]}"
            names.append(label if row.urban else f"{place} ауылының {label}")

    opened_year = np.minimum(schools["year_built"].to_numpy(), 2023)
    opened = pd.to_datetime(pd.DataFrame({"year": opened_year, "month": 9, "day": 1})).to_numpy()
    registered = opened_year.astype("datetime64[Y]").astype("datetime64[M]") + rng.integers(
        0, 8, n
    ).astype("timedelta64[M]")
    registered = np.maximum(registered, np.datetime64("1999-01"))
    serials = frame.plan.target.index * 2_400 + np.arange(n)
    bins = bin_numbers(registered, serials)
    bins[schools["ownership"].to_numpy() == "private"] = None

    language = schools["language"].to_numpy()
    frame.tables["organization"] = pd.DataFrame(
        {
            "code": schools["code"],
            "name": names,
            "kind": "general_secondary",
            "school_type": schools["school_type"],
            "small_class": schools["small_class"],
            "ownership": schools["ownership"],
            "instruction_language": language,
            "bin": bins,
            "settlement_code": schools["settlement_code"],
            "design_capacity": schools["capacity"],
            "shifts": schools["shifts"],
            "enrolment": schools["enrolment"],
            "opened_on": [d.date() for d in pd.DatetimeIndex(opened)],
            "closed_on": None,
        }
    )

    frame.schools["building_code"] = [f"B-{code[4:]}-1" for code in schools["code"]]
    condition = rng.choice(
        ["good", "satisfactory", "needs_repair"], n, p=[0.42, 0.40, 0.18]
    ).astype(object)
    year_built = schools["year_built"].to_numpy()
    condition[year_built >= 2015] = "good"
    condition[schools["emergency"].to_numpy()] = "emergency"
    wooden = (~schools["urban"].to_numpy()) & (year_built < 1975) & (rng.random(n) < 0.08)
    floors = np.where(
        schools["small_class"], 1, np.clip(np.round(schools["enrolment"] / 350), 2, 5)
    ).astype(np.int64)
    frame.tables["building"] = pd.DataFrame(
        {
            "code": frame.schools["building_code"],
            "organization_code": schools["code"],
            "year_built": year_built,
            "condition": condition,
            "wooden": wooden | (condition == "emergency") & (rng.random(n) < 0.3),
            "floors": floors,
            "design_capacity": schools["capacity"],
            "shifts": schools["shifts"],
        }
    )
    frame.tables["subject_classroom"] = _classrooms(frame, rng)


_ROOM_PROBABILITY = {
    # kind: (urban, rural, small-class)
    "physics": (0.85, 0.55, 0.15),
    "chemistry": (0.80, 0.50, 0.10),
    "biology": (0.80, 0.50, 0.12),
    "computer_science": (0.95, 0.85, 0.55),
    "stem": (0.18, 0.06, 0.01),
    "robotics": (0.22, 0.08, 0.02),
    "workshop": (0.45, 0.50, 0.20),
    "language_lab": (0.25, 0.06, 0.01),
}
"""Probability that a school has each equipped room (assumed: over three years > 2,000 schools
were fitted with chemistry, biology and physics rooms; Astana reports 98% coverage)."""


def _classrooms(frame: RegionFrame, rng: np.random.Generator) -> pd.DataFrame:
    schools = frame.schools
    kind_of = np.where(schools["small_class"], 2, np.where(schools["urban"], 0, 1))
    primary = schools["school_type"].to_numpy() == "primary"
    rows = []
    for k, (kind, probabilities) in enumerate(_ROOM_PROBABILITY.items()):
        has = rng.random(len(schools)) < np.array(probabilities)[kind_of]
        if kind in {"physics", "chemistry", "biology"}:
            has &= ~primary
        equipped = np.where(
            rng.random(len(schools)) < 0.35, rng.integers(2022, 2026, len(schools)), 0
        )
        equipped = np.where(equipped, equipped, rng.integers(1995, 2022, len(schools)))
        for school in np.flatnonzero(has):
            rows.append(
                (
                    schools["building_code"].iat[school],
                    str(101 + 10 * k + (school % 7)),
                    kind,
                    int(min(equipped[school], 2025)),
                    int(rng.choice([16, 20, 24, 26, 30])),
                )
            )
    return pd.DataFrame(rows, columns=["building_code", "room", "kind", "equipped_year", "seats"])
