"""Estimation core for plausible values: hand-worked formulas, statsmodels references, coverage."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.linalg import hadamard

from sapa.errors import DataValidationError, InvalidParameterError
from sapa.indicators._variance import (
    SamplingDesign,
    cluster_variance,
    combine_pv,
    domain_ratios,
    level_shares,
    mean_gap,
    replicate_factor,
    replicate_variance,
    weighted_mean,
)
from sapa.irt.scales import ProficiencyLevels

LEVELS = ProficiencyLevels([400, 475, 550], ["below basic", "basic", "proficient", "advanced"])


def _clustered_sample(
    rng: np.random.Generator, n_clusters: int = 30, m: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores with a school effect, unequal school sizes and weights; (scores, schools, w)."""
    sizes = rng.integers(2, 15, n_clusters)
    school = np.repeat(np.arange(n_clusters), sizes)
    effect = rng.normal(0, 40, n_clusters)
    theta = 500 + effect[school] + rng.normal(0, 80, school.size)
    scores = theta[:, None] + rng.normal(0, 25, (school.size, m))
    return scores, school, rng.uniform(0.5, 2.0, school.size)


# --- replicate weights ----------------------------------------------------------------------


def test_replicate_factors() -> None:
    # Wolter (2007), chs. 3–4: JK1 (R−1)/R, JK2 1, BRR 1/R; Fay (1989): 1/(R(1−k)²).
    assert replicate_factor("jk1", 10) == pytest.approx(0.9)
    assert replicate_factor("jk2", 75) == 1.0
    assert replicate_factor("brr", 8) == pytest.approx(0.125)
    assert replicate_factor("fay", 4, 0.3) == pytest.approx(1 / (4 * 0.49))
    # OECD (2009), PISA Data Analysis Manual, ch. 4: 80 replicates with k = 0.5 → 1/20.
    assert replicate_factor("fay", 80, 0.5) == pytest.approx(0.05)
    # BRR is Fay's method with k = 0.
    assert replicate_factor("fay", 16, 0.0) == replicate_factor("brr", 16)


def test_jk1_delete_one_mean_equals_s_over_sqrt_n() -> None:
    # Delete-one jackknife of a mean under SRS: (n−1)/n Σ(ȳ_(i) − ȳ)² = s²/n exactly
    # (Wolter 2007, sec. 4.2); the pupils-as-clusters linearisation gives the same s²/n.
    y = np.array([3.0, 7.0, 1.0, 8.0, 4.0, 6.0, 2.0])
    n = y.size
    reps = np.where(np.eye(n, dtype=bool), 0.0, n / (n - 1))
    expected = y.std(ddof=1) / np.sqrt(n)
    jk1 = weighted_mean(y, SamplingDesign(replicate_weights=reps, method="jk1"))
    assert float(jk1.params) == pytest.approx(y.mean())
    assert float(jk1.bse) == pytest.approx(expected, rel=1e-12)
    assert float(weighted_mean(y).bse) == pytest.approx(expected, rel=1e-12)


# Four strata of two one-pupil PSUs with equal weights (so every half-sample keeps the total
# weight, 8, and the mean is linear). Stratum differences d = (−2, −4, 0, −4), Σd² = 36, and
# for two PSUs per stratum BRR, Fay's BRR (any k) and JK2 all give Σ_h d_h² / N² = 36/64
# (Wolter 2007, sec. 3.3; Judkins 1990): SE 0.75.
HALF_SAMPLE_Y = np.array([1.0, 3.0, 2.0, 6.0, 5.0, 5.0, 0.0, 4.0])


def _half_sample_weights(k: float) -> np.ndarray:
    """Replicate weights (pupils × replicates): in replicate r the first PSU of stratum h gets
    2 − k where the Hadamard matrix has +1 and k where it has −1, the second PSU the rest."""
    signs = hadamard(4)  # rows: replicates, columns: strata; the columns are orthogonal
    reps = np.empty((8, 4))
    for h in range(4):
        reps[2 * h] = np.where(signs[:, h] > 0, 2.0 - k, k)
        reps[2 * h + 1] = 2.0 - reps[2 * h]
    return reps


@pytest.mark.parametrize(("method", "k"), [("brr", 0.0), ("fay", 0.5), ("fay", 0.3)])
def test_half_sample_methods_hand_worked(method: str, k: float) -> None:
    reps = _half_sample_weights(k)
    assert np.allclose(reps.sum(axis=0), 8.0)
    est = weighted_mean(
        HALF_SAMPLE_Y, SamplingDesign(replicate_weights=reps, method=method, fay_k=k)
    )
    assert float(est.params) == pytest.approx(3.25)
    assert float(est.bse) == pytest.approx(0.75, rel=1e-12)


def test_jk2_hand_worked() -> None:
    # JK2 (TIMSS/PIRLS): replicate h doubles one PSU of zone h and drops the other, V = Σ(θ_h − θ)².
    reps = np.ones((8, 4))
    for h in range(4):
        reps[2 * h, h], reps[2 * h + 1, h] = 2.0, 0.0
    est = weighted_mean(HALF_SAMPLE_Y, SamplingDesign(replicate_weights=reps, method="jk2"))
    assert float(est.bse) == pytest.approx(0.75, rel=1e-12)


def test_replicate_variance_direct() -> None:
    # (R−1)/R Σ(θ_r − θ)² with R = 4: 3/4 · (1 + 0 + 1 + 4) = 4.5
    assert replicate_variance(10.0, [11.0, 10.0, 9.0, 12.0], method="jk1") == pytest.approx(4.5)


# --- Rubin's rules --------------------------------------------------------------------------


def test_rubin_hand_worked() -> None:
    # Rubin (1987), eqs. 3.1.2–3.1.6: θ̄ = 12, B = (4+0+1+1+4)/4 = 2.5, V = 4 + 1.2·2.5 = 7,
    # ν = 4 (1 + 4/(1.2·2.5))² = 4 (7/3)² = 196/9.
    est = combine_pv([10.0, 12.0, 11.0, 13.0, 14.0], 4.0)
    assert (float(est.params), float(est.between), float(est.variance)) == pytest.approx(
        (12.0, 2.5, 7.0)
    )
    assert float(est.df) == pytest.approx(196 / 9)
    half = stats.t.ppf(0.975, 196 / 9) * np.sqrt(7.0)
    np.testing.assert_allclose(est.conf_int(), [12.0 - half, 12.0 + half])


def test_single_value_has_no_imputation_variance() -> None:
    est = combine_pv([[3.0]], [0.25])
    assert est.between[0] == 0.0 and np.isinf(est.df[0])
    np.testing.assert_allclose(est.conf_int(0.05)[0], 3.0 + np.array([-1, 1]) * 1.959964 * 0.5)


def test_sampling_variance_over_all_pvs_averages() -> None:
    scores, school, w = _clustered_sample(np.random.default_rng(3))
    design = SamplingDesign(weights=w, clusters=school)
    each = [float(weighted_mean(scores[:, m], design).within) for m in range(scores.shape[1])]
    first = weighted_mean(scores, design)
    every = weighted_mean(scores, design, sampling_pvs=None)
    assert float(first.within) == pytest.approx(each[0])
    assert float(every.within) == pytest.approx(np.mean(each))
    assert float(every.between) == pytest.approx(np.var(scores.T @ w / w.sum(), ddof=1))


# --- cluster-robust variance against statsmodels --------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_cluster_mean_matches_statsmodels(weighted: bool) -> None:
    # statsmodels' cluster covariance multiplies by G/(G−1)·(N−1)/(N−K); K = 1 for an intercept,
    # so it equals this module's G/(G−1) exactly (statsmodels 0.14, sandwich_covariance).
    scores, school, w = _clustered_sample(np.random.default_rng(1), m=1)
    y = scores[:, 0]
    weights = w if weighted else np.ones_like(y)
    fit = sm.WLS(y, np.ones((y.size, 1)), weights=weights).fit(
        cov_type="cluster", cov_kwds={"groups": school}
    )
    est = weighted_mean(y, SamplingDesign(weights=weights, clusters=school))
    assert float(est.params) == pytest.approx(fit.params[0])
    assert float(est.bse) == pytest.approx(fit.bse[0], rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_cluster_gap_matches_statsmodels_dummy(weighted: bool) -> None:
    # The gap is the coefficient of a group dummy in y ~ 1 + D on both groups' pupils; its
    # cluster-robust SE in statsmodels carries the extra regression factor (N−1)/(N−2), which
    # survey linearisation leaves out.
    rng = np.random.default_rng(2)
    scores, school, w = _clustered_sample(rng, m=1)
    group = rng.integers(0, 3, school.size)  # 0: first, 1: second, 2: neither
    first, second = group == 0, group == 1
    both = first | second
    weights = w if weighted else np.ones(school.size)
    x = sm.add_constant(first[both].astype(float))
    fit = sm.WLS(scores[both, 0], x, weights=weights[both]).fit(
        cov_type="cluster", cov_kwds={"groups": school[both]}
    )
    n = both.sum()
    gap = mean_gap(scores[:, 0], first, second, SamplingDesign(weights=weights, clusters=school))
    assert float(gap.params) == pytest.approx(fit.params[1])
    assert float(gap.bse) == pytest.approx(fit.bse[1] * np.sqrt((n - 2) / (n - 1)), rel=1e-10)


def test_gap_is_not_computed_as_independent() -> None:
    # Two groups in the same schools share the school effect, which cancels in their difference.
    rng = np.random.default_rng(4)
    school = np.repeat(np.arange(40), 20)
    scores = (500 + rng.normal(0, 80, 40)[school] + rng.normal(0, 30, 800))[:, None]
    first = rng.random(school.size) < 0.5
    design = SamplingDesign(clusters=school)
    gap = mean_gap(scores, first, ~first, design)
    means = weighted_mean(scores, design, cells=(~first).astype(np.intp))
    assert float(gap.params) == pytest.approx(means.params[0] - means.params[1])
    assert float(gap.bse) < 0.4 * np.sqrt(np.sum(means.variance))


def test_replicate_gap_uses_the_same_replicates() -> None:
    rng = np.random.default_rng(5)
    scores, school, w = _clustered_sample(rng, n_clusters=12, m=2)
    n_clusters = school.max() + 1
    reps = np.where(school[:, None] == np.arange(n_clusters), 0.0, n_clusters / (n_clusters - 1))
    reps = reps * w[:, None]
    first = rng.random(school.size) < 0.4
    gap = mean_gap(
        scores, first, ~first, SamplingDesign(weights=w, replicate_weights=reps, method="jk1")
    )

    def mean_of(weights: np.ndarray, mask: np.ndarray) -> float:
        return float(weights[mask] @ scores[mask, 0] / weights[mask].sum())

    theta = mean_of(w, first) - mean_of(w, ~first)
    theta_r = [mean_of(reps[:, r], first) - mean_of(reps[:, r], ~first) for r in range(n_clusters)]
    within = (n_clusters - 1) / n_clusters * np.sum((np.array(theta_r) - theta) ** 2)
    assert float(gap.within) == pytest.approx(within, rel=1e-12)


def test_cluster_variance_hand_worked() -> None:
    # Cluster totals of z: (1 + 2, −1, −2 + 0) = (3, −1, −2); G/(G−1) Σ u² = 3/2 · 14 = 21.
    z = np.array([1.0, 2.0, -1.0, -2.0, 0.0])
    assert cluster_variance(z, ["a", "a", "b", "c", "c"]) == pytest.approx(21.0)
    # Cells: cell 0 = clusters a, b → 2 · (9 + 1) = 20; cell 1 holds one cluster → NaN.
    by_cell = cluster_variance(z, ["a", "a", "b", "c", "c"], cells=np.array([0, 0, 0, 1, 1]))
    assert by_cell[0] == pytest.approx(20.0) and np.isnan(by_cell[1])


def test_domain_ratio_cells_and_pairs_agree_with_single_calls() -> None:
    scores, school, w = _clustered_sample(np.random.default_rng(6), n_clusters=20)
    cells = school % 3 - (school == 0)  # cells 0–2, school 0 in none
    design = SamplingDesign(weights=w, clusters=school)
    values = scores[:, :, None]
    all_cells = domain_ratios(values, design, cells, 3)
    pair = domain_ratios(values, design, cells, 3, pairs=[[2, 0]])
    for c in range(3):
        alone = weighted_mean(
            scores[cells == c], SamplingDesign(weights=w[cells == c], clusters=school[cells == c])
        )
        assert all_cells.params[c, 0] == pytest.approx(float(alone.params))
        assert all_cells.bse[c, 0] == pytest.approx(float(alone.bse))
    # Cells 2 and 0 share no school, so their difference has the summed variance except for G.
    g_union, g2, g0 = 12, 6, 6
    expected = all_cells.within[2, 0] * (g2 - 1) / g2 + all_cells.within[0, 0] * (g0 - 1) / g0
    assert pair.within[0, 0] == pytest.approx(expected * g_union / (g_union - 1))


# --- simulation with known truth ------------------------------------------------------------


def _census_draw(
    rng: np.random.Generator, n_schools: int = 60, m: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """A two-stage census: school effects N(0, 40²), pupils N(μ + u, 80²) with μ = 500; each
    pupil is measured with error SD 40 and gets ``m`` plausible values from the posterior under
    the generating model, N(μ + u + λ(x − μ − u), λ·40²) with λ = 80²/(80² + 40²)."""
    sizes = rng.integers(10, 40, n_schools)
    school = np.repeat(np.arange(n_schools), sizes)
    prior_mean = 500.0 + rng.normal(0, 40, n_schools)[school]
    theta = prior_mean + rng.normal(0, 80, school.size)
    observed = theta + rng.normal(0, 40, school.size)
    shrink = 80.0**2 / (80.0**2 + 40.0**2)
    post_mean = prior_mean + shrink * (observed - prior_mean)
    pvs = post_mean[:, None] + np.sqrt(shrink) * 40.0 * rng.standard_normal((school.size, m))
    return pvs, school


def test_intervals_cover_the_national_mean() -> None:
    rng = np.random.default_rng(2024)
    n_draws = 400
    covered = np.zeros(n_draws, bool)
    naive_covered = np.zeros(n_draws, bool)
    se_ratio = np.zeros(n_draws)
    jk_ratio = np.zeros(n_draws)
    for d in range(n_draws):
        pvs, school = _census_draw(rng)
        clustered = weighted_mean(pvs, SamplingDesign(clusters=school))
        naive = weighted_mean(pvs)
        low, high = clustered.conf_int()
        covered[d] = low <= 500.0 <= high
        low, high = naive.conf_int()
        naive_covered[d] = low <= 500.0 <= high
        se_ratio[d] = float(naive.bse / clustered.bse)
        if d < 20:
            g = school.max() + 1
            reps = np.where(school[:, None] == np.arange(g), 0.0, g / (g - 1))
            jk = weighted_mean(pvs, SamplingDesign(replicate_weights=reps, method="jk1"))
            jk_ratio[d] = float(jk.bse / clustered.bse)
    # Binomial SE of the coverage over 400 draws ≈ 1.1 points.
    assert 0.925 <= covered.mean() <= 0.975
    assert se_ratio.max() < 0.7 and naive_covered.mean() < 0.8
    # The delete-a-school jackknife and the linearisation agree for a mean (Wolter 2007, ch. 6).
    np.testing.assert_allclose(jk_ratio[:20], 1.0, atol=0.05)


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_cells=st.integers(1, 4))
def test_level_share_properties(seed: int, n_cells: int) -> None:
    rng = np.random.default_rng(seed)
    scores, school, w = _clustered_sample(rng, n_clusters=12)
    cells = rng.integers(-1, n_cells, school.size)
    design = SamplingDesign(weights=w, clusters=school)
    shares = level_shares(scores, LEVELS, design, cells=cells)
    above = level_shares(scores, LEVELS, design, cells=cells, at_or_above=True)
    filled = np.bincount(cells[cells >= 0], minlength=n_cells) > 0
    np.testing.assert_allclose(shares.params[filled].sum(axis=1), 1.0)
    np.testing.assert_allclose(above.params[filled, 0], 1.0)
    np.testing.assert_allclose(above.bse[filled, 0], 0.0, atol=1e-12)
    # "at or above basic" is the complement of "below basic": same SE.
    np.testing.assert_allclose(above.bse[filled, 1], shares.bse[filled, 0], rtol=1e-9)
    # Reversing a gap flips its sign and keeps its SE.
    first = cells == 0
    ab = mean_gap(scores, first, ~first, design)
    ba = mean_gap(scores, ~first, first, design)
    np.testing.assert_allclose(ab.params, -ba.params)
    np.testing.assert_allclose(ab.bse, ba.bse)


# --- validation -----------------------------------------------------------------------------


def test_design_validation() -> None:
    with pytest.raises(InvalidParameterError, match="'method' parameter of SamplingDesign"):
        SamplingDesign(method="bootstrap")
    with pytest.raises(InvalidParameterError, match="'fay_k' parameter"):
        SamplingDesign(replicate_weights=np.ones((3, 4)), method="fay", fay_k=1.0)
    with pytest.raises(InvalidParameterError, match="replicate_weights"):
        SamplingDesign(method="jk1")
    with pytest.raises(InvalidParameterError, match="replicate_weights"):
        SamplingDesign(replicate_weights=np.ones((3, 4)))
    with pytest.raises(DataValidationError, match="non-negative"):
        SamplingDesign(weights=[1.0, -1.0])
    with pytest.raises(DataValidationError, match="rows"):
        weighted_mean([1.0, 2.0, 3.0], SamplingDesign(weights=[1.0, 1.0]))
    with pytest.raises(InvalidParameterError, match="'sampling_pvs'"):
        weighted_mean(np.ones((4, 2)), sampling_pvs=3)
    with pytest.raises(DataValidationError, match="non-overlapping"):
        mean_gap([1.0, 2.0], np.array([True, True]), np.array([True, False]))
    with pytest.raises(InvalidParameterError, match="'method' parameter of replicate_factor"):
        replicate_factor("cluster", 10)
