"""The composite index: worked examples by hand, the JRC handbook's properties of the Monte Carlo,
framework validation, the shipped framework, and similar-school comparisons."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from sapa.errors import DataValidationError, InvalidParameterError
from sapa.indicators.composite import (
    SOURCES,
    Framework,
    compare_with_similar,
    composite_index,
    similar_schools,
)

UNITS = ["A", "B", "C", "D"]

#: The worked example: 4 schools, 3 indicators; x3 counts against (direction -1).
X1 = [10.0, 20.0, 30.0, 40.0]
X2 = [4.0, 2.0, 8.0, 6.0]
X3 = [1.0, 3.0, 2.0, 5.0]

#: Every indicator code the other indicator modules produce that a framework may name.
KNOWN_CODES = {
    "outcomes.mean.READ",
    "outcomes.mean.MLIT",
    "outcomes.mean.SLIT",
    "outcomes.at_or_above_1.MLIT",
    "teachers.share.pedagogue_expert",
    "teachers.attestation_overdue",
    "teachers.pd_coverage_3y",
    "teachers.pupil_teacher_ratio",
    "teachers.vacancy_rate",
    "conditions.places_ratio",
    "conditions.emergency_schools",
    "conditions.subject_classroom_coverage.physics",
    "welfare.meal_coverage",
    "welfare.incidents_per_1000",
    "welfare.parent_satisfaction",
}


def spec(**changes: Any) -> dict[str, Any]:
    """The worked example's framework as a document; ``changes`` replace top-level keys."""
    document: dict[str, Any] = {
        "name": "Worked example",
        "version": "1.0",
        "level": "school",
        "normalisation": {"method": "minmax", "minmax_range": [0, 100]},
        "aggregation": {"within": "arithmetic", "across": "arithmetic"},
        "dimensions": [
            {
                "code": "d1",
                "weight": 0.5,
                "indicators": [
                    {"code": "x1", "direction": 1},
                    {"code": "x2", "direction": 1},
                ],
            },
            {"code": "d2", "weight": 0.5, "indicators": [{"code": "x3", "direction": -1}]},
        ],
        "uncertainty": {"draws": 20, "indicator_noise": False, "weights": {"method": "none"}},
    }
    document.update(copy.deepcopy(changes))
    return document


def table_of(
    values: dict[str, list[float]],
    units: list[str] | None = None,
    se: dict[str, list[float]] | None = None,
) -> pd.DataFrame:
    """A school-level indicator table of ``values`` (NaN for missing) and optional SEs."""
    units = units or UNITS
    rows = []
    for code, column in values.items():
        for position, unit in enumerate(units):
            rows.append(
                {
                    "indicator": code,
                    "level": "school",
                    "unit": unit,
                    "subgroup": "all",
                    "value": column[position],
                    "se": se[code][position] if se and code in se else np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "n": 30,
                    "suppressed": False,
                }
            )
    return pd.DataFrame(rows)


WORKED = table_of({"x1": X1, "x2": X2, "x3": X3})


# ----------------------------------------------------------------------------- worked examples
def test_minmax_arithmetic_by_hand() -> None:
    # x1 → 0, 100/3, 200/3, 100; x2 → 100/3, 0, 100, 200/3; x3 reversed → 100, 50, 75, 0
    d1 = [(0 + 100 / 3) / 2, (100 / 3 + 0) / 2, (200 / 3 + 100) / 2, (100 + 200 / 3) / 2]
    d2 = [100.0, 50.0, 75.0, 0.0]
    expected = [0.5 * a + 0.5 * b for a, b in zip(d1, d2, strict=True)]
    result = composite_index(WORKED, Framework.from_dict(spec()), rng=0)
    np.testing.assert_allclose(result.params.loc[UNITS], expected, rtol=1e-12)
    np.testing.assert_allclose(result.dimension_scores.loc[UNITS, "d1"], d1, rtol=1e-12)
    np.testing.assert_allclose(result.dimension_scores.loc[UNITS, "d2"], d2, rtol=1e-12)
    np.testing.assert_allclose(expected, [175 / 3, 100 / 3, 79.1666666666667, 125 / 3])


def test_minmax_geometric_by_hand() -> None:
    framework = Framework.from_dict(
        spec(
            normalisation={"method": "minmax", "minmax_range": [1, 100]},
            aggregation={"within": "geometric", "across": "geometric"},
        )
    )
    # on [1, 100]: x1 → 1, 34, 67, 100; x2 → 34, 1, 100, 67; x3 reversed → 100, 50.5, 75.25, 1
    d1 = [math.sqrt(1 * 34), math.sqrt(34 * 1), math.sqrt(67 * 100), math.sqrt(100 * 67)]
    d2 = [100.0, 50.5, 75.25, 1.0]
    expected = [math.sqrt(a * b) for a, b in zip(d1, d2, strict=True)]
    result = composite_index(WORKED, framework, rng=0)
    np.testing.assert_allclose(result.params.loc[UNITS], expected, rtol=1e-12)


def test_zscore_arithmetic_by_hand() -> None:
    framework = Framework.from_dict(
        spec(normalisation={"method": "zscore", "zscore_scale": [0, 1]})
    )
    z1 = [(x - 25) / math.sqrt(500 / 3) for x in X1]  # mean 25, sample SD √(500/3)
    z2 = [(x - 5) / math.sqrt(20 / 3) for x in X2]  # mean 5, sample SD √(20/3)
    z3 = [(-x + 2.75) / math.sqrt(8.75 / 3) for x in X3]  # −x: mean −2.75, SD √(8.75/3)
    expected = [0.5 * (a + b) / 2 + 0.5 * c for a, b, c in zip(z1, z2, z3, strict=True)]
    result = composite_index(WORKED, framework, rng=0)
    np.testing.assert_allclose(result.params.loc[UNITS], expected, rtol=1e-12)


def test_percentile_geometric_by_hand() -> None:
    framework = Framework.from_dict(
        spec(
            normalisation={"method": "percentile"},
            aggregation={"within": "geometric", "across": "arithmetic"},
        )
    )
    # 100 r/(n + 1) with n = 4: x1 ranks 1..4; x2 ranks 2, 1, 4, 3; −x3 ranks 4, 2, 3, 1
    p1, p2, p3 = [20, 40, 60, 80], [40, 20, 80, 60], [80, 40, 60, 20]
    expected = [0.5 * math.sqrt(a * b) + 0.5 * c for a, b, c in zip(p1, p2, p3, strict=True)]
    result = composite_index(WORKED, framework, rng=0)
    np.testing.assert_allclose(result.params.loc[UNITS], expected, rtol=1e-12)


def test_missing_values_reweight_or_leave_out() -> None:
    values = {"x1": X1, "x2": [np.nan, 2.0, 8.0, 6.0], "x3": [1.0, 3.0, 2.0, np.nan]}
    table = table_of(values)
    result = composite_index(table, Framework.from_dict(spec()), rng=0)
    # x3 goalposts now 1..3: A → 100, B → 0, C → 50. A's d1 rests on x1 alone (coverage 0.75);
    # D lacks x3, so only half the weight is present: no index, no rank.
    expected = {"A": 0.5 * 0 + 0.5 * 100, "B": 0.5 * (100 / 3) / 2, "C": 0.5 * 250 / 3 + 25}
    for unit, value in expected.items():
        assert result.params[unit] == pytest.approx(value, rel=1e-12)
    assert math.isnan(result.params["D"])
    assert result.coverage.to_dict() == pytest.approx({"A": 0.75, "B": 1, "C": 1, "D": 0.5})
    frame = result.to_frame()
    assert "D" not in set(frame["unit"])
    assert set(frame.loc[frame["indicator"] == "composite.rank", "unit"]) == {"A", "B", "C"}
    assert frame.loc[frame["indicator"] == "composite.index", "n"].tolist() == [2, 3, 3]

    lenient = Framework.from_dict(spec(missing={"min_coverage": 0.5}))
    assert composite_index(table, lenient, rng=0).params["D"] == pytest.approx(250 / 3)


def test_to_frame_is_an_indicator_table_with_rank_intervals() -> None:
    result = composite_index(WORKED, Framework.from_dict(spec()), rng=0)
    frame = result.to_frame()
    assert list(frame.columns) == [
        "indicator",
        "level",
        "unit",
        "subgroup",
        "value",
        "se",
        "ci_low",
        "ci_high",
        "n",
        "suppressed",
    ]
    assert set(frame["indicator"]) == {
        "composite.index",
        "composite.rank",
        "composite.dimension.d1",
        "composite.dimension.d2",
    }
    ranks = frame[frame["indicator"] == "composite.rank"].set_index("unit")
    # no uncertainty: the interval collapses on the deterministic rank (C, A, D, B)
    assert ranks.loc[UNITS, "value"].tolist() == [2, 4, 1, 3]
    assert (ranks["ci_low"] == ranks["value"]).all() and (ranks["ci_high"] == ranks["value"]).all()


# ----------------------------------------------------------------------------- Monte Carlo
def _uncertain(draws: int = 40, **uncertainty: Any) -> dict[str, Any]:
    settings_ = {
        "draws": draws,
        "indicator_noise": True,
        "weights": {"method": "dirichlet", "concentration": 20},
        "normalisations": ["minmax", "zscore", "percentile"],
    }
    settings_.update(uncertainty)
    return spec(uncertainty=settings_)


@st.composite
def dominated_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    n = draw(st.integers(2, 7))
    value = st.floats(0, 100, allow_nan=False)
    columns = {code: [draw(value) for _ in range(n)] for code in ("x1", "x2", "x3")}
    gap = draw(st.floats(0.5, 10))
    columns["x1"].append(max(columns["x1"]) + gap)
    columns["x2"].append(max(columns["x2"]) + gap)
    columns["x3"].append(min(columns["x3"]) - gap)  # x3 counts against
    units = [f"S{i}" for i in range(n)] + ["TOP"]
    return table_of(columns, units), "TOP"


@settings(max_examples=20, deadline=None)
@given(dominated_tables(), st.sampled_from(["arithmetic", "geometric"]), st.integers(0, 2**32))
def test_dominating_unit_ranks_first_in_every_draw(
    case: tuple[pd.DataFrame, str], aggregation: str, seed: int
) -> None:
    table, top = case
    document = _uncertain()
    if aggregation == "geometric":
        document["normalisation"]["minmax_range"] = [1, 100]
        document["aggregation"] = {"within": "geometric", "across": "geometric"}
        document["uncertainty"]["normalisations"] = ["minmax", "percentile"]
    result = composite_index(table, Framework.from_dict(document), rng=seed)
    position = result.units.get_loc(top)
    assert (result.rank_draws[:, position] == 1).all()
    assert result.rank_interval().loc[top].tolist() == [1, 1, 1]


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(*[st.floats(0, 100, allow_nan=False)] * 3), min_size=2, max_size=9),
    st.sampled_from(["minmax", "zscore", "percentile"]),
)
def test_no_uncertainty_gives_degenerate_rank_intervals(
    rows: list[tuple[float, float, float]], method: str
) -> None:
    units = [f"S{i}" for i in range(len(rows))]
    columns = {code: [row[i] for row in rows] for i, code in enumerate(("x1", "x2", "x3"))}
    se = {code: [1.0] * len(rows) for code in columns}  # SEs present but not used
    document = spec(
        normalisation={"method": method},
        uncertainty={"draws": 15, "indicator_noise": False, "weights": {"method": "none"}},
    )
    result = composite_index(table_of(columns, units, se), Framework.from_dict(document), rng=1)
    deterministic = rankdata(-result.params.to_numpy(), method="min")
    ranks = result.rank_interval()
    np.testing.assert_array_equal(ranks["median"], deterministic)
    np.testing.assert_array_equal(ranks["lower"], deterministic)
    np.testing.assert_array_equal(ranks["upper"], deterministic)
    np.testing.assert_array_equal(result.conf_int()["lower"], result.params)
    np.testing.assert_array_equal(result.conf_int()["upper"], result.params)


def _noisy_example(scale: float) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    units = [f"S{i:02d}" for i in range(40)]
    columns = {code: rng.normal(50, 10, size=40).tolist() for code in ("x1", "x2", "x3")}
    se = {code: [scale] * 40 for code in columns}
    return table_of(columns, units, se)


def test_wider_standard_errors_give_wider_rank_intervals() -> None:
    framework = Framework.from_dict(spec(uncertainty={"draws": 300, "indicator_noise": True}))
    widths = []
    for scale in (0.5, 2.0, 6.0):
        ranks = composite_index(_noisy_example(scale), framework, rng=3).rank_interval()
        widths.append(float((ranks["upper"] - ranks["lower"]).mean()))
    assert widths[0] < widths[1] < widths[2]


def test_index_interval_holds_the_draws_and_ranks_use_every_normalisation() -> None:
    framework = Framework.from_dict(_uncertain(draws=200))
    result = composite_index(_noisy_example(2.0), framework, rng=5)
    interval = result.conf_int()
    assert (interval["lower"] <= interval["upper"]).all()
    assert (result.bse > 0).all()
    inside = (result.params >= interval["lower"]) & (result.params <= interval["upper"])
    assert inside.mean() > 0.9
    ranks = result.rank_interval()
    assert ((ranks["lower"] <= ranks["median"]) & (ranks["median"] <= ranks["upper"])).all()
    assert sorted(result.rank_draws[0]) == list(range(1, 41))


def test_seed_makes_results_reproducible() -> None:
    framework = Framework.from_dict(_uncertain(draws=60))
    table = _noisy_example(2.0)
    first = composite_index(table, framework, rng=11)
    second = composite_index(table, framework, rng=np.random.default_rng(11))
    pd.testing.assert_frame_equal(first.to_frame(), second.to_frame())
    pd.testing.assert_frame_equal(first.sensitivity(50), second.sensitivity(50))
    other = composite_index(table, framework, rng=12)
    assert not np.array_equal(first.rank_draws, other.rank_draws)


def test_sensitivity_credits_the_only_uncertain_source() -> None:
    table = _noisy_example(2.0)
    only_weights = spec(
        uncertainty={
            "draws": 300,
            "indicator_noise": False,
            "weights": {"method": "uniform", "spread": 0.5},
        }
    )
    result = composite_index(table, Framework.from_dict(only_weights), rng=2)
    shares = result.sensitivity()
    assert list(shares.index) == list(SOURCES)
    assert shares["active"].tolist() == [False, True, False]
    assert shares.loc["indicator values", "first_order"] == 0
    assert shares.loc["normalisation", "total"] == 0
    assert shares.loc["weights", "first_order"] == pytest.approx(1, abs=0.15)
    assert shares.loc["weights", "total"] == pytest.approx(1, abs=0.15)


def test_sensitivity_splits_the_variance_between_sources() -> None:
    framework = Framework.from_dict(_uncertain(draws=200))
    shares = composite_index(_noisy_example(6.0), framework, rng=4).sensitivity()
    assert shares["active"].all()
    assert (shares["total"] > -0.05).all()
    assert shares["first_order"].sum() == pytest.approx(1, abs=0.3)
    # large SEs against a spread of 10: the indicator values dominate the rank variance
    assert shares["first_order"].idxmax() == "indicator values"


def test_nothing_uncertain_gives_no_sensitivity() -> None:
    result = composite_index(WORKED, Framework.from_dict(spec()), rng=0)
    assert result.sensitivity(10)[["first_order", "total"]].isna().all().all()
    with pytest.raises(InvalidParameterError, match="'n_base' parameter"):
        result.sensitivity(1)


def test_table_problems_are_refused() -> None:
    framework = Framework.from_dict(spec())
    with pytest.raises(DataValidationError, match="'x3'"):
        composite_index(table_of({"x1": X1, "x2": X2}), framework, rng=0)
    doubled = pd.concat([WORKED, WORKED.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="repeat a unit and indicator"):
        composite_index(doubled, framework, rng=0)
    negative = table_of({"x1": X1, "x2": X2, "x3": X3}, se={"x1": [1, -1, 1, 1]})
    with pytest.raises(DataValidationError, match="must not be negative"):
        composite_index(negative, framework, rng=0)


def test_suppressed_rows_and_other_levels_are_ignored() -> None:
    table = WORKED.copy()
    table.loc[(table["unit"] == "A") & (table["indicator"] == "x2"), "suppressed"] = True
    district = WORKED.assign(level="district", value=0.0)
    result = composite_index(pd.concat([table, district]), Framework.from_dict(spec()), rng=0)
    assert result.coverage["A"] == pytest.approx(0.75)
    assert result.params["A"] == pytest.approx(50)


def test_summary_mentions_framework_and_sources() -> None:
    result = composite_index(_noisy_example(1.0), Framework.from_dict(_uncertain()), rng=0)
    text = result.summary()
    assert "Worked example" in text and "indicator values, weights, normalisation" in text


# ----------------------------------------------------------------------------- validation
def _at(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(document)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


BAD = [
    (["dimensions", 0, "indicators", 1, "direction"], 2, "dimensions[0].indicators[1].direction"),
    (["dimensions", 1, "weight"], -1, "dimensions[1].weight"),
    (["dimensions", 1, "indicators", 0, "code"], "x1", "dimensions[1].indicators[0].code"),
    (["dimensions", 0, "code"], "Outcomes!", "dimensions[0].code"),
    (["normalisation", "method"], "rank", "normalisation.method"),
    (["normalisation", "minmax_range"], [100, 0], "normalisation.minmax_range"),
    (["version"], 2025.1, "'version'"),
    (["level"], "region", "'level'"),
    (["normalization"], {"method": "minmax"}, "'normalization'"),
    (["missing"], {"min_coverage": 0}, "missing.min_coverage"),
    (["uncertainty", "weights"], {"method": "dirichlet"}, "uncertainty.weights.concentration"),
    (["uncertainty", "draws"], 0, "uncertainty.draws"),
    (["uncertainty", "normalisations"], ["minmax", "ranks"], "uncertainty.normalisations[1]"),
    (
        ["flags"],
        [{"reason": "x", "indicator": "x1", "compare": "threshold", "side": "below"}],
        "flags[0].threshold",
    ),
    (
        ["flags"],
        [{"reason": "x", "indicator": "x1", "compare": "national", "side": "below", "share": 0.1}],
        "flags[0].share",
    ),
    (["flags"], [{"reason": "x", "indicator": "x1", "compare": "bottom_share"}], "flags[0].share"),
]


@pytest.mark.parametrize(("path", "value", "named"), BAD)
def test_validation_errors_name_the_key(path: list[Any], value: Any, named: str) -> None:
    with pytest.raises(DataValidationError) as raised:
        Framework.from_dict(_at(spec(), path, value), source="example.yaml")
    message = str(raised.value)
    assert named in message
    assert "example.yaml" in message


def test_missing_keys_and_geometric_zscores_are_refused_together() -> None:
    document = spec(aggregation={"within": "geometric"})
    document["normalisation"] = {"method": "zscore"}
    del document["name"]
    with pytest.raises(DataValidationError) as raised:
        Framework.from_dict(document)
    reasons = {problem.column: problem.reason for problem in raised.value.problems}
    assert reasons["name"] == "is required but missing"
    assert "geometric aggregation of aggregation.within" in reasons["normalisation.method"]


def test_geometric_needs_a_positive_minmax_range() -> None:
    with pytest.raises(DataValidationError, match="normalisation.minmax_range"):
        Framework.from_dict(spec(aggregation={"within": "geometric"}))


def test_yaml_problems_carry_file_and_line(tmp_path: Path) -> None:
    text = """\
name: Broken
version: "1"
level: school
normalisation:
  method: minmax
dimensions:
  - code: d1
    weight: 1
    indicators:
      - code: x1
        direction: 2
"""
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as raised:
        Framework.from_yaml(path)
    (problem,) = raised.value.problems
    assert problem.file == str(path)
    assert problem.row == 11
    assert problem.column == "dimensions[0].indicators[0].direction"

    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="not valid YAML"):
        Framework.from_yaml(path)


# ----------------------------------------------------------------------------- shipped framework
def test_default_framework_loads_and_names_known_codes() -> None:
    framework = Framework.builtin()
    assert framework.name and framework.version == "2025.1"
    assert framework.level == "school"
    assert {spec.code for spec in framework.indicators} <= KNOWN_CODES
    weights = {d.code: d.weight for d in framework.dimensions}
    assert weights == {"outcomes": 0.40, "teachers": 0.25, "conditions": 0.20, "welfare": 0.15}
    assert framework.weights.sum() == pytest.approx(1)
    flagged = {rule.indicator for rule in framework.flags}
    assert flagged <= KNOWN_CODES | {"outcomes.mean.MLIT.vs_similar", "composite.rank"}
    context = {figure.indicator for rule in framework.flags for figure in rule.context}
    assert context <= KNOWN_CODES
    assert {rule.reason for rule in framework.flags} == {
        "low_outcomes_mathematics",
        "low_outcomes_reading",
        "low_outcomes_vs_similar",
        "overdue_attestations",
        "overcrowded",
        "emergency_building",
        "low_meal_coverage",
        "low_parent_satisfaction",
        "rank_in_bottom_decile",
    }


def test_default_framework_runs_on_a_national_style_table() -> None:
    framework = Framework.builtin()
    framework = replace(framework, uncertainty=replace(framework.uncertainty, draws=50))
    rng = np.random.default_rng(0)
    units = [f"S{i:03d}" for i in range(60)]
    columns = {spec.code: rng.normal(size=60).tolist() for spec in framework.indicators}
    se = {code: [0.2] * 60 for code in columns}
    result = composite_index(table_of(columns, units, se), framework, rng=0)
    frame = result.to_frame()
    assert frame.loc[frame["indicator"] == "composite.rank", "unit"].nunique() == 60
    assert set(frame["level"]) == {"school"}


# ----------------------------------------------------------------------------- similar schools
def test_similar_schools_by_hand() -> None:
    features = pd.DataFrame({"pupils": [100.0, 110.0, 300.0, 330.0, 1000.0]}, index=list("abcde"))
    similar = similar_schools(features, k=2)
    assert list(similar.columns) == ["school", "similar", "rank", "distance"]
    nearest = similar.groupby("school")["similar"].apply(list).to_dict()
    assert nearest == {
        "a": ["b", "c"],
        "b": ["a", "c"],
        "c": ["d", "b"],
        "d": ["c", "b"],
        "e": ["d", "c"],
    }
    sd = math.sqrt(sum((x - 368) ** 2 for x in (100, 110, 300, 330, 1000)) / 5)  # mean 368
    first = similar[(similar["school"] == "a") & (similar["rank"] == 1)]["distance"].item()
    assert first == pytest.approx(10 / sd)


def test_a_two_category_variable_weighs_as_its_boolean_coding() -> None:
    pupils = [100.0, 180.0, 300.0, 330.0, 1000.0, 640.0]
    urban = [True, False, True, True, False, False]
    as_bool = pd.DataFrame({"pupils": pupils, "urban": urban}, index=list("abcdef"))
    as_text = as_bool.assign(urban=["urban" if u else "rural" for u in urban])
    np.testing.assert_allclose(
        similar_schools(as_bool, k=3)["distance"], similar_schools(as_text, k=3)["distance"]
    )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0, 1000, allow_nan=False), min_size=3, max_size=12, unique=True),
    st.floats(0.01, 100),
    st.integers(1, 15),
)
def test_similar_schools_ignore_units_of_measurement(
    sizes: list[float], factor: float, k: int
) -> None:
    index = [f"s{i}" for i in range(len(sizes))]
    rng = np.random.default_rng(len(sizes))
    features = pd.DataFrame(
        {"pupils": sizes, "poor": rng.random(len(sizes)), "kk": rng.random(len(sizes)) < 0.5},
        index=index,
    )
    base = similar_schools(features, k=k)
    rescaled = similar_schools(features.assign(pupils=features["pupils"] * factor), k=k)
    np.testing.assert_allclose(base["distance"], rescaled["distance"], rtol=1e-9, atol=1e-12)
    assert (base["school"] != base["similar"]).all()
    assert len(base) == len(sizes) * min(k, len(sizes) - 1)


def test_similar_schools_refuse_missing_features_and_bad_k() -> None:
    features = pd.DataFrame({"pupils": [1.0, np.nan, 3.0]}, index=["a", "b", "c"])
    with pytest.raises(DataValidationError, match="column 'pupils'"):
        similar_schools(features)
    with pytest.raises(InvalidParameterError, match="'k' parameter of similar_schools"):
        similar_schools(features.fillna(2.0), k=0)


def test_compare_with_similar_by_hand() -> None:
    table = table_of(
        {"m": [500.0, 480.0, 520.0, np.nan]},
        units=["a", "b", "c", "d"],
        se={"m": [10.0, 6.0, 8.0, 5.0]},
    )
    similar = pd.DataFrame(
        {"school": ["a", "a", "b", "b", "d"], "similar": ["b", "c", "a", "d", "a"]}
    )
    result = compare_with_similar(table, similar, "m").set_index("unit")
    assert set(result.index) == {"a", "b"}  # d has no value; c has no similar schools
    assert result.loc["a", "value"] == pytest.approx(500 - (480 + 520) / 2)
    assert result.loc["a", "se"] == pytest.approx(math.sqrt(10**2 + (6**2 + 8**2) / 2**2))
    assert result.loc["b", "value"] == pytest.approx(480 - 500)  # d has no value
    assert result.loc["b", "se"] == pytest.approx(math.sqrt(6**2 + 10**2))
    assert result.loc["b", "n"] == 1
    half = result.loc["a", "ci_high"] - result.loc["a", "value"]
    assert half == pytest.approx(1.959963984540054 * math.sqrt(125))
    assert (result["indicator"] == "m.vs_similar").all()
