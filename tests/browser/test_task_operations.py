"""退回 in a real browser: the 安居办 officer returns 分类认定 to 立案核实 with an opinion; the housing
officer who filed the case finds it back in the inbox, marked 被退回 with the opinion, and on the task."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.browser

OPINION = "逾期未安置户数与台账不符（台账为 26 户），请重新核实后报送。"


def test_an_officer_returns_a_task_and_the_previous_officer_sees_it_with_the_opinion(page, world, watch,
                                                                                      snap) -> None:
    driver = world.driver
    case = driver.new_case(2, county="榆树市")
    driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    classifier = driver.officer_for(classify)
    filer = world.users["officer"]

    sign_in(page, world, classifier)
    page.goto(world.at(f"/tasks/{classify.id}"))
    panel = page.locator("#task-operations")
    expect(panel).to_be_visible()
    panel.get_by_text("退回至前序步骤").click()
    expect(page.locator("#return-target")).to_contain_text("立案核实（榆树市住房和城乡建设局")
    page.locator("#return-opinion-input").fill(OPINION)
    snap("1-return-form")
    page.locator("#btn-return").click()
    expect(page.locator(".alert-success")).to_contain_text("已退回至「立案核实」，交 榆树市住房和城乡建设局 重新办理。")
    snap("2-returned")
    sign_out(page)

    sign_in(page, world, filer)
    page.goto(world.at("/inbox"))
    world.session.rollback()
    reopened = driver.task(case, "intake_verify")
    row = page.locator(f'#inbox-table tr[data-task-id="{reopened.id}"]')
    expect(row).to_contain_text("被退回")
    expect(row).to_contain_text(OPINION[:20])
    snap("3-inbox")
    row.get_by_role("link", name="立案核实").click()
    expect(page).to_have_url(re.compile(rf"/tasks/{reopened.id}"))
    expect(page.locator("#return-note")).to_contain_text(OPINION)
    expect(page.locator("#task-form")).to_be_visible()
    snap("4-task")
