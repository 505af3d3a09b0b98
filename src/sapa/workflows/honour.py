"""An honorary title or award for a teacher: nomination → regional endorsement → conferral.

A school or an education department nominates a pedagogue for a state award, an honorary title
or a departmental badge; the regional department endorses the nomination and sends it on (or
declines it); the ministry records the conferral from the decree or order: the date, the
conferring body and the one-off payment. The conferral is written to
:class:`~sapa.domain.workforce.Award`, which the indicator ``teachers.awards_per_1000`` counts.

The rules:

* the title «Қазақстанның еңбек сіңірген ұстазы» (Honoured Teacher of Kazakhstan) is conferred by
  decree of the President with a one-off payment of 1,000 MRP (:data:`HONOURED_TEACHER_MRP`) at
  the index of the year of the decree; the payment is set from it when not given, and any other
  amount is refused;
* state titles (Honoured Teacher, Hero of Labour) are conferred once in a lifetime, so a teacher
  who holds one is not nominated for it again;
* the Best Teacher prize is won in the contest (:mod:`sapa.workflows.contest`), not nominated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from sapa.domain.access import Role
from sapa.domain.workforce import Award, AwardKind
from sapa.workflows._cases import Case
from sapa.workflows._common import LOCAL, MINISTRY, mrp_tenge, teacher_field, teacher_record
from sapa.workflows._engine import Field, Step, StepRefused, Workflow

__all__ = ["HONOUR", "HONOURED_TEACHER_MRP", "ONCE_IN_A_LIFETIME"]

KINDS = tuple(kind.value for kind in AwardKind if kind is not AwardKind.BEST_PEDAGOGUE)
"""Awards nominated through this workflow (the Best Teacher prize is won in the contest)."""
HONOURED_TEACHER_MRP = 1000
ONCE_IN_A_LIFETIME = frozenset({AwardKind.HONOURED_TEACHER, AwardKind.HERO_OF_LABOUR})

_REGION = frozenset({Role.REGION})


def _conferral_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    """Not conferred in the future; the Honoured Teacher payment is 1,000 MRP of its year."""
    awarded_on = given["awarded_on"]
    if awarded_on > today:
        return f"The award date {awarded_on} is in the future."
    paid = given.get("payment_tenge")
    if values["kind"] == AwardKind.HONOURED_TEACHER and paid is not None:
        due = mrp_tenge(HONOURED_TEACHER_MRP, awarded_on.year)
        if paid != due:
            return (
                f"The Honoured Teacher payment is {HONOURED_TEACHER_MRP:,} MRP, {due:,} tenge "
                f"in {awarded_on.year}, not {paid:,}."
            )
    return None


def _payment(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    """The Honoured Teacher payment when the conferral does not state it."""
    if values["kind"] != AwardKind.HONOURED_TEACHER or "payment_tenge" in given:
        return {}
    return {"payment_tenge": mrp_tenge(HONOURED_TEACHER_MRP, given["awarded_on"].year)}


# ----------------------------------------------------------------------------- effects
def _nominate(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """A pedagogue in post, not holding already a title conferred once in a lifetime."""
    assert case.teacher_id is not None
    teacher = teacher_record(connection, case.teacher_id, today)
    if not teacher.employed:
        raise StepRefused(f"{teacher.code} is not in post and cannot be nominated.")
    kind = AwardKind(case.values["kind"])
    if kind not in ONCE_IN_A_LIFETIME:
        return
    held = connection.scalar(
        select(Award.awarded_on).where(Award.teacher_id == case.teacher_id, Award.kind == kind)
    )
    if held is not None:
        raise StepRefused(
            f"{teacher.code} already holds the title ({kind.value}, conferred on {held}); "
            "it is conferred once."
        )


def _confer(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    payment = case.values.get("payment_tenge")
    connection.execute(
        insert(Award).values(
            teacher_id=case.teacher_id,
            kind=case.values["kind"],
            title=case.values["title"],
            awarded_on=dt.date.fromisoformat(case.values["awarded_on"]),
            conferred_by=case.values["conferred_by"],
            payment_tenge=None if payment is None else int(payment),
        )
    )


HONOUR = Workflow(
    name="honour",
    title="Honorary title or award",
    description="A nomination of a teacher for a state award, honorary title or badge: the "
    "regional endorsement and the conferral with its one-off payment.",
    prefix="HON",
    subject="teacher",
    sensitivity="personal",
    national=True,
    states={
        "nominated": "nominated",
        "endorsed": "endorsed by the region",
        "conferred": "conferred",
        "declined": "declined",
    },
    final=frozenset({"conferred", "declined"}),
    caption=lambda v: f"{v['teacher_code']}: {v['title']}",
    derived=("payment_tenge",),
    steps=(
        Step(
            "nominate",
            "Nominate for an award",
            (),
            "nominated",
            LOCAL,
            fields=(
                teacher_field(),
                Field("kind", "Kind of award", "choice", choices=KINDS),
                Field("title", "Title of the award"),
            ),
            effect=_nominate,
        ),
        Step("endorse", "Endorse the nomination", ("nominated",), "endorsed", _REGION),
        Step(
            "confer",
            "Record the conferral",
            ("endorsed",),
            "conferred",
            MINISTRY,
            fields=(
                Field("awarded_on", "Date conferred", "date"),
                Field("conferred_by", "Conferred by"),
                Field("payment_tenge", "One-off payment, tenge", "int", required=False, low=0),
            ),
            check=_conferral_rule,
            derive=_payment,
            effect=_confer,
        ),
        Step(
            "decline",
            "Decline the nomination",
            ("nominated", "endorsed"),
            "declined",
            _REGION | MINISTRY,
            fields=(Field("reason", "Reason"),),
        ),
    ),
)
