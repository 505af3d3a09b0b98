"""``sapa serve``: the web application (API, dashboard, reports) with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from sapa.cli._output import database, reported_errors, require_current_schema


def serve(
    context: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            help="Send the session cookie over plain HTTP (only for a loopback address; "
            "production serves HTTPS behind a reverse proxy)."
        ),
    ] = False,
) -> None:
    """Serve the web application on the database (schema must be current)."""
    url = context.obj["database_url"]
    with reported_errors(), database(url) as engine:
        require_current_schema(engine)
    if url:
        os.environ["SAPA_DATABASE_URL"] = url
    if insecure_cookies:
        os.environ["SAPA_SECURE_COOKIES"] = "false"
    uvicorn.run(
        "sapa.web.app:create_configured_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )
