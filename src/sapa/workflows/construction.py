"""A school construction or renovation project: plan → design → works → commissioning.

The national project «Комфортная школа» (2023–2025) builds 217 new schools for about 460,000
pupil places, with Samruk-Kazyna Construction as its single operator, standard designs and
equipment worth 20 % of each school's cost; alongside it about 1,300 schools are renovated over
three years from the republican and local budgets. The region places every project, so a case
is the region's: it names the settlement of the site (which must lie in the region) and, for a
renovation or an extension, the school it serves; a new school has no organisation yet, or one
registered in advance in the same settlement.

The steps keep the :class:`~sapa.domain.infrastructure.ConstructionProject` record the
infrastructure indicators count in step with the case:

* ``plan`` registers the project (status *planned*) under the case's number;
* ``start_design`` and ``start_works`` move it to *design* and *construction* (a standard design
  lets the works start straight from the plan); the works' deadline is the planned end, so a
  project still under construction after it is overdue;
* ``report_spending`` records the cumulative spending: it never decreases, and spending above
  120 % of the estimate is refused until the region revises the estimate (``revise_estimate``,
  never below the spending reported) — this system's rule, so that the estimate in the record
  stays a true bound of the cost;
* ``commission`` records the places actually delivered, the end date and the final cost;
* ``cancel`` closes a project with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Update, insert, select, update

from sapa.domain.access import Role
from sapa.domain.geography import District, Settlement
from sapa.domain.infrastructure import (
    ConstructionProject,
    FundingProgramme,
    ProjectKind,
    ProjectStatus,
)
from sapa.domain.organizations import Organization
from sapa.workflows._cases import Case, Effect, resolve_code
from sapa.workflows._common import DEPARTMENTS, region_field
from sapa.workflows._engine import Field, Step, StepRefused, Workflow
from sapa.workflows._rules import all_of, not_past

__all__ = ["CONSTRUCTION", "SPENDING_CAP_PERCENT"]

KINDS = tuple(kind.value for kind in ProjectKind)
PROGRAMMES = tuple(programme.value for programme in FundingProgramme)
SPENDING_CAP_PERCENT = 120
"""Cumulative spending may reach 120 % of the estimated cost; beyond it the estimate is revised."""

REGION = frozenset({Role.REGION})


def _school_rule(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> str | None:
    """A renovation or extension serves a school; «Комфортная школа» builds new ones."""
    if given["kind"] != ProjectKind.NEW and "organization_code" not in given:
        return f"A {given['kind']} project names the school it serves."
    if (
        given["programme"] == FundingProgramme.COMFORTABLE_SCHOOL
        and given["kind"] != ProjectKind.NEW
    ):
        return "«Комфортная школа» builds new schools only."
    return None


def _works_deadline(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    """The works are due by the planned end."""
    return {"due_on": dt.date.fromisoformat(values["planned_end_on"])}


def _spending_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    spent, before, cost = given["spent_tenge"], values.get("spent_tenge", 0), values["cost_tenge"]
    if spent < before:
        return f"Spending is cumulative: {spent:,} tenge is less than the {before:,} reported."
    if spent * 100 > cost * SPENDING_CAP_PERCENT:
        return (
            f"{spent:,} tenge is more than {SPENDING_CAP_PERCENT} % of the estimated cost "
            f"({cost:,} tenge); revise the estimate first."
        )
    return None


def _estimate_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    spent = values.get("spent_tenge", 0)
    if given["cost_tenge"] < spent:
        return f"The estimate cannot be less than the {spent:,} tenge already spent."
    return None


# ----------------------------------------------------------------------------- effects
def _site(connection: Connection, case: Case, where: str) -> dict[str, Any]:
    """The settlement and school ids of the project, checked to lie in the case's region."""
    settlement = resolve_code(connection, "settlement", case.values["settlement_code"], where)
    region = connection.scalar(
        select(District.region_id)
        .join(Settlement, Settlement.district_id == District.id)
        .where(Settlement.id == settlement)
    )
    if region != case.region_id:
        raise StepRefused(
            f"Settlement {case.values['settlement_code']} is not in region {case.region}."
        )
    school = case.values.get("organization_code")
    if school is None:
        return {"settlement_id": settlement, "organization_id": None}
    organization = resolve_code(connection, "organization", school, where)
    school_settlement = connection.scalar(
        select(Organization.settlement_id).where(Organization.id == organization)
    )
    if school_settlement != settlement:
        raise StepRefused(f"School {school} is not in settlement {case.values['settlement_code']}.")
    return {"settlement_id": settlement, "organization_id": organization}


def _plan(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    connection.execute(
        insert(ConstructionProject).values(
            code=case.code,
            **_site(connection, case, f"{case.code}.plan"),
            kind=case.values["kind"],
            programme=case.values["programme"],
            status=ProjectStatus.PLANNED,
            places=case.values["places"],
            cost_tenge=case.values["cost_tenge"],
            planned_end_on=dt.date.fromisoformat(case.values["planned_end_on"]),
        )
    )


def _project(case: Case, **values: Any) -> Update:
    """The statement updating the case's project record."""
    return update(ConstructionProject).where(ConstructionProject.code == case.code).values(**values)


def _status(status: ProjectStatus, dated: str | None = None) -> Effect:
    """An effect setting the project's status (and the date column ``dated`` to the day)."""

    def effect(
        connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
    ) -> None:
        connection.execute(_project(case, status=status, **({dated: today} if dated else {})))

    return effect


def _estimate(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    connection.execute(_project(case, cost_tenge=case.values["cost_tenge"]))


def _commission(
    connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
) -> None:
    """Commissioned today with the places delivered and the final cost (the spending reported,
    or the estimate if none was)."""
    connection.execute(
        _project(
            case,
            status=ProjectStatus.COMMISSIONED,
            actual_end_on=today,
            places=case.values["actual_places"],
            cost_tenge=case.values.get("spent_tenge", case.values["cost_tenge"]),
        )
    )


CONSTRUCTION = Workflow(
    name="construction",
    title="Construction or renovation project",
    description="A new school, an extension or a renovation placed by the region: design, "
    "works, spending against the estimate and commissioning.",
    prefix="CON",
    subject="region",
    sensitivity="public",
    national=True,
    states={
        "planned": "planned",
        "design": "in design",
        "construction": "under construction",
        "commissioned": "commissioned",
        "cancelled": "cancelled",
    },
    final=frozenset({"commissioned", "cancelled"}),
    caption=lambda v: f"{v['kind']}, {v['places']} places, {v['settlement_code']}",
    steps=(
        Step(
            "plan",
            "Plan a project",
            (),
            "planned",
            DEPARTMENTS,
            fields=(
                region_field(),
                Field("settlement_code", "Settlement", "code", entity="settlement"),
                Field(
                    "organization_code",
                    "School",
                    "code",
                    required=False,
                    entity="organization",
                ),
                Field("kind", "Kind of project", "choice", choices=KINDS),
                Field("programme", "Funding programme", "choice", choices=PROGRAMMES),
                Field("places", "Pupil places", "int", low=1),
                Field("cost_tenge", "Estimated cost, tenge", "int", low=0),
                Field("planned_end_on", "Planned end", "date"),
            ),
            check=all_of(not_past("planned_end_on", "planned end"), _school_rule),
            effect=_plan,
        ),
        Step(
            "start_design",
            "Start the design",
            ("planned",),
            "design",
            DEPARTMENTS,
            effect=_status(ProjectStatus.DESIGN),
        ),
        Step(
            "start_works",
            "Start the works",
            ("planned", "design"),
            "construction",
            REGION,
            derive=_works_deadline,
            effect=_status(ProjectStatus.CONSTRUCTION, "actual_start_on"),
        ),
        Step(
            "report_spending",
            "Report spending",
            ("construction",),
            "construction",
            DEPARTMENTS,
            fields=(Field("spent_tenge", "Spent so far, tenge", "int", low=0),),
            check=_spending_rule,
        ),
        Step(
            "revise_estimate",
            "Revise the estimate",
            ("construction",),
            "construction",
            REGION,
            fields=(Field("cost_tenge", "Estimated cost, tenge", "int", low=0),),
            check=_estimate_rule,
            effect=_estimate,
        ),
        Step(
            "commission",
            "Commission the school",
            ("construction",),
            "commissioned",
            REGION,
            fields=(Field("actual_places", "Places delivered", "int", low=1),),
            effect=_commission,
        ),
        Step(
            "cancel",
            "Cancel the project",
            ("planned", "design", "construction"),
            "cancelled",
            REGION,
            fields=(Field("reason", "Reason"),),
            effect=_status(ProjectStatus.CANCELLED),
        ),
    ),
)
