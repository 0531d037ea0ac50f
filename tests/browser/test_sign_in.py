"""Signing in and out in a real browser, the CSRF refusal of a script's POST, and markup in a case name
shown as text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import SCRIPT_NAME, sign_in, sign_out

pytestmark = pytest.mark.browser


def test_wrong_password_is_told_in_chinese_and_the_right_one_opens_the_overview(page, world, watch, snap) -> None:
    officer = world.users["officer"]
    page.goto(world.at("/"))
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("登录")
    snap("1-login")

    sign_in(page, world, officer, "不对的密码")
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    expect(page).to_have_url(re.compile(r"/login"))
    snap("2-wrong-password")

    sign_in(page, world, officer)
    expect(page).to_have_url(world.at("/"))
    expect(page.get_by_role("navigation", name="主导航")).to_contain_text(officer.display_name)
    expect(page.locator("main")).to_contain_text("榆树市")
    snap("3-overview")


def test_signing_out_ends_the_session(page, world, watch, snap) -> None:
    sign_in(page, world, world.users["supervisor"])
    expect(page).to_have_url(world.at("/"))
    sign_out(page)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("已退出登录")
    snap("1-signed-out")
    # The session is gone: the overview sends the visitor back to sign in, the API answers 401.
    page.goto(world.at("/"))
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    assert page.evaluate("fetch('/api/v1/me').then(r => r.status)") == 401


def test_a_post_without_the_csrf_token_is_refused(page, world, watch, snap) -> None:
    task = world.tasks["intake"]
    sign_in(page, world, world.users["officer"])
    page.goto(world.at(f"/tasks/{task.id}"))
    expect(page.locator("#btn-complete")).to_be_visible()
    post = """([url, body]) => fetch(url, {method: 'POST', credentials: 'same-origin',
                  headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body})
                  .then(async r => [r.status, await r.text()])"""
    # A script on the page completes the task without the form's token: refused, in Chinese.
    status, text = page.evaluate(post, [f"/tasks/{task.id}", "action=complete&households_confirmed=24"
                                        "&responsible_leader=%E7%8E%8B&intake_facts=x"])
    assert status == 400 and "校验码" in text
    # A token that is not the session's, likewise; and signing out without one.
    status, _ = page.evaluate(post, [f"/tasks/{task.id}", "action=complete&csrf_token=forged"])
    assert status == 400
    status, _ = page.evaluate(post, ["/logout", "next=/"])
    assert status == 400
    # Nothing happened: the task is open, the officer still signed in.
    world.session.rollback()
    world.session.refresh(task)
    assert task.status == "ready"
    page.reload()
    expect(page.locator("#btn-complete")).to_be_visible()
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    snap("1-still-open")


def test_a_case_name_with_markup_is_shown_as_text_on_the_overview(page, world, watch, snap) -> None:
    sign_in(page, world, world.users["supervisor"])
    expect(page.locator("main")).to_contain_text(SCRIPT_NAME)
    # The name's tags did not become elements.
    assert page.locator("main b", has_text="西区").count() == 0
    snap("1-overview")
    assert watch.dialogs == []
