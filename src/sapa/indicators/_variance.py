"""Estimates from plausible values with their sampling and measurement uncertainty.

Every outcome statistic published by Sapa — a mean score, the share of pupils in a proficiency
level, the gap between two groups — is a ratio of weighted totals (or a difference of two such
ratios) computed in *cells*: a unit, or a subgroup of a unit. This module estimates such ratios
for every cell at once and attaches a standard error with two sources:

* **sampling error**, from replicate weights (JK1, JK2, BRR, Fay's BRR) for sample studies, or
  from a cluster-robust (Taylor linearisation) sandwich with schools as clusters for census data
  and designs without replicate weights;
* **measurement error** of the latent scores, from the spread of the statistic over the ``M``
  plausible values, combined with the sampling error by Rubin's rules.

Public names
------------
:class:`SamplingDesign`
    Weights, clusters, replicate weights and the variance method of a data set.
:class:`PVEstimate`
    A statistic combined over plausible values: ``params``, ``bse``, ``df``, ``conf_int()``.
:func:`weighted_mean`, :func:`level_shares`, :func:`mean_gap`
    Mean score, shares of proficiency levels and the difference of two groups' means.
:func:`domain_ratios`
    The engine behind them: ratios of weighted totals in cells, or differences of pairs of cells.
:func:`combine_pv`, :func:`replicate_variance`, :func:`replicate_factor`,
:func:`cluster_variance`
    The variance formulas on their own.

Notes
-----
**Rubin's rules.** With ``M`` plausible values, let ``θ̂_m`` be the statistic computed on the
``m``-th and ``U_m`` its sampling variance. Then (Rubin 1987, eqs. 3.1.2–3.1.5)

    θ̂ = (1/M) Σ_m θ̂_m,    B = 1/(M − 1) Σ_m (θ̂_m − θ̂)²,    V = Ū + (1 + 1/M) B,

and an interval uses Student's t with Rubin's (1987, eq. 3.1.6) degrees of freedom

    ν = (M − 1) (1 + Ū / ((1 + 1/M) B))²      (ν = ∞ when B = 0).

``Ū`` is the sampling variance of the first plausible value by default, as in EdSurvey
(``jrrIMax = 1``) and the TIMSS/PIRLS and NAEP reports; ``sampling_pvs`` averages it over more
plausible values (the full Ū of Rubin and of the PISA manual), at proportionally more cost.
Barnard and Rubin's (1999) small-sample degrees of freedom are not used: they need the
complete-data degrees of freedom, which replicate designs do not define uniquely.

**Replicate weights.** With ``R`` replicate estimates ``θ̂_r`` of a statistic ``θ̂``,
``V = c Σ_r (θ̂_r − θ̂)²`` where (Wolter 2007, chs. 3–4; OECD 2009, ch. 4)

============  ====================  =====================================================
method        c                     design
============  ====================  =====================================================
``"jk1"``     (R − 1)/R             delete-one-cluster jackknife, unstratified
``"jk2"``     1                     paired jackknife, one replicate per zone (TIMSS, PIRLS)
``"brr"``     1/R                   balanced half-samples, weights ×2 and ×0
``"fay"``     1/(R (1 − k)²)        Fay's BRR, weights ×(2 − k) and ×k (PISA: k = 0.5,
                                    R = 80, so c = 1/20)
============  ====================  =====================================================

BRR is Fay's method with ``k = 0``. Releases that carry *both* complementary replicates of every
JK2 zone (TIMSS since 2015, 2H replicates) need half the JK2 sum; EdSurvey calls this factor
``jkSumMultiplier``. A replicate in which a cell has no weight leaves the cell's variance
undefined (NaN).

**Cluster-robust variance.** A ratio ``R̂ = Σ_i w_i y_i / Σ_i w_i`` over the pupils of a cell is
linearised (Binder 1983) to the influence values ``z_i = w_i (y_i − R̂) / Σ_j w_j``, and

    V = G/(G − 1) Σ_g (Σ_{i∈g} z_i)²,

with ``G`` the clusters (schools) that hold pupils of the cell. For the difference of two cells
``a`` and ``b`` the influence values of ``b`` enter with a minus sign and ``G`` counts the
clusters holding pupils of either, so pupils of both groups in one school are correlated, not
treated as independent. ``G/(G − 1)`` is the small-sample factor of Stata's and statsmodels'
cluster-robust covariance; those regressions also multiply by ``(N − 1)/(N − K)``, which is 1
for a mean (``K = 1``) and ``(N − 1)/(N − 2)`` for a difference estimated as the coefficient of a
group dummy — a factor survey linearisation (Stata ``svy``, R ``survey``) does not use and this
module does not either. With every pupil its own cluster, the variance of an unweighted mean is
exactly ``s²/n``. A cell whose pupils all sit in one cluster has no estimable sampling variance
(NaN). The variance is the superpopulation one: with census data it measures how far a unit's
result could have fallen from the process that generates its schools and pupils, which is the
uncertainty relevant to comparing units (Goldstein & Spiegelhalter 1996).

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex surveys.
*International Statistical Review* 51, 279–292.
Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
*Journal of Human Resources* 50, 317–372.
Fay, R. E. (1989). Theory and application of replicate weighting for variance calculations.
*Proceedings of the Survey Research Methods Section, ASA*, 212–217.
Goldstein, H. & Spiegelhalter, D. J. (1996). League tables and their limitations. *Journal of
the Royal Statistical Society A* 159, 385–443.
OECD (2009). *PISA Data Analysis Manual: SPSS* (2nd ed.), chs. 4 (replicates) and 8 (plausible
values).
Rubin, D. B. (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley.
Wolter, K. M. (2007). *Introduction to Variance Estimation* (2nd ed.). Springer.
Bailey, P. et al. *Statistical Methods Used in EdSurvey* (EdSurvey vignette; ``jrrIMax``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, stats

from sapa._validation import Interval, validate_params
from sapa.errors import DataValidationError, InvalidParameterError, Problem
from sapa.irt.scales import ProficiencyLevels

__all__ = [
    "METHODS",
    "PVEstimate",
    "SamplingDesign",
    "cluster_variance",
    "combine_pv",
    "domain_ratios",
    "level_shares",
    "mean_gap",
    "replicate_factor",
    "replicate_variance",
    "weighted_mean",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

METHODS = ("cluster", "jk1", "jk2", "brr", "fay")
"""Sampling-variance methods: cluster-robust linearisation or a replicate-weight method."""

_REPLICATE_METHODS = frozenset(METHODS) - {"cluster"}


def replicate_factor(method: str, n_replicates: int, fay_k: float = 0.5) -> float:
    """The factor ``c`` of ``V = c Σ_r (θ̂_r − θ̂)²`` for a replicate-weight method.

    Parameters
    ----------
    method : {"jk1", "jk2", "brr", "fay"}
        Replication method (see the module notes for the designs they belong to).
    n_replicates : int
        Number of replicates ``R``.
    fay_k : float, default 0.5
        Fay's factor ``k`` in [0, 1); used by ``"fay"`` only.

    Returns
    -------
    float
        ``(R − 1)/R``, ``1``, ``1/R`` or ``1/(R (1 − k)²)``.

    Raises
    ------
    InvalidParameterError
        For an unknown method, fewer than two replicates or ``k`` outside [0, 1).

    Examples
    --------
    >>> replicate_factor("fay", 80, 0.5)  # PISA
    0.05
    """
    validate_params(
        "replicate_factor",
        {
            "method": _REPLICATE_METHODS,
            "n_replicates": Interval(int, 2, None),
            "fay_k": Interval(float, 0.0, 1.0, closed="left"),
        },
        {"method": method, "n_replicates": n_replicates, "fay_k": fay_k},
    )
    if method == "jk1":
        return (n_replicates - 1) / n_replicates
    if method == "jk2":
        return 1.0
    if method == "brr":
        return 1.0 / n_replicates
    return 1.0 / (n_replicates * (1.0 - fay_k) ** 2)


def replicate_variance(
    estimate: ArrayLike, replicates: ArrayLike, *, method: str, fay_k: float = 0.5
) -> FloatArray:
    """Sampling variance ``c Σ_r (θ̂_r − θ̂)²`` from replicate estimates.

    Parameters
    ----------
    estimate : array_like of shape (...)
        Full-sample estimates ``θ̂``.
    replicates : array_like of shape (..., R)
        The same statistics recomputed with each replicate weight.
    method : {"jk1", "jk2", "brr", "fay"}
        Replication method; gives ``c`` through :func:`replicate_factor`.
    fay_k : float, default 0.5
        Fay's factor (``"fay"`` only).

    Returns
    -------
    ndarray of shape (...)
        The variances; NaN where a replicate estimate is NaN.
    """
    theta = np.asarray(estimate, dtype=np.float64)
    reps = np.asarray(replicates, dtype=np.float64)
    if reps.shape[:-1] != theta.shape:
        raise DataValidationError(
            Problem(
                "<replicates>",
                None,
                None,
                f"need shape {theta.shape + ('R',)} for estimates of shape {theta.shape}, "
                f"got {reps.shape}",
            )
        )
    factor = replicate_factor(method, reps.shape[-1], fay_k)
    return factor * np.sum((reps - theta[..., None]) ** 2, axis=-1)


def _sums(codes: NDArray[Any], weights: NDArray[Any], size: int) -> FloatArray:
    """Sums of ``weights`` by integer code ``0 … size − 1``."""
    return np.bincount(codes, weights, minlength=size).astype(np.float64, copy=False)


def _cluster_totals(
    influence: FloatArray, clusters: IntArray, cells: IntArray, n_clusters: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Influence totals of every (cell, cluster) pair holding at least one pupil.

    Returns the pairs' cells, their clusters and the totals, shape (n_pairs, k).
    """
    key = cells.astype(np.int64) * n_clusters + clusters
    codes, pairs = pd.factorize(key, sort=False)
    n_pairs = len(pairs)
    totals = np.column_stack(
        [_sums(codes, influence[:, j], n_pairs) for j in range(influence.shape[1])]
    )
    return (pairs // n_clusters).astype(np.intp), (pairs % n_clusters).astype(np.intp), totals


def _small_sample(n_clusters: NDArray[Any]) -> FloatArray:
    """``G/(G − 1)``, NaN where ``G < 2``."""
    g = n_clusters.astype(np.float64)
    return np.divide(g, g - 1.0, out=np.full_like(g, np.nan), where=g >= 2)


def cluster_variance(
    influence: ArrayLike, clusters: ArrayLike, cells: ArrayLike | None = None
) -> FloatArray:
    """Cluster-robust (sandwich) variance from influence values.

    Parameters
    ----------
    influence : array_like of shape (n,) or (n, k)
        Influence values ``z_i`` of ``k`` statistics (e.g. ``w_i (y_i − R̂)/Σw`` of a ratio).
    clusters : array_like of shape (n,)
        Cluster label of each observation (e.g. school codes).
    cells : array_like of int, shape (n,), optional
        Cell number of each observation, ``-1`` for none; one variance per cell. By default all
        observations form one cell.

    Returns
    -------
    ndarray of shape (n_cells, k), or (k,) / () without ``cells``
        ``G_c/(G_c − 1) Σ_g (Σ_{i∈g, i∈c} z_i)²`` with ``G_c`` the clusters holding members of
        cell ``c``; NaN where ``G_c < 2``.

    Notes
    -----
    The meat of the sandwich estimator with the small-sample factor of Stata and statsmodels
    (Cameron & Miller 2015, sec. VI.B); the bread is already in ``z``.
    """
    z = np.asarray(influence, dtype=np.float64)
    flat = z.ndim == 1
    z2 = z.reshape(z.shape[0], -1)
    codes, labels = pd.factorize(np.asarray(clusters))
    if codes.shape != (z2.shape[0],) or np.any(codes < 0):
        raise DataValidationError(
            Problem("<clusters>", None, None, f"need {z2.shape[0]} cluster labels, none missing")
        )
    cell = np.zeros(z2.shape[0], np.intp) if cells is None else _cell_codes(cells, z2.shape[0])
    n_cells = int(cell.max(initial=-1)) + 1
    inside = cell >= 0
    pair_cell, _, totals = _cluster_totals(z2[inside], codes[inside], cell[inside], len(labels))
    variance = _cell_variance(pair_cell, totals, n_cells)
    if cells is None:
        variance = variance[0]
    return variance[..., 0] if flat else variance


def _cell_variance(pair_cell: IntArray, totals: FloatArray, n_cells: int) -> FloatArray:
    """``G_c/(G_c − 1) Σ u²`` per cell from (cell, cluster) influence totals ``u``."""
    g = np.bincount(pair_cell, minlength=n_cells)
    squares = np.column_stack(
        [_sums(pair_cell, totals[:, j] ** 2, n_cells) for j in range(totals.shape[1])]
    )
    return _small_sample(g)[:, None] * squares


def _cell_codes(cells: ArrayLike, n: int) -> IntArray:
    codes = np.asarray(cells)
    if codes.shape != (n,) or not np.issubdtype(codes.dtype, np.integer) or np.any(codes < -1):
        raise DataValidationError(
            Problem("<cells>", None, None, f"need {n} integer cell numbers, -1 for none")
        )
    return codes.astype(np.intp)


@dataclass(frozen=True, eq=False)
class SamplingDesign:
    """How the observations were drawn, for the sampling variance.

    Parameters
    ----------
    weights : array_like of shape (n,), optional
        Final (full-sample) weights; all 1 when omitted (a census).
    clusters : array_like of shape (n,), optional
        Primary sampling unit of each observation (school code), for ``method="cluster"``; when
        omitted every observation is its own cluster (simple random sampling of pupils).
    replicate_weights : array_like of shape (n, R), optional
        Replicate weights; required by, and only allowed with, a replicate method.
    method : {"cluster", "jk1", "jk2", "brr", "fay"}, default "cluster"
        Sampling-variance method (see the module notes).
    fay_k : float, default 0.5
        Fay's factor ``k`` of ``method="fay"`` (PISA: 0.5).

    Raises
    ------
    InvalidParameterError
        For an unknown method, a ``fay_k`` outside [0, 1), or replicate weights given with
        ``"cluster"`` or missing with a replicate method.
    DataValidationError
        For negative or non-finite weights or mismatched lengths.
    """

    weights: ArrayLike | None = None
    clusters: ArrayLike | None = None
    replicate_weights: ArrayLike | None = None
    method: str = "cluster"
    fay_k: float = 0.5

    def __post_init__(self) -> None:
        validate_params(
            "SamplingDesign",
            {"method": frozenset(METHODS), "fay_k": Interval(float, 0.0, 1.0, closed="left")},
            {"method": self.method, "fay_k": self.fay_k},
        )
        if (self.replicate_weights is None) != (self.method == "cluster"):
            raise InvalidParameterError(
                "The 'replicate_weights' parameter of SamplingDesign must be given exactly when "
                f"'method' is a replicate method. Got method {self.method!r} "
                f"{'without' if self.replicate_weights is None else 'with'} replicate weights "
                "instead."
            )
        if self.replicate_weights is not None and self.clusters is not None:
            raise InvalidParameterError(
                "The 'clusters' parameter of SamplingDesign must be None with replicate weights, "
                "which already carry the clustering. Got clusters instead."
            )
        if self.weights is not None:
            object.__setattr__(self, "weights", _weight_array(self.weights, "<weights>", 1))
        if self.replicate_weights is not None:
            reps = _weight_array(self.replicate_weights, "<replicate weights>", 2)
            if reps.shape[1] < 2:
                raise DataValidationError(
                    Problem("<replicate weights>", None, None, "need at least 2 replicates")
                )
            object.__setattr__(self, "replicate_weights", reps)
        if self.clusters is not None:
            codes, _ = pd.factorize(np.asarray(self.clusters).reshape(-1))
            if np.any(codes < 0):
                raise DataValidationError(Problem("<clusters>", None, None, "missing label"))
            object.__setattr__(self, "clusters", codes.astype(np.intp))

    def _check(self, n: int) -> None:
        for name in ("weights", "clusters", "replicate_weights"):
            value = getattr(self, name)
            if value is not None and value.shape[0] != n:
                raise DataValidationError(
                    Problem(f"<{name}>", None, None, f"has {value.shape[0]} rows, need {n}")
                )


def _weight_array(values: ArrayLike, name: str, ndim: int) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise DataValidationError(
            Problem(name, None, None, f"need a {ndim}-D array of finite non-negative weights")
        )
    return array


@dataclass(frozen=True, eq=False)
class PVEstimate:
    """A statistic combined over plausible values by Rubin's rules.

    Attributes
    ----------
    params : ndarray
        Point estimates: the mean over plausible values of the statistic.
    within : ndarray
        Sampling variance ``Ū``.
    between : ndarray
        Between-plausible-value variance ``B`` (0 with a single value).
    n_pv : int
        Number of plausible values ``M``.
    """

    params: FloatArray
    within: FloatArray
    between: FloatArray
    n_pv: int

    @property
    def variance(self) -> FloatArray:
        """Total variance ``Ū + (1 + 1/M) B``."""
        return self.within + (1.0 + 1.0 / self.n_pv) * self.between

    @property
    def bse(self) -> FloatArray:
        """Standard errors, ``√V``."""
        return np.sqrt(self.variance)

    @property
    def df(self) -> FloatArray:
        """Rubin's (1987) degrees of freedom ``(M − 1)(1 + Ū/((1 + 1/M) B))²``; ∞ where B = 0."""
        imputation = (1.0 + 1.0 / self.n_pv) * self.between
        with np.errstate(divide="ignore", invalid="ignore"):
            df = (self.n_pv - 1) * (1.0 + self.within / imputation) ** 2
        return np.where(imputation > 0, df, np.where(np.isnan(imputation), np.nan, np.inf))

    def conf_int(self, alpha: float = 0.05) -> FloatArray:
        """``1 − alpha`` intervals ``θ̂ ± t_{1−alpha/2, ν} √V``, shape ``params.shape + (2,)``."""
        validate_params(
            "PVEstimate.conf_int",
            {"alpha": Interval(float, 0.0, 1.0, closed="neither")},
            {"alpha": alpha},
        )
        half = stats.t.ppf(1.0 - alpha / 2.0, self.df) * self.bse
        return np.stack([self.params - half, self.params + half], axis=-1)


def combine_pv(estimates: ArrayLike, sampling_variance: ArrayLike) -> PVEstimate:
    """Combine a statistic computed on each plausible value by Rubin's rules.

    Parameters
    ----------
    estimates : array_like of shape (..., M)
        The statistic on each of the ``M`` plausible values (last axis).
    sampling_variance : array_like of shape (...)
        Its sampling variance ``Ū``: averaged over plausible values, or that of the first one
        (EdSurvey's default, ``jrrIMax = 1``).

    Returns
    -------
    PVEstimate

    Notes
    -----
    ``θ̂ = mean_m θ̂_m``, ``B = var_m θ̂_m`` (divisor ``M − 1``), ``V = Ū + (1 + 1/M) B``
    (Rubin 1987, eqs. 3.1.2–3.1.5; OECD 2009, ch. 8). A single value (``M = 1``) has ``B = 0``.

    Examples
    --------
    >>> est = combine_pv([10.0, 12.0, 11.0, 13.0, 14.0], 4.0)
    >>> float(est.params), float(est.between), float(est.variance)
    (12.0, 2.5, 7.0)
    """
    theta = np.asarray(estimates, dtype=np.float64)
    within = np.asarray(sampling_variance, dtype=np.float64)
    if theta.ndim == 0 or within.shape != theta.shape[:-1]:
        raise DataValidationError(
            Problem(
                "<estimates>",
                None,
                None,
                f"need estimates of shape (..., M) and a variance of shape (...); got "
                f"{theta.shape} and {within.shape}",
            )
        )
    n_pv = theta.shape[-1]
    between = theta.var(axis=-1, ddof=1) if n_pv > 1 else np.zeros_like(within)
    return PVEstimate(theta.mean(axis=-1), within, between, n_pv)


def _sampling_pv_count(sampling_pvs: int | None, n_pv: int) -> int:
    validate_params(
        "domain_ratios",
        {"sampling_pvs": [None, Interval(int, 1, n_pv)]},
        {"sampling_pvs": sampling_pvs},
    )
    return n_pv if sampling_pvs is None else sampling_pvs


def domain_ratios(
    values: ArrayLike,
    design: SamplingDesign,
    cells: ArrayLike,
    n_cells: int,
    *,
    pairs: ArrayLike | None = None,
    sampling_pvs: int | None = 1,
) -> PVEstimate:
    """Ratios ``Σ w v / Σ w`` in cells, or differences of two cells' ratios, over plausible values.

    Parameters
    ----------
    values : array_like of shape (n, M, S)
        ``S`` per-pupil quantities on each of ``M`` plausible values: the score for a mean, a
        0/1 indicator for a share.
    design : SamplingDesign
        Weights and the sampling-variance method.
    cells : array_like of int, shape (n,)
        Cell number of each pupil in ``0 … n_cells − 1``, or ``-1`` for a pupil in none.
    n_cells : int
        Number of cells.
    pairs : array_like of int, shape (P, 2), optional
        Pairs ``(a, b)`` of cells; the result is then ``ratio_a − ratio_b`` for every pair, with
        the variance of the difference computed jointly from the same clusters or replicates.
    sampling_pvs : int or None, default 1
        Number of plausible values (the first ones) whose sampling variances are averaged into
        ``Ū``; ``None`` uses all.

    Returns
    -------
    PVEstimate
        Arrays of shape (n_cells, S), or (P, S) with ``pairs``. Cells without weight are NaN.

    Notes
    -----
    The ratio and its cluster-robust and replicate variances are given in the module notes.
    Every cell is estimated from one sparse product of the pupils' weighted values, so the cost
    is linear in the number of pupils whatever the number of cells.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 3:
        raise DataValidationError(Problem("<values>", None, None, "need shape (n, M, S)"))
    n, n_pv, n_stats = v.shape
    design._check(n)
    cell = _cell_codes(cells, n)
    if cell.max(initial=-1) >= n_cells:
        raise DataValidationError(Problem("<cells>", None, None, f"cell numbers ≥ {n_cells}"))
    pair = None if pairs is None else np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    if pair is not None and np.any((pair < 0) | (pair >= n_cells)):
        raise DataValidationError(Problem("<pairs>", None, None, f"cells outside 0…{n_cells - 1}"))
    n_sampling = _sampling_pv_count(sampling_pvs, n_pv)

    weights = np.ones(n) if design.weights is None else np.asarray(design.weights)
    idx = np.flatnonzero(cell >= 0)
    member = cell[idx]
    weighted = sparse.csr_array((weights[idx], (member, idx)), shape=(n_cells, n))
    total_weight = _sums(member, weights[idx], n_cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (weighted @ v.reshape(n, n_pv * n_stats)).reshape(n_cells, n_pv, n_stats)
        ratio /= total_weight[:, None, None]

    if design.method == "cluster":
        variances = _linearised(
            v, weights, design, idx, member, ratio, total_weight, pair, n_sampling
        )
    else:
        variances = _replicated(v, design, idx, member, ratio, pair, n_sampling)
    estimates = ratio if pair is None else ratio[pair[:, 0]] - ratio[pair[:, 1]]
    return combine_pv(np.moveaxis(estimates, 1, -1), variances)


def _linearised(
    v: FloatArray,
    weights: FloatArray,
    design: SamplingDesign,
    idx: IntArray,
    member: IntArray,
    ratio: FloatArray,
    total_weight: FloatArray,
    pair: IntArray | None,
    n_sampling: int,
) -> FloatArray:
    """Cluster-robust sampling variance, averaged over the first ``n_sampling`` PVs."""
    n_cells = ratio.shape[0]
    if design.clusters is None:
        clusters, n_clusters = idx, v.shape[0]
    else:
        clusters = np.asarray(design.clusters)[idx]
        n_clusters = int(np.asarray(design.clusters).max(initial=-1)) + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = weights[idx] / total_weight[member]
    result = []
    for m in range(n_sampling):
        with np.errstate(invalid="ignore"):
            influence = scale[:, None] * (v[idx, m, :] - ratio[member, m, :])
        pair_cell, pair_cluster, totals = _cluster_totals(influence, clusters, member, n_clusters)
        if pair is None:
            result.append(_cell_variance(pair_cell, totals, n_cells))
        else:
            result.append(
                _pair_variance(pair_cell, pair_cluster, totals, pair, n_cells, n_clusters)
            )
    return np.mean(result, axis=0)


def _pair_variance(
    pair_cell: IntArray,
    pair_cluster: IntArray,
    totals: FloatArray,
    pair: IntArray,
    n_cells: int,
    n_clusters: int,
) -> FloatArray:
    """``G/(G − 1) Σ_g (u_ag − u_bg)²`` for pairs of cells, ``G`` the clusters of either."""
    shape = (n_cells, n_clusters)
    present = sparse.csr_array((np.ones(len(pair_cell)), (pair_cell, pair_cluster)), shape=shape)
    first, second = pair[:, 0], pair[:, 1]
    g = np.bincount(pair_cell, minlength=n_cells)
    shared = np.asarray(present[first].multiply(present[second]).sum(axis=1)).reshape(-1)
    factor = _small_sample(g[first] + g[second] - shared)
    columns = []
    for j in range(totals.shape[1]):
        u = sparse.csr_array((totals[:, j], (pair_cell, pair_cluster)), shape=shape)
        squares = _sums(pair_cell, totals[:, j] ** 2, n_cells)
        cross = np.asarray(u[first].multiply(u[second]).sum(axis=1)).reshape(-1)
        columns.append(squares[first] + squares[second] - 2.0 * cross)
    return factor[:, None] * np.column_stack(columns)


def _replicated(
    v: FloatArray,
    design: SamplingDesign,
    idx: IntArray,
    member: IntArray,
    ratio: FloatArray,
    pair: IntArray | None,
    n_sampling: int,
) -> FloatArray:
    """Replicate-weight sampling variance, averaged over the first ``n_sampling`` PVs."""
    n_cells, n = ratio.shape[0], v.shape[0]
    reps = np.asarray(design.replicate_weights)
    indicator = sparse.csr_array((np.ones(len(idx)), (member, idx)), shape=(n_cells, n))
    rep_weight = indicator @ reps
    result = []
    for m in range(n_sampling):
        rep_totals = np.stack(
            [
                sparse.csr_array((v[idx, m, s], (member, idx)), shape=(n_cells, n)) @ reps
                for s in range(v.shape[2])
            ],
            axis=1,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            rep_ratio = rep_totals / rep_weight[:, None, :]
        theta = ratio[:, m, :]
        if pair is not None:
            theta = theta[pair[:, 0]] - theta[pair[:, 1]]
            rep_ratio = rep_ratio[pair[:, 0]] - rep_ratio[pair[:, 1]]
        result.append(
            replicate_variance(theta, rep_ratio, method=design.method, fay_k=design.fay_k)
        )
    return np.mean(result, axis=0)


def _pv_matrix(scores: ArrayLike) -> FloatArray:
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] == 0:
        raise DataValidationError(
            Problem("<scores>", None, None, "need shape (n,) or (n, n_plausible)")
        )
    if not np.all(np.isfinite(values)):
        raise DataValidationError(Problem("<scores>", None, None, "scores must be finite"))
    return values


def _squeezed(result: PVEstimate, keep_cells: bool, keep_stats: bool) -> PVEstimate:
    def shape(a: FloatArray) -> FloatArray:
        a = a if keep_stats else a[..., 0]
        return a if keep_cells else a[0]

    return PVEstimate(
        shape(result.params), shape(result.within), shape(result.between), result.n_pv
    )


def _cells_or_one(cells: ArrayLike | None, n: int) -> tuple[IntArray, int]:
    cell = np.zeros(n, np.intp) if cells is None else _cell_codes(cells, n)
    return cell, int(cell.max(initial=-1)) + 1


def weighted_mean(
    scores: ArrayLike,
    design: SamplingDesign | None = None,
    *,
    cells: ArrayLike | None = None,
    sampling_pvs: int | None = 1,
) -> PVEstimate:
    """Weighted mean of scores (or of a 0/1 indicator: a share) over plausible values.

    Parameters
    ----------
    scores : array_like of shape (n,) or (n, M)
        Values, one column per plausible value.
    design : SamplingDesign, optional
        Weights and variance method; by default unweighted with pupils as clusters.
    cells : array_like of int, shape (n,), optional
        Cell number of each pupil (``-1`` for none) for one mean per cell.
    sampling_pvs : int or None, default 1
        Plausible values whose sampling variances enter ``Ū`` (see :func:`domain_ratios`).

    Returns
    -------
    PVEstimate
        Shape (n_cells,), or scalar without ``cells``.

    Examples
    --------
    >>> est = weighted_mean([1.0, 2.0, 3.0, 6.0])  # s/√n = √(14/3)/2
    >>> float(est.params), round(float(est.bse), 6)
    (3.0, 1.080123)
    """
    values = _pv_matrix(scores)
    cell, n_cells = _cells_or_one(cells, values.shape[0])
    result = domain_ratios(
        values[:, :, None], design or SamplingDesign(), cell, n_cells, sampling_pvs=sampling_pvs
    )
    return _squeezed(result, cells is not None, keep_stats=False)


def level_shares(
    scores: ArrayLike,
    levels: ProficiencyLevels,
    design: SamplingDesign | None = None,
    *,
    cells: ArrayLike | None = None,
    at_or_above: bool = False,
    sampling_pvs: int | None = 1,
) -> PVEstimate:
    """Weighted share of pupils in each proficiency level, with Rubin's-rules errors.

    Each plausible value is classified separately and the shares are combined over them, never
    by classifying a mean of plausible values (OECD 2009, ch. 9).

    Parameters
    ----------
    scores : array_like of shape (n,) or (n, M)
        Reporting-scale scores, one column per plausible value.
    levels : ProficiencyLevels
        Cut scores and labels.
    design : SamplingDesign, optional
        Weights and variance method; by default unweighted with pupils as clusters.
    cells : array_like of int, shape (n,), optional
        Cell number of each pupil (``-1`` for none).
    at_or_above : bool, default False
        Shares at or above each level instead of in it.
    sampling_pvs : int or None, default 1
        Plausible values whose sampling variances enter ``Ū``.

    Returns
    -------
    PVEstimate
        Last axis the levels, lowest first: shape (n_cells, K), or (K,) without ``cells``.
    """
    values = _pv_matrix(scores)
    index = levels.level_index(values)
    n_levels = len(levels.labels)
    onehot = (index[:, :, None] == np.arange(n_levels)).astype(np.float64)
    if at_or_above:
        onehot = np.cumsum(onehot[:, :, ::-1], axis=2)[:, :, ::-1]
    cell, n_cells = _cells_or_one(cells, values.shape[0])
    result = domain_ratios(
        onehot, design or SamplingDesign(), cell, n_cells, sampling_pvs=sampling_pvs
    )
    return _squeezed(result, cells is not None, keep_stats=True)


def mean_gap(
    scores: ArrayLike,
    first: ArrayLike,
    second: ArrayLike,
    design: SamplingDesign | None = None,
    *,
    cells: ArrayLike | None = None,
    sampling_pvs: int | None = 1,
) -> PVEstimate:
    """Difference of two groups' weighted mean scores, first minus second.

    The variance of the difference comes from the same clusters or replicates as the two means,
    so groups that share schools are not treated as independent samples.

    Parameters
    ----------
    scores : array_like of shape (n,) or (n, M)
        Scores, one column per plausible value.
    first, second : array_like of bool, shape (n,)
        Members of the two groups; they must not overlap.
    design : SamplingDesign, optional
        Weights and variance method; by default unweighted with pupils as clusters.
    cells : array_like of int, shape (n,), optional
        Cell number of each pupil (``-1`` for none) for one gap per cell.
    sampling_pvs : int or None, default 1
        Plausible values whose sampling variances enter ``Ū``.

    Returns
    -------
    PVEstimate
        Shape (n_cells,), or scalar without ``cells``.
    """
    values = _pv_matrix(scores)
    n = values.shape[0]
    groups = [np.asarray(g) for g in (first, second)]
    if any(g.shape != (n,) or g.dtype != bool for g in groups) or np.any(groups[0] & groups[1]):
        raise DataValidationError(
            Problem("<groups>", None, None, f"need two non-overlapping boolean masks of {n}")
        )
    cell, n_cells = _cells_or_one(cells, n)
    side = np.where(groups[0], 0, np.where(groups[1], 1, -1))
    doubled = np.where((cell >= 0) & (side >= 0), 2 * cell + side, -1)
    pairs = np.column_stack([2 * np.arange(n_cells), 2 * np.arange(n_cells) + 1])
    result = domain_ratios(
        values[:, :, None],
        design or SamplingDesign(),
        doubled,
        2 * n_cells,
        pairs=pairs,
        sampling_pvs=sampling_pvs,
    )
    return _squeezed(result, cells is not None, keep_stats=False)
