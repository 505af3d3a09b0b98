"""Support of a young specialist: registration → placement → mentor → support → follow-ups.

A young specialist is a pedagogue in the first three years after graduation; the school's staff
import creates the teacher record, marked as a young specialist, when the graduate is hired. The
school or department registers the specialist under a support programme, the department places
the graduate in an open vacancy of the region (:func:`match_vacancies` ranks them), the school
assigns a mentor, the department grants the support, and the school follows the specialist up
each year for three years: retention is what the indicators ``teachers.young_retention_1y`` and
``teachers.young_retention_3y`` measure.

The rules:

* «С дипломом – в село!» (Law «On state regulation of the development of the agro-industrial
  complex and rural territories», art. 18 p. 8): a graduate who commits to 3 years
  (:data:`COMMITMENT_YEARS`) in an organisation in a rural settlement gets a lifting allowance
  of 100 MRP (:data:`LIFTING_ALLOWANCE_MRP`) and may take a budget housing loan of up to
  1,500 MRP (:data:`HOUSING_LOAN_MRP`) for up to 15 years at 0.01 % a year, at the index of the
  year the support is granted. Only a school in a rural settlement qualifies; a specialist who
  leaves before the 3 years are served repays the support;
* a placement fills an open vacancy of the specialist's region that is already published;
* the mentor works in the specialist's school and has at least 5 years of pedagogical
  experience (:data:`MENTOR_EXPERIENCE_YEARS`, Sapa's rule for mentoring);
* follow-ups come once a year, in order, and the support is completed after the third.

The placement fills :class:`~sapa.domain.workforce.Vacancy`; the support is
:class:`~sapa.domain.workforce.YoungSpecialistSupport`, ended early when the specialist leaves.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, insert, literal, select, update
from sqlalchemy import case as when

from sapa.domain.assessment import Subject
from sapa.domain.casework import WorkflowCase
from sapa.domain.geography import District, Locality, Region, Settlement
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher, TeacherSubject
from sapa.domain.workforce import SupportProgramme, Vacancy, YoungSpecialistSupport
from sapa.workflows._cases import Case, remember, resolve_code
from sapa.workflows._common import (
    DEPARTMENTS,
    LOCAL,
    mrp_tenge,
    teacher_field,
    teacher_record,
    with_place,
    years_after,
)
from sapa.workflows._engine import Field, Step, StepRefused, Workflow

__all__ = [
    "COMMITMENT_YEARS",
    "HOUSING_LOAN_MRP",
    "LIFTING_ALLOWANCE_MRP",
    "MENTOR_EXPERIENCE_YEARS",
    "YOUNG_SPECIALIST",
    "match_vacancies",
]

COMMITMENT_YEARS = 3
LIFTING_ALLOWANCE_MRP = 100
HOUSING_LOAN_MRP = 1500
MENTOR_EXPERIENCE_YEARS = 5
PROGRAMMES = tuple(programme.value for programme in SupportProgramme)
_VILLAGE = SupportProgramme.DIPLOMA_TO_VILLAGE


def _vacancy_named(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    if not given.get("vacancy_code") and not values.get("vacancy_code"):
        return "Name the vacancy: none was given at registration."
    return None


def _not_self(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> str | None:
    if given["mentor_code"] == values["teacher_code"]:
        return "A young specialist cannot be their own mentor."
    return None


def _amounts_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    """«С дипломом – в село!»: an allowance of 100 MRP and a loan of at most 1,500 MRP."""
    if values["programme"] != _VILLAGE:
        return None
    allowance = mrp_tenge(LIFTING_ALLOWANCE_MRP, today.year)
    if given.get("lifting_allowance_tenge") != allowance:
        return (
            f"The lifting allowance of «С дипломом – в село!» is {LIFTING_ALLOWANCE_MRP} MRP, "
            f"{allowance:,} tenge in {today.year}."
        )
    ceiling = mrp_tenge(HOUSING_LOAN_MRP, today.year)
    loan = given.get("housing_loan_tenge") or 0
    if loan > ceiling:
        return (
            f"A housing loan of {loan:,} tenge is over the ceiling of {HOUSING_LOAN_MRP:,} MRP, "
            f"{ceiling:,} tenge in {today.year}."
        )
    return None


def _support_period(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    ends = years_after(today, COMMITMENT_YEARS) - dt.timedelta(days=1)
    return {"support_starts_on": today.isoformat(), "support_ends_on": ends.isoformat()}


def _next_year_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    expected = int(values.get("followed_up_year", 0)) + 1
    if given["year"] != expected:
        return f"The follow-up of year {expected} comes next, not year {given['year']}."
    return None


def _followed_up(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    year = int(given["year"])
    return {"followed_up_year": year, f"employed_year_{year}": bool(given["still_employed"])}


def _after_follow_up(values: Mapping[str, Any]) -> str:
    return "supported" if values["still_employed"] else "left"


def _completion_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    if int(values.get("followed_up_year", 0)) < COMMITMENT_YEARS:
        return f"The support is completed after the follow-up of year {COMMITMENT_YEARS}."
    if today < dt.date.fromisoformat(values["support_ends_on"]):
        return f"The support runs until {values['support_ends_on']}."
    return None


def _left(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    """Whether the specialist leaves a rural post before the 3 years are served (repays)."""
    ends = values.get("support_ends_on")
    early = values["programme"] == _VILLAGE and ends is not None and today.isoformat() < ends
    return {"left_on": today.isoformat(), "left_before_commitment": early}


# ----------------------------------------------------------------------------- effects
def _register(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    assert case.teacher_id is not None
    teacher = teacher_record(connection, case.teacher_id, today)
    if not teacher.young_specialist:
        raise StepRefused(
            f"{teacher.code} is not marked as a young specialist on the teacher register."
        )


def _school_of(connection: Connection, case: Case, today: dt.date) -> int:
    """The specialist's school: the one placed in, else the one on the teacher register."""
    if "school_code" in case.values:
        return resolve_code(connection, "organization", case.values["school_code"], case.code)
    assert case.teacher_id is not None
    return int(teacher_record(connection, case.teacher_id, today).organization_id)


def _place(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """Fill an open, published vacancy of the specialist's region."""
    code = str(case.values["vacancy_code"])
    vacancy = connection.execute(
        with_place(
            select(
                Vacancy.id.label("vacancy_id"),
                Vacancy.opened_on,
                Vacancy.filled_on,
                Region.id.label("region_id"),
                Organization.code.label("school"),
            ).select_from(Vacancy),
            Vacancy.organization_id,
        ).where(Vacancy.code == code)
    ).one()
    if vacancy.filled_on is not None:
        raise StepRefused(f"The vacancy {code} was filled on {vacancy.filled_on}.")
    if vacancy.opened_on > today:
        raise StepRefused(f"The vacancy {code} is published only from {vacancy.opened_on}.")
    if vacancy.region_id != case.region_id:
        raise StepRefused(f"The vacancy {code} is not in the specialist's region ({case.region}).")
    connection.execute(
        update(Vacancy)
        .where(Vacancy.id == vacancy.vacancy_id)
        .values(filled_on=today, teacher_id=case.teacher_id)
    )
    remember(connection, case, {"school_code": vacancy.school})


def _assign_mentor(
    connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
) -> None:
    """A mentor in post at the specialist's school, with 5 years of experience."""
    code = str(case.values["mentor_code"])
    mentor = teacher_record(connection, resolve_code(connection, "teacher", code, case.code), today)
    if not mentor.employed or mentor.organization_id != _school_of(connection, case, today):
        raise StepRefused(f"The mentor {code} does not work in the young specialist's school.")
    if mentor.experience_years < MENTOR_EXPERIENCE_YEARS:
        raise StepRefused(
            f"The mentor {code} has {mentor.experience_years:g} years of experience; a mentor "
            f"needs at least {MENTOR_EXPERIENCE_YEARS}."
        )


def _grant(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The support record; «С дипломом – в село!» only in a school of a rural settlement."""
    school = _school_of(connection, case, today)
    if case.values["programme"] == _VILLAGE:
        locality = connection.scalar(
            select(Settlement.locality)
            .join(Organization, Organization.settlement_id == Settlement.id)
            .where(Organization.id == school)
        )
        if locality != Locality.RURAL:
            raise StepRefused(
                "«С дипломом – в село!» supports specialists in rural schools; the specialist's "
                f"school is in a settlement classed {locality}."
            )
    row = {
        "mentor_id": resolve_code(connection, "teacher", case.values["mentor_code"], case.code),
        "programme": case.values["programme"],
        "ends_on": dt.date.fromisoformat(case.values["support_ends_on"]),
        "lifting_allowance_tenge": case.values.get("lifting_allowance_tenge"),
        "housing_loan_tenge": case.values.get("housing_loan_tenge"),
    }
    key = and_(
        YoungSpecialistSupport.teacher_id == case.teacher_id,
        YoungSpecialistSupport.starts_on == today,
    )
    if connection.scalar(select(YoungSpecialistSupport.id).where(key)) is None:
        connection.execute(
            insert(YoungSpecialistSupport).values(
                teacher_id=case.teacher_id, starts_on=today, **row
            )
        )
    else:
        connection.execute(update(YoungSpecialistSupport).where(key).values(**row))


def _end_support(
    connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
) -> None:
    """A specialist who leaves, or is found gone at a follow-up, ends the support that day."""
    if "support_starts_on" not in case.values or given.get("still_employed", False):
        return
    connection.execute(
        update(YoungSpecialistSupport)
        .where(
            YoungSpecialistSupport.teacher_id == case.teacher_id,
            YoungSpecialistSupport.starts_on
            == dt.date.fromisoformat(case.values["support_starts_on"]),
        )
        .values(ends_on=today)
    )


YOUNG_SPECIALIST = Workflow(
    name="young_specialist",
    title="Young specialist",
    description="Support of a young specialist: the placement in a vacancy, the mentor, the "
    "«With a diploma, to the village!» allowance and housing loan, and three yearly follow-ups.",
    prefix="YS",
    subject="teacher",
    sensitivity="personal",
    single_open=True,
    states={
        "registered": "registered",
        "placed": "placed in a post",
        "mentored": "mentor assigned",
        "supported": "supported",
        "completed": "support completed",
        "left": "left the post",
    },
    final=frozenset({"completed", "left"}),
    caption=lambda v: f"{v['teacher_code']}, {v['programme']}",
    derived=(
        "school_code",
        "support_starts_on",
        "support_ends_on",
        "followed_up_year",
        "employed_year_1",
        "employed_year_2",
        "employed_year_3",
        "left_on",
        "left_before_commitment",
    ),
    steps=(
        Step(
            "register",
            "Register a young specialist",
            (),
            "registered",
            LOCAL,
            fields=(
                teacher_field("Young specialist"),
                Field("programme", "Support programme", "choice", choices=PROGRAMMES),
                Field("vacancy_code", "Vacancy", "code", required=False, entity="vacancy"),
            ),
            effect=_register,
        ),
        Step(
            "place",
            "Place in a vacancy",
            ("registered",),
            "placed",
            DEPARTMENTS,
            fields=(Field("vacancy_code", "Vacancy", "code", required=False, entity="vacancy"),),
            check=_vacancy_named,
            effect=_place,
        ),
        Step(
            "assign_mentor",
            "Assign a mentor",
            ("registered", "placed"),
            "mentored",
            LOCAL,
            fields=(Field("mentor_code", "Mentor", "code", entity="teacher"),),
            check=_not_self,
            effect=_assign_mentor,
        ),
        Step(
            "grant_support",
            "Grant the support",
            ("mentored",),
            "supported",
            DEPARTMENTS,
            fields=(
                Field(
                    "lifting_allowance_tenge",
                    "Lifting allowance, tenge",
                    "int",
                    required=False,
                    low=0,
                ),
                Field("housing_loan_tenge", "Housing loan, tenge", "int", required=False, low=0),
            ),
            check=_amounts_rule,
            derive=_support_period,
            due_days=365,
            effect=_grant,
        ),
        Step(
            "follow_up",
            "Record the yearly follow-up",
            ("supported",),
            _after_follow_up,
            LOCAL,
            fields=(
                Field("year", "Year of the support", "int", low=1, high=COMMITMENT_YEARS),
                Field("still_employed", "Still in the post", "bool"),
            ),
            check=_next_year_rule,
            derive=_followed_up,
            due_days=365,
            effect=_end_support,
        ),
        Step(
            "complete",
            "Complete the support",
            ("supported",),
            "completed",
            LOCAL,
            check=_completion_rule,
        ),
        Step(
            "leave",
            "Record leaving the post",
            ("registered", "placed", "mentored", "supported"),
            "left",
            LOCAL,
            fields=(Field("reason", "Reason"),),
            derive=_left,
            effect=_end_support,
        ),
    ),
)


def _open_programme(connection: Connection, teacher_id: int) -> str | None:
    """The programme of the teacher's open young-specialist case, if any."""
    data = connection.scalar(
        select(WorkflowCase.data)
        .where(
            WorkflowCase.workflow == YOUNG_SPECIALIST.name,
            WorkflowCase.teacher_id == teacher_id,
            WorkflowCase.closed_on.is_(None),
        )
        .order_by(WorkflowCase.opened_on.desc())
        .limit(1)
    )
    return None if data is None else json.loads(data).get("programme")


def match_vacancies(
    connection: Connection,
    teacher_code: str,
    *,
    programme: str | None = None,
    limit: int = 10,
) -> pd.DataFrame:
    """Open vacancies of the teacher's region for a graduate: those of the teacher's main subject
    first, then (for «С дипломом – в село!») those in rural settlements, then the longest open.

    ``programme`` defaults to that of the teacher's open young-specialist case.
    """
    teacher = resolve_code(connection, "teacher", teacher_code, "match_vacancies")
    region = connection.scalar(
        with_place(select(Region.id).select_from(Teacher), Teacher.organization_id).where(
            Teacher.id == teacher
        )
    )
    subject = connection.scalar(
        select(TeacherSubject.subject_id).where(
            TeacherSubject.teacher_id == teacher, TeacherSubject.main.is_(True)
        )
    )
    if programme is None:
        programme = _open_programme(connection, teacher)
    matches = literal(0) if subject is None else when((Vacancy.subject_id == subject, 1), else_=0)
    rural = when((Settlement.locality == Locality.RURAL, 1), else_=0)
    order = [matches.desc()]
    if programme == _VILLAGE:
        order.append(rural.desc())
    statement = (
        with_place(
            select(
                Vacancy.code,
                Organization.code,
                District.code,
                Settlement.locality,
                Subject.code,
                Vacancy.position,
                Vacancy.weekly_hours,
                Vacancy.opened_on,
                matches,
                rural,
            ).select_from(Vacancy),
            Vacancy.organization_id,
        )
        .outerjoin(Subject, Vacancy.subject_id == Subject.id)
        .where(Vacancy.filled_on.is_(None), Region.id == region)
        .order_by(*order, Vacancy.opened_on, Vacancy.code)
        .limit(limit)
    )
    frame = pd.DataFrame(
        [tuple(row) for row in connection.execute(statement)],
        columns=[
            "vacancy",
            "school",
            "district",
            "locality",
            "subject",
            "position",
            "weekly_hours",
            "opened_on",
            "subject_match",
            "rural",
        ],
    )
    for column in ("locality", "position"):
        frame[column] = frame[column].map(str)
    for column in ("subject_match", "rural"):
        frame[column] = frame[column].astype(bool)
    return frame
