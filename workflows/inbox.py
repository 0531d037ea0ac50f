"""Reading tasks as people work them: lists by view (待办, 我认领的, 未认领, 已办) with deadline, category
and case filters, one task with its case, agency and assignee, and a task's form.

Everything here is a read from the task projection; acting on tasks is workflows/tasks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from models import Agency, Case, Task, User

from . import forms, inputs, tasks
from .engine import clock
from .engine.specs import FormField

VIEWS = {"inbox": "待办", "mine": "我认领的", "unclaimed": "未认领", "completed": "已办"}
DUE_FILTERS = {"soon": "即将到期", "overdue": "已逾期"}
WITHIN_DAYS_DEFAULT = 3
WITHIN_DAYS_MAX = 90


def _conditions(actor: User, view: str, due: str | None, within_days: int, category: int | None,
                case_id: int | None, now: datetime) -> list[Any] | None:
    """The WHERE clauses of a list, or None when the list is empty whatever the data."""
    if view == "completed":
        conds = [Task.status == "completed", Task.completed_by_id == actor.id]
    else:
        conds = [Task.status == "ready"]
    if view == "mine":
        conds.append(Task.assignee_id == actor.id)
    elif view == "unclaimed":
        conds.append(Task.assignee_id.is_(None))
    elif view == "inbox" and actor.role == "officer":
        # A colleague's claimed task is theirs to do; a supervisor may still act on it, so sees it.
        conds.append(Task.assignee_id.is_(None) | (Task.assignee_id == actor.id))
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
              limit: int = tasks.INBOX_PAGE, offset: int = 0, now: datetime | None = None,
              ) -> inputs.Page[Task]:
    """A page of the actor's tasks and the list's total.

    Views: `inbox` (open tasks the actor may work: an officer's agency's that are unclaimed or theirs,
    a supervisor's whole jurisdiction), `mine` (open, claimed by the actor), `unclaimed` (open, nobody's
    yet), `completed` (已办: completed by the actor, newest first). Open lists run deadline first.
    Filters: `due` = `soon` (due within `within_days` days from now) or `overdue`; `category`; `case_id`.
    Permission: the scope of tasks.scoped, applied in SQL; auditors and admins work no tasks, so their
    lists are empty. No side effects.
    """
    _check_list_args(view, due, within_days, category)
    limit, offset = inputs.page_bounds(limit, offset)
    now = now or clock.now()
    conds = _conditions(actor, view, due, within_days, category, case_id, now)
    count = tasks.scoped(select(func.count(Task.id)), actor)
    if conds is None or count is None:
        return inputs.Page([], 0, limit, offset)
    if category is not None:
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


def task_form(session: Session, actor: User, task_id: int) -> TaskForm:
    """The form of a task as its case's process version declares it. Permission: as tasks.get_task.
    No side effects."""
    task = tasks.get_task(session, actor, task_id)
    meta = tasks.task_meta(session, task)
    return TaskForm(task, meta.name, meta.documentation, meta.fields)


def max_length(field: FormField) -> int | None:
    """The longest text a text field takes, as forms.validate will enforce it (a field written to the
    case is held to the case column's width)."""
    return forms._text_limit(field) if field.type in ("text", "textarea") else None

