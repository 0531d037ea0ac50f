"""延期申请 in a real browser at 1366×768: the 榆树市住建 officer asks to extend 立案核实 from the task
page (a weekend date first, refused under the field with the reason kept), and the 长春市 supervisor
approves it from the dashboard's list; the task page then shows the new due date."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from workflows import workdays

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.browser

REASON = "开发企业账目尚未移交，需会同审计核实逾期户数"


def _dates(world, task):  # noqa: ANN001, ANN202
    """A working day three working days past the due date, and the first weekend day after it."""
    wanted = workdays.add_workdays(world.session, task.due_at, 3).due_day
    weekend = wanted
    while weekend.weekday() < 5:
        weekend = weekend.fromordinal(weekend.toordinal() + 1)
    return wanted, weekend


def test_officer_asks_and_the_city_approves_from_the_dashboard(page, world, watch, snap) -> None:
    task = world.tasks["intake"]
    wanted, weekend = _dates(world, task)
    sign_in(page, world, world.users["officer"])
    page.goto(world.at(f"/tasks/{task.id}"))
    form = page.locator("#extension-form")
    expect(form).to_be_visible()
    form.get_by_label("申请延至").fill(weekend.isoformat())
    form.get_by_label("延期理由").fill(REASON)
    form.get_by_role("button", name="申请延期").click()
    page.wait_for_load_state()
    field = page.locator('#extension-form [data-field="new_due_date"]')
    expect(field.locator(".invalid-feedback")).to_contain_text("是休息日")
    expect(page.locator("#extension-reason")).to_have_value(REASON)
    snap("1-refused-weekend", page.locator("#extension"))
    page.locator("#extension-date").fill(wanted.isoformat())
    page.locator("#btn-request-extension").click()
    page.wait_for_load_state()
    expect(page.locator("#extension-state")).to_have_attribute("data-status", "pending")
    expect(page.locator("#extension-state")).to_contain_text(f"延至 {wanted.isoformat()}")
    snap("2-pending")
    sign_out(page)

    sign_in(page, world, world.users["supervisor"])
    page.goto(world.at("/supervise#extensions"))
    row = page.locator("#extension-requests tbody tr").filter(has_text=REASON)
    expect(row).to_have_count(1)
    row.scroll_into_view_if_needed()
    snap("3-dashboard-list", page.locator("#extensions"))
    row.get_by_role("button", name="不批准").click()
    page.wait_for_load_state()
    expect(page.locator("#extension-requests .invalid-feedback")).to_contain_text("审批意见：不能为空")
    row = page.locator("#extension-requests tbody tr").filter(has_text=REASON)
    row.get_by_label("审批意见").fill("同意延期，请按期核实")
    row.get_by_role("button", name="批准", exact=True).click()
    page.wait_for_load_state()
    expect(page.locator(".alert-success")).to_contain_text(f"延至 {wanted.isoformat()}")
    snap("4-approved")
    sign_out(page)

    sign_in(page, world, world.users["officer"])
    page.goto(world.at(f"/tasks/{task.id}"))
    expect(page.locator("#task-due")).to_contain_text(wanted.isoformat())
    expect(page.locator("#task-extended")).to_be_visible()
    expect(page.locator("#extension-state")).to_have_attribute("data-status", "approved")
    page.locator("#btn-acknowledge-extension").click()
    page.wait_for_load_state()
    expect(page.locator("#extension-read")).to_contain_text(world.users["officer"].display_name)
    snap("5-read", page.locator("#extension"))
