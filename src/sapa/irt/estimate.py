"""Item calibration by marginal maximum likelihood (Bock–Aitkin EM).

:class:`IRTModel` estimates the item parameters of Rasch, 2PL, 3PL, GRM and GPCM/PCM items —
mixed in one test if needed — together with the latent mean and variance of each group of
persons, from a persons × items response matrix with ``−1`` for missing or not-presented items.
:class:`CalibrationResult` carries the estimates, their standard errors and fit statistics.

References
----------
Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation of item parameters:
Application of an EM algorithm. Psychometrika 46, 443–459.
Bock, R. D., & Zimowski, M. F. (1997). Multiple group IRT. In van der Linden & Hambleton (eds.),
Handbook of Modern Item Response Theory, 433–448.
Ramsay, J. O. (1975). Solving implicit equations in psychometric data analysis.
Psychometrika 40, 337–360.
Varadhan, R., & Roland, C. (2008). Simple and globally convergent methods for accelerating the
convergence of any EM algorithm. Scandinavian Journal of Statistics 35, 335–353.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats
from scipy.special import logit

from sapa._estimator import Estimator
from sapa._random import RandomLike
from sapa._validation import Interval, described, validate_params
from sapa.errors import (
    BoundaryWarning,
    ConvergenceWarning,
    DataValidationError,
    ModelSpecError,
    Problem,
)
from sapa.irt._data import CalibrationData, ResponseSummary
from sapa.irt._mstep import m_step, prior_terms
from sapa.irt._paramtable import ParameterSpec
from sapa.irt._stderr import (
    StatisticsSource,
    crossprod_covariance,
    oakes_covariance,
    to_table_scale,
)
from sapa.irt.backends import (
    BACKEND_NAMES,
    Backend,
    BoundResponses,
    ResponseDataset,
    resolve_backend,
)
from sapa.irt.models import DICHOTOMOUS_MODELS, ItemBank, default_item_names

__all__ = ["MODEL_NAMES", "CalibrationResult", "IRTModel"]

#: Accepted model names; ``1PL`` is an alias of ``Rasch``, ``PCM`` a GPCM with slope fixed at 1.
MODEL_NAMES = frozenset({"Rasch", "1PL", "2PL", "3PL", "GRM", "GPCM", "PCM"})
_BANK_MODEL = {"Rasch": "Rasch", "1PL": "Rasch", "PCM": "GPCM"}
_FIXED_UNIT_SLOPE = frozenset({"Rasch", "1PL", "PCM"})
#: Default priors: BILOG-MG's Beta(5, 17) on the 3PL lower asymptote (mode 0.2, five options).
DEFAULT_PRIORS: dict[str, tuple[str, float, float] | None] = {"g": ("beta", 5.0, 17.0)}
#: |a| and |b| beyond which an estimate is reported with a BoundaryWarning (logit scale, D = 1).
SLOPE_BOUNDARY = 10.0
DIFFICULTY_BOUNDARY = 6.0


@described("one of {'Rasch','1PL','2PL','3PL','GRM','GPCM','PCM'}, or a list or dict of them")
def _is_model_spec(value: Any) -> bool:
    if isinstance(value, str):
        return value in MODEL_NAMES
    if isinstance(value, Mapping):
        return all(isinstance(m, str) and m in MODEL_NAMES for m in value.values())
    if isinstance(value, Sequence):
        return all(isinstance(m, str) and m in MODEL_NAMES for m in value)
    return False


@described("a dict mapping 'a', 'd' or 'g' to (kind, p1, p2) or None")
def _is_prior_spec(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, Mapping):
        return False
    for name, prior in value.items():
        if name not in ("a", "d", "g"):
            return False
        if prior is not None and not (
            isinstance(prior, tuple)
            and len(prior) == 3
            and prior[0] in ("norm", "lnorm", "beta")
            and all(isinstance(v, int | float) for v in prior[1:])
        ):
            return False
    return True


class IRTModel(Estimator):
    """Unidimensional item calibration by marginal maximum likelihood (Bock–Aitkin EM).

    Parameters
    ----------
    model : str, list of str or dict, default "2PL"
        ``"Rasch"`` (alias ``"1PL"``), ``"2PL"``, ``"3PL"``, ``"GRM"``, ``"GPCM"`` or ``"PCM"`` for
        all items; a list with one entry per item; or a dict ``{item name: model}`` covering every
        item. Rasch and PCM items have their slope fixed at 1 and, when no item has a free slope,
        the reference group's latent variance is estimated instead (as R mirt's ``Rasch``); the
        likelihood is that of a common slope with N(0, 1), e.g. ltm's ``rasch``.
    n_quad : int, default 61
        Number of equally spaced quadrature nodes.
    quad_range : float, default 6.0
        Nodes lie on ``[−quad_range, quad_range]`` (θ in reference-group SD units).
    tol : float, default 1e-4
        Convergence when the largest absolute change of a free parameter in one EM cycle
        (internal scale: ``a``, ``d``, ``logit g``, group mean and variance) is below ``tol``.
    max_iter : int, default 500
        Maximum number of EM cycles.
    accelerate : {"squarem", "ramsay", None}, default "squarem"
        ``"squarem"``: the squared extrapolation of Varadhan & Roland (2008, scheme S3) over two
        EM cycles, followed by a stabilising EM cycle; an extrapolation that lowers the
        log-likelihood below the second EM cycle's is discarded. ``"ramsay"``: Ramsay's (1975)
        extrapolation after every cycle. ``None`` gives plain EM, whose log-likelihood never
        decreases. Every EM cycle (E-step and M-step) counts towards ``max_iter`` and
        ``n_iter_``; convergence is always judged on the change made by one EM cycle.
    se_method : {"oakes", "crossprod", None}, default "oakes"
        Standard errors from the observed information by Oakes' (1999) identity, or from the
        cross-product of person scores (XPD, cheaper and rougher); ``None`` for none. They are
        computed on first access to ``result_.bse`` (for a :class:`ResponseDataset` on a backend
        that keeps partitions on workers, at the end of ``fit``, while the partitions are held).
    priors : dict, optional
        Priors by parameter name, ``{"a" | "d" | "g": (kind, p1, p2) or None}``, with kind
        ``"norm"`` (mean, sd; on ``logit g`` for ``g``), ``"lnorm"`` (meanlog, sdlog; slopes) or
        ``"beta"`` (α, β; ``g``). Merged over the default ``{"g": ("beta", 5, 17)}`` (BILOG-MG's
        prior for five-option items, mode 0.2); pass ``{"g": None}`` for pure ML 3PL estimates.
    backend : {"numpy", "torch", "dask"} or Backend, default "numpy"
        Where the E-steps run (see :mod:`sapa.irt.backends`): ``"numpy"`` in this process,
        ``"torch"`` on a CUDA device when there is one (else PyTorch on the CPU), ``"dask"`` on
        a local cluster of worker processes; pass a :class:`~sapa.irt.backends.TorchBackend`
        or :class:`~sapa.irt.backends.DaskBackend` to choose the device or the scheduler. Every
        backend gives the same estimates to 1e-6; the M-step always runs in this process.
    rng : int, Generator or None
        Accepted for uniformity with Sapa's stochastic estimators; EM calibration is
        deterministic and draws nothing from it.

    Attributes
    ----------
    item_bank_ : ItemBank
        Estimated item parameters (slope–intercept form).
    groups_ : tuple of str
        Group labels; the first is the reference group.
    latent_mean_, latent_var_ : ndarray, shape (n_groups,)
        Estimated latent mean and variance of each group (reference group fixed at 0 and 1
        unless the table frees them).
    n_iter_ : int
        EM cycles run.
    converged_ : bool
        Whether the tolerance was met within ``max_iter`` cycles.
    loglik_trace_ : ndarray
        Marginal log-likelihood (plus log prior of the item parameters) at the start of each cycle
        and, last, at the final estimates. Plain EM never decreases it; with SQUAREM it also
        records the extrapolated points, including discarded ones.
    result_ : CalibrationResult
        Estimates, standard errors and fit statistics.
    backend_ : str
        The backend the E-steps ran on, e.g. ``"numpy"`` or ``"torch (cuda:0, float64)"``.

    Notes
    -----
    Model: ``θ_i ~ N(μ_g, σ²_g)`` for person ``i`` in group ``g``; responses are independent given
    ``θ``; items are shared across groups. The integral over ``θ`` is replaced by a sum over the
    fixed nodes with normal mass renormalised over the nodes (mirt's default quadrature). The E-step
    returns expected counts per item × category × node; the M-step maximises each item's expected
    log-posterior by Fisher scoring and updates the group moments in closed form. Estimates are not
    clamped: an item whose maximum lies far out (|a| > 10 or |b| > 6) is kept there and named in a
    :class:`~sapa.errors.BoundaryWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> from sapa.irt.models import ItemBank
    >>> bank = ItemBank.from_irt(a=[1.0, 1.5, 0.8], b=[-0.5, 0.0, 0.7])
    >>> rng = np.random.default_rng(1)
    >>> theta = rng.standard_normal(2000)
    >>> p = bank.probabilities(theta)[:, :, 1]
    >>> responses = (rng.random(p.shape) < p).astype(np.int8)
    >>> model = IRTModel(model="2PL").fit(responses)
    >>> bool(model.converged_)
    True
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "model": [_is_model_spec],
        "n_quad": Interval(int, 5, 201),
        "quad_range": Interval(float, 1.0, 20.0),
        "tol": Interval(float, 0.0, None, closed="neither"),
        "max_iter": Interval(int, 1, None),
        "accelerate": [{"squarem", "ramsay"}, None],
        "se_method": [{"oakes", "crossprod"}, None],
        "priors": [_is_prior_spec],
        "backend": [set(BACKEND_NAMES), Backend],
        "rng": [Interval(int, 0, None), np.random.Generator, None],
    }

    def __init__(
        self,
        *,
        model: str | Sequence[str] | Mapping[str, str] = "2PL",
        n_quad: int = 61,
        quad_range: float = 6.0,
        tol: float = 1e-4,
        max_iter: int = 500,
        accelerate: str | None = "squarem",
        se_method: str | None = "oakes",
        priors: Mapping[str, tuple[str, float, float] | None] | None = None,
        backend: str | Backend = "numpy",
        rng: RandomLike = None,
    ) -> None:
        self.model = model
        self.n_quad = n_quad
        self.quad_range = quad_range
        self.tol = tol
        self.max_iter = max_iter
        self.accelerate = accelerate
        self.se_method = se_method
        self.priors = priors
        self.backend = backend
        self.rng = rng

    # ---------------------------------------------------------------- public
    def fit(
        self,
        responses: np.ndarray | pd.DataFrame | ResponseDataset,
        *,
        weights: np.ndarray | None = None,
        groups: np.ndarray | pd.Series | Sequence[Any] | None = None,
        parameter_table: pd.DataFrame | None = None,
    ) -> IRTModel:
        """Calibrate the items on ``responses``.

        Parameters
        ----------
        responses : array_like, DataFrame or ResponseDataset, shape (n_persons, n_items)
            Integer categories ``0 … K−1``; ``−1`` or NaN for missing / not presented. A
            DataFrame's columns name the items. A :class:`~sapa.irt.backends.ResponseDataset`
            (Parquet) is read by the workers with the ``dask`` backend and into memory with the
            others; its weights and groups are columns of the dataset.
        weights : array_like, shape (n_persons,), optional
            Non-negative frequency or sampling weights; ``n_obs`` is their sum.
        groups : array_like, shape (n_persons,), optional
            Group label of each person. The first label in sorted order (or the first category
            of a pandas Categorical) is the reference group, N(0, 1) by default.
        parameter_table : DataFrame, optional
            An edited :meth:`initial_parameter_table` or ``result_.parameter_table()``: models,
            starting values, fixed parameters (``estimate=False``), bounds and priors. Fixes the
            model specification, so ``model`` and ``priors`` are then ignored.

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            A constructor argument is out of range.
        DataValidationError
            The responses, weights or groups are malformed.
        ModelSpecError
            The model specification does not match the data.
        BackendUnavailableError
            The backend's optional extra is not installed.
        """
        validate_params(type(self).__name__, self._parameter_constraints, vars(self))
        backend = resolve_backend(self.backend)
        if isinstance(responses, ResponseDataset):
            if weights is not None or groups is not None:
                raise DataValidationError(
                    "With a ResponseDataset, weights and groups are columns of the dataset "
                    "(its weight_column and group_column), not arguments of fit."
                )
            if backend.keeps_partitions:
                return self._fit_partitioned(backend, responses, parameter_table)
            responses, weights, groups = responses.read()
        names, data, group_labels = self._prepare(responses, weights, groups)
        summary = ResponseSummary.of(data)
        spec, codes = self._specify(names, group_labels, summary, parameter_table)
        if codes is not None:
            current = data.groups
            if current is None:
                current = np.zeros(data.responses.shape[0], np.int64)
            data = CalibrationData(data.responses, data.weights, codes[current])
        with backend.bind(data) as bound:
            return self._estimate(spec, bound, backend, summary, data)

    def _fit_partitioned(
        self, backend: Backend, dataset: ResponseDataset, parameter_table: pd.DataFrame | None
    ) -> IRTModel:
        """``fit`` with the partitions of ``dataset`` read and held by ``backend``'s workers."""
        with backend.open_dataset(dataset) as bound:  # type: ignore[attr-defined]
            names, summary = bound.item_names, bound.summary
            _refuse_unanswered(names, summary)
            spec, codes = self._specify(names, bound.group_labels, summary, parameter_table)
            if codes is not None:
                bound.recode_groups(codes)
            return self._estimate(spec, bound, backend, summary, None)

    def _specify(
        self,
        names: tuple[str, ...],
        group_labels: tuple[str, ...],
        summary: ResponseSummary,
        parameter_table: pd.DataFrame | None,
    ) -> tuple[ParameterSpec, np.ndarray | None]:
        """The starting specification and, with a table, the map from the data's group codes to
        the table's groups."""
        codes = None
        if parameter_table is None:
            spec = self._default_spec(names, group_labels, summary)
        else:
            spec, codes = _spec_from_table(parameter_table, names, group_labels)
        _check_categories(spec, summary)
        return spec, codes

    def _estimate(
        self,
        spec: ParameterSpec,
        bound: BoundResponses,
        backend: Backend,
        summary: ResponseSummary,
        data: CalibrationData | None,
    ) -> IRTModel:
        """EM on ``bound``, then the fitted attributes; ``data`` (when in memory) serves the
        standard errors later, otherwise they are computed now on ``bound``."""
        spec, trace, n_iter, converged, change = self._run_em(spec, bound)
        quadrature = spec.quadrature(self.n_quad, self.quad_range)
        final = bound.accumulate(spec.bank(), quadrature)
        trace.append(final.loglik + _log_prior(spec))
        if not converged:
            warnings.warn(
                f"EM did not converge in {self.max_iter} cycles (max change {change:.1e} > tol "
                f"{self.tol:.0e}). Increase max_iter, add a prior on g for 3PL items, or inspect "
                "items with p-values near 0 or 1.",
                ConvergenceWarning,
                stacklevel=4,
            )
        self.item_bank_ = spec.bank()
        _warn_boundaries(self.item_bank_)
        self.groups_ = spec.groups
        self.latent_mean_ = spec.group_values[:, 0].copy()
        self.latent_var_ = spec.group_values[:, 1].copy()
        self.n_iter_ = n_iter
        self.converged_ = converged
        self.loglik_trace_ = np.asarray(trace)
        self.backend_ = backend.describe()
        self.result_ = CalibrationResult(
            spec=spec,
            loglik=final.loglik,
            n_obs=summary.n_obs,
            data=data,
            se_method=self.se_method,
            n_quad=self.n_quad,
            quad_range=self.quad_range,
            source=None if data is not None else bound,
        )
        return self

    def initial_parameter_table(
        self,
        responses: np.ndarray | pd.DataFrame,
        *,
        groups: np.ndarray | pd.Series | Sequence[Any] | None = None,
    ) -> pd.DataFrame:
        """The parameter table ``fit`` would start from, for editing (fix anchors, set priors)."""
        validate_params(type(self).__name__, self._parameter_constraints, vars(self))
        names, data, group_labels = self._prepare(responses, None, groups)
        return self._default_spec(names, group_labels, ResponseSummary.of(data)).to_frame()

    # -------------------------------------------------------------- internals
    def _prepare(
        self,
        responses: np.ndarray | pd.DataFrame,
        weights: np.ndarray | None,
        groups: np.ndarray | pd.Series | Sequence[Any] | None,
    ) -> tuple[tuple[str, ...], CalibrationData, tuple[str, ...]]:
        if isinstance(responses, pd.DataFrame):
            names = tuple(str(c) for c in responses.columns)
            values = responses.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = np.asarray(responses)
            names = default_item_names(values.shape[1]) if values.ndim == 2 else ()
        if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
            raise DataValidationError(
                "responses must be a non-empty 2-D array (persons × items); "
                f"got shape {values.shape}."
            )
        if values.dtype.kind == "f":
            values = np.where(np.isnan(values), -1.0, values)
            if np.any(values != np.round(values)):
                raise DataValidationError("responses must be whole numbers (categories 0 … K−1).")
        elif values.dtype.kind not in "iub":
            raise DataValidationError(f"responses must be numeric; got dtype {values.dtype}.")
        if values.min() < -1 or values.max() > 127:
            raise DataValidationError("responses must be categories 0 … 127, or −1 for missing.")
        matrix = values.astype(np.int8)
        problems = [
            Problem("<responses>", None, names[j], "no person answered this item")
            for j in np.flatnonzero((matrix >= 0).sum(axis=0) == 0)
        ]
        if problems:
            raise DataValidationError(problems)
        n_persons = matrix.shape[0]
        weight_array = None
        if weights is not None:
            weight_array = np.asarray(weights, dtype=np.float64).reshape(-1)
            if weight_array.shape != (n_persons,) or not np.all(np.isfinite(weight_array)):
                raise DataValidationError(f"weights must be {n_persons} finite numbers.")
            if np.any(weight_array < 0):
                raise DataValidationError("weights must be non-negative.")
        if groups is None:
            labels: tuple[str, ...] = ("all",)
            codes = None
        else:
            series = pd.Series(groups)
            if len(series) != n_persons or series.isna().any():
                raise DataValidationError(
                    f"groups must give a label for each of {n_persons} persons."
                )
            if isinstance(series.dtype, pd.CategoricalDtype):
                categorical = series.cat.remove_unused_categories()
            else:
                categorical = series.astype(pd.CategoricalDtype(sorted(series.unique())))
            labels = tuple(str(c) for c in categorical.cat.categories)
            codes = categorical.cat.codes.to_numpy().astype(np.int64)
        answered = (matrix >= 0).any(axis=1)
        if weight_array is not None:
            answered &= weight_array > 0
        data = CalibrationData(
            responses=np.ascontiguousarray(matrix[answered]),
            weights=None if weight_array is None else weight_array[answered],
            groups=None if codes is None else codes[answered],
        )
        return names, data, labels

    def _item_models(self, names: tuple[str, ...]) -> list[str]:
        if isinstance(self.model, str):
            return [self.model] * len(names)
        if isinstance(self.model, Mapping):
            missing = [name for name in names if name not in self.model]
            if missing:
                raise ModelSpecError(f"The model dict names no model for items {missing}.")
            return [self.model[name] for name in names]
        models = list(self.model)
        if len(models) != len(names):
            raise ModelSpecError(
                f"The model list has {len(models)} entries for {len(names)} items."
            )
        return models

    def _default_spec(
        self, names: tuple[str, ...], group_labels: tuple[str, ...], summary: ResponseSummary
    ) -> ParameterSpec:
        requested = self._item_models(names)
        highest = summary.highest.astype(np.int64)
        for j, model in enumerate(requested):
            if _BANK_MODEL.get(model, model) in DICHOTOMOUS_MODELS and highest[j] > 1:
                raise ModelSpecError(
                    f"Item {names[j]!r} has categories up to {highest[j]} but model {model!r} "
                    "is dichotomous; use 'GRM', 'GPCM' or 'PCM'."
                )
        n_categories = np.maximum(highest + 1, 2)
        bank_models = tuple(_BANK_MODEL.get(m, m) for m in requested)
        spec = ParameterSpec.empty(names, bank_models, n_categories, group_labels)
        priors = {**DEFAULT_PRIORS, **(self.priors or {})}
        for j, model in enumerate(requested):
            columns = spec.columns_of(j)
            for column, name in zip(columns, spec.parameter_names_of(j), strict=True):
                prior = priors.get("d" if name.startswith("d") else name)
                if prior is not None:
                    spec.prior_kind[j, column] = prior[0]
                    spec.prior_1[j, column] = prior[1]
                    spec.prior_2[j, column] = prior[2]
            spec.values[j, 0] = 1.0
            spec.free[j, 0] = model not in _FIXED_UNIT_SLOPE
            spec.values[j, columns[1:]] = _starting_values(spec, j, summary)
        spec.group_free[1:] = True
        spec.group_free[0, 1] = not spec.free[:, 0].any()
        return spec

    def _run_em(
        self, spec: ParameterSpec, bound: BoundResponses
    ) -> tuple[ParameterSpec, list[float], int, bool, float]:
        trace: list[float] = []

        def em_cycle(current: ParameterSpec) -> ParameterSpec:
            """One E-step and M-step from ``current``; records the log-posterior at ``current``."""
            quadrature = current.quadrature(self.n_quad, self.quad_range)
            stats = bound.accumulate(current.bank(), quadrature)
            trace.append(stats.loglik + _log_prior(current))
            updated = m_step(current, stats, quadrature.nodes)
            _check_group_moments(updated)
            return updated

        if self.accelerate == "squarem":
            final, converged, change = _squarem(spec, em_cycle, trace, self.tol, self.max_iter)
        else:
            final, converged, change = _stepwise_em(
                spec, em_cycle, self.tol, self.max_iter, ramsay=self.accelerate == "ramsay"
            )
        return final, trace, len(trace), converged, change


def _largest_change(before: ParameterSpec, after: ParameterSpec) -> float:
    """The convergence measure: largest absolute change of a free parameter (internal scale)."""
    return float(np.max(np.abs(after.free_vector() - before.free_vector()), initial=0.0))


def _stepwise_em(
    spec: ParameterSpec,
    em_cycle: Callable[[ParameterSpec], ParameterSpec],
    tol: float,
    max_iter: int,
    *,
    ramsay: bool,
) -> tuple[ParameterSpec, bool, float]:
    """EM cycles one after another, each optionally followed by Ramsay's extrapolation."""
    current = spec.free_vector()
    previous_step: np.ndarray | None = None
    change = np.inf
    for _ in range(max_iter):
        updated = em_cycle(spec)
        proposal = updated.free_vector()
        em_step = proposal - current
        change = float(np.max(np.abs(em_step), initial=0.0))
        if change < tol:
            return updated, True, change
        if ramsay and previous_step is not None:
            updated, proposal = _ramsay(updated, current, proposal, em_step - previous_step)
        previous_step = proposal - current
        spec, current = updated, proposal
    return spec, False, change


def _squarem(
    spec: ParameterSpec,
    em_cycle: Callable[[ParameterSpec], ParameterSpec],
    trace: list[float],
    tol: float,
    max_iter: int,
) -> tuple[ParameterSpec, bool, float]:
    """SQUAREM, scheme S3 (Varadhan & Roland 2008).

    From ``x0`` two EM cycles give ``x1`` and ``x2``; with ``r = x1 − x0``, ``v = x2 − 2x1 + x0``
    and ``α = min(−‖r‖/‖v‖, −1)`` the extrapolation ``x0 − 2αr + α²v`` (projected onto the
    table's bounds) is followed by one stabilising EM cycle. The extrapolation is kept only if
    its log-posterior is at least that of ``x1``; otherwise the next round starts from ``x2``.
    ``α = −1`` gives ``x2`` itself, so a round is never worse than two EM cycles.
    """
    change = np.inf
    while len(trace) < max_iter:
        first = em_cycle(spec)
        change = _largest_change(spec, first)
        if change < tol:
            return first, True, change
        if len(trace) >= max_iter:
            return first, False, change
        second = em_cycle(first)
        loglik_first = trace[-1]
        change = _largest_change(first, second)
        if change < tol:
            return second, True, change
        start = spec.free_vector()
        r = first.free_vector() - start
        v = second.free_vector() - first.free_vector() - r
        spec = second
        curvature = float(v @ v)
        if curvature <= 0 or len(trace) >= max_iter:
            continue
        alpha = min(-np.sqrt(float(r @ r) / curvature), -1.0)
        candidate = spec.with_free_vector(start - 2 * alpha * r + alpha**2 * v).within_bounds()
        if not candidate.is_valid():
            continue
        stabilised = em_cycle(candidate)
        if np.isfinite(trace[-1]) and trace[-1] >= loglik_first:
            spec = stabilised
            change = _largest_change(candidate, stabilised)
            if change < tol:
                return stabilised, True, change
    return spec, False, change


def _spec_from_table(
    table: pd.DataFrame, names: tuple[str, ...], group_labels: tuple[str, ...]
) -> tuple[ParameterSpec, np.ndarray]:
    """Spec from an edited table, items in response order, and the table's group index of each
    of the data's group codes."""
    try:
        spec = ParameterSpec.from_frame(table)
    except (ValueError, KeyError) as exc:
        raise ModelSpecError(f"Invalid parameter table: {exc}") from exc
    if set(spec.items) != set(names) or len(spec.items) != len(names):
        raise ModelSpecError(
            "The parameter table's items do not match the responses' items: "
            f"table has {sorted(set(spec.items) - set(names))} extra, "
            f"responses have {sorted(set(names) - set(spec.items))} extra."
        )
    unknown = sorted(set(group_labels) - set(spec.groups))
    if unknown:
        raise ModelSpecError(f"The parameter table has no rows for groups {unknown}.")
    order = [spec.items.index(name) for name in names]
    table_codes = np.array([spec.groups.index(label) for label in group_labels], dtype=np.int64)
    return _reorder(spec, order), table_codes


def _ramsay(
    updated: ParameterSpec, current: np.ndarray, proposal: np.ndarray, curvature: np.ndarray
) -> tuple[ParameterSpec, np.ndarray]:
    """Ramsay's (1975) extrapolation ``x ← (1 − α)·M(x) + α·x`` with ``α = 1 − ‖Δ‖/‖Δ − Δ_prev‖``
    bounded below by −5, projected onto the table's bounds; kept only if the result is valid."""
    denominator = float(curvature @ curvature)
    if denominator <= 0:
        return updated, proposal
    step = proposal - current
    alpha = max(1.0 - np.sqrt(float(step @ step) / denominator), -5.0)
    extrapolated = (1 - alpha) * proposal + alpha * current
    candidate = updated.with_free_vector(extrapolated).within_bounds()
    extrapolated = candidate.free_vector()
    if candidate.is_valid():
        return candidate, extrapolated
    return updated, proposal


def _starting_values(spec: ParameterSpec, item: int, summary: ResponseSummary) -> np.ndarray:
    """Intercepts (and ``g``) to start from: logits of observed proportions at slope 1."""
    k = int(spec.n_categories[item])
    counts = np.zeros(k)
    width = min(k, summary.counts.shape[1])
    counts[:width] = summary.counts[item, :width]
    counts += 0.5
    model = spec.models[item]
    if model == "GPCM":
        return np.log(counts[1:] / counts[:-1])
    proportions = counts / counts.sum()
    at_least = np.clip(proportions[::-1].cumsum()[::-1][1:], 0.01, 0.99)
    if model == "3PL":
        g = 0.2
        if spec.prior_kind[item, spec.guess_column] == "beta":
            alpha, beta = spec.prior_1[item, -1], spec.prior_2[item, -1]
            g = (alpha - 1) / (alpha + beta - 2)
        p = np.clip((at_least[0] - g) / (1 - g), 0.01, 0.99)
        return np.array([logit(p), g])
    intercepts = logit(at_least)
    for step in range(1, intercepts.size):
        intercepts[step] = min(intercepts[step], intercepts[step - 1] - 0.1)
    return intercepts


def _reorder(spec: ParameterSpec, order: list[int]) -> ParameterSpec:
    index = np.asarray(order)
    return ParameterSpec(
        items=tuple(spec.items[j] for j in index),
        models=tuple(spec.models[j] for j in index),
        n_categories=spec.n_categories[index],
        values=spec.values[index],
        free=spec.free[index],
        lower=spec.lower[index],
        upper=spec.upper[index],
        prior_kind=spec.prior_kind[index],
        prior_1=spec.prior_1[index],
        prior_2=spec.prior_2[index],
        groups=spec.groups,
        group_values=spec.group_values,
        group_free=spec.group_free,
    )


def _refuse_unanswered(names: tuple[str, ...], summary: ResponseSummary) -> None:
    problems = [
        Problem("<responses>", None, names[j], "no person answered this item")
        for j in np.flatnonzero(summary.highest < 0)
    ]
    if problems:
        raise DataValidationError(problems)


def _check_categories(spec: ParameterSpec, summary: ResponseSummary) -> None:
    highest = summary.highest
    too_high = np.flatnonzero(highest >= spec.n_categories)
    if too_high.size:
        raise DataValidationError(
            [
                Problem(
                    "<responses>",
                    None,
                    spec.items[j],
                    f"category {highest[j]} but the item has {spec.n_categories[j]} categories",
                )
                for j in too_high
            ]
        )
    problems = []
    n_seen = summary.n_categories_seen
    for j in range(len(spec.items)):
        if n_seen[j] < 2 and spec.free[j].any():
            problems.append(
                Problem("<responses>", None, spec.items[j], "only one category observed")
            )
    if problems:
        raise DataValidationError(problems)


def _check_group_moments(spec: ParameterSpec) -> None:
    """Refuse a group whose estimated latent variance collapsed (its responses cannot identify
    a normal distribution, e.g. every member answered every item alike)."""
    spacing_floor = 1e-8
    collapsed = ~(spec.group_values[:, 1] > spacing_floor) | ~np.isfinite(spec.group_values[:, 0])
    if collapsed.any():
        names = [spec.groups[g] for g in np.flatnonzero(collapsed)]
        raise DataValidationError(
            f"The latent distribution of group(s) {names} collapsed (variance → 0): their "
            "responses do not identify a mean and variance. Fix the group's variance in the "
            "parameter table or merge the group."
        )


def _log_prior(spec: ParameterSpec) -> float:
    """Log prior density of the free item parameters (constants dropped)."""
    is_guess = np.zeros(spec.values.shape, dtype=bool)
    is_guess[:, spec.guess_column] = True
    value = prior_terms(
        spec.prior_kind, spec.prior_1, spec.prior_2, spec.internal_values(), is_guess
    )[0]
    return float(value[spec.free].sum())


def _warn_boundaries(bank: ItemBank) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        difficulties = -bank.intercepts / bank.slopes[:, None]
    extreme_b = np.nanmax(np.abs(difficulties), axis=1) > DIFFICULTY_BOUNDARY
    extreme_a = np.abs(bank.slopes) > SLOPE_BOUNDARY
    flagged = np.flatnonzero(extreme_a | extreme_b)
    if flagged.size:
        listed = ", ".join(
            f"{bank.names[j]} (a={bank.slopes[j]:.3g}, max |b|="
            f"{np.nanmax(np.abs(difficulties[j])):.3g})"
            for j in flagged
        )
        warnings.warn(
            f"Estimates beyond |a| > {SLOPE_BOUNDARY:g} or |b| > {DIFFICULTY_BOUNDARY:g} "
            f"(logit scale): {listed}. These are the maximum-likelihood values, not clamped; "
            "review these items (key, wording) or consider removing them.",
            BoundaryWarning,
            stacklevel=3,
        )


class CalibrationResult:
    """Estimates of a calibration with standard errors and fit statistics (statsmodels-style).

    Parameters are indexed by ``(item or group, parameter)`` on the table's scale:
    slope–intercept form, logit metric (D = 1), ``g`` as a probability, group ``mean``/``var``.
    Standard errors are computed from ``data`` (in memory) on first access, or, when only a
    backend's ``source`` holds the responses, at construction while it still holds them.
    """

    def __init__(
        self,
        *,
        spec: ParameterSpec,
        loglik: float,
        n_obs: float,
        data: CalibrationData | None,
        se_method: str | None,
        n_quad: int,
        quad_range: float,
        source: StatisticsSource | None = None,
    ) -> None:
        self._spec = spec
        self._data = data
        self._n_quad = n_quad
        self._quad_range = quad_range
        self.se_method = se_method
        self.loglik = float(loglik)
        self.n_obs = n_obs
        index = pd.MultiIndex.from_tuples(spec.free_labels(), names=["item", "parameter"])
        item_values = spec.values[spec.free]
        group_values = spec.group_values[spec.group_free]
        self.params = pd.Series(np.concatenate([item_values, group_values]), index=index)
        self._source = source
        if data is None and source is not None:
            _ = self.cov_params
        self._source = None

    @property
    def df_model(self) -> int:
        """Number of estimated parameters."""
        return int(self.params.size)

    @property
    def aic(self) -> float:
        """``−2 logLik + 2k``."""
        return -2 * self.loglik + 2 * self.df_model

    @property
    def bic(self) -> float:
        """``−2 logLik + k log n`` with ``n = n_obs`` (persons, or the sum of weights)."""
        return -2 * self.loglik + self.df_model * np.log(self.n_obs)

    @property
    def item_bank(self) -> ItemBank:
        """The estimated item parameters."""
        return self._spec.bank()

    @cached_property
    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of :attr:`params` (by ``se_method``; NaN when it is None).

        Raises
        ------
        NotFittedError
            Never for a fitted model; kept for the results-object contract.
        """
        index = self.params.index
        if self.se_method is None:
            return pd.DataFrame(np.nan, index=index, columns=index)
        compute = oakes_covariance if self.se_method == "oakes" else crossprod_covariance
        responses = self._data if self._data is not None else self._source
        if responses is None:
            return pd.DataFrame(np.nan, index=index, columns=index)
        internal = compute(self._spec, responses, self._n_quad, self._quad_range)
        return pd.DataFrame(to_table_scale(self._spec, internal), index=index, columns=index)

    @cached_property
    def bse(self) -> pd.Series:
        """Standard errors of :attr:`params`."""
        with np.errstate(invalid="ignore"):
            return pd.Series(np.sqrt(np.diag(self.cov_params.to_numpy())), index=self.params.index)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald intervals ``estimate ± z_{1−α/2}·se``, columns ``lower`` and ``upper``."""
        z = scipy_stats.norm.ppf(1 - alpha / 2)
        return pd.DataFrame(
            {"lower": self.params - z * self.bse, "upper": self.params + z * self.bse}
        )

    def to_frame(self) -> pd.DataFrame:
        """Estimates with ``se`` and 95% Wald limits, one row per free parameter."""
        interval = self.conf_int()
        return pd.DataFrame(
            {
                "estimate": self.params,
                "se": self.bse,
                "lower": interval["lower"],
                "upper": interval["upper"],
            }
        )

    def coef(self, irt_pars: bool = True, scaling: float = 1.0) -> pd.DataFrame:
        """Item parameters, one row per item.

        ``irt_pars=False``: slope–intercept form (``a``, ``d`` or ``d1 …``, ``g``).
        ``irt_pars=True``: IRT form ``a/D``, ``b = −d/a``, ``g`` with scaling constant ``D =
        scaling`` (see :meth:`ItemBank.irt_parameters`).
        """
        bank = self.item_bank
        if irt_pars:
            return bank.irt_parameters(scaling)
        frame = pd.DataFrame({"item": list(bank.names), "model": list(bank.models)})
        frame["a"] = bank.slopes
        if bank.max_categories == 2:
            frame["d"] = bank.intercepts[:, 0]
        else:
            for k in range(bank.intercepts.shape[1]):
                frame[f"d{k + 1}"] = bank.intercepts[:, k]
        frame["g"] = bank.guessing
        return frame

    def parameter_table(self) -> pd.DataFrame:
        """The parameter table at the estimates; pass it to ``IRTModel.fit(parameter_table=…)``."""
        return self._spec.to_frame()

    def summary(self) -> str:
        """A plain-text report: fit statistics and the parameter table with standard errors."""
        frame = self.to_frame()
        header = [
            "IRT calibration (marginal maximum likelihood, Bock-Aitkin EM)",
            f"  persons (n_obs): {self.n_obs:g}   items: {len(self._spec.items)}   "
            f"groups: {len(self._spec.groups)}",
            f"  log-likelihood: {self.loglik:.3f}   AIC: {self.aic:.3f}   BIC: {self.bic:.3f}",
            f"  parameters: {self.df_model}   standard errors: {self.se_method or 'none'}",
            "  slope-intercept form, logit scale (D = 1)",
            "",
        ]
        return "\n".join(header) + frame.to_string(float_format=lambda v: f"{v:.4f}")
