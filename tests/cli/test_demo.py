"""``sapa demo`` builds a nation, imports it and runs the assessment tour end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from typer.testing import CliRunner

from sapa.cli import app
from sapa.cli._demo import _nation
from sapa.domain.access import UserAccount
from sapa.domain.geography import Region
from sapa.domain.people import Student
from sapa.store import make_engine


def test_demo_imports_the_nation_and_finds_the_planted_dif(tmp_path: Path) -> None:
    arguments = ["demo", "--data-dir", str(tmp_path), "--scale", "tiny", "--no-serve"]
    result = CliRunner().invoke(app, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "nation" / "manifest.json").read_text(encoding="utf-8"))
    engine = make_engine(f"sqlite:///{tmp_path / 'sapa.sqlite'}")
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Region)) == 20
        pupils = connection.scalar(select(func.count()).select_from(Student))
    engine.dispose()
    assert pupils == manifest["rows"]["student"]

    results = tmp_path / "assessment"
    truth = pd.read_csv(tmp_path / "nation" / "truth" / "items.csv")
    planted = set(truth.loc[truth["dif_shift"] != 0, "item_code"])
    dif = pd.read_csv(results / "dif.csv")
    assert set(dif.loc[dif["ets_class"].isin(["B", "C"]), "item"]) == planted & set(dif["item"])
    recovery = pd.read_csv(results / "recovery.csv")
    assert recovery["converged"].all() and (recovery["slope r"] > 0.8).all()
    assert set(recovery["administration"]) == {"MODO4-2025", "MODO9-2025"}
    regions = pd.read_csv(results / "regions.csv")
    assert len(regions) == 20
    assert "Dashboard accounts" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'sapa.sqlite'}")
    with engine.connect() as connection:
        roles = set(connection.scalars(select(UserAccount.role)))
    engine.dispose()
    assert {role.value for role in roles} == {
        "ministry",
        "region",
        "district",
        "school",
        "teacher",
        "analyst",
        "auditor",
    }

    manifest_before = (tmp_path / "nation" / "manifest.json").stat().st_mtime_ns
    assert _nation(tmp_path / "nation", "tiny", 2025) == tmp_path / "nation"
    assert (tmp_path / "nation" / "manifest.json").stat().st_mtime_ns == manifest_before
