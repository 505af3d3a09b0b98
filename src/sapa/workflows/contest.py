"""An entry to the «Лучший педагог» (Best Teacher) contest: district → region → republic.

The rules (the contest's rules of the Ministry of Enlightenment; held every year since 2012):

* a pedagogue with at least 5 years of continuous pedagogical experience is nominated; Sapa
  checks the experience on the teacher's record (:data:`MIN_EXPERIENCE_YEARS`);
* the district (city) stage scores each entry out of 100 and ranks it; a district sends on its
  top 10, and only entries with at least 80 points (:data:`ADVANCE_SCORE`, :data:`DISTRICT_QUOTA`);
* the regional stage scores again and sends its best to the republican stage;
* the ministry's republican jury names the winners and laureates: 64 winners a year
  (:data:`WINNERS_PER_YEAR`), each awarded 1,000 MRP at the index of the year of the award and
  the badge. A winner's prize is written to :class:`~sapa.domain.workforce.Award` (kind
  ``best_pedagogue``), which the indicator ``teachers.awards_per_1000`` counts.

An entry may be eliminated at any stage once scored. The ministry takes part at the republican
stage, so it reads the entries (``national``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, select

from sapa.domain.access import Role
from sapa.domain.workforce import Award, AwardKind
from sapa.workflows._cases import Case
from sapa.workflows._common import (
    DEPARTMENTS,
    LOCAL,
    MINISTRY,
    mrp_tenge,
    teacher_field,
    teacher_record,
)
from sapa.workflows._engine import Field, Step, StepRefused, Workflow

__all__ = [
    "ADVANCE_SCORE",
    "CONTEST",
    "DISTRICT_QUOTA",
    "MIN_EXPERIENCE_YEARS",
    "PRIZE_MRP",
    "WINNERS_PER_YEAR",
]

FIRST_YEAR = 2012
MIN_EXPERIENCE_YEARS = 5
ADVANCE_SCORE = 80.0
"""The least district score, out of 100, that goes on to the regional stage."""
DISTRICT_QUOTA = 10
"""Entries a district sends to the regional stage: its top 10."""
WINNERS_PER_YEAR = 64
PRIZE_MRP = 1000
CONFERRED_BY = "Ministry of Enlightenment"
PLACES = ("winner", "laureate")

_DISTRICT = frozenset({Role.DISTRICT})
_REGION = frozenset({Role.REGION})


def _contest_year_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    if given["year"] not in (today.year, today.year + 1):
        return f"Entries are nominated for this year's or next year's contest, not {given['year']}."
    return None


def _advance_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    """The district sends on its top 10 entries with at least 80 points."""
    score, rank = float(values["district_score"]), int(values["district_rank"])
    if score < ADVANCE_SCORE:
        return (
            f"The entry scored {score:g} of 100 at the district stage; at least "
            f"{ADVANCE_SCORE:g} are needed to go on to the regional stage."
        )
    if rank > DISTRICT_QUOTA:
        return (
            f"The entry is placed {rank} in the district; only the top {DISTRICT_QUOTA} go on "
            "to the regional stage."
        )
    return None


def _prize(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    """A winner's prize: 1,000 MRP at the index of the year it is awarded."""
    if given["place"] != "winner":
        return {}
    return {"payment_tenge": mrp_tenge(PRIZE_MRP, today.year), "awarded_on": today.isoformat()}


# ----------------------------------------------------------------------------- effects
def _nominate(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """Only a pedagogue in post with 5 years of experience may enter."""
    assert case.teacher_id is not None
    teacher = teacher_record(connection, case.teacher_id, today)
    if not teacher.employed:
        raise StepRefused(f"{teacher.code} is not in post and cannot enter the contest.")
    if teacher.experience_years < MIN_EXPERIENCE_YEARS:
        raise StepRefused(
            f"{teacher.code} has {teacher.experience_years:g} years of pedagogical experience; "
            f"the contest requires at least {MIN_EXPERIENCE_YEARS}."
        )


def _award(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """A winner's prize as an award, within the year's 64 winners."""
    if given["place"] != "winner":
        return
    winners = connection.scalar(
        select(func.count())
        .select_from(Award)
        .where(
            Award.kind == AwardKind.BEST_PEDAGOGUE,
            Award.awarded_on >= dt.date(today.year, 1, 1),
            Award.awarded_on <= dt.date(today.year, 12, 31),
        )
    )
    if int(winners or 0) >= WINNERS_PER_YEAR:
        raise StepRefused(
            f"The {WINNERS_PER_YEAR} winners of {today.year} have already been named; "
            "the entry can be a laureate."
        )
    connection.execute(
        insert(Award).values(
            teacher_id=case.teacher_id,
            kind=AwardKind.BEST_PEDAGOGUE,
            title=f"Best Teacher {case.values['year']}, winner of the republican stage",
            awarded_on=today,
            conferred_by=CONFERRED_BY,
            payment_tenge=int(case.values["payment_tenge"]),
        )
    )


def _score(name: str, label: str) -> Field:
    return Field(name, label, "number", low=0, high=100)


CONTEST = Workflow(
    name="contest",
    title="Best Teacher contest",
    description="An entry to the Best Teacher contest: the district, regional and republican "
    "stages, and the winner's prize of 1,000 MRP.",
    prefix="BT",
    subject="teacher",
    sensitivity="personal",
    national=True,
    states={
        "nominated": "nominated",
        "district_scored": "scored at the district stage",
        "regional_stage": "at the regional stage",
        "region_scored": "scored at the regional stage",
        "republican_stage": "at the republican stage",
        "republic_scored": "scored at the republican stage",
        "winner": "winner",
        "laureate": "laureate",
        "eliminated": "eliminated",
    },
    final=frozenset({"winner", "laureate", "eliminated"}),
    caption=lambda v: f"{v['teacher_code']}, Best Teacher {v['year']}",
    derived=("payment_tenge", "awarded_on"),
    steps=(
        Step(
            "nominate",
            "Nominate for the contest",
            (),
            "nominated",
            LOCAL | {Role.TEACHER},
            fields=(teacher_field(), Field("year", "Contest year", "int", low=FIRST_YEAR)),
            check=_contest_year_rule,
            effect=_nominate,
        ),
        Step(
            "score_district",
            "Score at the district stage",
            ("nominated",),
            "district_scored",
            _DISTRICT,
            fields=(
                _score("district_score", "District score, of 100"),
                Field("district_rank", "Place in the district", "int", low=1),
            ),
        ),
        Step(
            "advance_to_region",
            "Send to the regional stage",
            ("district_scored",),
            "regional_stage",
            _DISTRICT,
            check=_advance_rule,
        ),
        Step(
            "score_region",
            "Score at the regional stage",
            ("regional_stage",),
            "region_scored",
            _REGION,
            fields=(_score("region_score", "Regional score, of 100"),),
        ),
        Step(
            "advance_to_republic",
            "Send to the republican stage",
            ("region_scored",),
            "republican_stage",
            _REGION,
        ),
        Step(
            "score_republic",
            "Score at the republican stage",
            ("republican_stage",),
            "republic_scored",
            MINISTRY,
            fields=(_score("republic_score", "Republican score, of 100"),),
        ),
        Step(
            "award",
            "Name a winner or laureate",
            ("republic_scored",),
            lambda v: str(v["place"]),
            MINISTRY,
            fields=(Field("place", "Place", "choice", choices=PLACES),),
            derive=_prize,
            effect=_award,
        ),
        Step(
            "eliminate",
            "Eliminate from the contest",
            ("district_scored", "region_scored", "republic_scored"),
            "eliminated",
            DEPARTMENTS | MINISTRY,
            fields=(Field("reason", "Reason", required=False),),
        ),
    ),
)
