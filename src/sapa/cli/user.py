"""``sapa user``: accounts of the web application."""

from __future__ import annotations

from typing import Annotated

import typer

from sapa.cli._output import console, database, reported_errors, require_current_schema
from sapa.domain.access import Role
from sapa.web import add_user

app = typer.Typer(help="Accounts of the web application.", no_args_is_help=True)


@app.command("add")
def add(
    context: typer.Context,
    username: Annotated[str, typer.Argument(help="Sign-in name (stored in lower case).")],
    role: Annotated[
        Role, typer.Option(help="ministry, region, district, school, teacher, analyst or auditor.")
    ],
    scope: Annotated[
        str | None,
        typer.Option(
            help="Code of the region, district, school or teacher the account is limited to "
            "(not for ministry, analyst and auditor accounts)."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name shown in the interface.")] = None,
    language: Annotated[str, typer.Option(help="Interface language: kk, ru or en.")] = "kk",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="SAPA_USER_PASSWORD",
            help="Asked for when not given (or read from SAPA_USER_PASSWORD).",
        ),
    ] = "",
) -> None:
    """Create an account; the password is stored only as its Argon2id hash."""
    with reported_errors(), database(context.obj["database_url"]) as engine:
        require_current_schema(engine)
        principal = add_user(
            engine,
            username,
            password,
            role.value,
            scope_code=scope,
            display_name=name,
            language=language,
        )
    place = principal.school or principal.district or principal.region or "the whole country"
    console.print(f"Account {principal.username!r} ({role.value}, {place}) created.")
