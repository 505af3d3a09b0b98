"""The migration history builds the schema the data model describes, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from sapa.domain import Base
from sapa.store import current_revision, head_revision, upgrade
from sapa.store._engine import _alembic_config

POSTGRES_MAX_IDENTIFIER = 63


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_empty_database_to_head(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert _tables(empty_engine) == set(Base.metadata.tables)


def test_downgrade_to_base_removes_every_table(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    command.downgrade(_alembic_config(empty_engine), "base")
    assert current_revision(empty_engine) is None
    assert _tables(empty_engine) == set()


def test_metadata_and_migrations_agree(engine: Engine) -> None:
    """Autogenerate against head finds nothing to do (else: run scripts/new-migration)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_first_migration_is_sequentially_numbered() -> None:
    assert head_revision() is not None
    assert head_revision().isdigit()  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["indexes", "unique_constraints", "foreign_keys", "checks"])
def test_constraint_names_fit_postgresql_identifiers(engine: Engine, kind: str) -> None:
    """Names made by the naming convention stay within PostgreSQL's 63-character limit."""
    inspector = inspect(engine)
    getter = {
        "indexes": inspector.get_indexes,
        "unique_constraints": inspector.get_unique_constraints,
        "foreign_keys": inspector.get_foreign_keys,
        "checks": inspector.get_check_constraints,
    }[kind]
    names = [item["name"] for table in Base.metadata.tables for item in getter(table)]
    assert names, f"no {kind} reflected"
    too_long = [name for name in names if name is None or len(name) > POSTGRES_MAX_IDENTIFIER]
    assert too_long == []
