"""IRTModel's contract: validation, warnings, fitted attributes and the results object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sapa.errors import (
    ConvergenceWarning,
    DataValidationError,
    InvalidParameterError,
    ModelSpecError,
    NotFittedError,
)
from sapa.irt.estimate import CalibrationResult, IRTModel


@pytest.fixture(scope="module")
def fitted(lsat7) -> IRTModel:
    patterns, freq = lsat7
    return IRTModel().fit(patterns, weights=freq)


def test_constructor_only_stores() -> None:
    model = IRTModel(n_quad=3, model="nope")
    assert model.n_quad == 3 and model.model == "nope"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"n_quad": 3},
            "The 'n_quad' parameter of IRTModel must be an int in the range [5, 201]. "
            "Got 3 instead.",
        ),
        ({"model": "4PL"}, "The 'model' parameter of IRTModel must be one of"),
        ({"model": ["2PL", "xPL"]}, "Got ['2PL', 'xPL'] instead."),
        ({"tol": 0.0}, "The 'tol' parameter of IRTModel must be a float in the range (0.0, inf)"),
        ({"accelerate": "aitken"}, "The 'accelerate' parameter"),
        ({"se_method": "sandwich"}, "The 'se_method' parameter"),
        ({"priors": {"b": ("norm", 0, 1)}}, "The 'priors' parameter"),
        ({"priors": {"g": ("gamma", 1, 1)}}, "The 'priors' parameter"),
        ({"max_iter": 0}, "The 'max_iter' parameter"),
    ],
)
def test_invalid_settings_fail_in_fit(lsat7, kwargs, message) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        IRTModel(**kwargs).fit(lsat7[0])
    assert message in str(caught.value)


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="item_bank_"):
        _ = IRTModel().item_bank_


def test_fitted_attributes(fitted: IRTModel) -> None:
    assert fitted.converged_
    assert 1 < fitted.n_iter_ < 100
    assert fitted.loglik_trace_.size == fitted.n_iter_ + 1
    assert fitted.groups_ == ("all",)
    np.testing.assert_array_equal(fitted.latent_mean_, [0.0])
    np.testing.assert_array_equal(fitted.latent_var_, [1.0])
    assert isinstance(fitted.result_, CalibrationResult)


def test_results_object(fitted: IRTModel) -> None:
    result = fitted.result_
    assert result.df_model == 10
    assert list(result.params.index.names) == ["item", "parameter"]
    frame = result.to_frame()
    assert list(frame.columns) == ["estimate", "se", "lower", "upper"]
    assert np.all(frame["lower"] < frame["estimate"]) and np.all(frame["estimate"] < frame["upper"])
    wide, narrow = result.conf_int(0.01), result.conf_int(0.10)
    assert np.all(wide["lower"] < narrow["lower"])
    text = result.summary()
    assert "-2658.805" in text and "D = 1" in text and "item3" in text
    irt = result.coef(irt_pars=True, scaling=1.702)
    np.testing.assert_allclose(irt["a"] * 1.702, fitted.item_bank_.slopes)
    slope_intercept = result.coef(irt_pars=False)
    np.testing.assert_allclose(irt["b"], -slope_intercept["d"] / slope_intercept["a"])
    pd.testing.assert_frame_equal(result.coef(), result.coef(irt_pars=True))


def test_no_standard_errors_when_not_asked(lsat7) -> None:
    model = IRTModel(se_method=None).fit(lsat7[0], weights=lsat7[1])
    assert model.result_.bse.isna().all()


def test_convergence_warning_gives_the_numbers(lsat7) -> None:
    with pytest.warns(ConvergenceWarning, match=r"did not converge in 2 cycles \(max change"):
        model = IRTModel(max_iter=2).fit(lsat7[0], weights=lsat7[1])
    assert not model.converged_
    assert model.n_iter_ == 2


def test_missing_values_as_nan_and_empty_persons_dropped(lsat7) -> None:
    patterns, freq = lsat7
    frame = pd.DataFrame(np.repeat(patterns, freq.astype(int), axis=0).astype(float))
    frame.iloc[:10, 2] = np.nan
    frame.loc[len(frame)] = np.nan  # a person who answered nothing
    model = IRTModel(se_method=None).fit(frame)
    assert model.result_.n_obs == 1000
    assert model.item_bank_.names == ("0", "1", "2", "3", "4")


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        (np.zeros((3, 2, 2)), "2-D"),
        (np.array([[0.5, 1.0], [1.0, 0.0]]), "whole numbers"),
        (np.array([["a", "b"], ["c", "d"]]), "numeric"),
        (np.array([[0, -2], [1, 0]]), "−1 for missing"),
        (np.array([[0, -1], [1, -1]]), "no person answered"),
        (np.array([[1, 0], [1, 1]]), "only one category"),
    ],
)
def test_bad_responses(responses, message) -> None:
    with pytest.raises(DataValidationError, match=message):
        IRTModel().fit(responses)


def test_bad_weights_and_groups(lsat7) -> None:
    patterns = lsat7[0]
    with pytest.raises(DataValidationError, match="non-negative"):
        IRTModel().fit(patterns, weights=-np.ones(32))
    with pytest.raises(DataValidationError, match="32 finite"):
        IRTModel().fit(patterns, weights=np.ones(31))
    with pytest.raises(DataValidationError, match="label for each"):
        IRTModel().fit(patterns, groups=["a"] * 31)


def test_model_spec_must_match_the_data(science) -> None:
    with pytest.raises(ModelSpecError, match="dichotomous"):
        IRTModel(model="2PL").fit(science)
    with pytest.raises(ModelSpecError, match="3 entries for 4 items"):
        IRTModel(model=["GRM"] * 3).fit(science)
    with pytest.raises(ModelSpecError, match="Benefit"):
        IRTModel(model={"Comfort": "GRM", "Work": "GRM", "Future": "GRM"}).fit(science)


def test_categorical_groups_choose_the_reference(lsat7) -> None:
    patterns, freq = lsat7
    persons = np.repeat(patterns, freq.astype(int), axis=0)
    labels = pd.Categorical(np.tile(["b", "a"], 500), categories=["b", "a"])
    model = IRTModel(se_method=None).fit(persons, groups=labels)
    assert model.groups_ == ("b", "a")
    assert model.latent_mean_[0] == 0.0 and model.latent_var_[0] == 1.0


def test_collapsed_group_variance_is_refused(lsat7) -> None:
    # Alternate patterns give group 'b' only item-5 failures: no variance is identified.
    patterns, freq = lsat7
    with pytest.raises(DataValidationError, match=r"\['b'\] collapsed"):
        IRTModel(se_method=None).fit(patterns, weights=freq, groups=np.tile(["b", "a"], 16))
