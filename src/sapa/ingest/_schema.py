"""File schemas derived from the SQLAlchemy metadata: one :class:`EntitySchema` per entity.

Nothing here is written per entity. The conventions of :mod:`sapa.domain._base` decide the file
layout: the surrogate ``id`` never appears; a foreign key ``<target>_id`` appears as
``<target>_code`` holding the target's ``code`` (or the name in ``info["target_code"]``); every
other column keeps its name. Simple CHECK constraints of the form ``column <op> number`` (joined by
``AND``, or ``column BETWEEN a AND b``) become ranges the importer tests before writing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import cast

from sqlalchemy import CheckConstraint, Column, Enum, Table, UniqueConstraint

from sapa.domain import Base, BINType, IINType, entities
from sapa.ingest._values import format_text

__all__ = ["EntitySchema", "FieldSpec", "Range", "entity_schema", "entity_schemas"]

_COMPARISON = re.compile(r"^\(?\s*\"?(\w+)\"?\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*\)?$")
_COLUMN_COMPARISON = re.compile(
    r"^\(?\s*\"?([A-Za-z_]\w*)\"?\s*(>=|<=|>|<)\s*\"?([A-Za-z_]\w*)\"?\s*\)?$"
)
_BETWEEN = re.compile(
    r"^\(?\s*\"?(\w+)\"?\s+BETWEEN\s+(-?\d+(?:\.\d+)?)\s+AND\s+(-?\d+(?:\.\d+)?)\s*\)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Range:
    """Bounds a number must respect; ``None`` means unbounded on that side."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def problem(self, value: float | decimal.Decimal) -> str | None:
        """Why ``value`` is outside the range, or ``None`` when it is inside."""
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return f"must be {self}; got {value}"
        if self.high is not None and (
            value > self.high or (value == self.high and not self.high_inclusive)
        ):
            return f"must be {self}; got {value}"
        return None

    def merge(self, other: Range) -> Range:
        """The intersection of two ranges (constraints joined by AND)."""
        low, low_inclusive = self.low, self.low_inclusive
        if other.low is not None and (low is None or other.low >= low):
            low, low_inclusive = other.low, other.low_inclusive
        high, high_inclusive = self.high, self.high_inclusive
        if other.high is not None and (high is None or other.high <= high):
            high, high_inclusive = other.high, other.high_inclusive
        return Range(low, high, low_inclusive, high_inclusive)

    def __str__(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'≥' if self.low_inclusive else '>'} {_number(self.low)}")
        if self.high is not None:
            parts.append(f"{'≤' if self.high_inclusive else '<'} {_number(self.high)}")
        return " and ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class FieldSpec:
    """One column of an entity's file.

    Attributes
    ----------
    name : str
        Column name in the file (``region_code`` for the database column ``region_id``).
    column : str
        Database column name.
    kind : str
        Value kind: ``str``, ``int``, ``float``, ``decimal``, ``bool``, ``date``, ``datetime``,
        ``enum``, ``IIN``, ``BIN`` or ``code`` (a reference to another entity's ``code``).
    required : bool
        The file must have this column and every row a value (``NOT NULL`` without a default).
    nullable : bool
        The database accepts an empty value.
    has_default : bool
        The database fills an empty value in on insert.
    description : str
        The column's ``comment``.
    allowed : tuple of str
        The closed vocabulary of an ``enum`` field (empty otherwise).
    enum_class : type or None
        The :class:`enum.StrEnum` of an ``enum`` field.
    max_length : int or None
        Longest accepted text, from ``String(n)``.
    range : Range or None
        Numeric bounds from simple CHECK constraints.
    target : str or None
        Referenced table of a ``code`` field.
    default : str or None
        Text of the value an empty cell takes on insert, when the default is a constant.
    identifier_problem : callable or None
        The IIN/BIN type's ``problem`` method.
    """

    name: str
    column: str
    kind: str
    required: bool
    nullable: bool
    has_default: bool
    description: str
    allowed: tuple[str, ...] = ()
    enum_class: type[enum.Enum] | None = None
    max_length: int | None = None
    range: Range | None = None
    target: str | None = None
    default: str | None = None
    identifier_problem: Callable[[str], str | None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class EntitySchema:
    """The file layout of one entity: its table, columns and natural key (file names).

    ``unique_sets`` are the natural key and every declared unique column set; ``comparisons``
    are CHECK constraints between two columns, ``(left, operator, right)`` such as
    ``("left_on", ">=", "hired_on")``. All names are file column names.
    """

    entity: type[Base]
    table: Table
    fields: tuple[FieldSpec, ...]
    natural_key: tuple[str, ...]
    unique_sets: tuple[tuple[str, ...], ...]
    comparisons: tuple[tuple[str, str, str], ...] = ()

    @property
    def name(self) -> str:
        """The table name, which is also the file stem (``region.csv``)."""
        return self.table.name

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        """The field whose file column is ``name``."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _value_kind(column: Column[object]) -> tuple[str, type[enum.Enum] | None]:
    column_type = column.type
    if isinstance(column_type, IINType):
        return "IIN", None
    if isinstance(column_type, BINType):
        return "BIN", None
    if isinstance(column_type, Enum):
        return "enum", column_type.enum_class
    python_type = column_type.python_type
    kinds: dict[type, str] = {
        bool: "bool",
        int: "int",
        float: "float",
        decimal.Decimal: "decimal",
        str: "str",
        dt.datetime: "datetime",
        dt.date: "date",
    }
    if python_type not in kinds:
        raise TypeError(
            f"Column {column.table.name}.{column.name} has type {column_type!r}, which files "
            "cannot carry; supported: text, integer, float, numeric, boolean, date, datetime, "
            "enum, IIN, BIN"
        )
    return kinds[python_type], None


def _check_ranges(table: Table) -> dict[str, Range]:
    """Numeric ranges from simple CHECK constraints (others are left to the database)."""
    ranges: dict[str, Range] = {}
    for constraint in table.constraints:
        if not isinstance(constraint, CheckConstraint):
            continue
        text = str(constraint.sqltext).strip()
        clauses = [text] if _BETWEEN.match(text) else re.split(r"\s+AND\s+", text, flags=re.I)
        for clause in clauses:
            parsed = _parse_clause(clause.strip())
            if parsed is not None:
                name, bound = parsed
                ranges[name] = ranges[name].merge(bound) if name in ranges else bound
    return ranges


def _parse_clause(clause: str) -> tuple[str, Range] | None:
    between = _BETWEEN.match(clause)
    if between:
        name, low, high = between.groups()
        return name, Range(float(low), float(high))
    comparison = _COMPARISON.match(clause)
    if not comparison:
        return None
    name, operator, number = comparison.groups()
    value = float(number)
    if operator in (">=", ">"):
        return name, Range(low=value, low_inclusive=operator == ">=")
    return name, Range(high=value, high_inclusive=operator == "<=")


def _column_comparisons(table: Table) -> list[tuple[str, str, str]]:
    """CHECK constraints comparing two columns of ``table`` (``later >= earlier``)."""
    found: list[tuple[str, str, str]] = []
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            match = _COLUMN_COMPARISON.match(str(constraint.sqltext).strip())
            if match and match.group(1) in table.c and match.group(3) in table.c:
                found.append((match[1], match[2], match[3]))
    return found


def _file_name(column: Column[object]) -> str:
    if column.foreign_keys:
        return str(column.info.get("target_code") or column.name.removesuffix("_id") + "_code")
    return column.name


def _field(column: Column[object], ranges: dict[str, Range]) -> FieldSpec:
    has_default = column.default is not None or column.server_default is not None
    constant = getattr(column.default, "arg", None) if column.default is not None else None
    base = FieldSpec(
        name=_file_name(column),
        column=column.name,
        kind="code",
        required=not column.nullable and not has_default,
        nullable=bool(column.nullable),
        has_default=has_default,
        description=column.comment or "",
        default=None if constant is None or callable(constant) else format_text(constant),
    )
    if column.foreign_keys:
        (foreign_key,) = column.foreign_keys
        return replace(base, target=foreign_key.column.table.name)
    kind, enum_class = _value_kind(column)
    identifier = kind in ("IIN", "BIN")
    return replace(
        base,
        kind=kind,
        allowed=tuple(m.value for m in enum_class) if enum_class else (),
        enum_class=enum_class,
        max_length=getattr(column.type, "length", None) if kind == "str" or identifier else None,
        range=ranges.get(column.name),
        identifier_problem=getattr(column.type, "problem", None) if identifier else None,
    )


@cache
def entity_schema(entity: type[Base]) -> EntitySchema:
    """The file schema of ``entity``, derived from its table and ``__natural_key__``."""
    table = cast(Table, entity.__table__)
    ranges = _check_ranges(table)
    fields = tuple(_field(column, ranges) for column in table.columns if column.name != "id")
    by_column = {f.column: f.name for f in fields}
    mapper_columns = {
        attribute.key: attribute.columns[0].name for attribute in entity.__mapper__.column_attrs
    }
    natural_key = tuple(by_column[mapper_columns[key]] for key in entity.__natural_key__)
    unique_sets = {natural_key}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            unique_sets.add(tuple(by_column[c.name] for c in constraint.columns))
    for column in table.columns:
        if column.unique and column.name != "id":
            unique_sets.add((by_column[column.name],))
    return EntitySchema(
        entity=entity,
        table=table,
        fields=fields,
        natural_key=natural_key,
        unique_sets=tuple(sorted(unique_sets, key=lambda s: (s != natural_key, s))),
        comparisons=tuple(
            (by_column[left], operator, by_column[right])
            for left, operator, right in _column_comparisons(table)
        ),
    )


def entity_schemas() -> dict[str, EntitySchema]:
    """Every entity's schema keyed by table name, in dependency order (referenced first)."""
    return {schema.name: schema for schema in map(entity_schema, entities())}
