"""Shared fixtures of the synthetic-nation tests.

The fake regions are self-contained (each call builds its own frame from the region's plan), so
the welfare, leadership and projects stages are tested without the stages that normally run
before them; ``real_region_welfare`` runs those stages for an integration check.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pytest

from sapa.domain import Base
from sapa.ingest import entity_schema
from sapa.synth._frame import SCALES, RegionFrame, RegionPlan, plan_nation
from sapa.synth._targets import GRADE_WEIGHTS

FakeRegionFactory = Callable[..., RegionFrame]
SchemaCheck = Callable[[pd.DataFrame, type[Base]], None]

_OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@cache
def _plans(scale: str) -> tuple[RegionPlan, ...]:
    return tuple(plan_nation(SCALES[scale]))


def _dates(days: np.ndarray) -> list[object]:
    return list(np.asarray(days, dtype="datetime64[D]").astype(object))


def _build_fake_region(
    index: int,
    scale: str = "region",
    *,
    seed: int = 11,
    students: bool = True,
    teachers: bool = True,
) -> RegionFrame:
    """A region with the internal frames and tables the welfare, leadership and projects stages
    read, drawn crudely from the region's plan (sizes, shares and flags only roughly right).

    ``students=False`` or ``teachers=False`` leaves that frame empty (for stages that do not
    read it, at national scale).
    """
    plan = _plans(scale)[index]
    target = plan.target
    digits = target.code[3:]
    rng = np.random.default_rng([seed, index])
    n = plan.schools
    city = target.kind == "city"

    districts = pd.DataFrame(
        {
            "code": [f"KZ{digits}-D{k:02d}" for k in range(1, 4)],
            "region_code": target.code,
            "name": [f"District {k}" for k in range(1, 4)],
        }
    )
    settlement_rows = []
    for district in districts["code"]:
        settlement_rows.append((f"{district}-001", district, "Town", "urban", 60_000))
        if not city:
            for v in range(2, 6):
                settlement_rows.append((f"{district}-{v:03d}", district, "Village", "rural", 900))
    settlements = pd.DataFrame(
        settlement_rows, columns=["code", "district_code", "name", "locality", "population"]
    )

    urban = np.ones(n, dtype=bool) if city else rng.random(n) < target.urban_school_share
    urban_codes = settlements.loc[settlements["locality"] == "urban", "code"].to_numpy()
    rural_codes = settlements.loc[settlements["locality"] == "rural", "code"].to_numpy()
    settlement = urban_codes[rng.integers(0, len(urban_codes), n)]
    if len(rural_codes):
        settlement = np.where(urban, settlement, rural_codes[rng.integers(0, len(rural_codes), n)])
    weights = np.where(
        urban, rng.lognormal(np.log(1000), 0.5, n), rng.lognormal(np.log(250), 0.7, n)
    )
    enrolment = 5 + rng.multinomial(max(plan.pupils - 5 * n, 0), weights / weights.sum())
    shifts = np.where(enrolment > 400, 2, 1)
    three_shift = np.zeros(n, dtype=bool)
    three_shift[np.argsort(-enrolment, kind="stable")[: plan.three_shift_schools]] = True
    shifts = np.where(three_shift, 3, shifts)
    emergency = np.zeros(n, dtype=bool)
    emergency[rng.permutation(n)[: plan.emergency_schools]] = True
    capacity = np.maximum(np.round(enrolment / shifts * rng.uniform(0.7, 1.2, n)), 20).astype(
        np.int64
    )
    codes = np.array([f"SCH-{digits}-{k:04d}" for k in range(1, n + 1)], dtype=object)
    language = rng.choice(["kk", "ru", "mixed"], n, p=[0.6, 0.25, 0.15])
    schools = pd.DataFrame(
        {
            "code": codes,
            "district_code": [c.rsplit("-", 1)[0] for c in settlement],
            "settlement_code": settlement,
            "urban": urban,
            "small_class": ~urban & (enrolment < 120),
            "school_type": "general",
            "language": language,
            "enrolment": enrolment,
            "capacity": capacity,
            "shifts": shifts,
            "three_shift": three_shift,
            "emergency": emergency,
            "building_code": [f"B-{c[4:]}-1" for c in codes],
            "quality": rng.normal(target.quality_shift, 0.3, n),
        }
    )
    opened = np.where(
        rng.random(n) < 0.04,
        np.datetime64("2023-09-01"),
        np.datetime64("1985-09-01") + rng.integers(0, 12_000, n).astype("timedelta64[D]"),
    )
    organization = pd.DataFrame(
        {
            "code": codes,
            "name": [f"School {c}" for c in codes],
            "kind": "general_secondary",
            "school_type": "general",
            "small_class": schools["small_class"],
            "ownership": "state",
            "instruction_language": language,
            "bin": None,
            "settlement_code": settlement,
            "design_capacity": capacity,
            "shifts": shifts,
            "enrolment": enrolment,
            "opened_on": _dates(opened),
            "closed_on": None,
        }
    )
    building = pd.DataFrame(
        {
            "code": schools["building_code"],
            "organization_code": codes,
            "year_built": rng.integers(1950, 2023, n),
            "condition": np.where(
                emergency,
                "emergency",
                rng.choice(["good", "satisfactory", "needs_repair"], n, p=[0.4, 0.4, 0.2]),
            ),
            "wooden": False,
            "floors": 3,
            "design_capacity": capacity,
            "shifts": shifts,
        }
    )
    frame = RegionFrame(plan=plan, seed=seed)
    frame.schools = schools
    frame.tables.update(
        district=districts, settlement=settlements, organization=organization, building=building
    )
    if students:
        frame.students = _fake_students(rng, digits, codes, enrolment)
    if teachers:
        frame.teachers = _fake_teachers(rng, digits, codes, enrolment)
    return frame


def _fake_students(
    rng: np.random.Generator, digits: str, schools: np.ndarray, enrolment: np.ndarray
) -> pd.DataFrame:
    school = np.repeat(np.arange(len(schools)), enrolment)
    n = len(school)
    grade_p = np.array([5.0, *GRADE_WEIGHTS])
    grade = rng.choice(12, n, p=grade_p / grade_p.sum())
    return pd.DataFrame(
        {
            "code": [f"S{digits}-{k:07d}" for k in range(1, n + 1)],
            "organization_code": schools[school],
            "grade": grade,
            "class_label": [f"{g}А" for g in grade.tolist()],
            "instruction_language": "kk",
            "sex": np.where(rng.random(n) < 0.5, "F", "M"),
            "birth_year": 2018 - grade,
            "low_income": rng.random(n) < 0.07,
            "socially_vulnerable": rng.random(n) < 0.09,
            "special_needs": rng.random(n) < 0.03,
        }
    )


def _fake_teachers(
    rng: np.random.Generator, digits: str, schools: np.ndarray, enrolment: np.ndarray
) -> pd.DataFrame:
    staff = np.maximum(enrolment // 11, 6)
    school = np.repeat(np.arange(len(schools)), staff)
    rank = np.arange(len(school)) - np.repeat(np.cumsum(staff) - staff, staff)
    deputies = np.minimum(1 + enrolment // 500, 3)[school]
    position = np.where(
        rank == 0,
        "head",
        np.where(
            rank <= deputies,
            "deputy_head",
            np.where(rank == deputies + 1, "psychologist", "teacher"),
        ),
    )
    n = len(school)
    leaving = (position == "teacher") & (rng.random(n) < 0.06)
    experience = np.where(
        position == "teacher", rng.integers(0, 35, n), rng.integers(8, 35, n)
    ).astype(np.int64)
    hired = np.datetime64("2024-08-25") - (rng.uniform(0, 1, n) * experience * 365).astype(
        "timedelta64[D]"
    )
    left = np.where(
        leaving,
        np.datetime64("2024-09-02") + rng.integers(0, 200, n).astype("timedelta64[D]"),
        np.datetime64("NaT"),
    )
    return pd.DataFrame(
        {
            "code": [f"T{digits}-{k:06d}" for k in range(1, n + 1)],
            "organization_code": schools[school],
            "sex": np.where(rng.random(n) < 0.78, "F", "M"),
            "birth_year": 2001 - experience,
            "position": position,
            "category": "pedagogue",
            "main_subject": "MATH",
            "experience_years": experience,
            "hired_on": _dates(hired),
            "left_on": _dates(left),
            "young_specialist": experience < 3,
            "young_specialist_since": None,
            "ability": rng.normal(0, 1, n),
        }
    )


@pytest.fixture(scope="session")
def make_fake_region_welfare() -> FakeRegionFactory:
    """Factory of fake regions:
    ``make(index, scale="region", *, seed=11, students=True, teachers=True)``.

    Used by the welfare, leadership and projects tests; every call builds a fresh frame.
    """
    return _build_fake_region


@pytest.fixture
def fake_region_welfare() -> RegionFrame:
    """A fake Almaty region (KZ-19, a place-deficit region) at the ``region`` scale."""
    return _build_fake_region(3)


@pytest.fixture
def real_region_welfare() -> RegionFrame:
    """Almaty region (KZ-19) at the ``region`` scale built by the real stages up to the
    workforce (``_stages.build_people``): the frames the welfare, leadership and projects
    stages read in ``sapa synth``."""
    from _stages import build_people

    return build_people(_plans("region")[3])


def _any_value(value: object) -> bool:
    return True


_TYPE_CHECKS: dict[str, Callable[[object], bool]] = {
    "date": lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime),
    "bool": lambda v: isinstance(v, bool | np.bool_),
    "int": lambda v: isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_),
    "str": lambda v: isinstance(v, str),
    "enum": lambda v: isinstance(v, str),
    "code": lambda v: isinstance(v, str),
}
"""How a present value of each field kind must look in a generated table."""


def _check_against_schema(table: pd.DataFrame, model: type[Base]) -> None:
    """Fail unless ``table`` is import-ready for ``model``: the file columns in order, value
    types, required values present, vocabularies, text lengths, numeric ranges, unique natural
    keys and unique sets, and the CHECK comparisons between columns."""
    schema = entity_schema(model)
    assert tuple(table.columns) == schema.field_names
    for spec in schema.fields:
        values = table[spec.name]
        present = values[values.notna()]
        assert all(map(_TYPE_CHECKS.get(spec.kind, _any_value), present)), f"{spec.name} type"
        if spec.kind in ("int", "bool", "float", "decimal"):
            assert pd.api.types.is_numeric_dtype(values) or values.dtype == bool, spec.name
        if spec.required:
            assert len(present) == len(values), f"{spec.name} has missing values"
        if spec.allowed:
            unknown = set(present) - set(spec.allowed)
            assert not unknown, f"{spec.name}: unknown values {unknown}"
        if spec.max_length is not None and len(present):
            assert present.map(len).max() <= spec.max_length, f"{spec.name} too long"
        if spec.range is not None:
            for value in present:
                assert spec.range.problem(value) is None, f"{spec.name}: {value}"
    for names in schema.unique_sets:
        assert not table.duplicated(list(names)).any(), f"duplicate {names}"
    for left, relation, right in schema.comparisons:
        both = table[[left, right]].dropna()
        assert all(map(_OPERATORS[relation], both[left], both[right])), f"{left} {relation} {right}"


@pytest.fixture(scope="session")
def assert_matches_schema() -> SchemaCheck:
    """``check(table, Model)``: assert a generated table is import-ready for ``Model``."""
    return _check_against_schema
