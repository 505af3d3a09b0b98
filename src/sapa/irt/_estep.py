"""The E-step of Bock–Aitkin marginal maximum likelihood, as a pure map/reduce kernel.

:func:`e_step` maps one block of persons to :class:`SufficientStats` (expected counts per item ×
category × quadrature node, expected counts per group × node, log-likelihood); blocks are reduced
with ``+``. :func:`accumulate` runs the blocks of an in-memory matrix one after another so that
peak memory stays at the int8 response matrix plus a fixed work area.

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
Application of an EM algorithm. Psychometrika 46, 443–459.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sapa.irt.models import ItemBank, category_log_tables

__all__ = [
    "Quadrature",
    "SufficientStats",
    "accumulate",
    "block_size",
    "e_step",
    "likelihood_rows",
    "posterior",
]

#: Float64 work cells per block: each work array (nodes × persons) is about 2 MiB, small enough
#: to stay in cache between the passes over it (measured faster than 8 MiB or 1 MiB blocks).
_WORK_CELLS = 1 << 18


@dataclass(frozen=True)
class Quadrature:
    """Fixed rectangular quadrature on ``θ`` with a normal prior mass per group.

    Attributes
    ----------
    nodes : ndarray, shape (Q,)
        Equally spaced ``θ`` points on ``[−range, range]`` (mirt's default: 61 points on ±6).
    log_weights : ndarray, shape (n_groups, Q)
        ``log π_gq`` with ``π_gq ∝ φ(θ_q; μ_g, σ²_g)`` normalised to sum to 1 over ``q``.
    """

    nodes: np.ndarray
    log_weights: np.ndarray

    @classmethod
    def normal(
        cls, n_quad: int, quad_range: float, means: np.ndarray, variances: np.ndarray
    ) -> Quadrature:
        """Nodes on ``[−quad_range, quad_range]`` with ``N(μ_g, σ²_g)`` mass for each group."""
        nodes = np.linspace(-quad_range, quad_range, n_quad)
        means = np.asarray(means, dtype=np.float64).reshape(-1, 1)
        variances = np.asarray(variances, dtype=np.float64).reshape(-1, 1)
        log_density = -0.5 * (nodes - means) ** 2 / variances
        log_norm = np.logaddexp.reduce(log_density, axis=1, keepdims=True)
        return cls(nodes=nodes, log_weights=log_density - log_norm)

    @property
    def n_groups(self) -> int:
        """Number of groups (rows of ``log_weights``)."""
        return int(self.log_weights.shape[0])


@dataclass(frozen=True)
class SufficientStats:
    """Expected complete-data statistics of one or more blocks of persons; add blocks with ``+``.

    Attributes
    ----------
    r : ndarray, shape (n_items, max_categories, Q)
        ``r_jkq = Σ_i w_i·1(x_ij = k)·P(θ_q | x_i)``: expected (weighted) number of persons at node
        ``q`` answering item ``j`` in category ``k``, summed over groups (items are shared).
    n : ndarray, shape (n_groups, Q)
        ``n_gq = Σ_{i in g} w_i·P(θ_q | x_i)``.
    loglik : float
        ``Σ_i w_i·log Σ_q π_gq·L_i(θ_q)``, the marginal log-likelihood of the block.
    """

    r: np.ndarray
    n: np.ndarray
    loglik: float

    def __add__(self, other: SufficientStats) -> SufficientStats:
        return SufficientStats(
            r=self.r + other.r, n=self.n + other.n, loglik=self.loglik + other.loglik
        )


@dataclass(frozen=True)
class _LinearLogits:
    """Nodes and ``(a_j, d_j)`` columns of a bank whose items are all Rasch or 2PL."""

    nodes: np.ndarray
    coefficients: np.ndarray

    @classmethod
    def of(cls, bank: ItemBank, quadrature: Quadrature) -> _LinearLogits | None:
        if not all(model in ("Rasch", "2PL") for model in bank.models):
            return None
        coefficients = np.column_stack([bank.slopes, bank.intercepts[:, 0]])
        return cls(quadrature.nodes, coefficients)


@dataclass(frozen=True)
class _Design:
    """Indicator matrices of one block: ``1(X = k)`` for ``k ≥ 1`` and, only when some response is
    missing, the observed mask ``1(X ≥ 0)`` (category 0 is implied by the two).

    All indicators live side by side in one ``(n_persons, m·n_items)`` array, so the expected
    counts of every category and the observed totals come from a single matrix product (one wide
    product runs faster than several narrow ones). When every item is Rasch or 2PL, three more
    columns follow: the weighted scores ``Σ_j a_j x_ij``, ``Σ_j d_j x_ij`` and a column of ones
    (see :meth:`log_likelihood`). Work arrays are laid out nodes × persons so that the reductions
    over nodes run along contiguous rows of persons.
    """

    stacked: np.ndarray
    n_items: int
    n_indicators: int
    has_missing: bool

    @classmethod
    def of(cls, responses: np.ndarray, kernel: _Kernel) -> _Design:
        n_persons, n_items = responses.shape
        n_categories = kernel.tables.shape[0]
        present = responses >= 0
        has_missing = not present.all()
        n_indicators = (n_categories - 1 + int(has_missing)) * n_items
        n_scores = 0 if kernel.linear is None else 3
        stacked = np.empty((n_persons, n_indicators + n_scores), dtype=np.float64)
        for k in range(1, n_categories):
            np.equal(responses, k, out=stacked[:, (k - 1) * n_items : k * n_items])
        if has_missing:
            stacked[:, n_indicators - n_items : n_indicators] = present
        if kernel.linear is not None:
            stacked[:, n_indicators : n_indicators + 2] = (
                stacked[:, :n_items] @ kernel.linear.coefficients
            )
            stacked[:, -1] = 1.0
        return cls(stacked, n_items, n_indicators, has_missing)

    @property
    def n_upper(self) -> int:
        """Number of categories above 0 (the indicators stored)."""
        return self.n_indicators // self.n_items - int(self.has_missing)

    def log_likelihood(self, kernel: _Kernel) -> np.ndarray:
        """``log L[q, i] = Σ_k (log P_k)ᵀ 1(X = k)ᵀ``, shape ``(Q, n_persons)``, as one product.

        Written ``Σ_{k≥1} (log P_k − log P_0)ᵀ 1(X = k)ᵀ + (log P_0)ᵀ 1(X ≥ 0)ᵀ``: the stacked
        indicators times the stacked tables; when nothing is missing the last term is the same
        for every person, ``Σ_j log P_0j(θ_q)``.

        When every item is Rasch or 2PL, ``log P_1 − log P_0 = a·θ + d`` exactly, so the first
        sum is ``θ_q·(Σ_j a_j x_ij) + Σ_j d_j x_ij`` (the weighted-score sufficiency of the
        2PL): the product runs over the two score columns and the ones column (which carries
        ``Σ_j log P_0j``) instead of the ``n_items`` indicator columns.
        """
        rows, first, constant = likelihood_rows(kernel, self.n_upper, self.has_missing)
        out = rows.T @ self.stacked[:, first:].T
        if constant is not None:
            out += constant[:, None]
        return out

    def expected_counts(self, post: np.ndarray) -> np.ndarray:
        """``r[j, k, q] = Σ_i 1(x_ij = k)·post[q, i]``, category 0 by difference from the total."""
        indicators = self.stacked[:, : self.n_indicators]
        products = (post @ indicators).T.reshape(-1, self.n_items, post.shape[0])
        upper = products[: self.n_upper]
        total = products[-1] if self.has_missing else post.sum(axis=1)[None, :]
        return np.stack([total - upper.sum(axis=0), *upper], axis=1)


def likelihood_rows(
    kernel: _Kernel, n_upper: int, has_missing: bool
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """The tables that turn a block's stacked design into log-likelihoods at the nodes.

    Returns ``rows`` (shape ``(width, Q)``), the first design column they multiply and a
    constant row (or None): ``log L = design[:, first:] @ rows + constant``, persons × nodes.
    Every backend forms the same design (:class:`_Design`'s column layout) and this product.
    """
    base = kernel.tables[0]
    if kernel.linear is None:
        stacked = [kernel.tables[k] - base for k in range(1, n_upper + 1)]
        if has_missing:
            stacked.append(base)
        return np.concatenate(stacked), 0, None if has_missing else base.sum(axis=0)
    n_items = base.shape[0]
    first = n_upper * n_items
    constant = np.zeros(base.shape[1]) if has_missing else base.sum(axis=0)
    score_rows = [kernel.linear.nodes, np.ones_like(constant), constant]
    if has_missing:
        return np.concatenate([base, np.vstack(score_rows)]), first, None
    return np.vstack(score_rows), first, None


@dataclass(frozen=True)
class _Kernel:
    """What every block of one E-step shares: the bank's log-probability tables at the nodes."""

    tables: np.ndarray
    linear: _LinearLogits | None

    @classmethod
    def of(cls, bank: ItemBank, quadrature: Quadrature) -> _Kernel:
        tables = category_log_tables(bank.log_probabilities(quadrature.nodes))
        return cls(tables, _LinearLogits.of(bank, quadrature))


def posterior(
    responses: np.ndarray,
    bank: ItemBank,
    quadrature: Quadrature,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior node weights and marginal log-likelihood of each person in one block.

    Returns
    -------
    weights : ndarray, shape (n_persons, Q)
        ``P(θ_q | x_i) = π_gq·L_i(θ_q) / Σ_q' π_gq'·L_i(θ_q')``; every row sums to 1.
    loglik : ndarray, shape (n_persons,)
        ``log Σ_q π_gq·L_i(θ_q)``.
    """
    kernel = _Kernel.of(bank, quadrature)
    post, loglik = _posterior(_Design.of(responses, kernel), kernel, quadrature, groups)
    return post.T, loglik


def _posterior(
    design: _Design,
    kernel: _Kernel,
    quadrature: Quadrature,
    groups: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior weights ``(Q, n_persons)`` and each person's marginal log-likelihood."""
    log_joint = design.log_likelihood(kernel)
    if groups is None or quadrature.n_groups == 1:
        log_joint += quadrature.log_weights[0][:, None]
    else:
        log_joint += quadrature.log_weights.T[:, groups]
    peak = log_joint.max(axis=0)
    log_joint -= peak
    weights = np.exp(log_joint, out=log_joint)
    total = weights.sum(axis=0)
    weights /= total
    return weights, peak + np.log(total)


def e_step(
    responses: np.ndarray,
    weights: np.ndarray | None,
    bank: ItemBank,
    quadrature: Quadrature,
    groups: np.ndarray | None = None,
) -> SufficientStats:
    """Expected sufficient statistics of one block of persons (the E-step of Bock & Aitkin, 1981).

    Parameters
    ----------
    responses : ndarray of int8, shape (n_persons, n_items)
        Categories ``0 … K−1``; ``−1`` for missing or not presented.
    weights : ndarray, shape (n_persons,), optional
        Frequency or sampling weights ``w_i`` (1 when omitted).
    bank : ItemBank
        Current item parameters.
    quadrature : Quadrature
        Nodes and per-group prior mass.
    groups : ndarray of int, shape (n_persons,), optional
        Group index of each person (0 when omitted).

    Notes
    -----
    Matrix products of category indicators with the log-probability tables (log-likelihood) and
    with the weighted posterior (``r``): ``K − 1`` of each per block, plus one with the observed
    mask when responses are missing. No persons × items × nodes array is formed.
    """
    return _block_stats(responses, weights, _Kernel.of(bank, quadrature), quadrature, groups)


def _block_stats(
    responses: np.ndarray,
    weights: np.ndarray | None,
    kernel: _Kernel,
    quadrature: Quadrature,
    groups: np.ndarray | None,
) -> SufficientStats:
    """:func:`e_step` with the block-independent tables already computed."""
    design = _Design.of(responses, kernel)
    post, person_loglik = _posterior(design, kernel, quadrature, groups)
    if weights is not None:
        post *= weights
        loglik = float(person_loglik @ weights)
    else:
        loglik = float(person_loglik.sum())
    r = design.expected_counts(post)
    if quadrature.n_groups == 1 or groups is None:
        n = np.zeros((quadrature.n_groups, post.shape[0]))
        n[0] = post.sum(axis=1)
    else:
        membership = np.zeros((post.shape[1], quadrature.n_groups))
        membership[np.arange(post.shape[1]), groups] = 1.0
        n = (post @ membership).T
    return SufficientStats(r=r, n=n, loglik=loglik)


def block_size(n_items: int, n_quad: int) -> int:
    """Persons per block so that each float64 work array holds about ``_WORK_CELLS`` cells."""
    return max(256, _WORK_CELLS // max(n_items, n_quad))


def accumulate(
    responses: np.ndarray,
    weights: np.ndarray | None,
    bank: ItemBank,
    quadrature: Quadrature,
    groups: np.ndarray | None = None,
) -> SufficientStats:
    """:func:`e_step` over consecutive blocks of persons, reduced with ``+``."""
    size = block_size(bank.n_items, quadrature.nodes.size)
    kernel = _Kernel.of(bank, quadrature)
    total: SufficientStats | None = None
    for start in range(0, responses.shape[0], size):
        stop = start + size
        part = _block_stats(
            responses[start:stop],
            None if weights is None else weights[start:stop],
            kernel,
            quadrature,
            None if groups is None else groups[start:stop],
        )
        total = part if total is None else total + part
    if total is None:
        raise ValueError("No persons to accumulate.")
    return total
