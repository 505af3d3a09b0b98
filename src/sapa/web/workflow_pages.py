"""The workflow pages: what is open and overdue, each workflow's cases, and a case's history
with the steps the user may take.

* ``/workflows`` — per workflow, the cases open, overdue and closed in the user's place, and
  the attestations falling due;
* ``/workflows/{workflow}`` — the cases by state, overdue first, the form that opens a case
  (for roles that may) and the workflow's own lists: attestations due, professional
  development gaps, vacancies for a young specialist;
* ``/cases/{case}`` — the case, its history (who did what, when) and one form per step the
  user may take now; for a young specialist not yet placed, the open vacancies matched to them.

Forms post to ``/workflows/{workflow}/open`` and ``/cases/{case}/step/{action}``; a refused
step answers with the reason (409, 400 or 403) and changes nothing, since the whole request's
transaction is rolled back.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from sapa.domain.access import Role
from sapa.web.casework import CaseAccess
from sapa.web.deps import Cases, SignedIn, require_csrf
from sapa.web.pages import render
from sapa.workflows import WORKFLOWS, Field, Workflow

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE = 50
DUE_WITHIN_DAYS = 90


def _form_values(form: FormData, workflow_fields: tuple[Field, ...]) -> dict[str, Any]:
    """The step's values from a submitted form: declared fields and the note, blanks dropped."""
    names = {spec.name for spec in workflow_fields} | {"note"}
    return {
        key: str(value) for key, value in form.items() if key in names and str(value).strip() != ""
    }


def _extras(cases: CaseAccess, workflow: Workflow) -> dict[str, Any]:
    """The workflow's own lists shown under its cases."""
    role = cases.principal.role
    extras: dict[str, Any] = {}
    if workflow.name == "attestation" and role in (
        Role.REGION,
        Role.DISTRICT,
        Role.SCHOOL,
        Role.TEACHER,
    ):
        extras["due"] = cases.attestations_due(DUE_WITHIN_DAYS).head(PAGE)
    if workflow.name == "development":
        extras["gaps"] = cases.development_gaps().head(PAGE)
    return extras


@router.get("/workflows")
def workflows_page(request: Request, session: SignedIn, cases: Cases) -> Response:
    context = {
        "summary": cases.summary(),
        "overdue_regions": cases.overdue_by_region(),
        "titles": {name: workflow.title for name, workflow in WORKFLOWS.items()},
        "due_count": cases.attestations_due_count(DUE_WITHIN_DAYS),
        "due_days": DUE_WITHIN_DAYS,
        "today": cases.today,
    }
    return render(
        request, "workflows.html", context, principal=session.principal, csrf=session.csrf_token
    )


@router.get("/workflows/{workflow}")
def workflow_page(
    workflow: str,
    request: Request,
    session: SignedIn,
    cases: Cases,
    state: str | None = None,
    overdue: bool | None = None,
    offset: int = 0,
) -> Response:
    definition = cases.workflow(workflow)
    context: dict[str, Any] = {
        "workflow": definition,
        "states": cases.states(workflow),
        "state": state,
        "overdue": overdue,
        "offset": max(0, offset),
        "page_size": PAGE,
        "today": cases.today,
        "readable": cases.readable(definition),
        "can_open": session.principal.role in definition.opening.roles,
    }
    if context["readable"]:
        frame, total = cases.cases(
            workflow, state=state or None, overdue=overdue, limit=PAGE, offset=max(0, offset)
        )
        context |= {"cases": frame, "total": total, **_extras(cases, definition)}
    return render(
        request, "workflow.html", context, principal=session.principal, csrf=session.csrf_token
    )


@router.post("/workflows/{workflow}/open", dependencies=[Depends(require_csrf)])
async def open_from_form(workflow: str, request: Request, cases: Cases) -> Response:
    definition = cases.workflow(workflow)
    given = _form_values(await request.form(), definition.opening.fields)
    opened = cases.open(workflow, given)
    return RedirectResponse(f"/cases/{opened.code}", status_code=303)


@router.get("/cases/{case}")
def case_page(case: str, request: Request, session: SignedIn, cases: Cases) -> Response:
    found = cases.case(case)
    context = {
        "case": found,
        "workflow": found.workflow,
        "history": cases.history(found),
        "steps": cases.available_steps(found),
        "overdue": found.overdue(cases.today),
        "today": cases.today,
        "title": f"{found.code} · {found.title}",
    }
    if found.workflow.name == "young_specialist" and found.state == "registered":
        context["vacancies"] = cases.vacancies_for(found)
    return render(
        request, "case.html", context, principal=session.principal, csrf=session.csrf_token
    )


@router.post("/cases/{case}/step/{action}", dependencies=[Depends(require_csrf)])
async def step_from_form(case: str, action: str, request: Request, cases: Cases) -> Response:
    found = cases.case(case)
    fields = found.workflow.step(action).fields
    cases.take(case, action, _form_values(await request.form(), fields))
    return RedirectResponse(f"/cases/{case}", status_code=303)
