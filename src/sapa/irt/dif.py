"""Differential item functioning: Mantel–Haenszel and logistic regression.

An item shows DIF when persons of equal proficiency but from different groups (language of
instruction, sex, urban/rural school) have different chances of answering it correctly. Both
methods match persons on an observed score — by default the total score on the anchor items plus
the studied item (Holland & Thayer 1988) — and optionally *purify* the anchor: items flagged for
DIF are dropped from the matching score and the analysis is repeated until the flagged set is
stable.

Group convention: the **reference** group is the comparison group, the **focal** group the one
of interest. A negative ETS delta (α_MH > 1) means the item is harder for the focal group than for
reference-group persons with the same matching score; the ``favours`` column says which group.

References
----------
Holland, P. W. & Thayer, D. T. (1988). Differential item performance and the Mantel–Haenszel
procedure. In H. Wainer & H. I. Braun (Eds.), *Test Validity*, 129–145.
Robins, J., Breslow, N. & Greenland, S. (1986). Estimators of the Mantel–Haenszel variance
consistent in both sparse data and large-strata limiting models. *Biometrics* 42, 311–323.
Zwick, R. (2012). A review of ETS differential item functioning assessment procedures: flagging
rules, minimum sample size requirements, and criterion refinement. ETS RR-12-08.
Swaminathan, H. & Rogers, H. J. (1990). Detecting differential item functioning using logistic
regression procedures. *Journal of Educational Measurement* 27, 361–370.
Zumbo, B. D. & Thomas, D. R. (1997). A measure of effect size for a model-based approach for
studying DIF. University of Northern British Columbia.
Jodoin, M. G. & Gierl, M. J. (2001). Evaluating type I error and power rates using an effect size
measure with the logistic regression procedure for DIF detection. *Applied Measurement in
Education* 14, 329–349.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.special import expit, log_expit

from sapa._validation import Interval, validate_params
from sapa.errors import ConvergenceWarning, DataValidationError, Problem
from sapa.irt.ctt import response_matrix

__all__ = [
    "DEFAULT_GROUPINGS",
    "DIFResult",
    "dif_by",
    "logistic_dif",
    "mantel_haenszel",
]

ETS_DELTA_SCALE = 2.35
"""Δ_MH = −2.35 ln α_MH puts the common odds ratio on the ETS delta scale (Holland & Thayer)."""

ZUMBO_THOMAS_CUTS = (0.13, 0.26)
"""Nagelkerke ΔR² bounds of negligible (A) / moderate (B) / large (C) DIF (Zumbo & Thomas 1997)."""

JODOIN_GIERL_CUTS = (0.035, 0.070)
"""Nagelkerke ΔR² bounds of negligible (A) / moderate (B) / large (C) DIF (Jodoin & Gierl 2001)."""

DEFAULT_GROUPINGS: Mapping[str, tuple[str, str]] = {
    "language": ("kk", "ru"),
    "sex": ("female", "male"),
    "location": ("rural", "urban"),
}
"""Conventional (focal, reference) pairs of the grouping variables of national monitoring:
language of instruction (Kazakh vs Russian), sex, and school location."""


@dataclass(frozen=True)
class DIFResult:
    """The outcome of a DIF analysis.

    Attributes
    ----------
    table : DataFrame
        One row per item (indexed by item name); columns depend on the method (see
        :func:`mantel_haenszel` and :func:`logistic_dif`). Every table has ``n_reference``,
        ``n_focal``, ``p_value`` and ``dif`` (flagged at the analysis' significance level).
    method : str
        ``"mantel-haenszel"`` or ``"logistic"``.
    focal, reference : hashable
        The group labels compared.
    anchor_items : list of str
        Items whose scores formed the final matching score (the studied item is always added).
    n_iter : int
        Purification rounds run (0 without purification).
    converged : bool
        Whether purification reached a stable set of flagged items.
    """

    table: pd.DataFrame
    method: str
    focal: Hashable
    reference: Hashable
    anchor_items: list[str] = field(default_factory=list)
    n_iter: int = 0
    converged: bool = True

    @property
    def flagged(self) -> list[str]:
        """Names of the items flagged for DIF."""
        return [str(name) for name in self.table.index[self.table["dif"].astype(bool)]]

    def summary(self) -> str:
        """A short plain-text report: method, groups, purification and the flagged items."""
        lines = [
            f"DIF by {self.method}: focal {self.focal!r} vs reference {self.reference!r}",
            f"items analysed: {len(self.table)}; flagged: {len(self.flagged)}"
            + (f" ({', '.join(self.flagged)})" if self.flagged else ""),
        ]
        if self.n_iter:
            state = "stable" if self.converged else "NOT stable"
            lines.append(f"purification: {self.n_iter} rounds, flagged set {state}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Design:
    """Validated inputs shared by both methods."""

    scores: NDArray[np.float64]  # persons in either group × items, NaN missing
    is_focal: NDArray[np.bool_]
    item_names: list[str]
    focal: Hashable
    reference: Hashable
    dichotomous: NDArray[np.bool_]


def _design(
    responses: ArrayLike | pd.DataFrame,
    group: ArrayLike,
    focal: Hashable,
    reference: Hashable | None,
    item_names: Sequence[str] | None,
) -> _Design:
    matrix = response_matrix(responses, item_names=item_names)
    labels = pd.Series(np.asarray(group, dtype=object))
    if len(labels) != matrix.scores.shape[0]:
        raise DataValidationError(
            Problem(
                "<group>",
                None,
                None,
                f"{len(labels)} group labels for {matrix.scores.shape[0]} persons",
            )
        )
    present = labels.dropna().unique().tolist()
    if focal not in present:
        raise DataValidationError(
            Problem("<group>", None, None, f"focal group {focal!r} not found; groups: {present}")
        )
    if reference is None:
        others = [value for value in present if value != focal]
        if len(others) != 1:
            raise DataValidationError(
                Problem(
                    "<group>",
                    None,
                    None,
                    f"name the reference group: besides {focal!r} there are {others}",
                )
            )
        reference = others[0]
    elif reference not in present:
        raise DataValidationError(
            Problem(
                "<group>", None, None, f"reference group {reference!r} not found; groups: {present}"
            )
        )
    keep = labels.isin([focal, reference]).to_numpy()
    scores = matrix.scores[keep]
    maxima = np.nanmax(np.where(np.isnan(scores), -1.0, scores), axis=0)
    return _Design(
        scores=scores,
        is_focal=(labels[keep] == focal).to_numpy(),
        item_names=matrix.item_names,
        focal=focal,
        reference=reference,
        dichotomous=maxima <= 1,
    )


def _anchor_mask(anchor: Sequence[str] | None, names: list[str]) -> NDArray[np.bool_]:
    if anchor is None:
        return np.ones(len(names), dtype=bool)
    unknown = sorted(set(anchor) - set(names))
    if unknown:
        raise DataValidationError(
            Problem("<anchor>", None, None, f"anchor items not among the items: {unknown}")
        )
    return np.isin(names, list(anchor))


def _matching_scores(scores: NDArray[np.float64], anchor: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Matching score of every person for every studied item, shape (n_persons, n_items).

    Column j is the sum of the person's observed anchor-item scores, plus item j's own score when
    item j is not itself an anchor (the studied item always belongs to its matching score).
    """
    filled = np.nan_to_num(scores)
    anchor_total = filled[:, anchor].sum(axis=1, keepdims=True)
    return anchor_total + filled * ~anchor[None, :]


def _purify(
    analyse: Callable[[NDArray[np.bool_]], pd.DataFrame],
    initial_anchor: NDArray[np.bool_],
    names: list[str],
    *,
    purify: bool,
    max_iter: int,
) -> tuple[pd.DataFrame, NDArray[np.bool_], int, bool]:
    """Run ``analyse(anchor)``; with ``purify``, drop flagged items from the anchor until stable.

    Returns the final table, the final anchor, the rounds run and whether the flagged set was
    stable (a :class:`ConvergenceWarning` is issued when it was not).
    """
    table = analyse(initial_anchor)
    if not purify:
        return table, initial_anchor, 0, True
    anchor = initial_anchor
    for rounds in range(max_iter + 1):
        next_anchor = initial_anchor & ~table["dif"].to_numpy(dtype=bool)
        if np.array_equal(next_anchor, anchor):
            return table, anchor, rounds, True
        if rounds == max_iter or not next_anchor.any():
            break
        anchor = next_anchor
        table = analyse(anchor)
    flagged = [name for name, hit in zip(names, table["dif"], strict=True) if hit]
    warnings.warn(
        ConvergenceWarning(
            f"DIF purification did not settle after {rounds} rounds (flagged now: {flagged}). "
            "Increase max_iter, or choose the anchor items explicitly."
        ),
        stacklevel=3,
    )
    return table, anchor, rounds, False


def _cell_sums(
    correct: NDArray[np.float64], is_focal: NDArray[np.bool_], stratum: NDArray[np.intp]
) -> tuple[NDArray[np.float64], ...]:
    """Per-stratum 2×2 counts A (ref right), B (ref wrong), C (focal right), D (focal wrong)."""
    n_strata = int(stratum.max()) + 1 if stratum.size else 0
    ref = ~is_focal

    def count(mask: NDArray[np.bool_]) -> NDArray[np.float64]:
        return np.bincount(stratum[mask], minlength=n_strata).astype(np.float64)

    right = correct == 1
    return (
        count(ref & right),
        count(ref & ~right),
        count(is_focal & right),
        count(is_focal & ~right),
    )


def _mantel_haenszel_item(
    correct: NDArray[np.float64], is_focal: NDArray[np.bool_], matching: NDArray[np.float64]
) -> dict[str, float]:
    """MH statistics of one 0/1 item over the strata of ``matching`` (NaN entries dropped)."""
    valid = ~np.isnan(correct) & ~np.isnan(matching)
    _, stratum = np.unique(matching[valid], return_inverse=True)
    a, b, c, d = _cell_sums(correct[valid], is_focal[valid], stratum)
    n = a + b + c + d
    informative = (a + b > 0) & (c + d > 0) & (n > 1)
    a, b, c, d, n = (x[informative] for x in (a, b, c, d, n))
    n_ref, n_focal, n_right, n_wrong = a + b, c + d, a + c, b + d
    r_k, s_k = a * d / n, b * c / n
    r, s = r_k.sum(), s_k.sum()
    expected = (n_ref * n_right / n).sum()
    variance = (n_ref * n_focal * n_right * n_wrong / (n**2 * (n - 1))).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha_mh = r / s
        p_k, q_k = (a + d) / n, (b + c) / n
        var_log = (
            (p_k * r_k).sum() / (2 * r**2)
            + (p_k * s_k + q_k * r_k).sum() / (2 * r * s)
            + (q_k * s_k).sum() / (2 * s**2)
        )
    return {
        "n_reference": float(n_ref.sum()),
        "n_focal": float(n_focal.sum()),
        "a_sum": float(a.sum()),
        "expected": float(expected),
        "variance": float(variance),
        "alpha_mh": float(alpha_mh),
        "se_log_alpha": float(np.sqrt(var_log)),
    }


def _blank_where(missing: NDArray[np.bool_], labels: NDArray[np.str_]) -> NDArray[np.object_]:
    """``labels`` as an object array with ``None`` where ``missing`` (an item not tested)."""
    out = labels.astype(object)
    out[missing] = None
    return out


def _ets_class(
    delta: NDArray[np.float64], se_delta: NDArray[np.float64], p: NDArray[np.float64]
) -> NDArray[np.object_]:
    """ETS A/B/C (Zwick 2012): A if |Δ| < 1 or the MH χ² is not significant at .05;
    C if |Δ| ≥ 1.5 and |Δ| is significantly greater than 1 (one-sided z test at .05);
    B otherwise."""
    size = np.abs(delta)
    above_one = (size - 1.0) / se_delta > stats.norm.ppf(0.95)
    classes = np.where(
        (size < 1.0) | ~(p < 0.05), "A", np.where((size >= 1.5) & above_one, "C", "B")
    )
    return _blank_where(np.isnan(delta), classes)


_COMMON_CONSTRAINTS: dict[str, Any] = {
    "alpha": Interval(float, 0.0, 1.0, closed="neither"),
    "purify": bool,
    "max_iter": Interval(int, 1, None),
}


def mantel_haenszel(
    responses: ArrayLike | pd.DataFrame,
    group: ArrayLike,
    *,
    focal: Hashable,
    reference: Hashable | None = None,
    anchor: Sequence[str] | None = None,
    matching: ArrayLike | None = None,
    purify: bool = False,
    max_iter: int = 10,
    alpha: float = 0.05,
    correct: bool = True,
    item_names: Sequence[str] | None = None,
) -> DIFResult:
    """Mantel–Haenszel DIF of every dichotomous item.

    Parameters
    ----------
    responses : array_like or DataFrame, shape (n_persons, n_items)
        Item scores (``-1``/NaN missing). Polytomous items count in the matching score but are
        not tested (their rows are NaN).
    group : array_like, shape (n_persons,)
        Group label of every person; persons in neither group are left out.
    focal, reference : hashable
        The focal and reference labels; ``reference`` defaults to the only other label.
    anchor : sequence of str, optional
        Items forming the matching score (default: all items).
    matching : array_like, shape (n_persons,), optional
        An external matching variable (e.g. rounded θ estimates for booklet designs) used as
        strata instead of the total score; purification is then not available.
    purify : bool
        Iteratively remove flagged items from the anchor (Holland & Thayer 1988).
    max_iter : int
        Maximum purification rounds.
    alpha : float
        Significance level of the MH χ² test for the ``dif`` flag (and for purification).
    correct : bool
        Apply the 0.5 continuity correction to the χ² statistic.
    item_names : sequence of str, optional
        Names of the items when ``responses`` is an array.

    Returns
    -------
    DIFResult
        ``table`` columns: ``n_reference``, ``n_focal`` (persons in informative strata);
        ``alpha_mh`` the common odds ratio α_MH = Σ_k (A_k D_k / N_k) / Σ_k (B_k C_k / N_k)
        (A/B: reference right/wrong, C/D: focal right/wrong); ``delta_mh`` = −2.35 ln α_MH;
        ``se_delta`` = 2.35·SE(ln α_MH) by Robins, Breslow & Greenland (1986); ``chi2`` =
        (|Σ A_k − Σ E A_k| − ½)² / Σ Var A_k with E A_k = n_Rk m_1k / N_k and Var A_k = n_Rk n_Fk
        m_1k m_0k / (N_k²(N_k − 1)); ``p_value`` (χ², 1 df); ``ets_class`` (A/B/C, Zwick 2012,
        see Notes); ``favours`` ("reference" when Δ < 0); ``dif`` (``p_value < alpha``).

    Notes
    -----
    ETS classes: **A** (negligible) if |Δ| < 1 or the χ² test is not significant at .05;
    **C** (large) if |Δ| ≥ 1.5 and |Δ| exceeds 1 significantly ((|Δ| − 1)/SE > z_.95);
    **B** (moderate) otherwise. Strata with persons of one group only carry no information and
    are skipped.
    """
    validate_params(
        "mantel_haenszel",
        {**_COMMON_CONSTRAINTS, "correct": bool},
        {"alpha": alpha, "purify": purify, "max_iter": max_iter, "correct": correct},
    )
    design = _design(responses, group, focal, reference, item_names)
    external = _external_matching(matching, group, design)
    initial_anchor = _anchor_mask(anchor, design.item_names)

    def analyse(anchor_mask: NDArray[np.bool_]) -> pd.DataFrame:
        matched = (
            np.repeat(external[:, None], len(design.item_names), axis=1)
            if external is not None
            else _matching_scores(design.scores, anchor_mask)
        )
        rows = [
            _mantel_haenszel_item(design.scores[:, j], design.is_focal, matched[:, j])
            if design.dichotomous[j]
            else {}
            for j in range(len(design.item_names))
        ]
        frame = pd.DataFrame(rows, index=pd.Index(design.item_names, name="item"))
        frame = frame.reindex(
            columns=["n_reference", "n_focal", "a_sum", "expected", "variance", "alpha_mh"]
            + ["se_log_alpha"]
        ).astype(np.float64)
        deviation = np.abs(frame["a_sum"] - frame["expected"]) - (0.5 if correct else 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = deviation**2 / frame["variance"]
            delta = -ETS_DELTA_SCALE * np.log(frame["alpha_mh"])
        se_delta = ETS_DELTA_SCALE * frame["se_log_alpha"]
        p_value = stats.chi2.sf(chi2, 1)
        table = pd.DataFrame(
            {
                "n_reference": frame["n_reference"],
                "n_focal": frame["n_focal"],
                "alpha_mh": frame["alpha_mh"],
                "delta_mh": delta,
                "se_delta": se_delta,
                "chi2": chi2,
                "p_value": p_value,
                "ets_class": _ets_class(delta.to_numpy(), se_delta.to_numpy(), p_value),
                "favours": _blank_where(
                    np.isnan(delta.to_numpy()), np.where(delta < 0, "reference", "focal")
                ),
                "dif": np.nan_to_num(p_value, nan=1.0) < alpha,
            },
            index=frame.index,
        )
        return table

    table, final_anchor, n_iter, converged = _purify(
        analyse,
        initial_anchor,
        design.item_names,
        purify=purify and external is None,
        max_iter=max_iter,
    )
    return DIFResult(
        table=table,
        method="mantel-haenszel",
        focal=design.focal,
        reference=design.reference,
        anchor_items=[n for n, a in zip(design.item_names, final_anchor, strict=True) if a],
        n_iter=n_iter,
        converged=converged,
    )


def _external_matching(
    matching: ArrayLike | None, group: ArrayLike, design: _Design
) -> NDArray[np.float64] | None:
    if matching is None:
        return None
    values = np.asarray(matching, dtype=np.float64)
    labels = pd.Series(np.asarray(group, dtype=object))
    if values.shape != (len(labels),):
        raise DataValidationError(
            Problem("<matching>", None, None, f"need one matching value per person ({len(labels)})")
        )
    return values[labels.isin([design.focal, design.reference]).to_numpy()]


def _logistic_fit(design: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Maximised log-likelihood of a logistic regression (Newton–Raphson with step halving).

    Under complete separation the likelihood has no maximum; iterations stop at the cap and the
    returned value is then the (nearly attained) supremum, which is what the LR test needs.
    """
    beta = np.zeros(design.shape[1])

    def loglik(coef: NDArray[np.float64]) -> float:
        eta = design @ coef
        return float((y * log_expit(eta) + (1 - y) * log_expit(-eta)).sum())

    current = loglik(beta)
    for _ in range(100):
        p = expit(design @ beta)
        gradient = design.T @ (y - p)
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        step = np.linalg.solve(hessian + 1e-10 * np.eye(len(beta)), gradient)
        for _ in range(30):
            candidate = loglik(beta + step)
            if candidate >= current - 1e-12:
                break
            step /= 2
        beta, improvement, current = beta + step, candidate - current, candidate
        if improvement < 1e-10 and np.max(np.abs(step)) < 1e-8:
            break
    return current


def _nagelkerke(loglik: float, loglik_null: float, n: float) -> float:
    """Nagelkerke's R² = [1 − exp(2(ℓ₀ − ℓ)/n)] / [1 − exp(2ℓ₀/n)]."""
    return float(-np.expm1(2 * (loglik_null - loglik) / n) / -np.expm1(2 * loglik_null / n))


def _effect_class(
    delta_r2: NDArray[np.float64], significant: NDArray[np.bool_], cuts: tuple[float, float]
) -> NDArray[np.object_]:
    low, high = cuts
    classes = np.where(delta_r2 < low, "A", np.where(delta_r2 < high, "B", "C"))
    return _blank_where(np.isnan(delta_r2), np.where(significant, classes, "A"))


def _logistic_item(
    correct: NDArray[np.float64], is_focal: NDArray[np.bool_], matching: NDArray[np.float64]
) -> dict[str, float]:
    valid = ~np.isnan(correct)
    y, focal, score = correct[valid], is_focal[valid].astype(np.float64), matching[valid]
    n = float(y.size)
    spread = score.std()
    standard = (score - score.mean()) / (spread if spread > 0 else 1.0)
    ones = np.ones_like(y)
    mean_y = y.mean()
    if mean_y in (0.0, 1.0) or focal.min() == focal.max():
        return {"n_reference": n - focal.sum(), "n_focal": focal.sum()}
    null = n * (mean_y * np.log(mean_y) + (1 - mean_y) * np.log1p(-mean_y))
    fits = [
        _logistic_fit(np.column_stack(columns), y)
        for columns in (
            (ones, standard),
            (ones, standard, focal),
            (ones, standard, focal, standard * focal),
        )
    ]
    r2 = [_nagelkerke(value, null, n) for value in fits]
    return {
        "n_reference": n - focal.sum(),
        "n_focal": focal.sum(),
        "chi2_uniform": 2 * (fits[1] - fits[0]),
        "chi2_nonuniform": 2 * (fits[2] - fits[1]),
        "chi2_both": 2 * (fits[2] - fits[0]),
        "r2_uniform": r2[1] - r2[0],
        "r2_nonuniform": r2[2] - r2[1],
        "r2_both": r2[2] - r2[0],
    }


def logistic_dif(
    responses: ArrayLike | pd.DataFrame,
    group: ArrayLike,
    *,
    focal: Hashable,
    reference: Hashable | None = None,
    test: Literal["both", "uniform", "nonuniform"] = "both",
    anchor: Sequence[str] | None = None,
    purify: bool = False,
    max_iter: int = 10,
    alpha: float = 0.05,
    item_names: Sequence[str] | None = None,
) -> DIFResult:
    """Logistic-regression DIF of every dichotomous item (Swaminathan & Rogers 1990).

    Three nested logistic regressions of the item score on the matching score S (total score,
    standardised; see :func:`mantel_haenszel` for anchors and purification) and the focal-group
    indicator G are compared by likelihood-ratio tests:

    * M0: logit P = β₀ + β₁S;  M1: M0 + β₂G;  M2: M1 + β₃S·G;
    * uniform DIF: M1 vs M0 (1 df); non-uniform: M2 vs M1 (1 df); either: M2 vs M0 (2 df).

    Parameters
    ----------
    responses, group, focal, reference, anchor, purify, max_iter, alpha, item_names
        As in :func:`mantel_haenszel`.
    test : {"both", "uniform", "nonuniform"}
        Which likelihood-ratio test gives ``p_value``, the ``dif`` flag and the effect classes.

    Returns
    -------
    DIFResult
        ``table`` columns: ``n_reference``, ``n_focal``; ``chi2_uniform``, ``chi2_nonuniform``,
        ``chi2_both`` and their ``p_uniform``, ``p_nonuniform``, ``p_both``; the Nagelkerke R²
        increments ``r2_uniform`` (M1 − M0), ``r2_nonuniform`` (M2 − M1), ``r2_both``
        (M2 − M0); ``p_value`` and ``delta_r2`` of the chosen ``test``; ``class_zumbo_thomas``
        (A: ΔR² < .13, B: < .26, C: ≥ .26) and ``class_jodoin_gierl`` (A: < .035, B: < .07,
        C: ≥ .07), both "A" when the test is not significant at ``alpha``; ``dif``
        (``p_value < alpha``).
    """
    validate_params(
        "logistic_dif",
        {**_COMMON_CONSTRAINTS, "test": {"both", "uniform", "nonuniform"}},
        {"alpha": alpha, "purify": purify, "max_iter": max_iter, "test": test},
    )
    design = _design(responses, group, focal, reference, item_names)
    initial_anchor = _anchor_mask(anchor, design.item_names)
    columns = ["n_reference", "n_focal", "chi2_uniform", "chi2_nonuniform", "chi2_both"]
    columns += ["r2_uniform", "r2_nonuniform", "r2_both"]
    degrees = {"uniform": 1, "nonuniform": 1, "both": 2}

    def analyse(anchor_mask: NDArray[np.bool_]) -> pd.DataFrame:
        matched = _matching_scores(design.scores, anchor_mask)
        rows = [
            _logistic_item(design.scores[:, j], design.is_focal, matched[:, j])
            if design.dichotomous[j]
            else {}
            for j in range(len(design.item_names))
        ]
        table = pd.DataFrame(rows, index=pd.Index(design.item_names, name="item"))
        table = table.reindex(columns=columns).astype(np.float64)
        for name, df in degrees.items():
            table[f"p_{name}"] = stats.chi2.sf(np.clip(table[f"chi2_{name}"], 0.0, None), df)
        table["p_value"] = table[f"p_{test}"]
        table["delta_r2"] = table[f"r2_{test}"]
        significant = (table["p_value"] < alpha).to_numpy()
        delta_r2 = table["delta_r2"].to_numpy()
        table["class_zumbo_thomas"] = _effect_class(delta_r2, significant, ZUMBO_THOMAS_CUTS)
        table["class_jodoin_gierl"] = _effect_class(delta_r2, significant, JODOIN_GIERL_CUTS)
        table["dif"] = significant
        return table

    table, final_anchor, n_iter, converged = _purify(
        analyse, initial_anchor, design.item_names, purify=purify, max_iter=max_iter
    )
    return DIFResult(
        table=table,
        method="logistic",
        focal=design.focal,
        reference=design.reference,
        anchor_items=[n for n, a in zip(design.item_names, final_anchor, strict=True) if a],
        n_iter=n_iter,
        converged=converged,
    )


def dif_by(
    responses: ArrayLike | pd.DataFrame,
    persons: pd.DataFrame,
    variable: str,
    *,
    method: Literal["mantel-haenszel", "logistic"] = "mantel-haenszel",
    focal: Hashable | None = None,
    reference: Hashable | None = None,
    **options: Any,
) -> DIFResult:
    """DIF between the groups of one background variable of the persons.

    Parameters
    ----------
    responses : array_like or DataFrame, shape (n_persons, n_items)
        Item scores, rows aligned with ``persons``.
    persons : DataFrame
        Background variables, one row per person.
    variable : str
        Column of ``persons`` defining the groups, e.g. ``"language"`` (language of instruction),
        ``"sex"`` or ``"location"``. For these the focal/reference pair defaults to
        :data:`DEFAULT_GROUPINGS` (kk vs ru, female vs male, rural vs urban).
    method : {"mantel-haenszel", "logistic"}
        Which DIF procedure to run.
    focal, reference : hashable, optional
        Override the default pair.
    **options
        Passed to :func:`mantel_haenszel` or :func:`logistic_dif`.
    """
    validate_params("dif_by", {"method": {"mantel-haenszel", "logistic"}}, {"method": method})
    if variable not in persons.columns:
        raise DataValidationError(
            Problem("<persons>", None, variable, "no such column among the background variables")
        )
    default_focal, default_reference = DEFAULT_GROUPINGS.get(variable, (None, None))
    focal = default_focal if focal is None else focal
    reference = default_reference if reference is None else reference
    if focal is None:
        raise DataValidationError(
            Problem("<persons>", None, variable, "name the focal group for this variable")
        )
    procedure = mantel_haenszel if method == "mantel-haenszel" else logistic_dif
    return procedure(
        responses, persons[variable].to_numpy(), focal=focal, reference=reference, **options
    )
