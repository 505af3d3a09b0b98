"""Reporting scales and proficiency levels: exact formulas, hand-worked shares, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sapa.errors import DataValidationError, InvalidParameterError
from sapa.irt.linking import transform_bank
from sapa.irt.models import ItemBank
from sapa.irt.scales import ProficiencyLevels, ReportingScale

LEVELS = ProficiencyLevels([400, 475, 550], ["below basic", "basic", "proficient", "advanced"])


def test_base_year_theta_maps_to_500_and_100() -> None:
    rng = np.random.default_rng(5)
    theta = rng.normal(0.3, 0.8, 1000)
    weights = rng.uniform(0.5, 3.0, 1000)
    scale = ReportingScale.from_theta(theta, weights)
    scores = scale.to_scale(theta)
    w = weights / weights.sum()
    assert w @ scores == pytest.approx(500.0, abs=1e-9)
    assert np.sqrt(w @ (scores - 500.0) ** 2) == pytest.approx(100.0, abs=1e-9)
    assert ReportingScale.from_theta(theta, scale_mean=250, scale_sd=50).to_scale(
        theta
    ).mean() == pytest.approx(250.0)


def test_hand_worked_scale() -> None:
    # θ mean −0.2, SD 0.8 → slope 125 points per logit, intercept 500 + 125·0.2 = 525
    scale = ReportingScale(theta_mean=-0.2, theta_sd=0.8)
    assert (scale.slope, scale.intercept) == (125.0, 525.0)
    np.testing.assert_allclose(scale.to_scale([-0.2, 0.6, 1.0]), [500.0, 600.0, 650.0])
    np.testing.assert_allclose(scale.se_to_scale([0.3]), [37.5])
    np.testing.assert_allclose(scale.se_to_theta([37.5]), [0.3])


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-2, 2),
    st.floats(0.2, 3),
    st.lists(st.floats(-5, 5), min_size=1, max_size=20),
)
def test_inverse_round_trip(mean: float, sd: float, theta: list[float]) -> None:
    scale = ReportingScale(theta_mean=mean, theta_sd=sd)
    np.testing.assert_allclose(scale.to_theta(scale.to_scale(theta)), theta, atol=1e-9)


def test_plausible_values_average_the_per_pv_moments() -> None:
    # two PVs of three persons: PV1 = (−1, 0, 1): mean 0, SD √(2/3);
    # PV2 = (0, 1, 2): mean 1, SD √(2/3)
    pvs = np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 2.0]])
    scale = ReportingScale.from_plausible_values(pvs)
    assert scale.theta_mean == pytest.approx(0.5)
    assert scale.theta_sd == pytest.approx(np.sqrt(2 / 3))
    with pytest.raises(DataValidationError, match="n_plausible"):
        ReportingScale.from_plausible_values(np.zeros(3))


def test_linked_cycle_scores_like_the_base_scale() -> None:
    # a new cycle's θ scale relates to the base by θ_base = A·θ_new + B
    base = ReportingScale(theta_mean=0.1, theta_sd=0.9)
    A, B = 1.25, -0.4  # noqa: N806
    linked = base.for_linked_scale(A, B)
    theta_new = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(linked.to_scale(theta_new), base.to_scale(A * theta_new + B))
    np.testing.assert_allclose(linked.se_to_scale([0.2]), base.se_to_scale([A * 0.2]))
    # and the item bank moved with the same constants gives the same response probabilities
    bank = ItemBank.from_irt([1.2], [0.3])
    moved = transform_bank(bank, A, B)
    np.testing.assert_allclose(
        moved.probabilities(A * theta_new + B), bank.probabilities(theta_new)
    )


def test_levels_classify_with_cut_scores_in_the_higher_level() -> None:
    levels = LEVELS.classify([399.999, 400.0, 474.9, 475.0, 549.0, 550.0, np.nan])
    assert list(levels[:6]) == [
        "below basic", "basic", "basic", "proficient", "proficient", "advanced",
    ]  # fmt: skip
    assert pd.isna(levels[6])
    assert levels.ordered


def test_shares_per_pv_then_averaged() -> None:
    # persons × 2 PVs; weights 1, 1, 2 (normalised to 1/4, 1/4, 1/2)
    scores = np.array([[390.0, 410.0], [480.0, 470.0], [560.0, 545.0]])
    weights = [1.0, 1.0, 2.0]
    by_pv = LEVELS.shares_by_pv(scores, weights)
    # PV1: below basic 1/4, proficient 1/4, advanced 1/2; PV2: basic 1/2, proficient 1/2
    np.testing.assert_allclose(by_pv.iloc[0], [0.25, 0.0, 0.25, 0.5])
    np.testing.assert_allclose(by_pv.iloc[1], [0.0, 0.5, 0.5, 0.0])
    shares = LEVELS.shares(scores, weights)
    np.testing.assert_allclose(shares, [0.125, 0.25, 0.375, 0.25])
    assert shares.sum() == pytest.approx(1.0)
    cumulative = LEVELS.shares(scores, weights, at_or_above=True)
    np.testing.assert_allclose(cumulative, [1.0, 0.875, 0.625, 0.25])
    # classifying the PV mean instead would give different (biased) shares
    assert not np.allclose(LEVELS.shares(scores.mean(axis=1), weights), shares)


def test_missing_scores_are_left_out_of_shares() -> None:
    shares = LEVELS.shares([380.0, 500.0, np.nan, 600.0])
    np.testing.assert_allclose(shares, [1 / 3, 0.0, 1 / 3, 1 / 3])


def test_invalid_specifications() -> None:
    with pytest.raises(InvalidParameterError, match="'cut_scores' parameter of ProficiencyLevels"):
        ProficiencyLevels([475, 400], ["a", "b", "c"])
    with pytest.raises(InvalidParameterError, match="3 distinct names"):
        ProficiencyLevels([400, 475], ["a", "b"])
    with pytest.raises(InvalidParameterError, match="'theta_sd' parameter of ReportingScale"):
        ReportingScale(theta_sd=0.0)
    with pytest.raises(InvalidParameterError, match="linking slope"):
        ReportingScale().for_linked_scale(0.0, 1.0)
    with pytest.raises(DataValidationError, match="non-negative weights"):
        ReportingScale.from_theta([0.0, 1.0], [-1.0, 2.0])
