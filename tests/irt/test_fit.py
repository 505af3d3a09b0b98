"""Item and model fit: S-X2 against mirt and brute force, null distribution, mean squares, Q3,
information and reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _irt_sim import lsat7_patterns, mixed_bank, simulate, two_pl
from numpy.testing import assert_allclose
from scipy import integrate, stats

from sapa.irt import fit
from sapa.irt.models import ItemBank
from sapa.irt.score import ScoreResult, prior_grid, score, sum_score_table

# mirt's LSAT-7 2PL estimates (tests/testthat/test-01-mirtOne.R, `coef(mod1)`), D = 1.
LSAT7_MLE = two_pl([0.988, 1.081, 1.706, 0.7651, 0.7358], [1.8561, 0.808, 1.8043, 0.486, 1.8545])
LSAT7_SEM = two_pl([0.9876, 1.0808, 1.7075, 0.765, 0.7357], [1.8559, 0.808, 1.8052, 0.486, 1.8545])


def _lsat7_full() -> np.ndarray:
    patterns, counts = lsat7_patterns()
    return np.repeat(patterns, counts, axis=0)


def test_s_x2_matches_mirt_itemfit_on_lsat7() -> None:
    # mirt test-01-mirtOne.R: itemfit(modm1)$S_X2 = 4.749440, 14.451071, 1.270381, 5.237400,
    # 0.941125 with df.S_X2 = 2 for every item, checked there to ±1e-2 (parameters above are
    # rounded to 4 decimals, which moves S-X2 by up to 3e-3).
    result = fit.item_fit(LSAT7_SEM, _lsat7_full())
    assert_allclose(result["S_X2"], [4.749440, 14.451071, 1.270381, 5.237400, 0.941125], atol=1e-2)
    assert result["df_S_X2"].tolist() == [2, 2, 2, 2, 2]
    assert_allclose(result["p_S_X2"], stats.chi2.sf(result["S_X2"], 2))
    # Item 2 misfits at the 1% level in mirt's output too (p = 7e-4).
    assert result["p_S_X2"].idxmin() == "Item.2" and result["p_S_X2"]["Item.2"] < 0.001


def test_eap_sum_reliability_matches_mirt() -> None:
    # mirt test-01-mirtOne.R: attr(fscores(modm1, method="EAPsum"), "fit")["rxx_F1"] = 0.4319948
    # (checked there to 1e-4): var(EAP[θ|s]) / (var + mean(SE²)) over the 1000 examinees.
    _, counts = lsat7_patterns()
    table = sum_score_table(LSAT7_SEM)
    observed = np.bincount(lsat7_patterns()[0].sum(axis=1), weights=counts).astype(int)
    pooled = ScoreResult(
        theta=np.repeat(table["theta"].to_numpy(), observed),
        se=np.repeat(table["se"].to_numpy(), observed),
        method="EAP",
        index=pd.RangeIndex(1000),
        n_answered=np.full(1000, 5),
    )
    assert_allclose(fit.empirical_reliability(pooled), 0.4319948, atol=1e-4)


def _s_x2_by_enumeration(bank: ItemBank, responses: np.ndarray, item: int) -> float:
    """S-X2 without the Lord–Wingersky recursion: sum the likelihoods of all response patterns."""
    grids = np.meshgrid(*[np.arange(k) for k in bank.n_categories], indexing="ij")
    patterns = np.stack([g.ravel() for g in grids], axis=1).astype(np.int8)
    nodes, log_prior = prior_grid(61, 0.0, 1.0)
    marginal = np.exp(bank.log_likelihood(patterns, nodes)) @ np.exp(log_prior)
    totals = patterns.sum(axis=1)
    observed_totals = responses.sum(axis=1)
    statistic = 0.0
    for s in range(1, int(totals.max())):
        in_group = totals == s
        categories = np.unique(patterns[in_group, item])
        n_s = np.sum(observed_totals == s)
        if categories.size < 2 or n_s == 0:
            continue
        for k in categories:
            expected = (
                n_s * marginal[in_group & (patterns[:, item] == k)].sum() / marginal[in_group].sum()
            )
            observed = np.sum((observed_totals == s) & (responses[:, item] == k))
            statistic += (observed - expected) ** 2 / expected
    return statistic


def test_s_x2_equals_brute_force_for_mixed_polytomous_bank() -> None:
    bank = mixed_bank()
    rng = np.random.default_rng(3)
    responses = simulate(bank, rng.normal(0, 1, 800), rng)
    result = fit.item_fit(bank, responses, mincell=0)
    for item in range(bank.n_items):
        assert_allclose(
            result["S_X2"].iloc[item], _s_x2_by_enumeration(bank, responses, item), rtol=1e-9
        )
    # Σ over the interior score groups 1..7 of (possible categories − 1), minus parameters:
    # dichotomous 7; GRM (rest max 6) 1 + 5·2 + 1 = 12; GPCM (rest max 5) 1 + 2 + 3·3 + 2 + 1 = 15.
    assert result["df_S_X2"].tolist() == [7 - 2, 7 - 2, 7 - 3, 12 - 3, 15 - 4]


def test_s_x2_p_values_are_uniform_under_the_true_model() -> None:
    # Known item parameters (nothing estimated): S-X2 is approximately χ²(df), so its p-values
    # are approximately uniform; 30 data sets × 8 items = 240 p-values.
    rng = np.random.default_rng(99)
    bank = two_pl(rng.uniform(0.7, 1.8, 8), rng.normal(0, 1, 8))
    p_values = []
    for _ in range(30):
        responses = simulate(bank, rng.normal(0, 1, 1500), rng)
        result = fit.item_fit(bank, responses, n_estimated=[0] * 8)
        p_values.extend(result["p_S_X2"])
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    assert 0.02 < np.mean(np.array(p_values) < 0.05) < 0.09


def test_s_x2_detects_a_misfitting_item() -> None:
    rng = np.random.default_rng(8)
    generating = two_pl([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.8], np.linspace(-1, 1, 8))
    responses = simulate(generating, rng.normal(0, 1, 3000), rng)
    assumed = two_pl(np.ones(8), np.linspace(-1, 1, 8))  # the last slope is wrong
    result = fit.item_fit(assumed, responses, n_estimated=[0] * 8)
    assert result["p_S_X2"].iloc[-1] < 1e-6
    # The too-steep item overfits the residual model: infit and outfit fall below 1.
    assert result["infit"].iloc[-1] < 0.9 and result["outfit"].iloc[-1] < 0.9


def test_mean_squares_with_true_theta_are_near_one() -> None:
    rng = np.random.default_rng(4)
    bank = mixed_bank()
    theta = rng.normal(0, 1, 5000)
    responses = simulate(bank, theta, rng)
    result = fit.item_fit(bank, responses, theta=theta)
    # E[outfit] = E[infit] = 1 at the true θ; their SD here is about 0.02-0.04.
    assert_allclose(result["infit"], 1.0, atol=0.06)
    assert_allclose(result["outfit"], 1.0, atol=0.1)
    assert np.all(np.abs(result["z_infit"]) < 3.5)


def test_q3_flags_a_locally_dependent_pair() -> None:
    rng = np.random.default_rng(12)
    bank = two_pl(np.full(10, 1.3), np.linspace(-1.2, 1.2, 10))
    theta = rng.normal(0, 1, 3000)
    responses = simulate(bank, theta, rng)
    independent = fit.q3(bank, responses, theta=theta)
    off_diagonal = independent.to_numpy()[~np.eye(10, dtype=bool)]
    assert np.all(np.abs(off_diagonal) < 0.1)
    assert_allclose(np.diag(independent), 1.0)
    # Copy item 1's answer into item 2 for 40% of pupils: a testlet-like dependence.
    copied = responses.copy()
    copying = rng.random(3000) < 0.4
    copied[copying, 1] = copied[copying, 0]
    dependent = fit.q3(bank, copied)
    excess = dependent.to_numpy() - dependent.attrs["mean_offdiagonal"]
    assert excess[0, 1] > 0.2
    others = excess[~np.eye(10, dtype=bool)]
    assert np.sort(others)[-3] < 0.2  # only the (0, 1) pair, counted twice, stands out


def test_information_curve_and_marginal_reliability_by_quadrature() -> None:
    bank = mixed_bank()
    curve = fit.test_information(bank, np.array([-2.0, 0.0, 1.5]))
    assert_allclose(curve["information"], bank.information(np.array([-2.0, 0.0, 1.5])).sum(axis=1))
    assert_allclose(curve["se"], 1 / np.sqrt(curve["information"]))

    def density_over_information(t: float) -> float:
        return stats.norm.pdf(t) / bank.information(np.array([t])).sum()

    error_variance = integrate.quad(density_over_information, -8, 8, epsabs=1e-12)[0]
    assert_allclose(fit.marginal_reliability(bank), 1 / (1 + error_variance), rtol=1e-6)


def test_empirical_reliability_tracks_true_reliability() -> None:
    rng = np.random.default_rng(21)
    bank = two_pl(rng.uniform(0.8, 2.0, 30), rng.normal(0, 1, 30))
    theta = rng.normal(0, 1, 3000)
    responses = simulate(bank, theta, rng)
    eap = score(bank, responses)
    wle = score(bank, responses, method="WLE")
    # Squared correlation of the estimate with the truth is the reliability it estimates.
    assert abs(fit.empirical_reliability(eap) - np.corrcoef(eap.theta, theta)[0, 1] ** 2) < 0.02
    assert abs(fit.empirical_reliability(wle) - np.corrcoef(wle.theta, theta)[0, 1] ** 2) < 0.03
    assert abs(fit.marginal_reliability(bank) - fit.empirical_reliability(wle)) < 0.03
