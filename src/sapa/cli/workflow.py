"""``sapa workflow``: the follow-through on the workflows from the command line.

``summary`` counts open, overdue and closed cases; ``overdue`` shows where they lag, region by
region; ``due`` lists the attestations falling due (the reminders to send). Each reads as the
place it is given: the whole country, or one region.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sapa.cli._output import console, database, reported_errors, require_current_schema
from sapa.domain.access import Role
from sapa.web.access import DataAccess, Principal
from sapa.web.casework import CaseAccess
from sapa.workflows import attestations_due

app = typer.Typer(
    help="Cases of the workflows: counts, overdue cases, reminders.", no_args_is_help=True
)

AsOf = Annotated[
    dt.datetime | None,
    typer.Option(formats=["%Y-%m-%d"], help="The working day (default: today)."),
]
RegionOption = Annotated[
    str | None, typer.Option(help="Only this region (code, e.g. KZ-11); default: the country.")
]


def _reader(connection, region: str | None, as_of: dt.datetime | None) -> CaseAccess:  # type: ignore[no-untyped-def]
    """Cases as the ministry (the country) or a region's department sees them."""
    role = Role.REGION if region else Role.MINISTRY
    principal = Principal("cli", "command line", role, "en", region=region)
    today = as_of.date() if as_of else dt.date.today()
    return CaseAccess(DataAccess(connection, principal), today)


@app.command("summary")
def summary(context: typer.Context, region: RegionOption = None, as_of: AsOf = None) -> None:
    """Cases open, overdue and closed, per workflow."""
    with reported_errors(), database(context.obj["database_url"]) as engine:
        require_current_schema(engine)
        with engine.connect() as connection:
            frame = _reader(connection, region, as_of).summary()
    table = Table("workflow", "open", "overdue", "closed")
    for row in frame.itertuples():
        table.add_row(row.workflow, str(row.open), str(row.overdue), str(row.closed))
    console.print(table)


@app.command("overdue")
def overdue(context: typer.Context, region: RegionOption = None, as_of: AsOf = None) -> None:
    """Overdue cases per region and workflow."""
    with reported_errors(), database(context.obj["database_url"]) as engine:
        require_current_schema(engine)
        with engine.connect() as connection:
            frame = _reader(connection, region, as_of).overdue_by_region()
    table = Table("region", *frame.columns)
    for code, row in frame.iterrows():
        table.add_row(str(code), *(str(value) for value in row))
    console.print(table if len(frame) else "No case is overdue.")


@app.command("due")
def due(
    context: typer.Context,
    within: Annotated[int, typer.Option(help="Days ahead to look.")] = 90,
    region: RegionOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the list to this CSV file instead of printing it.")
    ] = None,
    as_of: AsOf = None,
) -> None:
    """Attestations not yet held that fall due within the days given, or are past due."""
    today = as_of.date() if as_of else dt.date.today()
    with reported_errors(), database(context.obj["database_url"]) as engine:
        require_current_schema(engine)
        with engine.connect() as connection:
            frame = attestations_due(connection, today, within_days=within, region=region)
    if out is not None:
        frame.to_csv(out, index=False)
        console.print(f"{len(frame)} attestations written to {out}.")
        return
    table = Table("teacher", "school", "due on", "days left", "target", "case")
    for row in frame.itertuples():
        table.add_row(
            row.teacher,
            row.school,
            row.due_on.isoformat(),
            str(row.days_left),
            row.target_category,
            row.open_case or "–",
        )
    console.print(table)
    console.print(f"{len(frame)} attestations due within {within} days (as of {today}).")
