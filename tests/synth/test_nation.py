"""The whole synthetic nation: determinism, the manifest, atomic output and a clean import."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from sapa.cli import app
from sapa.errors import StoreError
from sapa.ingest import import_files, initialise
from sapa.synth import MANIFEST, generate_nation, import_paths


@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nation") / "tiny"
    generate_nation(out, scale="tiny", seed=7)
    return out


def _manifest(out: Path) -> dict:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def test_manifest_lists_every_file_with_its_hash(nation: Path) -> None:
    manifest = _manifest(nation)
    assert manifest["scale"] == "tiny" and manifest["seed"] == 7
    written = {
        str(p.relative_to(nation)) for p in nation.rglob("*") if p.is_file() and p.name != MANIFEST
    }
    assert set(manifest["files"]) == written
    for relative, entry in list(manifest["files"].items())[::7]:
        assert hashlib.sha256((nation / relative).read_bytes()).hexdigest() == entry["sha256"]
    assert {p.name for p in (nation / "regions").iterdir()} == {
        f"KZ-{d}" for d in "10 11 15 19 23 27 31 33 35 39 43 47 55 59 61 62 63 71 75 79".split()
    }
    assert manifest["rows"]["student"] == pytest.approx(39_000, rel=0.01)


def test_csv_output_is_readable_text(tmp_path: Path) -> None:
    generate_nation(tmp_path / "csv", scale="tiny", seed=3, file_format="csv")
    text = (tmp_path / "csv" / "regions" / "KZ-43" / "teacher.csv").read_text(encoding="utf-8")
    assert text.startswith("code,iin,sex,birth_year,organization_code,position")
    assert ",true," in text and ",false," in text and "True" not in text


def test_every_file_imports_cleanly(nation: Path, empty_engine: Engine) -> None:
    initialise(empty_engine)
    report = import_files(empty_engine, import_paths(nation))
    rows = _manifest(nation)["rows"]
    assert {name: counts.inserted for name, counts in report.counts.items()} == rows


def test_a_failed_run_leaves_the_previous_nation(nation: Path, tmp_path: Path) -> None:
    out = tmp_path / "kept"
    shutil.copytree(nation, out)
    before = _manifest(out)

    def fail(code: str, done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_nation(out, scale="tiny", seed=9, progress=fail)
    assert _manifest(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]


def test_a_folder_that_is_not_a_nation_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(StoreError, match="not an earlier synthetic nation"):
        generate_nation(tmp_path, scale="tiny", seed=1)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_cli_writes_the_same_bytes_for_the_same_seed(nation: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["synth", "--scale", "planet", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    result = runner.invoke(
        app, ["synth", "--scale", "tiny", "--seed", "7", "--out", str(tmp_path / "cli")]
    )
    assert result.exit_code == 0, result.output
    assert "student" in result.output
    assert _manifest(tmp_path / "cli")["files"] == _manifest(nation)["files"]
    refused = runner.invoke(app, ["synth", "--scale", "tiny", "--out", str(tmp_path)])
    assert refused.exit_code == 3
