"""Timer runs: one bad case never holds up the others, and a timer fires exactly once."""

from __future__ import annotations

import threading

from sqlalchemy import select, update

from models import ProcessInstance
from tests.conftest import at
from workflows import timers


def _cases_waiting_for_year_end(driver, n: int) -> list:  # noqa: ANN001
    out = []
    for _ in range(n):
        case = driver.new_case(2, now=at("2026-03-02 09:00"))
        driver.intake_and_classify(case)
        driver.complete(case, "urge_builder")
        out.append(case)
    return out


def _poison(driver, case) -> None:  # noqa: ANN001
    """Corrupt one case's stored state, as a bad migration or a disk fault might."""
    driver.session.execute(update(ProcessInstance).where(ProcessInstance.case_id == case.id)
                           .values(state='{"serializer_version": "garbage"}'))
    driver.session.commit()


def test_one_poisoned_case_is_recorded_and_skipped_while_twenty_fire(driver):
    poisoned, *healthy = _cases_waiting_for_year_end(driver, 21)
    _poison(driver, poisoned)  # the first in id order, so it would have blocked every later case
    run = driver.fire_timers(at("2027-01-01 00:00:01"))
    assert sorted(f["case_id"] for f in run.fired) == sorted(c.id for c in healthy)
    assert [f["case_code"] for f in run.failed] == [poisoned.code]
    for case in healthy:
        assert "yearend_supervision" in driver.open_ids(case)
        assert len(driver.events(case, "timer_fired")) == 1
    driver.session.rollback()
    instance = driver.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == poisoned.id))
    assert instance.timer_failures == 1
    assert "存储格式" in instance.timer_last_error
    assert instance.timer_retry_at == at("2027-01-01 00:00:01") + timers.FIRST_RETRY
    errors = driver.events(poisoned, "process_error")
    assert len(errors) == 1 and errors[0].actor_id is None
    assert driver.events(poisoned, "timer_fired") == []

    # Before its retry time the poisoned case is left alone; after it, it is tried again with a
    # longer backoff.
    assert driver.fire_timers(at("2027-01-01 00:02:00")).failed == []
    again = driver.fire_timers(at("2027-01-01 00:06:00"))
    assert [f["failures"] for f in again.failed] == [2]
    assert again.failed[0]["retry_at"] == at("2027-01-01 00:06:00") + 2 * timers.FIRST_RETRY


def test_two_timer_runs_at_the_same_moment_fire_each_timer_once(driver, session_factory):
    cases = _cases_waiting_for_year_end(driver, 12)
    now = at("2027-01-01 00:00:01")
    driver.travel_to(now)
    barrier = threading.Barrier(2)
    runs: list[timers.TimerRun] = []
    errors: list[BaseException] = []

    def run() -> None:
        with session_factory() as session:
            barrier.wait()
            try:
                runs.append(timers.fire_due_timers(session, now))
            except BaseException as exc:  # noqa: BLE001 - any error fails the test below
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    fired = [f["case_id"] for r in runs for f in r.fired]
    assert sorted(fired) == sorted(c.id for c in cases)  # each exactly once, between the two runs
    assert all(r.failed == [] for r in runs)
    for case in cases:
        assert len(driver.events(case, "timer_fired")) == 1
        assert driver.open_ids(case).count("yearend_supervision") == 1


def test_a_deadline_passed_before_a_completion_fires_inside_it_as_the_system(driver):
    """Nobody ran the timers on 1 January; the officer's completion on 2 January passes the deadline.
    History must not credit the path change to the officer."""
    (case,) = _cases_waiting_for_year_end(driver, 1)
    completion = driver.complete(case, "c2_report_progress", now=at("2027-01-02 10:00"))
    assert sorted(driver.open_ids(case)) == ["c2_check_progress", "sign_return_agreements", "yearend_supervision"]
    fired = driver.events(case, "timer_fired")
    assert len(fired) == 1 and fired[0].actor_id is None
    assert "办结" in fired[0].summary
    done = [e for e in driver.events(case, "task_completed") if e.task_id == completion.id]
    assert done[0].actor_id is not None and done[0].id < fired[0].id
    opened = [e for e in driver.events(case, "task_opened") if e.data["bpmn_id"] == "yearend_supervision"]
    assert opened[0].id > fired[0].id
    assert driver.fire_timers(at("2027-01-03")).fired == []  # nothing left to fire twice
