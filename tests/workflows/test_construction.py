"""The construction workflow: the project record through design, works and commissioning, the
site checked against the region, spending against the estimate, and the works' deadline."""

from __future__ import annotations

import datetime as dt

import pytest
from _refusals import assert_refused
from sqlalchemy import Connection, Engine, func, select

from conftest import TODAY, actor
from sapa.domain.casework import WorkflowCase
from sapa.domain.geography import Settlement
from sapa.domain.infrastructure import ConstructionProject
from sapa.domain.organizations import Organization
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, StepRefused, act, history, open_case

CONSTRUCTION = WORKFLOWS["construction"]
PLANNED_END = dt.date(2025, 12, 20)
RENOVATION = {
    "region_code": "KZ-11",
    "settlement_code": "KZ11-BUR-02",
    "organization_code": "SCH-11-002",
    "kind": "renovation",
    "programme": "local_budget",
    "places": 120,
    "cost_tenge": 300_000_000,
    "planned_end_on": PLANNED_END.isoformat(),
}


def _plan(connection: Connection, **changes: object):
    return open_case(connection, CONSTRUCTION, actor("region"), RENOVATION | changes, today=TODAY)


def _project(connection: Connection, code: str) -> dict:
    return dict(
        connection.execute(
            select(
                ConstructionProject.status,
                ConstructionProject.places,
                ConstructionProject.cost_tenge,
                ConstructionProject.actual_start_on,
                ConstructionProject.actual_end_on,
                ConstructionProject.planned_end_on,
                Settlement.code.label("settlement"),
                Organization.code.label("organization"),
            )
            .join(Settlement, ConstructionProject.settlement_id == Settlement.id)
            .outerjoin(Organization, ConstructionProject.organization_id == Organization.id)
            .where(ConstructionProject.code == code)
        )
        .one()
        ._mapping
    )


def _records(engine: Engine) -> list[int]:
    """Cases and project records: a refused plan adds neither."""
    with engine.connect() as connection:
        return [
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (WorkflowCase, ConstructionProject)
        ]


def _under_construction(connection: Connection, spent: int | None = None):
    case = act(connection, _plan(connection), "start_works", actor("region"), {}, today=TODAY)
    if spent is not None:
        case = act(
            connection,
            case,
            "report_spending",
            actor("district"),
            {"spent_tenge": spent},
            today=TODAY,
        )
    return case


def test_happy_path_commissions_the_project_with_its_places_and_cost(sample: Engine) -> None:
    later = TODAY + dt.timedelta(days=150)
    with sample.begin() as connection:
        case = _plan(connection)
        assert case.state == "planned" and case.due_on is None
        project = _project(connection, case.code)
        assert project["status"] == "planned" and project["settlement"] == "KZ11-BUR-02"
        assert project["organization"] == "SCH-11-002"
        assert project["planned_end_on"] == PLANNED_END and project["cost_tenge"] == 300_000_000
        case = act(connection, case, "start_design", actor("district"), {}, today=TODAY)
        assert _project(connection, case.code)["status"] == "design"
        case = act(connection, case, "start_works", actor("region"), {}, today=TODAY)
        assert case.state == "construction" and case.due_on == PLANNED_END
        project = _project(connection, case.code)
        assert project["status"] == "construction" and project["actual_start_on"] == TODAY
        for spent in (200_000_000, 350_000_000):
            case = act(
                connection,
                case,
                "report_spending",
                actor("district"),
                {"spent_tenge": spent},
                today=TODAY,
            )
        assert case.state == "construction" and case.due_on == PLANNED_END
        case = act(
            connection, case, "commission", actor("region"), {"actual_places": 130}, today=later
        )
        assert case.state == "commissioned" and case.closed_on == later and case.due_on is None
        project = _project(connection, case.code)
        steps = history(connection, case)
    assert project["status"] == "commissioned" and project["actual_end_on"] == later
    assert project["places"] == 130 and project["cost_tenge"] == 350_000_000
    assert [step["action"] for step in steps] == [
        "plan",
        "start_design",
        "start_works",
        "report_spending",
        "report_spending",
        "commission",
    ]


def test_a_new_school_needs_no_organisation_and_may_skip_the_design(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _plan(
            connection,
            settlement_code="KZ11-TSE-01",
            organization_code="",
            kind="new",
            programme="comfortable_school",
            places=600,
        )
        case = act(connection, case, "start_works", actor("region"), {}, today=TODAY)
        project = _project(connection, case.code)
    assert project["organization"] is None and project["status"] == "construction"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region_code": "KZ-71"}, "Settlement KZ11-BUR-02 is not in region KZ-71"),
        ({"organization_code": "SCH-11-001"}, "School SCH-11-001 is not in settlement"),
        ({"organization_code": ""}, "A renovation project names the school it serves"),
        ({"programme": "comfortable_school"}, "builds new schools only"),
        ({"planned_end_on": "2025-01-31"}, "The planned end 2025-01-31 is in the past"),
    ],
)
def test_a_plan_off_the_rules_opens_nothing(sample: Engine, changes: dict, message: str) -> None:
    before = _records(sample)
    with pytest.raises(StepRefused, match=message), sample.begin() as connection:
        _plan(connection, **changes)
    assert _records(sample) == before


@pytest.mark.parametrize(
    ("action", "role", "given", "error", "message"),
    [
        (
            "report_spending",
            "district",
            {"spent_tenge": 100_000_000},
            StepRefused,
            "Spending is cumulative: 100,000,000 tenge is less than the 200,000,000 reported",
        ),
        (
            "report_spending",
            "district",
            {"spent_tenge": 360_000_001},
            StepRefused,
            r"more than 120 % of the estimated cost \(300,000,000 tenge\)",
        ),
        (
            "revise_estimate",
            "region",
            {"cost_tenge": 150_000_000},
            StepRefused,
            "cannot be less than the 200,000,000 tenge already spent",
        ),
        ("start_design", "district", {}, StepRefused, "can be taken only when it is planned"),
        ("commission", "district", {"actual_places": 120}, AccessDeniedError, "may not take"),
        ("commission", "region", {"actual_places": 0}, DataValidationError, "below the minimum"),
    ],
)
def test_invalid_steps_are_refused_and_change_nothing(
    sample: Engine, action: str, role: str, given: dict, error: type, message: str
) -> None:
    with sample.begin() as connection:
        code = _under_construction(connection, spent=200_000_000).code
    assert_refused(sample, code, action, role, given, error, message, tables=[ConstructionProject])


def test_a_revised_estimate_admits_more_spending_and_is_recorded(sample: Engine) -> None:
    with sample.begin() as connection:
        case = _under_construction(connection, spent=300_000_000)
        case = act(
            connection,
            case,
            "revise_estimate",
            actor("region"),
            {"cost_tenge": 400_000_000},
            today=TODAY,
        )
        case = act(
            connection,
            case,
            "report_spending",
            actor("district"),
            {"spent_tenge": 450_000_000},
            today=TODAY,
        )
        assert _project(connection, case.code)["cost_tenge"] == 400_000_000
    assert case.values["spent_tenge"] == 450_000_000


def test_works_past_the_planned_end_are_overdue(sample: Engine) -> None:
    with sample.begin() as connection:
        planned = _plan(connection)
        assert not planned.overdue(PLANNED_END + dt.timedelta(days=1))
        case = act(connection, planned, "start_works", actor("region"), {}, today=TODAY)
        assert not case.overdue(PLANNED_END)
        assert case.overdue(PLANNED_END + dt.timedelta(days=1))
        case = act(connection, case, "cancel", actor("region"), {"reason": "Site"}, today=TODAY)
        assert _project(connection, case.code)["status"] == "cancelled"
    assert case.state == "cancelled" and not case.overdue(PLANNED_END + dt.timedelta(days=1))
