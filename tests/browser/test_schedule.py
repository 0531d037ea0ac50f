"""倒排工期 in a real browser at 1366×768: the case page's panel with the late step in red, and the
dashboard's count and list of cases at risk (a city supervisor, 长春市安居办)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from workflows.engine import clock

from .conftest import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def late_in_the_year(world):  # noqa: ANN001, ANN201
    """A day after the world was seeded: its category 2 cases were filed too late in the year for their
    remaining 90 working days, whatever the machine's date, because the clock is set to 24 November."""
    from tests.conftest import at
    created = world.cases["fresh"].created_at
    moment = at("2026-11-24 09:00") if created.year == 2026 and created.month == 11 else created + timedelta(days=1)
    clock.set_global(moment)
    yield moment
    clock.set_global(None)


def test_the_case_page_panel_and_the_dashboard_show_the_case_at_risk(page, world, watch, snap,
                                                                      late_in_the_year) -> None:  # noqa: ANN001
    case = world.cases["fresh"]  # category 2, 立案核实 open
    sign_in(page, world, world.users["supervisor"])
    page.goto(world.at(f"/cases/{case.id}"))
    panel = page.locator("#schedule")
    expect(panel).to_be_visible()
    expect(panel.locator("#schedule-source")).to_contain_text("政策时限：")
    expect(panel.locator("#schedule-source")).to_contain_text("第二类：已开工项目")
    status = panel.get_attribute("data-status")
    red = panel.locator('tr[data-late="true"]')
    if status == "at_risk":
        expect(panel.locator("#schedule-status")).to_have_text("有延误风险")
        expect(red.first).to_contain_text("立案核实")
        # Red as people see it, not just a class name.
        color = red.first.locator("th").evaluate("e => getComputedStyle(e).backgroundColor")
        assert color != "rgba(0, 0, 0, 0)", color
    panel.scroll_into_view_if_needed()
    snap("1-panel", panel)
    snap("2-case-page")

    page.goto(world.at("/supervise"))
    listed = page.locator("#at-risk-cases")
    expect(listed).to_be_visible()
    if status == "at_risk":
        expect(listed.locator(f'tr[data-case-id="{case.id}"]')).to_contain_text("有延误风险")
    page.locator("#at-risk-title").scroll_into_view_if_needed()
    snap("3-dashboard")
    snap("4-at-risk", page.locator("#at-risk-title").locator(".."))
