"""The workflow pages in a real browser (Debian's Chromium through Playwright): each workflow's
main page opens cleanly for the account that works it, a case is opened through its form and
its first step taken through the case page's form, and a refused step shows its reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page
from test_browser import home_of, sign_in
from test_workflows_api import SCENARIOS, Codes, values_for

from conftest import Watch
from sapa.workflows import WORKFLOWS


def _fill(page: Page, form: str, values: dict[str, Any]) -> None:
    for name, value in values.items():
        control = page.locator(f"{form} [name={name}]")
        if control.evaluate("element => element.tagName") == "SELECT":
            control.select_option(str(value))
        else:
            control.fill(str(value))


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_main_page_opens_a_case_and_takes_a_step(
    name: str, watched: tuple[Page, Watch], places: Any, web_engine: Any
) -> None:
    page, watch = watched
    scenario = SCENARIOS[name]
    sign_in(page, scenario.opener, home_of(scenario.opener, places))
    response = page.goto(f"/workflows/{name}")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text().strip() == WORKFLOWS[name].title
    assert page.locator("table.cases").count() == 1
    watch.check(f"/workflows/{name}")

    form = f"form[action='/workflows/{name}/open']"
    codes = Codes(places, web_engine)
    _fill(page, form, scenario.opening(codes))
    page.click(f"{form} button[type=submit]")
    page.wait_for_url("**/cases/*")
    code = page.url.rsplit("/", 1)[1]
    assert page.locator("ol.history li").count() == 1
    watch.check(f"/cases/{code}")

    role, action, values = scenario.browser_step or scenario.steps[0]
    case = {"school": None, "teacher": None}
    if callable(values):
        shown = page.request.get(f"/api/v1/cases/{code}").json()
        case = shown
    values = values_for(values, codes, case)
    if role != scenario.opener:
        page.click("form[action='/logout'] button")
        page.wait_for_url("**/login")
        sign_in(page, role, home_of(role, places))
        page.goto(f"/cases/{code}")
    step = f"form[action='/cases/{code}/step/{action}']"
    _fill(page, step, values)
    page.click(f"{step} button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith(f"/cases/{code}"), page.locator("main").inner_text()
    page.wait_for_selector("ol.history li:nth-child(2)")
    assert action in page.locator("ol.history").inner_text()
    watch.check(f"/cases/{code} {action}")


def test_a_refused_step_shows_why_and_changes_nothing(
    watched: tuple[Page, Watch], places: Any, web_engine: Any
) -> None:
    page, watch = watched
    scenario = SCENARIOS["attestation"]
    sign_in(page, "school", home_of("school", places))
    page.goto("/workflows/attestation")
    form = "form[action='/workflows/attestation/open']"
    _fill(page, form, scenario.opening(Codes(places, web_engine)))
    page.click(f"{form} button[type=submit]")
    page.wait_for_url("**/cases/*")
    code = page.url.rsplit("/", 1)[1]
    # The school may close a decided case; posting "close" now is refused by the state.
    token = page.get_attribute("meta[name=csrf-token]", "content")
    answer = page.request.post(f"/cases/{code}/step/close", form={"csrf_token": token or ""})
    assert answer.status == 409
    assert "can be taken only when" in answer.text()
    page.goto(f"/cases/{code}")
    assert page.locator("ol.history li").count() == 1
    watch.check()
