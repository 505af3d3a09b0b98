"""Student growth percentiles: uniform SGPs and the analytic conditional quantiles of a
bivariate normal, the exact solution of the quantile regressions, non-crossing after
rearrangement, an example checked by hand, parallel fits, and median SGP indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from sapa.errors import DataValidationError, InvalidParameterError, NotFittedError
from sapa.indicators._table import COLUMNS, Units
from sapa.indicators.growth import (
    PERCENTILES,
    GrowthPercentiles,
    _quantile_regression,
    growth_indicators,
    student_growth_percentiles,
)

RHO = 0.6


def bivariate_normal(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Prior ~ N(0, 1) and current = 50 + 10 (ρ prior + √(1 − ρ²) e), a reporting-like scale."""
    rng = np.random.default_rng(seed)
    prior = rng.standard_normal(n)
    current = 50 + 10 * (RHO * prior + np.sqrt(1 - RHO**2) * rng.standard_normal(n))
    return prior, current


def check_loss(residual: np.ndarray, tau: float) -> float:
    return float(np.sum(residual * (tau - (residual < 0))))


@pytest.fixture(scope="module")
def normal_fit() -> tuple[GrowthPercentiles, np.ndarray, np.ndarray]:
    prior, current = bivariate_normal(10_000, seed=1)
    return GrowthPercentiles().fit(prior, current), prior, current


def test_sgps_are_uniform_for_a_bivariate_normal(normal_fit) -> None:
    model, prior, current = normal_fit
    assert model.converged_ and model.coef_.shape == (99, 8)
    sgp = model.growth_percentiles(prior, current)
    assert sgp.min() == 1 and sgp.max() == 99
    # The count of quantiles below a score is uniform on 0…99, so SGPs 1–9, 10–19, …, 90–99
    # each hold a tenth of the pupils.
    shares = np.bincount(sgp // 10, minlength=10) / len(sgp)
    np.testing.assert_allclose(shares, 0.1, atol=0.01)
    assert np.median(sgp) == pytest.approx(50, abs=2)
    # On fresh pupils from the same population the rule is still uniform.
    fresh_prior, fresh_current = bivariate_normal(10_000, seed=2)
    fresh = model.growth_percentiles(fresh_prior, fresh_current)
    np.testing.assert_allclose(np.bincount(fresh // 10) / len(fresh), 0.1, atol=0.012)


def test_conditional_quantiles_match_the_analytic_lines(normal_fit) -> None:
    model, prior, _ = normal_fit
    grid = np.linspace(np.quantile(prior, 0.05), np.quantile(prior, 0.95), 25)
    fitted = model.conditional_quantiles(grid)
    # Q(τ | x) = 50 + 10 (ρ x + √(1 − ρ²) Φ⁻¹(τ)); the conditional SD is 8, and the sampling
    # error of a fitted percentile line is about 0.3–0.5 in the tails.
    for percentile in (5, 10, 25, 50, 75, 90, 95):
        z = stats.norm.ppf(percentile / 100)
        analytic = 50 + 10 * (RHO * grid + np.sqrt(1 - RHO**2) * z)
        error = np.abs(fitted[:, percentile - 1] - analytic)
        assert error.max() < 1.6 and error.mean() < 0.6, percentile
    assert np.polyfit(grid, fitted[:, 49], 1)[0] == pytest.approx(10 * RHO, abs=0.3)


def test_each_regression_solves_the_linear_programme_exactly() -> None:
    # 1501 pupils: nτ is never an integer, so each solution is unique.
    prior, current = bivariate_normal(1501, seed=3)
    model = GrowthPercentiles().fit(prior, current)
    design = model._design(prior[:, None])
    for tau in (0.01, 0.3, 0.77, 0.99):
        # Reference: the dual linear programme solved by HiGHS' simplex (scipy.optimize.linprog).
        exact = optimize.linprog(
            -current,
            A_eq=design.T,
            b_eq=(1 - tau) * design.sum(axis=0),
            bounds=(0, 1),
            method="highs-ds",
        )
        reference = -exact.eqlin.marginals
        beta, _, converged = _quantile_regression(design, current, tau, 1e-10, 200)
        assert converged
        np.testing.assert_allclose(design @ beta, design @ reference, atol=1e-6)
        assert check_loss(current - design @ beta, tau) == pytest.approx(
            check_loss(current - design @ reference, tau), rel=1e-10
        )
        np.testing.assert_allclose(model.coef_[round(tau * 100) - 1], beta)


def test_tied_scores_keep_the_optimal_check_loss() -> None:
    # Scores rounded to multiples of 5 make the solutions non-unique, so compare the minimum
    # check loss with HiGHS; at the 70th and 72nd percentiles the preprocessing globs pupils on
    # the wrong side at first and puts them back.
    prior, current = bivariate_normal(3000, seed=9)
    prior, current = np.round(prior, 1), np.round(current / 5) * 5
    model = GrowthPercentiles().fit(prior, current)
    design = model._design(prior[:, None])
    for tau in (0.05, 0.5, 0.7, 0.72, 0.95):
        exact = optimize.linprog(
            -current,
            A_eq=design.T,
            b_eq=(1 - tau) * design.sum(axis=0),
            bounds=(0, 1),
            method="highs-ds",
        )
        fitted = design @ model.coef_[round(tau * 100) - 1]
        assert check_loss(current - fitted, tau) == pytest.approx(
            check_loss(current + design @ exact.eqlin.marginals, tau), rel=1e-9
        )


def test_discrete_prior_scores_with_repeated_knots() -> None:
    # Number-correct prior scores: the knots repeat (9, 9) and X'QX becomes singular in floating
    # point during the iterations; the solution must stay optimal.
    rng = np.random.default_rng(3)
    prior = rng.binomial(12, 0.75, 4000).astype(float)
    current = 0.5 * prior + rng.standard_normal(4000)
    model = GrowthPercentiles().fit(prior, current)
    np.testing.assert_array_equal(model.knots_[0], [8, 9, 9, 10])
    assert model.converged_
    design = model._design(prior[:, None])
    for tau in (0.05, 0.5, 0.95):
        exact = optimize.linprog(
            -current,
            A_eq=design.T,
            b_eq=(1 - tau) * design.sum(axis=0),
            bounds=(0, 1),
            method="highs-ds",
        )
        fitted = design @ model.coef_[round(tau * 100) - 1]
        assert check_loss(current - fitted, tau) == pytest.approx(
            check_loss(current + design @ exact.eqlin.marginals, tau), rel=1e-9
        )


def test_rearranged_quantiles_never_cross_and_sgps_do_not_depend_on_it() -> None:
    prior, current = bivariate_normal(250, seed=4)
    model = GrowthPercentiles().fit(prior, current)
    raw = model.conditional_quantiles(prior, rearrange=False)
    assert (np.diff(raw, axis=1) < 0).any(), "a small sample should show crossing curves"
    rearranged = model.conditional_quantiles(prior)
    assert (np.diff(rearranged, axis=1) >= 0).all()
    np.testing.assert_array_equal(rearranged, np.sort(raw, axis=1))
    counts = np.maximum((raw < current[:, None] - model.tie_tolerance_).sum(axis=1), 1)
    np.testing.assert_array_equal(model.growth_percentiles(prior, current), counts)


def test_a_tiny_example_checked_by_hand() -> None:
    # Five prior scores 1…5, seven pupils each, scoring 10 g + 1 … 10 g + 7 in group g. Linear
    # B-splines with knots at the prior's quartiles (2, 3, 4) and boundaries 1 and 5 fit any
    # value at each prior, so the τ-quantile at prior g is the group's sample quantile, the
    # ⌈7τ⌉-th score (7τ is never an integer for τ = 0.01 … 0.99). A pupil ranked r has
    # #{k : ⌈7k/100⌉ < r} = ⌊100 (r − 1)/7⌋ fitted percentiles below them: 0, 14, 28, 42, 57,
    # 71 and 85, and 0 is reported as 1.
    prior = np.repeat([1.0, 2.0, 3.0, 4.0, 5.0], 7)
    current = np.concatenate([10 * g + np.arange(1.0, 8.0) for g in range(5)])
    model = GrowthPercentiles(
        knot_quantiles=(0.25, 0.5, 0.75), degree=1, boundary_extension=0.0
    ).fit(prior, current)
    np.testing.assert_allclose(model.knots_[0], [2, 3, 4])
    np.testing.assert_allclose(model.boundaries_, [[1, 5]])
    expected = np.tile([1, 14, 28, 42, 57, 71, 85], 5)
    np.testing.assert_array_equal(model.growth_percentiles(prior, current), expected)
    quantiles = model.conditional_quantiles(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    rank = np.ceil(7 * PERCENTILES / 100).astype(int)
    np.testing.assert_allclose(quantiles, 10 * np.arange(5)[:, None] + rank, atol=1e-6)


def test_parallel_workers_give_the_serial_fit() -> None:
    rng = np.random.default_rng(5)
    prior = rng.standard_normal((600, 2))
    current = prior @ [0.5, 0.3] + 0.7 * rng.standard_normal(600)
    serial = GrowthPercentiles().fit(prior, current)
    parallel = GrowthPercentiles(n_jobs=2).fit(prior, current)
    assert serial.coef_.shape == (99, 15)
    np.testing.assert_allclose(parallel.coef_, serial.coef_, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(parallel.n_iter_, serial.n_iter_)


def test_student_growth_percentiles_keeps_pupils_with_both_scores() -> None:
    prior, current = bivariate_normal(800, seed=6)
    pupils = pd.Index([f"P{i:04d}" for i in range(800)])
    prior_series = pd.Series(prior, index=pupils).drop(pupils[:10])
    current_series = pd.Series(current, index=pupils)
    current_series.iloc[10:15] = np.nan
    sgp = student_growth_percentiles(current_series, prior_series)
    assert list(sgp.index) == list(pupils[15:]) and sgp.name == "sgp"
    direct = GrowthPercentiles().fit(prior[15:], current[15:])
    np.testing.assert_array_equal(sgp, direct.growth_percentiles(prior[15:], current[15:]))


def units() -> Units:
    organization = pd.DataFrame({"code": ["S1", "S2", "S3"], "settlement_code": ["T1", "T1", "T2"]})
    settlement = pd.DataFrame({"code": ["T1", "T2"], "district_code": ["D1", "D2"]})
    district = pd.DataFrame({"code": ["D1", "D2"], "region_code": ["KZ-71", "KZ-71"]})
    return Units(organization, settlement, district)


def test_median_sgp_indicators_with_order_statistic_intervals() -> None:
    values = np.r_[np.arange(1, 31), [40, 60, 80, 99], np.arange(50, 62)]
    pupils = [f"P{i:03d}" for i in range(len(values))]
    sgp = pd.Series(values, index=pupils, name="sgp")
    school = pd.Series(["S1"] * 30 + ["S2"] * 4 + ["S3"] * 12, index=pupils)
    table = growth_indicators(sgp, school, units(), domain="slit")
    assert list(table.columns) == list(COLUMNS)
    assert set(table["indicator"]) == {"growth.median_sgp.slit"}
    rows = table.set_index(["level", "unit"])
    # S1 holds SGPs 1…30: median 15.5; Binomial(30, ½) has 2.5% quantile 10, so the interval
    # runs from the 10th to the 21st value.
    s1 = rows.loc[("school", "S1")]
    assert (s1["value"], s1["ci_low"], s1["ci_high"], s1["n"]) == (15.5, 10, 21, 30)
    assert rows.loc[("school", "S2"), "suppressed"] and rows.loc[("school", "S2"), "n"] == 4
    assert np.isnan(rows.loc[("school", "S2"), "value"])
    assert rows.loc[("school", "S3"), "value"] == 55.5
    assert rows.loc[("district", "D1"), "value"] == np.median(values[:34])
    assert rows.loc[("district", "D2"), "n"] == 12
    assert rows.loc[("nation", "KZ"), "value"] == np.median(values)
    assert table["se"].isna().all()
    assert set(table["level"]) == {"school", "district", "region", "nation"}
    regional = growth_indicators(sgp, school, units(), domain="slit", levels=["region"])
    assert list(regional["unit"]) == ["KZ-71"]


def test_bad_input_is_refused() -> None:
    prior, current = bivariate_normal(200, seed=7)
    with pytest.raises(InvalidParameterError, match="'knot_quantiles' parameter"):
        GrowthPercentiles(knot_quantiles=(0.5, 0.2)).fit(prior, current)
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        GrowthPercentiles(n_jobs=0).fit(prior, current)
    with pytest.raises(NotFittedError):
        GrowthPercentiles().growth_percentiles(prior, current)
    with pytest.raises(DataValidationError, match="rank-deficient"):
        GrowthPercentiles().fit(np.repeat([0.0, 1.0], 100), current)
    with pytest.raises(DataValidationError, match="one finite score per pupil"):
        GrowthPercentiles().fit(prior, current[:-1])
    sgp = pd.Series([50, 60], index=["P1", "P2"])
    with pytest.raises(DataValidationError, match="not in the hierarchy"):
        growth_indicators(sgp, pd.Series(["S1", "S9"], index=sgp.index), units(), domain="read")
    with pytest.raises(InvalidParameterError, match="'levels' parameter"):
        growth_indicators(
            sgp, pd.Series(["S1", "S1"], index=sgp.index), units(), domain="read", levels=["city"]
        )
