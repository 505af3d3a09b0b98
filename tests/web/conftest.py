"""Fixtures of the web tests: a tiny synthetic nation, imported and assessed once per session,
with one account per role, the application on it, and that application served to Debian's
headless Chromium.

On SQLite by default; with ``SAPA_TEST_DATABASE_URL`` set (``make test``'s second pass) the
nation goes into its own PostgreSQL database next to the test database, so the per-test
truncation of the ``engine`` fixture never touches it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright
from sqlalchemy import Engine, create_engine, make_url, text

from sapa.ingest import import_files, initialise, read_entity
from sapa.pipeline import RunSettings, run_assessment
from sapa.store import make_engine
from sapa.synth import REFERENCE_DATE, generate_nation, import_paths
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
    return create_app(web_engine, secure_cookies=False, as_of=REFERENCE_DATE)


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


# ----------------------------------------------------------------------------- the browser
# Reports every CSP violation on the console with its directive (the script is injected by the
# browser, not by the page, so the policy does not block it).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI);
});
"""


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail(
            "Debian's chromium is not installed: run `apt-get install chromium` "
            "(or `make test`, which installs it through scripts/ensure-chromium)."
        )
    return found


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def live_server(web_app: FastAPI) -> Iterator[str]:
    """The application served by uvicorn on 127.0.0.1 and a free port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        web_app, log_level="warning", access_log=False, ws="none", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            pytest.fail(f"The test server did not answer on {base} within 30 s.")
        time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (without the sandbox when running as root)."""
    executable = _chromium()
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What went wrong in the browser: console errors (CSP violations included), uncaught
    exceptions and failed requests."""

    errors: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def exception(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    def failed(self, request: Request) -> None:
        self.errors.append(f"request failed: {request.url} ({request.failure})")

    def check(self, where: str = "", *, allow_http_errors: bool = False) -> None:
        """Fails on the problems seen since the last check (a refused page's own status may be
        allowed), and forgets them."""
        seen, self.errors = self.errors, []
        if allow_http_errors:
            seen = [e for e in seen if "the server responded with a status of 4" not in e]
        assert not seen, f"{where}: the browser reported\n" + "\n".join(seen)


@pytest.fixture
def watched(browser: Browser, live_server: str) -> Iterator[tuple[Page, Watch]]:
    """A page in a fresh browser context (no cookies) and what its console reports."""
    context = browser.new_context(base_url=live_server, locale="en-GB")
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(60_000)
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    watch = Watch()
    page.on("console", watch.console)
    page.on("pageerror", watch.exception)
    page.on("requestfailed", watch.failed)
    yield page, watch
    context.close()
