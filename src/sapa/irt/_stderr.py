"""Standard errors of MML estimates: Oakes' identity and the cross-product (XPD) approximation.

Both return the covariance of :meth:`ParameterSpec.free_vector` (internal scale, ``g`` as
``logit g``); :func:`to_table_scale` maps it to the table's scale by the delta method. Both are
sums over persons: the responses are either an in-memory :class:`CalibrationData` or a
:class:`StatisticsSource`, responses a compute backend holds (on a device or on workers) that
returns the summed E-step statistics and cross-product information itself.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sapa.irt._data import CalibrationData
from sapa.irt._estep import Quadrature, SufficientStats, accumulate, block_size, posterior
from sapa.irt._mstep import (
    block_probabilities,
    item_blocks,
    observed_score,
    prior_terms,
    reciprocal_probability,
)
from sapa.irt._paramtable import ParameterSpec
from sapa.irt.models import ItemBank

__all__ = [
    "CalibrationData",
    "StatisticsSource",
    "crossprod_covariance",
    "crossprod_information",
    "oakes_covariance",
    "to_table_scale",
]


class StatisticsSource(Protocol):
    """Responses held by a compute backend: it sums the statistics of its parts itself."""

    def accumulate(self, bank: ItemBank, quadrature: Quadrature) -> SufficientStats:
        """E-step statistics of every person, summed."""
        ...

    def crossprod_information(self, spec: ParameterSpec, quadrature: Quadrature) -> np.ndarray:
        """:func:`crossprod_information` of every person, summed."""
        ...


def _accumulate(
    source: CalibrationData | StatisticsSource, bank: ItemBank, quadrature: Quadrature
) -> SufficientStats:
    if isinstance(source, CalibrationData):
        return accumulate(source.responses, source.weights, bank, quadrature, source.groups)
    return source.accumulate(bank, quadrature)


def _score_at(
    spec: ParameterSpec,
    vector: np.ndarray,
    source: CalibrationData | StatisticsSource,
    n_quad: int,
    quad_range: float,
) -> np.ndarray:
    moved = spec.with_free_vector(vector)
    quadrature = moved.quadrature(n_quad, quad_range)
    stats = _accumulate(source, moved.bank(), quadrature)
    return observed_score(moved, stats, quadrature.nodes)


def oakes_covariance(
    spec: ParameterSpec,
    source: CalibrationData | StatisticsSource,
    n_quad: int,
    quad_range: float,
) -> np.ndarray:
    """Inverse observed information by Oakes' (1999) identity.

    The observed-data score is ``S(β) = ∂Q(β | β')/∂β |_{β'=β}`` (Fisher identity), so the observed
    information is ``−dS/dβ = −[∂²Q/∂β∂βᵀ + ∂²Q/∂β∂β'ᵀ]`` at the MLE. Here the total derivative is
    taken by central differences of the analytic score (one E-step per evaluation, step
    ``h = 1e−5·max(1, |β_p|)``, truncation error ``O(h²)``), then symmetrised.

    References
    ----------
    Oakes, D. (1999). Direct calculation of the information matrix via the EM algorithm.
    Journal of the Royal Statistical Society B 61, 479–482.
    Chalmers, R. P. (2018). Numerical approximation of the observed information matrix with Oakes'
    identity. British Journal of Mathematical and Statistical Psychology 71, 415–436.
    """
    centre = spec.free_vector()
    hessian = np.empty((centre.size, centre.size))
    for p in range(centre.size):
        h = 1e-5 * max(1.0, abs(centre[p]))
        shift = np.zeros_like(centre)
        shift[p] = h
        upper = _score_at(spec, centre + shift, source, n_quad, quad_range)
        lower = _score_at(spec, centre - shift, source, n_quad, quad_range)
        hessian[:, p] = (upper - lower) / (2 * h)
    information = -(hessian + hessian.T) / 2
    return np.linalg.inv(information)


def crossprod_covariance(
    spec: ParameterSpec,
    source: CalibrationData | StatisticsSource,
    n_quad: int,
    quad_range: float,
) -> np.ndarray:
    """Inverse of the cross-product information ``Σ_i w_i s_i s_iᵀ`` (XPD).

    ``s_i = Σ_q P(θ_q | x_i) ∂ log[π_gq P(x_i | θ_q)]/∂β`` is person ``i``'s observed score; the
    prior's curvature is added on the diagonal. Cheaper than Oakes (one pass over the data) but an
    approximation that is consistent only at the true parameters and in large samples.

    References
    ----------
    Bock, R. D., & Lieberman, M. (1970). Fitting a response model for n dichotomously scored
    items. Psychometrika 35, 179–197 (the cross-product form used in BILOG).
    """
    quadrature = spec.quadrature(n_quad, quad_range)
    if isinstance(source, CalibrationData):
        information = crossprod_information(spec, source, quadrature)
    else:
        information = source.crossprod_information(spec, quadrature)
    internal = spec.internal_values()
    n_free = int(spec.free.sum())
    is_guess = np.zeros(internal.shape, dtype=bool)
    is_guess[:, spec.guess_column] = True
    curvature = prior_terms(spec.prior_kind, spec.prior_1, spec.prior_2, internal, is_guess)[2]
    diagonal = np.arange(n_free)
    information[diagonal, diagonal] += curvature[spec.free]
    return np.linalg.inv(information)


def crossprod_information(
    spec: ParameterSpec, data: CalibrationData, quadrature: Quadrature
) -> np.ndarray:
    """``Σ_i w_i s_i s_iᵀ`` over the persons of ``data`` (no prior term): the part of
    :func:`crossprod_covariance` that is a sum over persons, so partitions add."""
    theta = quadrature.nodes
    bank = spec.bank()
    internal = spec.internal_values()
    item_tables = []
    for block in item_blocks(spec):
        rows, cols = block.items[:, None], block.columns[None, :]
        log_p, dp = block_probabilities(
            block.model, block.n_categories, internal[rows, cols], theta
        )
        d_log_p = dp * reciprocal_probability(log_p)[..., None]
        item_tables.append((block, d_log_p))
    means, variances = spec.group_values[:, [0]], spec.group_values[:, [1]]
    log_mass = quadrature.log_weights
    mass = np.exp(log_mass)
    group_terms = []
    for d_log in (
        (theta - means) / variances,
        ((theta - means) ** 2 / variances - 1) / (2 * variances),
    ):
        group_terms.append(d_log - (mass * d_log).sum(axis=1, keepdims=True))
    size = block_size(bank.n_items, theta.size)
    n_free = int(spec.free.sum())
    information = np.zeros((n_free + int(spec.group_free.sum()),) * 2)
    for start in range(0, data.responses.shape[0], size):
        chunk = data.responses[start : start + size]
        groups = None if data.groups is None else data.groups[start : start + size]
        post, _ = posterior(chunk, bank, quadrature, groups)
        item_scores = np.zeros((chunk.shape[0],) + internal.shape)
        for block, d_log_p in item_tables:
            n_params = block.columns.size
            for k in range(block.n_categories):
                table = d_log_p[:, :, k, :].reshape(theta.size, -1)
                expected = (post @ table).reshape(chunk.shape[0], block.items.size, n_params)
                answered = (chunk[:, block.items] == k)[:, :, None]
                item_scores[:, block.items[:, None], block.columns[None, :]] += answered * expected
        codes = np.zeros(chunk.shape[0], dtype=np.int64) if groups is None else groups
        group_scores = np.stack([(post * term[codes]).sum(axis=1) for term in group_terms], axis=1)
        own_group = np.zeros((chunk.shape[0],) + spec.group_free.shape)
        own_group[np.arange(chunk.shape[0]), codes] = group_scores
        scores = np.concatenate([item_scores[:, spec.free], own_group[:, spec.group_free]], axis=1)
        weights = (
            np.ones(chunk.shape[0]) if data.weights is None else data.weights[start : start + size]
        )
        information += (scores * weights[:, None]).T @ scores
    return information


def to_table_scale(spec: ParameterSpec, covariance: np.ndarray) -> np.ndarray:
    """Covariance of the free parameters on the table's scale (delta method, ``∂g/∂η = g(1−g)``)."""
    jacobian = np.ones(spec.free.shape)
    g = spec.values[:, spec.guess_column]
    jacobian[:, spec.guess_column] = np.where(np.isnan(g), 1.0, g * (1 - g))
    scale = np.concatenate([jacobian[spec.free], np.ones(int(spec.group_free.sum()))])
    return covariance * np.outer(scale, scale)
