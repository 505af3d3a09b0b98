"""Cases in the database: opening one, taking a step, reading a case and its history.

Every function works in the caller's transaction: a step writes the case, its history event and
the step's effect on the national records (a new category, a course completion, an award…)
together, and a refusal anywhere — the workflow's rule, a missing record, an effect that finds
the data does not allow it — raises before the transaction commits, so nothing is changed.
Access (which cases an account may see) is the web application's data-access layer's business;
these functions check what the workflow allows the role to do.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from sapa.domain import Base
from sapa.domain.access import Role
from sapa.domain.casework import WorkflowCase, WorkflowEvent
from sapa.domain.geography import District, Region, Settlement
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher
from sapa.errors import DataValidationError, Problem
from sapa.workflows._engine import Outcome, StepRefused, Workflow

__all__ = [
    "Actor",
    "Case",
    "Effect",
    "act",
    "find_case",
    "history",
    "open_case",
    "remember",
    "resolve_code",
]


@dataclass(frozen=True)
class Actor:
    """Who takes a step: an account's name and role."""

    username: str
    role: Role


@dataclass(frozen=True)
class Case:
    """A case as stored, with its place in the hierarchy as codes."""

    id: int
    code: str
    workflow: Workflow
    state: str
    title: str
    region: str
    district: str | None
    organization: str | None
    teacher: str | None
    region_id: int
    organization_id: int | None
    teacher_id: int | None
    opened_on: dt.date
    due_on: dt.date | None
    closed_on: dt.date | None
    values: dict[str, Any] = field(default_factory=dict)

    def overdue(self, today: dt.date) -> bool:
        return self.closed_on is None and self.due_on is not None and self.due_on < today


Effect = Callable[[Connection, Case, Mapping[str, Any], dt.date], None]
"""``effect(connection, case, step_values, today)``: what a step writes to the national records
(the case is shown as it is after the step). It may raise :class:`StepRefused` when the records
do not allow the step; the caller's transaction then changes nothing."""


def resolve_code(connection: Connection, entity: str, code: str, where: str) -> int:
    """The id of the ``entity`` record with ``code``; a validation error naming it if none."""
    table = Base.metadata.tables[entity]
    found = connection.scalar(select(table.c.id).where(table.c.code == code))
    if found is None:
        raise DataValidationError(Problem(where, None, f"{entity}_code", f"no {entity} {code!r}"))
    return int(found)


def _place(connection: Connection, workflow: Workflow, code: str, where: str) -> dict[str, Any]:
    """Region, school and teacher ids of a case's subject."""
    if workflow.subject == "region":
        return {"region_id": resolve_code(connection, "region", code, where)}
    statement = (
        select(District.region_id, Organization.id)
        .select_from(Organization)
        .join(Settlement, Organization.settlement_id == Settlement.id)
        .join(District, Settlement.district_id == District.id)
    )
    if workflow.subject == "teacher":
        teacher = resolve_code(connection, "teacher", code, where)
        row = connection.execute(
            statement.join(Teacher, Teacher.organization_id == Organization.id).where(
                Teacher.id == teacher
            )
        ).one()
        return {"region_id": row[0], "organization_id": row[1], "teacher_id": teacher}
    organization = resolve_code(connection, "organization", code, where)
    row = connection.execute(statement.where(Organization.id == organization)).one()
    return {"region_id": row[0], "organization_id": row[1]}


def _check_codes(connection: Connection, workflow: Workflow, action: str, given: Any) -> None:
    for spec in workflow.step(action).fields:
        value = given.get(spec.name)
        if spec.kind == "code" and spec.entity and value not in (None, ""):
            resolve_code(connection, spec.entity, str(value), f"{workflow.name}.{action}")


def _next_code(connection: Connection, workflow: Workflow, year: int) -> str:
    stem = f"{workflow.prefix}-{year}-"
    last = connection.scalar(
        select(func.max(WorkflowCase.code)).where(WorkflowCase.code.startswith(stem))
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{stem}{number:05d}"


def _record(
    connection: Connection,
    case_id: int,
    outcome: Outcome,
    actor: Actor,
    note: str | None,
    at: dt.datetime | None,
) -> None:
    sequence = connection.scalar(
        select(func.coalesce(func.max(WorkflowEvent.sequence), 0)).where(
            WorkflowEvent.workflow_case_id == case_id
        )
    )
    connection.execute(
        insert(WorkflowEvent).values(
            workflow_case_id=case_id,
            sequence=int(sequence or 0) + 1,
            at=at or dt.datetime.now(dt.UTC).replace(tzinfo=None),
            username=actor.username,
            role=actor.role.value,
            action=outcome.action,
            from_state=outcome.from_state,
            to_state=outcome.to_state,
            changes=json.dumps(outcome.changes, ensure_ascii=False, sort_keys=True),
            note=(note or None) and note[:1000],
        )
    )


def _refuse_a_second_open_case(
    connection: Connection, workflow: Workflow, subject: str, place: dict[str, Any]
) -> None:
    column = {
        "teacher": WorkflowCase.teacher_id,
        "organization": WorkflowCase.organization_id,
        "region": WorkflowCase.region_id,
    }[workflow.subject]
    open_already = connection.scalar(
        select(WorkflowCase.code).where(
            WorkflowCase.workflow == workflow.name,
            WorkflowCase.closed_on.is_(None),
            column == place[f"{workflow.subject}_id"],
        )
    )
    if open_already is not None:
        raise StepRefused(
            f"{subject} already has an open {workflow.name} case, {open_already}: "
            "take its steps, or close it first."
        )


def open_case(
    connection: Connection,
    workflow: Workflow,
    actor: Actor,
    given: Mapping[str, Any],
    *,
    today: dt.date,
    at: dt.datetime | None = None,
) -> Case:
    """Open a case with the workflow's opening step; the new case as stored."""
    step = workflow.opening
    where = f"{workflow.name}.{step.action}"
    outcome = workflow.take(
        step.action, state=None, values={}, given=given, role=actor.role, today=today, where=where
    )
    _check_codes(connection, workflow, step.action, given)
    subject = str(outcome.changes[f"{workflow.subject}_code"])
    place = _place(connection, workflow, subject, where)
    if workflow.single_open:
        _refuse_a_second_open_case(connection, workflow, subject, place)
    code = _next_code(connection, workflow, today.year)
    case_id = connection.execute(
        insert(WorkflowCase)
        .values(
            code=code,
            workflow=workflow.name,
            state=outcome.to_state,
            title=workflow.caption(outcome.changes)[:255],
            opened_on=today,
            due_on=outcome.due_on,
            closed_on=today if outcome.closed else None,
            data=json.dumps(outcome.changes, ensure_ascii=False, sort_keys=True),
            **place,
        )
        .returning(WorkflowCase.id)
    ).scalar_one()
    _record(connection, case_id, outcome, actor, given.get("note"), at)
    case = find_case(connection, code)
    assert case is not None
    _apply_effect(connection, workflow, step.action, case, outcome, today)
    return case


def act(
    connection: Connection,
    case: Case,
    action: str,
    actor: Actor,
    given: Mapping[str, Any],
    *,
    today: dt.date,
    at: dt.datetime | None = None,
) -> Case:
    """Take one step in a case; the case as it is afterwards."""
    workflow = case.workflow
    where = f"{case.code}.{action}"
    locked = connection.execute(
        select(WorkflowCase.state).where(WorkflowCase.id == case.id).with_for_update()
    ).scalar_one()
    outcome = workflow.take(
        action,
        state=locked,
        values=case.values,
        given=given,
        role=actor.role,
        today=today,
        due_on=case.due_on,
        where=where,
    )
    _check_codes(connection, workflow, action, given)
    connection.execute(
        update(WorkflowCase)
        .where(WorkflowCase.id == case.id)
        .values(
            state=outcome.to_state,
            due_on=outcome.due_on,
            closed_on=today if outcome.closed else None,
            data=json.dumps({**case.values, **outcome.changes}, ensure_ascii=False, sort_keys=True),
        )
    )
    _record(connection, case.id, outcome, actor, given.get("note"), at)
    after = find_case(connection, case.code)
    assert after is not None
    _apply_effect(connection, workflow, action, after, outcome, today)
    return after


def _apply_effect(
    connection: Connection,
    workflow: Workflow,
    action: str,
    case: Case,
    outcome: Outcome,
    today: dt.date,
) -> None:
    effect = workflow.step(action).effect
    if effect is None:
        return
    try:
        effect(connection, case, outcome.changes, today)
    except IntegrityError as exc:
        # A rule the effect did not check first: the records already hold what it would add.
        raise StepRefused(
            f"{case.code}: {workflow.step(action).label!r} would store a record that conflicts "
            f"with one already kept ({_constraint(exc)}); nothing was changed."
        ) from exc


def _constraint(error: IntegrityError) -> str:
    """The database's words for a violated constraint, on one line."""
    return str(error.orig).splitlines()[0]


def remember(connection: Connection, case: Case, values: Mapping[str, Any]) -> None:
    """Add values an effect found in the records (the category held…) to the case."""
    case.values.update(values)
    connection.execute(
        update(WorkflowCase)
        .where(WorkflowCase.id == case.id)
        .values(data=json.dumps(case.values, ensure_ascii=False, sort_keys=True))
    )


def find_case(connection: Connection, code: str) -> Case | None:
    """The case with ``code``, or ``None``."""
    from sapa.workflows import WORKFLOWS

    row = connection.execute(
        select(
            WorkflowCase.id,
            WorkflowCase.code,
            WorkflowCase.workflow,
            WorkflowCase.state,
            WorkflowCase.title,
            Region.code,
            District.code,
            Organization.code,
            Teacher.code,
            WorkflowCase.region_id,
            WorkflowCase.organization_id,
            WorkflowCase.teacher_id,
            WorkflowCase.opened_on,
            WorkflowCase.due_on,
            WorkflowCase.closed_on,
            WorkflowCase.data,
        )
        .join(Region, WorkflowCase.region_id == Region.id)
        .outerjoin(Organization, WorkflowCase.organization_id == Organization.id)
        .outerjoin(Settlement, Organization.settlement_id == Settlement.id)
        .outerjoin(District, Settlement.district_id == District.id)
        .outerjoin(Teacher, WorkflowCase.teacher_id == Teacher.id)
        .where(WorkflowCase.code == code)
    ).first()
    if row is None:
        return None
    return Case(
        id=row[0],
        code=row[1],
        workflow=WORKFLOWS[str(row[2])],
        state=row[3],
        title=row[4],
        region=row[5],
        district=row[6],
        organization=row[7],
        teacher=row[8],
        region_id=row[9],
        organization_id=row[10],
        teacher_id=row[11],
        opened_on=row[12],
        due_on=row[13],
        closed_on=row[14],
        values=json.loads(row[15] or "{}"),
    )


def history(connection: Connection, case: Case) -> list[dict[str, Any]]:
    """The case's steps, oldest first: when, who, the step, the states and the values."""
    rows = connection.execute(
        select(
            WorkflowEvent.sequence,
            WorkflowEvent.at,
            WorkflowEvent.username,
            WorkflowEvent.role,
            WorkflowEvent.action,
            WorkflowEvent.from_state,
            WorkflowEvent.to_state,
            WorkflowEvent.changes,
            WorkflowEvent.note,
        )
        .where(WorkflowEvent.workflow_case_id == case.id)
        .order_by(WorkflowEvent.sequence)
    ).all()
    return [
        {
            "sequence": row[0],
            "at": row[1].isoformat(timespec="seconds"),
            "username": row[2],
            "role": row[3],
            "action": row[4],
            "from_state": row[5],
            "to_state": row[6],
            "changes": json.loads(row[7] or "{}"),
            "note": row[8],
        }
        for row in rows
    ]
