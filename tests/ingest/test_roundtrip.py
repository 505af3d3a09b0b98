"""Export writes exactly the import format: import → export → identical file, for every entity."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from ingest_support import GEOGRAPHY, snapshot
from sqlalchemy import Engine, delete

from sapa.domain import Base, entities
from sapa.ingest import (
    FORMATS,
    entity_schema,
    entity_schemas,
    export_all,
    export_entity,
    import_files,
    read_entity,
    read_table,
)
from sapa.ingest._values import is_empty, parse_value

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"


def _wipe(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


def _content(path: Path) -> object:
    """What a file says, independent of container details (XLSX zip timestamps)."""
    if path.suffix == ".xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
        names = workbook.sheetnames
        workbook.close()
        return names, rows
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    return path.read_bytes()


def test_csv_export_is_the_imported_file(
    engine: Engine, geography_dir: Path, tmp_path: Path
) -> None:
    """Files already in canonical form (sorted, canonical values) come back byte for byte."""
    import_files(engine, [geography_dir])
    written = export_all(engine, tmp_path / "out", "csv")
    for name, text in GEOGRAPHY.items():
        assert (tmp_path / "out" / f"{name}.csv").read_text(encoding="utf-8") == text
    assert [p.stem for p in written] == [entity.__tablename__ for entity in entities()]


@pytest.mark.parametrize("fmt", FORMATS)
def test_geography_round_trip(
    engine: Engine, geography_dir: Path, tmp_path: Path, fmt: str
) -> None:
    """Export, empty the database, import the export, export again: the same bytes."""
    import_files(engine, [geography_dir])
    first = export_all(engine, tmp_path / "first", fmt)
    _wipe(engine)
    import_files(engine, [tmp_path / "first"])
    second = export_all(engine, tmp_path / "second", fmt)
    for before, after in zip(first, second, strict=True):
        assert before.read_bytes() == after.read_bytes(), before.name
    export_all(engine, tmp_path / "csv", "csv")
    for name, text in GEOGRAPHY.items():
        assert (tmp_path / "csv" / f"{name}.csv").read_text(encoding="utf-8") == text


def test_xlsx_cells_are_typed(engine: Engine, geography_dir: Path, tmp_path: Path) -> None:
    import_files(engine, [geography_dir])
    path = export_entity(engine, "settlement", tmp_path, "xlsx")
    _, rows = _content(path)
    assert rows[0] == ["code", "district_code", "name", "locality", "population"]
    assert rows[1] == ["S-001", "D-7101", "Astana", "urban", 1350000]
    assert rows[3] == ["S-003", "D-7501", "Talgar", "rural", None]


def test_parquet_columns_are_typed(engine: Engine, geography_dir: Path, tmp_path: Path) -> None:
    import_files(engine, [geography_dir])
    schema = pq.read_schema(export_entity(engine, "settlement", tmp_path, "parquet"))
    assert [str(t) for t in schema.types] == ["string", "string", "string", "string", "int64"]


def test_unknown_entity_or_format(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Unknown entity 'regions'"):
        export_entity(engine, "regions", tmp_path)
    with pytest.raises(ValueError, match="Unknown format 'ods'"):
        export_entity(engine, "region", tmp_path, "ods")


def _closure(entity: type[Base]) -> list[str]:
    """``entity`` and every entity its references lead to (the files its import needs)."""
    names, pending = set(), [entity.__tablename__]
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            schema = entity_schema(next(e for e in entities() if e.__tablename__ == name))
            pending.extend(spec.target for spec in schema.fields if spec.target)
    return sorted(names)


def test_sample_covers_every_entity() -> None:
    assert {p.stem for p in SAMPLE.glob("*.csv")} == {e.__tablename__ for e in entities()}


def _typed_rows(path: Path, entity: str) -> list[tuple[object, ...]]:
    """The rows of a CSV file as typed values (``84`` and ``84.0`` are the same number)."""
    table = read_table(path, entity)
    specs = [entity_schemas()[entity].field(name) for name in table.header]
    return [
        tuple(None if is_empty(c) else parse_value(s, c) for s, c in zip(specs, cells, strict=True))
        for _, cells in table.rows
    ]


def test_whole_sample_exports_what_it_holds(engine: Engine, tmp_path: Path) -> None:
    """One import of the whole directory; each export holds the sample file's rows and header.

    The sample's rows are not all in natural-key order and some numbers are written ``84.0``,
    so rows are compared as multisets of typed values.
    """
    report = import_files(engine, [SAMPLE])
    assert list(report.counts) == [entity.__tablename__ for entity in entities()]
    for path in export_all(engine, tmp_path, "csv"):
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert header == (SAMPLE / path.name).read_text(encoding="utf-8").splitlines()[0]
        exported = _typed_rows(path, path.stem)
        assert Counter(exported) == Counter(_typed_rows(SAMPLE / path.name, path.stem))
        schema = entity_schemas()[path.stem]
        positions = [schema.field_names.index(name) for name in schema.natural_key]
        keys = [
            [(False, 0) if row[i] is None else (True, row[i]) for i in positions]
            for row in exported
        ]
        assert keys == sorted(keys), f"{path.name} is not sorted by its natural key"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("entity", entities(), ids=lambda e: e.__tablename__)
def test_every_entity_round_trips(
    engine: Engine, tmp_path: Path, entity: type[Base], fmt: str
) -> None:
    name = entity.__tablename__
    import_files(engine, [SAMPLE / f"{needed}.csv" for needed in _closure(entity)])
    before = snapshot(engine)
    first = export_entity(engine, name, tmp_path / "first", fmt)
    report = import_files(engine, [first])
    assert report.counts[name].inserted == report.counts[name].updated == 0
    assert report.counts[name].unchanged > 0, f"the sample has no {name} rows"
    assert snapshot(engine) == before
    second = export_entity(engine, name, tmp_path / "second", fmt)
    assert _content(first) == _content(second)


@pytest.mark.parametrize("entity", ["teacher", "category_assignment", "indicator_value"])
def test_read_entity_gives_the_exported_rows_as_a_frame(
    engine: Engine, tmp_path: Path, entity: str
) -> None:
    import_files(engine, [SAMPLE])
    frame = read_entity(engine, entity)
    exported = export_entity(engine, entity, tmp_path, "parquet")
    expected = pd.read_parquet(exported)
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected)
    for column in frame.columns:
        left = frame[column].tolist()
        right = expected[column].tolist()
        assert [None if pd.isna(v) else v for v in left] == [
            None if pd.isna(v) else v for v in right
        ], column
    schema = entity_schemas()[entity]
    for spec in schema.fields:
        if spec.enum_class is not None:
            assert all(type(v) is str for v in frame[spec.name].dropna())
