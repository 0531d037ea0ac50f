"""Auditing (审计): reading case histories across the auditor's jurisdiction, and one case's complete
history for export or printing. Auditors read; nothing here writes.

Scope is a SQL condition on the case's place (Region.path), as everywhere else: an event of a case
outside the jurisdiction is never loaded, and such a case does not exist for the auditor (NotFound).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import EVENT_KINDS, Case, CaseEvent, Region, User
from models.history import CHANNELS

from . import case_queries, inputs, permissions
from .case_page import file_refs
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Forbidden
from .history import EventActor, EventEntry

PAGE = 50
CODE_MAX = 32  # Case.code's width
USERNAME_MAX = 64  # User.username's width


def require_auditor(actor: User) -> None:
    if not actor.active or actor.role != "auditor":
        raise Forbidden("只有审计人员可以查看审计页面")


@dataclass(frozen=True)
class AuditEntry:
    """One event as the audit list shows it: the event, its case and who acted (None: the system)."""

    event: CaseEvent
    case_id: int
    case_code: str
    project_name: str
    region_name: str
    actor: EventActor | None
    actor_username: str | None


@dataclass(frozen=True)
class CaseRecord:
    """A case and every event of its history, in order, with who acted."""

    case: Case
    events: list[EventEntry]
    exported_at: datetime

    @staticmethod
    def files(entry: EventEntry) -> list[dict[str, Any]]:
        """The evidence files a completed task's form referred to, each with its SHA-256 (what the
        printed history gives an auditor to check a file against)."""
        if entry.event.kind != "task_completed":
            return []
        return [ref for _, ref in file_refs((entry.event.data or {}).get("data"))]


def _day(value: date | str | None, *, field: str, label: str, end: bool) -> datetime | None:
    """A date filter as an aware moment: the whole day in China time (from its first instant, or up
    to its last for `end`)."""
    if value is None or value == "":
        return None
    day = inputs.sane_date(value, field=field, label=label)
    return datetime.combine(day, time.max if end else time.min, CHINA)


def _filters(actor: User, case_code: Any, username: Any, kind: Any, channel: Any, since: Any,
             until: Any) -> list[Any]:
    where: list[Any] = [Region.path.startswith(permissions.jurisdiction(actor).path)]
    if case_code:
        code = inputs.clean_text(case_code, field="case_code", label="案件编号", max_length=CODE_MAX)
        if code:
            where.append(Case.code.icontains(code, autoescape=True))
    if username:
        name = inputs.clean_text(username, field="username", label="操作人用户名", max_length=USERNAME_MAX)
        if name:
            where.append(func.lower(User.username) == name.lower())
    if kind:
        if kind not in EVENT_KINDS:
            inputs.refuse("kind", "事件类型", "不是已知的事件类型")
        where.append(CaseEvent.kind == kind)
    if channel:
        if channel not in CHANNELS:
            inputs.refuse("channel", "来源渠道", "应为 " + "、".join(CHANNELS.values()) + " 之一")
        where.append(CaseEvent.channel == channel)
    start = _day(since, field="since", label="起始日期", end=False)
    stop = _day(until, field="until", label="截止日期", end=True)
    if start is not None and stop is not None and start > stop:
        inputs.refuse("since", "起始日期", "不能晚于截止日期")
    if start is not None:
        where.append(CaseEvent.at >= start)
    if stop is not None:
        where.append(CaseEvent.at <= stop)
    return where


def search_events(session: Session, actor: User, *, case_code: Any = None, username: Any = None, kind: Any = None,
                  channel: Any = None, since: date | str | None = None, until: date | str | None = None,
                  limit: int = PAGE, offset: int = 0) -> inputs.Page[AuditEntry]:
    """Events of every case within the auditor's jurisdiction, newest first, one page at a time with
    the total. Filters: part of the case code (any case), who acted (their username, exactly, any
    case), event kind, channel, and a date range (whole days in China time, inclusive).

    Permission: auditors only (Forbidden otherwise); the jurisdiction is a SQL condition. Reads only.
    """
    require_auditor(actor)
    where = _filters(actor, case_code, username, kind, channel, since, until)
    limit, offset = inputs.page_bounds(limit, offset)
    joined = (select(CaseEvent, Case.id, Case.code, Case.project_name, Region.name, User.id, User.display_name,
                     User.username)
              .join(Case, Case.id == CaseEvent.case_id).join(Region, Region.id == Case.region_id)
              .outerjoin(User, User.id == CaseEvent.actor_id).where(*where))
    total = session.scalar(select(func.count()).select_from(CaseEvent)
                           .join(Case, Case.id == CaseEvent.case_id).join(Region, Region.id == Case.region_id)
                           .outerjoin(User, User.id == CaseEvent.actor_id).where(*where)) or 0
    rows = session.execute(joined.order_by(CaseEvent.id.desc()).limit(limit).offset(offset)).all() \
        if total > offset else []
    items = [AuditEntry(event, case_id, code, name, place,
                        EventActor(user_id, display) if user_id is not None else None, username_)
             for event, case_id, code, name, place, user_id, display, username_ in rows]
    return inputs.Page(items, total, limit, offset)


def case_record(session: Session, actor: User, case_id: int, *, now: datetime | None = None) -> CaseRecord:
    """One case and its whole history in order (every event, unpaged), for export and printing.

    Permission: auditors only (Forbidden otherwise); a case outside the jurisdiction is NotFound.
    Reads only.
    """
    require_auditor(actor)
    case = case_queries.get_case(session, actor, case_id)
    rows = session.execute(
        select(CaseEvent, User.id, User.display_name).outerjoin(User, User.id == CaseEvent.actor_id)
        .where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    events = [EventEntry(event, EventActor(user_id, name) if user_id is not None else None)
              for event, user_id, name in rows]
    return CaseRecord(case, events, now or clock.now())
