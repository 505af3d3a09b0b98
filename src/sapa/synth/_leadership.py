"""The «1000 Leaders of Change» programme in the synthetic nation.

The programme's published numbers, at full scale: about 3,000 applicants in 2023 (deputy heads
only) and 13,000 in 2024 (the call opened to teachers); 200 reservists from the 2023 intake and
383 from 2024, 583 in all (397 deputy heads, 186 teachers), of whom 419 (170 of 2023, 249 of
2024; 71%) have been appointed heads. A region's counts are these times its share of the
nation's teachers (``plan.teachers / NATIONAL.teachers``), rounded stochastically with one
uniform draw per intake and post, so that applicants ≥ admitted ≥ reservists ≥ appointed
always holds and every count is right in expectation.

Assumptions (no source): 30% of the 2024 applicants are deputy heads; 8% more candidates are
admitted than reach the reserve (4 in 10 of them withdraw, the others fail the final
assessment); 5% of the other applicants are waitlisted; of those rejected, 3% were absent from
the test, 30% failed the interview and the rest the test. Score rules: the test's pass mark is
60% (only those who pass are interviewed); admitted candidates score at least 70% in both the
test and the interview, waitlisted ones 55–69.5% in the interview, candidates rejected after
the interview below 55%. Graduates scoring 70% or more in the final assessment enter the
reserve. The training level follows experience: basic below 10 years, expert 10–19,
professional 20 or more. 4% of reservists not appointed withdrew from the reserve.

Appointed reservists are the region's current heads (``position == "head"`` in the teachers
frame), who applied as deputy heads or teachers; every current or former head and deputy head
has a ``head_appointment`` row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sapa.synth._frame import RegionFrame
from sapa.synth._targets import NATIONAL, REFERENCE_DATE, SCHOOL_YEAR_START

__all__ = ["COHORTS", "PROVIDER", "add_leadership", "leadership_national_tables"]

PROVIDER = "Centre of Pedagogical Excellence (AEO NIS)"
"""The programme's training provider."""

COHORTS = {
    2023: {"basic": 2, "expert": 4, "professional": 3},
    2024: {"basic": 6, "expert": 6, "professional": 4},
}
"""Training cohorts (groups) of each intake at each level."""

_LEVEL_CODES = {"basic": "BAS", "expert": "EXP", "professional": "PRO"}

_CALLS = (
    (2023, "deputy_head", 3000, 200, 170),
    (2024, "deputy_head", 3900, 197, 128),
    (2024, "teacher", 9100, 186, 121),
)
"""National counts at full scale per intake and post: applicants, reservists, appointed heads."""


@dataclass(frozen=True)
class _Intake:
    """The calendar of one intake: applications open (for 45 days), decisions after the test
    and after the interview, training, inclusion of the graduates in the reserve."""

    applications: dt.date
    test_decision: dt.date
    decision: dt.date
    training_start: dt.date
    training_end: dt.date
    reserve: dt.date


_INTAKES = {
    2023: _Intake(
        applications=dt.date(2023, 3, 1),
        test_decision=dt.date(2023, 4, 28),
        decision=dt.date(2023, 5, 12),
        training_start=dt.date(2023, 7, 3),
        training_end=dt.date(2023, 12, 15),
        reserve=dt.date(2024, 1, 10),
    ),
    2024: _Intake(
        applications=dt.date(2024, 3, 1),
        test_decision=dt.date(2024, 4, 30),
        decision=dt.date(2024, 5, 17),
        training_start=dt.date(2024, 7, 22),
        training_end=dt.date(2024, 12, 13),
        reserve=dt.date(2025, 1, 15),
    ),
}

_ADMITTED_PER_RESERVIST = 1.08
_WAITLIST_SHARE = 0.05
_RESERVE_WITHDRAWAL = 0.04

# Roles of an applicant, in the order they are filled.
_APPOINTED, _RESERVIST, _NOT_RESERVED, _WAITLISTED, _FAILED_INTERVIEW, _FAILED_TEST, _ABSENT = (
    range(7)
)


def leadership_national_tables() -> dict[str, pd.DataFrame]:
    """The programme's training cohorts of 2023 and 2024 (``leader_cohort``).

    Returns
    -------
    dict of str to DataFrame
        ``leader_cohort``: :data:`COHORTS` with codes ``L<year>-<BAS|EXP|PRO>-<nn>``, provider
        :data:`PROVIDER` and the intake's training dates.
    """
    rows = [
        (
            f"L{year}-{_LEVEL_CODES[level]}-{k:02d}",
            level,
            PROVIDER,
            _INTAKES[year].training_start,
            _INTAKES[year].training_end,
        )
        for year, levels in COHORTS.items()
        for level, count in levels.items()
        for k in range(1, count + 1)
    ]
    cohorts = pd.DataFrame(rows, columns=["code", "level", "provider", "starts_on", "ends_on"])
    return {"leader_cohort": cohorts}


def add_leadership(frame: RegionFrame) -> None:
    """Add one region's programme tables to ``frame.tables``.

    Adds ``leader_candidate``, ``leader_selection``, ``leader_cohort_member``,
    ``leader_reserve`` and ``head_appointment`` (columns as in ``docs/data-formats.md``), with
    the counts and rules of the module docstring. Candidates are the region's teachers; cohort
    codes are those of :func:`leadership_national_tables`.

    Parameters
    ----------
    frame : RegionFrame
        The region, with its ``teachers`` frame built.
    """
    rng = frame.rng("leadership")
    teachers = frame.teachers.reset_index(drop=True)
    candidates = _candidates(rng, frame, teachers)
    n = len(candidates)
    year = candidates["intake_year"].to_numpy()
    role = candidates["role"].to_numpy()
    teacher = candidates["teacher"].to_numpy()
    codes = candidates["code"].to_numpy()

    frame.tables["leader_candidate"] = pd.DataFrame(
        {
            "code": codes,
            "teacher_code": teachers["code"].to_numpy()[teacher],
            "intake_year": year.astype(np.int64),
            "position_at_application": candidates["position"].to_numpy(),
            "applied_on": _as_dates(
                _dates_of(year, "applications") + rng.integers(0, 45, n).astype("timedelta64[D]")
            ),
        }
    )
    frame.tables["leader_selection"] = _selection(rng, year, role, codes)

    admitted = role <= _NOT_RESERVED
    experience = teachers["experience_years"].to_numpy(np.float64)[teacher[admitted]]
    level = np.where(experience < 10, "basic", np.where(experience < 20, "expert", "professional"))
    frame.tables["leader_cohort_member"] = _members(
        rng, year[admitted], level, role[admitted], codes[admitted]
    )

    reservist = role <= _RESERVIST
    appointed_on = _appointments_from_reserve(rng, teachers, year, role, teacher)
    frame.tables["leader_reserve"] = _reserve(
        rng,
        teachers,
        year[reservist],
        role[reservist],
        teacher[reservist],
        codes[reservist],
        appointed_on[reservist],
    )
    frame.tables["head_appointment"] = _head_appointments(
        rng,
        teachers,
        teacher[role == _APPOINTED],
        codes[role == _APPOINTED],
        appointed_on[role == _APPOINTED],
    )


def _day(day: dt.date) -> np.datetime64:
    return np.datetime64(day, "D")


def _as_dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` values as an object array of ``datetime.date`` (``None`` for NaT)."""
    return np.array(days.astype("datetime64[D]").tolist(), dtype=object)


def _dates_of(year: np.ndarray, event: str) -> np.ndarray:
    """The date of ``event`` (a field of :class:`_Intake`) in each row's intake."""
    first, second = (_day(getattr(_INTAKES[intake], event)) for intake in (2023, 2024))
    return np.where(year == 2023, first, second)


def _scores(rng: np.random.Generator, low: float, width: float, n: int) -> np.ndarray:
    """Percent scores in ``[low, low + width]`` (Beta(2, 2) shaped), to the half point."""
    return np.round(2 * (low + width * rng.beta(2.0, 2.0, n))) / 2


def _pool(teachers: pd.DataFrame, position: str, minimum_experience: int = 0) -> np.ndarray:
    """Row numbers of current staff holding ``position`` with at least the given experience."""
    current = teachers["left_on"].isna().to_numpy()
    holds = (teachers["position"] == position).to_numpy() & current
    experienced = holds & (teachers["experience_years"].to_numpy() >= minimum_experience)
    return np.flatnonzero(experienced if experienced.sum() > 0 else holds)


def _candidates(
    rng: np.random.Generator, frame: RegionFrame, teachers: pd.DataFrame
) -> pd.DataFrame:
    """Applicants with their intake, post at application, teacher row and role (selection
    outcome), numbered in random order within each intake."""
    share = frame.plan.teachers / NATIONAL.teachers
    heads = rng.permutation(_pool(teachers, "head"))
    pools = {
        "deputy_head": rng.permutation(_pool(teachers, "deputy_head")),
        "teacher": rng.permutation(_pool(teachers, "teacher", minimum_experience=5)),
    }
    used_heads = 0
    admitted_before = np.empty(0, dtype=np.int64)
    parts = []
    for year, position, applicants, reservists, appointed in _CALLS:
        u = rng.random()
        expected = (
            np.array([applicants, reservists * _ADMITTED_PER_RESERVIST, reservists, appointed])
            * share
        )
        n_applicants, n_admitted, n_reserve, n_appointed = (
            np.floor(expected) + (u < expected - np.floor(expected))
        ).astype(int)
        chosen_heads = heads[used_heads : used_heads + n_appointed]
        used_heads += len(chosen_heads)
        available = pools[position][~np.isin(pools[position], admitted_before)]
        others = available[: max(n_applicants - len(chosen_heads), 0)]
        n_reserve = min(n_reserve - len(chosen_heads), len(others))
        n_admitted = min(n_admitted - len(chosen_heads), len(others))
        rest = len(others) - n_admitted
        n_waitlisted = int(rng.binomial(rest, _WAITLIST_SHARE))
        failed = rng.choice(
            [_FAILED_INTERVIEW, _FAILED_TEST, _ABSENT], rest - n_waitlisted, p=(0.30, 0.67, 0.03)
        )
        role = np.concatenate(
            [
                np.full(len(chosen_heads), _APPOINTED),
                np.full(n_reserve, _RESERVIST),
                np.full(n_admitted - n_reserve, _NOT_RESERVED),
                np.full(n_waitlisted, _WAITLISTED),
                failed,
            ]
        ).astype(np.int64)
        rows = np.concatenate([chosen_heads, others]).astype(np.int64)
        admitted_before = np.concatenate([admitted_before, rows[role <= _NOT_RESERVED]])
        parts.append(
            pd.DataFrame({"intake_year": year, "position": position, "teacher": rows, "role": role})
        )
    table = pd.concat(parts, ignore_index=True)
    order = np.lexsort((rng.random(len(table)), table["intake_year"].to_numpy()))
    table = table.iloc[order].reset_index(drop=True)
    number = table.groupby("intake_year").cumcount().to_numpy() + 1
    table["code"] = [
        f"L1000-{y}-{frame.digits}{k:05d}"
        for y, k in zip(table["intake_year"].tolist(), number.tolist(), strict=True)
    ]
    return table


def _selection(
    rng: np.random.Generator, year: np.ndarray, role: np.ndarray, codes: np.ndarray
) -> pd.DataFrame:
    """Test and interview scores consistent with each decision (rules in the module docstring)."""
    n = len(role)
    admitted = role <= _NOT_RESERVED
    test = np.select(
        [admitted, role == _WAITLISTED, role == _FAILED_INTERVIEW, role == _FAILED_TEST],
        [
            _scores(rng, 70, 28, n),
            _scores(rng, 60, 30, n),
            _scores(rng, 60, 30, n),
            _scores(rng, 15, 44.5, n),
        ],
        np.nan,
    )
    interview = np.select(
        [admitted, role == _WAITLISTED, role == _FAILED_INTERVIEW],
        [_scores(rng, 70, 28, n), _scores(rng, 55, 14.5, n), _scores(rng, 25, 29.5, n)],
        np.nan,
    )
    decision = np.select(
        [admitted, role == _WAITLISTED], ["admitted", "waitlisted"], "rejected"
    ).astype(object)
    interviewed = ~np.isnan(interview)
    decided = np.where(interviewed, _dates_of(year, "decision"), _dates_of(year, "test_decision"))
    return pd.DataFrame(
        {
            "leader_candidate_code": codes,
            "test_score_percent": test,
            "interview_score_percent": interview,
            "decision": decision,
            "decided_on": _as_dates(decided),
        }
    )


def _members(
    rng: np.random.Generator,
    year: np.ndarray,
    level: np.ndarray,
    role: np.ndarray,
    codes: np.ndarray,
) -> pd.DataFrame:
    """Each admitted candidate's cohort (a random group of their intake and level) and result."""
    n = len(codes)
    cohort = np.empty(n, dtype=object)
    for intake, levels in COHORTS.items():
        for name, count in levels.items():
            rows = np.flatnonzero((year == intake) & (level == name))
            group = rng.integers(1, count + 1, len(rows))
            cohort[rows] = [f"L{intake}-{_LEVEL_CODES[name]}-{k:02d}" for k in group.tolist()]
    withdrawn = (role == _NOT_RESERVED) & (rng.random(n) < 0.4)
    final = np.where(role <= _RESERVIST, _scores(rng, 70, 28, n), _scores(rng, 45, 24.5, n))
    return pd.DataFrame(
        {
            "leader_cohort_code": cohort,
            "leader_candidate_code": codes,
            "status": np.where(withdrawn, "withdrawn", "completed").astype(object),
            "final_score_percent": np.where(withdrawn, np.nan, final),
        }
    )


def _hired(teachers: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_datetime(teachers[column]).to_numpy().astype("datetime64[D]")


def _appointments_from_reserve(
    rng: np.random.Generator,
    teachers: pd.DataFrame,
    year: np.ndarray,
    role: np.ndarray,
    teacher: np.ndarray,
) -> np.ndarray:
    """Date each appointed reservist became head (NaT for the other candidates): uniform from
    two weeks after inclusion in the reserve to the snapshot, and not before the teacher was
    hired at the school."""
    first = _dates_of(year, "reserve") + np.timedelta64(14, "D")
    span = (_day(REFERENCE_DATE) - first).astype(np.int64)
    drawn = first + np.floor(rng.random(len(year)) * (span + 1)).astype("timedelta64[D]")
    hired = _hired(teachers, "hired_on")[teacher]
    drawn = np.where(~np.isnat(hired) & (hired > drawn), hired, drawn)
    return np.where(role == _APPOINTED, drawn, np.datetime64("NaT", "D"))


def _reserve(
    rng: np.random.Generator,
    teachers: pd.DataFrame,
    year: np.ndarray,
    role: np.ndarray,
    teacher: np.ndarray,
    codes: np.ndarray,
    appointed_on: np.ndarray,
) -> pd.DataFrame:
    """Reserve periods: ended by appointment, by withdrawal (4% of the others) or still open."""
    n = len(codes)
    included = _dates_of(year, "reserve")
    withdrawn = (role == _RESERVIST) & (rng.random(n) < _RESERVE_WITHDRAWAL)
    span = (_day(REFERENCE_DATE) - included).astype(np.int64)
    left = included + np.floor(rng.random(n) * (span + 1)).astype("timedelta64[D]")
    excluded = np.where(
        role == _APPOINTED, appointed_on, np.where(withdrawn, left, np.datetime64("NaT", "D"))
    )
    school = teachers["organization_code"].to_numpy()[teacher]
    reason = np.where(
        role == _APPOINTED,
        np.char.add("appointed head of ", school.astype(str)),
        np.where(withdrawn, "withdrew at own request", ""),
    ).astype(object)
    reason[reason == ""] = None
    return pd.DataFrame(
        {
            "leader_candidate_code": codes,
            "included_on": _as_dates(included),
            "excluded_on": _as_dates(excluded),
            "exclusion_reason": reason,
        }
    )


def _head_appointments(
    rng: np.random.Generator,
    teachers: pd.DataFrame,
    appointed_rows: np.ndarray,
    appointed_codes: np.ndarray,
    appointed_on: np.ndarray,
) -> pd.DataFrame:
    """One appointment per head and deputy head at their school.

    Reservists appointed head are dated by :func:`_appointments_from_reserve`; the others
    were appointed at a uniform date between their hiring at the school and the start of the
    2024/25 school year (or their hiring, if later), ending when they left.
    """
    leading = np.flatnonzero(teachers["position"].isin(["head", "deputy_head"]).to_numpy())
    hired = _hired(teachers, "hired_on")[leading]
    left = _hired(teachers, "left_on")[leading]
    experience = teachers["experience_years"].to_numpy(np.float64)[leading]
    year_start = _day(SCHOOL_YEAR_START)
    start = np.where(
        np.isnat(hired),
        year_start - np.floor(experience * 365 * rng.random(len(leading))).astype("timedelta64[D]"),
        hired,
    )
    span = np.maximum((year_start - start).astype(np.int64), 0)
    appointed = start + np.floor(rng.random(len(leading)) * span).astype("timedelta64[D]")
    candidate = np.full(len(leading), None, dtype=object)
    where = pd.Index(leading).get_indexer(appointed_rows)
    appointed[where] = appointed_on
    candidate[where] = appointed_codes
    appointed = np.where(~np.isnat(left) & (left < appointed), left, appointed)
    return pd.DataFrame(
        {
            "teacher_code": teachers["code"].to_numpy()[leading],
            "organization_code": teachers["organization_code"].to_numpy()[leading],
            "position": teachers["position"].to_numpy()[leading].astype(object),
            "appointed_on": _as_dates(appointed),
            "ended_on": _as_dates(left),
            "leader_candidate_code": candidate,
        }
    )
