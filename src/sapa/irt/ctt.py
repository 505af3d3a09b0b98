"""Classical item analysis: difficulty, discrimination, reliability and distractors.

Everything here works on a response matrix of shape ``(n_persons, n_items)`` holding item scores
``0..K-1`` with ``-1`` (or NaN) for a response that is missing or was not presented. Statistics are
computed from the *pairwise-complete* covariance matrix of the item scores, so booklet designs and
scattered missing responses use every available pair of responses; with complete data every
statistic equals its textbook complete-data formula exactly.

Public functions
----------------
:func:`item_statistics`
    Item difficulty, item–total and corrected item–total (item–rest) correlations, alpha if the
    item is deleted, one row per item.
:func:`cronbach_alpha`
    Coefficient alpha with an optional Feldt (1965) or percentile-bootstrap confidence interval.
:func:`score_key`
    Raw multiple-choice option codes → 0/1 scores with an answer key.
:func:`distractor_analysis`
    Share of persons choosing each option, the mean total score of its choosers and the option's
    point-biserial correlation with the rest score, one row per item × option.

References
----------
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. *Psychometrika*
16, 297–334.
Feldt, L. S. (1965). The approximate sampling distribution of Kuder–Richardson reliability
coefficient twenty. *Psychometrika* 30, 357–370.
Crocker, L. & Algina, J. (1986). *Introduction to Classical and Modern Test Theory*, ch. 14.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from sapa._random import RandomLike, as_generator
from sapa._validation import Interval, validate_params
from sapa.errors import DataValidationError, Problem
from sapa.irt.models import MISSING

__all__ = [
    "AlphaResult",
    "cronbach_alpha",
    "distractor_analysis",
    "item_statistics",
    "score_key",
]


@dataclass(frozen=True)
class ResponseMatrix:
    """Validated scored responses: ``scores`` (float64, NaN where missing) and the item names."""

    scores: NDArray[np.float64]
    item_names: list[str]

    @property
    def observed(self) -> NDArray[np.bool_]:
        return ~np.isnan(self.scores)


def response_matrix(
    responses: ArrayLike | pd.DataFrame,
    *,
    item_names: Sequence[str] | None = None,
    source: str = "<responses>",
) -> ResponseMatrix:
    """Validate scored responses (persons × items, integers ≥ 0, ``-1``/NaN missing).

    Raises :class:`~sapa.errors.DataValidationError` listing every offending cell (at most one
    problem per column, with the first offending spreadsheet row: header = row 1).
    """
    if isinstance(responses, pd.DataFrame):
        names = [str(c) for c in responses.columns]
        try:
            values = responses.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            problems = [
                Problem(source, None, str(c), "values must be integer item scores")
                for c in responses.columns
                if not pd.api.types.is_numeric_dtype(responses[c])
            ]
            raise DataValidationError(problems or str(exc)) from exc
    else:
        values = np.asarray(responses, dtype=np.float64)
        names = [f"item{j + 1}" for j in range(values.shape[1])] if values.ndim == 2 else []
    if item_names is not None:
        names = [str(n) for n in item_names]
    if values.ndim != 2:
        raise DataValidationError(
            Problem(
                source, None, None, f"responses must be 2-D (persons × items); got {values.ndim}-D"
            )
        )
    if len(names) != values.shape[1]:
        raise DataValidationError(
            Problem(source, None, None, f"{len(names)} item names for {values.shape[1]} items")
        )
    scores = np.where(values == MISSING, np.nan, values)
    bad = ~np.isnan(scores) & ((scores < 0) | (scores != np.round(scores)))
    problems = []
    for column in np.flatnonzero(bad.any(axis=0)):
        row = int(np.flatnonzero(bad[:, column])[0])
        problems.append(
            Problem(
                source,
                row + 2,
                names[column],
                f"item scores must be integers ≥ 0 or -1 for missing; got {values[row, column]!r}",
            )
        )
    if problems:
        raise DataValidationError(problems)
    return ResponseMatrix(scores=scores, item_names=names)


def pairwise_covariance(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Covariance matrix of the columns of ``scores`` over pairwise-complete rows (ddof = 1).

    Entry (i, j) uses the persons who answered both items; NaN marks a missing score.
    """
    observed = (~np.isnan(scores)).astype(np.float64)
    filled = np.nan_to_num(scores)
    n_pair = observed.T @ observed
    sum_i = filled.T @ observed  # (i, j): Σ x_i over persons who answered i and j
    cross = filled.T @ filled
    with np.errstate(invalid="ignore", divide="ignore"):
        return (cross - sum_i * sum_i.T / n_pair) / (n_pair - 1.0)


def _alpha_from_covariance(cov: NDArray[np.float64]) -> float:
    """α = k/(k−1) · (1 − Σ σ²_j / σ²_X) with σ²_X the sum of all covariance entries."""
    k = cov.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def item_statistics(
    responses: ArrayLike | pd.DataFrame,
    *,
    max_scores: ArrayLike | None = None,
    item_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Classical statistics of each item.

    Parameters
    ----------
    responses : array_like or DataFrame, shape (n_persons, n_items)
        Item scores ``0..K-1``; ``-1`` or NaN for missing. DataFrame columns name the items.
    max_scores : array_like of int, optional
        Maximum attainable score of each item; by default the largest observed score.
    item_names : sequence of str, optional
        Overrides the DataFrame's column names (default ``item1, item2, …`` for arrays).

    Returns
    -------
    DataFrame
        Indexed by item name, with columns

        ``n``
            persons with a score on the item;
        ``mean``, ``sd``
            mean and standard deviation (ddof = 1) of the item score;
        ``max_score``
            the maximum attainable score;
        ``difficulty``
            ``mean / max_score``: the p-value of a 0/1 item, the mean share of the maximum of a
            polytomous item (higher = easier);
        ``item_total_r``
            Pearson correlation of the item with the total score (the point-biserial for 0/1
            items);
        ``item_rest_r``
            corrected item–total correlation: with the total of the *other* items;
        ``alpha_if_deleted``
            Cronbach's α of the remaining items.

    Notes
    -----
    All correlations come from the pairwise-complete item covariance matrix C: with
    T = Σ_j X_j, cov(X_i, T) = Σ_j C_ij and var(T) = Σ_jk C_jk; for the rest score R_i = T − X_i,
    cov(X_i, R_i) = Σ_{j≠i} C_ij. With complete data these are the ordinary sample correlations
    (the values of R ``mirt::itemstats``' ``total.r``, ``total.r_if_rm`` and ``alpha_if_rm``).
    """
    matrix = response_matrix(responses, item_names=item_names)
    scores = matrix.scores
    n_items = scores.shape[1]
    if n_items < 3:
        raise DataValidationError(
            Problem("<responses>", None, None, "item statistics need at least 3 items")
        )
    cov = pairwise_covariance(scores)
    cov_with_total = cov.sum(axis=1)
    total_var = cov.sum()
    item_var = np.diag(cov)
    rest_cov = cov_with_total - item_var
    rest_var = total_var - 2.0 * cov_with_total + item_var
    keep = ~np.eye(n_items, dtype=bool)
    alpha_if_deleted = [
        _alpha_from_covariance(cov[np.ix_(keep[i], keep[i])]) for i in range(n_items)
    ]
    means = np.nanmean(scores, axis=0)
    if max_scores is None:
        maxima = np.nanmax(scores, axis=0)
    else:
        maxima = np.asarray(max_scores, dtype=np.float64)
        if maxima.shape != (n_items,):
            raise DataValidationError(
                Problem("<max_scores>", None, None, f"need {n_items} maximum scores")
            )
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "n": matrix.observed.sum(axis=0),
                "mean": means,
                "sd": np.sqrt(item_var),
                "max_score": maxima,
                "difficulty": means / maxima,
                "item_total_r": cov_with_total / np.sqrt(item_var * total_var),
                "item_rest_r": rest_cov / np.sqrt(item_var * rest_var),
                "alpha_if_deleted": alpha_if_deleted,
            },
            index=pd.Index(matrix.item_names, name="item"),
        )
    return table


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's α with its confidence interval.

    Attributes
    ----------
    alpha : float
        The coefficient.
    ci_low, ci_high : float
        Confidence bounds (NaN when no interval was requested).
    level : float
        Confidence level of the interval.
    method : str
        ``"feldt"``, ``"bootstrap"`` or ``"none"``.
    n_persons, n_items : int
        Persons with at least one response, and items.
    sem : float
        Standard error of measurement of the total score, SD(T)·√(1 − α).
    """

    alpha: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    n_persons: int
    n_items: int
    sem: float


_ALPHA_CONSTRAINTS = {
    "ci": {"feldt", "bootstrap", None},
    "level": Interval(float, 0.0, 1.0, closed="neither"),
    "n_bootstrap": Interval(int, 100, None),
}


def cronbach_alpha(
    responses: ArrayLike | pd.DataFrame,
    *,
    ci: Literal["feldt", "bootstrap"] | None = "feldt",
    level: float = 0.95,
    n_bootstrap: int = 1000,
    rng: RandomLike = None,
) -> AlphaResult:
    """Cronbach's coefficient α, optionally with a confidence interval.

    Parameters
    ----------
    responses : array_like or DataFrame, shape (n_persons, n_items)
        Item scores; ``-1``/NaN missing (handled pairwise, see :func:`item_statistics`).
    ci : {"feldt", "bootstrap", None}
        ``"feldt"``: the F-distribution interval of Feldt (1965), which assumes complete data and
        essentially τ-equivalent items: (1 − α)/(1 − α̂) ~ F(n − 1, (n − 1)(k − 1)), so the bounds
        are 1 − (1 − α̂)·F_{1−γ/2} and 1 − (1 − α̂)·F_{γ/2}. ``"bootstrap"``: percentile interval
        over persons resampled with replacement.
    level : float
        Confidence level, in (0, 1).
    n_bootstrap : int
        Bootstrap replicates (at least 100).
    rng : int, Generator or None
        Randomness of the bootstrap.

    Returns
    -------
    AlphaResult
    """
    validate_params(
        "cronbach_alpha", _ALPHA_CONSTRAINTS, {"ci": ci, "level": level, "n_bootstrap": n_bootstrap}
    )
    scores = response_matrix(responses).scores
    answered = (~np.isnan(scores)).any(axis=1)
    scores = scores[answered]
    n_persons, n_items = scores.shape
    if n_items < 2 or n_persons < 3:
        raise DataValidationError(
            Problem("<responses>", None, None, "alpha needs at least 2 items and 3 persons")
        )
    cov = pairwise_covariance(scores)
    alpha = _alpha_from_covariance(cov)
    sem = float(np.sqrt(cov.sum() * (1.0 - alpha)))
    low = high = float("nan")
    tail = (1.0 - level) / 2.0
    if ci == "feldt":
        df_persons = n_persons - 1
        df_error = (n_persons - 1) * (n_items - 1)
        low = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - tail, df_persons, df_error)
        high = 1.0 - (1.0 - alpha) * stats.f.ppf(tail, df_persons, df_error)
    elif ci == "bootstrap":
        generator = as_generator(rng)
        replicates = np.array(
            [
                _alpha_from_covariance(
                    pairwise_covariance(scores[generator.integers(0, n_persons, n_persons)])
                )
                for _ in range(n_bootstrap)
            ]
        )
        low, high = np.nanquantile(replicates, [tail, 1.0 - tail])
    return AlphaResult(
        alpha=alpha,
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        method=ci or "none",
        n_persons=n_persons,
        n_items=n_items,
        sem=sem,
    )


def _raw_options(raw: ArrayLike | pd.DataFrame) -> tuple[NDArray[np.float64], list[str]]:
    """Raw option codes as float64 (NaN = not presented) and the item names."""
    if isinstance(raw, pd.DataFrame):
        names = [str(c) for c in raw.columns]
        try:
            values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                [
                    Problem("<raw responses>", None, str(c), "option codes must be numeric")
                    for c in raw.columns
                    if not pd.api.types.is_numeric_dtype(raw[c])
                ]
                or str(exc)
            ) from exc
    else:
        values = np.asarray(raw, dtype=np.float64)
        if values.ndim != 2:
            raise DataValidationError(
                Problem("<raw responses>", None, None, "raw responses must be 2-D")
            )
        names = [f"item{j + 1}" for j in range(values.shape[1])]
    return values, names


def score_key(raw: ArrayLike | pd.DataFrame, key: ArrayLike) -> pd.DataFrame:
    """Score raw multiple-choice option codes with an answer key.

    Parameters
    ----------
    raw : array_like or DataFrame, shape (n_persons, n_items)
        Option codes as given by the persons (e.g. 1–5, with a code such as 8 for an omitted
        answer); NaN for an item not presented.
    key : array_like, shape (n_items,)
        The correct option code of each item.

    Returns
    -------
    DataFrame of int8
        1 where the keyed option was chosen, 0 for any other code (an omission is wrong, as in R
        ``mirt::key2binary``), ``-1`` where the item was not presented.
    """
    values, names = _raw_options(raw)
    key_codes = np.asarray(key, dtype=np.float64)
    if key_codes.shape != (values.shape[1],):
        raise DataValidationError(
            Problem(
                "<key>", None, None, f"key has {key_codes.size} codes for {values.shape[1]} items"
            )
        )
    scored = np.where(np.isnan(values), MISSING, (values == key_codes).astype(np.int8))
    return pd.DataFrame(scored.astype(np.int8), columns=names)


def distractor_analysis(raw: ArrayLike | pd.DataFrame, key: ArrayLike) -> pd.DataFrame:
    """How each option of each multiple-choice item behaves.

    Parameters
    ----------
    raw : array_like or DataFrame, shape (n_persons, n_items)
        Raw option codes; NaN where the item was not presented. Every other code, including an
        omission code, is reported as an option.
    key : array_like, shape (n_items,)
        The correct option of each item.

    Returns
    -------
    DataFrame
        One row per item and observed option, with columns

        ``item``, ``option``
            the item name and the option code;
        ``is_key``
            whether the option is the keyed answer;
        ``n``, ``share``
            persons choosing it and their share among persons presented the item;
        ``mean_total``
            mean number-correct total score (all items, keyed) of its choosers;
        ``point_biserial``
            correlation between choosing the option (0/1) and the rest score (the total without
            this item), among persons presented the item. A good item has a positive value for
            its key and negative values for its distractors.
    """
    values, names = _raw_options(raw)
    scored = np.clip(score_key(values, key).to_numpy(dtype=np.float64), 0.0, None)
    total = scored.sum(axis=1)
    rows = []
    key_codes = np.asarray(key, dtype=np.float64)
    for column, name in enumerate(names):
        presented = ~np.isnan(values[:, column])
        codes = values[presented, column]
        totals = total[presented]
        rest = totals - scored[presented, column]
        for option in np.unique(codes):
            chose = (codes == option).astype(np.float64)
            varies = 0 < chose.sum() < chose.size and np.ptp(rest) > 0
            rows.append(
                {
                    "item": name,
                    "option": int(option) if float(option).is_integer() else option,
                    "is_key": bool(option == key_codes[column]),
                    "n": int(chose.sum()),
                    "share": float(chose.mean()),
                    "mean_total": float(totals[chose == 1].mean()),
                    "point_biserial": float(np.corrcoef(chose, rest)[0, 1]) if varies else np.nan,
                }
            )
    return pd.DataFrame(rows)
