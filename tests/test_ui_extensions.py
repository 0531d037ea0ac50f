"""延期申请 in the pages: the 申请延期 form on the task page (refusals under their field, what was typed
kept), the request's state there (withdraw, 已阅), and the approve/refuse list on the supervisor's
dashboard."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import CaseEvent, ExtensionRequest, Task
from tests.conftest import at
from tests.pages import csrf
from tests.pages import signed_in as _client

FILED = at("2026-03-02 09:00")  # 立案核实 is due 2026-03-09 23:59:59
ASKED = at("2026-03-06 10:00")
REASON = "开发企业账目尚未移交，需会同审计核实户数"


@pytest.fixture(autouse=True)
def _everyone(people) -> None:  # noqa: ANN001
    for place in ("长春市", "吉林省"):
        people.supervisor(place)
    people.officer("榆树市", "housing")


@pytest.fixture
def task(driver) -> Task:  # noqa: ANN001
    case = driver.new_case(2, "榆树市", now=FILED)
    task = driver.task(case, "intake_verify")
    driver.travel_to(ASKED)
    return task


def _section(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start:page.index("</section>", start)]


def _feedback(html: str, key: str) -> list[str]:
    start = html.index(f'data-field="{key}"')
    end = html.find('data-field="', start + 1)
    return re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]+)<', html[start:end if end > 0 else None])


def _fresh(session) -> None:  # noqa: ANN001
    session.rollback()
    session.expire_all()


def test_officer_asks_fixes_a_weekend_date_and_withdraws(app, people, task, session):
    client = _client(app, people.officer("榆树市", "housing"))
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    form = _section(page, 'id="extension"')
    assert 'id="extension-form"' in form and "由长春市督办人审批" in form and 'min="2026-03-10"' in form

    refused = client.post(f"/tasks/{task.id}/extensions",
                          data={"csrf_token": csrf(page), "reason": REASON, "new_due_date": "2026-03-14"})
    assert refused.status_code == 422
    html = _section(refused.get_data(as_text=True), 'id="extension"')
    assert _feedback(html, "new_due_date") == ["申请延至：2026-03-14 是休息日，请选择工作日"]
    assert f"{REASON}</textarea>" in html and 'value="2026-03-14"' in html  # kept as typed
    _fresh(session)
    assert session.scalars(select(ExtensionRequest)).all() == []

    empty = client.post(f"/tasks/{task.id}/extensions",
                        data={"csrf_token": csrf(page), "reason": " ", "new_due_date": "2026-03-16"})
    assert empty.status_code == 422
    assert _feedback(_section(empty.get_data(as_text=True), 'id="extension"'), "reason") == ["延期理由：不能为空"]

    done = client.post(f"/tasks/{task.id}/extensions",
                       data={"csrf_token": csrf(page), "reason": REASON, "new_due_date": "2026-03-16"})
    assert done.status_code == 302 and done.headers["Location"].endswith("#extension")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    state = _section(page, 'id="extension"')
    assert 'data-status="pending"' in state and "待审批" in state and "延至 2026-03-16（延长 5 个工作日）" in state
    assert 'id="extension-form"' not in state  # one pending request at a time
    _fresh(session)
    asked = session.scalars(select(ExtensionRequest)).one()
    withdrawn = client.post(f"/tasks/{task.id}/extensions/{asked.id}/withdraw",
                            data={"csrf_token": csrf(page), "version": str(asked.version)})
    assert withdrawn.status_code == 302
    state = _section(client.get(f"/tasks/{task.id}").get_data(as_text=True), 'id="extension"')
    assert 'data-status="withdrawn"' in state and 'id="extension-form"' in state
    _fresh(session)
    assert session.get(ExtensionRequest, asked.id).status == "withdrawn"


def test_an_auditor_and_another_agency_see_no_form(app, people, task):
    for reader in (people.user("吉林省", "supervision", "auditor"), people.officer("榆树市", "finance")):
        page = _client(app, reader).get(f"/tasks/{task.id}").get_data(as_text=True)
        assert 'id="extension-form"' not in page


def _ask(app, people, task) -> None:  # noqa: ANN001
    client = _client(app, people.officer("榆树市", "housing"))
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    r = client.post(f"/tasks/{task.id}/extensions",
                    data={"csrf_token": csrf(page), "reason": REASON, "new_due_date": "2026-03-16"})
    assert r.status_code == 302, r.status_code


def _row(page: str, extension_id: int) -> str:
    found = re.search(rf'<tr data-extension-id="{extension_id}">(.*?)</tr>', page, re.S)
    assert found, "no row for the request"
    return found.group(1)


def test_city_supervisor_refuses_without_a_note_then_approves_and_the_officer_reads_it(app, people, task, session):
    _ask(app, people, task)
    _fresh(session)
    asked = session.scalars(select(ExtensionRequest)).one()
    city = _client(app, people.supervisor("长春市"))
    page = city.get("/supervise").get_data(as_text=True)
    row = _row(page, asked.id)
    assert REASON in row and "2026-03-09" in row and "2026-03-16" in row and f'id="approve-{asked.id}"' in row

    refused = city.post(f"/supervise/extensions/{asked.id}",
                        data={"csrf_token": csrf(page), "version": str(asked.version), "decision": "refuse",
                              "note": ""})
    assert refused.status_code == 422
    row = _row(refused.get_data(as_text=True), asked.id)
    assert "审批意见：不能为空" in row and 'class="form-control form-control-sm is-invalid"' in row

    typed = "同意，3月16日前务必核实完毕"
    stale = city.post(f"/supervise/extensions/{asked.id}", data={
        "csrf_token": csrf(page), "version": str(asked.version + 5), "decision": "approve", "note": typed})
    assert stale.status_code == 409
    assert f"{typed}</textarea>" in _row(stale.get_data(as_text=True), asked.id)  # nothing lost

    approved = city.post(f"/supervise/extensions/{asked.id}", data={
        "csrf_token": csrf(page), "version": str(asked.version), "decision": "approve", "note": typed})
    assert approved.status_code == 302
    _fresh(session)
    assert session.get(Task, task.id).due_at == at("2026-03-16 23:59:59")
    after = city.get("/supervise").get_data(as_text=True)
    assert f'data-extension-id="{asked.id}"' not in after and "没有待审批的延期申请" in after

    officer = _client(app, people.officer("榆树市", "housing"))
    page = officer.get(f"/tasks/{task.id}").get_data(as_text=True)
    state = _section(page, 'id="extension"')
    assert 'data-status="approved"' in state and typed in state and 'id="btn-acknowledge-extension"' in state
    assert "2026-03-16 23:59" in _section(page, 'id="task-summary"')
    read = officer.post(f"/tasks/{task.id}/extensions/{asked.id}/acknowledge", data={"csrf_token": csrf(page)})
    assert read.status_code == 302
    state = _section(officer.get(f"/tasks/{task.id}").get_data(as_text=True), 'id="extension"')
    assert 'id="btn-acknowledge-extension"' not in state
    assert "榆树市" in re.search(r'id="extension-read">([^<]+)<', state).group(1)
    _fresh(session)
    kinds = [(e.kind, e.channel) for e in session.scalars(
        select(CaseEvent).where(CaseEvent.kind.like("extension%")).order_by(CaseEvent.id))]
    assert kinds == [("extension_requested", "web"), ("extension_approved", "web"), ("extension_acknowledged", "web")]


def test_the_province_sees_a_countys_request_but_does_not_decide_it(app, people, task, session):
    _ask(app, people, task)
    _fresh(session)
    asked = session.scalars(select(ExtensionRequest)).one()
    province = _client(app, people.supervisor("吉林省"))
    page = province.get("/supervise").get_data(as_text=True)
    row = _row(page, asked.id)
    assert "由长春市审批" in row and f'id="approve-{asked.id}"' not in row
    r = province.post(f"/supervise/extensions/{asked.id}", data={"csrf_token": csrf(page), "decision": "approve"})
    assert r.status_code == 403
    _fresh(session)
    assert session.get(ExtensionRequest, asked.id).status == "pending"
