"""Equipping a subject classroom: request → approval → order → delivery.

Schools are being equipped with modern subject classrooms — chemistry, biology and physics
laboratories, STEM and robotics rooms — under the renovation programme and the national project
«Комфортная школа» (whose standard sets equipment at 20 % of a school's cost). A school requests
the equipment for a room of one of its buildings; the regional education department approves
the amount or rejects the request; the district or regional department orders it from a
supplier with a delivery date, and a delivery later than that date makes the case overdue. When
the school receives it, the room is recorded as an equipped
:class:`~sapa.domain.infrastructure.SubjectClassroom` of that year (a re-equipped room keeps its
record, with the new kind, year and seats), which the infrastructure indicators count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select, update

from sapa.domain.access import Role
from sapa.domain.infrastructure import Building, ClassroomKind, SubjectClassroom
from sapa.workflows._cases import Case, resolve_code
from sapa.workflows._common import DEPARTMENTS, LOCAL, organization_field
from sapa.workflows._engine import Field, Step, StepRefused, Workflow
from sapa.workflows._rules import at_most, not_past

__all__ = ["EQUIPMENT"]

KINDS = tuple(kind.value for kind in ClassroomKind)
ROOM_LENGTH = 20
"""Characters of a room's number or name in the classroom records."""

REGION = frozenset({Role.REGION})


def _delivered_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    if given["delivered_on"] > today:
        return f"The delivery date {given['delivered_on']} is in the future."
    return None


def _lateness(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    """Whether the equipment arrived after the date ordered."""
    return {"delivered_late": given["delivered_on"] > dt.date.fromisoformat(values["due_on"])}


# ----------------------------------------------------------------------------- effects
def _building(connection: Connection, case: Case) -> int:
    """The id of the case's building, checked to be one of the school's."""
    code = case.values["building_code"]
    building = resolve_code(connection, "building", code, f"{case.code}.request")
    owner = connection.scalar(select(Building.organization_id).where(Building.id == building))
    if owner != case.organization_id:
        raise StepRefused(f"Building {code} is not a building of school {case.organization}.")
    return building


def _check_building(
    connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
) -> None:
    """A request names one of the school's own buildings, checked before anyone approves it."""
    _building(connection, case)


def _deliver(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The room recorded as equipped in the year of delivery (inserted or re-equipped)."""
    building = _building(connection, case)
    room = case.values["room"]
    equipped = {
        "kind": case.values["kind"],
        "equipped_year": dt.date.fromisoformat(case.values["delivered_on"]).year,
        "seats": case.values["seats"],
    }
    key = (SubjectClassroom.building_id == building, SubjectClassroom.room == room)
    if connection.scalar(select(SubjectClassroom.id).where(*key)) is None:
        connection.execute(
            insert(SubjectClassroom).values(building_id=building, room=room, **equipped)
        )
    else:
        connection.execute(update(SubjectClassroom).where(*key).values(**equipped))


EQUIPMENT = Workflow(
    name="equipment",
    title="Subject classroom equipment",
    description="A school's request to equip a subject classroom: approval, order, delivery "
    "and the classroom recorded as equipped.",
    prefix="EQP",
    subject="organization",
    sensitivity="public",
    national=True,
    states={
        "requested": "requested",
        "approved": "approved",
        "rejected": "rejected",
        "ordered": "ordered",
        "delivered": "delivered",
    },
    final=frozenset({"rejected", "delivered"}),
    caption=lambda v: f"{v['kind']}, {v['building_code']} room {v['room']}",
    derived=("delivered_late",),
    steps=(
        Step(
            "request",
            "Request equipment",
            (),
            "requested",
            LOCAL,
            fields=(
                organization_field(),
                Field("building_code", "Building", "code", entity="building"),
                Field("kind", "Classroom", "choice", choices=KINDS),
                Field("room", "Room"),
                Field("seats", "Pupil workplaces", "int", low=1, high=200),
            ),
            check=at_most("room", ROOM_LENGTH, "room"),
            effect=_check_building,
        ),
        Step(
            "approve",
            "Approve the request",
            ("requested",),
            "approved",
            REGION,
            fields=(Field("amount_tenge", "Amount approved, tenge", "int", low=1),),
        ),
        Step(
            "reject",
            "Reject the request",
            ("requested",),
            "rejected",
            REGION,
            fields=(Field("reason", "Reason"),),
        ),
        Step(
            "order",
            "Order the equipment",
            ("approved",),
            "ordered",
            DEPARTMENTS,
            fields=(
                Field("supplier", "Supplier"),
                Field("due_on", "Delivery date", "date"),
            ),
            check=not_past("due_on", "delivery date"),
        ),
        Step(
            "deliver",
            "Record the delivery",
            ("ordered",),
            "delivered",
            LOCAL,
            fields=(Field("delivered_on", "Delivered on", "date"),),
            check=_delivered_rule,
            derive=_lateness,
            effect=_deliver,
        ),
    ),
)
