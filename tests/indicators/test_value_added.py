"""Contextual value-added: the random-intercept model against statsmodels' MixedLM, Rubin's
rules over plausible values, interval coverage of known school effects, the design built from
pupil tables, and recovery of the synthetic nation's true school effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from _nation import tiny_nation

from sapa.errors import DataValidationError, InvalidParameterError, NotFittedError
from sapa.indicators._table import COLUMNS
from sapa.indicators.value_added import RandomInterceptModel, contextual_value_added


def simulate(
    n_schools: int,
    seed: int,
    tau: float = 0.4,
    sigma: float = 0.9,
    sizes: tuple[int, int] = (3, 40),
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Pupils in schools of unequal size: y = 1 + 0.6 x1 − 0.3 x2 + 0.2 x̄1_j + u_j + e."""
    rng = np.random.default_rng(seed)
    size = rng.integers(*sizes, n_schools)
    school = np.repeat(np.arange(n_schools), size)
    x1 = rng.standard_normal(school.size) + rng.normal(0, 0.5, n_schools)[school]
    x2 = (rng.random(school.size) < 0.3).astype(float)
    mean_x1 = pd.Series(x1).groupby(school).transform("mean").to_numpy()
    effect = rng.normal(0, tau, n_schools)
    y = 1 + 0.6 * x1 - 0.3 * x2 + 0.2 * mean_x1 + effect[school]
    y += rng.normal(0, sigma, school.size)
    design = pd.DataFrame({"intercept": 1.0, "x1": x1, "x2": x2, "mean_x1": mean_x1})
    return design, y, school, effect


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_estimates_equal_statsmodels_mixedlm(method: str) -> None:
    # Reference: statsmodels 0.15 MixedLM(y, X, groups).fit(reml=...) with Powell then L-BFGS
    # (its default gradient search stops early on these data); the same likelihood maximised by
    # another route agrees to about 1e-5.
    design, y, school, _ = simulate(60, seed=1)
    result = RandomInterceptModel(method=method).fit(design, y, groups=school).result_
    reference = sm.MixedLM(y, design, groups=school).fit(
        reml=method == "REML", method=["powell", "lbfgs"]
    )
    np.testing.assert_allclose(result.params, reference.fe_params, atol=1e-4)
    np.testing.assert_allclose(result.bse, reference.bse_fe, atol=1e-4)
    assert result.tau2 == pytest.approx(reference.cov_re.iloc[0, 0], abs=1e-4)
    assert result.sigma2 == pytest.approx(reference.scale, abs=1e-4)
    assert result.loglik == pytest.approx(reference.llf, abs=1e-4)
    assert result.loglik >= reference.llf - 1e-9
    effects = np.array([reference.random_effects[j].iloc[0] for j in range(60)])
    np.testing.assert_allclose(result.school_effects, effects, atol=1e-4)
    # The conditional variance given β, plus β's uncertainty carried to each school.
    given_beta = np.array([reference.random_effects_cov[j].iloc[0, 0] for j in range(60)])
    means = design.groupby(school).mean().to_numpy()
    cov = reference.cov_params().iloc[:4, :4].to_numpy()
    beta_part = result.shrinkage.to_numpy() ** 2 * np.einsum("jk,kl,jl->j", means, cov, means)
    np.testing.assert_allclose(result.school_se**2, given_beta + beta_part, atol=1e-4)
    assert result.converged and result.n_obs == len(y) and result.df_model == 6


def test_plausible_values_are_combined_by_rubins_rules() -> None:
    design, y, school, _ = simulate(80, seed=2)
    rng = np.random.default_rng(5)
    pvs = y[:, None] + rng.normal(0, 0.3, (len(y), 5))
    combined = RandomInterceptModel().fit(design, pvs, groups=school).result_
    single = [
        RandomInterceptModel().fit(design, pvs[:, m], groups=school).result_ for m in range(5)
    ]
    params = np.column_stack([r.params for r in single])
    expected = params.var(axis=1, ddof=1) * 1.2 + np.mean([r.bse**2 for r in single], axis=0)
    np.testing.assert_allclose(combined.params, params.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(combined.bse**2, expected, rtol=1e-10)
    effects = np.column_stack([r.school_effects for r in single])
    expected = effects.var(axis=1, ddof=1) * 1.2 + np.mean([r.school_se**2 for r in single], 0)
    np.testing.assert_allclose(combined.school_effects, effects.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(combined.school_se**2, expected, rtol=1e-10)
    assert combined.tau2 == pytest.approx(np.mean([r.tau2 for r in single]))
    # Intervals use Student's t with Rubin's degrees of freedom, so they are wider than z.
    wald = combined.params + 1.959964 * combined.bse
    assert (combined.conf_int()["upper"] > wald).all()


def test_school_intervals_cover_the_true_effects_at_the_nominal_rate() -> None:
    design, y, school, effect = simulate(3000, seed=3, tau=0.3, sigma=0.8, sizes=(5, 60))
    result = RandomInterceptModel().fit(design, y, groups=school).result_
    interval = result.school_conf_int(0.05)
    covered = (interval["lower"] <= effect) & (effect <= interval["upper"])
    assert 0.93 <= covered.mean() <= 0.97
    assert result.tau2 == pytest.approx(0.09, rel=0.1)
    assert result.sigma2 == pytest.approx(0.64, rel=0.02)
    np.testing.assert_allclose(result.params, [1, 0.6, -0.3, 0.2], atol=0.05)
    # Shrinkage grows with school size.
    order = np.argsort(result.n_pupils.to_numpy())
    assert np.all(np.diff(result.shrinkage.to_numpy()[order]) >= -1e-12)


def test_a_school_effect_is_zero_when_schools_do_not_differ() -> None:
    rng = np.random.default_rng(4)
    school = np.repeat(np.arange(30), 10)
    x = pd.DataFrame({"intercept": 1.0, "x": rng.standard_normal(300)})
    # Every school has the same residuals, so their means do not vary at all.
    y = 0.5 * x["x"].to_numpy() + np.tile(np.linspace(-1, 1, 10), 30)
    result = RandomInterceptModel().fit(x, y, groups=school).result_
    assert result.tau2 == 0.0 and result.icc == 0.0
    np.testing.assert_allclose(result.school_effects, 0.0)


def pupil_tables(
    n_schools: int = 120, per_school: int = 25, seed: int = 7
) -> tuple[pd.Series, pd.Series, pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    n = n_schools * per_school
    pupils = pd.Index([f"P{i:05d}" for i in range(n)], name="pupil")
    school = pd.Series(np.repeat([f"S{j:03d}" for j in range(n_schools)], per_school), pupils)
    prior = pd.Series(rng.standard_normal(n), pupils)
    context = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "low_income": rng.random(n) < 0.1,
            "special_needs": np.zeros(n, dtype=bool),
            "language": rng.choice(["kk", "ru", "uz"], n, p=[0.6, 0.3, 0.1]),
        },
        index=pupils,
    )
    effect = pd.Series(rng.normal(0, 0.3, n_schools), index=school.unique())
    current = 0.7 * prior + effect.loc[school].to_numpy() - 0.2 * context["low_income"]
    current += rng.normal(0, 0.6, n)
    return current, prior, context, school


def test_contextual_value_added_builds_the_documented_design() -> None:
    current, prior, context, school = pupil_tables()
    current.iloc[:3] = np.nan
    prior = prior.drop(prior.index[3:5])
    result = contextual_value_added(current, prior, context, school, domain="read")
    assert list(result.params.index) == [
        "intercept",
        "prior",
        "sex=M",
        "low_income",
        "language=ru",
        "language=uz",
        "school_mean_prior",
    ]
    assert result.n_obs == len(current) - 5
    assert result.params["prior"] == pytest.approx(0.7, abs=0.03)
    assert result.params["low_income"] == pytest.approx(-0.2, abs=0.1)
    # The compositional term is the school mean of the prior over the pupils modelled.
    kept = current.dropna().index.intersection(prior.index)
    means = prior.loc[kept].groupby(school.loc[kept]).mean()
    x = pd.DataFrame(
        {
            "intercept": 1.0,
            "prior": prior.loc[kept],
            "sex=M": (context.loc[kept, "sex"] == "M").astype(float),
            "low_income": context.loc[kept, "low_income"].astype(float),
            "language=ru": (context.loc[kept, "language"] == "ru").astype(float),
            "language=uz": (context.loc[kept, "language"] == "uz").astype(float),
            "school_mean_prior": means.loc[school.loc[kept]].to_numpy(),
        }
    )
    direct = RandomInterceptModel().fit(x, current.loc[kept], groups=school.loc[kept]).result_
    np.testing.assert_allclose(result.params, direct.params, rtol=1e-10)
    plain = contextual_value_added(
        current, prior, context, school, domain="read", compositional=False
    )
    assert "school_mean_prior" not in plain.params.index


def test_prior_plausible_values_are_paired_with_current_ones() -> None:
    current, prior, context, school = pupil_tables(60, 20, seed=8)
    rng = np.random.default_rng(9)
    current_pv = pd.DataFrame(
        {f"PV{m}": current + rng.normal(0, 0.2, len(current)) for m in (1, 2, 3)}
    )
    prior_pv = pd.DataFrame({f"PV{m}": prior + rng.normal(0, 0.2, len(prior)) for m in (1, 2, 3)})
    result = contextual_value_added(current_pv, {"read": prior_pv}, context, school, domain="read")
    singles = [
        contextual_value_added(
            current_pv.iloc[:, m], {"read": prior_pv.iloc[:, m]}, context, school, domain="read"
        )
        for m in range(3)
    ]
    np.testing.assert_allclose(
        result.params, np.mean([r.params for r in singles], axis=0), rtol=1e-10
    )
    assert result.n_pv == 3 and "school_mean_prior_read" in result.params.index
    with pytest.raises(DataValidationError, match="plausible values"):
        contextual_value_added(current_pv, prior_pv.iloc[:, :2], context, school, domain="read")


def test_indicator_rows_suppress_small_schools() -> None:
    current, prior, context, school = pupil_tables(40, 12, seed=10)
    school.iloc[:5] = "S999"
    result = contextual_value_added(current, prior, context, school, domain="mlit")
    table = result.to_frame()
    assert list(table.columns) == list(COLUMNS)
    assert set(table["indicator"]) == {"value_added.mlit"} and set(table["level"]) == {"school"}
    row = table.set_index("unit").loc["S999"]
    assert row["n"] == 5 and row["suppressed"] and np.isnan(row["value"])
    shown = table[~table["suppressed"]].set_index("unit")
    np.testing.assert_allclose(shown["value"], result.school_effects.loc[shown.index])
    assert (shown["ci_low"] < shown["value"]).all() and (shown["value"] < shown["ci_high"]).all()
    summary = result.summary()
    assert "REML" in summary and "school_mean_prior" in summary and "ICC" in summary


def test_bad_input_is_refused() -> None:
    design, y, school, _ = simulate(20, seed=11)
    with pytest.raises(InvalidParameterError, match="'method' parameter of RandomInterceptModel"):
        RandomInterceptModel(method="GLS").fit(design, y, groups=school)
    with pytest.raises(NotFittedError):
        _ = RandomInterceptModel().result_
    collinear = design.assign(twice=2 * design["x1"])
    with pytest.raises(DataValidationError, match="twice"):
        RandomInterceptModel().fit(collinear, y, groups=school)
    with pytest.raises(DataValidationError, match="two schools"):
        RandomInterceptModel().fit(design, y, groups=np.zeros(len(y)))
    y[3] = np.nan
    with pytest.raises(DataValidationError, match="non-finite"):
        RandomInterceptModel().fit(design, y, groups=school)


def test_recovers_the_synthetic_nations_school_effects() -> None:
    # True θ's as scores isolate the model from measurement error. The nation's truth makes
    # region shift + school quality the exact value-added (see sapa.synth._assessment).
    nation = tiny_nation()
    truth = pd.read_parquet(nation.out / "truth" / "pupils.parquet")
    grade9 = truth[truth["administration_code"] == "MODO9-2025"].set_index("student_code")
    students = nation.tables["student"].set_index("code")
    context = students.loc[
        grade9.index,
        ["sex", "low_income", "special_needs", "socially_vulnerable", "instruction_language"],
    ]
    schools = nation.schools_truth.set_index("code")
    true_effect = schools["quality"] + schools["region_shift"]
    priors = {d: grade9[f"prior_theta_{d}"] for d in ("read", "mlit", "slit")}
    for domain in ("read", "mlit"):
        result = contextual_value_added(
            grade9[f"theta_{domain}"], priors, context, grade9["organization_code"], domain=domain
        )
        effects = result.school_effects
        truth_here = true_effect.loc[effects.index]
        assert np.corrcoef(effects, truth_here)[0, 1] > 0.75
        assert result.params[f"prior_{domain}"] > 0.5
        assert result.tau2 == pytest.approx(truth_here.var(), rel=0.5)
