"""Scoring: reference values from R mirt on LSAT-7, brute-force checks, properties, recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _irt_sim import lsat7_patterns, mixed_bank, simulate, two_pl
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.optimize import brentq, minimize_scalar

from sapa.errors import DataValidationError, InvalidParameterError
from sapa.irt.models import ItemBank
from sapa.irt.score import posterior_weights, prior_grid, score, sum_score_table

# LSAT-7 2PL estimates printed by mirt's own test suite (tests/testthat/test-01-mirtOne.R,
# mirt 1.4x): `modm1 <- mirt(expand.table(LSAT7), 1, SE=TRUE, SE.type="SEM")` and
# `modm2 <- mirt(..., SE.type="Richardson")`; slope–intercept form, D = 1.
LSAT7_SEM = two_pl([0.9876, 1.0808, 1.7075, 0.765, 0.7357], [1.8559, 0.808, 1.8052, 0.486, 1.8545])
LSAT7_MLE = two_pl([0.988, 1.081, 1.706, 0.7651, 0.7358], [1.8561, 0.808, 1.8043, 0.486, 1.8545])
# `modm4`: equal slopes (CONSTRAIN = (1-5, a1)), same file.
LSAT7_EQUAL_SLOPES = two_pl([1.011] * 5, [1.868, 0.791, 1.461, 0.521, 1.993])


def test_eap_matches_mirt_fscores_on_lsat7() -> None:
    # mirt test-01-mirtOne.R: fscores(modm1, full.scores=FALSE)[1:6, "F1"], checked there to
    # ±1e-2; patterns 00000, 00001, 00010, 00011, 00100, 00101. The parameters above are rounded
    # to 4 decimals, so we hold 5e-3.
    patterns, _ = lsat7_patterns()
    result = score(LSAT7_SEM, patterns[:6])
    expected = [-1.8665957, -1.5266920, -1.5134024, -1.1852276, -1.0946830, -0.7666992]
    assert_allclose(result.theta, expected, atol=5e-3)


def test_map_matches_mirt_fscores_on_lsat7() -> None:
    # mirt test-01-mirtOne.R: fscores(modm2, method="MAP", full.scores=FALSE)[1:6, "F1"].
    patterns, _ = lsat7_patterns()
    result = score(LSAT7_MLE, patterns[:6], method="MAP")
    expected = [-1.8165552, -1.4946906, -1.4822982, -1.1789899, -1.0958928, -0.7951026]
    assert_allclose(result.theta, expected, atol=1e-3)


def test_ml_matches_mirt_and_is_infinite_for_extreme_patterns() -> None:
    # mirt test-01-mirtOne.R: fscores(modm4, method="ML", full.scores=TRUE) gives -Inf for row 1
    # (00000), Inf for row 1000 (11111) and -2.783489, -1.750890, -2.783489 for rows 13, 34, 40
    # (patterns 00001, 00011, 00100); parameters rounded to 3 decimals, so 5e-3.
    patterns, _ = lsat7_patterns()
    result = score(LSAT7_EQUAL_SLOPES, patterns[[0, 1, 3, 4, 31]], method="ML")
    assert result.theta[0] == -np.inf and result.theta[-1] == np.inf
    assert np.all(np.isinf(result.se[[0, -1]]))
    assert_allclose(result.theta[1:4], [-2.783489, -1.750890, -2.783489], atol=5e-3)


def test_sum_score_table_matches_mirt_eapsum_on_lsat7() -> None:
    # mirt test-01-mirtOne.R: fscores(modm1, method="EAPsum", full.scores=FALSE): EAP, SE and
    # expected counts (N = 1000) for sum scores 0..5, checked there to ±1e-2; with mirt's 61-node
    # grid on [-6, 6] we agree to 1e-4 (θ, SE) and 0.01 (expected counts).
    table = sum_score_table(LSAT7_SEM)
    assert table["sum_score"].tolist() == [0, 1, 2, 3, 4, 5]
    eap = [-1.86979, -1.431861, -0.9488463, -0.4131963, 0.1517289, 0.7271877]
    se = [0.6927032, 0.6838697, 0.6942298, 0.7210951, 0.758772, 0.8009335]
    expected_counts = [10.08994, 44.65882, 109.773, 207.7391, 319.1854, 308.5536]
    assert_allclose(table["theta"], eap, atol=1e-4)
    assert_allclose(table["se"], se, atol=1e-4)
    assert_allclose(1000 * table["probability"], expected_counts, atol=1e-2)


def test_sum_score_eap_equals_eap_of_pooled_patterns() -> None:
    # Brute force: P(S = s | θ) is the sum of the likelihoods of all patterns with sum s.
    bank = mixed_bank()
    grids = np.meshgrid(*[np.arange(k) for k in bank.n_categories], indexing="ij")
    patterns = np.stack([g.ravel() for g in grids], axis=1).astype(np.int8)
    nodes, log_prior = prior_grid(61, 0.0, 1.0)
    likelihood = np.exp(bank.log_likelihood(patterns, nodes))
    totals = patterns.sum(axis=1)
    by_score = np.stack([likelihood[totals == s].sum(axis=0) for s in range(totals.max() + 1)])
    joint = by_score * np.exp(log_prior)
    table = sum_score_table(bank)
    assert_allclose(table["probability"], joint.sum(axis=1), rtol=1e-12)
    assert_allclose(table["theta"], (joint @ nodes) / joint.sum(axis=1), rtol=1e-10)


def _warm_root_by_brute_force(bank: ItemBank, pattern: np.ndarray) -> float:
    """Solve ℓ'(θ) + J/(2I) = 0 with scipy's brentq and plain central differences of P."""

    def estimating_function(t: float) -> float:
        h = 1e-4
        p = bank.probabilities(np.array([t - h, t, t + h]))
        dp = (p[2] - p[0]) / (2 * h)
        d2p = (p[2] - 2 * p[1] + p[0]) / h**2
        rows = np.arange(bank.n_items)
        slope = np.sum(dp[rows, pattern] / p[1][rows, pattern])
        mask = p[1] > 0
        information = np.sum(np.where(mask, dp**2 / np.where(mask, p[1], 1), 0))
        warm = np.sum(np.where(mask, dp * d2p / np.where(mask, p[1], 1), 0))
        return slope + warm / (2 * information)

    return brentq(estimating_function, -8, 8, xtol=1e-12)


@pytest.mark.parametrize(
    "pattern", [[0, 0, 0, 0, 0], [1, 0, 1, 2, 3], [1, 1, 1, 2, 3], [0, 1, 0, 1, 1]]
)
def test_wle_solves_warms_equation_for_mixed_models(pattern: list[int]) -> None:
    bank = mixed_bank()
    codes = np.array([pattern], dtype=np.int8)
    result = score(bank, codes, method="WLE")
    assert_allclose(result.theta[0], _warm_root_by_brute_force(bank, codes[0]), atol=1e-5)
    information = bank.information(result.theta)[0].sum()
    assert_allclose(result.se[0], 1 / np.sqrt(information), rtol=1e-10)


def test_wle_maximises_likelihood_times_root_information_for_2pl() -> None:
    # For 2PL items J = I', so the WLE maximises L(θ)·sqrt(I(θ)) (Warm, 1989).
    patterns, _ = lsat7_patterns()
    result = score(LSAT7_MLE, patterns, method="WLE")
    for pattern, estimate in zip(
        patterns[[0, 5, 17, 31]], result.theta[[0, 5, 17, 31]], strict=True
    ):

        def negative(t: float, pattern: np.ndarray = pattern) -> float:
            loglik = LSAT7_MLE.log_likelihood(pattern[None, :], np.array([t]))[0, 0]
            return -(loglik + 0.5 * np.log(LSAT7_MLE.information(np.array([t])).sum()))

        optimum = minimize_scalar(
            negative, bounds=(-10, 10), method="bounded", options={"xatol": 1e-9}
        )
        assert_allclose(estimate, optimum.x, atol=1e-5)


def test_missing_responses_drop_out_of_the_likelihood() -> None:
    bank = mixed_bank()
    codes = np.array([[1, -1, 0, 2, -1], [-1, -1, -1, -1, -1]], dtype=np.int8)
    subset = bank.subset(["a", "c", "d"])
    for method in ("EAP", "MAP", "ML", "WLE"):
        full = score(bank, codes, method=method)
        reduced = score(subset, codes[:1, [0, 2, 3]], method=method)
        assert_allclose(full.theta[0], reduced.theta[0], rtol=1e-10)
        assert_allclose(full.se[0], reduced.se[0], rtol=1e-10)
    nobody = [score(bank, codes, method=m) for m in ("EAP", "MAP", "ML", "WLE")]
    assert_allclose([nobody[0].theta[1], nobody[0].se[1]], [0.0, 1.0], atol=1e-12)
    assert_allclose(nobody[1].theta[1], 0.0, atol=1e-8)
    assert np.isnan(nobody[2].theta[1]) and np.isnan(nobody[3].theta[1])
    assert nobody[0].n_answered.tolist() == [3, 0]


def test_results_object_and_data_frame_input() -> None:
    patterns, _ = lsat7_patterns()
    frame = pd.DataFrame(patterns[:, ::-1], columns=list(LSAT7_MLE.names)[::-1])
    frame.index = pd.Index([f"p{i}" for i in range(32)], name="pupil")
    result = score(LSAT7_MLE, frame)
    assert_allclose(result.theta, score(LSAT7_MLE, patterns).theta)
    table = result.to_frame()
    assert list(table.columns) == ["theta", "se", "n_answered"]
    assert table.index.name == "pupil"
    interval = result.conf_int(0.05)
    assert_allclose(interval["upper"] - interval["lower"], 2 * 1.959963984540054 * result.se)
    assert result.params is result.theta and result.bse is result.se
    assert "Scores (EAP)" in result.summary()


def test_invalid_input_is_refused_with_locations() -> None:
    with pytest.raises(InvalidParameterError, match="'method' parameter of score"):
        score(LSAT7_MLE, np.zeros((1, 5)), method="BME")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError) as info:
        score(LSAT7_MLE, np.array([[0, 1, 2, 0, 1], [0, 0, 0, 0, 0]]))
    assert info.value.problems[0].column == "Item.3" and info.value.problems[0].row == 2
    with pytest.raises(DataValidationError, match="not an item"):
        score(LSAT7_MLE, pd.DataFrame(np.zeros((2, 6)), columns=[*LSAT7_MLE.names, "extra"]))


@settings(max_examples=25, deadline=None)
@given(
    difficulties=st.lists(st.floats(-2.5, 2.5), min_size=2, max_size=8),
    prior_sd=st.floats(0.5, 2.0),
)
def test_posterior_weights_sum_to_one_and_rasch_eap_is_monotone(
    difficulties: list[float], prior_sd: float
) -> None:
    n = len(difficulties)
    bank = two_pl(np.ones(n), -np.asarray(difficulties))
    patterns = np.tril(np.ones((n + 1, n), dtype=np.int8), k=-1)  # sum scores 0..n
    nodes, log_prior = prior_grid(61, 0.0, prior_sd)
    weights, _ = posterior_weights(bank, patterns, nodes, log_prior)
    assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    eap = score(bank, patterns, prior_sd=prior_sd).theta
    assert np.all(np.diff(eap) > 0)
    table = sum_score_table(bank, prior_sd=prior_sd)
    assert_allclose(table["probability"].sum(), 1.0, rtol=1e-12)
    # Under the Rasch model the sum score is sufficient: pattern EAP = sum-score EAP.
    assert_allclose(table["theta"], eap, atol=1e-10)


def test_recovery_and_wle_is_less_biased_than_ml() -> None:
    rng = np.random.default_rng(20240601)
    bank = two_pl(rng.uniform(0.8, 2.0, 25), rng.normal(0, 1, 25))
    theta = rng.normal(0, 1, 2000)
    responses = simulate(bank, theta, rng)
    eap = score(bank, responses).theta
    wle = score(bank, responses, method="WLE").theta
    assert np.corrcoef(eap, theta)[0, 1] > 0.9
    assert np.corrcoef(wle, theta)[0, 1] > 0.9
    # Persons at θ = 1 answering a 15-item Rasch test centred at 0: ML is biased outward
    # (Lord, 1983), WLE removes the O(1/n) bias term (Warm, 1989). Perfect scores (ML = +inf) are
    # about 0.1% here and left out of the ML mean only.
    short = two_pl(np.ones(15), -np.linspace(-2, 2, 15))
    replicated = simulate(short, np.full(6000, 1.0), rng)
    ml = score(short, replicated, method="ML").theta
    weighted = score(short, replicated, method="WLE").theta
    finite = np.isfinite(ml)
    assert finite.mean() > 0.99
    ml_bias = ml[finite].mean() - 1.0
    wle_bias = weighted.mean() - 1.0
    assert ml_bias > 0.03  # Monte Carlo SE of each mean is about 0.009
    assert abs(wle_bias) < 0.5 * ml_bias
