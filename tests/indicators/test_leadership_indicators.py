"""The leadership programme's funnel on the synthetic nation, and the difference-in-differences
estimator: a hand-computed 2 × 2 design, statsmodels as the reference for the regression and
its cluster-robust covariance, and coverage of a known effect over simulated panels."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from _nation import Nation, column, tiny_nation, values

from sapa.errors import DataValidationError, InvalidParameterError, ModelSpecError
from sapa.indicators._table import COLUMNS, MIN_CELL, NATION
from sapa.indicators.leadership import DiDResult, difference_in_differences, leadership_indicators

ON = dt.date(2025, 5, 31)
STAGES = ("applicants", "admitted", "trained", "reservists", "appointed")


@pytest.fixture(scope="module")
def nation() -> Nation:
    return tiny_nation()


@pytest.fixture(scope="module")
def table(nation: Nation) -> pd.DataFrame:
    return leadership_indicators(nation.tables, nation.units, on=ON)


@pytest.fixture(scope="module")
def raw(nation: Nation) -> pd.DataFrame:
    return leadership_indicators(nation.tables, nation.units, on=ON, min_cell=0)


def _funnel(nation: Nation) -> pd.DataFrame:
    """Each application's region, intake and the stages it reached, computed directly."""
    t = nation.tables
    candidates = t["leader_candidate"].set_index("code")
    school = t["teacher"].set_index("code")["organization_code"][candidates["teacher_code"]]
    admitted = t["leader_selection"].query("decision == 'admitted'")["leader_candidate_code"]
    completed = t["leader_cohort_member"].query("status == 'completed'")
    ends = t["leader_cohort"].set_index("code")["ends_on"]
    trained = completed.loc[
        ends[completed["leader_cohort_code"]].to_numpy() <= ON, "leader_candidate_code"
    ]
    heads = t["head_appointment"].query("position == 'head'")
    return pd.DataFrame(
        {
            "region": nation.units.frame.loc[school, "region"].to_numpy(),
            "intake": candidates["intake_year"].to_numpy(),
            "applicants": True,
            "admitted": candidates.index.isin(admitted),
            "trained": candidates.index.isin(trained),
            "reservists": candidates.index.isin(t["leader_reserve"]["leader_candidate_code"]),
            "appointed": candidates.index.isin(heads["leader_candidate_code"].dropna()),
        },
        index=candidates.index,
    )


def test_funnel_matches_a_direct_count(raw: pd.DataFrame, nation: Nation):
    assert list(raw.columns) == list(COLUMNS)
    funnel = _funnel(nation)
    regions = sorted(set(nation.units.frame["region"]))
    for stage in STAGES:
        by_region = funnel.groupby("region")[stage].sum().reindex(regions, fill_value=0)
        got = values(raw, f"leadership.{stage}", "region")
        assert got[regions].tolist() == by_region.tolist(), stage
        for intake, rows in funnel.groupby("intake"):
            national = values(raw, f"leadership.{stage}", "nation", f"intake={intake}")
            assert national[NATION] == rows[stage].sum(), (stage, intake)
    counts = [values(raw, f"leadership.{stage}", "nation")[NATION] for stage in STAGES]
    assert counts == sorted(counts, reverse=True)  # each stage is a subset of the one before
    assert counts[-1] > 0


def test_share_of_reservists_appointed(raw: pd.DataFrame, table: pd.DataFrame, nation: Nation):
    funnel = _funnel(nation)
    reservists = funnel[funnel["reservists"]]
    share = values(raw, "leadership.appointed_share", "nation")[NATION]
    assert share == pytest.approx(reservists["appointed"].mean())
    n = column(raw, "leadership.appointed_share", "nation", "n")[NATION]
    assert n == len(reservists)
    shares = table[table["indicator"] == "leadership.appointed_share"]
    small = shares["n"] < MIN_CELL
    assert small.any()
    assert shares.loc[small, "suppressed"].all() and shares.loc[small, "value"].isna().all()
    counts = table[table["indicator"] != "leadership.appointed_share"]
    assert not counts["suppressed"].any()


def test_every_region_and_intake_is_present(table: pd.DataFrame, nation: Nation):
    regions = set(nation.units.frame["region"])
    intakes = {f"intake={y}" for y in nation.tables["leader_candidate"]["intake_year"]}
    for key, rows in table.groupby(["indicator", "subgroup"]):
        assert set(rows.loc[rows["level"] == "region", "unit"]) == regions, key
        assert rows.loc[rows["level"] == "nation", "unit"].tolist() == [NATION]
    assert set(table["subgroup"]) == {"all", *intakes}


def test_events_after_the_day_are_not_counted(nation: Nation):
    early = leadership_indicators(nation.tables, nation.units, on=dt.date(2023, 12, 31))
    assert values(early, "leadership.reservists", "nation")[NATION] == 0
    assert values(early, "leadership.applicants", "nation", "intake=2023")[NATION] > 0
    assert "intake=2024" not in set(early["subgroup"])


# ------------------------------------------------------------- difference in differences
def _two_by_two() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "school": ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"],
            "year": [2023, 2024] * 5,
            "treated": [True] * 4 + [False] * 6,
            "post": [0, 1] * 5,
            "score": [10.0, 14.0, 12.0, 15.0, 11.0, 12.0, 9.0, 11.0, 13.0, 13.5],
        }
    )


def test_two_by_two_equals_the_difference_of_group_means():
    panel = _two_by_two()
    result = difference_in_differences(
        panel, outcome="score", unit="school", period="year", treated="treated", post="post"
    )
    # Treated: (10 + 12)/2 = 11 before, (14 + 15)/2 = 14.5 after; controls: (11 + 9 + 13)/3 =
    # 11 before, (12 + 11 + 13.5)/3 = 12.1667 after. DiD = 3.5 − 1.1667 = 2.3333.
    assert result.params["did"] == pytest.approx(3.5 - (36.5 / 3 - 11.0))
    assert isinstance(result, DiDResult)
    assert result.nobs == 10 and result.n_clusters == 5 and result.df_resid == 4


def _simulated_panel(
    rng: np.random.Generator, *, units: int = 40, periods: int = 6, effect: float = 0.5
) -> pd.DataFrame:
    """Schools with fixed effects, a common trend, AR(1) errors (ρ = 0.6) and a covariate;
    half are treated from period 3 on."""
    unit = np.repeat(np.arange(units), periods)
    period = np.tile(np.arange(periods), units)
    treated = unit < units // 2
    post = period >= 3
    errors = np.empty((units, periods))
    errors[:, 0] = rng.normal(size=units)
    for t in range(1, periods):
        errors[:, t] = 0.6 * errors[:, t - 1] + rng.normal(0, 0.8, units)
    covariate = rng.normal(size=units * periods)
    outcome = (
        rng.normal(0, 1, units)[unit]
        + 0.2 * period
        + effect * (treated & post)
        + 0.3 * covariate
        + errors.reshape(-1)
    )
    return pd.DataFrame(
        {
            "school": [f"S{u:03d}" for u in unit],
            "year": 2020 + period,
            "treated": treated.astype(int),
            "post": post.astype(int),
            "x": covariate,
            "y": outcome,
        }
    )


def test_matches_statsmodels_on_an_unbalanced_panel():
    rng = np.random.default_rng(7)
    panel = _simulated_panel(rng).sample(frac=0.9, random_state=rng).reset_index(drop=True)
    result = difference_in_differences(
        panel,
        outcome="y",
        unit="school",
        period="year",
        treated="treated",
        post="post",
        covariates=["x"],
    )
    with_dummies = smf.ols("y ~ I(treated * post) + x + C(school) + C(year)", data=panel).fit()
    assert result.params["did"] == pytest.approx(with_dummies.params["I(treated * post)"])
    assert result.params["x"] == pytest.approx(with_dummies.params["x"])

    # The same regression on unit-demeaned data, with statsmodels' cluster-robust covariance.
    design = pd.get_dummies(panel["year"], prefix="y", drop_first=True, dtype=float)
    design.insert(0, "x", panel["x"])
    design.insert(0, "did", panel["treated"] * panel["post"])
    frame = pd.concat([panel[["y"]], design], axis=1)
    demeaned = frame - frame.groupby(panel["school"]).transform("mean")
    clusters = pd.factorize(panel["school"])[0]
    reference = sm.OLS(demeaned["y"], demeaned.drop(columns="y")).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True
    )
    np.testing.assert_allclose(result.bse, reference.bse[["did", "x"]], rtol=1e-10)
    np.testing.assert_allclose(
        result.conf_int(0.1), reference.conf_int(0.1).loc[["did", "x"]], rtol=1e-10
    )
    np.testing.assert_allclose(result.pvalues, reference.pvalues[["did", "x"]], rtol=1e-8)
    assert "Difference in differences" in result.summary()
    assert list(result.to_frame().columns) == ["estimate", "se", "t", "p", "lower", "upper"]


def test_intervals_cover_a_known_effect_at_the_nominal_rate():
    rng = np.random.default_rng(20250531)
    effect, runs = 0.5, 300
    covered = 0
    for _ in range(runs):
        panel = _simulated_panel(rng, effect=effect)
        result = difference_in_differences(
            panel,
            outcome="y",
            unit="school",
            period="year",
            treated="treated",
            post="post",
            covariates=["x"],
        )
        lower, upper = result.conf_int(0.05).loc["did"]
        covered += lower <= effect <= upper
    # Binomial SD of the coverage over 300 runs ≈ 1.3 points.
    assert 0.91 <= covered / runs <= 0.985


def test_invalid_panels_are_refused():
    panel = _two_by_two()
    spec = {"outcome": "score", "unit": "school", "period": "year", "post": "post"}
    with pytest.raises(DataValidationError, match="column 'group'"):
        difference_in_differences(panel, treated="group", **spec)
    with pytest.raises(DataValidationError, match="0/1 or boolean"):
        difference_in_differences(panel.assign(treated=2), treated="treated", **spec)
    with pytest.raises(DataValidationError, match="1 missing value"):
        difference_in_differences(
            panel.assign(score=panel["score"].where(panel.index != 3)), treated="treated", **spec
        )
    with pytest.raises(ModelSpecError, match="not identified"):
        difference_in_differences(panel.assign(treated=1), treated="treated", **spec)
    with pytest.raises(ModelSpecError, match="at least 2 clusters"):
        difference_in_differences(
            panel.assign(region="KZ-71"), treated="treated", cluster="region", **spec
        )
    result = difference_in_differences(panel, treated="treated", **spec)
    with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
        result.conf_int(1.5)
