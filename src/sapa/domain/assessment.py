"""Assessment: programmes, administrations, subjects, items, booklets and response files.

Programmes cover the monitoring of educational achievements (МОДО, grades 4 and 9; Order MES
No. 204 of 5 May 2021), the teacher qualification test (НКТ / ОЗП), school-leaving and entrance
testing. Items exist in language versions (Kazakh, Russian, and for teachers' tests also Uzbek,
Uyghur and Tajik); booklets place items at positions, which is how incomplete designs are
described.

Responses themselves never go in the database: a :class:`ResponseFile` row points to a Parquet
file (persons × items, ``int8``, −1 = not presented or missing) by path and SHA-256, written by
:mod:`sapa.store.columnar`.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, code_column, in_order, in_range, reference, str_enum


class ProgrammeKind(enum.StrEnum):
    ACHIEVEMENT_MONITORING = "achievement_monitoring"
    TEACHER_QUALIFICATION = "teacher_qualification"
    SCHOOL_LEAVING = "school_leaving"
    ENTRANCE = "entrance"
    INTERNATIONAL = "international"


class Population(enum.StrEnum):
    STUDENTS = "students"
    TEACHERS = "teachers"


class AdministrationMode(enum.StrEnum):
    COMPUTER = "computer"
    PAPER = "paper"
    MIXED = "mixed"


class ItemType(enum.StrEnum):
    """Response format; scored 0..max_score."""

    MULTIPLE_CHOICE = "multiple_choice"
    MULTIPLE_RESPONSE = "multiple_response"
    CONSTRUCTED = "constructed"
    PARTIAL_CREDIT = "partial_credit"


DEFAULT_IRT_MODEL = {
    ItemType.MULTIPLE_CHOICE: "3PL",
    ItemType.MULTIPLE_RESPONSE: "2PL",
    ItemType.CONSTRUCTED: "2PL",
    ItemType.PARTIAL_CREDIT: "GPCM",
}
"""The IRT model an item of each type is calibrated with unless a run says otherwise: choice
items can be guessed (3PL), constructed and all-or-nothing multiple-response items cannot
(2PL), partial-credit items have ordered score categories (GPCM)."""


class TestLanguage(enum.StrEnum):
    """Language a test form is delivered in (ISO 639-1)."""

    KAZAKH = "kk"
    RUSSIAN = "ru"
    ENGLISH = "en"
    UZBEK = "uz"
    UYGHUR = "ug"
    TAJIK = "tg"


class ResponseContent(enum.StrEnum):
    """What a Parquet file holds: raw responses, scores or plausible values."""

    RESPONSES = "responses"
    SCORES = "scores"
    PLAUSIBLE_VALUES = "plausible_values"


class Subject(Base):
    """A school subject or test domain (mathematics, reading literacy, pedagogy, …)."""

    __tablename__ = "subject"
    __natural_key__ = ("code",)

    code: Mapped[str] = code_column(30, "Subject code, unique, e.g. MATH, READ_KK, PHYS.")
    name_en: Mapped[str] = mapped_column(String(120), comment="Name in English.")
    name_kk: Mapped[str] = mapped_column(String(120), comment="Name in Kazakh.")
    name_ru: Mapped[str] = mapped_column(String(120), comment="Name in Russian.")


class AssessmentProgramme(Base):
    """A recurring assessment: who is tested, in which grade, for what purpose."""

    __tablename__ = "assessment_programme"
    __natural_key__ = ("code",)
    __table_args__ = (
        in_range("grade", 1, 12),
        CheckConstraint("grade IS NULL OR population = 'students'", name="grade_only_students"),
    )

    code: Mapped[str] = code_column(30, "Programme code, unique, e.g. MODO4, MODO9, OZP.")
    name: Mapped[str] = mapped_column(String(255), comment="Programme name.")
    kind: Mapped[ProgrammeKind] = mapped_column(
        str_enum(ProgrammeKind),
        comment="achievement_monitoring, teacher_qualification, school_leaving, entrance or "
        "international.",
    )
    population: Mapped[Population] = mapped_column(
        str_enum(Population), comment="students or teachers."
    )
    grade: Mapped[int | None] = mapped_column(comment="Grade tested (students only).")


class Administration(Base):
    """One sitting of a programme: a year, a testing window and a delivery mode."""

    __tablename__ = "administration"
    __natural_key__ = ("code",)
    __table_args__ = (
        UniqueConstraint("assessment_programme_id", "year", "cycle"),
        in_range("year", 2000, 2100),
        in_range("cycle", 1, 12),
        in_order("starts_on", "ends_on"),
    )

    code: Mapped[str] = code_column(30, "Administration code, unique, e.g. MODO4-2025.")
    assessment_programme_id: Mapped[int] = reference("assessment_programme", "Programme.")
    year: Mapped[int] = mapped_column(comment="Calendar year of the sitting.")
    cycle: Mapped[int] = mapped_column(
        default=1, comment="Sitting within the year (1 unless tested in several windows)."
    )
    starts_on: Mapped[dt.date] = mapped_column(comment="First testing day.")
    ends_on: Mapped[dt.date] = mapped_column(comment="Last testing day.")
    mode: Mapped[AdministrationMode] = mapped_column(
        str_enum(AdministrationMode), comment="computer, paper or mixed."
    )


class Item(Base):
    """A test item in the item bank, language-independent: format, key and maximum score."""

    __tablename__ = "item"
    __natural_key__ = ("code",)
    __table_args__ = (
        in_range("max_score", 1, 20),
        in_range("option_count", 2, 10),
        CheckConstraint(
            "item_type NOT IN ('multiple_choice', 'multiple_response') OR answer_key IS NOT NULL",
            name="choice_items_keyed",
        ),
    )

    code: Mapped[str] = code_column(30, "Item code in the bank, unique.")
    subject_id: Mapped[int] = reference("subject", "Subject (domain) the item measures.")
    item_type: Mapped[ItemType] = mapped_column(
        str_enum(ItemType),
        comment="multiple_choice, multiple_response, constructed or partial_credit.",
    )
    max_score: Mapped[int] = mapped_column(comment="Maximum score; categories are 0..max_score.")
    option_count: Mapped[int | None] = mapped_column(comment="Number of options (choice items).")
    answer_key: Mapped[str | None] = mapped_column(
        String(20),
        comment="Key: option number(s) 1-based, several separated by '+', e.g. 3 or 1+4.",
    )
    content_area: Mapped[str | None] = mapped_column(
        String(100), comment="Content area or framework strand."
    )


class ItemVersion(Base):
    """An item's text in one language (the wording is held in the secure item bank)."""

    __tablename__ = "item_version"
    __natural_key__ = ("item_id", "language")
    __table_args__ = (UniqueConstraint("item_id", "language"),)

    item_id: Mapped[int] = reference("item", "Item translated.")
    language: Mapped[TestLanguage] = mapped_column(
        str_enum(TestLanguage), comment="kk, ru, en, uz, ug or tg."
    )
    bank_reference: Mapped[str] = mapped_column(
        String(255), comment="Location of the wording in the secure item bank."
    )
    reviewed_on: Mapped[dt.date | None] = mapped_column(comment="Date the version was approved.")


class Booklet(Base):
    """A test form of one administration in one language."""

    __tablename__ = "booklet"
    __natural_key__ = ("code",)

    code: Mapped[str] = code_column(40, "Booklet code, unique, e.g. MODO4-2025-B03-KK.")
    administration_id: Mapped[int] = reference("administration", "Administration.")
    language: Mapped[TestLanguage] = mapped_column(
        str_enum(TestLanguage), comment="Language of delivery: kk, ru, en, uz, ug or tg."
    )
    time_limit_minutes: Mapped[int | None] = mapped_column(comment="Time allowed, minutes.")


class BookletItem(Base):
    """An item placed at a position in a booklet (the booklet design)."""

    __tablename__ = "booklet_item"
    __natural_key__ = ("booklet_id", "position")
    __table_args__ = (
        UniqueConstraint("booklet_id", "position"),
        UniqueConstraint("booklet_id", "item_id"),
        in_range("position", 1, 500),
    )

    booklet_id: Mapped[int] = reference("booklet", "Booklet.")
    position: Mapped[int] = mapped_column(comment="1-based position in the booklet.")
    item_id: Mapped[int] = reference("item", "Item at this position.")


class ResponseFile(Base):
    """A Parquet file of responses, scores or plausible values for one administration.

    The database records where the file is, its SHA-256 (so an analysis can prove which data it
    used) and its shape; the matrix itself stays columnar.
    """

    __tablename__ = "response_file"
    __natural_key__ = ("code",)
    __table_args__ = (
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
        in_range("n_persons", 0),
        in_range("n_items", 0),
    )

    code: Mapped[str] = code_column(60, "File code, unique, e.g. MODO4-2025-MATH-responses.")
    administration_id: Mapped[int] = reference("administration", "Administration.")
    booklet_id: Mapped[int | None] = reference(
        "booklet", "Booklet, when the file holds one form only; empty for all forms."
    )
    content: Mapped[ResponseContent] = mapped_column(
        str_enum(ResponseContent), comment="responses, scores or plausible_values."
    )
    path: Mapped[str] = mapped_column(
        String(500), unique=True, comment="Path of the Parquet file, relative to the data folder."
    )
    sha256: Mapped[str] = mapped_column(String(64), comment="SHA-256 of the file, hex.")
    n_persons: Mapped[int] = mapped_column(comment="Rows (persons) in the file.")
    n_items: Mapped[int] = mapped_column(comment="Item (or value) columns in the file.")
    created_at: Mapped[dt.datetime] = mapped_column(comment="When the file was written (UTC).")
