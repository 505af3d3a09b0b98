"""A unit's report as an XLSX workbook (XlsxWriter), to compute with.

Sheets, each opening with the unit, the run and the date, then a frozen header row:

* ``Indicators`` — the headline indicators: name, code, value, the bounds of the 95% interval,
  cases, whether the value is suppressed, and the regional (district and school reports) and
  national values. Numbers are numbers: shares are stored as fractions and shown in per cent,
  scale scores whole, other values with two decimals. A suppressed value is an empty cell.
* ``Support`` — the "needs support" flags: school, reason (text and code) and evidence.
* ``Units`` — for a region or a district, the units one level down with their indicators and
  intervals.

Sheet names are fixed whatever the interface language, so scripts can find them; headers and
texts are in the interface language.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from sapa.reports._common import (
    Translate,
    child_rows,
    facts,
    flag_rows,
    has_region_column,
    headline_rows,
    indicator_labels,
    report_title,
)
from sapa.web.labels import percent_like

if TYPE_CHECKING:
    from sapa.web.views import UnitView

__all__ = ["SHEETS", "unit_report_xlsx"]

SHEETS = ("Indicators", "Support", "Units")
"""Names of the sheets; ``Units`` only in region and district reports."""

_WHOLE = ("outcomes.mean", "outcomes.gap", "composite.rank", "value_added", "growth.median_sgp")


class _Formats:
    """The cell formats of one workbook."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.title = book.add_format({"bold": True, "font_size": 13})
        self.fact = book.add_format({"font_color": "#5B6675"})
        self.header = book.add_format(
            {"bold": True, "bg_color": "#F0F3F7", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        self.group = book.add_format(
            {"bold": True, "bg_color": "#F0F3F7", "align": "center", "text_wrap": True}
        )
        self.text = book.add_format({"valign": "top"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.count = book.add_format({"num_format": "#,##0", "valign": "top"})
        self.percent = book.add_format({"num_format": "0.0%", "valign": "top"})
        self.whole = book.add_format({"num_format": "0", "valign": "top"})
        self.decimal = book.add_format({"num_format": "0.00", "valign": "top"})

    def of(self, indicator: str) -> Format:
        """The number format of an indicator's values (as :func:`format_value` shows them)."""
        if percent_like(indicator):
            return self.percent
        if indicator.startswith(_WHOLE):
            return self.whole
        return self.decimal


def _number(sheet: Worksheet, row: int, column: int, value: float | None, fmt: Format) -> None:
    if value is None:
        sheet.write_blank(row, column, None, fmt)
    else:
        sheet.write_number(row, column, value, fmt)


def _opening(sheet: Worksheet, title: str, lines: list[tuple[str, str]], formats: _Formats) -> int:
    """Writes the report's title and facts at the top; returns the first free row."""
    sheet.write_string(0, 0, title, formats.title)
    for row, (name, value) in enumerate(lines, start=1):
        sheet.write_string(row, 0, name, formats.fact)
        sheet.write_string(row, 1, value)
    return len(lines) + 2


def _header(sheet: Worksheet, row: int, names: list[str], formats: _Formats) -> None:
    for column, name in enumerate(names):
        sheet.write_string(row, column, name, formats.header)
    sheet.freeze_panes(row + 1, 1)


def _indicators(
    sheet: Worksheet, view: UnitView, start: int, formats: _Formats, _: Translate
) -> None:
    region = has_region_column(view)
    names = [
        _("Indicator"),
        _("Code"),
        _("Value"),
        _("Lower bound"),
        _("Upper bound"),
        _("Cases"),
        _("Suppressed"),
    ]
    names += [_("Region")] if region else []
    names += [_("Kazakhstan")]
    _header(sheet, start, names, formats)
    rows = headline_rows(view)
    for offset, item in enumerate(rows, start=start + 1):
        fmt = formats.of(item.code)
        sheet.write_string(offset, 0, item.label, formats.wrap)
        sheet.write_string(offset, 1, item.code, formats.text)
        _number(sheet, offset, 2, item.value, fmt)
        _number(sheet, offset, 3, item.ci_low, fmt)
        _number(sheet, offset, 4, item.ci_high, fmt)
        _number(sheet, offset, 5, None if item.n is None else float(item.n), formats.count)
        sheet.write_boolean(offset, 6, item.suppressed, formats.text)
        if region:
            _number(sheet, offset, 7, item.region, fmt)
        _number(sheet, offset, len(names) - 1, item.nation, fmt)
    sheet.autofilter(start, 0, start + max(len(rows), 1), len(names) - 1)
    sheet.set_column(0, 0, 48)
    sheet.set_column(1, 1, 32)
    sheet.set_column(2, len(names) - 1, 12)


def _support(
    sheet: Worksheet,
    view: UnitView,
    start: int,
    school_names: Mapping[str, str] | None,
    formats: _Formats,
    _: Translate,
) -> None:
    names = [_("Code"), _("School"), _("Reason"), _("Reason code"), _("Evidence")]
    _header(sheet, start, names, formats)
    rows = flag_rows(view, school_names)
    for offset, item in enumerate(rows, start=start + 1):
        for column, text in enumerate(
            (item.unit, item.name, item.reason_text, item.reason, item.evidence)
        ):
            sheet.write_string(offset, column, text, formats.wrap)
    if not rows:
        sheet.write_string(start + 1, 0, _("No school here needs support on the current rules."))
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 2, 34)
    sheet.set_column(3, 3, 26)
    sheet.set_column(4, 4, 80)


def _units(sheet: Worksheet, view: UnitView, start: int, formats: _Formats, _: Translate) -> None:
    """Two header rows: each indicator's name over its value and interval bounds."""
    indicators = list(view.child_indicators)
    labels = indicator_labels(indicators, _)
    sheet.write_string(start, 0, "", formats.group)
    sheet.write_string(start, 1, "", formats.group)
    for number, name in enumerate(labels):
        column = 2 + 3 * number
        sheet.merge_range(start, column, start, column + 2, name, formats.group)
    names = [_("Code"), _("Name")]
    for _code in indicators:
        names += [_("Value"), _("Lower bound"), _("Upper bound")]
    _header(sheet, start + 1, names, formats)
    sheet.freeze_panes(start + 2, 2)
    for offset, child in enumerate(child_rows(view, indicators), start=start + 2):
        sheet.write_string(offset, 0, child.code, formats.text)
        sheet.write_string(offset, 1, child.name, formats.text)
        for number, (indicator, cell) in enumerate(zip(indicators, child.cells, strict=True)):
            fmt = formats.of(indicator)
            column = 2 + 3 * number
            _number(sheet, offset, column, cell.value, fmt)
            _number(sheet, offset, column + 1, cell.ci_low, fmt)
            _number(sheet, offset, column + 2, cell.ci_high, fmt)
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 1 + 3 * max(len(indicators), 1), 12)


def unit_report_xlsx(
    view: UnitView,
    language: str,
    _: Translate,
    *,
    school_names: Mapping[str, str] | None = None,
    produced: dt.date | None = None,
) -> bytes:
    """A unit's report as an XLSX workbook.

    Parameters
    ----------
    view : UnitView
        What the unit's page shows for one run (:func:`sapa.web.views.unit_view`).
    language : {"kk", "ru", "en"}
        The interface language the view was made in.
    _ : callable
        The gettext function of that language (:func:`sapa.web.i18n.gettext_for`).
    school_names : mapping of str to str, optional
        Names of the schools that flags may name, by code.
    produced : datetime.date, optional
        The date written under the title; today by default.

    Returns
    -------
    bytes
        The workbook (sheets as in the module notes).
    """
    level = view.unit["level"]
    title = report_title(level, _)
    lines = facts(view, produced or dt.date.today(), _)
    buffer = io.BytesIO()
    options: dict[str, Any] = {"in_memory": True, "strings_to_numbers": False}
    with xlsxwriter.Workbook(buffer, options) as book:
        book.set_properties(
            {"title": f"{title}: {view.name}", "subject": view.run, "company": "Sapa"}
        )
        book.set_custom_property("Language", language)
        formats = _Formats(book)
        sheet = book.add_worksheet(SHEETS[0])
        _indicators(sheet, view, _opening(sheet, title, lines, formats), formats, _)
        sheet = book.add_worksheet(SHEETS[1])
        _support(sheet, view, _opening(sheet, title, lines, formats), school_names, formats, _)
        if level in ("nation", "region", "district"):
            sheet = book.add_worksheet(SHEETS[2])
            _units(sheet, view, _opening(sheet, title, lines, formats), formats, _)
    return buffer.getvalue()
