"""``run_assessment`` end to end on a tiny synthetic nation, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from sapa.cli import app
from sapa.domain.quality import AssessmentRun, IndicatorValue, SupportFlag
from sapa.ingest import import_files, initialise, read_entity
from sapa.pipeline import RunSettings, run_assessment
from sapa.synth import generate_nation, import_paths


@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pipeline") / "nation"
    generate_nation(out, scale="tiny", seed=11)
    return out


def _count(engine: Engine, table: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)))


def test_a_run_is_recorded_complete_and_reproducible(nation: Path, engine: Engine) -> None:
    initialise(engine)
    import_files(engine, import_paths(nation))
    settings = RunSettings(year=2025, data_dir=nation)
    first = run_assessment(engine, settings)
    again = run_assessment(engine, settings)
    assert again.code == first.code and again.code.startswith("QA-2025-")
    assert again.results_sha256 == first.results_sha256
    assert _count(engine, AssessmentRun) == 1
    assert _count(engine, IndicatorValue) == first.indicator_rows == len(first.values)
    assert _count(engine, SupportFlag) == first.flags

    stored = read_entity(engine, "indicator_value")
    nation_rows = stored[(stored["level"] == "nation") & (stored["subgroup"] == "all")]
    means = nation_rows.set_index("indicator")["value"]
    for domain in ("READ4", "MLIT4", "SLIT4", "READ9", "MLIT9", "SLIT9"):
        assert means[f"outcomes.mean.{domain}"] == pytest.approx(500, abs=1e-6)
    assert means["teachers.share.pedagogue_master"] == pytest.approx(0.009, abs=0.004)
    ranks = stored[stored["indicator"] == "composite.rank"].dropna(subset=["value"])
    assert len(ranks) > 0.8 * len(read_entity(engine, "organization"))
    assert (ranks["ci_low"] <= ranks["value"]).all() and (ranks["value"] <= ranks["ci_high"]).all()
    schools = stored[(stored["level"] == "school") & (stored["indicator"] == "outcomes.mean.MLIT4")]
    small = schools[schools["n"] < settings.min_cell]
    assert small["value"].isna().all() and small["suppressed"].all()
    flags = read_entity(engine, "support_flag")
    assert set(flags["level"]) <= {"school", "district"}
    assert flags["evidence"].str.len().gt(10).all()
    items = read_entity(engine, "item_result").set_index("item")
    assert len(items) == sum(len(r.items) for r in first.domains) > 50
    assert items["p_value"].between(0, 1).all() and items["item_rest"].between(0, 1).all()
    truth = pd.read_csv(nation / "truth" / "items.csv")
    planted = set(truth.loc[truth["dif_shift"] != 0, "item_code"])
    dichotomous = items["dif_delta"].notna()
    size = items.loc[dichotomous, "dif_delta"].abs()
    assert size[size.index.isin(planted)].min() > size[~size.index.isin(planted)].median()

    assert first.timings[0].stage == "load" and first.timings[-1].stage == "save"
    assert all(t.seconds >= 0 and t.peak_mib > 0 for t in first.timings)
    assert {r.administration for r in first.domains} == {"MODO4-2025", "MODO9-2025"}
    assert all(r.scores.shape[1] == settings.n_plausible for r in first.domains)

    other = run_assessment(engine, RunSettings(year=2025, data_dir=nation, min_cell=20))
    assert other.code != first.code
    assert _count(engine, AssessmentRun) == 2


def test_cli_refuses_an_uninitialised_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = CliRunner().invoke(app, ["--database-url", url, "assess", "--year", "2025"])
    assert result.exit_code == 3
    assert "sapa init" in " ".join(result.output.split())
