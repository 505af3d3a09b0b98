"""The REST API: records in file layout with filters, paging and exports; results of runs;
errors that say what is wrong."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
from sqlalchemy import Engine

from sapa.ingest import read_entity
from sapa.web import api


def test_records_page_filter_and_export_like_the_files(client_as, web_engine: Engine, places):
    national, client = client_as("ministry"), client_as("region")
    page = national.get("/api/v1/entities/organization", params={"limit": 5}).json()
    assert page["columns"][:2] == ["code", "name"] and len(page["rows"]) == 5
    everything = national.get("/api/v1/entities/organization", params={"limit": 1000}).json()
    assert everything["total"] == len(everything["rows"]) > 5
    second = national.get("/api/v1/entities/organization", params={"limit": 5, "offset": 5}).json()
    codes = [row["code"] for row in everything["rows"]]
    assert [row["code"] for row in second["rows"]] == codes[5:10]
    assert codes == sorted(codes)  # natural-key order, as in exports

    pupils = client.get(
        "/api/v1/entities/student",
        params={"organization_code": places.school, "grade": "4", "limit": 1000},
    ).json()
    stored = read_entity(web_engine, "student")
    expected = stored[(stored["organization_code"] == places.school) & (stored["grade"] == 4)]
    assert pupils["total"] == len(expected) > 0
    assert {row["code"] for row in pupils["rows"]} == set(expected["code"])

    csv = client.get(
        "/api/v1/entities/student", params={"organization_code": places.school, "format": "csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", dtype=str)
    assert list(frame.columns) == pupils["columns"]
    assert set(frame["code"]) == set(
        stored.loc[stored["organization_code"] == places.school, "code"]
    )

    xlsx = client.get("/api/v1/regions", params={"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [cell.value for cell in sheet[1]][:2] == ["code", "kind"]
    assert sheet.cell(2, 1).value == places.region and sheet.max_row == 2


def test_bad_requests_say_what_is_wrong(client_as) -> None:
    client = client_as("ministry")
    unknown = client.get("/api/v1/entities/no_such_entity")
    assert unknown.status_code == 404 and "no_such_entity" in unknown.json()["detail"]
    column = client.get("/api/v1/entities/organization", params={"colour": "red"})
    assert column.status_code == 400 and "colour" in column.json()["detail"]
    kind = client.get("/api/v1/entities/organization", params={"enrolment": "many"})
    assert kind.status_code == 400 and "enrolment" in kind.json()["detail"]
    assert client.get("/api/v1/runs/QA-1999-000000000000/indicators").status_code == 404
    assert client.get("/api/v1/entities/organization", params={"limit": 0}).status_code == 422


def test_indicators_are_the_stored_values_with_suppression(client_as, web_engine: Engine) -> None:
    client = client_as("ministry")
    runs = client.get("/api/v1/runs").json()
    assert runs["total"] == 1
    run = runs["rows"][0]["code"]
    stored = read_entity(web_engine, "indicator_value")
    stored = stored[stored["subgroup"] == "all"]
    nation = client.get(
        f"/api/v1/runs/{run}/indicators", params={"level": "nation", "prefix": "outcomes.mean."}
    ).json()
    expected = stored[
        (stored["level"] == "nation") & stored["indicator"].str.startswith("outcomes.mean.")
    ]
    assert nation["total"] == len(expected) > 0
    got = {row["indicator"]: row["value"] for row in nation["rows"]}
    assert got == dict(zip(expected["indicator"], expected["value"], strict=True))

    schools = client.get(
        "/api/v1/runs/latest/indicators",
        params={"level": "school", "indicator": "outcomes.mean.MLIT4"},
    ).json()
    rows = pd.DataFrame(schools["rows"])
    suppressed = rows[rows["suppressed"]]
    assert len(suppressed) and suppressed["value"].isna().all()
    assert (rows.loc[~rows["suppressed"], "n"] >= 10).all()

    flags = client.get("/api/v1/runs/latest/flags", params={"level": "school"}).json()
    assert flags["total"] == len(read_entity(web_engine, "support_flag").query("level == 'school'"))
    items = client.get("/api/v1/runs/latest/items").json()
    assert items["total"] == len(read_entity(web_engine, "item_result")) > 50


def test_values_are_read_in_the_indicators_layout() -> None:
    from sapa.indicators import COLUMNS
    from sapa.web.access import VALUE_COLUMNS

    assert VALUE_COLUMNS == COLUMNS


def test_the_openapi_schema_documents_every_api_route(web_app) -> None:
    schema = web_app.openapi()
    documented = set(schema["paths"])
    api_routes = {route.path for route in api.router.routes}
    assert api_routes == documented
    assert "/api/v1/entities/{entity}" in documented and schema["info"]["title"] == "Sapa"
