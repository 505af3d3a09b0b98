"""The attestation workflow: thresholds, the decision's effect on the category history and the
supplement, appeals, refusals that change nothing, and the reminders of attestations due."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase, WorkflowEvent
from sapa.domain.people import Teacher
from sapa.domain.workforce import (
    Attestation,
    CategoryAssignment,
    QualificationTestResult,
)
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import (
    WORKFLOWS,
    StepRefused,
    act,
    attestations_due,
    find_case,
    history,
    open_case,
)
from sapa.workflows.attestation import PASS_THRESHOLD, SUPPLEMENT

ATTESTATION = WORKFLOWS["attestation"]


def _apply(connection, teacher: str = "T-000007", target: str = "pedagogue_expert"):
    return open_case(
        connection,
        ATTESTATION,
        actor("school"),
        {"teacher_code": teacher, "target_category": target, "due_on": "2025-09-30"},
        today=TODAY,
    )


def _current_category(connection, teacher: str) -> str:
    return str(
        connection.scalar(
            select(CategoryAssignment.category)
            .join(Teacher, CategoryAssignment.teacher_id == Teacher.id)
            .where(Teacher.code == teacher, CategoryAssignment.valid_to.is_(None))
        )
    )


def test_thresholds_and_supplements_are_the_published_rules() -> None:
    # Order MES No. 83 as amended (ОЗП thresholds) and the category supplements of 2019.
    assert PASS_THRESHOLD == {
        "pedagogue": 50,
        "pedagogue_moderator": 60,
        "pedagogue_expert": 70,
        "pedagogue_researcher": 80,
        "pedagogue_master": 90,
    }
    assert SUPPLEMENT == {
        "pedagogue": 0,
        "pedagogue_moderator": 30,
        "pedagogue_expert": 35,
        "pedagogue_researcher": 40,
        "pedagogue_master": 50,
    }


def test_happy_path_assigns_the_category_and_keeps_the_history(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _apply(connection)
        assert case.state == "applied" and case.values["threshold_percent"] == 70
        case = act(
            connection,
            case,
            "record_test",
            actor("district"),
            {"score_percent": "71.5"},
            today=TODAY,
        )
        assert case.state == "portfolio_review" and case.values["test_passed"] is True
        case = act(
            connection,
            case,
            "review_portfolio",
            actor("district"),
            {"portfolio_score": 80},
            today=TODAY,
        )
        case = act(connection, case, "decide", actor("region"), {"result": "assigned"}, today=TODAY)
        assert case.state == "decided"
        assert case.values["new_category"] == "pedagogue_expert"
        assert case.values["supplement_percent"] == 35
        assert case.due_on == TODAY + dt.timedelta(days=30)
        case = act(connection, case, "close", actor("school"), {}, today=TODAY)
        assert case.state == "closed" and case.closed_on == TODAY and case.due_on is None
        assert _current_category(connection, "T-000007") == "pedagogue_expert"
        held = connection.execute(
            select(Attestation.held_on, Attestation.result)
            .join(Teacher, Attestation.teacher_id == Teacher.id)
            .where(Teacher.code == "T-000007", Attestation.due_on == dt.date(2025, 9, 30))
        ).one()
        assert held == (TODAY, "assigned")
        test = connection.execute(
            select(QualificationTestResult.score_percent, QualificationTestResult.passed)
            .join(Teacher, QualificationTestResult.teacher_id == Teacher.id)
            .where(Teacher.code == "T-000007", QualificationTestResult.tested_on == TODAY)
        ).one()
        assert test == (71.5, True)
        steps = history(connection, case)
    assert [s["action"] for s in steps] == [
        "apply",
        "record_test",
        "review_portfolio",
        "decide",
        "close",
    ]
    assert [s["to_state"] for s in steps][-1] == "closed"
    assert steps[1]["username"] == "district-user" and steps[1]["changes"]["score_percent"] == 71.5


def test_a_score_under_the_threshold_fails_the_test(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _apply(connection, target="pedagogue_master")
        case = act(
            connection, case, "record_test", actor("district"), {"score_percent": 89.9}, today=TODAY
        )
        assert case.state == "test_failed" and case.values["test_passed"] is False
        case = act(connection, case, "retake", actor("teacher"), {}, today=TODAY)
        assert case.state == "applied"


def test_lowering_moves_the_category_one_step_down_and_an_upheld_appeal_assigns(
    sample: Engine,
) -> None:
    with sample.begin() as connection:
        before = _current_category(connection, "T-000007")
        case = _apply(connection)
        case = act(
            connection, case, "record_test", actor("district"), {"score_percent": 90}, today=TODAY
        )
        case = act(
            connection,
            case,
            "review_portfolio",
            actor("district"),
            {"portfolio_score": 30},
            today=TODAY,
        )
        case = act(
            connection, case, "decide", actor("district"), {"result": "lowered"}, today=TODAY
        )
        order = [
            "pedagogue",
            "pedagogue_moderator",
            "pedagogue_expert",
            "pedagogue_researcher",
            "pedagogue_master",
        ]
        assert case.values["new_category"] == order[order.index(before) - 1]
        later = TODAY + dt.timedelta(days=10)
        case = act(
            connection,
            case,
            "appeal",
            actor("teacher"),
            {"grounds": "Portfolio misread"},
            today=later,
        )
        case = act(
            connection,
            case,
            "decide_appeal",
            actor("region"),
            {"appeal_result": "upheld"},
            today=later,
        )
        assert case.state == "closed"
        assert _current_category(connection, "T-000007") == "pedagogue_expert"


@pytest.mark.parametrize(
    ("action", "role", "given", "error", "message"),
    [
        (
            "review_portfolio",
            "district",
            {"portfolio_score": 50},
            StepRefused,
            "can be taken only when",
        ),
        ("record_test", "school", {"score_percent": 80}, AccessDeniedError, "may not take"),
        (
            "record_test",
            "district",
            {"score_percent": 101},
            DataValidationError,
            "above the maximum",
        ),
        ("record_test", "district", {}, DataValidationError, "a value is required"),
        (
            "record_test",
            "district",
            {"score_percent": 80, "scor": 1},
            DataValidationError,
            "no field 'scor'",
        ),
        ("no_such_step", "district", {}, StepRefused, "has no step"),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine, action: str, role: str, given: dict, error: type, message: str
) -> None:
    with sample.begin() as connection:
        code = _apply(connection).code
        tests_before = connection.scalar(select(func.count()).select_from(QualificationTestResult))
    with pytest.raises(error, match=message), sample.begin() as connection:
        case = find_case(connection, code)
        act(connection, case, action, actor(role), given, today=TODAY)
    with sample.connect() as connection:
        assert find_case(connection, code).state == "applied"
        events = connection.scalar(
            select(func.count())
            .select_from(WorkflowEvent)
            .join(WorkflowCase)
            .where(WorkflowCase.code == code)
        )
        tests = connection.scalar(select(func.count()).select_from(QualificationTestResult))
    assert events == 1
    assert tests == tests_before


def test_an_unknown_teacher_is_named(sample: Engine) -> None:
    with (
        pytest.raises(DataValidationError, match="no teacher 'T-999999'"),
        sample.begin() as connection,
    ):
        _apply(connection, teacher="T-999999")


def test_a_decision_that_assigned_cannot_be_appealed(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _apply(connection)
        case = act(
            connection, case, "record_test", actor("district"), {"score_percent": 75}, today=TODAY
        )
        case = act(
            connection,
            case,
            "review_portfolio",
            actor("district"),
            {"portfolio_score": 75},
            today=TODAY,
        )
        case = act(
            connection, case, "decide", actor("district"), {"result": "assigned"}, today=TODAY
        )
        with pytest.raises(StepRefused, match="Only a decision that did not assign"):
            act(connection, case, "appeal", actor("teacher"), {"grounds": "x"}, today=TODAY)


def test_attestations_due_are_listed_soonest_first_with_open_cases(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _apply(connection)
        due = attestations_due(connection, TODAY, within_days=365)
    assert list(due["due_on"]) == sorted(due["due_on"])
    row = due[due["teacher"] == "T-000007"].iloc[0]
    assert row["open_case"] == case.code
    assert row["days_left"] == (dt.date(2025, 9, 30) - TODAY).days
    with sample.connect() as connection:
        only = attestations_due(connection, TODAY, within_days=365, region="KZ-11")
    assert set(only["region"]) <= {"KZ-11"}
