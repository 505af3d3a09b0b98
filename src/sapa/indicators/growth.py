"""Student growth percentiles (Betebenner 2009) and the median growth of schools and areas.

A pupil's student growth percentile (SGP) says how their current score ranks among pupils who
started from the same prior attainment: an SGP of 70 means they scored higher than about 70% of
their academic peers. :class:`GrowthPercentiles` estimates the conditional quantiles of the
current score given the prior score(s) by linear quantile regression on a B-spline basis, one
regression per percentile, run in parallel over worker processes.
:func:`student_growth_percentiles` gives every pupil's SGP and :func:`growth_indicators` the
median SGP of each school, district, region and the nation.

Notes
-----
**Conditional quantiles.** For each percentile ``τ = 0.01, 0.02, …, 0.99`` the ``τ``-th
conditional quantile of the current score ``y`` given prior scores ``x_1 … x_m`` is modelled as

    Q_y(τ | x) = β_0(τ) + Σ_l Σ_b β_lb(τ) B_b(x_l),

with ``B_b`` the B-spline basis of degree 3 (cubic) on knots at the 20th, 40th, 60th and 80th
percentiles of each prior score and boundary knots at its range extended by 10% on each side,
as in the SGP package (Betebenner et al. 2024, ``createKnotsBoundaries``). The first basis
function is dropped, since the basis sums to one and the intercept is kept. Prior scores beyond
the boundaries when predicting are clamped to them. ``β(τ)`` minimises the check loss
``Σ_i ρ_τ(y_i − x_i'β)``, ``ρ_τ(u) = u (τ − 1{u < 0})`` (Koenker & Bassett 1978).

**Solver.** Each regression is the linear programme ``max y'a`` subject to ``X'a = (1 − τ) X'1``
and ``0 ≤ a ≤ 1`` (the dual of the check-loss problem), solved by the Frisch–Newton
primal–dual interior-point method with Mehrotra's predictor–corrector steps (Portnoy & Koenker
1997; Koenker 2005, ch. 6); ``β`` is the negated dual solution. Each iteration solves a
``p × p`` system ``X'QX`` for ``p`` coefficients (through its eigen-decomposition, which stays
usable when rows carrying almost no weight leave it singular in floating point) and costs
``O(n p²)``. Iterations stop when the
duality gap is below ``tol × (1 + |objective|)``; the fitted quantiles then equal an exact
simplex solution to about 10⁻⁸. For large ``n`` the problem is first shrunk by Portnoy and
Koenker's (1997) preprocessing: a subsample of ``m = ((p + 1) n)^{2/3}`` pupils locates the
quantile, pupils clearly above or below it are collapsed into two "globs", and the reduced
problem (about ``m`` rows) is solved; a check that every globbed pupil lies on its glob's side
proves the solution exact for the full problem, and pupils that fail it are put back. A national
cohort of 350,000 pupils then takes a fraction of a second per percentile. The subsample is
systematic (every ``n/m``-th pupil), so results are deterministic. The 99 regressions are
independent and run in ``n_jobs`` worker processes; the solver's matrix products use numpy's
own loops (``einsum``), not multithreaded BLAS, so each worker keeps to one core.

**Rearrangement.** Separately fitted quantile curves can cross, most often in the tails. The
fitted quantiles of each pupil are sorted over ``τ``, which is the monotone rearrangement of
Chernozhukov, Fernández-Val & Galichon (2010); it never increases the estimation error.

**The SGP rule.** With ``q̂_1 ≤ … ≤ q̂_99`` the rearranged fitted quantiles of pupil ``i``,

    SGP_i = max(1, #{k : q̂_k < y_i}),

the number of fitted conditional percentiles strictly below the pupil's score, with 0 (a score
below the fitted 1st percentile) reported as 1, so SGPs run from 1 to 99 as in the SGP package
(``convert.0and100``). A fitted quantile passes exactly through ``p`` pupils' scores (a
regression quantile interpolates ``p`` observations), which the solver reproduces only to
rounding, so a quantile within ``10⁻⁶`` standard deviations of the current scores below a score
counts as equal to it, not below. The count does not depend on the order of the ``q̂_k``, so
the rule gives the same SGP with or without rearrangement. Under a correctly specified model
the count is uniform on ``0 … 99``: SGPs 1–9, 10–19, …, 90–99 each hold 10% of pupils.

**Median SGP of a unit.** The median of its pupils' SGPs (the mean of the two middle values for
an even count), with the distribution-free confidence interval for a median from order
statistics: ``[SGP_(l), SGP_(n+1−l)]`` with ``l`` the ``α/2`` quantile of Binomial(n, ½)
(at least 1), whose coverage is at least ``1 − α`` (Conover 1999, §3.2). It reflects the
sampling of pupils only; no standard error is given.

References
----------
Betebenner, D. W. (2009). Norm- and criterion-referenced student growth. *Educational
Measurement: Issues and Practice* 28(4), 42–51.
Betebenner, D. W., VanIwaarden, A., Domingue, B. & Shang, Y. (2024). *SGP: Student Growth
Percentiles & Percentile Growth Trajectories* (R package).
Chernozhukov, V., Fernández-Val, I. & Galichon, A. (2010). Quantile and probability curves
without crossing. *Econometrica* 78, 1093–1125.
Conover, W. J. (1999). *Practical Nonparametric Statistics* (3rd ed.). Wiley.
Koenker, R. (2005). *Quantile Regression*. Cambridge University Press.
Koenker, R. & Bassett, G. (1978). Regression quantiles. *Econometrica* 46, 33–50.
Portnoy, S. & Koenker, R. (1997). The Gaussian hare and the Laplacian tortoise: computability
of squared-error versus absolute-error estimators. *Statistical Science* 12, 279–300.
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import interpolate, linalg, stats

from sapa._estimator import Estimator
from sapa._validation import Interval, described, validate_params
from sapa.errors import ConvergenceWarning, DataValidationError
from sapa.indicators._table import LEVELS, MIN_CELL, Units, indicator_table, suppress

__all__ = ["PERCENTILES", "GrowthPercentiles", "growth_indicators", "student_growth_percentiles"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

PERCENTILES = np.arange(1, 100)
"""The conditional percentiles estimated, 1 … 99 (``τ = PERCENTILES / 100``)."""

_STEP_SHRINK = 0.9995
"""Fraction of the distance to the boundary an interior-point step may go."""
_TIE_TOLERANCE = 1e-6
"""A fitted quantile this many standard deviations of the current score (or less) below a score
counts as tied with it."""
_PREDICT_BLOCK = 16384
"""Pupils per block when predicting, bounding memory at ``_PREDICT_BLOCK × 99`` values."""


@described("an increasing sequence of numbers strictly between 0 and 1")
def _is_knot_quantiles(value: Any) -> bool:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        return False
    try:
        quantiles = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return (
        quantiles.ndim == 1
        and bool(np.all((quantiles > 0) & (quantiles < 1)))
        and bool(np.all(np.diff(quantiles) > 0))
    )


class GrowthPercentiles(Estimator):
    """Conditional percentiles of a current score given prior score(s), for growth percentiles.

    Parameters
    ----------
    knot_quantiles : sequence of float, default (0.2, 0.4, 0.6, 0.8)
        Interior knots of each prior score's B-spline basis, as quantiles of that score.
    degree : int, default 3
        Degree of the B-splines (3: cubic).
    boundary_extension : float, default 0.1
        Boundary knots lie this fraction of the prior score's range beyond its minimum and
        maximum.
    n_jobs : int, default 1
        Worker processes for the 99 quantile regressions; 1 runs them in this process. Workers
        are started with the "spawn" method (safe on every platform and with threads), so a
        script calling this with ``n_jobs > 1`` must guard its entry point with
        ``if __name__ == "__main__":``.
    tol : float, default 1e-10
        Relative duality gap at which a quantile regression stops.
    max_iter : int, default 200
        Maximum interior-point iterations per quantile regression.

    Attributes
    ----------
    knots_ : list of ndarray
        Interior knots of each prior score.
    boundaries_ : ndarray of shape (m, 2)
        Boundary knots of each prior score.
    coef_ : ndarray of shape (99, p)
        Coefficients of each percentile's regression: intercept, then each prior's basis.
    n_iter_ : ndarray of shape (99,)
        Interior-point iterations of each regression.
    converged_ : bool
        Whether every regression met ``tol``.
    tie_tolerance_ : float
        ``10⁻⁶`` × the standard deviation of the current scores: a fitted quantile at most this
        far below a score counts as tied with it.

    See Also
    --------
    student_growth_percentiles : every pupil's SGP from pupil tables.

    Notes
    -----
    See :mod:`sapa.indicators.growth` for the model, the solver and the SGP rule.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> prior = rng.standard_normal(4000)
    >>> current = 0.7 * prior + np.sqrt(0.51) * rng.standard_normal(4000)
    >>> model = GrowthPercentiles().fit(prior, current)
    >>> sgp = model.growth_percentiles(prior, current)
    >>> int(sgp.min()), int(sgp.max()), bool(45 <= np.median(sgp) <= 55)
    (1, 99, True)
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "knot_quantiles": [_is_knot_quantiles],
        "degree": Interval(int, 1, 5),
        "boundary_extension": Interval(float, 0.0, None),
        "n_jobs": Interval(int, 1, None),
        "tol": Interval(float, 0.0, None, closed="neither"),
        "max_iter": Interval(int, 1, None),
    }

    def __init__(
        self,
        *,
        knot_quantiles: Sequence[float] = (0.2, 0.4, 0.6, 0.8),
        degree: int = 3,
        boundary_extension: float = 0.1,
        n_jobs: int = 1,
        tol: float = 1e-10,
        max_iter: int = 200,
    ) -> None:
        self.knot_quantiles = knot_quantiles
        self.degree = degree
        self.boundary_extension = boundary_extension
        self.n_jobs = n_jobs
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, prior: ArrayLike, current: ArrayLike) -> GrowthPercentiles:
        """Estimate the 99 conditional percentiles of ``current`` given ``prior``.

        Parameters
        ----------
        prior : array_like of shape (n,) or (n, m)
            Prior score(s) of each pupil, one column per prior.
        current : array_like of shape (n,)
            Current score of each pupil.

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            A constructor argument is out of range.
        DataValidationError
            For non-finite values, mismatched lengths, too few pupils or a prior score with
            too few distinct values for its basis.
        """
        validate_params(type(self).__name__, self._parameter_constraints, vars(self))
        x = _prior_matrix(prior)
        y = np.asarray(current, dtype=np.float64)
        if y.shape != (x.shape[0],) or not np.isfinite(y).all():
            raise DataValidationError(
                f"current must hold one finite score per pupil ({x.shape[0]}); got shape {y.shape}"
            )
        quantiles = np.asarray(self.knot_quantiles, dtype=np.float64)
        self.knots_ = [np.quantile(column, quantiles) for column in x.T]
        low, high = x.min(axis=0), x.max(axis=0)
        spread = self.boundary_extension * (high - low)
        self.boundaries_ = np.column_stack([low - spread, high + spread])
        design = self._design(x)
        if design.shape[0] <= design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
            raise DataValidationError(
                f"the spline design of the prior score(s) is rank-deficient or has too few "
                f"pupils ({design.shape[0]} pupils, {design.shape[1]} coefficients): each prior "
                "needs more distinct values than knots"
            )
        taus = PERCENTILES / 100.0
        chunks = [np.arange(start, len(taus), self.n_jobs) for start in range(self.n_jobs)]
        coef = np.empty((len(taus), design.shape[1]))
        n_iter = np.empty(len(taus), dtype=np.int64)
        converged = np.empty(len(taus), dtype=bool)
        if self.n_jobs == 1:
            parts = [_fit_quantiles(design, y, taus, self.tol, self.max_iter)]
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=self.n_jobs, mp_context=context) as pool:
                futures = [
                    pool.submit(_fit_quantiles, design, y, taus[chunk], self.tol, self.max_iter)
                    for chunk in chunks
                ]
                parts = [future.result() for future in futures]
        for chunk, (part_coef, part_iter, part_converged) in zip(chunks, parts, strict=True):
            coef[chunk], n_iter[chunk], converged[chunk] = part_coef, part_iter, part_converged
        self.coef_ = coef
        self.tie_tolerance_ = _TIE_TOLERANCE * float(y.std())
        self.n_iter_ = n_iter
        self.converged_ = bool(converged.all())
        if not self.converged_:
            failed = ", ".join(str(p) for p in PERCENTILES[~converged])
            warnings.warn(
                f"The quantile regressions of percentile(s) {failed} did not converge in "
                f"{self.max_iter} iterations (tol {self.tol:.0e}). Increase max_iter, or check "
                "the scores for extreme outliers.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def conditional_quantiles(self, prior: ArrayLike, *, rearrange: bool = True) -> FloatArray:
        """The fitted 1st … 99th conditional percentiles of the current score at ``prior``.

        Parameters
        ----------
        prior : array_like of shape (n,) or (n, m)
            Prior score(s), as in :meth:`fit`.
        rearrange : bool, default True
            Sort each pupil's quantiles (monotone rearrangement), so curves never cross.

        Returns
        -------
        ndarray of shape (n, 99)
        """
        fitted = self._design(self._checked_prior(prior)) @ self.coef_.T
        return np.sort(fitted, axis=1) if rearrange else fitted

    def growth_percentiles(self, prior: ArrayLike, current: ArrayLike) -> IntArray:
        """Each pupil's SGP, ``max(1, #{k : q̂_k < current})`` (see the module Notes for ties).

        Parameters
        ----------
        prior : array_like of shape (n,) or (n, m)
            Prior score(s), as in :meth:`fit`.
        current : array_like of shape (n,)
            Current scores.

        Returns
        -------
        ndarray of int64, shape (n,)
            SGPs from 1 to 99.
        """
        x = self._checked_prior(prior)
        y = np.asarray(current, dtype=np.float64)
        if y.shape != (x.shape[0],):
            raise DataValidationError(
                f"current must hold one score per pupil ({x.shape[0]}); got shape {y.shape}"
            )
        counts = np.empty(len(y), dtype=np.int64)
        for start in range(0, len(y), _PREDICT_BLOCK):
            rows = slice(start, start + _PREDICT_BLOCK)
            fitted = self._design(x[rows]) @ self.coef_.T
            counts[rows] = (fitted < y[rows, None] - self.tie_tolerance_).sum(axis=1)
        return np.maximum(counts, 1)

    def _checked_prior(self, prior: ArrayLike) -> FloatArray:
        x = _prior_matrix(prior)
        if x.shape[1] != len(self.knots_):
            raise DataValidationError(
                f"the model was fitted on {len(self.knots_)} prior score(s); got {x.shape[1]}"
            )
        return x

    def _design(self, x: FloatArray) -> FloatArray:
        """Intercept and each prior's B-spline basis (first function dropped)."""
        columns = [np.ones((x.shape[0], 1))]
        for column, knots, (low, high) in zip(x.T, self.knots_, self.boundaries_, strict=True):
            vector = np.concatenate(
                [np.full(self.degree + 1, low), knots, np.full(self.degree + 1, high)]
            )
            clamped = np.clip(column, low, high)
            basis = interpolate.BSpline.design_matrix(clamped, vector, self.degree)
            columns.append(basis.toarray()[:, 1:])
        return np.hstack(columns)


def _prior_matrix(prior: ArrayLike) -> FloatArray:
    x = np.asarray(prior, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] == 0 or not np.isfinite(x).all():
        raise DataValidationError(
            f"prior must be finite scores of shape (n,) or (n, m); got shape {x.shape}"
        )
    return x


def _fit_quantiles(
    x: FloatArray, y: FloatArray, taus: FloatArray, tol: float, max_iter: int
) -> tuple[FloatArray, IntArray, NDArray[np.bool_]]:
    """Quantile regressions of ``y`` on ``x`` at each of ``taus`` (one worker's share)."""
    results = [_quantile_regression(x, y, float(tau), tol, max_iter) for tau in taus]
    return (
        np.array([r[0] for r in results]).reshape(len(taus), x.shape[1]),
        np.array([r[1] for r in results], dtype=np.int64),
        np.array([r[2] for r in results], dtype=bool),
    )


def _gram(x: FloatArray, q: FloatArray) -> FloatArray:
    """``X' diag(q) X``."""
    return np.einsum("ni,nj->ij", x * q[:, None], x)


def _tmul(x: FloatArray, v: FloatArray) -> FloatArray:
    """``X'v``."""
    return np.einsum("ni,n->i", x, v)


def _pinv(gram: FloatArray) -> FloatArray:
    """Pseudo-inverse of a symmetric positive semi-definite ``p × p`` matrix.

    Eigenvalues below ``p ε λ_max`` count as zero: near the solution some rows carry almost no
    weight in ``X'QX``, and a basis function seen by few pupils can leave it singular in
    floating point, where a Cholesky factorisation would fail.
    """
    values, vectors = linalg.eigh(gram)
    keep = values > values[-1] * len(values) * np.finfo(float).eps
    return (vectors[:, keep] / values[keep]) @ vectors[:, keep].T


def _dot(u: FloatArray, v: FloatArray) -> float:
    """``u'v``."""
    return float(np.einsum("n,n->", u, v))


def _mul(x: FloatArray, b: FloatArray) -> FloatArray:
    """``X b`` for a vector or a matrix ``b``."""
    return np.einsum("ni,i...->n...", x, b)


def _step(
    first: FloatArray, d_first: FloatArray, second: FloatArray, d_second: FloatArray
) -> float:
    """The longest step ``≤ 1`` keeping both (positive) vectors positive, shrunk by
    ``_STEP_SHRINK``: ``v + t·dv ≥ 0`` for ``t ≤ −1/min(dv/v)`` when that minimum is negative."""
    worst = min(float((d_first / first).min()), float((d_second / second).min()))
    return 1.0 if worst >= 0.0 else min(-_STEP_SHRINK / worst, 1.0)


def _quantile_regression(
    x: FloatArray, y: FloatArray, tau: float, tol: float, max_iter: int
) -> tuple[FloatArray, int, bool]:
    """Regression quantile ``τ`` of ``y`` on ``x``, with Portnoy–Koenker preprocessing.

    A subsample of ``m = ((p + 1) n)^{2/3}`` rows (every ``n/m``-th) gives a first estimate;
    rows whose residual lies clearly below or above the ``τ``-quantile band are each collapsed
    into one "glob" row (the sums of their ``x`` and ``y``) and the reduced problem is solved.
    When every globbed row keeps the sign of its glob, the reduced solution solves the full
    problem exactly (the check loss is linear on each side of 0 and subadditive); otherwise
    the wrongly globbed rows are put back (up to three times, while they are fewer than 10% of
    the band) or ``m`` is doubled (Portnoy & Koenker 1997; Koenker 2005, ch. 6). Returns the
    coefficients, the interior-point iterations of every solve and whether each converged.
    """
    n, p = x.shape
    size = round(((p + 1) * n) ** (2.0 / 3.0))
    iterations, converged = 0, True
    while 2 * size < n:
        sample = np.linspace(0, n - 1, size).round().astype(np.intp)
        beta, used, ok = _interior_point(x[sample], y[sample], tau, tol, max_iter)
        iterations, converged = iterations + used, converged and ok
        inverse = _pinv(_gram(x[sample], np.ones(size)))
        band = np.sqrt(np.maximum((_mul(x, inverse) * x).sum(axis=1), np.finfo(float).tiny))
        residual = y - _mul(x, beta)
        band_rows = 0.8 * size
        width = band_rows / (2.0 * n)
        low, high = np.quantile(
            residual / band, [max(1.0 / n, tau - width), min(tau + width, (n - 1.0) / n)]
        )
        below, above = residual < low * band, residual > high * band
        for _ in range(3):
            keep = ~(below | above)
            reduced_x = np.vstack([x[keep], x[below].sum(axis=0), x[above].sum(axis=0)])
            reduced_y = np.concatenate([y[keep], [y[below].sum(), y[above].sum()]])
            beta, used, ok = _interior_point(reduced_x, reduced_y, tau, tol, max_iter)
            iterations, converged = iterations + used, converged and ok
            residual = y - _mul(x, beta)
            wrong_below, wrong_above = below & (residual > 0), above & (residual < 0)
            n_wrong = int(wrong_below.sum() + wrong_above.sum())
            if n_wrong == 0:
                return beta, iterations, converged
            if n_wrong > 0.1 * band_rows:
                break
            below &= ~wrong_below
            above &= ~wrong_above
        size *= 2
    beta, used, ok = _interior_point(x, y, tau, tol, max_iter)
    return beta, iterations + used, converged and ok


def _interior_point(
    x: FloatArray, y: FloatArray, tau: float, tol: float, max_iter: int
) -> tuple[FloatArray, int, bool]:
    """Regression quantile ``τ`` of ``y`` on ``x`` by the Frisch–Newton interior-point method.

    Solves ``min −y'a`` subject to ``X'a = (1 − τ) X'1``, ``0 ≤ a ≤ 1`` with slacks ``s = 1 −
    a`` and dual variables ``(d, z, w)``: ``X d + z − w = −y``, ``z, w ≥ 0``. Primal and dual
    feasibility hold throughout, so the duality gap is ``a'z + s'w``. Returns ``β = −d``, the
    iterations used and whether the gap fell below ``tol × (1 + |y'a|)``.
    """
    n = x.shape[0]
    a = np.full(n, 1.0 - tau)
    s = np.full(n, tau)
    d = -_pinv(_gram(x, np.ones(n))) @ _tmul(x, y)
    residual = -(y + _mul(x, d))
    offset = 0.1 * np.abs(residual).mean() + np.finfo(float).tiny
    z = np.maximum(residual, 0.0) + offset
    w = z - residual
    for iteration in range(max_iter):
        gap = _dot(a, z) + _dot(s, w)
        if gap <= tol * (1.0 + abs(_dot(y, a))):
            return -d, iteration, True
        inv_a, inv_s = 1.0 / a, 1.0 / s
        q = 1.0 / (z * inv_a + w * inv_s)
        r = z - w
        inverse = _pinv(_gram(x, q))
        # Predictor: the affine-scaling (Newton) direction towards complementarity 0.
        dd = inverse @ _tmul(x, q * r)
        da = q * (_mul(x, dd) - r)
        dz = -z * (1.0 + da * inv_a)
        dw = -w * (1.0 - da * inv_s)
        primal, dual = _step(a, da, s, -da), _step(z, dz, w, dw)
        if min(primal, dual) < 1.0:
            # Corrector: aim at the centring target μ and correct the second-order terms.
            reached = _dot(a + primal * da, z + dual * dz) + _dot(s - primal * da, w + dual * dw)
            mu = gap * (reached / gap) ** 3 / (2 * n)
            da_dz, ds_dw = da * dz, -da * dw
            shift = mu * (inv_a - inv_s) - r - da_dz * inv_a + ds_dw * inv_s
            dd = -(inverse @ _tmul(x, q * shift))
            da = q * (_mul(x, dd) + shift)
            dz = (mu - da_dz) * inv_a - z - z * inv_a * da
            dw = (mu - ds_dw) * inv_s - w + w * inv_s * da
            primal, dual = _step(a, da, s, -da), _step(z, dz, w, dw)
        a += primal * da
        s -= primal * da
        d += dual * dd
        z += dual * dz
        w += dual * dw
    return -d, max_iter, False


def student_growth_percentiles(
    current: pd.Series,
    prior: pd.Series | pd.DataFrame,
    *,
    n_jobs: int = 1,
) -> pd.Series:
    """Every pupil's student growth percentile.

    Parameters
    ----------
    current : Series
        Current scores indexed by pupil code (one value per pupil: an EAP or WLE estimate, or
        one plausible value).
    prior : Series or DataFrame
        Prior score(s) indexed by pupil code, one column per prior.
    n_jobs : int, default 1
        Worker processes for the quantile regressions.

    Returns
    -------
    Series of int64
        SGP (1–99) of each pupil with a current and every prior score, indexed by pupil code,
        named ``"sgp"``.

    Raises
    ------
    DataValidationError
        If too few pupils have both scores for the spline design.

    Notes
    -----
    Fits :class:`GrowthPercentiles` with its defaults (cubic B-splines, knots at the prior's
    20th–80th percentiles) on all pupils with complete scores, then applies the SGP rule.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> pupils = pd.Index([f"P{i:05d}" for i in range(3000)])
    >>> prior = pd.Series(rng.standard_normal(3000), index=pupils)
    >>> current = 0.6 * prior + 0.8 * rng.standard_normal(3000)
    >>> sgp = student_growth_percentiles(current, prior)
    >>> sgp.name, bool(sgp.between(1, 99).all())
    ('sgp', True)
    """
    priors = prior.to_frame() if isinstance(prior, pd.Series) else prior
    both = current.dropna().index.intersection(priors.dropna().index, sort=False)
    x = priors.loc[both].to_numpy(dtype=np.float64)
    y = current.loc[both].to_numpy(dtype=np.float64)
    model = GrowthPercentiles(n_jobs=n_jobs).fit(x, y)
    return pd.Series(model.growth_percentiles(x, y), index=both, name="sgp")


def growth_indicators(
    sgp: pd.Series,
    school: pd.Series,
    units: Units,
    *,
    domain: str,
    levels: Sequence[str] = LEVELS,
    alpha: float = 0.05,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Median SGP of every school, district, region and the nation.

    Parameters
    ----------
    sgp : Series
        SGPs indexed by pupil code (from :func:`student_growth_percentiles`).
    school : Series
        School code of each pupil, indexed by pupil code.
    units : Units
        The school → district → region hierarchy.
    domain : str
        Domain code used in the indicator code.
    levels : sequence of str, default ("school", "district", "region", "nation")
        Levels to report.
    alpha : float, default 0.05
        The interval covers the median with probability at least ``1 − alpha``.
    min_cell : int, default 10
        Units with fewer pupils are suppressed.

    Returns
    -------
    DataFrame
        An indicator table with rows ``growth.median_sgp.<domain>``: ``value`` the median SGP,
        ``ci_low``/``ci_high`` the distribution-free interval, ``se`` empty and ``n`` the
        pupils with an SGP.

    Raises
    ------
    InvalidParameterError
        For an unknown level, ``alpha`` outside (0, 1) or ``min_cell`` below 1.
    DataValidationError
        If a pupil has no school or a school is not in ``units``.

    Examples
    --------
    >>> organization = pd.DataFrame({"code": ["S1", "S2"], "settlement_code": ["T1", "T1"]})
    >>> settlement = pd.DataFrame({"code": ["T1"], "district_code": ["D1"]})
    >>> district = pd.DataFrame({"code": ["D1"], "region_code": ["KZ-71"]})
    >>> units = Units(organization, settlement, district)
    >>> sgp = pd.Series(np.arange(1, 41), index=[f"P{i}" for i in range(40)])
    >>> school = pd.Series(["S1"] * 20 + ["S2"] * 20, index=sgp.index)
    >>> table = growth_indicators(sgp, school, units, domain="read")
    >>> table[["level", "unit", "value", "ci_low", "ci_high", "n"]]
          level   unit  value  ci_low  ci_high   n
    0    school     S1   10.5     6.0     15.0  20
    1    school     S2   30.5    26.0     35.0  20
    2  district     D1   20.5    14.0     27.0  40
    3    region  KZ-71   20.5    14.0     27.0  40
    4    nation     KZ   20.5    14.0     27.0  40
    """
    validate_params(
        "growth_indicators",
        {
            "levels": [_is_levels],
            "alpha": Interval(float, 0.0, 1.0, closed="neither"),
            "min_cell": Interval(int, 1, None),
        },
        {"levels": levels, "alpha": alpha, "min_cell": min_cell},
    )
    values = sgp.dropna()
    schools = school.reindex(values.index)
    if schools.isna().any():
        missing = ", ".join(map(str, schools.index[schools.isna()][:5]))
        raise DataValidationError(f"pupil(s) without a school: {missing}")
    unknown = pd.Index(schools.unique()).difference(units.frame.index)
    if len(unknown):
        raise DataValidationError(f"school(s) not in the hierarchy: {', '.join(unknown[:5])}")
    parts = []
    for level in levels:
        unit = pd.Series(units.of(schools, level), index=values.index)
        parts.append(_medians(values.to_numpy(dtype=np.float64), unit.to_numpy(), level, alpha))
    rows = pd.concat(parts, ignore_index=True).assign(indicator=f"growth.median_sgp.{domain}")
    return suppress(indicator_table(rows), min_cell)


@described(f"a non-empty sequence of levels from {LEVELS}")
def _is_levels(value: Any) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) > 0
        and all(level in LEVELS for level in value)
    )


def _medians(values: FloatArray, units: np.ndarray, level: str, alpha: float) -> pd.DataFrame:
    """Median and order-statistic interval of ``values`` in each unit."""
    codes, inverse = np.unique(units, return_inverse=True)
    order = np.lexsort((values, inverse))
    ordered = values[order]
    counts = np.bincount(inverse, minlength=len(codes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    low_middle = starts + (counts - 1) // 2
    high_middle = starts + counts // 2
    median = 0.5 * (ordered[low_middle] + ordered[high_middle])
    rank = np.maximum(stats.binom.ppf(alpha / 2.0, counts, 0.5).astype(np.int64), 1)
    return pd.DataFrame(
        {
            "level": level,
            "unit": codes,
            "value": median,
            "ci_low": ordered[starts + rank - 1],
            "ci_high": ordered[starts + counts - rank],
            "n": counts,
        }
    )
