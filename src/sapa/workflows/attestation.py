"""Attestation of a teacher: application → qualification test → portfolio → decision → appeal.

The rules (Order MES No. 83 of 27 Jan 2016 as amended; Law "On the status of the pedagogue"):

* stage 1 is the national qualification test (ОЗП); the pass threshold depends on the category
  applied for: 50 % pedagogue, 60 % moderator, 70 % expert, 80 % researcher, 90 % master. A
  failed test ends the stage; the teacher may sit it again (``retake``) or the case closes;
* stage 2 is the commission's review of the portfolio (the comprehensive analytical summary of
  results, КАО), scored 0–100;
* the commission decides: the category is assigned or confirmed, not confirmed, or lowered one
  step. The decision sets the category supplement, as a share of the official salary: 30 %
  moderator, 35 % expert, 40 % researcher, 50 % master, none for pedagogue;
* the teacher may appeal within 30 days; an appeal that is upheld assigns the category applied
  for.

Attestations fall due every 5 years for teachers (3 for first heads); :func:`attestations_due`
lists those coming due, the reminders of the attestation pages and of ``sapa workflow due``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, func, insert, select, update

from sapa.domain.access import Role
from sapa.domain.casework import WorkflowCase
from sapa.domain.geography import District, Region, Settlement
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher
from sapa.domain.workforce import (
    Attestation,
    AttestationResult,
    CategoryAssignment,
    CategoryBasis,
    QualificationCategory,
    QualificationTestResult,
)
from sapa.workflows._cases import Case, remember
from sapa.workflows._common import DEPARTMENTS, LOCAL, teacher_field
from sapa.workflows._engine import Field, Step, Workflow

__all__ = [
    "ATTESTATION",
    "PASS_THRESHOLD",
    "SUPPLEMENT",
    "attestations_due",
    "count_attestations_due",
]

CATEGORIES = tuple(category.value for category in QualificationCategory)
PASS_THRESHOLD = dict(zip(CATEGORIES, (50.0, 60.0, 70.0, 80.0, 90.0), strict=True))
"""Qualification-test pass threshold in percent by target category."""
SUPPLEMENT = dict(zip(CATEGORIES, (0, 30, 35, 40, 50), strict=True))
"""Category supplement in percent of the official salary."""
APPEAL_DAYS = 30
RESULTS = tuple(result.value for result in AttestationResult)

_SELF = frozenset({Role.TEACHER, Role.SCHOOL})


def _threshold(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    return {"threshold_percent": PASS_THRESHOLD[str(given["target_category"])]}


def _tested(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    score = float(given["score_percent"])
    return {
        "tested_on": given.get("tested_on", today).isoformat(),
        "test_passed": score >= float(values["threshold_percent"]),
    }


def _after_test(values: Mapping[str, Any]) -> str:
    return "portfolio_review" if values["test_passed"] else "test_failed"


def _lower(category: str) -> str:
    return CATEGORIES[max(0, CATEGORIES.index(category) - 1)]


def _decision_rule(
    values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date
) -> str | None:
    if given["result"] == "lowered" and values.get("current_category") in (None, CATEGORIES[0]):
        return "The category cannot be lowered: the teacher holds the lowest category."
    return None


def _decided(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    result, current = str(given["result"]), values.get("current_category") or CATEGORIES[0]
    category = {
        "assigned": values["target_category"],
        "confirmed": values["target_category"],
        "not_confirmed": current,
        "lowered": _lower(current),
    }[result]
    return {
        "decided_on": today.isoformat(),
        "new_category": category,
        "supplement_percent": SUPPLEMENT[category],
    }


def _appeal_decided(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> dict:
    if given["appeal_result"] != "upheld":
        return {}
    category = values["target_category"]
    return {"new_category": category, "supplement_percent": SUPPLEMENT[category]}


def _appeal_rule(values: Mapping[str, Any], given: Mapping[str, Any], today: dt.date) -> str | None:
    if values.get("result") in ("assigned", "confirmed"):
        return "Only a decision that did not assign or confirm the category can be appealed."
    return None


# ----------------------------------------------------------------------------- effects
def _open(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    """The attestation record (due date, cycle, target) and the category held at application."""
    current = connection.scalar(
        select(CategoryAssignment.category)
        .where(CategoryAssignment.teacher_id == case.teacher_id)
        .order_by(CategoryAssignment.valid_from.desc())
        .limit(1)
    )
    remember(connection, case, {"current_category": str(current or CATEGORIES[0])})
    due = dt.date.fromisoformat(case.values["due_on"])
    key = and_(Attestation.teacher_id == case.teacher_id, Attestation.due_on == due)
    if connection.scalar(select(Attestation.id).where(key)) is None:
        head = connection.scalar(select(Teacher.position).where(Teacher.id == case.teacher_id))
        connection.execute(
            insert(Attestation).values(
                teacher_id=case.teacher_id,
                due_on=due,
                period_years=3 if str(head) == "head" else 5,
                target_category=case.values["target_category"],
            )
        )


def _test_result(
    connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
) -> None:
    connection.execute(
        insert(QualificationTestResult).values(
            teacher_id=case.teacher_id,
            tested_on=dt.date.fromisoformat(case.values["tested_on"]),
            target_category=case.values["target_category"],
            score_percent=float(case.values["score_percent"]),
            threshold_percent=float(case.values["threshold_percent"]),
            passed=bool(case.values["test_passed"]),
        )
    )


def _assign(connection: Connection, case: Case, today: dt.date) -> None:
    """Close the category held and open the new one from today (the category history)."""
    category = case.values["new_category"]
    if category == case.values.get("current_category"):
        return
    connection.execute(
        update(CategoryAssignment)
        .where(
            CategoryAssignment.teacher_id == case.teacher_id,
            CategoryAssignment.valid_to.is_(None),
        )
        .values(valid_to=today - dt.timedelta(days=1))
    )
    connection.execute(
        insert(CategoryAssignment).values(
            teacher_id=case.teacher_id,
            category=category,
            valid_from=today,
            basis=CategoryBasis.ATTESTATION,
            order_reference=case.values.get("order_reference") or case.code,
        )
    )


def _decision(connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date) -> None:
    connection.execute(
        update(Attestation)
        .where(
            Attestation.teacher_id == case.teacher_id,
            Attestation.due_on == dt.date.fromisoformat(case.values["due_on"]),
        )
        .values(held_on=today, result=case.values["result"])
    )
    _assign(connection, case, today)


def _appeal_outcome(
    connection: Connection, case: Case, given: Mapping[str, Any], today: dt.date
) -> None:
    if given.get("appeal_result") == "upheld":
        connection.execute(
            update(Attestation)
            .where(
                Attestation.teacher_id == case.teacher_id,
                Attestation.due_on == dt.date.fromisoformat(case.values["due_on"]),
            )
            .values(result=AttestationResult.ASSIGNED)
        )
        _assign(connection, case, today)


ATTESTATION = Workflow(
    name="attestation",
    title="Attestation",
    description="A teacher's attestation for a qualification category: the qualification "
    "test, the portfolio review, the commission's decision and an appeal.",
    prefix="ATT",
    subject="teacher",
    sensitivity="personal",
    single_open=True,
    states={
        "applied": "applied",
        "test_failed": "test not passed",
        "portfolio_review": "portfolio under review",
        "decision_pending": "awaiting the commission",
        "decided": "decided",
        "appealed": "under appeal",
        "closed": "closed",
    },
    final=frozenset({"closed"}),
    caption=lambda v: f"{v['teacher_code']} → {v['target_category']}",
    derived=("threshold_percent", "test_passed", "current_category", "new_category"),
    steps=(
        Step(
            "apply",
            "Apply for attestation",
            (),
            "applied",
            LOCAL | {Role.TEACHER},
            fields=(
                teacher_field(),
                Field("target_category", "Category applied for", "choice", choices=CATEGORIES),
                Field("due_on", "Attestation due by", "date"),
            ),
            derive=_threshold,
            effect=_open,
        ),
        Step(
            "record_test",
            "Record the qualification test",
            ("applied",),
            _after_test,
            DEPARTMENTS,
            fields=(
                Field("score_percent", "Test score, %", "number", low=0, high=100),
                Field("tested_on", "Test date", "date", required=False),
            ),
            derive=_tested,
            due_days=60,
            effect=_test_result,
        ),
        Step("retake", "Sit the test again", ("test_failed",), "applied", _SELF | DEPARTMENTS),
        Step(
            "review_portfolio",
            "Score the portfolio",
            ("portfolio_review",),
            "decision_pending",
            DEPARTMENTS,
            fields=(Field("portfolio_score", "Portfolio score", "number", low=0, high=100),),
            due_days=30,
        ),
        Step(
            "decide",
            "Record the commission's decision",
            ("decision_pending",),
            "decided",
            DEPARTMENTS,
            fields=(
                Field("result", "Decision", "choice", choices=RESULTS),
                Field("order_reference", "Order number and date", required=False),
            ),
            check=_decision_rule,
            derive=_decided,
            due_days=APPEAL_DAYS,
            effect=_decision,
        ),
        Step(
            "appeal",
            "Appeal the decision",
            ("decided",),
            "appealed",
            _SELF,
            fields=(Field("grounds", "Grounds of the appeal"),),
            check=_appeal_rule,
            due_days=30,
        ),
        Step(
            "decide_appeal",
            "Decide the appeal",
            ("appealed",),
            "closed",
            frozenset({Role.REGION, Role.MINISTRY}),
            fields=(Field("appeal_result", "Appeal", "choice", choices=("upheld", "rejected")),),
            derive=_appeal_decided,
            effect=_appeal_outcome,
        ),
        Step("close", "Close the case", ("decided", "test_failed"), "closed", LOCAL),
    ),
)


def _due(
    today: dt.date,
    within_days: int,
    places: dict[str, str | None],
    *columns: Any,
    joined: bool = False,
) -> Any:
    """``columns`` of the attestations not yet held that fall due within ``within_days`` (or
    are past due), in the place given by region, district, school or teacher codes. The
    teacher's school and its place are joined when a place is given or ``joined`` asks."""
    statement = (
        select(*columns)
        .select_from(Attestation)
        .where(
            Attestation.held_on.is_(None),
            Attestation.due_on <= today + dt.timedelta(days=within_days),
        )
    )
    chosen = {level: code for level, code in places.items() if code is not None}
    if chosen or joined:
        statement = (
            statement.join(Teacher, Attestation.teacher_id == Teacher.id)
            .join(Organization, Teacher.organization_id == Organization.id)
            .join(Settlement, Organization.settlement_id == Settlement.id)
            .join(District, Settlement.district_id == District.id)
            .join(Region, District.region_id == Region.id)
        )
    codes = {"region": Region.code, "district": District.code, "school": Organization.code}
    for level, code in chosen.items():
        statement = statement.where((codes.get(level) or Teacher.code) == code)
    return statement


def count_attestations_due(
    connection: Connection,
    today: dt.date,
    *,
    within_days: int = 90,
    region: str | None = None,
    district: str | None = None,
    school: str | None = None,
    teacher: str | None = None,
) -> int:
    """How many attestations :func:`attestations_due` would list (without reading them)."""
    places = {"region": region, "district": district, "school": school, "teacher": teacher}
    return int(connection.scalar(_due(today, within_days, places, func.count())) or 0)


def attestations_due(
    connection: Connection,
    today: dt.date,
    *,
    within_days: int = 90,
    region: str | None = None,
    district: str | None = None,
    school: str | None = None,
    teacher: str | None = None,
) -> pd.DataFrame:
    """Attestations not yet held that fall due within ``within_days`` (or are past due), with
    the school and whether a case is open for the teacher, soonest first."""
    open_case = (
        select(WorkflowCase.code)
        .where(
            WorkflowCase.teacher_id == Attestation.teacher_id,
            WorkflowCase.workflow == "attestation",
            WorkflowCase.closed_on.is_(None),
        )
        .limit(1)
        .scalar_subquery()
    )
    columns = (
        Teacher.code,
        Organization.code,
        District.code,
        Region.code,
        Attestation.due_on,
        Attestation.target_category,
        Attestation.period_years,
        open_case,
    )
    places = {"region": region, "district": district, "school": school, "teacher": teacher}
    statement = _due(today, within_days, places, *columns, joined=True).order_by(
        Attestation.due_on, Teacher.code
    )
    frame = pd.DataFrame(
        [tuple(row) for row in connection.execute(statement)],
        columns=[
            "teacher",
            "school",
            "district",
            "region",
            "due_on",
            "target_category",
            "period_years",
            "open_case",
        ],
    )
    frame["target_category"] = frame["target_category"].map(str)
    frame["days_left"] = [(due - today).days for due in frame["due_on"]]
    return frame
