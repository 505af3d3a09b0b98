"""Engine creation, transactional sessions and schema migration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from sapa.config import get_settings
from sapa.errors import StoreError

_MIGRATIONS = Path(__file__).parent / "migrations"


def _configure_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Foreign keys enforced, and write-ahead logging for files: readers never wait for the
    writer nor the writer for readers, which a web server with several workers needs (with
    SQLite's default journal a long read blocks every commit)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url``, or for the configured database (``SAPA_DATABASE_URL``, else the
    embedded SQLite file under ``SAPA_DATA_DIR``). SQLite gets foreign-key enforcement and
    write-ahead logging."""
    url = url or get_settings().resolved_database_url()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed if the block succeeds, rolled back entirely if it raises."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this version of Sapa."""
    return ScriptDirectory.from_config(
        _alembic_config(create_engine("sqlite://"))
    ).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or ``None`` for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise StoreError(f"Cannot reach the database at {engine.url!r}: {exc.orig}") from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest), creating tables as needed."""
    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise StoreError(f"Cannot migrate the database at {engine.url!r}: {exc.orig}") from exc


def refresh_statistics(engine: Engine) -> None:
    """Update the query planner's statistics (``ANALYZE``) after a bulk write.

    SQLite never gathers statistics on its own: without them it answers a query on a large
    table through whichever index matches the ``ORDER BY``, walking every row (the dashboard's
    indicator queries took 15 times longer on a national run). PostgreSQL's autovacuum would
    get there eventually; doing it at once keeps the first pages after an import or a run fast.
    """
    try:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    except OperationalError as exc:
        raise StoreError(f"Cannot analyze the database at {engine.url!r}: {exc.orig}") from exc
