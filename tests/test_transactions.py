"""Each service is one transaction of its own: never the caller's, never half done."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Case, CaseEvent, ProcessInstance, Task
from workflows import tasks
from workflows.errors import ProcessError
from workflows.transactions import UncommittedWork

INTAKE = {"households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "核实无误"}


def test_a_service_refuses_to_commit_work_its_caller_left_pending(driver, people):
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")
    officer = people.officer("榆树市", "housing")
    session = driver.session
    session.get(Case, case.id).notes = "调用方尚未提交的修改"
    with pytest.raises(UncommittedWork):
        tasks.complete_task(session, officer, task.id, INTAKE)
    session.rollback()
    assert session.get(Case, case.id).notes is None
    assert driver.open_ids(case) == ["intake_verify"]


def test_flushed_but_uncommitted_caller_work_is_refused_too(driver, people):
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")
    officer = people.officer("榆树市", "housing")
    session = driver.session
    session.get(Case, case.id).notes = "已刷新未提交"
    session.flush()
    with pytest.raises(UncommittedWork):
        tasks.complete_task(session, officer, task.id, INTAKE)
    session.rollback()
    assert session.get(Case, case.id).notes is None


def test_a_read_only_caller_transaction_is_fine(driver, people):
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")  # leaves a read transaction open
    officer = people.officer("榆树市", "housing")
    assert driver.session.in_transaction()
    tasks.complete_task(driver.session, officer, task.id, INTAKE)
    assert driver.open_ids(case) == ["classify"]


def test_an_engine_failure_leaves_the_case_unchanged_and_is_recorded(driver, people, monkeypatch):
    """An expression that raises at run time (here: every condition) must not half-move the case."""
    from workflows.engine import evaluator
    case = driver.new_case(2)
    driver.complete(case, "intake_verify", households_confirmed=12)
    task = driver.task(case, "classify")
    officer = driver.officer_for(task)
    driver.session.rollback()
    state_before = driver.session.scalar(select(ProcessInstance.state).where(ProcessInstance.case_id == case.id))
    events_before = len(driver.events(case))

    def failing(expression, names):  # noqa: ANN001, ANN202
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(evaluator, "evaluate", failing)
    with pytest.raises(ProcessError) as refused:
        tasks.complete_task(driver.session, officer, task.id, {"category": "2", "classification_basis": "已开工"})
    monkeypatch.undo()
    assert "流程引擎执行失败" in refused.value.message
    driver.session.rollback()
    assert driver.session.scalar(select(ProcessInstance.state)
                                 .where(ProcessInstance.case_id == case.id)) == state_before
    assert driver.open_ids(case) == ["classify"]
    assert driver.session.get(Task, task.id).status == "ready"
    events = driver.events(case)
    assert len(events) == events_before + 1
    assert events[-1].kind == "process_error" and events[-1].actor_id == officer.id
    assert driver.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id,
                                                               CaseEvent.kind == "task_completed")).all() \
        == ["task_completed"]  # only the intake, not the failed classification
    tasks.complete_task(driver.session, officer, task.id, {"category": "2", "classification_basis": "已开工"})  # and it still works after
    assert driver.open_ids(case) == ["urge_builder"]
