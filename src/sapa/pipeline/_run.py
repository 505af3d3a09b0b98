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

from sapa.indicators._table import ALL, Units
from sapa.indicators.composite import (
    Framework,
    compare_with_similar,
    composite_index,
    similar_schools,
)
from sapa.indicators.flags import support_flags
from sapa.indicators.growth import growth_indicators, student_growth_percentiles
from sapa.indicators.infrastructure import conditions_indicators
from sapa.indicators.leadership import leadership_indicators
from sapa.indicators.outcomes import outcome_indicators
from sapa.indicators.value_added import contextual_value_added
from sapa.indicators.welfare import welfare_indicators
from sapa.indicators.workforce import workforce_indicators
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
    "leader_cohort",
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
            "special_needs": students["special_needs"],
            "locality": students["organization_code"].map(schools["settlement_code"].map(locality)),
            "small_class": students["organization_code"].map(schools["small_class"]),
        }
    )
    return frame


def _outcomes(
    domains: list[DomainResult],
    pupils: pd.DataFrame,
    units: Units,
    levels: ProficiencyLevels,
    min_cell: int,
) -> list[pd.DataFrame]:
    """Outcome indicators per domain and grade (``outcomes.mean.MLIT4``…), and per domain over
    the tested grades together (``outcomes.mean.MLIT``, each grade on its own reporting scale of
    mean 500: a pupil's standing in the grade), which the composite index uses. Subgroup rows
    are kept from the district level up: within one school they are mostly below the
    publication threshold."""
    parts = []
    for result in domains:
        table = outcome_indicators(
            result.scores,
            pupils.loc[result.scores.index],
            units,
            domain=f"{result.domain}{result.grade}",
            levels=levels,
            min_cell=min_cell,
        )
        parts.append(table[(table["level"] != "school") | (table["subgroup"] == ALL)])
    for domain in sorted({result.domain for result in domains}):
        scores = pd.concat([r.scores for r in domains if r.domain == domain])
        parts.append(
            outcome_indicators(
                scores,
                pupils.loc[scores.index],
                units,
                domain=domain,
                levels=levels,
                subgroups=(),
                min_cell=min_cell,
            )
        )
    return parts


def _progress(
    engine: Engine,
    settings: RunSettings,
    domains: list[DomainResult],
    pupils: pd.DataFrame,
    units: Units,
    rng: np.random.Generator,
) -> list[pd.DataFrame]:
    """Value-added and growth of the grades whose pupils sat a monitoring five grades and five
    years earlier (grade 9 now, grade 4 then): the earlier administration is scored like the
    current one, and its three domains are the prior attainment."""
    parts = []
    for grade in sorted({r.grade for r in domains}):
        earlier = [
            code
            for code, prior_grade in monitoring_administrations(engine, settings.year - 5)
            if prior_grade == grade - 5
        ]
        if not earlier:
            continue
        priors = {
            r.domain: r.scores
            for code in earlier
            for r in score_administration(
                engine,
                settings.data_dir,
                code,
                grade - 5,
                pupils,
                n_plausible=settings.n_plausible,
                rng=rng,
            )
        }
        for result in (r for r in domains if r.grade == grade):
            domain = f"{result.domain}{grade}"
            tested = result.scores.index.intersection(
                pd.concat(priors.values()).index.unique(), sort=False
            )
            context = pupils.loc[tested, ["sex", "low_income", "special_needs", "language"]]
            value_added = contextual_value_added(
                result.scores.loc[tested],
                {name: frame.reindex(tested) for name, frame in priors.items()},
                context,
                pupils.loc[tested, "school"],
                domain=domain,
            )
            parts.append(value_added.to_frame(min_cell=settings.min_cell))
            sgp = student_growth_percentiles(
                result.scores.loc[tested, "PV1"],
                priors[result.domain].reindex(tested)["PV1"],
            )
            parts.append(
                growth_indicators(
                    sgp,
                    pupils.loc[sgp.index, "school"],
                    units,
                    domain=domain,
                    min_cell=settings.min_cell,
                )
            )
    return parts


def _school_context(tables: dict[str, pd.DataFrame], pupils: pd.DataFrame) -> pd.DataFrame:
    """What similar schools share: urban or rural, small-class, language of instruction,
    enrolment and the share of pupils from low-income families."""
    schools = tables["organization"].set_index("code")
    locality = tables["settlement"].set_index("code")["locality"]
    low_income = pupils.groupby("school")["low_income"].mean()
    return pd.DataFrame(
        {
            "urban": schools["settlement_code"].map(locality) == "urban",
            "small_class": schools["small_class"].astype(bool),
            "language": schools["instruction_language"],
            "enrolment": np.log1p(schools["enrolment"].fillna(0).astype(float)),
            "low_income": low_income.reindex(schools.index).fillna(0.0),
        }
    )


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
        parts += _outcomes(summary.domains, pupils, units, levels, settings.min_cell)
    with _stage(summary, "value-added, growth", report):
        parts += _progress(engine, settings, summary.domains, pupils, units, rng)
    with _stage(summary, "teachers, conditions, welfare, leadership", report):
        day, cell = settings.snapshot, settings.min_cell
        parts.append(workforce_indicators(tables, units, on=day, min_cell=cell))
        parts.append(conditions_indicators(tables, units, on=day))
        parts.append(welfare_indicators(tables, units, on=day, min_cell=cell))
        parts.append(leadership_indicators(tables, units, on=day, min_cell=cell))
    values = pd.concat(parts, ignore_index=True)

    with _stage(summary, "composite", report):
        framework = Framework.builtin(settings.framework)
        similar = similar_schools(_school_context(tables, pupils), k=10)
        values = pd.concat(
            [values, compare_with_similar(values, similar, "outcomes.mean.MLIT")],
            ignore_index=True,
        )
        values = pd.concat(
            [values, composite_index(values, framework, rng=rng).to_frame()], ignore_index=True
        )
    with _stage(summary, "flags", report):
        summary.flag_table = pd.concat(
            [support_flags(values, framework, level=level) for level in ("school", "district")],
            ignore_index=True,
        )
    summary.values = values
    with _stage(summary, "save", report):
        summary.results_sha256 = save_run(
            engine,
            code=summary.code,
            year=settings.year,
            inputs_sha256=inputs,
            settings=settings.describe(),
            values=summary.values,
            flags=summary.flag_table,
            items=pd.concat(
                [pd.DataFrame()] + [domain.items for domain in summary.domains], ignore_index=True
            ),
            started_at=started_at,
        )
    summary.indicator_rows = len(summary.values)
    summary.flags = len(summary.flag_table)
    return summary
