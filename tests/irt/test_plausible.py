"""Plausible values: recovery of group means and variance without EAP's shrinkage, EM behaviour,
seeding and input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _irt_sim import simulate, two_pl

from sapa.errors import DataValidationError, InvalidParameterError, NotFittedError
from sapa.irt.plausible import PlausibleValues
from sapa.irt.score import score

TRUE_COEF = {"Intercept": -0.3, "urban": 0.3, "language_ru": 0.8}
TRUE_RESIDUAL_SD = 0.7


@pytest.fixture(scope="module")
def assessment() -> tuple[object, np.ndarray, pd.DataFrame, np.ndarray]:
    """10 items, 4000 pupils; θ depends on language of instruction and urban/rural location."""
    rng = np.random.default_rng(7)
    bank = two_pl(rng.uniform(0.8, 1.6, 10), rng.normal(0, 1, 10))
    n = 4000
    background = pd.DataFrame(
        {"language": rng.choice(["kk", "ru"], n), "urban": rng.integers(0, 2, n)}
    )
    theta = (
        TRUE_COEF["Intercept"]
        + TRUE_COEF["urban"] * background["urban"].to_numpy()
        + TRUE_COEF["language_ru"] * (background["language"] == "ru").to_numpy()
        + rng.normal(0, TRUE_RESIDUAL_SD, n)
    )
    return bank, simulate(bank, theta, rng), background, theta


def test_group_means_and_variance_are_recovered_where_eap_shrinks(assessment) -> None:
    bank, responses, background, theta = assessment
    fitted = PlausibleValues(rng=11).fit(bank, responses, background)
    russian = (background["language"] == "ru").to_numpy()
    true_gap = theta[russian].mean() - theta[~russian].mean()
    eap = score(bank, responses).theta
    eap_gap = eap[russian].mean() - eap[~russian].mean()
    pv_gaps = fitted.values_[russian].mean() - fitted.values_[~russian].mean()
    # EAP under the overall N(0, 1) prior pulls both groups toward 0: the gap shrinks by about
    # the test's reliability (~0.75 here), far outside sampling error (SE of a gap ≈ 0.03).
    assert eap_gap < true_gap - 0.12
    assert abs(pv_gaps.mean() - true_gap) < 0.04
    # Variance: EAP understates it; pooled PV variance matches the sample's true variance.
    assert np.var(eap) < np.var(theta) - 0.05
    assert abs(fitted.values_.var(ddof=0).mean() - np.var(theta)) < 0.04
    # Population model parameters (true values above; SEs about 0.03).
    for name, value in TRUE_COEF.items():
        assert abs(fitted.coef_[name] - value) < 0.1, name
    assert abs(fitted.residual_var_ - TRUE_RESIDUAL_SD**2) < 0.06
    assert fitted.values_.shape == (4000, 5)
    assert list(fitted.values_.columns) == ["PV1", "PV2", "PV3", "PV4", "PV5"]


def test_conditioning_matters_pv_without_background_shrinks_the_gap(assessment) -> None:
    # Plausible values are unbiased only for variables in the conditioning model (Mislevy 1991):
    # without the background the gap shrinks toward 0 like EAP's.
    bank, responses, background, theta = assessment
    unconditioned = PlausibleValues(rng=3).fit(bank, responses)
    russian = (background["language"] == "ru").to_numpy()
    true_gap = theta[russian].mean() - theta[~russian].mean()
    gap = (unconditioned.values_[russian].mean() - unconditioned.values_[~russian].mean()).mean()
    assert gap < true_gap - 0.12
    # With only an intercept the model estimates the population mean and variance.
    assert abs(unconditioned.coef_["Intercept"] - theta.mean()) < 0.05
    assert abs(unconditioned.residual_var_ - theta.var()) < 0.08


def test_em_loglik_never_decreases_and_converges(assessment) -> None:
    bank, responses, background, _ = assessment
    fitted = PlausibleValues(rng=0).fit(bank, responses, background)
    assert fitted.converged_
    assert np.all(np.diff(fitted.loglik_trace_) > -1e-8)
    assert fitted.loglik_ == fitted.loglik_trace_[-1]
    assert fitted.n_iter_ == len(fitted.loglik_trace_) - 1


def test_grid_draws_agree_with_normal_draws(assessment) -> None:
    bank, responses, background, _ = assessment
    normal = PlausibleValues(n_draws=10, rng=5).fit(bank, responses, background)
    grid = PlausibleValues(n_draws=10, draw="grid", rng=5).fit(bank, responses, background)
    np.testing.assert_allclose(normal.coef_, grid.coef_)
    # Same posterior, different draw mechanics: person means of 10 draws agree to Monte Carlo
    # error, and pooled moments agree closely.
    assert abs(normal.values_.to_numpy().mean() - grid.values_.to_numpy().mean()) < 0.02
    assert abs(normal.values_.to_numpy().var() - grid.values_.to_numpy().var()) < 0.03


def test_draws_are_reproducible_from_the_seed(assessment) -> None:
    bank, responses, background, _ = assessment
    first = PlausibleValues(rng=42).fit(bank, responses[:300], background[:300])
    again = PlausibleValues(rng=np.random.default_rng(42)).fit(
        bank, responses[:300], background[:300]
    )
    other = PlausibleValues(rng=43).fit(bank, responses[:300], background[:300])
    pd.testing.assert_frame_equal(first.values_, again.values_)
    assert not np.allclose(first.values_, other.values_)


def test_background_aligned_by_index_when_labels_match(assessment) -> None:
    bank, responses, background, _ = assessment
    labels = pd.Index([f"pupil{i}" for i in range(200)])
    frame = pd.DataFrame(responses[:200], columns=list(bank.names), index=labels)
    shuffled = background[:200].set_axis(labels).iloc[::-1]
    aligned = PlausibleValues(rng=1).fit(bank, frame, shuffled)
    positional = PlausibleValues(rng=1).fit(bank, responses[:200], background[:200])
    np.testing.assert_allclose(aligned.coef_, positional.coef_)
    assert aligned.values_.index.equals(labels)


def test_bad_background_and_parameters_are_refused(assessment) -> None:
    bank, responses, background, _ = assessment
    gaps = background[:100].copy()
    gaps.loc[5, "urban"] = np.nan
    with pytest.raises(DataValidationError) as info:
        PlausibleValues().fit(bank, responses[:100], gaps)
    assert info.value.problems[0].column == "urban" and info.value.problems[0].row == 7
    collinear = background[:100].assign(rural=1 - background["urban"][:100])
    with pytest.raises(DataValidationError, match="rank-deficient"):
        PlausibleValues().fit(bank, responses[:100], collinear)
    with pytest.raises(DataValidationError, match="rows"):
        PlausibleValues().fit(bank, responses[:100], background[:99])
    with pytest.raises(InvalidParameterError, match="'n_draws' parameter of PlausibleValues"):
        PlausibleValues(n_draws=0).fit(bank, responses[:100])
    with pytest.raises(NotFittedError):
        PlausibleValues().summary()


@pytest.mark.parametrize("n_items", [10, 2000])
def test_posterior_moments_match_a_direct_log_space_computation(n_items: int) -> None:
    # The EM works with likelihoods scaled to a peak of 1 and one prior per background pattern;
    # computed directly in log space (logsumexp over the nodes, person by person) the posterior
    # moments and marginal log-likelihood must be the same, for a continuous covariate (every
    # person its own pattern) and for a test long enough that raw likelihoods underflow.
    from scipy.special import logsumexp
    from scipy.stats import norm

    from sapa.irt.plausible import _PosteriorGrid

    rng = np.random.default_rng(3)
    bank = two_pl(rng.uniform(0.8, 2.0, n_items), rng.normal(0, 1, n_items))
    covariate = rng.normal(0, 1, 300)
    responses = simulate(bank, 0.5 * covariate + rng.normal(0, 0.8, 300), rng)
    x = np.column_stack([np.ones(300), covariate, covariate > 0.5])
    nodes = np.linspace(-7, 7, 61)
    beta, variance = np.array([0.1, 0.4, -0.2]), 0.7
    raw_peaks = np.exp(bank.log_likelihood(responses, nodes)).max(axis=1)
    assert (raw_peaks == 0).any() == (n_items > 1000)

    mean, var, loglik = _PosteriorGrid(bank, responses, nodes, x).moments(beta, variance)

    log_prior = norm.logpdf(nodes[None, :], (x @ beta)[:, None], np.sqrt(variance))
    log_prior -= logsumexp(log_prior, axis=1, keepdims=True)
    log_joint = bank.log_likelihood(responses, nodes) + log_prior
    log_marginal = logsumexp(log_joint, axis=1)
    weights = np.exp(log_joint - log_marginal[:, None])
    expected_mean = weights @ nodes
    np.testing.assert_allclose(mean, expected_mean, atol=1e-10)
    np.testing.assert_allclose(var, weights @ nodes**2 - expected_mean**2, atol=1e-9)
    assert loglik == pytest.approx(log_marginal.sum(), rel=1e-12)
