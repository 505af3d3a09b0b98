"""A parent's appeal about a school: registration → handling → answer within the legal deadline.

Appeals of citizens follow the Administrative Procedural Code of the Republic of Kazakhstan: an
appeal is answered within 15 working days of its receipt; the deadline may be extended once, by
up to 15 more working days, with notice to the applicant, and only while it runs; a repeated
appeal that brings nothing new is not considered again, the applicant being referred to the
earlier answer. Deadlines here are counted Monday to Friday: the system keeps no calendar of
public holidays, so a deadline that spans one falls a day early rather than late.

A case concerns one school (appeals about a region's policy as a whole, with no school, are
handled outside this workflow). Registering it records the
:class:`~sapa.domain.welfare.Feedback` the welfare indicators count, with its deadline; an
extension moves that deadline, and an answer — or the notice that the appeal repeats an
earlier one — dates the record as answered. An appeal unanswered past its deadline is overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select, update

from sapa.domain.welfare import Feedback, FeedbackChannel, FeedbackTopic
from sapa.workflows._cases import Case
from sapa.workflows._common import LOCAL, organization_field
from sapa.workflows._engine import Field, Step, StepRefused, Workflow
from sapa.workflows._rules import add_working_days

__all__ = ["ANSWER_DAYS", "EXTENSION_DAYS", "PARENT_APPEAL"]

ANSWER_DAYS = 15
"""Working days to answer an appeal."""
EXTENSION_DAYS = 15
"""Working days the single extension adds at most."""
CHANNELS = tuple(channel.value for channel in FeedbackChannel)
TOPICS = tuple(topic.value for topic in FeedbackTopic)


def _deadline(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"received_on": today.isoformat(), "due_on": add_working_days(today, ANSWER_DAYS)}


def _extension_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    deadline = values["due_on"]
    if values.get("extended"):
        return f"The deadline was already extended once, to {deadline}; it cannot be again."
    if today > dt.date.fromisoformat(deadline):
        return f"The deadline {deadline} has passed; only a running deadline can be extended."
    return None


def _extended(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    deadline = dt.date.fromisoformat(values["due_on"])
    return {"extended": True, "due_on": add_working_days(deadline, EXTENSION_DAYS)}


# ----------------------------------------------------------------------------- effects
def _register(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    connection.execute(
        insert(Feedback).values(
            code=case.code,
            organization_id=case.organization_id,
            region_id=case.region_id,
            channel=case.values["channel"],
            topic=case.values["topic"],
            received_on=today,
            deadline_on=dt.date.fromisoformat(case.values["due_on"]),
        )
    )


def _feedback(connection: Connection, case: Case, **values: Any) -> None:
    connection.execute(update(Feedback).where(Feedback.code == case.code).values(**values))


def _extend(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    _feedback(connection, case, deadline_on=dt.date.fromisoformat(case.values["due_on"]))


def _answer(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    _feedback(connection, case, answered_on=today)


def _duplicate(
    connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
) -> None:
    """The earlier appeal must be another one about the same school; the applicant's notice
    answers this one."""
    earlier = case.values["duplicate_of"]
    school = connection.scalar(select(Feedback.organization_id).where(Feedback.code == earlier))
    if earlier == case.code or school != case.organization_id:
        raise StepRefused(f"{earlier} is not an earlier appeal about school {case.organization}.")
    _answer(connection, case, given, today)


PARENT_APPEAL = Workflow(
    name="parent_appeal",
    title="Parent's appeal",
    description="An appeal or complaint of a parent about a school, answered within 15 working "
    "days (extendable once).",
    prefix="APL",
    subject="organization",
    sensitivity="public",
    national=True,
    states={
        "registered": "registered",
        "in_work": "being handled",
        "answered": "answered",
        "duplicate": "repeated appeal",
    },
    final=frozenset({"answered", "duplicate"}),
    caption=lambda v: f"{v['topic']} ({v['channel']}), {v['organization_code']}",
    derived=("received_on", "extended"),
    steps=(
        Step(
            "register",
            "Register an appeal",
            (),
            "registered",
            LOCAL,
            fields=(
                organization_field(),
                Field("channel", "Channel", "choice", choices=CHANNELS),
                Field("topic", "Topic", "choice", choices=TOPICS),
            ),
            derive=_deadline,
            effect=_register,
        ),
        Step(
            "assign",
            "Assign a handler",
            ("registered",),
            "in_work",
            LOCAL,
            fields=(Field("handler", "Handled by"),),
        ),
        Step(
            "extend",
            "Extend the deadline",
            ("in_work",),
            "in_work",
            LOCAL,
            fields=(Field("reason", "Reason"),),
            check=_extension_rule,
            derive=_extended,
            effect=_extend,
        ),
        Step(
            "answer",
            "Answer the appeal",
            ("registered", "in_work"),
            "answered",
            LOCAL,
            fields=(Field("answer", "Answer"),),
            effect=_answer,
        ),
        Step(
            "reject_as_duplicate",
            "Close as a repeated appeal",
            ("registered", "in_work"),
            "duplicate",
            LOCAL,
            fields=(Field("duplicate_of", "Earlier appeal", "code", entity="feedback"),),
            effect=_duplicate,
        ),
    ),
)
