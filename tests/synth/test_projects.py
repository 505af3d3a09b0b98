"""Construction, extension and renovation projects: layouts, statuses and national totals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from sapa.domain.infrastructure import ConstructionProject
from sapa.synth._frame import RegionFrame
from sapa.synth._projects import COMFORTABLE_COST_TENGE, _stochastic_round, add_projects
from sapa.synth._targets import NATIONAL, REFERENCE_DATE

FakeRegionFactory = Callable[..., RegionFrame]
SchemaCheck = Callable[..., None]


@pytest.fixture(scope="module")
def region(make_fake_region_welfare: FakeRegionFactory) -> RegionFrame:
    """Turkistan region at full scale (a place-deficit region, ≈ 1,060 schools)."""
    frame = make_fake_region_welfare(14, "national", students=False, teachers=False)
    add_projects(frame)
    return frame


@pytest.fixture(scope="module")
def nation(make_fake_region_welfare: FakeRegionFactory) -> pd.DataFrame:
    """Projects of all 20 regions at full scale, with the locality of each site."""
    tables = []
    for index in range(20):
        frame = make_fake_region_welfare(index, "national", students=False, teachers=False)
        add_projects(frame)
        locality = frame.tables["settlement"].set_index("code")["locality"]
        table = frame.tables["construction_project"]
        tables.append(
            table.assign(
                rural=table["settlement_code"].map(locality) == "rural",
                deficit=frame.plan.target.place_deficit,
            )
        )
    return pd.concat(tables, ignore_index=True)


def _year(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates).dt.year


def test_table_matches_schema(region: RegionFrame, assert_matches_schema: SchemaCheck) -> None:
    projects = region.tables["construction_project"]
    assert_matches_schema(projects, ConstructionProject)
    assert projects["code"].str.contains(f"-{region.digits}-").all()
    assert set(projects["settlement_code"]) <= set(region.tables["settlement"]["code"])
    assert set(projects["organization_code"].dropna()) <= set(region.schools["code"])
    existing = projects["kind"].isin(["renovation", "extension"])
    assert projects.loc[existing, "organization_code"].notna().all()


def test_statuses_agree_with_dates(region: RegionFrame) -> None:
    projects = region.tables["construction_project"]
    status = projects["status"]
    started, ended = projects["actual_start_on"].notna(), projects["actual_end_on"].notna()
    assert (ended == (status == "commissioned")).all()
    assert started[status.isin(["commissioned", "construction"])].all()
    assert not started[status.isin(["design", "planned", "cancelled"])].any()
    assert (projects.loc[ended, "actual_end_on"] <= REFERENCE_DATE).all()
    assert (projects.loc[started, "actual_start_on"] <= REFERENCE_DATE).all()
    waiting = status.isin(["design", "planned"])
    latest_start = REFERENCE_DATE - dt.timedelta(days=45)
    assert (projects.loc[waiting, "planned_start_on"] > latest_start).all()
    assert {"commissioned", "construction", "design"} <= set(status)


def test_comfortable_schools_by_year(region: RegionFrame) -> None:
    projects = region.tables["construction_project"]
    comfortable = projects[projects["programme"] == "comfortable_school"]
    assert (comfortable["kind"] == "new").all()
    year = _year(comfortable["planned_end_on"])
    first = comfortable[year == 2024]
    assert (first["status"] == "commissioned").all()
    assert (_year(first["actual_end_on"]) == 2024).all()
    second = comfortable[year == 2025]
    assert second["status"].isin(["construction", "commissioned"]).all()
    assert len(first) > 0 and len(second) > 0


def test_national_totals(nation: pd.DataFrame) -> None:
    comfortable = nation[nation["programme"] == "comfortable_school"]
    year = _year(comfortable["planned_end_on"])
    for y, schools, places, rural in (
        (2024, NATIONAL.comfortable_schools_2024, NATIONAL.comfortable_places_2024, 0.40),
        (2025, NATIONAL.comfortable_schools_2025, NATIONAL.comfortable_places_2025, 0.45),
    ):
        these = comfortable[year == y]
        assert len(these) == pytest.approx(schools, rel=0.08)
        assert these["places"].sum() == pytest.approx(places, rel=0.1)
        assert these["rural"].mean() == pytest.approx(rural, abs=0.1)
    assert comfortable["cost_tenge"].sum() == pytest.approx(COMFORTABLE_COST_TENGE, rel=0.1)
    assert comfortable["deficit"].mean() > 0.6
    renovations = nation[nation["kind"] == "renovation"]
    assert len(renovations) == pytest.approx(1300, rel=0.03)
    assert renovations["rural"].mean() > 0.6
    assert renovations["organization_code"].is_unique


def test_stochastic_rounding_is_unbiased() -> None:
    rng = np.random.default_rng(0)
    draws = np.array([_stochastic_round(rng, 2.37) for _ in range(20_000)])
    assert set(draws) == {2, 3}
    assert draws.mean() == pytest.approx(2.37, abs=0.01)


def test_counts_at_a_small_scale(make_fake_region_welfare: FakeRegionFactory) -> None:
    counts = []
    for index in range(20):
        frame = make_fake_region_welfare(index, "region", students=False, teachers=False)
        add_projects(frame)
        counts.append(frame.tables["construction_project"]["code"].str[:2].value_counts())
    total = pd.concat(counts, axis=1).fillna(0).sum(axis=1)
    assert total["CS"] == pytest.approx(217 / 20, abs=5)
    assert total["RN"] == pytest.approx(1300 / 20, rel=0.12)


def test_opened_schools_are_linked(make_fake_region_welfare: FakeRegionFactory) -> None:
    frame = make_fake_region_welfare(17, "national", students=False, teachers=False)
    organizations = frame.tables["organization"]
    opened = organizations["code"].iloc[:3]
    organizations.loc[opened.index, "opened_on"] = dt.date(2024, 9, 2)
    add_projects(frame)
    projects = frame.tables["construction_project"]
    linked = projects[projects["organization_code"].isin(opened) & (projects["kind"] == "new")]
    assert len(linked) == 3
    assert (linked["programme"] == "comfortable_school").all()
    assert (linked["actual_end_on"] <= dt.date(2024, 9, 2)).all()
    site = organizations.set_index("code").loc[linked["organization_code"], "settlement_code"]
    assert np.array_equal(site.to_numpy(), linked["settlement_code"].to_numpy())


def test_deterministic(make_fake_region_welfare: FakeRegionFactory) -> None:
    first, second = make_fake_region_welfare(3), make_fake_region_welfare(3)
    add_projects(first)
    add_projects(second)
    pd.testing.assert_frame_equal(
        first.tables["construction_project"], second.tables["construction_project"]
    )


def test_a_region_without_projects(
    make_fake_region_welfare: FakeRegionFactory, assert_matches_schema: SchemaCheck
) -> None:
    for index in range(20):
        frame = make_fake_region_welfare(index, "tiny", students=False, teachers=False)
        add_projects(frame)
        assert_matches_schema(frame.tables["construction_project"], ConstructionProject)


def test_with_the_real_stages(
    real_region_welfare: RegionFrame, assert_matches_schema: SchemaCheck
) -> None:
    add_projects(real_region_welfare)
    projects = real_region_welfare.tables["construction_project"]
    assert_matches_schema(projects, ConstructionProject)
    assert set(projects["settlement_code"]) <= set(real_region_welfare.tables["settlement"]["code"])
