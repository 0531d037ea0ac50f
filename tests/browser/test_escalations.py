"""The escalation ladder in a real browser: a city supervisor (长春市安居办) raises 督办 on a case from its
page; the target agency's officer (榆树市住建局) finds it in the inbox, marks it read and answers; the
provincial auditor sees both in the case's history and no control that changes anything. Then the
supervisor's dashboard with the open escalations and the calendar flag, and the administrators'
holiday-schedule page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Escalation
from workflows import escalations
from workflows.engine import clock

from .conftest import sign_in, sign_out, write_controls

pytestmark = pytest.mark.browser

REASON = "南关项目立案核实已拖延，请于期限内报告核实进度"
ANSWER = "已组织入户核实，本周内完成立案核实"


def test_supervisor_escalates_the_officer_reads_and_answers_the_auditor_sees_it(page, world, watch,
                                                                                 snap) -> None:
    case, officer = world.cases["fresh"], world.users["officer"]
    target = officer.agency

    # 1. 长春市's supervisor raises 督办 on 榆树市南关棚改项目, towards 榆树市住建局, answer in 3 working days.
    sign_in(page, world, world.users["supervisor"])
    page.goto(world.at(f"/cases/{case.id}"))
    form = page.locator("#escalate-form")
    expect(form.locator("select[name=level] option")).to_have_count(2)  # 催办, 督办: a city's rungs
    form.get_by_label("督办级别").select_option("supervise")
    form.get_by_label("督办对象").select_option(str(target.id))
    form.get_by_label("答复期限（工作日）").fill("3")
    form.get_by_label("督办事由").fill(REASON)
    form.get_by_role("button", name="发起督办").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text="已发起督办")).to_be_visible()
    row = page.locator("#escalation-list tbody tr").first
    expect(row).to_contain_text("督办")
    expect(row).to_contain_text(target.name)
    expect(row).to_contain_text(REASON)
    expect(row.locator('[data-field="acknowledged"]')).to_contain_text("未阅")
    page.locator("#escalations").scroll_into_view_if_needed()
    snap("1-raised")
    sign_out(page)

    # 2. 榆树市住建局's officer: the menu counts it, the inbox shows it unread; 已阅, then the answer.
    sign_in(page, world, officer)
    page.goto(world.at("/inbox"))
    expect(page.locator("#nav-escalations")).to_contain_text("1")
    item = page.locator("#escalation-inbox tbody tr").first
    expect(item).to_have_attribute("data-read", "0")
    expect(item).to_contain_text(REASON)
    expect(page.locator("#addressed-unread")).to_be_visible()
    snap("2-inbox-unread")
    item.get_by_role("button", name="已阅（签收）").click()
    page.wait_for_load_state()
    item = page.locator("#escalation-inbox tbody tr").first
    expect(item).to_have_attribute("data-read", "1")
    expect(item).to_contain_text("已阅：")
    snap("3-inbox-read")
    item.get_by_label("答复办理情况（必填）").fill(ANSWER)
    item.get_by_role("button", name="提交答复").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text="已答复督办")).to_be_visible()
    expect(page.locator("#addressed-escalations")).to_have_count(0)
    expect(page.locator("#nav-escalations")).to_have_count(0)
    world.session.rollback()
    done = world.session.scalars(select(Escalation).where(Escalation.case_id == case.id)).one()
    assert (done.outcome, done.response, done.acknowledged_by_id) == ("answered", ANSWER, officer.id)
    sign_out(page)

    # 3. The provincial auditor: both events in the case's history, nothing to press.
    sign_in(page, world, world.users["auditor"])
    page.goto(world.at(f"/cases/{case.id}"))
    timeline = page.locator("#timeline")
    expect(timeline.locator('tr[data-kind="escalated"]')).to_contain_text("督办升级")
    expect(timeline.locator('tr[data-kind="escalated"]')).to_contain_text(REASON)
    expect(timeline.locator('tr[data-kind="escalation_acknowledged"]')).to_contain_text(officer.display_name)
    expect(timeline.locator('tr[data-kind="escalation_answered"]')).to_contain_text(ANSWER)
    expect(page.locator("#escalation-list")).to_contain_text(ANSWER)
    assert write_controls(page) == []
    assert page.locator("#escalate-form, .hq-close-form, #supervisor-actions").count() == 0
    page.locator("#timeline").scroll_into_view_if_needed()
    snap("4-auditor-history")


def test_dashboard_shows_open_escalations_and_the_calendar_flag_and_admins_enter_a_year(page, world, watch,
                                                                                       snap) -> None:
    # Two more through the services: an unread 催办 raised ten days ago and long overdue (red), and one
    # to answer by the end of the next working day (yellow or blue, depending on the hour).
    supervisor, now = world.users["supervisor"], clock.now()
    world.session.rollback()
    late = escalations.escalate(world.session, supervisor, world.cases["working"].id, level="urge",
                                reason="纺织厂项目复工方案逾期未报", due_in_workdays=2,
                                agency_id=world.people.agency("农安县", "housing").id, now=now - timedelta(days=10))
    soon = escalations.escalate(world.session, supervisor, world.cases["judgment"].id, level="urge",
                                reason="请报告判决执行准备情况", due_in_workdays=1,
                                agency_id=world.people.agency("榆树市", "finance").id, now=now)
    sign_in(page, world, supervisor)
    page.goto(world.at("/supervise"))
    board = page.locator("#escalation-board tbody tr")
    expect(board.first).to_have_attribute("data-escalation-id", str(late.id))  # unanswered and overdue first
    expect(board.first).to_have_class(re.compile("due-overdue"))
    expect(page.locator(f'#escalation-board tr[data-escalation-id="{soon.id}"]')).to_be_visible()
    if board.count() > 2:  # the first test's answered 督办, when it ran: answered ones come last
        expect(board.last).to_have_attribute("data-outcome", "answered")
    flags = page.locator("[data-uncovered-year]")
    if flags.count():  # a year ahead the calendar library does not know (the next one, until published)
        expect(flags.first).to_contain_text("法定节假日安排尚未录入，涉及该年的期限为暂定")
    snap("1-dashboard")
    sign_out(page)

    world.session.rollback()  # end the service session's read snapshot, or SQLite refuses its write
    admin = world.people.user("吉林省", "supervision", "admin")
    sign_in(page, world, admin)
    page.goto(world.at("/admin/calendar"))
    expect(page.locator("#calendar-years tbody tr")).not_to_have_count(0)
    year = int(page.locator("#calendar-form input[name=year]").input_value())
    page.get_by_label("放假日期").fill(f"{year}-10-01 国庆节\n{year}-10-02")
    page.get_by_role("button", name="保存该年安排").click()
    page.wait_for_load_state()
    expect(page.locator('[data-error-for="holidays"]')).to_contain_text("放假日期第 2 项名称：必填")
    snap("2-calendar-error")
    page.get_by_label("放假日期").fill(f"{year}-10-01 国庆节\n{year}-10-02 国庆节")
    page.get_by_role("button", name="保存该年安排").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status").filter(has_text=re.compile(rf"已录入 {year} 年节假日安排"))).to_be_visible()
    expect(page.locator(f'#calendar-years tr[data-year="{year}"]')).to_have_attribute("data-status", "admin")
    snap("3-calendar-entered")
