"""Accounts and sign-in: Argon2id hashes, validation, sessions that expire, CSRF, rate limits."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from conftest import PASSWORD, csrf_of, sign_in
from sapa.domain.access import LoginAttempt, LoginSession, UserAccount
from sapa.errors import DataValidationError
from sapa.web import add_user
from sapa.web.accounts import MAX_FAILURES_PER_ACCOUNT


def test_passwords_are_stored_as_argon2id_hashes_only(web_engine: Engine) -> None:
    with web_engine.connect() as connection:
        hashes = connection.scalars(select(UserAccount.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"role": "warden"}, "role must be one of"),
        ({"role": "ministry", "scope_code": "KZ-71"}, "take no scope"),
        ({"role": "school"}, "need a scope code"),
        ({"role": "school", "scope_code": "NO-SUCH-SCHOOL"}, "not in the data"),
        ({"role": "analyst", "password": "short"}, "at least 10 characters"),
        ({"role": "analyst", "language": "de"}, "language must be one of"),
        ({"role": "analyst", "username": "Ministry"}, "is taken"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(
    web_engine: Engine, arguments: dict, reason: str
) -> None:
    values = {"username": "newcomer", "password": PASSWORD, **arguments}
    with pytest.raises(DataValidationError, match=reason):
        add_user(
            web_engine,
            values.pop("username"),
            values.pop("password"),
            values.pop("role"),
            **values,
        )
    with web_engine.connect() as connection:
        assert (
            connection.scalar(select(UserAccount.id).where(UserAccount.username == "newcomer"))
            is None
        )


def test_a_wrong_password_is_refused_and_the_account_then_locked(web_app, web_engine) -> None:
    add_user(web_engine, "lockme", PASSWORD, "analyst")
    client = TestClient(web_app, base_url="http://127.0.0.1")
    form = client.get("/login")
    token = form.cookies.get("sapa_login_csrf")
    statuses = [
        client.post(
            "/login",
            data={"username": "lockme", "password": "wrong password!", "csrf_token": token},
        ).status_code
        for _ in range(MAX_FAILURES_PER_ACCOUNT)
    ]
    assert statuses == [401] * MAX_FAILURES_PER_ACCOUNT
    # Locked now: even the right password is refused, with 429, and nothing signs in.
    locked = client.post(
        "/login", data={"username": "lockme", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429 and "15" in locked.text
    assert "sapa_session" not in client.cookies
    with web_engine.connect() as connection:
        attempts = connection.scalars(
            select(LoginAttempt.succeeded).where(LoginAttempt.username == "lockme")
        ).all()
    assert attempts == [False] * (MAX_FAILURES_PER_ACCOUNT + 1)


def test_sign_in_needs_the_forms_token_and_follows_only_local_paths(web_app) -> None:
    client = TestClient(web_app, base_url="http://127.0.0.1")
    forged = client.post("/login", data={"username": "ministry", "password": PASSWORD})
    assert forged.status_code == 400 and "sapa_session" not in client.cookies
    client.get("/login")
    token = client.cookies.get("sapa_login_csrf")
    response = client.post(
        "/login",
        data={
            "username": "MINISTRY ",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_sessions_end_on_sign_out_and_when_idle(web_app, web_engine) -> None:
    client = sign_in(TestClient(web_app, base_url="http://127.0.0.1"), "analyst")
    assert client.get("/api/v1/me").json()["role"] == "analyst"
    # Without the CSRF token, signing out is refused and the session lives on.
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/api/v1/me").status_code == 200
    token = csrf_of(client)
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/v1/me").status_code == 401

    idle = sign_in(TestClient(web_app, base_url="http://127.0.0.1"), "auditor")
    with web_engine.begin() as connection:
        auditor = select(UserAccount.id).where(UserAccount.username == "auditor")
        connection.execute(
            update(LoginSession)
            .where(LoginSession.user_account_id.in_(auditor.scalar_subquery()))
            .values(last_seen_at=dt.datetime(2000, 1, 1))
        )
    assert idle.get("/api/v1/me").status_code == 401
    assert idle.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_changing_the_password_ends_every_session(web_app, web_engine) -> None:
    add_user(web_engine, "changer", PASSWORD, "analyst")
    client = sign_in(TestClient(web_app, base_url="http://127.0.0.1"), "changer")
    other = sign_in(TestClient(web_app, base_url="http://127.0.0.1"), "changer")
    token = csrf_of(client)
    wrong = client.post(
        "/api/v1/me/password",
        json={"current_password": "not it at all", "new_password": "a new password"},
        headers={"X-CSRF-Token": token},
    )
    assert wrong.status_code == 403
    done = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a new password"},
        headers={"X-CSRF-Token": token},
    )
    assert done.status_code == 204
    assert other.get("/api/v1/me").status_code == 401
    sign_in(TestClient(web_app, base_url="http://127.0.0.1"), "changer", "a new password")
