"""A unit's report as a PDF: an HTML page rendered with Jinja2 and laid out by WeasyPrint.

The page is A4 with a print stylesheet (``templates/report.css``): the title with the unit, the
run and the date, the headline indicators with their 95% intervals, cases and the regional and
national values, the "needs support" flags with their reasons and evidence, for a region or a
district the units one level down, and a footer with the unit and the page number.

Text is set in DejaVu Sans, which covers the Kazakh letters of the Cyrillic alphabet
(ә ғ қ ң ө ұ ү һ і) as well as Russian and Latin; the font files come from Debian's
``fonts-dejavu-core`` package. They are the only files the layout may read: every other URL a
document could name is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from sapa.errors import BackendUnavailableError
from sapa.reports._common import (
    Translate,
    child_rows,
    children_title,
    facts,
    flag_rows,
    has_region_column,
    headline_rows,
    indicator_labels,
    report_title,
)

if TYPE_CHECKING:
    from sapa.web.views import UnitView

__all__ = ["FONT_DIRECTORY", "FONT_PACKAGE", "report_html", "unit_report_pdf"]

TEMPLATES = Path(__file__).parent / "templates"
FONT_PACKAGE = "fonts-dejavu-core"
FONT_DIRECTORY = Path("/usr/share/fonts/truetype/dejavu")
_FONT_FILES = {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _fonts(directory: Path) -> dict[str, Path]:
    """The font files by weight; raises if the regular face is missing."""
    fonts = {weight: directory / name for weight, name in _FONT_FILES.items()}
    if not fonts["normal"].is_file():
        raise BackendUnavailableError(
            f"PDF reports need the DejaVu Sans font, which covers the Kazakh letters, and "
            f"{fonts['normal']} does not exist. Install it with "
            f"'apt-get install {FONT_PACKAGE}'."
        )
    return {weight: path for weight, path in fonts.items() if path.is_file()}


def _font_faces(fonts: Mapping[str, Path]) -> str:
    """``@font-face`` rules naming the font files by their file URLs."""
    return "\n".join(
        f'@font-face {{ font-family: "Sapa Report"; font-weight: {weight}; '
        f'src: url("{path.as_uri()}"); }}'
        for weight, path in fonts.items()
    )


def _fetcher(allowed: set[str]) -> Any:
    """A WeasyPrint URL fetcher that reads only the ``allowed`` URLs (the font files)."""
    from weasyprint.urls import URLFetcher

    class FontsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url not in allowed:
                raise ValueError(f"The report may not load {url!r}.")
            return super().fetch(url, headers)

    return FontsOnly(allowed_protocols=("file",))


def report_html(
    view: UnitView,
    language: str,
    _: Translate,
    *,
    school_names: Mapping[str, str] | None = None,
    produced: dt.date | None = None,
) -> str:
    """The report as HTML, before layout (see :func:`unit_report_pdf`)."""
    level = view.unit["level"]
    indicators = list(view.child_indicators)
    return (
        _environment()
        .get_template("report.html")
        .render(
            _=_,
            language=language,
            level=level,
            view=view,
            title=report_title(level, _),
            facts=facts(view, produced or dt.date.today(), _),
            headline=headline_rows(view),
            show_region=has_region_column(view),
            flags=flag_rows(view, school_names),
            children_title=children_title(level, _),
            child_labels=indicator_labels(indicators, _),
            children=child_rows(view, indicators),
        )
    )


def unit_report_pdf(
    view: UnitView,
    language: str,
    _: Translate,
    *,
    school_names: Mapping[str, str] | None = None,
    produced: dt.date | None = None,
    font_directory: Path = FONT_DIRECTORY,
) -> bytes:
    """A unit's report as an A4 PDF.

    Parameters
    ----------
    view : UnitView
        What the unit's page shows for one run (:func:`sapa.web.views.unit_view`).
    language : {"kk", "ru", "en"}
        The interface language the view was made in; it is the document's language.
    _ : callable
        The gettext function of that language (:func:`sapa.web.i18n.gettext_for`).
    school_names : mapping of str to str, optional
        Names of the schools that flags may name, by code; a code stands for a school whose
        name is not given.
    produced : datetime.date, optional
        The date printed under the title; today by default.
    font_directory : pathlib.Path
        Where the DejaVu Sans files lie (Debian's ``fonts-dejavu-core`` puts them in
        ``/usr/share/fonts/truetype/dejavu``).

    Returns
    -------
    bytes
        The PDF document.

    Raises
    ------
    sapa.errors.BackendUnavailableError
        If the DejaVu Sans font is not installed (the message names the package).
    """
    fonts = _fonts(font_directory)
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    html = report_html(view, language, _, school_names=school_names, produced=produced)
    fetcher = _fetcher({path.as_uri() for path in fonts.values()})
    font_config = FontConfiguration()
    css = _font_faces(fonts) + "\n" + (TEMPLATES / "report.css").read_text(encoding="utf-8")
    stylesheet = CSS(string=css, font_config=font_config, url_fetcher=fetcher)
    document = HTML(string=html, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[stylesheet], font_config=font_config))
