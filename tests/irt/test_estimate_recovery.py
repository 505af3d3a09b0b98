"""Simulation recovery: known item parameters and latent moments are estimated back.

Tolerances are about three times the sampling RMSE expected at these sample sizes (from the
asymptotic standard errors, ~1/√(N·I)), so a correct estimator passes with a wide margin for
every seed while a biased one (wrong gradient, wrong scaling, clamping) fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank

NAN = np.nan


def rmse(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.nanmean((np.asarray(estimate) - np.asarray(truth)) ** 2)))


def random_bank(models: list[str], rng: np.random.Generator) -> ItemBank:
    """Plausible parameters: a ~ U(0.7, 2), b ~ N(0, 1), thresholds spread over about ±1.5."""
    n_items = len(models)
    n_categories = np.array([4 if m in ("GRM", "GPCM") else 2 for m in models])
    slopes = np.where(np.isin(models, ["Rasch"]), 1.0, rng.uniform(0.7, 2.0, n_items))
    intercepts = np.full((n_items, 3), NAN)
    guessing = np.zeros(n_items)
    for j, model in enumerate(models):
        location = rng.normal(0, 0.8)
        if model in ("GRM", "GPCM"):
            thresholds = location + np.array([-1.2, 0.0, 1.2]) + rng.normal(0, 0.2, 3)
            intercepts[j] = -slopes[j] * np.sort(thresholds)
        else:
            intercepts[j, 0] = -slopes[j] * location
        if model == "3PL":
            guessing[j] = 0.2
    return ItemBank(
        names=tuple(f"i{j}" for j in range(n_items)),
        models=tuple(models),
        slopes=slopes,
        intercepts=intercepts[:, : n_categories.max() - 1],
        guessing=guessing,
        n_categories=n_categories,
    )


@pytest.mark.parametrize(
    ("model", "n_items", "n_persons", "slope_tol", "intercept_tol"),
    [
        ("2PL", 20, 3000, 0.10, 0.10),
        ("GRM", 10, 2000, 0.12, 0.15),
        ("GPCM", 10, 2000, 0.12, 0.15),
    ],
)
def test_recovery_single_model(simulate, model, n_items, n_persons, slope_tol, intercept_tol):
    rng = np.random.default_rng(20240 + n_items)
    truth = random_bank([model] * n_items, rng)
    responses = simulate(truth, rng.standard_normal(n_persons), rng)
    fitted = IRTModel(model=model).fit(responses)
    assert fitted.converged_
    assert rmse(fitted.item_bank_.slopes, truth.slopes) < slope_tol
    assert rmse(fitted.item_bank_.intercepts, truth.intercepts) < intercept_tol


def test_recovery_rasch_with_latent_variance(simulate) -> None:
    # Rasch: slopes fixed at 1, so the latent variance (true 1.44) carries the scale.
    rng = np.random.default_rng(11)
    truth = random_bank(["Rasch"] * 15, rng)
    responses = simulate(truth, rng.normal(0, 1.2, 3000), rng)
    fitted = IRTModel(model="Rasch").fit(responses)
    np.testing.assert_array_equal(fitted.item_bank_.slopes, 1.0)
    assert fitted.latent_var_[0] == pytest.approx(1.44, abs=0.15)
    assert rmse(fitted.item_bank_.intercepts, truth.intercepts) < 0.1


def test_recovery_pcm_fixes_slopes(simulate) -> None:
    rng = np.random.default_rng(12)
    truth = random_bank(["GPCM"] * 8, rng)
    truth = ItemBank(
        names=truth.names,
        models=truth.models,
        slopes=np.ones(8),
        intercepts=truth.intercepts,
        guessing=truth.guessing,
        n_categories=truth.n_categories,
    )
    responses = simulate(truth, rng.standard_normal(2000), rng)
    fitted = IRTModel(model="PCM").fit(responses)
    np.testing.assert_array_equal(fitted.item_bank_.slopes, 1.0)
    assert fitted.latent_var_[0] == pytest.approx(1.0, abs=0.15)
    assert rmse(fitted.item_bank_.intercepts, truth.intercepts) < 0.15


def test_recovery_3pl_with_default_prior(simulate) -> None:
    # Beta(5, 17) prior on g (mode 0.2); g is weakly identified, so tolerances are wider.
    rng = np.random.default_rng(13)
    truth = random_bank(["3PL"] * 15, rng)
    responses = simulate(truth, rng.standard_normal(5000), rng)
    fitted = IRTModel(model="3PL").fit(responses)
    assert fitted.converged_
    assert rmse(fitted.item_bank_.guessing, truth.guessing) < 0.05
    assert rmse(fitted.item_bank_.slopes, truth.slopes) < 0.25
    b_true = -truth.intercepts[:, 0] / truth.slopes
    b_fit = -fitted.item_bank_.intercepts[:, 0] / fitted.item_bank_.slopes
    assert rmse(b_fit, b_true) < 0.15


def test_recovery_mixed_types_in_one_calibration(simulate) -> None:
    rng = np.random.default_rng(14)
    models = ["2PL"] * 6 + ["3PL"] * 4 + ["GRM"] * 4 + ["GPCM"] * 4
    truth = random_bank(models, rng)
    responses = simulate(truth, rng.standard_normal(4000), rng)
    frame = pd.DataFrame(responses, columns=list(truth.names))
    fitted = IRTModel(model=dict(zip(truth.names, models, strict=True))).fit(frame)
    assert fitted.item_bank_.models == truth.models
    polytomous = np.isin(models, ["GRM", "GPCM"])
    assert rmse(fitted.item_bank_.slopes[polytomous], truth.slopes[polytomous]) < 0.12
    assert rmse(fitted.item_bank_.slopes[:6], truth.slopes[:6]) < 0.15
    assert rmse(fitted.item_bank_.intercepts[polytomous], truth.intercepts[polytomous]) < 0.15


def test_recovery_booklet_design_with_missing(simulate) -> None:
    # 30 items in three booklets of 20 (items 0-9 common), plus 7% missing at random.
    rng = np.random.default_rng(15)
    truth = random_bank(["2PL"] * 30, rng)
    n_persons = 4500
    responses = simulate(truth, rng.standard_normal(n_persons), rng)
    booklet = rng.integers(0, 3, n_persons)
    not_presented = np.zeros(responses.shape, dtype=bool)
    for b, hidden in enumerate((range(20, 30), range(10, 20), range(10, 15))):
        not_presented[np.ix_(booklet == b, list(hidden))] = True
    responses[not_presented] = -1
    responses[rng.random(responses.shape) < 0.07] = -1
    share_missing = (responses < 0).mean()
    assert 0.25 < share_missing < 0.35
    fitted = IRTModel(model="2PL").fit(responses)
    assert fitted.converged_
    assert rmse(fitted.item_bank_.slopes, truth.slopes) < 0.12
    assert rmse(fitted.item_bank_.intercepts, truth.intercepts) < 0.12


def test_recovery_multigroup_moments(simulate) -> None:
    # Reference group N(0, 1); focal group N(0.5, 1.2²); items shared.
    rng = np.random.default_rng(16)
    truth = random_bank(["2PL"] * 25, rng)
    theta = np.concatenate([rng.normal(0, 1, 2500), rng.normal(0.5, 1.2, 2500)])
    responses = simulate(truth, theta, rng)
    labels = np.repeat(np.array(["grade4", "grade9"]), 2500)
    fitted = IRTModel(model="2PL").fit(responses, groups=labels)
    assert fitted.groups_ == ("grade4", "grade9")
    assert fitted.latent_mean_[0] == 0.0
    assert fitted.latent_var_[0] == 1.0
    assert fitted.latent_mean_[1] == pytest.approx(0.5, abs=0.08)
    assert fitted.latent_var_[1] == pytest.approx(1.44, abs=0.15)
    assert rmse(fitted.item_bank_.slopes, truth.slopes) < 0.1
    se = fitted.result_.bse
    assert 0.01 < se.loc[("grade9", "mean")] < 0.06
