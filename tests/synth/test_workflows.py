"""The synthetic nation's casework: every history is one the workflows allow, and the cases agree
with the records they stand behind."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sapa.domain.access import Role
from sapa.domain.casework import WorkflowCase, WorkflowEvent
from sapa.synth import REFERENCE_DATE, SCALES, generate_nation, plan_nation
from sapa.synth._casework import INSTRUCTIONS, Move, add_casework, walk
from sapa.synth._leadership import add_leadership
from sapa.synth._projects import add_projects
from sapa.synth._welfare import add_welfare
from sapa.workflows import WORKFLOWS, StepRefused

SchemaCheck = Callable[..., None]

REMEMBERED = {
    ("attestation", "apply"): {"current_category"},
    ("incident", "report"): {"incident_code"},
    ("young_specialist", "place"): {"school_code"},
}
"""Values a step's effect stores on a case beside those the step gives."""
WITHOUT_DEADLINES = {"contest", "development", "honour", "leadership"}
"""Workflows whose steps set no deadline (nothing in them is ever overdue)."""
LATE_ONLY_WHEN_RECORDED = {"construction"}
"""Overdue only when a record says so (works past their planned end): none may be, at the tiny
scale."""


@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("casework") / "tiny"
    generate_nation(out, scale="tiny", seed=7)
    return out


def _read(nation: Path, entity: str, *, plain: bool = True) -> pd.DataFrame:
    """The entity's rows from every region; ``plain``: missing values as ``None``."""
    table = pd.concat(
        [pd.read_parquet(path) for path in sorted(nation.glob(f"regions/*/{entity}.parquet"))],
        ignore_index=True,
    )
    return table.astype(object).where(table.notna(), None) if plain else table


@pytest.fixture(scope="module")
def cases(nation: Path) -> pd.DataFrame:
    table = _read(nation, "workflow_case")
    return table.assign(values=table["data"].map(json.loads))


@pytest.fixture(scope="module")
def events(nation: Path) -> pd.DataFrame:
    table = _read(nation, "workflow_event")
    return table.assign(
        at=pd.to_datetime(table["at"]), given=table["changes"].map(json.loads)
    ).sort_values(["workflow_case_code", "sequence"])


def _of(cases: pd.DataFrame, workflow: str) -> pd.DataFrame:
    """The workflow's cases with their values as columns (``v_<name>``)."""
    found = cases[cases["workflow"] == workflow]
    values = pd.DataFrame(list(found["values"]), index=found.index, dtype=object).add_prefix("v_")
    return pd.concat([found, values], axis=1)


def _keys(table: pd.DataFrame, *columns: str) -> set[tuple[str, ...]]:
    """The rows' values of ``columns`` as text tuples (dates in ISO form, as cases hold them)."""
    if table.empty:
        return set()
    return {
        tuple(v.isoformat() if isinstance(v, dt.date) else str(v) for v in row)
        for row in table[list(columns)].itertuples(index=False)
    }


def test_tables_are_import_ready(nation: Path, assert_matches_schema: SchemaCheck) -> None:
    cases = _read(nation, "workflow_case", plain=False)
    events = _read(nation, "workflow_event", plain=False)
    assert_matches_schema(cases, WorkflowCase)
    assert_matches_schema(events, WorkflowEvent)
    assert cases["code"].is_unique and cases["code"].str.len().max() <= 30
    assert set(events["workflow_case_code"]) == set(cases["code"])
    assert set(cases["workflow"]) == set(WORKFLOWS)


def test_every_history_replays_through_its_workflow(
    cases: pd.DataFrame, events: pd.DataFrame
) -> None:
    by_case = dict(iter(events.groupby("workflow_case_code", sort=False)))
    for case in cases.itertuples():
        workflow = WORKFLOWS[case.workflow]
        steps = by_case[case.code]
        produced = set().union(*steps["given"])
        remembered = {k: v for k, v in case.values.items() if k not in produced}
        allowed = set().union(*(k for (w, _), k in REMEMBERED.items() if w == case.workflow))
        assert set(remembered) <= allowed, case.code
        state, due_on = None, None
        values: dict[str, Any] = {}
        for event in steps.itertuples():
            step = workflow.step(event.action)
            given = {f.name: event.given[f.name] for f in step.fields if f.name in event.given}
            outcome = workflow.take(
                event.action,
                state=state,
                values=values,
                given=given,
                role=Role(event.role),
                today=event.at.date(),
                due_on=due_on,
            )
            assert (outcome.from_state, outcome.to_state) == (event.from_state, event.to_state)
            assert outcome.changes == event.given, (case.code, event.sequence)
            kept = REMEMBERED.get((case.workflow, event.action), set())
            values = {**values, **outcome.changes}
            values |= {k: v for k, v in remembered.items() if k in kept}
            state, due_on = outcome.to_state, outcome.due_on
        assert (state, values, due_on) == (case.state, case.values, case.due_on), case.code
        closed = state in workflow.final
        assert case.closed_on == (event.at.date() if closed else None), case.code
        assert case.title == workflow.caption(steps["given"].iloc[0])[:255]


def test_events_are_ordered_dated_and_signed_by_their_role(
    cases: pd.DataFrame, events: pd.DataFrame
) -> None:
    first = events.groupby("workflow_case_code").head(1).set_index("workflow_case_code")
    opened = cases.set_index("code").reindex(first.index)
    openings = {name: workflow.opening.action for name, workflow in WORKFLOWS.items()}
    assert (first["action"] == opened["workflow"].map(openings)).all()
    assert (first["at"].dt.date == opened["opened_on"]).all()
    assert (events.groupby("workflow_case_code")["sequence"].diff().dropna() == 1).all()
    assert (events.groupby("workflow_case_code")["at"].diff().dropna() > pd.Timedelta(0)).all()
    assert (events["at"].dt.date <= REFERENCE_DATE).all()
    still_open = cases[cases["closed_on"].isna() & cases["due_on"].notna()]
    assert (still_open["due_on"] >= still_open["opened_on"]).all()
    for role, username in zip(events["role"], events["username"], strict=True):
        assert username.startswith(f"{role}-") or username == role == "ministry"
    district = events["role"] == "district"
    assert events.loc[district, "username"].str.fullmatch(r"district-kz\d\d-d\d\d").all()


def test_every_workflow_has_open_closed_and_overdue_cases(cases: pd.DataFrame) -> None:
    closed = cases["closed_on"].notna()
    overdue = ~closed & cases["due_on"].notna() & (cases["due_on"] < REFERENCE_DATE)
    summary = pd.DataFrame({"closed": closed, "open": ~closed, "overdue": overdue})
    found = summary.groupby(cases["workflow"]).any()
    assert found[["closed", "open"]].all().all()
    dated = set(WORKFLOWS) - WITHOUT_DEADLINES - LATE_ONLY_WHEN_RECORDED
    assert found.loc[sorted(dated), "overdue"].all()
    undated = cases["workflow"].isin(WITHOUT_DEADLINES)
    assert cases.loc[undated, "due_on"].isna().all()


def test_the_ministry_instructs_every_region(cases: pd.DataFrame) -> None:
    instructions = cases[cases["workflow"] == "instruction"]
    per_region = instructions.groupby("region_code").size()
    assert len(per_region) == 20 and (per_region == len(INSTRUCTIONS)).all()
    assert set(instructions["state"]) >= {"issued", "in_progress", "submitted", "completed"}


def test_every_incident_has_a_case_in_the_state_of_its_status(
    nation: Path, cases: pd.DataFrame
) -> None:
    incidents = _read(nation, "child_rights_incident").set_index("code")
    found = _of(cases, "incident")
    record = found["v_incident_code"]
    assert sorted(record) == sorted(incidents.index)
    states = {
        "reported": {"reported"},
        "under_review": {"assessed", "measures"},
        "referred": {"referred", "measures"},
        "resolved": {"resolved"},
        "unfounded": {"unfounded"},
    }
    status = record.map(incidents["status"])
    assert all(state in states[s] for state, s in zip(found["state"], status, strict=True))
    assert (found["organization_code"] == record.map(incidents["organization_code"])).all()
    assert (found["opened_on"] == record.map(incidents["reported_on"])).all()
    closed = found["closed_on"].notna()
    assert (found.loc[closed, "closed_on"] == record[closed].map(incidents["closed_on"])).all()


def test_attestation_cases_carry_the_recorded_results(nation: Path, cases: pd.DataFrame) -> None:
    attestations = _read(nation, "attestation")
    found = _of(cases, "attestation")
    decided = found[found["v_result"].notna()]
    held = attestations.dropna(subset=["held_on"])
    recent = held[held["held_on"] > REFERENCE_DATE - dt.timedelta(365)]
    assert _keys(decided, "teacher_code", "v_due_on", "v_decided_on", "v_result") == _keys(
        recent, "teacher_code", "due_on", "held_on", "result"
    )
    assert (decided["v_new_category"] == decided["v_target_category"]).all()
    assigned = _read(nation, "category_assignment")
    assigned = assigned[assigned["basis"] == "attestation"]
    orders = decided.dropna(subset=["v_order_reference"])
    assert _keys(orders, "teacher_code", "v_new_category", "v_order_reference") <= _keys(
        assigned, "teacher_code", "category", "order_reference"
    )
    tested = found[found["v_score_percent"].notna() & found["v_result"].isna()]
    assert len(tested) > 0
    assert _keys(tested, "teacher_code", "v_tested_on", "v_score_percent") <= _keys(
        _read(nation, "qualification_test_result"), "teacher_code", "tested_on", "score_percent"
    )
    pending = found[found["v_result"].isna()]
    waiting = attestations[attestations["held_on"].isna()]
    assert _keys(pending, "teacher_code", "v_due_on") <= _keys(waiting, "teacher_code", "due_on")


def test_record_backed_cases_agree_with_their_records(nation: Path, cases: pd.DataFrame) -> None:
    completed = _of(cases, "development").query("state == 'completed'")
    assert _keys(
        completed, "teacher_code", "v_course_code", "v_completed_on", "v_hours_credited"
    ) <= _keys(
        _read(nation, "course_completion"),
        "teacher_code",
        "course_code",
        "completed_on",
        "hours_credited",
    )
    awards = _read(nation, "award")
    conferred = _of(cases, "honour").query("state == 'conferred'")
    assert _keys(conferred, "teacher_code", "v_kind", "v_awarded_on") <= _keys(
        awards, "teacher_code", "kind", "awarded_on"
    )
    winners = _of(cases, "contest").query("state == 'winner'")
    assert _keys(winners, "teacher_code", "v_awarded_on") <= _keys(
        awards[awards["kind"] == "best_pedagogue"], "teacher_code", "awarded_on"
    )
    projects = _read(nation, "construction_project").set_index("code")
    built = _of(cases, "construction").set_index("code")
    assert set(built.index) == set(projects.index)
    assert (built["state"] == projects.loc[built.index, "status"]).all()
    late = built["due_on"].notna() & (built["due_on"] < REFERENCE_DATE)
    assert (built.loc[late, "state"] == "construction").all()
    delivered = _of(cases, "equipment").query("state == 'delivered'")
    rooms = _read(nation, "subject_classroom")
    assert _keys(delivered, "v_building_code", "v_room", "v_kind", "v_seats") <= _keys(
        rooms, "building_code", "room", "kind", "seats"
    )


def test_people_cases_agree_with_their_records(nation: Path, cases: pd.DataFrame) -> None:
    support = _read(nation, "young_specialist_support")
    granted = _of(cases, "young_specialist").dropna(subset=["v_support_starts_on"])
    assert len(granted) > 0
    assert _keys(granted, "teacher_code", "v_programme", "v_support_starts_on") <= _keys(
        support, "teacher_code", "programme", "starts_on"
    )
    teachers = _read(nation, "teacher").set_index("code")
    left = _of(cases, "young_specialist").query("state == 'left'")
    assert left["teacher_code"].map(teachers["left_on"]).notna().all()
    leaders = _of(cases, "leadership").set_index("code")
    selection = _read(nation, "leader_selection").set_index("leader_candidate_code")
    assert set(leaders.index) == set(_read(nation, "leader_candidate")["code"])
    for state, decision in (("rejected", "rejected"), ("waitlisted", "waitlisted")):
        chosen = leaders[leaders["state"] == state]
        assert (selection.loc[chosen.index, "decision"] == decision).all()
    heads = _read(nation, "head_appointment").dropna(subset=["leader_candidate_code"])
    appointed = leaders[leaders["state"] == "appointed"]
    assert set(appointed.index) == set(heads["leader_candidate_code"])


def test_welfare_cases_agree_with_their_records(nation: Path, cases: pd.DataFrame) -> None:
    inspections = _read(nation, "catering_inspection")
    found = _of(cases, "meals_inspection").dropna(subset=["v_inspected_on"])
    recorded = _keys(found, "organization_code", "v_inspector", "v_inspected_on")
    remedied = found[found["state"] == "remedied"]
    follow_ups = {
        (school, inspector, closed.isoformat())
        for school, inspector, closed in zip(
            remedied["organization_code"],
            remedied["v_inspector"],
            remedied["closed_on"],
            strict=True,
        )
    }
    assert recorded | follow_ups == _keys(
        inspections, "organization_code", "inspector", "inspected_on"
    )
    feedback = _read(nation, "feedback").set_index("code")
    appeals = _of(cases, "parent_appeal").set_index("code")
    assert set(appeals.index) == set(feedback.dropna(subset=["organization_code"]).index)
    assert (appeals["opened_on"] == feedback.loc[appeals.index, "received_on"]).all()
    assert list(appeals["closed_on"]) == list(feedback.loc[appeals.index, "answered_on"])
    meetings = _read(nation, "trustee_council_meeting")
    held = _of(cases, "council_meeting").dropna(subset=["v_held_on"])
    assert _keys(held, "organization_code", "v_held_on", "v_members_present") <= _keys(
        meetings, "organization_code", "held_on", "members_present"
    )
    assert len(held) >= 0.9 * len(meetings)


def test_a_region_s_casework_is_deterministic() -> None:
    from _stages import build_people

    plan = plan_nation(SCALES["tiny"])[3]

    def casework() -> dict[str, pd.DataFrame]:
        frame = build_people(plan)
        add_welfare(frame)
        add_leadership(frame)
        add_projects(frame)
        add_casework(frame)
        return frame.tables

    first, second = casework(), casework()
    for name in ("workflow_case", "workflow_event"):
        assert len(first[name]) > 0
        pd.testing.assert_frame_equal(first[name], second[name])


def test_a_step_the_workflow_refuses_stops_the_generator() -> None:
    day = dt.date(2025, 3, 3)
    closing = Move("close", day, Role.DISTRICT, {"outcome": "Done."})
    with pytest.raises(StepRefused):
        walk(WORKFLOWS["incident"], [closing])
    issue = {"region_code": "KZ-10", "task": "Report", "due_on": dt.date(2025, 12, 1)}
    late = Move("issue", REFERENCE_DATE + dt.timedelta(days=1), Role.MINISTRY, issue)
    with pytest.raises(ValueError, match="out of order"):
        walk(WORKFLOWS["instruction"], [late])
