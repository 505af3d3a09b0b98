"""Workforce indicators: against direct computations on the synthetic nation, its known truths
(category shares, overdue attestations, pupil–teacher ratio), suppression and completeness."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from _nation import Nation, column, expected_units, tiny_nation, values

from sapa.errors import DataValidationError
from sapa.indicators._table import COLUMNS, MIN_CELL, NATION
from sapa.indicators.workforce import workforce_indicators
from sapa.synth._targets import CATEGORY_SHARES, NATIONAL

ON = dt.date(2025, 5, 31)
INDICATORS = {
    *(f"teachers.share.{c}" for c in ("pedagogue", *CATEGORY_SHARES)),
    "teachers.qualification_pass_rate",
    "teachers.attestation_due_12m",
    "teachers.attestation_overdue",
    "teachers.pd_coverage_3y",
    "teachers.mean_weekly_hours",
    "teachers.rate_over_1_5",
    "teachers.pupil_teacher_ratio",
    "teachers.vacancies_open",
    "teachers.vacancy_rate",
    "teachers.young_specialists",
    "teachers.young_retention_1y",
    "teachers.young_retention_3y",
    "teachers.awards_per_1000",
}


@pytest.fixture(scope="module")
def nation() -> Nation:
    return tiny_nation()


@pytest.fixture(scope="module")
def table(nation: Nation) -> pd.DataFrame:
    return workforce_indicators(nation.tables, nation.units, on=ON)


@pytest.fixture(scope="module")
def raw(nation: Nation) -> pd.DataFrame:
    """Without suppression, for comparisons with direct computations."""
    return workforce_indicators(nation.tables, nation.units, on=ON, min_cell=0)


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def _staff(nation: Nation, on: dt.date = ON) -> pd.DataFrame:
    """Employed pedagogues with their region, by plain date comparisons."""
    teachers = nation.tables["teacher"]
    employed = [
        (_missing(h) or h <= on) and (_missing(left) or left > on)
        for h, left in zip(teachers["hired_on"], teachers["left_on"], strict=True)
    ]
    staff = teachers[employed].copy()
    staff["region"] = nation.units.frame.loc[staff["organization_code"], "region"].to_numpy()
    return staff


def _by_region(flags: pd.Series, staff: pd.DataFrame) -> pd.Series:
    return flags.groupby(staff["region"].to_numpy()).mean()


def test_every_indicator_has_every_unit_at_every_level(table: pd.DataFrame, nation: Nation):
    assert list(table.columns) == list(COLUMNS)
    assert set(table["indicator"]) == INDICATORS
    expected = expected_units(nation.units)
    overall = table[table["subgroup"] == "all"]
    for (indicator, level), rows in overall.groupby(["indicator", "level"]):
        assert set(rows["unit"]) == expected[level], (indicator, level)
        assert rows["unit"].is_unique, (indicator, level)


def test_category_shares_hold_the_national_truth(table: pd.DataFrame):
    for category, share in CATEGORY_SHARES.items():
        nation_share = values(table, f"teachers.share.{category}", "nation")[NATION]
        assert nation_share == pytest.approx(share, abs=0.004), category
    shares = sum(values(table, f"teachers.share.{c}", "nation")[NATION] for c in CATEGORY_SHARES)
    basic = values(table, "teachers.share.pedagogue", "nation")[NATION]
    assert basic + shares == pytest.approx(1.0)
    # Zhambyl: 436 masters per 40,000 pedagogues.
    zhambyl = values(table, "teachers.share.pedagogue_master", "region")["KZ-31"]
    assert zhambyl == pytest.approx(436 / 40_000, abs=0.005)


def test_category_shares_match_a_direct_computation(raw: pd.DataFrame, nation: Nation):
    staff = _staff(nation)
    history = nation.tables["category_assignment"]
    valid = [
        start <= ON and (_missing(end) or end >= ON)
        for start, end in zip(history["valid_from"], history["valid_to"], strict=True)
    ]
    current = history[valid].set_index("teacher_code")["category"]
    held = staff["code"].map(current)
    for category in ("pedagogue", *CATEGORY_SHARES):
        expected = _by_region(held == category, staff)
        got = values(raw, f"teachers.share.{category}", "region")
        pd.testing.assert_series_equal(got[expected.index], expected, check_names=False)
    schools = staff.groupby("organization_code").size()
    n = column(raw, "teachers.share.pedagogue", "school", "n")
    pd.testing.assert_series_equal(n[schools.index], schools, check_names=False)


def test_attestations_overdue_about_four_percent(raw: pd.DataFrame, nation: Nation):
    staff = _staff(nation)
    attestations = nation.tables["attestation"]
    pending = attestations[attestations["held_on"].map(_missing)]
    pending = pending[pending["teacher_code"].isin(staff["code"])]
    overdue = set(pending.loc[pending["due_on"] < ON, "teacher_code"])
    soon = set(
        pending.loc[
            (pending["due_on"] >= ON) & (pending["due_on"] < dt.date(2026, 5, 31)), "teacher_code"
        ]
    )
    for indicator, teachers in (
        ("teachers.attestation_overdue", overdue),
        ("teachers.attestation_due_12m", soon),
    ):
        expected = _by_region(staff["code"].isin(teachers), staff)
        got = values(raw, indicator, "region")
        np.testing.assert_allclose(got[expected.index], expected)
    national = values(raw, "teachers.attestation_overdue", "nation")[NATION]
    assert 0.02 < national < 0.05  # 4% drawn overdue, fewer after the two-year floor


def test_qualification_pass_rate(raw: pd.DataFrame, nation: Nation):
    results = nation.tables["qualification_test_result"]
    school = nation.tables["teacher"].set_index("code")["organization_code"]
    results = results[[d.year == ON.year and d <= ON for d in results["tested_on"]]]
    region = nation.units.frame.loc[school[results["teacher_code"]], "region"].to_numpy()
    expected = results["passed"].groupby(region).mean()
    got = values(raw, "teachers.qualification_pass_rate", "region")
    np.testing.assert_allclose(got[expected.index], expected)
    masters = results[results["target_category"] == "pedagogue_master"]
    by_target = values(
        raw, "teachers.qualification_pass_rate", "nation", "target=pedagogue_master"
    )[NATION]
    assert by_target == pytest.approx(masters["passed"].mean())


def test_training_load_and_ratio(raw: pd.DataFrame, nation: Nation):
    staff = _staff(nation)
    courses = nation.tables["course_completion"]
    recent = courses[[dt.date(2022, 5, 31) < d <= ON for d in courses["completed_on"]]]
    expected = _by_region(staff["code"].isin(recent["teacher_code"]), staff)
    got = values(raw, "teachers.pd_coverage_3y", "region")
    np.testing.assert_allclose(got[expected.index], expected)

    teaching = staff[staff["weekly_hours"] > 0]
    hours = teaching["weekly_hours"].groupby(teaching["region"].to_numpy()).mean()
    np.testing.assert_allclose(
        values(raw, "teachers.mean_weekly_hours", "region")[hours.index], hours
    )
    heavy = (teaching["weekly_hours"] > 24).groupby(teaching["region"].to_numpy()).mean()
    np.testing.assert_allclose(values(raw, "teachers.rate_over_1_5", "region")[heavy.index], heavy)

    ratio = values(raw, "teachers.pupil_teacher_ratio", "nation")[NATION]
    assert ratio == pytest.approx(len(nation.tables["student"]) / len(staff))
    assert ratio == pytest.approx(NATIONAL.pupils / NATIONAL.teachers, abs=0.6)  # ≈ 9.8


def test_vacancies(raw: pd.DataFrame, nation: Nation):
    vacancies = nation.tables["vacancy"]
    open_now = vacancies[
        [
            o <= ON and (_missing(f) or f > ON)
            for o, f in zip(vacancies["opened_on"], vacancies["filled_on"], strict=True)
        ]
    ]
    per_school = open_now.groupby("organization_code").size()
    got = values(raw, "teachers.vacancies_open", "school")
    np.testing.assert_array_equal(got[per_school.index], per_school)
    assert got.sum() == len(open_now) == values(raw, "teachers.vacancies_open", "nation")[NATION]
    posts = len(_staff(nation)) + len(open_now)
    rate = values(raw, "teachers.vacancy_rate", "nation")[NATION]
    assert rate == pytest.approx(len(open_now) / posts)
    assert 0.005 < rate < 0.02  # 0.8% of posts in towns, 1.5% in villages


def test_young_specialists_and_retention(nation: Nation, raw: pd.DataFrame):
    teachers = nation.tables["teacher"]
    staff = _staff(nation)
    young = staff[
        [not _missing(s) and s > dt.date(2022, 5, 31) for s in staff["young_specialist_since"]]
    ]
    assert values(raw, "teachers.young_specialists", "nation")[NATION] == len(young)

    started = teachers[teachers["young_specialist_since"].map(lambda s: not _missing(s))]
    cohort = started[started["young_specialist_since"] <= dt.date(2024, 5, 31)]
    kept = [
        _missing(left) or left > since.replace(year=since.year + 1)
        for since, left in zip(cohort["young_specialist_since"], cohort["left_on"], strict=True)
    ]
    retention = values(raw, "teachers.young_retention_1y", "nation")[NATION]
    assert retention == pytest.approx(np.mean(kept))
    # Nobody on file started three years before the snapshot: an empty cohort, suppressed.
    assert column(raw, "teachers.young_retention_3y", "nation", "n")[NATION] == 0


def test_three_year_retention_once_the_first_cohort_is_three_years_in(nation: Nation):
    on = dt.date(2025, 9, 1)
    table = workforce_indicators(nation.tables, nation.units, on=on)
    teachers = nation.tables["teacher"]
    started = teachers[teachers["young_specialist_since"].map(lambda s: not _missing(s))]
    cohort = started[started["young_specialist_since"] <= dt.date(2022, 9, 1)]
    kept = [
        _missing(left) or left > since.replace(year=since.year + 3)
        for since, left in zip(cohort["young_specialist_since"], cohort["left_on"], strict=True)
    ]
    retention = values(table, "teachers.young_retention_3y", "nation")[NATION]
    assert column(table, "teachers.young_retention_3y", "nation", "n")[NATION] == len(cohort)
    assert retention == pytest.approx(np.mean(kept))
    assert 0.65 < retention < 0.9  # 22% of young specialists leave within three years


def test_awards_per_1000(raw: pd.DataFrame, nation: Nation):
    awards = nation.tables["award"]
    recent = awards[[dt.date(2024, 5, 31) < d <= ON for d in awards["awarded_on"]]]
    rate = values(raw, "teachers.awards_per_1000", "nation")[NATION]
    assert rate == pytest.approx(1000 * len(recent) / len(_staff(nation)))
    national = (64 + 12 + 450 + 1600) / NATIONAL.teachers * 1000  # ≈ 5.3 a year
    assert national / 2 < rate < national * 2


def test_small_cells_are_suppressed(table: pd.DataFrame, raw: pd.DataFrame):
    unsuppressed = {"teachers.pupil_teacher_ratio", "teachers.vacancies_open"}
    personal = table[~table["indicator"].isin(unsuppressed)]
    small = personal["n"] < MIN_CELL
    assert small.any() and (~small).any()
    assert personal.loc[small, "suppressed"].all()
    assert personal.loc[small, "value"].isna().all()
    assert not personal.loc[~small, "suppressed"].any()
    public = table[table["indicator"].isin(unsuppressed)]
    assert not public["suppressed"].any()
    assert not raw["suppressed"].any()
    pd.testing.assert_series_equal(table["n"], raw["n"])


def test_missing_tables_and_columns_are_named(nation: Nation):
    tables = dict(nation.tables)
    del tables["vacancy"]
    tables["award"] = tables["award"].drop(columns="awarded_on")
    with pytest.raises(DataValidationError) as caught:
        workforce_indicators(tables, nation.units, on=ON)
    reasons = {(p.file, p.column) for p in caught.value.problems}
    assert reasons == {("vacancy", None), ("award", "awarded_on")}
