"""The dashboard: server-rendered pages (Jinja2), partial updates with HTMX, charts with ECharts.

Pages, all read through the data-access layer and so limited to the user's scope:

* ``/nation`` — the national overview with the map of the 20 regions (ministry, analysts,
  auditors); every other account opens on its own region, district or school;
* ``/region/{code}``, ``/district/{code}``, ``/school/{code}`` — a unit against the nation:
  headline indicators with intervals, the units one level down, schools needing support with
  reasons, rank intervals; for a school, its report card;
* ``/{level}/{code}/area/{area}`` — one area's indicators (teachers, infrastructure, meals and
  welfare, leadership programme, outcomes);
* ``/assessment`` — the technical page of the calibration: item statistics, item curves, DIF;
* ``/records`` — the records the account may read (personal data audited), ``/audit`` — the
  audit trail, ``/account`` — the password.

Charts are described by ECharts options built here and embedded as JSON in ``data-chart``
attributes; ``static/sapa.js`` draws them, so no inline script is needed (the
Content-Security-Policy forbids it).
"""

from __future__ import annotations

import json
import math
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from sapa.domain.access import Role
from sapa.errors import DataValidationError
from sapa.irt.models import ItemBank
from sapa.web.access import NATIONAL_ROLES, NotFound, Principal, entity_sensitivity
from sapa.web.accounts import SignInRefused, change_password, end_session, sign_in
from sapa.web.deps import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Access,
    SignedIn,
    Transaction,
    client_address,
    language_of,
    require_csrf,
)
from sapa.web.i18n import LANGUAGE_NAMES, LANGUAGES, gettext_for
from sapa.web.labels import AREAS, DOMAINS, LOCALITIES, ROLES, SENSITIVITIES, format_value, label
from sapa.web.views import area_view, unit_name, unit_view

__all__ = ["REGION_TILES", "error_page", "router", "templates"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

REGION_TILES = {
    "KZ-59": (3, 0), "KZ-55": (5, 0),
    "KZ-27": (0, 1), "KZ-39": (2, 1), "KZ-11": (3, 1), "KZ-71": (4, 1), "KZ-10": (5, 1),
    "KZ-63": (6, 1),
    "KZ-23": (0, 2), "KZ-15": (1, 2), "KZ-62": (2, 2), "KZ-35": (3, 2), "KZ-33": (5, 2),
    "KZ-47": (0, 3), "KZ-43": (2, 3), "KZ-31": (3, 3), "KZ-19": (4, 3), "KZ-75": (5, 3),
    "KZ-61": (2, 4), "KZ-79": (3, 4),
}  # fmt: skip
"""Tile-grid map of the 20 regions: (column, row) keeping their relative position, so every
region has the same visual weight whatever its area (Astana and the cities of republican
significance would vanish on an area map)."""

MAP_INDICATORS = (
    "composite.index",
    "outcomes.mean.MLIT4",
    "outcomes.mean.READ4",
    "outcomes.mean.MLIT9",
    "outcomes.mean.READ9",
    "outcomes.mean.SLIT9",
    "teachers.share.pedagogue_master",
    "teachers.qualification_pass_rate",
    "conditions.places_ratio",
    "welfare.meal_coverage",
)


# ----------------------------------------------------------------------------- rendering
def _nav(principal: Principal, _: Any) -> list[tuple[str, str]]:
    """The menu of a role: its home, the areas of its home unit, and its tools."""
    level, code = principal.home
    home = "/nation" if level == "nation" else f"/{level}/{code}"
    items = [(home, _("Overview"))]
    # Area pages always name the unit: /nation/KZ/area/..., /region/KZ-11/area/...
    items += [(f"/{level}/{code}/area/{area}", _(title)) for area, title in AREAS.items()]
    if principal.role in (Role.MINISTRY, Role.ANALYST):
        items.append(("/assessment", _("Assessment")))
    items.append(("/workflows", _("Workflows")))
    items.append(("/records", _("Records")))
    if principal.role in (Role.AUDITOR, Role.MINISTRY):
        items.append(("/audit", _("Audit trail")))
    return items


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    principal: Principal | None = None,
    csrf: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the user's language, with the menu and language switch of the layout."""
    language = language_of(request, principal)
    _ = gettext_for(language)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "_": _,
            "lang": language,
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            "principal": principal,
            "role_name": _(ROLES[principal.role.value]) if principal else "",
            "locality_name": lambda code: _(LOCALITIES.get(code, code)),
            "sensitivity_name": lambda code: _(SENSITIVITIES.get(code, code)),
            "nav": _nav(principal, _) if principal else [],
            "csrf": csrf,
            "fmt": format_value,
            "label": lambda code: label(code, _),
            "tojson": _tojson,
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True
        )
    return response


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def _json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None``: JSON has no NaN, and ``JSON.parse`` in the
    browser rejects the whole chart if one is written."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def _tojson(value: Any) -> str:
    """Chart options as strict JSON (missing values as ``null``)."""
    return json.dumps(_json_safe(value), ensure_ascii=False, allow_nan=False, default=_json_default)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """The error page (no menu: the error may precede or replace the session check)."""
    return render(request, "error.html", {"status": status, "detail": detail}, status_code=status)


# ----------------------------------------------------------------------------- sign-in
def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    token = request.cookies.get("sapa_login_csrf") or secrets.token_hex(16)
    response = render(request, "login.html", {"next": _safe_next(next), "login_csrf": token})
    response.set_cookie("sapa_login_csrf", token, httponly=True, samesite="strict")
    return response


@router.post("/login")
def login(
    request: Request,
    connection: Transaction,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in (the form's token must match its cookie: login CSRF is refused too)."""
    expected = request.cookies.get("sapa_login_csrf", "")
    _ = gettext_for(language_of(request, None))
    if not expected or expected != csrf_token:
        return render(
            request,
            "login.html",
            {
                "next": _safe_next(next),
                "login_csrf": expected,
                "error": _("The form expired; try again."),
            },
            status_code=400,
        )
    try:
        session = sign_in(connection, username, password, client_address(request))
    except SignInRefused as refused:
        message = (
            _("Too many failed attempts. Try again in 15 minutes.")
            if refused.locked
            else _("Wrong name or password.")
        )
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "login_csrf": expected, "error": message},
            status_code=429 if refused.locked else 401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        path="/",
    )
    response.delete_cookie("sapa_login_csrf")
    if LANGUAGE_COOKIE not in request.cookies:
        response.set_cookie(LANGUAGE_COOKIE, session.principal.language, samesite="lax")
    return response


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request, connection: Transaction) -> Response:
    end_session(connection, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ----------------------------------------------------------------------------- overview pages
@router.get("/")
def home(session: SignedIn) -> Response:
    level, code = session.principal.home
    return RedirectResponse("/nation" if level == "nation" else f"/{level}/{code}", status_code=303)


def _map_chart(values: pd.DataFrame, regions: pd.DataFrame, indicator: str, lang: str) -> dict:
    """ECharts options of the tile map: one square per region, coloured by the indicator."""
    by_code = values.set_index("unit")["value"] if len(values) else pd.Series(dtype=float)
    names = regions.set_index("code")[f"name_{lang}"]
    data = []
    for code, (column, row) in REGION_TILES.items():
        value = by_code.get(code)
        shown = format_value(indicator, None if value is None or pd.isna(value) else value)
        short = str(names.get(code, code)).replace(" облысы", "").replace(" область", "")
        short = short.replace(" Region", "").replace("ская", ".").replace("ая", ".")
        data.append(
            {
                "value": [column, row, None if value is None or pd.isna(value) else value],
                "name": f"{short}\n{shown}",
                "code": code,
            }
        )
    known = [d["value"][2] for d in data if d["value"][2] is not None]
    return {
        "tooltip": {"show": False},
        "grid": {"left": 0, "right": 0, "top": 0, "bottom": 40},
        "xAxis": {"type": "category", "data": list(range(7)), "show": False},
        "yAxis": {"type": "category", "data": list(range(5)), "show": False, "inverse": True},
        "visualMap": {
            "min": min(known) if known else 0,
            "max": max(known) if known else 1,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
            "calculable": False,
            "precision": 2,
        },
        "series": [
            {
                "type": "heatmap",
                "data": data,
                "label": {"show": True, "formatter": "{b}", "fontSize": 11},
                "itemStyle": {"borderColor": "#fff", "borderWidth": 3},
            }
        ],
        "sapaLinks": {d["code"]: f"/region/{d['code']}" for d in data},
    }


@router.get("/nation")
def nation(
    request: Request, session: SignedIn, access: Access, indicator: str = "composite.index"
) -> Response:
    principal = session.principal
    if principal.role not in NATIONAL_ROLES:
        level, code = principal.home
        return RedirectResponse(f"/{level}/{code}", status_code=303)
    run = access.latest_run()
    _ = gettext_for(language_of(request, principal))
    lang = language_of(request, principal)
    context: dict[str, Any] = {"run": run, "map_indicators": MAP_INDICATORS, "indicator": indicator}
    if run:
        if indicator not in MAP_INDICATORS:
            raise HTTPException(404, f"No map of {indicator!r}.")
        regions = access.regions()
        values = access.indicators(run, indicators=[indicator], level="region")
        table = regions.assign(name=regions[f"name_{lang}"]).merge(
            values[["unit", "value", "ci_low", "ci_high", "n"]],
            left_on="code",
            right_on="unit",
            how="left",
        )
        flagged = access.flagged_schools_by_region(run)
        table["flagged"] = table["code"].map(flagged).fillna(0).astype(int)
        context |= {"map_chart": _map_chart(values, regions, indicator, lang), "regions": table}
    if request.headers.get("hx-request") and run:
        return render(
            request, "_nation_map.html", context, principal=principal, csrf=session.csrf_token
        )
    if run:
        context["view"] = unit_view(access, run, "nation", "KZ", lang, _)
    return render(request, "nation.html", context, principal=principal, csrf=session.csrf_token)


def _interval_chart(frame: pd.DataFrame, names: dict[str, str], indicator: str, _: Any) -> dict:
    """ECharts options of point estimates with 95% intervals (or rank intervals), one row each."""
    frame = frame.dropna(subset=["value"])
    labels = [names.get(code, code) for code in frame["unit"]]
    return {
        "grid": {"left": 160, "right": 20, "top": 10, "bottom": 30},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value", "scale": True, "name": label(indicator, _)},
        "yAxis": {"type": "category", "data": labels, "inverse": True},
        "series": [
            {
                "type": "custom",
                "name": _("Interval"),
                "renderItem": "sapaInterval",
                "data": [
                    [low, i, high]
                    for i, (low, high) in enumerate(
                        zip(frame["ci_low"], frame["ci_high"], strict=True)
                    )
                ],
                "encode": {"x": [0, 2], "y": 1},
            },
            {
                "type": "scatter",
                "name": _("Estimate"),
                "data": [[value, i] for i, value in enumerate(frame["value"])],
                "symbolSize": 7,
            },
        ],
    }


# ----------------------------------------------------------------------------- assessment
def _item_curves(row: pd.Series, _: Any) -> dict:
    """ECharts options of an item's category response curves over θ ∈ [−4, 4]."""
    parameters = json.loads(row["parameters"])
    intercepts = np.full((1, max(1, len(parameters["d"]))), np.nan)
    intercepts[0, : len(parameters["d"])] = parameters["d"]
    bank = ItemBank(
        names=(str(row["item"]),),
        models=(str(row["model"]),),
        slopes=np.array([parameters["a"]]),
        intercepts=intercepts,
        guessing=np.array([parameters["g"]]),
        n_categories=np.array([len(parameters["d"]) + 1]),
    )
    theta = np.linspace(-4, 4, 81)
    probabilities = bank.probabilities(theta)[:, 0, :]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 50},
        "xAxis": {"type": "value", "name": "θ", "min": -4, "max": 4},
        "yAxis": {"type": "value", "min": 0, "max": 1, "name": _("Probability")},
        "series": [
            {
                "type": "line",
                "showSymbol": False,
                "name": f"{_('Score')} {k}",
                "data": [
                    [float(t), float(p)] for t, p in zip(theta, probabilities[:, k], strict=True)
                ],
            }
            for k in range(probabilities.shape[1])
        ],
    }


@router.get("/assessment")
def assessment(
    request: Request, session: SignedIn, access: Access, administration: str | None = None
) -> Response:
    principal = session.principal
    run = access.latest_run()
    items = access.items(run) if run else pd.DataFrame()
    administrations = sorted(items["administration"].unique()) if len(items) else []
    chosen = (
        administration
        if administration in administrations
        else (administrations[0] if administrations else None)
    )
    shown = items[items["administration"] == chosen] if chosen else items
    context = {
        "run": run,
        "administrations": administrations,
        "administration": chosen,
        "items": shown,
        "domains": DOMAINS,
        "flagged": shown[shown["dif_class"].isin(["B", "C"])] if len(shown) else shown,
    }
    return render(request, "assessment.html", context, principal=principal, csrf=session.csrf_token)


@router.get("/assessment/item/{item}")
def item_curve(item: str, request: Request, session: SignedIn, access: Access) -> Response:
    run = access.latest_run()
    items = access.items(run) if run else pd.DataFrame()
    match = items[items["item"] == item] if len(items) else items
    if match.empty:
        raise HTTPException(404, f"No item {item!r} in the latest run.")
    _ = gettext_for(language_of(request, session.principal))
    row = match.iloc[0]
    return render(
        request,
        "_item_curve.html",
        {"item": row, "chart": _item_curves(row, _)},
        principal=session.principal,
        csrf=session.csrf_token,
    )


# ----------------------------------------------------------------------------- records, audit
@router.get("/records")
def records_index(request: Request, session: SignedIn, access: Access) -> Response:
    names = access.readable_entities()
    context = {"entities": [(name, entity_sensitivity(name)) for name in names]}
    return render(
        request, "records.html", context, principal=session.principal, csrf=session.csrf_token
    )


@router.get("/records/{entity}")
def records_page(
    entity: str, request: Request, session: SignedIn, access: Access, offset: int = 0
) -> Response:
    filters = {
        key: value
        for key, value in request.query_params.items()
        if key not in {"offset", "lang"} and value
    }
    page = access.entity_page(entity, filters, limit=50, offset=max(0, offset))
    context = {
        "page": page,
        "filters": filters,
        "sensitivity": entity_sensitivity(entity),
        "query": "&".join(f"{k}={v}" for k, v in filters.items()),
    }
    template = "_records_rows.html" if request.headers.get("hx-request") else "record_list.html"
    return render(request, template, context, principal=session.principal, csrf=session.csrf_token)


@router.get("/audit")
def audit(request: Request, session: SignedIn, access: Access, offset: int = 0) -> Response:
    events = access.audit_events(limit=100, offset=max(0, offset))
    return render(
        request,
        "audit.html",
        {"events": events, "offset": offset},
        principal=session.principal,
        csrf=session.csrf_token,
    )


@router.get("/account")
def account(request: Request, session: SignedIn) -> Response:
    return render(request, "account.html", {}, principal=session.principal, csrf=session.csrf_token)


@router.post("/account/password", dependencies=[Depends(require_csrf)])
def account_password(
    request: Request,
    session: SignedIn,
    connection: Transaction,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    _ = gettext_for(language_of(request, session.principal))
    try:
        change_password(connection, session.principal.username, current_password, new_password)
    except SignInRefused:
        message = _("The current password is wrong.")
    except DataValidationError:
        message = _("The new password is too short.")
    else:
        return RedirectResponse("/login", status_code=303)
    return render(
        request,
        "account.html",
        {"error": message},
        principal=session.principal,
        csrf=session.csrf_token,
        status_code=400,
    )


# ----------------------------------------------------------------------------- unit pages
# Registered last: their paths would otherwise capture /records/{entity} and the like.
@router.get("/{level}/{code}")
def unit_page(
    level: str, code: str, request: Request, session: SignedIn, access: Access
) -> Response:
    if level not in ("region", "district", "school"):
        raise HTTPException(404, "No such page.")
    principal = session.principal
    lang = language_of(request, principal)
    _ = gettext_for(lang)
    run = access.latest_run()
    unit = access.unit(level, code)
    context: dict[str, Any] = {"run": run, "level": level, "code": code, "unit": unit}
    if run:
        view = unit_view(access, run, level, code, lang, _)
        context |= {"view": view, "title": view.name}
        if view.child_indicators:
            first = view.child_indicators[0]
            names = dict(zip(view.children["code"], view.children["name"], strict=True))
            rows = view.children.rename(
                columns={f"{first}:{stat}": stat for stat in ("value", "ci_low", "ci_high")}
            ).assign(unit=view.children["code"])
            context["children_chart"] = _interval_chart(
                rows.sort_values("value", ascending=False), names, first, _
            )
        context["school_names"] = view.school_names
        if not view.ranks.empty:
            context["rank_chart"] = _interval_chart(
                view.ranks.head(60), view.school_names, "composite.rank", _
            )
    else:
        context["title"] = unit_name(unit, lang, _)
    return render(request, "unit.html", context, principal=principal, csrf=session.csrf_token)


@router.get("/{level}/{code}/area/{area}")
def area_page(
    level: str, code: str, area: str, request: Request, session: SignedIn, access: Access
) -> Response:
    if level not in ("nation", "region", "district", "school") or area not in AREAS:
        raise HTTPException(404, "No such page.")
    principal = session.principal
    if level == "nation" and principal.role not in NATIONAL_ROLES:
        raise NotFound("The national pages are for national accounts.")
    lang = language_of(request, principal)
    _ = gettext_for(lang)
    unit = access.unit(level, code)
    run = access.latest_run()
    context: dict[str, Any] = {
        "run": run,
        "unit": unit,
        "level": level,
        "code": code,
        "area": area,
        "title": f"{_(AREAS[area])} · {unit_name(unit, lang, _)}",
    }
    if run:
        context["view"] = area_view(access, run, area, unit, lang, _)
    return render(request, "area.html", context, principal=principal, csrf=session.csrf_token)
