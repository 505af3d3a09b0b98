"""Young specialists: the placement filling a vacancy, the mentor's rules, the «С дипломом – в
село!» amounts and its rural schools, the yearly follow-ups, refusals that change nothing, and
the ranking of vacancies for a graduate."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Engine, func, insert, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.people import Teacher, TeacherSubject
from sapa.domain.workforce import Vacancy, YoungSpecialistSupport
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, match_vacancies, open_case
from sapa.workflows._cases import resolve_code

YOUNG = WORKFLOWS["young_specialist"]
GRADUATE = "T-900001"
ALLOWANCE_2025 = 100 * 3932
LATER = dt.date(2025, 8, 15)
"""After every sample vacancy is published."""


def _graduate(connection, school: str = "SCH-11-002", subject: str = "MATH") -> None:
    """A graduate hired by the school, as the staff import records one."""
    teacher = connection.execute(
        insert(Teacher)
        .values(
            code=GRADUATE,
            sex="F",
            birth_year=2002,
            organization_id=resolve_code(connection, "organization", school, "test"),
            position="teacher",
            education_level="bachelor",
            experience_years=0,
            weekly_hours=18,
            hired_on=dt.date(2025, 5, 2),
            young_specialist=True,
            young_specialist_since=dt.date(2025, 5, 2),
        )
        .returning(Teacher.id)
    ).scalar_one()
    connection.execute(
        insert(TeacherSubject).values(
            teacher_id=teacher,
            subject_id=resolve_code(connection, "subject", subject, "test"),
            main=True,
        )
    )


def _vacancy(connection, code: str, school: str, subject: str | None, opened_on: dt.date) -> None:
    connection.execute(
        insert(Vacancy).values(
            code=code,
            organization_id=resolve_code(connection, "organization", school, "test"),
            subject_id=subject and resolve_code(connection, "subject", subject, "test"),
            position="teacher",
            weekly_hours=18,
            opened_on=opened_on,
        )
    )


def _register(connection, programme: str = "diploma_to_village", **more):
    return open_case(
        connection,
        YOUNG,
        actor("school"),
        {"teacher_code": GRADUATE, "programme": programme, **more},
        today=TODAY,
    )


def _step(connection, case, action: str, role: str, given: dict, today: dt.date = TODAY):
    return act(connection, case, action, actor(role), given, today=today)


def _mentored(connection, school: str = "SCH-11-002", mentor: str = "T-000004", **register):
    _graduate(connection, school)
    case = _register(connection, **register)
    return _step(connection, case, "assign_mentor", "school", {"mentor_code": mentor})


def _support(connection) -> list[tuple]:
    return [
        tuple(row)
        for row in connection.execute(
            select(
                YoungSpecialistSupport.programme,
                YoungSpecialistSupport.starts_on,
                YoungSpecialistSupport.ends_on,
                YoungSpecialistSupport.lifting_allowance_tenge,
                YoungSpecialistSupport.housing_loan_tenge,
                YoungSpecialistSupport.mentor_id,
            )
            .join(Teacher, YoungSpecialistSupport.teacher_id == Teacher.id)
            .where(Teacher.code == GRADUATE)
        )
    ]


def test_a_rural_graduate_is_placed_mentored_supported_and_followed_up(sample: Engine) -> None:
    with sample.begin() as connection:
        _graduate(connection)
        _vacancy(connection, "V-11-2025-050", "SCH-11-002", "MATH", dt.date(2025, 4, 1))
        case = _register(connection, vacancy_code="V-11-2025-050")
        assert case.state == "registered" and case.title == f"{GRADUATE}, diploma_to_village"
        case = _step(connection, case, "place", "district", {})
        assert case.state == "placed" and case.values["school_code"] == "SCH-11-002"
        filled = connection.execute(
            select(Vacancy.filled_on, Teacher.code)
            .join(Teacher, Vacancy.teacher_id == Teacher.id)
            .where(Vacancy.code == "V-11-2025-050")
        ).one()
        assert tuple(filled) == (TODAY, GRADUATE)
        case = _step(connection, case, "assign_mentor", "school", {"mentor_code": "T-000004"})
        case = _step(
            connection,
            case,
            "grant_support",
            "district",
            {"lifting_allowance_tenge": ALLOWANCE_2025, "housing_loan_tenge": 5_000_000},
        )
        assert case.state == "supported" and case.due_on == TODAY + dt.timedelta(days=365)
        mentor = resolve_code(connection, "teacher", "T-000004", "test")
        assert _support(connection) == [
            (
                "diploma_to_village",
                TODAY,
                dt.date(2028, 5, 19),
                393_200,
                5_000_000,
                mentor,
            )
        ]
        for year in (1, 2, 3):
            on = dt.date(2025 + year, 5, 20)
            given = {"year": year, "still_employed": "true"}
            case = _step(connection, case, "follow_up", "school", given, today=on)
            assert case.state == "supported" and case.due_on == on + dt.timedelta(days=365)
        case = _step(connection, case, "complete", "school", {}, today=dt.date(2028, 5, 20))
        assert case.state == "completed" and case.closed_on == dt.date(2028, 5, 20)
        assert [case.values[f"employed_year_{year}"] for year in (1, 2, 3)] == [True] * 3
        assert _support(connection)[0][2] == dt.date(2028, 5, 19)
        steps = history(connection, case)
    assert [step["action"] for step in steps] == [
        "register",
        "place",
        "assign_mentor",
        "grant_support",
        "follow_up",
        "follow_up",
        "follow_up",
        "complete",
    ]


def test_a_specialist_found_gone_at_a_follow_up_leaves_and_the_support_ends(
    sample: Engine,
) -> None:
    with sample.begin() as connection:
        case = _mentored(connection)
        given = {"lifting_allowance_tenge": ALLOWANCE_2025}
        case = _step(connection, case, "grant_support", "region", given)
        gone = dt.date(2026, 5, 25)
        case = _step(
            connection,
            case,
            "follow_up",
            "district",
            {"year": 1, "still_employed": "false"},
            today=gone,
        )
        assert case.state == "left" and case.values["employed_year_1"] is False
        assert _support(connection)[0][2] == gone


def test_leaving_a_rural_post_early_is_marked_for_repayment(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _mentored(connection)
        given = {"lifting_allowance_tenge": ALLOWANCE_2025}
        case = _step(connection, case, "grant_support", "district", given)
        case = _step(connection, case, "leave", "school", {"reason": "Moved to the city"})
        assert case.state == "left" and case.values["left_before_commitment"] is True
        assert _support(connection)[0][2] == TODAY


def test_diploma_to_village_is_refused_in_an_urban_school(sample: Engine) -> None:
    with sample.begin() as connection:
        code = _mentored(connection, school="SCH-11-001", mentor="T-000005").code
    assert_refused(
        sample,
        code,
        "grant_support",
        "district",
        {"lifting_allowance_tenge": ALLOWANCE_2025},
        StepRefused,
        "rural schools; the specialist's school is in a settlement classed urban",
        tables=[YoungSpecialistSupport],
    )


@pytest.mark.parametrize(
    ("vacancy", "today", "error", "message"),
    [
        ("V-11-2023-014", TODAY, StepRefused, "The vacancy V-11-2023-014 was filled on 2023-08-21"),
        ("V-11-2025-031", TODAY, StepRefused, "is published only from 2025-07-01"),
        ("V-71-2025-102", LATER, StepRefused, "not in the specialist's region \\(KZ-11\\)"),
        (None, TODAY, StepRefused, "Name the vacancy: none was given at registration"),
        ("V-99", TODAY, DataValidationError, "no vacancy 'V-99'"),
    ],
)
def test_a_placement_needs_an_open_published_vacancy_of_the_region(
    sample: Engine, vacancy: str | None, today: dt.date, error: type, message: str
) -> None:
    with sample.begin() as connection:
        _graduate(connection)
        code = _register(connection).code
    given = {"vacancy_code": vacancy} if vacancy else {}
    assert_refused(
        sample, code, "place", "district", given, error, message, tables=[Vacancy], today=today
    )


@pytest.mark.parametrize(
    ("mentor", "role", "error", "message"),
    [
        ("T-000008", "school", StepRefused, "T-000008 has 2 years of experience; .* at least 5"),
        ("T-000001", "school", StepRefused, "does not work in the young specialist's school"),
        (GRADUATE, "school", StepRefused, "cannot be their own mentor"),
        ("T-000004", "teacher", AccessDeniedError, "teacher accounts may not take"),
    ],
)
def test_a_mentor_works_in_the_school_with_5_years_of_experience(
    sample: Engine, mentor: str, role: str, error: type, message: str
) -> None:
    with sample.begin() as connection:
        _graduate(connection)
        code = _register(connection).code
    assert_refused(sample, code, "assign_mentor", role, {"mentor_code": mentor}, error, message)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"lifting_allowance_tenge": 369_200}, "100 MRP, 393,200 tenge in 2025"),
        ({}, "100 MRP, 393,200 tenge in 2025"),
        (
            {"lifting_allowance_tenge": ALLOWANCE_2025, "housing_loan_tenge": 5_898_001},
            "over the ceiling of 1,500 MRP, 5,898,000 tenge in 2025",
        ),
    ],
)
def test_the_village_amounts_are_100_mrp_and_at_most_1500_mrp(
    sample: Engine, given: dict, message: str
) -> None:
    with sample.begin() as connection:
        code = _mentored(connection).code
    assert_refused(
        sample,
        code,
        "grant_support",
        "district",
        given,
        StepRefused,
        message,
        tables=[YoungSpecialistSupport],
    )


def test_follow_ups_come_in_order_and_the_support_completes_after_three_years(
    sample: Engine,
) -> None:
    with sample.begin() as connection:
        case = _mentored(connection)
        given = {"lifting_allowance_tenge": ALLOWANCE_2025}
        code = _step(connection, case, "grant_support", "district", given).code
    assert_refused(
        sample,
        code,
        "follow_up",
        "school",
        {"year": 2, "still_employed": True},
        StepRefused,
        "The follow-up of year 1 comes next, not year 2",
    )
    assert_refused(
        sample, code, "complete", "school", {}, StepRefused, "after the follow-up of year 3"
    )


def test_only_a_young_specialist_is_registered(sample: Engine) -> None:
    with sample.connect() as connection:
        cases = connection.scalar(select(func.count()).select_from(WorkflowCase))
    with (
        pytest.raises(StepRefused, match="T-000001 is not marked as a young specialist"),
        sample.begin() as connection,
    ):
        open_case(
            connection,
            YOUNG,
            actor("school"),
            {"teacher_code": "T-000001", "programme": "school"},
            today=TODAY,
        )
    with sample.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(WorkflowCase)) == cases


def test_vacancies_are_ranked_by_subject_then_rural_for_the_village_programme(
    sample: Engine,
) -> None:
    with sample.begin() as connection:
        _graduate(connection, school="SCH-11-001")
        _vacancy(connection, "V-A", "SCH-11-001", "MATH", dt.date(2025, 3, 1))
        _vacancy(connection, "V-B", "SCH-11-002", "MATH", dt.date(2025, 4, 1))
        _vacancy(connection, "V-C", "SCH-11-003", "PHYS", dt.date(2025, 1, 10))
        _vacancy(connection, "V-D", "SCH-71-001", "MATH", dt.date(2025, 1, 5))
        local = match_vacancies(connection, GRADUATE, programme="school")
        village = match_vacancies(connection, GRADUATE, programme="diploma_to_village")
        _register(connection)
        registered = match_vacancies(connection, GRADUATE)
        two = match_vacancies(connection, GRADUATE, limit=2)
    # Filled V-11-2023-014 and the Astana vacancies are left out.
    assert list(local["vacancy"]) == ["V-A", "V-B", "V-C", "V-11-2025-031"]
    assert list(village["vacancy"]) == ["V-B", "V-A", "V-C", "V-11-2025-031"]
    assert list(registered["vacancy"]) == list(village["vacancy"])
    assert list(two["vacancy"]) == ["V-B", "V-A"]
    assert list(village["subject_match"]) == [True, True, False, False]
    assert list(village["rural"]) == [True, False, True, True]
    assert village.iloc[0].to_dict() == {
        "vacancy": "V-B",
        "school": "SCH-11-002",
        "district": "KZ11-BUR",
        "locality": "rural",
        "subject": "MATH",
        "position": "teacher",
        "weekly_hours": 18.0,
        "opened_on": dt.date(2025, 4, 1),
        "subject_match": True,
        "rural": True,
    }
