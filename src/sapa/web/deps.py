"""Request dependencies shared by the API, the pages and the reports: the transaction, the
signed-in user, the data-access layer, CSRF checks and the interface language.

Every request runs in one database transaction (committed when the response is ready), so an
audit record is written together with the read it describes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from sapa.web.access import DataAccess, Principal
from sapa.web.accounts import Session, same_token, session_for
from sapa.web.casework import CaseAccess
from sapa.web.i18n import DEFAULT_LANGUAGE, LANGUAGES

__all__ = [
    "LANGUAGE_COOKIE",
    "SESSION_COOKIE",
    "Access",
    "Cases",
    "CsrfRejected",
    "NotSignedIn",
    "SignedIn",
    "Transaction",
    "client_address",
    "language_of",
    "require_csrf",
    "today_of",
]

SESSION_COOKIE = "sapa_session"
LANGUAGE_COOKIE = "sapa_lang"


class NotSignedIn(Exception):
    """No live session: the API answers 401, pages redirect to the sign-in page."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token (answered 403)."""


def _transaction(request: Request) -> Iterator[Connection]:
    engine: Engine = request.app.state.engine
    with engine.begin() as connection:
        yield connection


# Committed before the response is sent (scope="function"): with FastAPI's default for `yield`
# dependencies the commit would follow the response, and a browser following the redirect
# after sign-in could arrive before its session is stored.
Transaction = Annotated[Connection, Depends(_transaction, scope="function")]


def _session(request: Request) -> Session:
    session = session_for(request.app.state.engine, request.cookies.get(SESSION_COOKIE, ""))
    if session is None:
        raise NotSignedIn
    return session


SignedIn = Annotated[Session, Depends(_session)]


def _access(session: SignedIn, connection: Transaction) -> DataAccess:
    return DataAccess(connection, session.principal)


Access = Annotated[DataAccess, Depends(_access)]


def today_of(request: Request) -> dt.date:
    """The working day: the application's ``as_of`` date if it has one (a demonstration on a
    dated snapshot), else the calendar day."""
    return request.app.state.as_of or dt.date.today()


def _cases(request: Request, access: Access) -> CaseAccess:
    return CaseAccess(access, today_of(request))


Cases = Annotated[CaseAccess, Depends(_cases)]


async def require_csrf(request: Request, session: SignedIn) -> None:
    """Refuse a state-changing request whose CSRF token does not match the session's."""
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given = str((await request.form()).get("csrf_token", ""))
    if not same_token(session.csrf_token, given):
        raise CsrfRejected


def language_of(request: Request, principal: Principal | None) -> str:
    """The interface language: ``?lang=`` if given, else the language cookie, else the
    account's language, else the default."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return principal.language if principal else DEFAULT_LANGUAGE


def client_address(request: Request) -> str:
    """The client's address as the server sees it (the proxy's, behind one)."""
    return request.client.host if request.client else "unknown"
