"""``sapa workflow``: counts, overdue cases by region and the attestations due, on the sample."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from sapa.cli import ExitCode, app
from sapa.config import get_settings
from sapa.ingest import import_files

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"
runner = CliRunner()


@pytest.fixture
def sample(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The sample dataset in the configured database."""
    import_files(engine, [SAMPLE])
    monkeypatch.setenv("SAPA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def _table(output: str) -> dict[str, list[str]]:
    """The rows of a printed table by their first cell."""
    rows = [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]
    return {row[0]: row[1:] for row in rows}


def test_summary_counts_the_sample_cases(sample: Engine) -> None:
    result = runner.invoke(app, ["workflow", "summary", "--as-of", "2025-05-20"])
    assert result.exit_code == ExitCode.OK, result.output
    rows = _table(result.output)
    # open, overdue, closed: the attestation is due on 30 May, the incident's measures were due
    # on 20 March and the instruction on 30 April.
    assert rows["attestation"] == ["1", "0", "0"]
    assert rows["incident"] == ["1", "1", "0"]
    assert rows["instruction"] == ["1", "1", "0"]
    assert rows["contest"] == ["0", "0", "0"]
    region = _table(runner.invoke(app, ["workflow", "summary", "--region", "KZ-71"]).output)
    assert region["incident"] == ["0", "0", "0"] and region["attestation"][0] == "1"


def test_overdue_by_region_and_only_one_region(sample: Engine) -> None:
    # The sample's instruction to KZ-11 fell due on 30 April 2025.
    nation = runner.invoke(app, ["workflow", "overdue", "--as-of", "2025-05-20"])
    assert nation.exit_code == ExitCode.OK, nation.output
    assert "KZ-11" in nation.output and "instruction" in nation.output
    before = runner.invoke(app, ["workflow", "overdue", "--as-of", "2025-03-01"])
    assert "No case is overdue." in before.output
    other = runner.invoke(
        app, ["workflow", "overdue", "--region", "KZ-71", "--as-of", "2025-05-20"]
    )
    assert "KZ-11" not in other.output


def test_due_lists_the_attestations_to_remind(sample: Engine, tmp_path: Path) -> None:
    out = tmp_path / "due.csv"
    result = runner.invoke(
        app, ["workflow", "due", "--within", "3650", "--as-of", "2020-01-01", "--out", str(out)]
    )
    assert result.exit_code == ExitCode.OK, result.output
    due = pd.read_csv(out)
    assert list(due.columns[:4]) == ["teacher", "school", "district", "region"]
    assert len(due) > 0 and (due["days_left"] >= 0).all()
    assert list(due["due_on"]) == sorted(due["due_on"])
    printed = runner.invoke(app, ["workflow", "due", "--within", "3650", "--as-of", "2020-01-01"])
    assert f"{len(due)} attestations due within 3650 days" in printed.output
