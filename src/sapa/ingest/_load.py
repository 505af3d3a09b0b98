"""Atomic import: validate a batch of files, then upsert it on the natural keys in one transaction.

One call of :func:`import_files` is one transaction. Entities are loaded in dependency order, so a
file may refer to codes defined by another file of the same batch. Any problem, found by the
validator or raised by the database, rolls everything back: the database is exactly as before.

Rows are matched to existing ones by the entity's natural key. New rows are inserted, rows whose
values differ are updated, identical rows are left alone, so importing the same file twice
changes nothing. Updates run before inserts, so a unique value (an IIN) may move from an
existing row to a new one in one import. A column the file does not carry is left as it is on
update (and takes its default, or ``NULL``, on insert). Statements are bulk ``executemany``
calls of at most :data:`~sapa.ingest._validate.CHUNK_SIZE` rows; existing rows and referenced
ids are fetched with one query per chunk of keys, never one per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, tuple_
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from sapa.errors import DataValidationError, Problem, StoreError
from sapa.ingest._readers import RawTable, collect_files, read_table
from sapa.ingest._validate import PreparedTable, chunked, existing_codes, validate_tables
from sapa.store import refresh_statistics

__all__ = ["EntityCounts", "ImportReport", "ProgressCallback", "import_files", "import_tables"]

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(entity, rows_done, rows_total)`` while an entity is written."""


@dataclass(frozen=True)
class EntityCounts:
    """What an import did (or, in a dry run, would do) to one entity's rows."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class ImportReport:
    """The outcome of an accepted import.

    Attributes
    ----------
    files : list of str
        The files read, in the order given.
    counts : dict of str to EntityCounts
        Per entity (table name, dependency order): rows inserted, updated and unchanged.
    notices : list of str
        Things worth knowing that did not stop the import (a Windows-1251 file decoded).
    dry_run : bool
        ``True`` when nothing was written (the counts say what an import would do).
    """

    files: list[str]
    counts: dict[str, EntityCounts] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    dry_run: bool = False


def _existing_rows(
    connection: Connection,
    prepared: PreparedTable,
    key_columns: Sequence[str],
    keys: Sequence[tuple[Any, ...]],
    columns: Sequence[str],
) -> dict[tuple[Any, ...], dict[str, Any]]:
    table = prepared.schema.table
    wanted = [table.c.id, *(table.c[name] for name in dict.fromkeys([*key_columns, *columns]))]
    if len(key_columns) == 1:
        key_expression: Any = table.c[key_columns[0]]
        bind = [key[0] for key in keys]
    else:
        key_expression = tuple_(*(table.c[name] for name in key_columns))
        bind = list(keys)
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for chunk in chunked(bind):
        for row in connection.execute(select(*wanted).where(key_expression.in_(chunk))):
            values = row._asdict()
            found[tuple(values[name] for name in key_columns)] = values
    return found


def _execute_grouped(
    connection: Connection,
    statement: Any,
    rows: list[dict[str, Any]],
    report: Callable[[int], None],
) -> None:
    """Run ``statement`` as bulk executemany, grouping rows by the set of keys they carry."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    for names, group in groups.items():
        for chunk in chunked(group):
            connection.execute(statement(names), list(chunk))
            report(len(chunk))


def _upsert(
    connection: Connection, prepared: PreparedTable, progress: ProgressCallback | None
) -> EntityCounts:
    schema = prepared.schema
    table = schema.table
    specs = [schema.field(name) for name in prepared.columns]
    ids: dict[str, dict[str, int]] = {
        spec.name: existing_codes(
            connection, spec.target, (r[spec.name] for r in prepared.records if r.get(spec.name))
        )
        for spec in specs
        if spec.target is not None
    }
    defaulted = {spec.column for spec in specs if spec.has_default}
    rows: list[dict[str, Any]] = []
    for record in prepared.records:
        row: dict[str, Any] = {}
        for spec in specs:
            if spec.name in record:
                value = record[spec.name]
                if spec.target is not None and value is not None:
                    value = ids[spec.name][value]
                if value is not None or spec.column not in defaulted:
                    row[spec.column] = value
        rows.append(row)

    key_columns = [schema.field(name).column for name in schema.natural_key]
    keys = [tuple(row[name] for name in key_columns) for row in rows]
    existing = _existing_rows(connection, prepared, key_columns, keys, [s.column for s in specs])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, row in zip(keys, rows, strict=True):
        current = existing.get(key)
        if current is None:
            inserts.append(row)
        elif any(current[name] != value for name, value in row.items()):
            updates.append({"_row_id": current["id"], **{f"_new_{k}": v for k, v in row.items()}})

    done = 0
    total = len(inserts) + len(updates)

    def report(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(schema.name, done, total)

    def insert_statement(_names: tuple[str, ...]) -> Any:
        return table.insert()

    def update_statement(names: tuple[str, ...]) -> Any:
        columns = [name.removeprefix("_new_") for name in names if name != "_row_id"]
        return (
            table.update()
            .where(table.c.id == bindparam("_row_id"))
            .values({name: bindparam(f"_new_{name}") for name in columns})
        )

    if progress is not None:
        progress(schema.name, 0, total)
    try:
        _execute_grouped(connection, update_statement, updates, report)
        _execute_grouped(connection, insert_statement, inserts, report)
    except IntegrityError as exc:
        raise DataValidationError(
            Problem(
                ", ".join(prepared.sources),
                None,
                None,
                f"the database refused the {schema.name} rows: {exc.orig}",
            )
        ) from exc
    return EntityCounts(inserted=len(inserts), updated=len(updates), unchanged=len(rows) - total)


def import_tables(
    engine: Engine,
    tables: Sequence[RawTable],
    *,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Validate and load tables already read (see :func:`import_files`)."""
    report = ImportReport(
        files=[table.source for table in tables],
        notices=[notice for table in tables for notice in table.notices],
        dry_run=dry_run,
    )
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            for prepared in validate_tables(tables, connection):
                report.counts[prepared.schema.name] = _upsert(connection, prepared, progress)
            if dry_run:
                transaction.rollback()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"The import was rolled back: database error at {engine.url!r}: {exc}. "
            "If tables are missing, run `sapa init`."
        ) from exc
    if not dry_run:
        refresh_statistics(engine)
    return report


def import_files(
    engine: Engine,
    paths: Iterable[str | Path],
    *,
    entity: str | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import CSV, XLSX and Parquet files (or whole directories of them) as one transaction.

    Parameters
    ----------
    engine : Engine
        The database, migrated to the head revision.
    paths : iterable of str or Path
        Files, or directories whose ``*.csv``, ``*.xlsx`` and ``*.parquet`` files are all read.
        Each file's stem names its entity (``district.csv``) unless ``entity`` is given.
    entity : str, optional
        Table name of the entity every file holds.
    dry_run : bool, default False
        Validate and run the load inside a transaction that is then rolled back: every problem
        the validator or the database would raise is reported, the counts say what would
        happen, and nothing is written.
    progress : callable, optional
        ``progress(entity, rows_done, rows_total)``, called while each entity is written.

    Returns
    -------
    ImportReport

    Raises
    ------
    DataValidationError
        The input was refused; ``problems`` lists every reason with file, row and column.
        Nothing was written.
    StoreError
        The database failed (unreachable, or not migrated). Nothing was written.
    """
    paths = list(paths)
    files = collect_files(paths)
    if not files:
        raise DataValidationError(
            Problem(", ".join(map(str, paths)), None, None, "no CSV, XLSX or Parquet files found")
        )
    tables: list[RawTable] = []
    problems: list[Problem] = []
    for path in files:
        try:
            tables.append(read_table(path, entity))
        except DataValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DataValidationError(problems)
    return import_tables(engine, tables, dry_run=dry_run, progress=progress)
