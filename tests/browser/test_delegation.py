"""委派 and 委托 in a real browser: the housing officer delegates 立案核实 to a colleague, who hands it back
with an opinion; the officer sees the opinion and completes it. Then the officer sets an away period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from models import User
from tests.conftest import PASSWORD_HASH
from workflows.engine import clock

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.browser


def test_delegate_hand_back_complete_and_set_away(page, world, watch, snap) -> None:
    driver = world.driver
    holder = world.users["officer"]
    agency = world.people.agency("榆树市", "housing")
    colleague = world.session.query(User).filter_by(username="browser-li").one_or_none()
    if colleague is None:
        colleague = User(username="browser-li", display_name="李四", role="officer", agency=agency,
                         password_hash=PASSWORD_HASH, active=True)
        world.session.add(colleague)
        world.session.commit()
    case = driver.new_case(2, county="榆树市")
    task = driver.task(case, "intake_verify")

    sign_in(page, world, holder)
    page.goto(world.at(f"/tasks/{task.id}"))
    page.locator("#delegate-box summary").click()
    page.locator("#delegate-user").select_option(label="李四")
    page.locator("#delegate-note").fill("请核对台账户数后退回。")
    snap("1-delegate", page.locator("#task-delegation"))
    page.locator("#btn-delegate").click()
    expect(page.locator(".alert-success")).to_contain_text("已委派")
    expect(page.locator("#delegation-active")).to_contain_text("委派 李四 办理")
    sign_out(page)

    sign_in(page, world, colleague)
    page.goto(world.at("/inbox"))
    row = page.locator(f'#inbox-table tr[data-task-id="{task.id}"]')
    expect(row).to_contain_text("委派给我")
    row.get_by_role("link", name="立案核实").click()
    page.locator("#resolve-opinion").fill("台账 24 户，与申报一致，可以立案。")
    snap("2-resolve", page.locator("#task-delegation"))
    page.locator("#btn-resolve").click()
    expect(page.locator(".alert-success")).to_contain_text("已办毕退回委派人")
    sign_out(page)

    sign_in(page, world, holder)
    page.goto(world.at(f"/tasks/{task.id}"))
    expect(page.locator("#task-delegation")).to_contain_text("办理意见：台账 24 户，与申报一致，可以立案。")
    expect(page.locator("#btn-complete")).to_be_visible()
    snap("3-back-with-opinion")

    page.locator("#nav-away").click()
    today = clock.now().date()
    page.locator("#starts_on").fill((today + timedelta(days=7)).isoformat())
    page.locator("#ends_on").fill((today + timedelta(days=11)).isoformat())
    page.locator("#delegate_id").select_option(label="李四")
    page.locator("#reason").fill("年休假")
    page.locator("#btn-away").click()
    expect(page.locator(".alert-success")).to_contain_text("已设置委托")
    expect(page.locator("#away-periods tr[data-state='planned']")).to_contain_text("李四")
    snap("4-away")
