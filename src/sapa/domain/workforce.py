"""Workforce: qualification categories, attestation, qualification tests, professional
development, awards, vacancies and support for young specialists.

Categories and attestation follow the rules of Order MES No. 83 of 27 Jan 2016 as amended
(педагог, педагог-модератор, педагог-эксперт, педагог-исследователь, педагог-мастер): teachers are
attested at least once every 5 years (Law "On the status of the pedagogue", art. 15), first heads
once every 3 years (Law "On Education", art. 44 p. 5). The qualification test (НКТ, now ОЗП) pass
thresholds are 50/60/70/80/90 % for the five target categories.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, code_column, in_order, in_range, reference, str_enum
from sapa.domain.people import Position


class QualificationCategory(enum.StrEnum):
    """The five qualification categories of a pedagogue, lowest first."""

    PEDAGOGUE = "pedagogue"
    MODERATOR = "pedagogue_moderator"
    EXPERT = "pedagogue_expert"
    RESEARCHER = "pedagogue_researcher"
    MASTER = "pedagogue_master"


class CategoryBasis(enum.StrEnum):
    """Why a category was assigned."""

    ATTESTATION = "attestation"
    ON_HIRE = "on_hire"
    EXEMPTION = "exemption"
    TRANSFER = "transfer"
    AWARD = "award"


class AttestationResult(enum.StrEnum):
    ASSIGNED = "assigned"
    CONFIRMED = "confirmed"
    NOT_CONFIRMED = "not_confirmed"
    LOWERED = "lowered"


class CourseFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    BLENDED = "blended"


class AwardKind(enum.StrEnum):
    """State awards, honorary titles and contest prizes a pedagogue can receive."""

    HONOURED_TEACHER = "honoured_teacher"
    HERO_OF_LABOUR = "hero_of_labour"
    BEST_PEDAGOGUE = "best_pedagogue"
    MINISTRY_BADGE = "ministry_badge"
    REGIONAL_AWARD = "regional_award"
    OTHER = "other"


class SupportProgramme(enum.StrEnum):
    """Programme under which a young specialist receives support."""

    DIPLOMA_TO_VILLAGE = "diploma_to_village"
    LOCAL = "local"
    SCHOOL = "school"


class CategoryAssignment(Base):
    """One period during which a teacher held a qualification category (the category history)."""

    __tablename__ = "category_assignment"
    __natural_key__ = ("teacher_id", "valid_from")
    __table_args__ = (
        UniqueConstraint("teacher_id", "valid_from"),
        in_order("valid_from", "valid_to"),
    )

    teacher_id: Mapped[int] = reference("teacher", "Teacher holding the category.")
    category: Mapped[QualificationCategory] = mapped_column(
        str_enum(QualificationCategory),
        comment="pedagogue, pedagogue_moderator, pedagogue_expert, pedagogue_researcher, "
        "pedagogue_master.",
    )
    valid_from: Mapped[dt.date] = mapped_column(comment="First day the category applies.")
    valid_to: Mapped[dt.date | None] = mapped_column(
        comment="Last day the category applies; empty while current."
    )
    basis: Mapped[CategoryBasis] = mapped_column(
        str_enum(CategoryBasis),
        comment="attestation, on_hire, exemption, transfer or award (why it was assigned).",
    )
    order_reference: Mapped[str | None] = mapped_column(
        String(100), comment="Number and date of the order that assigned it."
    )


class Attestation(Base):
    """A teacher's periodic attestation: due date, when it was held and its result."""

    __tablename__ = "attestation"
    __natural_key__ = ("teacher_id", "due_on")
    __table_args__ = (
        UniqueConstraint("teacher_id", "due_on"),
        CheckConstraint("period_years IN (3, 5)", name="period_years_allowed"),
    )

    teacher_id: Mapped[int] = reference("teacher", "Teacher being attested.")
    due_on: Mapped[dt.date] = mapped_column(comment="Date by which the attestation is due.")
    period_years: Mapped[int] = mapped_column(
        comment="Attestation cycle in years: 5 for teachers and deputies, 3 for first heads."
    )
    target_category: Mapped[QualificationCategory] = mapped_column(
        str_enum(QualificationCategory), comment="Category applied for or to be confirmed."
    )
    held_on: Mapped[dt.date | None] = mapped_column(
        comment="Date of the commission's decision; empty if not yet held."
    )
    result: Mapped[AttestationResult | None] = mapped_column(
        str_enum(AttestationResult),
        comment="assigned, confirmed, not_confirmed or lowered; empty if not yet held.",
    )


class QualificationTestResult(Base):
    """A result of the national qualification test (НКТ / ОЗП), stage 1 of attestation."""

    __tablename__ = "qualification_test_result"
    __natural_key__ = ("teacher_id", "tested_on")
    __table_args__ = (
        UniqueConstraint("teacher_id", "tested_on"),
        in_range("score_percent", 0, 100),
        in_range("threshold_percent", 0, 100),
    )

    teacher_id: Mapped[int] = reference("teacher", "Teacher tested.")
    tested_on: Mapped[dt.date] = mapped_column(comment="Test date.")
    target_category: Mapped[QualificationCategory] = mapped_column(
        str_enum(QualificationCategory), comment="Category the test was taken for."
    )
    score_percent: Mapped[float] = mapped_column(comment="Score in percent of the maximum (0–100).")
    threshold_percent: Mapped[float] = mapped_column(
        comment="Pass threshold in percent for the target category (50/60/70/80/90)."
    )
    passed: Mapped[bool] = mapped_column(comment="Whether the threshold was reached.")


class Course(Base):
    """A professional-development course offered to pedagogues."""

    __tablename__ = "course"
    __natural_key__ = ("code",)
    __table_args__ = (in_range("hours", 1, 2000),)

    code: Mapped[str] = code_column(30, "Course code in the provider's catalogue, unique.")
    title: Mapped[str] = mapped_column(String(255), comment="Course title.")
    provider: Mapped[str] = mapped_column(
        String(255), comment="Provider, e.g. Orleu, the Centre of Pedagogical Excellence."
    )
    hours: Mapped[int] = mapped_column(comment="Nominal length in academic hours.")
    format: Mapped[CourseFormat] = mapped_column(
        str_enum(CourseFormat), comment="in_person, online or blended."
    )


class CourseCompletion(Base):
    """A teacher's completion of a professional-development course."""

    __tablename__ = "course_completion"
    __natural_key__ = ("teacher_id", "course_id", "completed_on")
    __table_args__ = (
        UniqueConstraint("teacher_id", "course_id", "completed_on"),
        in_range("hours_credited", 0, 2000),
    )

    teacher_id: Mapped[int] = reference("teacher", "Teacher who completed the course.")
    course_id: Mapped[int] = reference("course", "Course completed.")
    completed_on: Mapped[dt.date] = mapped_column(comment="Completion (certificate) date.")
    hours_credited: Mapped[int] = mapped_column(comment="Academic hours credited.")
    certificate_number: Mapped[str | None] = mapped_column(
        String(50), comment="Certificate number, if issued."
    )


class Award(Base):
    """A state award, honorary title or contest prize received by a teacher."""

    __tablename__ = "award"
    __natural_key__ = ("teacher_id", "kind", "awarded_on")
    __table_args__ = (
        UniqueConstraint("teacher_id", "kind", "awarded_on"),
        in_range("payment_tenge", 0),
    )

    teacher_id: Mapped[int] = reference("teacher", "Teacher awarded.")
    kind: Mapped[AwardKind] = mapped_column(
        str_enum(AwardKind),
        comment="honoured_teacher, hero_of_labour, best_pedagogue, ministry_badge, "
        "regional_award or other.",
    )
    title: Mapped[str] = mapped_column(String(255), comment="Exact title of the award.")
    awarded_on: Mapped[dt.date] = mapped_column(comment="Date conferred.")
    conferred_by: Mapped[str] = mapped_column(
        String(255), comment="Conferring body, e.g. decree of the President, Ministry, akimat."
    )
    payment_tenge: Mapped[int | None] = mapped_column(
        comment="One-off payment in tenge, if any (e.g. 1,000 MRP)."
    )


class Vacancy(Base):
    """An open teaching post in a school: subject, weekly hours, when opened and filled."""

    __tablename__ = "vacancy"
    __natural_key__ = ("code",)
    __table_args__ = (in_range("weekly_hours", 0, 48), in_order("opened_on", "filled_on"))

    code: Mapped[str] = code_column(30, "Vacancy code, unique.")
    organization_id: Mapped[int] = reference("organization", "School with the vacancy.")
    subject_id: Mapped[int | None] = reference("subject", "Subject to teach; empty if none.")
    position: Mapped[Position] = mapped_column(str_enum(Position), comment="Post advertised.")
    weekly_hours: Mapped[float] = mapped_column(
        comment="Teaching load in hours per week (16 = 1 rate)."
    )
    opened_on: Mapped[dt.date] = mapped_column(comment="Date the vacancy was published.")
    filled_on: Mapped[dt.date | None] = mapped_column(comment="Date filled; empty while open.")
    teacher_id: Mapped[int | None] = reference("teacher", "Teacher hired; empty while open.")


class YoungSpecialistSupport(Base):
    """Support given to a young specialist: a mentor, a lifting allowance and a housing loan.

    Under «С дипломом – в село!» a graduate who commits to 3 years in a rural organisation gets a
    lifting allowance of 100 MRP and may take a housing loan of up to 1,500 MRP for 15 years.
    """

    __tablename__ = "young_specialist_support"
    __natural_key__ = ("teacher_id", "starts_on")
    __table_args__ = (
        UniqueConstraint("teacher_id", "starts_on"),
        in_order("starts_on", "ends_on"),
        in_range("lifting_allowance_tenge", 0),
        in_range("housing_loan_tenge", 0),
        CheckConstraint("mentor_id IS NULL OR mentor_id <> teacher_id", name="mentor_not_self"),
    )

    teacher_id: Mapped[int] = reference("teacher", "Young specialist supported.")
    mentor_id: Mapped[int | None] = reference(
        "teacher", "Teacher assigned as mentor; in files mentor_code.", target_code="mentor_code"
    )
    programme: Mapped[SupportProgramme] = mapped_column(
        str_enum(SupportProgramme), comment="diploma_to_village, local or school."
    )
    starts_on: Mapped[dt.date] = mapped_column(comment="Start of the support period.")
    ends_on: Mapped[dt.date | None] = mapped_column(comment="End of the support period.")
    lifting_allowance_tenge: Mapped[int | None] = mapped_column(
        comment="One-off lifting allowance paid, tenge."
    )
    housing_loan_tenge: Mapped[int | None] = mapped_column(comment="Housing loan granted, tenge.")
