"""``sapa demo`` builds its database and runs the assessment tour end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from typer.testing import CliRunner

from sapa.cli import app
from sapa.domain.geography import Region
from sapa.store import make_engine

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"


def test_demo_builds_database_and_finds_the_planted_dif(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--data-dir", str(tmp_path), "--sample", str(SAMPLE)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'sapa.sqlite'}")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Region)) == 20
    engine.dispose()
    dif = pd.read_csv(tmp_path / "assessment" / "dif_language.csv", index_col=0)
    assert set(dif.index[dif["ets_class"].isin(["B", "C"])]) == {"M03", "M07"}
    parameters = pd.read_csv(tmp_path / "assessment" / "parameters.csv")
    assert set(parameters["item"].dropna()) >= {f"M{j:02d}" for j in range(1, 25)}
    scores = pd.read_parquet(tmp_path / "assessment" / "scores.parquet")
    assert len(scores) == 8000 and {"eap", "PV1"} <= set(scores.columns)


def test_demo_refuses_a_missing_sample_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--data-dir", str(tmp_path), "--sample", str(tmp_path / "absent")]
    )
    assert result.exit_code == 1
