"""抄送 in a real browser: the housing officer copies 立案核实 to the case's 包保领导; the county 安居办
officer, who serves the leader, finds it under 抄送我的, opens the task read-only and marks it 已阅."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.browser


def test_a_task_copied_to_the_leader_is_read_by_the_leaders_desk(page, world, watch, snap) -> None:
    driver = world.driver
    case = driver.new_case(2, county="榆树市")
    task = driver.task(case, "intake_verify")
    officer = driver.officer_for(task)
    desk = world.people.officer("榆树市", "supervision")

    sign_in(page, world, officer)
    page.goto(world.at(f"/tasks/{task.id}"))
    page.locator("#copy-box summary").click()
    page.locator("#copy-leader").check()
    page.locator("#copy-note").fill("逾期未安置 24 户，请包保领导阅知。")
    snap("1-copy-form", page.locator("#task-copies"))
    page.locator("#btn-copy").click()
    expect(page.locator(".alert-success")).to_contain_text("已抄送")
    expect(page.locator("#copies-list")).to_contain_text("未阅")
    sign_out(page)

    sign_in(page, world, desk)
    page.goto(world.at("/inbox"))
    page.locator('#inbox-tabs [data-view="cc"]').click()
    row = page.locator("#copies-table tr[data-read='0']")
    expect(row).to_contain_text("逾期未安置 24 户，请包保领导阅知。")
    expect(page.locator("#copies-unread")).to_have_text("1")
    snap("2-copied-to-me")
    row.get_by_role("button", name="已阅").click()
    expect(page.locator("#copies-table tr[data-read='1']")).to_be_visible()
    page.locator("#copies-table a", has_text="立案核实").click()
    expect(page.locator("#copies-list")).to_contain_text("已阅")
    expect(page.locator("#btn-complete")).to_have_count(0)
    snap("3-task-read-only")
