"""The catering-inspection workflow: findings recorded as inspections, the 30-day remedy, its
confirmation by a follow-up inspection, and escalation only once the remedy is overdue."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Connection, Engine, select

from conftest import TODAY, actor
from sapa.domain.organizations import Organization
from sapa.domain.welfare import CateringInspection
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, open_case
from sapa.workflows.meals_inspection import REMEDY_DAYS

MEALS_INSPECTION = WORKFLOWS["meals_inspection"]
PLANNED = dt.date(2025, 5, 27)
REMEDY_BY = TODAY + dt.timedelta(days=REMEDY_DAYS)


def _schedule(connection: Connection):
    given = {
        "organization_code": "SCH-11-003",
        "inspector": "sanitary_epidemiological",
        "due_on": PLANNED.isoformat(),
    }
    return open_case(connection, MEALS_INSPECTION, actor("district"), given, today=TODAY)


def _findings(connection: Connection, case, violations: int):
    given = {"violations_count": violations, "findings": "Кухонный инвентарь без маркировки."}
    return act(connection, case, "record_findings", actor("district"), given, today=TODAY)


def _inspections(connection: Connection) -> list[tuple]:
    """The inspections of the school, oldest first."""
    rows = connection.execute(
        select(
            CateringInspection.inspected_on,
            CateringInspection.inspector,
            CateringInspection.violations_count,
            CateringInspection.findings,
        )
        .join(Organization, CateringInspection.organization_id == Organization.id)
        .where(Organization.code == "SCH-11-003")
        .order_by(CateringInspection.inspected_on)
    )
    return [(row[0], str(row[1]), row[2], row[3]) for row in rows]


def test_an_inspection_without_violations_closes_the_case(sample: Engine) -> None:
    with sample.begin() as connection:
        before = _inspections(connection)
        case = act(
            connection,
            _schedule(connection),
            "record_findings",
            actor("region"),
            {"violations_count": 0, "findings": "Нарушений не выявлено."},
            today=TODAY,
        )
        assert case.state == "clear" and case.closed_on == TODAY and case.due_on is None
        assert _inspections(connection) == [
            *before,
            (TODAY, "sanitary_epidemiological", 0, "Нарушений не выявлено."),
        ]


def test_violations_are_remedied_and_confirmed_by_a_follow_up(sample: Engine) -> None:
    confirmed_on = TODAY + dt.timedelta(days=20)
    with sample.begin() as connection:
        case = _schedule(connection)
        assert case.due_on == PLANNED
        case = _findings(connection, case, 3)
        assert case.state == "remedy" and case.due_on == REMEDY_BY
        assert case.values["inspected_on"] == TODAY.isoformat()
        case = act(
            connection,
            case,
            "confirm_remedied",
            actor("district"),
            {"follow_up": "Инвентарь промаркирован."},
            today=confirmed_on,
        )
        assert case.state == "remedied" and case.closed_on == confirmed_on
        inspections = _inspections(connection)[-2:]
        steps = history(connection, case)
    assert inspections == [
        (TODAY, "sanitary_epidemiological", 3, "Кухонный инвентарь без маркировки."),
        (confirmed_on, "sanitary_epidemiological", 0, "Инвентарь промаркирован."),
    ]
    assert [step["action"] for step in steps] == ["schedule", "record_findings", "confirm_remedied"]


def test_an_overdue_remedy_is_escalated_and_then_confirmed(sample: Engine) -> None:
    late = REMEDY_BY + dt.timedelta(days=1)
    with sample.begin() as connection:
        case = _findings(connection, _schedule(connection), 2)
        assert not case.overdue(REMEDY_BY) and case.overdue(late)
    assert_refused(
        sample,
        case.code,
        "escalate",
        "district",
        {"escalated_to": "regional_department"},
        StepRefused,
        f"The remedy is due by {REMEDY_BY}; it can be escalated only after that date",
        tables=[CateringInspection],
        today=REMEDY_BY,
    )
    with sample.begin() as connection:
        case = act(
            connection,
            case,
            "escalate",
            actor("region"),
            {"escalated_to": "sanitary_epidemiological"},
            today=late,
        )
        assert case.state == "escalated" and case.due_on == late + dt.timedelta(days=REMEDY_DAYS)
        case = act(
            connection,
            case,
            "confirm_remedied",
            actor("region"),
            {"follow_up": "Устранено."},
            today=late,
        )
    assert case.state == "remedied" and case.closed_on == late


def test_an_inspection_not_held_by_its_planned_date_is_overdue(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _schedule(connection)
    assert not case.overdue(PLANNED)
    assert case.overdue(PLANNED + dt.timedelta(days=1))


@pytest.mark.parametrize(
    ("action", "role", "given", "error", "message"),
    [
        (
            "record_findings",
            "school",
            {"violations_count": 0, "findings": "-"},
            AccessDeniedError,
            "school accounts may not take",
        ),
        (
            "record_findings",
            "district",
            {"violations_count": -1, "findings": "-"},
            DataValidationError,
            "below the minimum 0",
        ),
        (
            "confirm_remedied",
            "district",
            {"follow_up": "-"},
            StepRefused,
            "can be taken only when it is violations being remedied, escalated",
        ),
        (
            "record_findings",
            "district",
            {"violations_count": 2},
            DataValidationError,
            "a value is required",
        ),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine, action: str, role: str, given: dict, error: type, message: str
) -> None:
    with sample.begin() as connection:
        code = _schedule(connection).code
    assert_refused(sample, code, action, role, given, error, message, tables=[CateringInspection])


def test_a_second_inspection_by_the_same_body_on_the_same_day_is_refused(sample: Engine) -> None:
    with sample.begin() as connection:
        _findings(connection, _schedule(connection), 0)
        code = _schedule(connection).code
    assert_refused(
        sample,
        code,
        "record_findings",
        "district",
        {"violations_count": 1, "findings": "-"},
        StepRefused,
        f"An inspection of SCH-11-003 by the sanitary epidemiological on {TODAY} is already",
        tables=[CateringInspection],
    )


def test_a_planned_date_in_the_past_is_refused(sample: Engine) -> None:
    with (
        pytest.raises(StepRefused, match="The planned date 2025-05-01 is in the past"),
        sample.begin() as connection,
    ):
        open_case(
            connection,
            MEALS_INSPECTION,
            actor("district"),
            {"organization_code": "SCH-11-003", "inspector": "other", "due_on": "2025-05-01"},
            today=TODAY,
        )


def test_a_remedy_confirmed_during_the_visit_adds_no_second_inspection(sample: Engine) -> None:
    with sample.begin() as connection:
        before = _inspections(connection)
        case = _findings(connection, _schedule(connection), 1)
        case = act(
            connection,
            case,
            "confirm_remedied",
            actor("district"),
            {"follow_up": "Marked during the visit."},
            today=TODAY,
        )
        assert case.state == "remedied"
        added = _inspections(connection)[len(before) :]
    assert [(day, violations) for day, _, violations, _ in added] == [(TODAY, 1)]
