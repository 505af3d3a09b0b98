"""The leadership programme of a synthetic region: layouts, consistency and national totals."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from sapa.domain.leadership import (
    HeadAppointment,
    LeadershipCandidate,
    LeadershipCohort,
    LeadershipCohortMember,
    LeadershipReserve,
    LeadershipSelection,
)
from sapa.synth._frame import RegionFrame
from sapa.synth._leadership import PROVIDER, add_leadership, leadership_national_tables
from sapa.synth._targets import NATIONAL

FakeRegionFactory = Callable[..., RegionFrame]
SchemaCheck = Callable[..., None]

MODELS = {
    "leader_candidate": LeadershipCandidate,
    "leader_selection": LeadershipSelection,
    "leader_cohort_member": LeadershipCohortMember,
    "leader_reserve": LeadershipReserve,
    "head_appointment": HeadAppointment,
}


@pytest.fixture(scope="module")
def region(make_fake_region_welfare: FakeRegionFactory) -> RegionFrame:
    """Turkistan region at full scale (≈ 46,000 pedagogues, 67 reservists expected)."""
    frame = make_fake_region_welfare(14, "national", students=False)
    add_leadership(frame)
    return frame


@pytest.fixture(scope="module")
def nation(make_fake_region_welfare: FakeRegionFactory) -> dict[str, pd.DataFrame]:
    """The programme's tables of all 20 regions at full scale, concatenated."""
    frames = []
    for index in range(20):
        frame = make_fake_region_welfare(index, "national", students=False)
        add_leadership(frame)
        frames.append(frame)
    return {name: pd.concat([f.tables[name] for f in frames]) for name in MODELS}


def test_cohorts(assert_matches_schema: SchemaCheck) -> None:
    cohorts = leadership_national_tables()["leader_cohort"]
    assert_matches_schema(cohorts, LeadershipCohort)
    years = cohorts["code"].str[1:5].astype(int)
    assert set(zip(years, cohorts["level"], strict=True)) == {
        (year, level) for year in (2023, 2024) for level in ("basic", "expert", "professional")
    }
    assert (cohorts["provider"] == PROVIDER).all()
    assert (pd.to_datetime(cohorts["starts_on"]).dt.year == years).all()


def test_tables_match_schemas(region: RegionFrame, assert_matches_schema: SchemaCheck) -> None:
    for name, model in MODELS.items():
        assert_matches_schema(region.tables[name], model)
    assert region.tables["leader_candidate"]["code"].str.contains(f"-{region.digits}").all()


def test_references_resolve(region: RegionFrame) -> None:
    tables = region.tables
    candidates = set(tables["leader_candidate"]["code"])
    assert set(tables["leader_candidate"]["teacher_code"]) <= set(region.teachers["code"])
    assert set(tables["leader_selection"]["leader_candidate_code"]) == candidates
    cohorts = set(leadership_national_tables()["leader_cohort"]["code"])
    assert set(tables["leader_cohort_member"]["leader_cohort_code"]) <= cohorts
    assert set(tables["leader_cohort_member"]["leader_candidate_code"]) <= candidates
    assert set(tables["leader_reserve"]["leader_candidate_code"]) <= candidates
    appointed = tables["head_appointment"]["leader_candidate_code"].dropna()
    assert set(appointed) <= set(tables["leader_reserve"]["leader_candidate_code"])
    assert set(tables["head_appointment"]["organization_code"]) <= set(region.schools["code"])


def test_selection_scores_agree_with_decisions(region: RegionFrame) -> None:
    selection = region.tables["leader_selection"].merge(
        region.tables["leader_candidate"], left_on="leader_candidate_code", right_on="code"
    )
    test, interview = selection["test_score_percent"], selection["interview_score_percent"]
    decision = selection["decision"]
    admitted, waitlisted = decision == "admitted", decision == "waitlisted"
    assert ((test >= 70) & (interview >= 70))[admitted].all()
    assert ((test >= 60) & interview.between(55, 69.5))[waitlisted].all()
    rejected = selection[decision == "rejected"]
    failed = (
        rejected["test_score_percent"].isna()
        | (rejected["test_score_percent"] < 60)
        | (rejected["interview_score_percent"] < 55)
    )
    assert failed.all()
    assert (test[interview.notna()] >= 60).all()
    assert (selection["decided_on"] > selection["applied_on"]).all()
    first_call = selection[selection["intake_year"] == 2023]
    assert (first_call["position_at_application"] == "deputy_head").all()


def test_pipeline_is_nested(region: RegionFrame) -> None:
    tables = region.tables
    admitted = tables["leader_selection"].query("decision == 'admitted'")["leader_candidate_code"]
    members = tables["leader_cohort_member"].set_index("leader_candidate_code")
    assert set(members.index) == set(admitted)
    reserve = tables["leader_reserve"]["leader_candidate_code"]
    completed = members[members["status"] == "completed"]
    assert set(reserve) == set(completed.index[completed["final_score_percent"] >= 70])
    withdrawn = members[members["status"] == "withdrawn"]
    assert withdrawn["final_score_percent"].isna().all()


def test_appointed_reservists_are_heads(region: RegionFrame) -> None:
    tables = region.tables
    appointments = tables["head_appointment"]
    from_reserve = appointments.dropna(subset=["leader_candidate_code"]).merge(
        tables["leader_reserve"], on="leader_candidate_code"
    )
    from_reserve = from_reserve.merge(
        tables["leader_candidate"], left_on="leader_candidate_code", right_on="code"
    )
    assert len(from_reserve) > 0
    assert (from_reserve["teacher_code_x"] == from_reserve["teacher_code_y"]).all()
    assert (from_reserve["position"] == "head").all()
    assert from_reserve["position_at_application"].isin(["deputy_head", "teacher"]).all()
    assert (from_reserve["appointed_on"] > from_reserve["included_on"]).all()
    assert (from_reserve["excluded_on"] == from_reserve["appointed_on"]).all()
    teachers = region.teachers.set_index("code")
    assert (teachers.loc[from_reserve["teacher_code_x"], "position"] == "head").all()
    heads = region.teachers[region.teachers["position"] == "head"]
    rows = appointments.set_index("teacher_code").loc[heads["code"]]
    assert (rows["organization_code"].to_numpy() == heads["organization_code"].to_numpy()).all()
    assert appointments["teacher_code"].is_unique


def test_national_totals(nation: dict[str, pd.DataFrame]) -> None:
    candidates = nation["leader_candidate"].set_index("code")
    assert candidates.index.is_unique
    applicants = candidates.groupby("intake_year").size()
    assert applicants[2023] == pytest.approx(3000, rel=0.02)
    assert applicants[2024] == pytest.approx(13000, rel=0.02)
    reserve = nation["leader_reserve"]
    position = candidates.loc[reserve["leader_candidate_code"], "position_at_application"]
    assert len(reserve) == pytest.approx(NATIONAL.leader_reservists, rel=0.03)
    assert (position == "deputy_head").sum() == pytest.approx(397, rel=0.04)
    assert (position == "teacher").sum() == pytest.approx(186, rel=0.06)
    appointed = nation["head_appointment"]["leader_candidate_code"].notna().sum()
    assert appointed == pytest.approx(NATIONAL.leader_appointed, rel=0.04)
    year = candidates.loc[reserve["leader_candidate_code"], "intake_year"].to_numpy()
    assert np.sum(year == 2023) == pytest.approx(200, rel=0.05)


def test_deterministic(make_fake_region_welfare: FakeRegionFactory) -> None:
    first, second = make_fake_region_welfare(3), make_fake_region_welfare(3)
    add_leadership(first)
    add_leadership(second)
    for name in MODELS:
        pd.testing.assert_frame_equal(first.tables[name], second.tables[name])


def test_tiny_regions(
    make_fake_region_welfare: FakeRegionFactory, assert_matches_schema: SchemaCheck
) -> None:
    for index in range(20):
        frame = make_fake_region_welfare(index, "tiny", students=False)
        add_leadership(frame)
        for name, model in MODELS.items():
            assert_matches_schema(frame.tables[name], model)


def test_with_the_real_stages(
    real_region_welfare: RegionFrame, assert_matches_schema: SchemaCheck
) -> None:
    frame = real_region_welfare
    add_leadership(frame)
    for name, model in MODELS.items():
        assert_matches_schema(frame.tables[name], model)
    heads = frame.teachers.loc[frame.teachers["position"] == "head", "code"]
    assert set(heads) <= set(frame.tables["head_appointment"]["teacher_code"])
