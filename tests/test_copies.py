"""抄送 (issue #17): a task copied to the case's 包保领导 (the county's 安居办 and government office) or to
named people, through the service layer and the API: who may copy, to whom, the "抄送我的" list, 已阅,
notifications, and the refusals with their messages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Notification, TaskCopy
from tests.conftest import at
from workflows import copies
from workflows.errors import Forbidden, Invalid, NotFound

NOW = at("2026-03-02 09:00")


def _case_task(driver):  # noqa: ANN001, ANN202
    case = driver.new_case(2, now=NOW)
    return case, driver.task(case, "intake_verify")


def test_the_holder_copies_a_task_to_the_leader_who_reads_it(driver, people, session) -> None:  # noqa: ANN001
    case, task = _case_task(driver)
    officer = driver.officer_for(task)
    desk = people.officer("榆树市", "supervision")
    office = people.officer("榆树市", "government")
    session.rollback()
    made = copies.copy_task(session, officer, task.id, leader=True, note="逾期户数较多，请领导阅知")
    assert sorted(c.user_id for c in made) == sorted([desk.id, office.id])
    [event] = driver.events(case, "task_copied")
    assert event.summary.startswith(f"{officer.display_name}（{officer.agency.name}）将任务「立案核实」抄送包保领导")
    assert "说明：逾期户数较多，请领导阅知" in event.summary and event.actor_id == officer.id
    # Each recipient finds it in "抄送我的", unread, with a notification.
    listed = copies.copied_to_me(session, desk)
    assert [c.task_id for c in listed.items] == [task.id] and listed.items[0].read_at is None
    assert listed.items[0].copied_by.display_name == officer.display_name
    assert session.scalar(select(Notification.title).where(Notification.user_id == desk.id,
                                                            Notification.kind == "copied")) == \
        f"抄送：立案核实（{case.code}）"
    copies.mark_read(session, desk, listed.items[0].id)
    assert copies.copied_to_me(session, desk, unread_only=True).total == 0
    assert copies.unread_copies(session, office) == 1
    # Copying again to the same people adds nobody and writes no second event.
    assert copies.copy_task(session, officer, task.id, leader=True) == []
    assert len(driver.events(case, "task_copied")) == 1


def test_a_supervisor_copies_a_completed_task_to_named_people(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    done = driver.complete(case, "intake_verify")
    supervisor = people.supervisor("长春市")
    colleague = people.officer("榆树市", "finance")
    session.rollback()
    [made] = copies.copy_task(session, supervisor, done.id, user_ids=[colleague.id])
    assert made.user_id == colleague.id and made.note is None
    assert session.scalar(select(func.count()).select_from(TaskCopy)) == 1


def test_copy_refusals_name_the_field(driver, people, session) -> None:  # noqa: ANN001
    case, task = _case_task(driver)
    officer = driver.officer_for(task)
    stranger = people.officer("榆树市", "finance")
    other_county = people.officer("舒兰市", "housing")
    auditor = people.user("吉林省", "supervision", "auditor")
    session.rollback()
    with pytest.raises(Forbidden) as caught:
        copies.copy_task(session, stranger, task.id, leader=True)
    assert caught.value.message == "只有任务的承办部门或督办人可以抄送"
    for user_ids, message in (([], "请选择抄送对象（包保领导或具体人员，不含本人）"),
                              ([officer.id], "请选择抄送对象（包保领导或具体人员，不含本人）"),
                              ([10**30], "含有不存在的用户"),
                              ([auditor.id], "应为在岗的经办人或督办人"),
                              ([other_county.id], f"{other_county.display_name}不能查看该案件（不在其管辖范围内）"),
                              (list(range(1, 30)), "应为至多 20 人的列表")):
        with pytest.raises(Invalid) as caught:
            copies.copy_task(session, officer, task.id, user_ids=user_ids)
        assert caught.value.errors == {"user_ids": [f"抄送对象：{message}"]}, user_ids
    with pytest.raises(Invalid) as caught:
        copies.copy_task(session, officer, task.id, leader=True, note="长" * 501)
    assert list(caught.value.errors) == ["note"]
    with pytest.raises(NotFound):
        copies.copy_task(session, other_county, task.id, leader=True)
    with pytest.raises(NotFound):
        copies.mark_read(session, officer, 10**30)
    assert session.scalar(select(func.count()).select_from(TaskCopy)) == 0


def test_copies_through_the_api(api_as, driver, people, session) -> None:  # noqa: ANN001
    case, task = _case_task(driver)
    officer = driver.officer_for(task)
    desk = people.officer("榆树市", "supervision")
    people.officer("榆树市", "government")
    session.rollback()
    r = api_as(officer).post(f"/tasks/{task.id}/copies", json={"leader": True, "note": "请阅"})
    assert r.status_code == 201, r.json
    assert len(r.json) == 2
    bad = api_as(officer).post(f"/tasks/{task.id}/copies", json={"user_ids": [], "leader": "是"})
    assert bad.status_code == 422 and "leader" in bad.json["errors"]
    mine = api_as(desk).get("/copies")
    assert mine.status_code == 200 and mine.json["total"] == 1
    item = mine.json["items"][0]
    assert (item["task_id"], item["case_code"], item["note"], item["read_at"]) == (task.id, case.code, "请阅", None)
    assert api_as(officer).post(f"/copies/{item['id']}/read").status_code == 404  # not theirs
    assert api_as(desk).post(f"/copies/{item['id']}/read").status_code == 204
    assert api_as(desk).get("/copies", query_string={"unread_only": "true"}).json["total"] == 0
    # The copied person reads the task, but may not act on it.
    assert api_as(desk).get(f"/tasks/{task.id}").status_code == 200
    refused = api_as(desk).post(f"/tasks/{task.id}/complete", json={"data": {}})
    assert refused.status_code in (403, 404)


def test_copy_from_the_task_page_and_read_it_in_the_cc_tab(app, driver, people, session) -> None:  # noqa: ANN001
    from tests.pages import csrf, signed_in
    case, task = _case_task(driver)
    officer = driver.officer_for(task)
    desk = people.officer("榆树市", "supervision")
    finance = people.officer("榆树市", "finance")
    session.rollback()
    client = signed_in(app, officer)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="copy-form"' in page and f'<option value="{finance.id}">' in page
    empty = client.post(f"/tasks/{task.id}/copies", data={"csrf_token": csrf(page), "note": "看看"})
    assert "请选择抄送对象" in client.get(empty.headers["Location"]).get_data(as_text=True)
    done = client.post(f"/tasks/{task.id}/copies", data={"csrf_token": csrf(page), "leader": "1",
                                                          "user_ids": [str(finance.id)], "note": "请财政局一并阅知"})
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已抄送 2 人。" in shown and 'id="copies-list"' in shown and "未阅" in shown

    reader = signed_in(app, desk)
    inbox_page = reader.get("/inbox").get_data(as_text=True)
    assert 'data-view="cc" href="/inbox/copies"' in inbox_page and "即将上线" not in inbox_page
    listing = reader.get("/inbox/copies").get_data(as_text=True)
    assert 'id="copies-unread">1<' in listing and "请财政局一并阅知" in listing and f'href="/tasks/{task.id}"' in listing
    copy_id = session.scalar(select(TaskCopy.id).where(TaskCopy.user_id == desk.id))
    read = reader.post(f"/inbox/copies/{copy_id}/read", data={"csrf_token": csrf(listing)})
    after = reader.get(read.headers["Location"]).get_data(as_text=True)
    assert 'data-read="1"' in after and 'id="copies-unread"' not in after
    # The copied person sees the task read-only: no form to complete, no copy form.
    task_page = reader.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="btn-complete"' not in task_page and 'id="copy-form"' not in task_page and 'id="copies-list"' in task_page
