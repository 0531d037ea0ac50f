"""The case page in a real browser: the bpmn-js diagram marks where the case stands, and a case name
that is markup stays text on every page that shows it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import SCRIPT_NAME, sign_in

pytestmark = pytest.mark.browser


def test_the_diagram_marks_the_open_task_as_active(page, world, watch, snap) -> None:
    case = world.cases["judgment"]
    sign_in(page, world, world.users["supervisor"])
    page.goto(world.at(f"/cases/{case.id}"))
    expect(page.locator("#case-title")).to_have_text(case.project_name)
    # bpmn-js draws every diagram of the case, then the page marks the elements by state.
    expect(page.locator("#case-diagrams")).to_have_attribute("data-rendered", "true", timeout=20_000)
    diagram = page.locator("#diagram-category_1")
    expect(diagram).to_have_attribute("data-rendered", "true")
    court = diagram.locator('g.djs-element[data-element-id="court_judgment"]')
    expect(court).to_have_class(_has("hq-active"))
    # The steps behind it are done; the text beside the diagram says the same.
    expect(diagram.locator('g.djs-element[data-element-id="preserve_housing"]')).to_have_class(_has("hq-done"))
    expect(diagram.locator(".hq-diagram-text")).to_contain_text("当前：案件审理判决")
    # Exactly one user task is active in that diagram, and the lifecycle shows its own stage running.
    assert diagram.locator("g.djs-element.djs-shape.hq-active").count() >= 1
    assert diagram.locator('g.hq-active[data-element-id^="c1_"], g.hq-active[data-element-id="linkage_meeting"]'
                           ).count() == 0
    assert page.locator("#diagram-case_lifecycle g.djs-element.hq-active").count() >= 1
    # The active element is drawn where a person can see it: inside the canvas, not zero-sized.
    box = court.bounding_box()
    canvas = diagram.locator(".hq-diagram-canvas").bounding_box()
    assert box and canvas and box["width"] > 10 and box["height"] > 10
    assert canvas["x"] <= box["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"] + 1
    diagram.scroll_into_view_if_needed()
    snap("1-case")
    snap("2-diagram", diagram)


def test_a_case_name_with_markup_is_text_on_the_case_list_and_page(page, world, watch, snap) -> None:
    case = world.cases["hostile"]
    sign_in(page, world, world.users["supervisor"])
    page.goto(world.at("/cases"))
    row = page.locator(f'tr[data-case-id="{case.id}"]')
    expect(row).to_contain_text(SCRIPT_NAME)
    snap("1-case-list")
    row.get_by_role("link", name=SCRIPT_NAME).click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.id}(\?|$)"))
    expect(page.locator("#case-title")).to_have_text(SCRIPT_NAME)
    # Neither the <script> nor the <b> of the name became elements; the title bar shows it as text.
    assert page.locator("main b", has_text="西区").count() == 0
    assert page.evaluate("[...document.scripts].some(s => s.textContent.includes('xss'))") is False
    assert SCRIPT_NAME in page.title()
    snap("2-case")
    # Its open task, in the supervisor's inbox and on the task page.
    task = world.driver.open_tasks(case)[0]
    page.goto(world.at("/inbox"))
    expect(page.locator(f'#inbox-table tr[data-task-id="{task.id}"]')).to_contain_text(SCRIPT_NAME)
    page.goto(world.at(f"/tasks/{task.id}"))
    expect(page.locator("#case-heading")).to_contain_text(SCRIPT_NAME)
    assert page.locator("main b", has_text="西区").count() == 0
    snap("3-task")
    assert watch.dialogs == []


def _has(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")
