"""Pieces several workflows share: role sets, the fields naming a case's subject, the monthly
calculation index awards and allowances are set in, and the look-ups of a teacher and a school."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from sapa.domain.access import Role
from sapa.domain.geography import District, Region, Settlement
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher
from sapa.workflows._engine import Field, StepRefused

__all__ = [
    "DEPARTMENTS",
    "LOCAL",
    "MINISTRY",
    "MRP_TENGE",
    "employed_on",
    "mrp_tenge",
    "organization_field",
    "region_field",
    "teacher_field",
    "teacher_record",
    "with_place",
    "years_after",
]

LOCAL = frozenset({Role.SCHOOL, Role.DISTRICT, Role.REGION})
"""A school and the departments above it."""
DEPARTMENTS = frozenset({Role.DISTRICT, Role.REGION})
"""The district and regional education departments (commissions, inspectors, approvers)."""
MINISTRY = frozenset({Role.MINISTRY})


def teacher_field(label: str = "Teacher") -> Field:
    return Field("teacher_code", label, kind="code", entity="teacher")


def organization_field(label: str = "School") -> Field:
    return Field("organization_code", label, kind="code", entity="organization")


def region_field(label: str = "Region") -> Field:
    return Field("region_code", label, kind="code", entity="region")


MRP_TENGE = {2024: 3692, 2025: 3932, 2026: 4325}
"""The monthly calculation index (МРП) in tenge by year, as the republican budget laws set it.
Awards, allowances and loans are fixed in MRP and paid at the index of the year they are paid."""


def mrp_tenge(multiple: int, year: int) -> int:
    """``multiple`` MRP in tenge at the index of ``year``; refused for a year with no index."""
    if year not in MRP_TENGE:
        raise StepRefused(
            f"The monthly calculation index of {year} is not known (known: "
            f"{', '.join(str(known) for known in sorted(MRP_TENGE))}); the amount cannot be set."
        )
    return multiple * MRP_TENGE[year]


def years_after(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (or earlier, if negative); 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def employed_on(day: dt.date) -> ColumnElement[bool]:
    """A pedagogue in post on ``day``: hired on or before it (or with no hire date) and not gone
    (no leaving date, or a later one) — the workforce indicators' definition."""
    return and_(
        or_(Teacher.hired_on.is_(None), Teacher.hired_on <= day),
        or_(Teacher.left_on.is_(None), Teacher.left_on > day),
    )


def teacher_record(connection: Connection, teacher_id: int, today: dt.date) -> Row:
    """What the rules need of a teacher: code, post, experience, school, young-specialist status
    and whether in post ``today``."""
    return connection.execute(
        select(
            Teacher.code,
            Teacher.position,
            Teacher.experience_years,
            Teacher.organization_id,
            Teacher.young_specialist,
            employed_on(today).label("employed"),
        ).where(Teacher.id == teacher_id)
    ).one()


def with_place(statement: Select, organization_id: InstrumentedAttribute[int]) -> Select:
    """``statement`` joined from ``organization_id`` to the school, its settlement, district and
    region (for their codes, the settlement's locality and filters by level)."""
    return (
        statement.join(Organization, organization_id == Organization.id)
        .join(Settlement, Organization.settlement_id == Settlement.id)
        .join(District, Settlement.district_id == District.id)
        .join(Region, District.region_id == Region.id)
    )
