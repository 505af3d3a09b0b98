"""The step engine alone (no database): value parsing, the order of refusals, deadlines, and the
shape every workflow must have: each state reachable, no open state without a way on, no step
out of a final state, and the workflow names those of the data model."""

from __future__ import annotations

import datetime as dt
from collections import deque

import pytest

from sapa.domain.access import Role
from sapa.domain.casework import WorkflowKind
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.workflows import WORKFLOWS, Field, Step, StepRefused, Workflow

TODAY = dt.date(2025, 5, 20)


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (Field("n", "N", "int", low=1, high=5), "3", 3),
        (Field("x", "X", "number", low=0, high=100), " 71.5 ", 71.5),
        (Field("d", "D", "date"), "2025-09-30", dt.date(2025, 9, 30)),
        (Field("b", "B", "bool"), "on", True),
        (Field("b", "B", "bool"), False, False),
        (Field("c", "C", "choice", choices=("a", "b")), "b", "b"),
        (Field("t", "T", required=False), "  ", None),
    ],
)
def test_values_are_converted_to_their_kind(spec: Field, raw: object, expected: object) -> None:
    assert spec.parse(raw, "here") == expected


@pytest.mark.parametrize(
    ("spec", "raw", "message"),
    [
        (Field("n", "N", "int"), "3.5", "not a valid int"),
        (Field("n", "N", "int", low=1), "0", "below the minimum 1"),
        (Field("x", "X", "number", high=100), "100.01", "above the maximum 100"),
        (Field("x", "X", "number"), "nan", "not a usable number"),
        (Field("x", "X", "number"), "-inf", "not a usable number"),
        (Field("x", "X", "int"), str(10**16), "not a usable number"),
        (Field("d", "D", "date"), "31.02.2025", "not a valid date"),
        (Field("c", "C", "choice", choices=("a", "b")), "c", "not one of a, b"),
        (Field("t", "T"), "", "a value is required"),
        (Field("t", "T"), "x" * 1001, "longer than 1,000"),
    ],
)
def test_bad_values_name_the_field_and_why(spec: Field, raw: object, message: str) -> None:
    with pytest.raises(DataValidationError, match=message) as refused:
        spec.parse(raw, "ATT-1.record_test")
    assert refused.value.problems[0].column == spec.name
    assert refused.value.problems[0].file == "ATT-1.record_test"


def _toy(target: str = "done", **step_options: object) -> Workflow:
    return Workflow(
        name="toy",
        title="Toy",
        description="",
        prefix="TOY",
        subject="region",
        sensitivity="public",
        states={"open": "open", "done": "done"},
        final=frozenset({"done"}),
        caption=lambda values: "toy",
        steps=(
            Step("start", "Start", (), "open", frozenset({Role.REGION}), due_days=10),
            Step("finish", "Finish", ("open",), target, frozenset({Role.REGION}), **step_options),
        ),
    )


def test_refusals_come_in_order_state_then_role_then_values_then_rule() -> None:
    toy = _toy(
        fields=(Field("score", "Score", "number", high=10),),
        check=lambda values, given, today: "too low" if given["score"] < 5 else None,
    )
    take = toy.take
    with pytest.raises(StepRefused, match="can be taken only when it is open"):
        take("finish", state="done", values={}, given={"score": "1"}, role=Role.SCHOOL, today=TODAY)
    with pytest.raises(AccessDeniedError, match="for region accounts"):
        take(
            "finish", state="open", values={}, given={"score": "99"}, role=Role.SCHOOL, today=TODAY
        )
    with pytest.raises(DataValidationError, match="above the maximum"):
        take(
            "finish", state="open", values={}, given={"score": "99"}, role=Role.REGION, today=TODAY
        )
    with pytest.raises(StepRefused, match="too low"):
        take("finish", state="open", values={}, given={"score": "1"}, role=Role.REGION, today=TODAY)
    with pytest.raises(StepRefused, match="already open"):
        take("start", state="open", values={}, given={}, role=Role.REGION, today=TODAY)
    done = take(
        "finish", state="open", values={}, given={"score": "7"}, role=Role.REGION, today=TODAY
    )
    assert done.to_state == "done" and done.closed and done.changes == {"score": 7.0}


def test_deadlines_come_from_a_date_given_or_derived_else_days_else_unchanged() -> None:
    opened = _toy().take("start", state=None, values={}, given={}, role=Role.REGION, today=TODAY)
    assert opened.due_on == TODAY + dt.timedelta(days=10)
    kept = _toy(target="open").take(
        "finish", state="open", values={}, given={}, role=Role.REGION, today=TODAY, due_on=TODAY
    )
    assert kept.due_on == TODAY
    given = _toy(target="open", fields=(Field("due_on", "Due", "date"),), due_days=3).take(
        "finish",
        state="open",
        values={},
        given={"due_on": "2025-06-30"},
        role=Role.REGION,
        today=TODAY,
    )
    assert given.due_on == dt.date(2025, 6, 30)
    closed = _toy().take(
        "finish", state="open", values={}, given={}, role=Role.REGION, today=TODAY, due_on=TODAY
    )
    assert closed.due_on is None


def test_the_workflows_are_those_of_the_data_model() -> None:
    assert list(WORKFLOWS) == [kind.value for kind in WorkflowKind]


@pytest.mark.parametrize("workflow", WORKFLOWS.values(), ids=list(WORKFLOWS))
def test_every_state_is_reachable_and_every_open_state_has_a_way_on(workflow: Workflow) -> None:
    reachable, todo = set(), deque()
    opening = workflow.opening
    targets = lambda step: (  # noqa: E731
        {step.target} if isinstance(step.target, str) else set(workflow.states)
    )
    for state in targets(opening):
        reachable.add(state)
        todo.append(state)
    while todo:
        state = todo.popleft()
        for step in workflow.available(state):
            for target in targets(step):
                if target not in reachable:
                    reachable.add(target)
                    todo.append(target)
    assert reachable == set(workflow.states)
    for state in workflow.states:
        ways_on = workflow.available(state)
        if state in workflow.final:
            assert not ways_on, f"{workflow.name}: a step leaves the final state {state}"
        else:
            assert ways_on, f"{workflow.name}: the open state {state} has no step"
    assert workflow.subject in ("teacher", "organization", "region")
    assert workflow.sensitivity in ("personal", "restricted", "public")
    assert f"{workflow.subject}_code" in {f.name for f in opening.fields}
    prefixes = [w.prefix for w in WORKFLOWS.values()]
    assert len(prefixes) == len(set(prefixes))
