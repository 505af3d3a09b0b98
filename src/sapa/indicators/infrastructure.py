"""Indicators of school conditions and the enrolment and place-deficit forecast.

Places against enrolment (with shifts), overcrowded, three-shift and emergency schools, subject
classrooms, the construction pipeline and the places it delivered, per school, district, region
and nation; and a cohort-survival projection of enrolment by district for the next school years
with the places that will exist and the deficit that remains.

A school's *places* are its design capacity per shift times its shifts, as in the organisation's
passport (``design_capacity``, ``shifts``); a school is *overcrowded* when its enrolment exceeds
them. School facts are public: these indicators are never suppressed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from sapa._validation import Interval, validate_params
from sapa.domain.infrastructure import ProjectKind, ProjectStatus
from sapa.errors import DataValidationError, Problem
from sapa.indicators._table import (
    ALL,
    LEVELS,
    NATION,
    Units,
    as_dates,
    check_tables,
    indicator_table,
)

__all__ = [
    "CLASSROOM_KINDS",
    "cohort_projection",
    "conditions_indicators",
    "enrolment_forecast",
    "forecast_indicators",
]

CLASSROOM_KINDS = ("physics", "chemistry", "biology", "computer_science")
"""Subject rooms whose coverage of schools with grades 7 and above is reported."""

_SENIOR_GRADE = 7
_PIPELINE = (ProjectStatus.PLANNED, ProjectStatus.DESIGN, ProjectStatus.CONSTRUCTION)
_NEW_PLACES = (ProjectKind.NEW, ProjectKind.EXTENSION)
_DELIVERY_YEARS = 3
_INTAKE_PRIOR_PUPILS = 500.0

_REQUIRED = {
    "organization": ("code", "design_capacity", "shifts", "enrolment"),
    "building": ("code", "organization_code", "condition"),
    "subject_classroom": ("building_code", "kind"),
    "student": ("organization_code", "grade"),
    "construction_project": (
        "settlement_code",
        "organization_code",
        "kind",
        "programme",
        "status",
        "places",
        "planned_end_on",
        "actual_end_on",
    ),
    "settlement": ("code", "district_code"),
    "district": ("code", "region_code"),
}


def conditions_indicators(
    tables: Mapping[str, pd.DataFrame],
    units: Units,
    *,
    on: dt.date,
    forecast_years: int = 5,
) -> pd.DataFrame:
    """Indicators of places, buildings, classrooms and construction on one day.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Stored entities in file layout (``docs/data-formats.md``): ``organization``,
        ``building``, ``subject_classroom``, ``student``, ``construction_project``,
        ``settlement`` and ``district``.
    units : Units
        The school hierarchy; every school, district and region in it gets a row for every
        indicator of its level.
    on : datetime.date
        The day described: projects are read as they stand then, places delivered up to it.
    forecast_years : int, default 5
        School years of the place-deficit forecast (:func:`enrolment_forecast`).

    Returns
    -------
    DataFrame
        An indicator table at the school, district, region and nation levels with

        ``conditions.places_ratio``
            Pupils enrolled per place, ``Σ enrolment / Σ design_capacity × shifts`` over the
            schools whose passport gives all three; ``n`` = those schools.
        ``conditions.overcrowded``
            Share of those schools whose enrolment exceeds their places.
        ``conditions.overcrowded_pupils``
            Share of their pupils who attend an overcrowded school; ``n`` = pupils.
        ``conditions.three_shift_schools``
            Schools teaching in three shifts, a count; ``n`` = schools with known shifts.
        ``conditions.emergency_schools``
            Schools with a building in emergency condition, a count; ``n`` = schools.
        ``conditions.subject_classroom_coverage.<kind>``
            Share of schools teaching grade 7 or above that have a ``<kind>`` room (physics,
            chemistry, biology, computer science); ``n`` = those schools.
        ``conditions.projects.<status>``
            Construction projects in each status (planned, design, construction,
            commissioned, cancelled), a count; ``n`` = the unit's projects. A project belongs
            to the school it serves (none for a new school not yet registered) and to the
            district of its settlement.
        ``conditions.places_delivered.<year>``
            Places created by new schools and extensions commissioned in ``<year>`` (the year of
            ``on`` and the two before, up to ``on``); subgroup ``programme=<programme>`` at the
            region and nation levels (e.g. ``programme=comfortable_school``); ``n`` = projects.
        ``conditions.forecast_deficit.<year>``
            From :func:`forecast_indicators`, district, region and nation levels only.

    Raises
    ------
    DataValidationError
        A required table or column is missing.
    """
    check_tables(tables, _REQUIRED)
    day = pd.Timestamp(on)
    schools = _school_frame(tables, units)
    parts = [
        _ratio(schools, "conditions.places_ratio", "enrolment", "known_places", "known", units),
        _ratio(schools, "conditions.overcrowded", "overcrowded", "known", "known", units),
        _ratio(
            schools,
            "conditions.overcrowded_pupils",
            "overcrowded_pupils",
            "enrolment",
            "enrolment",
            units,
        ),
        _ratio(
            schools, "conditions.three_shift_schools", "three_shift", None, "known_shifts", units
        ),
        _ratio(schools, "conditions.emergency_schools", "emergency", None, "schools", units),
    ]
    for kind in CLASSROOM_KINDS:
        parts.append(
            _ratio(
                schools,
                f"conditions.subject_classroom_coverage.{kind}",
                f"room.{kind}",
                "senior",
                "senior",
                units,
            )
        )
    projects = _located_projects(tables, units)
    parts.append(_project_counts(projects, units))
    parts.append(_places_delivered(projects, day, units))
    parts.append(
        forecast_indicators(enrolment_forecast(tables, units, on=on, years=forecast_years))
    )
    return indicator_table(pd.concat(parts, ignore_index=True))


def enrolment_forecast(
    tables: Mapping[str, pd.DataFrame],
    units: Units,
    *,
    on: dt.date,
    years: int = 5,
) -> pd.DataFrame:
    """Enrolment, places and place deficit of every district for the coming school years.

    A cohort-survival (grade progression ratio) projection from one year's pupils by grade.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Stored entities in file layout: ``student`` (``organization_code``, ``grade``),
        ``organization`` (``design_capacity``, ``shifts``), ``construction_project``,
        ``settlement`` and ``district``.
    units : Units
        The school hierarchy; one forecast per district in it.
    on : datetime.date
        A day of the base school year (the one whose pupils are on file).
    years : int, default 5
        School years to project.

    Returns
    -------
    DataFrame
        One row per district and school year, sorted: ``district``, ``region``, ``year`` (the
        calendar year the school year starts in; the base year first), ``projected`` (False for
        the base year), ``enrolment`` (pupils), ``places`` (design capacity × shifts plus the
        places of new schools and extensions due by 1 September of that year),
        ``deficit`` (``max(enrolment − places, 0)``) and ``intake_growth`` (the district's
        yearly growth factor of first-grade intake, ``r_d`` below).

    Raises
    ------
    DataValidationError
        A required table or column is missing.
    InvalidParameterError
        ``years`` is not a positive integer.

    Notes
    -----
    Let ``E_{g,d}`` be the pupils of grade ``g = 1 … G`` in district ``d`` and ``E_{g,R}`` their
    sum over the districts of region ``R``. The cohort-survival method projects
    ``E_{g+1}(t+1) = s_g E_g(t)`` with progression ratios ``s_g`` that carry promotion,
    repetition, migration and drop-out together (Shryock & Siegel 1976, ch. 23), and supplies
    the entry grade separately.

    With one year of data, ratios of adjacent grades are cross-sectional. If cohorts have grown
    by a constant factor ``r`` a year, ``E_{g+1}/E_g = s_g / r``, so the ratios confound
    survival with the trend. One assumption identifies both: no net loss between grades 1 and 2
    (``s_1 = 1``; repetition and early drop-out are negligible in Kazakhstan), which makes the
    ratio of grade 1 to grade 2 the trend. Trends are estimated top-down, each shrunk towards
    the level above with a prior weight of ``κ = 500`` pupils so that small regions and
    districts do not extrapolate their sampling noise:

        r_N = E_{1,N} / E_{2,N},    r_R = (E_{1,R} + κ r_N) / (E_{2,R} + κ),
        r_d = (E_{1,d} + κ r_R) / (E_{2,d} + κ).

    Progression ratios are pooled over the region's districts (the cross-sectional grade ratios
    smoothed over the region) and corrected for the regional trend, and the district's
    first-grade intake grows by its own trend proxy:

        s_{g,R} = r_R · E_{g+1,R} / E_{g,R},      E_{1,d}(t+k) = E_{1,d} r_d^k.

    Pupils of grade 0 (pre-school classes) are held at their current number. A stationary
    population (constant intake, ``s_1 = 1``) is reproduced exactly, and so is a population
    growing at one constant rate everywhere: every grade then grows by ``r`` a year.

    Limits: the trend is a one-year proxy extrapolated geometrically, so five-year intakes are
    only as good as that proxy — birth cohorts six years earlier are the better source where
    available; cross-sectional ratios assume survival has not changed over the last ``G``
    years; migration into new housing is not foreseen; places are pooled within a district,
    so a district can show no deficit while some of its schools are overcrowded.

    References
    ----------
    Shryock, H. S. & Siegel, J. S. (1976). *The Methods and Materials of Demography*,
    condensed ed. by E. G. Stockwell. Academic Press, ch. 23 (school enrolment projections).
    """
    validate_params("enrolment_forecast", {"years": Interval(int, 1, None)}, {"years": years})
    check_tables(
        tables,
        {
            entity: _REQUIRED[entity]
            for entity in (
                "student",
                "organization",
                "construction_project",
                "settlement",
                "district",
            )
        },
    )
    start = on.year if on.month >= 9 else on.year - 1
    districts = units.frame.drop_duplicates("district").set_index("district")["region"]
    districts = districts.sort_index()
    students = tables["student"]
    students = students[students["organization_code"].isin(units.frame.index)]
    district = units.of(students["organization_code"], "district")
    grade = students["grade"].to_numpy(np.int64)
    counts = pd.crosstab(district, grade).reindex(index=districts.index, fill_value=0)
    last = max(int(grade.max(initial=2)), 2)
    by_grade = counts.reindex(columns=range(1, last + 1), fill_value=0).to_numpy(np.float64)
    preschool = counts.reindex(columns=[0], fill_value=0).to_numpy(np.float64)[:, 0]

    national = by_grade.sum(axis=0)
    national_trend = national[0] / national[1] if national[1] > 0 else 1.0
    regional = (
        pd.DataFrame(by_grade).groupby(districts.to_numpy()).sum().reindex(districts.to_numpy())
    ).to_numpy(np.float64)
    trend = _shrunk_ratio(regional[:, 0], regional[:, 1], national_trend)
    ratios = trend[:, None] * np.divide(
        regional[:, 1:],
        regional[:, :-1],
        out=np.zeros_like(regional[:, 1:]),
        where=regional[:, :-1] > 0,
    )
    growth = _shrunk_ratio(by_grade[:, 0], by_grade[:, 1], trend)
    steps = np.arange(1, years + 1)
    entry = by_grade[:, :1] * growth[:, None] ** steps
    projected = cohort_projection(by_grade, ratios, entry).sum(axis=2) + preschool[:, None]

    schools = _passport(tables, units)
    base_places = (
        schools.groupby("district")["places"].sum().reindex(districts.index, fill_value=0.0)
    )
    added = _places_due(tables, units, districts.index, start, years)

    enrolment = np.column_stack([by_grade.sum(axis=1) + preschool, projected])
    places = base_places.to_numpy(np.float64)[:, None] + added
    n_years = years + 1
    return pd.DataFrame(
        {
            "district": np.repeat(districts.index.to_numpy(), n_years),
            "region": np.repeat(districts.to_numpy(), n_years),
            "year": np.tile(np.arange(start, start + n_years), len(districts)),
            "projected": np.tile(np.arange(n_years) > 0, len(districts)),
            "enrolment": enrolment.reshape(-1),
            "places": places.reshape(-1),
            "deficit": np.maximum(enrolment - places, 0.0).reshape(-1),
            "intake_growth": np.repeat(growth, n_years),
        }
    )


def _shrunk_ratio(
    first: NDArray[np.float64], second: NDArray[np.float64], prior: ArrayLike
) -> NDArray[np.float64]:
    """``(first + κ·prior) / (second + κ)``: a ratio of grade 1 to grade 2 shrunk towards the
    level above."""
    return (first + _INTAKE_PRIOR_PUPILS * np.asarray(prior)) / (second + _INTAKE_PRIOR_PUPILS)


def cohort_projection(base: ArrayLike, ratios: ArrayLike, entry: ArrayLike) -> NDArray[np.float64]:
    """Project pupils by grade with grade progression (cohort-survival) ratios.

    Parameters
    ----------
    base : array_like of shape (..., G)
        Pupils by grade in the base year, entry grade first.
    ratios : array_like of shape (..., G − 1)
        Progression ratios ``s_g``: pupils in grade ``g + 1`` next year per pupil in grade
        ``g`` this year. Broadcast against ``base``.
    entry : array_like of shape (..., T)
        Pupils entering the entry grade in each of the ``T`` projected years.

    Returns
    -------
    ndarray of shape (..., T, G)
        Pupils by grade in each projected year.

    Raises
    ------
    DataValidationError
        The shapes do not fit together.

    Notes
    -----
    ``E_0(t+1) = entry_{t+1}`` and ``E_{g+1}(t+1) = s_g E_g(t)``: the base year is multiplied
    by a Leslie-type matrix with the ratios on its sub-diagonal, the entry grade supplied from
    outside (Shryock & Siegel 1976, ch. 23).

    Examples
    --------
    The ``enrollcast`` R package's vignette: ratios 0.925 (K→1) and 0.9678363 (1→2), base
    year K = 120, 1 = 99, 2 = 91, entries 125, 130 and 128.

    >>> out = cohort_projection([120, 99, 91], [0.925, 0.9678363], [125, 130, 128])
    >>> out.round(5).tolist()[0]
    [125.0, 111.0, 95.81579]
    """
    grades = np.asarray(base, dtype=np.float64)
    survival = np.asarray(ratios, dtype=np.float64)
    intake = np.asarray(entry, dtype=np.float64)
    if (
        grades.ndim < 1
        or survival.shape[-1:] != (grades.shape[-1] - 1,)
        or intake.ndim < 1
        or intake.shape[:-1] != grades.shape[:-1]
    ):
        raise DataValidationError(
            Problem(
                "<cohorts>",
                None,
                None,
                f"need base (..., G), ratios (..., G - 1) and entry (..., T); got "
                f"{grades.shape}, {survival.shape} and {intake.shape}",
            )
        )
    out = np.empty((*intake.shape, grades.shape[-1]))
    current = grades
    for year in range(intake.shape[-1]):
        current = np.concatenate([intake[..., year, None], survival * current[..., :-1]], axis=-1)
        out[..., year, :] = current
    return out


def forecast_indicators(forecast: pd.DataFrame) -> pd.DataFrame:
    """The projected place deficits of :func:`enrolment_forecast` as indicator rows.

    Parameters
    ----------
    forecast : DataFrame
        The result of :func:`enrolment_forecast`.

    Returns
    -------
    DataFrame
        ``conditions.forecast_deficit.<year>`` for every projected year at the district,
        region and nation levels: the district's deficit, and at higher levels the sum of
        their districts' deficits (places in one district do not relieve another);
        ``n`` = projected pupils.
    """
    projected = forecast[forecast["projected"]].assign(nation=NATION)
    parts = []
    for level in ("district", "region", "nation"):
        sums = projected.groupby([level, "year"])[["deficit", "enrolment"]].sum().reset_index()
        parts.append(
            pd.DataFrame(
                {
                    "indicator": "conditions.forecast_deficit." + sums["year"].astype(str),
                    "level": level,
                    "unit": sums[level].to_numpy(),
                    "value": sums["deficit"].to_numpy(np.float64),
                    "n": sums["enrolment"].round().to_numpy(np.int64),
                }
            )
        )
    return indicator_table(pd.concat(parts, ignore_index=True))


def _passport(tables: Mapping[str, pd.DataFrame], units: Units) -> pd.DataFrame:
    """One row per school of ``units``: its units at every level and what its passport says of
    places (capacity × shifts, 0 when either is empty), enrolment and shifts, as counts to sum;
    ``known`` marks the schools whose passport gives capacity, shifts and enrolment."""
    frame = units.frame.rename_axis("school").reset_index().assign(nation=NATION)
    organizations = tables["organization"].set_index("code")
    passport = organizations.reindex(frame["school"])[["design_capacity", "shifts", "enrolment"]]
    capacity = pd.to_numeric(passport["design_capacity"]).to_numpy(np.float64)
    shifts = pd.to_numeric(passport["shifts"]).to_numpy(np.float64)
    enrolment = pd.to_numeric(passport["enrolment"]).to_numpy(np.float64)
    places = np.nan_to_num(capacity * shifts)
    known = ~np.isnan(capacity) & ~np.isnan(shifts) & ~np.isnan(enrolment)
    pupils = np.where(known, enrolment, 0.0)
    over = known & (pupils > places)
    frame["schools"] = 1
    frame["known"] = known.astype(np.int64)
    frame["places"] = places
    frame["known_places"] = np.where(known, places, 0.0)
    frame["enrolment"] = pupils
    frame["overcrowded"] = over.astype(np.int64)
    frame["overcrowded_pupils"] = np.where(over, pupils, 0.0)
    frame["known_shifts"] = (~np.isnan(shifts)).astype(np.int64)
    frame["three_shift"] = (shifts == 3).astype(np.int64)
    return frame


def _school_frame(tables: Mapping[str, pd.DataFrame], units: Units) -> pd.DataFrame:
    """:func:`_passport` with the flags of emergency buildings, senior grades and subject
    rooms."""
    frame = _passport(tables, units)
    buildings = tables["building"]
    emergency = buildings.loc[buildings["condition"] == "emergency", "organization_code"]
    frame["emergency"] = frame["school"].isin(emergency).astype(np.int64)

    students = tables["student"]
    senior = students.loc[students["grade"] >= _SENIOR_GRADE, "organization_code"]
    frame["senior"] = frame["school"].isin(senior).astype(np.int64)
    rooms = tables["subject_classroom"]
    school_of_building = buildings.set_index("code")["organization_code"]
    room_school = school_of_building.reindex(rooms["building_code"].to_numpy()).to_numpy()
    for kind in CLASSROOM_KINDS:
        has = frame["school"].isin(room_school[(rooms["kind"] == kind).to_numpy()])
        frame[f"room.{kind}"] = (has & (frame["senior"] == 1)).astype(np.int64)
    return frame


def _level_sums(
    rows: pd.DataFrame, columns: Sequence[str], units: Units, levels: Sequence[str] = LEVELS
) -> dict[str, pd.DataFrame]:
    """Column sums per unit at each level; every unit of ``units`` is present (zeros where
    ``rows`` has none), and units only ``rows`` knows are kept. ``rows`` carries a column per
    level (``school`` may be empty)."""
    sums = {}
    for level in levels:
        grouped = rows.groupby(level)[list(columns)].sum()
        index = units.all(level).union(grouped.index)
        sums[level] = grouped.reindex(index, fill_value=0)
    return sums


def _ratio(
    rows: pd.DataFrame,
    indicator: str,
    numerator: str,
    denominator: str | None,
    n: str,
    units: Units,
    *,
    levels: Sequence[str] = LEVELS,
    subgroup: str = ALL,
) -> pd.DataFrame:
    """``Σ numerator / Σ denominator`` per unit at each level (a count when ``denominator`` is
    None), with ``n = Σ n``."""
    columns = list(dict.fromkeys(c for c in (numerator, denominator, n) if c is not None))
    parts = []
    for level, sums in _level_sums(rows, columns, units, levels).items():
        value = sums[numerator].to_numpy(np.float64)
        if denominator is not None:
            below = sums[denominator].to_numpy(np.float64)
            value = np.divide(value, below, out=np.full_like(value, np.nan), where=below > 0)
        parts.append(
            pd.DataFrame(
                {
                    "indicator": indicator,
                    "level": level,
                    "unit": sums.index,
                    "subgroup": subgroup,
                    "value": value,
                    "n": sums[n].round().to_numpy(np.int64),
                }
            )
        )
    return indicator_table(pd.concat(parts, ignore_index=True))


def _located_projects(tables: Mapping[str, pd.DataFrame], units: Units) -> pd.DataFrame:
    """Projects of the hierarchy's regions with their school (if registered), district,
    region and nation: the school's units when it is known, else the settlement's."""
    projects = tables["construction_project"]
    district_of = tables["settlement"].set_index("code")["district_code"]
    region_of = tables["district"].set_index("code")["region_code"]
    school = projects["organization_code"].where(
        projects["organization_code"].isin(units.frame.index)
    )
    known = school.notna().to_numpy()
    district = district_of.reindex(projects["settlement_code"].to_numpy()).to_numpy(dtype=object)
    district[known] = units.of(school[known], "district")
    region = region_of.reindex(district).to_numpy(dtype=object)
    located = projects.assign(
        school=school.to_numpy(dtype=object), district=district, region=region, nation=NATION
    )
    return located[located["region"].isin(units.frame["region"])].reset_index(drop=True)


def _project_counts(projects: pd.DataFrame, units: Units) -> pd.DataFrame:
    """Projects per status, as the status stands on file."""
    rows = projects.assign(project=1)
    for status in ProjectStatus:
        rows[status.value] = (rows["status"] == status.value).astype(np.int64)
    return pd.concat(
        [
            _ratio(
                rows, f"conditions.projects.{status.value}", status.value, None, "project", units
            )
            for status in ProjectStatus
        ],
        ignore_index=True,
    )


def _places_delivered(projects: pd.DataFrame, day: pd.Timestamp, units: Units) -> pd.DataFrame:
    """Places of new schools and extensions commissioned in each of the last three calendar
    years up to ``day``, in all and by programme."""
    ended = as_dates(projects["actual_end_on"])
    delivered = (
        (projects["status"] == ProjectStatus.COMMISSIONED.value)
        & projects["kind"].isin([k.value for k in _NEW_PLACES])
        & (ended <= day)
    )
    rows = projects.assign(year=ended.dt.year)
    programmes = sorted(projects["programme"].dropna().unique())
    parts = []
    for year in range(day.year - _DELIVERY_YEARS + 1, day.year + 1):
        chosen = delivered & (rows["year"] == year)
        rows["delivered"] = np.where(chosen, rows["places"], 0)
        rows["projects"] = chosen.astype(np.int64)
        indicator = f"conditions.places_delivered.{year}"
        parts.append(_ratio(rows, indicator, "delivered", None, "projects", units))
        for programme in programmes:
            mine = chosen & (rows["programme"] == programme)
            rows["delivered"] = np.where(mine, rows["places"], 0)
            rows["projects"] = mine.astype(np.int64)
            parts.append(
                _ratio(
                    rows,
                    indicator,
                    "delivered",
                    None,
                    "projects",
                    units,
                    levels=("region", "nation"),
                    subgroup=f"programme={programme}",
                )
            )
    return pd.concat(parts, ignore_index=True)


def _places_due(
    tables: Mapping[str, pd.DataFrame],
    units: Units,
    districts: pd.Index,
    start: int,
    years: int,
) -> NDArray[np.float64]:
    """Places of pipeline new schools and extensions open by 1 September of each school year
    ``start … start + years``, per district (cumulative; none in the base year)."""
    projects = _located_projects(tables, units)
    due = as_dates(projects["actual_end_on"]).fillna(as_dates(projects["planned_end_on"]))
    pipeline = projects["status"].isin([s.value for s in _PIPELINE]) & projects["kind"].isin(
        [k.value for k in _NEW_PLACES]
    )
    places = np.zeros((len(districts), years + 1))
    row = districts.get_indexer(projects["district"].to_numpy())
    for offset in range(1, years + 1):
        opened = pipeline & (due <= pd.Timestamp(dt.date(start + offset, 9, 1))) & (row >= 0)
        places[:, offset] = np.bincount(
            row[opened.to_numpy()],
            projects["places"].to_numpy(np.float64)[opened.to_numpy()],
            minlength=len(districts),
        )
    return places
