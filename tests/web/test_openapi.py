"""The API against its own OpenAPI description, by property-based testing with schemathesis.

Schemathesis reads ``/api/openapi.json`` from the application and generates requests for every
operation (path parameters, query filters, formats and bodies, valid or not), sent with the
session cookie and CSRF token of the ministry account, which sees the whole country. Every
response must be below 500 and, where the description documents its status, match the
documented schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from conftest import PASSWORD
from sapa.store import make_engine
from sapa.web import create_app
from sapa.web.deps import SESSION_COOKIE

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def ministry(web_app: FastAPI) -> dict[str, str]:
    """Headers of a signed-in ministry session: its cookie and CSRF token."""
    with TestClient(web_app, base_url="http://127.0.0.1") as client:
        form = client.get("/login")
        token = form.cookies["sapa_login_csrf"]
        response = client.post(
            "/login",
            data={"username": "ministry", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        session = response.cookies[SESSION_COOKIE]
        page = client.get("/account").text
    marker = 'name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    csrf = page[start : page.index('"', start)]
    return {"Cookie": f"{SESSION_COOKIE}={session}", "X-CSRF-Token": csrf}


# The description is read from an application on an empty in-memory database (it depends on the
# code only, and the generated tests must exist at collection time); the requests go to
# ``web_app``, on the assessed tiny nation.
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json", create_app(make_engine("sqlite://"), secure_cookies=False)
)


def test_the_description_is_the_applications(web_app: FastAPI) -> None:
    assert schema.raw_schema == web_app.openapi()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_error_and_responses_as_documented(
    case: schemathesis.Case, web_app: FastAPI, ministry: dict[str, str]
) -> None:
    # A wrong current password is refused before anything changes, so the generated password
    # changes leave the shared ministry account as it was.
    case.call_and_validate(
        app=web_app, headers=ministry, checks=[not_a_server_error, response_schema_conformance]
    )
