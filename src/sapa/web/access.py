"""The one data-access layer: every API endpoint, page and report reads through it.

A :class:`DataAccess` is built for one request from the signed-in :class:`Principal` and one
database connection. It decides, in one place, what the principal may see:

* **Scope.** Ministry, analyst and auditor accounts see the whole country; a region account its
  region, a district account its district, a school or teacher account its school. A record is
  attributed to the hierarchy through the shortest chain of references from its table to a
  school (organization), district or region; records whose table has no such chain (subjects,
  items, courses) are national reference data that everyone may read. Results are attributed
  through their ``level`` and ``unit``: every account sees the national figures, and regional,
  district and school figures only inside its scope.
* **Personal data.** Pupils, teachers, the identity register and every record that refers to
  them are personal; only region, district and school accounts read them, inside their scope,
  and a teacher reads only their own records. Child-rights incidents are restricted to region,
  district and school accounts. Every read of personal or restricted records is written to the
  audit trail, with the filters used and the number of records returned.
* **Assessment internals.** Item parameters and DIF are secure test material: ministry and
  analyst accounts only.

A unit outside the principal's scope is reported exactly like a unit that does not exist
(:class:`NotFound`), so scope cannot be probed.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)

from sapa.domain.access import AuditEvent, Role, UserAccount
from sapa.domain.geography import District, Region, Settlement
from sapa.domain.organizations import Organization, OrganizationKind
from sapa.domain.people import Teacher
from sapa.domain.quality import AssessmentRun, IndicatorValue, ItemResult, SupportFlag
from sapa.errors import AccessDeniedError, DataValidationError, Problem
from sapa.ingest import EntitySchema, FieldSpec, entity_schemas, file_layout_select

__all__ = [
    "NATIONAL_ROLES",
    "PERSONAL_READERS",
    "DataAccess",
    "Page",
    "Principal",
    "NotFound",
    "entity_sensitivity",
    "resolve_principal",
]

NATIONAL_ROLES = frozenset({Role.MINISTRY, Role.ANALYST, Role.AUDITOR})
"""Roles whose scope is the whole country."""

PERSONAL_READERS = frozenset({Role.REGION, Role.DISTRICT, Role.SCHOOL})
"""Roles that read personal and restricted records inside their scope (teachers: their own)."""

ITEM_READERS = frozenset({Role.MINISTRY, Role.ANALYST})
"""Roles that read item parameters and DIF (secure test material)."""

PERSON_TABLES = ("student", "teacher", "person_identity")
RESTRICTED_TABLES = ("child_rights_incident",)
RESULT_TABLES = ("indicator_value", "support_flag")
"""Results attributed through their ``level`` and ``unit`` columns rather than references."""
ITEM_TABLES = ("item", "item_version", "booklet_item", "item_result")
"""Secure test material: the items with their keys, which items a booklet holds, and the
calibrated parameters (ministry and analysts only)."""
_SCOPE_TABLES = ("organization", "district", "region")
MAX_PAGE = 1000
VALUE_COLUMNS = tuple(
    column.name
    for column in IndicatorValue.__table__.columns
    if column.name not in ("id", "assessment_run_id")
)
"""Columns of a stored indicator value (the indicators' tidy layout), in the model's order."""


class NotFound(LookupError):
    """An entity, run or unit that does not exist, or a unit outside the user's scope."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user with their place in the hierarchy resolved.

    ``region``, ``district``, ``school`` and ``teacher`` are codes; each account has those at
    and above its own level (a school account has its school, district and region).
    """

    username: str
    display_name: str
    role: Role
    language: str
    region: str | None = None
    district: str | None = None
    school: str | None = None
    teacher: str | None = None

    @property
    def national(self) -> bool:
        return self.role in NATIONAL_ROLES

    @property
    def home(self) -> tuple[str, str]:
        """The level and unit code the user's dashboard opens on."""
        if self.school:
            return "school", self.school
        if self.district:
            return "district", self.district
        if self.region:
            return "region", self.region
        return "nation", "KZ"


def resolve_principal(connection: Connection, account: UserAccount) -> Principal:
    """The principal of an account, its scope code resolved up the hierarchy.

    Raises :class:`AccessDeniedError` if the scope code no longer exists.
    """
    role, code = Role(account.role), account.scope_code
    base = {
        "username": account.username,
        "display_name": account.display_name,
        "role": role,
        "language": account.language,
    }
    if role in NATIONAL_ROLES:
        return Principal(**base)
    chain = (
        select(Region.code, District.code, Organization.code)
        .select_from(Organization)
        .join(Settlement, Organization.settlement_id == Settlement.id)
        .join(District, Settlement.district_id == District.id)
        .join(Region, District.region_id == Region.id)
    )
    row: Any
    if role is Role.REGION:
        row = connection.execute(select(Region.code).where(Region.code == code)).first()
        found = row and {"region": row[0]}
    elif role is Role.DISTRICT:
        row = connection.execute(
            select(Region.code, District.code)
            .join(Region, District.region_id == Region.id)
            .where(District.code == code)
        ).first()
        found = row and {"region": row[0], "district": row[1]}
    elif role is Role.SCHOOL:
        row = connection.execute(chain.where(Organization.code == code)).first()
        found = row and {"region": row[0], "district": row[1], "school": row[2]}
    else:
        row = connection.execute(
            chain.add_columns(Teacher.code)
            .join(Teacher, Teacher.organization_id == Organization.id)
            .where(Teacher.code == code)
        ).first()
        found = row and {"region": row[0], "district": row[1], "school": row[2], "teacher": row[3]}
    if not found:
        raise AccessDeniedError(
            f"The account {account.username!r} is scoped to {code!r}, which is not in the data."
        )
    return Principal(**base, **found)


# ----------------------------------------------------------------------------- entity paths
@cache
def _paths(entity: str) -> dict[str, tuple[FieldSpec, ...]]:
    """Shortest chain of references from ``entity`` to every table it leads to (required
    references preferred); the entity itself is reached by the empty chain."""
    schemas = entity_schemas()
    found: dict[str, tuple[FieldSpec, ...]] = {entity: ()}
    queue: deque[str] = deque([entity])
    while queue:
        name = queue.popleft()
        references = [spec for spec in schemas[name].fields if spec.target is not None]
        for spec in sorted(references, key=lambda spec: not spec.required):
            assert spec.target is not None
            if spec.target not in found:
                found[spec.target] = (*found[name], spec)
                queue.append(spec.target)
    return found


@cache
def entity_sensitivity(entity: str) -> str:
    """``personal`` (about identifiable pupils or teachers), ``restricted`` (child-rights
    incidents) or ``public`` (everything else, including aggregates)."""
    if entity in RESTRICTED_TABLES:
        return "restricted"
    if any(table in _paths(entity) for table in PERSON_TABLES):
        return "personal"
    return "public"


def _scoped_ids(schema: EntitySchema, target: str, code: str) -> Select[Any]:
    """Ids of the entity's rows whose chain of references reaches ``target`` with ``code``."""
    schemas = entity_schemas()
    current: Any = schema.table
    joined: Any = schema.table
    for hop, spec in enumerate(_paths(schema.name)[target]):
        assert spec.target is not None
        table = schemas[spec.target].table.alias(f"scope_{hop}")
        joined = joined.join(table, current.c[spec.column] == table.c.id)
        current = table
    return select(schema.table.c.id).select_from(joined).where(current.c.code == code)


def _parse_filter(spec: FieldSpec, text: str) -> Any:
    """A filter value converted to the column's kind, or a validation error naming it."""
    try:
        if spec.kind == "int":
            return int(text)
        if spec.kind in ("float", "decimal"):
            return float(text)
        if spec.kind == "bool":
            return {"true": True, "false": False}[text.lower()]
        if spec.kind == "date":
            return dt.date.fromisoformat(text)
        if spec.kind == "datetime":
            return dt.datetime.fromisoformat(text)
    except (ValueError, KeyError) as exc:
        raise DataValidationError(
            Problem("<query>", None, spec.name, f"{text!r} is not a valid {spec.kind}")
        ) from exc
    return text


@dataclass(frozen=True)
class Page:
    """One page of an entity's records in file layout (references as codes)."""

    entity: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(self.columns))


class DataAccess:
    """Everything a request may read, filtered to the principal's scope (see module notes)."""

    def __init__(self, connection: Connection, principal: Principal) -> None:
        self.connection = connection
        self.principal = principal

    # ------------------------------------------------------------------ audit
    def record(self, action: str, entity: str, detail: str, rows: int) -> None:
        """Write one event to the audit trail (in the request's transaction)."""
        self.connection.execute(
            insert(AuditEvent).values(
                at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
                username=self.principal.username,
                role=self.principal.role,
                action=action,
                entity=entity,
                detail=detail[:500],
                rows=rows,
            )
        )

    def audit_events(self, *, limit: int = 200, offset: int = 0) -> pd.DataFrame:
        """The audit trail, newest first: auditor and ministry accounts only."""
        if self.principal.role not in (Role.AUDITOR, Role.MINISTRY):
            raise AccessDeniedError("Only auditor and ministry accounts read the audit trail.")
        rows = self.connection.execute(
            select(
                AuditEvent.at,
                AuditEvent.username,
                AuditEvent.role,
                AuditEvent.action,
                AuditEvent.entity,
                AuditEvent.detail,
                AuditEvent.rows,
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        frame = _frame(
            rows, columns=["at", "username", "role", "action", "entity", "detail", "rows"]
        )
        frame["role"] = frame["role"].map(str)
        return frame

    # ------------------------------------------------------------------ records
    def _entity_scope(self, schema: EntitySchema) -> Select[Any] | None:
        """The ids the principal may read, ``None`` for all; refuses what the role may not."""
        principal, name = self.principal, schema.name
        sensitivity = entity_sensitivity(name)
        paths = _paths(name)
        if sensitivity != "public":
            if principal.role is Role.TEACHER and sensitivity == "personal" and "teacher" in paths:
                assert principal.teacher is not None
                return _scoped_ids(schema, "teacher", principal.teacher)
            if principal.role not in PERSONAL_READERS:
                raise AccessDeniedError(
                    f"{principal.role.value} accounts may not read {name} records "
                    f"({sensitivity} data)."
                )
        if name in ITEM_TABLES and principal.role not in ITEM_READERS:
            raise AccessDeniedError(
                f"{name} records are secure test material: ministry and analysts only."
            )
        if principal.national:
            return None
        if name in RESULT_TABLES:
            results = schema.table
            return select(results.c.id).where(self._unit_condition(results.c.level, results.c.unit))
        anchors = {
            "organization": principal.school,
            "district": principal.district,
            "region": principal.region,
        }
        for table in _SCOPE_TABLES:
            code = anchors[table]
            if code is not None and table in paths:
                return _scoped_ids(schema, table, code)
        if sensitivity != "public":  # personal data that cannot be placed is never shown
            raise AccessDeniedError(f"{name} records cannot be attributed to a scope.")
        return None

    def entity_page(
        self, entity: str, filters: dict[str, str], *, limit: int | None = 100, offset: int = 0
    ) -> Page:
        """One page of an entity's records, filtered by exact matches on file columns
        (``limit=None``: every record from ``offset`` on, for exports).

        Raises :class:`NotFound` for an unknown entity, :class:`DataValidationError` for an unknown
        filter column or a value of the wrong kind, :class:`AccessDeniedError` when the role
        may not read the entity.
        """
        if entity not in entity_schemas():
            raise NotFound(f"No entity {entity!r}.")
        schema = entity_schemas()[entity]
        allowed = self._entity_scope(schema)
        inner = file_layout_select(schema).add_columns(schema.table.c.id.label("_id"))
        if allowed is not None:
            inner = inner.where(schema.table.c.id.in_(allowed))
        rows_of = inner.subquery("records")
        conditions = []
        for name, text in filters.items():
            if name not in schema.field_names:
                raise DataValidationError(
                    Problem("<query>", None, name, f"{entity} has no column {name!r}")
                )
            conditions.append(rows_of.c[name] == _parse_filter(schema.field(name), text))
        where = and_(true(), *conditions)
        total = self.connection.scalar(select(func.count()).select_from(rows_of).where(where))
        statement = (
            select(*(rows_of.c[name] for name in schema.field_names))
            .where(where)
            .order_by(*(rows_of.c[name].asc().nulls_first() for name in schema.natural_key))
            .offset(max(0, offset))
        )
        if limit is not None:
            limit = max(1, min(limit, MAX_PAGE))
            statement = statement.limit(limit)
        rows = [
            {name: _plain(value) for name, value in row._mapping.items()}
            for row in self.connection.execute(statement)
        ]
        if entity_sensitivity(entity) != "public":
            shown = ", ".join(f"{k}={v}" for k, v in sorted(filters.items())) or "no filter"
            action = "read" if limit is not None else "export"
            self.record(action, entity, f"{shown}; offset {offset}", len(rows))
        return Page(entity, schema.field_names, rows, int(total or 0), limit or len(rows), offset)

    def readable_entities(self) -> list[str]:
        """Entities whose records the principal may read (some of them perhaps none)."""
        readable = []
        for name, schema in entity_schemas().items():
            try:
                self._entity_scope(schema)
            except AccessDeniedError:
                continue
            readable.append(name)
        return readable

    # ------------------------------------------------------------------ hierarchy
    def _district_codes(self) -> Select[Any]:
        statement = select(District.code).join(Region, District.region_id == Region.id)
        if self.principal.district:
            return statement.where(District.code == self.principal.district)
        return statement.where(Region.code == self.principal.region)

    def _school_codes(self) -> Select[Any]:
        statement = (
            select(Organization.code)
            .join(Settlement, Organization.settlement_id == Settlement.id)
            .join(District, Settlement.district_id == District.id)
            .join(Region, District.region_id == Region.id)
        )
        if self.principal.school:
            return statement.where(Organization.code == self.principal.school)
        if self.principal.district:
            return statement.where(District.code == self.principal.district)
        return statement.where(Region.code == self.principal.region)

    def _unit_condition(self, level: Any, unit: Any) -> ColumnElement[bool]:
        """Which (level, unit) results the principal may read."""
        if self.principal.national:
            return true()
        return or_(
            level == "nation",
            and_(level == "region", unit == self.principal.region),
            and_(level == "district", unit.in_(self._district_codes())),
            and_(level == "school", unit.in_(self._school_codes())),
        )

    def regions(self) -> pd.DataFrame:
        """Visible regions: code, kind and names."""
        statement = select(
            Region.code, Region.kind, Region.name_en, Region.name_kk, Region.name_ru
        ).order_by(Region.code)
        if not self.principal.national:
            statement = statement.where(Region.code == self.principal.region)
        frame = _frame(
            self.connection.execute(statement).all(),
            columns=["code", "kind", "name_en", "name_kk", "name_ru"],
        )
        frame["kind"] = frame["kind"].map(str)
        return frame

    def districts(self, region: str) -> pd.DataFrame:
        """Visible districts of a region: code and names."""
        statement = (
            select(District.code, District.name_en, District.name_kk, District.name_ru)
            .join(Region, District.region_id == Region.id)
            .where(Region.code == region)
            .order_by(District.code)
        )
        if not self.principal.national:
            statement = statement.where(District.code.in_(self._district_codes()))
        return _frame(
            self.connection.execute(statement).all(),
            columns=["code", "name_en", "name_kk", "name_ru"],
        )

    def schools(
        self, *, region: str | None = None, district: str | None = None, code: str | None = None
    ) -> pd.DataFrame:
        """Visible schools (of a region, a district, or one school) with place and profile."""
        statement = (
            select(
                Organization.code,
                Organization.name,
                District.code,
                Region.code,
                Settlement.locality,
                Organization.small_class,
                Organization.instruction_language,
                Organization.enrolment,
                Organization.design_capacity,
                Organization.shifts,
            )
            .join(Settlement, Organization.settlement_id == Settlement.id)
            .join(District, Settlement.district_id == District.id)
            .join(Region, District.region_id == Region.id)
            .where(Organization.kind == OrganizationKind.GENERAL_SECONDARY)
            .order_by(Organization.code)
        )
        if region:
            statement = statement.where(Region.code == region)
        if district:
            statement = statement.where(District.code == district)
        if code:
            statement = statement.where(Organization.code == code)
        if not self.principal.national:
            statement = statement.where(Organization.code.in_(self._school_codes()))
        frame = _frame(
            self.connection.execute(statement).all(),
            columns=[
                "code",
                "name",
                "district",
                "region",
                "locality",
                "small_class",
                "language",
                "enrolment",
                "capacity",
                "shifts",
            ],
        )
        for column in ("locality", "language"):
            frame[column] = frame[column].map(str)
        return frame

    def unit(self, level: str, code: str) -> dict[str, Any]:
        """A unit's names and parents; :class:`NotFound` if absent or out of scope."""
        if level == "nation" and code == "KZ":
            return {"level": "nation", "code": "KZ"}
        if level == "region":
            regions = self.regions()
            match = regions[regions["code"] == code]
            if len(match):
                return {"level": "region", **match.iloc[0].to_dict()}
        elif level == "district":
            row = self.connection.execute(
                select(District.code, District.name_en, District.name_kk, District.name_ru)
                .add_columns(Region.code.label("region"))
                .join(Region, District.region_id == Region.id)
                .where(
                    District.code == code, self._unit_condition(literal("district"), District.code)
                )
            ).first()
            if row:
                return {"level": "district", **row._mapping}
        elif level == "school":
            match = self.schools(code=code)
            if len(match):
                return {"level": "school", **match.iloc[0].to_dict()}
        raise NotFound(f"No {level} {code!r} is visible to this account.")

    # ------------------------------------------------------------------ results
    def runs(self) -> pd.DataFrame:
        """Every assessment run, newest first (runs themselves are not scoped)."""
        rows = self.connection.execute(
            select(AssessmentRun.code, AssessmentRun.year, AssessmentRun.finished_at).order_by(
                AssessmentRun.year.desc(), AssessmentRun.finished_at.desc()
            )
        ).all()
        return _frame(rows, columns=["code", "year", "finished_at"])

    def latest_run(self) -> str | None:
        runs = self.runs()
        return None if runs.empty else str(runs["code"].iloc[0])

    def indicators(
        self,
        run: str,
        *,
        prefix: str | None = None,
        indicators: list[str] | None = None,
        level: str | None = None,
        units: list[str] | None = None,
        subgroup: str | None = "all",
    ) -> pd.DataFrame:
        """Indicator values of a run inside the principal's scope, in the stored layout."""
        table = IndicatorValue
        statement = (
            select(*(getattr(table, name) for name in VALUE_COLUMNS))
            .join(AssessmentRun, table.assessment_run_id == AssessmentRun.id)
            .where(AssessmentRun.code == run, self._unit_condition(table.level, table.unit))
        )
        if prefix:
            statement = statement.where(_prefix_range(table.indicator, prefix))
        if indicators is not None:
            statement = statement.where(table.indicator.in_(indicators) if indicators else false())
        if level:
            statement = statement.where(table.level == level)
        if units is not None:
            statement = statement.where(table.unit.in_(units) if units else false())
        if subgroup is not None:
            statement = statement.where(table.subgroup == subgroup)
        frame = _frame(
            self.connection.execute(statement.order_by(table.indicator, table.level, table.unit)),
            columns=list(VALUE_COLUMNS),
        )
        frame["level"] = frame["level"].map(str)
        return frame

    def flags(
        self, run: str, *, level: str | None = None, units: list[str] | None = None
    ) -> pd.DataFrame:
        """ "Needs support" flags of a run inside the principal's scope."""
        statement = (
            select(SupportFlag.level, SupportFlag.unit, SupportFlag.reason, SupportFlag.evidence)
            .join(AssessmentRun, SupportFlag.assessment_run_id == AssessmentRun.id)
            .where(
                AssessmentRun.code == run,
                self._unit_condition(SupportFlag.level, SupportFlag.unit),
            )
            .order_by(SupportFlag.level, SupportFlag.unit, SupportFlag.reason)
        )
        if level:
            statement = statement.where(SupportFlag.level == level)
        if units is not None:
            statement = statement.where(SupportFlag.unit.in_(units) if units else false())
        frame = _frame(
            self.connection.execute(statement).all(),
            columns=["level", "unit", "reason", "evidence"],
        )
        frame["level"] = frame["level"].map(str)
        return frame

    def flagged_schools_by_region(self, run: str) -> pd.Series:
        """Number of schools with at least one flag in each visible region."""
        statement = (
            select(Region.code, func.count(func.distinct(SupportFlag.unit)))
            .select_from(SupportFlag)
            .join(AssessmentRun, SupportFlag.assessment_run_id == AssessmentRun.id)
            .join(Organization, Organization.code == SupportFlag.unit)
            .join(Settlement, Organization.settlement_id == Settlement.id)
            .join(District, Settlement.district_id == District.id)
            .join(Region, District.region_id == Region.id)
            .where(
                AssessmentRun.code == run,
                SupportFlag.level == "school",
                self._unit_condition(SupportFlag.level, SupportFlag.unit),
            )
            .group_by(Region.code)
        )
        rows = self.connection.execute(statement).all()
        return pd.Series(dict(rows), name="flagged", dtype="int64")

    def items(self, run: str, administration: str | None = None) -> pd.DataFrame:
        """Item calibration results of a run: ministry and analyst accounts only."""
        if self.principal.role not in ITEM_READERS:
            raise AccessDeniedError("Item parameters are readable by ministry and analysts only.")
        columns = [
            "administration",
            "item",
            "domain",
            "model",
            "parameters",
            "n",
            "p_value",
            "item_rest",
            "dif_delta",
            "dif_se",
            "dif_class",
        ]
        statement = (
            select(*(getattr(ItemResult, name) for name in columns))
            .join(AssessmentRun, ItemResult.assessment_run_id == AssessmentRun.id)
            .where(AssessmentRun.code == run)
            .order_by(ItemResult.administration, ItemResult.item)
        )
        if administration:
            statement = statement.where(ItemResult.administration == administration)
        return _frame(self.connection.execute(statement).all(), columns=columns)


def _frame(rows: Any, columns: list[str]) -> pd.DataFrame:
    """A frame of result rows. Rows are turned into tuples first: pandas probes every row for
    array attributes, which a SQLAlchemy ``Row`` answers by raising (slow at many rows)."""
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


def _prefix_range(column: Any, prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as a range an index can serve (``LIKE`` cannot)."""
    return and_(column >= prefix, column < prefix[:-1] + chr(ord(prefix[-1]) + 1))


def _plain(value: Any) -> Any:
    """JSON-ready cell: vocabulary values as text, decimals as floats, dates in ISO form."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
