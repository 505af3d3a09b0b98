"""Quality assessment results: the runs of ``sapa assess`` and what they found.

A run is one execution of the national quality assessment for a school year on the stored data.
It records what it read (a SHA-256 over its inputs), how it was configured and with which
versions, and it owns its results: one row per indicator, unit of the hierarchy and subgroup,
with the uncertainty that goes with it, and the "needs support" flags with their evidence.
Re-running the same inputs with the same settings reproduces the same run code and results.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sapa.domain._base import Base, code_column, in_order, in_range, reference, str_enum


class UnitLevel(enum.StrEnum):
    NATION = "nation"
    REGION = "region"
    DISTRICT = "district"
    SCHOOL = "school"


class AssessmentRun(Base):
    """One run of the national quality assessment for a year: inputs, settings and versions."""

    __tablename__ = "assessment_run"
    __natural_key__ = ("code",)
    __table_args__ = (in_range("year", 2000, 2100), in_order("started_at", "finished_at"))

    code: Mapped[str] = code_column(
        40, "Run code: QA-<year>-<first 12 hex digits of the inputs and settings digest>."
    )
    year: Mapped[int] = mapped_column(comment="Calendar year of the assessments analysed.")
    inputs_sha256: Mapped[str] = mapped_column(
        String(64), comment="SHA-256 over every input table and response file read, hex."
    )
    settings: Mapped[str] = mapped_column(
        Text, comment="The run's settings as JSON (framework, thresholds, draws, seed)."
    )
    versions: Mapped[str] = mapped_column(
        Text, comment="Versions of Sapa and its numerical libraries as JSON."
    )
    results_sha256: Mapped[str] = mapped_column(
        String(64), comment="SHA-256 of the run's indicator values and flags, hex."
    )
    started_at: Mapped[dt.datetime] = mapped_column(comment="When the run started (UTC).")
    finished_at: Mapped[dt.datetime] = mapped_column(comment="When the run finished (UTC).")


class IndicatorValue(Base):
    """One indicator's value for one unit (school, district, region or nation) and subgroup."""

    __tablename__ = "indicator_value"
    __natural_key__ = ("assessment_run_id", "indicator", "level", "unit", "subgroup")
    __table_args__ = (
        UniqueConstraint(
            "assessment_run_id",
            "indicator",
            "level",
            "unit",
            "subgroup",
            name="uq_indicator_value_natural_key",
        ),
        # The dashboard reads one unit's values (a school card, a region page) at a time.
        Index("ix_indicator_value_unit", "assessment_run_id", "level", "unit"),
        in_range("n", 0),
    )

    assessment_run_id: Mapped[int] = reference("assessment_run", "Run that computed the value.")
    indicator: Mapped[str] = mapped_column(
        String(60), comment="Indicator code, e.g. outcomes.mean.MLIT or teachers.master_share."
    )
    level: Mapped[UnitLevel] = mapped_column(
        str_enum(UnitLevel), comment="nation, region, district or school."
    )
    unit: Mapped[str] = mapped_column(
        String(20), comment="Code of the school, district or region; KZ for the nation."
    )
    subgroup: Mapped[str] = mapped_column(
        String(60), comment="Subgroup, e.g. language=kk; 'all' for the whole unit."
    )
    value: Mapped[float | None] = mapped_column(
        comment="Estimate; empty when suppressed (too few cases to publish)."
    )
    se: Mapped[float | None] = mapped_column(comment="Standard error, where one is defined.")
    ci_low: Mapped[float | None] = mapped_column(
        comment="Lower end of the 95% interval (for ranks: the 5th percentile of the rank)."
    )
    ci_high: Mapped[float | None] = mapped_column(
        comment="Upper end of the 95% interval (for ranks: the 95th percentile of the rank)."
    )
    n: Mapped[int] = mapped_column(comment="Cases (pupils, teachers, schools…) behind the value.")
    suppressed: Mapped[bool] = mapped_column(
        default=False, comment="Withheld from publication because n is below the threshold."
    )


class SupportFlag(Base):
    """A school or district flagged as needing support, for one reason, with its evidence."""

    __tablename__ = "support_flag"
    __natural_key__ = ("assessment_run_id", "level", "unit", "reason")
    __table_args__ = (
        UniqueConstraint(
            "assessment_run_id", "level", "unit", "reason", name="uq_support_flag_natural_key"
        ),
    )

    assessment_run_id: Mapped[int] = reference("assessment_run", "Run that raised the flag.")
    level: Mapped[UnitLevel] = mapped_column(str_enum(UnitLevel), comment="school or district.")
    unit: Mapped[str] = mapped_column(String(20), comment="Code of the school or district.")
    reason: Mapped[str] = mapped_column(
        String(60), comment="Reason code, e.g. low_outcomes or overdue_attestations."
    )
    evidence: Mapped[str] = mapped_column(
        String(500), comment="The figures behind the flag, in words."
    )


class ItemResult(Base):
    """One item of one administration as a run calibrated it: model, parameters, classical
    statistics and DIF between Russian- and Kazakh-medium pupils."""

    __tablename__ = "item_result"
    __natural_key__ = ("assessment_run_id", "administration", "item")
    __table_args__ = (
        UniqueConstraint(
            "assessment_run_id", "administration", "item", name="uq_item_result_natural_key"
        ),
        in_range("n", 0),
        in_range("p_value", 0, 1),
    )

    assessment_run_id: Mapped[int] = reference("assessment_run", "Run that calibrated the item.")
    administration: Mapped[str] = mapped_column(
        String(40), comment="Administration code, e.g. MODO4-2025."
    )
    item: Mapped[str] = mapped_column(String(40), comment="Item code.")
    domain: Mapped[str] = mapped_column(String(20), comment="Domain (subject code) scaled.")
    model: Mapped[str] = mapped_column(String(10), comment="IRT model: 2PL, 3PL, GPCM, GRM...")
    parameters: Mapped[str] = mapped_column(
        Text,
        comment='Slope-intercept parameters as JSON: {"a": slope, "d": [intercepts], "g": '
        "lower asymptote}.",
    )
    n: Mapped[int] = mapped_column(comment="Pupils who answered the item.")
    p_value: Mapped[float | None] = mapped_column(
        comment="Mean score as a share of the maximum (classical facility)."
    )
    item_rest: Mapped[float | None] = mapped_column(
        comment="Correlation of the item score with the rest score of the pupil's booklet."
    )
    dif_delta: Mapped[float | None] = mapped_column(
        comment="Mantel-Haenszel D-DIF (ETS delta scale), Russian- against Kazakh-medium."
    )
    dif_se: Mapped[float | None] = mapped_column(comment="Standard error of dif_delta.")
    dif_class: Mapped[str | None] = mapped_column(
        String(1), comment="ETS DIF class A (negligible), B (moderate) or C (large)."
    )
