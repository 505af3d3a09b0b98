"""Item and model fit for calibrated item banks: residual mean squares, S-X2, Yen's Q3,
test information and reliability.

All functions take the item bank as fixed (its parameters are treated as known) and the responses
as persons × items category codes with ``−1`` for missing, like :func:`sapa.irt.score.score`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.stats import chi2

from sapa._validation import Interval, validate_params
from sapa.errors import DataValidationError
from sapa.irt._sumscore import summed_score_likelihood
from sapa.irt.models import ItemBank
from sapa.irt.score import ScoreResult, prior_grid, response_matrix, score

__all__ = [
    "empirical_reliability",
    "item_fit",
    "marginal_reliability",
    "q3",
    "test_information",
]

FloatArray = NDArray[np.float64]

_FIT_CONSTRAINTS = {
    "method": {"EAP", "MAP", "ML", "WLE"},
    "n_quad": Interval(int, 5, 401),
    "mincell": Interval(float, 0, None),
}


def _theta_estimates(
    bank: ItemBank, codes: NDArray[np.int8], theta: ScoreResult | FloatArray | None, method: str
) -> FloatArray:
    if theta is None:
        return score(bank, codes, method=method).theta  # type: ignore[arg-type]
    values = theta.theta if isinstance(theta, ScoreResult) else np.asarray(theta, np.float64)
    if values.shape != (codes.shape[0],):
        raise DataValidationError(
            f"theta must have one value per person ({codes.shape[0]}); got shape {values.shape}."
        )
    return values


def _category_moments(
    bank: ItemBank, theta: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Expected score ``E``, variance ``W`` and fourth central moment ``C`` of every item's score
    at each person's θ, each of shape (n_persons, n_items)."""
    p = bank.probabilities(theta)
    scores = np.arange(bank.max_categories, dtype=np.float64)
    expected = p @ scores
    deviation = scores[None, None, :] - expected[:, :, None]
    variance = (p * deviation**2).sum(axis=2)
    kurtosis_term = (p * deviation**4).sum(axis=2)
    return expected, variance, kurtosis_term


def _wilson_hilferty(mean_square: FloatArray, q_squared: FloatArray) -> FloatArray:
    """Standardise a mean square with its variance ``q²`` by the cube-root transformation
    ``t = (MS^{1/3} − 1)(3/q) + q/3`` (Wright & Masters, 1982, eq. 5.4.4)."""
    q = np.sqrt(q_squared)
    return (np.cbrt(mean_square) - 1) * (3 / q) + q / 3


def item_fit(
    bank: ItemBank,
    responses: object,
    *,
    theta: ScoreResult | FloatArray | None = None,
    method: str = "EAP",
    n_quad: int = 61,
    mincell: float = 1.0,
    n_estimated: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Residual-based mean squares and the S-X2 statistic for every item.

    Parameters
    ----------
    bank : ItemBank
    responses : array_like or DataFrame of shape (n_persons, n_items)
        Category codes, ``−1``/NaN for missing.
    theta : ScoreResult or ndarray of shape (n_persons,), optional
        Person estimates for the mean squares; by default :func:`~sapa.irt.score.score` with
        ``method``. Persons with a non-finite estimate are left out of the mean squares.
    method : {"EAP", "MAP", "ML", "WLE"}, default "EAP"
        Estimator used when ``theta`` is not given (mirt's ``itemfit`` uses EAP; Rasch programs
        usually use WLE or ML).
    n_quad : int, default 61
        Nodes of the standard-normal quadrature used by S-X2 (mirt: 61 on ``[−6, 6]``).
    mincell : float, default 1
        S-X2 merges adjacent summed-score groups until every expected cell count of the group is
        at least ``mincell``; 0 disables merging.
    n_estimated : sequence of int, optional
        Estimated parameters per item, subtracted from the S-X2 degrees of freedom. Defaults to
        Rasch ``K−1``, 2PL 2, 3PL 3, GRM/GPCM ``K`` (pass ``K−1`` for partial-credit items whose
        slope was fixed).

    Returns
    -------
    DataFrame
        Indexed by item name, with columns

        ``outfit``
            Unweighted mean square ``Σ_i z_ij² / N_j`` with ``z_ij = (x_ij − E_ij)/sqrt(W_ij)``,
            ``E_ij = E[X_j | θ̂_i]``, ``W_ij = Var[X_j | θ̂_i]`` (expected 1).
        ``z_outfit``
            Its Wilson–Hilferty standardisation with ``q² = Σ_i C_ij/W_ij² / N_j² − 1/N_j``
            (``C`` the fourth central moment).
        ``infit``
            Information-weighted mean square ``Σ_i (x_ij − E_ij)² / Σ_i W_ij``.
        ``z_infit``
            Standardised with ``q² = Σ_i (C_ij − W_ij²) / (Σ_i W_ij)²``.
        ``S_X2``, ``df_S_X2``, ``p_S_X2``
            Orlando & Thissen's (2000) summed-score statistic (Kang & Chen, 2008, for polytomous
            items), its degrees of freedom and upper-tail χ² p-value (NaN when df ≤ 0).

    Notes
    -----
    **S-X2.** Only persons who answered every item enter (the summed score needs complete data).
    For summed score ``s`` the model-implied probability that item ``j`` scores ``k`` is

    ``E_jk(s) = ∫ P_jk(θ) f^{(−j)}(s − k | θ) φ(θ) dθ / ∫ f(s | θ) φ(θ) dθ``,

    where ``f`` and ``f^{(−j)}`` are the summed-score distributions with all items and without
    item ``j`` (Lord–Wingersky recursion). Score groups in which the item can take only one
    category (the extreme scores) and groups nobody obtained are dropped. With ``O`` and ``N_s·E``
    the observed and expected counts of each (group, category) cell,
    ``S-X2 = Σ (O − N_s E)² / (N_s E)`` and ``df = Σ_groups (cells − 1) − n_estimated``.
    mirt's ``itemfit`` gives the same values for LSAT-7 (see the tests).

    References
    ----------
    Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for dichotomous item
    response theory models. *Applied Psychological Measurement*, 24(1), 50–64.
    Kang, T., & Chen, T. T. (2008). Performance of the generalized S-X2 item fit index for
    polytomous IRT models. *Journal of Educational Measurement*, 45(4), 391–406.
    Wright, B. D., & Masters, G. N. (1982). *Rating Scale Analysis*. MESA Press.
    """
    validate_params(
        "item_fit", _FIT_CONSTRAINTS, {"method": method, "n_quad": n_quad, "mincell": mincell}
    )
    codes, _ = response_matrix(bank, responses)
    estimates = _theta_estimates(bank, codes, theta, method)
    usable = np.isfinite(estimates)
    expected, variance, fourth = _category_moments(bank, estimates[usable])
    answered = codes[usable] >= 0
    residual_sq = np.where(answered, (codes[usable] - expected) ** 2, 0.0)
    variance = np.where(answered, variance, 0.0)
    fourth = np.where(answered, fourth, 0.0)
    n_answered = answered.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        outfit = np.where(answered, residual_sq / variance, 0.0).sum(axis=0) / n_answered
        q2_outfit = (
            np.where(answered, fourth / variance**2, 0.0).sum(axis=0) / n_answered**2
            - 1 / n_answered
        )
        total_variance = variance.sum(axis=0)
        infit = residual_sq.sum(axis=0) / total_variance
        q2_infit = (fourth - variance**2).sum(axis=0) / total_variance**2
    sx2, df = _s_x2(bank, codes, n_quad, mincell, _estimated_parameters(bank, n_estimated))
    with np.errstate(invalid="ignore"):
        p_value = np.where(df > 0, chi2.sf(sx2, np.maximum(df, 1)), np.nan)
    return pd.DataFrame(
        {
            "outfit": outfit,
            "z_outfit": _wilson_hilferty(outfit, q2_outfit),
            "infit": infit,
            "z_infit": _wilson_hilferty(infit, q2_infit),
            "S_X2": np.where(df > 0, sx2, np.nan),
            "df_S_X2": df,
            "p_S_X2": p_value,
        },
        index=pd.Index(bank.names, name="item"),
    )


def _estimated_parameters(bank: ItemBank, n_estimated: Sequence[int] | None) -> NDArray[np.int_]:
    if n_estimated is not None:
        counts = np.asarray(n_estimated, dtype=np.int64)
        if counts.shape != (bank.n_items,):
            raise DataValidationError(
                f"n_estimated must give one count per item ({bank.n_items}); got {counts.shape}."
            )
        return counts
    per_model = {"Rasch": 1, "2PL": 2, "3PL": 3}
    return np.array(
        [
            per_model.get(model, int(k))
            for model, k in zip(bank.models, bank.n_categories, strict=True)
        ],
        dtype=np.int64,
    )


def _s_x2(
    bank: ItemBank,
    codes: NDArray[np.int8],
    n_quad: int,
    mincell: float,
    n_estimated: NDArray[np.int_],
) -> tuple[FloatArray, NDArray[np.int_]]:
    """S-X2 statistics and degrees of freedom for every item (see :func:`item_fit`)."""
    complete = codes[(codes >= 0).all(axis=1)].astype(np.int64)
    nodes, log_prior = prior_grid(n_quad, 0.0, 1.0)
    prior = np.exp(log_prior)
    probabilities = bank.probabilities(nodes)
    full = summed_score_likelihood(probabilities, bank.n_categories)
    score_probability = prior @ full
    totals = complete.sum(axis=1)
    group_size = np.bincount(totals, minlength=full.shape[1]).astype(np.float64)

    statistic = np.zeros(bank.n_items)
    df = np.zeros(bank.n_items, dtype=np.int64)
    others = np.arange(bank.n_items)
    for item in range(bank.n_items):
        rest_items = others != item
        rest = summed_score_likelihood(probabilities[:, rest_items], bank.n_categories[rest_items])
        n_cat = int(bank.n_categories[item])
        rest_max = rest.shape[1] - 1
        # expected[s, k] = P(X_j = k, S = s) / P(S = s)
        joint = np.zeros((full.shape[1], n_cat))
        for k in range(n_cat):
            joint[k : k + rest_max + 1, k] = (prior * probabilities[:, item, k]) @ rest
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = group_size[:, None] * joint / score_probability[:, None]
        observed = np.zeros_like(expected)
        np.add.at(observed, (totals, complete[:, item]), 1.0)
        possible = np.zeros_like(expected, dtype=bool)
        for k in range(n_cat):
            possible[k : k + rest_max + 1, k] = True
        keep = (possible.sum(axis=1) > 1) & (group_size > 0)
        statistic[item], cells = _collapsed_chi_square(
            observed[keep], expected[keep], possible[keep], mincell
        )
        df[item] = cells - n_estimated[item]
    return statistic, df


def _collapsed_chi_square(
    observed: FloatArray, expected: FloatArray, possible: NDArray[np.bool_], mincell: float
) -> tuple[float, int]:
    """Pearson χ² over score groups × categories after merging adjacent score groups.

    Groups are accumulated in ascending score order until every possible cell of the accumulated
    group has an expected count of at least ``mincell``; a short remainder at the top is merged
    into the last complete group. Returns the statistic and ``Σ_groups (cells − 1)``.
    """
    merged: list[tuple[FloatArray, FloatArray, NDArray[np.bool_]]] = []
    o_acc = np.zeros(observed.shape[1])
    e_acc = np.zeros(observed.shape[1])
    p_acc = np.zeros(observed.shape[1], dtype=bool)
    for o_row, e_row, p_row in zip(observed, expected, possible, strict=True):
        o_acc, e_acc, p_acc = o_acc + o_row, e_acc + np.where(p_row, e_row, 0.0), p_acc | p_row
        if np.all(e_acc[p_acc] >= mincell):
            merged.append((o_acc, e_acc, p_acc))
            o_acc = np.zeros(observed.shape[1])
            e_acc = np.zeros(observed.shape[1])
            p_acc = np.zeros(observed.shape[1], dtype=bool)
    if p_acc.any():
        if merged:
            o_last, e_last, p_last = merged.pop()
            merged.append((o_last + o_acc, e_last + e_acc, p_last | p_acc))
        else:
            merged.append((o_acc, e_acc, p_acc))
    statistic = 0.0
    cells = 0
    for o_group, e_group, p_group in merged:
        statistic += float(np.sum((o_group[p_group] - e_group[p_group]) ** 2 / e_group[p_group]))
        cells += int(p_group.sum()) - 1
    return statistic, cells


def q3(
    bank: ItemBank,
    responses: object,
    *,
    theta: ScoreResult | FloatArray | None = None,
    method: str = "EAP",
) -> pd.DataFrame:
    """Yen's Q3: correlations between items' residuals after conditioning on θ̂.

    Parameters
    ----------
    bank, responses
        As in :func:`item_fit`.
    theta : ScoreResult or ndarray, optional
        Person estimates; by default :func:`~sapa.irt.score.score` with ``method``.
    method : {"EAP", "MAP", "ML", "WLE"}, default "EAP"

    Returns
    -------
    DataFrame of shape (n_items, n_items)
        ``Q3_jk = corr_i(x_ij − E[X_j | θ̂_i], x_ik − E[X_k | θ̂_i])`` over the persons who answered
        both items (pairwise), 1 on the diagonal. ``attrs["mean_offdiagonal"]`` holds the average
        off-diagonal value, about ``−1/(n_items − 1)`` under local independence; Christensen,
        Makransky & Horton (2017) recommend judging ``Q3 − mean`` rather than ``Q3`` itself.

    References
    ----------
    Yen, W. M. (1984). Effects of local item dependence on the fit and equating performance of
    the three-parameter logistic model. *Applied Psychological Measurement*, 8(2), 125–145.
    Christensen, K. B., Makransky, G., & Horton, M. (2017). Critical values for Yen's Q3.
    *Applied Psychological Measurement*, 41(3), 178–194.
    """
    validate_params("q3", {"method": _FIT_CONSTRAINTS["method"]}, {"method": method})
    codes, _ = response_matrix(bank, responses)
    estimates = _theta_estimates(bank, codes, theta, method)
    usable = np.isfinite(estimates)
    expected = bank.expected_score(estimates[usable])
    residuals = np.where(codes[usable] >= 0, codes[usable] - expected, np.nan)
    matrix = pd.DataFrame(residuals, columns=pd.Index(bank.names, name="item")).corr()
    values = matrix.to_numpy()
    matrix.attrs["mean_offdiagonal"] = float(np.nanmean(values[~np.eye(len(values), dtype=bool)]))
    return matrix


def test_information(bank: ItemBank, theta: FloatArray | None = None) -> pd.DataFrame:
    """Test information and the standard error curve.

    Parameters
    ----------
    bank : ItemBank
    theta : ndarray, optional
        Abilities at which to evaluate; default 81 points on ``[−4, 4]``.

    Returns
    -------
    DataFrame
        Columns ``theta``, ``information`` (``I(θ) = Σ_j I_j(θ)``, Fisher information of the
        whole bank) and ``se`` (``1/sqrt(I(θ))``, the asymptotic SE of the ML estimate at θ).
    """
    nodes = np.linspace(-4, 4, 81) if theta is None else np.asarray(theta, dtype=np.float64)
    information = bank.information(nodes).sum(axis=1)
    with np.errstate(divide="ignore"):
        se = 1 / np.sqrt(information)
    return pd.DataFrame({"theta": nodes, "information": information, "se": se})


test_information.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def marginal_reliability(
    bank: ItemBank, *, n_quad: int = 61, prior_mean: float = 0.0, prior_sd: float = 1.0
) -> float:
    """Theoretical marginal reliability of the bank for a normal population.

    ``ρ = σ² / (σ² + ē)`` with ``ē = ∫ g(θ) / I(θ) dθ`` the average error variance of the ML
    estimate over the population ``g = N(prior_mean, prior_sd²)`` (Green, Bock, Humphreys, Linn &
    Reckase, 1984), evaluated on the same equally spaced grid as EAP scoring.

    References
    ----------
    Green, B. F., Bock, R. D., Humphreys, L. G., Linn, R. L., & Reckase, M. D. (1984). Technical
    guidelines for assessing computerized adaptive tests. *Journal of Educational Measurement*,
    21(4), 347–360.
    """
    validate_params(
        "marginal_reliability",
        {"n_quad": _FIT_CONSTRAINTS["n_quad"], "prior_sd": Interval(float, 0, None, "neither")},
        {"n_quad": n_quad, "prior_sd": prior_sd},
    )
    nodes, log_prior = prior_grid(n_quad, prior_mean, prior_sd)
    error_variance = float(np.exp(log_prior) @ (1 / bank.information(nodes).sum(axis=1)))
    return prior_sd**2 / (prior_sd**2 + error_variance)


def empirical_reliability(scores: ScoreResult) -> float:
    """Empirical reliability of a set of person estimates.

    EAP and MAP (shrunken estimates): ``var(θ̂) / (var(θ̂) + mean(se²))``, mirt's
    ``empirical_rxx``; ML and WLE (unbiased estimates with error): ``1 − mean(se²)/var(θ̂)``.
    Variances use ``n − 1``; non-finite estimates are left out.
    """
    finite = np.isfinite(scores.theta) & np.isfinite(scores.se)
    estimates, errors = scores.theta[finite], scores.se[finite]
    observed_variance = float(np.var(estimates, ddof=1))
    error_variance = float(np.mean(errors**2))
    if scores.method in ("EAP", "MAP"):
        return observed_variance / (observed_variance + error_variance)
    return 1 - error_variance / observed_variance
