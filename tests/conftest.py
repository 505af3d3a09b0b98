"""Shared fixtures.

Database tests take the ``engine`` fixture and carry the ``db`` marker. They run on a fresh SQLite
file by default; ``make test`` runs them a second time with ``SAPA_TEST_DATABASE_URL`` pointing at
a real PostgreSQL server started by ``scripts/with-postgres``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from sapa.domain import Base
from sapa.store import make_engine, upgrade

POSTGRES_URL = os.environ.get("SAPA_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _global_random_state_untouched() -> Iterator[None]:
    """No code may use numpy's global random state (randomness is explicit)."""
    before = np.random.get_state()[1].copy()
    yield
    after = np.random.get_state()[1]
    assert np.array_equal(before, after), "numpy's global random state was used"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a database fixture is marked ``db`` automatically."""
    for item in items:
        if {"engine", "empty_engine", "database_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_engine() -> Iterator[Engine]:
    assert POSTGRES_URL is not None
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    if tables:
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at the head migration with no rows: SQLite, or PostgreSQL when configured."""
    if POSTGRES_URL:
        pg = request.getfixturevalue("_postgres_engine")
        _truncate_all(pg)
        yield pg
        _truncate_all(pg)
        return
    template = request.getfixturevalue("_migrated_sqlite_template")
    path = tmp_path / "sapa.sqlite"
    shutil.copy(template, path)
    sqlite = make_engine(f"sqlite:///{path}")
    yield sqlite
    sqlite.dispose()


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables at all (for migration tests); on PostgreSQL a new database."""
    if POSTGRES_URL:
        admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
        name = f"sapa_empty_{os.getpid()}"
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(text(f"CREATE DATABASE {name}"))
        pg = make_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/" + name)
        yield pg
        pg.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()
        return
    sqlite = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    yield sqlite
    sqlite.dispose()


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """A client of a real local Dask cluster: two worker processes with one thread each, shared
    by every test of the session that asks for it (starting one takes a few seconds)."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit="1GiB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
