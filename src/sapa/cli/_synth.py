"""``sapa synth``: write a synthetic nation of import-ready files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sapa.cli._output import console, progress_bar, reported_errors
from sapa.synth import FORMATS, SCALES, NationSummary, generate_nation


def print_summary(summary: NationSummary, seconds: float) -> None:
    """Rows written per entity, and where."""
    table = Table(title=f"Synthetic nation ({summary.scale}, seed {summary.seed})")
    table.add_column("entity")
    table.add_column("rows", justify="right")
    for entity, rows in summary.rows.items():
        table.add_row(entity, f"{rows:,}")
    console.print(table)
    console.print(
        f"Written to {summary.out}/ in {seconds:.1f} s: nation/ and regions/<code>/ hold the "
        "entity files, responses/ the test responses, truth/ the true parameters.",
        highlight=False,
    )


def build_nation(
    out: Path, *, scale: str, seed: int, file_format: str = "parquet"
) -> NationSummary:
    """:func:`~sapa.synth.generate_nation` with a progress bar over the regions."""
    with progress_bar() as bar:
        task = bar.add_task("Building regions", total=None)

        def advance(code: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=f"Built region {code}")

        return generate_nation(
            out, scale=scale, seed=seed, file_format=file_format, progress=advance
        )


def synth(
    out: Annotated[Path, typer.Option(help="Folder to write (replaced when complete).")] = Path(
        "sapa-data/nation"
    ),
    scale: Annotated[
        str,
        typer.Option(help="; ".join(f"{s.name}: {s.description}" for s in SCALES.values())),
    ] = "region",
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives identical files.")
    ] = 2025,
    file_format: Annotated[
        str, typer.Option("--format", help=f"Entity file format: {', '.join(FORMATS)}.")
    ] = "parquet",
) -> None:
    """Write a seeded synthetic nation: every entity, plus assessment responses and the truth."""
    if scale not in SCALES:
        raise typer.BadParameter(f"use one of {', '.join(SCALES)}", param_hint="--scale")
    if file_format not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    started = time.perf_counter()
    with reported_errors():
        summary = build_nation(out, scale=scale, seed=seed, file_format=file_format)
    print_summary(summary, time.perf_counter() - started)
