"""Simulated responses from known item parameters: the ground truth of recovery studies.

Used by the recovery tests, the benchmarks and the synthetic nation, so every simulation in Sapa
draws responses the same way.
"""

from __future__ import annotations

import numpy as np

from sapa._random import RandomLike, as_generator
from sapa.irt.models import MISSING, ItemBank

__all__ = ["MISSING", "simulate_responses"]


def simulate_responses(
    bank: ItemBank,
    theta: np.ndarray,
    *,
    rng: RandomLike,
    missing: float = 0.0,
    presented: np.ndarray | None = None,
) -> np.ndarray:
    """Draw one response per person and item from the bank's category probabilities.

    Parameters
    ----------
    bank : ItemBank
        The true item parameters.
    theta : ndarray of shape (n_persons,)
        The persons' true proficiencies (logit metric of ``bank``).
    rng : int, numpy.random.Generator or None
        Source of randomness (an int seeds a new generator).
    missing : float, default 0.0
        Share of responses, chosen completely at random, set to ``MISSING`` (omissions).
    presented : ndarray of bool, shape (n_persons, n_items), optional
        Booklet design: ``False`` where an item was not presented; those cells are ``MISSING``.

    Returns
    -------
    ndarray of int8, shape (n_persons, n_items)
        Category codes ``0 … K_j − 1``, or ``MISSING``.

    Notes
    -----
    Each response is the inverse-CDF draw ``x = #{k : U > F_k(θ)}`` with one uniform ``U`` per cell
    and the cumulative category probabilities ``F_k``; persons are processed in chunks of 20,000 so
    memory stays bounded for national-size simulations.
    """
    generator = as_generator(rng)
    theta = np.asarray(theta, dtype=np.float64)
    responses = np.empty((theta.size, bank.n_items), dtype=np.int8)
    top = bank.n_categories - 1
    for start in range(0, theta.size, 20_000):
        chunk = theta[start : start + 20_000]
        cumulative = np.cumsum(bank.probabilities(chunk), axis=2)
        uniforms = generator.random(cumulative.shape[:2])[:, :, None]
        responses[start : start + chunk.size] = np.minimum((uniforms > cumulative).sum(axis=2), top)
    if missing:
        responses[generator.random(responses.shape) < missing] = MISSING
    if presented is not None:
        responses[~np.asarray(presented, dtype=bool)] = MISSING
    return responses
