"""Task operations through the API: 转办 (one task, and many with a result per task), 退回 with its
target steps, 撤回; each refusal as the JSON error a client reads, with the service's message."""

from __future__ import annotations

from sqlalchemy import select

from models import CaseEvent, Task, User
from tests.conftest import PASSWORD_HASH, at

NOW = at("2026-03-02 09:00")


def _colleague(session, people) -> User:  # noqa: ANN001
    agency = people.agency("榆树市", "housing")
    user = User(username=f"colleague-{agency.id}", display_name="同事经办人", role="officer", agency=agency,
                password_hash=PASSWORD_HASH, active=True)
    session.add(user)
    session.commit()
    return user


def test_reassign_through_the_api_with_if_match(api_as, driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    task = driver.task(case, "intake_verify")
    officer, colleague = people.officer("榆树市", "housing"), _colleague(session, people)
    api = api_as(officer)
    stale = api.post(f"/tasks/{task.id}/reassign", json={"user_id": colleague.id, "reason": "出差"},
                     headers={"If-Match": f'"{task.version + 1}"'})
    assert stale.status_code == 412 and stale.json["code"] == "stale"
    r = api.post(f"/tasks/{task.id}/reassign", json={"user_id": colleague.id, "reason": "出差"},
                 headers={"If-Match": f'"{task.version}"'})
    assert r.status_code == 200, r.json
    assert r.json["assignee"]["id"] == colleague.id and r.headers["ETag"] == f'"{r.json["version"]}"'
    mine = api_as(colleague).get("/tasks", query_string={"view": "mine"})
    assert [t["id"] for t in mine.json["items"]] == [task.id]
    wrong = api_as(colleague).post(f"/tasks/{task.id}/reassign",
                                   json={"agency_id": people.agency("榆树市", "finance").id, "reason": "试试"})
    assert wrong.status_code == 422
    assert wrong.json["errors"] == {"agency_id": ["接收部门：应为住建部门（转办只在同类部门之间）"]}
    no_reason = api.post(f"/tasks/{task.id}/reassign", json={"user_id": officer.id})
    assert no_reason.status_code == 409 and no_reason.json["message"] == "任务已被他人认领，只有认领人或督办人可以转办"
    empty = api_as(colleague).post(f"/tasks/{task.id}/reassign", json={"user_id": officer.id})
    assert empty.status_code == 422 and empty.json["errors"] == {"reason": ["转办理由：不能为空"]}


def test_bulk_reassign_reports_each_task(api_as, driver, people, session) -> None:  # noqa: ANN001
    officer = people.officer("榆树市", "housing")
    city = people.agency("长春市", "housing")
    mine = [driver.task(driver.new_case(2, now=NOW), "intake_verify").id for _ in range(3)]
    foreign = driver.task(driver.new_case(2, county="舒兰市", now=NOW), "intake_verify").id
    r = api_as(officer).post("/tasks/reassign", json={"task_ids": [*mine, foreign, mine[0]], "agency_id": city.id,
                                                      "reason": "县局人手不足"})
    assert r.status_code == 200, r.json
    assert (r.json["done"], r.json["refused"]) == (3, 1)
    assert [(x["task_id"], x["status"]) for x in r.json["results"]] == [
        *((i, "done") for i in mine), (foreign, "refused")]
    assert r.json["results"][3]["code"] == "not_found" and r.json["results"][3]["message"] == "任务不存在"
    session.rollback()
    assert {t.agency_id for t in session.scalars(select(Task).where(Task.id.in_(mine)))} == {city.id}
    too_many = api_as(officer).post("/tasks/reassign", json={"task_ids": list(range(1, 202)), "agency_id": city.id,
                                                             "reason": "x"})
    assert too_many.status_code == 422 and "task_ids" in too_many.json["errors"]


def test_return_targets_return_and_withdraw_through_the_api(api_as, driver, people, session) -> None:  # noqa: ANN001
    outsider = api_as(people.officer("舒兰市", "housing"))
    case = driver.new_case(2, now=NOW)
    filer = people.officer("榆树市", "housing")
    intake = driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    classifier = api_as(driver.officer_for(classify))
    targets = classifier.get(f"/tasks/{classify.id}/return-targets")
    assert targets.status_code == 200, targets.json
    assert [(t["task_id"], t["name"], t["agency"], t["completed_by"], t["allowed"], t["blocked"])
            for t in targets.json] == [(intake.id, "立案核实", "榆树市住房和城乡建设局", filer.display_name, True, None)]
    missing = classifier.post(f"/tasks/{classify.id}/return", json={})
    assert missing.status_code == 422 and missing.json["errors"] == {"opinion": ["退回意见：不能为空"]}
    r = classifier.post(f"/tasks/{classify.id}/return", json={"opinion": "户数有误", "target_task_id": intake.id},
                        headers={"If-Match": f'"{classify.version}"'})
    assert r.status_code == 200, r.json
    reopened = r.json["task"]
    assert (reopened["name"], reopened["assignee"]["id"], reopened["status"]) == ("立案核实", filer.id, "ready")
    assert [c["task_id"] for c in r.json["cancelled"]] == [classify.id]
    assert r.headers["ETag"] == f'"{reopened["version"]}"'
    again = classifier.post(f"/tasks/{classify.id}/return", json={"opinion": "再退"})
    assert again.status_code == 409 and again.json["message"] == "任务「分类认定」已撤销，不能再办理"

    # 撤回: the filer completes again, then takes it back; another officer may not.
    driver.complete(case, "intake_verify")
    session.rollback()
    second = session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "intake_verify",
                                                Task.status == "completed").order_by(Task.id.desc())).first()
    refused = api_as(driver.officer_for(driver.task(case, "classify"))).post(f"/tasks/{second.id}/withdraw", json={})
    assert refused.status_code == 403 and refused.json["message"] == "只有办结该任务的本人可以撤回"
    w = api_as(filer).post(f"/tasks/{second.id}/withdraw", json={"reason": "附件传错"})
    assert w.status_code == 200, w.json
    assert w.json["task"]["assignee"]["id"] == filer.id and len(w.json["cancelled"]) == 1
    session.rollback()
    kinds = [e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                             .order_by(CaseEvent.id))]
    assert kinds.count("task_returned") == 1 and kinds[-1] == "task_withdrawn"
    twice = api_as(filer).post(f"/tasks/{second.id}/withdraw", json={})
    assert twice.status_code == 409
    assert twice.json["message"] == "不能撤回「立案核实」：该任务已被退回或撤回，不能再撤回"
    assert outsider.get(f"/tasks/{classify.id}/return-targets").status_code == 404
