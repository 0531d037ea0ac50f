"""委派 (issue #17): the holder asks a colleague to handle a task; the colleague resolves it back with an
opinion and the holder completes it. Through the service layer, the API and the pages: who may, what
is refused while the task is out, and history that tells who handed what to whom."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Notification, Task, User
from tests.conftest import PASSWORD_HASH, at
from tests.pages import csrf, signed_in
from workflows import delegation, inbox, task_operations, tasks
from workflows.errors import Conflict, Forbidden, Invalid

NOW = at("2026-03-02 09:00")


def _colleague(session, people, name: str = "李四", county: str = "榆树市", role: str = "housing") -> User:  # noqa: ANN001
    agency = people.agency(county, role)
    user = User(username=f"{name}-{agency.id}", display_name=name, role="officer", agency=agency,
                password_hash=PASSWORD_HASH, active=True)
    session.add(user)
    session.commit()
    return user


def _setup(driver, people, session):  # noqa: ANN001, ANN202
    case = driver.new_case(2, now=NOW)
    task = driver.task(case, "intake_verify")
    holder = driver.officer_for(task)
    colleague = _colleague(session, people)
    session.rollback()
    return case, task, holder, colleague


def test_delegate_resolve_back_and_the_holder_completes(driver, people, session) -> None:  # noqa: ANN001
    case, task, holder, colleague = _setup(driver, people, session)
    made = delegation.delegate(session, holder, task.id, user_id=colleague.id, note="请核对台账户数")
    assert made.active and made.to_user_id == colleague.id
    session.rollback()
    row = session.get(Task, task.id)
    assert (row.assignee_id, row.delegated_to_id) == (holder.id, colleague.id)
    # The delegate finds it in their inbox and 我的; nobody completes it while it is out.
    assert task.id in {t.id for t in inbox.task_page(session, colleague, view="mine").items}
    assert task.id in {t.id for t in inbox.task_page(session, colleague, view="inbox").items}
    data = {"households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "已核实"}
    with pytest.raises(Conflict) as caught:
        tasks.complete_task(session, colleague, task.id, data)
    assert caught.value.message == "委派给您的任务由委派人办结：请办理后“办毕退回”委派人"
    with pytest.raises(Conflict) as caught:
        tasks.complete_task(session, holder, task.id, data)
    assert caught.value.message == "任务已委派他人办理，须待其办毕退回（或由委派人收回）后再操作"
    with pytest.raises(Conflict):
        task_operations.reassign(session, holder, task.id, user_id=colleague.id, reason="再转")
    assert session.scalar(select(Notification.title).where(Notification.user_id == colleague.id)) == \
        f"委派：立案核实（{case.code}）"

    delegation.resolve(session, colleague, task.id, opinion="台账 12 户，与申报一致")
    session.rollback()
    assert session.get(Task, task.id).delegated_to_id is None
    tasks.complete_task(session, holder, task.id, data)
    story = [e.summary for e in driver.events(case) if e.kind in ("task_delegated", "delegation_resolved",
                                                                    "task_completed")]
    assert story[0].endswith(f"将任务「立案核实」委派给{colleague.display_name}办理，说明：请核对台账户数")
    assert story[1].endswith(f"办毕退回任务「立案核实」给{holder.display_name}，办理意见：台账 12 户，与申报一致")
    assert story[2].startswith(holder.display_name)


def test_delegation_refusals(driver, people, session) -> None:  # noqa: ANN001
    case, task, holder, colleague = _setup(driver, people, session)
    other_agency = _colleague(session, people, "赵六", role="finance")
    third = _colleague(session, people, "钱七")
    session.rollback()
    for user_id, message in ((holder.id, "不能委派给自己"), (other_agency.id, "应为本部门在岗的经办人"),
                             (10**30, "应为本部门在岗的经办人"), (None, "应为本部门在岗的经办人")):
        with pytest.raises(Invalid) as caught:
            delegation.delegate(session, holder, task.id, user_id=user_id)
        assert caught.value.errors == {"user_id": [f"受委派人：{message}"]}
    supervisor = people.supervisor("长春市")
    with pytest.raises(Forbidden):
        delegation.delegate(session, supervisor, task.id, user_id=colleague.id)
    delegation.delegate(session, holder, task.id, user_id=colleague.id)
    with pytest.raises(Conflict) as caught:
        delegation.delegate(session, holder, task.id, user_id=third.id)
    assert "已委派他人办理" in caught.value.message
    with pytest.raises(Conflict) as caught:  # the colleague cannot pass it on either
        delegation.delegate(session, colleague, task.id, user_id=third.id)
    with pytest.raises(Forbidden) as caught:
        delegation.resolve(session, third, task.id, opinion="不是我的")
    assert caught.value.message == "只有受委派人可以办毕退回"
    with pytest.raises(Invalid) as caught:
        delegation.resolve(session, colleague, task.id, opinion=" ")
    assert list(caught.value.errors) == ["opinion"]
    with pytest.raises(Forbidden):
        delegation.recall(session, third, task.id)
    delegation.recall(session, holder, task.id, reason="情况有变，本人办理")
    with pytest.raises(Conflict) as caught:
        delegation.resolve(session, colleague, task.id, opinion="晚了")
    assert caught.value.message == "该任务没有进行中的委派"
    assert [e.kind for e in driver.events(case)][-2:] == ["task_delegated", "delegation_recalled"]


def test_delegation_through_the_api(api_as, driver, people, session) -> None:  # noqa: ANN001
    _case, task, holder, colleague = _setup(driver, people, session)
    stale = api_as(holder).post(f"/tasks/{task.id}/delegate", json={"user_id": colleague.id},
                                headers={"If-Match": f'"{task.version + 5}"'})
    assert stale.status_code == 412
    made = api_as(holder).post(f"/tasks/{task.id}/delegate", json={"user_id": colleague.id, "note": "请协助"})
    assert made.status_code == 201, made.json
    assert (made.json["to_user_id"], made.json["note"], made.json["resolved_at"]) == (colleague.id, "请协助", None)
    blocked = api_as(holder).post(f"/tasks/{task.id}/complete", json={"data": {}})
    assert blocked.status_code == 409
    done = api_as(colleague).post(f"/tasks/{task.id}/delegation/resolve", json={"opinion": "已核实"})
    assert done.status_code == 200 and done.json["opinion"] == "已核实" and done.json["resolved_at"]
    again = api_as(colleague).post(f"/tasks/{task.id}/delegation/resolve", json={"opinion": "再来"})
    assert again.status_code == 409 and again.json["message"] == "该任务没有进行中的委派"


def test_delegation_on_the_task_page(app, driver, people, session) -> None:  # noqa: ANN001
    _case, task, holder, colleague = _setup(driver, people, session)
    mine = signed_in(app, holder)
    page = mine.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="delegate-form"' in page and f'<option value="{colleague.id}">李四</option>' in page
    sent = mine.post(f"/tasks/{task.id}/delegate", data={"csrf_token": csrf(page), "version": str(task.version),
                                                          "user_id": str(colleague.id), "note": "请核对"})
    page = mine.get(sent.headers["Location"]).get_data(as_text=True)
    assert "已委派，待受委派人办毕退回后由您办结。" in page and 'id="delegation-active"' in page
    assert "任务已委派他人办理，待其办毕退回后再办结" in page and 'id="btn-recall"' in page

    theirs = signed_in(app, colleague)
    listing = theirs.get("/inbox").get_data(as_text=True)
    assert "委派给我" in listing
    page = theirs.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="resolve-form"' in page and 'id="btn-complete"' not in page
    version = re.search(r'id="resolve-form">\s*<input[^>]*>\s*<input type="hidden" name="version" value="(\d+)"',
                        page).group(1)
    back = theirs.post(f"/tasks/{task.id}/delegation/resolve", data={"csrf_token": csrf(page), "version": version,
                                                                     "opinion": "已核对，无误"})
    assert back.status_code == 302
    page = mine.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "办理意见：已核对，无误" in page and 'id="btn-complete"' in page and 'id="delegation-active"' not in page
