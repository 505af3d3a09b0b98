"""Pupils, pedagogues and the workforce records of the region-scale nation against the facts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _stages import build_people

from sapa.domain.identifiers import iin_problem
from sapa.synth import SCALES, plan_nation
from sapa.synth._frame import RegionFrame
from sapa.synth._targets import GRADE_WEIGHTS, REFERENCE_DATE
from sapa.synth._workforce import CATEGORIES


@pytest.fixture(scope="module")
def nation() -> list[RegionFrame]:
    return [build_people(plan) for plan in plan_nation(SCALES["region"])]


def _all(nation: list[RegionFrame], entity: str) -> pd.DataFrame:
    return pd.concat([f.tables[entity].assign(region=f.code) for f in nation], ignore_index=True)


@pytest.fixture(scope="module")
def pupils(nation: list[RegionFrame]) -> pd.DataFrame:
    return _all(nation, "student")


@pytest.fixture(scope="module")
def staff(nation: list[RegionFrame]) -> pd.DataFrame:
    return pd.concat([f.teachers.assign(region=f.code) for f in nation], ignore_index=True)


def test_pupils_fill_their_schools_in_the_national_grade_proportions(
    nation: list[RegionFrame], pupils: pd.DataFrame
) -> None:
    assert len(pupils) == sum(f.plan.pupils for f in nation) == 195_000
    organizations = _all(nation, "organization").set_index("code")
    counts = pupils.groupby("organization_code").size()
    assert (counts == organizations.loc[counts.index, "enrolment"]).all()
    shares = pupils["grade"].value_counts(normalize=True).sort_index().to_numpy()
    expected = np.array(GRADE_WEIGHTS) / sum(GRADE_WEIGHTS)
    assert np.abs(shares - expected).max() < 0.01
    primary = organizations.index[organizations["school_type"] == "primary"]
    assert pupils.loc[pupils["organization_code"].isin(primary), "grade"].max() <= 4
    assert pupils["sex"].eq("M").mean() == pytest.approx(0.51, abs=0.01)


def test_classes_respect_the_size_limit_except_in_overcrowded_schools(
    nation: list[RegionFrame], pupils: pd.DataFrame
) -> None:
    schools = pd.concat([f.schools for f in nation]).set_index("code")
    over = schools["enrolment"] > schools["capacity"] * schools["shifts"]
    sizes = pupils.groupby(["organization_code", "class_label"]).size()
    crowded = over.loc[sizes.index.get_level_values(0)].to_numpy()
    assert sizes[~crowded].max() <= 25
    assert sizes[crowded].max() <= 34
    assert sizes[crowded].max() > 25
    one_language = pupils.groupby(["organization_code", "class_label"])["instruction_language"]
    assert (one_language.nunique() == 1).all()


def test_pupil_language_and_identifiers(pupils: pd.DataFrame) -> None:
    kazakh = pupils.groupby("region")["instruction_language"].apply(lambda s: (s == "kk").mean())
    assert kazakh["KZ-43"] > 0.85
    assert kazakh["KZ-59"] < 0.35
    assert (pupils["instruction_language"] == "kk").mean() == pytest.approx(0.69, abs=0.04)
    assert pupils["code"].is_unique
    iins = pupils["iin"].dropna()
    assert iins.is_unique and len(iins) > 0.94 * len(pupils)
    assert all(iin_problem(i) is None for i in iins.iloc[::97])


def test_pedagogue_totals_ratio_and_demography(
    nation: list[RegionFrame], staff: pd.DataFrame, pupils: pd.DataFrame
) -> None:
    current = staff[staff["left_on"].isna()]
    assert len(staff) == sum(f.plan.teachers for f in nation)
    assert len(pupils) / len(current) == pytest.approx(9.8, abs=0.6)
    assert current["sex"].eq("F").mean() == pytest.approx(0.78, abs=0.02)
    age = REFERENCE_DATE.year - current["birth_year"]
    assert (age < 30).mean() == pytest.approx(0.18, abs=0.04)
    assert (age >= 50).mean() == pytest.approx(0.25, abs=0.05)
    schools = pd.concat([f.schools for f in nation]).set_index("code")
    small = schools.loc[current["organization_code"], "small_class"].to_numpy()
    assert small.mean() == pytest.approx(0.14, abs=0.03)
    heads = current[current["position"] == "head"]
    assert heads["organization_code"].is_unique and len(heads) == len(schools)
    teaching = current[current["position"] == "teacher"]
    assert (teaching["weekly_hours"] == 24).mean() == pytest.approx(0.4, abs=0.05)


def test_category_shares_hold_nationally_and_zhambyl_keeps_its_masters(
    nation: list[RegionFrame], staff: pd.DataFrame
) -> None:
    current = staff[staff["left_on"].isna()]
    shares = current["category"].value_counts(normalize=True)
    assert shares["pedagogue_moderator"] == pytest.approx(0.231, abs=0.003)
    assert shares["pedagogue_expert"] == pytest.approx(0.218, abs=0.003)
    assert shares["pedagogue_researcher"] == pytest.approx(0.191, abs=0.003)
    assert shares["pedagogue_master"] == pytest.approx(0.009, abs=0.002)
    zhambyl = current[current["region"] == "KZ-31"]
    assert (zhambyl["category"] == "pedagogue_master").sum() == round(436 / 40_000 * len(zhambyl))
    assert (current.loc[current["experience_years"] < 2, "category"] == "pedagogue").all()


def test_category_history_is_a_chain_ending_in_the_current_category(
    nation: list[RegionFrame], staff: pd.DataFrame
) -> None:
    history = _all(nation, "category_assignment")
    history = history.sort_values(["teacher_code", "valid_from"], kind="stable")
    last = history.groupby("teacher_code").tail(1).set_index("teacher_code")
    current = staff[staff["left_on"].isna()].set_index("code")
    assert (last.loc[current.index, "category"] == current["category"]).all()
    assert last.loc[current.index, "valid_to"].isna().all()
    rank = history["category"].map({c: k for k, c in enumerate(CATEGORIES)})
    steps = rank.groupby(history["teacher_code"]).diff().dropna()
    assert (steps == 1).all()
    following = history.groupby("teacher_code")["valid_from"].shift(-1).dropna()
    ends = history.loc[following.index, "valid_to"]
    assert (pd.to_datetime(ends) + pd.Timedelta(days=1) == pd.to_datetime(following)).all()
    assert not history.duplicated(["teacher_code", "valid_from"]).any()


def test_attestations_due_overdue_and_tested(
    nation: list[RegionFrame], staff: pd.DataFrame
) -> None:
    attestations = _all(nation, "attestation")
    pending = attestations[attestations["held_on"].isna()]
    current = staff[staff["left_on"].isna()]
    assert pending["teacher_code"].is_unique and len(pending) == len(current)
    overdue = pd.to_datetime(pending["due_on"]) < pd.Timestamp(REFERENCE_DATE)
    assert overdue.mean() == pytest.approx(0.04, abs=0.015)
    heads = current.loc[current["position"] == "head", "code"]
    assert (pending.set_index("teacher_code").loc[heads, "period_years"] == 3).all()
    tested = _all(nation, "qualification_test_result")
    assert 0.08 < len(tested) / len(current) < 0.18
    assert tested["teacher_code"].isin(current["code"]).all()
    assert not attestations.duplicated(["teacher_code", "due_on"]).any()


def test_young_specialists_vacancies_and_awards(
    nation: list[RegionFrame], staff: pd.DataFrame
) -> None:
    support = _all(nation, "young_specialist_support")
    young = staff[staff["young_specialist_since"].notna()]
    assert set(support["teacher_code"]) == set(young["code"])
    left = young["left_on"].notna().mean()
    assert 0.1 < left < 0.35
    by_code = staff.set_index("code")
    mentored = support.dropna(subset=["mentor_code"])
    assert mentored["mentor_code"].map(by_code["category"]).isin(CATEGORIES[2:]).all()
    same_school = mentored["mentor_code"].map(by_code["organization_code"])
    assert (same_school == mentored["teacher_code"].map(by_code["organization_code"])).all()
    village = support["programme"] == "diploma_to_village"
    assert (support.loc[village, "lifting_allowance_tenge"] == 369_200).all()
    vacancies = _all(nation, "vacancy")
    assert vacancies["code"].is_unique
    filled = vacancies.dropna(subset=["teacher_code"])
    assert filled["teacher_code"].isin(staff["code"]).all()
    assert (pd.to_datetime(filled["filled_on"]) >= pd.to_datetime(filled["opened_on"])).all()
    awards = _all(nation, "award")
    best = awards[awards["kind"] == "best_pedagogue"]
    assert len(best) == pytest.approx(2 * 64 / 20, abs=6)


def test_school_quality_follows_teachers_and_conditions(nation: list[RegionFrame]) -> None:
    schools = pd.concat([f.schools for f in nation])
    slope = np.polyfit(schools["senior_teacher_share"], schools["quality"], 1)[0]
    assert slope > 0.3
    assert schools["quality"].std() == pytest.approx(0.25, abs=0.1)


def test_nobody_mentors_themselves(nation: list[RegionFrame]) -> None:
    support = _all(nation, "young_specialist_support").dropna(subset=["mentor_code"])
    assert (support["mentor_code"] != support["teacher_code"]).all()
