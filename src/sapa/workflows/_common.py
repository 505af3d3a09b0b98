"""Pieces several workflows share: role sets and the fields naming a case's subject."""

from __future__ import annotations

from sapa.domain.access import Role
from sapa.workflows._engine import Field

__all__ = [
    "DEPARTMENTS",
    "LOCAL",
    "MINISTRY",
    "organization_field",
    "region_field",
    "teacher_field",
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
