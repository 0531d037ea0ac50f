"""批量转办 in a real browser: the officer ticks every task on the inbox page with 全选本页, reassigns them to
the city's bureau with a reason, and reads the result of each."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_an_officer_reassigns_the_ticked_tasks_in_bulk(page, world, watch, snap) -> None:
    driver = world.driver
    officer = world.users["officer"]
    for _ in range(3):
        driver.new_case(2, county="榆树市")
    world.session.rollback()

    sign_in(page, world, officer)
    page.goto(world.at("/inbox"))
    picks = page.locator("input.bulk-pick")
    count = picks.count()
    assert count >= 3
    page.locator("#bulk-all").check()
    expect(picks.nth(count - 1)).to_be_checked()
    picks.first.uncheck()
    expect(page.locator("#bulk-all")).not_to_be_checked()
    snap("1-ticked")
    page.locator("#btn-bulk-reassign").click()
    expect(page.locator("#bulk-tasks tbody tr")).to_have_count(count - 1)
    page.locator("#bulk-target").select_option(label="长春市住房和城乡建设局")
    page.locator("#bulk-reason").fill("县局人手不足，请市局协助办理")
    snap("2-confirm")
    page.locator("#btn-bulk-run").click()
    expect(page.locator("#bulk-summary")).to_contain_text(f"共 {count - 1} 项")
    snap("3-results")
