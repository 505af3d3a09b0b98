"""Every workflow through the API, as the accounts that work it: the happy path from opening to
a final state, a step the case's state does not allow (409, nothing changed), a role that may
not take a step (403), and the scope: a case outside the account's place is not found, and a
case cannot be opened for a subject outside it.

The scenarios name codes of the tiny nation through ``Codes``; each step is taken by the account
of the role given, and the history must list the steps in order with their accounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from conftest import csrf_of
from sapa.domain.casework import WorkflowCase
from sapa.ingest import read_entity
from sapa.workflows import WORKFLOWS

DUE = (dt.date.today() + dt.timedelta(days=120)).isoformat()


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


@dataclass(frozen=True)
class Scenario:
    """A workflow walked to a final state: who opens it with what, then each step."""

    opener: str
    opening: Callable[[Codes], dict[str, Any]]
    steps: list[tuple[str, str, dict[str, Any]]]
    final: str
    outside: Callable[[Codes], dict[str, Any]] | None
    """Opening values naming a subject outside the opener's place (None: the opener is
    national, so nothing is outside)."""
    stranger: str
    """An account that must not see the case."""


SCENARIOS: dict[str, Scenario] = {
    "attestation": Scenario(
        opener="school",
        opening=lambda c: {
            "teacher_code": c.places.teacher,
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
            "teacher_code": c.places.other_teacher,
            "target_category": "pedagogue_expert",
            "due_on": DUE,
        },
        stranger="other-school",
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
        assert action in client(role).get(f"/api/v1/cases/{code}").json()["steps"], (role, action)
        answer = _post(client(role), f"/api/v1/cases/{code}/steps/{action}", values)
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
    before = opener.get(f"/api/v1/cases/{code}").json()
    later_role, later_action, later_values = scenario.steps[-1]
    worker = client_as(later_role)
    too_early = _post(worker, f"/api/v1/cases/{code}/steps/{later_action}", later_values)
    assert too_early.status_code == 409, too_early.text
    assert "can be taken only when" in too_early.json()["detail"]
    first_role, first_action, first_values = scenario.steps[0]
    wrong_role = next(r for r in ("teacher", "analyst", "auditor") if r != first_role)
    refused = _post(
        client_as(wrong_role), f"/api/v1/cases/{code}/steps/{first_action}", first_values
    )
    assert refused.status_code in (403, 404), refused.text
    unknown = _post(
        client_as(first_role), f"/api/v1/cases/{code}/steps/{first_action}", {"colour": "red"}
    )
    assert unknown.status_code == 400 and "colour" in unknown.json()["detail"]
    after = opener.get(f"/api/v1/cases/{code}").json()
    assert after["state"] == before["state"] and after["history"] == before["history"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scope_is_enforced(name: str, client_as, codes: Codes, web_engine: Engine) -> None:
    scenario = SCENARIOS[name]
    opener = client_as(scenario.opener)
    code = _post(opener, f"/api/v1/workflows/{name}/cases", scenario.opening(codes)).json()["code"]
    stranger = client_as(scenario.stranger)
    assert stranger.get(f"/api/v1/cases/{code}").status_code == 404
    role, action, values = scenario.steps[0]
    assert _post(stranger, f"/api/v1/cases/{code}/steps/{action}", values).status_code in (403, 404)
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
