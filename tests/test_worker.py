"""The background worker's pass: due timers fire, and tasks past their SLA are escalated automatically by
the policy (3 working days → 催办 by the county's 安居办, 10 → 督办 by the city's, 20 → 约谈 by the
province's), each exactly once however many workers run at the same moment."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from config import DefaultConfig
from models import Agency, CaseEvent, Escalation, Region, Task
from tests.conftest import at
from workflows import auto_escalation, escalations, jobs, workdays
from workflows.errors import Conflict, Invalid

FILED = at("2026-03-02 09:00")  # a Monday: 立案核实 (5 working days) is due 2026-03-09 23:59:59
DUE = at("2026-03-09 23:59:59")


def _pass(driver, moment):  # noqa: ANN001, ANN202
    driver.travel_to(moment)
    return jobs.run_pass(driver.session, moment)


def _automatic(session, case) -> list[Escalation]:  # noqa: ANN001
    session.rollback()
    return list(session.scalars(select(Escalation).where(Escalation.case_id == case.id, Escalation.automatic)
                                .order_by(Escalation.id)))


def _supervision(session, name: str) -> Agency:  # noqa: ANN001
    return session.scalars(select(Agency).join(Region).where(Region.name == name,
                                                             Agency.role == "supervision")).one()


# --- the policy's rungs -------------------------------------------------------------------------------

def test_each_rung_is_raised_once_when_its_working_days_have_passed(driver, session):
    case = driver.new_case(2, "榆树市", now=FILED)
    intake = driver.task(case, "intake_verify")
    assert intake.due_at == DUE

    # Wednesday 11 March: only two whole working days (10th, 11th) have passed since the deadline.
    assert _pass(driver, at("2026-03-12 09:00")).escalations.raised == []
    assert _automatic(session, case) == []

    urged = _pass(driver, at("2026-03-13 09:00"))
    assert [(e["task_id"], e["level"], e["overdue_workdays"]) for e in urged.escalations.raised] == \
        [(intake.id, "urge", 3)]
    (urge,) = _automatic(session, case)
    county = _supervision(session, "榆树市")
    assert (urge.level, urge.task_id, urge.target_agency_id, urge.raised_by_agency_id, urge.raised_by_id) == \
        ("urge", intake.id, intake.agency_id, county.id, None)
    assert urge.outcome == "open" and urge.target_leader is None
    assert "立案核实" in urge.reason and "已逾期 3 个工作日" in urge.reason
    assert "逾期满 3 个工作日由县级安居办催办" in urge.reason
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.kind == "escalated")).one()
    assert event.actor_id is None and event.task_id == intake.id
    assert event.summary.startswith(f"系统自动催办（以{county.name}名义）")
    assert "已抄送包保领导王副县长" in event.summary
    assert event.data["automatic"] is True and event.data["copied_to_leader"] == "王副县长"
    assert event.data["escalation_id"] == urge.id and event.data["rule"] == {"workdays": 3, "level": "urge",
                                                                           "by": "county"}

    # The same moment again, and the days before the next rung: nothing new.
    assert _pass(driver, at("2026-03-13 09:00")).escalations.raised == []
    assert _pass(driver, at("2026-03-23 18:00")).escalations.raised == []

    supervised = _pass(driver, at("2026-03-24 09:00")).escalations.raised
    assert [(e["level"], e["overdue_workdays"]) for e in supervised] == [("supervise", 10)]
    assert _automatic(session, case)[-1].raised_by_agency_id == _supervision(session, "长春市").id

    # Qingming (4–6 April 2026) is not counted: 7 April is still the 19th working day's morrow.
    assert _pass(driver, at("2026-04-07 09:00")).escalations.raised == []
    summoned = _pass(driver, at("2026-04-08 09:00")).escalations.raised
    assert [(e["level"], e["overdue_workdays"]) for e in summoned] == [("summon", 20)]
    assert [e.level for e in _automatic(session, case)] == ["urge", "supervise", "summon"]
    assert _automatic(session, case)[-1].raised_by_agency_id == _supervision(session, "吉林省").id
    assert len(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.kind == "escalated")).all()) == 3


def test_a_task_found_long_overdue_gets_its_highest_rung_only(driver, session):
    case = driver.new_case(2, "榆树市", now=FILED)
    raised = _pass(driver, at("2026-03-25 09:00")).escalations.raised
    assert [(e["level"], e["overdue_workdays"]) for e in raised] == [("supervise", 11)]
    assert [e.level for e in _automatic(session, case)] == ["supervise"]


def test_completed_and_not_yet_overdue_tasks_get_nothing(driver, session):
    case = driver.new_case(2, "榆树市", now=FILED)
    # 立案核实 is completed on time; 分类认定 then opens with 10 working days of its own.
    driver.complete(case, "intake_verify", now=at("2026-03-09 10:00"), households_confirmed=case.households_overdue)
    classify = driver.task(case, "classify")
    assert classify.due_at == at("2026-03-23 23:59:59")
    assert _pass(driver, at("2026-03-26 09:00")).escalations.raised == []  # 2 working days over
    assert _automatic(session, case) == []
    raised = _pass(driver, at("2026-03-27 09:00")).escalations.raised
    assert [(e["task_id"], e["level"]) for e in raised] == [(classify.id, "urge")]


def test_a_place_under_the_province_directly_is_supervised_by_the_province(driver, session):
    """梅河口市 has no city above it: the city's rung is raised in the province 安居办's name."""
    case = driver.new_case(2, "梅河口市", now=FILED)
    _pass(driver, at("2026-03-24 09:00"))
    (supervise,) = _automatic(session, case)
    assert supervise.level == "supervise"
    assert supervise.raised_by_agency_id == _supervision(session, "吉林省").id


def test_a_configured_policy_replaces_the_default(driver, session):
    case = driver.new_case(2, "榆树市", now=FILED)
    driver.travel_to(at("2026-03-11 09:00"))
    result = jobs.run_pass(session, at("2026-03-11 09:00"), [[1, "urge", "city"], [2, "onsite", "province"]])
    assert [(e["level"], e["overdue_workdays"]) for e in result.escalations.raised] == [("urge", 1)]
    assert _automatic(session, case)[0].raised_by_agency_id == _supervision(session, "长春市").id
    assert jobs.run_pass(session, at("2026-03-11 09:00"), []).escalations.raised == []  # [] turns it off


@pytest.mark.parametrize(("policy", "field", "words"), [
    ([[3, "urge"]], "AUTO_ESCALATION[0]", "应为 [工作日数, 级别, 发起层级]"),
    ([[3, "nag", "county"]], "AUTO_ESCALATION[0]", "级别应为"),
    ([[3, "urge", "village"]], "AUTO_ESCALATION[0]", "发起层级应为"),
    ([[0, "urge", "county"]], "AUTO_ESCALATION[0]", "工作日数"),
    ([[3, "urge", "county"], [3, "supervise", "city"]], "AUTO_ESCALATION[1]", "逐条递增"),
    ([[3, "supervise", "county"], [5, "urge", "city"]], "AUTO_ESCALATION[1]", "逐条升级"),
    ("3 urge", "AUTO_ESCALATION", "列表"),
])
def test_a_bad_policy_is_refused_naming_the_rule_before_anything_runs(driver, session, policy, field, words):
    driver.new_case(2, "榆树市", now=FILED)
    with pytest.raises(Invalid) as refused:
        jobs.run_pass(session, at("2026-04-08 09:00"), policy)
    assert field in refused.value.errors and words in "".join(refused.value.errors[field])
    assert _count(session, Escalation) == 0


def _count(session, model) -> int:  # noqa: ANN001
    session.rollback()
    return len(session.scalars(select(model)).all())


# --- exactly once -------------------------------------------------------------------------------------

def _cases_waiting_for_year_end(driver, n: int) -> list:  # noqa: ANN001
    out = []
    for _ in range(n):
        case = driver.new_case(2, now=at("2026-03-02 09:00"))
        driver.intake_and_classify(case)
        driver.complete(case, "urge_builder")
        out.append(case)
    return out


def test_two_workers_at_the_same_moment_raise_each_escalation_and_fire_each_timer_once(driver, session,
                                                                                      session_factory, monkeypatch):
    monkeypatch.setattr(auto_escalation, "BATCH", 2)  # several batches: the keyset paging runs too
    overdue = [driver.new_case(2, county, now=FILED) for county in ("榆树市", "农安县", "德惠市") * 3]
    waiting = _cases_waiting_for_year_end(driver, 4)
    now = at("2027-01-04 09:00")  # past every SLA, and past the year-end timers
    driver.travel_to(now)
    barrier = threading.Barrier(2)
    results: list[jobs.PassResult] = []
    errors: list[BaseException] = []

    def work() -> None:
        with session_factory() as s:
            barrier.wait()
            try:
                results.append(jobs.run_pass(s, now))
            except BaseException as exc:  # noqa: BLE001 - any error fails the test below
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert errors == [] and len(results) == 2
    assert all(r.escalations.failed == [] and r.timers.failed == [] for r in results)
    fired = sorted(f["case_id"] for r in results for f in r.timers.fired)
    assert fired == sorted(c.id for c in waiting)
    raised = [e["task_id"] for r in results for e in r.escalations.raised]
    assert len(raised) == len(set(raised))
    session.rollback()
    open_overdue = session.scalars(select(Task).where(Task.status == "ready", Task.due_at < at("2026-12-01"))).all()
    assert {t.case_id for t in open_overdue} >= {c.id for c in overdue}
    rows = session.execute(select(Escalation.task_id, Escalation.level).where(Escalation.automatic)).all()
    assert sorted(rows) == sorted((t.id, "summon") for t in open_overdue)
    for case in waiting:
        assert len(driver.events(case, "timer_fired")) == 1
        assert driver.open_ids(case).count("yearend_supervision") == 1


def test_the_database_refuses_a_second_automatic_escalation_of_a_rung_but_not_a_manual_one(driver, session,
                                                                                          people):
    case = driver.new_case(2, "榆树市", now=FILED)
    intake = driver.task(case, "intake_verify")
    _pass(driver, at("2026-03-13 09:00"))
    row = {"case_id": case.id, "task_id": intake.id, "level": "urge", "automatic": True,
           "target_agency_id": intake.agency_id, "reason": "重复", "created_at": FILED, "outcome": "open",
           "version": 1}
    with pytest.raises(IntegrityError):
        session.execute(insert(Escalation.__table__), [row])
    session.rollback()
    city = people.supervisor("长春市")
    # While it is open, a supervisor's own 催办 of the task is the same rung twice…
    with pytest.raises(Conflict, match="已有未办结的催办"):
        escalations.escalate(session, city, case.id, level="urge", reason="请加快", task_id=intake.id)
    # …once closed, people may urge the task again by hand: the index binds automatic rows only.
    (auto,) = _automatic(session, case)
    escalations.close(session, city, auto.id, "已督促")
    manual = escalations.escalate(session, city, case.id, level="urge", reason="请加快", task_id=intake.id)
    assert manual.automatic is False and manual.raised_by_id == city.id
    assert [(e.level, e.automatic) for e in _automatic(session, case)] == [("urge", True)]


def test_one_failing_task_is_logged_and_skipped_while_the_others_are_escalated(driver, session, monkeypatch,
                                                                             caplog):
    bad = driver.new_case(2, "农安县", now=FILED)
    good = [driver.new_case(2, "榆树市", now=FILED) for _ in range(3)]
    poisoned_region = bad.region_id
    real = auto_escalation.Raisers.of

    def of(self, region_id, path, level, target):  # noqa: ANN001, ANN202
        if region_id == poisoned_region:
            raise RuntimeError("安居办数据损坏")
        return real(self, region_id, path, level, target)

    monkeypatch.setattr(auto_escalation.Raisers, "of", of)
    with caplog.at_level(logging.ERROR, logger="workflows.auto_escalation"):
        result = _pass(driver, at("2026-03-13 09:00"))
    bad_task = driver.task(bad, "intake_verify")
    assert [f["task_id"] for f in result.escalations.failed] == [bad_task.id]
    assert "安居办数据损坏" in result.escalations.failed[0]["error"]
    assert f"task {bad_task.id}" in caplog.text
    assert sorted(e["case_id"] for e in result.escalations.raised) == sorted(c.id for c in good)
    assert _automatic(session, bad) == [] and "1 项失败" in result.summary()
    (error,) = driver.events(bad, "process_error")
    assert error.actor_id is None and error.task_id == bad_task.id and "系统自动催办失败" in error.summary
    assert "安居办数据损坏" in error.data["detail"]
    # Failing again on the next pass: logged, but written to the history once only.
    assert len(_pass(driver, at("2026-03-13 09:30")).escalations.failed) == 1
    assert len(driver.events(bad, "process_error")) == 1
    # Repaired, the next pass raises it.
    monkeypatch.setattr(auto_escalation.Raisers, "of", real)
    assert [e["case_id"] for e in _pass(driver, at("2026-03-13 10:00")).escalations.raised] == [bad.id]


def test_the_pass_reads_due_tasks_from_the_indexes(engine, session):
    """The due-work query is an index range over (status, due_at) with the automatic-escalation index
    answering 'already raised?': its cost follows the overdue tasks, not all open ones."""
    query = auto_escalation._due_select("urge", at("2026-03-10"), at("2026-02-20"), after=(at("2026-02-21"), 5))
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    if engine.dialect.name == "sqlite":
        plan = " ".join(r[-1] for r in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "ix_tasks_status_due" in plan and "ux_escalations_automatic_task_level" in plan, plan
    else:
        session.execute(text("SET LOCAL enable_seqscan = off"))  # tiny tables: ask what it can use
        plan = " ".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_tasks_status_due" in plan and "ux_escalations_automatic_task_level" in plan, plan
    session.rollback()


# --- the loop -----------------------------------------------------------------------------------------

def test_the_loop_runs_passes_as_the_worker_until_stopped(driver, session, session_factory):
    case = driver.new_case(2, "榆树市", now=FILED)
    driver.travel_to(at("2026-03-13 09:00"))
    stop = threading.Event()
    seen: list[jobs.PassResult] = []

    def report(result: jobs.PassResult) -> None:
        seen.append(result)
        if len(seen) == 2:
            stop.set()

    assert jobs.run_forever(session_factory, interval=0, stop=stop, report=report) == 2
    assert [len(r.escalations.raised) for r in seen] == [1, 0]
    assert seen[0].summary().endswith("自动督办 1 件（催办 1）")
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.kind == "escalated")).one()
    assert event.channel == "worker" and event.actor_id is None


def test_a_failing_pass_does_not_end_the_loop(session_factory, monkeypatch, caplog):
    calls = []
    stop = threading.Event()

    def broken(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 2:
            stop.set()
        raise RuntimeError("数据库不可用")

    monkeypatch.setattr(jobs, "run_pass", broken)
    with caplog.at_level(logging.ERROR, logger="workflows.jobs"):
        assert jobs.run_forever(session_factory, interval=0, stop=stop) == 0
    assert len(calls) == 2 and "worker pass failed" in caplog.text


# --- counting working days backwards ------------------------------------------------------------------

def test_working_days_back_skip_national_day(session):
    back = workdays.WorkdaysBack(session, at("2026-10-09 09:00"))
    # 1–7 October 2026 are off, 10 October (a Saturday) is worked; yesterday (8 Oct) counts.
    assert back.overdue(at("2026-09-30 23:59:59")) == 1
    assert back.overdue(at("2026-09-29 23:59:59")) == 2
    assert back.overdue(at("2026-10-09 08:00")) == 0
    assert back.cutoff(1) == at("2026-10-08 00:00")
    assert back.cutoff(2) == at("2026-09-30 00:00")
    assert back.overdue(at("2026-09-29 23:59:59")) == 2 and back.overdue(at("2026-09-30 00:00")) == 1
    # Saturday 10 October is a make-up working day: it counts, Sunday the 11th does not.
    assert workdays.WorkdaysBack(session, at("2026-10-12 09:00")).overdue(at("2026-09-30 23:59:59")) == 3


# --- separate processes: the command line and Celery on Redis ------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def _env(engine) -> dict[str, str]:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIQIAN_")}
    env["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    env["PYTHONPATH"] = str(ROOT)  # this checkout's workflows/webapp, whatever is installed
    return env


def _escalations_per_rung(session) -> list[tuple[int, str, int]]:  # noqa: ANN001
    session.rollback()
    rows = session.execute(select(Escalation.task_id, Escalation.level).where(Escalation.automatic)).all()
    return sorted((task_id, level, rows.count((task_id, level))) for task_id, level in set(rows))


def test_two_tick_processes_at_once_raise_each_escalation_once(driver, session, engine, tmp_path):
    cases = [driver.new_case(2, county, now=FILED) for county in ("榆树市", "农安县", "德惠市", "九台区")]
    tasks = [driver.task(c, "intake_verify") for c in cases]
    env = _env(engine) | {"HUIQIAN_INSTANCE": str(tmp_path)}
    command = [sys.executable, "-m", "webapp.cli", "tick", "--now", "2026-03-24T09:00:00+08:00"]
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for _ in range(2)]
    try:
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert _escalations_per_rung(session) == sorted((t.id, "supervise", 1) for t in tasks)
    counted = [int(re.search(r"自动督办 (\d+) 件", out).group(1)) for out in outputs]
    assert sum(counted) == len(tasks), outputs


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="Redis does not answer at 127.0.0.1:6379")
def test_celery_workers_on_redis_run_the_same_pass_once(driver, session, engine, tmp_path):
    from workflows import celery_app

    cases = [driver.new_case(2, county, now=FILED) for county in ("榆树市", "农安县", "德惠市")]
    tasks = [driver.task(c, "intake_verify") for c in cases]
    queue = f"huiqian-test-{uuid.uuid4().hex[:10]}"  # this test's own queue: no other messages reach it
    env = _env(engine) | {"HUIQIAN_INSTANCE": str(tmp_path),
                          "HUIQIAN_CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}
    workers = []
    try:
        for i in range(2):
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "workflows.celery_app", "worker", "--pool=solo",
                 "--without-mingle", "--without-gossip", "--without-heartbeat", "-Q", queue,
                 "-n", f"w{i}-{queue}@%h", "--loglevel=WARNING"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        sent = [celery_app.run_pass.apply_async(args=["2026-03-13T09:00:00+08:00"], queue=queue) for _ in range(4)]
        counts = [r.get(timeout=120) for r in sent]
    finally:
        for w in workers:
            w.kill()
            w.wait(timeout=30)
    assert sum(c["escalations_raised"] for c in counts) == len(tasks), counts
    assert all(c["escalations_failed"] == 0 for c in counts)
    assert _escalations_per_rung(session) == sorted((t.id, "urge", 1) for t in tasks)
    session.rollback()
    channels = set(session.scalars(select(CaseEvent.channel).where(CaseEvent.kind == "escalated")))
    assert channels == {"worker"}


def test_celery_beat_runs_the_pass_on_the_configured_interval():
    from workflows import celery_app

    (entry,) = celery_app.app.conf.beat_schedule.values()
    assert entry["task"] == celery_app.TASK_NAME == celery_app.run_pass.name
    assert entry["schedule"] == DefaultConfig.WORKER_INTERVAL_SECONDS


def test_the_target_agency_sees_the_automatic_escalation_credited_to_nobody(driver, session, people, api_as):
    officer = people.officer("榆树市", "housing")
    case = driver.new_case(2, "榆树市", now=FILED)
    _pass(driver, at("2026-03-13 09:00"))
    r = api_as(officer).get("/escalations")
    assert r.status_code == 200, r.json
    (item,) = r.json["items"]
    assert item["case"]["id"] == case.id and item["automatic"] is True and item["raised_by"] is None
    assert item["level_label"] == "催办" and "已逾期 3 个工作日" in item["reason"]
    # The target answers it like any other.
    session.rollback()
    answered = escalations.respond(session, officer, item["id"], "已核实，三日内办结")
    assert answered.outcome == "answered"


def test_the_pass_notifies_the_target_of_an_automatic_escalation_and_the_holders_of_overdue_tasks(
        driver, session, people):  # noqa: ANN001
    from models import Notification
    case = driver.new_case(2, "榆树市", now=FILED)
    intake = driver.task(case, "intake_verify")
    officer = driver.officer_for(intake)
    first = _pass(driver, at("2026-03-02 09:05"))
    assert first.notices.assigned >= 1 and "通知" in first.summary()
    assert _pass(driver, at("2026-03-10 09:00")).notices.overdue >= 1  # the morning after its deadline
    _pass(driver, at("2026-03-13 09:00"))
    session.rollback()
    kinds = [n.kind for n in session.scalars(select(Notification).where(Notification.user_id == officer.id,
                                                                        Notification.case_id == case.id)
                                             .order_by(Notification.id))]
    assert kinds == ["assigned", "overdue", "escalated"]  # each once
    escalated = session.scalars(select(Notification).where(Notification.user_id == officer.id,
                                                           Notification.kind == "escalated")).one()
    assert escalated.title.startswith("系统自动催办：")
    _pass(driver, at("2026-03-13 09:00"))
    session.rollback()
    assert len(session.scalars(select(Notification).where(Notification.user_id == officer.id)).all()) == len(kinds)
