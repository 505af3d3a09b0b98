"""Cases of the workflows as one account may see and work them: the data-access layer's casework.

:class:`CaseAccess` is built on the request's :class:`~sapa.web.access.DataAccess` (the same
principal, connection and audit trail) and decides, in one place, which cases an account reads
and where it may open one:

* **Place.** A region account works its region's cases; a district account the cases of its
  district's schools; a school account its school's; a teacher their own. Ministry, analyst
  and auditor accounts see the whole country.
* **Sensitivity.** Child-rights cases (``restricted``) are read by region, district and school
  accounts only. Cases about a teacher (``personal``) are read by those accounts and the teacher;
  national accounts read them only in workflows they take part in (the contest's republican
  stage, the leadership programme, honours), and otherwise see counts. Every read of a personal
  or restricted case, and every step taken, is written to the audit trail.
* **Steps.** Which role may take which step, and what it must carry, is the workflow's business
  (:mod:`sapa.workflows`); a case outside the account's place is "not found", exactly like one
  that does not exist.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy import case as sql_case

from sapa.domain.access import Role
from sapa.domain.casework import WorkflowCase
from sapa.domain.geography import District, Region, Settlement
from sapa.domain.organizations import Organization
from sapa.domain.people import Teacher
from sapa.errors import AccessDeniedError
from sapa.web.access import NATIONAL_ROLES, PERSONAL_READERS, DataAccess, NotFound
from sapa.workflows import (
    WORKFLOWS,
    Actor,
    Case,
    Workflow,
    act,
    attestations_due,
    count_attestations_due,
    development_gaps,
    find_case,
    history,
    match_vacancies,
    open_case,
)

__all__ = ["CASE_COLUMNS", "CaseAccess", "case_json"]


def _id_of(entity: Any, code: str | None) -> Any:
    """The id of the record with ``code``, as a scalar subquery."""
    return select(entity.id).where(entity.code == code).scalar_subquery()


CASE_COLUMNS = [
    "code",
    "workflow",
    "state",
    "title",
    "region",
    "district",
    "school",
    "teacher",
    "opened_on",
    "due_on",
    "closed_on",
    "overdue",
]


class CaseAccess:
    """The cases one request may read and work (see the module notes)."""

    def __init__(self, access: DataAccess, today: dt.date) -> None:
        self.access = access
        self.connection = access.connection
        self.principal = access.principal
        self.today = today

    # ------------------------------------------------------------------ rules
    def readable(self, workflow: Workflow) -> bool:
        """Whether the account reads the workflow's cases one by one."""
        role = self.principal.role
        if workflow.sensitivity == "restricted":
            return role in PERSONAL_READERS
        if workflow.sensitivity == "personal" and role in NATIONAL_ROLES:
            return workflow.national
        return True

    def workflow(self, name: str) -> Workflow:
        if name not in WORKFLOWS:
            raise NotFound(f"No workflow {name!r}.")
        return WORKFLOWS[name]

    def _require_readable(self, workflow: Workflow) -> None:
        if not self.readable(workflow):
            raise AccessDeniedError(
                f"{self.principal.role.value} accounts see {workflow.name} cases as counts only "
                f"({workflow.sensitivity} data)."
            )

    def _place_condition(self) -> ColumnElement[bool]:
        """Which cases lie in the account's place, on the case's own columns (no join: the
        counts of the workflows pages run over every case of the country)."""
        p = self.principal
        if p.national:
            return true()
        if p.role is Role.TEACHER:
            return WorkflowCase.teacher_id == _id_of(Teacher, p.teacher)
        if p.school:
            return WorkflowCase.organization_id == _id_of(Organization, p.school)
        if p.district:
            return WorkflowCase.organization_id.in_(
                select(Organization.id)
                .join(Settlement, Organization.settlement_id == Settlement.id)
                .join(District, Settlement.district_id == District.id)
                .where(District.code == p.district)
            )
        return WorkflowCase.region_id == _id_of(Region, p.region)

    def _in_place(self, found: Case) -> bool:
        p = self.principal
        if p.national:
            return True
        if p.role is Role.TEACHER:
            return found.teacher == p.teacher
        if p.school:
            return found.organization == p.school
        if p.district:
            return found.district == p.district
        return found.region == p.region

    def _base(self, *columns: Any) -> Any:
        """``columns`` of the cases in the account's place."""
        return select(*columns).select_from(WorkflowCase).where(self._place_condition())

    def _overdue(self) -> ColumnElement[bool]:
        return and_(
            WorkflowCase.closed_on.is_(None),
            WorkflowCase.due_on.is_not(None),
            WorkflowCase.due_on < self.today,
        )

    # ------------------------------------------------------------------ reading
    def summary(self) -> pd.DataFrame:
        """Per workflow: cases open, overdue and closed in the account's place (counts are
        shown to every account, whatever the sensitivity)."""
        overdue = func.sum(sql_case((self._overdue(), 1), else_=0))
        statement = self._base(
            WorkflowCase.workflow,
            func.sum(sql_case((WorkflowCase.closed_on.is_(None), 1), else_=0)),
            overdue,
            func.sum(sql_case((WorkflowCase.closed_on.is_not(None), 1), else_=0)),
        ).group_by(WorkflowCase.workflow)
        counts = {str(row[0]): row[1:] for row in self.connection.execute(statement)}
        rows = []
        for name, workflow in WORKFLOWS.items():
            open_, late, closed = counts.get(name, (0, 0, 0))
            rows.append(
                {
                    "workflow": name,
                    "title": workflow.title,
                    "open": int(open_ or 0),
                    "overdue": int(late or 0),
                    "closed": int(closed or 0),
                    "readable": self.readable(workflow),
                    "can_open": self.principal.role in workflow.opening.roles,
                }
            )
        return pd.DataFrame(rows)

    def overdue_by_region(self) -> pd.DataFrame:
        """Overdue cases per region (rows) and workflow (columns), in the account's place: where
        follow-through lags, seen from the ministry and from the region alike."""
        statement = (
            self._base(Region.code, WorkflowCase.workflow, func.count())
            .join(Region, WorkflowCase.region_id == Region.id)
            .where(self._overdue())
            .group_by(Region.code, WorkflowCase.workflow)
        )
        rows = [
            (region, str(name), int(n)) for region, name, n in self.connection.execute(statement)
        ]
        frame = pd.DataFrame(rows, columns=["region", "workflow", "overdue"])
        table = frame.pivot_table(
            index="region", columns="workflow", values="overdue", fill_value=0, aggfunc="sum"
        )
        return table.reindex(columns=[n for n in WORKFLOWS if n in table.columns]).astype(int)

    def states(self, name: str) -> pd.Series:
        """Cases of a workflow in each state, in the account's place (counts)."""
        workflow = self.workflow(name)
        statement = (
            self._base(WorkflowCase.state, func.count())
            .where(WorkflowCase.workflow == name)
            .group_by(WorkflowCase.state)
        )
        counts = dict(self.connection.execute(statement).all())
        return pd.Series({state: int(counts.get(state, 0)) for state in workflow.states})

    def cases(
        self,
        name: str,
        *,
        state: str | None = None,
        overdue: bool | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> tuple[pd.DataFrame, int]:
        """One page of a workflow's cases in the account's place (overdue first, then by
        deadline), and how many there are in all."""
        workflow = self.workflow(name)
        self._require_readable(workflow)
        chosen = self._base().where(WorkflowCase.workflow == name)
        if state:
            chosen = chosen.where(WorkflowCase.state == state)
        if overdue is not None:
            chosen = chosen.where(self._overdue() if overdue else ~self._overdue())
        total = self.connection.scalar(chosen.with_only_columns(func.count()))
        # The page's cases first, ordered on the case's own columns; their places after.
        page = (
            chosen.with_only_columns(
                WorkflowCase.id.label("id"),
                WorkflowCase.closed_on.is_not(None).label("is_closed"),
                sql_case((self._overdue(), 0), else_=1).label("in_time"),
            )
            .order_by(
                WorkflowCase.closed_on.is_not(None),
                sql_case((self._overdue(), 0), else_=1),
                WorkflowCase.due_on.asc().nulls_last(),
                WorkflowCase.code,
            )
            .offset(max(0, offset))
        )
        if limit is not None:
            page = page.limit(limit)
        ids = page.subquery("page")
        statement = (
            select(
                WorkflowCase.code,
                WorkflowCase.workflow,
                WorkflowCase.state,
                WorkflowCase.title,
                Region.code,
                District.code,
                Organization.code,
                Teacher.code,
                WorkflowCase.opened_on,
                WorkflowCase.due_on,
                WorkflowCase.closed_on,
                ids.c.in_time == 0,
            )
            .select_from(ids)
            .join(WorkflowCase, WorkflowCase.id == ids.c.id)
            .join(Region, WorkflowCase.region_id == Region.id)
            .outerjoin(Organization, WorkflowCase.organization_id == Organization.id)
            .outerjoin(Settlement, Organization.settlement_id == Settlement.id)
            .outerjoin(District, Settlement.district_id == District.id)
            .outerjoin(Teacher, WorkflowCase.teacher_id == Teacher.id)
            .order_by(
                ids.c.is_closed,
                ids.c.in_time,
                WorkflowCase.due_on.asc().nulls_last(),
                WorkflowCase.code,
            )
        )
        frame = pd.DataFrame(
            [tuple(row) for row in self.connection.execute(statement)], columns=CASE_COLUMNS
        )
        frame["workflow"] = frame["workflow"].map(str)
        frame["overdue"] = frame["overdue"].astype(bool)
        if workflow.sensitivity != "public":
            self.access.record("read", "workflow_case", f"{name}; state={state}", len(frame))
        return frame, int(total or 0)

    def case(self, code: str) -> Case:
        """One case; :class:`NotFound` if absent or outside the account's place."""
        found = find_case(self.connection, code)
        if found is None or not self._in_place(found):
            raise NotFound(f"No case {code!r} is visible to this account.")
        self._require_readable(found.workflow)
        if found.workflow.sensitivity != "public":
            self.access.record("read", "workflow_case", code, 1)
        return found

    def history(self, found: Case) -> list[dict[str, Any]]:
        return history(self.connection, found)

    def _codes(self) -> dict[str, str | None]:
        """The account's place as the codes the workflows' lists filter on."""
        p = self.principal
        return {"region": p.region, "district": p.district, "school": p.school}

    def attestations_due(self, within_days: int) -> pd.DataFrame:
        """Attestations coming due in the account's place (they name teachers: national
        accounts see only the count)."""
        if self.principal.role not in PERSONAL_READERS | {Role.TEACHER}:
            raise AccessDeniedError("Attestations due name teachers: national accounts see counts.")
        frame = attestations_due(
            self.connection,
            self.today,
            within_days=within_days,
            teacher=self.principal.teacher,
            **self._codes(),
        )
        self.access.record("read", "attestation", f"due within {within_days} days", len(frame))
        return frame

    def development_gaps(self) -> pd.DataFrame:
        """Schools of the account's place by their share of teachers without a course in three
        years (counts per school: every account may read them)."""
        codes = self._codes()
        return development_gaps(
            self.connection,
            self.today,
            region=codes["region"],
            district=codes["district"],
            school=codes["school"],
        )

    def vacancies_for(self, found: Case) -> pd.DataFrame:
        """Open vacancies matched to a young specialist's case (its teacher's region)."""
        assert found.teacher is not None
        return match_vacancies(self.connection, found.teacher)

    def attestations_due_count(self, within_days: int) -> int:
        """How many attestations fall due in the account's place (a count every account sees)."""
        return count_attestations_due(
            self.connection,
            self.today,
            within_days=within_days,
            teacher=self.principal.teacher,
            **self._codes(),
        )

    # ------------------------------------------------------------------ working
    def _actor(self) -> Actor:
        return Actor(self.principal.username, self.principal.role)

    def open(self, name: str, given: Mapping[str, Any]) -> Case:
        """Open a case; refused as "not found" when its subject lies outside the account's
        place (the transaction is rolled back, so nothing is kept)."""
        workflow = self.workflow(name)
        opened = open_case(self.connection, workflow, self._actor(), given, today=self.today)
        if not self._in_place(opened):
            raise NotFound(
                f"No {workflow.subject} {given.get(workflow.subject + '_code')!r} is visible "
                "to this account."
            )
        self._audit_change(opened, workflow.opening.action)
        return opened

    def take(self, code: str, action: str, given: Mapping[str, Any]) -> Case:
        """Take one step in a visible case."""
        found = self.case(code)
        after = act(self.connection, found, action, self._actor(), given, today=self.today)
        self._audit_change(after, action)
        return after

    def _audit_change(self, found: Case, action: str) -> None:
        self.access.record("change", "workflow_case", f"{found.code} {action}", 1)

    def available_steps(self, found: Case) -> list[Any]:
        return found.workflow.available(found.state, self.principal.role)


def case_json(found: Case, today: dt.date) -> dict[str, Any]:
    """A case as the API returns it."""
    return {
        "code": found.code,
        "workflow": found.workflow.name,
        "state": found.state,
        "title": found.title,
        "region": found.region,
        "district": found.district,
        "school": found.organization,
        "teacher": found.teacher,
        "opened_on": found.opened_on.isoformat(),
        "due_on": found.due_on.isoformat() if found.due_on else None,
        "closed_on": found.closed_on.isoformat() if found.closed_on else None,
        "overdue": found.overdue(today),
        "values": json.loads(json.dumps(found.values)),
    }
