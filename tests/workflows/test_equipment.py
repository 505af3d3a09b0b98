"""The equipment workflow: a request approved, ordered and delivered becomes an equipped subject
classroom; the building is the school's own; a late delivery is overdue."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Connection, Engine, func, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.infrastructure import Building, SubjectClassroom
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, open_case

EQUIPMENT = WORKFLOWS["equipment"]
DELIVERY = dt.date(2025, 8, 15)


def _request(connection: Connection, **changes: object):
    given = {
        "organization_code": "SCH-11-001",
        "building_code": "B-11-001-1",
        "kind": "chemistry",
        "room": "14",
        "seats": 24,
    }
    return open_case(connection, EQUIPMENT, actor("school"), given | changes, today=TODAY)


def _ordered(connection: Connection, **changes: object):
    case = act(
        connection,
        _request(connection, **changes),
        "approve",
        actor("region"),
        {"amount_tenge": 18_500_000},
        today=TODAY,
    )
    return act(
        connection,
        case,
        "order",
        actor("district"),
        {"supplier": "Bilim Lab LLP", "due_on": DELIVERY.isoformat()},
        today=TODAY,
    )


def _deliver(connection: Connection, case, delivered_on: dt.date):
    return act(
        connection,
        case,
        "deliver",
        actor("school"),
        {"delivered_on": delivered_on.isoformat()},
        today=delivered_on,
    )


def _classroom(connection: Connection, room: str) -> tuple | None:
    row = connection.execute(
        select(SubjectClassroom.kind, SubjectClassroom.equipped_year, SubjectClassroom.seats)
        .join(Building, SubjectClassroom.building_id == Building.id)
        .where(Building.code == "B-11-001-1", SubjectClassroom.room == room)
    ).one_or_none()
    return None if row is None else (str(row[0]), row[1], row[2])


def test_happy_path_records_the_equipped_classroom(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _ordered(connection)
        assert case.state == "ordered" and case.due_on == DELIVERY
        assert _classroom(connection, "14") is None
        case = _deliver(connection, case, DELIVERY - dt.timedelta(days=5))
        assert case.state == "delivered" and case.closed_on is not None and case.due_on is None
        assert case.values["delivered_late"] is False
        assert _classroom(connection, "14") == ("chemistry", 2025, 24)
        steps = history(connection, case)
    assert [step["action"] for step in steps] == ["request", "approve", "order", "deliver"]


def _records(engine: Engine) -> list[int]:
    """Cases and classroom records."""
    with engine.connect() as connection:
        return [
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (WorkflowCase, SubjectClassroom)
        ]


def test_a_room_equipped_again_keeps_its_record_with_the_new_equipment(sample: Engine) -> None:
    classrooms = _records(sample)[1]
    with sample.begin() as connection:
        assert _classroom(connection, "12") == ("biology", 2019, 25)
        _deliver(connection, _ordered(connection, kind="stem", room="12", seats=30), DELIVERY)
        assert _classroom(connection, "12") == ("stem", 2025, 30)
    assert _records(sample)[1] == classrooms


def test_a_rejected_request_equips_nothing(sample: Engine) -> None:
    with sample.begin() as connection:
        case = act(
            connection,
            _request(connection),
            "reject",
            actor("region"),
            {"reason": "Funds committed"},
            today=TODAY,
        )
        assert case.state == "rejected" and case.closed_on == TODAY
        assert _classroom(connection, "14") is None


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (
            {"building_code": "B-11-002-1"},
            StepRefused,
            "Building B-11-002-1 is not a building of school SCH-11-001",
        ),
        ({"building_code": "B-99"}, DataValidationError, "no building 'B-99'"),
        ({"room": "Laboratory of chemistry"}, StepRefused, "at most 20 characters"),
        ({"kind": "astronomy"}, DataValidationError, "'astronomy' is not one of"),
        ({"seats": 0}, DataValidationError, "below the minimum 1"),
    ],
)
def test_an_invalid_request_opens_nothing(
    sample: Engine, changes: dict, error: type, message: str
) -> None:
    before = _records(sample)
    with pytest.raises(error, match=message), sample.begin() as connection:
        _request(connection, **changes)
    assert _records(sample) == before


@pytest.mark.parametrize(
    ("action", "role", "given", "error", "message"),
    [
        ("approve", "district", {"amount_tenge": 1}, AccessDeniedError, "may not take"),
        (
            "deliver",
            "school",
            {"delivered_on": "2025-05-19"},
            StepRefused,
            "can be taken only when it is ordered",
        ),
        ("approve", "region", {"amount_tenge": 0}, DataValidationError, "below the minimum"),
    ],
)
def test_invalid_steps_on_a_request_change_nothing(
    sample: Engine, action: str, role: str, given: dict, error: type, message: str
) -> None:
    with sample.begin() as connection:
        code = _request(connection).code
    assert_refused(sample, code, action, role, given, error, message, tables=[SubjectClassroom])


def test_dates_off_the_calendar_are_refused_and_change_nothing(sample: Engine) -> None:
    with sample.begin() as connection:
        case = act(
            connection,
            _request(connection),
            "approve",
            actor("region"),
            {"amount_tenge": 1},
            today=TODAY,
        )
    past = {"supplier": "X", "due_on": "2025-05-01"}
    assert_refused(
        sample, case.code, "order", "district", past, StepRefused, "2025-05-01 is in the past"
    )
    with sample.begin() as connection:
        code = _ordered(connection).code
    assert_refused(
        sample,
        code,
        "deliver",
        "school",
        {"delivered_on": "2025-06-01"},
        StepRefused,
        "delivery date 2025-06-01 is in the future",
        tables=[SubjectClassroom],
    )


def test_a_delivery_past_the_date_ordered_is_overdue_and_marked_late(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _ordered(connection)
        assert not case.overdue(DELIVERY)
        assert case.overdue(DELIVERY + dt.timedelta(days=1))
        case = _deliver(connection, case, DELIVERY + dt.timedelta(days=12))
        assert case.values["delivered_late"] is True
        assert not case.overdue(DELIVERY + dt.timedelta(days=30))
        assert _classroom(connection, "14") == ("chemistry", 2025, 24)
