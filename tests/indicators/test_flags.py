""" "Needs support" flags: a unit is flagged only when its whole interval lies beyond the
comparison value, and the evidence states the figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sapa.errors import DataValidationError, InvalidParameterError, ModelSpecError
from sapa.indicators.composite import FlagRule, Framework, composite_index
from sapa.indicators.flags import FLAG_COLUMNS, support_flags


def row(
    indicator: str,
    unit: str,
    value: float,
    *,
    level: str = "school",
    se: float = np.nan,
    ci: tuple[float, float] = (np.nan, np.nan),
) -> dict[str, object]:
    return {
        "indicator": indicator,
        "level": level,
        "unit": unit,
        "subgroup": "all",
        "value": value,
        "se": se,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "n": 40,
        "suppressed": False,
    }


FRAMEWORK_TEXT = """\
name: Flags only
version: "1"
level: school
normalisation: {method: minmax}
dimensions:
  - code: outcomes
    weight: 1
    indicators:
      - {code: outcomes.mean.MLIT, name: Mathematical literacy, direction: 1}
uncertainty: {draws: 10, indicator_noise: false}
flags:
  - reason: low_outcomes
    indicator: outcomes.mean.MLIT
    compare: national
    side: below
    context:
      - {indicator: outcomes.at_or_above_1.MLIT, label: below level 1, complement: true}
  - reason: overdue_attestations
    indicator: teachers.attestation_overdue
    label: Teachers with an overdue attestation
    compare: threshold
    side: above
    threshold: 0.10
    format: percent
  - reason: emergency_building
    indicator: conditions.emergency_schools
    label: Emergency school buildings
    compare: threshold
    side: above
    threshold: 0
    levels: [school]
  - reason: low_outcomes_vs_similar
    indicator: outcomes.mean.MLIT.vs_similar
    compare: threshold
    side: below
    threshold: 0
    levels: [school]
  - reason: rank_in_bottom_decile
    indicator: composite.rank
    label: School quality index rank
    compare: bottom_share
    share: 0.10
"""


@pytest.fixture
def framework(tmp_path: Path) -> Framework:
    path = tmp_path / "flags.yaml"
    path.write_text(FRAMEWORK_TEXT, encoding="utf-8")
    return Framework.from_yaml(path)


TABLE = pd.DataFrame(
    [
        row("outcomes.mean.MLIT", "KZ", 500, level="nation", se=1.0, ci=(498, 502)),
        row("outcomes.mean.MLIT", "S1", 412.3, ci=(396.2, 428.4)),  # entirely below: flag
        row("outcomes.mean.MLIT", "S2", 480, ci=(450, 510)),  # below, interval crosses: none
        row("outcomes.mean.MLIT", "S3", 520, ci=(505, 535)),  # above: none
        row("outcomes.mean.MLIT", "S4", 470, se=10),  # 470 ± 19.6 from its SE: flag
        row("outcomes.at_or_above_1.MLIT", "S1", 0.59),
        row("outcomes.mean.MLIT", "D1", 470, level="district", ci=(460, 480)),
        row("teachers.attestation_overdue", "S1", 0.23, ci=(0.15, 0.31)),  # flag
        row("teachers.attestation_overdue", "S2", 0.20, ci=(0.05, 0.35)),  # crosses: none
        row("conditions.emergency_schools", "S2", 1),  # a count, exact: flag
        row("conditions.emergency_schools", "S3", 0),
        row("outcomes.mean.MLIT.vs_similar", "S1", -25, ci=(-40, -10)),
    ]
)


def test_flags_fire_only_when_the_whole_interval_is_beyond(framework: Framework) -> None:
    flags = support_flags(TABLE, framework)
    assert list(flags.columns) == list(FLAG_COLUMNS)
    assert flags[["unit", "reason"]].values.tolist() == [
        ["S1", "low_outcomes"],
        ["S1", "overdue_attestations"],
        ["S1", "low_outcomes_vs_similar"],
        ["S2", "emergency_building"],
        ["S4", "low_outcomes"],
    ]
    assert (flags["level"] == "school").all()


def test_evidence_states_the_figures(framework: Framework) -> None:
    evidence = support_flags(TABLE, framework).set_index(["unit", "reason"])["evidence"]
    assert evidence["S1", "low_outcomes"] == (
        "Mathematical literacy 412 (95% CI 396–428) against the national 500; 41% below level 1"
    )
    assert evidence["S4", "low_outcomes"] == (
        "Mathematical literacy 470 (95% CI 450–490) against the national 500"
    )
    assert evidence["S1", "overdue_attestations"] == (
        "Teachers with an overdue attestation 23% (95% CI 15%–31%) against the threshold 10%"
    )
    assert evidence["S2", "emergency_building"] == (
        "Emergency school buildings 1 against the threshold 0"
    )
    assert evidence["S1", "low_outcomes_vs_similar"] == (
        "Mathematical literacy against similar schools −25 (95% CI −40 to −10) "
        "against the threshold 0"
    )


def test_districts_are_flagged_from_district_rows(framework: Framework) -> None:
    flags = support_flags(TABLE, framework, level="district")
    assert flags.values.tolist() == [
        [
            "district",
            "D1",
            "low_outcomes",
            "Mathematical literacy 470 (95% CI 460–480) against the national 500",
        ]
    ]


def test_margin_widens_the_national_comparison() -> None:
    rule = FlagRule(
        reason="low_outcomes",
        indicator="outcomes.mean.MLIT",
        label="Mathematical literacy",
        compare="national",
        side="below",
        margin=25,
    )
    flags = support_flags(TABLE, [rule])
    assert flags["unit"].tolist() == ["S1"]  # S4's interval reaches above 475
    assert flags["evidence"].item().endswith("against the national 500 less a margin of 25 (475)")


def test_bottom_decile_needs_the_whole_rank_interval(framework: Framework) -> None:
    ranks = pd.DataFrame(
        [
            row("composite.rank", f"S{i:02d}", i, ci=(max(1, i - 2), min(20, i + 2)))
            for i in range(1, 21)
        ]
    )
    # 20 ranked schools: the bottom 10% are ranks 19 and 20, so only an interval above 18 flags
    ranks.loc[ranks["unit"] == "S20", ["ci_low", "ci_high"]] = [19, 20]
    ranks.loc[ranks["unit"] == "S19", ["ci_low", "ci_high"]] = [17, 20]
    flags = support_flags(ranks, framework)
    assert flags["unit"].tolist() == ["S20"]
    assert flags["evidence"].item() == (
        "School quality index rank: median 20 (90% interval 19–20) among 20 schools ranked, "
        "entirely within the bottom 10% (ranks after 18)"
    )


def test_bottom_decile_from_a_composite_result(framework: Framework) -> None:
    units = [f"S{i:02d}" for i in range(30)]
    values = np.linspace(400, 600, 30)
    table = pd.DataFrame(
        [row("outcomes.mean.MLIT", u, v) for u, v in zip(units, values, strict=True)]
    )
    result = composite_index(table, framework, rng=0)
    flags = support_flags(result.to_frame(), framework)
    assert flags["unit"].tolist() == ["S00", "S01", "S02"]  # exact data: ranks 30, 29, 28
    assert set(flags["reason"]) == {"rank_in_bottom_decile"}


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-100, 100),
    st.floats(0, 50),
    st.floats(0, 50),
    st.floats(-100, 100),
    st.sampled_from(["below", "above"]),
)
def test_a_flag_fires_exactly_when_the_interval_clears_the_threshold(
    value: float, below: float, above: float, threshold: float, side: str
) -> None:
    low, high = value - below, value + above
    table = pd.DataFrame([row("x", "S1", value, ci=(low, high))])
    rule = FlagRule(
        reason="r", indicator="x", label="X", compare="threshold", side=side, threshold=threshold
    )
    fired = not support_flags(table, [rule]).empty
    assert fired == (high < threshold if side == "below" else low > threshold)


def test_rules_skip_absent_indicators_and_other_levels(framework: Framework) -> None:
    assert support_flags(TABLE.iloc[:0], framework).empty
    assert list(support_flags(TABLE.iloc[:0], framework).columns) == list(FLAG_COLUMNS)
    assert support_flags(TABLE, framework, level="region").empty


def test_suppressed_and_subgroup_rows_do_not_flag(framework: Framework) -> None:
    table = pd.concat(
        [
            TABLE[TABLE["level"] == "nation"],
            pd.DataFrame(
                [
                    row("outcomes.mean.MLIT", "S9", np.nan) | {"suppressed": True},
                    row("outcomes.mean.MLIT", "S8", 300, ci=(290, 310)) | {"subgroup": "kk"},
                ]
            ),
        ]
    )
    assert support_flags(table, framework).empty


def test_national_comparison_needs_a_nation_row(framework: Framework) -> None:
    with pytest.raises(DataValidationError, match="no nation row"):
        support_flags(TABLE[TABLE["level"] != "nation"], framework)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="'level' parameter of support_flags"):
        support_flags(TABLE, [], level="nation")
    incomplete = FlagRule(reason="r", indicator="x", label="X", compare="threshold", side="below")
    with pytest.raises(ModelSpecError, match="needs threshold"):
        support_flags(TABLE, [incomplete])


def test_default_framework_flags_run() -> None:
    framework = Framework.builtin()
    table = pd.DataFrame(
        [
            row("welfare.meal_coverage", "S1", 0.62, ci=(0.55, 0.69)),
            row("conditions.places_ratio", "S1", 1.31, ci=(1.31, 1.31)),
            row("welfare.parent_satisfaction", "KZ", 0.0, level="nation"),
            row("welfare.parent_satisfaction", "S1", -0.41, se=0.1),
        ]
    )
    evidence = support_flags(table, framework).set_index("reason")["evidence"]
    assert evidence["low_meal_coverage"] == (
        "Meal coverage of eligible pupils 62% (95% CI 55%–69%) against the threshold 90%"
    )
    assert evidence["overcrowded"] == "Pupils per place 1.31 against the threshold 1.00"
    assert evidence["low_parent_satisfaction"] == (
        "Parent satisfaction (SD units) −0.41 (95% CI −0.61 to −0.21) against the national 0.00"
    )


def test_a_reason_names_one_rule_only(tmp_path: Path) -> None:
    duplicated = FRAMEWORK_TEXT.replace(
        "  - reason: overdue_attestations", "  - reason: low_outcomes"
    )
    path = tmp_path / "framework.yaml"
    path.write_text(duplicated, encoding="utf-8")
    with pytest.raises(DataValidationError, match="used by an earlier rule"):
        Framework.from_yaml(path)
