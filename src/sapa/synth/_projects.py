"""School construction, extension and renovation projects of the synthetic nation.

National counts at full scale (sources in docs/synthetic-nation.md):

* «Comfortable School» (``comfortable_school``): 105 schools and 217,300 places commissioned in
  2024 (40% rural), 112 schools and 206,000 places due in 2025 (45% rural), under construction or
  already commissioned on the snapshot date; 2.6 trillion tenge for the 217 schools, i.e. about
  6.14 million tenge per place. A rural school has about 900 places, an urban one the rest of its
  year's places (≈ 2,850 in 2024, ≈ 2,610 in 2025). The schools of 2024 all finished that year
  (none late); 10% of those of 2025 were due in April 2025;
* other new schools (local and republican budget, public–private partnership, recovered assets):
  190 finished in 2023 and 127 in 2024 (the 422 schools built in 2023–24 less the 105 above),
  then 90 due in 2025 and 60 in 2026 (assumed); about 920 places each, 4.5 million tenge per place
  (assumed);
* renovations: about 1,300 schools over 2023–2025 (400, 450, 450), summer works, mostly rural;
  1.8 million tenge per place renovated (assumed);
* extensions of overcrowded schools: 50 a year over 2023–2025 (assumed), 100–600 places,
  5 million tenge per place (assumed).

New schools go where places are short: a region's expected number is the national count times
its share of pupils, times 3 in the place-deficit regions (Astana, Almaty, Shymkent, Almaty and
Turkistan regions), renormalised over the 20 regions so the national count is kept. A new school
is rural with probability ``s · (1 − u_r) / m``, ``u_r`` the region's urban school share and ``m``
the national mean of ``1 − u_r`` weighted as above, so the national rural share is ``s``.
Renovations follow the region's share of schools (more often rural ones and buildings that need
repair), extensions its pupils (the most crowded schools). Every expected count is rounded
stochastically (down or up with the fractional part as probability), so totals are right in
expectation at every scale.

A project's status is read from its dates against the snapshot date: commissioned when its
actual end is on or before :data:`~sapa.synth._targets.REFERENCE_DATE`, under construction when
works started, in design when works are due within 270 days, planned otherwise; 3% of projects
not started are cancelled. Works start 0–45 days after the planned start; 15% of projects finish
20–150 days late, the others up to 20 days early or 5 days late. New schools commissioned in a
year are linked to the region's organisations that opened in that year, if any.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import pandas as pd

from sapa.synth._frame import RegionFrame
from sapa.synth._targets import NATIONAL, REFERENCE_DATE, region_targets

__all__ = ["COMFORTABLE_COST_TENGE", "add_projects"]

COMFORTABLE_COST_TENGE = 2_600_000_000_000
"""Budget of the «Comfortable School» national project (2023–2025), tenge."""

_COMFORTABLE = (
    (2024, NATIONAL.comfortable_schools_2024, NATIONAL.comfortable_places_2024, 0.40),
    (2025, NATIONAL.comfortable_schools_2025, NATIONAL.comfortable_places_2025, 0.45),
)
"""Per year: schools, places and rural share of the Comfortable School project."""
_COST_PER_PLACE = {
    "comfortable": COMFORTABLE_COST_TENGE
    / (NATIONAL.comfortable_places_2024 + NATIONAL.comfortable_places_2025),
    "new": 4.5e6,
    "renovation": 1.8e6,
    "extension": 5.0e6,
}
_RURAL_PLACES = 900
_OTHER_NEW = {2023: 190, 2024: 127, 2025: 90, 2026: 60}
_OTHER_NEW_PLACES = (1200, 450)
_OTHER_NEW_RURAL = 0.45
_OTHER_PROGRAMMES = ("local_budget", "republican_budget", "public_private_partnership")
_OTHER_PROGRAMME_P = (0.45, 0.30, 0.25)
_RENOVATIONS = {2023: 400, 2024: 450, 2025: 450}
_EXTENSIONS = {2023: 50, 2024: 50, 2025: 50}
_DEFICIT_WEIGHT = 3.0
_LATE_SHARE = 0.15
_CANCELLED_SHARE = 0.03

_COLUMNS = (
    "code",
    "settlement_code",
    "organization_code",
    "kind",
    "programme",
    "status",
    "places",
    "cost_tenge",
    "planned_start_on",
    "planned_end_on",
    "actual_start_on",
    "actual_end_on",
)


def add_projects(frame: RegionFrame) -> None:
    """Add the region's ``construction_project`` table to ``frame.tables``.

    Counts, places, costs, dates and statuses follow the module docstring. Codes are
    ``<CS|NS|RN|EX>-<year>-<region digits>-<number>`` (CS: Comfortable School, NS: other new
    school, RN: renovation, EX: extension; the year is the planned completion year).

    Parameters
    ----------
    frame : RegionFrame
        The region, with ``schools`` and the ``settlement`` and ``organization`` tables built
        (``building`` is used when present).
    """
    rng = frame.rng("projects")
    weight = _new_school_weight(frame)
    parts = [
        _comfortable(rng, frame, weight),
        _other_new(rng, frame, weight),
        _renovations(rng, frame),
        _extensions(rng, frame, weight),
    ]
    kept = [part for part in parts if len(part)]
    table = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=list(_COLUMNS))
    table = _link_opened_schools(frame, table)
    frame.tables["construction_project"] = pd.DataFrame(
        {
            "code": table["code"].to_numpy(dtype=object),
            "settlement_code": table["settlement_code"].to_numpy(dtype=object),
            "organization_code": table["organization_code"].to_numpy(dtype=object),
            "kind": table["kind"].to_numpy(dtype=object),
            "programme": table["programme"].to_numpy(dtype=object),
            "status": table["status"].to_numpy(dtype=object),
            "places": table["places"].to_numpy(dtype=np.int64),
            "cost_tenge": pd.array(table["cost_tenge"].to_numpy(dtype=np.int64), dtype="Int64"),
            **{
                column: _as_dates(table[column].to_numpy(dtype="datetime64[D]"))
                for column in _COLUMNS[8:]
            },
        }
    )


def _day(day: dt.date) -> np.datetime64:
    return np.datetime64(day, "D")


def _as_dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` values as an object array of ``datetime.date`` (``None`` for NaT)."""
    return np.array(days.astype("datetime64[D]").tolist(), dtype=object)


def _stochastic_round(rng: np.random.Generator, expected: float) -> int:
    """``expected`` rounded down or up, up with probability equal to its fractional part."""
    whole = np.floor(expected)
    return int(whole + (rng.random() < expected - whole))


@cache
def _national_weights() -> tuple[float, float]:
    """The pupil-weighted means over the 20 regions of the place-deficit weight and of that
    weight times the rural school share (the normalisers of the module docstring)."""
    targets = region_targets()
    pupils = np.array([t.pupils for t in targets], dtype=np.float64)
    weight = np.array([_DEFICIT_WEIGHT if t.place_deficit else 1.0 for t in targets])
    rural = 1 - np.array([t.urban_school_share for t in targets])
    return float((pupils * weight).sum() / pupils.sum()), float(
        (pupils * weight * rural).sum() / (pupils * weight).sum()
    )


def _new_school_weight(frame: RegionFrame) -> float:
    """The region's share of the nation's new schools at this scale (see the module docstring)."""
    mean_weight, _ = _national_weights()
    weight = _DEFICIT_WEIGHT if frame.plan.target.place_deficit else 1.0
    return frame.plan.pupils / NATIONAL.pupils * weight / mean_weight


def _rural_probability(frame: RegionFrame, national_share: float) -> float:
    _, mean_rural = _national_weights()
    return min(1.0, national_share * (1 - frame.plan.target.urban_school_share) / mean_rural)


def _sites(
    rng: np.random.Generator, frame: RegionFrame, rural: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A settlement for each new school: rural or urban as asked (the other kind where the region
    has none), chosen with probability proportional to population. Returns the codes and
    whether each site is rural."""
    settlements = frame.tables["settlement"]
    is_rural = (settlements["locality"] == "rural").to_numpy()
    population = settlements["population"].fillna(1).to_numpy(np.float64) + 1
    codes = settlements["code"].to_numpy(dtype=object)
    if not is_rural.any() or is_rural.all():
        rural = np.full(len(rural), bool(is_rural.any()))
    site = np.empty(len(rural), dtype=object)
    for kind in (True, False):
        rows = np.flatnonzero(rural == kind)
        pool = np.flatnonzero(is_rural == kind)
        if len(rows):
            p = population[pool] / population[pool].sum()
            site[rows] = codes[pool[rng.choice(len(pool), len(rows), p=p)]]
    return site, rural


def _places(rng: np.random.Generator, mean: np.ndarray, minimum: int) -> np.ndarray:
    """Places around ``mean`` (lognormal, SD 0.3 on the log scale, mean kept), to 50."""
    draw = mean * np.exp(rng.normal(-0.045, 0.3, len(mean)))
    return np.maximum(np.round(draw / 50) * 50, minimum).astype(np.int64)


def _costs(rng: np.random.Generator, places: np.ndarray, per_place: float) -> np.ndarray:
    """Cost in tenge: places × cost per place × lognormal noise (SD 0.1, mean kept), to the
    million."""
    cost = places * per_place * np.exp(rng.normal(-0.005, 0.1, len(places)))
    return (np.round(cost / 1e6) * 1e6).astype(np.int64)


def _progress(
    rng: np.random.Generator,
    planned_start: np.ndarray,
    planned_end: np.ndarray,
    late_share: float | np.ndarray = _LATE_SHARE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Status and actual dates on the snapshot date (rules in the module docstring); a
    ``late_share`` of 0 keeps every project within 20 days early to 5 days late."""
    n = len(planned_start)
    reference = _day(REFERENCE_DATE)
    start = planned_start + rng.integers(0, 46, n).astype("timedelta64[D]")
    late = rng.random(n) < late_share
    shift = np.where(late, rng.integers(20, 151, n), rng.integers(-20, 6, n))
    end = np.maximum(planned_end + shift.astype("timedelta64[D]"), start + np.timedelta64(30, "D"))
    commissioned = end <= reference
    started = start <= reference
    soon = (planned_start - reference).astype(np.int64) <= 270
    status = np.select(
        [commissioned, started, soon], ["commissioned", "construction", "design"], "planned"
    ).astype(object)
    status[~started & (rng.random(n) < _CANCELLED_SHARE)] = "cancelled"
    nat = np.datetime64("NaT", "D")
    return status, np.where(started, start, nat), np.where(commissioned, end, nat)


def _frame_of(
    code_prefix: str,
    digits: str,
    year: np.ndarray,
    *,
    settlement: np.ndarray,
    organization: np.ndarray,
    kind: str,
    programme: np.ndarray,
    places: np.ndarray,
    cost: np.ndarray,
    planned_start: np.ndarray,
    planned_end: np.ndarray,
    progress: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """Projects of one family as a frame, numbered within each year."""
    order = np.lexsort((planned_start, year))
    year = year[order]
    number = pd.Series(year).groupby(year).cumcount().to_numpy() + 1
    status, actual_start, actual_end = (part[order] for part in progress)
    return pd.DataFrame(
        {
            "code": [
                f"{code_prefix}-{y}-{digits}-{k:03d}"
                for y, k in zip(year.tolist(), number.tolist(), strict=True)
            ],
            "settlement_code": settlement[order],
            "organization_code": organization[order],
            "kind": kind,
            "programme": programme[order],
            "status": status,
            "places": places[order],
            "cost_tenge": cost[order],
            "planned_start_on": planned_start[order],
            "planned_end_on": planned_end[order],
            "actual_start_on": actual_start,
            "actual_end_on": actual_end,
        }
    )


def _year_dates(year: np.ndarray, month_day: str) -> np.ndarray:
    return np.array([f"{y}-{month_day}" for y in year.tolist()], dtype="datetime64[D]")


def _comfortable(rng: np.random.Generator, frame: RegionFrame, weight: float) -> pd.DataFrame:
    """Comfortable School projects: all of 2024 commissioned that year, 2025 mostly building."""
    years, wanted_rural, urban_places = [], [], []
    for intake, schools, total_places, rural_share in _COMFORTABLE:
        count = _stochastic_round(rng, schools * weight)
        years.append(np.full(count, intake))
        wanted_rural.append(rng.random(count) < _rural_probability(frame, rural_share))
        urban_mean = (total_places / schools - rural_share * _RURAL_PLACES) / (1 - rural_share)
        urban_places.append(np.full(count, urban_mean))
    year = np.concatenate(years)
    n = len(year)
    site, rural = _sites(rng, frame, np.concatenate(wanted_rural))
    place = _places(rng, np.where(rural, _RURAL_PLACES, np.concatenate(urban_places)), 300)
    first = year == 2024
    planned_start = np.where(first, _day(dt.date(2023, 3, 1)), _day(dt.date(2024, 2, 1))) + (
        rng.integers(0, 241, n).astype("timedelta64[D]")
    )
    end_choice = rng.random(n)
    planned_end = np.where(
        first,
        np.where(end_choice < 0.85, _day(dt.date(2024, 8, 31)), _day(dt.date(2024, 12, 25))),
        np.select(
            [end_choice < 0.10, end_choice < 0.85],
            [_day(dt.date(2025, 4, 30)), _day(dt.date(2025, 8, 25))],
            _day(dt.date(2025, 12, 25)),
        ),
    )
    return _frame_of(
        "CS",
        frame.digits,
        year,
        settlement=site,
        organization=np.full(n, None, dtype=object),
        kind="new",
        programme=np.full(n, "comfortable_school", dtype=object),
        places=place,
        cost=_costs(rng, place, _COST_PER_PLACE["comfortable"]),
        planned_start=planned_start,
        planned_end=planned_end,
        progress=_progress(
            rng, planned_start, planned_end, late_share=np.where(first, 0.0, _LATE_SHARE)
        ),
    )


def _other_new(rng: np.random.Generator, frame: RegionFrame, weight: float) -> pd.DataFrame:
    """New schools of the regular budgets, partnerships and recovered assets, 2023–2026."""
    year = np.concatenate(
        [np.full(_stochastic_round(rng, count * weight), y) for y, count in _OTHER_NEW.items()]
    ).astype(np.int64)
    n = len(year)
    site, rural = _sites(rng, frame, rng.random(n) < _rural_probability(frame, _OTHER_NEW_RURAL))
    place = _places(rng, np.where(rural, _OTHER_NEW_PLACES[1], _OTHER_NEW_PLACES[0]), 100)
    programme = np.asarray(_OTHER_PROGRAMMES, dtype=object)[
        rng.choice(len(_OTHER_PROGRAMMES), n, p=_OTHER_PROGRAMME_P)
    ]
    programme[(year >= 2024) & (rng.random(n) < 0.3)] = "recovered_assets"
    planned_end = np.where(
        rng.random(n) < 0.8, _year_dates(year, "08-25"), _year_dates(year, "12-20")
    )
    planned_start = planned_end - rng.integers(420, 721, n).astype("timedelta64[D]")
    return _frame_of(
        "NS",
        frame.digits,
        year,
        settlement=site,
        organization=np.full(n, None, dtype=object),
        kind="new",
        programme=programme,
        places=place,
        cost=_costs(rng, place, _COST_PER_PLACE["new"]),
        planned_start=planned_start,
        planned_end=planned_end,
        progress=_progress(rng, planned_start, planned_end),
    )


def _school_choice(
    rng: np.random.Generator, weight: np.ndarray, counts: dict[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Schools (without replacement, in proportion to ``weight``) for each year's projects."""
    wanted = np.array([y for y, c in counts.items() for _ in range(c)], dtype=np.int64)
    n = min(len(wanted), int((weight > 0).sum()))
    if n == 0:
        return np.empty(0, dtype=np.int64), wanted[:0]
    chosen = rng.choice(len(weight), n, replace=False, p=weight / weight.sum())
    return chosen.astype(np.int64), wanted[:n]


def _renovations(rng: np.random.Generator, frame: RegionFrame) -> pd.DataFrame:
    """Summer renovations of existing schools, more often rural and in need of repair."""
    schools = frame.schools
    share = frame.plan.schools / NATIONAL.schools
    counts = {y: _stochastic_round(rng, c * share) for y, c in _RENOVATIONS.items()}
    weight = np.where(schools["urban"].to_numpy(bool), 1.0, 1.2)
    if "building" in frame.tables:
        condition = (
            frame.tables["building"]
            .drop_duplicates("organization_code")
            .set_index("organization_code")["condition"]
            .reindex(schools["code"])
            .to_numpy()
        )
        weight = weight * np.select(
            [condition == "needs_repair", condition == "emergency"], [3.0, 0.3], 1.0
        )
    school, year = _school_choice(rng, weight, counts)
    n = len(school)
    planned_start = _year_dates(year, "06-01") + rng.integers(0, 22, n).astype("timedelta64[D]")
    planned_end = _year_dates(year, "08-20") + rng.integers(0, 11, n).astype("timedelta64[D]")
    place = schools["capacity"].to_numpy(np.int64)[school]
    programme = np.where(
        rng.random(n) < 0.7,
        "local_budget",
        np.where(rng.random(n) < 0.83, "republican_budget", "other"),
    ).astype(object)
    return _frame_of(
        "RN",
        frame.digits,
        year,
        settlement=schools["settlement_code"].to_numpy(dtype=object)[school],
        organization=schools["code"].to_numpy(dtype=object)[school],
        kind="renovation",
        programme=programme,
        places=place,
        cost=_costs(rng, place, _COST_PER_PLACE["renovation"]),
        planned_start=planned_start,
        planned_end=planned_end,
        progress=_progress(rng, planned_start, planned_end),
    )


def _extensions(rng: np.random.Generator, frame: RegionFrame, weight: float) -> pd.DataFrame:
    """Extensions of the most crowded schools (pupils per place of one shift)."""
    schools = frame.schools
    counts = {y: _stochastic_round(rng, c * weight) for y, c in _EXTENSIONS.items()}
    capacity = np.maximum(schools["capacity"].to_numpy(np.float64), 1)
    crowding = schools["enrolment"].to_numpy(np.float64) / capacity
    school, year = _school_choice(rng, np.maximum(crowding - 1, 0.05), counts)
    n = len(school)
    place = np.clip(np.round(0.3 * capacity[school] / 25) * 25, 100, 600).astype(np.int64)
    planned_end = np.where(
        rng.random(n) < 0.7, _year_dates(year, "08-25"), _year_dates(year, "12-20")
    )
    planned_start = planned_end - rng.integers(240, 421, n).astype("timedelta64[D]")
    return _frame_of(
        "EX",
        frame.digits,
        year,
        settlement=schools["settlement_code"].to_numpy(dtype=object)[school],
        organization=schools["code"].to_numpy(dtype=object)[school],
        kind="extension",
        programme=np.where(rng.random(n) < 0.8, "local_budget", "republican_budget").astype(object),
        places=place,
        cost=_costs(rng, place, _COST_PER_PLACE["extension"]),
        planned_start=planned_start,
        planned_end=planned_end,
        progress=_progress(rng, planned_start, planned_end),
    )


def _link_opened_schools(frame: RegionFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Give commissioned new schools the organisations that opened in their year.

    Organisations that opened from 2023 to the snapshot date are matched, in code order, to the
    new schools commissioned in the same year (Comfortable Schools first). A linked project
    takes the organisation's settlement, and its dates move together so that works ended a week
    before the opening (never before 1 January of that year).
    """
    organizations = frame.tables["organization"]
    opened = pd.to_datetime(organizations["opened_on"]).to_numpy().astype("datetime64[D]")
    end = table["actual_end_on"].to_numpy(dtype="datetime64[D]")
    end_year = end.astype("datetime64[Y]")
    new = (table["kind"] == "new").to_numpy() & (table["status"] == "commissioned").to_numpy()
    first_year = np.datetime64("2023", "Y")
    table = table.copy()
    for year in np.unique(end_year[new & (end_year >= first_year)]):
        schools = np.flatnonzero(
            (opened.astype("datetime64[Y]") == year) & (opened <= _day(REFERENCE_DATE))
        )
        projects = np.flatnonzero(new & (end_year == year))
        schools = schools[np.argsort(organizations["code"].to_numpy()[schools], kind="stable")]
        projects = projects[np.argsort(table["code"].to_numpy()[projects], kind="stable")]
        pairs = min(len(schools), len(projects))
        schools, projects = schools[:pairs], projects[:pairs]
        target = np.maximum(opened[schools] - np.timedelta64(7, "D"), year.astype("datetime64[D]"))
        delta = target - end[projects]
        for column in _COLUMNS[8:]:
            dates = table[column].to_numpy(dtype="datetime64[D]")
            dates[projects] = dates[projects] + delta
            table[column] = dates
        table.loc[projects, "organization_code"] = organizations["code"].to_numpy()[schools]
        table.loc[projects, "settlement_code"] = organizations["settlement_code"].to_numpy()[
            schools
        ]
    return table
