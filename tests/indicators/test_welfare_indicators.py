"""Welfare indicators and parent satisfaction: direct computations on the synthetic nation,
recovery of the survey's true graded-response items and of the schools' true quality,
cluster-robust errors, suppression and completeness."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from _nation import Nation, column, expected_units, tiny_nation, values

from sapa.domain.welfare import IncidentKind
from sapa.errors import DataValidationError
from sapa.indicators._table import COLUMNS, MIN_CELL, NATION
from sapa.indicators.welfare import (
    SatisfactionScores,
    parent_satisfaction_scores,
    welfare_indicators,
)
from sapa.synth._welfare import SURVEY_CODE, survey_item_bank

ON = dt.date(2025, 5, 31)
YEAR_START = dt.date(2024, 9, 1)


@pytest.fixture(scope="module")
def nation() -> Nation:
    return tiny_nation()


@pytest.fixture(scope="module")
def table(nation: Nation) -> pd.DataFrame:
    return welfare_indicators(nation.tables, nation.units, on=ON)


@pytest.fixture(scope="module")
def raw(nation: Nation) -> pd.DataFrame:
    """Without suppression, for comparisons with direct computations."""
    return welfare_indicators(nation.tables, nation.units, on=ON, min_cell=0)


@pytest.fixture(scope="module")
def scores(nation: Nation) -> SatisfactionScores:
    result = parent_satisfaction_scores(nation.tables, on=ON)
    assert result is not None
    return result


def _in_year(days: pd.Series) -> list[bool]:
    return [YEAR_START <= d <= ON for d in days]


def _region(nation: Nation, schools: pd.Series) -> np.ndarray:
    return nation.units.frame.loc[schools, "region"].to_numpy()


def test_every_indicator_has_every_unit(table: pd.DataFrame, nation: Nation):
    assert list(table.columns) == list(COLUMNS)
    expected_indicators = {
        "welfare.meal_coverage",
        "welfare.incidents_per_1000",
        *(f"welfare.incidents_per_1000.{kind.value}" for kind in IncidentKind),
        "welfare.appeals_overdue",
        "welfare.catering_violations_per_inspection",
        "welfare.trustee_meetings",
        "welfare.parent_satisfaction",
    }
    assert set(table["indicator"]) == expected_indicators
    expected = expected_units(nation.units)
    for (indicator, level, subgroup), rows in table.groupby(["indicator", "level", "subgroup"]):
        assert set(rows["unit"]) == expected[level], (indicator, level, subgroup)
        assert rows["unit"].is_unique


def test_meal_coverage_near_complete_for_grades_1_to_4(raw: pd.DataFrame, nation: Nation):
    meals = nation.tables["meal_provision"]
    meals = meals[_in_year(meals["period_start"])]
    sums = meals.groupby(_region(nation, meals["organization_code"]))[
        ["covered_count", "eligible_count"]
    ].sum()
    got = values(raw, "welfare.meal_coverage", "region")
    np.testing.assert_allclose(got[sums.index], sums["covered_count"] / sums["eligible_count"])
    primary = values(raw, "welfare.meal_coverage", "nation", "funding=local_budget")[NATION]
    assert primary > 0.98  # every pupil of grades 1-4 is entitled, a few rows fall short
    fund = meals[meals["funding_source"] == "universal_education_fund"]
    by_fund = values(raw, "welfare.meal_coverage", "nation", "funding=universal_education_fund")
    assert by_fund[NATION] == pytest.approx(
        fund["covered_count"].sum() / fund["eligible_count"].sum()
    )
    assert set(raw.loc[raw["indicator"] == "welfare.meal_coverage", "subgroup"]) == {
        "all",
        "funding=local_budget",
        "funding=universal_education_fund",
    }


def test_incidents_per_1000_pupils(raw: pd.DataFrame, nation: Nation):
    incidents = nation.tables["child_rights_incident"]
    incidents = incidents[_in_year(incidents["reported_on"])]
    pupils = nation.tables["student"].groupby("organization_code").size()
    per_school = incidents.groupby("organization_code").size().reindex(pupils.index, fill_value=0)
    got = values(raw, "welfare.incidents_per_1000", "school")
    np.testing.assert_allclose(got[pupils.index], 1000 * per_school / pupils)
    total = values(raw, "welfare.incidents_per_1000", "nation")[NATION]
    assert total == pytest.approx(1000 * len(incidents) / pupils.sum())
    assert 0.8 < total < 2.5  # 1.5 documented cases per 1,000 pupils a year
    by_kind = sum(
        values(raw, f"welfare.incidents_per_1000.{kind.value}", "nation")[NATION]
        for kind in IncidentKind
    )
    assert by_kind == pytest.approx(total)


def test_appeals_overdue(raw: pd.DataFrame, nation: Nation):
    appeals = nation.tables["feedback"]
    due = appeals[
        [
            YEAR_START <= r <= ON and d < ON
            for r, d in zip(appeals["received_on"], appeals["deadline_on"], strict=True)
        ]
    ]
    late = [
        a is None or pd.isna(a) or a > d or a > ON
        for a, d in zip(due["answered_on"], due["deadline_on"], strict=True)
    ]
    share = pd.Series(late, index=due.index).groupby(due["region_code"].to_numpy()).mean()
    got = values(raw, "welfare.appeals_overdue", "region")
    np.testing.assert_allclose(got[share.index], share)
    national = values(raw, "welfare.appeals_overdue", "nation")[NATION]
    assert national == pytest.approx(np.mean(late))
    assert 0.03 < national < 0.2  # 9% late, 3% never answered
    schools_only = column(raw, "welfare.appeals_overdue", "school", "n").sum()
    assert schools_only == due["organization_code"].notna().sum()


def test_catering_and_trustee_councils(raw: pd.DataFrame, nation: Nation):
    inspections = nation.tables["catering_inspection"]
    inspections = inspections[_in_year(inspections["inspected_on"])]
    by_region = (
        inspections["violations_count"]
        .groupby(_region(nation, inspections["organization_code"]))
        .mean()
    )
    got = values(raw, "welfare.catering_violations_per_inspection", "region")
    np.testing.assert_allclose(got[by_region.index], by_region)
    national = values(raw, "welfare.catering_violations_per_inspection", "nation")[NATION]
    assert 0.2 < national < 0.8  # Poisson(0.2), or 2.5 in 12% of kitchens: 0.48

    meetings = nation.tables["trustee_council_meeting"]
    meetings = meetings[_in_year(meetings["held_on"])]
    per_school = meetings.groupby("organization_code").size()
    got = values(raw, "welfare.trustee_meetings", "school")
    np.testing.assert_array_equal(got[per_school.index], per_school)
    mean = values(raw, "welfare.trustee_meetings", "nation")[NATION]
    assert mean == pytest.approx(len(meetings) / len(nation.units.frame))
    assert 2.5 < mean < 3.5  # 2-4 meetings a year


def test_calibrated_survey_items_recover_the_truth(scores: SatisfactionScores):
    truth = survey_item_bank()
    assert scores.survey == SURVEY_CODE
    assert scores.item_bank.names == truth.names
    assert np.corrcoef(scores.item_bank.slopes, truth.slopes)[0, 1] > 0.9
    thresholds = scores.item_bank.intercepts.reshape(-1)
    assert np.corrcoef(thresholds, truth.intercepts.reshape(-1))[0, 1] > 0.9


def test_school_satisfaction_follows_true_quality(table: pd.DataFrame, nation: Nation):
    satisfaction = values(table, "welfare.parent_satisfaction", "school").dropna()
    truth = nation.schools_truth.set_index("code")["quality"]
    assert len(satisfaction) > 20
    assert np.corrcoef(satisfaction, truth[satisfaction.index])[0, 1] > 0.1


def test_satisfaction_has_cluster_robust_errors(
    raw: pd.DataFrame, scores: SatisfactionScores, nation: Nation
):
    respondents = scores.respondents
    answers = nation.tables["survey_answer"]
    assert len(respondents) == answers["respondent_code"].nunique()
    assert column(raw, "welfare.parent_satisfaction", "nation", "n")[NATION] == len(respondents)

    region = "KZ-61"
    mine = respondents[_region(nation, respondents["school"]) == region]
    theta = mine["theta"].to_numpy()
    residual = theta - theta.mean()
    totals = pd.Series(residual).groupby(mine["school"].to_numpy()).sum()
    g = len(totals)
    se = np.sqrt(g / (g - 1) * (totals**2).sum()) / len(theta)
    rows = raw[(raw["indicator"] == "welfare.parent_satisfaction") & (raw["unit"] == region)]
    assert rows["value"].item() == pytest.approx(theta.mean())
    assert rows["se"].item() == pytest.approx(se)
    assert rows["ci_low"].item() == pytest.approx(theta.mean() - 1.959964 * se, abs=1e-5)

    school = mine["school"].value_counts().index[0]
    within = mine.loc[mine["school"] == school, "theta"]
    rows = raw[(raw["indicator"] == "welfare.parent_satisfaction") & (raw["unit"] == school)]
    assert rows["se"].item() == pytest.approx(within.std(ddof=1) / np.sqrt(len(within)))


def test_small_cells_are_suppressed(table: pd.DataFrame):
    satisfaction = table[table["indicator"] == "welfare.parent_satisfaction"]
    small = satisfaction["n"] < MIN_CELL
    assert small.any() and (~small).any()
    assert satisfaction.loc[small, "suppressed"].all()
    assert satisfaction.loc[small, ["value", "se", "ci_low", "ci_high"]].isna().all().all()
    assert satisfaction.loc[~small, ["value", "se"]].notna().all().all()
    public = table["indicator"].isin(
        ["welfare.catering_violations_per_inspection", "welfare.trustee_meetings"]
    )
    assert not table.loc[public, "suppressed"].any()


def test_no_survey_yet_means_no_satisfaction_rows(nation: Nation):
    before = dt.date(2025, 3, 1)
    assert parent_satisfaction_scores(nation.tables, on=before) is None
    table = welfare_indicators(nation.tables, nation.units, on=before)
    assert "welfare.parent_satisfaction" not in set(table["indicator"])
    with pytest.raises(DataValidationError, match="no survey with code 'PS-1990'"):
        parent_satisfaction_scores(nation.tables, on=ON, survey="PS-1990")
