"""The M-step of Bock–Aitkin EM: item parameters by Fisher scoring, latent moments in closed form.

Given the expected counts ``r_jkq`` of an E-step, item ``j``'s expected complete-data
log-posterior is

    ``Q_j(β_j) = Σ_q Σ_k r_jkq · log P_jk(θ_q; β_j) + log p(β_j)``,

a weighted multinomial log-likelihood. Its gradient is ``Σ_qk (r_jkq / P_jk) ∂P_jk/∂β`` and its
expected information ``Σ_q N_jq Σ_k (∂P_jk/∂β)(∂P_jk/∂β)ᵀ / P_jk`` (``N_jq = Σ_k r_jkq``) is
positive semi-definite, so Fisher scoring with step halving rises monotonically. All items of
one model and category count are updated together (batched 2×2 … K×K solves).

The internal scale of the optimiser is ``(a, d…, logit g)``; a ``g`` that wanders to 0 or 1
therefore stays inside the parameter space without any clamping.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import expit, log_expit, logit, logsumexp

from sapa.irt._estep import SufficientStats
from sapa.irt._paramtable import ParameterSpec
from sapa.irt.models import DICHOTOMOUS_MODELS, gpcm_logits, grm_log_probabilities

__all__ = [
    "ItemBlock",
    "block_objective",
    "group_score",
    "item_blocks",
    "m_step",
    "maximize_block",
    "observed_score",
]

_MAX_SCORING_STEPS = 50
_MAX_HALVINGS = 30
_SCORING_TOL = 1e-9


@dataclass(frozen=True)
class ItemBlock:
    """Items sharing one model and category count, with their matrix columns."""

    model: str
    n_categories: int
    items: np.ndarray
    columns: np.ndarray


def item_blocks(spec: ParameterSpec) -> list[ItemBlock]:
    """Partition the items of ``spec`` by (model, number of categories)."""
    keys = sorted({(m, int(k)) for m, k in zip(spec.models, spec.n_categories, strict=True)})
    blocks = []
    for model, k in keys:
        items = np.flatnonzero(
            [
                m == model and int(c) == k
                for m, c in zip(spec.models, spec.n_categories, strict=True)
            ]
        )
        blocks.append(ItemBlock(model, k, items, np.array(spec.columns_of(int(items[0])))))
    return blocks


def block_probabilities(
    model: str, n_categories: int, params: np.ndarray, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities ``(Q, J, K)`` and their derivatives ``∂P/∂β`` ``(Q, J, K, P)``.

    ``params`` is ``(J, P)`` on the internal scale: ``[a, d]`` (Rasch, 2PL), ``[a, d, logit g]``
    (3PL), ``[a, d_1 … d_{K−1}]`` (GRM, GPCM).
    """
    a = params[:, 0]
    if model in DICHOTOMOUS_MODELS:
        z = theta[:, None] * a + params[:, 1]
        s = expit(z)
        w = s * (1 - s)
        if model == "3PL":
            g = expit(params[:, 2])
        else:
            g = np.zeros_like(a)
        with np.errstate(divide="ignore"):
            log_p1 = np.logaddexp(np.log(g), np.log1p(-g) + log_expit(z))
        log_p0 = np.log1p(-g) + log_expit(-z)
        derivatives = [(1 - g) * w * theta[:, None], (1 - g) * w]
        if model == "3PL":
            derivatives.append((1 - s) * g * (1 - g))
        dp1 = np.stack(derivatives, axis=-1)
        return np.stack([log_p0, log_p1], axis=2), np.stack([-dp1, dp1], axis=2)
    intercepts = params[:, 1:n_categories]
    if model == "GRM":
        z = theta[:, None, None] * a[:, None] + intercepts
        log_p = grm_log_probabilities(z)
        star = expit(z)
        w = star * (1 - star)
        pad = np.zeros(w.shape[:-1] + (1,))
        w_ext = np.concatenate([pad, w, pad], axis=-1)
        d_a = theta[:, None, None] * (w_ext[..., :-1] - w_ext[..., 1:])
        d_d = np.zeros(w.shape[:2] + (n_categories, n_categories - 1))
        steps = np.arange(n_categories - 1)
        d_d[:, :, steps + 1, steps] = w
        d_d[:, :, steps, steps] = -w
        return log_p, np.concatenate([d_a[..., None], d_d], axis=-1)
    z = gpcm_logits(a, intercepts, theta)
    log_p = z - logsumexp(z, axis=2, keepdims=True)
    p = np.exp(log_p)
    scores = np.arange(n_categories, dtype=np.float64)
    design = np.empty((theta.size, 1, n_categories, n_categories))
    design[..., 0] = scores * theta[:, None, None]
    design[..., 1:] = (scores[:, None] >= np.arange(1, n_categories)).astype(np.float64)
    centred = design - np.einsum("qjk,qkp->qjp", p, design[:, 0])[:, :, None, :]
    return log_p, p[..., None] * centred


def prior_terms(
    kind: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    internal: np.ndarray,
    is_guess: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log prior density, gradient and (non-negative) curvature per cell on the internal scale.

    ``norm(m, s)``: ``−(x − m)² / 2s²`` (for ``g`` with ``x = logit g``: logit-normal);
    ``lnorm(m, s)``: ``−log x − (log x − m)² / 2s²``; ``beta(α, β)`` on ``g = σ(η)``:
    ``(α−1) log g + (β−1) log(1−g)``. Constants are dropped.
    """
    value = np.zeros_like(internal)
    grad = np.zeros_like(internal)
    curvature = np.zeros_like(internal)
    normal = kind == "norm"
    if normal.any():
        x, m, s2 = internal[normal], first[normal], second[normal] ** 2
        value[normal] = -((x - m) ** 2) / (2 * s2)
        grad[normal] = -(x - m) / s2
        curvature[normal] = 1 / s2
    lognormal = kind == "lnorm"
    if lognormal.any():
        x, m, s2 = internal[lognormal], first[lognormal], second[lognormal] ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            log_x = np.log(x)
            value[lognormal] = np.where(x > 0, -log_x - (log_x - m) ** 2 / (2 * s2), -np.inf)
            grad[lognormal] = np.where(x > 0, (-1 - (log_x - m) / s2) / x, 0.0)
            curvature[lognormal] = np.where(
                x > 0, np.maximum(-(-1 / s2 + 1 + (log_x - m) / s2) / x**2, 0.0), 0.0
            )
    beta = (kind == "beta") & is_guess
    if beta.any():
        g = expit(internal[beta])
        alpha, beta_ = first[beta], second[beta]
        value[beta] = (alpha - 1) * np.log(g) + (beta_ - 1) * np.log1p(-g)
        grad[beta] = (alpha - 1) * (1 - g) - (beta_ - 1) * g
        curvature[beta] = (alpha + beta_ - 2) * g * (1 - g)
    return value, grad, curvature


@dataclass(frozen=True)
class _BlockProblem:
    """The data of one block's M-step: counts, nodes, priors and bounds on the internal scale."""

    block: ItemBlock
    counts: np.ndarray  # (Q, J, K)
    theta: np.ndarray
    free: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    prior_kind: np.ndarray
    prior_1: np.ndarray
    prior_2: np.ndarray
    is_guess: np.ndarray


def reciprocal_probability(log_p: np.ndarray) -> np.ndarray:
    """``1 / P`` from ``log P``, 0 where ``P = 0`` and at most ``e^{700}`` where ``P`` underflows.

    ``∂P/∂β`` underflows to 0 wherever ``P`` does, so the bound keeps ``(∂P/∂β) / P`` at 0 there
    instead of ``0 · ∞``; it does not touch any parameter.
    """
    return np.where(np.isfinite(log_p), np.exp(np.minimum(-log_p, 700.0)), 0.0)


def block_objective(
    problem: _BlockProblem, params: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item ``Q_j``, its gradient ``(J, P)`` and expected information ``(J, P, P)``."""
    log_p, dp = block_probabilities(
        problem.block.model, problem.block.n_categories, params, problem.theta
    )
    counts = problem.counts
    inverse_p = reciprocal_probability(log_p)
    with np.errstate(invalid="ignore"):
        value = np.where(counts > 0, counts * log_p, 0.0).sum(axis=(0, 2))
    ratio = counts * inverse_p
    grad = np.einsum("qjk,qjkp->jp", ratio, dp)
    totals = counts.sum(axis=2)
    info = np.einsum("qj,qjkp,qjkl->jpl", totals, dp * inverse_p[..., None], dp)
    prior_value, prior_grad, prior_curvature = prior_terms(
        problem.prior_kind, problem.prior_1, problem.prior_2, params, problem.is_guess
    )
    value = value + prior_value.sum(axis=1)
    grad = grad + prior_grad
    diagonal = np.arange(params.shape[1])
    info[:, diagonal, diagonal] += prior_curvature
    return value, grad, info


def _make_problem(
    spec: ParameterSpec, block: ItemBlock, stats: SufficientStats, theta: np.ndarray
) -> _BlockProblem:
    rows, cols = block.items[:, None], block.columns[None, :]
    is_guess = np.broadcast_to(block.columns == spec.guess_column, (block.items.size, cols.size))
    lower = spec.lower[rows, cols]
    upper = spec.upper[rows, cols]
    with np.errstate(divide="ignore"):
        lower = np.where(is_guess, logit(lower), lower)
        upper = np.where(is_guess, logit(upper), upper)
    counts = np.moveaxis(stats.r[block.items, : block.n_categories, :], 2, 0)
    return _BlockProblem(
        block=block,
        counts=counts,
        theta=theta,
        free=spec.free[rows, cols],
        lower=lower,
        upper=upper,
        prior_kind=spec.prior_kind[rows, cols],
        prior_1=spec.prior_1[rows, cols],
        prior_2=spec.prior_2[rows, cols],
        is_guess=is_guess,
    )


def maximize_block(problem: _BlockProblem, start: np.ndarray) -> np.ndarray:
    """Fisher scoring with per-item step halving until every step is below ``1e−9``.

    Fixed cells keep their values. Bounds from the table are honoured by projection with an
    active set: a cell at its bound whose gradient points outwards is held there for the step.
    """
    params = start.copy()
    if not problem.free.any():
        return params
    value, grad, info = block_objective(problem, params)
    eye = np.eye(params.shape[1])
    for _ in range(_MAX_SCORING_STEPS):
        held = ((params <= problem.lower) & (grad < 0)) | ((params >= problem.upper) & (grad > 0))
        free = problem.free & ~held
        free_pair = free[:, :, None] & free[:, None, :]
        system = np.where(free_pair, info, eye)
        system = system + 1e-10 * (1 + np.abs(system)) * eye
        step = np.linalg.solve(system, np.where(free, grad, 0.0)[..., None])[..., 0]
        if not np.all(np.isfinite(step)):
            step = np.where(np.isfinite(step), step, 0.0)
        if np.max(np.abs(step)) < _SCORING_TOL:
            break
        scale = np.ones(params.shape[0])
        accepted = np.zeros(params.shape[0], dtype=bool)
        candidate = params
        for _ in range(_MAX_HALVINGS):
            candidate = np.clip(params + scale[:, None] * step, problem.lower, problem.upper)
            candidate = np.where(free, candidate, params)
            new_value, new_grad, new_info = block_objective(problem, candidate)
            good = np.isfinite(new_value) & (new_value >= value - 1e-12 * np.abs(value))
            accepted |= good
            if good.all():
                break
            scale = np.where(good, scale, scale / 2)
        keep = accepted[:, None]
        params = np.where(keep, candidate, params)
        value = np.where(accepted, new_value, value)
        grad = np.where(keep, new_grad, grad)
        info = np.where(keep[:, :, None], new_info, info)
        if not accepted.any():
            break
    return params


def group_moments(spec: ParameterSpec, stats: SufficientStats, theta: np.ndarray) -> np.ndarray:
    """Closed-form update of each group's mean and variance from ``n_gq``.

    ``μ_g = Σ_q n_gq θ_q / N_g`` and ``σ²_g = Σ_q n_gq (θ_q − μ_g)² / N_g`` for free cells; fixed
    cells keep their values (a fixed mean centres the variance).
    """
    values = spec.group_values.copy()
    totals = stats.n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = stats.n @ theta / totals
        values[:, 0] = np.where(spec.group_free[:, 0], means, values[:, 0])
        variances = (stats.n * (theta - values[:, [0]]) ** 2).sum(axis=1) / totals
    values[:, 1] = np.where(spec.group_free[:, 1], variances, values[:, 1])
    return values


def m_step(spec: ParameterSpec, stats: SufficientStats, theta: np.ndarray) -> ParameterSpec:
    """New parameters maximising the expected complete-data log-posterior given ``stats``."""
    internal = spec.internal_values()
    for block in item_blocks(spec):
        problem = _make_problem(spec, block, stats, theta)
        rows, cols = block.items[:, None], block.columns[None, :]
        internal[rows, cols] = maximize_block(problem, internal[rows, cols])
    updated = spec.with_internal_values(internal)
    return replace(updated, group_values=group_moments(spec, stats, theta))


def group_score(spec: ParameterSpec, stats: SufficientStats, theta: np.ndarray) -> np.ndarray:
    """Gradient of ``Σ_gq n_gq log π_gq`` w.r.t. each group's (mean, var), shape ``(G, 2)``.

    ``π_gq`` is the normal mass normalised over the nodes, so the score of ``u ∈ {μ, σ²}`` is
    ``Σ_q (n_gq − N_g π_gq) ∂log φ(θ_q)/∂u`` with ``∂/∂μ = (θ − μ)/σ²`` and
    ``∂/∂σ² = ((θ − μ)²/σ² − 1) / 2σ²``.
    """
    means, variances = spec.group_values[:, [0]], spec.group_values[:, [1]]
    log_density = -0.5 * (theta - means) ** 2 / variances
    mass = np.exp(log_density - logsumexp(log_density, axis=1, keepdims=True))
    excess = stats.n - stats.n.sum(axis=1, keepdims=True) * mass
    d_mean = (theta - means) / variances
    d_var = ((theta - means) ** 2 / variances - 1) / (2 * variances)
    return np.stack([(excess * d_mean).sum(axis=1), (excess * d_var).sum(axis=1)], axis=1)


def observed_score(spec: ParameterSpec, stats: SufficientStats, theta: np.ndarray) -> np.ndarray:
    """Gradient of the log-posterior w.r.t. :meth:`ParameterSpec.free_vector` (Fisher identity).

    With ``stats`` from an E-step at ``spec`` itself, ``∂Q(β | β)/∂β`` equals the gradient of the
    observed-data log-likelihood plus log prior (Louis, 1982).
    """
    internal = spec.internal_values()
    grad = np.zeros_like(internal)
    for block in item_blocks(spec):
        problem = _make_problem(spec, block, stats, theta)
        rows, cols = block.items[:, None], block.columns[None, :]
        grad[rows, cols] = block_objective(problem, internal[rows, cols])[1]
    return np.concatenate([grad[spec.free], group_score(spec, stats, theta)[spec.group_free]])
