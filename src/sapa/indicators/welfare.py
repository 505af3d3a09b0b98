"""Indicators of pupils' welfare and parents' views per school, district, region and nation.

Free-meal coverage of eligible pupils, children's-rights incidents per 1,000 pupils, appeals
answered late, catering inspections, trustee-council meetings, and parents' satisfaction measured
by the national parent survey and scored with the graded response model of :mod:`sapa.irt`.

Dated events are counted over the school year that contains the day described (``on``): from
1 September to ``on``. Shares and rates about persons (pupils, appellants, respondents) resting on
fewer than ``min_cell`` cases are suppressed; inspections and council meetings describe the
school and are always published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sapa.domain.welfare import IncidentKind, MealFunding
from sapa.errors import DataValidationError, Problem
from sapa.indicators._table import (
    ALL,
    LEVELS,
    MIN_CELL,
    NATION,
    Units,
    as_dates,
    check_tables,
    indicator_table,
    per_school,
    ratio_of_counts,
    suppress,
)
from sapa.indicators._variance import SamplingDesign, weighted_mean
from sapa.irt.estimate import IRTModel
from sapa.irt.models import ItemBank
from sapa.irt.score import score

__all__ = ["SatisfactionScores", "parent_satisfaction_scores", "welfare_indicators"]

_REQUIRED = {
    "student": ("organization_code",),
    "meal_provision": (
        "organization_code",
        "period_start",
        "funding_source",
        "eligible_count",
        "covered_count",
    ),
    "child_rights_incident": ("organization_code", "kind", "reported_on"),
    "feedback": ("organization_code", "region_code", "received_on", "deadline_on", "answered_on"),
    "catering_inspection": ("organization_code", "inspected_on", "violations_count"),
    "trustee_council_meeting": ("organization_code", "held_on"),
    "parent_survey": ("code", "region_code", "opens_on"),
    "survey_item": ("code", "parent_survey_code", "number"),
    "survey_answer": ("survey_item_code", "respondent_code", "organization_code", "answer"),
}

_UNSUPPRESSED = frozenset(
    {"welfare.catering_violations_per_inspection", "welfare.trustee_meetings"}
)


@dataclass(frozen=True)
class SatisfactionScores:
    """Parents' satisfaction scored on one survey.

    Attributes
    ----------
    survey : str
        Code of the survey scored.
    item_bank : ItemBank
        The graded-response items calibrated on its answers (slope–intercept form, logit
        metric, D = 1; respondents' satisfaction N(0, 1)).
    respondents : DataFrame
        One row per respondent (index ``respondent_code``): ``school`` (organisation code),
        ``theta`` (EAP satisfaction) and ``se`` (posterior SD).
    """

    survey: str
    item_bank: ItemBank
    respondents: pd.DataFrame


def parent_satisfaction_scores(
    tables: Mapping[str, pd.DataFrame], *, on: dt.date, survey: str | None = None
) -> SatisfactionScores | None:
    """Calibrate the parent survey's items and score every respondent's satisfaction.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        ``parent_survey``, ``survey_item`` and ``survey_answer`` in file layout.
    on : datetime.date
        The latest national survey opened on or before this day is scored.
    survey : str, optional
        Code of the survey to score instead.

    Returns
    -------
    SatisfactionScores or None
        None when no survey qualifies or it has no answers.

    Raises
    ------
    DataValidationError
        A required table or column is missing, or ``survey`` is not a known survey.

    Notes
    -----
    Answers 1–5 become the categories 0–4 of Samejima's (1969) graded response model
    ``P(X ≥ k | θ) = σ(a θ + d_k)``, calibrated by marginal maximum likelihood
    (:class:`~sapa.irt.IRTModel`, ``model="GRM"``) on every respondent of the survey, each a row
    of the respondents × items matrix (unanswered items missing). Each respondent's satisfaction
    is the expected a posteriori estimate under the N(0, 1) prior
    (:func:`~sapa.irt.score`, Bock & Mislevy 1982): the scale's mean is the respondents' mean
    and its unit their standard deviation.

    References
    ----------
    Bock, R. D., & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a microcomputer
    environment. *Applied Psychological Measurement*, 6(4), 431–444.
    Samejima, F. (1969). Estimation of latent ability using a response pattern of graded
    scores. *Psychometrika Monograph* No. 17.
    """
    check_tables(
        tables, {k: _REQUIRED[k] for k in ("parent_survey", "survey_item", "survey_answer")}
    )
    surveys = tables["parent_survey"]
    if survey is None:
        opened = as_dates(surveys["opens_on"])
        national = surveys[surveys["region_code"].isna() & (opened <= pd.Timestamp(on))]
        if national.empty:
            return None
        survey = str(national.loc[as_dates(national["opens_on"]).idxmax(), "code"])
    elif survey not in set(surveys["code"]):
        raise DataValidationError(
            Problem("parent_survey", None, "code", f"no survey with code {survey!r}")
        )
    items = tables["survey_item"]
    items = items[items["parent_survey_code"] == survey].sort_values("number", kind="stable")
    answers = tables["survey_answer"]
    answers = answers[answers["survey_item_code"].isin(items["code"])]
    if answers.empty:
        return None
    matrix = (
        answers.pivot(index="respondent_code", columns="survey_item_code", values="answer")
        .reindex(columns=items["code"])
        .astype(np.float64)
        - 1.0
    )
    model = IRTModel(model="GRM").fit(matrix)
    scores = score(model.item_bank_, matrix, method="EAP")
    school = answers.drop_duplicates("respondent_code").set_index("respondent_code")
    respondents = pd.DataFrame(
        {
            "school": school["organization_code"].reindex(matrix.index).to_numpy(),
            "theta": scores.theta,
            "se": scores.se,
        },
        index=matrix.index,
    )
    return SatisfactionScores(survey=survey, item_bank=model.item_bank_, respondents=respondents)


def welfare_indicators(
    tables: Mapping[str, pd.DataFrame],
    units: Units,
    *,
    on: dt.date,
    min_cell: int = MIN_CELL,
    survey: str | None = None,
) -> pd.DataFrame:
    """Welfare and parent indicators of every school, district, region and the nation.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Stored entities in file layout: ``student``, ``meal_provision``,
        ``child_rights_incident``, ``feedback``, ``catering_inspection``,
        ``trustee_council_meeting``, ``parent_survey``, ``survey_item`` and ``survey_answer``.
        Records of organisations outside ``units`` are ignored.
    units : Units
        The school hierarchy; every school, district and region in it gets a row for every
        indicator.
    on : datetime.date
        The day described; events count from 1 September of its school year up to it.
    min_cell : int, default :data:`~sapa.indicators._table.MIN_CELL`
        Shares and rates about persons resting on fewer cases are suppressed.
    survey : str, optional
        The parent survey to score (default: see :func:`parent_satisfaction_scores`).

    Returns
    -------
    DataFrame
        An indicator table at the school, district, region and nation levels with

        ``welfare.meal_coverage``
            ``Σ covered / Σ eligible`` over the meal periods starting in the school year (up to
            ``on``); subgroup ``all`` and ``funding=<source>`` for each funding source on file;
            ``n`` = eligible pupil-periods.
        ``welfare.incidents_per_1000``, ``welfare.incidents_per_1000.<kind>``
            Children's-rights incidents reported in the school year, in all and of each kind,
            per 1,000 pupils on file; ``n`` = pupils.
        ``welfare.appeals_overdue``
            Of the appeals received in the school year whose answer was due before ``on``, the
            share not answered by the deadline; ``n`` = those appeals. Appeals not about one
            school count at the region and nation levels only (by the region handling them).
        ``welfare.catering_violations_per_inspection``
            Violations recorded per catering inspection in the school year; ``n`` =
            inspections.
        ``welfare.trustee_meetings``
            Trustee-council meetings held in the school year per school; ``n`` = schools.
        ``welfare.parent_satisfaction``
            Mean EAP satisfaction of the unit's respondents (:func:`parent_satisfaction_scores`;
            SD units of all respondents) with a cluster-robust standard error and 95% interval;
            ``n`` = respondents.

    Raises
    ------
    DataValidationError
        A required table or column is missing.

    Notes
    -----
    The satisfaction mean ``ȳ = Σ_i θ̂_i / N`` over a unit's respondents has the variance
    ``G/(G − 1) Σ_g (Σ_{i∈g} (θ̂_i − ȳ))² / N²`` with the unit's ``G`` schools as clusters
    (respondents of one school share it and are not independent; Cameron & Miller 2015); for a
    single school — or a unit whose respondents all attend one school — each respondent is a
    cluster, which gives ``s²/N``. Intervals are ``ȳ ± 1.96·SE``. The spread of EAP estimates
    already carries their measurement error.

    References
    ----------
    Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources* 50, 317–372.
    """
    check_tables(tables, _REQUIRED)
    day = pd.Timestamp(on)
    first_day = pd.Timestamp(dt.date(on.year if on.month >= 9 else on.year - 1, 9, 1))
    schools = units.frame.index
    parts = [_meal_coverage(tables["meal_provision"], schools, first_day, day, units)]

    pupils = per_school(tables["student"]["organization_code"], schools)
    incidents = tables["child_rights_incident"]
    reported = as_dates(incidents["reported_on"])
    incidents = incidents[(reported >= first_day) & (reported <= day)]
    counts = pd.DataFrame({"pupils": pupils}, index=schools)
    counts["incidents"] = 1000.0 * per_school(incidents["organization_code"], schools)
    parts.append(
        ratio_of_counts(counts, "welfare.incidents_per_1000", "incidents", "pupils", units)
    )
    for kind in IncidentKind:
        mine = incidents["organization_code"][incidents["kind"] == kind.value]
        counts["incidents"] = 1000.0 * per_school(mine, schools)
        parts.append(
            ratio_of_counts(
                counts, f"welfare.incidents_per_1000.{kind.value}", "incidents", "pupils", units
            )
        )

    parts.append(_appeals_overdue(tables["feedback"], units, first_day, day))

    inspections = tables["catering_inspection"]
    inspected = as_dates(inspections["inspected_on"])
    inspections = inspections[(inspected >= first_day) & (inspected <= day)]
    counts["inspections"] = per_school(inspections["organization_code"], schools)
    counts["violations"] = (
        pd.to_numeric(inspections["violations_count"])
        .groupby(inspections["organization_code"].to_numpy())
        .sum()
        .reindex(schools, fill_value=0)
        .to_numpy(np.float64)
    )
    parts.append(
        ratio_of_counts(
            counts,
            "welfare.catering_violations_per_inspection",
            "violations",
            "inspections",
            units,
        )
    )

    meetings = tables["trustee_council_meeting"]
    held = as_dates(meetings["held_on"])
    meetings = meetings[(held >= first_day) & (held <= day)]
    counts["meetings"] = per_school(meetings["organization_code"], schools)
    counts["schools"] = 1
    parts.append(ratio_of_counts(counts, "welfare.trustee_meetings", "meetings", "schools", units))

    scores = parent_satisfaction_scores(tables, on=on, survey=survey)
    if scores is not None:
        parts.append(_satisfaction(scores.respondents, units))

    table = indicator_table(pd.concat(parts, ignore_index=True))
    personal = ~table["indicator"].isin(_UNSUPPRESSED)
    table = pd.concat([suppress(table[personal], min_cell), table[~personal]]).sort_index()
    return table.reset_index(drop=True)


def _meal_coverage(
    meals: pd.DataFrame,
    schools: pd.Index,
    first_day: pd.Timestamp,
    day: pd.Timestamp,
    units: Units,
) -> pd.DataFrame:
    """Covered / eligible over the meal periods starting from ``first_day`` to ``day``, in all
    and by funding source."""
    starts = as_dates(meals["period_start"])
    meals = meals[(starts >= first_day) & (starts <= day)]
    present = set(meals["funding_source"])
    sources = [source.value for source in MealFunding if source.value in present]
    parts = []
    for source in (None, *sources):
        rows = meals if source is None else meals[meals["funding_source"] == source]
        counts = pd.DataFrame(index=schools)
        for column in ("eligible_count", "covered_count"):
            counts[column] = (
                pd.to_numeric(rows[column])
                .groupby(rows["organization_code"].to_numpy())
                .sum()
                .reindex(schools, fill_value=0)
                .to_numpy(np.float64)
            )
        part = ratio_of_counts(
            counts, "welfare.meal_coverage", "covered_count", "eligible_count", units
        )
        parts.append(part.assign(subgroup=ALL if source is None else f"funding={source}"))
    return pd.concat(parts, ignore_index=True)


def _appeals_overdue(
    feedback: pd.DataFrame, units: Units, first_day: pd.Timestamp, day: pd.Timestamp
) -> pd.DataFrame:
    """Share of the school year's appeals past their deadline that were not answered by it."""
    received = as_dates(feedback["received_on"])
    deadline = as_dates(feedback["deadline_on"])
    answered = as_dates(feedback["answered_on"])
    due = (received >= first_day) & (received <= day) & (deadline < day)
    late = due & (answered.isna() | (answered > deadline) | (answered > day))
    about_school = feedback["organization_code"].isin(units.frame.index)
    rows = pd.DataFrame(
        {
            "school": feedback["organization_code"].where(about_school),
            "region": feedback["region_code"],
            "due": due.astype(np.int64),
            "late": late.astype(np.int64),
        }
    )
    rows.loc[about_school, "region"] = units.of(rows.loc[about_school, "school"], "region")
    rows = rows[rows["region"].isin(units.frame["region"])]
    rows["nation"] = NATION
    in_school = rows[rows["school"].notna()]
    rows_of = {
        "school": in_school.assign(unit=in_school["school"]),
        "district": in_school.assign(unit=units.of(in_school["school"], "district")),
        "region": rows.assign(unit=rows["region"]),
        "nation": rows.assign(unit=NATION),
    }
    parts = []
    for level, frame in rows_of.items():
        universe = units.all(level)
        sums = frame.groupby("unit")[["due", "late"]].sum().reindex(universe, fill_value=0)
        due_n = sums["due"].to_numpy(np.float64)
        parts.append(
            pd.DataFrame(
                {
                    "indicator": "welfare.appeals_overdue",
                    "level": level,
                    "unit": sums.index,
                    "value": np.divide(
                        sums["late"].to_numpy(np.float64),
                        due_n,
                        out=np.full_like(due_n, np.nan),
                        where=due_n > 0,
                    ),
                    "n": sums["due"].to_numpy(np.int64),
                }
            )
        )
    return indicator_table(pd.concat(parts, ignore_index=True))


def _satisfaction(respondents: pd.DataFrame, units: Units) -> pd.DataFrame:
    """Mean EAP satisfaction per unit with its cluster-robust standard error and interval."""
    respondents = respondents[respondents["school"].isin(units.frame.index)]
    theta = respondents["theta"].to_numpy(np.float64)
    school = respondents["school"].to_numpy()
    columns = ["value", "se", "ci_low", "ci_high", "n"]
    parts = []
    for level in LEVELS:
        estimates = pd.DataFrame(columns=columns, dtype=np.float64)
        if len(theta):
            cells, labels = pd.factorize(units.of(school, level), sort=True)
            estimate = weighted_mean(theta, SamplingDesign(), cells=cells)
            se, interval = estimate.bse, estimate.conf_int(0.05)
            if level != "school":
                clustered = weighted_mean(theta, SamplingDesign(clusters=school), cells=cells)
                single = np.isnan(clustered.bse)
                se = np.where(single, se, clustered.bse)
                interval = np.where(single[:, None], interval, clustered.conf_int(0.05))
            estimates = pd.DataFrame(
                {
                    "value": estimate.params,
                    "se": se,
                    "ci_low": interval[:, 0],
                    "ci_high": interval[:, 1],
                    "n": np.bincount(cells, minlength=len(labels)),
                },
                index=labels,
            )
        universe = units.all(level)
        estimates = estimates.reindex(universe)
        parts.append(
            estimates.assign(
                indicator="welfare.parent_satisfaction",
                level=level,
                unit=universe,
                n=estimates["n"].fillna(0),
            )
        )
    return indicator_table(pd.concat(parts, ignore_index=True))
