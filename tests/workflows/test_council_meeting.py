"""The trustee-council workflow: the quorum of two thirds, the meeting record, the minutes'
deadline, and meetings not held by their date."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Connection, Engine, select

from conftest import TODAY, actor
from sapa.domain.organizations import Organization
from sapa.domain.welfare import TrusteeCouncilMeeting
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, open_case
from sapa.workflows.council_meeting import quorum

COUNCIL_MEETING = WORKFLOWS["council_meeting"]
MEETING = dt.date(2025, 5, 30)
AGENDA = "Летний ремонт; организация питания с 1 сентября"


def _schedule(connection: Connection, agenda: str = AGENDA):
    given = {"organization_code": "SCH-71-001", "due_on": MEETING.isoformat(), "agenda": agenda}
    return open_case(connection, COUNCIL_MEETING, actor("school"), given, today=TODAY)


def _hold(connection: Connection, case, total: int = 11, present: int = 8):
    given = {"members_total": total, "members_present": present, "decisions_count": 3}
    return act(connection, case, "hold", actor("school"), given, today=MEETING)


def _meetings(connection: Connection) -> list[tuple]:
    return [
        tuple(row)
        for row in connection.execute(
            select(
                TrusteeCouncilMeeting.held_on,
                TrusteeCouncilMeeting.members_total,
                TrusteeCouncilMeeting.members_present,
                TrusteeCouncilMeeting.decisions_count,
                TrusteeCouncilMeeting.agenda,
            )
            .join(Organization, TrusteeCouncilMeeting.organization_id == Organization.id)
            .where(Organization.code == "SCH-71-001")
            .order_by(TrusteeCouncilMeeting.held_on)
        )
    ]


@pytest.mark.parametrize(("members", "needed"), [(9, 6), (10, 7), (11, 8), (12, 8), (15, 10)])
def test_the_quorum_is_two_thirds_rounded_up(members: int, needed: int) -> None:
    assert quorum(members) == needed


def test_happy_path_records_the_meeting_and_publishes_the_minutes(sample: Engine) -> None:
    with sample.begin() as connection:
        before = _meetings(connection)
        case = _schedule(connection)
        assert case.state == "scheduled" and case.due_on == MEETING
        case = _hold(connection, case)
        assert case.state == "held" and case.due_on == MEETING + dt.timedelta(days=10)
        assert case.values["held_on"] == MEETING.isoformat()
        assert _meetings(connection) == [*before, (MEETING, 11, 8, 3, AGENDA)]
        case = act(
            connection,
            case,
            "publish_minutes",
            actor("school"),
            {"published_at": "https://school62.edu.kz/council"},
            today=MEETING,
        )
        assert case.state == "published" and case.closed_on == MEETING and case.due_on is None
        steps = history(connection, case)
    assert [step["action"] for step in steps] == ["schedule", "hold", "publish_minutes"]


def test_a_meeting_not_held_or_minutes_not_published_in_time_is_overdue(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _schedule(connection)
        assert not case.overdue(MEETING) and case.overdue(MEETING + dt.timedelta(days=1))
        case = _hold(connection, case)
        assert not case.overdue(MEETING + dt.timedelta(days=10))
        assert case.overdue(MEETING + dt.timedelta(days=11))
        case = act(
            connection,
            _schedule(connection),
            "cancel",
            actor("school"),
            {"reason": "-"},
            today=TODAY,
        )
    assert case.state == "cancelled" and not case.overdue(MEETING + dt.timedelta(days=1))


@pytest.mark.parametrize(
    ("total", "present", "error", "message"),
    [
        (
            11,
            7,
            StepRefused,
            r"No quorum: 7 of 11 members present, at least 8 \(two thirds\) are needed",
        ),
        (9, 10, StepRefused, "10 members present is more than the council's 9"),
        (8, 8, DataValidationError, "8 is below the minimum 9"),
    ],
)
def test_a_meeting_off_the_rules_is_not_recorded(
    sample: Engine, total: int, present: int, error: type, message: str
) -> None:
    with sample.begin() as connection:
        code = _schedule(connection).code
    given = {"members_total": total, "members_present": present, "decisions_count": 1}
    assert_refused(
        sample,
        code,
        "hold",
        "school",
        given,
        error,
        message,
        tables=[TrusteeCouncilMeeting],
        today=MEETING,
    )


@pytest.mark.parametrize(
    ("action", "role", "given", "message", "error"),
    [
        (
            "hold",
            "school",
            {"members_total": 9, "members_present": 9, "decisions_count": 1},
            f"The meeting is scheduled for {MEETING}; it cannot be recorded before",
            StepRefused,
        ),
        (
            "hold",
            "district",
            {"members_total": 9, "members_present": 9, "decisions_count": 1},
            "district accounts may not take",
            AccessDeniedError,
        ),
        (
            "publish_minutes",
            "school",
            {"published_at": "-"},
            "can be taken only when it is held",
            StepRefused,
        ),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine, action: str, role: str, given: dict, message: str, error: type
) -> None:
    with sample.begin() as connection:
        code = _schedule(connection).code
    assert_refused(
        sample, code, action, role, given, error, message, tables=[TrusteeCouncilMeeting]
    )


def test_a_second_meeting_on_the_same_day_and_a_long_agenda_are_refused(sample: Engine) -> None:
    with sample.begin() as connection:
        _hold(connection, _schedule(connection))
        code = _schedule(connection).code
        with pytest.raises(StepRefused, match="at most 500 characters"):
            _schedule(connection, agenda="x" * 501)
    assert_refused(
        sample,
        code,
        "hold",
        "school",
        {"members_total": 9, "members_present": 9, "decisions_count": 1},
        StepRefused,
        f"A council meeting of SCH-71-001 on {MEETING} is already recorded",
        tables=[TrusteeCouncilMeeting],
        today=MEETING,
    )
