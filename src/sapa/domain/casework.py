"""Casework: the workflows behind the indicators, as cases and their histories.

Attestations, course enrolments, contest entries, placements of young specialists, programme
applications, construction projects, equipment requests, child-rights cases, catering
inspections, parents' appeals, trustee-council meetings and the ministry's instructions to the
regions all move through steps. Each is a :class:`WorkflowCase` in one state of its workflow,
and every step taken is a :class:`WorkflowEvent`: who, when, from which state to which, and the
values given. The steps themselves (which states, who may take which step, what a step must
carry) are defined by :mod:`sapa.workflows`, so a new kind of case is a definition, not a table
— the shape of OpenEMIS's workflow module and DHIS2's tracker programme stages.

A case is placed in the hierarchy by its region and, when it concerns one, its school and
teacher; the web application's access layer scopes cases by these references like any record.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, code_column, in_order, in_range, reference, str_enum


class WorkflowKind(enum.StrEnum):
    """The workflows a case can follow (their steps are defined in :mod:`sapa.workflows`)."""

    ATTESTATION = "attestation"
    DEVELOPMENT = "development"
    CONTEST = "contest"
    HONOUR = "honour"
    YOUNG_SPECIALIST = "young_specialist"
    LEADERSHIP = "leadership"
    CONSTRUCTION = "construction"
    EQUIPMENT = "equipment"
    INCIDENT = "incident"
    MEALS_INSPECTION = "meals_inspection"
    PARENT_APPEAL = "parent_appeal"
    COUNCIL_MEETING = "council_meeting"
    INSTRUCTION = "instruction"


class WorkflowCase(Base):
    """One case of a workflow: what it concerns, the state it is in and the values it carries."""

    __tablename__ = "workflow_case"
    __natural_key__ = ("code",)
    __table_args__ = (
        in_order("opened_on", "closed_on"),
        # The workflows pages' counts (by workflow and state, open or closed, overdue) read
        # these indexes, not the cases: nationally, in one region, and the overdue ones.
        Index("ix_workflow_case_workflow", "workflow", "state", "closed_on", "due_on"),
        Index(
            "ix_workflow_case_region_workflow",
            "region_id",
            "workflow",
            "state",
            "closed_on",
            "due_on",
        ),
        Index("ix_workflow_case_open", "closed_on", "due_on", "region_id", "workflow"),
    )

    code: Mapped[str] = code_column(30, "Case number, unique, e.g. ATT-2025-00042.")
    workflow: Mapped[WorkflowKind] = mapped_column(
        str_enum(WorkflowKind),
        comment="attestation, development, contest, honour, young_specialist, leadership, "
        "construction, equipment, incident, meals_inspection, parent_appeal, council_meeting "
        "or instruction.",
    )
    state: Mapped[str] = mapped_column(
        String(30), comment="Current state, one of the workflow's states (see docs/workflows.md)."
    )
    title: Mapped[str] = mapped_column(String(255), comment="Short description of the case.")
    region_id: Mapped[int] = reference("region", "Region responsible for the case.")
    organization_id: Mapped[int | None] = reference(
        "organization", "School the case concerns; empty for regional cases."
    )
    teacher_id: Mapped[int | None] = reference(
        "teacher", "Teacher the case concerns; empty if it concerns no one person."
    )
    opened_on: Mapped[dt.date] = mapped_column(comment="Date the case was opened.")
    due_on: Mapped[dt.date | None] = mapped_column(
        comment="Date the next step is due; empty if none is. Past it an open case is overdue."
    )
    closed_on: Mapped[dt.date | None] = mapped_column(
        comment="Date the case reached a final state; empty while open."
    )
    data: Mapped[str] = mapped_column(
        Text, comment="The case's values (scores, amounts, decisions…) as a JSON object."
    )


class WorkflowEvent(Base):
    """One step of a case: who took it and when, the states before and after, what it carried."""

    __tablename__ = "workflow_event"
    __natural_key__ = ("workflow_case_id", "sequence")
    __table_args__ = (UniqueConstraint("workflow_case_id", "sequence"), in_range("sequence", 1))

    workflow_case_id: Mapped[int] = reference("workflow_case", "Case the step belongs to.")
    sequence: Mapped[int] = mapped_column(comment="Number of the step within its case, from 1.")
    at: Mapped[dt.datetime] = mapped_column(comment="When the step was taken (UTC).")
    username: Mapped[str] = mapped_column(String(60), comment="Account that took the step.")
    role: Mapped[str] = mapped_column(String(20), comment="The account's role at the time.")
    action: Mapped[str] = mapped_column(String(30), comment="Step taken, e.g. record_test.")
    from_state: Mapped[str | None] = mapped_column(
        String(30), comment="State before the step; empty for the step that opened the case."
    )
    to_state: Mapped[str] = mapped_column(String(30), comment="State after the step.")
    changes: Mapped[str] = mapped_column(
        Text, comment="Values the step gave or derived, as a JSON object."
    )
    note: Mapped[str | None] = mapped_column(String(1000), comment="Free-text remark, if any.")
