"""Conditions indicators and the cohort-survival enrolment forecast.

The projection kernel is checked against the published example of the ``enrollcast`` R package
and the forecast against hand-worked cases, a stationary population (reproduced exactly) and a
population growing at a constant rate; the indicators against direct computations on the
synthetic nation and its plan (three-shift and emergency schools per region).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from _nation import Nation, column, expected_units, tiny_nation, values

from sapa.errors import DataValidationError, InvalidParameterError
from sapa.indicators._table import COLUMNS, NATION, Units
from sapa.indicators.infrastructure import (
    CLASSROOM_KINDS,
    cohort_projection,
    conditions_indicators,
    enrolment_forecast,
    forecast_indicators,
)
from sapa.synth import SCALES, plan_nation

ON = dt.date(2025, 5, 31)


@pytest.fixture(scope="module")
def nation() -> Nation:
    return tiny_nation()


@pytest.fixture(scope="module")
def table(nation: Nation) -> pd.DataFrame:
    return conditions_indicators(nation.tables, nation.units, on=ON)


@pytest.fixture(scope="module")
def forecast(nation: Nation) -> pd.DataFrame:
    return enrolment_forecast(nation.tables, nation.units, on=ON)


# --------------------------------------------------------------------------- the projection
def test_projection_reproduces_the_enrollcast_example():
    """``enrollcast`` vignette (Lawless, R package, rorylawless.r-universe.dev/enrollcast):
    history 2021–2023 of grades K, 1, 2 = (100, 90, 80), (110, 95, 88), (120, 99, 91);
    mean progression ratios K→1 = (95/100 + 99/110)/2 = 0.925 and 1→2 = (88/90 + 91/95)/2 =
    0.9678363; entries 125, 130, 128. Published projection to five decimals."""
    ratios = [(95 / 100 + 99 / 110) / 2, (88 / 90 + 91 / 95) / 2]
    assert ratios == pytest.approx([0.925, 0.9678363], abs=5e-8)
    projected = cohort_projection([120, 99, 91], ratios, [125, 130, 128])
    published = [
        [125.0, 111.0, 95.81579],
        [130.0, 115.625, 107.42982],
        [128.0, 120.25, 111.90607],
    ]
    np.testing.assert_allclose(projected, published, atol=5e-6)


def test_projection_broadcasts_over_units_and_checks_shapes():
    base = np.array([[10.0, 8.0, 6.0], [20.0, 18.0, 9.0]])
    out = cohort_projection(base, [0.5, 1.0], [[1.0, 2.0], [3.0, 4.0]])
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[1], [[3.0, 10.0, 18.0], [4.0, 1.5, 10.0]])
    with pytest.raises(DataValidationError):
        cohort_projection(base, [0.5], [[1.0], [2.0]])


# ------------------------------------------------------------------ hand-made districts
def _toy(
    grades: dict[str, list[int]],
    *,
    region_of: dict[str, str] | None = None,
    capacity: int = 300,
    projects: list[dict[str, object]] | None = None,
    preschool: int = 0,
) -> tuple[dict[str, pd.DataFrame], Units]:
    """One school per district with the given pupils by grade (grade 1 first)."""
    region_of = region_of or dict.fromkeys(grades, "R1")
    districts = list(grades)
    organization = pd.DataFrame(
        {
            "code": [f"S-{d}" for d in districts],
            "settlement_code": [f"T-{d}" for d in districts],
            "design_capacity": capacity,
            "shifts": 1,
            "enrolment": [sum(g) + preschool for g in grades.values()],
        }
    )
    students = pd.DataFrame(
        {
            "organization_code": [
                f"S-{d}"
                for d, counts in grades.items()
                for grade, count in enumerate([preschool, *counts])
                for _ in range(count)
            ],
            "grade": [
                grade
                for counts in grades.values()
                for grade, count in enumerate([preschool, *counts])
                for _ in range(count)
            ],
        }
    )
    settlement = pd.DataFrame({"code": [f"T-{d}" for d in districts], "district_code": districts})
    district = pd.DataFrame({"code": districts, "region_code": [region_of[d] for d in districts]})
    project_columns = [
        "settlement_code",
        "organization_code",
        "kind",
        "programme",
        "status",
        "places",
        "planned_end_on",
        "actual_end_on",
    ]
    tables = {
        "organization": organization,
        "student": students,
        "settlement": settlement,
        "district": district,
        "construction_project": pd.DataFrame(projects or [], columns=project_columns),
    }
    return tables, Units(organization, settlement, district)


def _enrolment(forecast: pd.DataFrame) -> pd.DataFrame:
    return forecast.pivot(index="district", columns="year", values="enrolment")


def test_hand_worked_forecast_with_a_growing_intake_and_a_new_school():
    """One district, grades 1–3 = 110, 100, 95, 300 places; a 50-place school due in August
    2026 and a cancelled one (ignored).

    Trend r = 110/100 = 1.1 at every level (the shrinkage keeps it); progression ratios
    s_1 = 1.1 · 100/110 = 1, s_2 = 1.1 · 95/100 = 1.045. By hand:
    2025/26: 121, 110, 104.5 = 335.5 (deficit 35.5);
    2026/27: 133.1, 121, 114.95 = 369.05, places 350 (deficit 19.05);
    2027/28: 146.41, 133.1, 126.445 = 405.955 (deficit 55.955).
    """
    project = {
        "settlement_code": "T-D1",
        "organization_code": None,
        "kind": "new",
        "programme": "local_budget",
        "places": 50,
        "actual_end_on": None,
    }
    tables, units = _toy(
        {"D1": [110, 100, 95]},
        projects=[
            {**project, "status": "construction", "planned_end_on": dt.date(2026, 8, 25)},
            {**project, "status": "cancelled", "planned_end_on": dt.date(2025, 8, 25)},
        ],
    )
    forecast = enrolment_forecast(tables, units, on=ON, years=3)
    assert forecast["year"].tolist() == [2024, 2025, 2026, 2027]
    assert forecast["projected"].tolist() == [False, True, True, True]
    np.testing.assert_allclose(forecast["enrolment"], [305.0, 335.5, 369.05, 405.955])
    np.testing.assert_allclose(forecast["places"], [300.0, 300.0, 350.0, 350.0])
    np.testing.assert_allclose(forecast["deficit"], [5.0, 35.5, 19.05, 55.955])
    np.testing.assert_allclose(forecast["intake_growth"], 1.1)


def test_hand_worked_shrinkage_of_district_trends():
    """Districts A (120, 100, 90) and B (80, 100, 95) of one region: the region's and
    nation's grades 1 and 2 are both 200, so r_R = 1, s = (1, 185/200 = 0.925), and
    r_A = (120 + 500)/(100 + 500), r_B = (80 + 500)/(100 + 500). Next year, by hand:
    A = 124 + 120 + 92.5 = 336.5, B = 77.333… + 80 + 92.5 = 249.833…."""
    tables, units = _toy({"A": [120, 100, 90], "B": [80, 100, 95]})
    forecast = enrolment_forecast(tables, units, on=ON, years=1)
    growth = forecast.groupby("district")["intake_growth"].first()
    np.testing.assert_allclose(growth[["A", "B"]], [620 / 600, 580 / 600])
    np.testing.assert_allclose(_enrolment(forecast)[2025][["A", "B"]], [336.5, 249.8 + 1 / 30])


def test_a_stationary_population_is_reproduced_exactly():
    """Constant intake, no loss from grade 1 to 2 and fixed progression ratios: every district
    keeps its enrolment, grade 0 classes included."""
    shape_a = np.array([100, 100, 90, 81, 60])
    shape_b = np.array([50, 50, 40, 30, 20])
    grades = {
        "A1": list(shape_a),
        "A2": list(2 * shape_a),
        "A3": list(3 * shape_a),
        "B1": list(shape_b),
        "B2": list(4 * shape_b),
    }
    region_of = {d: d[0] for d in grades}
    tables, units = _toy(grades, region_of=region_of, preschool=7)
    forecast = enrolment_forecast(tables, units, on=ON, years=5)
    enrolment = _enrolment(forecast)
    base = np.broadcast_to(enrolment[[2024]].to_numpy(), enrolment.shape)
    np.testing.assert_allclose(enrolment.to_numpy(), base, rtol=1e-12)
    np.testing.assert_allclose(forecast["intake_growth"], 1.0)


def test_a_population_growing_at_one_rate_grows_at_that_rate():
    rate, survival = 1.05, np.array([1.0, 0.9, 0.95, 0.8])
    cohort = np.concatenate([[1.0], np.cumprod(survival)]) / rate ** np.arange(5)
    grades = {f"D{k}": list(np.round(cohort * 10_000 * k).astype(int)) for k in (1, 2, 3)}
    tables, units = _toy(grades)
    forecast = enrolment_forecast(tables, units, on=ON, years=4)
    enrolment = _enrolment(forecast)
    expected = enrolment[[2024]].to_numpy() * rate ** np.arange(5)
    np.testing.assert_allclose(enrolment.to_numpy(), expected, rtol=2e-4)  # rounded pupils


def test_forecast_years_must_be_positive():
    tables, units = _toy({"D1": [10, 10, 10]})
    with pytest.raises(InvalidParameterError, match="'years' parameter of enrolment_forecast"):
        enrolment_forecast(tables, units, on=ON, years=0)


# --------------------------------------------------------------- the synthetic nation
def test_every_indicator_has_every_unit(table: pd.DataFrame, nation: Nation):
    assert list(table.columns) == list(COLUMNS)
    expected = expected_units(nation.units)
    overall = table[table["subgroup"] == "all"]
    for (indicator, level), rows in overall.groupby(["indicator", "level"]):
        assert rows["unit"].is_unique, (indicator, level)
        if indicator.startswith("conditions.forecast_deficit."):
            assert level != "school"
        assert set(rows["unit"]) == expected[level], (indicator, level)
    forecast_levels = set(table.loc[table["indicator"].str.contains("forecast"), "level"])
    assert forecast_levels == {"district", "region", "nation"}
    assert not table["suppressed"].any()


def test_places_and_overcrowding_match_a_direct_computation(table: pd.DataFrame, nation: Nation):
    schools = nation.tables["organization"].copy()
    schools["region"] = nation.units.frame.loc[schools["code"], "region"].to_numpy()
    schools["places"] = schools["design_capacity"] * schools["shifts"]
    sums = schools.groupby("region")[["enrolment", "places"]].sum()
    got = values(table, "conditions.places_ratio", "region")
    np.testing.assert_allclose(got[sums.index], sums["enrolment"] / sums["places"])
    over = schools["enrolment"] > schools["places"]
    got = values(table, "conditions.overcrowded", "school")
    np.testing.assert_array_equal(got[schools["code"]].to_numpy(), over.astype(float).to_numpy())
    pupils = schools["enrolment"].where(over, 0).sum() / schools["enrolment"].sum()
    assert values(table, "conditions.overcrowded_pupils", "nation")[NATION] == pytest.approx(pupils)


def test_three_shift_and_emergency_schools_follow_the_plan(table: pd.DataFrame):
    plans = {plan.target.code: plan for plan in plan_nation(SCALES["tiny"])}
    three = values(table, "conditions.three_shift_schools", "region")
    emergency = values(table, "conditions.emergency_schools", "region")
    for code, plan in plans.items():
        assert three[code] == plan.three_shift_schools, code
        assert emergency[code] == plan.emergency_schools, code
    total = sum(plan.three_shift_schools for plan in plans.values())  # 53 nationally / 100
    assert values(table, "conditions.three_shift_schools", "nation")[NATION] == total


def test_subject_classroom_coverage(table: pd.DataFrame, nation: Nation):
    students = nation.tables["student"]
    senior = set(students.loc[students["grade"] >= 7, "organization_code"])
    buildings = nation.tables["building"].set_index("code")["organization_code"]
    rooms = nation.tables["subject_classroom"]
    for kind in CLASSROOM_KINDS:
        equipped = set(buildings[rooms.loc[rooms["kind"] == kind, "building_code"]])
        share = len(equipped & senior) / len(senior)
        got = values(table, f"conditions.subject_classroom_coverage.{kind}", "nation")[NATION]
        assert got == pytest.approx(share), kind
    n = column(table, "conditions.subject_classroom_coverage.physics", "nation", "n")[NATION]
    assert n == len(senior)


def test_project_pipeline_and_places_delivered(table: pd.DataFrame, nation: Nation):
    projects = nation.tables["construction_project"]
    for status, count in projects["status"].value_counts().items():
        assert values(table, f"conditions.projects.{status}", "nation")[NATION] == count
    district = nation.tables["settlement"].set_index("code")["district_code"]
    per_district = projects.groupby(district[projects["settlement_code"]].to_numpy()).size()
    n = column(table, "conditions.projects.planned", "district", "n")
    assert n[per_district.index].tolist() == per_district.tolist()

    done = projects[
        (projects["status"] == "commissioned")
        & projects["kind"].isin(["new", "extension"])
        & projects["actual_end_on"].map(lambda d: d is not None and d.year == 2024)
    ]
    assert (
        values(table, "conditions.places_delivered.2024", "nation")[NATION] == done["places"].sum()
    )
    comfortable = done.loc[done["programme"] == "comfortable_school", "places"].sum()
    by_programme = values(
        table, "conditions.places_delivered.2024", "nation", "programme=comfortable_school"
    )
    assert by_programme[NATION] == comfortable


def test_forecast_on_the_nation(forecast: pd.DataFrame, table: pd.DataFrame, nation: Nation):
    units = nation.units
    assert set(forecast["district"]) == set(units.frame["district"])
    assert sorted(forecast["year"].unique()) == list(range(2024, 2030))
    base = forecast[~forecast["projected"]].set_index("district")["enrolment"]
    pupils = (
        nation.tables["student"]
        .groupby(units.of(nation.tables["student"]["organization_code"], "district"))
        .size()
    )
    np.testing.assert_allclose(base[pupils.index], pupils)
    np.testing.assert_allclose(
        forecast["deficit"], np.maximum(forecast["enrolment"] - forecast["places"], 0)
    )
    indicators = forecast_indicators(forecast)
    by_region = forecast[forecast["year"] == 2027].groupby("region")["deficit"].sum()
    got = values(indicators, "conditions.forecast_deficit.2027", "region")
    np.testing.assert_allclose(got[by_region.index], by_region)
    from_conditions = values(table, "conditions.forecast_deficit.2029", "nation")[NATION]
    assert from_conditions == pytest.approx(forecast.loc[forecast["year"] == 2029, "deficit"].sum())


def test_missing_columns_are_named(nation: Nation):
    tables = dict(nation.tables)
    tables["building"] = tables["building"].drop(columns="condition")
    with pytest.raises(DataValidationError, match="building, column 'condition'"):
        conditions_indicators(tables, nation.units, on=ON)
