"""Mantel–Haenszel and logistic-regression DIF.

Reference values: (1) a two-stratum table worked by hand below; (2) statsmodels'
``StratifiedTable`` (an independent implementation of the MH odds ratio, the Robins–Breslow–
Greenland variance and the MH test), agreement to 1e-10; (3) statsmodels ``Logit`` for the
likelihood-ratio statistics; (4) simulations with planted DIF at stated detection rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import StratifiedTable

from sapa.errors import ConvergenceWarning, DataValidationError, InvalidParameterError
from sapa.irt.dif import _ets_class, dif_by, logistic_dif, mantel_haenszel


def _persons_from_tables(tables: list[tuple[int, int, int, int]]) -> tuple[np.ndarray, ...]:
    """Responses of one item, groups and strata reproducing 2×2 tables (A, B, C, D) =
    (reference right, reference wrong, focal right, focal wrong) per stratum."""
    item, group, stratum = [], [], []
    for k, counts in enumerate(tables):
        for (label, right), count in zip(
            [("R", 1), ("R", 0), ("F", 1), ("F", 0)], counts, strict=True
        ):
            item += [right] * count
            group += [label] * count
            stratum += [k] * count
    return np.array(item)[:, None], np.array(group), np.array(stratum, dtype=float)


def test_hand_computed_two_strata() -> None:
    # Stratum 1: A=10 B=5 C=6 D=9 (N=30); stratum 2: A=20 B=4 C=15 D=8 (N=47).
    # α_MH = (10·9/30 + 20·8/47) / (5·6/30 + 4·15/47) = (3 + 3.404255) / (1 + 1.276596)
    #      = 6.404255 / 2.276596 = 2.813084;  Δ_MH = −2.35 ln 2.813084 = −2.430561
    # E A = 15·16/30 + 24·35/47 = 8 + 17.872340 = 25.872340;  Σ A = 30
    # Var A = 15·15·16·14/(30²·29) + 24·23·35·12/(47²·46) = 1.931034 + 2.281575 = 4.212610
    # χ²(corrected) = (|30 − 25.872340| − 0.5)² / 4.212610 = 3.627660² / 4.212610 = 3.123934,
    # p = .0772
    item, group, stratum = _persons_from_tables([(10, 5, 6, 9), (20, 4, 15, 8)])
    result = mantel_haenszel(item, group, focal="F", matching=stratum)
    row = result.table.iloc[0]
    alpha = (10 * 9 / 30 + 20 * 8 / 47) / (5 * 6 / 30 + 4 * 15 / 47)
    variance = 15 * 15 * 16 * 14 / (30**2 * 29) + 24 * 23 * 35 * 12 / (47**2 * 46)
    chi2 = (abs(30 - (8 + 24 * 35 / 47)) - 0.5) ** 2 / variance
    assert row["alpha_mh"] == pytest.approx(alpha, rel=1e-12)
    assert row["alpha_mh"] == pytest.approx(2.813084, abs=1e-6)
    assert row["delta_mh"] == pytest.approx(-2.35 * np.log(alpha), rel=1e-12)
    assert row["chi2"] == pytest.approx(chi2, rel=1e-12)
    assert row["chi2"] == pytest.approx(3.123934, abs=1e-6)
    assert row["delta_mh"] == pytest.approx(-2.430561, abs=1e-6)
    assert row["p_value"] == pytest.approx(0.0772, abs=1e-4)
    assert row["ets_class"] == "A"  # large |Δ| = 2.43 but not significant
    assert row["favours"] == "reference"
    assert (row["n_reference"], row["n_focal"]) == (39, 38)
    uncorrected = mantel_haenszel(item, group, focal="F", matching=stratum, correct=False)
    assert uncorrected.table["chi2"].iloc[0] == pytest.approx(
        (30 - (8 + 24 * 35 / 47)) ** 2 / variance, rel=1e-12
    )


def _simulate_rasch(
    rng: np.random.Generator,
    n_per_group: int,
    *,
    dif_shift: dict[int, float],
    impact: float = -0.5,
    n_items: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    group = np.repeat(["ref", "foc"], n_per_group)
    theta = np.concatenate(
        [rng.normal(0.0, 1.0, n_per_group), rng.normal(impact, 1.0, n_per_group)]
    )
    difficulty = np.tile(np.linspace(-1.5, 1.5, n_items), (2 * n_per_group, 1))
    for item, shift in dif_shift.items():
        difficulty[group == "foc", item] += shift
    p = 1 / (1 + np.exp(-(theta[:, None] - difficulty)))
    return (rng.random(p.shape) < p).astype(int), group


def test_matches_statsmodels_stratified_table() -> None:
    rng = np.random.default_rng(11)
    responses, group = _simulate_rasch(rng, 400, dif_shift={0: 0.6})
    result = mantel_haenszel(responses, group, focal="foc")
    total = responses.sum(axis=1)
    for item in (0, 5):
        tables = []
        for score in np.unique(total):
            at = total == score
            cells = [
                np.sum(at & (group == g) & (responses[:, item] == r))
                for g, r in [("ref", 1), ("ref", 0), ("foc", 1), ("foc", 0)]
            ]
            if cells[0] + cells[1] and cells[2] + cells[3]:
                tables.append(np.reshape(cells, (2, 2)))
        reference = StratifiedTable(np.dstack(tables).astype(float))
        row = result.table.iloc[item]
        assert row["alpha_mh"] == pytest.approx(reference.oddsratio_pooled, rel=1e-10)
        assert row["se_delta"] == pytest.approx(2.35 * reference.logodds_pooled_se, rel=1e-10)
        test = reference.test_null_odds(correction=True)
        assert row["chi2"] == pytest.approx(test.statistic, rel=1e-10)
        assert row["p_value"] == pytest.approx(test.pvalue, rel=1e-8, abs=1e-300)


def test_ets_classification_rules() -> None:
    # Zwick (2012): A if |Δ| < 1 or not significant; C if |Δ| ≥ 1.5 and significantly > 1
    # (one-sided .05: (|Δ| − 1)/SE > 1.645); B otherwise.
    delta = np.array([-0.9, -1.2, 1.6, -1.6, 1.6, -2.0, 0.5])
    se = np.array([0.1, 0.1, 0.3, 0.4, 0.3, 0.1, 0.1])
    p = np.array([0.001, 0.001, 0.001, 0.001, 0.2, 0.001, 0.5])
    # 1.6 with SE .3: z = 2.0 > 1.645 → C; with SE .4: z = 1.5 → B
    assert list(_ets_class(delta, se, p)) == ["A", "B", "C", "B", "A", "C", "A"]


def test_planted_dif_detected_at_stated_rates() -> None:
    # Rasch data with impact (focal mean −0.5): total-score matching is sufficient, so MH holds
    # its level. Items 0 and 1 are 0.8 logits harder for the focal group (true Δ = −2.35·0.8 =
    # −1.88, ETS C). Stated rates: power ≥ 95 % at n = 800 + 800; type I error of the 18
    # clean items within [1 %, 9 %] (nominal 5 %, 360 tests, binomial SE 1.1 %).
    rng = np.random.default_rng(2026)
    n_reps, hits, false_alarms, c_class = 20, 0, 0, 0
    for _ in range(n_reps):
        responses, group = _simulate_rasch(rng, 800, dif_shift={0: 0.8, 1: 0.8})
        table = mantel_haenszel(responses, group, focal="foc", purify=True).table
        hits += table["dif"].iloc[:2].sum()
        c_class += (table["ets_class"].iloc[:2] == "C").sum()
        false_alarms += table["dif"].iloc[2:].sum()
        assert (table["favours"].iloc[:2] == "reference").all()
    assert hits / (2 * n_reps) >= 0.95
    assert c_class / (2 * n_reps) >= 0.8
    assert 0.01 <= false_alarms / (18 * n_reps) <= 0.09


def test_purification_removes_dif_items_from_the_anchor() -> None:
    rng = np.random.default_rng(3)
    responses, group = _simulate_rasch(rng, 1000, dif_shift={0: 1.0, 1: 1.0, 2: 1.0, 3: -1.0})
    result = mantel_haenszel(responses, group, focal="foc", purify=True)
    assert result.n_iter >= 1 and result.converged
    assert {"item1", "item2", "item3", "item4"}.issubset(result.flagged)
    assert not {"item1", "item2", "item3", "item4"} & set(result.anchor_items)
    assert "purification" in result.summary()


def test_unsettled_purification_warns() -> None:
    rng = np.random.default_rng(3)
    responses, group = _simulate_rasch(rng, 1000, dif_shift={0: 1.0, 1: 1.0, 2: 1.0, 3: -1.0})
    with pytest.warns(ConvergenceWarning, match="purification did not settle"):
        result = mantel_haenszel(responses, group, focal="foc", purify=True, max_iter=1, alpha=0.2)
    assert not result.converged


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_swapping_groups_inverts_the_odds_ratio(seed: int) -> None:
    rng = np.random.default_rng(seed)
    responses, group = _simulate_rasch(rng, 60, dif_shift={0: 0.5}, n_items=6)
    forward = mantel_haenszel(responses, group, focal="foc").table
    backward = mantel_haenszel(responses, group, focal="ref").table
    np.testing.assert_allclose(backward["alpha_mh"], 1 / forward["alpha_mh"], rtol=1e-10)
    np.testing.assert_allclose(backward["delta_mh"], -forward["delta_mh"], atol=1e-10)
    np.testing.assert_allclose(backward["chi2"], forward["chi2"], rtol=1e-10)


def _simulate_crossing(rng: np.random.Generator, n_per_group: int) -> tuple[np.ndarray, ...]:
    """2PL, no impact; item 0 has crossing curves (slope 1.8 vs 0.4, b = 0): non-uniform DIF."""
    group = np.repeat(["ref", "foc"], n_per_group)
    theta = rng.normal(size=2 * n_per_group)
    slopes = np.tile(np.linspace(0.8, 1.6, 15), (2 * n_per_group, 1))
    slopes[:, 0] = np.where(group == "foc", 0.4, 1.8)
    difficulty = np.linspace(-1.2, 1.2, 15)
    difficulty[0] = 0.0
    p = 1 / (1 + np.exp(-slopes * (theta[:, None] - difficulty)))
    return (rng.random(p.shape) < p).astype(int), group


def test_logistic_statistics_match_statsmodels_logit() -> None:
    rng = np.random.default_rng(8)
    responses, group = _simulate_crossing(rng, 500)
    result = logistic_dif(responses, group, focal="foc")
    total = responses.sum(axis=1).astype(float)
    focal = (group == "foc").astype(float)
    for item in (0, 4):
        y = responses[:, item]
        fits = [
            sm.Logit(y, sm.add_constant(np.column_stack(cols))).fit(disp=0)
            for cols in ([total], [total, focal], [total, focal, total * focal])
        ]
        row = result.table.iloc[item]
        assert row["chi2_uniform"] == pytest.approx(2 * (fits[1].llf - fits[0].llf), abs=1e-6)
        assert row["chi2_nonuniform"] == pytest.approx(2 * (fits[2].llf - fits[1].llf), abs=1e-6)
        assert row["chi2_both"] == pytest.approx(2 * (fits[2].llf - fits[0].llf), abs=1e-6)

        def nagelkerke(fit: sm.discrete.discrete_model.BinaryResultsWrapper) -> float:
            n = fit.nobs
            cox_snell = 1 - np.exp(2 * (fit.llnull - fit.llf) / n)
            return cox_snell / (1 - np.exp(2 * fit.llnull / n))

        assert row["r2_both"] == pytest.approx(nagelkerke(fits[2]) - nagelkerke(fits[0]), abs=1e-8)


def test_logistic_detects_non_uniform_dif_that_mh_misses() -> None:
    rng = np.random.default_rng(21)
    responses, group = _simulate_crossing(rng, 1500)
    logistic = logistic_dif(responses, group, focal="foc", test="nonuniform").table
    assert logistic["p_nonuniform"].iloc[0] < 1e-6
    # R² increments of real DIF are small (Jodoin & Gierl 2001) but stand far above the rest
    assert logistic["r2_nonuniform"].iloc[0] > 10 * logistic["r2_nonuniform"].iloc[1:].max()
    assert logistic["p_uniform"].iloc[0] > 0.01  # curves cross at the group mean
    assert (logistic["class_jodoin_gierl"].iloc[1:] == "A").all()
    # MH sees only the average odds ratio, which is about 1 for a symmetric crossing
    assert mantel_haenszel(responses, group, focal="foc").table["ets_class"].iloc[0] == "A"


def test_dif_by_language_uses_kk_as_focal_and_ignores_other_groups() -> None:
    rng = np.random.default_rng(4)
    responses, group = _simulate_rasch(rng, 300, dif_shift={0: 1.0}, n_items=10)
    language = np.where(group == "foc", "kk", "ru").astype(object)
    language[:25] = "en"  # a third language is left out of the kk/ru comparison
    persons = pd.DataFrame({"language": language})
    frame = pd.DataFrame(responses, columns=[f"q{j}" for j in range(10)])
    result = dif_by(frame, persons, "language")
    assert (result.focal, result.reference) == ("kk", "ru")
    assert result.table["n_reference"].iloc[0] + result.table["n_focal"].iloc[0] <= 575
    assert result.flagged[0] == "q0"
    logistic = dif_by(frame, persons, "language", method="logistic")
    assert "q0" in logistic.flagged


def test_polytomous_items_are_matched_on_but_not_tested() -> None:
    rng = np.random.default_rng(9)
    responses, group = _simulate_rasch(rng, 200, dif_shift={}, n_items=8)
    responses[:, 7] = responses[:, 7] + responses[:, 6]  # a 0-2 item
    result = mantel_haenszel(responses, group, focal="foc")
    assert np.isnan(result.table["alpha_mh"].iloc[7])
    assert pd.isna(result.table["ets_class"].iloc[7])
    assert not result.table["dif"].iloc[7]


def test_bad_inputs_are_reported() -> None:
    responses = np.zeros((4, 3), dtype=int)
    with pytest.raises(DataValidationError, match="focal group 'x' not found"):
        mantel_haenszel(responses, ["a", "a", "b", "b"], focal="x")
    with pytest.raises(DataValidationError, match="name the reference group"):
        mantel_haenszel(responses, ["a", "b", "c", "c"], focal="a")
    with pytest.raises(DataValidationError, match="3 group labels for 4 persons"):
        mantel_haenszel(responses, ["a", "b", "b"], focal="a")
    with pytest.raises(DataValidationError, match="no such column"):
        dif_by(responses, pd.DataFrame({"sex": ["f"] * 4}), "language")
    with pytest.raises(InvalidParameterError, match="The 'alpha' parameter of mantel_haenszel"):
        mantel_haenszel(responses, ["a", "a", "b", "b"], focal="a", alpha=2.0)
