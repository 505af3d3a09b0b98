"""People: pupils and teachers, pseudonymous by design.

Analysis tables carry a pseudonymous ``code`` per person and no names. The IIN (individual
identification number) is optional and kept only to link records across sources; it is unique
when present. Names live apart in :class:`PersonIdentity`, a restricted table that analysis
roles never read and deployments may keep in a separate database.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, IINType, code_column, in_order, in_range, reference, str_enum
from sapa.domain.organizations import InstructionLanguage


class Sex(enum.StrEnum):
    """Sex as recorded in the IIN's century/sex digit (odd = male)."""

    MALE = "M"
    FEMALE = "F"


class EducationLevel(enum.StrEnum):
    """Highest completed education of a teacher."""

    SECONDARY_VOCATIONAL = "secondary_vocational"
    BACHELOR = "bachelor"
    SPECIALIST = "specialist"
    MASTER = "master"
    DOCTORATE = "doctorate"


class Position(enum.StrEnum):
    """Post held in an organisation."""

    TEACHER = "teacher"
    DEPUTY_HEAD = "deputy_head"
    HEAD = "head"
    METHODOLOGIST = "methodologist"
    PSYCHOLOGIST = "psychologist"
    SOCIAL_PEDAGOGUE = "social_pedagogue"
    LIBRARIAN = "librarian"
    OTHER = "other"


class PersonKind(enum.StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"


class Student(Base):
    """A pupil enrolled in a school in the current school year (pseudonymous)."""

    __tablename__ = "student"
    __natural_key__ = ("code",)
    __table_args__ = (in_range("birth_year", 1990, 2030), in_range("grade", 0, 12))

    code: Mapped[str] = code_column(32, "Pseudonymous pupil identifier, stable across years.")
    iin: Mapped[str | None] = mapped_column(
        IINType(), unique=True, comment="Individual identification number (12 digits), if known."
    )
    sex: Mapped[Sex] = mapped_column(str_enum(Sex), comment="M or F.")
    birth_year: Mapped[int] = mapped_column(comment="Year of birth (calendar year).")
    organization_id: Mapped[int] = reference("organization", "School the pupil attends.")
    grade: Mapped[int] = mapped_column(comment="Grade 0–12 (0 = pre-school class).")
    class_label: Mapped[str | None] = mapped_column(
        String(10), comment="Class within the grade as the school names it, e.g. 4А."
    )
    instruction_language: Mapped[InstructionLanguage] = mapped_column(
        str_enum(InstructionLanguage), comment="Language of instruction of the pupil's class."
    )
    low_income: Mapped[bool] = mapped_column(
        default=False, comment="From a low-income family (targeted social assistance)."
    )
    socially_vulnerable: Mapped[bool] = mapped_column(
        default=False,
        comment="From a socially vulnerable family (large family, without parental care, …); "
        "entitled to free meals in grades 5–11.",
    )
    special_needs: Mapped[bool] = mapped_column(
        default=False, comment="Has special educational needs (SEN) recognised by a PMPC."
    )


class Teacher(Base):
    """A pedagogue employed in an organisation (pseudonymous); one row per person."""

    __tablename__ = "teacher"
    __natural_key__ = ("code",)
    __table_args__ = (
        in_range("birth_year", 1930, 2010),
        in_range("experience_years", 0, 60),
        in_range("weekly_hours", 0, 48),
        in_order("hired_on", "left_on"),
    )

    code: Mapped[str] = code_column(32, "Pseudonymous teacher identifier, stable across years.")
    iin: Mapped[str | None] = mapped_column(
        IINType(), unique=True, comment="Individual identification number (12 digits), if known."
    )
    sex: Mapped[Sex] = mapped_column(str_enum(Sex), comment="M or F.")
    birth_year: Mapped[int] = mapped_column(comment="Year of birth (calendar year).")
    organization_id: Mapped[int] = reference("organization", "Main place of work.")
    position: Mapped[Position] = mapped_column(
        str_enum(Position), comment="Main post: teacher, deputy_head, head, methodologist, …"
    )
    education_level: Mapped[EducationLevel] = mapped_column(
        str_enum(EducationLevel),
        comment="Highest education: secondary_vocational, bachelor, specialist, master, doctorate.",
    )
    experience_years: Mapped[float] = mapped_column(
        comment="Pedagogical experience in years (all employers), at the start of the school year."
    )
    weekly_hours: Mapped[float | None] = mapped_column(
        comment="Teaching load in hours per week; one rate (ставка) is 16 h."
    )
    hired_on: Mapped[dt.date | None] = mapped_column(comment="Hire date at the main school.")
    left_on: Mapped[dt.date | None] = mapped_column(
        comment="Date the teacher left; empty if employed."
    )
    young_specialist: Mapped[bool] = mapped_column(
        default=False, comment="Holds young-specialist status (first 3 years after graduation)."
    )
    young_specialist_since: Mapped[dt.date | None] = mapped_column(
        comment="Date young-specialist status began."
    )


class TeacherSubject(Base):
    """A subject a teacher teaches; a teacher may teach several, one of them marked main."""

    __tablename__ = "teacher_subject"
    __natural_key__ = ("teacher_id", "subject_id")
    __table_args__ = (UniqueConstraint("teacher_id", "subject_id"),)

    teacher_id: Mapped[int] = reference("teacher", "Teacher.")
    subject_id: Mapped[int] = reference("subject", "Subject taught.")
    main: Mapped[bool] = mapped_column(default=False, comment="The teacher's main subject.")


class PersonIdentity(Base):
    """RESTRICTED: the name behind a pseudonymous student or teacher code.

    Kept out of every analysis table and without foreign keys, so it can live in a separate,
    access-controlled database; only data-protection roles read it.
    """

    __tablename__ = "person_identity"
    __natural_key__ = ("person_kind", "person_code")
    __table_args__ = (
        UniqueConstraint("person_kind", "person_code"),
        {"info": {"restricted": True}},
    )

    person_kind: Mapped[PersonKind] = mapped_column(
        str_enum(PersonKind), comment="student or teacher."
    )
    person_code: Mapped[str] = mapped_column(
        String(32), comment="The student's or teacher's pseudonymous code."
    )
    surname: Mapped[str] = mapped_column(String(100), comment="Surname (тегі / фамилия).")
    given_name: Mapped[str] = mapped_column(String(100), comment="Given name (аты / имя).")
    patronymic: Mapped[str | None] = mapped_column(
        String(100), comment="Patronymic (әкесінің аты / отчество), if any."
    )
