"""Item response models in slope–intercept form and the item bank that holds their parameters.

Every item's response function is written with a slope ``a`` and intercepts ``d`` on the logit
scale (``logit P = a·θ + d``), in float64. The IRT (difficulty) form ``b = −d/a`` is produced only
for reports by :meth:`ItemBank.irt_parameters`; its scaling constant ``D`` is stated there.

Models (``K`` categories scored ``0 … K−1``):

``"Rasch"``, ``"2PL"``
    ``P(X=1 | θ) = σ(a·θ + d)`` with ``σ(z) = 1 / (1 + e^{−z})`` (Rasch: ``a`` fixed, usually 1).
``"3PL"``
    ``P(X=1 | θ) = g + (1 − g)·σ(a·θ + d)``, lower asymptote ``g``.
``"GRM"``  (Samejima's graded response model)
    ``P(X ≥ k | θ) = σ(a·θ + d_k)``, ``d_1 > … > d_{K−1}``;
    ``P(X = k) = P(X ≥ k) − P(X ≥ k+1)``.
``"GPCM"`` (Muraki's generalized partial credit model; PCM = GPCM with ``a = 1``)
    ``P(X = k | θ) ∝ exp(z_k)`` with ``z_0 = 0`` and ``z_k = k·a·θ + Σ_{v ≤ k} d_v``.

References
----------
Samejima, F. (1969). Estimation of latent ability using a response pattern of graded scores.
Psychometrika Monograph No. 17.
Muraki, E. (1992). A generalized partial credit model. Applied Psychological Measurement 16,
159–176.
Chalmers, R. P. (2012). mirt: A multidimensional item response theory package for the R
environment. Journal of Statistical Software 48(6) — the same parameterisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit, logsumexp

__all__ = ["DICHOTOMOUS_MODELS", "ITEM_MODELS", "MISSING", "POLYTOMOUS_MODELS", "ItemBank"]

MISSING = -1
"""Code of a response that was not presented or not given, in every response matrix."""

DICHOTOMOUS_MODELS = frozenset({"Rasch", "2PL", "3PL"})
POLYTOMOUS_MODELS = frozenset({"GRM", "GPCM"})
ITEM_MODELS = DICHOTOMOUS_MODELS | POLYTOMOUS_MODELS

#: Persons per block in :meth:`ItemBank.log_likelihood`; bounds the float64 work arrays.
_PERSON_CHUNK = 8192


def grm_log_probabilities(cumulative_logits: np.ndarray) -> np.ndarray:
    """Category log-probabilities of graded items from their cumulative logits.

    ``cumulative_logits[..., k−1] = a·θ + d_k`` for ``k = 1 … K−1`` (NaN for categories an item
    lacks). Uses ``σ(u) − σ(v) = σ(u)·σ(−v)·(1 − e^{v−u})`` so that no difference of nearly equal
    probabilities is taken. Returns ``(..., K)`` with ``−inf`` beyond an item's categories.
    """
    z = np.where(np.isnan(cumulative_logits), -np.inf, cumulative_logits)
    pad_shape = z.shape[:-1] + (1,)
    upper = np.concatenate([np.full(pad_shape, np.inf), z], axis=-1)  # z_k, z_0 = +inf
    lower = np.concatenate([z, np.full(pad_shape, -np.inf)], axis=-1)  # z_{k+1}, z_K = -inf
    with np.errstate(invalid="ignore", divide="ignore"):
        out = log_expit(upper) + log_expit(-lower) + np.log(-np.expm1(lower - upper))
    return np.where(np.isnan(out), -np.inf, out)


def gpcm_logits(slope: np.ndarray, steps: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Category logits ``z_k = k·a·θ + Σ_{v≤k} d_v`` of GPCM items, shape ``(Q, J, K)``.

    ``steps`` is ``(J, K−1)``, NaN-padded; absent categories get ``−inf``.
    """
    n_steps = steps.shape[1]
    scores = np.arange(n_steps + 1, dtype=np.float64)
    cumulative = np.concatenate([np.zeros((steps.shape[0], 1)), np.cumsum(steps, axis=1)], axis=1)
    z = theta[:, None, None] * slope[None, :, None] * scores[None, None, :] + cumulative[None]
    return np.where(np.isnan(z), -np.inf, z)


@dataclass(frozen=True, eq=False)
class ItemBank:
    """Item parameters in slope–intercept form (logit P = a·θ + d), float64.

    Parameters
    ----------
    names : tuple of str
        Item names, unique.
    models : tuple of str
        Per item one of ``"Rasch"``, ``"2PL"``, ``"3PL"``, ``"GRM"``, ``"GPCM"`` (a partial credit
        item is a ``"GPCM"`` item with slope 1).
    slopes : ndarray, shape (n_items,)
        Slopes ``a`` on the logit scale (D = 1).
    intercepts : ndarray, shape (n_items, max_categories − 1)
        NaN-padded beyond an item's categories. Dichotomous items: one intercept ``d``; GRM:
        ``K−1`` decreasing intercepts ``d_1 > … > d_{K−1}`` with ``P(X ≥ k) = σ(a·θ + d_k)``;
        GPCM: ``K−1`` step intercepts, ``z_k = k·a·θ + Σ_{v≤k} d_v``.
    guessing : ndarray, shape (n_items,)
        Lower asymptote ``g`` of 3PL items, 0 for every other item.
    n_categories : ndarray of int, shape (n_items,)
        Number of response categories ``K`` (2 for dichotomous items).
    """

    names: tuple[str, ...]
    models: tuple[str, ...]
    slopes: np.ndarray
    intercepts: np.ndarray
    guessing: np.ndarray
    n_categories: np.ndarray

    def __post_init__(self) -> None:
        names = tuple(str(name) for name in self.names)
        models = tuple(self.models)
        n_items = len(names)
        slopes = np.array(self.slopes, dtype=np.float64).reshape(-1)
        n_categories = np.array(self.n_categories, dtype=np.int64).reshape(-1)
        intercepts = np.array(self.intercepts, dtype=np.float64)
        if intercepts.ndim == 1:
            intercepts = intercepts[:, None]
        guessing = np.array(self.guessing, dtype=np.float64).reshape(-1)
        if len(set(names)) != n_items:
            raise ValueError("Item names must be unique.")
        unknown = sorted(set(models) - ITEM_MODELS)
        if unknown:
            raise ValueError(
                f"Unknown item model(s) {unknown}; expected one of {sorted(ITEM_MODELS)}."
            )
        if len(models) != n_items or slopes.shape != (n_items,) or guessing.shape != (n_items,):
            raise ValueError("names, models, slopes and guessing must all have one entry per item.")
        if n_categories.shape != (n_items,) or np.any(n_categories < 2):
            raise ValueError("n_categories must give each item at least 2 categories.")
        width = int(n_categories.max(initial=2)) - 1
        if intercepts.shape != (n_items, width):
            raise ValueError(
                f"intercepts must have shape (n_items, max_categories - 1) = {(n_items, width)}; "
                f"got {intercepts.shape}."
            )
        for j, model in enumerate(models):
            if model in DICHOTOMOUS_MODELS and n_categories[j] != 2:
                raise ValueError(f"Item {names[j]!r} ({model}) must have 2 categories.")
            used = intercepts[j, : n_categories[j] - 1]
            if np.any(np.isnan(used)) or np.any(~np.isnan(intercepts[j, n_categories[j] - 1 :])):
                raise ValueError(
                    f"Item {names[j]!r} must have exactly {n_categories[j] - 1} intercepts "
                    "followed by NaN padding."
                )
            if model != "3PL" and guessing[j] != 0:
                raise ValueError(f"Item {names[j]!r} ({model}) cannot have a lower asymptote.")
            if not 0 <= guessing[j] < 1:
                raise ValueError(f"The lower asymptote of item {names[j]!r} must lie in [0, 1).")
        for attribute, value in (
            ("names", names),
            ("models", models),
            ("slopes", slopes),
            ("intercepts", intercepts),
            ("guessing", guessing),
            ("n_categories", n_categories),
        ):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, attribute, value)

    # ------------------------------------------------------------------ shape
    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.names)

    @property
    def max_categories(self) -> int:
        """Largest number of categories of any item."""
        return int(self.n_categories.max(initial=2))

    def _indices_of(self, models: frozenset[str]) -> np.ndarray:
        return np.flatnonzero([model in models for model in self.models])

    # ------------------------------------------------------------ probability
    def log_probabilities(self, theta: np.ndarray) -> np.ndarray:
        """Log category probabilities, shape ``(len(theta), n_items, max_categories)``.

        Computed in log space (``log σ``, log-sum-exp) so that extreme items keep full precision;
        ``−inf`` beyond an item's categories.
        """
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        out = np.full((theta.size, self.n_items, self.max_categories), -np.inf)
        dich = self._indices_of(DICHOTOMOUS_MODELS)
        if dich.size:
            z = theta[:, None] * self.slopes[dich] + self.intercepts[dich, 0]
            g = self.guessing[dich]
            with np.errstate(divide="ignore"):
                out[:, dich, 1] = np.logaddexp(np.log(g), np.log1p(-g) + log_expit(z))
            out[:, dich, 0] = np.log1p(-g) + log_expit(-z)
        grm = self._indices_of(frozenset({"GRM"}))
        if grm.size:
            z = theta[:, None, None] * self.slopes[grm, None] + self.intercepts[grm]
            out[:, grm, :] = grm_log_probabilities(z)
        gpcm = self._indices_of(frozenset({"GPCM"}))
        if gpcm.size:
            z = gpcm_logits(self.slopes[gpcm], self.intercepts[gpcm], theta)
            out[:, gpcm, :] = z - logsumexp(z, axis=2, keepdims=True)
        return out

    def probabilities(self, theta: np.ndarray) -> np.ndarray:
        """Category probabilities, shape ``(len(theta), n_items, max_categories)``.

        Zero beyond an item's categories; each item's row sums to 1.
        """
        return np.exp(self.log_probabilities(theta))

    def probability_derivatives(self, theta: np.ndarray) -> np.ndarray:
        """``∂P(X=k | θ)/∂θ``, shape ``(len(theta), n_items, max_categories)``.

        Dichotomous: ``±(1−g)·a·σ(1−σ)``; GRM: ``a·(w_k − w_{k+1})`` with ``w_k = P*_k(1 − P*_k)``;
        GPCM: ``a·P_k·(k − E[X | θ])``.
        """
        theta = np.asarray(theta, dtype=np.float64).reshape(-1)
        out = np.zeros((theta.size, self.n_items, self.max_categories))
        dich = self._indices_of(DICHOTOMOUS_MODELS)
        if dich.size:
            p = expit(theta[:, None] * self.slopes[dich] + self.intercepts[dich, 0])
            slope_term = (1 - self.guessing[dich]) * self.slopes[dich] * p * (1 - p)
            out[:, dich, 1] = slope_term
            out[:, dich, 0] = -slope_term
        grm = self._indices_of(frozenset({"GRM"}))
        if grm.size:
            z = theta[:, None, None] * self.slopes[grm, None] + self.intercepts[grm]
            star = np.nan_to_num(expit(z), nan=0.0)
            w = star * (1 - star)
            pad = np.zeros(w.shape[:-1] + (1,))
            w_ext = np.concatenate([pad, w, pad], axis=-1)
            out[:, grm, :] = self.slopes[grm, None] * (w_ext[..., :-1] - w_ext[..., 1:])
        gpcm = self._indices_of(frozenset({"GPCM"}))
        if gpcm.size:
            z = gpcm_logits(self.slopes[gpcm], self.intercepts[gpcm], theta)
            p = np.exp(z - logsumexp(z, axis=2, keepdims=True))
            scores = np.arange(self.max_categories, dtype=np.float64)
            mean = (p * scores).sum(axis=2, keepdims=True)
            out[:, gpcm, :] = self.slopes[gpcm, None] * p * (scores - mean)
        return out

    def information(self, theta: np.ndarray) -> np.ndarray:
        """Fisher item information ``I_j(θ) = Σ_k (∂P_k/∂θ)² / P_k``, shape ``(Q, n_items)``.

        For a 2PL item this is ``a²·P·(1−P)``; for a 3PL item
        ``a²·(1−g)²σ²(1−σ)² / (P·(1−P))`` (Lord, 1980, eq. 5-6 with D = 1).
        """
        p = self.probabilities(theta)
        dp = self.probability_derivatives(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, dp**2 / p, 0.0)
        return terms.sum(axis=2)

    def expected_score(self, theta: np.ndarray) -> np.ndarray:
        """Expected item score ``E[X_j | θ] = Σ_k k·P_jk(θ)``, shape ``(len(theta), n_items)``."""
        scores = np.arange(self.max_categories, dtype=np.float64)
        return self.probabilities(theta) @ scores

    def log_likelihood(self, responses: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Log-likelihood of each person's responses at each ``θ``, shape ``(n_persons, Q)``.

        ``log L_i(θ) = Σ_j log P_j(x_ij | θ)`` over the items person ``i`` answered; ``−1`` marks a
        missing or not-presented response and contributes nothing. Persons are processed in
        blocks, one matrix product per category, so no ``persons × items × θ`` array is formed.
        """
        responses = np.asarray(responses)
        if responses.ndim != 2 or responses.shape[1] != self.n_items:
            raise ValueError(
                f"responses must have shape (n_persons, {self.n_items}); got {responses.shape}."
            )
        log_p = self.log_probabilities(theta)
        tables = category_log_tables(log_p)
        out = np.empty((responses.shape[0], log_p.shape[0]))
        for start in range(0, responses.shape[0], _PERSON_CHUNK):
            block = responses[start : start + _PERSON_CHUNK]
            out[start : start + block.shape[0]] = indicator_products(block, tables)
        return out

    # ---------------------------------------------------------------- reports
    def irt_parameters(self, scaling: float = 1.0) -> pd.DataFrame:
        """Parameters in IRT (difficulty) form, one row per item.

        With scaling constant ``D`` the response function is written ``D·a*·(θ − b)``, so
        ``a* = a / D`` and ``b = −d / a`` (GRM: ``b_k = −d_k / a``; GPCM step difficulties
        ``b_v = −d_v / a``). ``D = 1`` (default) gives the logistic metric; ``D = 1.702`` the
        normal-ogive metric. Columns: ``item``, ``model``, ``a``, ``b`` (all items dichotomous) or
        ``b1 … b{K−1}`` (any polytomous item; a dichotomous item fills ``b1``), ``g``; the
        frame's ``attrs["scaling"]`` records ``D``.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            difficulties = -self.intercepts / self.slopes[:, None]
        frame = pd.DataFrame({"item": list(self.names), "model": list(self.models)})
        frame["a"] = self.slopes / scaling
        if self.max_categories == 2:
            frame["b"] = difficulties[:, 0]
        else:
            for k in range(difficulties.shape[1]):
                frame[f"b{k + 1}"] = difficulties[:, k]
        frame["g"] = self.guessing
        frame.attrs["scaling"] = scaling
        return frame

    @classmethod
    def from_irt(
        cls,
        a: Sequence[float] | np.ndarray,
        b: Sequence[Any] | np.ndarray,
        g: Sequence[float] | np.ndarray | None = None,
        *,
        models: Sequence[str] | str = "2PL",
        names: Sequence[str] | None = None,
        scaling: float = 1.0,
    ) -> ItemBank:
        """Build a bank from IRT-form parameters ``D·a·(θ − b)``.

        Parameters
        ----------
        a : array_like, shape (n_items,)
            Discriminations in the metric of ``scaling``.
        b : array_like, shape (n_items,) or (n_items, max_categories − 1)
            Difficulties (dichotomous) or thresholds / step difficulties, NaN-padded.
        g : array_like, optional
            Lower asymptotes (3PL items); zero elsewhere.
        models : str or sequence of str
            One model for all items or one per item.
        names : sequence of str, optional
            Defaults to ``item1 … itemJ``.
        scaling : float
            ``D`` (1 for the logistic metric, 1.702 for the normal-ogive metric).
        """
        slopes = np.asarray(a, dtype=np.float64).reshape(-1) * scaling
        difficulties = np.asarray(b, dtype=np.float64)
        if difficulties.ndim == 1:
            difficulties = difficulties[:, None]
        n_items = slopes.size
        model_list = [models] * n_items if isinstance(models, str) else list(models)
        guessing = np.zeros(n_items) if g is None else np.asarray(g, dtype=np.float64)
        n_categories = (~np.isnan(difficulties)).sum(axis=1) + 1
        width = int(n_categories.max()) - 1
        return cls(
            names=tuple(names) if names is not None else default_item_names(n_items),
            models=tuple(model_list),
            slopes=slopes,
            intercepts=-slopes[:, None] * difficulties[:, :width],
            guessing=guessing,
            n_categories=n_categories,
        )

    def subset(self, items: Sequence[str] | Sequence[int] | np.ndarray) -> ItemBank:
        """The bank restricted to ``items`` (names, integer positions or a boolean mask), in the
        order given."""
        selector = np.asarray(items)
        if selector.dtype == bool:
            index = np.flatnonzero(selector)
        elif selector.dtype.kind in "iu":
            index = selector.astype(np.int64)
        else:
            position = {name: j for j, name in enumerate(self.names)}
            missing = [str(name) for name in selector if str(name) not in position]
            if missing:
                raise KeyError(f"Items not in the bank: {missing}")
            index = np.array([position[str(name)] for name in selector], dtype=np.int64)
        n_categories = self.n_categories[index]
        width = int(n_categories.max(initial=2)) - 1
        return ItemBank(
            names=tuple(self.names[j] for j in index),
            models=tuple(self.models[j] for j in index),
            slopes=self.slopes[index],
            intercepts=self.intercepts[index, :width],
            guessing=self.guessing[index],
            n_categories=n_categories,
        )


def default_item_names(n_items: int) -> tuple[str, ...]:
    """``("item1", …, "item{n_items}")``: the names given to unnamed items."""
    return tuple(f"item{j + 1}" for j in range(n_items))


def category_log_tables(log_p: np.ndarray) -> np.ndarray:
    """Per-category log-probability tables ready for indicator products, shape ``(K, J, Q)``.

    Entry ``[k, j, q] = log P_jk(θ_q)``, with ``0`` (not ``−inf``) beyond an item's categories
    so that a zero indicator times the table stays zero.
    """
    tables = np.moveaxis(log_p, (0, 1, 2), (2, 1, 0))
    return np.ascontiguousarray(np.where(np.isneginf(tables), 0.0, tables))


def indicator_products(responses: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """``Σ_k 1(X = k) @ tables[k]`` for one block of persons, shape ``(n_persons, Q)``.

    One (persons × items) @ (items × nodes) product per category; ``−1`` responses match no
    category and so drop out.
    """
    out = np.zeros((responses.shape[0], tables.shape[2]))
    for k in range(tables.shape[0]):
        out += (responses == k).astype(np.float64) @ tables[k]
    return out
