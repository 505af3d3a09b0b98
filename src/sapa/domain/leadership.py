"""Leadership: the «1000 лидеров изменений в образовании» (1000 Leaders of Change) programme.

Running since 2023: candidates (deputy heads and, from 2024, teachers) take a test and an
interview, selected candidates train in cohorts at the Centre of Pedagogical Excellence (basic,
expert, professional levels), a final commission admits graduates to the national personnel
reserve, and reservists are appointed school heads without a competition.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, code_column, in_order, in_range, reference, str_enum
from sapa.domain.people import Position


class SelectionDecision(enum.StrEnum):
    ADMITTED = "admitted"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"


class TrainingLevel(enum.StrEnum):
    BASIC = "basic"
    EXPERT = "expert"
    PROFESSIONAL = "professional"


class MembershipStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class LeadershipCandidate(Base):
    """An application to the programme by a teacher or deputy head in a given intake year."""

    __tablename__ = "leader_candidate"
    __natural_key__ = ("code",)
    __table_args__ = (
        UniqueConstraint("teacher_id", "intake_year"),
        in_range("intake_year", 2023, 2100),
    )

    code: Mapped[str] = code_column(30, "Application code, unique.")
    teacher_id: Mapped[int] = reference("teacher", "Applicant.")
    intake_year: Mapped[int] = mapped_column(comment="Year of the call the application answers.")
    position_at_application: Mapped[Position] = mapped_column(
        str_enum(Position), comment="Applicant's post when applying (teacher, deputy_head, …)."
    )
    applied_on: Mapped[dt.date] = mapped_column(comment="Date the application was filed.")


class LeadershipSelection(Base):
    """The selection outcome for one candidate: test and interview scores and the decision."""

    __tablename__ = "leader_selection"
    __natural_key__ = ("leader_candidate_id",)
    __table_args__ = (
        UniqueConstraint("leader_candidate_id"),
        in_range("test_score_percent", 0, 100),
        in_range("interview_score_percent", 0, 100),
    )

    leader_candidate_id: Mapped[int] = reference("leader_candidate", "Candidate.")
    test_score_percent: Mapped[float | None] = mapped_column(
        comment="Selection test score, percent of maximum; empty if absent."
    )
    interview_score_percent: Mapped[float | None] = mapped_column(
        comment="Interview score, percent of maximum; empty if not invited."
    )
    decision: Mapped[SelectionDecision] = mapped_column(
        str_enum(SelectionDecision), comment="admitted, waitlisted or rejected."
    )
    decided_on: Mapped[dt.date] = mapped_column(comment="Date of the selection decision.")


class LeadershipCohort(Base):
    """A training cohort (group) at one level with its dates."""

    __tablename__ = "leader_cohort"
    __natural_key__ = ("code",)
    __table_args__ = (in_order("starts_on", "ends_on"),)

    code: Mapped[str] = code_column(30, "Cohort code, unique, e.g. L2025-DEP-01.")
    level: Mapped[TrainingLevel] = mapped_column(
        str_enum(TrainingLevel), comment="basic, expert or professional."
    )
    provider: Mapped[str] = mapped_column(String(255), comment="Training provider.")
    starts_on: Mapped[dt.date] = mapped_column(comment="First day of training.")
    ends_on: Mapped[dt.date] = mapped_column(comment="Last day of training.")


class LeadershipCohortMember(Base):
    """A candidate's membership of a training cohort and how it ended."""

    __tablename__ = "leader_cohort_member"
    __natural_key__ = ("leader_cohort_id", "leader_candidate_id")
    __table_args__ = (
        UniqueConstraint("leader_cohort_id", "leader_candidate_id"),
        in_range("final_score_percent", 0, 100),
    )

    leader_cohort_id: Mapped[int] = reference("leader_cohort", "Cohort.")
    leader_candidate_id: Mapped[int] = reference("leader_candidate", "Candidate.")
    status: Mapped[MembershipStatus] = mapped_column(
        str_enum(MembershipStatus), comment="enrolled, completed or withdrawn."
    )
    final_score_percent: Mapped[float | None] = mapped_column(
        comment="Final commission's score, percent of maximum; empty until assessed."
    )


class LeadershipReserve(Base):
    """A period a candidate spent in the national personnel reserve for head posts."""

    __tablename__ = "leader_reserve"
    __natural_key__ = ("leader_candidate_id", "included_on")
    __table_args__ = (
        UniqueConstraint("leader_candidate_id", "included_on"),
        in_order("included_on", "excluded_on"),
    )

    leader_candidate_id: Mapped[int] = reference("leader_candidate", "Reservist.")
    included_on: Mapped[dt.date] = mapped_column(comment="Date included in the reserve.")
    excluded_on: Mapped[dt.date | None] = mapped_column(
        comment="Date excluded (appointed, expired, withdrawn); empty while in the reserve."
    )
    exclusion_reason: Mapped[str | None] = mapped_column(
        String(255), comment="Why the reservist left the reserve."
    )


class HeadAppointment(Base):
    """An appointment of a teacher to a head or deputy-head post in an organisation."""

    __tablename__ = "head_appointment"
    __natural_key__ = ("teacher_id", "organization_id", "appointed_on")
    __table_args__ = (
        UniqueConstraint("teacher_id", "organization_id", "appointed_on"),
        in_order("appointed_on", "ended_on"),
    )

    teacher_id: Mapped[int] = reference("teacher", "Person appointed.")
    organization_id: Mapped[int] = reference("organization", "Organisation headed.")
    position: Mapped[Position] = mapped_column(
        str_enum(Position), comment="Post: head or deputy_head."
    )
    appointed_on: Mapped[dt.date] = mapped_column(comment="Appointment date.")
    ended_on: Mapped[dt.date | None] = mapped_column(comment="End of the appointment, if ended.")
    leader_candidate_id: Mapped[int | None] = reference(
        "leader_candidate", "Programme application, when appointed from the reserve."
    )
