"""Reading tasks as people work them: lists by view (待办, 我认领的, 未认领, 已办) with deadline, category
and case filters, one task with its case, agency and assignee, and a task's form.

Everything here is a read from the task projection; acting on tasks is workflows/tasks.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from models import Agency, Case, CaseEvent, Task, User

from . import forms, inputs, task_operations, tasks
from .engine import clock
from .engine.evaluator import CHINA
from .engine.specs import FormField
from .sla import TaskSla, task_sla

VIEWS = {"inbox": "待办", "mine": "我认领的", "unclaimed": "未认领", "completed": "已办"}
DUE_FILTERS = {"soon": "即将到期", "overdue": "已逾期"}
WITHIN_DAYS_DEFAULT = 3
WITHIN_DAYS_MAX = 90
# An export is one file a person opens in a spreadsheet, not a database dump.
EXPORT_MAX = 100_000
# Ids per IN list of a batch read: well inside SQLite's and PostgreSQL's bound-parameter limits.
_BATCH = 1000
_CASE_ID_TEXT = re.compile(r"#?[0-9]{1,10}")


def _case_ref_condition(case_ref: str) -> Any | None:
    """The condition for a case as a person types it: its code (JL-220183-003, any letter case) or its
    number (247 or #247). None when the text is empty."""
    text = inputs.clean_text(case_ref, field="case", label="案件", max_length=Case.__table__.c.code.type.length)
    if not text:
        return None
    matches = [Case.code.in_({text, text.upper()})]
    if _CASE_ID_TEXT.fullmatch(text) and inputs.valid_id(int(text.lstrip("#"))):
        matches.append(Task.case_id == int(text.lstrip("#")))
    return or_(*matches)


def _conditions(actor: User, view: str, due: str | None, within_days: int, category: int | None,
                case_id: int | None, now: datetime, case_ref: str | None = None) -> list[Any] | None:
    """The WHERE clauses of a list, or None when the list is empty whatever the data."""
    if view == "completed":
        conds = [Task.status == "completed", Task.completed_by_id == actor.id]
    else:
        conds = [Task.status == "ready"]
    if view == "mine":
        conds.append((Task.assignee_id == actor.id) | (Task.delegated_to_id == actor.id))
    elif view == "unclaimed":
        conds.append(Task.assignee_id.is_(None))
    elif view == "inbox" and actor.role == "officer":
        # A colleague's claimed task is theirs to do; a supervisor may still act on it, so sees it.
        conds.append(Task.assignee_id.is_(None) | (Task.assignee_id == actor.id) | (Task.delegated_to_id == actor.id))
    if due == "overdue":
        # A completed task was overdue if it was done after its deadline; an open one if it is past it.
        conds.append(Task.due_at < (Task.completed_at if view == "completed" else now))
    elif due == "soon":
        conds.extend([Task.due_at >= now, Task.due_at < now + timedelta(days=within_days)])
    if category is not None:
        conds.append(Case.category == category)
    if case_id is not None:
        if not inputs.valid_id(case_id) or case_id > inputs.INT32_MAX:
            return None  # no case can have it, and the driver would raise on the comparison
        conds.append(Task.case_id == case_id)
    if case_ref is not None:
        found = _case_ref_condition(case_ref)
        if found is not None:
            conds.append(found)
    return conds


def _check_list_args(view: str, due: str | None, within_days: int, category: int | None) -> None:
    if view not in VIEWS:
        inputs.refuse("view", "视图", f"应为 {'、'.join(VIEWS)} 之一")
    if due is not None and due not in DUE_FILTERS:
        inputs.refuse("due", "到期筛选", f"应为 {'、'.join(DUE_FILTERS)} 之一")
    if isinstance(within_days, bool) or not isinstance(within_days, int) \
            or not 1 <= within_days <= WITHIN_DAYS_MAX:
        inputs.refuse("within_days", "到期天数", f"应在 1–{WITHIN_DAYS_MAX} 之间")
    if category is not None and (isinstance(category, bool) or category not in range(1, 10)):
        inputs.refuse("category", "解决类别", "应在 1–9 之间")


def _with_references(stmt: Any) -> Any:
    """Load each task's case, agency and assignee with the rows (one statement for a page), and not
    what those carry in turn: a list shows names, not places."""
    return stmt.join(Task.case).options(
        contains_eager(Task.case).lazyload(Case.region),
        joinedload(Task.agency).lazyload(Agency.region),
        joinedload(Task.assignee).lazyload(User.agency))


def task_page(session: Session, actor: User, *, view: str = "inbox", due: str | None = None,
              within_days: int = WITHIN_DAYS_DEFAULT, category: int | None = None, case_id: int | None = None,
              case_ref: str | None = None, limit: int = tasks.INBOX_PAGE, offset: int = 0,
              now: datetime | None = None) -> inputs.Page[Task]:
    """A page of the actor's tasks and the list's total.

    Views: `inbox` (open tasks the actor may work: an officer's agency's that are unclaimed or theirs,
    a supervisor's whole jurisdiction), `mine` (open, claimed by the actor), `unclaimed` (open, nobody's
    yet), `completed` (已办: completed by the actor, newest first). Open lists run deadline first.
    Filters: `due` = `soon` (due within `within_days` days from now) or `overdue`; `category`; `case_id`;
    `case_ref` (a case's code or number as typed: JL-220183-003, 247, #247).
    Permission: the scope of tasks.scoped, applied in SQL; auditors and admins work no tasks, so their
    lists are empty. No side effects.
    """
    _check_list_args(view, due, within_days, category)
    limit, offset = inputs.page_bounds(limit, offset)
    return _fetch(session, actor, view, due, within_days, category, case_id, case_ref, limit, offset,
                  now or clock.now())


def _fetch(session: Session, actor: User, view: str, due: str | None, within_days: int, category: int | None,
           case_id: int | None, case_ref: str | None, limit: int, offset: int, now: datetime,
           ) -> inputs.Page[Task]:
    conds = _conditions(actor, view, due, within_days, category, case_id, now, case_ref)
    count = tasks.scoped(select(func.count(Task.id)), actor)
    if conds is None or count is None:
        return inputs.Page([], 0, limit, offset)
    if category is not None or case_ref is not None:
        count = count.join(Case, Task.case_id == Case.id)
    total = session.scalar(count.where(*conds)) or 0
    if view == "completed":
        order = (Task.completed_at.desc(), Task.id.desc())
    else:
        order = (Task.due_at.asc().nulls_last(), Task.id)
    stmt = _with_references(tasks.scoped(select(Task), actor)).where(*conds).order_by(*order)
    items = list(session.scalars(stmt.limit(limit).offset(offset)).unique()) if total > offset else []
    return inputs.Page(items, total, limit, offset)


def described(session: Session, task: Task) -> Task:
    """The task as it now stands, with its case, agency and assignee loaded for display (one statement).
    For a task the caller already obtained through a service that checked permission."""
    stmt = _with_references(select(Task)).where(Task.id == task.id).execution_options(populate_existing=True)
    return session.scalars(stmt).unique().one()


def task_detail(session: Session, actor: User, task_id: int) -> Task:
    """One task with its case, agency and assignee. Permission: as tasks.get_task (may act on it or
    read its case; otherwise NotFound). No side effects."""
    return described(session, tasks.get_task(session, actor, task_id))


@dataclass(frozen=True)
class TaskForm:
    """What a task asks for: its name, the instructions the BPMN gives, and the fields to fill in."""

    task: Task
    name: str
    documentation: str
    fields: tuple[FormField, ...]
    sla: TaskSla | None = None  # 办理时限 in working days, when the BPMN declares one


def task_form(session: Session, actor: User, task_id: int) -> TaskForm:
    """The form of a task as its case's process version declares it, with its SLA (办理时限) if it has
    one. Permission: as tasks.get_task. No side effects."""
    task = tasks.get_task(session, actor, task_id)
    meta = tasks.task_meta(session, task)
    return TaskForm(task, meta.name, meta.documentation, meta.fields, task_sla(session, task, meta))


def max_length(field: FormField) -> int | None:
    """The longest text a text field takes, as forms.validate will enforce it (a field written to the
    case is held to the case column's width)."""
    return forms._text_limit(field) if field.type in ("text", "textarea") else None



# --- the officer's list as the pages show it: who signed for each task, and how its deadline stands ---

DUE_LEVELS = {"near": "临近时限", "soon": "即将到期", "overdue": "已超期"}


@dataclass(frozen=True)
class Deadline:
    """How a task stands against its deadline: `level` is None, `near`, `soon` or `overdue` (the
    supervision colours blue, yellow, red) and `label` says it in words ("超期 3 天", "剩 2 天"), so
    colour is never the only signal."""

    level: str | None
    label: str


def deadline(task: Task, now: datetime, *, near_days: int, soon_days: int) -> Deadline:
    """The deadline state of a task as of `now`. Days are counted on China's calendar (due on the
    23rd and read on the 26th: 超期 3 天); `soon` is due within `soon_days` days or due today, `near`
    within `near_days` days. A completed task says whether it was done in time."""
    if task.due_at is None:
        return Deadline(None, "无时限")
    due_day = task.due_at.astimezone(CHINA).date()
    if task.status == "cancelled":
        return Deadline(None, "已撤销")
    if task.completed_at is not None:
        if task.completed_at <= task.due_at:
            return Deadline(None, "按时办结")
        late = (task.completed_at.astimezone(CHINA).date() - due_day).days
        return Deadline("overdue", f"超期 {late} 天办结" if late else "超时办结（当日）")
    return open_deadline(task.due_at, now, near_days=near_days, soon_days=soon_days)


def open_deadline(due_at: datetime | None, now: datetime, *, near_days: int, soon_days: int) -> Deadline:
    """How something still open (a task, an escalation awaiting its answer) stands against `due_at`
    as of `now`, by the rules of `deadline`."""
    if due_at is None:
        return Deadline(None, "无时限")
    due_day = due_at.astimezone(CHINA).date()
    today = now.astimezone(CHINA).date()
    if due_at <= now:
        late = (today - due_day).days
        return Deadline("overdue", f"超期 {late} 天" if late else "今日已超期")
    days = (due_day - today).days
    label = "今天到期" if days == 0 else f"剩 {days} 天"
    left = due_at - now
    if days == 0 or left < timedelta(days=soon_days):
        return Deadline("soon", label)
    if left < timedelta(days=near_days):
        return Deadline("near", label)
    return Deadline(None, label)


def claimed_at(session: Session, items: list[Task]) -> dict[int, datetime]:
    """When each claimed task was last signed for (its latest task_claimed event), for a whole list in
    one query per thousand tasks (a page of the inbox must not cost a query per row). Tasks nobody
    claimed are absent. No permission check: for tasks the caller already obtained through a scoped
    read."""
    return _task_marks(session, items)[0]


def _task_marks(session: Session, items: list[Task],
                ) -> tuple[dict[int, datetime], dict[int, task_operations.ReturnNote]]:
    """When each claimed task was last signed for, and the 退回意见 each open task came back with (a
    returned task's task_returned event), from one query per thousand tasks."""
    wanted = [t for t in items if t.assignee_id is not None or t.status == "ready"]
    signed: dict[int, datetime] = {}
    notes: dict[int, task_operations.ReturnNote] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start:start + _BATCH]
        # The case ids let the (case_id, id) index narrow the scan; history has no task index.
        rows = session.execute(
            select(CaseEvent.task_id, CaseEvent.kind, CaseEvent.at, CaseEvent.data, User.display_name)
            .outerjoin(User, User.id == CaseEvent.actor_id)
            .where(CaseEvent.case_id.in_({t.case_id for t in chunk}),
                   CaseEvent.kind.in_(("task_claimed", "task_returned")),
                   CaseEvent.task_id.in_([t.id for t in chunk]))
            .order_by(CaseEvent.id))
        for task_id, kind, at, data, name in rows:
            if kind == "task_claimed":
                signed[task_id] = at
            else:
                notes[task_id] = task_operations.note_of(at, data, name)
    claimed = {t.id for t in items if t.assignee_id is not None}
    ready = {t.id for t in items if t.status == "ready"}
    return ({k: v for k, v in signed.items() if k in claimed}, {k: v for k, v in notes.items() if k in ready})


@dataclass(frozen=True)
class ListedTask:
    """One row of the inbox page: the task (with case, agency, assignee), when it was signed for, and
    its deadline state."""

    task: Task
    claimed_at: datetime | None
    deadline: Deadline
    returned: task_operations.ReturnNote | None = None  # back in the inbox by a 退回, with its opinion


@dataclass(frozen=True)
class Listing:
    """A page (or an export) of the inbox: its rows, the list's total, and the moment it was read."""

    rows: list[ListedTask]
    total: int
    limit: int
    offset: int
    now: datetime

    @property
    def page(self) -> int:
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit))


def task_listing(session: Session, actor: User, *, view: str = "inbox", due: str | None = None,
                 category: int | None = None, case_ref: str | None = None, limit: int = tasks.INBOX_PAGE,
                 offset: int = 0, near_days: int = 7, soon_days: int = 2, export: bool = False,
                 now: datetime | None = None) -> Listing:
    """The inbox as a page shows it: task_page's rows (the `soon` filter covers `near_days`) with when
    each was signed for, its deadline state and the 退回意见 of a returned task, in three statements
    whatever the page size. With
    `export`, `limit` may go up to EXPORT_MAX (one file of the whole filtered list). Permission and
    scope: as task_page. No side effects."""
    within = min(max(near_days, 1), WITHIN_DAYS_MAX)
    _check_list_args(view, due, within, category)
    now = now or clock.now()
    if export:
        limit, offset = max(1, min(int(limit), EXPORT_MAX)), 0
    else:
        limit, offset = inputs.page_bounds(limit, offset)
    found = _fetch(session, actor, view, due, within, category, None, case_ref, limit, offset, now)
    signed, notes = _task_marks(session, found.items)
    rows = [ListedTask(t, signed.get(t.id), deadline(t, now, near_days=near_days, soon_days=soon_days),
                       notes.get(t.id)) for t in found.items]
    return Listing(rows, found.total, found.limit, found.offset, now)
