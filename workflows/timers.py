"""Firing due BPMN timers. Called by `huiqian timers`, later by a scheduled background job.

Each case is fired in its own transaction. A case whose firing fails is recorded (failure count, last
error, next retry with exponential backoff) and skipped; the others go on. Two runs at the same moment
never fire one timer twice: the instance row is locked with SKIP LOCKED on PostgreSQL (the other run
skips it), and SQLite serializes writers; either way the due condition is checked again under the lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models import Case, ProcessInstance

from . import history, instances, processes
from .engine import clock, runtime
from .errors import Busy, HuiqianError, ProcessError
from .transactions import mutation

BATCH = 200
FIRST_RETRY = timedelta(minutes=5)
MAX_RETRY = timedelta(hours=24)


@dataclass
class TimerRun:
    now: datetime
    fired: list[dict] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)


def _due(now: datetime) -> list:
    return [ProcessInstance.completed.is_(False), ProcessInstance.next_timer_at <= now,
            or_(ProcessInstance.timer_retry_at.is_(None), ProcessInstance.timer_retry_at <= now)]


def due_instances(session: Session, now: datetime, *, after_id: int = 0, limit: int = BATCH) -> list[int]:
    """Ids of instances with a timer due at `now` (failed ones only once their retry time has come),
    one bounded batch at a time in id order; answered from indexed columns."""
    return list(session.scalars(select(ProcessInstance.id).where(*_due(now), ProcessInstance.id > after_id)
                                .order_by(ProcessInstance.id).limit(limit)))


@mutation
def fire_instance(session: Session, instance_id: int, now: datetime) -> dict:
    """Fire the due timers of one instance, as the system, in its own transaction.

    Returns {} when there is nothing to do any more (another run fired it, or holds it right now).
    """
    row = session.execute(
        select(ProcessInstance, Case).join(Case, Case.id == ProcessInstance.case_id)
        .where(ProcessInstance.id == instance_id, *_due(now))
        .with_for_update(of=[ProcessInstance.__table__, Case.__table__], skip_locked=True)
        .execution_options(populate_existing=True)).one_or_none()
    if row is None:
        return {}
    instance, case = row
    bundle = processes.bundle_for(session, instance)
    with instances.engine_work(case, None), clock.frozen_at(now):
        workflow = runtime.load(instance.state, bundle)
        before = runtime.ready_uuids(workflow)
        fired = runtime.fire_timers(workflow)
    instances.record_fired_timers(session, case, fired, now=now)
    moved = instances.project(session, case, instance, workflow, bundle, actor=None, now=now, before=before)
    instances.save_state(session, instance, workflow, now)
    if instance.timer_failures:
        instance.timer_failures, instance.timer_last_error, instance.timer_retry_at = 0, None, None
    return {"case_id": case.id, "case_code": case.code, "timers": [t.name for t in fired], **moved}


@mutation
def _record_failure(session: Session, instance_id: int, error: BaseException, now: datetime) -> dict:
    instance = session.get(ProcessInstance, instance_id)
    failures = instance.timer_failures + 1
    retry_at = now + min(FIRST_RETRY * 2 ** (failures - 1), MAX_RETRY)
    message = error.message if isinstance(error, HuiqianError) else f"{type(error).__name__}: {error}"
    session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                    .values(timer_failures=failures, timer_last_error=message[:2000], timer_retry_at=retry_at)
                    .execution_options(synchronize_session=False))
    if not isinstance(error, ProcessError):  # a ProcessError already wrote its own event
        history.record(session, instance.case_id, "process_error",
                       f"时限触发失败，将于 {retry_at.isoformat()} 重试：{message[:300]}", actor=None, at=now,
                       data={"detail": message[:2000], "failures": failures})
    case_code = session.scalar(select(Case.code).where(Case.id == instance.case_id))
    return {"instance_id": instance_id, "case_code": case_code, "error": message, "failures": failures,
            "retry_at": retry_at}


def fire_due_timers(session: Session, now: datetime | None = None) -> TimerRun:
    """Fire every due timer at `now` (default: the clock). One case failing is recorded and skipped;
    one case held by someone else right now is left for the next run."""
    now = now or clock.now()
    run = TimerRun(now=now)
    last_id = 0
    while True:
        session.rollback()
        batch = due_instances(session, now, after_id=last_id)
        session.rollback()
        if not batch:
            return run
        for instance_id in batch:
            last_id = instance_id
            try:
                result = fire_instance(session, instance_id, now)
            except Busy:
                run.conflicts.append(instance_id)
                continue
            except Exception as exc:  # noqa: BLE001 - one bad case must not stop the others
                run.failed.append(_record_failure(session, instance_id, exc, now))
                continue
            if result:
                run.fired.append(result)
