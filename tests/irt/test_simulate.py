"""Simulated responses follow the model's category probabilities and the booklet design."""

from __future__ import annotations

import numpy as np

from sapa.irt.models import ItemBank
from sapa.irt.simulate import MISSING, simulate_responses

BANK = ItemBank.from_irt(
    a=[1.0, 1.5, 0.8],
    b=[[0.0, np.nan], [-0.5, np.nan], [-0.7, 0.6]],
    g=[0.0, 0.2, 0.0],
    models=["2PL", "3PL", "GPCM"],
)


def test_category_frequencies_match_probabilities() -> None:
    theta = np.full(40_000, 0.3)
    responses = simulate_responses(BANK, theta, rng=5)
    expected = BANK.probabilities(np.array([0.3]))[0]
    for item in range(3):
        k = BANK.n_categories[item]
        observed = np.bincount(responses[:, item], minlength=k) / theta.size
        se = np.sqrt(expected[item, :k] * (1 - expected[item, :k]) / theta.size)
        assert np.all(np.abs(observed - expected[item, :k]) < 4 * se)


def test_missing_share_and_booklet_design() -> None:
    presented = np.ones((10_000, 3), dtype=bool)
    presented[::2, 2] = False
    responses = simulate_responses(BANK, np.zeros(10_000), rng=1, missing=0.1, presented=presented)
    assert np.all(responses[::2, 2] == MISSING)
    assert abs((responses[:, 0] == MISSING).mean() - 0.1) < 0.01


def test_same_seed_same_responses() -> None:
    theta = np.linspace(-2, 2, 500)
    first = simulate_responses(BANK, theta, rng=11)
    assert np.array_equal(first, simulate_responses(BANK, theta, rng=11))
    assert not np.array_equal(first, simulate_responses(BANK, theta, rng=12))
