"""Contextual value-added: a random-intercept model of pupils in schools.

A school's value-added is the part of its pupils' attainment that their prior attainment and
context do not predict. It is estimated with the linear mixed model

    y_ij = x_ij'β + u_j + e_ij,    u_j ~ N(0, τ²),    e_ij ~ N(0, σ²),

for pupil ``i`` in school ``j``: ``x_ij`` holds the prior score(s), the pupil's context and, as
the compositional effect, the school's mean prior score. The school effects ``u_j`` are
predicted by empirical Bayes with intervals; they are the value-added indicators.

:class:`RandomInterceptModel` fits the model by REML or ML from per-school sufficient
statistics, so a national cohort (350,000 pupils in 7,860 schools) takes well under a second
per fit. :func:`contextual_value_added` builds the design from pupil tables and fits it once per
plausible value, combining the fits by Rubin's rules. Both return a :class:`ValueAddedResult`.

Notes
-----
**Sufficient statistics.** With ``λ = τ²/σ²`` the covariance of school ``j``'s ``n_j`` outcomes
is ``σ² H_j``, ``H_j = I + λ 11'``, and ``H_j⁻¹ = I − λ/(1 + n_j λ) 11'``. Writing ``x̄_j``,
``ȳ_j`` for school means and ``W_xx = Σ_ij (x_ij − x̄_j)(x_ij − x̄_j)'``, ``W_xy``, ``W_yy`` for the
pooled within-school cross-products, every quantity of the likelihood is a sum over schools
(Searle, Casella & McCulloch 1992, ch. 6):

    A(λ) = X'H⁻¹X = W_xx + Σ_j w_j x̄_j x̄_j',    b(λ) = X'H⁻¹y = W_xy + Σ_j w_j x̄_j ȳ_j,
    c(λ) = y'H⁻¹y = W_yy + Σ_j w_j ȳ_j²,          w_j = n_j / (1 + n_j λ),

``β̂(λ) = A⁻¹b`` and ``R(λ) = c − b'β̂ = (y − Xβ̂)'H⁻¹(y − Xβ̂)``; also
``log|H| = Σ_j log(1 + n_j λ)``. Centring within schools keeps the sums free of cancellation.

**Profiled criteria.** ``β`` and ``σ²`` are profiled out (``σ̂² = R/N`` for ML, ``R/(N − k)``
for REML), leaving one dimension:

    ML:    −2ℓ(λ)   = N (1 + log(2π R/N)) + Σ_j log(1 + n_j λ),
    REML:  −2ℓ_R(λ) = (N − k)(1 + log(2π R/(N − k))) + Σ_j log(1 + n_j λ) + log|A(λ)|,

the REML criterion of lme4 (Bates et al. 2015). Each evaluation costs ``O(J k² + k³)`` for ``J``
schools and ``k`` fixed effects. It is minimised over the intraclass correlation
``φ = λ/(1 + λ) ∈ [0, 1)`` by bounded Brent search; the boundary ``τ² = 0`` is checked
explicitly. Then ``τ̂² = λ̂ σ̂²`` and ``Cov(β̂) = σ̂² A(λ̂)⁻¹``, conditional on the variance
components (as lme4 and statsmodels).

**Empirical-Bayes school effects** (Raudenbush & Bryk 2002, ch. 3):

    û_j = γ_j (ȳ_j − x̄_j'β̂),    γ_j = τ²/(τ² + σ²/n_j),

with prediction-error variance (Henderson 1975)

    Var(û_j − u_j) = τ²(1 − γ_j) + γ_j² x̄_j' Cov(β̂) x̄_j.

The first term is the comparative variance given ``β`` (Goldstein 2011), the one to use when
comparing schools with each other; the second adds the uncertainty of ``β̂``, which is small
with thousands of schools but not with a few dozen. Uncertainty in ``τ̂²`` and ``σ̂²`` is not
propagated (Kackar & Harville 1984); with hundreds of schools it is negligible. Intervals are
``û_j ± z_{1−α/2} SE``. A school with no pupils in the data has no effect here (its
prediction would be 0 with SE τ).

**Plausible values.** With ``M`` plausible values of the outcome (and, where given, of the
prior score) the model is fitted to each ``m``, pairing the ``m``-th current and prior values,
and the fixed effects and school effects are combined by Rubin's rules
(:func:`~sapa.indicators._variance.combine_pv`): the mean of the ``M`` estimates, variance
``Ū + (1 + 1/M) B`` with ``Ū`` the mean of the per-fit variances and ``B`` the variance
between fits, and intervals from Student's ``t`` with Rubin's degrees of freedom. Variance
components and the log-likelihood are averaged over the fits.

References
----------
Bates, D., Mächler, M., Bolker, B. & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *Journal of Statistical Software* 67(1), 1–48.
Goldstein, H. (2011). *Multilevel Statistical Models* (4th ed.). Wiley.
Henderson, C. R. (1975). Best linear unbiased estimation and prediction under a selection
model. *Biometrics* 31, 423–447.
Kackar, R. N. & Harville, D. A. (1984). Approximations for standard errors of estimators of
fixed and random effects in mixed linear models. *JASA* 79, 853–862.
Raudenbush, S. W. & Bryk, A. S. (2002). *Hierarchical Linear Models* (2nd ed.). Sage.
Raudenbush, S. W. & Willms, J. D. (1995). The estimation of school effects. *Journal of
Educational and Behavioral Statistics* 20, 307–335.
Rubin, D. B. (1987). *Multiple Imputation for Nonresponse in Surveys*. Wiley.
Searle, S. R., Casella, G. & McCulloch, C. E. (1992). *Variance Components*. Wiley.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import linalg, optimize, sparse

from sapa._estimator import Estimator
from sapa._validation import validate_params
from sapa.errors import ConvergenceWarning, DataValidationError, Problem
from sapa.indicators._table import MIN_CELL, indicator_table, suppress
from sapa.indicators._variance import PVEstimate, combine_pv

__all__ = ["RandomInterceptModel", "ValueAddedResult", "contextual_value_added"]

FloatArray = NDArray[np.float64]

_BRENT_XATOL = 1e-12
_BRENT_MAXITER = 500
_PHI_MAX = 1.0 - 1e-9
"""Upper end of the ICC search: σ² may shrink to 10⁻⁹ of τ² + σ², never to 0."""


@dataclass(frozen=True)
class _SchoolStats:
    """Per-school sufficient statistics of one design and outcome.

    ``n`` pupils, ``xbar`` and ``ybar`` school means, and the pooled within-school
    cross-products ``wxx``, ``wxy`` and ``wyy``.
    """

    n: FloatArray
    xbar: FloatArray
    ybar: FloatArray
    wxx: FloatArray
    wxy: FloatArray
    wyy: float

    @classmethod
    def from_data(
        cls, x: FloatArray, y: FloatArray, codes: NDArray[np.intp], n_groups: int
    ) -> _SchoolStats:
        """Statistics of design ``x`` (N × k) and outcome ``y`` for school codes ``0 … J−1``."""
        member = sparse.csr_matrix(
            (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(n_groups, len(codes))
        )
        n = np.asarray(member.sum(axis=1)).ravel()
        sums = member @ np.column_stack([x, y])
        means = sums / n[:, None]
        centred_x = x - means[codes, :-1]
        centred_y = y - means[codes, -1]
        return cls(
            n=n,
            xbar=means[:, :-1],
            ybar=means[:, -1],
            wxx=centred_x.T @ centred_x,
            wxy=centred_x.T @ centred_y,
            wyy=float(centred_y @ centred_y),
        )

    @property
    def n_obs(self) -> int:
        return int(round(self.n.sum()))


@dataclass(frozen=True)
class _Profile:
    """The criterion and the profiled estimates at one ``λ``."""

    criterion: float
    lam: float
    beta: FloatArray
    sigma2: float
    a_factor: tuple[FloatArray, bool]


def _profile(stats: _SchoolStats, lam: float, reml: bool) -> _Profile:
    """−2 × the profiled (restricted) log-likelihood at ``λ`` (see the module Notes)."""
    weight = stats.n / (1.0 + stats.n * lam)
    weighted = stats.xbar * weight[:, None]
    a = stats.wxx + weighted.T @ stats.xbar
    b = stats.wxy + weighted.T @ stats.ybar
    c = stats.wyy + weight @ stats.ybar**2
    factor = linalg.cho_factor(a, lower=True)
    beta = linalg.cho_solve(factor, b)
    residual = max(c - b @ beta, np.finfo(float).tiny)
    k = stats.xbar.shape[1]
    dof = stats.n_obs - k if reml else stats.n_obs
    criterion = dof * (1.0 + np.log(2.0 * np.pi * residual / dof)) + np.log1p(stats.n * lam).sum()
    if reml:
        criterion += 2.0 * np.log(np.diag(factor[0])).sum()
    return _Profile(float(criterion), lam, beta, residual / dof, factor)


@dataclass(frozen=True)
class _Fit:
    """One fitted model: fixed effects, variance components and school effects."""

    beta: FloatArray
    cov_beta: FloatArray
    tau2: float
    sigma2: float
    loglik: float
    effects: FloatArray
    effect_var: FloatArray
    shrinkage: FloatArray
    converged: bool


def _fit_stats(stats: _SchoolStats, reml: bool) -> _Fit:
    """Maximise the profiled (restricted) likelihood over ``φ = λ/(1+λ)`` and predict."""

    def criterion(phi: float) -> float:
        return _profile(stats, phi / (1.0 - phi), reml).criterion

    search = optimize.minimize_scalar(
        criterion,
        bounds=(0.0, _PHI_MAX),
        method="bounded",
        options={"xatol": _BRENT_XATOL, "maxiter": _BRENT_MAXITER},
    )
    best = _profile(stats, search.x / (1.0 - search.x), reml)
    boundary = _profile(stats, 0.0, reml)
    if boundary.criterion <= best.criterion:
        best = boundary
    sigma2 = best.sigma2
    tau2 = best.lam * sigma2
    cov_beta = sigma2 * linalg.cho_solve(best.a_factor, np.eye(len(best.beta)))
    gamma = stats.n * best.lam / (1.0 + stats.n * best.lam)
    effects = gamma * (stats.ybar - stats.xbar @ best.beta)
    beta_part = np.einsum("jk,kl,jl->j", stats.xbar, cov_beta, stats.xbar)
    effect_var = tau2 * (1.0 - gamma) + gamma**2 * beta_part
    return _Fit(
        beta=best.beta,
        cov_beta=cov_beta,
        tau2=tau2,
        sigma2=sigma2,
        loglik=-0.5 * best.criterion,
        effects=effects,
        effect_var=effect_var,
        shrinkage=gamma,
        converged=bool(search.success),
    )


class ValueAddedResult:
    """Fixed effects, variance components and empirical-Bayes school effects (statsmodels-style).

    Built by :meth:`RandomInterceptModel.fit` and :func:`contextual_value_added`; with several
    plausible values every estimate is combined over the fits by Rubin's rules (see
    :mod:`sapa.indicators.value_added`).

    Attributes
    ----------
    domain : str
        Domain code used in the indicator rows (``value_added.<domain>``).
    method : {"REML", "ML"}
        Estimation method.
    tau2, sigma2 : float
        Between-school variance ``τ²`` and within-school variance ``σ²`` (mean over fits).
    loglik : float
        Maximised (restricted) log-likelihood, the mean over fits.
    n_obs : int
        Pupils in the model.
    n_pv : int
        Number of fits (plausible values) combined.
    n_pupils : Series
        Pupils per school, indexed by school.
    shrinkage : Series
        ``γ_j = τ²/(τ² + σ²/n_j)`` per school (mean over fits).
    converged : bool
        Whether every fit's one-dimensional search met its tolerance.
    """

    def __init__(
        self,
        *,
        fits: Sequence[_Fit],
        names: Sequence[str],
        schools: pd.Index,
        n_pupils: FloatArray,
        method: str,
        domain: str,
    ) -> None:
        self.domain = domain
        self.method = method
        self.n_pv = len(fits)
        self.n_obs = int(round(n_pupils.sum()))
        self.tau2 = float(np.mean([f.tau2 for f in fits]))
        self.sigma2 = float(np.mean([f.sigma2 for f in fits]))
        self.loglik = float(np.mean([f.loglik for f in fits]))
        self.converged = all(f.converged for f in fits)
        self._names = pd.Index(list(names), name="parameter")
        self._schools = pd.Index(schools, name="school")
        self.n_pupils = pd.Series(n_pupils.round().astype(np.int64), index=self._schools)
        self.shrinkage = pd.Series(
            np.mean([f.shrinkage for f in fits], axis=0), index=self._schools
        )
        self._fixed = combine_pv(
            np.column_stack([f.beta for f in fits]),
            np.mean([np.diag(f.cov_beta) for f in fits], axis=0),
        )
        self._effects = combine_pv(
            np.column_stack([f.effects for f in fits]),
            np.mean([f.effect_var for f in fits], axis=0),
        )

    # ------------------------------------------------------------ fixed part
    @property
    def params(self) -> pd.Series:
        """Fixed effects ``β̂``, indexed by parameter name."""
        return pd.Series(self._fixed.params, index=self._names)

    @property
    def bse(self) -> pd.Series:
        """Standard errors of the fixed effects."""
        return pd.Series(self._fixed.bse, index=self._names)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """``1 − alpha`` intervals of the fixed effects, columns ``lower`` and ``upper``.

        Normal (Wald) with one fit; Student's ``t`` with Rubin's degrees of freedom with
        several plausible values.
        """
        return _interval_frame(self._fixed, alpha, self._names)

    @property
    def variance_components(self) -> pd.Series:
        """``tau2`` (between schools) and ``sigma2`` (within schools)."""
        return pd.Series({"tau2": self.tau2, "sigma2": self.sigma2})

    @property
    def icc(self) -> float:
        """Intraclass correlation ``τ²/(τ² + σ²)``: the share of residual variance between
        schools."""
        return self.tau2 / (self.tau2 + self.sigma2)

    @property
    def df_model(self) -> int:
        """Estimated parameters: the fixed effects and the two variance components."""
        return len(self._names) + 2

    @property
    def aic(self) -> float:
        """``−2 logLik + 2 df_model`` (comparable between REML fits only with equal fixed
        effects)."""
        return -2.0 * self.loglik + 2.0 * self.df_model

    @property
    def bic(self) -> float:
        """``−2 logLik + df_model · log n_obs``."""
        return -2.0 * self.loglik + self.df_model * np.log(self.n_obs)

    # ----------------------------------------------------------- school part
    @property
    def school_effects(self) -> pd.Series:
        """Empirical-Bayes school effects ``û_j`` (value-added), indexed by school."""
        return pd.Series(self._effects.params, index=self._schools)

    @property
    def school_se(self) -> pd.Series:
        """Standard errors of ``û_j − u_j``, including the uncertainty of ``β̂``."""
        return pd.Series(self._effects.bse, index=self._schools)

    def school_conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """``1 − alpha`` intervals of the school effects, columns ``lower`` and ``upper``."""
        return _interval_frame(self._effects, alpha, self._schools)

    # ---------------------------------------------------------------- output
    def to_frame(self, alpha: float = 0.05, min_cell: int = MIN_CELL) -> pd.DataFrame:
        """The school effects as indicator rows ``value_added.<domain>`` at school level.

        ``value`` is ``û_j``, ``se`` its standard error, ``ci_low``/``ci_high`` the
        ``1 − alpha`` interval and ``n`` the school's pupils in the model; rows with fewer
        than ``min_cell`` pupils are suppressed.
        """
        interval = self.school_conf_int(alpha)
        rows = pd.DataFrame(
            {
                "indicator": f"value_added.{self.domain}",
                "level": "school",
                "unit": self._schools.to_numpy(),
                "value": self._effects.params,
                "se": self._effects.bse,
                "ci_low": interval["lower"].to_numpy(),
                "ci_high": interval["upper"].to_numpy(),
                "n": self.n_pupils.to_numpy(),
            }
        )
        return suppress(indicator_table(rows), min_cell)

    def summary(self) -> str:
        """A plain-text report: the fit, the fixed effects and the variance components."""
        effects = self.school_effects
        header = [
            f"Random-intercept model ({self.method}), outcome domain '{self.domain}'",
            f"  pupils: {self.n_obs}   schools: {len(self._schools)}   "
            f"plausible values: {self.n_pv}   converged: {self.converged}",
            f"  log-likelihood: {self.loglik:.3f}   AIC: {self.aic:.3f}   BIC: {self.bic:.3f}",
            f"  tau2 (schools): {self.tau2:.5f}   sigma2 (pupils): {self.sigma2:.5f}   "
            f"ICC: {self.icc:.4f}",
            f"  school effects: SD {effects.std(ddof=0):.4f}, range "
            f"[{effects.min():.4f}, {effects.max():.4f}], mean shrinkage "
            f"{self.shrinkage.mean():.3f}",
            "",
        ]
        interval = self.conf_int()
        table = pd.DataFrame(
            {
                "estimate": self.params,
                "se": self.bse,
                "lower": interval["lower"],
                "upper": interval["upper"],
            }
        )
        return "\n".join(header) + table.to_string(float_format=lambda v: f"{v:.5f}")


def _interval_frame(estimate: PVEstimate, alpha: float, index: pd.Index) -> pd.DataFrame:
    bounds = estimate.conf_int(alpha)
    return pd.DataFrame({"lower": bounds[:, 0], "upper": bounds[:, 1]}, index=index)


class RandomInterceptModel(Estimator):
    """Linear mixed model with a random intercept per school, fitted from school statistics.

    ``y_ij = x_ij'β + u_j + e_ij`` with ``u_j ~ N(0, τ²)`` and ``e_ij ~ N(0, σ²)``; see
    :mod:`sapa.indicators.value_added` for the formulas. The design must contain the intercept
    (or columns spanning it) if one is wanted: none is added.

    Parameters
    ----------
    method : {"REML", "ML"}, default "REML"
        Restricted (residual) or full maximum likelihood.

    Attributes
    ----------
    result_ : ValueAddedResult
        Estimates, school effects and their uncertainty.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> school = np.repeat(np.arange(200), 25)
    >>> prior = rng.standard_normal(school.size)
    >>> y = 0.6 * prior + rng.normal(0, 0.3, 200)[school] + rng.normal(0, 0.8, school.size)
    >>> x = pd.DataFrame({"intercept": 1.0, "prior": prior})
    >>> fitted = RandomInterceptModel().fit(x, y, groups=school).result_
    >>> round(float(fitted.params["prior"]), 2), round(fitted.tau2, 2)
    (0.6, 0.09)
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {"method": {"REML", "ML"}}

    def __init__(self, *, method: str = "REML") -> None:
        self.method = method

    def fit(
        self,
        x: pd.DataFrame | ArrayLike | Sequence[pd.DataFrame | ArrayLike],
        y: pd.Series | pd.DataFrame | ArrayLike,
        *,
        groups: pd.Series | ArrayLike,
        domain: str = "score",
    ) -> RandomInterceptModel:
        """Fit the model, once per plausible value of ``y``.

        Parameters
        ----------
        x : DataFrame or array_like of shape (n, k), or a sequence of them
            The design (a DataFrame's columns name the fixed effects). A sequence holds one
            design per plausible value (when a regressor is itself a plausible value).
        y : Series or array_like of shape (n,), or DataFrame / array of shape (n, M)
            The outcome, or its ``M`` plausible values (one column each).
        groups : array_like of shape (n,)
            School of each pupil.
        domain : str, default "score"
            Domain code used in the indicator rows of ``result_.to_frame()``.

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            For an unknown ``method``.
        DataValidationError
            For non-finite values, mismatched shapes, fewer than two schools, a design with
            no more pupils than columns, or a rank-deficient design.
        """
        validate_params(type(self).__name__, self._parameter_constraints, vars(self))
        outcomes = np.asarray(y, dtype=np.float64)
        if outcomes.ndim == 1:
            outcomes = outcomes[:, None]
        designs = _designs(x, outcomes.shape[1])
        names = _names(x, designs[0].shape[1])
        labels = np.asarray(groups)
        _check_shapes(designs, outcomes, labels)
        schools, codes = np.unique(labels, return_inverse=True)
        if len(schools) < 2:
            raise DataValidationError("the model needs pupils in at least two schools")
        fits = []
        for m in range(outcomes.shape[1]):
            design = designs[m if len(designs) > 1 else 0]
            if m == 0 or len(designs) > 1:
                _check_rank(design, names)
            stats = _SchoolStats.from_data(design, outcomes[:, m], codes, len(schools))
            fits.append(_fit_stats(stats, reml=self.method == "REML"))
        if not all(f.converged for f in fits):
            warnings.warn(
                f"The search for the intraclass correlation did not converge in "
                f"{_BRENT_MAXITER} steps (tolerance {_BRENT_XATOL:.0e}). Check the design for "
                "near-collinear columns or rescale the outcome.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.result_ = ValueAddedResult(
            fits=fits,
            names=names,
            schools=pd.Index(schools),
            n_pupils=stats.n,
            method=self.method,
            domain=domain,
        )
        return self


def _designs(x: Any, n_pv: int) -> list[FloatArray]:
    """The design(s) as float arrays: one, or one per plausible value."""
    if isinstance(x, Sequence) and not isinstance(x, str) and _is_matrix(x[0]):
        designs = [np.asarray(d, dtype=np.float64) for d in x]
        if len(designs) != n_pv:
            raise DataValidationError(
                f"got {len(designs)} designs for {n_pv} plausible values of the outcome; "
                "give one design, or one per plausible value"
            )
        return designs
    return [np.asarray(x, dtype=np.float64)]


def _is_matrix(value: Any) -> bool:
    return isinstance(value, pd.DataFrame) or np.ndim(value) == 2


def _names(x: Any, k: int) -> list[str]:
    first = x[0] if isinstance(x, Sequence) and _is_matrix(x[0]) else x
    if isinstance(first, pd.DataFrame):
        return [str(c) for c in first.columns]
    return [f"x{j}" for j in range(k)]


def _check_shapes(designs: list[FloatArray], outcomes: FloatArray, groups: np.ndarray) -> None:
    n = outcomes.shape[0]
    for design in designs:
        if design.ndim != 2 or design.shape[0] != n or design.shape[1] != designs[0].shape[1]:
            raise DataValidationError(
                f"the design must have shape (n, k) with n = {n} pupils, the same k for every "
                f"plausible value; got {design.shape}"
            )
        if not np.isfinite(design).all():
            raise DataValidationError("the design holds missing or non-finite values")
    if outcomes.ndim != 2 or not np.isfinite(outcomes).all():
        raise DataValidationError("the outcome holds missing or non-finite values")
    if groups.shape != (n,):
        raise DataValidationError(
            f"groups must have one school per pupil ({n}); got {groups.shape}"
        )
    if n <= designs[0].shape[1]:
        raise DataValidationError(
            f"the model needs more pupils than fixed effects; got {n} pupils for "
            f"{designs[0].shape[1]} fixed effects"
        )


def _check_rank(design: FloatArray, names: Sequence[str]) -> None:
    """Refuse a design whose columns are linearly dependent, naming a dependent column."""
    scale = np.sqrt((design**2).sum(axis=0))
    scale[scale == 0] = 1.0
    rank = np.linalg.matrix_rank(design / scale)
    if rank < design.shape[1]:
        dependent = next(
            names[j]
            for j in range(design.shape[1])
            if np.linalg.matrix_rank(design[:, : j + 1] / scale[: j + 1]) <= j
        )
        raise DataValidationError(
            Problem(
                "<design>",
                None,
                dependent,
                f"the design is rank-deficient (rank {rank} < {design.shape[1]} columns): the "
                "column is a linear combination of earlier ones",
            )
        )


def contextual_value_added(
    scores: pd.Series | pd.DataFrame,
    prior: pd.Series | pd.DataFrame | Mapping[str, pd.Series | pd.DataFrame],
    context: pd.DataFrame,
    school: pd.Series,
    *,
    domain: str,
    compositional: bool = True,
    method: str = "REML",
) -> ValueAddedResult:
    """Contextual value-added of each school: a random-intercept model of the current score on
    prior attainment, pupil context and school composition.

    Parameters
    ----------
    scores : Series or DataFrame
        Current scores indexed by pupil code: one column, or ``M`` plausible values (``PV1 …
        PVM``).
    prior : Series, DataFrame or mapping of str to either
        Prior score(s) indexed by pupil code: one prior (a Series, or a DataFrame of 1 or ``M``
        plausible values, paired with the current ones by position), or several keyed by name
        (e.g. the three grade-4 domains), entering as ``prior_<name>``.
    context : DataFrame
        Pupil context indexed by pupil code, typically ``sex``, ``low_income``,
        ``special_needs`` and ``language``. Boolean and numeric columns enter as they are;
        other columns as indicators of each category but the first in sorted order (the
        reference). Columns that are constant among the pupils modelled are dropped.
    school : Series
        School code of each pupil, indexed by pupil code.
    domain : str
        Domain code used in the indicator rows (``value_added.<domain>``).
    compositional : bool, default True
        Add the school mean of each prior score (over the pupils modelled) as a school-level
        regressor ``school_mean_<prior>``.
    method : {"REML", "ML"}, default "REML"
        Estimation method.

    Returns
    -------
    ValueAddedResult
        ``to_frame()`` gives the indicator rows ``value_added.<domain>`` per school.

    Raises
    ------
    DataValidationError
        If no pupil has a score, prior, context and school, if the plausible values of the
        prior do not match those of the scores, or the design is rank-deficient.

    Notes
    -----
    The model is ``y_ij = β_0 + β_p'prior_ij + β_c'context_ij + β_s'mean prior_j + u_j + e_ij``
    (see :mod:`sapa.indicators.value_added`). Pupils lacking a current or prior score, a
    context value or a school are left out (complete cases); ``n`` counts the pupils kept.

    The compositional term makes ``u_j`` the school's contribution beyond what both its
    pupils' prior attainment and its intake's mean attainment predict, close to Raudenbush &
    Willms's (1995) type B effect (the effect of school practice, net of context). Without it
    (``compositional=False``) the effect includes peer composition, the type A effect a
    parent choosing a school would care about.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> pupils = pd.Index([f"P{i:04d}" for i in range(3000)])
    >>> school = pd.Series(np.repeat([f"S{j:03d}" for j in range(100)], 30), index=pupils)
    >>> prior = pd.Series(rng.standard_normal(3000), index=pupils)
    >>> context = pd.DataFrame({"sex": rng.choice(["F", "M"], 3000)}, index=pupils)
    >>> effect = pd.Series(rng.normal(0, 0.3, 100), index=school.unique())
    >>> scores = 0.7 * prior + effect.loc[school].to_numpy() + rng.normal(0, 0.7, 3000)
    >>> result = contextual_value_added(scores, prior, context, school, domain="read")
    >>> list(result.params.index)
    ['intercept', 'prior', 'sex=M', 'school_mean_prior']
    >>> table = result.to_frame()
    >>> table["indicator"].iloc[0], len(table)
    ('value_added.read', 100)
    """
    outcome = _as_frame(scores, "scores")
    priors = _prior_frames(prior)
    n_pv = outcome.shape[1]
    for name, frame in priors.items():
        if frame.shape[1] not in (1, n_pv):
            raise DataValidationError(
                f"the prior '{name}' has {frame.shape[1]} plausible values and the scores "
                f"{n_pv}; give 1 or {n_pv}"
            )
    keep = outcome.notna().all(axis=1)
    index = outcome.index[keep]
    for frame in (*priors.values(), context):
        index = index.intersection(frame.index[frame.notna().all(axis=1)], sort=False)
    index = index.intersection(school.index[school.notna()], sort=False)
    if index.empty:
        raise DataValidationError(
            "no pupil has a current score, a prior score, complete context and a school"
        )
    groups = school.loc[index].to_numpy()
    context_part = _context_design(context.loc[index])
    varying = max(frame.shape[1] for frame in priors.values())
    designs = [
        _design(priors, context_part, groups, index, m, compositional) for m in range(varying)
    ]
    fitted = RandomInterceptModel(method=method).fit(
        designs if varying > 1 else designs[0],
        outcome.loc[index].to_numpy(dtype=np.float64),
        groups=groups,
        domain=domain,
    )
    return fitted.result_


def _as_frame(values: pd.Series | pd.DataFrame, name: str) -> pd.DataFrame:
    if isinstance(values, pd.Series):
        return values.to_frame()
    if isinstance(values, pd.DataFrame) and values.shape[1] > 0:
        return values
    raise DataValidationError(f"{name} must be a Series or a DataFrame with at least one column")


def _prior_frames(
    prior: pd.Series | pd.DataFrame | Mapping[str, pd.Series | pd.DataFrame],
) -> dict[str, pd.DataFrame]:
    if isinstance(prior, Mapping):
        if not prior:
            raise DataValidationError("at least one prior score is needed")
        return {f"prior_{name}": _as_frame(values, "prior") for name, values in prior.items()}
    return {"prior": _as_frame(prior, "prior")}


def _context_design(context: pd.DataFrame) -> pd.DataFrame:
    """Context columns as regressors: booleans and numbers as they are, other columns as
    indicators of every category but the first (sorted); constant columns dropped."""
    parts = []
    for column in context.columns:
        values = context[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            parts.append(values.astype(np.float64).rename(str(column)))
            continue
        categories = sorted(values.unique(), key=str)
        for category in categories[1:]:
            parts.append((values == category).astype(np.float64).rename(f"{column}={category}"))
    design = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=context.index)
    return design.loc[:, design.nunique() > 1]


def _design(
    priors: Mapping[str, pd.DataFrame],
    context: pd.DataFrame,
    groups: np.ndarray,
    index: pd.Index,
    m: int,
    compositional: bool,
) -> pd.DataFrame:
    """The design for plausible value ``m``: intercept, priors, context, school mean priors."""
    design = pd.DataFrame({"intercept": np.ones(len(index))}, index=index)
    for name, frame in priors.items():
        values = frame.loc[index].iloc[:, m if frame.shape[1] > 1 else 0].to_numpy(np.float64)
        design[name] = values
    design = pd.concat([design, context], axis=1)
    if compositional:
        for name in priors:
            design[f"school_mean_{name}"] = (
                design[name].groupby(groups).transform("mean").to_numpy()
            )
    return design
