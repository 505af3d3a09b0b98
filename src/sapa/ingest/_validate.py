"""Validation of a whole import batch, reporting every problem before anything is written.

The checks, in the order a user meets them: header (missing required columns, unknown or repeated
columns), cells (types, vocabularies, identifiers, ranges, ``NOT NULL``), uniqueness of the
natural key and of declared unique columns within the batch, and references (every ``*_code``
must name a row already in the database or in the same batch). References are resolved with one
query per referenced table (in chunks of :data:`CHUNK_SIZE` codes), never one per row.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select, tuple_

from sapa.errors import DataValidationError, Problem
from sapa.ingest._readers import RawTable
from sapa.ingest._schema import EntitySchema, entity_schemas
from sapa.ingest._values import format_text, is_empty, parse_value

__all__ = ["CHUNK_SIZE", "MAX_PROBLEMS", "PreparedTable", "chunked", "validate_tables"]

MAX_PROBLEMS = 1000
"""Problems listed in one report; further ones are counted, not listed."""

CHUNK_SIZE = 5000
"""Rows per bulk statement and codes per lookup query (below SQLite's and PostgreSQL's
bound-parameter limits for any realistic table width)."""

_OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def chunked(items: Sequence[Any], size: int = CHUNK_SIZE) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class PreparedTable:
    """Validated, typed rows of one entity gathered from all files of the batch.

    ``columns`` are the file columns present in at least one file (absent optional columns are
    left untouched on update); ``records`` map those names to typed values, and ``origins`` give
    each record's file and row.
    """

    schema: EntitySchema
    columns: list[str]
    records: list[dict[str, Any]] = field(default_factory=list)
    origins: list[tuple[str, int]] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(source for source, _ in self.origins))


class _Problems:
    """Collects problems up to :data:`MAX_PROBLEMS` and counts the rest."""

    def __init__(self) -> None:
        self.listed: list[Problem] = []
        self.unlisted = 0

    def add(self, file: str, row: int | None, column: str | None, reason: str) -> None:
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append(Problem(file, row, column, reason))
        else:
            self.unlisted += 1

    def raise_if_any(self) -> None:
        if not self.listed:
            return
        problems = sorted(self.listed, key=lambda p: (p.file, p.row or 0))
        if self.unlisted:
            problems.append(
                Problem(
                    "<input>",
                    None,
                    None,
                    f"{self.unlisted} more problems not listed (only the first "
                    f"{MAX_PROBLEMS} are shown)",
                )
            )
        raise DataValidationError(problems)


def _unknown_column_reason(name: str, schema: EntitySchema) -> str:
    if name.endswith("_id") and f"{name.removesuffix('_id')}_code" in schema.field_names:
        return f"unknown column; files carry codes, not ids: use {name.removesuffix('_id')}_code"
    return f"unknown column for {schema.name}; expected: {', '.join(schema.field_names)}"


def _check_header(raw: RawTable, schema: EntitySchema, problems: _Problems) -> dict[str, int]:
    """Positions of the known columns in ``raw``; header problems are recorded."""
    if not raw.header:
        problems.add(raw.source, None, None, "the file is empty: no header row")
        return {}
    positions: dict[str, int] = {}
    for index, name in enumerate(raw.header):
        if name in positions:
            problems.add(raw.source, 1, name, "the column appears more than once")
        elif name not in schema.field_names:
            problems.add(
                raw.source, 1, name or f"#{index + 1}", _unknown_column_reason(name, schema)
            )
        else:
            positions[name] = index
    for spec in schema.fields:
        if spec.name not in positions and (spec.required or spec.name in schema.natural_key):
            problems.add(raw.source, 1, spec.name, "required column is missing")
    return positions


def _check_rows(
    raw: RawTable,
    schema: EntitySchema,
    positions: dict[str, int],
    prepared: PreparedTable,
    problems: _Problems,
) -> None:
    width = len(raw.header)
    specs = [(schema.field(name), index) for name, index in positions.items()]
    for row_number, cells in raw.rows:
        if len(cells) > width and all(is_empty(cell) for cell in cells[width:]):
            cells = cells[:width]
        if len(cells) != width:
            problems.add(
                raw.source, row_number, None, f"the row has {len(cells)} cells; the header {width}"
            )
            continue
        record: dict[str, Any] = {}
        for spec, index in specs:
            cell = cells[index]
            if is_empty(cell):
                if spec.required or spec.name in schema.natural_key:
                    problems.add(raw.source, row_number, spec.name, "a value is required")
                record[spec.name] = None
                continue
            try:
                record[spec.name] = parse_value(spec, cell)
            except ValueError as exc:
                problems.add(raw.source, row_number, spec.name, str(exc))
        _check_comparisons(record, schema, raw.source, row_number, problems)
        prepared.records.append(record)
        prepared.origins.append((raw.source, row_number))


def _check_comparisons(
    record: dict[str, Any], schema: EntitySchema, source: str, row: int, problems: _Problems
) -> None:
    """CHECK constraints between two columns of a row (skipped where either is empty)."""
    for left, relation, right in schema.comparisons:
        left_value, right_value = record.get(left), record.get(right)
        if left_value is None or right_value is None:
            continue
        if not _OPERATORS[relation](left_value, right_value):
            problems.add(
                source, row, left, f"must be {relation} {right} ({right_value}); got {left_value}"
            )


def _describe(names: Sequence[str], values: Sequence[Any]) -> str:
    """``name=value`` pairs as the user wrote them (``code=S-010, tested_on=2024-02-17``)."""
    return ", ".join(f"{n}={format_text(v)}" for n, v in zip(names, values, strict=True))


def _check_unique(prepared: PreparedTable, problems: _Problems) -> None:
    schema = prepared.schema
    for names in schema.unique_sets:
        if not set(names) <= set(prepared.columns):
            continue
        first_seen: dict[tuple[Any, ...], tuple[str, int]] = {}
        label = "natural key" if names == schema.natural_key else "unique column(s)"
        for record, (source, row) in zip(prepared.records, prepared.origins, strict=True):
            key = tuple(record.get(name) for name in names)
            if any(value is None for value in key):
                continue
            if key in first_seen:
                where = f"row {first_seen[key][1]}"
                if first_seen[key][0] != source:
                    where += f" of {first_seen[key][0]}"
                shown = _describe(names, key)
                problems.add(
                    source, row, names[0], f"duplicate {label} ({shown}); first at {where}"
                )
            else:
                first_seen[key] = (source, row)


def existing_codes(connection: Connection, table_name: str, codes: Iterable[str]) -> dict[str, int]:
    """Ids of the rows of ``table_name`` whose ``code`` is among ``codes`` (chunked queries)."""
    table = entity_schemas()[table_name].table
    wanted = sorted(set(codes))
    found: dict[str, int] = {}
    for chunk in chunked(wanted):
        statement = select(table.c.code, table.c.id).where(table.c.code.in_(chunk))
        found.update(connection.execute(statement).all())
    return found


def _check_references(
    prepared: dict[str, PreparedTable], connection: Connection, problems: _Problems
) -> None:
    needed: dict[str, set[str]] = defaultdict(set)
    for table in prepared.values():
        for spec in table.schema.fields:
            if spec.target is not None and spec.name in table.columns:
                needed[spec.target].update(
                    r[spec.name] for r in table.records if r.get(spec.name) is not None
                )
    known: dict[str, set[str]] = {}
    for target, codes in needed.items():
        in_batch = (
            {r["code"] for r in prepared[target].records if r.get("code") is not None}
            if target in prepared
            else set()
        )
        known[target] = in_batch | set(existing_codes(connection, target, codes - in_batch))
    for table in prepared.values():
        for spec in table.schema.fields:
            if spec.target is None or spec.name not in table.columns:
                continue
            for record, (source, row) in zip(table.records, table.origins, strict=True):
                code = record.get(spec.name)
                if code is not None and code not in known[spec.target]:
                    problems.add(
                        source,
                        row,
                        spec.name,
                        f"no {spec.target} with code {code!r} in the database or in this import",
                    )


def _check_unique_in_database(
    prepared: PreparedTable, connection: Connection, problems: _Problems
) -> None:
    """Unique columns (an IIN, a BIN) must not already belong to another row in the database.

    Checked for unique sets and natural keys made of plain columns; sets involving references
    are left to the database, which refuses the whole import if they clash.
    """
    schema = prepared.schema
    table = schema.table
    plain = [f.name for f in schema.fields if f.target is None]
    if not set(schema.natural_key) <= set(plain):
        return
    batch_keys = {tuple(r.get(n) for n in schema.natural_key) for r in prepared.records}
    for names in schema.unique_sets:
        if names == schema.natural_key or not set(names) <= set(prepared.columns) & set(plain):
            continue
        located = [
            (tuple(record.get(n) for n in names), record, origin)
            for record, origin in zip(prepared.records, prepared.origins, strict=True)
        ]
        located = [item for item in located if None not in item[0]]
        columns = [table.c[schema.field(n).column] for n in names]
        key_columns = [table.c[schema.field(n).column] for n in schema.natural_key]
        target: Any = columns[0] if len(columns) == 1 else tuple_(*columns)
        owners: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for chunk in chunked(sorted({values for values, _, _ in located}, key=repr)):
            bind = [values[0] for values in chunk] if len(columns) == 1 else list(chunk)
            statement = select(*columns, *key_columns).where(target.in_(bind))
            for row in connection.execute(statement):
                owners[tuple(row[: len(columns)])] = tuple(row[len(columns) :])
        for values, record, (source, row_number) in located:
            owner = owners.get(values)
            key = tuple(record.get(n) for n in schema.natural_key)
            if owner is not None and owner != key and owner not in batch_keys:
                problems.add(
                    source,
                    row_number,
                    names[0],
                    f"{_describe(names, values)} already belongs to the {schema.name} with "
                    f"{_describe(schema.natural_key, owner)} in the database",
                )


def validate_tables(raw_tables: Sequence[RawTable], connection: Connection) -> list[PreparedTable]:
    """Validate a batch and return its rows typed and grouped by entity, in dependency order.

    Raises
    ------
    DataValidationError
        With every problem found (up to :data:`MAX_PROBLEMS` listed), each naming file, row,
        column and reason.
    """
    schemas = entity_schemas()
    problems = _Problems()
    prepared: dict[str, PreparedTable] = {}
    for raw in raw_tables:
        schema = schemas[raw.entity]
        positions = _check_header(raw, schema, problems)
        table = prepared.setdefault(raw.entity, PreparedTable(schema=schema, columns=[]))
        table.columns.extend(name for name in positions if name not in table.columns)
        _check_rows(raw, schema, positions, table, problems)
    for table in prepared.values():
        _check_unique(table, problems)
    _check_references(prepared, connection, problems)
    for table in prepared.values():
        _check_unique_in_database(table, connection, problems)
    problems.raise_if_any()
    return [prepared[name] for name in schemas if name in prepared]
