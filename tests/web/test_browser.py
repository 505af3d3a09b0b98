"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

The application is served by uvicorn on a loopback port for the module; every test opens a fresh
browser context (no cookies), signs in through the login form and watches the console: a
JavaScript error, a resource that fails to load or a Content-Security-Policy violation fails the
test.

The browser is Debian's ``chromium`` package (``make test`` installs it through
``scripts/ensure-chromium``), never a downloaded build.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page
from sqlalchemy import Connection, Engine, event

from conftest import PASSWORD, ROLES, Watch  # the accounts: one per role, one password
from sapa.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from conftest import Places

NATIONAL = ("ministry", "analyst", "auditor")


def sign_in(page: Page, username: str, expected_path: str) -> None:
    """Signs in through the login form and waits for the landing page."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(lambda url: not url.endswith("/login"))
    assert urlsplit(page.url).path == expected_path, f"signed in as {username}: {page.url}"


def home_of(role: str, places: Places) -> str:
    if role in NATIONAL:
        return "/nation"
    if role == "region":
        return f"/region/{places.region}"
    if role == "district":
        return f"/district/{places.district}"
    return f"/school/{places.school}"


def undrawn_charts(page: Page) -> int:
    """How many ``div.chart`` elements have no canvas (ECharts did not draw them)."""
    return page.eval_on_selector_all(
        "div.chart", "charts => charts.filter(c => !c.querySelector('canvas')).length"
    )


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("role", ROLES)
def test_every_role_signs_in_and_opens_every_menu_page(
    watched: tuple[Page, Watch], places: Places, role: str
) -> None:
    page, watch = watched
    home = home_of(role, places)
    sign_in(page, role, home)
    if role in NATIONAL:
        page.wait_for_selector("div.chart canvas")
    assert page.locator("h1").count() == 1
    assert undrawn_charts(page) == 0
    watch.check()

    links = page.eval_on_selector_all("nav.menu a", "links => links.map(a => a.href)")
    assert links, "the menu is empty"
    assert links[0].endswith(home)
    for link in links:
        response = page.goto(link)
        assert response is not None and response.status < 400, (link, response)
        assert page.locator("h1").count() == 1, link
        assert page.locator("h1").inner_text().strip(), link
        assert undrawn_charts(page) == 0, link
        watch.check(link)


def test_sign_in_is_stored_before_the_browser_follows_the_redirect(
    watched: tuple[Page, Watch], web_engine: Engine
) -> None:
    """A slow commit must delay the answer, not let the next page arrive before the session."""

    def slow_commit(connection: Connection) -> None:
        time.sleep(0.5)

    event.listen(web_engine, "commit", slow_commit)
    try:
        page, watch = watched
        sign_in(page, "ministry", "/nation")
    finally:
        event.remove(web_engine, "commit", slow_commit)
    watch.check()


def test_language_switch_persists(watched: tuple[Page, Watch], places: Places) -> None:
    page, watch = watched
    sign_in(page, "district", f"/district/{places.district}")
    sign_out = page.locator("form[action='/logout'] button")
    assert page.get_attribute("html", "lang") == "en"
    assert sign_out.inner_text().strip() == "Sign out"
    english_menu = page.locator("nav.menu").inner_text()

    page.click("nav.languages a[hreflang=kk]")
    page.wait_for_selector("html[lang=kk]")
    kazakh_button = sign_out.inner_text().strip()
    assert kazakh_button and kazakh_button != "Sign out"
    assert page.locator("nav.menu").inner_text() != english_menu

    page.click("nav.languages a[hreflang=ru]")
    page.wait_for_selector("html[lang=ru]")
    russian_button = sign_out.inner_text().strip()
    assert russian_button not in ("Sign out", kazakh_button)

    # The choice is kept in a cookie: a page opened without ?lang is still in Russian.
    page.goto("/account")
    assert page.get_attribute("html", "lang") == "ru"
    assert sign_out.inner_text().strip() == russian_button
    watch.check()


def test_school_account_sees_only_its_school(watched: tuple[Page, Watch], places: Places) -> None:
    page, watch = watched
    sign_in(page, "school", f"/school/{places.school}")
    html = page.content()
    assert places.school in html
    assert places.other_school not in html
    assert places.other_region not in html
    watch.check()

    # A unit out of scope is answered exactly like a unit that does not exist.
    for level, code in (("school", places.other_school), ("region", places.other_region)):
        answers = []
        for asked in (code, "NO-SUCH-CODE"):
            response = page.goto(f"/{level}/{asked}")
            assert response is not None and response.status == 404, (level, asked)
            assert page.locator("h1").inner_text().strip() == "404", (level, asked)
            answers.append(page.locator("main").inner_text().replace(asked, "…"))
            watch.check(f"/{level}/{asked}", allow_http_errors=True)
        assert answers[0] == answers[1]

    response = page.goto("/records/student")
    assert response is not None and response.status == 200
    headers = page.eval_on_selector_all(
        "table.records thead th", "cells => cells.map(c => c.textContent.trim())"
    )
    column = headers.index("organization_code")
    schools = page.eval_on_selector_all(
        "#rows > tr:not(.more)",
        f"rows => rows.map(r => r.cells[{column}].textContent.trim())",
    )
    assert schools, "the school's pupils are not listed"
    assert set(schools) == {places.school}
    watch.check()


def test_region_account_is_sent_from_the_nation_to_its_region(
    watched: tuple[Page, Watch], places: Places
) -> None:
    page, watch = watched
    sign_in(page, "region", f"/region/{places.region}")
    response = page.goto("/nation")
    assert response is not None and response.status == 200
    assert page.url.endswith(f"/region/{places.region}")
    watch.check()


def test_ministry_may_not_read_pupils(watched: tuple[Page, Watch]) -> None:
    page, watch = watched
    sign_in(page, "ministry", "/nation")
    response = page.goto("/records/student")
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text().strip() == "403"
    assert page.locator("table.records").count() == 0
    watch.check(allow_http_errors=True)


def test_indicator_picker_swaps_the_map_in_place(watched: tuple[Page, Watch]) -> None:
    page, watch = watched
    sign_in(page, "ministry", "/nation")
    page.wait_for_selector("#nation-map div.chart canvas")
    before = page.inner_text("#nation-map h3")
    page.evaluate("window.sapaNotReloaded = true")

    select = page.locator("form.picker select")
    current = select.input_value()
    options = select.locator("option").evaluate_all("options => options.map(o => o.value)")
    select.select_option(next(value for value in options if value != current))
    page.wait_for_function(
        "before => document.querySelector('#nation-map h3').textContent.trim() !== before",
        arg=before.strip(),
    )
    assert page.evaluate("window.sapaNotReloaded") is True
    assert page.locator("#nation-map").count() == 1
    page.wait_for_selector("#nation-map div.chart canvas")
    assert undrawn_charts(page) == 0
    watch.check()


def test_item_link_loads_its_curves(watched: tuple[Page, Watch]) -> None:
    page, watch = watched
    sign_in(page, "analyst", "/nation")
    page.goto("/assessment")
    page.evaluate("window.sapaNotReloaded = true")
    assert page.locator("#curve canvas").count() == 0
    link = page.locator("table.items a").first
    item = link.inner_text().strip()
    link.click()
    page.wait_for_selector("#curve div.chart canvas")
    assert item in page.inner_text("#curve h2")
    assert page.evaluate("window.sapaNotReloaded") is True
    assert page.url.endswith("/assessment")
    watch.check()


def test_sign_out_ends_the_session(watched: tuple[Page, Watch], places: Places) -> None:
    page, watch = watched
    sign_in(page, "teacher", f"/school/{places.school}")
    (session,) = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r"/login$"))
    assert SESSION_COOKIE not in {c["name"] for c in page.context.cookies()}
    page.goto("/")
    assert re.search(r"/login(\?|$)", page.url), page.url
    assert page.locator("input[name=username]").count() == 1

    # The session ended on the server too: its old cookie opens nothing.
    page.context.add_cookies([session])
    page.goto(f"/school/{places.school}")
    assert urlsplit(page.url).path == "/login", page.url
    watch.check()
