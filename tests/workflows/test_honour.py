"""Honorary titles and awards: the conferral written as an award with its payment, the Honoured
Teacher's 1,000 MRP, titles conferred once, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Engine, func, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.people import Teacher
from sapa.domain.workforce import Award
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, open_case

HONOUR = WORKFLOWS["honour"]
HONOURED = "«Қазақстанның еңбек сіңірген ұстазы»"


def _nominate(connection, teacher: str = "T-000001", kind: str = "honoured_teacher", title=None):
    return open_case(
        connection,
        HONOUR,
        actor("district"),
        {"teacher_code": teacher, "kind": kind, "title": title or HONOURED},
        today=TODAY,
    )


def _endorsed(connection, **nomination):
    case = _nominate(connection, **nomination)
    return act(connection, case, "endorse", actor("region"), {}, today=TODAY)


def _awards(connection, teacher: str) -> list[tuple]:
    return [
        tuple(row)
        for row in connection.execute(
            select(
                Award.kind, Award.title, Award.awarded_on, Award.conferred_by, Award.payment_tenge
            )
            .join(Teacher, Award.teacher_id == Teacher.id)
            .where(Teacher.code == teacher)
            .order_by(Award.awarded_on)
        )
    ]


def test_the_honoured_teacher_title_is_conferred_with_1000_mrp(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _nominate(connection)
        assert case.state == "nominated" and case.title == f"T-000001: {HONOURED}"
        case = act(connection, case, "endorse", actor("region"), {}, today=TODAY)
        assert case.state == "endorsed"
        case = act(
            connection,
            case,
            "confer",
            actor("ministry"),
            {"awarded_on": "2025-05-15", "conferred_by": "Decree of the President"},
            today=TODAY,
        )
        assert case.state == "conferred" and case.closed_on == TODAY
        assert case.values["payment_tenge"] == 1000 * 3932
        awards = _awards(connection, "T-000001")
        steps = history(connection, case)
    assert (
        "honoured_teacher",
        HONOURED,
        dt.date(2025, 5, 15),
        "Decree of the President",
        3_932_000,
    ) in awards
    assert [step["action"] for step in steps] == ["nominate", "endorse", "confer"]
    assert steps[-1]["changes"]["payment_tenge"] == 3_932_000


def test_a_regional_award_carries_the_payment_given_or_none(sample: Engine) -> None:
    title = "Почётная грамота акима области"
    with sample.begin() as connection:
        for teacher, payment in (("T-000005", 50_000), ("T-000003", None)):
            case = _endorsed(connection, teacher=teacher, kind="regional_award", title=title)
            given = {"awarded_on": "2025-05-20", "conferred_by": "Akimat of the region"}
            if payment is not None:
                given["payment_tenge"] = payment
            act(connection, case, "confer", actor("ministry"), given, today=TODAY)
        assert _awards(connection, "T-000005") == [
            ("regional_award", title, TODAY, "Akimat of the region", 50_000)
        ]
        assert _awards(connection, "T-000003") == [
            ("regional_award", title, TODAY, "Akimat of the region", None)
        ]


def test_a_declined_nomination_confers_nothing(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _endorsed(connection)
        case = act(
            connection,
            case,
            "decline",
            actor("ministry"),
            {"reason": "Quota of the year reached"},
            today=TODAY,
        )
        assert case.state == "declined" and case.closed_on == TODAY
        assert [award[0] for award in _awards(connection, "T-000001")] == ["best_pedagogue"]


@pytest.mark.parametrize(
    ("endorse", "action", "role", "given", "error", "message"),
    [
        (
            False,
            "confer",
            "ministry",
            {"awarded_on": "2025-05-15", "conferred_by": "Decree of the President"},
            StepRefused,
            "can be taken only when it is endorsed by the region",
        ),
        (False, "endorse", "school", {}, AccessDeniedError, "school accounts may not take"),
        (
            True,
            "confer",
            "ministry",
            {
                "awarded_on": "2025-05-15",
                "conferred_by": "Decree of the President",
                "payment_tenge": 3_692_000,
            },
            StepRefused,
            "The Honoured Teacher payment is 1,000 MRP, 3,932,000 tenge in 2025, not 3,692,000",
        ),
        (
            True,
            "confer",
            "ministry",
            {"awarded_on": "2025-06-01", "conferred_by": "Decree of the President"},
            StepRefused,
            "The award date 2025-06-01 is in the future",
        ),
        (
            True,
            "confer",
            "ministry",
            {"awarded_on": "2025-05-15", "conferred_by": "Decree", "payment_tenge": -1},
            DataValidationError,
            "below the minimum",
        ),
        (True, "decline", "region", {}, DataValidationError, "a value is required"),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine,
    endorse: bool,
    action: str,
    role: str,
    given: dict,
    error: type,
    message: str,
) -> None:
    with sample.begin() as connection:
        case = _endorsed(connection) if endorse else _nominate(connection)
    assert_refused(sample, case.code, action, role, given, error, message, tables=[Award])


@pytest.mark.parametrize(
    ("teacher", "kind", "error", "message"),
    [
        (
            "T-000004",
            "honoured_teacher",
            StepRefused,
            "T-000004 already holds the title \\(honoured_teacher, conferred on 2023-08-24\\)",
        ),
        ("T-000001", "best_pedagogue", DataValidationError, "'best_pedagogue' is not one of"),
    ],
)
def test_a_nomination_against_the_rules_opens_no_case(
    sample: Engine, teacher: str, kind: str, error: type, message: str
) -> None:
    with sample.connect() as connection:
        cases = connection.scalar(select(func.count()).select_from(WorkflowCase))
    with pytest.raises(error, match=message), sample.begin() as connection:
        _nominate(connection, teacher=teacher, kind=kind)
    with sample.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(WorkflowCase)) == cases
