"""Welfare tables of a synthetic region: layouts, references, rates and the survey's truth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from sapa.domain.welfare import (
    CateringInspection,
    ChildRightsIncident,
    Feedback,
    MealProvision,
    ParentSurvey,
    SurveyAnswer,
    SurveyItem,
    TrusteeCouncilMeeting,
)
from sapa.irt import IRTModel
from sapa.synth._frame import RegionFrame
from sapa.synth._targets import REFERENCE_DATE, SCHOOL_YEAR_START
from sapa.synth._welfare import (
    MEAL_PERIODS,
    RESPONDENT_SHARE,
    SATISFACTION_EFFECTS,
    SURVEY_ITEMS,
    add_welfare,
    survey_item_bank,
    welfare_national_tables,
)

FakeRegionFactory = Callable[..., RegionFrame]
SchemaCheck = Callable[..., None]

MODELS = {
    "meal_provision": MealProvision,
    "catering_inspection": CateringInspection,
    "child_rights_incident": ChildRightsIncident,
    "survey_answer": SurveyAnswer,
    "trustee_council_meeting": TrusteeCouncilMeeting,
    "feedback": Feedback,
}


@pytest.fixture
def region(fake_region_welfare: RegionFrame) -> RegionFrame:
    add_welfare(fake_region_welfare)
    return fake_region_welfare


@pytest.fixture(scope="module")
def big_region(make_fake_region_welfare: FakeRegionFactory) -> RegionFrame:
    """Astana at full scale (≈ 280,000 pupils): rates are measured here."""
    frame = make_fake_region_welfare(17, "national")
    add_welfare(frame)
    return frame


def test_national_tables_match_schemas(assert_matches_schema: SchemaCheck) -> None:
    tables = welfare_national_tables()
    assert_matches_schema(tables["parent_survey"], ParentSurvey)
    assert_matches_schema(tables["survey_item"], SurveyItem)
    items = tables["survey_item"]
    assert 8 <= len(items) <= 10
    assert set(items["parent_survey_code"]) == set(tables["parent_survey"]["code"])
    assert tuple(items["code"]) == survey_item_bank().names
    assert tables["parent_survey"]["region_code"].isna().all()


def test_survey_items_are_graded_and_ordered() -> None:
    bank = survey_item_bank()
    assert bank.models == ("GRM",) * len(SURVEY_ITEMS)
    assert (np.diff(bank.intercepts, axis=1) < 0).all()
    assert (bank.slopes > 0).all()


def test_region_tables_match_schemas(
    region: RegionFrame, assert_matches_schema: SchemaCheck
) -> None:
    for name, model in MODELS.items():
        assert_matches_schema(region.tables[name], model)


def test_references_resolve(region: RegionFrame) -> None:
    schools = set(region.schools["code"])
    for name in MODELS:
        codes = region.tables[name]["organization_code"].dropna()
        assert set(codes) <= schools, name
    items = set(welfare_national_tables()["survey_item"]["code"])
    assert set(region.tables["survey_answer"]["survey_item_code"]) == items
    assert (region.tables["feedback"]["region_code"] == region.code).all()


def test_codes_carry_the_region_digits(region: RegionFrame) -> None:
    digits = f"-{region.digits}-"
    for name, column in (
        ("child_rights_incident", "code"),
        ("feedback", "code"),
        ("survey_answer", "respondent_code"),
    ):
        assert region.tables[name][column].str.contains(digits).all(), name


def test_meal_eligibility_follows_the_rules(region: RegionFrame) -> None:
    students = region.students
    meals = region.tables["meal_provision"]
    primary = students[students["grade"].between(1, 4)].groupby("organization_code").size()
    vulnerable = students[
        students["grade"].between(5, 11)
        & (students["low_income"] | students["socially_vulnerable"])
    ]
    fund = vulnerable.groupby("organization_code").size()
    for source, expected in (("local_budget", primary), ("universal_education_fund", fund)):
        for start, _ in MEAL_PERIODS:
            rows = meals[(meals["funding_source"] == source) & (meals["period_start"] == start)]
            got = rows.set_index("organization_code")["eligible_count"].sort_index()
            pd.testing.assert_series_equal(
                got, expected.sort_index(), check_names=False, check_dtype=False
            )
    coverage = meals["covered_count"].sum() / meals["eligible_count"].sum()
    assert 0.97 <= coverage < 1
    cost = meals.drop_duplicates("organization_code")["cost_per_child_day_tenge"]
    assert cost.mean() == pytest.approx(region.plan.target.meal_cost_tenge, rel=0.05)


def test_event_dates_fall_in_the_school_year(region: RegionFrame) -> None:
    for name, column in (
        ("catering_inspection", "inspected_on"),
        ("trustee_council_meeting", "held_on"),
        ("child_rights_incident", "reported_on"),
    ):
        dates = region.tables[name][column]
        assert dates.min() >= SCHOOL_YEAR_START and dates.max() <= REFERENCE_DATE, name
        assert all(day.weekday() < 5 for day in dates), name
    per_school = region.tables["catering_inspection"].groupby("organization_code").size()
    assert per_school.between(1, 3).all() and len(per_school) == len(region.schools)
    meetings = region.tables["trustee_council_meeting"]
    assert meetings.groupby("organization_code").size().between(2, 4).all()
    assert (meetings["members_total"] >= 9).all()


def test_incident_statuses_and_closing_dates(big_region: RegionFrame) -> None:
    incidents = big_region.tables["child_rights_incident"]
    closed = incidents["status"].isin(["resolved", "unfounded"])
    assert incidents.loc[closed, "closed_on"].notna().all()
    assert incidents.loc[~closed, "closed_on"].isna().all()
    assert (incidents.loc[closed, "closed_on"] <= REFERENCE_DATE).all()
    assert incidents["restricted"].all()
    assert set(incidents["status"]) == {
        "reported",
        "under_review",
        "referred",
        "resolved",
        "unfounded",
    }
    serious = incidents["severity"].isin(["high", "critical"])
    referred = incidents["status"] == "referred"
    assert referred[serious].mean() > 3 * referred[~serious].mean()


def test_rates(big_region: RegionFrame) -> None:
    pupils = len(big_region.students) / 1000
    incidents = big_region.tables["child_rights_incident"]
    assert len(incidents) / pupils == pytest.approx(1.5, rel=0.15)
    bullying = incidents["kind"].isin(["bullying", "cyberbullying"]).mean()
    assert bullying == pytest.approx(0.65, abs=0.06)
    feedback = big_region.tables["feedback"]
    assert len(feedback) / pupils == pytest.approx(8.0, rel=0.08)
    answers = big_region.tables["survey_answer"]
    respondents = answers["respondent_code"].nunique()
    assert respondents / len(big_region.students) == pytest.approx(RESPONDENT_SHARE, rel=0.05)
    assert len(answers) == respondents * len(SURVEY_ITEMS)


def test_feedback_deadlines(big_region: RegionFrame) -> None:
    feedback = big_region.tables["feedback"]
    assert (feedback["deadline_on"] - feedback["received_on"] == dt.timedelta(days=30)).all()
    answered = feedback["answered_on"].notna()
    late = feedback.loc[answered, "answered_on"] > feedback.loc[answered, "deadline_on"]
    assert 0.05 < late.mean() < 0.15
    assert 0.02 < (~answered).mean() < 0.10
    assert feedback["organization_code"].isna().mean() == pytest.approx(0.15, abs=0.03)


def test_survey_follows_its_true_model(big_region: RegionFrame) -> None:
    """A GRM calibrated on the answers (latent N(0, 1)) recovers the true items up to the
    respondents' latent scale: slopes times the latent SD, intercepts shifted by slope × latent
    mean, both computed from the documented satisfaction model."""
    answers = big_region.tables["survey_answer"]
    meals = big_region.tables["meal_provision"]
    gap = meals[meals["covered_count"] < meals["eligible_count"]]["organization_code"].unique()
    schools = big_region.schools.set_index("code")
    effects = SATISFACTION_EFFECTS
    school_mean = (
        effects["intercept"]
        + effects["quality"] * schools["quality"]
        + effects["extra_shift"] * (schools["shifts"] - 1)
        + effects["three_shift"] * schools["three_shift"]
        + effects["emergency"] * schools["emergency"]
        + effects["meal_gap"] * schools.index.isin(gap)
    )
    respondents = answers.drop_duplicates("respondent_code")["organization_code"]
    mean = school_mean[respondents].mean()
    sd = np.sqrt(school_mean[respondents].var() + effects["school_sd"] ** 2 + 1)

    wide = answers.pivot(index="respondent_code", columns="survey_item_code", values="answer")
    bank = survey_item_bank()
    model = IRTModel(model="GRM", se_method=None).fit(wide[list(bank.names)].to_numpy() - 1)
    estimated = model.item_bank_
    np.testing.assert_allclose(estimated.slopes / bank.slopes, sd, rtol=0.08)
    shift = (estimated.intercepts - bank.intercepts) / bank.slopes[:, None]
    np.testing.assert_allclose(shift.mean(axis=1), mean, atol=0.12)

    school_answer = answers.groupby("organization_code")["answer"].mean()
    assert np.corrcoef(school_answer, schools.loc[school_answer.index, "quality"])[0, 1] > 0.2


def test_deterministic(make_fake_region_welfare: FakeRegionFactory) -> None:
    first, second = make_fake_region_welfare(3), make_fake_region_welfare(3)
    add_welfare(first)
    add_welfare(second)
    for name in MODELS:
        pd.testing.assert_frame_equal(first.tables[name], second.tables[name])
    other = make_fake_region_welfare(3, seed=12)
    add_welfare(other)
    assert not other.tables["survey_answer"].equals(first.tables["survey_answer"])


def test_tiny_regions(
    make_fake_region_welfare: FakeRegionFactory, assert_matches_schema: SchemaCheck
) -> None:
    for index in range(20):
        frame = make_fake_region_welfare(index, "tiny")
        add_welfare(frame)
        for name, model in MODELS.items():
            assert_matches_schema(frame.tables[name], model)


def test_with_the_real_stages(
    real_region_welfare: RegionFrame, assert_matches_schema: SchemaCheck
) -> None:
    add_welfare(real_region_welfare)
    for name, model in MODELS.items():
        assert_matches_schema(real_region_welfare.tables[name], model)
    schools = set(real_region_welfare.schools["code"])
    assert set(real_region_welfare.tables["survey_answer"]["organization_code"]) <= schools
