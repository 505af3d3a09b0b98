"""The parameter table: defaults, round trip, warm starts, anchors, priors and bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sapa.errors import ModelSpecError
from sapa.irt._paramtable import COLUMNS, ParameterSpec
from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank


@pytest.fixture(scope="module")
def truth() -> ItemBank:
    rng = np.random.default_rng(42)
    a = rng.uniform(0.8, 2.0, 20)
    return ItemBank.from_irt(a=a, b=rng.normal(0, 1, 20))


def test_default_table_layout(lsat7) -> None:
    patterns, _ = lsat7
    table = IRTModel(model=["2PL", "2PL", "3PL", "Rasch", "2PL"]).initial_parameter_table(
        patterns, groups=np.repeat(["x", "y"], 16)
    )
    assert tuple(table.columns) == COLUMNS
    item3 = table[table["item"] == "item3"].set_index("parameter")
    assert list(item3.index) == ["a", "d", "g"]
    assert (item3.loc["g", "prior"], item3.loc["g", "prior_1"], item3.loc["g", "prior_2"]) == (
        "beta",
        5.0,
        17.0,
    )
    assert (item3.loc["g", "lower"], item3.loc["g", "upper"]) == (0.0, 1.0)
    rasch_slope = table[(table["item"] == "item4") & (table["parameter"] == "a")]
    assert rasch_slope["value"].item() == 1.0 and not rasch_slope["estimate"].item()
    groups = table[table["model"] == "group"].set_index(["item", "parameter"])["estimate"]
    # Reference group fixed at N(0, 1) because slopes are free; the second group is free.
    assert groups.to_dict() == {
        ("x", "mean"): False,
        ("x", "var"): False,
        ("y", "mean"): True,
        ("y", "var"): True,
    }


def test_polytomous_rows(science) -> None:
    table = IRTModel(model="GRM").initial_parameter_table(science)
    comfort = table[table["item"] == "Comfort"]
    assert list(comfort["parameter"]) == ["a", "d1", "d2", "d3"]
    assert np.all(np.diff(comfort["value"].to_numpy()[1:]) < 0)  # decreasing GRM intercepts


def test_round_trip_and_warm_start(lsat7) -> None:
    patterns, freq = lsat7
    first = IRTModel(tol=1e-7).fit(patterns, weights=freq)
    table = first.result_.parameter_table()
    again = ParameterSpec.from_frame(table).to_frame()
    pd.testing.assert_frame_equal(again, table)
    warm = IRTModel(tol=1e-6).fit(patterns, weights=freq, parameter_table=table)
    assert warm.n_iter_ == 1
    np.testing.assert_allclose(warm.item_bank_.slopes, first.item_bank_.slopes, atol=1e-6)


def test_table_rows_are_matched_by_item_name(lsat7) -> None:
    patterns, freq = lsat7
    first = IRTModel(tol=1e-7).fit(patterns, weights=freq)
    shuffled = first.result_.parameter_table().sample(frac=1.0, random_state=3)
    refit = IRTModel(tol=1e-7).fit(patterns, weights=freq, parameter_table=shuffled)
    np.testing.assert_allclose(refit.item_bank_.slopes, first.item_bank_.slopes, atol=1e-6)
    assert refit.item_bank_.names == first.item_bank_.names


def test_fixed_item_calibration_estimates_the_group(simulate, truth: ItemBank) -> None:
    # All items fixed at known values, latent mean and variance free: the new cohort's
    # distribution N(0.5, 1.2²) is recovered on the bank's scale (linking by fixed anchors).
    rng = np.random.default_rng(7)
    responses = simulate(truth, rng.normal(0.5, 1.2, 3000), rng)
    model = IRTModel()
    table = model.initial_parameter_table(responses)
    for j, name in enumerate(truth.names):
        rows = table["item"] == name
        table.loc[rows & (table["parameter"] == "a"), "value"] = truth.slopes[j]
        table.loc[rows & (table["parameter"] == "d"), "value"] = truth.intercepts[j, 0]
    table.loc[table["model"] != "group", "estimate"] = False
    table.loc[table["model"] == "group", "estimate"] = True
    model.fit(responses, parameter_table=table)
    np.testing.assert_array_equal(model.item_bank_.slopes, truth.slopes)
    assert model.latent_mean_[0] == pytest.approx(0.5, abs=0.06)
    assert model.latent_var_[0] == pytest.approx(1.44, abs=0.12)
    assert model.result_.df_model == 2


def test_anchor_items_put_new_items_on_the_bank_scale(simulate, truth: ItemBank) -> None:
    # Items 0-9 anchored at their bank values; items 10-19 are new and the cohort is N(0.5, 1.2²).
    rng = np.random.default_rng(8)
    responses = simulate(truth, rng.normal(0.5, 1.2, 4000), rng)
    model = IRTModel()
    table = model.initial_parameter_table(responses)
    anchors = list(truth.names[:10])
    for j, name in enumerate(anchors):
        rows = table["item"] == name
        table.loc[rows & (table["parameter"] == "a"), ["value", "estimate"]] = [
            truth.slopes[j],
            False,
        ]
        table.loc[rows & (table["parameter"] == "d"), ["value", "estimate"]] = [
            truth.intercepts[j, 0],
            False,
        ]
    table.loc[table["model"] == "group", "estimate"] = True
    model.fit(responses, parameter_table=table)
    new = model.item_bank_.subset(list(truth.names[10:]))
    expected = truth.subset(list(truth.names[10:]))
    assert np.sqrt(np.mean((new.slopes - expected.slopes) ** 2)) < 0.12
    b_new = -new.intercepts[:, 0] / new.slopes
    b_true = -expected.intercepts[:, 0] / expected.slopes
    assert np.sqrt(np.mean((b_new - b_true) ** 2)) < 0.12
    assert model.latent_mean_[0] == pytest.approx(0.5, abs=0.08)


def test_prior_and_bound_from_the_table(lsat7) -> None:
    patterns, freq = lsat7
    model = IRTModel(tol=1e-7)
    table = model.initial_parameter_table(patterns)
    item1_d = (table["item"] == "item1") & (table["parameter"] == "d")
    table.loc[item1_d, ["prior", "prior_1", "prior_2"]] = ["norm", 0.0, 0.01]
    item3_a = (table["item"] == "item3") & (table["parameter"] == "a")
    table.loc[item3_a, "upper"] = 1.2
    model.fit(patterns, weights=freq, parameter_table=table)
    assert abs(model.item_bank_.intercepts[0, 0]) < 0.05  # pulled to the N(0, 0.01²) prior
    assert model.item_bank_.slopes[2] == pytest.approx(1.2)  # unbounded MLE is 1.706
    unconstrained = IRTModel(tol=1e-7).fit(patterns, weights=freq)
    assert model.result_.loglik < unconstrained.result_.loglik


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.drop(columns=["prior"]), "lacks the columns"),
        (lambda t: t[t["item"] != "item5"], "do not match"),
        (lambda t: t.assign(prior=np.where(t["item"] == "item1", "cauchy", t["prior"])), "cauchy"),
        (lambda t: t.assign(model=np.where(t["item"] == "item1", "4PL", t["model"])), "4PL"),
        (
            lambda t: t.assign(parameter=np.where(t["parameter"] == "d", "d7", t["parameter"])),
            "has no parameter",
        ),
        (lambda t: t[t["model"] != "group"].assign(item=t["item"]), None),
    ],
)
def test_invalid_tables_are_refused(lsat7, edit, message) -> None:
    patterns, freq = lsat7
    table = IRTModel().initial_parameter_table(patterns)
    edited = edit(table)
    if message is None:  # no group rows: a single default group N(0, 1), accepted
        model = IRTModel().fit(patterns, weights=freq, parameter_table=edited)
        assert model.groups_ == ("all",)
        return
    with pytest.raises(ModelSpecError, match=message):
        IRTModel().fit(patterns, weights=freq, parameter_table=edited)


def test_table_groups_must_cover_the_data(lsat7) -> None:
    patterns, freq = lsat7
    table = IRTModel().initial_parameter_table(patterns, groups=np.repeat(["x", "y"], 16))
    with pytest.raises(ModelSpecError, match="'z'"):
        IRTModel().fit(
            patterns, weights=freq, groups=np.repeat(["x", "z"], 16), parameter_table=table
        )
