"""examples/sample: one CSV per table in the file format, loadable into the schema as is.

File format (sapa.domain._base): UTF-8 CSV, header of column names without ``id``, foreign keys as
``<target>_code`` (or the column's ``info['target_code']``), empty cell = missing, booleans
``true``/``false``, dates ISO 8601.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, func, select

from sapa.domain import entities
from sapa.domain.diagram import file_column
from sapa.domain.identifiers import bin_problem, iin_problem, iin_sex

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"
REGIONS = Path(__file__).resolve().parents[2] / "src" / "sapa" / "data" / "kz_regions.csv"
Reader = Callable[[str], tuple[list[str], list[dict[str, str]]]]
TABLES = [entity.__table__ for entity in entities()]


def _expected_header(table: Table) -> list[str]:
    return [file_column(column) for column in table.columns if column.name != "id"]


def test_one_file_per_table_and_nothing_else() -> None:
    assert sorted(p.stem for p in SAMPLE.glob("*")) == sorted(t.name for t in TABLES)


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_header_is_the_file_format_and_rows_are_few_but_present(
    table: Table, sample_reader: Reader
) -> None:
    header, rows = sample_reader(table.name)
    assert header == _expected_header(table)
    assert 2 <= len(rows) <= 40


def test_region_file_holds_all_twenty_regions(sample_reader: Reader) -> None:
    with open(REGIONS, encoding="utf-8", newline="") as stream:
        reference = {row["iso_code"]: row for row in csv.DictReader(stream)}
    _, rows = sample_reader("region")
    assert {row["code"] for row in rows} == set(reference)
    assert len(rows) == 20
    for row in rows:
        assert row["name_kk"] == reference[row["code"]]["name_kk"]


def test_identifiers_are_valid_and_match_recorded_sex(sample_reader: Reader) -> None:
    for name in ("student", "teacher"):
        _, rows = sample_reader(name)
        iins = [row for row in rows if row["iin"]]
        assert iins, f"no IINs in {name}.csv"
        for row in iins:
            assert iin_problem(row["iin"]) is None
            assert iin_sex(row["iin"]) == row["sex"]
            assert row["iin"][:2] == row["birth_year"][2:]
    _, organizations = sample_reader("organization")
    bins = [row["bin"] for row in organizations if row["bin"]]
    assert bins and all(bin_problem(value) is None for value in bins)


def test_sample_loads_into_the_schema_with_every_constraint(sample_engine: Engine) -> None:
    """Rows resolve their references by code and satisfy every check, unique and FK rule."""
    with sample_engine.connect() as connection:
        counts = {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in TABLES
        }
    assert all(count >= 2 for count in counts.values())
    assert counts["region"] == 20
