"""Accounts and sign-in: Argon2id passwords, server-side sessions, CSRF tokens, rate limits.

* Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended
  parameter set); hashes are upgraded on sign-in when the parameters change.
* A session is a random 256-bit token in an HttpOnly, SameSite=Lax cookie; the database keeps
  only its SHA-256, so a copy of the database cannot be used to sign in. Sessions end after
  :data:`IDLE_TIMEOUT` without a request and at the latest after :data:`SESSION_LIFETIME`.
* Every session has its own CSRF token, which every state-changing request must echo in the
  ``X-CSRF-Token`` header or the ``csrf_token`` form field.
* Sign-in is refused for :data:`LOCKOUT` after :data:`MAX_FAILURES_PER_ACCOUNT` failed attempts
  on one account or :data:`MAX_FAILURES_PER_CLIENT` from one address, whether or not the
  account exists (so the limit reveals nothing about which names exist).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from sapa.domain.access import LoginAttempt, LoginSession, Role, UserAccount
from sapa.errors import AccessDeniedError, DataValidationError, Problem
from sapa.web.access import NATIONAL_ROLES, Principal, resolve_principal
from sapa.web.i18n import LANGUAGES

__all__ = [
    "IDLE_TIMEOUT",
    "LOCKOUT",
    "MAX_FAILURES_PER_ACCOUNT",
    "MAX_FAILURES_PER_CLIENT",
    "MIN_PASSWORD_LENGTH",
    "SESSION_LIFETIME",
    "Session",
    "SignInRefused",
    "add_user",
    "change_password",
    "end_session",
    "same_token",
    "session_for",
    "sign_in",
]

MIN_PASSWORD_LENGTH = 10
SESSION_LIFETIME = dt.timedelta(hours=8)
IDLE_TIMEOUT = dt.timedelta(minutes=30)
LOCKOUT = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
_TOUCH_EVERY = dt.timedelta(minutes=1)

_hasher = PasswordHasher()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignInRefused(Exception):
    """Sign-in failed; ``locked`` tells a rate-limit refusal from a wrong name or password."""

    def __init__(self, locked: bool) -> None:
        super().__init__("Too many failed attempts." if locked else "Wrong name or password.")
        self.locked = locked


@dataclass(frozen=True)
class Session:
    """A signed-in session: its cookie token, CSRF token and principal."""

    token: str
    csrf_token: str
    principal: Principal


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DataValidationError(
            Problem(
                "<account>",
                None,
                "password",
                f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            )
        )


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    *,
    scope_code: str | None = None,
    display_name: str | None = None,
    language: str = "kk",
) -> Principal:
    """Create an account (names are stored in lower case) and return its resolved principal.

    Raises :class:`DataValidationError` for a taken name, a short password, an unknown role or
    language, or a scope that the role needs but is missing or not in the data.
    """
    username = username.strip().lower()
    problems = []
    if role not in {r.value for r in Role}:
        problems.append(f"role must be one of {sorted(r.value for r in Role)}, not {role!r}")
    elif Role(role) in NATIONAL_ROLES and scope_code:
        problems.append(f"{role} accounts see the whole country and take no scope")
    elif Role(role) not in NATIONAL_ROLES and not scope_code:
        problems.append(f"{role} accounts need a scope code (the {role}'s code)")
    if language not in LANGUAGES:
        problems.append(f"language must be one of {LANGUAGES}, not {language!r}")
    if not username or len(username) > 60:
        problems.append("the name must have 1 to 60 characters")
    if problems:
        raise DataValidationError([Problem("<account>", None, None, text) for text in problems])
    _check_password(password)
    with engine.begin() as connection:
        if connection.scalar(select(UserAccount.id).where(UserAccount.username == username)):
            raise DataValidationError(
                Problem("<account>", None, "username", f"the name {username!r} is taken")
            )
        connection.execute(
            insert(UserAccount).values(
                username=username,
                display_name=display_name or username,
                role=Role(role),
                scope_code=scope_code or None,
                language=language,
                password_hash=_hasher.hash(password),
                active=True,
                created_at=_now(),
            )
        )
        account = _account(connection, username)
        assert account is not None
        try:
            return resolve_principal(connection, account)
        except AccessDeniedError as exc:
            raise DataValidationError(Problem("<account>", None, "scope", str(exc))) from exc


def _account(connection: Connection, username: str) -> UserAccount | None:
    row = connection.execute(
        select(UserAccount.__table__).where(UserAccount.username == username)
    ).first()
    return None if row is None else UserAccount(**row._mapping)


def _failures_since(connection: Connection, column: object, value: str, since: dt.datetime) -> int:
    return int(
        connection.scalar(
            select(func.count()).where(
                column == value,  # type: ignore[operator]
                LoginAttempt.at >= since,
                LoginAttempt.succeeded.is_(False),
            )
        )
        or 0
    )


def sign_in(connection: Connection, username: str, password: str, client: str) -> Session:
    """Check a name and password and open a session; every attempt is recorded.

    Raises :class:`SignInRefused` for a wrong name or password, an inactive account, or while
    the account or client is locked out.
    """
    username = username.strip().lower()[:60]
    now = _now()
    since = now - LOCKOUT
    locked = (
        _failures_since(connection, LoginAttempt.username, username, since)
        >= MAX_FAILURES_PER_ACCOUNT
        or _failures_since(connection, LoginAttempt.client, client, since)
        >= MAX_FAILURES_PER_CLIENT
    )
    account = None if locked else _account(connection, username)
    valid = False
    if account is not None and account.active:
        try:
            valid = _hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            valid = False
    connection.execute(
        insert(LoginAttempt).values(username=username, client=client[:64], at=now, succeeded=valid)
    )
    if not valid or account is None:
        raise SignInRefused(locked=locked)
    if _hasher.check_needs_rehash(account.password_hash):
        connection.execute(
            update(UserAccount)
            .where(UserAccount.id == account.id)
            .values(password_hash=_hasher.hash(password))
        )
    principal = resolve_principal(connection, account)
    token, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
    connection.execute(
        insert(LoginSession).values(
            token_sha256=_digest(token),
            user_account_id=account.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return Session(token, csrf, principal)


def session_for(engine: Engine, token: str) -> Session | None:
    """The live session of a cookie token, or ``None`` (unknown, expired, idle or inactive).

    Reads on their own connection; the expiry of a dead session and the once-a-minute
    ``last_seen_at`` update are short transactions of their own, so a request never holds the
    database's write lock (SQLite has one for the whole file) while it reads its data.
    """
    if not token:
        return None
    now = _now()
    with engine.connect() as connection:
        row = connection.execute(
            select(LoginSession.id, LoginSession.csrf_token, LoginSession.last_seen_at)
            .add_columns(LoginSession.expires_at, LoginSession.user_account_id)
            .where(LoginSession.token_sha256 == _digest(token))
        ).first()
        if row is None:
            return None
        alive = row.expires_at > now and row.last_seen_at + IDLE_TIMEOUT > now
        account_row = connection.execute(
            select(UserAccount.__table__).where(UserAccount.id == row.user_account_id)
        ).first()
        principal = None
        if alive and account_row is not None and account_row.active:
            try:
                principal = resolve_principal(connection, UserAccount(**account_row._mapping))
            except AccessDeniedError:
                principal = None
    if not alive:
        with engine.begin() as connection:
            connection.execute(delete(LoginSession).where(LoginSession.id == row.id))
        return None
    if principal is None:
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        with engine.begin() as connection:
            connection.execute(
                update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=now)
            )
    return Session(token, row.csrf_token, principal)


def end_session(connection: Connection, token: str) -> None:
    """Sign out: the session's record is deleted, so the cookie is worthless."""
    connection.execute(delete(LoginSession).where(LoginSession.token_sha256 == _digest(token)))


def change_password(connection: Connection, username: str, current: str, new: str) -> None:
    """Replace a password after checking the current one; ends the account's other sessions.

    Raises :class:`SignInRefused` for a wrong current password and
    :class:`DataValidationError` for a short new one.
    """
    account = _account(connection, username)
    try:
        valid = account is not None and _hasher.verify(account.password_hash, current)
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid or account is None:
        raise SignInRefused(locked=False)
    _check_password(new)
    connection.execute(
        update(UserAccount)
        .where(UserAccount.id == account.id)
        .values(password_hash=_hasher.hash(new))
    )
    connection.execute(delete(LoginSession).where(LoginSession.user_account_id == account.id))


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected, given or "")
