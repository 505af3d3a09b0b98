"""Authorization of every route, as every role: a walk over ``app.routes`` (a new route is walked
automatically) with path parameters filled from the assessed tiny nation, in and out of scope.

What the walk proves, for the seven accounts of ``conftest.py`` and an anonymous client:

* no response with status 200 to a non-national account names a region, district, school or
  teacher outside the account's scope (the codes are collected from the database and looked for
  as whole tokens in the body, and in the text of XLSX and PDF files);
* a unit outside the account's scope answers 403 or 404, never 200;
* personal and restricted records are refused (403) to ministry, analyst and auditor accounts,
  child-rights incidents to teachers as well, a teacher reads only records that lead to
  themselves, and every read of such records writes one row to the audit trail;
* item results are read by ministry and analyst accounts only, the audit trail by auditor and
  ministry accounts only;
* without a session the API answers 401 and the pages redirect (303) to the sign-in page;
* a state-changing request without the session's CSRF token, or with another account's, is
  refused (403) and changes nothing;
* a filter naming a unit outside the scope returns no rows instead of that unit's data.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine, func, select
from starlette.routing import Mount

from conftest import ROLES
from sapa.domain.access import AuditEvent
from sapa.domain.quality import ItemResult
from sapa.ingest import entity_schemas, read_entity
from sapa.web.access import ITEM_TABLES, entity_sensitivity
from sapa.web.labels import AREAS
from sapa.workflows import WORKFLOWS

pytestmark = pytest.mark.db

NATIONAL = frozenset({"ministry", "analyst", "auditor"})
PERSONAL_READERS = frozenset({"region", "district", "school"})
ITEM_READERS = frozenset({"ministry", "analyst"})
AUDIT_READERS = frozenset({"auditor", "ministry"})

PUBLIC_PATHS = frozenset({"/login", "/api/openapi.json", "/api/docs", "/docs/oauth2-redirect"})
"""Routes that answer without a session and read no data."""

ITEM_PATHS = frozenset({"/api/v1/runs/{run}/items", "/assessment", "/assessment/item/{item}"})
AUDIT_PATHS = frozenset({"/api/v1/audit", "/audit"})
FORMAT_PARAMETERS = frozenset({"fmt", "format", "ext", "extension", "suffix"})
"""Names a route may give the file-type part of its path (``/reports/{level}/{code}.{fmt}``)."""

_TOKEN = re.compile(r"[A-Za-z0-9-]+")
_PARAMETER_SPEC = re.compile(r"{(\w+)(?::\w+)?}")
_PARAMETER = re.compile(r"{(\w+)")


# ----------------------------------------------------------------------------- the nation
@dataclass
class Nation:
    """Codes of the tiny nation's hierarchy and what each account may see of it."""

    engine: Engine
    region_of_district: dict[str, str]
    district_of_school: dict[str, str]
    school_of_teacher: dict[str, str]
    scope_code: dict[str, str]
    units: list[tuple[str, str]]
    run: str
    item: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, engine: Engine, places: Any) -> Nation:
        settlements = read_entity(engine, "settlement").set_index("code")["district_code"]
        organizations = read_entity(engine, "organization")
        teachers = read_entity(engine, "teacher")
        districts = read_entity(engine, "district")
        with engine.connect() as connection:
            item = connection.scalar(select(ItemResult.item).order_by(ItemResult.item).limit(1))
        runs = read_entity(engine, "assessment_run")
        assert item is not None, "the nation has no item results"
        region_of_district = dict(zip(districts["code"], districts["region_code"], strict=True))
        district_of_school = dict(
            zip(
                organizations["code"],
                settlements.loc[organizations["settlement_code"]].to_numpy(),
                strict=True,
            )
        )
        units = [
            ("nation", "KZ"),
            ("region", places.region),
            ("region", places.other_region),
            ("district", places.district),
            ("district", places.other_district),
            ("district", district_of_school[places.same_region_other_district]),
            ("school", places.school),
            ("school", places.same_district_other_school),
            ("school", places.same_region_other_district),
            ("school", places.other_school),
        ]
        return cls(
            engine=engine,
            region_of_district=region_of_district,
            district_of_school=district_of_school,
            school_of_teacher=dict(
                zip(teachers["code"], teachers["organization_code"], strict=True)
            ),
            scope_code={
                "region": places.region,
                "district": places.district,
                "school": places.school,
                "teacher": places.teacher,
            },
            units=units,
            run=str(runs["code"].iloc[0]),
            item=str(item),
        )

    # ------------------------------------------------------------------ scope of an account
    def home(self, role: str) -> dict[str, str]:
        """The account's place: its region, district, school and teacher, as far as it has them."""
        if role in NATIONAL:
            return {}
        code = self.scope_code[role]
        place: dict[str, str] = {}
        if role == "teacher":
            place["teacher"], code = code, self.school_of_teacher[code]
        if role in ("teacher", "school"):
            place["school"], code = code, self.district_of_school[code]
        if role in ("teacher", "school", "district"):
            place["district"], code = code, self.region_of_district[code]
        place["region"] = code
        return place

    def sees(self, role: str, level: str, code: str) -> bool:
        """Whether a unit is the account's own, above it or below it."""
        if role in NATIONAL or level == "nation":
            return True
        place = self.home(role)
        if level == "region":
            return code == place["region"]
        if level == "district":
            if "district" in place:
                return code == place["district"]
            return self.region_of_district.get(code) == place["region"]
        if level == "school":
            district = self.district_of_school.get(code)
            if district is None:
                return False
            if "school" in place:
                return code == place["school"]
            if "district" in place:
                return district == place["district"]
            return self.region_of_district[district] == place["region"]
        raise AssertionError(level)

    def hidden_codes(self, role: str) -> frozenset[str]:
        """Codes of every region, district, organization and teacher outside the scope."""
        if role in NATIONAL:
            return frozenset()
        hidden = {
            region
            for region in set(self.region_of_district.values())
            if not self.sees(role, "region", region)
        }
        hidden |= {d for d in self.region_of_district if not self.sees(role, "district", d)}
        hidden |= {s for s in self.district_of_school if not self.sees(role, "school", s)}
        hidden |= {t for t, s in self.school_of_teacher.items() if s in hidden}
        return frozenset(hidden)

    @cached_property
    def _hidden(self) -> dict[str, frozenset[str]]:
        return {role: self.hidden_codes(role) for role in ROLES}

    def leaked(self, role: str, text: str) -> set[str]:
        return set(_TOKEN.findall(text)) & self._hidden[role]

    # ------------------------------------------------------------------ cases
    def cases(self, units: list[tuple[str, str]]) -> list[tuple[dict[str, str], tuple]]:
        """A case of each workflow placed at each of the units (a school's or a region's
        case), as path fillings naming the unit the case lies in."""
        cases = read_entity(self.engine, "workflow_case")
        found = []
        for level, code in units:
            if level not in ("school", "region"):
                continue
            column = "organization_code" if level == "school" else "region_code"
            here = cases[cases[column] == code]
            if level == "region":
                here = here[here["organization_code"].isna()]
            for _, first in here.groupby("workflow").head(1).iterrows():
                found.append(({"case": str(first["code"])}, ((level, code),)))
        return found

    # ------------------------------------------------------------------ records
    def frame(self, entity: str) -> pd.DataFrame:
        if entity not in self.frames:
            self.frames[entity] = read_entity(self.engine, entity)
        return self.frames[entity]

    def teachers_of(self, entity: str, row: dict[str, Any], depth: int = 0) -> set[str]:
        """Teachers a record leads to through any of its references (followed independently
        of the access layer's own choice of path)."""
        if entity == "teacher":
            return {row["code"]}
        found: set[str] = set()
        if depth > 6:
            return found
        for spec in entity_schemas()[entity].fields:
            value = row.get(spec.name)
            if spec.target is None or value is None or pd.isna(value):
                continue
            if spec.target == "teacher":
                found.add(value)
                continue
            target = self.frame(spec.target)
            if "code" not in target.columns:
                continue
            match = target[target["code"] == value]
            for record in match.to_dict("records"):
                found |= self.teachers_of(spec.target, record, depth + 1)
        return found

    def audit_count(self, username: str, entity: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.username == username, AuditEvent.entity == entity)
                )
                or 0
            )


@pytest.fixture(scope="module")
def nation(web_engine: Engine, places: Any) -> Nation:
    return Nation.load(web_engine, places)


# ----------------------------------------------------------------------------- the routes
@dataclass(frozen=True)
class Call:
    """One request of the walk: a route, its method, the filled path and what it names."""

    method: str
    route: str
    url: str
    params: dict[str, str]
    units: tuple[tuple[str, str], ...]

    @property
    def api(self) -> bool:
        return self.route.startswith("/api/")

    @property
    def bogus(self) -> bool:
        """Whether a path parameter names nothing that exists."""
        return any(
            value.lower().startswith(("no-such", "no_such")) for value in self.params.values()
        )


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, included routers flattened; the static files apart."""
    # Recent FastAPI keeps each included router as one entry of app.routes: flatten them.
    flatten = getattr(routing, "iter_route_contexts", None)
    for route in flatten(app.routes) if flatten else app.routes:
        if isinstance(getattr(route, "original_route", route), Mount):
            continue  # the static files, walked by test_static_files_are_public
        path, methods = route.path, route.methods
        assert path and methods, f"unexpected kind of route: {route!r}"
        for method in sorted(set(methods) - {"HEAD"}):
            yield method, path


def _fillings(
    path: str, nation: Nation, units: list[tuple[str, str]]
) -> list[tuple[dict[str, str], tuple]]:
    """Fillings of the route's path parameters: (values, units they name). Every combination
    of units and other values, except that areas are dealt out in turn over the units (each
    area and each unit is walked, not every pair: an area page checks its scope like the unit's
    page)."""
    names = _PARAMETER.findall(path)
    choices: list[list[tuple[dict[str, str], tuple]]] = []
    dealt: dict[str, list[str]] = {}
    if "level" in names:
        choices.append([({"level": lv, "code": c}, ((lv, c),)) for lv, c in units])
    elif "code" in names:
        choices.append([({"code": c}, ((lv, c),)) for lv, c in units if lv != "nation"])
    for name in names:
        if name in ("level", "code"):
            continue
        if name == "entity":
            values = [*entity_schemas(), "no_such_entity"]
        elif name == "run":
            values = ["latest", nation.run, "no-such-run"]
        elif name == "item":
            values = [nation.item, "NO-SUCH-ITEM"]
        elif name == "area":
            dealt[name] = [*AREAS, "no_such_area"]
            continue
        elif name in FORMAT_PARAMETERS:
            values = ["pdf", "xlsx"]
        elif name == "workflow":
            values = [*WORKFLOWS, "no_such_workflow"]
        elif name == "action":
            values = ["acknowledge"]
        elif name == "case":
            choices.append([*nation.cases(units), ({"case": "NO-SUCH-CASE"}, ())])
            continue
        else:
            pytest.fail(
                f"The route {path} has the path parameter {{{name}}}, which this walk "
                "cannot fill: add its in-scope and out-of-scope values to _fillings."
            )
        choices.append([({name: value}, ()) for value in values])
    combinations = list(itertools.product(*choices))
    longest = max([len(combinations), *map(len, dealt.values())])
    fillings = []
    for index in range(longest):
        values: dict[str, str] = {}
        units: tuple = ()
        for part, named in combinations[index % len(combinations)]:
            values |= part
            units += named
        values |= {name: dealt[name][index % len(dealt[name])] for name in dealt}
        fillings.append((values, units))
    return fillings


def _calls(
    app: FastAPI, nation: Nation, method: str | None = None, role: str | None = None
) -> list[Call]:
    """The walk's requests; a national account walks one unit of each level (it sees all)."""
    units = nation.units
    if role in NATIONAL:
        units = list({level: (level, code) for level, code in units}.values())
    calls = []
    for verb, path in _routes(app):
        if method and verb != method:
            continue
        for values, named in _fillings(path, nation, units):
            url = _PARAMETER_SPEC.sub(lambda match, v=values: v[match.group(1)], path)
            calls.append(Call(verb, path, url, values, named))
    return calls


def _text(response: Response) -> str:
    """The response as text to search for codes: XLSX and PDF files are opened."""
    kind = response.headers.get("content-type", "")
    location = response.headers.get("location", "")
    if "spreadsheetml" in kind:
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return location + " ".join(
                book.read(name).decode("utf-8", "replace") for name in book.namelist()
            )
    if "pdf" in kind:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(response.content))
        return location + " ".join(page.extract_text() for page in reader.pages)
    return location + response.text


def _reaches_a_place(entity: str) -> bool:
    """Whether the entity's references lead to a school, district or region."""
    seen, todo = set(), [entity]
    while todo:
        name = todo.pop()
        if name in ("organization", "district", "region"):
            return True
        seen.add(name)
        todo += [
            spec.target
            for spec in entity_schemas()[name].fields
            if spec.target is not None and spec.target not in seen
        ]
    return False


def _csrf_of(client: TestClient) -> str:
    page = client.get("/account")
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


# ----------------------------------------------------------------------------- the walk
def _expectations(role: str, call: Call, nation: Nation) -> tuple[set[int] | None, str]:
    """The statuses the call may answer with (``None``: any below 500), and why."""
    entity = call.params.get("entity")
    if call.route in AUDIT_PATHS and role not in AUDIT_READERS:
        return {403}, "the audit trail is for auditor and ministry accounts"
    if call.route in ITEM_PATHS or entity in ITEM_TABLES:
        if role not in ITEM_READERS:
            return {403, 404} if call.bogus else {403}, "item results are for ministry, analysts"
    hidden = [unit for unit in call.units if not nation.sees(role, *unit)]
    if hidden:
        return {403, 404}, f"{hidden} is outside the scope"
    if entity in entity_schemas():
        sensitivity = entity_sensitivity(entity)
        if sensitivity != "public" and not _reaches_a_place(entity):
            return {403}, "personal records that cannot be placed are shown to no one"
        if sensitivity == "restricted" and role not in PERSONAL_READERS:
            return {403}, "child-rights incidents are for region, district and school accounts"
        if sensitivity == "personal" and role in NATIONAL:
            return {403}, "personal records are not for national accounts"
        if sensitivity == "personal" and role == "teacher":
            return {200, 403}, "a teacher reads their own personal records or none"
        if call.method == "GET":
            return {200}, "a record list the account may read"
    return None, ""


def _check(role: str, call: Call, response: Response, nation: Nation, audits: int) -> list[str]:
    """Every rule the walk proves, for one response; the problems found."""
    problems = []
    status = response.status_code
    where = f"{role} {call.method} {call.url} -> {status}"
    if status >= 500:
        return [f"{where}: server error {response.text[:200]}"]
    allowed, why = _expectations(role, call, nation)
    if allowed is not None and status not in allowed:
        problems.append(f"{where}: expected {sorted(allowed)} ({why})")
    if status == 200 and role not in NATIONAL and call.route not in PUBLIC_PATHS:
        leaked = nation.leaked(role, _text(response))
        if leaked:
            problems.append(f"{where}: names units outside the scope {sorted(leaked)[:8]}")
    entity = call.params.get("entity")
    if status == 200 and entity in entity_schemas():
        if entity_sensitivity(entity) != "public":
            after = nation.audit_count(role, entity)
            if after != audits + 1:
                problems.append(f"{where}: {after - audits} audit events instead of 1")
        if role == "teacher" and call.api and entity_sensitivity(entity) == "personal":
            own = nation.scope_code["teacher"]
            for row in response.json()["rows"]:
                if own not in nation.teachers_of(entity, row):
                    problems.append(f"{where}: a row that is not the teacher's own: {row}")
                    break
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_route_as_every_role(
    role: str, web_app: FastAPI, nation: Nation, client_as: Callable[[str], TestClient]
) -> None:
    client = client_as(role)
    problems: list[str] = []
    calls = _calls(web_app, nation, method="GET", role=role)
    for call in calls:
        entity = call.params.get("entity", "")
        audits = nation.audit_count(role, entity) if entity in entity_schemas() else 0
        response = client.get(call.url, follow_redirects=False)
        problems += _check(role, call, response, nation, audits)
    assert len(calls) > 100
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_every_route_without_a_session(web_app: FastAPI, nation: Nation) -> None:
    problems = []
    with TestClient(web_app, base_url="http://127.0.0.1") as client:
        for call in _calls(web_app, nation):
            if call.route in PUBLIC_PATHS:
                continue
            response = client.request(call.method, call.url, follow_redirects=False)
            where = f"{call.method} {call.url} -> {response.status_code}"
            if call.api:
                if response.status_code != 401:
                    problems.append(f"{where}: the API answers 401 without a session")
            elif response.status_code != 303 or not response.headers["location"].startswith(
                "/login"
            ):
                problems.append(f"{where}: pages redirect to /login without a session")
        for path in ("/login", "/api/openapi.json", "/api/docs"):
            assert client.get(path).status_code == 200, path
    assert not problems, "\n".join(problems[:40])


def test_static_files_are_public(web_app: FastAPI) -> None:
    mounts = [route for route in web_app.routes if isinstance(route, Mount)]
    assert [mount.path for mount in mounts] == ["/static"]
    with TestClient(web_app, base_url="http://127.0.0.1") as client:
        assert client.get("/static/sapa.js").status_code == 200


# ----------------------------------------------------------------------------- CSRF
def _post(client: TestClient, call: Call, token: str | None) -> Response:
    headers = {"X-CSRF-Token": token} if token is not None else {}
    # A wrong current password: were the token not checked, nothing would change either.
    fields = {"current_password": "not the password", "new_password": "another long password"}
    if call.api:
        return client.post(call.url, json=fields, headers=headers, follow_redirects=False)
    form = fields | ({"csrf_token": token} if token is not None else {})
    return client.post(call.url, data=form, headers=headers, follow_redirects=False)


@pytest.mark.parametrize("role", ROLES)
def test_state_changes_need_the_sessions_csrf_token(
    role: str, web_app: FastAPI, nation: Nation, client_as: Callable[[str], TestClient]
) -> None:
    client = client_as(role)
    other = client_as("other-school")
    foreign = _csrf_of(other)
    own = _csrf_of(client)
    assert foreign != own
    posts = [call for call in _calls(web_app, nation, method="POST") if call.route != "/login"]
    assert {"/logout", "/account/password", "/api/v1/me/password"} <= {c.route for c in posts}
    problems = []
    for call in posts:
        for name, token in (("no token", None), ("another account's token", foreign)):
            response = _post(client, call, token)
            if response.status_code != 403 or "CSRF" not in response.text:
                problems.append(f"{call.url} with {name} -> {response.status_code}")
    assert not problems, "\n".join(problems)
    assert client.get("/api/v1/me").status_code == 200, "the session survived"
    assert other.get("/api/v1/me").status_code == 200


def test_sign_in_needs_the_forms_token(web_app: FastAPI) -> None:
    with TestClient(web_app, base_url="http://127.0.0.1") as client:
        client.get("/login")
        for token in ("", "0" * 32):
            response = client.post(
                "/login",
                data={"username": "ministry", "password": "x", "csrf_token": token},
                follow_redirects=False,
            )
            assert response.status_code == 400
            assert "sapa_session" not in response.cookies
        assert client.get("/api/v1/me").status_code == 401


# ----------------------------------------------------------------------------- filters
@pytest.mark.parametrize(
    ("role", "column", "place"),
    [
        ("school", "organization_code", "other_school"),
        ("school", "organization_code", "same_district_other_school"),
        ("teacher", "organization_code", "same_district_other_school"),
        ("district", "organization_code", "same_region_other_district"),
        ("district", "organization_code", "other_school"),
        ("region", "organization_code", "other_school"),
        ("region", "region_code", "other_region"),
        ("school", "region_code", "other_region"),
        ("school", "unit", "other_school"),
        ("district", "unit", "other_district"),
    ],
)
def test_a_filter_outside_the_scope_returns_no_rows(
    role: str, column: str, place: str, places: Any, client_as: Callable[[str], TestClient]
) -> None:
    value = getattr(places, place)
    client = client_as(role)
    listed = client.get("/api/v1/entities").json()
    filtered = [name for name in listed if column in entity_schemas()[name].field_names]
    assert filtered, f"no entity readable by {role} has the column {column}"
    for entity in filtered:
        response = client.get(f"/api/v1/entities/{entity}", params={column: value})
        assert response.status_code == 200, (entity, response.text)
        body = response.json()
        assert (body["total"], body["rows"]) == (0, []), (entity, column, value)


def test_own_filters_do_return_rows(places: Any, client_as: Callable[[str], TestClient]) -> None:
    school = client_as("school")
    response = school.get("/api/v1/entities/teacher", params={"organization_code": places.school})
    assert response.json()["total"] > 0
    region = client_as("region")
    response = region.get("/api/v1/entities/organization", params={"code": places.school})
    assert response.json()["total"] == 1


def test_result_filters_outside_the_scope_return_no_rows(
    places: Any, client_as: Callable[[str], TestClient]
) -> None:
    school = client_as("school")
    for path, params in [
        ("/api/v1/runs/latest/indicators", {"level": "school", "unit": places.other_school}),
        ("/api/v1/runs/latest/indicators", {"unit": places.same_district_other_school}),
        ("/api/v1/runs/latest/indicators", {"level": "region", "unit": places.other_region}),
        ("/api/v1/runs/latest/flags", {"unit": places.other_school}),
        ("/api/v1/schools", {"region": places.other_region}),
    ]:
        response = school.get(path, params=params)
        assert response.status_code == 200, path
        assert response.json()["rows"] == [], (path, params)
    own = school.get("/api/v1/schools", params={"district": places.district}).json()["rows"]
    assert [row["code"] for row in own] == [places.school]
    own = school.get(
        "/api/v1/runs/latest/indicators", params={"level": "school", "unit": places.school}
    )
    assert own.json()["total"] > 0
