"""The task page's 转办, 退回 and 撤回 controls: offered only where the service allows them, each posting
to the service and telling the outcome; a returned task shows its 退回意见 on the page and in the inbox."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Task, User
from tests.conftest import PASSWORD_HASH, at
from tests.pages import csrf, signed_in

NOW = at("2026-03-02 09:00")


def _page(client, task_id: int) -> str:  # noqa: ANN001
    response = client.get(f"/tasks/{task_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _version(page: str, form_id: str) -> str:
    form = page[page.index(f'id="{form_id}"'):]
    return re.search(r'name="version" value="(\d+)"', form).group(1)


def _follow(client, response) -> str:  # noqa: ANN001
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_officer_returns_a_task_and_the_filer_finds_it_back_with_the_opinion(app, driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    filer = people.officer("榆树市", "housing")
    intake = driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    classifier = signed_in(app, driver.officer_for(classify))
    page = _page(classifier, classify.id)
    assert 'id="return-form"' in page and f'<option value="{intake.id}">立案核实（榆树市住房和城乡建设局' in page
    empty = classifier.post(f"/tasks/{classify.id}/return", data={
        "csrf_token": csrf(page), "version": _version(page, "return-form"), "opinion": " "})
    assert "退回意见：不能为空" in _follow(classifier, empty)
    done = classifier.post(f"/tasks/{classify.id}/return", data={
        "csrf_token": csrf(page), "version": _version(page, "return-form"), "target_task_id": str(intake.id),
        "opinion": "逾期户数与台账不符，请重新核实"})
    assert "已退回至「立案核实」，交 榆树市住房和城乡建设局 重新办理。" in _follow(classifier, done)
    session.rollback()
    reopened = driver.task(case, "intake_verify")
    assert reopened.assignee_id == filer.id
    mine = signed_in(app, filer)
    page = _page(mine, reopened.id)
    assert 'id="return-note"' in page and "退回意见：逾期户数与台账不符，请重新核实" in page
    listing = mine.get("/inbox").get_data(as_text=True)
    assert "逾期户数与台账不符，请重新核实" in listing and "被退回" in listing


def test_reassign_from_the_page_to_a_colleague_and_refusals_are_told(app, driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    officer = people.officer("榆树市", "housing")
    colleague = User(username="colleague-ui", display_name="同事小李", role="officer", agency=officer.agency,
                     password_hash=PASSWORD_HASH, active=True)
    session.add(colleague)
    session.commit()
    task = driver.task(case, "intake_verify")
    client = signed_in(app, officer)
    page = _page(client, task.id)
    assert f'<option value="user:{colleague.id}">同事小李</option>' in page
    assert "长春市住房和城乡建设局" in page  # the city's bureau of the same role
    assert "return-form" not in page  # the first step has nothing to return to
    refused = client.post(f"/tasks/{task.id}/reassign", data={
        "csrf_token": csrf(page), "version": _version(page, "reassign-form"), "target": f"user:{colleague.id}",
        "reason": ""})
    assert "转办理由：不能为空" in _follow(client, refused)
    done = client.post(f"/tasks/{task.id}/reassign", data={
        "csrf_token": csrf(page), "version": _version(page, "reassign-form"), "target": f"user:{colleague.id}",
        "reason": "本人下周培训"})
    assert "已转办「立案核实」。" in _follow(client, done)
    session.rollback()
    assert session.get(Task, task.id).assignee_id == colleague.id
    assert 'id="reassign-form"' not in _page(client, task.id)  # a colleague's task now


def test_withdraw_is_offered_to_the_completer_while_the_next_step_is_untouched(app, driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    filer = people.officer("榆树市", "housing")
    intake = driver.complete(case, "intake_verify")
    client = signed_in(app, filer)
    page = _page(client, intake.id)
    assert 'id="btn-withdraw"' in page
    other = _page(signed_in(app, driver.officer_for(driver.task(case, "classify"))), intake.id)
    assert 'id="btn-withdraw"' not in other and 'id="withdraw-blocked"' not in other
    done = client.post(f"/tasks/{intake.id}/withdraw", data={
        "csrf_token": csrf(page), "version": _version(page, "withdraw-form"), "reason": "附件传错"})
    assert "已撤回「立案核实」，请重新办理。" in _follow(client, done)
    session.rollback()
    reopened = session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "ready")).one()
    assert done.headers["Location"].startswith(f"/tasks/{reopened.id}")
    # Completed again and the next step claimed: the button gives way to the reason.
    driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    from workflows import tasks
    tasks.claim(session, driver.officer_for(classify), classify.id)
    again = session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "intake_verify")
                            .order_by(Task.id.desc())).first()
    page = _page(client, again.id)
    assert 'id="btn-withdraw"' not in page and "不能撤回：下一步「分类认定」已被认领，不能撤回" in page
