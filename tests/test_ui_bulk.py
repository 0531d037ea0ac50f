"""Bulk actions from the inbox: tick tasks, 批量转办… or 批量催办…, confirm on the second page, read each
task's result. Offered where they can work (no ticking in 已办; 催办 for city and province supervisors)."""

from __future__ import annotations

from sqlalchemy import select

from models import Escalation, Task, User
from tests.conftest import PASSWORD_HASH, at
from tests.pages import csrf, signed_in

NOW = at("2026-03-02 09:00")


def test_an_officer_reassigns_ticked_tasks_and_reads_each_result(app, driver, people, session) -> None:  # noqa: ANN001
    officer = people.officer("榆树市", "housing")
    agency = people.agency("榆树市", "housing")
    colleague = User(username="bulk-colleague", display_name="同事王五", role="officer", agency=agency,
                     password_hash=PASSWORD_HASH, active=True)
    session.add(colleague)
    session.commit()
    ids = [driver.task(driver.new_case(2, now=NOW), "intake_verify").id for _ in range(3)]
    done = driver.complete(driver.new_case(2, now=NOW), "intake_verify")
    session.rollback()
    client = signed_in(app, officer)
    inbox = client.get("/inbox").get_data(as_text=True)
    assert 'id="bulk-form"' in inbox and 'id="bulk-all"' in inbox and 'id="btn-bulk-urge"' not in inbox
    assert inbox.count('class="form-check-input bulk-pick"') == 3
    assert 'id="bulk-form"' not in client.get("/inbox?view=completed").get_data(as_text=True)

    nothing = client.get("/inbox/bulk?action=reassign")
    assert "请先在列表中勾选任务。" in client.get(nothing.headers["Location"]).get_data(as_text=True)
    confirm = client.get("/inbox/bulk", query_string={"action": "reassign", "task_ids": [*ids, done.id]})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and page.count('name="task_ids"') == 3
    assert "有 1 项已办结、已撤销或不在您的权限范围内" in page
    assert f'<option value="user:{colleague.id}">同事王五</option>' in page
    # A task claimed by someone else meanwhile is refused on its own; the rest are done.
    session.get(Task, ids[1]).assignee_id = people.officer("榆树市", "supervision").id
    session.commit()
    ran = client.post("/inbox/bulk", data={"csrf_token": csrf(page), "action": "reassign", "task_ids": ids,
                                           "target": f"user:{colleague.id}", "reason": "本人出差一周"})
    result = ran.get_data(as_text=True)
    assert ran.status_code == 200 and "共 3 项：已办理 2 项，未办理 1 项。" in result
    assert f'data-task-id="{ids[1]}" data-status="refused"' in result and "已被他人认领" in result
    session.rollback()
    assert [session.get(Task, i).assignee_id for i in (ids[0], ids[2])] == [colleague.id, colleague.id]
    empty = client.post("/inbox/bulk", data={"csrf_token": csrf(page), "action": "reassign", "task_ids": ids,
                                             "target": f"user:{colleague.id}", "reason": ""})
    assert empty.status_code == 302 and "转办理由" in client.get(empty.headers["Location"]).get_data(as_text=True)


def test_a_city_supervisor_urges_ticked_tasks(app, driver, people, session) -> None:  # noqa: ANN001
    supervisor = people.supervisor("长春市")
    ids = [driver.task(driver.new_case(2, now=NOW), "intake_verify").id for _ in range(2)]
    session.rollback()
    client = signed_in(app, supervisor)
    inbox = client.get("/inbox").get_data(as_text=True)
    assert 'id="btn-bulk-urge"' in inbox
    page = client.get("/inbox/bulk", query_string={"action": "urge", "task_ids": ids}).get_data(as_text=True)
    assert 'id="bulk-due"' in page and "催办以上 2 项的承办部门" in page
    ran = client.post("/inbox/bulk", data={"csrf_token": csrf(page), "action": "urge", "task_ids": ids,
                                           "reason": "请本周内完成立案核实", "due_in_workdays": "3"})
    assert "共 2 项：已办理 2 项，未办理 0 项。" in ran.get_data(as_text=True)
    session.rollback()
    assert sorted(session.scalars(select(Escalation.task_id).where(Escalation.level == "urge"))) == sorted(ids)
    officer = signed_in(app, people.officer("榆树市", "housing"))
    assert officer.get("/inbox/bulk", query_string={"action": "urge", "task_ids": ids}).status_code == 403
