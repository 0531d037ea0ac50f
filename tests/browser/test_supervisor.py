"""A city supervisor (长春市安居办) in a real browser: watches a case advance on its case page, and
changes another case's category (改变类别) through the two-step form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import sign_in, write_controls

pytestmark = pytest.mark.browser


def test_supervisor_sees_the_case_advance_on_its_page(page, world, watch, snap) -> None:
    case = world.cases["fresh"]
    sign_in(page, world, world.users["supervisor"])
    page.goto(world.at("/cases"))
    page.locator(f'tr[data-case-id="{case.id}"]').get_by_role("link", name=case.code).click()
    expect(page.locator("#case-title")).to_have_text(case.project_name)
    timeline = page.locator("#timeline")
    completed = timeline.locator('tr[data-kind="task_completed"]')
    expect(completed).to_have_count(0)
    expect(page.locator('#open-tasks tr[data-bpmn-id="intake_verify"]')).to_be_visible()
    snap("1-before")

    # 榆树市住建 completes 立案核实 (through the services, as the officer's own page would).
    world.driver.complete(case, "intake_verify", households_confirmed=case.households_overdue)

    page.reload()
    expect(completed).to_have_count(1)
    expect(completed.first).to_contain_text("办结任务「立案核实」")
    expect(completed.first).to_contain_text(world.users["officer"].display_name)
    # It moved on to 分类认定: the open tasks, the text and the diagram all say so.
    expect(page.locator('#open-tasks tr[data-bpmn-id="intake_verify"]')).to_have_count(0)
    expect(page.locator('#open-tasks tr[data-bpmn-id="classify"]')).to_be_visible()
    expect(timeline.locator('tr[data-kind="task_opened"]').first).to_contain_text("分类认定")
    lifecycle = page.locator("#diagram-case_lifecycle")
    expect(lifecycle.locator('g[data-element-id="classify"]')).to_have_class(re.compile(r"\bhq-active\b"),
                                                                            timeout=20_000)
    expect(lifecycle.locator('g[data-element-id="intake_verify"]')).to_have_class(re.compile(r"\bhq-done\b"))
    snap("2-after")


def test_supervisor_changes_the_category_of_a_working_case(page, world, watch, snap) -> None:
    case = world.cases["working"]
    working = world.driver.open_tasks(case)  # category 2's open tasks, withdrawn by the change
    assert working
    sign_in(page, world, world.users["supervisor"])
    page.goto(world.at(f"/cases/{case.id}"))
    expect(page.locator("#case-category")).to_contain_text("第2类")
    # The check the auditor's pages pass finds the supervisor's controls here (it is not blind).
    assert f"form post /cases/{case.id}/reclassify" in write_controls(page)
    form = page.locator("#reclassify-form")
    form.get_by_label("改变类别：新类别").select_option("3")
    form.get_by_label("改类理由（必填）").fill("项目实际尚未开工，规划调整后重新认定")
    snap("1-filled")
    form.get_by_role("button", name="下一步：确认").click()

    # The confirmation repeats the choice and the reason; nothing has changed yet.
    expect(page.locator("#reclassify-confirm")).to_contain_text("改为第3类")
    expect(page.locator("#reclassify-confirm")).to_contain_text("项目实际尚未开工，规划调整后重新认定")
    world.session.rollback()
    world.session.refresh(case)
    assert case.category == 2
    snap("2-confirm")
    page.get_by_role("button", name="确认改变类别").click()

    expect(page).to_have_url(re.compile(rf"/cases/{case.id}$"))
    expect(page.get_by_role("status").filter(has_text="已将案件由第2类改为第3类")).to_be_visible()
    expect(page.locator("#case-category")).to_contain_text("第3类")
    expect(page.locator("#case-attempts")).to_contain_text("项目实际尚未开工")
    changed = page.locator('#timeline tr[data-kind="case_reclassified"]')
    expect(changed).to_contain_text("理由：项目实际尚未开工，规划调整后重新认定")
    expect(changed).to_have_attribute("data-channel", "web")
    snap("3-changed")

    world.session.rollback()
    world.session.refresh(case)
    assert case.category == 3
    event = world.driver.events(case, "case_reclassified")[-1]
    assert event.actor_id == world.users["supervisor"].id and event.channel == "web"
    for task in working:
        world.session.refresh(task)
        assert task.status == "cancelled", (task.bpmn_id, task.status)
    assert world.driver.open_ids(case), "category 3 opened its first task"
