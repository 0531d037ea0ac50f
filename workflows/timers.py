"""Firing due BPMN timers. Called by `huiqian timers`, later by a scheduled background job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, ProcessInstance

from . import history, instances, processes
from .engine import clock, runtime
from .engine.evaluator import CHINA
from .errors import Conflict
from .transactions import mutation


@dataclass
class TimerRun:
    now: datetime
    fired: list[dict] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)


def due_instances(session: Session, now: datetime) -> list[int]:
    """Ids of instances with a timer due at `now`; answered from an indexed column."""
    return list(session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.completed.is_(False),
                                         ProcessInstance.next_timer_at <= now)
        .order_by(ProcessInstance.next_timer_at)))


@mutation
def fire_instance(session: Session, instance_id: int, now: datetime) -> dict:
    """Fire the due timers of one instance, as the system, in its own transaction."""
    instance = session.get(ProcessInstance, instance_id)
    case = session.get(Case, instance.case_id)
    if instance.completed or instance.next_timer_at is None or instance.next_timer_at > now:
        return {}
    bundle = processes.bundle_for(session, instance)
    workflow = runtime.load(instance.state, bundle)
    due_at = instance.next_timer_at
    with clock.frozen_at(now):
        runtime.fire_timers(workflow)
        history.record(session, case, "timer_fired",
                               f"时限到期（{due_at.astimezone(CHINA).strftime('%Y-%m-%d %H:%M')}），流程按规定转入后续步骤",
                               actor=None, at=now, data={"due_at": due_at.isoformat()})
        moved = instances.advance(session, case, instance, workflow, bundle, actor=None, now=now)
    return {"case_id": case.id, "case_code": case.code, **moved}


def fire_due_timers(session: Session, now: datetime | None = None) -> TimerRun:
    """Fire every due timer at `now` (default: the clock). Each case is its own transaction, so one
    case changing concurrently is skipped (and picked up next run) without holding up the others."""
    now = now or clock.now()
    run = TimerRun(now=now)
    for instance_id in due_instances(session, now):
        session.rollback()
        try:
            result = fire_instance(session, instance_id, now)
        except Conflict:
            run.conflicts.append(instance_id)
            continue
        if result:
            run.fired.append(result)
    return run
