"""Instructions to the regions: the ministry sets a task, the region reports, the ministry accepts.

The ministry issues a task to a region with a deadline and, where it has one, the indicator and
target it is measured by. The region acknowledges it, reports progress as often as it likes
(a percentage and, for a measured task, the indicator's current value), and submits the result;
the ministry accepts it or returns it with a reason and perhaps a new deadline. An open task
past its deadline is overdue, on the ministry's list and on the region's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sapa.domain.access import Role
from sapa.workflows._common import MINISTRY, region_field
from sapa.workflows._engine import Field, Step, Workflow
from sapa.workflows._rules import not_past

__all__ = ["INSTRUCTION"]

REGION = frozenset({Role.REGION})


def _issue_date(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"issued_on": today.isoformat()}


def _progress(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"reported_on": today.isoformat()}


INSTRUCTION = Workflow(
    name="instruction",
    title="Instruction to a region",
    description="A task the ministry sets a region, with a deadline and the indicator it is "
    "measured by; the region reports progress and the ministry accepts the result.",
    prefix="INS",
    subject="region",
    sensitivity="public",
    national=True,
    states={
        "issued": "issued",
        "in_progress": "in progress",
        "submitted": "result submitted",
        "completed": "completed",
        "cancelled": "cancelled",
    },
    final=frozenset({"completed", "cancelled"}),
    caption=lambda v: str(v["task"]),
    derived=("issued_on", "reported_on"),
    steps=(
        Step(
            "issue",
            "Issue an instruction",
            (),
            "issued",
            MINISTRY,
            fields=(
                region_field(),
                Field("task", "Task"),
                Field("due_on", "Deadline", "date"),
                Field("indicator", "Indicator code", required=False),
                Field("target", "Target value", "number", required=False),
            ),
            check=not_past("due_on", "deadline"),
            derive=_issue_date,
        ),
        Step("acknowledge", "Acknowledge", ("issued",), "in_progress", REGION),
        Step(
            "report_progress",
            "Report progress",
            ("in_progress",),
            "in_progress",
            REGION,
            fields=(
                Field("progress_percent", "Progress, %", "number", low=0, high=100),
                Field("value", "Indicator value now", "number", required=False),
            ),
            derive=_progress,
        ),
        Step(
            "submit",
            "Submit the result",
            ("in_progress",),
            "submitted",
            REGION,
            fields=(Field("result", "Result"),),
            derive=_progress,
        ),
        Step("accept", "Accept the result", ("submitted",), "completed", MINISTRY),
        Step(
            "return_to_region",
            "Return to the region",
            ("submitted",),
            "in_progress",
            MINISTRY,
            fields=(
                Field("reason", "Reason"),
                Field("due_on", "New deadline", "date", required=False),
            ),
            check=not_past("due_on", "new deadline"),
        ),
        Step("cancel", "Cancel", ("issued", "in_progress"), "cancelled", MINISTRY),
    ),
)
