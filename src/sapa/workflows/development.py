"""Professional development of a teacher: enrolment on a course → completion or withdrawal.

A teacher (or the school, or a department for its own programmes) enrols the teacher on a course
of the catalogue (Orleu, the Centre of Pedagogical Excellence, universities). When the course is
over the school records the completion from the certificate: the academic hours credited, never
more than the course's nominal hours, and the certificate's number. The completion is written to
:class:`~sapa.domain.workforce.CourseCompletion`, which the indicator
``teachers.pd_coverage_3y`` counts; an enrolment that is abandoned is withdrawn.

Pedagogues take professional development courses at least once every five years (Law «On the
status of the pedagogue», 2019); the national indicator, and :func:`development_gaps`, look at
the last three years, so that a school sees early which of its teachers are falling behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection, case, func, insert, select

from sapa.domain.access import Role
from sapa.domain.geography import District, Region
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher
from sapa.domain.workforce import Course, CourseCompletion
from sapa.workflows._cases import Case, resolve_code
from sapa.workflows._common import (
    LOCAL,
    employed_on,
    teacher_field,
    teacher_record,
    with_place,
    years_after,
)
from sapa.workflows._engine import Field, Step, StepRefused, Workflow

__all__ = ["DEVELOPMENT", "GAP_YEARS", "development_gaps"]

GAP_YEARS = 3
"""The window of :func:`development_gaps`, that of the indicator ``teachers.pd_coverage_3y``."""


def _completion_date_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    """A course is completed on or after the day it started and not later than today."""
    completed = given.get("completed_on", today)
    if completed > today:
        return f"The completion date {completed} is in the future."
    if completed < dt.date.fromisoformat(values["starts_on"]):
        return (
            f"The completion date {completed} is before the course started, {values['starts_on']}."
        )
    return None


def _completed_on(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"completed_on": given.get("completed_on", today).isoformat()}


# ----------------------------------------------------------------------------- effects
def _enrol(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """Only a teacher in post is enrolled."""
    assert case.teacher_id is not None
    if not teacher_record(connection, case.teacher_id, today).employed:
        raise StepRefused(f"{case.teacher} is not in post and cannot be enrolled on a course.")


def _complete(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The completion the indicators count, crediting no more hours than the course has."""
    course_code = str(case.values["course_code"])
    course = resolve_code(connection, "course", course_code, case.code)
    hours = int(connection.execute(select(Course.hours).where(Course.id == course)).scalar_one())
    credited = int(case.values["hours_credited"])
    if credited > hours:
        raise StepRefused(
            f"{credited} hours cannot be credited: the course {course_code} has {hours} "
            "academic hours."
        )
    connection.execute(
        insert(CourseCompletion).values(
            teacher_id=case.teacher_id,
            course_id=course,
            completed_on=dt.date.fromisoformat(case.values["completed_on"]),
            hours_credited=credited,
            certificate_number=case.values.get("certificate_number"),
        )
    )


DEVELOPMENT = Workflow(
    name="development",
    title="Professional development",
    description="A teacher's professional development course: the enrolment, and the "
    "completion with the hours credited and the certificate, or the withdrawal.",
    prefix="PD",
    subject="teacher",
    sensitivity="personal",
    states={
        "enrolled": "enrolled",
        "completed": "course completed",
        "withdrawn": "withdrawn",
    },
    final=frozenset({"completed", "withdrawn"}),
    caption=lambda v: f"{v['teacher_code']} → {v['course_code']}",
    derived=("completed_on",),
    steps=(
        Step(
            "enrol",
            "Enrol on a course",
            (),
            "enrolled",
            LOCAL | {Role.TEACHER},
            fields=(
                teacher_field(),
                Field("course_code", "Course", "code", entity="course"),
                Field("starts_on", "Course starts on", "date"),
            ),
            effect=_enrol,
        ),
        Step(
            "complete",
            "Record the completion",
            ("enrolled",),
            "completed",
            LOCAL,
            fields=(
                Field("hours_credited", "Academic hours credited", "int", low=1, high=2000),
                Field("completed_on", "Completion date", "date", required=False),
                Field("certificate_number", "Certificate number", required=False),
            ),
            check=_completion_date_rule,
            derive=_completed_on,
            effect=_complete,
        ),
        Step(
            "withdraw",
            "Withdraw from the course",
            ("enrolled",),
            "withdrawn",
            LOCAL | {Role.TEACHER},
            fields=(Field("reason", "Reason", required=False),),
        ),
    ),
)


def development_gaps(
    connection: Connection,
    today: dt.date,
    *,
    years: int = GAP_YEARS,
    region: str | None = None,
    district: str | None = None,
    school: str | None = None,
) -> pd.DataFrame:
    """Per school, the pedagogues in post on ``today`` and how many of them completed no course
    in the ``years`` years up to it (``today − years < completed_on ≤ today``, as the indicator
    counts), the schools with the largest share without one first."""
    # A correlated test per teacher (the completions' teacher index) rather than the set of
    # every trained teacher of the country: a school's or a region's gaps read only theirs.
    trained = (
        select(CourseCompletion.id)
        .where(
            CourseCompletion.teacher_id == Teacher.id,
            CourseCompletion.completed_on > years_after(today, -years),
            CourseCompletion.completed_on <= today,
        )
        .exists()
    )
    teachers = func.count(Teacher.id)
    without = func.sum(case((trained, 0), else_=1))
    statement = (
        with_place(
            select(Organization.code, District.code, Region.code, teachers, without).select_from(
                Teacher
            ),
            Teacher.organization_id,
        )
        .where(employed_on(today))
        .group_by(Organization.code, District.code, Region.code)
    )
    for column, code in (
        (Region.code, region),
        (District.code, district),
        (Organization.code, school),
    ):
        if code is not None:
            statement = statement.where(column == code)
    frame = pd.DataFrame(
        [tuple(row) for row in connection.execute(statement)],
        columns=["school", "district", "region", "teachers", "without_course"],
    )
    frame["share_without"] = frame["without_course"] / frame["teachers"]
    return frame.sort_values(
        ["share_without", "without_course", "school"], ascending=[False, False, True]
    ).reset_index(drop=True)
