"""The ``sapa`` command line: init, import, export, status and their exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from sapa.cli import ExitCode, app
from sapa.config import get_settings
from sapa.domain.geography import Region

REGION_CSV = """\
code,kind,name_en,name_kk,name_ru,centre_en,centre_kk,centre_ru
KZ-71,city,Astana,Астана,Астана,Astana,Астана,Астана
"""
DISTRICT_CSV = """\
code,region_code,name_en,name_kk,name_ru
D-7101,KZ-71,Almaty District,Алматы ауданы,Алматинский район
D-7501,KZ-75,Medeu District,Медеу ауданы,Медеуский район
"""

runner = CliRunner()


@pytest.fixture
def configured(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The test database configured through SAPA_DATABASE_URL, as a deployment would."""
    monkeypatch.setenv("SAPA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def _regions(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Region)).scalar_one()


def test_help_documents_exit_codes() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == ExitCode.OK
    assert "1 input refused" in result.output and "3 database or store error" in result.output
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3]


def test_init_loads_the_twenty_regions_idempotently(configured: Engine) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == ExitCode.OK, first.output
    assert _regions(configured) == 20
    again = runner.invoke(app, ["init"])
    assert again.exit_code == ExitCode.OK
    assert _regions(configured) == 20
    with configured.connect() as connection:
        astana = connection.execute(select(Region).where(Region.code == "KZ-71")).one()
    assert (astana.kind, astana.name_en, astana.centre_ru) == ("city", "Astana", "Астана")


def test_import_status_export(configured: Engine, tmp_path: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == ExitCode.OK
    (tmp_path / "district.csv").write_text(DISTRICT_CSV, encoding="utf-8")
    imported = runner.invoke(app, ["import", str(tmp_path / "district.csv")])
    assert imported.exit_code == ExitCode.OK, imported.output
    assert "district" in imported.output

    status = runner.invoke(app, ["status"])
    assert status.exit_code == ExitCode.OK
    assert "│ region" in status.output and "│ district" in status.output
    per_region = status.output.split("Rows per region")[1]
    assert "KZ-71" in per_region and "KZ-75" in per_region

    out = tmp_path / "out"
    exported = runner.invoke(app, ["export", "district", "--format", "csv", "--out", str(out)])
    assert exported.exit_code == ExitCode.OK, exported.output
    assert (out / "district.csv").read_text(encoding="utf-8") == DISTRICT_CSV
    every = runner.invoke(app, ["export", "--all", "--format", "parquet", "--out", str(out)])
    assert every.exit_code == ExitCode.OK
    assert (out / "region.parquet").is_file() and (out / "district.parquet").is_file()


def test_refused_import_exits_1_and_prints_the_problems(configured: Engine, tmp_path: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == ExitCode.OK
    bad = tmp_path / "districts.csv"
    bad.write_text(DISTRICT_CSV.replace("KZ-75", "KZ-99"), encoding="utf-8")
    result = runner.invoke(app, ["import", str(bad), "--entity", "district"])
    assert result.exit_code == ExitCode.INPUT_REFUSED
    assert "nothing was written" in result.output
    assert "region_code" in result.output and "no region with code 'KZ-99'" in result.output


def test_dry_run_writes_nothing(configured: Engine, tmp_path: Path) -> None:
    (tmp_path / "region.csv").write_text(REGION_CSV, encoding="utf-8")
    assert runner.invoke(app, ["init"]).exit_code == ExitCode.OK
    (tmp_path / "district.csv").write_text(DISTRICT_CSV, encoding="utf-8")
    result = runner.invoke(app, ["import", "--dry-run", str(tmp_path / "district.csv")])
    assert result.exit_code == ExitCode.OK
    assert "Dry run" in result.output
    status = runner.invoke(app, ["status"])
    assert "Rows per region" not in status.output


@pytest.mark.parametrize(
    "arguments",
    [
        ["export"],
        ["export", "region", "--all"],
        ["export", "regions"],
        ["export", "region", "--format", "ods"],
        ["import"],
        ["import", "x.csv", "--entity", "regions"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(configured: Engine, arguments: list[str]) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == ExitCode.USAGE, result.output


def test_uninitialised_database_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAPA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SAPA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == ExitCode.STORE
    assert "Run `sapa init`" in " ".join(result.output.split())  # Rich wraps long paths


def test_unreachable_database_exits_3(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'x.sqlite'}/nested"
    result = runner.invoke(app, ["--database-url", "not a url", "status"])
    assert result.exit_code == ExitCode.STORE, result.output
    assert "Invalid database URL" in result.output
    result = runner.invoke(app, ["--database-url", url, "import", str(tmp_path)])
    assert result.exit_code == ExitCode.STORE, result.output
