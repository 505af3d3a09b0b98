"""Linking two calibrations onto one scale through common items.

A calibration identifies θ only up to a linear transformation. Given the parameters of the same
(common, anchor) items estimated on a *source* scale and on a *target* scale, the constants A and
B of

    θ_target = A·θ_source + B

place the source calibration on the target scale. In slope–intercept form every item model of
:class:`~sapa.irt.models.ItemBank` transforms alike: a·θ_s + d = (a/A)·θ_t + (d − a·B/A), so
slopes become ``a/A`` and every intercept ``d − a·B/A`` (guessing is unchanged); in IRT form
``a* = a/A`` and ``b* = A·b + B`` (all thresholds/step difficulties).

Methods (Kolen & Brennan 2014, ch. 6):

``"mean-mean"``
    A = mean(a_source) / mean(a_target), B = mean(b_target) − A·mean(b_source)
    (Loyd & Hoover 1980); b runs over every threshold of every common item.
``"mean-sigma"``
    A = sd(b_target) / sd(b_source), same B (Marco 1977).
``"haebara"``
    minimises Σ_q w_q Σ_j Σ_k [P_jk^target(θ_q) − P_jk^source((θ_q − B)/A)]², the squared
    differences of item category characteristic curves summed over every category (Haebara
    1980; Kim & Lee 2006 for mixed formats; for a 0/1 item this is twice the squared difference
    of its ICC).
``"stocking-lord"``
    minimises Σ_q w_q [Σ_j E_j^target(θ_q) − Σ_j E_j^source((θ_q − B)/A)]², the squared
    difference of the common items' test characteristic curves (Stocking & Lord 1983).

The characteristic-curve criteria are evaluated on a grid of θ on the target scale (default 41
equally spaced points on [−4, 4], equal weights, as in R ``plink``), and are minimised by BFGS
over (log A, B) from the mean–sigma solution.

Fixed-item calibration — the alternative to linking — holds the anchor items at their base-scale
values while the new items and the group's mean and variance are estimated; build its parameter
table with :func:`fixed_item_table`.

References
----------
Kolen, M. J. & Brennan, R. L. (2014). *Test Equating, Scaling, and Linking* (3rd ed.), ch. 6.
Haebara, T. (1980). Equating logistic ability scales by a weighted least squares method.
*Japanese Psychological Research* 22, 144–149.
Stocking, M. L. & Lord, F. M. (1983). Developing a common metric in item response theory.
*Applied Psychological Measurement* 7, 201–210.
Kim, S. & Lee, W.-C. (2006). An extension of four IRT linking methods for mixed-format tests.
*Journal of Educational Measurement* 43, 53–76.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from sapa._validation import validate_params
from sapa.errors import DataValidationError, ModelSpecError, Problem
from sapa.irt.models import ItemBank

__all__ = [
    "LINKING_METHODS",
    "LinkingResult",
    "compare_linking_methods",
    "fixed_item_table",
    "link",
    "transform_bank",
]

LinkingMethod = Literal["mean-mean", "mean-sigma", "haebara", "stocking-lord"]
LINKING_METHODS: tuple[str, ...] = ("mean-mean", "mean-sigma", "haebara", "stocking-lord")

DEFAULT_GRID = np.linspace(-4.0, 4.0, 41)
"""θ points (target scale) of the characteristic-curve criteria."""


def transform_bank(bank: ItemBank, A: float, B: float) -> ItemBank:  # noqa: N803
    """Express ``bank`` on the scale θ* = A·θ + B.

    Slopes become ``a/A`` and every intercept ``d − a·B/A``; lower asymptotes are unchanged.
    Each item's response function is preserved: P*(A·θ + B) = P(θ).
    """
    if not A > 0:
        raise ModelSpecError(f"The linking slope A must be positive. Got {A!r} instead.")
    slopes = bank.slopes / A
    return ItemBank(
        names=bank.names,
        models=bank.models,
        slopes=slopes,
        intercepts=bank.intercepts - (bank.slopes * B / A)[:, None],
        guessing=bank.guessing,
        n_categories=bank.n_categories,
    )


@dataclass(frozen=True)
class LinkingResult:
    """Linking constants of θ_target = A·θ_source + B.

    Attributes
    ----------
    A, B : float
        Slope and intercept of the transformation.
    method : str
        One of :data:`LINKING_METHODS`.
    common_items : list of (str, str)
        The (source name, target name) pairs used.
    criterion : float
        Value of the minimised criterion (NaN for the moment methods).
    """

    A: float  # noqa: N815
    B: float  # noqa: N815
    method: str
    common_items: list[tuple[str, str]]
    criterion: float = float("nan")

    def transform_theta(self, theta: ArrayLike) -> NDArray[np.float64]:
        """Source-scale θ → target scale: A·θ + B."""
        return self.A * np.asarray(theta, dtype=np.float64) + self.B

    def transform_se(self, se: ArrayLike) -> NDArray[np.float64]:
        """Standard errors of θ scale by A."""
        return self.A * np.asarray(se, dtype=np.float64)

    def transform_bank(self, bank: ItemBank) -> ItemBank:
        """A source-scale bank on the target scale (see :func:`transform_bank`)."""
        return transform_bank(bank, self.A, self.B)

    def to_frame(self) -> pd.DataFrame:
        """One row: method, A, B, criterion and number of common items."""
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "A": self.A,
                    "B": self.B,
                    "criterion": self.criterion,
                    "n_common": len(self.common_items),
                }
            ]
        )


def _common_pairs(
    source: ItemBank,
    target: ItemBank,
    common_items: Sequence[str] | Mapping[str, str] | None,
) -> list[tuple[str, str]]:
    if common_items is None:
        target_names = set(target.names)
        pairs = [(name, name) for name in source.names if name in target_names]
    elif isinstance(common_items, Mapping):
        pairs = [(str(s), str(t)) for s, t in common_items.items()]
    else:
        pairs = [(str(name), str(name)) for name in common_items]
    problems = [
        Problem("<common items>", None, s, f"not an item of the {side} calibration")
        for s, t in pairs
        for side, name, bank in (("source", s, source), ("target", t, target))
        if name not in bank.names
    ]
    if problems:
        raise DataValidationError(problems)
    if len(pairs) < 2:
        raise DataValidationError(
            Problem(
                "<common items>", None, None, f"linking needs ≥ 2 common items; got {len(pairs)}"
            )
        )
    source_common = source.subset([s for s, _ in pairs])
    target_common = target.subset([t for _, t in pairs])
    for j, (s, t) in enumerate(pairs):
        if (source_common.models[j], source_common.n_categories[j]) != (
            target_common.models[j],
            target_common.n_categories[j],
        ):
            raise DataValidationError(
                Problem(
                    "<common items>",
                    None,
                    s,
                    f"model/categories differ from target item {t!r}: "
                    f"{source_common.models[j]}/{source_common.n_categories[j]} vs "
                    f"{target_common.models[j]}/{target_common.n_categories[j]}",
                )
            )
    return pairs


def _difficulties(bank: ItemBank) -> NDArray[np.float64]:
    """Every finite threshold b = −d/a of the bank, flattened."""
    b = -bank.intercepts / bank.slopes[:, None]
    return b[np.isfinite(b)]


def _moment_constants(source: ItemBank, target: ItemBank, method: str) -> tuple[float, float]:
    b_source, b_target = _difficulties(source), _difficulties(target)
    if method == "mean-mean":
        A = float(np.mean(source.slopes) / np.mean(target.slopes))  # noqa: N806
    else:
        A = float(np.std(b_target, ddof=1) / np.std(b_source, ddof=1))  # noqa: N806
    return A, float(np.mean(b_target) - A * np.mean(b_source))


def _curve_criterion(
    source: ItemBank,
    target: ItemBank,
    method: str,
    theta: NDArray[np.float64],
    weights: NDArray[np.float64],
):
    """The Haebara or Stocking–Lord loss as a function of (log A, B)."""
    if method == "haebara":
        target_curves = target.probabilities(theta)

        def loss(params: NDArray[np.float64]) -> float:
            A, B = np.exp(params[0]), params[1]  # noqa: N806
            diff = target_curves - source.probabilities((theta - B) / A)
            return float(weights @ (diff**2).sum(axis=(1, 2)))

    else:
        target_tcc = target.expected_score(theta).sum(axis=1)

        def loss(params: NDArray[np.float64]) -> float:
            A, B = np.exp(params[0]), params[1]  # noqa: N806
            diff = target_tcc - source.expected_score((theta - B) / A).sum(axis=1)
            return float(weights @ diff**2)

    return loss


def link(
    source: ItemBank,
    target: ItemBank,
    *,
    method: LinkingMethod = "stocking-lord",
    common_items: Sequence[str] | Mapping[str, str] | None = None,
    theta: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> LinkingResult:
    """Linking constants placing ``source`` on the scale of ``target``.

    Parameters
    ----------
    source, target : ItemBank
        Calibrations sharing common items (slope–intercept form, D = 1).
    method : {"mean-mean", "mean-sigma", "haebara", "stocking-lord"}
        See the module docstring for the formulas.
    common_items : sequence of str or mapping, optional
        Common item names (same in both banks), or a mapping source name → target name. By
        default every item name found in both banks.
    theta, weights : array_like, optional
        Grid on the target scale and its weights for the characteristic-curve methods (default
        :data:`DEFAULT_GRID`, equal weights). Weights are normalised to sum to 1.

    Returns
    -------
    LinkingResult
    """
    validate_params("link", {"method": set(LINKING_METHODS)}, {"method": method})
    pairs = _common_pairs(source, target, common_items)
    source_common = source.subset([s for s, _ in pairs])
    target_common = target.subset([t for _, t in pairs])
    A, B = _moment_constants(source_common, target_common, "mean-sigma")  # noqa: N806
    if method in ("mean-mean", "mean-sigma"):
        A, B = _moment_constants(source_common, target_common, method)  # noqa: N806
        return LinkingResult(A=A, B=B, method=method, common_items=pairs)
    grid = DEFAULT_GRID if theta is None else np.asarray(theta, dtype=np.float64).reshape(-1)
    w = np.ones_like(grid) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != grid.shape or np.any(w < 0) or w.sum() <= 0:
        raise DataValidationError(
            Problem("<weights>", None, None, "need one non-negative weight per θ point")
        )
    loss = _curve_criterion(source_common, target_common, method, grid, w / w.sum())
    start = np.array([np.log(A), B]) if np.isfinite(A) and A > 0 else np.zeros(2)
    fit = optimize.minimize(loss, start, method="BFGS", options={"gtol": 1e-10})
    # BFGS may stop on precision loss at an optimum; polish with Nelder–Mead from there
    polished = optimize.minimize(
        loss, fit.x, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-16}
    )
    best = polished if polished.fun <= fit.fun else fit
    return LinkingResult(
        A=float(np.exp(best.x[0])),
        B=float(best.x[1]),
        method=method,
        common_items=pairs,
        criterion=float(best.fun),
    )


def compare_linking_methods(
    source: ItemBank,
    target: ItemBank,
    *,
    common_items: Sequence[str] | Mapping[str, str] | None = None,
    theta: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> pd.DataFrame:
    """A and B by all four methods, one row per method (columns as
    :meth:`LinkingResult.to_frame`) — large disagreement points at drifting anchor items."""
    return pd.concat(
        [
            link(
                source,
                target,
                method=method,  # type: ignore[arg-type]
                common_items=common_items,
                theta=theta,
                weights=weights,
            ).to_frame()
            for method in LINKING_METHODS
        ],
        ignore_index=True,
    )


def fixed_item_table(
    table: pd.DataFrame,
    anchors: ItemBank,
    *,
    free_groups: bool = True,
) -> pd.DataFrame:
    """A calibration's parameter table with the anchor items fixed at their base-scale values.

    Fixed-item calibration keeps the scale of an earlier calibration: the anchor items' slopes,
    intercepts and asymptotes are held (``estimate = False``) at ``anchors``' values, the other
    items are estimated, and — because the anchors now identify the scale — each group's latent
    mean and variance are freed (unless ``free_groups`` is False).

    Parameters
    ----------
    table : DataFrame
        A parameter table as produced by the calibration (columns ``item``, ``model``,
        ``parameter``, ``value``, ``estimate``, …; see ``sapa.irt.estimate``).
    anchors : ItemBank
        Base-scale parameters of the anchor items; items are matched by name.
    free_groups : bool
        Estimate the latent mean and variance of every group.

    Returns
    -------
    DataFrame
        A copy of ``table`` ready to pass back to the calibration.

    Raises
    ------
    DataValidationError
        An anchor item is missing from the table or has another model or category count.
    """
    out = table.copy()
    problems = []
    for j, name in enumerate(anchors.names):
        rows = out["item"] == name
        if not rows.any():
            problems.append(
                Problem("<parameter table>", None, name, "anchor item not in the table")
            )
            continue
        models = set(out.loc[rows, "model"])
        if models != {anchors.models[j]}:
            problems.append(
                Problem(
                    "<parameter table>",
                    None,
                    name,
                    f"model {sorted(models)} in the table but {anchors.models[j]} in the anchors",
                )
            )
            continue
        n_categories = int(anchors.n_categories[j])
        values = {"a": anchors.slopes[j]}
        if n_categories == 2:
            values["d"] = anchors.intercepts[j, 0]
        else:
            values.update({f"d{k}": anchors.intercepts[j, k - 1] for k in range(1, n_categories)})
        if anchors.models[j] == "3PL":
            values["g"] = anchors.guessing[j]
        present = set(out.loc[rows, "parameter"])
        if present != set(values):
            problems.append(
                Problem(
                    "<parameter table>",
                    None,
                    name,
                    f"parameters {sorted(present)} in the table, {sorted(values)} in the anchors",
                )
            )
            continue
        for parameter, value in values.items():
            cell = rows & (out["parameter"] == parameter)
            out.loc[cell, "value"] = float(value)
            out.loc[cell, "estimate"] = False
    if problems:
        raise DataValidationError(problems)
    if free_groups:
        out.loc[out["model"] == "group", "estimate"] = True
    return out
