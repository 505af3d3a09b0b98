"""A child-rights case: report → assessment → measures → closure, restricted and audited.

A school, district or regional department reports a case (the kind and severity, no personal
data); the department assesses it within 3 days and finds it founded or unfounded; a founded
case may be referred (police, guardianship, health care, the juvenile commission) and gets
measures; it closes when the measures are done. Every step updates the
:class:`~sapa.domain.welfare.ChildRightsIncident` record the welfare indicators count, and the
cases are readable by region, district and school accounts only: every read is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, update

from sapa.domain.welfare import ChildRightsIncident, IncidentKind, IncidentStatus, Severity
from sapa.workflows._cases import Case
from sapa.workflows._common import LOCAL, organization_field
from sapa.workflows._engine import Field, Step, Workflow

__all__ = ["INCIDENT"]

KINDS = tuple(kind.value for kind in IncidentKind)
SEVERITIES = tuple(severity.value for severity in Severity)
REFERRALS = ("police", "guardianship", "health_care", "juvenile_commission", "other")


def _record_code(case: Case) -> str:
    """The incident record's number: the case's own, or the one the case was opened for."""
    return str(case.values.get("incident_code") or case.code)


def _report(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    connection.execute(
        insert(ChildRightsIncident).values(
            code=case.code,
            organization_id=case.organization_id,
            kind=case.values["kind"],
            severity=case.values["severity"],
            status=IncidentStatus.REPORTED,
            reported_on=today,
            restricted=True,
        )
    )


def _status(status: IncidentStatus, closes: bool = False):  # type: ignore[no-untyped-def]
    """An effect setting the incident record's status (and closing date)."""

    def effect(
        connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
    ) -> None:
        values: dict[str, Any] = {"status": status}
        if "severity" in given:
            values["severity"] = given["severity"]
        if closes:
            values["closed_on"] = today
        connection.execute(
            update(ChildRightsIncident)
            .where(ChildRightsIncident.code == _record_code(case))
            .values(**values)
        )

    return effect


def _assessed_state(values: Mapping[str, Any]) -> str:
    return "assessed" if values["founded"] else "unfounded"


def _assessment(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"founded": given["finding"] == "founded"}


def _assess(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    founded = case.values["founded"]
    status = IncidentStatus.UNDER_REVIEW if founded else IncidentStatus.UNFOUNDED
    _status(status, closes=not founded)(connection, case, given, today)


INCIDENT = Workflow(
    name="incident",
    title="Children's rights case",
    description="A reported violation of a child's rights: assessment, referral, measures "
    "and closure.",
    prefix="INC",
    subject="organization",
    sensitivity="restricted",
    states={
        "reported": "reported",
        "assessed": "assessed, founded",
        "referred": "referred",
        "measures": "measures under way",
        "resolved": "resolved",
        "unfounded": "unfounded",
    },
    final=frozenset({"resolved", "unfounded"}),
    caption=lambda v: f"{v['kind']} ({v['severity']}), {v['organization_code']}",
    derived=("founded",),
    steps=(
        Step(
            "report",
            "Report a case",
            (),
            "reported",
            LOCAL,
            fields=(
                organization_field(),
                Field("kind", "Kind", "choice", choices=KINDS),
                Field("severity", "Severity", "choice", choices=SEVERITIES),
            ),
            due_days=3,
            effect=_report,
        ),
        Step(
            "assess",
            "Assess the case",
            ("reported",),
            _assessed_state,
            LOCAL,
            fields=(
                Field("finding", "Finding", "choice", choices=("founded", "unfounded")),
                Field("severity", "Severity", "choice", required=False, choices=SEVERITIES),
            ),
            derive=_assessment,
            due_days=10,
            effect=_assess,
        ),
        Step(
            "refer",
            "Refer to another body",
            ("assessed",),
            "referred",
            LOCAL,
            fields=(Field("referred_to", "Referred to", "choice", choices=REFERRALS),),
            due_days=30,
            effect=_status(IncidentStatus.REFERRED),
        ),
        Step(
            "take_measures",
            "Record the measures",
            ("assessed", "referred"),
            "measures",
            LOCAL,
            fields=(Field("measures", "Measures taken"),),
            due_days=30,
        ),
        Step(
            "close",
            "Close as resolved",
            ("measures",),
            "resolved",
            LOCAL,
            fields=(Field("outcome", "Outcome"),),
            effect=_status(IncidentStatus.RESOLVED, closes=True),
        ),
    ),
)
