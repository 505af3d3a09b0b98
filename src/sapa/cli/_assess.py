"""``sapa assess``: run the national quality assessment of a year on the stored data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sapa.cli._output import console, database, reported_errors, require_current_schema
from sapa.config import get_settings
from sapa.pipeline import RunSettings, RunSummary, run_assessment


def print_run(summary: RunSummary) -> None:
    """The run's code, what it wrote and the time of each stage."""
    table = Table(title=f"Run {summary.code}", title_justify="left")
    for heading in ("stage", "seconds", "peak MiB"):
        table.add_column(heading, justify="right")
    for timing in summary.timings:
        table.add_row(timing.stage, f"{timing.seconds:.1f}", f"{timing.peak_mib:.0f}")
    console.print(table)
    console.print(
        f"{summary.indicator_rows:,} indicator values and {summary.flags:,} support flags "
        f"written; inputs {summary.inputs_sha256[:12]}…, results {summary.results_sha256[:12]}…",
        highlight=False,
    )


def assess(
    context: typer.Context,
    year: Annotated[int, typer.Option(help="Year of the assessments to analyse.")],
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder response-file paths are relative to (default: SAPA_DATA_DIR)."),
    ] = None,
    plausible_values: Annotated[int, typer.Option(help="Plausible values per pupil.")] = 5,
    min_cell: Annotated[int, typer.Option(help="Suppress published cells below this size.")] = 10,
) -> None:
    """Run the quality assessment: IRT, indicators, composite index and flags, stored as a run."""
    settings = RunSettings(
        year=year,
        data_dir=data_dir or get_settings().data_dir,
        n_plausible=plausible_values,
        min_cell=min_cell,
    )
    with reported_errors(), database(context.obj["database_url"]) as engine:
        require_current_schema(engine)
        summary = run_assessment(
            engine, settings, report=lambda stage: console.print(f"… {stage}", highlight=False)
        )
    print_run(summary)
