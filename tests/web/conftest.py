"""Fixtures of the web tests: a tiny synthetic nation, imported and assessed once per session,
with one account per role, and the application on it.

On SQLite by default; with ``SAPA_TEST_DATABASE_URL`` set (``make test``'s second pass) the
nation goes into its own PostgreSQL database next to the test database, so the per-test
truncation of the ``engine`` fixture never touches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text

from sapa.ingest import import_files, initialise, read_entity
from sapa.pipeline import RunSettings, run_assessment
from sapa.store import make_engine
from sapa.synth import generate_nation, import_paths
from sapa.web import add_user, create_app

POSTGRES_URL = __import__("os").environ.get("SAPA_TEST_DATABASE_URL")
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Places:
    """Codes of one school's place in the hierarchy, and of a school elsewhere."""

    region: str
    district: str
    school: str
    teacher: str
    other_region: str
    other_district: str
    other_school: str
    other_teacher: str
    same_region_other_district: str | None
    same_district_other_school: str


ROLES = ("ministry", "region", "district", "school", "teacher", "analyst", "auditor")


def _places(engine: Engine) -> Places:
    schools = read_entity(engine, "organization")
    settlements = read_entity(engine, "settlement").set_index("code")
    districts = read_entity(engine, "district").set_index("code")
    schools = schools[schools["kind"] == "general_secondary"].copy()
    schools["district"] = settlements.loc[schools["settlement_code"], "district_code"].to_numpy()
    schools["region"] = districts.loc[schools["district"], "region_code"].to_numpy()
    teachers = read_entity(engine, "teacher")
    per_district = schools.groupby("district").size()
    home = schools[schools["district"].map(per_district) > 1].iloc[0]
    other = schools[schools["region"] != home["region"]].iloc[0]
    same_region = schools[
        (schools["region"] == home["region"]) & (schools["district"] != home["district"])
    ]
    same_district = schools[
        (schools["district"] == home["district"]) & (schools["code"] != home["code"])
    ]
    return Places(
        region=home["region"],
        district=home["district"],
        school=home["code"],
        teacher=teachers.loc[teachers["organization_code"] == home["code"], "code"].iloc[0],
        other_region=other["region"],
        other_district=other["district"],
        other_school=other["code"],
        other_teacher=teachers.loc[teachers["organization_code"] == other["code"], "code"].iloc[0],
        same_region_other_district=same_region["code"].iloc[0] if len(same_region) else None,
        same_district_other_school=same_district["code"].iloc[0],
    )


def _database(tmp_path: Path) -> Engine:
    if not POSTGRES_URL:
        return make_engine(f"sqlite:///{tmp_path / 'web.sqlite'}")
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_web"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_engine(url.set(database=name).render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def web_nation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("web") / "nation"
    generate_nation(out, scale="tiny", seed=7)
    return out


@pytest.fixture(scope="session")
def web_engine(web_nation: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The assessed tiny nation with the accounts of :func:`accounts`."""
    engine = _database(tmp_path_factory.mktemp("webdb"))
    initialise(engine)
    import_files(engine, import_paths(web_nation))
    run_assessment(engine, RunSettings(year=2025, data_dir=web_nation))
    places = _places(engine)
    scope = {
        "region": places.region,
        "district": places.district,
        "school": places.school,
        "teacher": places.teacher,
    }
    for role in ROLES:
        add_user(engine, role, PASSWORD, role, scope_code=scope.get(role), language="en")
    add_user(
        engine, "other-school", PASSWORD, "school", scope_code=places.other_school, language="en"
    )
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def places(web_engine: Engine) -> Places:
    return _places(web_engine)


@pytest.fixture(scope="session")
def web_app(web_engine: Engine):  # type: ignore[no-untyped-def]
    return create_app(web_engine, secure_cookies=False)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    """Signs the client in through the form, as a browser does; returns it."""
    form = client.get("/login")
    token = form.cookies.get("sapa_login_csrf") or client.cookies.get("sapa_login_csrf")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def client_as(web_app):  # type: ignore[no-untyped-def]
    """``client_as(role)``: a test client signed in as that role's account."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(web_app, base_url="http://127.0.0.1")
        clients.append(client)
        return sign_in(client, username)

    yield make
    for client in clients:
        client.close()


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token, as the pages embed it."""
    page = client.get("/account")
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
