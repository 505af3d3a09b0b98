"""Classical item analysis against R mirt's documented ``itemstats`` output, plus properties.

Reference values: the example output printed in the documentation of R mirt's ``itemstats()``
(mirt 1.4x, https://philchalmers.github.io/mirt/reference/itemstats.html), which reports three
decimals; the tolerance is therefore half a unit in the third decimal (5e-4), plus rounding slack.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sapa.errors import DataValidationError, InvalidParameterError
from sapa.irt.ctt import cronbach_alpha, distractor_analysis, item_statistics, score_key

REFERENCE = Path(__file__).parents[1] / "reference"
PRINTED = 5.1e-4  # three printed decimals

SAT12_KEY = [
    1,
    4,
    5,
    2,
    3,
    1,
    2,
    1,
    3,
    1,
    2,
    4,
    2,
    1,
    5,
    3,
    4,
    4,
    1,
    4,
    3,
    3,
    4,
    1,
    3,
    5,
    1,
    3,
    1,
    5,
    4,
    5,
]


def _lsat7() -> np.ndarray:
    table = pd.read_csv(REFERENCE / "ctt_lsat7_patterns.csv", comment="#")
    patterns = table.drop(columns="freq").to_numpy()
    return np.repeat(patterns, table["freq"].to_numpy(), axis=0)


@pytest.fixture(scope="module")
def sat12_raw() -> pd.DataFrame:
    path = REFERENCE / "sat12.csv"
    return pd.read_csv(path)


def test_lsat7_matches_mirt_itemstats() -> None:
    # mirt itemstats(expand.table(LSAT7)): alpha 0.453, SEM.alpha 0.886, and per item
    # mean, total.r, total.r_if_rm, alpha_if_rm.
    responses = _lsat7()
    assert responses.shape == (1000, 5)
    table = item_statistics(responses)
    np.testing.assert_allclose(table["difficulty"], [0.828, 0.658, 0.772, 0.606, 0.843], atol=1e-12)
    np.testing.assert_allclose(table["sd"], [0.378, 0.475, 0.420, 0.489, 0.364], atol=PRINTED)
    np.testing.assert_allclose(
        table["item_total_r"], [0.530, 0.600, 0.611, 0.592, 0.461], atol=PRINTED
    )
    np.testing.assert_allclose(
        table["item_rest_r"], [0.246, 0.247, 0.313, 0.223, 0.175], atol=PRINTED
    )
    np.testing.assert_allclose(
        table["alpha_if_deleted"], [0.396, 0.394, 0.345, 0.415, 0.438], atol=PRINTED
    )
    result = cronbach_alpha(responses)
    assert result.alpha == pytest.approx(0.453, abs=PRINTED)
    assert result.sem == pytest.approx(0.886, abs=PRINTED)


def test_sat12_keyed_matches_mirt_itemstats(sat12_raw: pd.DataFrame) -> None:
    # mirt itemstats(key2binary(SAT12, key)): omissions (code 8) scored wrong.
    # alpha 0.798, SEM.alpha 2.272; total.r_if_rm and alpha_if_rm of all 32 items.
    rest_r = [0.300, 0.464, 0.371, 0.235, 0.340, 0.351, 0.289, 0.233, 0.127, 0.383, 0.156,
              0.076, 0.358, 0.333, 0.325, 0.278, 0.202, 0.508, 0.314, 0.318, 0.136, 0.238,
              0.253, 0.346, 0.297, 0.489, 0.367, 0.383, 0.324, 0.159, 0.419, 0.037]  # fmt: skip
    alpha_if = [0.793, 0.785, 0.789, 0.796, 0.791, 0.791, 0.793, 0.795, 0.798, 0.789, 0.797,
                0.803, 0.790, 0.791, 0.792, 0.794, 0.796, 0.783, 0.792, 0.792, 0.798, 0.795,
                0.795, 0.791, 0.793, 0.783, 0.791, 0.789, 0.791, 0.799, 0.788, 0.802]  # fmt: skip
    scored = score_key(sat12_raw, SAT12_KEY)
    assert set(np.unique(scored)) == {0, 1}
    table = item_statistics(scored)
    assert list(table.index) == [f"Item.{j}" for j in range(1, 33)]
    np.testing.assert_allclose(table["item_rest_r"], rest_r, atol=PRINTED)
    np.testing.assert_allclose(table["alpha_if_deleted"], alpha_if, atol=PRINTED)
    np.testing.assert_allclose(table["difficulty"].iloc[:3], [0.283, 0.568, 0.280], atol=PRINTED)
    result = cronbach_alpha(scored, ci=None)
    assert result.alpha == pytest.approx(0.798, abs=PRINTED)
    assert result.sem == pytest.approx(2.272, abs=PRINTED)
    assert np.isnan(result.ci_low)


def test_science_polytomous_matches_mirt_itemstats() -> None:
    # mirt itemstats(Science): alpha 0.598; categories 1-4 (shifting to 0-3 changes nothing
    # but the means).
    path = REFERENCE / "science.csv"
    responses = pd.read_csv(path) - 1
    table = item_statistics(responses, max_scores=[3, 3, 3, 3])
    np.testing.assert_allclose(table["mean"] + 1, [3.120, 2.722, 2.990, 2.837], atol=PRINTED)
    np.testing.assert_allclose(table["item_rest_r"], [0.352, 0.332, 0.488, 0.363], atol=PRINTED)
    np.testing.assert_allclose(
        table["alpha_if_deleted"], [0.552, 0.567, 0.437, 0.541], atol=PRINTED
    )
    np.testing.assert_allclose(table["difficulty"], table["mean"] / 3)
    assert cronbach_alpha(responses).alpha == pytest.approx(0.598, abs=PRINTED)


def test_distractors_match_mirt_total_score_means(sat12_raw: pd.DataFrame) -> None:
    # mirt itemstats(dat, ts.tables=TRUE)$total.score_means: mean total of persons scoring
    # 0 and 1 on each item (printed to 5 decimals).
    score_means = {"Item.1": (16.99535, 21.25294), "Item.2": (15.07722, 20.57478),
                   "Item.32": (17.95825, 19.46392)}  # fmt: skip
    table = distractor_analysis(sat12_raw, SAT12_KEY)
    for item, (mean_wrong, mean_right) in score_means.items():
        rows = table[table["item"] == item]
        keyed = rows[rows["is_key"]]
        wrong = rows[~rows["is_key"]]
        assert keyed["mean_total"].item() == pytest.approx(mean_right, abs=1e-5)
        pooled = np.average(wrong["mean_total"], weights=wrong["n"])
        assert pooled == pytest.approx(mean_wrong, abs=1e-5)
        assert rows["share"].sum() == pytest.approx(1.0)
    item1 = table[table["item"] == "Item.1"].set_index("option")
    # proportions printed by mirt itemstats(SAT12, use_ts=FALSE) for Item.1, options 1-5 and 8
    np.testing.assert_allclose(
        item1["share"], [0.283, 0.203, 0.267, 0.232, 0.013, 0.002], atol=PRINTED
    )
    # the key's point-biserial with the rest score is the corrected item-total correlation
    assert item1.loc[1, "point_biserial"] == pytest.approx(0.300, abs=PRINTED)
    assert (item1.loc[[3, 4, 5], "point_biserial"] < 0).all()


def test_pairwise_missing_matches_pandas_pairwise_covariance() -> None:
    rng = np.random.default_rng(7)
    theta = rng.normal(size=400)
    scores = (theta[:, None] + rng.normal(size=(400, 6)) > 0).astype(float)
    scores[rng.random(scores.shape) < 0.2] = -1
    table = item_statistics(scores)
    frame = pd.DataFrame(np.where(scores < 0, np.nan, scores))
    cov = frame.cov().to_numpy()  # pandas: pairwise-complete, ddof = 1
    k = cov.shape[0]
    expected_alpha = k / (k - 1) * (1 - np.trace(cov) / cov.sum())
    assert cronbach_alpha(scores, ci=None).alpha == pytest.approx(expected_alpha, rel=1e-12)
    rest_cov = cov.sum(axis=1) - np.diag(cov)
    rest_var = cov.sum() - 2 * cov.sum(axis=1) + np.diag(cov)
    np.testing.assert_allclose(
        table["item_rest_r"], rest_cov / np.sqrt(np.diag(cov) * rest_var), rtol=1e-12
    )
    np.testing.assert_array_equal(table["n"], (scores >= 0).sum(axis=0))


def test_complete_data_rest_correlation_is_ordinary_pearson() -> None:
    responses = _lsat7()
    table = item_statistics(responses)
    rest = responses.sum(axis=1, keepdims=True) - responses
    expected = [np.corrcoef(responses[:, j], rest[:, j])[0, 1] for j in range(5)]
    np.testing.assert_allclose(table["item_rest_r"], expected, rtol=1e-12)


def _parallel_item_scores(rng: np.random.Generator, n_persons: int) -> np.ndarray:
    """Six parallel 11-category items (a discretised one-factor normal model, ρ = .3)."""
    rho = 0.3
    common = rng.normal(size=(n_persons, 1)) * np.sqrt(rho)
    latent = common + rng.normal(size=(n_persons, 6)) * np.sqrt(1 - rho)
    return np.clip(np.round(2 * latent + 5), 0, 10)


def test_feldt_interval_covers_at_nominal_rate() -> None:
    rng = np.random.default_rng(20260101)
    true_alpha = cronbach_alpha(_parallel_item_scores(rng, 200_000), ci=None).alpha
    n_reps = 400
    covered = sum(
        result.ci_low <= true_alpha <= result.ci_high
        for result in (cronbach_alpha(_parallel_item_scores(rng, 60)) for _ in range(n_reps))
    )
    # binomial SE of the coverage at 400 replicates is 0.011; allow 3 SE
    assert abs(covered / n_reps - 0.95) < 0.033


def test_feldt_bounds_come_from_the_f_distribution() -> None:
    # Feldt (1965): (1 − α)/(1 − α̂) ~ F(n − 1, (n − 1)(k − 1))
    responses = _lsat7()
    result = cronbach_alpha(responses, level=0.90)
    df1, df2 = 999, 999 * 4
    assert result.ci_low == pytest.approx(1 - (1 - result.alpha) * stats.f.ppf(0.95, df1, df2))
    assert result.ci_high == pytest.approx(1 - (1 - result.alpha) * stats.f.ppf(0.05, df1, df2))
    assert result.ci_low < result.alpha < result.ci_high


def test_bootstrap_interval_is_reproducible_and_close_to_feldt() -> None:
    responses = _lsat7()
    first = cronbach_alpha(responses, ci="bootstrap", n_bootstrap=200, rng=3)
    again = cronbach_alpha(responses, ci="bootstrap", n_bootstrap=200, rng=np.random.default_rng(3))
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    feldt = cronbach_alpha(responses)
    assert first.ci_low < first.alpha < first.ci_high
    assert first.ci_high - first.ci_low == pytest.approx(feldt.ci_high - feldt.ci_low, rel=0.35)


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(5)))
def test_permuting_items_permutes_statistics(order: list[int]) -> None:
    responses = _lsat7()
    base = item_statistics(responses)
    permuted = item_statistics(responses[:, order], item_names=list(base.index[order]))
    pd.testing.assert_frame_equal(permuted, base.iloc[order], check_exact=False, rtol=1e-10)


def test_invalid_scores_are_reported_with_row_and_column() -> None:
    frame = pd.DataFrame({"q1": [0, 1, 1], "q2": [1, 0.5, 1], "q3": [0, 1, -3]})
    with pytest.raises(DataValidationError) as info:
        item_statistics(frame)
    located = {(p.row, p.column) for p in info.value.problems}
    assert located == {(3, "q2"), (4, "q3")}


def test_invalid_interval_option_uses_the_parameter_template() -> None:
    with pytest.raises(InvalidParameterError, match="The 'ci' parameter of cronbach_alpha"):
        cronbach_alpha(_lsat7(), ci="exact")  # type: ignore[arg-type]
