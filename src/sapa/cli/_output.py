"""Exit codes, error reporting and the database connection shared by the commands."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from sapa.errors import DataValidationError, Problem, StoreError
from sapa.store import current_revision, head_revision, make_engine


class ExitCode(enum.IntEnum):
    """Exit statuses scripts can rely on."""

    OK = 0
    """Success."""
    INPUT_REFUSED = 1
    """The input was refused by validation; nothing was written."""
    USAGE = 2
    """Wrong command-line usage (unknown option, missing argument)."""
    STORE = 3
    """The database failed, is unreachable or not migrated; nothing was written."""


EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 input refused (validation, nothing written); "
    "2 usage error; 3 database or store error (nothing written)."
)

console = Console()
errors = Console(stderr=True)


def progress_bar() -> Progress:
    """The progress bar of long commands: description, bar, done/total and elapsed time; it
    disappears when done."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def problem_table(problems: Sequence[Problem]) -> Table:
    """The problems of a refused input as a table: file, row, column, reason."""
    table = Table(title=f"{len(problems)} problem(s) — nothing was written", title_justify="left")
    for header in ("file", "row", "column", "reason"):
        table.add_column(header, overflow="fold")
    for problem in problems:
        row = "" if problem.row is None else str(problem.row)
        table.add_row(problem.file, row, problem.column or "", problem.reason)
    return table


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn Sapa's errors into a readable report on stderr and the documented exit code."""
    try:
        yield
    except DataValidationError as exc:
        errors.print(problem_table(exc.problems))
        raise typer.Exit(ExitCode.INPUT_REFUSED) from exc
    except (StoreError, SQLAlchemyError) as exc:
        errors.print(f"[bold red]Database error:[/] {exc}", highlight=False)
        raise typer.Exit(ExitCode.STORE) from exc


@contextmanager
def database(url: str | None) -> Iterator[Engine]:
    """An engine for ``url`` or the configured database, disposed of when the command ends.

    A malformed URL is a store error.
    """
    try:
        engine = make_engine(url)
    except ArgumentError as exc:
        raise StoreError(f"Invalid database URL: {exc}") from exc
    try:
        yield engine
    finally:
        engine.dispose()


def require_current_schema(engine: Engine) -> None:
    """Refuse to work on a database that is not at the schema this version of Sapa expects."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StoreError(
            f"The database at {engine.url!r} is at schema revision {current or 'none (empty)'}; "
            f"this version of Sapa needs {head}. Run `sapa init`."
        )
