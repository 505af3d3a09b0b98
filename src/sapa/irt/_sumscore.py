"""The Lord–Wingersky recursion: the distribution of the summed score at fixed ability.

Shared by :func:`sapa.irt.score.sum_score_table` (EAP[θ | summed score]) and by the S-X2 item-fit
statistic in :mod:`sapa.irt.fit`, which needs the same distribution with one item left out.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def summed_score_likelihood(
    category_probabilities: NDArray[np.float64], n_categories: NDArray[np.int_]
) -> NDArray[np.float64]:
    """Return ``L[q, s] = P(summed score = s | θ_q)`` for every node and possible summed score.

    Parameters
    ----------
    category_probabilities : ndarray of shape (n_nodes, n_items, max_categories)
        ``P(X_j = k | θ_q)``; entries beyond an item's categories are ignored.
    n_categories : ndarray of shape (n_items,)
        Number of score categories ``K_j`` of each item; category ``k`` is worth ``k`` points.

    Returns
    -------
    ndarray of shape (n_nodes, 1 + sum(K_j - 1))
        Each row sums to 1 (up to rounding).

    Notes
    -----
    Items are added one at a time (Lord & Wingersky, 1984; Thissen, Pommerich, Billeaud &
    Williams, 1995, for polytomous items): with ``L^(j)`` the distribution over the first ``j``
    items, ``L^(j)[s] = Σ_k L^(j-1)[s - k] · P_j(k | θ)``. The cost is
    ``O(n_nodes · n_items · max_score · max_categories)``.

    References
    ----------
    Lord, F. M., & Wingersky, M. S. (1984). Comparison of IRT true-score and equipercentile
    observed-score "equatings". *Applied Psychological Measurement*, 8(4), 453–461.
    """
    n_nodes = category_probabilities.shape[0]
    max_total = int(np.sum(n_categories - 1))
    distribution = np.zeros((n_nodes, max_total + 1))
    distribution[:, 0] = 1.0
    reached = 0
    for item, categories in enumerate(n_categories):
        updated = np.zeros_like(distribution)
        for category in range(int(categories)):
            updated[:, category : reached + category + 1] += (
                distribution[:, : reached + 1] * category_probabilities[:, item, category, None]
            )
        distribution = updated
        reached += int(categories) - 1
    return distribution
