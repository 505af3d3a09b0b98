"""Learning-outcome indicators: values and errors against the estimation core, suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sapa.errors import DataValidationError, InvalidParameterError
from sapa.indicators._table import COLUMNS, Units
from sapa.indicators._variance import SamplingDesign, level_shares, mean_gap, weighted_mean
from sapa.indicators.outcomes import outcome_indicators
from sapa.irt.scales import ProficiencyLevels

LEVELS = ProficiencyLevels([400, 475, 550], ["below", "basic", "proficient", "advanced"])
SCHOOLS = {
    # school: (district, region, pupils)
    "S1": ("D1", "R1", 30),
    "S2": ("D1", "R1", 25),
    "S3": ("D1", "R1", 40),
    "S4": ("D2", "R1", 6),
    "S5": ("D2", "R1", 35),
    "S6": ("D3", "R2", 20),
    "S7": ("D3", "R2", 12),
    "S8": ("D3", "R2", 3),
}


def _units(schools: dict[str, tuple[str, str, int]] = SCHOOLS) -> Units:
    codes = list(schools)
    organization = pd.DataFrame({"code": codes, "settlement_code": [f"T{c}" for c in codes]})
    settlement = pd.DataFrame(
        {"code": [f"T{c}" for c in codes], "district_code": [schools[c][0] for c in codes]}
    )
    districts = sorted({d for d, _, _ in schools.values()})
    region_of = {d: r for d, r, _ in schools.values()}
    district = pd.DataFrame({"code": districts, "region_code": [region_of[d] for d in districts]})
    return Units(organization, settlement, district)


def _census(
    rng: np.random.Generator,
    schools: dict[str, tuple[str, str, int]] = SCHOOLS,
    n_pv: int = 5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes = np.repeat(list(schools), [size for _, _, size in schools.values()])
    n = codes.size
    effect = dict(zip(schools, rng.normal(0, 50, len(schools)), strict=True))
    theta = 480 + np.array([effect[c] for c in codes]) + rng.normal(0, 90, n)
    index = pd.Index([f"P{i:04d}" for i in range(n)], name="pupil")
    scores = pd.DataFrame(
        theta[:, None] + rng.normal(0, 30, (n, n_pv)),
        index=index,
        columns=[f"PV{m + 1}" for m in range(n_pv)],
    )
    order = list(schools)
    pupils = pd.DataFrame(
        {
            "school": codes,
            "language": rng.choice(["kk", "ru"], n),
            "sex": rng.choice(["F", "M"], n),
            "locality": np.where(np.isin(codes, order[:4]), "urban", "rural"),
            "small_class": np.isin(codes, order[3::3]),
        },
        index=index,
    )
    return scores, pupils


@pytest.fixture(scope="module")
def census() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _census(np.random.default_rng(7))


@pytest.fixture(scope="module")
def table(census: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    scores, pupils = census
    return outcome_indicators(scores, pupils, _units(), domain="math", levels=LEVELS)


def _row(table: pd.DataFrame, indicator: str, level: str, unit: str, subgroup: str) -> pd.Series:
    match = table[
        (table["indicator"] == indicator)
        & (table["level"] == level)
        & (table["unit"] == unit)
        & (table["subgroup"] == subgroup)
    ]
    assert len(match) == 1
    return match.iloc[0]


def _assert_row_matches(row: pd.Series, value: float, se: float, interval: np.ndarray) -> None:
    assert row["value"] == pytest.approx(value, rel=1e-12)
    assert row["se"] == pytest.approx(se, rel=1e-12)
    np.testing.assert_allclose([row["ci_low"], row["ci_high"]], interval, rtol=1e-12)


def test_table_shape(table: pd.DataFrame) -> None:
    assert tuple(table.columns) == COLUMNS
    indicators = {
        "outcomes.mean.math",
        "outcomes.level_below.math",
        "outcomes.level_basic.math",
        "outcomes.level_proficient.math",
        "outcomes.level_advanced.math",
        "outcomes.at_or_above_basic.math",
        "outcomes.gap.math",
    }
    assert set(table["indicator"]) == indicators
    mean = table[table["indicator"] == "outcomes.mean.math"]
    assert mean.groupby("level")["unit"].nunique().to_dict() == {
        "school": 8,
        "district": 3,
        "region": 2,
        "nation": 1,
    }
    assert set(mean["subgroup"]) == {
        "all",
        "language=kk",
        "language=ru",
        "sex=F",
        "sex=M",
        "locality=rural",
        "locality=urban",
        "small_class=False",
        "small_class=True",
    }
    gaps = table[table["indicator"] == "outcomes.gap.math"]
    assert set(gaps["level"]) == {"region", "nation"}
    assert set(gaps["subgroup"]) == {
        "language=kk-ru",
        "sex=F-M",
        "locality=rural-urban",
        "small_class=False-True",
    }
    # S1–S4 are urban, S5–S8 rural: only region R1 (S1–S5) and the nation have both.
    locality = gaps[gaps["subgroup"] == "locality=rural-urban"]
    assert sorted(locality["unit"]) == ["KZ", "R1"]


def test_nation_mean_and_shares_equal_the_core(
    census: tuple[pd.DataFrame, pd.DataFrame], table: pd.DataFrame
) -> None:
    scores, pupils = census
    design = SamplingDesign(clusters=pupils["school"].to_numpy())
    mean = weighted_mean(scores.to_numpy(), design)
    row = _row(table, "outcomes.mean.math", "nation", "KZ", "all")
    _assert_row_matches(row, float(mean.params), float(mean.bse), mean.conf_int())
    assert row["value"] == pytest.approx(scores.to_numpy().mean())
    assert row["n"] == len(scores) and not row["suppressed"]
    shares = level_shares(scores.to_numpy(), LEVELS, design)
    for k, label in enumerate(LEVELS.labels):
        row = _row(table, f"outcomes.level_{label}.math", "nation", "KZ", "all")
        _assert_row_matches(row, shares.params[k], shares.bse[k], shares.conf_int()[k])
    above = level_shares(scores.to_numpy(), LEVELS, design, at_or_above=True)
    row = _row(table, "outcomes.at_or_above_basic.math", "nation", "KZ", "all")
    _assert_row_matches(row, above.params[1], above.bse[1], above.conf_int()[1])


def test_school_rows_treat_pupils_as_sampling_units(
    census: tuple[pd.DataFrame, pd.DataFrame], table: pd.DataFrame
) -> None:
    scores, pupils = census
    own = scores[pupils["school"] == "S3"].to_numpy()
    mean = weighted_mean(own)  # every pupil its own cluster: s²/n per plausible value
    assert float(mean.within) == pytest.approx(own[:, 0].var(ddof=1) / len(own))
    row = _row(table, "outcomes.mean.math", "school", "S3", "all")
    _assert_row_matches(row, float(mean.params), float(mean.bse), mean.conf_int())


def test_subgroup_rows_and_gaps_equal_the_core(
    census: tuple[pd.DataFrame, pd.DataFrame], table: pd.DataFrame
) -> None:
    scores, pupils = census
    inside = pupils["school"].isin(["S1", "S2", "S3"]).to_numpy()  # district D1
    kk = (pupils["language"] == "kk").to_numpy()
    design = SamplingDesign(clusters=pupils["school"].to_numpy())
    mean = weighted_mean(scores.to_numpy(), design, cells=np.where(inside & kk, 0, -1))
    row = _row(table, "outcomes.mean.math", "district", "D1", "language=kk")
    _assert_row_matches(row, mean.params[0], mean.bse[0], mean.conf_int()[0])
    assert row["n"] == (inside & kk).sum()

    gap = mean_gap(scores.to_numpy(), kk, ~kk, design)
    row = _row(table, "outcomes.gap.math", "nation", "KZ", "language=kk-ru")
    _assert_row_matches(row, float(gap.params), float(gap.bse), gap.conf_int())
    assert row["n"] == min(kk.sum(), (~kk).sum())


def test_shares_sum_to_one_and_at_or_above_adds_levels(table: pd.DataFrame) -> None:
    shown = table[~table["suppressed"]]
    wide = shown.pivot_table(
        index=["level", "unit", "subgroup"], columns="indicator", values="value"
    ).dropna()
    levels = [f"outcomes.level_{label}.math" for label in LEVELS.labels]
    np.testing.assert_allclose(wide[levels].sum(axis=1), 1.0)
    np.testing.assert_allclose(
        wide["outcomes.at_or_above_basic.math"], wide[levels[1:]].sum(axis=1)
    )


def test_small_cells_are_suppressed(table: pd.DataFrame) -> None:
    for school, size in (("S4", 6), ("S8", 3)):
        rows = table[(table["unit"] == school) & (table["subgroup"] == "all")]
        assert len(rows) == 6
        assert rows["suppressed"].all() and (rows["n"] == size).all()
        assert rows[["value", "se", "ci_low", "ci_high"]].isna().all().all()
    small = table["n"] < 10
    assert table.loc[small, "suppressed"].all() and table.loc[small, "value"].isna().all()
    assert not table.loc[~small, "suppressed"].any()
    assert not _row(table, "outcomes.mean.math", "school", "S7", "all")["suppressed"]


def test_weights_enter_means(census: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    scores, pupils = census
    weights = pd.Series(np.random.default_rng(8).uniform(0.5, 2.0, len(scores)), scores.index)
    result = outcome_indicators(
        scores, pupils, _units(), domain="math", levels=LEVELS, weights=weights
    )
    row = _row(result, "outcomes.mean.math", "nation", "KZ", "all")
    w = weights.to_numpy()
    assert row["value"] == pytest.approx(np.mean(w @ scores.to_numpy() / w.sum()))
    assert row["n"] == len(scores)


def test_replicate_weights_above_the_school_level(
    census: tuple[pd.DataFrame, pd.DataFrame], table: pd.DataFrame
) -> None:
    scores, pupils = census
    school = pupils["school"].to_numpy()
    codes = list(SCHOOLS)
    g = len(codes)
    reps = pd.DataFrame(
        np.where(school[:, None] == np.array(codes), 0.0, g / (g - 1)), index=scores.index
    )
    result = outcome_indicators(
        scores,
        pupils,
        _units(),
        domain="math",
        levels=LEVELS,
        replicate_weights=reps,
        replicate_method="jk1",
    )
    core = weighted_mean(
        scores.to_numpy(), SamplingDesign(replicate_weights=reps.to_numpy(), method="jk1")
    )
    row = _row(result, "outcomes.mean.math", "nation", "KZ", "all")
    _assert_row_matches(row, float(core.params), float(core.bse), core.conf_int())
    schools = ["level", "unit", "subgroup", "indicator"]
    same = result[result["level"] == "school"].merge(table[table["level"] == "school"], on=schools)
    np.testing.assert_allclose(same["se_x"], same["se_y"], equal_nan=True)


def test_minimum_level_and_categorical_order(census: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    scores, pupils = census
    pupils = pupils.assign(language=pd.Categorical(pupils["language"], ["ru", "kk"]))
    result = outcome_indicators(
        scores,
        pupils,
        _units(),
        domain="read",
        levels=LEVELS,
        subgroups=("language",),
        minimum_level="proficient",
    )
    assert "outcomes.at_or_above_proficient.read" in set(result["indicator"])
    gap = _row(result, "outcomes.gap.read", "nation", "KZ", "language=ru-kk")
    kk = _row(result, "outcomes.mean.read", "nation", "KZ", "language=kk")["value"]
    ru = _row(result, "outcomes.mean.read", "nation", "KZ", "language=ru")["value"]
    assert gap["value"] == pytest.approx(ru - kk)


def test_unassessed_pupils_are_left_out(census: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    scores, pupils = census
    scores = scores.copy()
    scores.iloc[:5] = np.nan
    extra = pd.DataFrame({"school": ["S1"]}, index=["P9999"]).reindex(columns=pupils.columns)
    result = outcome_indicators(
        scores,
        pd.concat([pupils, extra.assign(school="S1")]),
        _units(),
        domain="math",
        levels=LEVELS,
    )
    assert _row(result, "outcomes.mean.math", "nation", "KZ", "all")["n"] == len(scores) - 5


def test_input_errors(census: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    scores, pupils = census
    units = _units()

    def run(**changes: object) -> pd.DataFrame:
        arguments: dict[str, object] = {
            "scores": scores,
            "pupils": pupils,
            "units": units,
            "domain": "math",
            "levels": LEVELS,
        }
        arguments.update(changes)
        return outcome_indicators(**arguments)  # type: ignore[arg-type]

    partial = scores.copy()
    partial.iloc[0, 2] = np.nan
    with pytest.raises(DataValidationError, match="lack some plausible values"):
        run(scores=partial)
    with pytest.raises(DataValidationError, match="not in the pupil table"):
        run(pupils=pupils.iloc[1:])
    with pytest.raises(DataValidationError, match="unknown: S9"):
        run(pupils=pupils.assign(school=pupils["school"].replace("S8", "S9")))
    with pytest.raises(DataValidationError, match="missing column"):
        run(pupils=pupils.drop(columns="sex"))
    with pytest.raises(DataValidationError, match="weights"):
        run(weights=pd.Series(1.0, scores.index[1:]))
    with pytest.raises(InvalidParameterError, match="'replicate_method' parameter"):
        run(replicate_method="bootstrap")
    with pytest.raises(InvalidParameterError, match="'replicate_weights' parameter"):
        run(replicate_method="fay")
    with pytest.raises(InvalidParameterError, match="'minimum_level' parameter"):
        run(minimum_level="excellent")
    with pytest.raises(InvalidParameterError, match="'min_cell' parameter"):
        run(min_cell=0)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=6),
    n_pv=st.integers(1, 5),
)
def test_every_unit_shares_sum_to_one(seed: int, sizes: list[int], n_pv: int) -> None:
    schools = {f"S{i}": (f"D{i % 3}", f"R{i % 3 % 2}", size) for i, size in enumerate(sizes)}
    scores, pupils = _census(np.random.default_rng(seed), schools, n_pv)
    result = outcome_indicators(
        scores, pupils, _units(schools), domain="math", levels=LEVELS, min_cell=1
    )
    levels = result[result["indicator"].str.startswith("outcomes.level_")]
    totals = levels.groupby(["level", "unit", "subgroup"])["value"].sum()
    np.testing.assert_allclose(totals, 1.0)
    counts = result[result["subgroup"] == "all"].groupby(["level", "indicator"])["n"].sum()
    assert (counts == sum(sizes)).all()
