"""1000 Leaders of Change: the funnel written to the programme's tables from application to head
appointment, the selection and reserve rules, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Engine, func, insert, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.leadership import (
    HeadAppointment,
    LeadershipCandidate,
    LeadershipCohort,
    LeadershipCohortMember,
    LeadershipReserve,
    LeadershipSelection,
)
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher
from sapa.errors import AccessDeniedError
from sapa.workflows import WORKFLOWS, StepRefused, act, find_case, history, open_case
from sapa.workflows.leadership import MIN_TEST_PERCENT, RESERVE_SCORE, TEST_WEIGHT

LEADERSHIP = WORKFLOWS["leadership"]
COHORT = "L2025-BAS-07"
TRAINED = dt.date(2025, 12, 12)
INCLUDED = dt.date(2026, 1, 15)


def _apply(connection, teacher: str = "T-000007", intake: int = 2025):
    return open_case(
        connection,
        LEADERSHIP,
        actor("teacher"),
        {"teacher_code": teacher, "intake_year": intake},
        today=TODAY,
    )


def _step(connection, case, action: str, role: str, given: dict, today: dt.date = TODAY):
    return act(connection, case, action, actor(role), given, today=today)


def _scored(connection, case=None, *, test: float = 78, interview: float | None = 85):
    """An application (``case``, or a new one) with its test and, unless ``None``, interview."""
    given = {"test_score_percent": test}
    case = _step(connection, case or _apply(connection), "score_test", "ministry", given)
    if interview is not None:
        given = {"interview_score_percent": interview}
        case = _step(connection, case, "interview", "region", given)
    return case


def _selected(connection, case=None, *, decision: str = "admitted", **scores):
    case = _scored(connection, case, **scores)
    return _step(connection, case, "select", "ministry", {"decision": decision})


def _cohort(connection) -> None:
    connection.execute(
        insert(LeadershipCohort).values(
            code=COHORT,
            level="basic",
            provider="Centre of Pedagogical Excellence (AEO NIS)",
            starts_on=dt.date(2025, 7, 7),
            ends_on=TRAINED,
        )
    )


def _trained(connection, final: float = 82):
    _cohort(connection)
    case = _step(connection, _selected(connection), "enrol", "ministry", {"cohort_code": COHORT})
    given = {"final_score_percent": final}
    return _step(connection, case, "complete_training", "ministry", given, today=TRAINED)


def _in_reserve(connection):
    return _step(connection, _trained(connection), "include_in_reserve", "ministry", {}, INCLUDED)


def _selection(connection, code: str) -> tuple:
    return tuple(
        connection.execute(
            select(
                LeadershipSelection.test_score_percent,
                LeadershipSelection.interview_score_percent,
                LeadershipSelection.decision,
                LeadershipSelection.decided_on,
            )
            .join(LeadershipCandidate)
            .where(LeadershipCandidate.code == code)
        ).one()
    )


def _membership(connection, code: str) -> tuple:
    return tuple(
        connection.execute(
            select(
                LeadershipCohort.code,
                LeadershipCohortMember.status,
                LeadershipCohortMember.final_score_percent,
            )
            .join(LeadershipCohort)
            .join(LeadershipCandidate)
            .where(LeadershipCandidate.code == code)
        ).one()
    )


def _reserve(connection, code: str) -> tuple:
    return tuple(
        connection.execute(
            select(
                LeadershipReserve.included_on,
                LeadershipReserve.excluded_on,
                LeadershipReserve.exclusion_reason,
            )
            .join(LeadershipCandidate)
            .where(LeadershipCandidate.code == code)
        ).one()
    )


def _heads(connection, school: str) -> list[tuple]:
    return [
        tuple(row)
        for row in connection.execute(
            select(
                Teacher.code,
                HeadAppointment.appointed_on,
                HeadAppointment.ended_on,
                LeadershipCandidate.code,
            )
            .join(Teacher, HeadAppointment.teacher_id == Teacher.id)
            .join(Organization, HeadAppointment.organization_id == Organization.id)
            .outerjoin(
                LeadershipCandidate,
                HeadAppointment.leader_candidate_id == LeadershipCandidate.id,
            )
            .where(Organization.code == school, HeadAppointment.position == "head")
            .order_by(HeadAppointment.appointed_on)
        )
    ]


def test_sapa_rules_of_selection_and_reserve() -> None:
    assert (TEST_WEIGHT, MIN_TEST_PERCENT, RESERVE_SCORE) == (0.6, 60, 70)


def test_a_teacher_goes_from_application_to_head_from_the_reserve(sample: Engine) -> None:
    appointed = dt.date(2026, 3, 1)
    with sample.begin() as connection:
        case = _apply(connection)
        assert case.state == "applied" and case.title == "T-000007, intake 2025"
        candidate = connection.execute(
            select(
                LeadershipCandidate.intake_year,
                LeadershipCandidate.position_at_application,
                LeadershipCandidate.applied_on,
                Teacher.code,
            )
            .join(Teacher)
            .where(LeadershipCandidate.code == case.code)
        ).one()
        assert tuple(candidate) == (2025, "teacher", TODAY, "T-000007")
        case = _selected(connection, case)
        assert case.state == "admitted" and case.values["selection_score_percent"] == 80.8
        assert _selection(connection, case.code) == (78, 85, "admitted", TODAY)
        _cohort(connection)
        case = _step(connection, case, "enrol", "ministry", {"cohort_code": COHORT})
        assert case.state == "training"
        assert _membership(connection, case.code) == (COHORT, "enrolled", None)
        given = {"final_score_percent": 82}
        case = _step(connection, case, "complete_training", "ministry", given, today=TRAINED)
        assert case.state == "trained"
        assert _membership(connection, case.code) == (COHORT, "completed", 82)
        case = _step(connection, case, "include_in_reserve", "ministry", {}, today=INCLUDED)
        assert case.state == "in_reserve"
        assert _reserve(connection, case.code) == (INCLUDED, None, None)
        given = {"organization_code": "SCH-71-002", "appointed_on": appointed.isoformat()}
        case = _step(connection, case, "appoint", "region", given, today=appointed)
        assert case.state == "appointed" and case.closed_on == appointed
        assert _reserve(connection, case.code) == (INCLUDED, appointed, "appointed")
        # The school's head appointed from the reserve in 2024 hands over the day before.
        assert _heads(connection, "SCH-71-002") == [
            ("T-000002", dt.date(2024, 8, 15), dt.date(2026, 2, 28), "L1000-2023-0042"),
            ("T-000007", appointed, None, case.code),
        ]
        steps = history(connection, case)
    assert [step["action"] for step in steps] == [
        "apply",
        "score_test",
        "interview",
        "select",
        "enrol",
        "complete_training",
        "include_in_reserve",
        "appoint",
    ]


def test_a_waitlisted_candidate_admitted_later_keeps_one_selection(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _selected(connection, decision="waitlisted")
        assert case.state == "waitlisted"
        later = dt.date(2025, 6, 10)
        case = _step(connection, case, "select", "ministry", {"decision": "admitted"}, later)
        assert case.state == "admitted"
        assert _selection(connection, case.code) == (78, 85, "admitted", later)


def test_a_candidate_under_the_test_threshold_can_be_rejected_without_an_interview(
    sample: Engine,
) -> None:
    with sample.begin() as connection:
        case = _selected(connection, test=41, interview=None, decision="rejected")
        assert case.state == "rejected" and case.closed_on == TODAY
        assert "selection_score_percent" not in case.values
        assert _selection(connection, case.code) == (41, None, "rejected", TODAY)


def test_a_withdrawal_in_training_ends_the_cohort_place(sample: Engine) -> None:
    with sample.begin() as connection:
        _cohort(connection)
        case = _selected(connection)
        case = _step(connection, case, "enrol", "ministry", {"cohort_code": COHORT})
        case = _step(connection, case, "withdraw", "teacher", {"reason": "Family"})
        assert case.state == "withdrawn"
        assert _membership(connection, case.code) == (COHORT, "withdrawn", None)


@pytest.mark.parametrize(
    ("decision", "test", "interview", "message"),
    [
        ("admitted", 55, 95, "scored 55 % in the test; at least 60 % is needed to be admitted"),
        ("waitlisted", 70, None, "A candidate is waitlisted only after the interview"),
    ],
)
def test_selection_rules_refuse_and_change_nothing(
    sample: Engine, decision: str, test: float, interview: float | None, message: str
) -> None:
    with sample.begin() as connection:
        case = _scored(connection, test=test, interview=interview)
    assert_refused(
        sample,
        case.code,
        "select",
        "ministry",
        {"decision": decision},
        StepRefused,
        message,
        tables=[LeadershipSelection],
    )


def test_invalid_steps_later_in_the_programme_change_nothing(sample: Engine) -> None:
    tables = [LeadershipCohortMember, LeadershipReserve, HeadAppointment]
    with sample.begin() as connection:
        trained = _trained(connection, final=65).code
    assert_refused(
        sample,
        trained,
        "include_in_reserve",
        "ministry",
        {},
        StepRefused,
        "The final score is 65 %; at least 70 % is needed",
        tables=tables,
    )
    assert_refused(
        sample,
        trained,
        "appoint",
        "region",
        {"organization_code": "SCH-71-001", "appointed_on": "2026-02-01"},
        StepRefused,
        "'training completed': 'Appoint a school head' can be taken only when it is in the "
        "personnel reserve",
        tables=tables,
    )
    assert_refused(
        sample,
        trained,
        "include_in_reserve",
        "region",
        {},
        AccessDeniedError,
        "region accounts may not take",
        tables=tables,
    )


def test_an_appointment_before_entering_the_reserve_is_refused_a_withdrawal_ends_it(
    sample: Engine,
) -> None:
    with sample.begin() as connection:
        code = _in_reserve(connection).code
    assert_refused(
        sample,
        code,
        "appoint",
        "region",
        {"organization_code": "SCH-71-001", "appointed_on": "2026-01-14"},
        StepRefused,
        "before the candidate entered the reserve, 2026-01-15",
        tables=[HeadAppointment, LeadershipReserve],
    )
    later = dt.date(2026, 2, 1)
    with sample.begin() as connection:
        case = _step(connection, find_case(connection, code), "withdraw", "ministry", {}, later)
        assert case.state == "withdrawn"
        assert _reserve(connection, code) == (INCLUDED, later, "withdrawn")


def test_a_finished_cohort_takes_no_one(sample: Engine) -> None:
    with sample.begin() as connection:
        code = _selected(connection).code
    assert_refused(
        sample,
        code,
        "enrol",
        "ministry",
        {"cohort_code": "L2024-BAS-04"},
        StepRefused,
        "The cohort L2024-BAS-04 finished on 2024-12-13",
        tables=[LeadershipCohortMember],
    )


@pytest.mark.parametrize(
    ("teacher", "message"),
    [
        ("T-000004", "T-000004 is not a teacher or deputy head in post \\(head\\)"),
        ("T-000005", None),
    ],
)
def test_only_teachers_and_deputy_heads_apply_once_a_year(
    sample: Engine, teacher: str, message: str | None
) -> None:
    with sample.begin() as connection:
        if message is None:
            first = _apply(connection, teacher).code
            message = f"{teacher} has already applied to the 2025 intake \\({first}\\)"
    with sample.connect() as connection:
        counts = [
            connection.scalar(select(func.count()).select_from(table))
            for table in (WorkflowCase, LeadershipCandidate)
        ]
    with pytest.raises(StepRefused, match=message), sample.begin() as connection:
        _apply(connection, teacher)
    with sample.connect() as connection:
        assert [
            connection.scalar(select(func.count()).select_from(table))
            for table in (WorkflowCase, LeadershipCandidate)
        ] == counts
