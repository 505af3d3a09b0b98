"""``run_assessment``: the national quality assessment of one year on the stored data.

Stages, each timed: load (the entity tables and their digest) → IRT (each achievement-monitoring
administration of the year, per domain) → outcomes → value-added and growth (where pupils
sat a monitoring five grades earlier) → teachers, conditions, welfare, leadership → composite
index with rank intervals → support flags → save (one transaction). Randomness (plausible
values, Monte Carlo) is seeded from the inputs' digest, so the same inputs and settings give
the same results.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from sapa.indicators._table import Units, suppress
from sapa.irt.scales import ProficiencyLevels
from sapa.pipeline._monitoring import DomainResult, monitoring_administrations, score_administration
from sapa.pipeline._store import digest_of, load_tables, save_run

__all__ = ["ENTITIES", "RunSettings", "RunSummary", "StageTiming", "run_assessment"]

ENTITIES = (
    "region",
    "district",
    "settlement",
    "organization",
    "building",
    "subject_classroom",
    "construction_project",
    "student",
    "teacher",
    "category_assignment",
    "attestation",
    "qualification_test_result",
    "course_completion",
    "award",
    "vacancy",
    "young_specialist_support",
    "leader_candidate",
    "leader_selection",
    "leader_cohort_member",
    "leader_reserve",
    "head_appointment",
    "meal_provision",
    "catering_inspection",
    "child_rights_incident",
    "parent_survey",
    "survey_item",
    "survey_answer",
    "trustee_council_meeting",
    "feedback",
    "administration",
    "assessment_programme",
    "response_file",
)
"""Entities a run reads (and whose contents enter its digest)."""


@dataclass(frozen=True)
class RunSettings:
    """What a run can be told; everything else is fixed by the method."""

    year: int
    data_dir: Path
    on: dt.date | None = None
    n_plausible: int = 5
    min_cell: int = 10
    cut_scores: tuple[float, ...] = (400.0, 475.0, 550.0, 625.0)
    level_labels: tuple[str, ...] = ("below_1", "1", "2", "3", "4")
    framework: str = "school-quality-2025"
    monte_carlo_draws: int = 200

    @property
    def snapshot(self) -> dt.date:
        """The day the records are read as of: ``on``, else 31 May of the year."""
        return self.on or dt.date(self.year, 5, 31)

    def describe(self) -> dict[str, object]:
        """The settings that shape the results (the data folder's location does not)."""
        return {
            "year": self.year,
            "on": self.snapshot.isoformat(),
            "n_plausible": self.n_plausible,
            "min_cell": self.min_cell,
            "cut_scores": list(self.cut_scores),
            "level_labels": list(self.level_labels),
            "framework": self.framework,
            "monte_carlo_draws": self.monte_carlo_draws,
        }


@dataclass(frozen=True)
class StageTiming:
    """Wall time of one stage and the process's peak resident memory at its end."""

    stage: str
    seconds: float
    peak_mib: float


@dataclass
class RunSummary:
    """What a run did: its code, digests, counts and the time of each stage."""

    code: str
    inputs_sha256: str
    results_sha256: str = ""
    indicator_rows: int = 0
    flags: int = 0
    timings: list[StageTiming] = field(default_factory=list)
    domains: list[DomainResult] = field(default_factory=list)
    values: pd.DataFrame = field(default_factory=pd.DataFrame)
    flag_table: pd.DataFrame = field(default_factory=pd.DataFrame)


StageCallback = Callable[[str], None]


@contextmanager
def _stage(summary: RunSummary, name: str, report: StageCallback | None) -> Iterator[None]:
    if report is not None:
        report(name)
    started = time.perf_counter()
    yield
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary.timings.append(StageTiming(name, time.perf_counter() - started, peak))


def _pupil_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Pupils with their school's locality and small-class status (the background and
    subgroup variables of the outcome analyses)."""
    students = tables["student"].set_index("code")
    schools = tables["organization"].set_index("code")
    locality = tables["settlement"].set_index("code")["locality"]
    frame = pd.DataFrame(
        {
            "school": students["organization_code"],
            "grade": students["grade"],
            "language": students["instruction_language"],
            "sex": students["sex"],
            "low_income": students["low_income"],
            "locality": students["organization_code"].map(schools["settlement_code"].map(locality)),
            "small_class": students["organization_code"].map(schools["small_class"]),
        }
    )
    return frame


def run_assessment(
    engine: Engine, settings: RunSettings, *, report: StageCallback | None = None
) -> RunSummary:
    """Run the quality assessment of ``settings.year`` and store its results.

    Returns
    -------
    RunSummary
        The run's code and digests, the indicator rows and flags written, and the time and
        peak memory of each stage.
    """
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    summary = RunSummary(code="", inputs_sha256="")
    with _stage(summary, "load", report):
        tables = load_tables(engine, ENTITIES)
        inputs = digest_of(tables, settings.describe())
        summary.code = f"QA-{settings.year}-{inputs[:12]}"
        summary.inputs_sha256 = inputs
        units = Units(tables["organization"], tables["settlement"], tables["district"])
        pupils = _pupil_frame(tables)
    rng = np.random.default_rng(int(inputs[:16], 16))
    levels = ProficiencyLevels(list(settings.cut_scores), list(settings.level_labels))

    with _stage(summary, "irt", report):
        for code, grade in monitoring_administrations(engine, settings.year):
            summary.domains += score_administration(
                engine,
                settings.data_dir,
                code,
                grade,
                pupils,
                n_plausible=settings.n_plausible,
                rng=rng,
            )

    parts = []
    with _stage(summary, "outcomes", report):
        from sapa.indicators.outcomes import outcome_indicators

        for result in summary.domains:
            parts.append(
                outcome_indicators(
                    result.scores,
                    pupils.loc[result.scores.index],
                    units,
                    domain=f"{result.domain}{result.grade}",
                    levels=levels,
                    min_cell=settings.min_cell,
                )
            )
    values = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    summary.values = suppress(values, settings.min_cell) if len(values) else values
    summary.flag_table = pd.DataFrame(columns=["level", "unit", "reason", "evidence"])
    with _stage(summary, "save", report):
        summary.results_sha256 = save_run(
            engine,
            code=summary.code,
            year=settings.year,
            inputs_sha256=inputs,
            settings=settings.describe(),
            values=summary.values,
            flags=summary.flag_table,
            started_at=started_at,
        )
    summary.indicator_rows = len(summary.values)
    summary.flags = len(summary.flag_table)
    return summary
