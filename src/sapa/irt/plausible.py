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
        nodes = self._grid(bank, codes, x)
        grid = _PosteriorGrid(bank, codes, nodes, x)

        beta, variance = grid.start()
        trace: list[float] = []
        converged = False
        for _ in range(self.max_iter):
            mean, var, loglik = grid.moments(beta, variance)
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
        mean, var, loglik = grid.moments(beta, variance)
        trace.append(loglik)

        generator = as_generator(self.rng)
        if self.draw == "normal":
            draws = mean[:, None] + np.sqrt(var)[:, None] * generator.standard_normal(
                (mean.size, self.n_draws)
            )
        else:
            draws = grid.draws(beta, variance, self.n_draws, generator)

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

    def _grid(self, bank: ItemBank, codes: NDArray[np.int8], x: FloatArray) -> FloatArray:
        """Quadrature nodes spanning every person's conditional prior on the bank's scale."""
        # A quick standard-normal EAP pass locates the persons' posteriors on the bank's scale.
        coarse = np.linspace(-QUADRATURE_HALF_WIDTH, QUADRATURE_HALF_WIDTH, self.n_quad)
        weights, _ = _scaled_likelihood(bank, codes, coarse)
        weights *= norm.pdf(coarse)
        weights /= weights.sum(axis=1, keepdims=True)
        means, _ = posterior_moments(weights, coarse)
        fitted = x @ np.linalg.lstsq(x, means, rcond=None)[0]
        spread = QUADRATURE_HALF_WIDTH * max(float(np.std(means)), 1.0)
        return np.linspace(fitted.min() - spread, fitted.max() + spread, self.n_quad)

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


def _scaled_likelihood(
    bank: ItemBank, codes: NDArray[np.int8], nodes: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Each person's likelihood at the nodes divided by its largest value, and that value's log.

    Working with likelihoods scaled to a peak of 1 instead of log-likelihoods turns every EM
    cycle into products and one matrix product, with no ``exp`` or ``logsumexp`` over the
    persons × nodes table; the scaling keeps every person's peak representable however long
    the test.
    """
    likelihood = np.empty((codes.shape[0], nodes.size))
    log_scale = np.empty(codes.shape[0])
    for start in range(0, codes.shape[0], _CHUNK):
        block = slice(start, start + _CHUNK)
        log_likelihood = bank.log_likelihood(codes[block], nodes)
        log_scale[block] = log_likelihood.max(axis=1)
        np.exp(log_likelihood - log_scale[block, None], out=likelihood[block])
    return likelihood, log_scale


class _PosteriorGrid:
    """The fixed-item likelihood of every person over the nodes, and the posteriors it gives
    under a normal population model ``θ_i ~ N(x_i'β, σ²)`` discretised on the nodes.

    Persons with the same background row share one prior, so the normalised prior weights are
    computed once per distinct row (a handful of rows for categorical background variables).
    """

    def __init__(
        self, bank: ItemBank, codes: NDArray[np.int8], nodes: FloatArray, x: FloatArray
    ) -> None:
        self.nodes = nodes
        self.x = x
        self.likelihood, self.log_scale = _scaled_likelihood(bank, codes, nodes)
        self.patterns, self.pattern_of = np.unique(x, axis=0, return_inverse=True)
        self.powers = np.stack([np.ones_like(nodes), nodes, nodes**2], axis=1)

    def start(self) -> tuple[FloatArray, float]:
        """Starting values: the regression of flat-prior posterior means on the background."""
        weights = self.likelihood / self.likelihood.sum(axis=1, keepdims=True)
        mean, _ = posterior_moments(weights, self.nodes)
        beta: FloatArray = np.linalg.lstsq(self.x, mean, rcond=None)[0].astype(np.float64)
        return beta, max(float(np.var(mean - self.x @ beta)), 0.1)

    def _prior(self, beta: FloatArray, variance: float) -> tuple[FloatArray, FloatArray]:
        """Each person's prior weights over the nodes, scaled to a peak of 1, and the log of the
        scale (the normalised log-weight at the peak)."""
        means = self.patterns @ beta
        log_weights = -0.5 * (self.nodes[None, :] - means[:, None]) ** 2 / variance
        log_weights -= logsumexp(log_weights, axis=1, keepdims=True)
        peak = log_weights.max(axis=1)
        weights = np.exp(log_weights - peak[:, None])
        return weights[self.pattern_of], peak[self.pattern_of]

    def moments(self, beta: FloatArray, variance: float) -> tuple[FloatArray, FloatArray, float]:
        """Posterior means and variances, and the marginal log-likelihood."""
        prior, log_peak = self._prior(beta, variance)
        sums = (self.likelihood * prior) @ self.powers
        marginal = sums[:, 0]
        mean = sums[:, 1] / marginal
        var = np.maximum(sums[:, 2] / marginal - mean**2, 0.0)
        loglik = float(np.sum(np.log(marginal) + self.log_scale + log_peak))
        return mean, var, loglik

    def draws(
        self, beta: FloatArray, variance: float, n_draws: int, generator: np.random.Generator
    ) -> FloatArray:
        """Inverse-CDF draws from the discrete posterior, spread uniformly within each node's
        cell."""
        prior, _ = self._prior(beta, variance)
        cumulative = np.cumsum(self.likelihood * prior, axis=1)
        cumulative /= cumulative[:, -1:]
        # Offsetting row i by i makes the stacked rows one increasing sequence: one global search.
        offsets = np.arange(cumulative.shape[0], dtype=np.float64)[:, None]
        targets = generator.random((cumulative.shape[0], n_draws)) + offsets
        flat = np.searchsorted((cumulative + offsets).ravel(), targets.ravel())
        picked = np.minimum(
            flat.reshape(targets.shape) - (offsets * self.nodes.size).astype(np.int64),
            self.nodes.size - 1,
        )
        step = self.nodes[1] - self.nodes[0]
        return self.nodes[picked] + step * (generator.random(picked.shape) - 0.5)


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
