"""A catering inspection: scheduled → findings → remedy within 30 days → confirmed or escalated.

School catering is inspected by the sanitary-epidemiological service, the Quality Assurance
Committee for Education, the education departments and the parent commissions of the schools.
The district or regional department schedules an inspection of a school (overdue if not held
by the planned date) and records the findings on behalf of the inspecting body: the inspection
enters the :class:`~sapa.domain.welfare.CateringInspection` records the welfare indicators
count. An inspection without violations closes the case; one with violations gives the school
30 days to remedy them. The department confirms the remedy by a follow-up inspection, recorded
too (with no violations). A remedy still unconfirmed after its deadline may be escalated — to
the sanitary-epidemiological service, the Quality Assurance Committee or the regional
department — and only then, so an escalation always means a deadline missed; the body it goes
to has another 30 days to see the remedy through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, insert, select

from sapa.domain.welfare import CateringInspection, InspectorBody
from sapa.workflows._cases import Case
from sapa.workflows._common import DEPARTMENTS, organization_field
from sapa.workflows._engine import Field, Step, StepRefused, Workflow
from sapa.workflows._rules import not_past

__all__ = ["MEALS_INSPECTION", "REMEDY_DAYS"]

INSPECTORS = tuple(body.value for body in InspectorBody)
REMEDY_DAYS = 30
"""Days the school has to remedy the violations found."""
ESCALATIONS = ("sanitary_epidemiological", "quality_assurance_committee", "regional_department")
"""Bodies an overdue remedy is escalated to."""


def _findings(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    """The inspection's date and, if violations were found, the remedy's deadline."""
    derived: dict[str, Any] = {"inspected_on": today.isoformat()}
    if given["violations_count"]:
        derived["due_on"] = today + dt.timedelta(days=REMEDY_DAYS)
    return derived


def _after_findings(values: Mapping[str, Any]) -> str:
    return "remedy" if values["violations_count"] else "clear"


def _remedy_overdue(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    deadline = dt.date.fromisoformat(values["due_on"])
    if today <= deadline:
        return f"The remedy is due by {deadline}; it can be escalated only after that date."
    return None


# ----------------------------------------------------------------------------- effects
def _inspection(
    connection: Connection, case: Case, today: dt.date, violations: int, findings: str
) -> None:
    """An inspection of the case's school by its inspecting body, recorded for today."""
    inspector = case.values["inspector"]
    key = and_(
        CateringInspection.organization_id == case.organization_id,
        CateringInspection.inspected_on == today,
        CateringInspection.inspector == inspector,
    )
    if connection.scalar(select(CateringInspection.id).where(key)) is not None:
        raise StepRefused(
            f"An inspection of {case.organization} by the {Field.choice_label(inspector)} "
            f"on {today} is already recorded."
        )
    connection.execute(
        insert(CateringInspection).values(
            organization_id=case.organization_id,
            inspected_on=today,
            inspector=inspector,
            violations_count=violations,
            findings=findings,
        )
    )


def _record(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    _inspection(connection, case, today, case.values["violations_count"], case.values["findings"])


def _confirm(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The follow-up inspection that found the violations remedied. A remedy confirmed on the
    day of the findings (put right during the visit) adds no second inspection: the day's record
    keeps the violations as found, and the case says they were remedied."""
    if today > dt.date.fromisoformat(case.values["inspected_on"]):
        _inspection(connection, case, today, 0, case.values["follow_up"])


MEALS_INSPECTION = Workflow(
    name="meals_inspection",
    title="Catering inspection",
    description="An inspection of a school's catering: the findings, the remedy of the "
    "violations within 30 days, its confirmation or escalation.",
    prefix="CAT",
    subject="organization",
    sensitivity="public",
    national=True,
    states={
        "scheduled": "scheduled",
        "clear": "no violations",
        "remedy": "violations being remedied",
        "escalated": "escalated",
        "remedied": "violations remedied",
    },
    final=frozenset({"clear", "remedied"}),
    caption=lambda v: f"{v['inspector']}, {v['organization_code']}",
    derived=("inspected_on",),
    steps=(
        Step(
            "schedule",
            "Schedule an inspection",
            (),
            "scheduled",
            DEPARTMENTS,
            fields=(
                organization_field(),
                Field("inspector", "Inspecting body", "choice", choices=INSPECTORS),
                Field("due_on", "Planned date", "date"),
            ),
            check=not_past("due_on", "planned date"),
        ),
        Step(
            "record_findings",
            "Record the findings",
            ("scheduled",),
            _after_findings,
            DEPARTMENTS,
            fields=(
                Field("violations_count", "Violations found", "int", low=0),
                Field("findings", "Findings"),
            ),
            derive=_findings,
            effect=_record,
        ),
        Step(
            "escalate",
            "Escalate the overdue remedy",
            ("remedy",),
            "escalated",
            DEPARTMENTS,
            fields=(Field("escalated_to", "Escalated to", "choice", choices=ESCALATIONS),),
            check=_remedy_overdue,
            due_days=REMEDY_DAYS,
        ),
        Step(
            "confirm_remedied",
            "Confirm the remedy",
            ("remedy", "escalated"),
            "remedied",
            DEPARTMENTS,
            fields=(Field("follow_up", "Follow-up findings"),),
            effect=_confirm,
        ),
    ),
)
