"""Organizations: preschools, general secondary schools and TVET colleges with their passport data.

The passport follows what the National Educational Database (NOBD, Order MoE No. 354 of
9 Aug 2022) holds per organisation: kind and statistical school type (bala.stat.gov.kz: primary,
basic, general secondary, gymnasium, lyceum, specialised, boarding, evening, special), the
small-class flag (малокомплектная школа, Law on Education art. 1 p. 58), ownership, language of
instruction, design capacity, shifts and enrolment.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, BINType, code_column, in_order, in_range, reference, str_enum


class OrganizationKind(enum.StrEnum):
    PRESCHOOL = "preschool"
    GENERAL_SECONDARY = "general_secondary"
    TVET = "tvet"


class SchoolType(enum.StrEnum):
    """Statistical type of a general secondary school (bala.stat.gov.kz)."""

    PRIMARY = "primary"
    BASIC = "basic"
    GENERAL = "general"
    GYMNASIUM = "gymnasium"
    LYCEUM = "lyceum"
    SPECIALISED = "specialised"
    BOARDING = "boarding"
    EVENING = "evening"
    SPECIAL = "special"


class Ownership(enum.StrEnum):
    STATE = "state"
    PRIVATE = "private"
    REPUBLICAN = "republican"


class InstructionLanguage(enum.StrEnum):
    """Language of instruction of a school, class or pupil (``mixed``: kk and ru streams)."""

    KAZAKH = "kk"
    RUSSIAN = "ru"
    MIXED = "mixed"
    OTHER = "other"


class Organization(Base):
    """An education organisation (school, preschool or college) with its passport data."""

    __tablename__ = "organization"
    __natural_key__ = ("code",)
    __table_args__ = (
        CheckConstraint(
            "school_type IS NULL OR kind = 'general_secondary'", name="school_type_only_for_schools"
        ),
        in_range("design_capacity", 0),
        in_range("shifts", 1, 3),
        in_range("enrolment", 0),
        in_order("opened_on", "closed_on"),
    )

    code: Mapped[str] = code_column(20, "Organisation code (NOBD identifier), unique.")
    name: Mapped[str] = mapped_column(String(255), comment="Official name in the main language.")
    kind: Mapped[OrganizationKind] = mapped_column(
        str_enum(OrganizationKind), comment="preschool, general_secondary or tvet."
    )
    school_type: Mapped[SchoolType | None] = mapped_column(
        str_enum(SchoolType),
        comment="Statistical type of a general secondary school: primary, basic, general, "
        "gymnasium, lyceum, specialised, boarding, evening, special; empty for other kinds.",
    )
    small_class: Mapped[bool] = mapped_column(
        default=False,
        comment="Small-class school (малокомплектная): combined class-sets, small contingent.",
    )
    ownership: Mapped[Ownership] = mapped_column(
        str_enum(Ownership), comment="state (local authority), private or republican."
    )
    instruction_language: Mapped[InstructionLanguage] = mapped_column(
        str_enum(InstructionLanguage), comment="Language of instruction: kk, ru, mixed or other."
    )
    bin: Mapped[str | None] = mapped_column(
        BINType(), unique=True, comment="Business identification number of the legal entity."
    )
    settlement_id: Mapped[int] = reference("settlement", "Settlement where the organisation is.")
    design_capacity: Mapped[int | None] = mapped_column(
        comment="Design capacity (places, pupils per shift) of all its buildings."
    )
    shifts: Mapped[int | None] = mapped_column(comment="Number of teaching shifts (1–3).")
    enrolment: Mapped[int | None] = mapped_column(
        comment="Pupils (or children) enrolled at the start of the current school year."
    )
    opened_on: Mapped[dt.date | None] = mapped_column(comment="Date the organisation opened.")
    closed_on: Mapped[dt.date | None] = mapped_column(
        comment="Date the organisation closed or merged; empty while it operates."
    )
