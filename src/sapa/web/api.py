"""The REST API (``/api/v1``): every entity and every result, filtered, paged and exportable.

Every endpoint reads through :class:`sapa.web.access.DataAccess`, so the caller's role and
scope apply exactly as on the pages. Lists take ``limit`` and ``offset`` and answer with the
total; ``format=csv`` or ``format=xlsx`` returns the same rows as a file. Errors are JSON with a
``detail`` message: 400 for a bad filter, 401 without a session, 403 for data the role may not
read, 404 for an unknown entity, run or a unit outside the caller's scope.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sapa.web.access import MAX_PAGE, NotFound
from sapa.web.accounts import SignInRefused, change_password
from sapa.web.casework import case_json
from sapa.web.deps import Access, Cases, SignedIn, Transaction, require_csrf
from sapa.workflows import WORKFLOWS, Workflow

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")

Format = Literal["json", "csv", "xlsx"]
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    language: str
    region: str | None
    district: str | None
    school: str | None
    teacher: str | None


class RecordPage(BaseModel):
    entity: str
    total: int
    limit: int
    offset: int
    columns: list[str]
    rows: list[dict[str, Any]]


class Table(BaseModel):
    total: int
    columns: list[str]
    rows: list[dict[str, Any]]


class PasswordChange(BaseModel):
    current_password: str
    new_password: str = Field(min_length=1)


class FieldOut(BaseModel):
    name: str
    label: str
    kind: str
    required: bool
    choices: list[str]
    low: float | None
    high: float | None
    entity: str | None


class StepOut(BaseModel):
    action: str
    label: str
    sources: list[str]
    roles: list[str]
    fields: list[FieldOut]


class WorkflowOut(BaseModel):
    name: str
    title: str
    description: str
    subject: str
    sensitivity: str
    states: dict[str, str]
    final: list[str]
    steps: list[StepOut]


class StepBody(BaseModel):
    """The values a step carries, by field name (see the workflow's description), and a note."""

    values: dict[str, Any] = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=1000)


class CaseOut(BaseModel):
    code: str
    workflow: str
    state: str
    title: str
    region: str
    district: str | None
    school: str | None
    teacher: str | None
    opened_on: str
    due_on: str | None
    closed_on: str | None
    overdue: bool
    values: dict[str, Any]
    steps: list[str]
    history: list[dict[str, Any]]


def _workflow_out(workflow: Workflow) -> WorkflowOut:
    return WorkflowOut(
        name=workflow.name,
        title=workflow.title,
        description=workflow.description,
        subject=workflow.subject,
        sensitivity=workflow.sensitivity,
        states=workflow.states,
        final=sorted(workflow.final),
        steps=[
            StepOut(
                action=step.action,
                label=step.label,
                sources=list(step.sources),
                roles=sorted(role.value for role in step.roles),
                fields=[
                    FieldOut(
                        name=f.name,
                        label=f.label,
                        kind=f.kind,
                        required=f.required,
                        choices=list(f.choices),
                        low=f.low,
                        high=f.high,
                        entity=f.entity,
                    )
                    for f in step.fields
                ],
            )
            for step in workflow.steps
        ],
    )


def _case_out(cases: Cases, code: str) -> CaseOut:
    found = cases.case(code)
    return CaseOut(
        **case_json(found, cases.today),
        steps=[step.action for step in cases.available_steps(found)],
        history=cases.history(found),
    )


def _given(body: StepBody) -> dict[str, Any]:
    return {**body.values, **({"note": body.note} if body.note else {})}


def _file(frame: pd.DataFrame, name: str, fmt: str) -> Response:
    """The frame as a CSV (UTF-8 with BOM, as spreadsheet programs expect) or XLSX download."""
    if fmt == "csv":
        body = frame.to_csv(index=False).encode("utf-8-sig")
    else:
        buffer = io.BytesIO()
        frame.to_excel(buffer, index=False, sheet_name=name[:31], engine="xlsxwriter")
        body = buffer.getvalue()
    return Response(
        body,
        media_type=_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def _table(frame: pd.DataFrame, name: str, fmt: str) -> Table | Response:
    if fmt != "json":
        return _file(frame, name, fmt)
    clean = frame.astype(object).where(frame.notna(), None)
    return Table(total=len(frame), columns=list(frame.columns), rows=clean.to_dict("records"))


def _known_run(access: Access, run: str) -> str:
    if run == "latest":
        latest = access.latest_run()
        if latest is None:
            raise HTTPException(404, "No assessment run is stored yet.")
        return latest
    if run not in set(access.runs()["code"]):
        raise HTTPException(404, f"No run {run!r}.")
    return run


@router.get("/me", response_model=Me, tags=["accounts"])
def me(session: SignedIn) -> Me:
    """The signed-in account and its scope."""
    p = session.principal
    return Me(
        username=p.username,
        display_name=p.display_name,
        role=p.role.value,
        language=p.language,
        region=p.region,
        district=p.district,
        school=p.school,
        teacher=p.teacher,
    )


@router.post(
    "/me/password", status_code=204, dependencies=[Depends(require_csrf)], tags=["accounts"]
)
def new_password(body: PasswordChange, session: SignedIn, connection: Transaction) -> Response:
    """Change the signed-in account's password (ends all its sessions)."""
    try:
        change_password(
            connection, session.principal.username, body.current_password, body.new_password
        )
    except SignInRefused as exc:
        raise HTTPException(403, "The current password is wrong.") from exc
    return Response(status_code=204)


@router.get("/entities", response_model=list[str], tags=["records"])
def entities(access: Access) -> list[str]:
    """Entities whose records the caller may read."""
    return access.readable_entities()


@router.get("/entities/{entity}", response_model=RecordPage, tags=["records"])
def records(
    entity: str,
    request: Request,
    access: Access,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Format = "json",
) -> RecordPage | Response:
    """One page of an entity's records in its file layout; ``format=csv`` or ``xlsx`` exports
    every matching record instead (``limit`` then does not apply). Any other query parameter
    is an exact-match filter on a column of the entity's file, e.g.
    ``?organization_code=SCH-71-0001``."""
    filters = {
        key: value
        for key, value in request.query_params.items()
        if key not in {"limit", "offset", "format", "lang"}
    }
    if format != "json":
        everything = access.entity_page(entity, filters, limit=None, offset=offset)
        return _file(everything.frame(), entity, format)
    page = access.entity_page(entity, filters, limit=limit, offset=offset)
    return RecordPage(
        entity=entity,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        columns=list(page.columns),
        rows=page.rows,
    )


@router.get("/runs", response_model=Table, tags=["results"])
def runs(access: Access, format: Format = "json") -> Table | Response:
    """Assessment runs, newest first."""
    return _table(access.runs(), "runs", format)


@router.get("/runs/{run}/indicators", response_model=Table, tags=["results"])
def indicators(
    run: str,
    access: Access,
    indicator: Annotated[list[str] | None, Query()] = None,
    prefix: str | None = None,
    level: Literal["nation", "region", "district", "school"] | None = None,
    unit: Annotated[list[str] | None, Query()] = None,
    subgroup: str = "all",
    format: Format = "json",
) -> Table | Response:
    """Indicator values of a run (``latest`` for the newest) inside the caller's scope.
    Suppressed cells have an empty value."""
    frame = access.indicators(
        _known_run(access, run),
        prefix=prefix,
        indicators=indicator,
        level=level,
        units=unit,
        subgroup=None if subgroup == "*" else subgroup,
    )
    return _table(frame, "indicators", format)


@router.get("/runs/{run}/flags", response_model=Table, tags=["results"])
def flags(
    run: str,
    access: Access,
    level: Literal["school", "district"] | None = None,
    unit: Annotated[list[str] | None, Query()] = None,
    format: Format = "json",
) -> Table | Response:
    """ "Needs support" flags of a run inside the caller's scope, with reasons and evidence."""
    frame = access.flags(_known_run(access, run), level=level, units=unit)
    return _table(frame, "flags", format)


@router.get("/runs/{run}/items", response_model=Table, tags=["results"])
def items(
    run: str, access: Access, administration: str | None = None, format: Format = "json"
) -> Table | Response:
    """Item parameters, classical statistics and DIF of a run (ministry and analysts)."""
    frame = access.items(_known_run(access, run), administration)
    return _table(frame, "items", format)


@router.get("/regions", response_model=Table, tags=["hierarchy"])
def regions(access: Access, format: Format = "json") -> Table | Response:
    """Regions inside the caller's scope."""
    return _table(access.regions(), "regions", format)


@router.get("/regions/{code}/districts", response_model=Table, tags=["hierarchy"])
def districts(code: str, access: Access, format: Format = "json") -> Table | Response:
    """Districts of a region inside the caller's scope."""
    try:
        access.unit("region", code)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return _table(access.districts(code), "districts", format)


@router.get("/schools", response_model=Table, tags=["hierarchy"])
def schools(
    access: Access,
    region: str | None = None,
    district: str | None = None,
    format: Format = "json",
) -> Table | Response:
    """Schools inside the caller's scope, optionally of one region or district."""
    return _table(access.schools(region=region, district=district), "schools", format)


@router.get("/audit", response_model=Table, tags=["accounts"])
def audit(
    access: Access,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Format = "json",
) -> Table | Response:
    """The audit trail, newest first (auditor and ministry accounts)."""
    return _table(access.audit_events(limit=limit, offset=offset), "audit", format)


# ----------------------------------------------------------------------------- workflows
@router.get("/workflows", response_model=list[WorkflowOut], tags=["workflows"])
def workflows(session: SignedIn) -> list[WorkflowOut]:
    """Every workflow: its states, its steps, who may take each and the values it carries."""
    return [_workflow_out(workflow) for workflow in WORKFLOWS.values()]


@router.get("/cases/summary", response_model=Table, tags=["workflows"])
def case_summary(cases: Cases, format: Format = "json") -> Table | Response:
    """Per workflow, the cases open, overdue and closed in the caller's place."""
    return _table(cases.summary(), "cases", format)


@router.get("/workflows/{workflow}/cases", response_model=Table, tags=["workflows"])
def workflow_cases(
    workflow: str,
    cases: Cases,
    state: str | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Format = "json",
) -> Table | Response:
    """A workflow's cases in the caller's place, overdue first; ``overdue=true`` for those
    past their deadline. Exports (``format=csv|xlsx``) hold every matching case."""
    frame, total = cases.cases(
        workflow,
        state=state,
        overdue=overdue,
        limit=None if format != "json" else limit,
        offset=offset,
    )
    if format != "json":
        return _file(frame, workflow, format)
    table = _table(frame, workflow, format)
    assert isinstance(table, Table)
    return table.model_copy(update={"total": total})


@router.post(
    "/workflows/{workflow}/cases",
    response_model=CaseOut,
    status_code=201,
    dependencies=[Depends(require_csrf)],
    tags=["workflows"],
)
def new_case(workflow: str, body: StepBody, cases: Cases) -> CaseOut:
    """Open a case with the workflow's opening step. 400: a value is missing or wrong;
    403: the role may not open one; 404: the subject is outside the caller's place;
    409: the workflow's rules refuse it. A refused request changes nothing."""
    opened = cases.open(workflow, _given(body))
    return _case_out(cases, opened.code)


@router.get("/cases/{case}", response_model=CaseOut, tags=["workflows"])
def case_detail(case: str, cases: Cases) -> CaseOut:
    """A case with its values, its history and the steps the caller may take now."""
    return _case_out(cases, case)


@router.post(
    "/cases/{case}/steps/{action}",
    response_model=CaseOut,
    dependencies=[Depends(require_csrf)],
    tags=["workflows"],
)
def take_step(case: str, action: str, body: StepBody, cases: Cases) -> CaseOut:
    """Take one step in a case. 400: a value is missing or wrong; 403: the role may not take
    it; 404: no such case in the caller's place; 409: the case's state or the workflow's rules
    do not allow it. A refused step changes nothing."""
    cases.take(case, action, _given(body))
    return _case_out(cases, case)


@router.get("/attestations/due", response_model=Table, tags=["workflows"])
def attestations_due(
    cases: Cases,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 90,
    format: Format = "json",
) -> Table | Response:
    """Attestations not yet held that fall due within ``within_days`` (or are past due), in the
    caller's place: the reminders. Region, district, school and teacher accounts."""
    return _table(cases.attestations_due(within_days), "attestations_due", format)
