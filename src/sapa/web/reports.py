"""Downloads of a unit's report: ``/reports/{level}/{code}.pdf`` and ``.xlsx``.

The report of a region, a district or a school for the latest run, read through the
data-access layer exactly like the unit's page (so a unit outside the account's scope is
answered 404, as if it did not exist), in the interface language (``?lang=``, the language
cookie or the account's language). The files are built by :mod:`sapa.reports`.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from sapa import reports as documents
from sapa.web.deps import Access, SignedIn, language_of
from sapa.web.i18n import gettext_for
from sapa.web.views import unit_view

__all__ = ["LEVELS", "MEDIA_TYPES", "router"]

router = APIRouter(include_in_schema=False)

LEVELS = ("region", "district", "school")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/reports/{level}/{code}.{fmt}")
def unit_report(
    level: str, code: str, fmt: str, request: Request, session: SignedIn, access: Access
) -> Response:
    """The unit's report of the latest run as a PDF or XLSX download."""
    if level not in LEVELS or fmt not in MEDIA_TYPES:
        raise HTTPException(404, "No such report.")
    unit = access.unit(level, code)
    run = access.latest_run()
    if run is None:
        raise HTTPException(404, "No assessment run is stored yet.")
    language = language_of(request, session.principal)
    _ = gettext_for(language)
    view = unit_view(access, run, level, unit["code"], language, _)
    build = documents.unit_report_pdf if fmt == "pdf" else documents.unit_report_xlsx
    body = build(view, language, _, school_names=view.school_names)
    filename = f"{level}-{unit['code']}-{run}.{fmt}"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
