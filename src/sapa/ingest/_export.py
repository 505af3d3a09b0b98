"""Export of entities in exactly the format the importer reads.

Files carry the same columns in the same order as :func:`~sapa.ingest.entity_schema` lists them,
references as codes, rows sorted by the natural key. Importing an exported file into an empty
database and exporting again gives the identical file.

* CSV: UTF-8 without byte-order mark, comma-separated, ``\\n`` line ends, canonical value texts
  (:func:`~sapa.ingest._values.format_text`), empty cell for ``NULL``.
* XLSX: one sheet named after the entity, header row, typed cells (numbers as numbers, dates as
  dates, text always as text so codes keep their leading zeros).
* Parquet: one typed column per field (text, int64, float64, decimal, bool, date32, timestamp).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import enum
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from sapa._files import atomic_destination
from sapa.errors import StoreError
from sapa.ingest._readers import FORMATS
from sapa.ingest._schema import EntitySchema, FieldSpec, entity_schemas
from sapa.ingest._values import format_text

__all__ = ["export_all", "export_entity", "fetch_rows", "file_layout_select"]

_FIXED_TIMESTAMP = dt.datetime(2000, 1, 1)


def file_layout_select(schema: EntitySchema) -> Any:
    """SELECT of an entity's file columns, references resolved to the targets' codes."""
    table = schema.table
    selected = []
    joined: Any = table
    for spec in schema.fields:
        if spec.target is None:
            selected.append(table.c[spec.column].label(spec.name))
            continue
        target = entity_schemas()[spec.target].table.alias(f"ref_{spec.column}")
        joined = joined.outerjoin(target, table.c[spec.column] == target.c.id)
        selected.append(target.c.code.label(spec.name))
    return select(*selected).select_from(joined)


def fetch_rows(connection: Connection, schema: EntitySchema) -> list[list[Any]]:
    """All rows of an entity as file values (references as codes), sorted by natural key."""
    rows = [list(row) for row in connection.execute(file_layout_select(schema))]
    positions = [schema.field_names.index(name) for name in schema.natural_key]
    rows.sort(key=lambda row: [(False, 0) if row[i] is None else (True, row[i]) for i in positions])
    return rows


def _cell(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _write_csv(path: Path, schema: EntitySchema, rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(schema.field_names)
        writer.writerows([format_text(value) for value in row] for row in rows)


def _write_xlsx(path: Path, schema: EntitySchema, rows: list[list[Any]]) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    workbook.set_properties({"created": _FIXED_TIMESTAMP})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet = workbook.add_worksheet(schema.name[:31])
    for column, name in enumerate(schema.field_names):
        sheet.write_string(0, column, name)
    for row_index, row in enumerate(rows, start=1):
        for column, (spec, value) in enumerate(zip(schema.fields, row, strict=True)):
            _write_xlsx_cell(sheet, row_index, column, spec, value, date_format, datetime_format)
    sheet.freeze_panes(1, 0)
    workbook.close()


def _write_xlsx_cell(
    sheet: Any, row: int, column: int, spec: FieldSpec, value: Any, date_fmt: Any, datetime_fmt: Any
) -> None:
    if value is None:
        return
    if spec.kind in ("int", "float"):
        sheet.write_number(row, column, value)
    elif spec.kind == "bool":
        sheet.write_boolean(row, column, value)
    elif spec.kind == "datetime":
        sheet.write_datetime(row, column, value, datetime_fmt)
    elif spec.kind == "date":
        sheet.write_datetime(row, column, dt.datetime.combine(value, dt.time()), date_fmt)
    else:
        sheet.write_string(row, column, format_text(value))


def _arrow_type(spec: FieldSpec) -> Any:
    import pyarrow as pa

    types = {
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("us"),
    }
    return types.get(spec.kind, pa.string())


def _write_parquet(path: Path, schema: EntitySchema, rows: list[list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema.fields]
    arrays = []
    for spec, values in zip(schema.fields, columns, strict=True):
        cells = [str(v) if isinstance(v, decimal.Decimal) else _cell(v) for v in values]
        arrays.append(pa.array(cells, type=_arrow_type(spec)))
    pq.write_table(pa.Table.from_arrays(arrays, names=list(schema.field_names)), path)


_WRITERS = {"csv": _write_csv, "xlsx": _write_xlsx, "parquet": _write_parquet}


def export_entity(engine: Engine, entity: str, directory: str | Path, fmt: str = "csv") -> Path:
    """Write one entity to ``<directory>/<entity>.<fmt>`` in the import format.

    Parameters
    ----------
    engine : Engine
        The database.
    entity : str
        Table name (``region``, ``district`` …).
    directory : str or Path
        Output folder, created when missing.
    fmt : {'csv', 'xlsx', 'parquet'}
        File format.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        Unknown entity or format.
    StoreError
        The database could not be read.
    """
    schemas = entity_schemas()
    if entity not in schemas:
        raise ValueError(f"Unknown entity {entity!r}; known: {', '.join(schemas)}")
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    schema = schemas[entity]
    try:
        with engine.connect() as connection:
            rows = fetch_rows(connection, schema)
    except SQLAlchemyError as exc:
        raise StoreError(f"Cannot read {entity} from {engine.url!r}: {exc}") from exc
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{entity}.{fmt}"
    with atomic_destination(path) as temporary:
        _WRITERS[fmt](temporary, schema, rows)
    return path


def export_all(engine: Engine, directory: str | Path, fmt: str = "csv") -> Sequence[Path]:
    """Export every entity (dependency order) to ``directory``; returns the files written."""
    return [export_entity(engine, name, directory, fmt) for name in entity_schemas()]


def read_entity(engine: Engine, entity: str) -> pd.DataFrame:
    """An entity's rows as a DataFrame in file layout: the columns of its file, references as
    codes, vocabulary values as text, rows sorted by natural key (what analyses read)."""
    schema = entity_schemas()[entity]
    statement = file_layout_select(schema)
    order = {column.name: column for column in statement.selected_columns}
    statement = statement.order_by(
        *(order[name].asc().nulls_first() for name in schema.natural_key)
    )
    try:
        with engine.connect() as connection:
            result = connection.execute(statement)
            frame = pd.DataFrame(result.fetchall(), columns=list(schema.field_names))
    except SQLAlchemyError as exc:
        raise StoreError(f"Cannot read {entity} from {engine.url!r}: {exc}") from exc
    for spec in schema.fields:
        if spec.enum_class is not None:
            frame[spec.name] = frame[spec.name].map(_cell)
    return frame
