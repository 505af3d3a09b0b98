"""Welfare: school meals, catering inspections, children's rights, parents and feedback.

Since 1 Sept 2023 all pupils of grades 1–4 and children from low-income and socially vulnerable
families are fed free of charge (average 577 tenge per child per day); grades 5–11 from vulnerable
families are fed from the universal-education fund (Фонд всеобуча). Trustee councils follow the
typical rules of Order MES No. 355 of 27 July 2017 (at least 9 members).

Parent surveys are stored in long form: one :class:`SurveyAnswer` row per respondent and
item, with the Likert answer 1–5. An instrument can add or drop items without a migration, an
unanswered item is simply an absent row, and answers aggregate with a plain ``GROUP BY``.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, code_column, in_order, in_range, reference, str_enum


class MealFunding(enum.StrEnum):
    LOCAL_BUDGET = "local_budget"
    UNIVERSAL_EDUCATION_FUND = "universal_education_fund"
    REPUBLICAN_BUDGET = "republican_budget"
    SPONSOR = "sponsor"
    PARENTS = "parents"


class InspectorBody(enum.StrEnum):
    SANITARY_EPIDEMIOLOGICAL = "sanitary_epidemiological"
    QUALITY_ASSURANCE_COMMITTEE = "quality_assurance_committee"
    EDUCATION_DEPARTMENT = "education_department"
    PARENT_COMMISSION = "parent_commission"
    OTHER = "other"


class IncidentKind(enum.StrEnum):
    BULLYING = "bullying"
    CYBERBULLYING = "cyberbullying"
    VIOLENCE = "violence"
    SEXUAL_VIOLENCE = "sexual_violence"
    NEGLECT = "neglect"
    SELF_HARM = "self_harm"
    DISCRIMINATION = "discrimination"
    OTHER = "other"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class IncidentStatus(enum.StrEnum):
    REPORTED = "reported"
    UNDER_REVIEW = "under_review"
    REFERRED = "referred"
    RESOLVED = "resolved"
    UNFOUNDED = "unfounded"


class FeedbackChannel(enum.StrEnum):
    HOTLINE_111 = "hotline_111"
    EGOV = "egov"
    EMAIL = "email"
    LETTER = "letter"
    VISIT = "visit"
    SOCIAL_MEDIA = "social_media"
    SCHOOL_BOX = "school_box"


class FeedbackTopic(enum.StrEnum):
    MEALS = "meals"
    SAFETY = "safety"
    BULLYING = "bullying"
    TEACHING = "teaching"
    ADMISSION = "admission"
    FEES = "fees"
    INFRASTRUCTURE = "infrastructure"
    OTHER = "other"


class MealProvision(Base):
    """Free meals at one school over one period from one funding source."""

    __tablename__ = "meal_provision"
    __natural_key__ = ("organization_id", "period_start", "funding_source")
    __table_args__ = (
        UniqueConstraint("organization_id", "period_start", "funding_source"),
        in_order("period_start", "period_end"),
        in_range("eligible_count", 0),
        in_range("covered_count", 0),
        CheckConstraint("covered_count <= eligible_count", name="covered_le_eligible"),
        in_range("cost_per_child_day_tenge", 0),
    )

    organization_id: Mapped[int] = reference("organization", "School providing the meals.")
    period_start: Mapped[dt.date] = mapped_column(comment="First day of the period.")
    period_end: Mapped[dt.date] = mapped_column(comment="Last day of the period.")
    funding_source: Mapped[MealFunding] = mapped_column(
        str_enum(MealFunding),
        comment="local_budget, universal_education_fund, republican_budget, sponsor or parents.",
    )
    eligible_count: Mapped[int] = mapped_column(comment="Pupils entitled to free meals (persons).")
    covered_count: Mapped[int] = mapped_column(comment="Pupils actually fed (persons).")
    cost_per_child_day_tenge: Mapped[Decimal] = mapped_column(
        Numeric(10, 2), comment="Cost of one child's meals per school day, tenge."
    )


class CateringInspection(Base):
    """An inspection of a school's catering: who inspected, what was found."""

    __tablename__ = "catering_inspection"
    __natural_key__ = ("organization_id", "inspected_on", "inspector")
    __table_args__ = (
        UniqueConstraint("organization_id", "inspected_on", "inspector"),
        in_range("violations_count", 0),
    )

    organization_id: Mapped[int] = reference("organization", "School inspected.")
    inspected_on: Mapped[dt.date] = mapped_column(comment="Inspection date.")
    inspector: Mapped[InspectorBody] = mapped_column(
        str_enum(InspectorBody),
        comment="sanitary_epidemiological, quality_assurance_committee, education_department, "
        "parent_commission or other.",
    )
    violations_count: Mapped[int] = mapped_column(comment="Number of violations recorded.")
    findings: Mapped[str | None] = mapped_column(Text, comment="Summary of the findings.")


class ChildRightsIncident(Base):
    """A reported violation of a child's rights at or around a school (no personal data).

    ``restricted`` rows are visible only to child-protection roles; published figures count them
    without details.
    """

    __tablename__ = "child_rights_incident"
    __natural_key__ = ("code",)
    __table_args__ = (in_order("reported_on", "closed_on"),)

    code: Mapped[str] = code_column(30, "Case number, unique.")
    organization_id: Mapped[int] = reference("organization", "School concerned.")
    kind: Mapped[IncidentKind] = mapped_column(
        str_enum(IncidentKind),
        comment="bullying, cyberbullying, violence, sexual_violence, neglect, self_harm, "
        "discrimination or other.",
    )
    severity: Mapped[Severity] = mapped_column(
        str_enum(Severity), comment="low, medium, high or critical."
    )
    status: Mapped[IncidentStatus] = mapped_column(
        str_enum(IncidentStatus),
        comment="reported, under_review, referred, resolved or unfounded.",
    )
    reported_on: Mapped[dt.date] = mapped_column(comment="Date reported.")
    closed_on: Mapped[dt.date | None] = mapped_column(comment="Date closed; empty while open.")
    restricted: Mapped[bool] = mapped_column(
        default=True, comment="Details visible only to child-protection roles."
    )


class ParentSurvey(Base):
    """A parent-satisfaction questionnaire run nationally or in one region."""

    __tablename__ = "parent_survey"
    __natural_key__ = ("code",)
    __table_args__ = (in_order("opens_on", "closes_on"),)

    code: Mapped[str] = code_column(30, "Survey code, unique.")
    title: Mapped[str] = mapped_column(String(255), comment="Survey title.")
    region_id: Mapped[int | None] = reference("region", "Region surveyed; empty = national.")
    opens_on: Mapped[dt.date] = mapped_column(comment="First day answers are accepted.")
    closes_on: Mapped[dt.date] = mapped_column(comment="Last day answers are accepted.")


class SurveyItem(Base):
    """One Likert item (answers 1–5: strongly disagree … strongly agree) of a parent survey."""

    __tablename__ = "survey_item"
    __natural_key__ = ("code",)
    __table_args__ = (
        UniqueConstraint("parent_survey_id", "number"),
        in_range("number", 1, 200),
    )

    code: Mapped[str] = code_column(40, "Item code, unique, e.g. PS2025-Q03.")
    parent_survey_id: Mapped[int] = reference("parent_survey", "Survey the item belongs to.")
    number: Mapped[int] = mapped_column(comment="Position of the item in the questionnaire.")
    text_kk: Mapped[str] = mapped_column(String(500), comment="Item wording in Kazakh.")
    text_ru: Mapped[str] = mapped_column(String(500), comment="Item wording in Russian.")


class SurveyAnswer(Base):
    """One respondent's answer to one survey item (long form; Likert 1–5)."""

    __tablename__ = "survey_answer"
    __natural_key__ = ("survey_item_id", "respondent_code")
    __table_args__ = (
        UniqueConstraint("survey_item_id", "respondent_code"),
        in_range("answer", 1, 5),
    )

    survey_item_id: Mapped[int] = reference("survey_item", "Item answered.")
    respondent_code: Mapped[str] = mapped_column(
        String(40), comment="Pseudonymous respondent (one questionnaire) code."
    )
    organization_id: Mapped[int] = reference("organization", "School the child attends.")
    answer: Mapped[int] = mapped_column(
        comment="1 strongly disagree, 2 disagree, 3 neutral, 4 agree, 5 strongly agree."
    )


class TrusteeCouncilMeeting(Base):
    """A meeting of a school's trustee council (попечительский совет)."""

    __tablename__ = "trustee_council_meeting"
    __natural_key__ = ("organization_id", "held_on")
    __table_args__ = (
        UniqueConstraint("organization_id", "held_on"),
        in_range("members_total", 0),
        in_range("members_present", 0),
        CheckConstraint("members_present <= members_total", name="present_le_total"),
        in_range("decisions_count", 0),
    )

    organization_id: Mapped[int] = reference("organization", "School whose council met.")
    held_on: Mapped[dt.date] = mapped_column(comment="Meeting date.")
    members_total: Mapped[int] = mapped_column(comment="Council members (at least 9 by the rules).")
    members_present: Mapped[int] = mapped_column(comment="Members present.")
    decisions_count: Mapped[int] = mapped_column(comment="Decisions adopted.")
    agenda: Mapped[str | None] = mapped_column(String(500), comment="Main agenda items.")


class Feedback(Base):
    """An appeal, complaint or suggestion from a parent or citizen and how it was answered."""

    __tablename__ = "feedback"
    __natural_key__ = ("code",)
    __table_args__ = (
        in_order("received_on", "deadline_on"),
        in_order("received_on", "answered_on"),
    )

    code: Mapped[str] = code_column(30, "Registration number, unique.")
    organization_id: Mapped[int | None] = reference(
        "organization", "School concerned; empty if not about one school."
    )
    region_id: Mapped[int] = reference("region", "Region that handles the appeal.")
    channel: Mapped[FeedbackChannel] = mapped_column(
        str_enum(FeedbackChannel),
        comment="hotline_111, egov, email, letter, visit, social_media or school_box.",
    )
    topic: Mapped[FeedbackTopic] = mapped_column(
        str_enum(FeedbackTopic),
        comment="meals, safety, bullying, teaching, admission, fees, infrastructure or other.",
    )
    received_on: Mapped[dt.date] = mapped_column(comment="Date received.")
    deadline_on: Mapped[dt.date] = mapped_column(comment="Date an answer is due.")
    answered_on: Mapped[dt.date | None] = mapped_column(comment="Date answered; empty if pending.")
