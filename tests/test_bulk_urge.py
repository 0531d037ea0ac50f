"""批量催办 (issue #17): a city supervisor urges the agencies of tasks selected in the inbox; each task is
urged in a transaction of its own, the refused ones say why, and nothing else changes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import CaseEvent, Escalation
from tests.conftest import at
from workflows import bulk, escalations
from workflows.errors import Invalid

NOW = at("2026-03-02 09:00")


def test_bulk_urge_urges_each_open_task_and_says_why_not_for_the_rest(driver, people, session) -> None:  # noqa: ANN001
    supervisor = people.supervisor("长春市")
    open_ids = [driver.task(driver.new_case(2, now=NOW), "intake_verify").id for _ in range(6)]
    done_case = driver.new_case(2, now=NOW)
    done = driver.complete(done_case, "intake_verify")
    elsewhere = driver.task(driver.new_case(2, county="双辽市", now=NOW), "intake_verify").id
    already = open_ids[0]
    session.rollback()
    first = bulk.bulk_urge(session, supervisor, [already], reason="请加快核实")
    assert [r.status for r in first] == ["done"]
    before = session.scalar(select(func.count()).select_from(Escalation))

    results = bulk.bulk_urge(session, supervisor, [*open_ids, done.id, elsewhere, open_ids[1]],
                             reason="请于本周内完成立案核实", due_in_workdays=3, now=NOW)
    assert [r.task_id for r in results] == [*open_ids, done.id, elsewhere]  # duplicates once, in order
    assert [r.status for r in results] == ["refused", *["done"] * 5, "refused", "refused"]
    by_id = {r.task_id: r for r in results}
    assert by_id[already].code == "conflict" and "已有未办结的催办" in by_id[already].message
    assert by_id[done.id].message == "任务「立案核实」已办结，无需催办"
    assert by_id[elsewhere].code == "not_found" and by_id[elsewhere].message == "任务不存在"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Escalation)) == before + 5
    urged = session.scalars(select(Escalation).where(Escalation.id > 1)).all()
    assert {e.level for e in urged} == {"urge"} and {e.task_id for e in urged} == set(open_ids[1:])
    assert all(e.due_at is not None for e in urged)
    assert session.scalar(select(func.count()).select_from(CaseEvent).where(
        CaseEvent.kind == "escalated", CaseEvent.case_id == done_case.id)) == 0


def test_bulk_urge_is_refused_whole_for_bad_input_and_for_officers(driver, people, session) -> None:  # noqa: ANN001
    supervisor = people.supervisor("长春市")
    task = driver.task(driver.new_case(2, now=NOW), "intake_verify")
    session.rollback()
    for kwargs, field in (({"task_ids": [], "reason": "x"}, "task_ids"),
                          ({"task_ids": list(range(1, 202)), "reason": "x"}, "task_ids"),
                          ({"task_ids": [task.id], "reason": "  "}, "reason"),
                          ({"task_ids": [task.id], "reason": "x", "due_in_workdays": 10**30}, "due_in_workdays")):
        ids = kwargs.pop("task_ids")
        with pytest.raises(Invalid) as caught:
            bulk.bulk_urge(session, supervisor, ids, **kwargs)
        assert list(caught.value.errors) == [field]
    officer = driver.officer_for(task)
    [refused] = bulk.bulk_urge(session, officer, [task.id], reason="同事催一下")
    assert refused.code == "forbidden" and refused.message == "只有市级或省级督办人可以催办、督办"
    assert escalations.count_addressed(session, officer) == 0


def test_bulk_urge_through_the_api(api_as, driver, people) -> None:  # noqa: ANN001
    supervisor = api_as(people.supervisor("长春市"))
    ids = [driver.task(driver.new_case(2, now=NOW), "intake_verify").id for _ in range(3)]
    r = supervisor.post("/tasks/urge", json={"task_ids": [*ids, 2**31 - 1], "reason": "请加快办理"})
    assert r.status_code == 200, r.json
    assert (r.json["done"], r.json["refused"]) == (3, 1)
    assert r.json["results"][3] == {"task_id": 2**31 - 1, "status": "refused", "code": "not_found",
                                    "message": "任务不存在", "version": None}
    empty = supervisor.post("/tasks/urge", json={"task_ids": ids, "reason": ""})
    assert empty.status_code == 422 and empty.json["errors"] == {"reason": ["催办事由：不能为空"]}
