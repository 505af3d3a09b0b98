"""Casework of a synthetic region: the workflows' histories behind the records it holds.

The demo's workflow pages need cases, and the cases must tell the same story as the records: an
attestation held in March has a closed case with the recorded decision, every child-rights
incident has a case in the state its status says, a commissioned school has a project case that
was commissioned on the recorded day, and so on. Each scenario below reads the region's tables
and plans, for each record, the steps that produced it (action, day, role, values); the plan is
cut at the reference date, and :func:`walk` takes the steps one after another through
:meth:`~sapa.workflows.Workflow.take`, so every state, deadline and derived value is the
engine's own and a step a workflow would refuse stops the generator. Effects are not run (the
records already exist): a case stores the values its steps produced plus those an effect would
have remembered (the category held at application, the incident record's number, the school of
a placement). Cases no record stands behind (applications still open, entries eliminated from a
contest, inspections not yet held) are drawn beside them, so every workflow has open, closed and
overdue cases.

Case numbers are ``<prefix>-<year>-<region digits><5-digit number>``, unique across the nation
because regions are built independently; a case whose workflow finds its record by the case's
number (a leadership application, a construction project, a parent's appeal) carries the
record's number instead. Usernames follow the roles: ``school-<school code>``,
``teacher-<teacher code>``, ``district-<district code>``, ``region-<region code>`` and
``ministry``, in lower case.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sapa.domain.access import Role
from sapa.errors import SapaError
from sapa.synth._frame import RegionFrame
from sapa.synth._targets import REFERENCE_DATE
from sapa.workflows import WORKFLOWS, Outcome, Workflow
from sapa.workflows._common import MRP_TENGE, years_after
from sapa.workflows._rules import add_working_days
from sapa.workflows.attestation import PASS_THRESHOLD
from sapa.workflows.contest import ADVANCE_SCORE, DISTRICT_QUOTA, MIN_EXPERIENCE_YEARS
from sapa.workflows.council_meeting import quorum
from sapa.workflows.parent_appeal import ANSWER_DAYS

__all__ = ["INSTRUCTIONS", "Instruction", "Move", "Story", "Walked", "add_casework", "walk"]

_CASE_COLUMNS = [
    "code",
    "workflow",
    "state",
    "title",
    "region_code",
    "organization_code",
    "teacher_code",
    "opened_on",
    "due_on",
    "closed_on",
    "data",
]
_EVENT_COLUMNS = [
    "workflow_case_code",
    "sequence",
    "at",
    "username",
    "role",
    "action",
    "from_state",
    "to_state",
    "changes",
    "note",
]


# ----------------------------------------------------------------------------- walking
@dataclass(frozen=True)
class Move:
    """One step of a case: the action, its day, the role taking it, the values given, and the
    values the step's effect would have remembered on the case."""

    action: str
    day: dt.date
    role: Role
    given: Mapping[str, Any] = field(default_factory=dict)
    remember: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    """The moves of one case, and its number when the workflow finds its record by it."""

    moves: list[Move]
    code: str | None = None


@dataclass(frozen=True)
class Walked:
    """A case after its moves: state, values, deadline, closing day and each step's outcome."""

    state: str
    values: dict[str, Any]
    due_on: dt.date | None
    closed_on: dt.date | None
    outcomes: list[Outcome]


def walk(workflow: Workflow, moves: Iterable[Move]) -> Walked:
    """Take ``moves`` in order through ``workflow`` from nothing, as the application would.

    Raises the engine's refusal (noting the move) if the workflow does not allow a move, and
    :class:`ValueError` if the moves are out of order or after the reference date.
    """
    state: str | None = None
    values: dict[str, Any] = {}
    due_on: dt.date | None = None
    closed_on: dt.date | None = None
    outcomes: list[Outcome] = []
    last = dt.date.min
    for move in moves:
        if not last <= move.day <= REFERENCE_DATE:
            raise ValueError(f"{workflow.name}.{move.action} on {move.day} is out of order")
        try:
            outcome = workflow.take(
                move.action,
                state=state,
                values=values,
                given=move.given,
                role=move.role,
                today=move.day,
                due_on=due_on,
                where=f"synthetic {workflow.name}.{move.action}",
            )
        except SapaError as exc:
            exc.add_note(f"synthetic {workflow.name} history: {move} after {values}")
            raise
        values = {**values, **outcome.changes, **move.remember}
        state, due_on, last = outcome.to_state, outcome.due_on, move.day
        closed_on = move.day if outcome.closed else None
        outcomes.append(outcome)
    if state is None:
        raise ValueError(f"a synthetic {workflow.name} case has no step")
    return Walked(state, values, due_on, closed_on, outcomes)


def _story(plan: Iterable[Move | None], code: str | None = None) -> Story:
    """The planned moves that happened by the reference date: the plan is cut at the first move
    still to come, or at ``None`` (a step never taken)."""
    happened = []
    for move in plan:
        if move is None or move.day > REFERENCE_DATE:
            break
        happened.append(move)
    return Story(happened, code)


# ----------------------------------------------------------------------------- assembling
@dataclass(frozen=True)
class _Places:
    """Where a region's people and schools are: each teacher's school, each school's district."""

    region: str
    school_of: Mapping[str, str]
    district_of: Mapping[str, str]

    @classmethod
    def of(cls, frame: RegionFrame) -> _Places:
        return cls(
            frame.code,
            dict(zip(frame.teachers["code"], frame.teachers["organization_code"], strict=True)),
            dict(zip(frame.schools["code"], frame.schools["district_code"], strict=True)),
        )

    def subject(self, workflow: Workflow, values: Mapping[str, Any]) -> tuple[str | None, ...]:
        """The case's school and teacher codes."""
        if workflow.subject == "teacher":
            teacher = str(values["teacher_code"])
            return self.school_of[teacher], teacher
        if workflow.subject == "organization":
            return str(values["organization_code"]), None
        return None, None

    def username(self, role: Role, school: str | None, teacher: str | None) -> str:
        """The account of ``role`` that acts on a case of ``school`` and ``teacher``."""
        unit = {
            Role.TEACHER: teacher,
            Role.SCHOOL: school,
            Role.DISTRICT: school and self.district_of[school],
            Role.REGION: self.region,
        }.get(role)
        return f"{role.value}-{unit.lower()}" if unit else role.value


def _json(values: Mapping[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def _times(rng: np.random.Generator, days: list[dt.date], cases: list[int]) -> list[dt.datetime]:
    """Office-hours timestamps for events on ``days``, strictly increasing within each case."""
    minutes = rng.integers(8 * 60 + 30, 18 * 60, len(days)).tolist()
    stamps = [
        dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=m)
        for day, m in zip(days, minutes, strict=True)
    ]
    for k in range(1, len(stamps)):
        if cases[k] == cases[k - 1] and stamps[k] <= stamps[k - 1]:
            stamps[k] = stamps[k - 1] + dt.timedelta(minutes=7)
    return stamps


def _tables(frame: RegionFrame, stories: list[tuple[Workflow, Story]]) -> dict[str, pd.DataFrame]:
    """Walk every story and lay the cases and events out as their files; cases without a
    record's number are numbered per workflow and year in the order they were opened."""
    places = _Places.of(frame)
    stories = sorted(stories, key=lambda story: (story[0].prefix, story[1].moves[0].day))
    counters: dict[tuple[str, int], int] = {}
    cases, events, days, owners = [], [], [], []
    for workflow, story in stories:
        walked = walk(workflow, story.moves)
        opened = story.moves[0].day
        code = story.code
        if code is None:
            key = (workflow.prefix, opened.year)
            counters[key] = counters.get(key, 0) + 1
            code = f"{workflow.prefix}-{opened.year}-{frame.digits}{counters[key]:05d}"
        school, teacher = places.subject(workflow, walked.values)
        cases.append(
            (
                code,
                workflow.name,
                walked.state,
                workflow.caption(walked.outcomes[0].changes)[:255],
                frame.code,
                school,
                teacher,
                opened,
                walked.due_on,
                walked.closed_on,
                _json(walked.values),
            )
        )
        for sequence, (move, outcome) in enumerate(
            zip(story.moves, walked.outcomes, strict=True), 1
        ):
            events.append(
                [
                    code,
                    sequence,
                    None,
                    places.username(move.role, school, teacher),
                    move.role.value,
                    outcome.action,
                    outcome.from_state,
                    outcome.to_state,
                    _json(outcome.changes),
                    None,
                ]
            )
            days.append(move.day)
            owners.append(len(cases))
    for event, stamp in zip(events, _times(frame.rng("casework.times"), days, owners), strict=True):
        event[2] = stamp
    return {
        "workflow_case": pd.DataFrame(cases, columns=_CASE_COLUMNS),
        "workflow_event": pd.DataFrame(events, columns=_EVENT_COLUMNS),
    }


# ----------------------------------------------------------------------------- helpers
def _rows(table: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """The table's rows as tuples of plain values, missing ones as ``None`` (the scenarios
    work on rows: most tables of a region are small, where pandas' overhead would dominate)."""
    lists = [
        [None if v is pd.NA or v != v else v for v in table[column].tolist()]  # NaN != NaN
        for column in columns
    ]
    return list(zip(*lists, strict=True))


def _spans(rng: np.random.Generator, n: int, *ranges: tuple[int, int]) -> list[list[dt.timedelta]]:
    """For each of ``n`` cases, one span of days drawn from each ``(low, high)`` range
    (inclusive): the gaps between a case's steps."""
    lows, highs = zip(*ranges, strict=True)
    days = rng.integers(lows, np.add(highs, 1), (n, len(ranges)))
    return [[dt.timedelta(days=d) for d in row] for row in days.tolist()]


def _move(action: str, day: dt.date, role: Role, **given: Any) -> Move:
    return Move(action, day, role, given)


def _roles(rng: np.random.Generator, shares: Mapping[Role, float], n: int) -> list[Role]:
    """``n`` roles drawn with the given shares (who opens a case: the teacher, the school…)."""
    roles = list(shares)
    return [roles[k] for k in rng.choice(len(roles), n, p=list(shares.values()))]


def _in_post(frame: RegionFrame, experience: int = 0, categories: Iterable[str] = ()) -> list[str]:
    """Codes of the teachers in post with at least ``experience`` years (and one of the
    ``categories``, if any are given)."""
    teachers = frame.teachers
    chosen = teachers["left_on"].isna().to_numpy() & (
        teachers["experience_years"].to_numpy() >= experience
    )
    if categories:
        chosen &= np.isin(teachers["category"].to_numpy(), list(categories))
    return teachers["code"].to_numpy()[chosen].tolist()


def _sample(rng: np.random.Generator, codes: list[str], n: int) -> list[str]:
    """Up to ``n`` distinct codes drawn from ``codes``."""
    return [codes[k] for k in rng.permutation(len(codes))[:n]]


def _choices(workflow: str, action: str, name: str) -> tuple[str, ...]:
    """The choices of a step's field."""
    return next(f.choices for f in WORKFLOWS[workflow].step(action).fields if f.name == name)


def _days_ago(days: int) -> dt.date:
    return REFERENCE_DATE - dt.timedelta(days=days)


# ----------------------------------------------------------------------------- attestation
_COMMISSION = {"pedagogue_researcher": Role.REGION, "pedagogue_master": Role.REGION}
"""Researcher and master categories are decided by the regional commission, the others by
the district's."""
_APPLICANTS = {Role.SCHOOL: 0.7, Role.TEACHER: 0.3}


def _attestation(frame: RegionFrame) -> list[Story]:
    """Attestations held in the 12 months before the reference date, closed with the recorded
    decision once the 30-day appeal window has passed (one in ten not yet closed), and open
    cases for those not yet held that fall due within six months (or fell due in the last
    three), or whose teacher sat the 2025 qualification test; longer-overdue attestations have
    no case: nobody applied."""
    rng = frame.rng("casework.attestation")
    tests = {
        teacher: (day, score)
        for teacher, day, score in _rows(
            frame.tables["qualification_test_result"], "teacher_code", "tested_on", "score_percent"
        )
    }
    rows = _rows(
        frame.tables["attestation"],
        "teacher_code",
        "target_category",
        "due_on",
        "held_on",
        "result",
    )
    soon = (_days_ago(90), REFERENCE_DATE + dt.timedelta(days=183))
    held = [row for row in rows if row[3] is not None and row[3] > _days_ago(365)]
    waiting = [
        row for row in rows if row[3] is None and (soon[0] <= row[2] <= soon[1] or row[0] in tests)
    ]
    return [
        *_held_attestations(frame, rng, held),
        *_open_attestations(frame, rng, waiting, tests),
    ]


def _category_on(frame: RegionFrame, teachers: list[str], days: list[dt.date]) -> list[str]:
    """Each teacher's category on the day: the latest assignment from before it (what the
    application's effect remembers)."""
    history: dict[str, list[tuple[dt.date, str]]] = {}
    for teacher, start, category in _rows(
        frame.tables["category_assignment"], "teacher_code", "valid_from", "category"
    ):
        history.setdefault(teacher, []).append((start, category))
    held = []
    for teacher, day in zip(teachers, days, strict=True):
        earlier = [entry for entry in history.get(teacher, ()) if entry[0] <= day]
        held.append(max(earlier)[1] if earlier else "pedagogue")
    return held


def _application(
    role: Role, day: dt.date, teacher: str, target: str, due: dt.date, current: str
) -> Move:
    """The application, remembering the category held (as the opening step's effect does)."""
    given = {"teacher_code": teacher, "target_category": target, "due_on": due}
    return Move("apply", day, role, given, {"current_category": current})


def _held_attestations(
    frame: RegionFrame, rng: np.random.Generator, held: list[tuple[Any, ...]]
) -> list[Story]:
    """Applied, tested (a pass: the category was decided), portfolio scored, decided on the
    recorded day with the order that assigned the category, closed after the appeal window."""
    n = len(held)
    spans = _spans(rng, n, (5, 20), (5, 30), (1, 5), (20, 60), (31, 45))
    open_still = (rng.random(n) < 0.1).tolist()
    above = rng.random(n).tolist()
    portfolio = rng.integers(60, 96, n).astype(float).tolist()
    roles = _roles(rng, _APPLICANTS, n)
    orders = {
        (teacher, category): order
        for teacher, category, basis, order in _rows(
            frame.tables["category_assignment"],
            "teacher_code",
            "category",
            "basis",
            "order_reference",
        )
        if basis == "attestation"
    }
    reviewed = [row[3] - span[0] for row, span in zip(held, spans, strict=True)]
    recorded = [day - span[1] for day, span in zip(reviewed, spans, strict=True)]
    tested = [day - span[2] for day, span in zip(recorded, spans, strict=True)]
    applied = [day - span[3] for day, span in zip(tested, spans, strict=True)]
    current = _category_on(frame, [row[0] for row in held], applied)
    stories = []
    for k, (teacher, target, due, decided, result) in enumerate(held):
        commission = _COMMISSION.get(target, Role.DISTRICT)
        threshold = PASS_THRESHOLD[target]
        decision = {"result": result}
        if result == "assigned":
            decision["order_reference"] = orders[(teacher, target)]
        score = float(round(threshold + above[k] * (100 - threshold)))
        plan = [
            _application(roles[k], applied[k], teacher, target, due, current[k]),
            _move("record_test", recorded[k], commission, score_percent=score, tested_on=tested[k]),
            _move("review_portfolio", reviewed[k], commission, portfolio_score=portfolio[k]),
            _move("decide", decided, commission, **decision),
            None if open_still[k] else _move("close", decided + spans[k][4], Role.SCHOOL),
        ]
        stories.append(_story(plan))
    return stories


def _open_attestations(
    frame: RegionFrame,
    rng: np.random.Generator,
    waiting: list[tuple[Any, ...]],
    tests: Mapping[str, tuple[dt.date, float]],
) -> list[Story]:
    """Applied; tested (the recorded result) and failed, perhaps to sit again; passed, perhaps
    with the portfolio scored and the commission still to meet."""
    n = len(waiting)
    spans = _spans(rng, n, (1, 150), (30, 90), (20, 60), (1, 6), (10, 45))
    going_on = rng.random(n).tolist()
    portfolio = rng.integers(55, 96, n).astype(float).tolist()
    roles = _roles(rng, _APPLICANTS, n)
    results = [tests.get(row[0]) for row in waiting]
    applied = [
        result[0] - span[2] if result else min(REFERENCE_DATE - span[0], row[2] - span[1])
        for row, result, span in zip(waiting, results, spans, strict=True)
    ]
    current = _category_on(frame, [row[0] for row in waiting], applied)
    stories = []
    for k, (teacher, target, due, _, _) in enumerate(waiting):
        commission = _COMMISSION.get(target, Role.DISTRICT)
        plan: list[Move | None] = [
            _application(roles[k], applied[k], teacher, target, due, current[k])
        ]
        result = results[k]
        if result is not None:
            tested_on, score = result
            passed = score >= PASS_THRESHOLD[target]
            recorded = min(tested_on + spans[k][3], REFERENCE_DATE)
            later = recorded + spans[k][4]
            follow_up = (
                _move("review_portfolio", later, commission, portfolio_score=portfolio[k])
                if passed
                else _move("retake", later, Role.TEACHER)
            )
            plan += [
                _move(
                    "record_test", recorded, commission, score_percent=score, tested_on=tested_on
                ),
                follow_up if going_on[k] < (0.7 if passed else 0.35) else None,
            ]
        stories.append(_story(plan))
    return stories


# ----------------------------------------------------------------------------- development
_DEVELOPMENT_DAYS = 60
"""Completions of the last two months have their enrolment cases."""


def _development(frame: RegionFrame) -> list[Story]:
    """A completed case for each course completed in the last two months (enrolled before the
    course, a course day for every four academic hours, the certificate recorded within a
    week), and a third as many enrolments still running, one in seven withdrawn."""
    rng = frame.rng("casework.development")
    rows = _rows(
        frame.tables["course_completion"],
        "teacher_code",
        "course_code",
        "completed_on",
        "hours_credited",
        "certificate_number",
    )
    recent = [row for row in rows if row[2] > _days_ago(_DEVELOPMENT_DAYS)]
    n = len(recent)
    spans = _spans(rng, n, (5, 30), (0, 7))
    roles = _roles(rng, {Role.SCHOOL: 0.6, Role.TEACHER: 0.4}, n)
    stories = []
    for k, (teacher, course, completed, hours, certificate) in enumerate(recent):
        starts = completed - dt.timedelta(days=hours // 4)
        plan = [
            _move(
                "enrol",
                starts - spans[k][0],
                roles[k],
                teacher_code=teacher,
                course_code=course,
                starts_on=starts,
            ),
            _move(
                "complete",
                min(completed + spans[k][1], REFERENCE_DATE),
                Role.SCHOOL,
                hours_credited=hours,
                completed_on=completed,
                certificate_number=certificate,
            ),
        ]
        stories.append(_story(plan))
    courses = sorted({row[1] for row in rows})
    return stories + _enrolments(rng, _in_post(frame), courses, n // 3)


def _enrolments(
    rng: np.random.Generator, teachers: list[str], courses: list[str], n: int
) -> list[Story]:
    """Enrolments of the last weeks on courses starting soon; one in seven withdrawn."""
    enrolled = _sample(rng, teachers, n if courses else 0)
    n = len(enrolled)
    spans = _spans(rng, n, (1, 40), (5, 45), (2, 20))
    leaves = (rng.random(n) < 1 / 7).tolist()
    chosen = [courses[k] for k in rng.integers(0, max(len(courses), 1), n)]
    stories = []
    for k, teacher in enumerate(enrolled):
        day = REFERENCE_DATE - spans[k][0]
        plan = [
            _move(
                "enrol",
                day,
                Role.TEACHER,
                teacher_code=teacher,
                course_code=chosen[k],
                starts_on=day + spans[k][1],
            ),
            _move("withdraw", day + spans[k][2], Role.TEACHER, reason="Workload at school.")
            if leaves[k]
            else None,
        ]
        stories.append(_story(plan))
    return stories


# ----------------------------------------------------------------------------- contest
_SENIOR = ("pedagogue_expert", "pedagogue_researcher", "pedagogue_master")
_CONTEST_YEARS = (2024, 2025)
_CONTEST_CALENDAR = (
    ((1, 15), 40),
    ((3, 10), 20),
    ((4, 1), 9),
    ((5, 12), 18),
    ((6, 2), 8),
    ((9, 15), 10),
    ((10, 4), 0),
)
"""The stages of a year's contest (nomination, district scoring, sending on, regional scoring,
sending on, republican scoring, award): first day (month, day) and days it may run on."""


def _contest(frame: RegionFrame) -> list[Story]:
    """Best Teacher entries of 2024 and 2025 (about one per 100 eligible teachers a year, plus
    the recorded winners): scored and ranked in the district, the top entries scoring 80 or more
    sent to the region, the region's best and the winners to the republic, where the recorded
    winners win and the others are laureates; the 2025 contest is cut at the reference date."""
    rng = frame.rng("casework.contest")
    pool = _in_post(frame, MIN_EXPERIENCE_YEARS, _SENIOR)
    won_on = {
        teacher: day
        for teacher, kind, day in _rows(frame.tables["award"], "teacher_code", "kind", "awarded_on")
        if kind == "best_pedagogue"
    }
    places = _Places.of(frame)
    stories = []
    others = [teacher for teacher in pool if teacher not in won_on]
    for year in _CONTEST_YEARS:
        won = {teacher: day for teacher, day in won_on.items() if day.year == year}
        teachers = [*won, *_sample(rng, others, int(rng.poisson(1 + len(pool) / 100)))]
        districts = [places.district_of[places.school_of[teacher]] for teacher in teachers]
        stories += _entries(rng, year, teachers, districts, won)
    return stories


def _entries(
    rng: np.random.Generator,
    year: int,
    teachers: list[str],
    districts: list[str],
    won_on: Mapping[str, dt.date],
) -> list[Story]:
    """One year's entries of a region through the contest's stages; ``won_on`` holds the year's
    recorded winners and the day they won."""
    n = len(teachers)
    winner = [teacher in won_on for teacher in teachers]
    district, region, republic = (_contest_scores(rng, winner) for _ in range(3))
    rank = [0] * n
    placed: dict[str, int] = {}
    for k in sorted(range(n), key=lambda k: (not winner[k], -district[k])):
        placed[districts[k]] = rank[k] = placed.get(districts[k], 0) + 1
    to_region = [
        d >= ADVANCE_SCORE and r <= DISTRICT_QUOTA for d, r in zip(district, rank, strict=True)
    ]
    best = max((score for score, sent in zip(region, to_region, strict=True) if sent), default=None)
    spans = _spans(rng, n, *((0, spread) for _, spread in _CONTEST_CALENDAR))
    roles = _roles(rng, {Role.SCHOOL: 0.6, Role.TEACHER: 0.2, Role.DISTRICT: 0.2}, n)
    stories = []
    for k, teacher in enumerate(teachers):
        days = [
            dt.date(year, *start) + span
            for (start, _), span in zip(_CONTEST_CALENDAR, spans[k], strict=True)
        ]
        plan = [
            _move("nominate", days[0], roles[k], teacher_code=teacher, year=year),
            _move(
                "score_district",
                days[1],
                Role.DISTRICT,
                district_score=district[k],
                district_rank=rank[k],
            ),
        ]
        if not to_region[k]:
            plan.append(_eliminated(days[2], Role.DISTRICT))
        else:
            plan += [
                _move("advance_to_region", days[2], Role.DISTRICT),
                _move("score_region", days[3], Role.REGION, region_score=region[k]),
            ]
            if winner[k] or region[k] == best:
                place = "winner" if winner[k] else "laureate"
                plan += [
                    _move("advance_to_republic", days[4], Role.REGION),
                    _move("score_republic", days[5], Role.MINISTRY, republic_score=republic[k]),
                    _move("award", won_on.get(teacher, days[6]), Role.MINISTRY, place=place),
                ]
            else:
                plan.append(_eliminated(days[4], Role.REGION))
        stories.append(_story(plan))
    return stories


def _contest_scores(rng: np.random.Generator, winner: list[bool]) -> list[float]:
    """Scores out of 100 to the half point; the winners' 92 or more."""
    score = np.clip(rng.normal(82, 8, len(winner)), 40, 100)
    return (np.round(np.where(winner, np.maximum(score, 92), score) * 2) / 2).tolist()


def _eliminated(day: dt.date, role: Role) -> Move:
    return _move("eliminate", day, role, reason="Not among the stage's best entries.")


# ----------------------------------------------------------------------------- honour
_NOMINATORS = {Role.SCHOOL: 0.6, Role.DISTRICT: 0.4}


def _honour(frame: RegionFrame) -> list[Story]:
    """A conferred case for each award of the last 12 months (other than the contest's prize):
    nominated five to seven months before, endorsed by the region, conferred by the ministry
    from the decree with the recorded date, body and payment; and as many of this year's
    nominations, half endorsed, one in ten declined."""
    rng = frame.rng("casework.honour")
    kinds = _choices("honour", "nominate", "kind")
    awards = [
        row
        for row in _rows(
            frame.tables["award"],
            "teacher_code",
            "kind",
            "title",
            "awarded_on",
            "conferred_by",
            "payment_tenge",
        )
        if row[1] in kinds
    ]
    recent = [row for row in awards if row[3] > _days_ago(365)]
    n = len(recent)
    spans = _spans(rng, n, (150, 200), (20, 50), (0, 10))
    roles = _roles(rng, _NOMINATORS, n)
    stories = []
    for k, (teacher, kind, title, awarded, body, payment) in enumerate(recent):
        paid = {} if payment is None else {"payment_tenge": int(payment)}
        nominated = awarded - spans[k][0]
        plan = [
            _move("nominate", nominated, roles[k], teacher_code=teacher, kind=kind, title=title),
            _move("endorse", nominated + spans[k][1], Role.REGION),
            _move(
                "confer",
                min(awarded + spans[k][2], REFERENCE_DATE),
                Role.MINISTRY,
                awarded_on=awarded,
                conferred_by=body,
                **paid,
            ),
        ]
        stories.append(_story(plan))
    titles = sorted({(row[1], row[2]) for row in awards})
    return stories + _nominations(rng, _in_post(frame, 5), titles, n)


def _nominations(
    rng: np.random.Generator, teachers: list[str], titles: list[tuple[str, str]], n: int
) -> list[Story]:
    """This year's nominations for the awards the region's teachers receive."""
    nominees = _sample(rng, teachers, n if titles else 0)
    n = len(nominees)
    spans = _spans(rng, n, (10, 150), (20, 50))
    outcome = rng.random(n).tolist()
    chosen = rng.integers(0, max(len(titles), 1), n).tolist()
    roles = _roles(rng, _NOMINATORS, n)
    stories = []
    for k, teacher in enumerate(nominees):
        kind, title = titles[chosen[k]]
        nominated = REFERENCE_DATE - spans[k][0]
        decided = nominated + spans[k][1]
        reason = "The nomination lacks the district's recommendation."
        decision = (
            _move("decline", decided, Role.REGION, reason=reason)
            if outcome[k] < 0.1
            else _move("endorse", decided, Role.REGION)
            if outcome[k] < 0.6
            else None
        )
        plan = [
            _move("nominate", nominated, roles[k], teacher_code=teacher, kind=kind, title=title),
            decision,
        ]
        stories.append(_story(plan))
    return stories


# ----------------------------------------------------------------------------- young specialists
_VILLAGE = "diploma_to_village"


def _young_specialist(frame: RegionFrame) -> list[Story]:
    """A case for each young specialist's support with a mentor: registered (with the vacancy
    the graduate filled, when one is recorded), placed on the day it was filled, the mentor
    assigned and the support granted on the recorded start, then a follow-up a year for as long
    as the specialist stays (one in ten missed from the second year: overdue), or the leaving
    recorded. Support without a mentor, or village support granted in a year whose calculation
    index the workflows do not know, cannot be walked and has no case."""
    rng = frame.rng("casework.young_specialist")
    support = [
        row
        for row in _rows(
            frame.tables["young_specialist_support"],
            "teacher_code",
            "mentor_code",
            "programme",
            "starts_on",
            "lifting_allowance_tenge",
            "housing_loan_tenge",
        )
        if row[1] is not None and (row[2] != _VILLAGE or row[3].year in MRP_TENGE)
    ]
    filled = {
        teacher: (code, day, school)
        for code, school, day, teacher in _rows(
            frame.tables["vacancy"], "code", "organization_code", "filled_on", "teacher_code"
        )
        if teacher is not None
    }
    left = dict(_rows(frame.teachers, "code", "left_on"))
    n = len(support)
    spans = _spans(rng, n, (5, 25), (0, 20), (0, 20), (0, 20))
    missed = (rng.random(n) < 0.1).tolist()
    stories = []
    for k, (teacher, mentor, programme, start, allowance, loan) in enumerate(support):
        vacancy = filled.get(teacher)
        if vacancy is not None and vacancy[1] > start:
            vacancy = None
        named = {} if vacancy is None else {"vacancy_code": vacancy[0]}
        amounts = {
            name: int(value)
            for name, value in (
                ("lifting_allowance_tenge", allowance),
                ("housing_loan_tenge", loan),
            )
            if value is not None
        }
        registered = (start if vacancy is None else vacancy[1]) - spans[k][0]
        plan: list[Move | None] = [
            _move(
                "register",
                registered,
                Role.SCHOOL,
                teacher_code=teacher,
                programme=programme,
                **named,
            )
        ]
        if vacancy is not None:
            plan.append(Move("place", vacancy[1], Role.DISTRICT, {}, {"school_code": vacancy[2]}))
        plan += [
            _move("assign_mentor", start, Role.SCHOOL, mentor_code=mentor),
            _move("grant_support", start, Role.DISTRICT, **amounts),
            *_follow_ups(start, left[teacher], spans[k][1:], missed[k]),
        ]
        stories.append(_story(plan))
    return stories


def _follow_ups(
    start: dt.date, left: dt.date | None, late: list[dt.timedelta], missed: bool
) -> list[Move | None]:
    """The yearly follow-ups while the specialist stays, then the leaving if they left."""
    moves: list[Move | None] = []
    for year, lag in enumerate(late, start=1):
        day = years_after(start, year) + lag
        if left is not None and left <= day:
            reason = "Moved to another school."
            return [*moves, _move("leave", max(left, start), Role.SCHOOL, reason=reason)]
        if missed and year > 1:
            return [*moves, None]
        moves.append(_move("follow_up", day, Role.SCHOOL, year=year, still_employed=True))
    return moves


# ----------------------------------------------------------------------------- leadership
def _leadership(frame: RegionFrame) -> list[Story]:
    """A case for every application to the leadership programme, numbered as the application:
    the test and (for those who passed) the interview before the recorded decision; the
    admitted enrolled in their cohort, assessed, included in the reserve and appointed heads or
    withdrawn as recorded; applicants absent from the test withdraw."""
    rng = frame.rng("casework.leadership")
    tables = frame.tables
    selection = _by_candidate(
        tables["leader_selection"],
        "test_score_percent",
        "interview_score_percent",
        "decision",
        "decided_on",
    )
    members = _by_candidate(
        tables["leader_cohort_member"], "leader_cohort_code", "status", "final_score_percent"
    )
    reserve = _by_candidate(tables["leader_reserve"], "included_on", "excluded_on")
    heads = _by_candidate(tables["head_appointment"], "organization_code", "appointed_on")
    candidates = _rows(
        tables["leader_candidate"], "code", "teacher_code", "intake_year", "applied_on"
    )
    n = len(candidates)
    roles = _roles(rng, {Role.TEACHER: 0.6, Role.SCHOOL: 0.4}, n)
    gaps = rng.integers(1, 40, (n, 4)).tolist()
    stories = []
    for k, (code, teacher, intake, applied) in enumerate(candidates):
        test, interview, decision, decided = selection[code]
        plan = [_move("apply", applied, roles[k], teacher_code=teacher, intake_year=intake)]
        if test is None:
            reason = "Absent from the selection test."
            plan.append(_move("withdraw", decided, roles[k], reason=reason))
        else:
            plan += _selection(applied, decided, test, interview, decision, gaps[k])
            plan += _training(
                decided, members.get(code), reserve.get(code), heads.get(code), gaps[k]
            )
        stories.append(_story(plan, code))
    return stories


def _by_candidate(table: pd.DataFrame, *columns: str) -> dict[str, tuple[Any, ...]]:
    """The table's rows by the leadership candidate they belong to (rows of none left out)."""
    return {row[0]: row[1:] for row in _rows(table, "leader_candidate_code", *columns) if row[0]}


def _selection(
    applied: dt.date,
    decided: dt.date,
    test: float,
    interview: float | None,
    decision: str,
    gaps: list[int],
) -> list[Move]:
    """The test, the interview if there was one, and the decision, in order before it."""
    before = 10 + gaps[0] if interview is None else 25 + gaps[0] // 4
    tested = max(applied, decided - dt.timedelta(days=before))
    moves = [_move("score_test", tested, Role.MINISTRY, test_score_percent=test)]
    if interview is not None:
        interviewed = min(decided, tested + dt.timedelta(days=3 + gaps[1] // 4))
        moves.append(
            _move("interview", interviewed, Role.REGION, interview_score_percent=interview)
        )
    return [*moves, _move("select", decided, Role.MINISTRY, decision=decision)]


def _training(
    decided: dt.date,
    member: tuple[Any, ...] | None,
    reserve: tuple[Any, ...] | None,
    head: tuple[Any, ...] | None,
    gaps: list[int],
) -> list[Move]:
    """Training, the final assessment, the reserve and the appointment, as recorded."""
    if member is None:
        return []
    cohort, status, final = member
    enrolled = decided + dt.timedelta(days=20 + gaps[2])
    moves = [_move("enrol", enrolled, Role.MINISTRY, cohort_code=cohort)]
    if status == "withdrawn":
        left = enrolled + dt.timedelta(days=30 + 3 * gaps[3])
        return [*moves, _move("withdraw", left, Role.TEACHER, reason="Family circumstances.")]
    assessed = decided + dt.timedelta(days=200 + gaps[3] // 4)
    if reserve is not None:
        assessed = min(assessed, reserve[0])
    moves.append(_move("complete_training", assessed, Role.MINISTRY, final_score_percent=final))
    if reserve is None:
        return moves
    included, excluded = reserve
    moves.append(_move("include_in_reserve", included, Role.MINISTRY))
    if head is not None:
        school, appointed = head
        moves.append(
            _move(
                "appoint", appointed, Role.REGION, organization_code=school, appointed_on=appointed
            )
        )
    elif excluded is not None:
        moves.append(_move("withdraw", excluded, Role.TEACHER, reason="Left the reserve."))
    return moves


# ----------------------------------------------------------------------------- construction
_SPENDING_DAYS = 90
"""Spending is reported every three months of works."""


def _construction(frame: RegionFrame) -> list[Story]:
    """A case for every construction project, numbered as the project: planned a few months
    before the works (a design stage first, except for the standard designs of «Комфортная
    школа»), the works started on the recorded day, spending reported every three months in
    proportion to the works done, and the school commissioned on the recorded day at its cost;
    projects in design, planned or cancelled stop there."""
    rng = frame.rng("casework.construction")
    projects = _rows(
        frame.tables["construction_project"],
        "code",
        "settlement_code",
        "organization_code",
        "kind",
        "programme",
        "status",
        "places",
        "cost_tenge",
        "planned_end_on",
        "actual_start_on",
        "actual_end_on",
    )
    spans = _spans(rng, len(projects), (5, 90), (30, 120), (20, 90))
    stories = []
    for k, row in enumerate(projects):
        code, settlement, school, kind, programme, status, places, cost, end, start, finish = row
        designed = REFERENCE_DATE - spans[k][0] if start is None else start - spans[k][1]
        site = {} if school is None else {"organization_code": school}
        plan = [
            _move(
                "plan",
                designed - spans[k][2],
                Role.REGION,
                region_code=frame.code,
                settlement_code=settlement,
                kind=kind,
                programme=programme,
                places=int(places),
                cost_tenge=int(cost),
                planned_end_on=end,
                **site,
            )
        ]
        if programme != "comfortable_school" and status != "planned":
            plan.append(_move("start_design", designed, Role.REGION))
        if status == "cancelled":
            plan.append(_move("cancel", designed, Role.REGION, reason="Site not allotted."))
        elif start is not None:
            plan += _works(start, finish, end, int(cost))
            if finish is not None:
                plan.append(_move("commission", finish, Role.REGION, actual_places=int(places)))
        stories.append(_story(plan, code))
    return stories


def _works(start: dt.date, finish: dt.date | None, end: dt.date, cost: int) -> list[Move]:
    """The works' start and the spending reported every three months until they finish (or
    until the reference date), in proportion to the planned duration; a finished project
    reports its whole cost."""
    moves = [_move("start_works", start, Role.REGION)]
    span = max((end - start).days, 1)
    for days in range(_SPENDING_DAYS, ((finish or REFERENCE_DATE) - start).days, _SPENDING_DAYS):
        spent = int(round(cost * min(days / span, 1.0) * 0.95, -6))
        day = start + dt.timedelta(days=days)
        moves.append(_move("report_spending", day, Role.REGION, spent_tenge=spent))
    if finish is not None:
        moves.append(_move("report_spending", finish, Role.REGION, spent_tenge=cost))
    return moves


# ----------------------------------------------------------------------------- equipment
_SUPPLIERS = ("ТОО «Учебная техника»", "ТОО «EduLab Kazakhstan»", "ТОО «Bilim Systems»")
_TENGE_PER_SEAT = (250_000, 450_000)


def _equipment(frame: RegionFrame) -> list[Story]:
    """A delivered case for every subject classroom equipped in 2024 or 2025, and requests to
    re-equip a third of the rooms equipped before 2017."""
    rng = frame.rng("casework.equipment")
    school_of = dict(_rows(frame.tables["building"], "code", "organization_code"))
    rooms = [
        (school_of[building], building, kind, room, seats, year)
        for building, kind, room, seats, year in _rows(
            frame.tables["subject_classroom"],
            "building_code",
            "kind",
            "room",
            "seats",
            "equipped_year",
        )
    ]
    old = [room for room in rooms if room[5] < 2017]
    chosen = rng.random(len(old)) < 1 / 3
    return [
        *_equipped(rng, [room for room in rooms if room[5] >= 2024]),
        *_requests(rng, [room for room, taken in zip(old, chosen, strict=True) if taken]),
    ]


def _equipped(rng: np.random.Generator, rooms: list[tuple[Any, ...]]) -> list[Story]:
    """Requested, approved, ordered with a delivery date and delivered on a day of the year the
    room was equipped in."""
    n = len(rooms)
    spans = _spans(rng, n, (30, 100), (40, 90), (10, 30), (15, 40))
    share = rng.random(n).tolist()
    stories = []
    for k, room in enumerate(rooms):
        year = room[5]
        first, last = dt.date(year, 1, 10), min(dt.date(year, 12, 20), _days_ago(3))
        delivered = first + dt.timedelta(days=int(share[k] * (last - first).days))
        ordered = delivered - spans[k][0]
        approved = ordered - spans[k][2]
        plan = [
            *_request(rng, room, approved - spans[k][3], approved),
            _order(k, ordered, ordered + spans[k][1]),
            _move("deliver", delivered, Role.SCHOOL, delivered_on=delivered),
        ]
        stories.append(_story(plan))
    return stories


def _requests(rng: np.random.Generator, rooms: list[tuple[Any, ...]]) -> list[Story]:
    """Requests of the last months: waiting, approved, ordered (overdue when the delivery date
    has passed), or, one in seven, rejected."""
    n = len(rooms)
    spans = _spans(rng, n, (10, 200), (15, 40), (10, 30), (40, 90))
    fate = rng.random(n).tolist()
    stories = []
    for k, room in enumerate(rooms):
        requested = REFERENCE_DATE - spans[k][0]
        decided = requested + spans[k][1]
        ordered = decided + spans[k][2]
        reason = "The programme's funds for the year are allocated."
        plan = (
            [*_request(rng, room, requested), _move("reject", decided, Role.REGION, reason=reason)]
            if fate[k] < 1 / 7
            else [
                *_request(rng, room, requested, decided),
                _order(k, ordered, ordered + spans[k][3]) if fate[k] < 0.6 else None,
            ]
        )
        stories.append(_story(plan))
    return stories


def _request(
    rng: np.random.Generator,
    room: tuple[Any, ...],
    requested: dt.date,
    approved: dt.date | None = None,
) -> list[Move]:
    """The school's request for a room and, if given a day, the region's approval of it."""
    school, building, kind, number, seats, _ = room
    moves = [
        _move(
            "request",
            requested,
            Role.SCHOOL,
            organization_code=school,
            building_code=building,
            kind=kind,
            room=number,
            seats=int(seats),
        )
    ]
    if approved is not None:
        amount = int(round(seats * rng.uniform(*_TENGE_PER_SEAT), -3))
        moves.append(_move("approve", approved, Role.REGION, amount_tenge=amount))
    return moves


def _order(k: int, day: dt.date, due: dt.date) -> Move:
    """The order from one of the suppliers, to be delivered by ``due``."""
    return _move("order", day, Role.DISTRICT, supplier=_SUPPLIERS[k % 3], due_on=due)


# ----------------------------------------------------------------------------- incidents
_REFERRALS = {
    "violence": "police",
    "sexual_violence": "police",
    "neglect": "guardianship",
    "self_harm": "health_care",
}
"""Where a founded case is referred, by kind (the juvenile commission otherwise)."""
_MEASURES = {
    "bullying": "Class hours with the psychologist; the parents of both sides met the head.",
    "cyberbullying": "Posts removed with the platform; digital-safety lesson for the class.",
    "violence": "Individual support plan with the psychologist; duty teachers at breaks.",
    "sexual_violence": "Support of the psychologist and the social pedagogue; family informed.",
    "neglect": "Home visit by the social pedagogue; free meals and clothing arranged.",
    "self_harm": "Referral to the child psychiatrist; weekly meetings with the psychologist.",
    "discrimination": "Talk with the class and the parents; inclusion training for the staff.",
}
_OTHER_MEASURES = "Conversation with the pupil and the parents; follow-up by the class teacher."
_RESOLVED = "Measures completed; the situation is monitored by the school."
_ONE_DAY = dt.timedelta(days=1)


def _incident(frame: RegionFrame) -> list[Story]:
    """A case for every child-rights incident, in the state its status says: reported; under
    review (assessed as founded, half with measures); referred (half with measures); resolved
    (measures, then closed on the closing day); unfounded (assessed so on the closing day)."""
    rng = frame.rng("casework.incident")
    incidents = _rows(
        frame.tables["child_rights_incident"],
        "code",
        "organization_code",
        "kind",
        "severity",
        "status",
        "reported_on",
        "closed_on",
    )
    spans = _spans(rng, len(incidents), (1, 3), (0, 3), (5, 40))
    with_measures = (rng.random(len(incidents)) < 0.5).tolist()
    stories = []
    for k, (code, school, kind, severity, status, reported, closed) in enumerate(incidents):
        given = {"organization_code": school, "kind": kind, "severity": severity}
        plan = [Move("report", reported, Role.SCHOOL, given, {"incident_code": code})]
        measures = _MEASURES.get(kind, _OTHER_MEASURES)
        if status == "unfounded":
            plan.append(_move("assess", closed, Role.DISTRICT, finding="unfounded"))
        elif status == "resolved":
            took = (closed - reported) // 10, (closed - reported) // 2
            plan += [
                _move(
                    "assess", reported + max(took[0], _ONE_DAY), Role.DISTRICT, finding="founded"
                ),
                _move("take_measures", reported + took[1], Role.SCHOOL, measures=measures),
                _move("close", closed, Role.DISTRICT, outcome=_RESOLVED),
            ]
        elif status != "reported":  # under review or referred: founded, still open
            assessed = min(reported + spans[k][0], REFERENCE_DATE)
            plan.append(_move("assess", assessed, Role.DISTRICT, finding="founded"))
            if status == "referred":
                referral = _REFERRALS.get(kind, "juvenile_commission")
                referred = min(assessed + spans[k][1], REFERENCE_DATE)
                plan.append(_move("refer", referred, Role.DISTRICT, referred_to=referral))
            if with_measures[k]:
                measured = assessed + spans[k][2]
                plan.append(_move("take_measures", measured, Role.SCHOOL, measures=measures))
        stories.append(_story(plan))
    return stories


# ----------------------------------------------------------------------------- catering
_FOLLOW_UP = dt.timedelta(days=90)
"""A clean inspection by the same body within three months confirms a remedy."""


def _meals_inspection(frame: RegionFrame) -> list[Story]:
    """A case for every catering inspection: scheduled one to four weeks before, the findings
    recorded on the day; violations get 30 days to be remedied, confirmed by the next clean
    inspection of the school by the same body within three months (which is that case's
    follow-up, not a case of its own), else escalated after the deadline (half of them) or left
    overdue. Inspections planned for the coming weeks, and a few past their date, are
    scheduled."""
    rng = frame.rng("casework.meals_inspection")
    inspections = sorted(
        _rows(
            frame.tables["catering_inspection"],
            "organization_code",
            "inspector",
            "inspected_on",
            "violations_count",
            "findings",
        ),
        key=lambda row: row[:3],
    )
    confirmed_by = {}
    for row, after in zip(inspections, inspections[1:], strict=False):
        if row[3] and row[:2] == after[:2] and not after[3] and after[2] - row[2] <= _FOLLOW_UP:
            confirmed_by[row] = after
    follow_ups = set(confirmed_by.values())
    n = len(inspections)
    spans = _spans(rng, n, (7, 30), (0, 3), (31, 45))
    escalates = (rng.random(n) < 0.5).tolist()
    bodies = _choices("meals_inspection", "escalate", "escalated_to")
    stories = []
    for k, row in enumerate(inspections):
        school, inspector, day, violations, findings = row
        if row in follow_ups:
            continue
        scheduled = day - spans[k][0]
        planned = max(day - spans[k][1], scheduled)
        plan = [
            _move(
                "schedule",
                scheduled,
                Role.DISTRICT,
                organization_code=school,
                inspector=inspector,
                due_on=planned,
            ),
            _move(
                "record_findings",
                day,
                Role.DISTRICT,
                violations_count=int(violations),
                findings=findings,
            ),
        ]
        if row in confirmed_by:
            after = confirmed_by[row]
            plan.append(_move("confirm_remedied", after[2], Role.DISTRICT, follow_up=after[4]))
        elif violations and escalates[k]:
            body = bodies[k % len(bodies)]
            plan.append(_move("escalate", day + spans[k][2], Role.DISTRICT, escalated_to=body))
        stories.append(_story(plan))
    inspectors = _choices("meals_inspection", "schedule", "inspector")
    return stories + _planned_inspections(rng, frame.schools["code"].tolist(), inspectors)


def _planned_inspections(
    rng: np.random.Generator, schools: list[str], inspectors: tuple[str, ...]
) -> list[Story]:
    """Inspections of one school in ten planned for the next month, one in five of them past
    their date and not yet held."""
    chosen = _sample(rng, schools, max(1, len(schools) // 10))
    n = len(chosen)
    spans = _spans(rng, n, (5, 40), (1, 4), (1, 30))
    overdue = (rng.random(n) < 0.2).tolist()
    bodies = [inspectors[k] for k in rng.integers(0, len(inspectors), n)]
    stories = []
    for k, school in enumerate(chosen):
        scheduled = REFERENCE_DATE - spans[k][0]
        planned = scheduled + spans[k][1] if overdue[k] else REFERENCE_DATE + spans[k][2]
        plan = [
            _move(
                "schedule",
                scheduled,
                Role.DISTRICT,
                organization_code=school,
                inspector=bodies[k],
                due_on=planned,
            )
        ]
        stories.append(_story(plan))
    return stories


# ----------------------------------------------------------------------------- appeals
_HANDLERS = ("Deputy head for educational work", "School head", "Social pedagogue")
_ANSWER = "Answered in writing; the measures taken were explained to the parent."


def _parent_appeal(frame: RegionFrame) -> list[Story]:
    """A case for every appeal about a school, numbered as the appeal: registered on the day it
    was received, assigned a handler, answered on the recorded day — the deadline extended
    first when the answer came after it — or, one time in ten when the school had an earlier
    appeal on the same topic, closed as a repeat of it; unanswered appeals are still in work."""
    rng = frame.rng("casework.parent_appeal")
    appeals = sorted(
        (
            row
            for row in _rows(
                frame.tables["feedback"],
                "received_on",
                "code",
                "organization_code",
                "channel",
                "topic",
                "answered_on",
            )
            if row[2] is not None
        ),
        key=lambda row: row[:2],
    )
    n = len(appeals)
    spans = _spans(rng, n, (0, 2), (0, 3))
    repeats = (rng.random(n) < 0.1).tolist()
    handlers = [_HANDLERS[k] for k in rng.integers(0, len(_HANDLERS), n)]
    last: dict[tuple[str, str], str] = {}
    stories = []
    for k, (received, code, school, channel, topic, answered) in enumerate(appeals):
        earlier = last.get((school, topic))
        last[(school, topic)] = code
        handled = received + spans[k][0]
        if answered is not None:
            handled = min(handled, answered)
        plan = [
            _move(
                "register",
                received,
                Role.SCHOOL,
                organization_code=school,
                channel=channel,
                topic=topic,
            ),
            _move("assign", handled, Role.SCHOOL, handler=handlers[k]),
            *_reply(received, answered, handled, earlier if repeats[k] else None, spans[k][1]),
        ]
        stories.append(_story(plan, code))
    return stories


def _reply(
    received: dt.date,
    answered: dt.date | None,
    handled: dt.date,
    repeated: str | None,
    lead: dt.timedelta,
) -> list[Move]:
    """How an appeal was closed on ``answered``: as a repeat of the ``repeated`` appeal, or
    with an answer, the deadline extended ``lead`` before it ran out if the answer came later;
    nothing if it is still unanswered."""
    if answered is None:
        return []
    if repeated is not None:
        return [_move("reject_as_duplicate", answered, Role.SCHOOL, duplicate_of=repeated)]
    moves = [_move("answer", answered, Role.SCHOOL, answer=_ANSWER)]
    due = add_working_days(received, ANSWER_DAYS)
    if answered > due:
        reason = "The answer needs the district's reply."
        moves.insert(0, _move("extend", max(handled, due - lead), Role.SCHOOL, reason=reason))
    return moves


# ----------------------------------------------------------------------------- trustee councils
_MINUTES = "School website and notice board."


def _council_meeting(frame: RegionFrame) -> list[Story]:
    """A case for every trustee-council meeting held with a quorum (one without could not have
    been recorded and has no case): scheduled one to four weeks before for the day it was held
    (one in five postponed by up to a week), the minutes published within the 10 days (eight in
    ten), later (one in ten) or not yet (overdue once the 10 days are past); and meetings of one
    school in seven scheduled for the coming weeks, a few cancelled."""
    rng = frame.rng("casework.council_meeting")
    meetings = [
        row
        for row in _rows(
            frame.tables["trustee_council_meeting"],
            "organization_code",
            "held_on",
            "agenda",
            "members_total",
            "members_present",
            "decisions_count",
        )
        if row[4] >= quorum(row[3])
    ]
    n = len(meetings)
    spans = _spans(rng, n, (1, 7), (7, 28), (1, 9), (11, 25))
    draws = rng.random((n, 3)).tolist()
    stories = []
    for k, (school, held, agenda, total, present, decisions) in enumerate(meetings):
        postponed, late, unpublished = (
            draw < share for draw, share in zip(draws[k], (0.2, 0.1, 0.1), strict=True)
        )
        planned = held - spans[k][0] if postponed else held
        published = held + (spans[k][3] if late else spans[k][2])
        plan = [
            _move(
                "schedule",
                planned - spans[k][1],
                Role.SCHOOL,
                organization_code=school,
                due_on=planned,
                agenda=agenda,
            ),
            _move(
                "hold",
                held,
                Role.SCHOOL,
                members_total=int(total),
                members_present=int(present),
                decisions_count=int(decisions),
            ),
            None
            if unpublished
            else _move("publish_minutes", published, Role.SCHOOL, published_at=_MINUTES),
        ]
        stories.append(_story(plan))
    agendas = sorted({row[2] for row in meetings})
    return stories + _coming_meetings(rng, frame.schools["code"].tolist(), agendas)


def _coming_meetings(
    rng: np.random.Generator, schools: list[str], agendas: list[str]
) -> list[Story]:
    """Meetings of one school in seven scheduled for the coming weeks, one in ten cancelled."""
    chosen = _sample(rng, schools, max(1, len(schools) // 7) if agendas else 0)
    n = len(chosen)
    spans = _spans(rng, n, (1, 20), (1, 40), (0, 5))
    cancels = (rng.random(n) < 0.1).tolist()
    topics = [agendas[k] for k in rng.integers(0, max(len(agendas), 1), n)]
    stories = []
    for k, school in enumerate(chosen):
        scheduled = REFERENCE_DATE - spans[k][0]
        reason = "The head is away at the regional meeting."
        plan = [
            _move(
                "schedule",
                scheduled,
                Role.SCHOOL,
                organization_code=school,
                due_on=REFERENCE_DATE + spans[k][1],
                agenda=topics[k],
            ),
            _move("cancel", scheduled + spans[k][2], Role.SCHOOL, reason=reason)
            if cancels[k]
            else None,
        ]
        stories.append(_story(plan))
    return stories


# ----------------------------------------------------------------------------- instructions
@dataclass(frozen=True)
class Instruction:
    """A task the ministry sets every region."""

    task: str
    issued_on: dt.date
    due_on: dt.date
    indicator: str | None = None
    target: float | None = None


INSTRUCTIONS = (
    Instruction(
        "Free meals for every pupil of grades 1–4",
        dt.date(2024, 1, 15),
        dt.date(2024, 9, 30),
        "welfare.meal_coverage",
        1.0,
    ),
    Instruction(
        "Close the three-shift schools",
        dt.date(2024, 3, 4),
        dt.date(2025, 5, 1),
        "conditions.three_shift_schools",
        0.0,
    ),
    Instruction(
        "Equip the physics, chemistry and biology classrooms of every secondary school",
        dt.date(2024, 6, 10),
        dt.date(2024, 12, 27),
    ),
    Instruction(
        "Clear the attestation backlog",
        dt.date(2024, 9, 16),
        dt.date(2025, 3, 31),
        "teachers.attestation_overdue",
        0.02,
    ),
    Instruction(
        "Answer every parents' appeal within its deadline",
        dt.date(2025, 1, 20),
        dt.date(2025, 6, 30),
        "welfare.appeals_overdue",
        0.0,
    ),
    Instruction(
        "Fill the teacher vacancies before the new school year",
        dt.date(2025, 5, 26),
        dt.date(2025, 8, 25),
        "teachers.vacancy_rate",
        0.005,
    ),
)
"""The ministry's instructions to every region since January 2024 (about four a year)."""

_RETURN_REASON = "The report gives no figures by district; add them."


def _instruction(frame: RegionFrame) -> list[Story]:
    """The region's case of every instruction: acknowledged within a week, progress reported
    every month or two, the result submitted around the deadline (the region's pace varies),
    then accepted or, one time in five, returned once and submitted again."""
    rng = frame.rng("casework.instruction")
    n = len(INSTRUCTIONS)
    spans = _spans(rng, n, (1, 7), (30, 60), (3, 20), (10, 40), (2, 14))
    pace = rng.lognormal(0.0, 0.2, n).tolist()
    returned = (rng.random(n) < 0.2).tolist()
    stories = []
    for k, task in enumerate(INSTRUCTIONS):
        acknowledged, every, review, rework, accept = spans[k]
        issued = task.issued_on
        submitted = max(
            issued + dt.timedelta(days=round((task.due_on - issued).days * pace[k])),
            issued + acknowledged + dt.timedelta(days=14),
        )
        reports = []
        day = issued + acknowledged + every
        while day < submitted:
            done = float(round(90 * (day - issued) / (submitted - issued)))
            reports.append(_move("report_progress", day, Role.REGION, progress_percent=done))
            day += every
        reviewed = submitted + review
        resubmitted = reviewed + rework
        closing = (
            [
                _move(
                    "return_to_region",
                    reviewed,
                    Role.MINISTRY,
                    reason=_RETURN_REASON,
                    due_on=resubmitted + dt.timedelta(days=10),
                ),
                _move("submit", resubmitted, Role.REGION, result="Figures by district added."),
                _move("accept", resubmitted + accept, Role.MINISTRY),
            ]
            if returned[k]
            else [_move("accept", reviewed, Role.MINISTRY)]
        )
        given = {
            "region_code": frame.code,
            "task": task.task,
            "due_on": task.due_on,
            "indicator": task.indicator,
            "target": task.target,
        }
        plan = [
            _move("issue", issued, Role.MINISTRY, **given),
            _move("acknowledge", issued + acknowledged, Role.REGION),
            *reports,
            _move("submit", submitted, Role.REGION, result="Done; the report is attached."),
            *closing,
        ]
        stories.append(_story(plan))
    return stories


# ----------------------------------------------------------------------------- the region
_SCENARIOS: dict[str, Callable[[RegionFrame], list[Story]]] = {
    "attestation": _attestation,
    "development": _development,
    "contest": _contest,
    "honour": _honour,
    "young_specialist": _young_specialist,
    "leadership": _leadership,
    "construction": _construction,
    "equipment": _equipment,
    "incident": _incident,
    "meals_inspection": _meals_inspection,
    "parent_appeal": _parent_appeal,
    "council_meeting": _council_meeting,
    "instruction": _instruction,
}
"""How each workflow's cases are drawn from a region's records."""


def add_casework(frame: RegionFrame) -> None:
    """Add ``workflow_case`` and ``workflow_event``: the histories behind the region's records
    and the ministry's instructions to it (run after every other stage)."""
    stories = [
        (WORKFLOWS[name], story)
        for name, scenario in _SCENARIOS.items()
        for story in scenario(frame)
    ]
    frame.tables.update(_tables(frame, stories))
