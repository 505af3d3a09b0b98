"""The synthetic assessments: booklet designs, import-ready tables, responses drawn from a known
truth (recovered by calibration and DIF analysis), the teachers' test and reproducibility."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sapa.domain import Base
from sapa.errors import DataValidationError
from sapa.ingest import import_files
from sapa.irt import IRTModel, mantel_haenszel
from sapa.store.columnar import read_responses
from sapa.synth._assessment import DOMAINS, PASS_THRESHOLDS, AssessmentSimulation
from sapa.synth._frame import TEACHING_SUBJECT_SHARES, RegionFrame, RegionPlan
from sapa.synth._targets import region_targets

SEED = 2025
CATEGORIES = list(PASS_THRESHOLDS)
MODELS = {"multiple_choice": "3PL", "constructed": "2PL", "partial_credit": "GPCM"}


def fake_frame(region: int, per_grade: int, seed: int = SEED) -> RegionFrame:
    """A region with 40 schools, ``per_grade`` pupils in each of grades 4 and 9 (half in
    Russian-medium classes) and 60 teachers, with the columns the generator documents."""
    rng = np.random.default_rng(1000 + region)
    target = region_targets()[region]
    n_schools, n_pupils, n_teachers = 40, 2 * per_grade, 60
    plan = RegionPlan(target, n_schools, n_pupils, n_teachers, 0, 0)
    digits = target.code[3:]
    urban = rng.random(n_schools) < 0.4
    schools = pd.DataFrame(
        {
            "code": [f"ORG{digits}{k:04d}" for k in range(n_schools)],
            "district_code": f"D{digits}01",
            "settlement_code": f"P{digits}001",
            "urban": urban,
            "small_class": ~urban & (rng.random(n_schools) < 0.3),
            "school_type": "general",
            "language": "mixed",
            "enrolment": n_pupils // n_schools,
            "capacity": n_pupils // n_schools + 50,
            "shifts": 1,
            "three_shift": False,
            "emergency": False,
            "building_code": [f"B{digits}{k:04d}" for k in range(n_schools)],
            "quality": rng.normal(0.0, 0.25, n_schools),
        }
    )
    school = rng.integers(0, n_schools, n_pupils)
    grade = np.repeat([4, 9], per_grade)
    low_income = rng.random(n_pupils) < 0.08
    students = pd.DataFrame(
        {
            "code": [f"S{digits}-{k + 1:07d}" for k in range(n_pupils)],
            "organization_code": schools["code"].to_numpy()[school],
            "grade": grade,
            "class_label": [f"{g}А" for g in grade],
            "instruction_language": np.where(rng.random(n_pupils) < 0.5, "kk", "ru"),
            "sex": np.where(rng.random(n_pupils) < 0.5, "F", "M"),
            "birth_year": 2025 - 6 - grade,
            "low_income": low_income,
            "socially_vulnerable": low_income | (rng.random(n_pupils) < 0.05),
            "special_needs": rng.random(n_pupils) < 0.03,
        }
    )
    teachers = pd.DataFrame(
        {
            "code": [f"T{digits}-{k + 1:06d}" for k in range(n_teachers)],
            "organization_code": schools["code"].to_numpy()[rng.integers(0, n_schools, n_teachers)],
            "sex": "F",
            "birth_year": 1985,
            "position": "teacher",
            "category": rng.choice(CATEGORIES, n_teachers),
            "main_subject": rng.choice(list(TEACHING_SUBJECT_SHARES), n_teachers),
            "experience_years": 10,
            "hired_on": dt.date(2015, 9, 1),
            "left_on": None,
            "young_specialist": False,
            "young_specialist_since": None,
            "ability": rng.standard_normal(n_teachers),
        }
    )
    return RegionFrame(plan=plan, seed=seed, schools=schools, teachers=teachers, students=students)


def fake_sitters(n: int, seed: int = 7) -> pd.DataFrame:
    """Teachers sitting the OZP as the workforce stage sends them: ability rises with the current
    category, and 40% aim one category higher."""
    rng = np.random.default_rng(seed)
    category = rng.choice(5, n, p=[0.35, 0.23, 0.22, 0.19, 0.01])
    target = np.minimum(category + (rng.random(n) < 0.4), 4)
    return pd.DataFrame(
        {
            "teacher_code": [f"T99-{k + 1:06d}" for k in range(n)],
            "tested_on": [
                dt.date(2025, 2, 3) + dt.timedelta(days=int(d)) for d in rng.integers(0, 100, n)
            ],
            "target_category": np.array(CATEGORIES)[target],
            "main_subject": rng.choice(list(TEACHING_SUBJECT_SHARES), n),
            "language": rng.choice(["kk", "ru"], n),
            "ability": 0.5 * (category - category.mean()) / category.std() + rng.normal(0, 0.87, n),
        }
    )


@dataclass
class Nation:
    out: Path
    tables: dict[str, pd.DataFrame]
    files: pd.DataFrame
    sitters: pd.DataFrame
    results: pd.DataFrame


def simulate(out: Path, regions: list[tuple[int, int]], n_sitters: int, seed: int = SEED) -> Nation:
    with AssessmentSimulation(seed, out) as simulation:
        tables = simulation.national_tables()
        results = []
        sitters = fake_sitters(n_sitters)
        for region, per_grade in regions:
            frame = fake_frame(region, per_grade, seed)
            simulation.add_region(frame)
            share = sitters["teacher_code"].str[-1].astype(int) % len(regions) == len(results)
            results.append(simulation.sit_qualification_test(frame, sitters[share]))
        files = simulation.finish()["response_file"]
    return Nation(out, tables, files, sitters, pd.concat(results, ignore_index=True))


@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory) -> Nation:
    """8,000 pupils per grade in one region, 300 in another, and 3,000 teachers."""
    return simulate(tmp_path_factory.mktemp("nation"), [(0, 8000), (17, 300)], 3000)


def item_truth(nation: Nation) -> pd.DataFrame:
    return pd.read_csv(nation.out / "truth" / "items.csv", keep_default_na=True)


def booklet_items(nation: Nation, booklet: str) -> list[str]:
    rows = nation.tables["booklet_item"]
    rows = rows[rows["booklet_code"] == booklet].sort_values("position")
    assert rows["position"].tolist() == list(range(1, len(rows) + 1))
    return rows["item_code"].tolist()


@pytest.mark.parametrize(("grade", "per_domain"), [(4, (10, 12, 8)), (9, (14, 16, 10))])
def test_forms_hold_two_blocks_per_domain_and_link_every_pair(nation, grade, per_domain) -> None:
    subject = nation.tables["item"].set_index("code")["subject_code"]
    forms = {}
    for form in (1, 2, 3):
        kk = booklet_items(nation, f"MODO{grade}-2025-F{form}-KK")
        assert booklet_items(nation, f"MODO{grade}-2025-F{form}-RU") == kk
        counts = subject.loc[kk].value_counts()
        assert tuple(int(counts[d]) for d in DOMAINS) == per_domain
        assert list(subject.loc[kk]) == sorted(subject.loc[kk], key=DOMAINS.index)
        forms[form] = set(kk)
        if grade == 4:
            for language in ("KK", "RU"):
                assert booklet_items(nation, f"MODO4-2020-F{form}-{language}") == kk
    pool = set.union(*forms.values())
    assert len(pool) == 3 * sum(per_domain) // 2
    for domain, size in zip(DOMAINS, per_domain, strict=True):
        # A block is the set of items sharing the same forms; each lies in exactly two forms.
        patterns: dict[tuple[int, ...], int] = {}
        for item in (i for i in pool if subject[i] == domain):
            key = tuple(f for f, items in forms.items() if item in items)
            patterns[key] = patterns.get(key, 0) + 1
        assert patterns == dict.fromkeys(combinations((1, 2, 3), 2), size // 2)


def test_tables_are_import_ready_with_plausible_values(nation, assert_matches_schema) -> None:
    models = {model.__tablename__: model for model in Base.__subclasses__()}
    for name, table in [
        *nation.tables.items(),
        ("response_file", nation.files),
        ("qualification_test_result", nation.results),
    ]:
        assert_matches_schema(table, models[name])
    items = nation.tables["item"]
    assert items["code"].is_unique and items["code"].str.len().max() <= 30
    monitoring = items[items["code"].str.startswith("MODO")]
    shares = monitoring["item_type"].value_counts(normalize=True)
    assert shares.to_dict() == pytest.approx(
        {"multiple_choice": 0.6, "constructed": 0.25, "partial_credit": 0.15}, abs=0.02
    )
    choice = items[items["item_type"] == "multiple_choice"]
    assert set(choice["option_count"]) == {4} and set(choice["answer_key"]) == set("1234")
    assert (items.loc[items["item_type"] == "partial_credit", "max_score"] == 2).all()
    assert (
        items.loc[items["item_type"] == "constructed", "answer_key"].map(lambda v: v is None).all()
    )
    ozp = items[items["code"].str.startswith("OZP")]
    assert (ozp["max_score"] == 1).all() and len(ozp) == 30 + 70 * len(TEACHING_SUBJECT_SHARES)
    versions = nation.tables["item_version"]
    assert len(versions) == 2 * len(items) and set(versions["language"]) == {"kk", "ru"}
    booklets = nation.tables["booklet"]
    assert len(booklets) == 6 + 6 + 6 + 2 * len(TEACHING_SUBJECT_SHARES)
    assert booklets["code"].str.len().max() <= 40
    for code in booklets.loc[booklets["administration_code"] == "OZP-2025", "code"]:
        placed = booklet_items(nation, code)
        assert len(placed) == 100 and sum(c.startswith("OZP-PED-") for c in placed) == 30
    administrations = nation.tables["administration"].set_index("code")
    for code in ("MODO4-2020", "MODO4-2025", "MODO9-2025"):
        year = administrations.loc[code, "year"]
        assert year == int(code[-4:])
        assert administrations.loc[code, "starts_on"] >= dt.date(year, 4, 1)
        assert administrations.loc[code, "ends_on"] <= dt.date(year, 5, 31)
    assert administrations.loc["MODO4-2020", "assessment_programme_code"] == "MODO4"
    assert isinstance(administrations.loc["OZP-2025", "starts_on"], dt.date)


@pytest.mark.db
def test_tables_import_cleanly(nation, engine: Engine, tmp_path: Path) -> None:
    for name, table in [*nation.tables.items(), ("response_file", nation.files)]:
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
    report = import_files(engine, [tmp_path])
    assert report.counts["booklet_item"].inserted == len(nation.tables["booklet_item"])
    assert report.counts["response_file"].inserted == len(nation.files)


def test_response_files_match_their_records_and_omit_about_5_percent(nation) -> None:
    pupils = pd.read_parquet(nation.out / "truth" / "pupils.parquet")
    max_score = nation.tables["item"].set_index("code")["max_score"]
    omitted = presented = 0
    for row in nation.files.itertuples():
        matrix = read_responses(nation.out / row.path, expected_sha256=row.sha256)
        assert row.path == f"responses/{row.booklet_code}.parquet"
        assert row.code == f"{row.booklet_code}-responses" and len(row.code) <= 60
        assert matrix.item_codes == tuple(booklet_items(nation, row.booklet_code))
        assert matrix.values.shape == (row.n_persons, row.n_items)
        assert (
            (matrix.values >= -1)
            & (matrix.values <= max_score.loc[list(matrix.item_codes)].to_numpy())
        ).all()
        if row.administration_code != "OZP-2025":
            prior = row.administration_code == "MODO4-2020"
            column = "prior_booklet_code" if prior else "booklet_code"
            expected = pupils.loc[pupils[column] == row.booklet_code, "student_code"]
            assert matrix.person_codes == tuple(expected)
            omitted += int((matrix.values == -1).sum())
            presented += matrix.values.size
            end = dt.date(2020, 5, 7) if prior else dt.date(2025, 5, 8)
            assert row.created_at == dt.datetime.combine(end, dt.time(18, 0))
    assert omitted / presented == pytest.approx(0.05, abs=0.005)


def test_pupils_truth_has_absences_unit_spread_and_correlated_domains(nation) -> None:
    pupils = pd.read_parquet(nation.out / "truth" / "pupils.parquet")
    assert len(pupils) == 2 * 8000 + 2 * 300
    assert pupils["booklet_code"].isna().mean() == pytest.approx(0.03, abs=0.006)
    grade4 = pupils[pupils["administration_code"] == "MODO4-2025"]
    theta = grade4[[f"theta_{d.lower()}" for d in DOMAINS]]
    assert theta.std().to_numpy() == pytest.approx(1.0, abs=0.1)
    correlation = theta.corr().to_numpy()[np.triu_indices(3, 1)]
    assert correlation == pytest.approx(0.75, abs=0.05)


def test_grade9_prior_is_the_pupils_own_part_and_leaves_the_school_as_value_added(nation) -> None:
    pupils = pd.read_parquet(nation.out / "truth" / "pupils.parquet")
    prior_columns = [f"prior_theta_{d.lower()}" for d in DOMAINS]
    grade4 = pupils[pupils["administration_code"] == "MODO4-2025"]
    assert grade4[prior_columns].isna().all().all() and grade4["prior_booklet_code"].isna().all()
    frame = fake_frame(0, 8000)
    grade9 = pupils[pupils["administration_code"] == "MODO9-2025"].merge(
        frame.students.drop(columns="organization_code").rename(columns={"code": "student_code"}),
        on="student_code",
    )
    assert len(grade9) == 8000 and grade9[prior_columns].notna().all().all()
    assert grade9["prior_booklet_code"].isna().mean() == pytest.approx(0.03, abs=0.006)
    assert set(grade9["prior_booklet_code"].dropna().str[:10]) == {"MODO4-2020"}
    prior = grade9[prior_columns].to_numpy()
    assert prior.std(axis=0) == pytest.approx(1.0, abs=0.05)
    school = frame.plan.target.quality_shift + frame.schools.set_index("code")["quality"]
    school_part = school.loc[grade9["organization_code"]].to_numpy()
    for k, domain in enumerate(DOMAINS):
        own = grade9[f"theta_{domain.lower()}"].to_numpy() - school_part
        assert np.corrcoef(own, prior[:, k])[0, 1] == pytest.approx(0.7, abs=0.02)
        assert abs(np.corrcoef(school_part, prior[:, k])[0, 1]) < 0.03
    # θ9 on θ4, the context and school dummies: the dummies are region shift + quality.
    context = grade9[["low_income", "special_needs", "socially_vulnerable"]].astype(float)
    context["kazakh"] = (grade9["instruction_language"] != "ru").astype(float)
    context["girl"] = (grade9["sex"] == "F").astype(float)
    dummies = pd.get_dummies(grade9["organization_code"], dtype=float)
    design = np.column_stack([prior, context.to_numpy(), dummies.to_numpy()])
    truth = school.loc[dummies.columns].to_numpy()
    for domain in DOMAINS:
        coefficients, *_ = np.linalg.lstsq(design, grade9[f"theta_{domain.lower()}"], rcond=None)
        effect = coefficients[-len(truth) :]
        slope = np.polyfit(truth, effect, 1)[0]
        assert slope == pytest.approx(1.0, abs=0.1)
        assert np.corrcoef(truth, effect)[0, 1] > 0.97


def test_planted_dif_is_reported_and_exact(nation) -> None:
    truth = item_truth(nation)
    kk = truth[truth["language"] == "kk"].set_index("item_code")
    ru = truth[truth["language"] == "ru"].set_index("item_code").loc[kk.index]
    assert (kk["dif_shift"] == 0).all()
    planted = ru.index[ru["dif_shift"] != 0]
    for grade in ("MODO4", "MODO9"):
        in_grade = [code for code in planted if code.startswith(grade)]
        assert 2 <= len(in_grade) <= 3
    assert (ru.loc[planted, "model"] != "GPCM").all()
    assert ru.loc[planted, "dif_shift"].abs().between(0.5, 0.7).all()
    np.testing.assert_allclose(ru["b"] - kk["b"], ru["dif_shift"], atol=1e-9)
    for column in ("a", "g", "b1", "b2"):
        pd.testing.assert_series_equal(ru[column], kk[column])
    assert set(truth["scaling"]) == {1.0}


def test_mantel_haenszel_flags_the_planted_items(nation) -> None:
    truth = item_truth(nation)
    shift = truth[truth["language"] == "ru"].set_index("item_code")["dif_shift"]
    subject = nation.tables["item"].set_index("code")["subject_code"]
    large = set()
    for grade, form in ((g, f) for g in (4, 9) for f in (1, 2, 3)):
        kk = read_responses(nation.out / f"responses/MODO{grade}-2025-F{form}-KK.parquet")
        ru = read_responses(nation.out / f"responses/MODO{grade}-2025-F{form}-RU.parquet")
        group = ["kk"] * len(kk.person_codes) + ["ru"] * len(ru.person_codes)
        for domain in DOMAINS:
            columns = [j for j, code in enumerate(kk.item_codes) if subject[code] == domain]
            responses = pd.DataFrame(
                np.vstack([kk.values[:, columns], ru.values[:, columns]]),
                columns=[kk.item_codes[j] for j in columns],
            )
            table = mantel_haenszel(responses, group, focal="ru", reference="kk").table
            for item, row in table.dropna(subset=["delta_mh"]).iterrows():
                if shift[item]:
                    assert row["dif"], item
                    assert np.sign(row["delta_mh"]) == -np.sign(shift[item])
                if row["ets_class"] != "A":
                    large.add(item)
    assert large == set(shift.index[shift != 0])


def test_calibration_recovers_the_true_item_parameters(nation) -> None:
    subject = nation.tables["item"].set_index("code")
    parts = []
    for booklet in (f"MODO4-2025-F{f}-{lang}" for f in (1, 2, 3) for lang in ("KK", "RU")):
        matrix = read_responses(nation.out / f"responses/{booklet}.parquet")
        frame = pd.DataFrame(matrix.values, columns=matrix.item_codes)
        parts.append(frame[[c for c in frame.columns if subject.loc[c, "subject_code"] == "MLIT"]])
    responses = pd.concat(parts, ignore_index=True).fillna(-1).astype(np.int8)
    assert len(responses) > 7000
    models = {code: MODELS[subject.loc[code, "item_type"]] for code in responses.columns}
    model = IRTModel(model=models, se_method=None).fit(responses)
    estimates = model.result_.coef().set_index("item")
    location = estimates["b1"].where(
        estimates["model"] != "GPCM", estimates[["b1", "b2"]].mean(axis=1)
    )
    truth = item_truth(nation)
    truth = truth[truth["language"] == "kk"].set_index("item_code").loc[estimates.index]
    assert np.corrcoef(estimates["a"], truth["a"])[0, 1] > 0.9
    assert np.corrcoef(location, truth["b"])[0, 1] > 0.95


def test_qualification_test_scores_thresholds_and_pass_rates(nation) -> None:
    results = nation.results.set_index("teacher_code")
    sitters = nation.sitters.set_index("teacher_code").loc[results.index]
    assert (results["tested_on"] == sitters["tested_on"]).all()
    assert (results["threshold_percent"] == sitters["target_category"].map(PASS_THRESHOLDS)).all()
    assert (results["passed"] == (results["score_percent"] >= results["threshold_percent"])).all()
    for row in nation.files[nation.files["administration_code"] == "OZP-2025"].itertuples():
        matrix = read_responses(nation.out / row.path)
        percent = 100.0 * (matrix.values == 1).sum(axis=1) / matrix.values.shape[1]
        np.testing.assert_allclose(results.loc[list(matrix.person_codes), "score_percent"], percent)
        subject, language = row.booklet_code.split("-")[2:]
        assert set(sitters.loc[list(matrix.person_codes), "main_subject"]) == {subject}
        assert set(sitters.loc[list(matrix.person_codes), "language"]) == {language.lower()}
    assert 0.35 <= results["passed"].mean() <= 0.65
    rate = results.groupby("target_category")["passed"].mean()
    order = ["pedagogue", "pedagogue_expert", "pedagogue_researcher", "pedagogue_master"]
    assert rate[order].is_monotonic_decreasing and rate[order].is_unique
    assert rate["pedagogue"] > rate["pedagogue_moderator"] > rate["pedagogue_researcher"]
    mean_ability = sitters["ability"].groupby([results["target_category"], results["passed"]])
    by_outcome = mean_ability.mean().unstack().dropna()
    assert len(by_outcome) >= 4 and (by_outcome[True] > by_outcome[False]).all()


def test_sitters_with_unknown_subjects_are_refused(tmp_path: Path) -> None:
    sitters = fake_sitters(3).assign(main_subject=["MATH", "ASTRO", "MATH"])
    with AssessmentSimulation(SEED, tmp_path) as simulation:
        with pytest.raises(DataValidationError, match="ASTRO"):
            simulation.sit_qualification_test(fake_frame(0, 10), sitters)
        simulation.finish()


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    runs = [simulate(tmp_path / name, [(3, 200), (9, 150)], 200) for name in ("a", "b")]
    paths = sorted(p.relative_to(runs[0].out) for p in runs[0].out.rglob("*") if p.is_file())
    assert paths == sorted(
        p.relative_to(runs[1].out) for p in runs[1].out.rglob("*") if p.is_file()
    )
    assert Path("truth/items.csv") in paths and Path("truth/pupils.parquet") in paths
    for path in paths:
        assert (runs[0].out / path).read_bytes() == (runs[1].out / path).read_bytes(), path
    pd.testing.assert_frame_equal(runs[0].files, runs[1].files)
    pd.testing.assert_frame_equal(runs[0].results, runs[1].results)


def test_a_region_does_not_depend_on_the_others(tmp_path: Path) -> None:
    both = simulate(tmp_path / "both", [(3, 200), (9, 150)], 20)
    alone = simulate(tmp_path / "alone", [(9, 150)], 20)
    truth_both = pd.read_parquet(both.out / "truth" / "pupils.parquet")
    truth_alone = pd.read_parquet(alone.out / "truth" / "pupils.parquet")
    prefix = f"S{region_targets()[9].code[3:]}-"
    region = truth_both[truth_both["student_code"].str.startswith(prefix)].reset_index(drop=True)
    pd.testing.assert_frame_equal(region, truth_alone)
    matrix_both = read_responses(both.out / "responses/MODO4-2025-F2-RU.parquet")
    matrix_alone = read_responses(alone.out / "responses/MODO4-2025-F2-RU.parquet")
    rows = [i for i, code in enumerate(matrix_both.person_codes) if code.startswith(prefix)]
    np.testing.assert_array_equal(matrix_both.values[rows], matrix_alone.values)


def test_an_error_removes_the_unfinished_files(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="interrupted"),
        AssessmentSimulation(SEED, tmp_path) as s,
    ):
        s.add_region(fake_frame(0, 50))
        raise RuntimeError("interrupted")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
