"""An officer's day in a real browser: sign in, open the inbox, open a task, submit it with a required
field missing and read the Chinese message next to it, fix it, attach the ruling as a PDF, complete it,
and see the task leave the inbox."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Attachment

from .conftest import sign_in, tiny_pdf

pytestmark = pytest.mark.browser


def test_officer_completes_a_task_with_evidence_and_it_leaves_the_inbox(page, world, watch, snap,
                                                                        tmp_path: Path) -> None:
    task = world.tasks["judgment"]
    case = world.cases["judgment"]
    court = world.users["court"]
    scan = tmp_path / "判决书.pdf"
    scan.write_bytes(tiny_pdf("(2026) Ji 0182 Min Chu 123"))
    digest = hashlib.sha256(scan.read_bytes()).hexdigest()

    sign_in(page, world, court)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="待办").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    row = page.locator(f'#inbox-table tr[data-task-id="{task.id}"]')
    expect(row).to_contain_text("案件审理判决")
    expect(row).to_contain_text(case.code)
    snap("1-inbox")

    row.get_by_role("link", name="案件审理判决").click()
    expect(page.locator("#task-title")).to_contain_text("案件审理判决")
    form = page.locator("#task-form")
    expect(form).to_be_visible()
    snap("2-task")

    # 判决结果 chosen, 判决文书号 forgotten, no scan yet: refused, each message beside its field.
    page.locator("#field-judgment_result").select_option("return_enforceable")
    page.locator("#opinion").fill("判决书已送达双方当事人。")
    page.locator("#btn-complete").click()
    number = page.locator('[data-field="judgment_no"]')
    expect(number.locator(".invalid-feedback")).to_have_text(re.compile(r"判决文书号.*必填"))
    expect(page.locator("#field-judgment_no")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator('[data-field="judgment_scan"] .invalid-feedback')).to_contain_text("必填")
    # What was typed is still there; the task is still open.
    expect(page.locator("#field-judgment_result")).to_have_value("return_enforceable")
    expect(page.locator("#opinion")).to_have_value("判决书已送达双方当事人。")
    world.session.rollback()
    world.session.refresh(task)
    assert task.status == "ready"
    snap("3-refused")

    page.locator("#field-judgment_no").fill("（2026）吉0182民初123号")
    page.locator("#field-judgment_scan").set_input_files(str(scan))
    page.locator("#btn-complete").click()

    # Back in the inbox: told what happened next, and the task is gone from the list.
    expect(page).to_have_url(re.compile(r"/inbox"))
    expect(page.get_by_role("status").filter(has_text="已办结「案件审理判决」")).to_be_visible()
    expect(page.locator(f'#inbox-table tr[data-task-id="{task.id}"]')).to_have_count(0)
    snap("4-done")

    world.session.rollback()
    world.session.refresh(task)
    assert task.status == "completed" and task.completed_by_id == court.id
    assert task.data["judgment_no"] == "（2026）吉0182民初123号"
    assert task.data["judgment_scan"]["sha256"] == digest
    assert task.opinion == "判决书已送达双方当事人。"
    stored = world.session.scalars(select(Attachment).where(Attachment.task_id == task.id)).one()
    assert (stored.name, stored.sha256, stored.size) == ("判决书.pdf", digest, scan.stat().st_size)
    assert stored.content_type == "application/pdf" and stored.uploaded_by_id == court.id
    # The evidence downloads as the same bytes, as an attachment (never rendered by the browser).
    response = page.request.get(world.at(f"/attachments/{stored.id}"))
    assert response.status == 200 and hashlib.sha256(response.body()).hexdigest() == digest
    assert response.headers["content-disposition"].startswith("attachment")
    # The case page's record of the completion names the file and its hash.
    page.goto(world.at(f"/cases/{case.id}"))
    done = page.locator('#timeline tr[data-kind="task_completed"]').filter(has_text="案件审理判决")
    expect(done).to_contain_text("判决书.pdf")
    expect(done.locator("code.hq-sha")).to_have_text(digest)
    expect(done).to_have_attribute("data-channel", "web")
    snap("5-case")
