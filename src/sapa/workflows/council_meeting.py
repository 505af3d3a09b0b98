"""A meeting of a school's trustee council: scheduled → held with a quorum → minutes published.

Trustee councils (попечительский совет) follow the typical rules of Order MES No. 355 of
27 July 2017: a council has at least 9 members, and a meeting is quorate when at least two
thirds of them are present; its decisions are made public. The school schedules a meeting with
its agenda (overdue if not held by its date) and records it once held — the members, those
present and the decisions adopted — as the
:class:`~sapa.domain.welfare.TrusteeCouncilMeeting` the welfare indicators count; a meeting
without a quorum is refused, not recorded. The school then has 10 days to publish the minutes
(this system's working deadline: the order requires publication but sets no number of days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, insert, select

from sapa.domain.access import Role
from sapa.domain.welfare import TrusteeCouncilMeeting
from sapa.workflows._cases import Case
from sapa.workflows._common import organization_field
from sapa.workflows._engine import Field, Step, StepRefused, Workflow
from sapa.workflows._rules import all_of, at_most, not_past

__all__ = ["COUNCIL_MEETING", "MIN_MEMBERS", "quorum"]

MIN_MEMBERS = 9
"""Members a trustee council has at least."""
MINUTES_DAYS = 10
"""Days to publish the minutes after the meeting."""
AGENDA_LENGTH = 500
"""Characters of the agenda kept in the meeting records."""

SCHOOL = frozenset({Role.SCHOOL})


def quorum(members: int) -> int:
    """Members who must be present for a meeting of a council of ``members``: two thirds,
    rounded up."""
    return -(-2 * members // 3)


def _meeting_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    total, present = given["members_total"], given["members_present"]
    scheduled = dt.date.fromisoformat(values["due_on"])
    if today < scheduled:
        return f"The meeting is scheduled for {scheduled}; it cannot be recorded before."
    if present > total:
        return f"{present} members present is more than the council's {total}."
    if present < quorum(total):
        return (
            f"No quorum: {present} of {total} members present, at least {quorum(total)} "
            "(two thirds) are needed."
        )
    return None


def _held(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"held_on": today.isoformat()}


# ----------------------------------------------------------------------------- effects
def _hold(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    key = and_(
        TrusteeCouncilMeeting.organization_id == case.organization_id,
        TrusteeCouncilMeeting.held_on == today,
    )
    if connection.scalar(select(TrusteeCouncilMeeting.id).where(key)) is not None:
        raise StepRefused(
            f"A council meeting of {case.organization} on {today} is already recorded."
        )
    connection.execute(
        insert(TrusteeCouncilMeeting).values(
            organization_id=case.organization_id,
            held_on=today,
            members_total=case.values["members_total"],
            members_present=case.values["members_present"],
            decisions_count=case.values["decisions_count"],
            agenda=case.values["agenda"],
        )
    )


COUNCIL_MEETING = Workflow(
    name="council_meeting",
    title="Trustee council meeting",
    description="A meeting of a school's trustee council: the agenda, the quorum of two "
    "thirds, the decisions and the published minutes.",
    prefix="TCM",
    subject="organization",
    sensitivity="public",
    national=True,
    states={
        "scheduled": "scheduled",
        "held": "held",
        "published": "minutes published",
        "cancelled": "cancelled",
    },
    final=frozenset({"published", "cancelled"}),
    caption=lambda v: f"{v['organization_code']}, {v['due_on']}",
    derived=("held_on",),
    steps=(
        Step(
            "schedule",
            "Schedule a meeting",
            (),
            "scheduled",
            SCHOOL,
            fields=(
                organization_field(),
                Field("due_on", "Meeting date", "date"),
                Field("agenda", "Agenda"),
            ),
            check=all_of(
                not_past("due_on", "meeting date"), at_most("agenda", AGENDA_LENGTH, "agenda")
            ),
        ),
        Step(
            "hold",
            "Record the meeting",
            ("scheduled",),
            "held",
            SCHOOL,
            fields=(
                Field("members_total", "Council members", "int", low=MIN_MEMBERS),
                Field("members_present", "Members present", "int", low=0),
                Field("decisions_count", "Decisions adopted", "int", low=0),
            ),
            check=_meeting_rule,
            derive=_held,
            due_days=MINUTES_DAYS,
            effect=_hold,
        ),
        Step(
            "publish_minutes",
            "Publish the minutes",
            ("held",),
            "published",
            SCHOOL,
            fields=(Field("published_at", "Where the minutes are published"),),
        ),
        Step(
            "cancel",
            "Cancel the meeting",
            ("scheduled",),
            "cancelled",
            SCHOOL,
            fields=(Field("reason", "Reason"),),
        ),
    ),
)
