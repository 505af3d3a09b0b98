"""The web application: the API, the dashboard pages, the reports and their static files.

``create_app(engine)`` builds one FastAPI application on a database; ``sapa serve`` runs it
with uvicorn. Every response carries a strict Content-Security-Policy (scripts and styles only
from the application itself), and errors are answered in one way: JSON under ``/api``, a page
elsewhere.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from sapa import __version__
from sapa.config import get_settings
from sapa.errors import AccessDeniedError, DataValidationError
from sapa.store import make_engine
from sapa.web import api, pages, reports, workflow_pages
from sapa.web.access import NotFound
from sapa.web.deps import CsrfRejected, NotSignedIn
from sapa.workflows import StepRefused

__all__ = ["STATIC", "create_app", "create_configured_app"]

STATIC = Path(__file__).parent / "static"

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(
    engine: Engine, *, secure_cookies: bool = True, as_of: dt.date | None = None
) -> FastAPI:
    """The application on ``engine``'s database (migrated to the head revision).

    ``secure_cookies`` marks the session cookie ``Secure`` (HTTPS only); turn it off only for
    plain-HTTP use on a loopback address (the demo, tests). ``as_of`` fixes the working day
    (deadlines, overdue cases, the dates steps record) for a dated snapshot such as the
    synthetic nation; by default it is the calendar day.
    """
    app = FastAPI(
        title="Sapa",
        version=__version__,
        description="National system for assessing the quality of education: records, "
        "indicators with their uncertainty, support flags and assessment results, each "
        "limited to the caller's role and place in the hierarchy.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.secure_cookies = secure_cookies
    app.state.as_of = as_of
    # Mounted first: the pages' /{level}/{code} route would otherwise capture /static/sapa.js.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    # Before the pages: their /{level}/{code} route would capture /workflows/{workflow}.
    app.include_router(workflow_pages.router)
    app.include_router(pages.router)
    app.include_router(reports.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, _: CsrfRejected) -> Response:
        return _error(request, 403, "The request lacks this session's CSRF token.")

    @app.exception_handler(AccessDeniedError)
    async def denied(request: Request, exc: AccessDeniedError) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(StepRefused)
    async def refused(request: Request, exc: StepRefused) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(DataValidationError)
    async def invalid(request: Request, exc: DataValidationError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        return _error(request, 400, "The request's parameters are not valid.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    return app


def create_configured_app() -> FastAPI:
    """The application on the configured database (``SAPA_DATABASE_URL``, else the embedded
    SQLite file) with the configured cookie policy: the factory ``sapa serve`` hands to each
    uvicorn worker."""
    settings = get_settings()
    return create_app(make_engine(), secure_cookies=settings.secure_cookies, as_of=settings.as_of)


def _error(request: Request, status: int, detail: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status)
    return pages.error_page(request, status, detail)
