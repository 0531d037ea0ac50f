"""Two people complete the same task at the same moment: one wins, the other is told so."""

from __future__ import annotations

import threading

import pytest
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


# --- Parallel branches of one case, completed at the same moment -----------------------------------

def _cases_at_parallel_approvals(driver, n: int) -> list:  # noqa: ANN001
    from tests.conftest import at
    from tests.test_category_7 import BACKFILL_TASKS, _meeting_and_tolerance
    out = []
    for _ in range(n):
        case = driver.new_case(7, now=at("2026-03-02 09:00"))
        driver.intake_and_classify(case)
        _meeting_and_tolerance(driver, case)
        assert sorted(driver.open_ids(case)) == BACKFILL_TASKS
        out.append(case)
    return out


def _work_items(driver, cases) -> list[tuple[int, int, dict]]:  # noqa: ANN001
    """(task id, officer id, form data) for the four parallel tasks of every case, branches interleaved
    so that each case's four completions run at the same time in different workers."""
    from tests.driver import auto_value
    items = []
    for case in cases:
        for task in driver.open_tasks(case):
            data = {f.key: auto_value(f) for f in tasks.task_fields(driver.session, task) if f.required}
            if task.bpmn_id == "c7_collect_taxes":
                data.update(taxes_collected=86.5, taxes_outstanding=0)
            items.append((task.id, driver.officer_for(task).id, data))
    return items


def _complete_one(session_factory, item: tuple[int, int, dict]) -> str:  # noqa: ANN001
    from models import User
    from workflows.errors import Busy
    task_id, user_id, data = item
    with session_factory() as session:
        actor = session.get(User, user_id)
        try:
            tasks.complete_task(session, actor, task_id, data)
            return "ok"
        except Busy:
            return "busy"
        except Conflict:
            return "conflict"


def _assert_all_at_acceptance(driver, cases, items, results) -> None:  # noqa: ANN001
    assert len(results) == len(items)
    assert set(results) <= {"ok", "busy", "conflict"}, results
    # Nothing here is a real conflict (each task is completed once): with the instance row locked,
    # parallel branches serialize and every completion is kept.
    assert results.count("ok") == len(items), results
    driver.session.rollback()
    for case in cases:
        assert driver.open_ids(case) == ["c7_completion_acceptance"]
        done = [e.data["bpmn_id"] for e in driver.events(case, "task_completed")]
        assert sorted(done[-4:]) == sorted(["c7_backfill_construction_permit", "c7_backfill_land_planning",
                                            "c7_collect_taxes", "c7_fire_acceptance"])
        assert driver.events(case, "process_error") == []


def test_forty_parallel_branch_completions_in_threads_are_all_kept(driver, session_factory):
    cases = _cases_at_parallel_approvals(driver, 10)
    items = _work_items(driver, cases)
    assert len(items) == 40
    barrier = threading.Barrier(len(items))
    results: list[str] = []
    lock = threading.Lock()

    def worker(item: tuple[int, int, dict]) -> None:
        barrier.wait()
        outcome = _complete_one(session_factory, item)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    _assert_all_at_acceptance(driver, cases, items, results)


def _process_worker(url: str, items: list, start, out) -> None:  # noqa: ANN001
    from concurrent.futures import ThreadPoolExecutor

    from workflows import db
    engine = db.make_engine(url)
    factory = db.make_session_factory(engine)
    start.wait(60)
    try:
        with ThreadPoolExecutor(max_workers=len(items)) as pool:
            for outcome in pool.map(lambda item: _complete_one(factory, item), items):
                out.put(outcome)
    except BaseException as exc:  # a traceback in a worker must fail the test, not vanish
        out.put(f"error: {type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


def test_forty_parallel_branch_completions_in_separate_processes_are_all_kept(driver, engine):
    import multiprocessing
    cases = _cases_at_parallel_approvals(driver, 10)
    items = _work_items(driver, cases)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    url = engine.url.render_as_string(hide_password=False)
    procs = [ctx.Process(target=_process_worker, args=(url, items[p::4], start, out)) for p in range(4)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=180) for _ in items]
    for p in procs:
        p.join(timeout=60)
    _assert_all_at_acceptance(driver, cases, items, results)


def test_a_hung_writer_makes_others_fail_fast_with_busy_not_a_traceback(driver, people, engine):
    """Someone holds the case's row (a stuck request); a completion gives up within the lock timeout."""
    import time

    from sqlalchemy import text

    from workflows import db
    from workflows.errors import Busy
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")
    officer = people.officer("榆树市", "housing")
    url = engine.url.render_as_string(hide_password=False)
    quick = db.make_engine(url, lock_timeout=1.0)
    holder = db.make_engine(url)
    try:
        with holder.connect().execution_options(**{db.WRITE: True}) as hung:
            hung.begin()  # SQLite: BEGIN IMMEDIATE, the database's write lock
            hung.execute(text("SELECT id FROM process_instances WHERE case_id = :c"
                              + ("" if hung.dialect.name == "sqlite" else " FOR UPDATE")), {"c": case.id})
            with db.make_session_factory(quick)() as session:
                actor = session.get(type(officer), officer.id)
                session.commit()
                t0 = time.monotonic()
                with pytest.raises(Busy) as refused:
                    tasks.complete_task(session, actor, task.id, {
                        "households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "核实"})
                waited = time.monotonic() - t0
            hung.rollback()
    finally:
        quick.dispose()
        holder.dispose()
    assert waited < 4, waited
    assert "稍后重试" in refused.value.message
    assert driver.open_ids(case) == ["intake_verify"]
    assert driver.events(case, "task_completed") == []


def test_a_completion_waiting_while_the_case_moves_to_another_version_still_finds_its_task(
        driver, people, engine, tmp_path):
    """A migration commits while a completion waits for the case's lock: the completion must see the
    moved case (PostgreSQL re-checks locked rows), not report the task as missing."""
    import shutil

    from sqlalchemy import text

    from workflows import db, processes
    case = driver.new_case(2)
    task = driver.task(case, "intake_verify")
    officer = people.officer("榆树市", "housing")
    copy = tmp_path / "bpmn"
    shutil.copytree(processes.bpmn_dir(), copy)
    lifecycle = copy / "case_lifecycle.bpmn"
    lifecycle.write_text(lifecycle.read_text(encoding="utf-8") + "<!-- v2: same rules -->\n", encoding="utf-8")
    v2 = processes.deploy(driver.session, copy, deployed_by="test").version
    url = engine.url.render_as_string(hide_password=False)
    holder = db.make_engine(url)
    outcome: list[object] = []
    try:
        with holder.connect().execution_options(**{db.WRITE: True}) as mover:
            mover.begin()
            mover.execute(text("UPDATE process_instances SET version_id = :v, version = version + 1 "
                               "WHERE case_id = :c"), {"v": v2.id, "c": case.id})

            def complete() -> None:
                with db.make_session_factory(engine)() as session:
                    actor = session.get(type(officer), officer.id)
                    try:
                        tasks.complete_task(session, actor, task.id, {
                            "households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "核实"})
                        outcome.append("ok")
                    except Exception as exc:  # noqa: BLE001 - the assertion below shows it
                        outcome.append(exc)

            worker = threading.Thread(target=complete)
            worker.start()
            worker.join(timeout=0.5)  # let it reach the lock
            mover.commit()
            worker.join(timeout=30)
    finally:
        holder.dispose()
    assert outcome == ["ok"]
    assert driver.open_ids(case) == ["classify"]
