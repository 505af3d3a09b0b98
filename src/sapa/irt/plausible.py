"""Plausible values: posterior draws of θ under a latent-regression population model.

Large-scale assessments (NAEP, PISA, TIMSS) report group statistics from plausible values rather
than from point estimates, because point estimates are biased for group comparisons: EAP scores
shrink every person toward the *overall* prior mean, so differences between groups are
understated, and ML/WLE scores carry measurement error that inflates variances. Plausible values
drawn from each person's posterior under a population model that includes the grouping
(background) variables reproduce group means, differences and variances without these biases
(Mislevy, 1991).

Analyses of plausible values combine the ``M`` draws with Rubin's rules; that is done by the
indicators layer, not here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import logsumexp
from scipy.stats import norm

from sapa._random import RandomLike, as_generator
from sapa._validation import Interval, validate_params
from sapa.errors import ConvergenceWarning, DataValidationError, NotFittedError, Problem
from sapa.irt.models import ItemBank
from sapa.irt.score import QUADRATURE_HALF_WIDTH, posterior_moments, response_matrix

__all__ = ["PlausibleValues"]

FloatArray = NDArray[np.float64]

#: Persons per block when the fixed-item log-likelihood over the nodes is tabulated.
_CHUNK = 10_000


class PlausibleValues:
    """Draw plausible values from the posterior of θ under a latent regression.

    The population model is ``θ_i ~ N(x_i'β, σ²)`` given background variables ``x_i`` (with an
    intercept); item parameters are held fixed at the bank's values. ``β`` and ``σ²`` are
    estimated by marginal maximum likelihood with the EM algorithm over a fixed quadrature grid,
    then ``n_draws`` values per person are drawn from each person's posterior
    ``p(θ | responses_i, x_i) ∝ L_i(θ) φ((θ − x_i'β̂)/σ̂)``.

    Parameters
    ----------
    n_draws : int, default 5
        Plausible values per person (5 in PISA up to 2012 and NAEP; 10 in PISA since 2015).
    n_quad : int, default 61
        Equally spaced quadrature nodes spanning every person's conditional prior (``±6 σ``
        around the smallest and largest ``x'β`` of the starting values).
    max_iter : int, default 500
        Maximum EM cycles.
    tol : float, default 1e-6
        EM stops when no coefficient and not ``σ²`` changes by more than ``tol`` in a cycle.
    draw : {"normal", "grid"}, default "normal"
        ``"normal"``: draw from ``N(posterior mean, posterior variance)``, the normal
        approximation NAEP uses (von Davier, Gonzalez & Mislevy, 2009) and mirt's default.
        ``"grid"``: draw a node from the discrete posterior and spread it uniformly over the
        node's cell (adds ``h²/12`` variance for node spacing ``h``), which keeps the skewness of
        the posterior of short tests.
    rng : int, numpy.random.Generator or None
        Source of randomness for the draws.

    Attributes
    ----------
    values_ : DataFrame of shape (n_persons, n_draws)
        Columns ``PV1 … PVM``, indexed like the responses.
    coef_ : Series
        ``β̂``; index ``"Intercept"`` and the design columns (categorical background variables are
        coded as indicators with the first level as reference, named ``"<column>_<level>"``).
    residual_var_ : float
        ``σ̂²``, the variance of θ not explained by the background variables.
    posterior_mean_, posterior_sd_ : ndarray of shape (n_persons,)
        Moments of each person's posterior under the fitted population model (EAP scores
        conditional on the background).
    loglik_ : float
        Marginal log-likelihood at the estimates; ``loglik_trace_`` gives every cycle's value (EM
        never decreases it).
    n_iter_ : int
    converged_ : bool

    Notes
    -----
    E-step: with the prior weights ``w_iq ∝ φ((θ_q − x_i'β)/σ)`` normalised over the nodes, the
    posterior weights are ``π_iq ∝ L_i(θ_q) w_iq``, giving posterior means ``m_i`` and variances
    ``v_i``. M-step: ``β = (X'X)⁻¹X'm`` and ``σ² = n⁻¹ Σ_i [(m_i − x_i'β)² + v_i]`` (Mislevy, 1985).
    The uncertainty of ``β̂`` itself is not propagated into the draws (TAM's ``tam.pv`` default);
    with large samples it is negligible beside the measurement error.

    References
    ----------
    Mislevy, R. J. (1985). Estimation of latent group effects. *Journal of the American Statistical
    Association*, 80(392), 993–997.
    Mislevy, R. J. (1991). Randomization-based inference about latent variables from complex
    samples. *Psychometrika*, 56(2), 177–196.
    von Davier, M., Gonzalez, E., & Mislevy, R. J. (2009). What are plausible values and why are
    they useful? *IERI Monograph Series*, 2, 9–36.
    """

    _parameter_constraints: dict[str, Any] = {
        "n_draws": Interval(int, 1, None),
        "n_quad": Interval(int, 5, 401),
        "max_iter": Interval(int, 1, None),
        "tol": Interval(float, 0, None, closed="neither"),
        "draw": {"normal", "grid"},
        "rng": [None, Interval(int, 0, None), np.random.Generator],
    }

    def __init__(
        self,
        *,
        n_draws: int = 5,
        n_quad: int = 61,
        max_iter: int = 500,
        tol: float = 1e-6,
        draw: str = "normal",
        rng: RandomLike = None,
    ) -> None:
        self.n_draws = n_draws
        self.n_quad = n_quad
        self.max_iter = max_iter
        self.tol = tol
        self.draw = draw
        self.rng = rng

    def fit(
        self, bank: ItemBank, responses: object, background: pd.DataFrame | None = None
    ) -> PlausibleValues:
        """Estimate the population model and draw the plausible values.

        Parameters
        ----------
        bank : ItemBank
            Fixed item parameters.
        responses : array_like or DataFrame of shape (n_persons, n_items)
            Category codes, ``−1``/NaN for missing.
        background : DataFrame, optional
            One row per person (aligned by index when ``responses`` is a DataFrame with the same
            labels, else by position). Numeric and boolean columns enter as they are; other
            columns as indicators of their levels. ``None`` fits only a mean and variance.

        Returns
        -------
        self

        Raises
        ------
        DataValidationError
            Missing background values, misaligned rows or a rank-deficient design.
        """
        validate_params(type(self).__name__, self._parameter_constraints, vars(self))
        codes, index = response_matrix(bank, responses)
        design = _design_matrix(background, index)
        x = design.to_numpy(dtype=np.float64)
        log_likelihood = np.empty((codes.shape[0], self.n_quad))
        nodes = self._grid(bank, codes, x, log_likelihood)

        beta, variance = self._start(x, nodes, log_likelihood)
        trace: list[float] = []
        converged = False
        for _ in range(self.max_iter):
            mean, var, loglik = _e_step(log_likelihood, nodes, x @ beta, variance)
            trace.append(loglik)
            new_beta = np.linalg.lstsq(x, mean, rcond=None)[0]
            new_variance = float(np.mean((mean - x @ new_beta) ** 2 + var))
            change = max(np.max(np.abs(new_beta - beta)), abs(new_variance - variance))
            beta, variance = new_beta, new_variance
            if change <= self.tol:
                converged = True
                break
        if not converged:
            warnings.warn(
                f"Latent-regression EM did not converge in {self.max_iter} cycles (max change "
                f"{change:.2e} > tol {self.tol:.0e}). Increase max_iter or drop near-collinear "
                "background variables.",
                ConvergenceWarning,
                stacklevel=2,
            )
        n_iter = len(trace)
        mean, var, loglik = _e_step(log_likelihood, nodes, x @ beta, variance)
        trace.append(loglik)

        generator = as_generator(self.rng)
        if self.draw == "normal":
            draws = mean[:, None] + np.sqrt(var)[:, None] * generator.standard_normal(
                (mean.size, self.n_draws)
            )
        else:
            draws = _grid_draws(log_likelihood, nodes, x @ beta, variance, self.n_draws, generator)

        self.values_ = pd.DataFrame(
            draws, index=index, columns=[f"PV{m + 1}" for m in range(self.n_draws)]
        )
        self.coef_ = pd.Series(beta, index=design.columns, name="coef")
        self.residual_var_ = variance
        self.posterior_mean_ = mean
        self.posterior_sd_ = np.sqrt(var)
        self.loglik_ = loglik
        self.loglik_trace_ = np.array(trace)
        self.n_iter_ = n_iter
        self.converged_ = converged
        self.nodes_ = nodes
        return self

    def _grid(
        self,
        bank: ItemBank,
        codes: NDArray[np.int8],
        x: FloatArray,
        out: FloatArray,
    ) -> FloatArray:
        """Choose the quadrature nodes and fill ``out`` with the log-likelihood at them."""
        # A quick standard-normal EAP pass locates the persons' posteriors on the bank's scale.
        coarse = np.linspace(-QUADRATURE_HALF_WIDTH, QUADRATURE_HALF_WIDTH, self.n_quad)
        log_prior = norm.logpdf(coarse)
        means = np.empty(codes.shape[0])
        for start in range(0, codes.shape[0], _CHUNK):
            block = slice(start, start + _CHUNK)
            log_joint = bank.log_likelihood(codes[block], coarse) + log_prior
            weights = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
            means[block] = weights @ coarse
        fitted = x @ np.linalg.lstsq(x, means, rcond=None)[0]
        spread = QUADRATURE_HALF_WIDTH * max(float(np.std(means)), 1.0)
        nodes = np.linspace(fitted.min() - spread, fitted.max() + spread, self.n_quad)
        for start in range(0, codes.shape[0], _CHUNK):
            block = slice(start, start + _CHUNK)
            out[block] = bank.log_likelihood(codes[block], nodes)
        return nodes

    @staticmethod
    def _start(
        x: FloatArray, nodes: FloatArray, log_likelihood: FloatArray
    ) -> tuple[FloatArray, float]:
        """Starting values: the regression of flat-prior posterior means on the background."""
        weights = np.exp(log_likelihood - logsumexp(log_likelihood, axis=1, keepdims=True))
        mean, _ = posterior_moments(weights, nodes)
        beta = np.linalg.lstsq(x, mean, rcond=None)[0]
        return beta, max(float(np.var(mean - x @ beta)), 0.1)

    @property
    def _fitted(self) -> bool:
        return hasattr(self, "values_")

    def summary(self) -> pd.DataFrame:
        """Coefficients of the population model with ``residual_var`` as the last row."""
        if not self._fitted:
            raise NotFittedError("This PlausibleValues instance is not fitted yet; call fit().")
        return pd.concat(
            [self.coef_, pd.Series({"residual_var": self.residual_var_}, name="coef")]
        ).to_frame()


def _e_step(
    log_likelihood: FloatArray, nodes: FloatArray, prior_mean: FloatArray, variance: float
) -> tuple[FloatArray, FloatArray, float]:
    """Posterior means, variances and the marginal log-likelihood under ``N(prior_mean, σ²)``."""
    log_prior = _log_prior_weights(nodes, prior_mean, variance)
    log_joint = log_likelihood + log_prior
    log_marginal = logsumexp(log_joint, axis=1)
    weights = np.exp(log_joint - log_marginal[:, None])
    mean, sd = posterior_moments(weights, nodes)
    return mean, sd**2, float(log_marginal.sum())


def _log_prior_weights(nodes: FloatArray, prior_mean: FloatArray, variance: float) -> FloatArray:
    """Per-person normal prior over the nodes, normalised to sum to 1 (shape persons × nodes)."""
    log_density = norm.logpdf(nodes[None, :], prior_mean[:, None], np.sqrt(variance))
    return log_density - logsumexp(log_density, axis=1, keepdims=True)


def _grid_draws(
    log_likelihood: FloatArray,
    nodes: FloatArray,
    prior_mean: FloatArray,
    variance: float,
    n_draws: int,
    generator: np.random.Generator,
) -> FloatArray:
    """Inverse-CDF draws from the discrete posterior, spread uniformly within each node's cell."""
    log_joint = log_likelihood + _log_prior_weights(nodes, prior_mean, variance)
    weights = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    cumulative = np.cumsum(weights, axis=1)
    cumulative /= cumulative[:, -1:]
    # Offsetting row i by i makes the stacked rows one increasing sequence: one global search.
    offsets = np.arange(weights.shape[0], dtype=np.float64)[:, None]
    targets = generator.random((weights.shape[0], n_draws)) + offsets
    flat = np.searchsorted((cumulative + offsets).ravel(), targets.ravel())
    picked = np.minimum(
        flat.reshape(targets.shape) - (offsets * nodes.size).astype(np.int64), nodes.size - 1
    )
    step = nodes[1] - nodes[0]
    return nodes[picked] + step * (generator.random(picked.shape) - 0.5)


def _design_matrix(background: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame:
    """Intercept plus background variables, one row per person in the responses' order."""
    intercept = pd.DataFrame({"Intercept": np.ones(len(index))}, index=index)
    if background is None:
        return intercept
    if not isinstance(background, pd.DataFrame):
        raise DataValidationError("background must be a pandas DataFrame or None.")
    if len(background) != len(index):
        raise DataValidationError(
            f"background has {len(background)} rows but the responses have {len(index)} persons."
        )
    if not background.index.equals(index):
        same_labels = background.index.is_unique and set(background.index) == set(index)
        background = (
            background.reindex(index) if same_labels else background.set_axis(index, axis=0)
        )
    problems = [
        Problem(
            "<background>",
            int(np.flatnonzero(background[column].isna().to_numpy())[0]) + 2,
            str(column),
            f"{int(background[column].isna().sum())} missing value(s)",
        )
        for column in background.columns
        if background[column].isna().any()
    ]
    if problems:
        raise DataValidationError(problems)
    categorical = [
        column
        for column in background.columns
        if not (
            pd.api.types.is_numeric_dtype(background[column])
            or pd.api.types.is_bool_dtype(background[column])
        )
    ]
    coded = pd.get_dummies(background, columns=categorical, drop_first=True, dtype=np.float64)
    design = pd.concat([intercept, coded.astype(np.float64)], axis=1)
    if np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        raise DataValidationError(
            Problem(
                "<background>",
                None,
                None,
                "the background design (intercept plus variables) is rank-deficient: drop "
                f"constant or collinear columns among {list(coded.columns)}",
            )
        )
    return design
