"""What a case page shows, in one read: the case's particulars and open tasks (case_queries), the
households signed, one page of its timeline with who acted, through which channel, the opinions,
the files and how long each step took, the process diagrams marked by state (diagram), the
backward schedule (倒排工期, schedule), and which of the supervisors' actions the reader may take."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Attachment, Case, CaseEvent, ProcessInstance, Task, User
from models.history import CHANNELS

from . import case_queries, cases, diagram, escalations, inputs, permissions, processes, schedule
from .engine.evaluator import CHINA
from .errors import Forbidden

TIMELINE_PAGE = 50
# The form fields whose latest value is the count of households that signed (回迁安置协议, or the
# 过渡性安置补充协议), as workflows/resolution.py reads them.
SIGNED_FIELDS = ("agreements_signed", "supplementary_signed")
_SHA256_HEX = frozenset("0123456789abcdef")


def china_time(moment: datetime | None) -> str:
    """A moment as people here read it: China time, to the minute ("2026-11-23 14:05")."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def duration_text(span: timedelta) -> str:
    """How long a step took, in the two largest units that matter ("3 天 4 小时", "25 分钟")."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"{hours} 小时" + (f" {minutes} 分钟" if minutes else "")
    return f"{minutes} 分钟" if minutes else "不到 1 分钟"


def size_text(size: int | None) -> str:
    """A file's size as people read it ("245.8 KB")."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


@dataclass(frozen=True)
class FileRef:
    """A file a task's form referred to (by SHA-256); `attachment_id` when the stored file is known."""

    field: str
    name: str
    size: int | None
    sha256: str
    attachment_id: int | None

    @property
    def size_text(self) -> str:
        return size_text(self.size)


@dataclass(frozen=True)
class TimelineEntry:
    event: CaseEvent
    actor_name: str | None  # None: the system acted (a timer)
    opinion: str | None
    files: list[FileRef]
    took: timedelta | None  # a completed task: from its opening to its completion

    @property
    def at_text(self) -> str:
        return china_time(self.event.at)

    @property
    def channel_label(self) -> str:
        label = CHANNELS.get(self.event.channel, self.event.channel)
        return f"{label}（{self.event.os_user}）" if self.event.channel == "cli" and self.event.os_user else label

    @property
    def took_text(self) -> str | None:
        return duration_text(self.took) if self.took is not None else None


def file_refs(data: Any) -> list[tuple[str, dict[str, Any]]]:
    """(field key, reference) for every file reference in a completed task's form data."""
    if not isinstance(data, dict):
        return []
    out = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("sha256"), str) and len(item["sha256"]) == 64 \
                    and set(item["sha256"]) <= _SHA256_HEX:
                out.append((str(key), item))
    return out


def _entries(session: Session, case: Case, page: inputs.Page[Any]) -> list[TimelineEntry]:
    """Decorate one page of events: two more statements at most, whatever the page holds."""
    events = [entry.event for entry in page.items]
    task_ids = {e.task_id for e in events if e.kind == "task_completed" and e.task_id is not None}
    task_rows = {row.id: row for row in session.execute(
        select(Task.id, Task.process_id, Task.bpmn_id, Task.created_at).where(Task.id.in_(task_ids)))} \
        if task_ids else {}
    refs = {e.id: file_refs((e.data or {}).get("data")) for e in events if e.kind == "task_completed"}
    shas = {ref["sha256"] for found in refs.values() for _, ref in found}
    stored: dict[str, int] = {}
    if shas:
        for attachment_id, sha in session.execute(
                select(Attachment.id, Attachment.sha256)
                .where(Attachment.case_id == case.id, Attachment.sha256.in_(shas)).order_by(Attachment.id)):
            stored.setdefault(sha, attachment_id)
    bundle = processes.bundle_for(session, _instance(session, case)) if shas else None

    out = []
    for entry in page.items:
        event = entry.event
        task = task_rows.get(event.task_id) if event.task_id is not None else None
        files = []
        for key, ref in refs.get(event.id, []):
            label = key
            if bundle is not None and task is not None:
                meta = bundle.tasks.get((task.process_id, task.bpmn_id))
                label = next((f.label for f in meta.fields if f.key == key), key) if meta else key
            size = ref.get("size")
            files.append(FileRef(label, str(ref.get("name") or "未命名文件"),
                                 size if isinstance(size, int) and not isinstance(size, bool) else None,
                                 ref["sha256"], stored.get(ref["sha256"])))
        opinion = (event.data or {}).get("opinion") if event.kind == "task_completed" else None
        took = event.at - task.created_at if task is not None and event.kind == "task_completed" else None
        out.append(TimelineEntry(event, entry.actor.display_name if entry.actor else None,
                                 opinion if isinstance(opinion, str) and opinion else None, files, took))
    return out


def _instance(session: Session, case: Case) -> ProcessInstance:
    return session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id))


def _page_number(page: Any) -> int:
    return page if isinstance(page, int) and not isinstance(page, bool) and page >= 1 else 1


def case_timeline(session: Session, actor: User, case_id: int, *, page: int = 1, newest_first: bool = True,
                  per_page: int = TIMELINE_PAGE) -> inputs.Page[TimelineEntry]:
    """One page of the case's timeline (`newest_first` or oldest first): every event with who acted,
    when, through which channel, the opinion given, the files referred to (with the stored
    attachment when there is one) and, for a completed task, how long it was open.

    Permission: as `case_queries.get_case` (outside jurisdiction: NotFound). Reads only.
    """
    case = case_queries.get_case(session, actor, case_id)
    limit, offset = inputs.page_bounds(per_page, (_page_number(page) - 1) * per_page)
    found = cases.case_history_page(session, actor, case.id, limit=limit, offset=offset, newest_first=newest_first)
    return inputs.Page(_entries(session, case, found), found.total, found.limit, found.offset)


def households_signed(session: Session, case: Case) -> int | None:
    """The households that signed, as the latest completed signing task recorded it; None before any
    signing was recorded."""
    bundle = processes.bundle_for(session, _instance(session, case))
    signing = {(m.process_id, m.bpmn_id) for m in bundle.tasks.values()
               if any(f.key in SIGNED_FIELDS for f in m.fields)}
    if not signing:
        return None
    rows = session.execute(
        select(Task.process_id, Task.bpmn_id, Task.data)
        .where(Task.case_id == case.id, Task.status == "completed",
               Task.bpmn_id.in_({bpmn_id for _, bpmn_id in signing}))
        .order_by(Task.completed_at.desc(), Task.id.desc()))
    for process_id, bpmn_id, data in rows:
        if (process_id, bpmn_id) not in signing or not isinstance(data, dict):
            continue
        for key in SIGNED_FIELDS:
            value = data.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


@dataclass(frozen=True)
class CasePage:
    detail: case_queries.CaseDetail
    households_signed: int | None
    timeline: inputs.Page[TimelineEntry]
    newest_first: bool
    diagram: diagram.CaseDiagram
    # 改变类别: a city or province supervisor over the case, while it runs.
    can_reclassify: bool
    # The supervisors' actions section (督办, 改变类别, 改派 not yet live): shown to supervisors.
    supervises: bool
    # The escalation ladder on this case: its escalations, and what the reader may raise or close.
    escalations: escalations.CasePanel
    # 倒排工期: the deadline, the steps ahead with their latest starts; who may set the deadline.
    schedule: schedule.Schedule | None = None
    can_set_deadline: bool = False

    @property
    def case(self) -> Case:
        return self.detail.case


def may_reclassify(actor: User, case: Case) -> bool:
    """Whether the page offers 改变类别: `permissions.require_reclassifier` allows it and the case runs
    (the service still refuses a case outside its category stage, saying why)."""
    try:
        permissions.require_reclassifier(actor, case)
    except Forbidden:
        return False
    return case.status == "open"


def case_page(session: Session, actor: User, case_id: int, *, page: int = 1, newest_first: bool = True,
              now: datetime | None = None, near_days: int = 3, soon_days: int = 1,
              by_level: escalations.ByLevel | None = None) -> CasePage:
    """Everything the case page shows (see the module's docstring); the diagrams without their XML
    (the page's script fetches it); the escalations with their deadline colours (`near_days`,
    `soon_days`: escalations.case_panel).

    Permission: as `case_queries.get_case` (outside jurisdiction: NotFound). Reads only.
    """
    detail = case_queries.case_detail(session, actor, case_id, now=now)
    case = detail.case
    return CasePage(detail, households_signed(session, case),
                    case_timeline(session, actor, case.id, page=page, newest_first=newest_first),
                    newest_first, diagram.case_diagram(session, actor, case.id),
                    may_reclassify(actor, case), actor.active and actor.role == "supervisor",
                    escalations.case_panel(session, actor, case, near_days=near_days, soon_days=soon_days,
                                           by_level=by_level, now=now),
                    schedule.case_schedule(session, actor, case.id, now=now),
                    case.status == "open" and schedule.may_set_deadline(actor))


def case_for_reclassification(session: Session, actor: User, case_id: int) -> Case:
    """The case, for the 改变类别 confirmation page. Permission: the reader may see it (else
    NotFound) and may change its category (a city or province supervisor; else Forbidden)."""
    case = case_queries.get_case(session, actor, case_id)
    permissions.require_reclassifier(actor, case)
    return case
