"""The editable parameter table of a calibration and its array form.

One table serves fixed-item calibration (``estimate = False`` on anchor items), linking anchors,
priors and warm starts. Columns:

``item``
    Item name, or the group label for latent-distribution rows.
``model``
    Item model (``Rasch``, ``2PL``, ``3PL``, ``GRM``, ``GPCM``) or ``group``.
``parameter``
    ``a`` (slope), ``d`` (dichotomous intercept) or ``d1 … d{K−1}`` (polytomous intercepts),
    ``g`` (3PL lower asymptote); ``mean`` and ``var`` for group rows. Slope–intercept form,
    logit scale (D = 1).
``value``
    Starting value before a fit, estimate after it.
``lower``, ``upper``
    Bounds honoured by the M-step (default unbounded; ``g`` in [0, 1], ``var`` in [0, ∞)).
``estimate``
    ``True`` to estimate, ``False`` to hold at ``value``.
``prior``, ``prior_1``, ``prior_2``
    ``none``; ``norm`` (mean, sd) on the value — for ``g`` on ``logit(g)``, a logit-normal prior;
    ``lnorm`` (meanlog, sdlog) for a positive slope; ``beta`` (α, β) for ``g``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from sapa.irt._estep import Quadrature
from sapa.irt.models import DICHOTOMOUS_MODELS, ItemBank

__all__ = ["COLUMNS", "PRIOR_KINDS", "ParameterSpec", "parameter_names"]

COLUMNS = (
    "item",
    "model",
    "parameter",
    "value",
    "lower",
    "upper",
    "estimate",
    "prior",
    "prior_1",
    "prior_2",
)
PRIOR_KINDS = frozenset({"none", "norm", "lnorm", "beta"})
GROUP_MODEL = "group"


def parameter_names(model: str, n_categories: int) -> list[str]:
    """Parameter names of one item in table order: ``a``, ``d`` or ``d1 …``, then ``g`` (3PL)."""
    intercepts = ["d"] if n_categories == 2 else [f"d{k}" for k in range(1, n_categories)]
    return ["a", *intercepts, *(["g"] if model == "3PL" else [])]


@dataclass(frozen=True, eq=False)
class ParameterSpec:
    """A parameter table in array form.

    Item parameters live in ``(n_items, max_categories + 1)`` matrices with columns
    ``[a, d_1 … d_{Kmax−1}, g]`` (NaN / False where an item lacks the parameter). The *internal*
    scale used by the optimiser replaces ``g`` by ``logit(g)``; everything else is unchanged.
    """

    items: tuple[str, ...]
    models: tuple[str, ...]
    n_categories: np.ndarray
    values: np.ndarray
    free: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    prior_kind: np.ndarray
    prior_1: np.ndarray
    prior_2: np.ndarray
    groups: tuple[str, ...]
    group_values: np.ndarray  # (n_groups, 2): mean, var
    group_free: np.ndarray  # (n_groups, 2) bool

    # ----------------------------------------------------------- layout
    @property
    def guess_column(self) -> int:
        """Column of ``g`` in the item matrices."""
        return self.values.shape[1] - 1

    def columns_of(self, item: int) -> list[int]:
        """Matrix columns used by item ``item``, in :func:`parameter_names` order."""
        k = int(self.n_categories[item])
        return [0, *range(1, k), *([self.guess_column] if self.models[item] == "3PL" else [])]

    def column_of(self, item: int, parameter: str) -> int:
        """Matrix column of parameter ``parameter`` of item ``item``."""
        names = parameter_names(self.models[item], int(self.n_categories[item]))
        if parameter not in names:
            raise KeyError(parameter)
        return self.columns_of(item)[names.index(parameter)]

    # ------------------------------------------------------ conversions
    def bank(self) -> ItemBank:
        """The item parameters as an :class:`ItemBank`."""
        width = int(self.n_categories.max()) - 1
        return ItemBank(
            names=self.items,
            models=self.models,
            slopes=self.values[:, 0],
            intercepts=self.values[:, 1 : 1 + width],
            guessing=np.nan_to_num(self.values[:, self.guess_column], nan=0.0),
            n_categories=self.n_categories,
        )

    def quadrature(self, n_quad: int, quad_range: float) -> Quadrature:
        """Quadrature with each group's current normal latent distribution."""
        return Quadrature.normal(
            n_quad, quad_range, self.group_values[:, 0], self.group_values[:, 1]
        )

    def internal_values(self) -> np.ndarray:
        """Item matrix on the optimiser's scale (``g`` → ``logit g``)."""
        out = self.values.copy()
        out[:, self.guess_column] = logit(out[:, self.guess_column])
        return out

    def with_internal_values(self, internal: np.ndarray) -> ParameterSpec:
        """A copy whose item matrix is ``internal`` given on the optimiser's scale."""
        out = internal.copy()
        out[:, self.guess_column] = expit(out[:, self.guess_column])
        return replace(self, values=out)

    def free_vector(self) -> np.ndarray:
        """Free parameters on the internal scale: item cells (row-major), then group cells."""
        return np.concatenate(
            [self.internal_values()[self.free], self.group_values[self.group_free]]
        )

    def with_free_vector(self, vector: np.ndarray) -> ParameterSpec:
        """A copy with the free parameters replaced by ``vector`` (as :meth:`free_vector`)."""
        n_item = int(self.free.sum())
        internal = self.internal_values()
        internal[self.free] = vector[:n_item]
        group_values = self.group_values.copy()
        group_values[self.group_free] = vector[n_item:]
        return replace(self.with_internal_values(internal), group_values=group_values)

    def free_labels(self) -> list[tuple[str, str]]:
        """``(item or group, parameter)`` of each entry of :meth:`free_vector`."""
        labels: list[tuple[str, str]] = []
        for j, row in enumerate(self.free):
            names = dict(zip(self.columns_of(j), self.parameter_names_of(j), strict=True))
            labels.extend((self.items[j], names[int(c)]) for c in np.flatnonzero(row))
        for g, row in enumerate(self.group_free):
            labels.extend((self.groups[g], ("mean", "var")[c]) for c in np.flatnonzero(row))
        return labels

    def parameter_names_of(self, item: int) -> list[str]:
        """:func:`parameter_names` of item ``item``."""
        return parameter_names(self.models[item], int(self.n_categories[item]))

    def within_bounds(self) -> ParameterSpec:
        """A copy with free item values projected onto ``[lower, upper]``."""
        projected = np.where(self.free, np.clip(self.values, self.lower, self.upper), self.values)
        return replace(self, values=projected)

    def is_valid(self) -> bool:
        """Whether the values define proper response functions and latent distributions and lie
        within the table's bounds."""
        free_values = self.values[self.free]
        if np.any(free_values < self.lower[self.free]) or np.any(
            free_values > self.upper[self.free]
        ):
            return False
        if not (
            np.all(np.isfinite(self.values[self.free])) and np.all(self.group_values[:, 1] > 0)
        ):
            return False
        for j, model in enumerate(self.models):
            if model == "GRM":
                d = self.values[j, 1 : int(self.n_categories[j])]
                if np.any(np.diff(d) >= 0):
                    return False
        return True

    def to_frame(self) -> pd.DataFrame:
        """The editable table (see the module docstring for its columns)."""
        rows: list[tuple[object, ...]] = []
        for j, item in enumerate(self.items):
            for column, name in zip(self.columns_of(j), self.parameter_names_of(j), strict=True):
                rows.append(
                    (
                        item,
                        self.models[j],
                        name,
                        self.values[j, column],
                        self.lower[j, column],
                        self.upper[j, column],
                        bool(self.free[j, column]),
                        str(self.prior_kind[j, column]),
                        self.prior_1[j, column],
                        self.prior_2[j, column],
                    )
                )
        for g, group in enumerate(self.groups):
            for c, name in enumerate(("mean", "var")):
                low = -np.inf if name == "mean" else 0.0
                rows.append(
                    (
                        group,
                        GROUP_MODEL,
                        name,
                        self.group_values[g, c],
                        low,
                        np.inf,
                        bool(self.group_free[g, c]),
                        "none",
                        np.nan,
                        np.nan,
                    )
                )
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        return frame.astype({"value": float, "lower": float, "upper": float, "estimate": bool})

    @classmethod
    def empty(
        cls,
        items: tuple[str, ...],
        models: tuple[str, ...],
        n_categories: np.ndarray,
        groups: tuple[str, ...],
    ) -> ParameterSpec:
        """A spec with every used cell free and unbounded (``g`` in [0, 1]), no priors, zero
        values, and every group at N(0, 1) with nothing free; callers fill in the rest."""
        n_items = len(items)
        width = int(np.max(n_categories)) + 1
        used = np.zeros((n_items, width), dtype=bool)
        guess_column = width - 1
        for j, model in enumerate(models):
            used[j, : int(n_categories[j])] = True
            used[j, guess_column] = model == "3PL"
        lower = np.where(used, -np.inf, np.nan)
        upper = np.where(used, np.inf, np.nan)
        lower[used[:, guess_column], guess_column] = 0.0
        upper[used[:, guess_column], guess_column] = 1.0
        return cls(
            items=items,
            models=models,
            n_categories=np.asarray(n_categories, dtype=np.int64),
            values=np.where(used, 0.0, np.nan),
            free=used.copy(),
            lower=lower,
            upper=upper,
            prior_kind=np.where(used, "none", "").astype(object),
            prior_1=np.full((n_items, width), np.nan),
            prior_2=np.full((n_items, width), np.nan),
            groups=groups,
            group_values=np.tile([0.0, 1.0], (len(groups), 1)),
            group_free=np.zeros((len(groups), 2), dtype=bool),
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ParameterSpec:
        """Read an edited table back (items and groups in their order of first appearance).

        Raises
        ------
        ValueError
            If a column is missing, a model or prior is unknown, or an item's parameters do not
            match its model.
        """
        missing = [column for column in COLUMNS if column not in frame.columns]
        if missing:
            raise ValueError(f"The parameter table lacks the columns {missing}.")
        is_group = frame["model"] == GROUP_MODEL
        item_rows = frame[~is_group]
        items = tuple(str(name) for name in pd.unique(item_rows["item"]))
        models: list[str] = []
        n_categories: list[int] = []
        for item in items:
            rows = item_rows[item_rows["item"].astype(str) == item]
            model = str(rows["model"].iloc[0])
            if model not in DICHOTOMOUS_MODELS | {"GRM", "GPCM"}:
                raise ValueError(f"Item {item!r} has an unknown model {model!r}.")
            n_intercepts = int(rows["parameter"].astype(str).str.fullmatch(r"d\d*").sum())
            models.append(model)
            n_categories.append(n_intercepts + 1)
        groups = tuple(str(name) for name in pd.unique(frame.loc[is_group, "item"]))
        spec = cls.empty(items, tuple(models), np.array(n_categories), groups or ("all",))
        position = {item: j for j, item in enumerate(items)}
        spec.free[:] = False
        for row in item_rows.itertuples(index=False):
            j = position[str(row.item)]
            expected = spec.parameter_names_of(j)
            if str(row.parameter) not in expected:
                raise ValueError(
                    f"Item {row.item!r} ({spec.models[j]}) has no parameter {row.parameter!r}; "
                    f"expected {expected}."
                )
            prior = str(row.prior)
            if prior not in PRIOR_KINDS:
                raise ValueError(f"Unknown prior {prior!r}; expected one of {sorted(PRIOR_KINDS)}.")
            c = spec.column_of(j, str(row.parameter))
            spec.values[j, c] = float(row.value)
            spec.lower[j, c] = float(row.lower)
            spec.upper[j, c] = float(row.upper)
            spec.free[j, c] = bool(row.estimate)
            spec.prior_kind[j, c] = prior
            spec.prior_1[j, c] = float(row.prior_1)
            spec.prior_2[j, c] = float(row.prior_2)
        group_position = {group: g for g, group in enumerate(groups)}
        for row in frame[is_group].itertuples(index=False):
            g = group_position[str(row.item)]
            c = ("mean", "var").index(str(row.parameter))
            spec.group_values[g, c] = float(row.value)
            spec.group_free[g, c] = bool(row.estimate)
        return spec
