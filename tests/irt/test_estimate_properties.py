"""Invariances of the calibration, checked with Hypothesis on small data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sapa.irt._estep import Quadrature, accumulate, e_step, posterior
from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank

NAN = np.nan
PROPERTY_SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def small_bank() -> ItemBank:
    return ItemBank(
        names=("a", "b", "c", "d", "e"),
        models=("2PL", "2PL", "2PL", "GRM", "GPCM"),
        slopes=[1.6, 2.0, 1.4, 1.8, 1.5],
        intercepts=[[0.5, NAN], [-0.3, NAN], [1.0, NAN], [1.2, -0.8], [0.3, -0.4]],
        guessing=np.zeros(5),
        n_categories=[2, 2, 2, 3, 3],
    )


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_permuting_items_permutes_parameters(lsat7, seed: int) -> None:
    patterns, freq = lsat7
    order = np.random.default_rng(seed).permutation(5)
    base = IRTModel(tol=1e-8, se_method=None).fit(patterns, weights=freq).item_bank_
    permuted = IRTModel(tol=1e-8, se_method=None).fit(patterns[:, order], weights=freq).item_bank_
    np.testing.assert_allclose(permuted.slopes, base.slopes[order], atol=1e-6)
    np.testing.assert_allclose(permuted.intercepts, base.intercepts[order], atol=1e-6)


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_frequency_weights_equal_expanded_rows(simulate, seed: int) -> None:
    rng = np.random.default_rng(seed)
    responses = simulate(small_bank(), rng.standard_normal(300), rng, missing=0.1)
    counts = rng.integers(1, 4, responses.shape[0])
    weighted = IRTModel(model=["2PL"] * 3 + ["GRM", "GPCM"], tol=1e-9, se_method=None)
    weighted.fit(responses, weights=counts.astype(float))
    expanded = IRTModel(model=["2PL"] * 3 + ["GRM", "GPCM"], tol=1e-9, se_method=None)
    expanded.fit(np.repeat(responses, counts, axis=0))
    np.testing.assert_allclose(weighted.item_bank_.slopes, expanded.item_bank_.slopes, atol=1e-6)
    np.testing.assert_allclose(
        weighted.item_bank_.intercepts, expanded.item_bank_.intercepts, atol=1e-6
    )
    assert weighted.result_.loglik == pytest.approx(expanded.result_.loglik, abs=1e-6)
    assert weighted.result_.n_obs == expanded.result_.n_obs == counts.sum()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    mean=st.floats(-2, 2),
    variance=st.floats(0.3, 3),
)
def test_posterior_weights_sum_to_one(seed: int, mean: float, variance: float) -> None:
    rng = np.random.default_rng(seed)
    responses = rng.integers(-1, 2, (40, 5)).astype(np.int8)
    responses[:, 3:] = rng.integers(-1, 3, (40, 2))
    quadrature = Quadrature.normal(31, 6.0, np.array([0.0, mean]), np.array([1.0, variance]))
    groups = rng.integers(0, 2, 40)
    weights, loglik = posterior(responses, small_bank(), quadrature, groups)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(weights >= 0)
    brute = small_bank().log_likelihood(responses, quadrature.nodes)
    expected = np.log(np.exp(brute + quadrature.log_weights[groups]).sum(axis=1))
    np.testing.assert_allclose(loglik, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cut=st.integers(1, 99))
def test_e_step_blocks_add_up(seed: int, cut: int) -> None:
    # Map/reduce: statistics of two blocks added equal those of the whole (to rounding).
    rng = np.random.default_rng(seed)
    responses = rng.integers(-1, 2, (100, 5)).astype(np.int8)
    responses[:, 3:] = rng.integers(-1, 3, (100, 2))
    weights = rng.uniform(0.5, 2.0, 100)
    groups = rng.integers(0, 2, 100)
    quadrature = Quadrature.normal(21, 5.0, np.array([0.0, 0.5]), np.array([1.0, 1.5]))
    bank = small_bank()
    whole = e_step(responses, weights, bank, quadrature, groups)
    parts = e_step(responses[:cut], weights[:cut], bank, quadrature, groups[:cut]) + e_step(
        responses[cut:], weights[cut:], bank, quadrature, groups[cut:]
    )
    np.testing.assert_allclose(parts.r, whole.r, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(parts.n, whole.n, rtol=1e-12, atol=1e-12)
    assert parts.loglik == pytest.approx(whole.loglik, rel=1e-12)
    # Expected counts account for every observed response and every person's weight.
    answered = np.array([(weights * (responses[:, j] >= 0)).sum() for j in range(5)])
    np.testing.assert_allclose(whole.r.sum(axis=(1, 2)), answered, rtol=1e-12)
    np.testing.assert_allclose(whole.n.sum(), weights.sum(), rtol=1e-12)


@PROPERTY_SETTINGS
@given(seed=st.integers(0, 2**32 - 1))
def test_plain_em_never_decreases_loglik(simulate, seed: int) -> None:
    rng = np.random.default_rng(seed)
    responses = simulate(small_bank(), rng.standard_normal(300), rng, missing=0.05)
    groups = rng.integers(0, 2, 300)
    model = IRTModel(model=["2PL"] * 3 + ["GRM", "GPCM"], accelerate=None, tol=1e-5, se_method=None)
    model.fit(responses, groups=groups)
    steps = np.diff(model.loglik_trace_)
    assert np.all(steps >= -1e-8 * np.abs(model.loglik_trace_[1:]))
    assert model.loglik_trace_[-1] > model.loglik_trace_[0]


@pytest.mark.parametrize("accelerate", ["ramsay", "squarem"])
def test_acceleration_reaches_the_same_maximum_in_fewer_cycles(lsat7, accelerate) -> None:
    patterns, freq = lsat7
    plain = IRTModel(accelerate=None, tol=1e-7, se_method=None).fit(patterns, weights=freq)
    fast = IRTModel(accelerate=accelerate, tol=1e-7, se_method=None).fit(patterns, weights=freq)
    assert fast.n_iter_ < plain.n_iter_
    assert fast.n_iter_ == len(fast.loglik_trace_) - 1
    np.testing.assert_allclose(fast.item_bank_.slopes, plain.item_bank_.slopes, atol=1e-5)
    assert fast.result_.loglik == pytest.approx(plain.result_.loglik, abs=1e-8)


def test_block_size_does_not_change_estimates(simulate, monkeypatch) -> None:
    rng = np.random.default_rng(5)
    responses = simulate(small_bank(), rng.standard_normal(500), rng, missing=0.1)
    spec_models = ["2PL"] * 3 + ["GRM", "GPCM"]
    whole = IRTModel(model=spec_models, se_method=None).fit(responses)
    monkeypatch.setattr("sapa.irt._estep.block_size", lambda n_items, n_quad: 37)
    blocked = IRTModel(model=spec_models, se_method=None).fit(responses)
    np.testing.assert_allclose(blocked.item_bank_.slopes, whole.item_bank_.slopes, atol=1e-10)
    quadrature = Quadrature.normal(61, 6.0, np.zeros(1), np.ones(1))
    assert accumulate(responses, None, whole.item_bank_, quadrature).loglik == pytest.approx(
        whole.result_.loglik, rel=1e-12
    )


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), missing=st.sampled_from([0.0, 0.2]))
def test_linear_logit_shortcut_equals_general_path(seed: int, missing: float) -> None:
    # A 2-category GRM item has the 2PL's response function but takes the general
    # indicator-product path; the 2PL shortcut must give the same statistics.
    rng = np.random.default_rng(seed)
    slopes, intercepts = rng.uniform(0.5, 2.5, 6), rng.normal(0, 1.5, (6, 1))
    banks = [
        ItemBank(
            names=tuple("abcdef"),
            models=(model,) * 6,
            slopes=slopes,
            intercepts=intercepts,
            guessing=np.zeros(6),
            n_categories=np.full(6, 2),
        )
        for model in ("2PL", "GRM")
    ]
    responses = rng.integers(0, 2, (200, 6)).astype(np.int8)
    responses[rng.random(responses.shape) < missing] = -1
    quadrature = Quadrature.normal(41, 6.0, np.zeros(1), np.ones(1))
    shortcut, general = (e_step(responses, None, bank, quadrature) for bank in banks)
    np.testing.assert_allclose(shortcut.r, general.r, rtol=1e-10, atol=1e-12)
    assert shortcut.loglik == pytest.approx(general.loglik, rel=1e-12)
