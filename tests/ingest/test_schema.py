"""File schemas derived from the metadata: names, keys, ranges, vocabularies."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from sapa.domain import entities
from sapa.domain.geography import District, Locality, Region, Settlement
from sapa.ingest import FieldSpec, Range, entity_schema, entity_schemas
from sapa.ingest._values import format_text, parse_value


def test_geography_layout() -> None:
    district = entity_schema(District)
    assert district.field_names == ("code", "region_code", "name_en", "name_kk", "name_ru")
    assert district.field("region_code").target == "region"
    assert district.field("region_code").column == "region_id"
    settlement = entity_schema(Settlement)
    assert settlement.field("locality").allowed == ("urban", "rural")
    assert settlement.field("locality").enum_class is Locality
    assert settlement.field("population").required is False
    assert entity_schema(Region).field("name_en").max_length == 100


def test_target_code_override_and_composite_keys() -> None:
    schemas = entity_schemas()
    support = schemas["young_specialist_support"]
    assert support.field("mentor_code").column == "mentor_id"
    assert support.field("mentor_code").target == "teacher"
    assert support.natural_key == ("teacher_code", "starts_on")
    assert schemas["booklet_item"].unique_sets == (
        ("booklet_code", "position"),
        ("booklet_code", "item_code"),
    )


def test_check_constraints_become_ranges_and_comparisons() -> None:
    teacher = entity_schemas()["teacher"]
    assert teacher.field("experience_years").range == Range(0, 60)
    assert teacher.comparisons == (("left_on", ">=", "hired_on"),)
    organization = entity_schemas()["organization"]
    assert organization.field("shifts").range == Range(1, 3)
    assert organization.field("enrolment").range == Range(low=0)
    assert str(organization.field("enrolment").range) == "≥ 0"
    assert organization.field("kind").range is None, "vocabulary checks are not ranges"


@pytest.mark.parametrize("entity", entities(), ids=lambda e: e.__tablename__)
def test_every_entity_has_a_usable_schema(entity: type) -> None:
    schema = entity_schema(entity)
    assert schema.name == entity.__tablename__
    assert "id" not in schema.field_names
    assert set(schema.natural_key) <= set(schema.field_names)
    assert all(spec.description for spec in schema.fields)
    assert all(spec.target in entity_schemas() for spec in schema.fields if spec.target)
    assert list(entity_schemas()).index(schema.name) > max(
        (list(entity_schemas()).index(spec.target) for spec in schema.fields if spec.target),
        default=-1,
    ), "references must come earlier in dependency order"


def _spec(qualified: str) -> FieldSpec:
    entity, field = qualified.split(".")
    return entity_schemas()[entity].field(field)


@pytest.mark.parametrize(
    ("field", "cell", "value"),
    [
        ("settlement.population", "1350000", 1350000),
        ("settlement.population", "12.0", 12),
        ("settlement.population", 12.0, 12),
        ("teacher.experience_years", "7.5", 7.5),
        ("teacher.hired_on", "2024-09-01", dt.date(2024, 9, 1)),
        ("teacher.hired_on", "01.09.2024", dt.date(2024, 9, 1)),
        ("teacher.hired_on", dt.datetime(2024, 9, 1), dt.date(2024, 9, 1)),
        ("teacher.young_specialist", "TRUE", True),
        ("teacher.young_specialist", "0", False),
        ("teacher.young_specialist", "no", False),
        ("teacher.iin", 50315500014, "050315500014"),
        ("meal_provision.cost_per_child_day_tenge", "1250.50", decimal.Decimal("1250.50")),
    ],
)
def test_cells_parse(field: str, cell: object, value: object) -> None:
    assert parse_value(_spec(field), cell) == value


@pytest.mark.parametrize(
    ("field", "cell", "reason"),
    [
        ("settlement.population", "1 350 000", "expected a whole number; got '1 350 000'"),
        ("settlement.population", True, "expected a whole number; got True"),
        ("teacher.experience_years", "7,5", "expected a number with a dot as decimal separator"),
        ("teacher.experience_years", "inf", "expected a finite number; got Infinity"),
        ("teacher.experience_years", "61", "must be ≥ 0 and ≤ 60; got 61.0"),
        ("teacher.hired_on", dt.datetime(2024, 9, 1, 8), "expected a date without a time of day"),
        ("teacher.young_specialist", "maybe", "expected true or false (also 1/0, yes/no)"),
    ],
)
def test_cells_refused(field: str, cell: object, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_value(_spec(field), cell)
    assert str(caught.value).startswith(reason)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (84.0, "84"),
        (0.1, "0.1"),
        (dt.date(2024, 9, 1), "2024-09-01"),
        (Locality.RURAL, "rural"),
        (decimal.Decimal("1250.50"), "1250.50"),
    ],
)
def test_canonical_text(value: object, text: str) -> None:
    assert format_text(value) == text
