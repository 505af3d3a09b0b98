"""Explicit randomness: every stochastic function takes ``rng`` and passes it through here."""

from __future__ import annotations

import numpy as np

RandomLike = int | np.random.Generator | None


def as_generator(rng: RandomLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for an int seed, an existing generator, or ``None``
    (fresh entropy). The global ``numpy.random`` state is never touched."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
