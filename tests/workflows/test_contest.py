"""The Best Teacher contest: the three stages, the 80-point and top-10 rules of the district,
the winner's prize of 1,000 MRP as an award, the 64 winners a year, and refusals that change
nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Engine, func, insert, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.people import Teacher
from sapa.domain.workforce import Award
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, open_case
from sapa.workflows._common import MRP_TENGE
from sapa.workflows.contest import ADVANCE_SCORE, DISTRICT_QUOTA, WINNERS_PER_YEAR

CONTEST = WORKFLOWS["contest"]
STAGES = [
    ("score_district", "district", {"district_score": 92, "district_rank": 1}),
    ("advance_to_region", "district", {}),
    ("score_region", "region", {"region_score": 90.5}),
    ("advance_to_republic", "region", {}),
    ("score_republic", "ministry", {"republic_score": 95}),
]


def _nominate(connection, teacher: str = "T-000001", year: int = 2025):
    return open_case(
        connection,
        CONTEST,
        actor("school"),
        {"teacher_code": teacher, "year": year},
        today=TODAY,
    )


def _through(connection, case, stages):
    for action, role, given in stages:
        case = act(connection, case, action, actor(role), given, today=TODAY)
    return case


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


def test_the_published_rules() -> None:
    assert (ADVANCE_SCORE, DISTRICT_QUOTA, WINNERS_PER_YEAR) == (80, 10, 64)
    assert MRP_TENGE == {2024: 3692, 2025: 3932, 2026: 4325}


def test_a_winner_gets_1000_mrp_of_the_year_as_an_award(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _nominate(connection)
        assert case.state == "nominated" and case.title == "T-000001, Best Teacher 2025"
        case = _through(connection, case, STAGES)
        assert case.state == "republic_scored"
        case = act(connection, case, "award", actor("ministry"), {"place": "winner"}, today=TODAY)
        assert case.state == "winner" and case.closed_on == TODAY
        assert case.values["payment_tenge"] == 3_932_000
        awards = _awards(connection, "T-000001")
        steps = history(connection, case)
    # The sample's 2024 prize, and this one at the 2025 index.
    assert awards[-1] == (
        "best_pedagogue",
        "Best Teacher 2025, winner of the republican stage",
        TODAY,
        "Ministry of Enlightenment",
        1000 * 3932,
    )
    assert awards[0][2] == dt.date(2024, 10, 4)
    assert [step["to_state"] for step in steps] == [
        "nominated",
        "district_scored",
        "regional_stage",
        "region_scored",
        "republican_stage",
        "republic_scored",
        "winner",
    ]


def test_a_laureate_gets_no_prize(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _through(connection, _nominate(connection), STAGES)
        case = act(connection, case, "award", actor("ministry"), {"place": "laureate"}, today=TODAY)
        assert case.state == "laureate" and "payment_tenge" not in case.values
        assert len(_awards(connection, "T-000001")) == 1


def test_an_entry_can_be_eliminated_at_the_regional_stage(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _through(connection, _nominate(connection), STAGES[:3])
        case = act(connection, case, "eliminate", actor("region"), {}, today=TODAY)
        assert case.state == "eliminated" and case.closed_on == TODAY


@pytest.mark.parametrize(
    ("score", "rank", "message"),
    [
        (79.5, 1, "scored 79.5 of 100 at the district stage; at least 80 are needed"),
        (85, 11, "placed 11 in the district; only the top 10"),
    ],
)
def test_the_district_sends_on_only_its_top_10_with_80_points(
    sample: Engine, score: float, rank: int, message: str
) -> None:
    with sample.begin() as connection:
        case = _nominate(connection)
        given = {"district_score": score, "district_rank": rank}
        case = act(connection, case, "score_district", actor("district"), given, today=TODAY)
    assert_refused(sample, case.code, "advance_to_region", "district", {}, StepRefused, message)
    with sample.begin() as connection:
        case = act(connection, case, "eliminate", actor("district"), {}, today=TODAY)
        assert case.state == "eliminated"


@pytest.mark.parametrize(
    ("stages", "action", "role", "given", "error", "message"),
    [
        (
            1,
            "score_region",
            "region",
            {"region_score": 90},
            StepRefused,
            "can be taken only when it is at the regional stage",
        ),
        (0, "score_district", "region", {"district_score": 90}, AccessDeniedError, "may not"),
        (5, "award", "region", {"place": "winner"}, AccessDeniedError, "may not take"),
        (5, "award", "ministry", {"place": "champion"}, DataValidationError, "not one of"),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine,
    stages: int,
    action: str,
    role: str,
    given: dict,
    error: type,
    message: str,
) -> None:
    with sample.begin() as connection:
        case = _through(connection, _nominate(connection), STAGES[:stages])
    assert_refused(sample, case.code, action, role, given, error, message, tables=[Award])


def test_the_65th_winner_of_a_year_is_refused(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _through(connection, _nominate(connection), STAGES)
        others = connection.scalars(select(Teacher.id).where(Teacher.code != "T-000001")).all()
        connection.execute(
            insert(Award),
            [
                {
                    "teacher_id": teacher,
                    "kind": "best_pedagogue",
                    "title": "Best Teacher 2025",
                    "awarded_on": dt.date(2025, 1, day),
                    "conferred_by": "Ministry of Enlightenment",
                }
                for teacher in others
                for day in range(1, 11)
            ][:WINNERS_PER_YEAR],
        )
    assert_refused(
        sample,
        case.code,
        "award",
        "ministry",
        {"place": "winner"},
        StepRefused,
        "The 64 winners of 2025 have already been named",
        tables=[Award],
    )


def test_a_prize_in_a_year_without_a_known_index_is_refused(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _through(connection, _nominate(connection), STAGES)
    assert_refused(
        sample,
        case.code,
        "award",
        "ministry",
        {"place": "winner"},
        StepRefused,
        "monthly calculation index of 2027 is not known",
        tables=[Award],
        today=dt.date(2027, 10, 5),
    )


@pytest.mark.parametrize(
    ("teacher", "year", "message"),
    [
        ("T-000008", 2025, "T-000008 has 2 years of pedagogical experience; .* at least 5"),
        ("T-000001", 2024, "this year's or next year's contest, not 2024"),
    ],
)
def test_a_nomination_that_breaks_the_rules_opens_no_case(
    sample: Engine, teacher: str, year: int, message: str
) -> None:
    with sample.connect() as connection:
        cases = connection.scalar(select(func.count()).select_from(WorkflowCase))
    with pytest.raises(StepRefused, match=message), sample.begin() as connection:
        _nominate(connection, teacher, year)
    with sample.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(WorkflowCase)) == cases
