"""Linking constants, bank transformation and fixed-item calibration.

Reference values: the hypothetical three-item 3PL example of Kolen & Brennan (2014, §6.3; also R
MiscPsycho's ``SL`` example), whose mean–mean and mean–sigma constants are worked by hand below;
the characteristic-curve methods are checked against an independent implementation of the
criteria written directly from the 3PL formula; invariance under known transformations
(hypothesis); and recovery of a known scale in simulations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from sapa.errors import DataValidationError, InvalidParameterError, ModelSpecError
from sapa.irt.estimate import IRTModel
from sapa.irt.linking import (
    DEFAULT_GRID,
    compare_linking_methods,
    fixed_item_table,
    link,
    transform_bank,
)
from sapa.irt.models import ItemBank

# Kolen & Brennan's hypothetical example, D = 1.7: scale I (new, source) and scale J (target)
KB_A_I, KB_B_I = [0.4, 1.7, 1.2], [-1.1, 0.9, 2.2]
KB_A_J, KB_B_J = [0.5, 1.6, 1.0], [-1.5, 0.5, 2.0]
KB_C = [0.1, 0.2, 0.1]


def _kb_banks() -> tuple[ItemBank, ItemBank]:
    source = ItemBank.from_irt(KB_A_I, KB_B_I, KB_C, models="3PL", scaling=1.7)
    target = ItemBank.from_irt(KB_A_J, KB_B_J, KB_C, models="3PL", scaling=1.7)
    return source, target


def _mixed_bank() -> ItemBank:
    nan = np.nan
    return ItemBank.from_irt(
        a=[1.0, 1.5, 0.8, 1.2, 0.9, 1.1, 0.7],
        b=[
            [-1.0, nan, nan],
            [0.5, nan, nan],
            [0.2, nan, nan],
            [-1.0, 0.0, 1.2],
            [-0.5, 0.3, nan],
            [-1.5, -0.2, 0.9],
            [1.0, nan, nan],
        ],
        g=[0, 0, 0.2, 0, 0, 0, 0],
        models=["2PL", "2PL", "3PL", "GRM", "GPCM", "GPCM", "Rasch"],
    )


def test_kolen_brennan_moment_methods_by_hand() -> None:
    # mean-mean: A = mean(a_I)/mean(a_J) = 1.1/1.033333 = 1.064516
    #            B = mean(b_J) − A·mean(b_I) = 0.333333 − 1.064516·0.666667 = −0.376344
    # mean-sigma: A = sd(b_J)/sd(b_I) = √(6.166667/5.526667) = 1.056315
    #            B = 0.333333 − 1.056315·0.666667 = −0.370877
    # (the a's are in the D = 1.7 metric; their ratio does not depend on D)
    source, target = _kb_banks()
    mean_mean = link(source, target, method="mean-mean")
    assert (mean_mean.A, mean_mean.B) == pytest.approx((1.064516, -0.376344), abs=1e-6)
    mean_sigma = link(source, target, method="mean-sigma")
    assert (mean_sigma.A, mean_sigma.B) == pytest.approx((1.056315, -0.370877), abs=1e-6)
    assert np.isnan(mean_sigma.criterion)


def _independent_criteria(method: str, params: np.ndarray) -> float:
    """Haebara / Stocking–Lord for the K&B items, written from the 3PL formula in IRT form."""
    A, B = params  # noqa: N806
    theta = np.linspace(-4, 4, 41)[:, None]

    def icc(a: list[float], b: list[float], th: np.ndarray) -> np.ndarray:
        c = np.array(KB_C)
        return c + (1 - c) / (1 + np.exp(-1.7 * np.array(a) * (th - np.array(b))))

    p_target = icc(KB_A_J, KB_B_J, theta)
    # source items transformed to the target scale: a/A, A·b + B
    p_source = icc(list(np.array(KB_A_I) / A), list(A * np.array(KB_B_I) + B), theta)
    if method == "haebara":
        return float(np.mean(2 * ((p_target - p_source) ** 2).sum(axis=1)))
    return float(np.mean((p_target.sum(axis=1) - p_source.sum(axis=1)) ** 2))


@pytest.mark.parametrize("method", ["haebara", "stocking-lord"])
def test_characteristic_curve_methods_match_independent_criteria(method: str) -> None:
    source, target = _kb_banks()
    result = link(source, target, method=method)
    reference = optimize.minimize(
        lambda x: _independent_criteria(method, x),
        [1.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-16, "maxiter": 5000},
    )
    assert (result.A, result.B) == pytest.approx(tuple(reference.x), abs=1e-5)
    assert result.criterion == pytest.approx(reference.fun, rel=1e-6)


@settings(max_examples=12, deadline=None)
@given(
    st.floats(0.5, 2.0),
    st.floats(-1.5, 1.5),
    st.sampled_from(["mean-mean", "mean-sigma", "haebara", "stocking-lord"]),
)
def test_linking_a_transformed_copy_recovers_the_constants(A: float, B: float, method: str) -> None:  # noqa: N803
    source = _mixed_bank()
    target = transform_bank(source, A, B)
    result = link(source, target, method=method)  # type: ignore[arg-type]
    assert result.A == pytest.approx(A, rel=1e-6)
    assert result.B == pytest.approx(B, abs=1e-6)
    linked = result.transform_bank(source)
    np.testing.assert_allclose(linked.slopes, target.slopes, rtol=1e-5)
    np.testing.assert_allclose(linked.intercepts, target.intercepts, rtol=1e-5, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.3, 3.0), st.floats(-2.0, 2.0))
def test_transform_preserves_every_response_function(A: float, B: float) -> None:  # noqa: N803
    bank = _mixed_bank()
    moved = transform_bank(bank, A, B)
    theta = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(
        moved.probabilities(A * theta + B), bank.probabilities(theta), atol=1e-12
    )
    # IRT form: a* = a/A, b* = A·b + B
    before, after = bank.irt_parameters(), moved.irt_parameters()
    np.testing.assert_allclose(after["a"], before["a"] / A, rtol=1e-12)
    np.testing.assert_allclose(after["b1"], A * before["b1"] + B, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(after["g"], before["g"])


def test_linking_composes() -> None:
    # linking X→Y then Y→Z equals X→Z: A = A₂A₁, B = A₂B₁ + B₂
    bank = _mixed_bank()
    middle = transform_bank(bank, 1.2, 0.3)
    last = transform_bank(middle, 0.9, -0.5)
    direct = link(bank, last, method="stocking-lord")
    assert direct.A == pytest.approx(1.2 * 0.9, rel=1e-6)
    assert direct.B == pytest.approx(0.9 * 0.3 - 0.5, abs=1e-6)
    assert direct.transform_theta([0.0, 1.0]) == pytest.approx([direct.B, direct.A + direct.B])
    assert direct.transform_se([0.5]) == pytest.approx([0.5 * direct.A])


def test_common_items_by_mapping_and_weights() -> None:
    bank = _mixed_bank()
    renamed = ItemBank(
        names=tuple(f"old_{n}" for n in bank.names),
        models=bank.models,
        slopes=bank.slopes,
        intercepts=bank.intercepts,
        guessing=bank.guessing,
        n_categories=bank.n_categories,
    )
    target = transform_bank(renamed, 1.1, 0.2)
    mapping = {name: f"old_{name}" for name in bank.names}
    density = np.exp(-(DEFAULT_GRID**2) / 2)
    result = link(bank, target, method="haebara", common_items=mapping, weights=density)
    assert (result.A, result.B) == pytest.approx((1.1, 0.2), abs=1e-6)
    assert result.common_items[0] == ("item1", "old_item1")


def test_compare_methods_table() -> None:
    source, target = _kb_banks()
    table = compare_linking_methods(source, target)
    assert list(table["method"]) == ["mean-mean", "mean-sigma", "haebara", "stocking-lord"]
    assert (table["n_common"] == 3).all()
    # all four agree on the rough size of the transformation for this example
    assert table["A"].between(0.95, 1.15).all()
    assert table["B"].between(-0.55, -0.25).all()


def test_bad_common_items_are_reported() -> None:
    bank = _mixed_bank()
    with pytest.raises(DataValidationError, match="not an item of the target calibration"):
        link(bank, bank.subset(["item1", "item2"]), common_items=["item1", "item3"])
    with pytest.raises(DataValidationError, match="≥ 2 common items"):
        link(bank, bank.subset(["item1"]))
    other = ItemBank.from_irt([1.0, 1.0], [0.0, 0.5], models=["2PL", "Rasch"])
    with pytest.raises(DataValidationError, match="model/categories differ"):
        link(bank.subset(["item1", "item2"]), other)
    with pytest.raises(InvalidParameterError, match="The 'method' parameter of link"):
        link(bank, bank, method="equipercentile")  # type: ignore[arg-type]
    with pytest.raises(ModelSpecError, match="must be positive"):
        transform_bank(bank, -1.0, 0.0)


def _two_forms(rng: np.random.Generator, n_persons: int) -> tuple[ItemBank, pd.DataFrame]:
    """A 24-item 2PL base bank; a new group N(0.5, 1.2²) takes it (items q0–q11 are anchors)."""
    names = [f"q{j}" for j in range(24)]
    bank = ItemBank.from_irt(rng.uniform(0.8, 1.8, 24), rng.uniform(-1.5, 1.5, 24), names=names)
    theta = rng.normal(0.5, 1.2, n_persons)
    p = bank.probabilities(theta)[:, :, 1]
    responses = pd.DataFrame((rng.random(p.shape) < p).astype(np.int8), columns=names)
    return bank, responses


def test_fixed_item_calibration_and_linking_recover_the_base_scale() -> None:
    rng = np.random.default_rng(1)
    bank, responses = _two_forms(rng, 2500)
    anchors = bank.subset([f"q{j}" for j in range(12)])
    model = IRTModel(model="2PL", n_quad=41, se_method=None)
    table = fixed_item_table(model.initial_parameter_table(responses), anchors)
    assert not table.loc[table["item"] == "q0", "estimate"].any()
    assert table.loc[table["model"] == "group", "estimate"].all()
    model.fit(responses, parameter_table=table)
    # anchors held, new group's distribution estimated on the base scale (true 0.5 and 1.44)
    np.testing.assert_allclose(model.item_bank_.subset(anchors.names).slopes, anchors.slopes)
    assert model.latent_mean_[0] == pytest.approx(0.5, abs=0.1)
    assert model.latent_var_[0] == pytest.approx(1.44, abs=0.2)
    new_items = [f"q{j}" for j in range(12, 24)]
    estimated = model.item_bank_.subset(new_items)
    truth = bank.subset(new_items)
    assert np.max(np.abs(estimated.irt_parameters()["b"] - truth.irt_parameters()["b"])) < 0.25
    # separate calibration (new group standardised) linked to the anchors: θ_base = 1.2·θ + 0.5
    free = IRTModel(model="2PL", n_quad=41, se_method=None).fit(responses)
    for method in ("mean-mean", "mean-sigma", "haebara", "stocking-lord"):
        result = link(free.item_bank_, anchors, method=method)  # type: ignore[arg-type]
        assert result.A == pytest.approx(1.2, abs=0.1), method
        assert result.B == pytest.approx(0.5, abs=0.1), method


def test_fixed_item_table_rejects_mismatched_anchors() -> None:
    table = pd.DataFrame(
        {
            "item": ["q1", "q1", "all", "all"],
            "model": ["2PL", "2PL", "group", "group"],
            "parameter": ["a", "d", "mean", "var"],
            "value": [1.0, 0.0, 0.0, 1.0],
            "estimate": [True, True, False, False],
        }
    )
    anchors = ItemBank.from_irt([1.3, 1.0], [0.2, 0.0], names=["q1", "q9"])
    with pytest.raises(DataValidationError, match="anchor item not in the table"):
        fixed_item_table(table, anchors)
    fixed = fixed_item_table(table, anchors.subset(["q1"]))
    assert fixed.loc[0, "value"] == pytest.approx(1.3)
    assert fixed.loc[1, "value"] == pytest.approx(-1.3 * 0.2)
    assert not fixed.loc[:1, "estimate"].any() and fixed.loc[2:, "estimate"].all()
    three_pl = ItemBank.from_irt([1.3], [0.2], [0.2], models="3PL", names=["q1"])
    with pytest.raises(DataValidationError, match="model"):
        fixed_item_table(table, three_pl)
