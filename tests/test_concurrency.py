"""Two people complete the same task at the same moment: one wins, the other is told so."""

from __future__ import annotations

import threading

from sqlalchemy import select

from models import CaseEvent, ProcessInstance
from workflows import tasks
from workflows.errors import Conflict


def test_concurrent_completions_exactly_one_succeeds(driver, people, session_factory):
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")
    officer = people.officer("榆树市", "housing")
    data = {"households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "核实无误"}
    barrier = threading.Barrier(2)
    results: list[object] = []

    def worker() -> None:
        with session_factory() as session:
            actor = session.get(type(officer), officer.id)
            barrier.wait()
            try:
                tasks.complete_task(session, actor, task.id, data)
                results.append("ok")
            except Conflict as exc:
                results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(map(str, results)).count("ok") == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1
    driver.session.rollback()
    completions = driver.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                                 CaseEvent.kind == "task_completed")).all()
    assert len(completions) == 1
    assert driver.open_ids(case) == ["classify"]


def test_stale_instance_version_is_a_conflict_not_an_overwrite(driver, people, session_factory):
    """Two sessions read the same instance; the second write, based on the stale read, is refused."""
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")
    officer = people.officer("榆树市", "housing")
    data = {"households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "核实无误"}
    with session_factory() as first:
        instance = first.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id))
        version, instance_id = instance.version, instance.id
        first.commit()  # the object keeps what it read; its snapshot ends
        tasks.complete_task(driver.session, officer, task.id, data)
        instance.state = "{}"  # a writer holding the old version would wipe the completion
        instance.updated_at = instance.updated_at.replace(microsecond=1)
        import pytest
        from sqlalchemy.orm.exc import StaleDataError
        with pytest.raises(StaleDataError):
            first.commit()
    driver.session.rollback()
    stored = driver.session.get(ProcessInstance, instance_id)
    assert stored.version == version + 1 and stored.state != "{}"


def test_expected_version_from_a_stale_form_is_refused(driver, people):
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")
    officer = people.officer("榆树市", "housing")
    tasks.claim(driver.session, officer, task.id)
    import pytest
    with pytest.raises(Conflict):
        tasks.complete_task(driver.session, officer, task.id, {}, expected_version=task.version - 1)
