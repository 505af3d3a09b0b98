"""Every entity follows the conventions of ``sapa.domain._base`` that import/export and docs use."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Engine, Enum, Table, UniqueConstraint, inspect

import sapa.domain
from sapa.domain import ENTITY_MODULES, Base, BINType, IINType, entities

ENTITIES = entities()
TABLES = [entity.__table__ for entity in ENTITIES]
REFERENCED = {fk.column.table.name for table in TABLES for fk in table.foreign_keys}


def _table_name(table: Table) -> str:
    return table.name


def test_every_entity_module_is_registered() -> None:
    modules = {entity.__module__ for entity in ENTITIES}
    assert modules == {module.__name__ for module in ENTITY_MODULES}
    application_tables = {
        table for table in Base.metadata.tables if table not in {t.name for t in TABLES}
    }
    assert application_tables == {"user_account", "login_session", "login_attempt", "audit_event"}


def test_public_names() -> None:
    assert set(sapa.domain.__all__) == {"Base", "BINType", "ENTITY_MODULES", "IINType", "entities"}


def test_referenced_entities_come_before_those_that_reference_them() -> None:
    position = {table.name: i for i, table in enumerate(TABLES)}
    for table in TABLES:
        for fk in table.foreign_keys:
            if fk.column.table is not table:
                assert position[fk.column.table.name] < position[table.name]


@pytest.mark.parametrize("entity", ENTITIES, ids=[entity.__name__ for entity in ENTITIES])
def test_natural_key_exists_and_is_unique(entity: type[Base]) -> None:
    key = entity.__natural_key__
    table: Table = entity.__table__
    assert key and len(set(key)) == len(key)
    assert set(key) <= set(table.columns.keys()) - {"id"}
    assert all(not table.columns[name].nullable for name in key)
    unique_sets = {
        frozenset(c.name for c in constraint.columns)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    } | {frozenset([c.name]) for c in table.columns if c.unique}
    assert frozenset(key) in unique_sets


@pytest.mark.parametrize("table", [t for t in TABLES if t.name in REFERENCED], ids=_table_name)
def test_referenced_entities_have_a_code_natural_key(table: Table) -> None:
    entity = next(e for e in ENTITIES if e.__table__ is table)
    assert entity.__natural_key__ == ("code",)


@pytest.mark.parametrize("table", TABLES, ids=_table_name)
def test_every_column_has_a_comment(table: Table) -> None:
    missing = [column.name for column in table.columns if not (column.comment or "").strip()]
    assert missing == []


@pytest.mark.parametrize("table", TABLES, ids=_table_name)
def test_every_entity_has_a_docstring(table: Table) -> None:
    entity = next(e for e in ENTITIES if e.__table__ is table)
    assert entity.__doc__ and entity.__doc__.strip()


def _file_column(column: Column) -> str:
    (fk,) = column.foreign_keys
    return column.info.get("target_code", f"{fk.column.table.name}_code")


@pytest.mark.parametrize("table", TABLES, ids=_table_name)
def test_foreign_keys_follow_the_naming_rule(table: Table) -> None:
    """``<target>_id`` → ``<target>_code`` in files; otherwise ``info['target_code']`` says."""
    file_columns = []
    for column in table.columns:
        if not column.foreign_keys:
            assert not column.name.endswith("_id") or column.name == "id", column.name
            file_columns.append(column.name)
            continue
        (fk,) = column.foreign_keys
        target = fk.column.table.name
        assert fk.column.name == "id"
        assert column.index, f"{table.name}.{column.name} is not indexed"
        if column.name != f"{target}_id":
            code = column.info.get("target_code", "")
            assert code.endswith("_code") and code.removesuffix("_code") + "_id" == column.name
        file_columns.append(_file_column(column))
    assert len(file_columns) == len(set(file_columns)), "two columns map to one file column"


def test_target_code_exceptions_are_rare() -> None:
    exceptions = [
        f"{table.name}.{column.name}"
        for table in TABLES
        for column in table.columns
        if "target_code" in column.info
    ]
    assert exceptions == ["young_specialist_support.mentor_id"]


ENUM_COLUMNS = [
    column for table in TABLES for column in table.columns if isinstance(column.type, Enum)
]


@pytest.mark.parametrize("column", ENUM_COLUMNS, ids=[str(c) for c in ENUM_COLUMNS])
def test_enum_columns_are_portable_checked_strings(column: Column) -> None:
    assert column.type.native_enum is False
    assert column.type.create_constraint is True
    assert column.type.enum_class is not None
    assert column.type.enums == [member.value for member in column.type.enum_class]


def test_enum_columns_are_checked_in_the_database(engine: Engine) -> None:
    """The migrated schema carries a CHECK for every enum column, listing its values."""
    inspector = inspect(engine)
    for column in ENUM_COLUMNS:
        checks = " ".join(c["sqltext"] for c in inspector.get_check_constraints(column.table.name))
        assert column.name in checks, f"{column} has no check"
        assert all(f"'{value}'" in checks for value in column.type.enums), column


@pytest.mark.parametrize(
    ("name", "type_"), [("iin", IINType), ("bin", BINType)], ids=["iin", "bin"]
)
def test_identifier_columns_use_checked_types(name: str, type_: type) -> None:
    columns = [table.columns[name] for table in TABLES if name in table.columns]
    assert columns
    for column in columns:
        assert isinstance(column.type, type_)
        assert column.unique and column.nullable
