"""The responses a calibration works on, and the per-item counts it needs before the first E-step.

:class:`CalibrationData` is a validated in-memory matrix. :class:`ResponseSummary` holds what
``IRTModel.fit`` reads from the data besides the E-step (highest category, starting values, the
check that every free item has two observed categories, ``n_obs``). Like the E-step's
statistics it is a sum over persons, so a backend that keeps partitions on workers computes it
per partition and adds the parts with ``+``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CalibrationData", "ResponseSummary"]

#: Cells of one block of rows counted at a time (256 KiB of int8, 2 MiB as float64).
_BLOCK_CELLS = 1 << 18


@dataclass(frozen=True)
class CalibrationData:
    """Responses (int8, ``−1`` missing), optional weights and group codes of a calibration."""

    responses: np.ndarray
    weights: np.ndarray | None
    groups: np.ndarray | None


@dataclass(frozen=True)
class ResponseSummary:
    """Per-item category counts of a set of persons; add the summaries of partitions with ``+``.

    Attributes
    ----------
    counts : ndarray, shape (n_items, K)
        ``Σ_i w_i·1(x_ij = k)``, ``K`` one more than the highest category seen.
    seen : ndarray of int, shape (n_items, K)
        ``Σ_i 1(x_ij = k)``: how many persons answered item ``j`` in category ``k``.
    n_persons : int
        Persons counted.
    n_obs : float
        ``Σ_i w_i`` (``n_persons`` when unweighted).
    """

    counts: np.ndarray
    seen: np.ndarray
    n_persons: int
    n_obs: float

    @classmethod
    def of(cls, data: CalibrationData) -> ResponseSummary:
        """Count the categories of every item of ``data``: per block of rows, one comparison
        per category and a column sum (a weighted one with weights), so the matrix is read in
        cache-sized pieces along its rows."""
        responses = data.responses
        n_persons, n_items = responses.shape
        width = max(int(responses.max(initial=-1)) + 1, 1)
        counts = np.zeros((n_items, width))
        seen = np.zeros((n_items, width), dtype=np.int64)
        rows = max(1, _BLOCK_CELLS // max(n_items, 1))
        for start in range(0, n_persons, rows):
            block = responses[start : start + rows]
            for k in range(width):
                hits = block == k
                seen[:, k] += np.count_nonzero(hits, axis=0)
                if data.weights is not None:
                    counts[:, k] += data.weights[start : start + rows] @ hits
        if data.weights is None:
            counts[:] = seen
        n_obs = float(n_persons if data.weights is None else data.weights.sum())
        return cls(counts, seen, int(n_persons), n_obs)

    def __add__(self, other: ResponseSummary) -> ResponseSummary:
        width = max(self.counts.shape[1], other.counts.shape[1])
        return ResponseSummary(
            counts=_widen(self.counts, width) + _widen(other.counts, width),
            seen=_widen(self.seen, width) + _widen(other.seen, width),
            n_persons=self.n_persons + other.n_persons,
            n_obs=self.n_obs + other.n_obs,
        )

    @property
    def highest(self) -> np.ndarray:
        """Highest category seen for each item (``−1`` for an item nobody answered)."""
        present = self.seen > 0
        last = present.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)
        return np.where(present.any(axis=1), last, -1)

    @property
    def n_categories_seen(self) -> np.ndarray:
        """Number of distinct categories observed for each item."""
        return (self.seen > 0).sum(axis=1)


def _widen(table: np.ndarray, width: int) -> np.ndarray:
    if table.shape[1] == width:
        return table
    out = np.zeros((table.shape[0], width), dtype=table.dtype)
    out[:, : table.shape[1]] = table
    return out
