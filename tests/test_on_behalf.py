"""代办: a supervisor completes another agency's task only with a reason that history keeps, and never
a court's judgment."""

from __future__ import annotations

import pytest

from models import Task
from tests.conftest import at
from workflows import tasks
from workflows.errors import Forbidden, Invalid, NotFound

INTAKE = {"households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "核实无误"}


@pytest.fixture
def case_with_intake(driver):
    case = driver.new_case(1, county="榆树市", now=at("2026-03-02 09:00"))
    return case, driver.task(case, "intake_verify")


def _stored(driver, task_id: int) -> Task:
    driver.session.rollback()
    return driver.session.get(Task, task_id, populate_existing=True)


def test_supervisor_without_a_reason_is_refused(driver, people, case_with_intake):
    case, task = case_with_intake
    changchun = people.supervisor("长春市")
    with pytest.raises(Forbidden) as err:
        tasks.complete_task(driver.session, changchun, task.id, INTAKE)
    assert "督办人不能直接办理住建部门的任务" in err.value.message and "代办理由" in err.value.message
    assert _stored(driver, task.id).status == "ready"
    assert driver.events(case, "task_completed") == []


@pytest.mark.parametrize("reason", ["", "   \n  ", "x" * 501, "理由\x00"])
def test_a_blank_or_unbounded_reason_is_invalid(driver, people, case_with_intake, reason):
    case, task = case_with_intake
    with pytest.raises(Invalid) as err:
        tasks.complete_task(driver.session, people.supervisor("长春市"), task.id, INTAKE, on_behalf_reason=reason)
    assert "on_behalf_reason" in err.value.errors
    assert _stored(driver, task.id).status == "ready"


def test_supervisor_with_a_reason_completes_and_history_says_in_whose_place(driver, people, case_with_intake):
    case, task = case_with_intake
    changchun = people.supervisor("长春市")
    reason = "榆树市住建局经办人长期病假，案件已逾期两年"
    done = tasks.complete_task(driver.session, changchun, task.id, INTAKE, on_behalf_reason=f"  {reason} ")
    assert done.task.status == "completed"
    stored = _stored(driver, task.id)
    assert stored.status == "completed" and stored.on_behalf_reason == reason
    assert stored.completed_by_id == changchun.id
    [event] = driver.events(case, "task_completed")
    assert event.actor_id == changchun.id
    assert event.summary == (f"{changchun.display_name}（长春市保障性安居工程领导小组办公室）"
                             f"代榆树市住房和城乡建设局办结任务「{task.name}」，理由：{reason}")
    assert event.data["on_behalf"] is True and event.data["reason"] == reason
    assert event.data["agency_id"] == task.agency_id
    assert driver.open_ids(case) == ["classify"]  # the process moved on as after any completion


def test_province_supervisor_may_act_on_behalf_too(driver, people, case_with_intake):
    case, task = case_with_intake
    tasks.complete_task(driver.session, people.supervisor("吉林省"), task.id, INTAKE, on_behalf_reason="省级督办")
    assert _stored(driver, task.id).on_behalf_reason == "省级督办"


def _court_task(driver, case):
    return driver.to_court_judgment(case)


@pytest.mark.parametrize("reason", [None, "法院案多人少，久拖不判"])
def test_a_court_task_is_never_completed_on_behalf(driver, people, case_with_intake, reason):
    case, _ = case_with_intake
    court = _court_task(driver, case)
    for supervisor in (people.supervisor("长春市"), people.supervisor("吉林省")):
        with pytest.raises(Forbidden) as err:
            tasks.complete_task(driver.session, supervisor, court.id, {"judgment_result": "return_enforceable"},
                                on_behalf_reason=reason)
        assert err.value.message == "法院的审判事项不能代办"
    assert _stored(driver, court.id).status == "ready"
    # The court itself still rules.
    driver.complete(case, "court_judgment", judgment_result="return_enforceable")
    assert "court_judgment" not in driver.open_ids(case)


def test_supervisor_of_another_city_cannot_complete(driver, people, case_with_intake):
    case, task = case_with_intake
    with pytest.raises((NotFound, Forbidden)):
        tasks.complete_task(driver.session, people.supervisor("吉林市"), task.id, INTAKE,
                            on_behalf_reason="跨市代办")
    assert _stored(driver, task.id).status == "ready"
    assert driver.events(case, "task_completed") == []


def test_officer_of_the_agency_completes_as_before(driver, people, case_with_intake):
    case, task = case_with_intake
    officer = people.officer("榆树市", "housing")
    tasks.complete_task(driver.session, officer, task.id, INTAKE)
    stored = _stored(driver, task.id)
    assert stored.status == "completed" and stored.on_behalf_reason is None
    [event] = driver.events(case, "task_completed")
    assert event.summary == f"{officer.display_name}（榆树市住房和城乡建设局）办结任务「{task.name}」"
    assert "on_behalf" not in event.data


def test_supervisor_may_still_claim_and_unclaim(driver, people, case_with_intake):
    case, task = case_with_intake
    changchun = people.supervisor("长春市")
    tasks.claim(driver.session, changchun, task.id)
    tasks.unclaim(driver.session, changchun, task.id)
    assert [e.actor_id for e in driver.events(case, "task_claimed")] == [changchun.id]


def test_a_completed_task_says_it_is_done(driver, people, case_with_intake):
    from workflows.errors import Conflict
    case, task = case_with_intake
    officer = people.officer("榆树市", "housing")
    tasks.complete_task(driver.session, officer, task.id, INTAKE)
    with pytest.raises(Conflict) as err:
        tasks.complete_task(driver.session, officer, task.id, INTAKE)
    assert err.value.message == f"任务「{task.name}」已办结，不能再办理"
