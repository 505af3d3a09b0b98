"""The store: the relational database (SQLite embedded, PostgreSQL in production) and its schema.

The schema is owned by Alembic migrations shipped inside the package; :func:`upgrade` brings any
database from empty to the head revision, so SQLite files and PostgreSQL servers follow one history.
"""

from sapa.store._engine import (
    current_revision,
    head_revision,
    make_engine,
    refresh_statistics,
    session_scope,
    upgrade,
)

__all__ = [
    "current_revision",
    "head_revision",
    "make_engine",
    "refresh_statistics",
    "session_scope",
    "upgrade",
]
