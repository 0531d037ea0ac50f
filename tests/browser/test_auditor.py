"""The provincial auditor (审计) in a real browser: reads the events and an evidence file's hash, and
finds no control anywhere that changes anything."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from models import Attachment
from workflows import attachments

from .conftest import World, sign_in, tiny_pdf, write_controls

pytestmark = pytest.mark.browser

@pytest.fixture(scope="module")
def evidence(world: World) -> Attachment:
    """The court's ruling completed with its scan uploaded (through the services)."""
    court, task = world.users["court"], world.tasks["judgment"]
    stored = attachments.store_upload(
        world.session, court, task.id, "judgment_scan",
        attachments.Upload(io.BytesIO(tiny_pdf("ruling")), "判决书.pdf", "application/pdf"),
        directory=Path(world.app.instance_path) / "attachments")
    world.driver.complete(world.cases["judgment"], "court_judgment", judgment_no="（2026）吉0182民初7号",
                          judgment_scan=attachments.reference(stored), judgment_result="return_enforceable")
    return stored


def _no_controls(page) -> None:  # noqa: ANN001
    assert write_controls(page) == [], page.url
    for marker in ("#task-form", "#btn-complete", "#btn-draft", "#btn-claim", "#reclassify-form",
                   "#supervisor-actions", "#comment-form", "#file-case"):
        assert page.locator(marker).count() == 0, (page.url, marker)
    # What remains is signing out and the language.
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    expect(page.get_by_label("语言 Language")).to_be_visible()


def test_auditor_reads_events_and_the_evidence_hash_and_can_change_nothing(page, world, evidence, watch,
                                                                           snap) -> None:
    case, task = world.cases["judgment"], world.tasks["judgment"]
    sign_in(page, world, world.users["auditor"])
    expect(page).to_have_url(world.at("/"))
    _no_controls(page)
    snap("1-overview")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="审计").click()
    expect(page).to_have_url(re.compile(r"/audit$"))
    events = page.locator("#audit-events tbody tr")
    completed = events.filter(has_text="办结任务「案件审理判决」")
    expect(completed).to_have_count(1)
    expect(completed).to_contain_text(case.code)
    expect(events.filter(has_text=case.code).filter(has_text="立案").first).to_be_visible()
    _no_controls(page)
    snap("2-audit")

    # Filtering is reading: the list narrows to the case, still without a control that writes.
    page.get_by_label("案件编号").fill(world.cases["working"].code)
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"case_code="))
    expect(events.filter(has_text=case.code)).to_have_count(0)
    expect(events.filter(has_text=world.cases["working"].code).first).to_be_visible()
    _no_controls(page)

    page.goto(world.at(f"/cases/{case.id}"))
    expect(page.locator("#case-title")).to_have_text(case.project_name)
    done = page.locator('#timeline tr[data-kind="task_completed"]').filter(has_text="案件审理判决")
    expect(done).to_contain_text("判决书.pdf")
    expect(done.locator("code.hq-sha")).to_have_text(evidence.sha256)
    expect(page.locator("#case-diagrams")).to_have_attribute("data-rendered", "true", timeout=20_000)
    _no_controls(page)
    snap("3-case")
    # The file it names is the file stored: the auditor downloads it and the hash matches.
    response = page.request.get(world.at(f"/attachments/{evidence.id}"))
    assert response.status == 200 and hashlib.sha256(response.body()).hexdigest() == evidence.sha256

    page.goto(world.at(f"/tasks/{task.id}"))
    expect(page.locator("#task-readonly")).to_contain_text("判决书.pdf")
    _no_controls(page)
    snap("4-task")

    page.goto(world.at("/cases"))
    expect(page.locator(f'tr[data-case-id="{case.id}"]')).to_be_visible()
    _no_controls(page)

    page.goto(world.at(f"/audit/cases/{case.id}/print"))
    expect(page.locator("body")).to_contain_text("办结任务「案件审理判决」")
    _no_controls(page)
    snap("5-print")
