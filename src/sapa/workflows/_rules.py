"""Rules several workflows share: dates that must lie ahead, texts their records keep in a few
characters, rules taken together, and deadlines counted in working days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sapa.workflows._engine import Rule

__all__ = ["add_working_days", "all_of", "at_most", "not_past"]


def not_past(name: str, what: str) -> Rule:
    """A rule refusing a ``name`` date before today (a planned date, a deadline); an optional
    date left empty passes."""

    def rule(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> str | None:
        day = given.get(name)
        if day is not None and day < today:
            return f"The {what} {day} is in the past."
        return None

    return rule


def at_most(name: str, length: int, what: str) -> Rule:
    """A rule refusing a ``name`` text longer than the ``length`` its record keeps."""

    def rule(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> str | None:
        if len(given.get(name) or "") > length:
            return f"The {what} is kept in at most {length} characters."
        return None

    return rule


def all_of(*rules: Rule) -> Rule:
    """The rules in order: the first refusal, or ``None`` if every rule passes."""

    def rule(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> str | None:
        return next((r for r in (each(values, given, today) for each in rules) if r), None)

    return rule


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days (Monday to Friday) after ``start``. Public holidays are
    not counted out: the system keeps no holiday calendar, so a deadline over a holiday falls
    a day or two early, never late."""
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day
