"""The ``sapa`` command line.

Commands: ``sapa init``, ``sapa import``, ``sapa export``, ``sapa status``, ``sapa synth``,
``sapa assess``, ``sapa serve``, ``sapa user add`` and ``sapa demo``.
Every public module ``sapa.cli.<name>`` that defines a Typer ``app`` becomes the command group
``sapa <name>`` (for example ``sapa irt …``).

Exit codes scripts can rely on: 0 success; 1 input refused by validation (nothing written);
2 usage error; 3 database or store error (nothing written).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated

import typer

from sapa.cli import _assess, _data, _demo, _serve, _synth
from sapa.cli._output import EXIT_CODES_HELP, ExitCode

__all__ = ["ExitCode", "app", "main"]

app = typer.Typer(
    name="sapa",
    help="Sapa: national system for assessing the quality of education.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    context: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL of the database (default: SAPA_DATABASE_URL, else the SQLite "
            "file under SAPA_DATA_DIR).",
            show_default=False,
        ),
    ] = None,
) -> None:
    context.obj = {"database_url": database_url}


app.command("init", epilog=EXIT_CODES_HELP)(_data.init)
app.command("import", epilog=EXIT_CODES_HELP)(_data.import_)
app.command("export", epilog=EXIT_CODES_HELP)(_data.export)
app.command("status", epilog=EXIT_CODES_HELP)(_data.status)
app.command("synth", epilog=EXIT_CODES_HELP)(_synth.synth)
app.command("assess", epilog=EXIT_CODES_HELP)(_assess.assess)
app.command("serve", epilog=EXIT_CODES_HELP)(_serve.serve)
app.command("demo", epilog=EXIT_CODES_HELP)(_demo.demo)

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        _group = importlib.import_module(f"{__name__}.{_module.name}")
        if isinstance(getattr(_group, "app", None), typer.Typer):
            app.add_typer(_group.app, name=_module.name)


def main() -> None:
    """Entry point of the ``sapa`` script."""
    app()
