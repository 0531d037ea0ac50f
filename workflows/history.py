"""Writing the append-only case history. Every mutation calls `record` inside its own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Task, User

from .engine import clock


def actor_label(actor: User | None) -> str:
    if actor is None:
        return "系统"
    return f"{actor.display_name}（{actor.agency.name}）"


def record(session: Session, case: Case, kind: str, summary: str, *, actor: User | None,
           task: Task | None = None, data: dict[str, Any] | None = None, at: datetime | None = None) -> CaseEvent:
    event = CaseEvent(case_id=case.id, task_id=task.id if task is not None else None,
                      actor_id=actor.id if actor is not None else None, kind=kind,
                      at=at or clock.now(), summary=summary, data=data or {})
    session.add(event)
    return event


def case_events(session: Session, case_id: int, *, kind: str | None = None) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    if kind:
        stmt = stmt.where(CaseEvent.kind == kind)
    return list(session.scalars(stmt))
