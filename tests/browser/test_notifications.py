"""The bell and the 通知 page in a real browser: an escalation raised for the officer's agency shows as
an unread count in the header; opening the notification marks it read and lands on the case."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from workflows import escalations

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_an_escalation_rings_the_bell_and_opening_it_goes_to_the_case(page, world, watch, snap) -> None:
    officer, case = world.users["officer"], world.cases["fresh"]
    escalations.escalate(world.session, world.users["supervisor"], case.id, level="urge",
                         reason="立案核实超期，请三日内办结", agency_id=officer.agency_id)
    sign_in(page, world, officer)
    bell = page.locator("#nav-notifications")
    expect(bell.locator("#unread-count")).to_have_text(re.compile(r"^[1-9]\d*$"))
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通知")
    item = page.locator("#notifications li[data-kind='escalated']").first
    expect(item).to_contain_text("催办：BR-002")
    expect(item).to_contain_text("立案核实超期")
    expect(item).to_have_attribute("data-read", "no")
    snap("1-notifications")
    item.get_by_role("button", name="查看").click()
    expect(page).to_have_url(world.at(f"/cases/{case.id}"))
    page.goto(world.at("/notifications"))
    expect(page.locator("#notifications li[data-kind='escalated']").first).to_have_attribute("data-read", "yes")
    snap("2-read")
