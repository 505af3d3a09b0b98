"""Indicators of the teaching workforce per school, district, region and nation.

Qualification categories, the qualification test, attestations due and overdue, professional
development, teaching load, the pupil–teacher ratio, vacancies, young specialists and their
retention, and awards. Every figure is computed from the stored records as they stand on one day
(``on``), so a run for an earlier day reproduces what was known then as far as the records keep
their history (categories, attestations, courses, vacancies and awards are dated; a teacher's
school is the one on file).

"Teachers" here are all pedagogues of the ``teacher`` table (subject teachers, heads, deputies,
psychologists, librarians…), which is how the national statistics count them (398,854 in 2024)
and how the category shares are published. A pedagogue is *employed on* ``on`` when hired on or
before it (or with no hire date) and not yet gone: ``left_on`` empty or later than ``on``.

These are administrative censuses, not samples: indicators carry no standard error. Shares,
means and rates that rest on fewer than ``min_cell`` pedagogues (or posts) are suppressed; the
pupil–teacher ratio and the count of open vacancies describe posts and pupils, not persons, and
are published for every school.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from sapa.domain.workforce import QualificationCategory
from sapa.indicators._table import (
    LEVELS,
    MIN_CELL,
    Units,
    as_dates,
    check_tables,
    indicator_table,
    per_school,
    ratio_of_counts,
    suppress,
)

__all__ = ["RATE_HOURS", "workforce_indicators"]

RATE_HOURS = 16
"""Weekly teaching hours of one rate (ставка); ``teachers.rate_over_1_5`` counts loads above
1.5 rates (24 h)."""

_REQUIRED = {
    "teacher": (
        "code",
        "organization_code",
        "weekly_hours",
        "hired_on",
        "left_on",
        "young_specialist",
        "young_specialist_since",
    ),
    "category_assignment": ("teacher_code", "category", "valid_from", "valid_to"),
    "qualification_test_result": ("teacher_code", "tested_on", "target_category", "passed"),
    "attestation": ("teacher_code", "due_on", "held_on"),
    "course_completion": ("teacher_code", "completed_on"),
    "student": ("organization_code",),
    "vacancy": ("organization_code", "opened_on", "filled_on"),
    "award": ("teacher_code", "awarded_on"),
}

_UNSUPPRESSED = frozenset({"teachers.pupil_teacher_ratio", "teachers.vacancies_open"})
"""Indicators about posts and pupils rather than persons' attributes: never suppressed."""


def workforce_indicators(
    tables: Mapping[str, pd.DataFrame],
    units: Units,
    *,
    on: dt.date,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Workforce indicators of every school, district, region and the nation on one day.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Stored entities in file layout (``docs/data-formats.md``), keyed by entity name:
        ``teacher``, ``category_assignment``, ``qualification_test_result``, ``attestation``,
        ``course_completion``, ``student``, ``vacancy`` and ``award``. Records of organisations
        outside ``units`` are ignored.
    units : Units
        The school hierarchy; every school in it gets a row for every indicator.
    on : datetime.date
        The day the indicators describe.
    min_cell : int, default :data:`~sapa.indicators._table.MIN_CELL`
        Shares, means and rates resting on fewer pedagogues (or posts) are suppressed.

    Returns
    -------
    DataFrame
        An indicator table (:data:`~sapa.indicators._table.COLUMNS`) with these indicators, each
        at the school, district, region and nation levels (subgroup ``all``):

        ``teachers.share.<category>``
            Share of employed pedagogues whose category valid on ``on`` is ``<category>``
            (``pedagogue``, ``pedagogue_moderator``, ``pedagogue_expert``,
            ``pedagogue_researcher``, ``pedagogue_master``); ``n`` = employed pedagogues.
        ``teachers.qualification_pass_rate``
            Passed / sat among qualification-test sittings of the calendar year of ``on`` (up
            to ``on``), by the pedagogue's school; also at region and nation level by the
            target category (subgroup ``target=<category>``). ``n`` = sittings.
        ``teachers.attestation_due_12m``, ``teachers.attestation_overdue``
            Share of employed pedagogues with a pending attestation (``held_on`` empty) due
            within the 12 months from ``on`` (``on ≤ due_on < on + 1 year``), or already
            overdue (``due_on < on``).
        ``teachers.pd_coverage_3y``
            Share of employed pedagogues who completed a course in the three years up to
            ``on`` (``on − 3 years < completed_on ≤ on``).
        ``teachers.mean_weekly_hours``
            Mean weekly teaching load of employed pedagogues who teach (load > 0);
            ``n`` = those pedagogues.
        ``teachers.rate_over_1_5``
            Share of them teaching more than 1.5 rates (more than 24 h a week).
        ``teachers.pupil_teacher_ratio``
            Pupils (``student`` rows) per employed pedagogue; not suppressed.
        ``teachers.vacancies_open``
            Vacancies open on ``on`` (opened on or before it, not filled by then), a count;
            ``n`` = posts (employed pedagogues plus open vacancies); not suppressed.
        ``teachers.vacancy_rate``
            Open vacancies / posts.
        ``teachers.young_specialists``
            Employed young specialists, a count: pedagogues whose status began in the three
            years up to ``on`` (or flagged ``young_specialist`` without a start date);
            ``n`` = employed pedagogues.
        ``teachers.young_retention_1y``, ``teachers.young_retention_3y``
            Of the young specialists whose status began at least 1 (3) years before ``on``,
            the share still employed 1 (3) years after it began; ``n`` = that cohort.
        ``teachers.awards_per_1000``
            Awards conferred in the 12 months up to ``on`` to pedagogues of the unit, per 1,000
            employed pedagogues.

    Raises
    ------
    DataValidationError
        A required table or column is missing.

    Notes
    -----
    A share is ``Σ numerator / Σ denominator`` over the unit's schools
    (:func:`~sapa.indicators._table.ratio_by_level`), so higher levels weight schools by their
    size. A category is valid on ``on`` when ``valid_from ≤ on`` and ``valid_to`` is empty or
    ``≥ on``; pedagogues without a valid category count in the denominator only. Retention at
    ``k`` years counts a young specialist as kept when ``left_on`` is empty or later than the
    ``k``-th anniversary of the start of the status; the cohort is attributed to the school on
    file. Attestation cycles are those recorded in the data (every five years, first heads every
    three: Law "On the status of the pedagogue", art. 15; Law "On Education", art. 44).
    """
    check_tables(tables, _REQUIRED)
    day = pd.Timestamp(on)
    schools = units.frame.index
    teachers = tables["teacher"]
    teachers = teachers[teachers["organization_code"].isin(schools)]
    school_of = teachers.set_index("code")["organization_code"]
    hired, left = as_dates(teachers["hired_on"]), as_dates(teachers["left_on"])
    employed = (hired.isna() | (hired <= day)) & (left.isna() | (left > day))
    staff = teachers[employed]
    staff_codes = pd.Index(staff["code"])

    counts = pd.DataFrame(index=schools)
    counts["employed"] = per_school(staff["organization_code"], schools)
    parts = []

    held = _current_categories(tables["category_assignment"], staff_codes, day)
    for category in QualificationCategory:
        column = f"category.{category.value}"
        holders = held.index[held == category.value]
        counts[column] = per_school(school_of.reindex(holders), schools)
        parts.append(
            ratio_of_counts(counts, f"teachers.share.{category.value}", column, "employed", units)
        )

    parts.append(_pass_rates(tables["qualification_test_result"], school_of, schools, day, units))

    pending = _pending_attestations(tables["attestation"], staff_codes)
    due = as_dates(pending["due_on"])
    within_year = (due >= day) & (due < day + pd.DateOffset(years=1))
    counts["due_12m"] = _per_teacher_school(
        pending["teacher_code"][within_year], school_of, schools
    )
    counts["overdue"] = _per_teacher_school(pending["teacher_code"][due < day], school_of, schools)
    parts.append(
        ratio_of_counts(counts, "teachers.attestation_due_12m", "due_12m", "employed", units)
    )
    parts.append(
        ratio_of_counts(counts, "teachers.attestation_overdue", "overdue", "employed", units)
    )

    courses = tables["course_completion"]
    completed = as_dates(courses["completed_on"])
    recent = (completed > day - pd.DateOffset(years=3)) & (completed <= day)
    trained = courses["teacher_code"][recent & courses["teacher_code"].isin(staff_codes)]
    counts["pd_3y"] = _per_teacher_school(trained.unique(), school_of, schools)
    parts.append(ratio_of_counts(counts, "teachers.pd_coverage_3y", "pd_3y", "employed", units))

    hours = pd.to_numeric(staff["weekly_hours"]).to_numpy(np.float64)
    teaching = hours > 0
    counts["teaching"] = per_school(staff["organization_code"][teaching], schools)
    counts["hours"] = _sum_per_school(
        staff["organization_code"][teaching], hours[teaching], schools
    )
    heavy = hours > 1.5 * RATE_HOURS
    counts["over_1_5"] = per_school(staff["organization_code"][heavy], schools)
    parts.append(ratio_of_counts(counts, "teachers.mean_weekly_hours", "hours", "teaching", units))
    parts.append(ratio_of_counts(counts, "teachers.rate_over_1_5", "over_1_5", "teaching", units))

    counts["pupils"] = per_school(tables["student"]["organization_code"], schools)
    parts.append(
        ratio_of_counts(counts, "teachers.pupil_teacher_ratio", "pupils", "employed", units)
    )

    vacancies = tables["vacancy"]
    opened, filled = as_dates(vacancies["opened_on"]), as_dates(vacancies["filled_on"])
    open_now = (opened <= day) & (filled.isna() | (filled > day))
    counts["vacancies"] = per_school(vacancies["organization_code"][open_now], schools)
    counts["posts"] = counts["employed"] + counts["vacancies"]
    parts.append(_count(counts, "teachers.vacancies_open", "vacancies", "posts", units))
    parts.append(ratio_of_counts(counts, "teachers.vacancy_rate", "vacancies", "posts", units))

    since = as_dates(teachers["young_specialist_since"])
    young_now = employed & (
        ((since > day - pd.DateOffset(years=3)) & (since <= day))
        | (since.isna() & teachers["young_specialist"].eq(True))
    )
    counts["young"] = per_school(teachers["organization_code"][young_now], schools)
    parts.append(_count(counts, "teachers.young_specialists", "young", "employed", units))
    for years in (1, 3):
        anniversary = since + pd.DateOffset(years=years)
        cohort = since.notna() & (anniversary <= day)
        kept = cohort & (left.isna() | (left > anniversary))
        counts[f"cohort_{years}y"] = per_school(teachers["organization_code"][cohort], schools)
        counts[f"kept_{years}y"] = per_school(teachers["organization_code"][kept], schools)
        parts.append(
            ratio_of_counts(
                counts,
                f"teachers.young_retention_{years}y",
                f"kept_{years}y",
                f"cohort_{years}y",
                units,
            )
        )

    awards = tables["award"]
    awarded = as_dates(awards["awarded_on"])
    last_year = (awarded > day - pd.DateOffset(years=1)) & (awarded <= day)
    counts["awards"] = 1000.0 * _per_teacher_school(
        awards["teacher_code"][last_year], school_of, schools
    )
    parts.append(ratio_of_counts(counts, "teachers.awards_per_1000", "awards", "employed", units))

    table = indicator_table(pd.concat(parts, ignore_index=True))
    personal = ~table["indicator"].isin(_UNSUPPRESSED)
    table = pd.concat([suppress(table[personal], min_cell), table[~personal]]).sort_index()
    return table.reset_index(drop=True)


def _sum_per_school(school_codes: pd.Series, values: np.ndarray, schools: pd.Index) -> np.ndarray:
    sums = pd.Series(values, index=school_codes.to_numpy()).groupby(level=0).sum()
    return sums.reindex(schools, fill_value=0.0).to_numpy(np.float64)


def _per_teacher_school(
    teacher_codes: pd.Series | np.ndarray, school_of: pd.Series, schools: pd.Index
) -> np.ndarray:
    """Records per school of the teachers named, one per code given (codes of unknown teachers
    are ignored)."""
    school = school_of.reindex(np.asarray(teacher_codes)).dropna()
    return per_school(pd.Series(school.to_numpy()), schools)


def _count(
    counts: pd.DataFrame,
    indicator: str,
    column: str,
    base: str,
    units: Units,
) -> pd.DataFrame:
    """``Σ column`` per unit at each level, with ``n = Σ base``."""
    frame = counts[[column, base]]
    parts = []
    for level in LEVELS:
        sums = frame.groupby(units.of(frame.index, level)).sum()
        parts.append(
            pd.DataFrame(
                {
                    "indicator": indicator,
                    "level": level,
                    "unit": sums.index,
                    "value": sums[column].to_numpy(np.float64),
                    "n": sums[base].to_numpy(np.int64),
                }
            )
        )
    return indicator_table(pd.concat(parts, ignore_index=True))


def _current_categories(
    assignments: pd.DataFrame, teacher_codes: pd.Index, day: pd.Timestamp
) -> pd.Series:
    """The category valid on ``day`` of each of the teachers named (the latest if several)."""
    start, end = as_dates(assignments["valid_from"]), as_dates(assignments["valid_to"])
    valid = (start <= day) & (end.isna() | (end >= day))
    valid &= assignments["teacher_code"].isin(teacher_codes)
    current = assignments[valid].assign(_start=start[valid]).sort_values("_start", kind="stable")
    return current.drop_duplicates("teacher_code", keep="last").set_index("teacher_code")[
        "category"
    ]


def _pending_attestations(attestations: pd.DataFrame, teacher_codes: pd.Index) -> pd.DataFrame:
    """Attestations not yet held of the teachers named, one per teacher (the earliest due)."""
    pending = attestations[
        attestations["held_on"].isna() & attestations["teacher_code"].isin(teacher_codes)
    ]
    pending = pending.assign(_due=as_dates(pending["due_on"])).sort_values("_due", kind="stable")
    return pending.drop_duplicates("teacher_code", keep="first")


def _pass_rates(
    results: pd.DataFrame,
    school_of: pd.Series,
    schools: pd.Index,
    day: pd.Timestamp,
    units: Units,
) -> pd.DataFrame:
    """Pass rate of the year's sittings, overall and by target category (region and nation)."""
    tested = as_dates(results["tested_on"])
    this_year = (tested.dt.year == day.year) & (tested <= day)
    sittings = results[this_year & results["teacher_code"].isin(school_of.index)]
    passed = sittings["passed"].astype(bool)
    counts = pd.DataFrame(index=schools)
    counts["sat"] = _per_teacher_school(sittings["teacher_code"], school_of, schools)
    counts["passed"] = _per_teacher_school(sittings["teacher_code"][passed], school_of, schools)
    parts = [ratio_of_counts(counts, "teachers.qualification_pass_rate", "passed", "sat", units)]
    for category in QualificationCategory:
        target = sittings["target_category"] == category.value
        counts["sat"] = _per_teacher_school(sittings["teacher_code"][target], school_of, schools)
        counts["passed"] = _per_teacher_school(
            sittings["teacher_code"][target & passed], school_of, schools
        )
        part = ratio_of_counts(
            counts,
            "teachers.qualification_pass_rate",
            "passed",
            "sat",
            units,
            levels=("region", "nation"),
        )
        parts.append(part.assign(subgroup=f"target={category.value}"))
    return pd.concat(parts, ignore_index=True)
