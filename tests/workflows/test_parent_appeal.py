"""The parent-appeal workflow: the feedback record and its deadline of 15 working days, the
single extension, the answer, repeated appeals, and overdue appeals."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Connection, Engine, func, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.welfare import Feedback
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, open_case
from sapa.workflows._rules import add_working_days

PARENT_APPEAL = WORKFLOWS["parent_appeal"]
DEADLINE = dt.date(2025, 6, 10)
"""15 working days after Tuesday 20 May 2025."""
EXTENDED = dt.date(2025, 7, 1)
"""15 working days after the deadline."""


def _register(connection: Connection, role: str = "school"):
    given = {"organization_code": "SCH-71-001", "channel": "egov", "topic": "meals"}
    return open_case(connection, PARENT_APPEAL, actor(role), given, today=TODAY)


def _in_work(connection: Connection):
    case = _register(connection)
    return act(connection, case, "assign", actor("school"), {"handler": "Deputy head"}, today=TODAY)


def _feedback(connection: Connection, code: str) -> tuple:
    return tuple(
        connection.execute(
            select(Feedback.received_on, Feedback.deadline_on, Feedback.answered_on).where(
                Feedback.code == code
            )
        ).one()
    )


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        (dt.date(2025, 5, 20), 15, DEADLINE),
        (dt.date(2025, 5, 23), 1, dt.date(2025, 5, 26)),  # Friday → Monday
        (dt.date(2025, 5, 24), 1, dt.date(2025, 5, 26)),  # Saturday → Monday
        (dt.date(2025, 5, 24), 0, dt.date(2025, 5, 24)),
    ],
)
def test_working_days_skip_weekends(start: dt.date, days: int, end: dt.date) -> None:
    assert add_working_days(start, days) == end


def test_happy_path_extends_once_and_answers(sample: Engine) -> None:
    extended_on, answered_on = dt.date(2025, 6, 5), dt.date(2025, 6, 20)
    with sample.begin() as connection:
        case = _register(connection)
        assert case.state == "registered" and case.due_on == DEADLINE
        assert _feedback(connection, case.code) == (TODAY, DEADLINE, None)
        case = act(connection, case, "assign", actor("district"), {"handler": "X"}, today=TODAY)
        assert case.state == "in_work" and case.due_on == DEADLINE
        case = act(
            connection,
            case,
            "extend",
            actor("school"),
            {"reason": "Catering operator asked"},
            today=extended_on,
        )
        assert case.state == "in_work" and case.due_on == EXTENDED and case.values["extended"]
        assert _feedback(connection, case.code) == (TODAY, EXTENDED, None)
        case = act(
            connection,
            case,
            "answer",
            actor("school"),
            {"answer": "Menu revised"},
            today=answered_on,
        )
        assert case.state == "answered" and case.closed_on == answered_on
        assert _feedback(connection, case.code) == (TODAY, EXTENDED, answered_on)
        steps = history(connection, case)
    assert [step["action"] for step in steps] == ["register", "assign", "extend", "answer"]


def test_an_unanswered_appeal_is_overdue_after_its_deadline(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _register(connection)
        assert not case.overdue(DEADLINE)
        assert case.overdue(DEADLINE + dt.timedelta(days=1))
        case = act(connection, case, "answer", actor("district"), {"answer": "Y"}, today=TODAY)
    assert not case.overdue(DEADLINE + dt.timedelta(days=1))


def test_a_second_extension_is_refused_and_changes_nothing(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _in_work(connection)
        act(connection, case, "extend", actor("school"), {"reason": "A"}, today=TODAY)
    assert_refused(
        sample,
        case.code,
        "extend",
        "school",
        {"reason": "B"},
        StepRefused,
        f"The deadline was already extended once, to {EXTENDED}",
        tables=[Feedback],
    )


@pytest.mark.parametrize(
    ("action", "role", "given", "error", "message", "today"),
    [
        (
            "extend",
            "school",
            {"reason": "Late"},
            StepRefused,
            f"The deadline {DEADLINE} has passed",
            DEADLINE + dt.timedelta(days=1),
        ),
        ("answer", "teacher", {"answer": "Z"}, AccessDeniedError, "teacher accounts", TODAY),
        ("assign", "school", {"handler": "Z"}, StepRefused, "only when it is registered", TODAY),
        (
            "reject_as_duplicate",
            "school",
            {"duplicate_of": "FB-11-2024-03310"},
            StepRefused,
            "FB-11-2024-03310 is not an earlier appeal about school SCH-71-001",
            TODAY,
        ),
        (
            "reject_as_duplicate",
            "school",
            {"duplicate_of": "FB-00"},
            DataValidationError,
            "no feedback 'FB-00'",
            TODAY,
        ),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine,
    action: str,
    role: str,
    given: dict,
    error: type,
    message: str,
    today: dt.date,
) -> None:
    with sample.begin() as connection:
        code = _in_work(connection).code
    assert_refused(
        sample, code, action, role, given, error, message, tables=[Feedback], today=today
    )


def test_a_repeated_appeal_is_closed_with_a_notice(sample: Engine) -> None:
    with sample.begin() as connection:
        case = act(
            connection,
            _register(connection),
            "reject_as_duplicate",
            actor("school"),
            {"duplicate_of": "FB-71-2024-10871"},
            today=TODAY,
        )
        assert case.state == "duplicate" and case.closed_on == TODAY
        assert _feedback(connection, case.code) == (TODAY, DEADLINE, TODAY)


def test_a_teacher_cannot_register_an_appeal(sample: Engine) -> None:
    with pytest.raises(AccessDeniedError, match="teacher accounts"), sample.begin() as c:
        _register(c, role="teacher")
    with sample.connect() as connection:
        opened = connection.scalar(
            select(func.count())
            .select_from(WorkflowCase)
            .where(WorkflowCase.workflow == "parent_appeal")
        )
    assert opened == 0
