"""The region, district and school reports as PDF and XLSX: what they say matches the API, the
Kazakh text survives in the PDF, and scope applies as on the pages."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from sapa.errors import BackendUnavailableError
from sapa.reports import unit_report_pdf, unit_report_xlsx
from sapa.reports.pdf import report_html
from sapa.web.i18n import gettext_for
from sapa.web.labels import format_value, percent_like
from sapa.web.views import HEADLINE, UnitView

KAZAKH_LETTERS = re.compile("[әғқңөұүһі]", re.IGNORECASE)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _rows(client: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["rows"])


def _pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def _table(sheet: Any, first: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The header starting with ``first`` and the rows under it."""
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == first)
    return list(rows[start]), [row for row in rows[start + 1 :] if row[0] is not None]


def test_school_report_pdf_in_kazakh(client_as, places) -> None:  # type: ignore[no-untyped-def]
    client = client_as("school")
    run = _rows(client, "/api/v1/runs")[0]["code"]
    (school,) = [s for s in _rows(client, "/api/v1/schools") if s["code"] == places.school]
    response = client.get(f"/reports/school/{places.school}.pdf?lang=kk")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="school-{places.school}-{run}.pdf"'
    )
    text = _pdf_text(response.content)
    assert " ".join(school["name"].split()) in text
    title = gettext_for("kk")("School report card")
    assert KAZAKH_LETTERS.search(title) and title in text
    (national,) = _rows(
        client,
        "/api/v1/runs/latest/indicators",
        level="nation",
        indicator="outcomes.at_or_above_1.MLIT9",
    )
    assert format_value("outcomes.at_or_above_1.MLIT9", national["value"]) in text


def test_school_report_xlsx_has_the_api_values(client_as, places) -> None:  # type: ignore[no-untyped-def]
    client = client_as("school")
    response = client.get(f"/reports/school/{places.school}.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Indicators", "Support"]
    sheet = book["Indicators"]
    header, rows = _table(sheet, "Indicator")
    assert header == [
        "Indicator",
        "Code",
        "Value",
        "Lower bound",
        "Upper bound",
        "Cases",
        "Suppressed",
        "Region",
        "Kazakhstan",
    ]
    assert places.school in str(sheet["B2"].value)
    api = {
        row["indicator"]: row
        for row in _rows(
            client, "/api/v1/runs/latest/indicators", level="school", unit=places.school
        )
    }
    shown = {row[1]: row for row in rows}
    assert shown and set(shown) <= set(HEADLINE)
    assert {code for code in HEADLINE if code in api} <= set(shown)
    for code, row in shown.items():
        value, low, high, n = row[2:6]
        expected = api[code]
        if row[6]:
            assert expected["suppressed"] and value is None
        else:
            assert value == pytest.approx(expected["value"])
            # Intervals of shares are shown within [0, 1]; the API gives them as computed.
            bounded_low, bounded_high = expected["ci_low"], expected["ci_high"]
            if percent_like(code) and bounded_low is not None:
                bounded_low, bounded_high = max(bounded_low, 0.0), min(bounded_high, 1.0)
            assert (low, high) == (
                pytest.approx(bounded_low) if bounded_low is not None else None,
                pytest.approx(bounded_high) if bounded_high is not None else None,
            )
        assert n == expected["n"]
    cells = {sheet.cell(row, 2).value: sheet.cell(row, 3) for row in range(1, sheet.max_row + 1)}
    for code, cell in cells.items():
        if code in shown and percent_like(code):
            assert cell.number_format.endswith("%")
    assert sheet.freeze_panes is not None


def test_region_report_for_the_ministry(client_as, places) -> None:  # type: ignore[no-untyped-def]
    client = client_as("ministry")
    region = places.other_region
    pdf = client.get(f"/reports/region/{region}.pdf")
    assert pdf.status_code == 200, pdf.text
    text = _pdf_text(pdf.content)
    (row,) = [r for r in _rows(client, "/api/v1/regions") if r["code"] == region]
    assert row["name_en"] in text and "Region report" in text and "Districts" in text

    response = client.get(f"/reports/region/{region}.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Indicators", "Support", "Units"]
    _header, units = _table(book["Units"], "Code")
    districts = _rows(client, f"/api/v1/regions/{region}/districts")
    assert [u[0] for u in units] == [d["code"] for d in districts]
    schools = [s["code"] for s in _rows(client, "/api/v1/schools", region=region)]
    flags = _rows(client, "/api/v1/runs/latest/flags", level="school", unit=schools)
    _header, support = _table(book["Support"], "Code")
    if flags:
        assert sorted((f[0], f[3]) for f in support) == sorted(
            (f["unit"], f["reason"]) for f in flags
        )
        assert all(f[1] and f[2] and f[4] for f in support)


def test_scope_applies_to_reports(client_as, places) -> None:  # type: ignore[no-untyped-def]
    client = client_as("school")
    assert client.get(f"/reports/school/{places.other_school}.pdf").status_code == 404
    assert client.get(f"/reports/region/{places.other_region}.xlsx").status_code == 404
    assert client.get(f"/reports/district/{places.other_district}.xlsx").status_code == 404
    assert client.get(f"/reports/school/{places.school}.csv").status_code == 404
    assert client.get("/reports/nation/KZ.xlsx").status_code == 404
    other = client_as("other-school")
    assert other.get(f"/reports/school/{places.school}.xlsx").status_code == 404


def _empty_view(name: str) -> UnitView:
    headline = pd.DataFrame(
        columns=["label", "value", "ci_low", "ci_high", "n", "suppressed", "nation", "shown"]
    )
    flags = pd.DataFrame(columns=["level", "unit", "reason", "evidence", "reason_text"])
    return UnitView(
        run="QA-1",
        unit={"level": "district", "code": "D-1", "region": "R-1"},
        name=name,
        headline=headline,
        children=pd.DataFrame(),
        child_indicators=[],
        flags=flags,
        ranks=pd.DataFrame(),
    )


def test_missing_font_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="fonts-dejavu-core"):
        unit_report_pdf(_empty_view("D"), "en", gettext_for("en"), font_directory=tmp_path)


def test_names_are_escaped_and_empty_tables_render() -> None:
    view = _empty_view('<img src="file:///etc/passwd">')
    html = report_html(view, "ru", gettext_for("ru"))
    assert "<img" not in html and "&lt;img" in html
    assert unit_report_pdf(view, "ru", gettext_for("ru")).startswith(b"%PDF")
    book = openpyxl.load_workbook(io.BytesIO(unit_report_xlsx(view, "ru", gettext_for("ru"))))
    assert book.sheetnames == ["Indicators", "Support", "Units"]
