"""The scales and the plan: national totals and regional weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sapa.synth import SCALES, plan_nation
from sapa.synth._frame import allocate, stream
from sapa.synth._targets import NATIONAL, region_targets


def test_national_plan_matches_the_national_totals() -> None:
    plans = plan_nation(SCALES["national"])
    assert [p.target.code for p in plans] == sorted(t.code for t in region_targets())
    assert len(plans) == 20
    assert sum(p.schools for p in plans) == NATIONAL.schools == 7860
    assert sum(p.pupils for p in plans) == NATIONAL.pupils
    assert sum(p.teachers for p in plans) == NATIONAL.teachers
    assert sum(p.three_shift_schools for p in plans) == 53
    assert sum(p.emergency_schools for p in plans) == 32


def test_known_regional_teacher_totals_are_kept() -> None:
    by_code = {p.target.code: p for p in plan_nation(SCALES["national"])}
    assert by_code["KZ-31"].teachers == 40_000  # Zhambyl
    assert by_code["KZ-27"].teachers == 15_104  # West Kazakhstan


def test_three_shift_schools_sit_in_the_place_deficit_regions() -> None:
    plans = plan_nation(SCALES["national"])
    deficit = {"KZ-71", "KZ-75", "KZ-79", "KZ-19", "KZ-61"}
    in_deficit = sum(p.three_shift_schools for p in plans if p.target.code in deficit)
    assert in_deficit / 53 > 0.85
    assert {p.target.code for p in plans if p.target.place_deficit} == deficit


@pytest.mark.parametrize("scale", ["tiny", "region"])
def test_smaller_scales_keep_every_region(scale: str) -> None:
    plans = plan_nation(SCALES[scale])
    fraction = SCALES[scale].fraction
    assert all(p.schools >= SCALES[scale].min_schools for p in plans)
    assert sum(p.pupils for p in plans) == round(NATIONAL.pupils * fraction)
    assert sum(p.teachers for p in plans) == pytest.approx(NATIONAL.teachers * fraction, abs=2)


@given(
    st.integers(0, 10_000),
    st.lists(st.floats(0.01, 100.0), min_size=1, max_size=25),
)
def test_allocate_splits_the_total_exactly(total: int, weights: list[float]) -> None:
    parts = allocate(total, np.array(weights))
    assert parts.sum() == total
    assert (parts >= 0).all()
    assert np.abs(parts - total * np.array(weights) / sum(weights)).max() < 1 + 1e-9


def test_allocate_honours_minimums() -> None:
    parts = allocate(100, np.array([1.0, 1.0, 98.0]), minimum=5)
    assert parts.sum() == 100 and parts.min() == 5


def test_streams_are_independent_of_each_other_and_reproducible() -> None:
    a = stream(7, 3, "pupils").random(5)
    assert np.array_equal(a, stream(7, 3, "pupils").random(5))
    assert not np.array_equal(a, stream(7, 4, "pupils").random(5))
    assert not np.array_equal(a, stream(7, 3, "staff").random(5))
    assert not np.array_equal(a, stream(8, 3, "pupils").random(5))


def test_a_region_depends_only_on_its_own_seed() -> None:
    from _stages import build_schools

    plan = plan_nation(SCALES["tiny"])[5]
    first, again, other = build_schools(plan, 1), build_schools(plan, 1), build_schools(plan, 2)
    assert first.tables["organization"].equals(again.tables["organization"])
    assert not first.schools["enrolment"].equals(other.schools["enrolment"])
