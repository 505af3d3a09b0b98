"""Declarative base and the conventions every entity of the data model follows.

Conventions (the import/export layer and the documentation generator rely on them):

* Every table has an integer surrogate primary key ``id`` that never leaves the database.
* Every entity declares ``__natural_key__``: the attribute names that identify a row in the real
  world (an ISO region code, a school code, a teacher's pseudonymous code plus a date…). Imports
  upsert on it, exports sort by it. An entity that other entities reference has a one-column
  natural key called ``code``.
* A foreign key column is named ``<target>_id``; in files it appears as ``<target>_code`` holding
  the target's ``code`` (files never carry surrogate ids). Where that name is impossible (a second
  reference to the same table, e.g. a mentor who is also a teacher) the column's
  ``info["target_code"]`` names the file column instead. Composite natural keys list attribute
  names, so a foreign key in one appears as ``<target>_id`` (``<target>_code`` in files).
* Helpers keep columns uniform: :func:`code_column`, :func:`reference` (indexed foreign key),
  :func:`in_range` and :func:`in_order` (named check constraints).
* Every column carries a ``comment`` (its meaning, units, allowed values); it becomes the
  PostgreSQL column comment and the text of ``docs/data-formats.md``.
* Closed vocabularies are :class:`enum.StrEnum` stored as checked strings
  (``Enum(native_enum=False)``), so SQLite and PostgreSQL behave alike and a new value is a
  migration, not a type change.
* Identifiers with check digits use :class:`IINType` / :class:`BINType`, whose ``problem`` method
  the import layer calls before anything is written.
"""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Enum, ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from sapa.domain.identifiers import bin_problem, iin_problem

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Root of the data model. Subclasses set ``__tablename__`` and ``__natural_key__``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __natural_key__: ClassVar[tuple[str, ...]]
    __file_entity__: ClassVar[bool] = True
    """False for the application's own tables (accounts, sessions, audit), which are never
    imported or exported as files."""

    id: Mapped[int] = mapped_column(primary_key=True, comment="Surrogate key (internal only).")

    def __repr__(self) -> str:
        key = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__natural_key__)
        return f"{type(self).__name__}({key})"


def str_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A portable, checked string column type for a closed vocabulary."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
        length=max(len(m.value) for m in enum_class),
        name=enum_class.__name__.lower(),
    )


class _CheckedIdentifier(TypeDecorator[str]):
    """A 12-digit identifier stored as text, with a check-digit rule the importer applies."""

    impl = String(12)
    cache_ok = True

    def problem(self, value: str) -> str | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        text = str(value)
        reason = self.problem(text)
        if reason:
            raise ValueError(reason)
        return text


class IINType(_CheckedIdentifier):
    """Individual identification number (validated: 12 digits, birth date, mod-11 check digit)."""

    cache_ok = True

    def problem(self, value: str) -> str | None:
        return iin_problem(value)


class BINType(_CheckedIdentifier):
    """Business identification number of a legal entity (validated like the IIN)."""

    cache_ok = True

    def problem(self, value: str) -> str | None:
        return bin_problem(value)


def code_column(length: int, comment: str) -> Any:
    """The one-column natural key ``code`` of an entity other entities reference (unique)."""
    return mapped_column(String(length), unique=True, comment=comment)


def reference(target: str, comment: str, *, target_code: str | None = None) -> Any:
    """An indexed foreign key to ``<target>.id``; nullability follows the ``Mapped`` annotation.

    ``target_code`` names the file column only when the attribute cannot be called
    ``<target>_id`` (a second reference to the same table, such as a mentor who is also a
    teacher); files then carry that column with the target's ``code``.
    """
    info = {"target_code": target_code} if target_code else {}
    return mapped_column(ForeignKey(f"{target}.id"), index=True, comment=comment, info=info)


def in_range(column: str, low: float | None = None, high: float | None = None) -> CheckConstraint:
    """A check that ``column`` lies in ``[low, high]`` (a missing value passes, as in SQL)."""
    bounds = []
    if low is not None:
        bounds.append(f"{column} >= {low}")
    if high is not None:
        bounds.append(f"{column} <= {high}")
    return CheckConstraint(" AND ".join(bounds), name=f"{column}_range")


def in_order(earlier: str, later: str) -> CheckConstraint:
    """A check that date ``later`` is not before ``earlier`` (either may be missing)."""
    return CheckConstraint(f"{later} >= {earlier}", name=f"{earlier}_le_{later}")
