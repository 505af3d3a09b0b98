"""Infrastructure: school buildings, subject classrooms, construction and renovation projects.

Buildings carry the condition classes used in the national counts of emergency schools and
wooden buildings; projects follow the national project «Комфортная школа» (2023–2025, 217 schools
for about 460,000 places) and regular construction and renovation programmes.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, code_column, in_order, in_range, reference, str_enum


class BuildingCondition(enum.StrEnum):
    GOOD = "good"
    SATISFACTORY = "satisfactory"
    NEEDS_REPAIR = "needs_repair"
    EMERGENCY = "emergency"


class ClassroomKind(enum.StrEnum):
    PHYSICS = "physics"
    CHEMISTRY = "chemistry"
    BIOLOGY = "biology"
    STEM = "stem"
    ROBOTICS = "robotics"
    COMPUTER_SCIENCE = "computer_science"
    WORKSHOP = "workshop"
    LANGUAGE_LAB = "language_lab"
    OTHER = "other"


class ProjectKind(enum.StrEnum):
    NEW = "new"
    RENOVATION = "renovation"
    EXTENSION = "extension"


class FundingProgramme(enum.StrEnum):
    """Programme that finances a project."""

    COMFORTABLE_SCHOOL = "comfortable_school"
    REPUBLICAN_BUDGET = "republican_budget"
    LOCAL_BUDGET = "local_budget"
    PUBLIC_PRIVATE_PARTNERSHIP = "public_private_partnership"
    RECOVERED_ASSETS = "recovered_assets"
    OTHER = "other"


class ProjectStatus(enum.StrEnum):
    """The project pipeline: planned → design → construction → commissioned (or cancelled)."""

    PLANNED = "planned"
    DESIGN = "design"
    CONSTRUCTION = "construction"
    COMMISSIONED = "commissioned"
    CANCELLED = "cancelled"


class Building(Base):
    """A building used by an organisation, with its age, condition and design capacity."""

    __tablename__ = "building"
    __natural_key__ = ("code",)
    __table_args__ = (
        in_range("year_built", 1850, 2100),
        in_range("design_capacity", 0),
        in_range("shifts", 1, 3),
        in_range("floors", 1, 30),
    )

    code: Mapped[str] = code_column(30, "Building code, unique.")
    organization_id: Mapped[int] = reference("organization", "Organisation using the building.")
    year_built: Mapped[int | None] = mapped_column(comment="Year construction was completed.")
    condition: Mapped[BuildingCondition] = mapped_column(
        str_enum(BuildingCondition),
        comment="good, satisfactory, needs_repair or emergency (аварийное, per technical survey).",
    )
    wooden: Mapped[bool] = mapped_column(default=False, comment="Wooden (timber-framed) building.")
    floors: Mapped[int | None] = mapped_column(comment="Number of storeys above ground.")
    design_capacity: Mapped[int | None] = mapped_column(
        comment="Design capacity in pupil places per shift."
    )
    shifts: Mapped[int | None] = mapped_column(comment="Teaching shifts run in the building (1–3).")


class SubjectClassroom(Base):
    """An equipped subject classroom or laboratory in a building."""

    __tablename__ = "subject_classroom"
    __natural_key__ = ("building_id", "room")
    __table_args__ = (
        UniqueConstraint("building_id", "room"),
        in_range("equipped_year", 1950, 2100),
        in_range("seats", 0, 200),
    )

    building_id: Mapped[int] = reference("building", "Building the room is in.")
    room: Mapped[str] = mapped_column(
        String(20), comment="Room number or name within the building."
    )
    kind: Mapped[ClassroomKind] = mapped_column(
        str_enum(ClassroomKind),
        comment="physics, chemistry, biology, stem, robotics, computer_science, workshop, "
        "language_lab or other.",
    )
    equipped_year: Mapped[int | None] = mapped_column(comment="Year the current equipment arrived.")
    seats: Mapped[int | None] = mapped_column(comment="Pupil workplaces.")


class ConstructionProject(Base):
    """A school construction, extension or renovation project and its progress."""

    __tablename__ = "construction_project"
    __natural_key__ = ("code",)
    __table_args__ = (
        in_range("places", 0),
        in_range("cost_tenge", 0),
        in_order("planned_start_on", "planned_end_on"),
        in_order("actual_start_on", "actual_end_on"),
    )

    code: Mapped[str] = code_column(30, "Project code, unique.")
    settlement_id: Mapped[int] = reference("settlement", "Settlement where the site is.")
    organization_id: Mapped[int | None] = reference(
        "organization", "Organisation served; empty for a new school not yet registered."
    )
    kind: Mapped[ProjectKind] = mapped_column(
        str_enum(ProjectKind), comment="new, renovation or extension."
    )
    programme: Mapped[FundingProgramme] = mapped_column(
        str_enum(FundingProgramme),
        comment="comfortable_school, republican_budget, local_budget, "
        "public_private_partnership, recovered_assets or other.",
    )
    status: Mapped[ProjectStatus] = mapped_column(
        str_enum(ProjectStatus),
        comment="planned, design, construction, commissioned or cancelled.",
    )
    places: Mapped[int] = mapped_column(comment="Pupil places created or renovated.")
    cost_tenge: Mapped[int | None] = mapped_column(
        BigInteger, comment="Estimated (or final, once commissioned) cost in tenge."
    )
    planned_start_on: Mapped[dt.date | None] = mapped_column(comment="Planned start of works.")
    planned_end_on: Mapped[dt.date | None] = mapped_column(comment="Planned commissioning date.")
    actual_start_on: Mapped[dt.date | None] = mapped_column(comment="Actual start of works.")
    actual_end_on: Mapped[dt.date | None] = mapped_column(comment="Actual commissioning date.")
