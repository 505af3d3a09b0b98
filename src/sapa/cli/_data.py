"""The data commands: ``init``, ``import``, ``export`` and ``status``."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID
from rich.table import Table
from sqlalchemy import Engine

from sapa.cli._output import (
    console,
    database,
    progress_bar,
    reported_errors,
    require_current_schema,
)
from sapa.ingest import (
    ImportReport,
    entity_schemas,
    export_all,
    export_entity,
    import_files,
    initialise,
    region_counts,
    row_counts,
)


class FileFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    PARQUET = "parquet"


def _database_url(context: typer.Context) -> str | None:
    return context.obj.get("database_url") if context.obj else None


def _check_entity(entity: str | None, hint: str) -> None:
    """A usage error (exit code 2) for a name that is not an entity."""
    if entity is not None and entity not in entity_schemas():
        known = ", ".join(entity_schemas())
        raise typer.BadParameter(f"unknown entity {entity!r}; known: {known}", param_hint=hint)


def print_import_report(report: ImportReport) -> None:
    """The counts of an import (inserted, updated, unchanged per entity) and its notices."""
    for notice in report.notices:
        console.print(f"[yellow]Notice:[/] {notice}", highlight=False)
    title = "Dry run — nothing written" if report.dry_run else "Imported"
    table = Table(title=title, title_justify="left")
    for header in ("entity", "inserted", "updated", "unchanged"):
        table.add_column(header, justify="left" if header == "entity" else "right")
    for name, counts in report.counts.items():
        table.add_row(name, str(counts.inserted), str(counts.updated), str(counts.unchanged))
    console.print(table)


def init(context: typer.Context) -> None:
    """Create or migrate the database to the current schema and load the 20 regions."""
    with reported_errors(), database(_database_url(context)) as engine:
        report = initialise(engine)
        console.print(f"Database ready at {engine.url!r}.", highlight=False)
        print_import_report(report)


def import_(
    context: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="CSV, XLSX or Parquet files, or directories of them.")
    ],
    entity: Annotated[
        str | None,
        typer.Option(help="Entity every file holds (default: each file's name, e.g. district)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
) -> None:
    """Validate and import files as one transaction: all rows or, on any problem, none."""
    if entity is not None and entity not in entity_schemas():
        raise typer.BadParameter(
            f"unknown entity {entity!r}; known: {', '.join(entity_schemas())}",
            param_hint="--entity",
        )
    with reported_errors(), database(_database_url(context)) as engine:
        require_current_schema(engine)
        with progress_bar() as progress:
            tasks: dict[str, TaskID] = {}

            def advance(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=total)
                progress.update(tasks[name], completed=done, total=total)

            report = import_files(engine, paths, entity=entity, dry_run=dry_run, progress=advance)
        print_import_report(report)


def export(
    context: typer.Context,
    entity: Annotated[str | None, typer.Argument(help="Entity to export, e.g. district.")] = None,
    all_entities: Annotated[bool, typer.Option("--all", help="Export every entity.")] = False,
    fmt: Annotated[FileFormat, typer.Option("--format", help="File format.")] = FileFormat.CSV,
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("."),
) -> None:
    """Export entities in the import format (references as codes, sorted by natural key)."""
    if (entity is None) == (not all_entities):
        raise typer.BadParameter("give either an ENTITY or --all, not both and not neither")
    _check_entity(entity, "ENTITY")
    with reported_errors(), database(_database_url(context)) as engine:
        require_current_schema(engine)
        if entity is None:
            written = list(export_all(engine, out, fmt.value))
        else:
            written = [export_entity(engine, entity, out, fmt.value)]
    for path in written:
        console.print(str(path), highlight=False)


def status(context: typer.Context) -> None:
    """Row counts per entity, and per region for entities that belong to a region."""
    with reported_errors(), database(_database_url(context)) as engine:
        require_current_schema(engine)
        print_status(engine)


_REGION_COLUMNS = {
    "organization": "schools",
    "student": "pupils",
    "teacher": "pedagogues",
    "building": "buildings",
    "construction_project": "projects",
}
"""Entities shown one by one in the per-region table (with their column headings); every
attributable entity is summed in "all records"."""


def print_status(engine: Engine) -> None:
    """Tables of row counts per entity and, where attributable, per region."""
    counts = row_counts(engine)
    by_region = region_counts(engine)
    console.print(f"Database: {engine.url!r}", highlight=False)
    table = Table(title="Rows per entity", title_justify="left")
    table.add_column("entity")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    console.print(table)
    attributed = [name for name, per_region in by_region.items() if per_region]
    if not attributed:
        return
    regions = sorted({code for name in attributed for code in by_region[name]})
    shown = [name for name in _REGION_COLUMNS if name in attributed]
    per_region = Table(title="Rows per region", title_justify="left")
    per_region.add_column("region")
    for heading in [*(_REGION_COLUMNS[name] for name in shown), "all records"]:
        per_region.add_column(heading, justify="right")
    for code in regions:
        total = sum(by_region[name].get(code, 0) for name in attributed)
        per_region.add_row(code, *(str(by_region[name].get(code, 0)) for name in shown), str(total))
    console.print(per_region)
