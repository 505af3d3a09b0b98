"""Every workflow through the API, as the accounts that work it: the happy path from opening to
a final state, a step the case's state does not allow (409, nothing changed), a role that may
not take a step (403), and the scope: a case outside the account's place is not found, and a
case cannot be opened for a subject outside it.

The scenarios name codes of the tiny nation through ``Codes``; each step is taken by the account
of the role given, and the history must list the steps in order with their accounts.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select

from conftest import csrf_of
from sapa.domain.casework import WorkflowCase
from sapa.domain.leadership import LeadershipCohort
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher
from sapa.ingest import read_entity
from sapa.synth import REFERENCE_DATE
from sapa.workflows import WORKFLOWS

WORKING_DAY = REFERENCE_DATE
"""The application's working day in the web tests: the synthetic nation's date."""
TODAY = WORKING_DAY.isoformat()
DUE = (WORKING_DAY + dt.timedelta(days=120)).isoformat()
YEAR = WORKING_DAY.year


_INSPECTORS = itertools.cycle(("sanitary_epidemiological", "quality_assurance_committee"))
"""Inspecting bodies taken in turn: one body inspects a school once a day."""
_GRADUATES = itertools.count(1)
_TAKEN: set[str] = set()
"""Teachers a scenario has already used in this session."""


@dataclass(frozen=True)
class Codes:
    """Codes of the tiny nation a scenario may name."""

    places: Any
    engine: Engine

    def first(self, entity: str, **where: str) -> str:
        frame = read_entity(self.engine, entity)
        for column, value in where.items():
            frame = frame[frame[column] == value]
        return str(frame["code"].iloc[0])

    def veteran(self, school: str, skip: str | None = None) -> str:
        """A teacher in post at ``school`` with at least 5 years of experience, a new one at
        every call (cases of one teacher would meet each other's rules: one attestation under
        way, one application per intake)."""
        teachers = read_entity(self.engine, "teacher")
        teachers = teachers[~teachers["code"].isin(self.busy())]
        chosen = teachers[
            (teachers["organization_code"] == school)
            & (teachers["experience_years"] >= 5)
            & teachers["left_on"].isna()
            & (teachers["position"] == "teacher")
            & (teachers["code"] != skip)
            & ~teachers["code"].isin(_TAKEN)
        ]
        code = str(chosen["code"].iloc[0])
        _TAKEN.add(code)
        return code

    def young_specialist(self, region: str) -> str:
        """A graduate just hired as a young specialist at a school of ``region`` that has a
        possible mentor: added to the teacher register, as the school's staff import would
        (the synthetic nation's young specialists all have their case already)."""
        teachers = read_entity(self.engine, "teacher")
        schools = read_entity(self.engine, "organization").set_index("code")["settlement_code"]
        districts = read_entity(self.engine, "settlement").set_index("code")["district_code"]
        regions = read_entity(self.engine, "district").set_index("code")["region_code"]
        teachers["region"] = teachers["organization_code"].map(schools).map(districts).map(regions)
        mentors = teachers[
            teachers["left_on"].isna()
            & (teachers["experience_years"] >= 5)
            & (teachers["region"] == region)
        ]
        school = str(mentors["organization_code"].iloc[0])
        code = f"T-GRAD-{next(_GRADUATES):04d}"
        with self.engine.begin() as connection:
            connection.execute(
                insert(Teacher).values(
                    code=code,
                    sex="F",
                    birth_year=WORKING_DAY.year - 22,
                    organization_id=select(Organization.id)
                    .where(Organization.code == school)
                    .scalar_subquery(),
                    position="teacher",
                    education_level="bachelor",
                    experience_years=0,
                    weekly_hours=16,
                    hired_on=WORKING_DAY,
                    young_specialist=True,
                    young_specialist_since=WORKING_DAY,
                )
            )
        return code

    def busy(self) -> set[str]:
        """Teachers with an open case in any workflow (the synthetic nation's or a test's)."""
        cases = read_entity(self.engine, "workflow_case")
        return set(cases.loc[cases["closed_on"].isna(), "teacher_code"].dropna())

    def cohort(self) -> str:
        """The programme's summer cohort of the working day's year (the synthetic nation's
        cohorts are those already trained), added to the catalogue if absent."""
        code = f"L{YEAR}-BAS-90"
        with self.engine.begin() as connection:
            if connection.scalar(select(LeadershipCohort.id).where(LeadershipCohort.code == code)):
                return code
            connection.execute(
                insert(LeadershipCohort).values(
                    code=code,
                    level="basic",
                    provider="Centre of Pedagogical Excellence",
                    starts_on=dt.date(YEAR, 7, 21),
                    ends_on=dt.date(YEAR, 9, 12),
                )
            )
        return code

    def course(self) -> str:
        """A course of at least 24 hours."""
        courses = read_entity(self.engine, "course")
        return str(courses.loc[courses["hours"] >= 24, "code"].iloc[0])


Values = dict[str, Any] | Callable[[Codes, dict[str, Any]], dict[str, Any]]
"""A step's values, or a function of the codes and the case (as the API shows it) giving them."""


def values_for(values: Values, codes: Codes, case: dict[str, Any]) -> dict[str, Any]:
    return values(codes, case) if callable(values) else values


@dataclass(frozen=True)
class Scenario:
    """A workflow walked to a final state: who opens it with what, then each step."""

    opener: str
    opening: Callable[[Codes], dict[str, Any]]
    steps: list[tuple[str, str, Values]]
    final: str
    outside: Callable[[Codes], dict[str, Any]] | None
    """Opening values naming a subject outside the opener's place (None: the opener is
    national, so nothing is outside)."""
    stranger: str
    """An account that must not see the case."""
    premature: tuple[str, str, dict[str, Any]]
    """A step the case's state does not allow: (role, action, values)."""
    browser_step: tuple[str, str, Values] | None = None
    """The step the browser test takes through the case page's form, if not the first: the
    first would meet the API test's record of the same school and day."""
    before_premature: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """Steps that lead to that state first (none: the state the case opens in)."""


SCENARIOS: dict[str, Scenario] = {
    "attestation": Scenario(
        opener="school",
        opening=lambda c: {
            "teacher_code": c.veteran(c.places.school),
            "target_category": "pedagogue_expert",
            "due_on": DUE,
        },
        steps=[
            ("district", "record_test", {"score_percent": 76}),
            ("district", "review_portfolio", {"portfolio_score": 81}),
            ("region", "decide", {"result": "assigned"}),
            ("school", "close", {}),
        ],
        final="closed",
        outside=lambda c: {
            "teacher_code": c.veteran(c.places.other_school),
            "target_category": "pedagogue_expert",
            "due_on": DUE,
        },
        stranger="other-school",
        premature=("school", "close", {}),
    ),
    "incident": Scenario(
        opener="school",
        opening=lambda c: {
            "organization_code": c.places.school,
            "kind": "bullying",
            "severity": "medium",
        },
        steps=[
            ("district", "assess", {"finding": "founded"}),
            ("school", "take_measures", {"measures": "Mediation with the psychologist"}),
            ("school", "close", {"outcome": "No repetition in a month"}),
        ],
        final="resolved",
        outside=lambda c: {
            "organization_code": c.places.other_school,
            "kind": "bullying",
            "severity": "low",
        },
        stranger="other-school",
        premature=("school", "close", {"outcome": "Too early"}),
    ),
    "instruction": Scenario(
        opener="ministry",
        opening=lambda c: {
            "region_code": c.places.region,
            "task": "Subject classrooms in every rural school",
            "due_on": DUE,
            "indicator": "conditions.subject_rooms",
            "target": 1,
        },
        steps=[
            ("region", "acknowledge", {}),
            ("region", "report_progress", {"progress_percent": 40, "value": 0.7}),
            ("region", "submit", {"result": "Rooms delivered to 31 schools"}),
            ("ministry", "accept", {}),
        ],
        final="completed",
        outside=None,
        stranger="district",
        premature=("ministry", "accept", {}),
    ),
    "development": Scenario(
        opener="school",
        opening=lambda c: {
            "teacher_code": c.veteran(c.places.school),
            "course_code": c.course(),
            "starts_on": TODAY,
        },
        steps=[("school", "complete", {"hours_credited": 24, "certificate_number": "C-0042"})],
        final="completed",
        outside=lambda c: {
            "teacher_code": c.places.other_teacher,
            "course_code": c.course(),
            "starts_on": TODAY,
        },
        stranger="other-school",
        premature=("school", "complete", {"hours_credited": 24}),
        before_premature=[("school", "withdraw", {"reason": "Moved to another school"})],
    ),
    "contest": Scenario(
        opener="school",
        opening=lambda c: {"teacher_code": c.veteran(c.places.school), "year": YEAR},
        steps=[
            ("district", "score_district", {"district_score": 86, "district_rank": 2}),
            ("district", "advance_to_region", {}),
            ("region", "score_region", {"region_score": 88}),
            ("region", "advance_to_republic", {}),
            ("ministry", "score_republic", {"republic_score": 91}),
            ("ministry", "award", {"place": "winner"}),
        ],
        final="winner",
        outside=lambda c: {"teacher_code": c.veteran(c.places.other_school), "year": YEAR},
        stranger="other-school",
        premature=("ministry", "award", {"place": "winner"}),
    ),
    "honour": Scenario(
        opener="school",
        opening=lambda c: {
            "teacher_code": c.veteran(c.places.school),
            "kind": "ministry_badge",
            "title": "Badge «Ы. Алтынсарин»",
        },
        steps=[
            ("region", "endorse", {}),
            ("ministry", "confer", {"awarded_on": TODAY, "conferred_by": "Ministry"}),
        ],
        final="conferred",
        outside=lambda c: {
            "teacher_code": c.veteran(c.places.other_school),
            "kind": "regional_award",
            "title": "Akim's letter of thanks",
        },
        stranger="other-school",
        premature=("ministry", "confer", {"awarded_on": TODAY, "conferred_by": "Ministry"}),
    ),
    "young_specialist": Scenario(
        opener="region",
        opening=lambda c: {
            "teacher_code": c.young_specialist(c.places.region),
            "programme": "school",
        },
        steps=[
            (
                "region",
                "assign_mentor",
                lambda c, case: {"mentor_code": c.veteran(case["school"], skip=case["teacher"])},
            ),
            ("region", "grant_support", {}),
            ("region", "follow_up", {"year": 1, "still_employed": "false"}),
        ],
        final="left",
        outside=lambda c: {
            "teacher_code": c.young_specialist(c.places.other_region),
            "programme": "local",
        },
        stranger="other-school",
        premature=("region", "grant_support", {}),
    ),
    "leadership": Scenario(
        opener="school",
        opening=lambda c: {"teacher_code": c.veteran(c.places.school), "intake_year": YEAR},
        steps=[
            ("ministry", "score_test", {"test_score_percent": 78}),
            ("region", "interview", {"interview_score_percent": 84}),
            ("ministry", "select", {"decision": "admitted"}),
            ("ministry", "enrol", lambda c, case: {"cohort_code": c.cohort()}),
            ("ministry", "complete_training", {"final_score_percent": 82}),
            ("ministry", "include_in_reserve", {}),
            (
                "region",
                "appoint",
                lambda c, case: {"organization_code": c.places.school, "appointed_on": TODAY},
            ),
        ],
        final="appointed",
        outside=lambda c: {
            "teacher_code": c.veteran(c.places.other_school),
            "intake_year": YEAR,
        },
        stranger="other-school",
        premature=("region", "appoint", {"organization_code": "X", "appointed_on": TODAY}),
    ),
    "construction": Scenario(
        opener="region",
        opening=lambda c: {
            "region_code": c.places.region,
            "settlement_code": c.first("settlement", district_code=c.places.district),
            "kind": "new",
            "programme": "comfortable_school",
            "places": 1200,
            "cost_tenge": 9_000_000_000,
            "planned_end_on": DUE,
        },
        steps=[
            ("region", "start_design", {}),
            ("region", "start_works", {}),
            ("region", "report_spending", {"spent_tenge": 4_500_000_000}),
            ("region", "commission", {"actual_places": 1200}),
        ],
        final="commissioned",
        outside=lambda c: {
            "region_code": c.places.other_region,
            "settlement_code": c.first("settlement", district_code=c.places.other_district),
            "kind": "new",
            "programme": "local_budget",
            "places": 300,
            "cost_tenge": 1_000_000_000,
            "planned_end_on": DUE,
        },
        stranger="district",
        premature=("region", "commission", {"actual_places": 1200}),
    ),
    "equipment": Scenario(
        opener="school",
        opening=lambda c: {
            "organization_code": c.places.school,
            "building_code": c.first("building", organization_code=c.places.school),
            "kind": "robotics",
            "room": "214",
            "seats": 24,
        },
        steps=[
            ("region", "approve", {"amount_tenge": 18_000_000}),
            ("district", "order", {"supplier": "Kazakh Edu Supply", "due_on": DUE}),
            ("school", "deliver", {"delivered_on": TODAY}),
        ],
        final="delivered",
        outside=lambda c: {
            "organization_code": c.places.other_school,
            "building_code": c.first("building", organization_code=c.places.other_school),
            "kind": "chemistry",
            "room": "101",
            "seats": 20,
        },
        stranger="other-school",
        premature=("school", "deliver", {"delivered_on": TODAY}),
    ),
    "meals_inspection": Scenario(
        opener="district",
        opening=lambda c: {
            "organization_code": c.places.school,
            "inspector": next(_INSPECTORS),
            "due_on": DUE,
        },
        steps=[
            ("district", "record_findings", {"violations_count": 2, "findings": "Menu not posted"}),
            ("district", "confirm_remedied", {"follow_up": "Menu posted; storage fixed"}),
        ],
        final="remedied",
        outside=lambda c: {
            "organization_code": c.places.other_school,
            "inspector": "education_department",
            "due_on": DUE,
        },
        stranger="other-school",
        premature=("district", "confirm_remedied", {"follow_up": "Too early"}),
    ),
    "parent_appeal": Scenario(
        opener="school",
        opening=lambda c: {
            "organization_code": c.places.school,
            "channel": "hotline_111",
            "topic": "meals",
        },
        steps=[
            ("school", "assign", {"handler": "Deputy head for welfare"}),
            ("school", "answer", {"answer": "Portions checked with the caterer"}),
        ],
        final="answered",
        outside=lambda c: {
            "organization_code": c.places.other_school,
            "channel": "egov",
            "topic": "fees",
        },
        stranger="other-school",
        premature=("school", "extend", {"reason": "Waiting for the caterer"}),
    ),
    "council_meeting": Scenario(
        opener="school",
        opening=lambda c: {
            "organization_code": c.places.school,
            "due_on": TODAY,
            "agenda": "Meals contract; new sports hall",
        },
        steps=[
            ("school", "hold", {"members_total": 12, "members_present": 10, "decisions_count": 3}),
            ("school", "publish_minutes", {"published_at": "School website, news section"}),
        ],
        final="published",
        outside=lambda c: {
            "organization_code": c.places.other_school,
            "due_on": TODAY,
            "agenda": "Budget",
        },
        stranger="other-school",
        premature=("school", "publish_minutes", {"published_at": "Too early"}),
        browser_step=("school", "cancel", {"reason": "Members on leave"}),
    ),
}


@pytest.fixture
def codes(web_engine: Engine, places: Any) -> Codes:
    return Codes(places, web_engine)


def _post(client: TestClient, url: str, values: dict[str, Any]):  # type: ignore[no-untyped-def]
    return client.post(url, json={"values": values}, headers={"X-CSRF-Token": csrf_of(client)})


def _count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(WorkflowCase)) or 0)


def test_every_workflow_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(WORKFLOWS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_happy_path(name: str, client_as, codes: Codes) -> None:
    scenario = SCENARIOS[name]
    clients: dict[str, TestClient] = {}

    def client(role: str) -> TestClient:
        if role not in clients:
            clients[role] = client_as(role)
        return clients[role]

    opened = _post(
        client(scenario.opener), f"/api/v1/workflows/{name}/cases", scenario.opening(codes)
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    code = case["code"]
    assert case["workflow"] == name and case["state"] == WORKFLOWS[name].opening.target
    for role, action, values in scenario.steps:
        shown = client(role).get(f"/api/v1/cases/{code}").json()
        assert action in shown.get("steps", ()), (role, action, shown)
        given = values_for(values, codes, shown)
        answer = _post(client(role), f"/api/v1/cases/{code}/steps/{action}", given)
        assert answer.status_code == 200, (action, answer.text)
    final = client(scenario.opener).get(f"/api/v1/cases/{code}").json()
    assert final["state"] == scenario.final and final["closed_on"] and final["steps"] == []
    assert [event["action"] for event in final["history"]] == [
        WORKFLOWS[name].opening.action,
        *(action for _, action, _ in scenario.steps),
    ]
    assert [event["role"] for event in final["history"][1:]] == [r for r, _, _ in scenario.steps]
    listed = client(scenario.opener).get(f"/api/v1/workflows/{name}/cases", params={"limit": 1000})
    assert code in {row["code"] for row in listed.json()["rows"]}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_invalid_steps_are_refused_and_change_nothing(name: str, client_as, codes: Codes) -> None:
    scenario = SCENARIOS[name]
    opener = client_as(scenario.opener)
    code = _post(opener, f"/api/v1/workflows/{name}/cases", scenario.opening(codes)).json()["code"]

    def unchanged(before: dict[str, Any]) -> None:
        after = opener.get(f"/api/v1/cases/{code}").json()
        assert after["state"] == before["state"] and after["history"] == before["history"]
        assert after["values"] == before["values"]

    opened = opener.get(f"/api/v1/cases/{code}").json()
    first_role, first_action, first_values = scenario.steps[0]
    first_values = values_for(first_values, codes, opened)
    wrong_role = next(r for r in ("teacher", "analyst", "auditor") if r != first_role)
    refused = _post(
        client_as(wrong_role), f"/api/v1/cases/{code}/steps/{first_action}", first_values
    )
    assert refused.status_code in (403, 404), refused.text
    unknown = _post(
        client_as(first_role), f"/api/v1/cases/{code}/steps/{first_action}", {"colour": "red"}
    )
    assert unknown.status_code == 400 and "colour" in unknown.json()["detail"]
    unchanged(opened)

    for role, action, values in scenario.before_premature:
        assert _post(client_as(role), f"/api/v1/cases/{code}/steps/{action}", values).is_success
    before = opener.get(f"/api/v1/cases/{code}").json()
    later_role, later_action, later_values = scenario.premature
    too_early = _post(
        client_as(later_role), f"/api/v1/cases/{code}/steps/{later_action}", later_values
    )
    assert too_early.status_code == 409, too_early.text
    assert "can be taken only when" in too_early.json()["detail"]
    unchanged(before)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scope_is_enforced(name: str, client_as, codes: Codes, web_engine: Engine) -> None:
    scenario = SCENARIOS[name]
    opener = client_as(scenario.opener)
    code = _post(opener, f"/api/v1/workflows/{name}/cases", scenario.opening(codes)).json()["code"]
    stranger = client_as(scenario.stranger)
    assert stranger.get(f"/api/v1/cases/{code}").status_code == 404
    role, action, values = scenario.steps[0]
    given = values_for(values, codes, opener.get(f"/api/v1/cases/{code}").json())
    assert _post(stranger, f"/api/v1/cases/{code}/steps/{action}", given).status_code in (403, 404)
    listed = stranger.get(f"/api/v1/workflows/{name}/cases", params={"limit": 1000})
    if listed.status_code == 200:
        assert code not in {row["code"] for row in listed.json()["rows"]}
    if scenario.outside is not None:
        before = _count(web_engine)
        outside = _post(opener, f"/api/v1/workflows/{name}/cases", scenario.outside(codes))
        assert outside.status_code == 404, outside.text
        assert _count(web_engine) == before


def test_definitions_and_summary(client_as) -> None:
    ministry = client_as("ministry")
    definitions = {w["name"]: w for w in ministry.get("/api/v1/workflows").json()}
    assert set(definitions) == set(WORKFLOWS)
    attestation = definitions["attestation"]
    assert attestation["sensitivity"] == "personal"
    record = next(s for s in attestation["steps"] if s["action"] == "record_test")
    assert record["sources"] == ["applied"] and record["fields"][0]["high"] == 100
    summary = ministry.get("/api/v1/cases/summary").json()
    rows = {row["workflow"]: row for row in summary["rows"]}
    assert rows["attestation"]["readable"] is False  # personal: the ministry sees counts
    assert rows["instruction"]["can_open"] is True
    assert ministry.get("/api/v1/workflows/attestation/cases").status_code == 403
    assert ministry.get("/api/v1/workflows/incident/cases").status_code == 403
    assert ministry.get("/api/v1/workflows/no_such_workflow/cases").status_code == 404


def test_attestation_reminders_are_scoped(client_as, places: Any) -> None:
    school = client_as("school").get("/api/v1/attestations/due", params={"within_days": 3650})
    assert school.status_code == 200
    assert set(school.json()["rows"][0]) >= {
        "teacher",
        "school",
        "due_on",
        "days_left",
        "open_case",
    }
    assert {row["school"] for row in school.json()["rows"]} <= {places.school}
    assert client_as("ministry").get("/api/v1/attestations/due").status_code == 403
