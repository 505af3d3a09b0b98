"""Schools, geography and buildings of the national-scale school frame against the facts."""

from __future__ import annotations

import pandas as pd
import pytest
from _stages import build_schools

from sapa.domain.identifiers import bin_problem
from sapa.synth import SCALES, plan_nation
from sapa.synth._frame import RegionFrame
from sapa.synth._geography import CITY_DISTRICTS


@pytest.fixture(scope="module")
def nation() -> list[RegionFrame]:
    return [build_schools(plan) for plan in plan_nation(SCALES["national"])]


@pytest.fixture(scope="module")
def schools(nation: list[RegionFrame]) -> pd.DataFrame:
    return pd.concat([f.schools.assign(region=f.code) for f in nation], ignore_index=True)


def test_school_counts_and_kinds_match_the_national_facts(schools: pd.DataFrame) -> None:
    assert len(schools) == 7860
    assert schools["urban"].mean() == pytest.approx(0.316, abs=0.01)
    assert schools["small_class"].mean() == pytest.approx(0.36, abs=0.015)
    assert not (schools["small_class"] & schools["urban"]).any()
    small_pupils = schools.loc[schools["small_class"], "enrolment"].sum()
    assert small_pupils / schools["enrolment"].sum() == pytest.approx(0.053, abs=0.01)
    assert schools["enrolment"].sum() == pytest.approx(3_900_000, rel=0.005)


def test_shifts_and_emergency_buildings(schools: pd.DataFrame, nation: list[RegionFrame]) -> None:
    assert schools["three_shift"].sum() == 53
    assert (schools.loc[schools["three_shift"], "shifts"] == 3).all()
    assert schools["emergency"].sum() == 32
    buildings = pd.concat([f.tables["building"] for f in nation])
    assert (buildings["condition"] == "emergency").sum() == 32
    overcrowded = schools["enrolment"] > schools["capacity"] * schools["shifts"]
    deficit = schools["region"].isin(["KZ-71", "KZ-75", "KZ-79", "KZ-19", "KZ-61"])
    assert overcrowded[deficit].mean() > 0.3
    assert not overcrowded[~deficit & ~schools["three_shift"]].any()


@pytest.mark.parametrize(
    ("region", "low", "high"),
    [("KZ-43", 0.90, 0.98), ("KZ-47", 0.88, 0.97), ("KZ-59", 0.18, 0.30), ("KZ-75", 0.50, 0.60)],
)
def test_kazakh_medium_share_of_pupils_by_region(
    schools: pd.DataFrame, region: str, low: float, high: float
) -> None:
    here = schools[schools["region"] == region]
    kazakh = here["enrolment"] * here["language"].map({"kk": 1.0, "mixed": 0.5, "ru": 0.0})
    assert low <= kazakh.sum() / here["enrolment"].sum() <= high


def test_north_kazakhstan_is_mostly_small_class_schools(schools: pd.DataFrame) -> None:
    assert schools.loc[schools["region"] == "KZ-59", "small_class"].mean() == pytest.approx(
        0.74, abs=0.02
    )


def test_geography_places_every_school(nation: list[RegionFrame]) -> None:
    for frame in nation:
        settlements = frame.tables["settlement"].set_index("code")
        organizations = frame.tables["organization"]
        assert organizations["settlement_code"].isin(settlements.index).all()
        locality = settlements.loc[frame.schools["settlement_code"], "locality"].to_numpy()
        assert ((locality == "urban") == frame.schools["urban"].to_numpy()).all()
        assert (
            frame.tables["settlement"]["district_code"].isin(frame.tables["district"]["code"]).all()
        )
        if frame.code in CITY_DISTRICTS:
            assert len(frame.tables["district"]) == len(CITY_DISTRICTS[frame.code])


def test_organizations_have_unique_codes_and_valid_bins(nation: list[RegionFrame]) -> None:
    organizations = pd.concat([f.tables["organization"] for f in nation])
    assert organizations["code"].is_unique
    bins = organizations["bin"].dropna()
    assert bins.is_unique
    assert all(bin_problem(b) is None for b in bins.iloc[::25])
    assert (organizations["ownership"] == "private").mean() == pytest.approx(0.1, abs=0.05)


def test_subject_classrooms_are_more_common_in_towns(nation: list[RegionFrame]) -> None:
    rooms = pd.concat([f.tables["subject_classroom"] for f in nation])
    schools = pd.concat([f.schools for f in nation]).set_index("building_code")
    science = rooms[rooms["kind"].isin(["physics", "chemistry", "biology"])]
    with_science = schools.index.isin(science["building_code"])
    urban = schools["urban"].to_numpy()
    assert with_science[urban].mean() > with_science[~urban].mean() + 0.2
    assert not rooms.duplicated(["building_code", "room"]).any()
