"""An application to «1000 лидеров изменений» (1000 Leaders of Change), from application to
appointment as a school head.

The programme of the Ministry of Enlightenment, run since 2023:

* a teacher or a deputy head applies to a year's intake (:data:`ELIGIBLE_POSITIONS`; other
  posts, heads included, are refused, and a teacher applies once a year);
* selection is a test and an interview; the ministry's commission admits, waitlists or rejects
  the candidate. Sapa weighs the two into a selection score, 0.6 × test + 0.4 × interview
  (:data:`TEST_WEIGHT`), and admits no candidate under 60 % in the test
  (:data:`MIN_TEST_PERCENT`); both are Sapa's configurable rules, not the programme's;
* the admitted train in a cohort at the Centre of Pedagogical Excellence (basic, expert or
  professional level); a final commission scores them, and those with at least 70 %
  (:data:`RESERVE_SCORE`, Sapa's rule) enter the national personnel reserve;
* the region appoints a reservist head of a school without a competition; the appointment ends
  the reserve period, and the school's previous head's appointment.

Each step writes the programme's tables (:mod:`sapa.domain.leadership`) the funnel applicants →
admitted → trained → reservists → appointed is counted from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from sapa.domain.access import Role
from sapa.domain.leadership import (
    HeadAppointment,
    LeadershipCandidate,
    LeadershipCohort,
    LeadershipCohortMember,
    LeadershipReserve,
    LeadershipSelection,
    MembershipStatus,
    SelectionDecision,
)
from sapa.domain.people import Position
from sapa.workflows._cases import Case, Effect, resolve_code
from sapa.workflows._common import MINISTRY, organization_field, teacher_field, teacher_record
from sapa.workflows._engine import Field, Step, StepRefused, Workflow

__all__ = [
    "ELIGIBLE_POSITIONS",
    "LEADERSHIP",
    "MIN_TEST_PERCENT",
    "RESERVE_SCORE",
    "TEST_WEIGHT",
]

FIRST_INTAKE = 2023
ELIGIBLE_POSITIONS = frozenset({Position.TEACHER, Position.DEPUTY_HEAD})
TEST_WEIGHT = 0.6
"""Weight of the test in the selection score; the interview has the rest."""
MIN_TEST_PERCENT = 60.0
"""The least test score, in percent, of an admitted candidate."""
RESERVE_SCORE = 70.0
"""The least final score, in percent, for the personnel reserve."""
DECISIONS = tuple(decision.value for decision in SelectionDecision)

_APPLICANT = frozenset({Role.TEACHER, Role.SCHOOL})
_REGION = frozenset({Role.REGION})


def _intake_rule(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> str | None:
    if given["intake_year"] not in (today.year, today.year + 1):
        return (
            f"Applications are for this year's or next year's intake, not {given['intake_year']}."
        )
    return None


def _selection_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    """Only an interviewed candidate is admitted or waitlisted; admission needs 60 % in the test."""
    decision = given["decision"]
    if decision == SelectionDecision.REJECTED:
        return None
    if "interview_score_percent" not in values:
        return f"A candidate is {decision} only after the interview."
    test = float(values["test_score_percent"])
    if decision == SelectionDecision.ADMITTED and test < MIN_TEST_PERCENT:
        return (
            f"The candidate scored {test:g} % in the test; at least {MIN_TEST_PERCENT:g} % is "
            "needed to be admitted."
        )
    return None


def _selection_score(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    derived: dict[str, Any] = {"decided_on": today.isoformat()}
    if "interview_score_percent" in values:
        test, interview = values["test_score_percent"], values["interview_score_percent"]
        score = TEST_WEIGHT * float(test) + (1 - TEST_WEIGHT) * float(interview)
        derived["selection_score_percent"] = round(score, 1)
    return derived


def _reserve_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    score = float(values["final_score_percent"])
    if score < RESERVE_SCORE:
        return (
            f"The final score is {score:g} %; at least {RESERVE_SCORE:g} % is needed for the "
            "personnel reserve."
        )
    return None


def _included(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"included_on": today.isoformat()}


def _appointment_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    if given["appointed_on"] < dt.date.fromisoformat(values["included_on"]):
        return (
            f"The appointment date {given['appointed_on']} is before the candidate entered the "
            f"reserve, {values['included_on']}."
        )
    return None


# ----------------------------------------------------------------------------- effects
def _candidate(connection: Connection, case: Case) -> int:
    """The application record, numbered as the case."""
    return resolve_code(connection, "leader_candidate", case.code, case.code)


def _apply(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The application, from a teacher or deputy head, once per intake."""
    assert case.teacher_id is not None
    teacher = teacher_record(connection, case.teacher_id, today)
    if not teacher.employed or teacher.position not in ELIGIBLE_POSITIONS:
        raise StepRefused(
            f"{teacher.code} is not a teacher or deputy head in post ({teacher.position}); "
            "only they may apply to the programme."
        )
    year = int(case.values["intake_year"])
    earlier = connection.scalar(
        select(LeadershipCandidate.code).where(
            LeadershipCandidate.teacher_id == case.teacher_id,
            LeadershipCandidate.intake_year == year,
        )
    )
    if earlier is not None:
        raise StepRefused(f"{teacher.code} has already applied to the {year} intake ({earlier}).")
    connection.execute(
        insert(LeadershipCandidate).values(
            code=case.code,
            teacher_id=case.teacher_id,
            intake_year=year,
            position_at_application=teacher.position,
            applied_on=today,
        )
    )


def _select(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The selection outcome; a waitlisted candidate's decision is replaced when taken again."""
    candidate = _candidate(connection, case)
    row = {
        "test_score_percent": case.values["test_score_percent"],
        "interview_score_percent": case.values.get("interview_score_percent"),
        "decision": case.values["decision"],
        "decided_on": today,
    }
    key = LeadershipSelection.leader_candidate_id == candidate
    if connection.scalar(select(LeadershipSelection.id).where(key)) is None:
        connection.execute(insert(LeadershipSelection).values(leader_candidate_id=candidate, **row))
    else:
        connection.execute(update(LeadershipSelection).where(key).values(**row))


def _enrol(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """A place in a cohort that has not finished."""
    code = str(case.values["cohort_code"])
    cohort = connection.execute(
        select(LeadershipCohort.id, LeadershipCohort.ends_on).where(LeadershipCohort.code == code)
    ).one()
    if cohort.ends_on < today:
        raise StepRefused(f"The cohort {code} finished on {cohort.ends_on}.")
    connection.execute(
        insert(LeadershipCohortMember).values(
            leader_cohort_id=cohort.id,
            leader_candidate_id=_candidate(connection, case),
            status=MembershipStatus.ENROLLED,
        )
    )


def _training_ended(status: MembershipStatus) -> Effect:
    """An effect closing the candidate's cohort place as ``status`` (with the final score)."""

    def effect(
        connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
    ) -> None:
        connection.execute(
            update(LeadershipCohortMember)
            .where(
                LeadershipCohortMember.leader_candidate_id == _candidate(connection, case),
                LeadershipCohortMember.status == MembershipStatus.ENROLLED,
            )
            .values(status=status, final_score_percent=given.get("final_score_percent"))
        )

    return effect


def _include(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    connection.execute(
        insert(LeadershipReserve).values(
            leader_candidate_id=_candidate(connection, case), included_on=today
        )
    )


def _leave_reserve(connection: Connection, case: Case, on: dt.date, reason: str) -> None:
    connection.execute(
        update(LeadershipReserve)
        .where(
            LeadershipReserve.leader_candidate_id == _candidate(connection, case),
            LeadershipReserve.excluded_on.is_(None),
        )
        .values(excluded_on=on, exclusion_reason=reason)
    )


def _appoint(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The head appointment from the reserve; the school's previous head's appointment ends."""
    school = resolve_code(connection, "organization", case.values["organization_code"], case.code)
    appointed_on = dt.date.fromisoformat(case.values["appointed_on"])
    connection.execute(
        update(HeadAppointment)
        .where(
            and_(
                HeadAppointment.organization_id == school,
                HeadAppointment.position == Position.HEAD,
                HeadAppointment.ended_on.is_(None),
                HeadAppointment.appointed_on < appointed_on,
            )
        )
        .values(ended_on=appointed_on - dt.timedelta(days=1))
    )
    connection.execute(
        insert(HeadAppointment).values(
            teacher_id=case.teacher_id,
            organization_id=school,
            position=Position.HEAD,
            appointed_on=appointed_on,
            leader_candidate_id=_candidate(connection, case),
        )
    )
    _leave_reserve(connection, case, appointed_on, "appointed")


def _withdraw(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """A withdrawal ends the cohort place or the reserve period the candidate holds."""
    _training_ended(MembershipStatus.WITHDRAWN)(connection, case, given, today)
    _leave_reserve(connection, case, today, "withdrawn")


def _percent(name: str, label: str) -> Field:
    return Field(name, label, "number", low=0, high=100)


LEADERSHIP = Workflow(
    name="leadership",
    title="1000 Leaders of Change",
    description="An application to the 1000 Leaders of Change programme: the selection test "
    "and interview, training at the Centre of Pedagogical Excellence, the personnel reserve and "
    "the appointment as a school head.",
    prefix="LDR",
    subject="teacher",
    sensitivity="personal",
    national=True,
    states={
        "applied": "applied",
        "tested": "tested",
        "interviewed": "interviewed",
        "admitted": "admitted",
        "waitlisted": "on the waiting list",
        "rejected": "rejected",
        "training": "in training",
        "trained": "training completed",
        "in_reserve": "in the personnel reserve",
        "appointed": "appointed a school head",
        "withdrawn": "withdrawn",
    },
    final=frozenset({"rejected", "appointed", "withdrawn"}),
    caption=lambda v: f"{v['teacher_code']}, intake {v['intake_year']}",
    derived=("decided_on", "selection_score_percent", "included_on"),
    steps=(
        Step(
            "apply",
            "Apply to the programme",
            (),
            "applied",
            _APPLICANT,
            fields=(
                teacher_field("Applicant"),
                Field("intake_year", "Intake year", "int", low=FIRST_INTAKE),
            ),
            check=_intake_rule,
            effect=_apply,
        ),
        Step(
            "score_test",
            "Record the selection test",
            ("applied",),
            "tested",
            MINISTRY,
            fields=(_percent("test_score_percent", "Test score, %"),),
        ),
        Step(
            "interview",
            "Record the interview",
            ("tested",),
            "interviewed",
            _REGION | MINISTRY,
            fields=(_percent("interview_score_percent", "Interview score, %"),),
        ),
        Step(
            "select",
            "Decide the selection",
            ("tested", "interviewed", "waitlisted"),
            lambda v: str(v["decision"]),
            MINISTRY,
            fields=(Field("decision", "Decision", "choice", choices=DECISIONS),),
            check=_selection_rule,
            derive=_selection_score,
            effect=_select,
        ),
        Step(
            "enrol",
            "Enrol in a training cohort",
            ("admitted",),
            "training",
            MINISTRY,
            fields=(Field("cohort_code", "Cohort", "code", entity="leader_cohort"),),
            effect=_enrol,
        ),
        Step(
            "complete_training",
            "Record the final assessment",
            ("training",),
            "trained",
            MINISTRY,
            fields=(_percent("final_score_percent", "Final score, %"),),
            effect=_training_ended(MembershipStatus.COMPLETED),
        ),
        Step(
            "include_in_reserve",
            "Include in the personnel reserve",
            ("trained",),
            "in_reserve",
            MINISTRY,
            check=_reserve_rule,
            derive=_included,
            effect=_include,
        ),
        Step(
            "appoint",
            "Appoint a school head",
            ("in_reserve",),
            "appointed",
            _REGION,
            fields=(
                organization_field("School headed"),
                Field("appointed_on", "Appointment date", "date"),
            ),
            check=_appointment_rule,
            effect=_appoint,
        ),
        Step(
            "withdraw",
            "Withdraw from the programme",
            (
                "applied",
                "tested",
                "interviewed",
                "admitted",
                "waitlisted",
                "training",
                "trained",
                "in_reserve",
            ),
            "withdrawn",
            _APPLICANT | MINISTRY,
            fields=(Field("reason", "Reason", required=False),),
            effect=_withdraw,
        ),
    ),
)
