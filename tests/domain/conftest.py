"""Fixtures for the data-model tests: the sample dataset loaded into a migrated database."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Engine, Enum, select

from sapa.domain import entities
from sapa.domain.diagram import file_column

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"


def read_sample(name: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of ``examples/sample/<name>.csv``."""
    with open(SAMPLE / f"{name}.csv", encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        return list(reader.fieldnames or []), list(reader)


def _parse(column: Column, text: str) -> Any:
    if text == "":
        return None
    if isinstance(column.type, Enum):
        return text
    if isinstance(column.type, Boolean):
        return {"true": True, "false": False}[text]
    python_type = column.type.python_type
    if python_type is dt.date:
        return dt.date.fromisoformat(text)
    if python_type is dt.datetime:
        return dt.datetime.fromisoformat(text)
    if python_type in (int, float, Decimal):
        return python_type(text)
    return text


def load_sample(engine: Engine) -> None:
    """Insert every sample file in dependency order, resolving ``*_code`` references to ids."""
    ids: dict[str, dict[str, int]] = {}
    with engine.begin() as connection:
        for entity in entities():
            table = entity.__table__
            records = []
            for row in read_sample(table.name)[1]:
                record = {}
                for column in table.columns:
                    if column.name == "id":
                        continue
                    text = row[file_column(column)]
                    if column.foreign_keys and text:
                        (foreign_key,) = column.foreign_keys
                        record[column.name] = ids[foreign_key.column.table.name][text]
                    else:
                        record[column.name] = _parse(column, text)
                records.append(record)
            connection.execute(table.insert(), records)
            if "code" in table.columns:
                ids[table.name] = dict(connection.execute(select(table.c.code, table.c.id)).all())


@pytest.fixture
def sample_reader() -> Callable[[str], tuple[list[str], list[dict[str, str]]]]:
    """:func:`read_sample`, for tests (test modules do not import from conftest)."""
    return read_sample


@pytest.fixture
def sample_engine(engine: Engine) -> Engine:
    """A migrated database holding the sample dataset."""
    load_sample(engine)
    return engine
