"""ItemBank: response functions, information, likelihood, conversions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from sapa.irt import models
from sapa.irt.models import ItemBank

NAN = np.nan
THETA = np.linspace(-4, 4, 17)


@pytest.fixture
def mixed() -> ItemBank:
    """One item of each model, categories 2 to 4."""
    return ItemBank(
        names=("r", "two", "three", "graded", "partial"),
        models=("Rasch", "2PL", "3PL", "GRM", "GPCM"),
        slopes=[1.0, 1.3, 0.9, 1.6, 0.7],
        intercepts=[
            [0.4, NAN, NAN],
            [-0.6, NAN, NAN],
            [0.2, NAN, NAN],
            [2.0, 0.1, -1.7],
            [0.5, -0.3, NAN],
        ],
        guessing=[0.0, 0.0, 0.22, 0.0, 0.0],
        n_categories=[2, 2, 2, 4, 3],
    )


def test_probabilities_are_distributions(mixed: ItemBank) -> None:
    p = mixed.probabilities(THETA)
    assert p.shape == (THETA.size, 5, 4)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-14)
    assert np.all(p >= 0)
    assert np.all(p[:, 4, 3] == 0)  # beyond the GPCM item's 3 categories
    assert np.all(p[:, :3, 2:] == 0)


def test_closed_forms(mixed: ItemBank) -> None:
    # 2PL: σ(aθ + d); 3PL: g + (1 − g)σ(aθ + d) (Lord, 1980, eq. 2-1 with D = 1).
    p = mixed.probabilities(THETA)
    np.testing.assert_allclose(p[:, 1, 1], expit(1.3 * THETA - 0.6), rtol=1e-13)
    np.testing.assert_allclose(p[:, 2, 1], 0.22 + 0.78 * expit(0.9 * THETA + 0.2), rtol=1e-13)
    # GRM: P(X = k) = σ(aθ + d_k) − σ(aθ + d_{k+1}) (Samejima, 1969).
    star = expit(1.6 * THETA[:, None] + np.array([2.0, 0.1, -1.7]))
    expected = -np.diff(np.column_stack([np.ones_like(THETA), star, np.zeros_like(THETA)]), axis=1)
    np.testing.assert_allclose(p[:, 3, :], expected, rtol=1e-12, atol=1e-15)
    # GPCM: exp(k·aθ + Σ d) / Σ (Muraki, 1992).
    z = np.column_stack([0 * THETA, 0.7 * THETA + 0.5, 1.4 * THETA + 0.2])
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(p[:, 4, :3], softmax, rtol=1e-12)


def test_extreme_items_keep_precision() -> None:
    # log P(X=0) for a = 2, d = 0 at θ = 30 is −60 to within e^{-60}; naive 1 − σ would give −inf.
    bank = ItemBank.from_irt(a=[2.0], b=[0.0])
    log_p = bank.log_probabilities(np.array([30.0]))
    assert log_p[0, 0, 0] == pytest.approx(-60.0, rel=1e-12)
    graded = ItemBank(
        names=("g",),
        models=("GRM",),
        slopes=[1.0],
        intercepts=[[40.0, 39.0]],
        guessing=[0.0],
        n_categories=[3],
    )
    # σ(40) − σ(39) vanishes in float64 subtraction; its log is −39 + log(1 − e^{−1}) + O(e^{−39}).
    middle = graded.log_probabilities(np.array([0.0]))[0, 0, 1]
    assert middle == pytest.approx(-39.0 + np.log1p(-np.exp(-1.0)), rel=1e-12)


def test_derivatives_match_numerical(mixed: ItemBank) -> None:
    h = 1e-6
    numerical = (mixed.probabilities(THETA + h) - mixed.probabilities(THETA - h)) / (2 * h)
    np.testing.assert_allclose(mixed.probability_derivatives(THETA), numerical, atol=1e-8)


def test_information_closed_forms(mixed: ItemBank) -> None:
    info = mixed.information(THETA)
    p2 = expit(1.3 * THETA - 0.6)
    np.testing.assert_allclose(info[:, 1], 1.3**2 * p2 * (1 - p2), rtol=1e-10)
    # 3PL: a²(1−g)²σ²(1−σ)² / (P(1−P))  (Lord, 1980, eq. 5-6, D = 1).
    s = expit(0.9 * THETA + 0.2)
    p3 = 0.22 + 0.78 * s
    expected = 0.81 * 0.78**2 * s**2 * (1 - s) ** 2 / (p3 * (1 - p3))
    np.testing.assert_allclose(info[:, 2], expected, rtol=1e-10)
    # GPCM: a² Var(X | θ) (Muraki, 1993).
    p = mixed.probabilities(THETA)[:, 4, :3]
    scores = np.arange(3)
    variance = (p * scores**2).sum(axis=1) - ((p * scores).sum(axis=1)) ** 2
    np.testing.assert_allclose(info[:, 4], 0.49 * variance, rtol=1e-10)


def test_expected_score(mixed: ItemBank) -> None:
    score = mixed.expected_score(THETA)
    np.testing.assert_allclose(score[:, 1], expit(1.3 * THETA - 0.6), rtol=1e-13)
    assert np.all(np.diff(score, axis=0) > 0)  # monotone in θ for positive slopes


def test_log_likelihood_brute_force(mixed: ItemBank) -> None:
    rng = np.random.default_rng(7)
    responses = np.column_stack([rng.integers(0, k, 50) for k in mixed.n_categories]).astype(
        np.int8
    )
    responses[rng.random(responses.shape) < 0.2] = -1
    with np.errstate(divide="ignore"):  # padded categories have probability 0
        log_p = np.log(mixed.probabilities(THETA))
    expected = np.zeros((50, THETA.size))
    for i in range(50):
        for j in range(5):
            if responses[i, j] >= 0:
                expected[i] += log_p[:, j, responses[i, j]]
    np.testing.assert_allclose(mixed.log_likelihood(responses, THETA), expected, rtol=1e-12)


def test_log_likelihood_blocks_agree(mixed: ItemBank, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    responses = np.column_stack([rng.integers(-1, k, 300) for k in mixed.n_categories]).astype(
        np.int8
    )
    whole = mixed.log_likelihood(responses, THETA)
    monkeypatch.setattr(models, "_PERSON_CHUNK", 7)
    np.testing.assert_allclose(mixed.log_likelihood(responses, THETA), whole, rtol=1e-13)


def test_irt_form_round_trip(mixed: ItemBank) -> None:
    frame = mixed.irt_parameters(scaling=1.702)
    assert frame.attrs["scaling"] == 1.702
    np.testing.assert_allclose(frame["a"] * 1.702, mixed.slopes)
    b = frame[["b1", "b2", "b3"]].to_numpy()
    rebuilt = ItemBank.from_irt(
        frame["a"], b, frame["g"], models=list(frame["model"]), names=frame["item"], scaling=1.702
    )
    np.testing.assert_allclose(rebuilt.intercepts, mixed.intercepts, rtol=1e-13)
    np.testing.assert_array_equal(rebuilt.n_categories, mixed.n_categories)
    np.testing.assert_allclose(rebuilt.probabilities(THETA), mixed.probabilities(THETA))


def test_irt_parameters_dichotomous_column_b() -> None:
    bank = ItemBank.from_irt(a=[1.0, 2.0], b=[0.5, -1.0])
    frame = bank.irt_parameters()
    assert list(frame.columns) == ["item", "model", "a", "b", "g"]
    np.testing.assert_allclose(frame["b"], [0.5, -1.0])
    np.testing.assert_allclose(bank.intercepts[:, 0], [-0.5, 2.0])


def test_subset_by_name_position_and_mask(mixed: ItemBank) -> None:
    by_name = mixed.subset(["partial", "two"])
    assert by_name.names == ("partial", "two")
    assert by_name.intercepts.shape == (2, 2)  # width shrinks to the widest kept item
    np.testing.assert_allclose(
        by_name.probabilities(THETA)[:, 0, :3], mixed.probabilities(THETA)[:, 4, :3]
    )
    assert mixed.subset([1, 0]).names == ("two", "r")
    assert mixed.subset(np.array([True, False, False, False, True])).names == ("r", "partial")
    with pytest.raises(KeyError, match="nope"):
        mixed.subset(["nope"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"models": ("2PL", "2PL", "3PL", "GRM", "NOPE")}, "Unknown item model"),
        ({"names": ("r", "r", "three", "graded", "partial")}, "unique"),
        ({"guessing": [0.1, 0.0, 0.22, 0.0, 0.0]}, "cannot have a lower asymptote"),
        ({"guessing": [0.0, 0.0, 1.2, 0.0, 0.0]}, r"\[0, 1\)"),
        ({"n_categories": [2, 2, 2, 4, 4]}, "exactly 3 intercepts"),
        ({"n_categories": [3, 2, 2, 4, 3]}, "must have 2 categories"),
    ],
)
def test_invalid_banks_are_refused(mixed: ItemBank, change: dict, message: str) -> None:
    fields = {
        "names": mixed.names,
        "models": mixed.models,
        "slopes": mixed.slopes,
        "intercepts": mixed.intercepts,
        "guessing": mixed.guessing,
        "n_categories": mixed.n_categories,
    } | change
    with pytest.raises(ValueError, match=message):
        ItemBank(**fields)


def test_bank_arrays_are_read_only(mixed: ItemBank) -> None:
    with pytest.raises(ValueError):
        mixed.slopes[0] = 5.0


@settings(max_examples=30, deadline=None)
@given(
    slope=st.floats(-3, 3),
    steps=st.lists(st.floats(-4, 4), min_size=1, max_size=4),
    theta=st.floats(-8, 8),
)
def test_gpcm_and_grm_rows_sum_to_one(slope: float, steps: list[float], theta: float) -> None:
    k = len(steps) + 1
    decreasing = np.sort(np.asarray(steps))[::-1] - np.arange(len(steps)) * 1e-3
    bank = ItemBank(
        names=("p", "g"),
        models=("GPCM", "GRM"),
        slopes=[slope, abs(slope)],
        intercepts=[steps, decreasing],
        guessing=[0.0, 0.0],
        n_categories=[k, k],
    )
    p = bank.probabilities(np.array([theta]))
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-12)
    assert np.all(p >= 0)
