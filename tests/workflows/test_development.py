"""The professional-development workflow: an enrolment completed into the course record the
indicators count, refusals that change nothing, and the schools' coverage gaps."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Engine, func, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.people import Teacher
from sapa.domain.workforce import Course, CourseCompletion
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, development_gaps, history, open_case

DEVELOPMENT = WORKFLOWS["development"]


def _enrol(connection, teacher: str = "T-000003", *, today: dt.date = TODAY):
    return open_case(
        connection,
        DEVELOPMENT,
        actor("school"),
        {"teacher_code": teacher, "course_code": "ORL-2024-071", "starts_on": "2025-03-03"},
        today=today,
    )


def _completions(connection, teacher: str) -> list[tuple]:
    return [
        tuple(row)
        for row in connection.execute(
            select(
                Course.code,
                CourseCompletion.completed_on,
                CourseCompletion.hours_credited,
                CourseCompletion.certificate_number,
            )
            .join(Course, CourseCompletion.course_id == Course.id)
            .join(Teacher, CourseCompletion.teacher_id == Teacher.id)
            .where(Teacher.code == teacher)
        )
    ]


def test_a_completion_is_recorded_and_closes_the_school_gap(sample: Engine) -> None:
    with sample.begin() as connection:
        before = development_gaps(connection, TODAY).set_index("school")
        case = _enrol(connection)
        assert case.state == "enrolled" and case.title == "T-000003 → ORL-2024-071"
        case = act(
            connection,
            case,
            "complete",
            actor("school"),
            {
                "hours_credited": "72",
                "completed_on": "2025-05-16",
                "certificate_number": "ӨРЛ-71-2025-00042",
            },
            today=TODAY,
        )
        assert case.state == "completed" and case.closed_on == TODAY
        assert case.values["completed_on"] == "2025-05-16"
        assert _completions(connection, "T-000003") == [
            ("ORL-2024-071", dt.date(2025, 5, 16), 72, "ӨРЛ-71-2025-00042")
        ]
        after = development_gaps(connection, TODAY).set_index("school")
        steps = history(connection, case)
    assert before.loc["SCH-71-002", "without_course"] == 1
    assert after.loc["SCH-71-002", "without_course"] == 0
    assert after.loc["SCH-71-002", "share_without"] == 0
    assert [step["action"] for step in steps] == ["enrol", "complete"]


def test_the_completion_date_defaults_to_the_day_of_the_step(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _enrol(connection)
        act(connection, case, "complete", actor("district"), {"hours_credited": 80}, today=TODAY)
        assert _completions(connection, "T-000003") == [("ORL-2024-071", TODAY, 80, None)]


def test_a_withdrawal_closes_the_case_without_a_completion(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _enrol(connection)
        case = act(
            connection, case, "withdraw", actor("teacher"), {"reason": "Illness"}, today=TODAY
        )
        assert case.state == "withdrawn" and case.closed_on == TODAY
        assert _completions(connection, "T-000003") == []


@pytest.mark.parametrize(
    ("action", "role", "given", "error", "message"),
    [
        (
            "complete",
            "school",
            {"hours_credited": 81},
            StepRefused,
            "81 hours cannot be credited: the course ORL-2024-071 has 80 academic hours",
        ),
        (
            "complete",
            "school",
            {"hours_credited": 40, "completed_on": "2025-02-28"},
            StepRefused,
            "before the course started, 2025-03-03",
        ),
        (
            "complete",
            "school",
            {"hours_credited": 40, "completed_on": "2025-05-21"},
            StepRefused,
            "is in the future",
        ),
        ("complete", "school", {"hours_credited": 0}, DataValidationError, "below the minimum"),
        ("complete", "teacher", {"hours_credited": 40}, AccessDeniedError, "may not take"),
        ("enrol", "school", {}, StepRefused, "already open"),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine, action: str, role: str, given: dict, error: type, message: str
) -> None:
    with sample.begin() as connection:
        code = _enrol(connection).code
    assert_refused(sample, code, action, role, given, error, message, tables=[CourseCompletion])


def test_a_withdrawn_enrolment_cannot_be_completed(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _enrol(connection)
        act(connection, case, "withdraw", actor("school"), {}, today=TODAY)
    assert_refused(
        sample,
        case.code,
        "complete",
        "school",
        {"hours_credited": 10},
        StepRefused,
        "The case is 'withdrawn'",
        tables=[CourseCompletion],
    )


def test_a_teacher_who_has_left_is_not_enrolled(sample: Engine) -> None:
    # T-000006 leaves the school on 30 June 2025.
    with sample.connect() as connection:
        cases = connection.scalar(select(func.count()).select_from(WorkflowCase))
    with (
        pytest.raises(StepRefused, match="T-000006 is not in post"),
        sample.begin() as connection,
    ):
        _enrol(connection, "T-000006", today=dt.date(2025, 7, 1))
    with sample.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(WorkflowCase)) == cases


def test_gaps_list_the_schools_with_the_largest_share_without_a_course_first(
    sample: Engine,
) -> None:
    with sample.connect() as connection:
        gaps = development_gaps(connection, TODAY)
        last_year = development_gaps(connection, TODAY, years=1).set_index("school")
        astana = development_gaps(connection, TODAY, region="KZ-71")
        after_leaving = development_gaps(connection, dt.date(2025, 7, 1)).set_index("school")
    assert list(gaps.columns) == [
        "school",
        "district",
        "region",
        "teachers",
        "without_course",
        "share_without",
    ]
    # Courses in the three years to 20 May 2025: T-000001, T-000002 (Dec 2023) and T-000007.
    assert gaps.to_dict("records")[:4] == [
        {
            "school": "SCH-11-002",
            "district": "KZ11-BUR",
            "region": "KZ-11",
            "teachers": 2,
            "without_course": 2,
            "share_without": 1.0,
        },
        {
            "school": "SCH-11-001",
            "district": "KZ11-KOK",
            "region": "KZ-11",
            "teachers": 1,
            "without_course": 1,
            "share_without": 1.0,
        },
        {
            "school": "SCH-11-003",
            "district": "KZ11-TSE",
            "region": "KZ-11",
            "teachers": 1,
            "without_course": 1,
            "share_without": 1.0,
        },
        {
            "school": "SCH-71-002",
            "district": "KZ71-ESL",
            "region": "KZ-71",
            "teachers": 2,
            "without_course": 1,
            "share_without": 0.5,
        },
    ]
    assert list(gaps["share_without"]) == sorted(gaps["share_without"], reverse=True)
    assert set(gaps["school"][4:]) == {"SCH-71-001", "SCH-71-003"}
    assert last_year.loc["SCH-71-002", "without_course"] == 2
    assert set(astana["region"]) == {"KZ-71"} and len(astana) == 3
    assert "SCH-11-003" not in after_leaving.index
