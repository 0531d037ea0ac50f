"""Writing the append-only case history.

Services call `record` as they go; the events are buffered on the session and written in one
multi-row INSERT just before the service's transaction commits (`write_pending`, called by
`transactions.mutation`), so history costs one statement per action however many events it has, and
an action that fails leaves no events behind. The database refuses UPDATE and DELETE on the table.

Each event says where the action came from (its channel: command line, web, API, worker) and, for the
command line, the operating-system account that ran it; the entry point sets that once with `origin`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Task, User
from models.history import CHANNELS

from .engine import clock

_PENDING = "huiqian_pending_events"
_INSERT = insert(CaseEvent.__table__)

@dataclass(frozen=True)
class Origin:
    """Where an action came from: the channel, and the OS account (command line), the client's
    address (web, API) and the API token it came through, when known."""

    channel: str = "service"
    os_user: str | None = None
    address: str | None = None
    token_id: int | None = None


_DEFAULT_ORIGIN = Origin()
_origin: ContextVar[Origin] = ContextVar("huiqian_origin", default=_DEFAULT_ORIGIN)  # noqa: B039 - frozen


def _make_origin(channel: str, os_user: str | None, address: str | None, token_id: int | None) -> Origin:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return Origin(channel, os_user[:64] if os_user else None, address[:64] if address else None, token_id)


@contextmanager
def origin(channel: str, os_user: str | None = None, *, address: str | None = None,
           token_id: int | None = None) -> Iterator[None]:
    """Attribute every event written inside the block to `channel` (and the OS user, address, token)."""
    token = _origin.set(_make_origin(channel, os_user, address, token_id))
    try:
        yield
    finally:
        _origin.reset(token)


def set_origin(channel: str, os_user: str | None = None, *, address: str | None = None,
               token_id: int | None = None) -> None:
    """Like `origin`, for an entry point that runs one command per process (the CLI) or sets it once
    per request (the web app, which resets it at the start of every request)."""
    _origin.set(_make_origin(channel, os_user, address, token_id))


def current_origin() -> Origin:
    return _origin.get()


def actor_label(actor: User | None) -> str:
    if actor is None:
        return "系统"
    return f"{actor.display_name}（{actor.agency.name}）"


def record(session: Session, case: Case | int, kind: str, summary: str, *, actor: User | None,
           task: Task | int | None = None, data: dict[str, Any] | None = None,
           at: datetime | None = None) -> None:
    """Queue an event for the current transaction; it is written when the service commits."""
    where = _origin.get()
    session.info.setdefault(_PENDING, []).append({
        "case_id": case if isinstance(case, int) else case.id, "task": task,
        "actor_id": actor.id if actor is not None else None, "kind": kind, "at": at or clock.now(),
        "summary": summary, "data": data or {}, "channel": where.channel, "os_user": where.os_user,
        "token_id": where.token_id})


def write_pending(session: Session) -> int:
    """Write the queued events in one statement; return how many. Called just before commit."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return 0
    rows = []
    for event in pending:
        task = event.pop("task")
        event["task_id"] = task if task is None or isinstance(task, int) else task.id
        rows.append(event)
    # Core on the connection, not the ORM's bulk insert: that splits rows whose None values differ into
    # several statements, and its per-call overhead is larger than the insert itself.
    session.connection().execute(_INSERT, rows)
    return len(rows)


def discard_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def case_events(session: Session, case_id: int, *, kind: str | None = None, limit: int | None = None,
                offset: int = 0) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(*_event_filters(case_id, kind=kind)).order_by(CaseEvent.id)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class EventActor:
    id: int
    display_name: str


@dataclass(frozen=True)
class EventEntry:
    """One event as a history page shows it, with who acted (None: the system)."""

    event: CaseEvent
    actor: EventActor | None


def _event_filters(case_id: int, *, kind: str | None = None, actor_id: int | None = None,
                   since: datetime | None = None, until: datetime | None = None,
                   channel: str | None = None) -> list[Any]:
    where: list[Any] = [CaseEvent.case_id == case_id]
    if kind:
        where.append(CaseEvent.kind == kind)
    if actor_id is not None:
        where.append(CaseEvent.actor_id == actor_id)
    if since is not None:
        where.append(CaseEvent.at >= since)
    if until is not None:
        where.append(CaseEvent.at <= until)
    if channel:
        where.append(CaseEvent.channel == channel)
    return where


def case_events_page(session: Session, case_id: int, *, kind: str | None = None, actor_id: int | None = None,
                     since: datetime | None = None, until: datetime | None = None, channel: str | None = None,
                     limit: int, offset: int = 0, newest_first: bool = False) -> tuple[list[EventEntry], int]:
    """One page of a case's events in order (`newest_first`: latest first) (`since`/`until`
    inclusive, aware) with who acted, and how many events match in all. Unscoped: callers check the
    reader may see the case."""
    where = _event_filters(case_id, kind=kind, actor_id=actor_id, since=since, until=until, channel=channel)
    order = CaseEvent.id.desc() if newest_first else CaseEvent.id
    rows = session.execute(
        select(CaseEvent, User.id, User.display_name).outerjoin(User, User.id == CaseEvent.actor_id)
        .where(*where).order_by(order).limit(limit).offset(offset)).all()
    total = session.scalar(select(func.count()).select_from(CaseEvent).where(*where)) or 0
    return [EventEntry(event, EventActor(user_id, name) if user_id is not None else None)
            for event, user_id, name in rows], total
