"""Bulk actions on tasks selected in an inbox: 批量催办 (urge each task's agency). 批量转办 lives beside
转办 (workflows.task_operations.bulk_reassign); both give one result per task, each item done in a
transaction of its own or left untouched."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import Agency, Case, Task, User

from . import escalations, inputs, permissions, task_operations, tasks, workdays
from .errors import Conflict, HuiqianError, NotFound
from .task_operations import ItemResult, _bulk_ids


def bulk_urge(session: Session, actor: User, task_ids: Iterable[Any], *, reason: Any,
              due_in_workdays: Any = None, now: datetime | None = None) -> list[ItemResult]:
    """批量催办: a 催办 of each selected open task's agency (escalations.escalate, level "urge", about
    that task), at most task_operations.BULK_MAX, duplicates once, each in a transaction of its own.

    Permission: as a 催办 (city or province supervisors over the case). Refused as a whole (Invalid,
    nothing done): no tasks, too many, a missing or too long reason, a bad reply deadline. Each item is
    done or refused with the code and message: not found (outside the actor's reach), already
    completed, the case closed, a 催办 of that agency about that task already open, no permission.
    """
    ids = _bulk_ids(list(task_ids) if not isinstance(task_ids, list | tuple) else task_ids)
    cleaned = inputs.clean_text(reason, field="reason", label="催办事由", max_length=escalations.REASON_MAX,
                                multiline=True) if reason is not None else ""
    if not cleaned:
        inputs.refuse("reason", "催办事由", "不能为空")
    if due_in_workdays is not None:
        inputs.finite_number(due_in_workdays, field="due_in_workdays", label="答复期限（工作日）", integer=True,
                             minimum=1, maximum=workdays.MAX_WORKDAYS)
    out: list[ItemResult] = []
    for task_id in ids:
        try:
            if isinstance(task_id, bool) or not isinstance(task_id, int):
                raise NotFound("任务不存在")
            task = tasks.get_task(session, actor, task_id)
            if task.status != "ready":
                raise Conflict(f"任务「{task.name}」已{'办结' if task.status == 'completed' else '撤销'}，无需催办")
            escalations.escalate(session, actor, task.case_id, level="urge", reason=cleaned, target="agency",
                                 task_id=task_id, due_in_workdays=due_in_workdays, now=now)
            out.append(ItemResult(task_id, True))
        except HuiqianError as exc:
            out.append(ItemResult(task_id, False, exc.code, exc.message))
    return out


@dataclass(frozen=True)
class Selection:
    """Tasks picked in an inbox for a bulk action, as the confirmation page shows them: those the actor
    may see and that are still open (with case and agency), how many picks were dropped, and the 转办
    targets offered (those of the first task: the colleagues of its agency, the agencies of its role
    over its case; a task of another role is refused, with the reason, when the action runs)."""

    tasks: list[Task]
    dropped: int
    colleagues: list[User]
    agencies: list[Agency]


def selection(session: Session, actor: User, task_ids: Iterable[Any]) -> Selection:
    """For the bulk confirmation page. Refused as a whole (Invalid naming task_ids): none, or too many.
    No side effects."""
    picked = list(task_ids)
    ids = [i for i in _bulk_ids(picked) if isinstance(i, int) and not isinstance(i, bool)
           and inputs.valid_id(i) and i <= inputs.INT32_MAX]
    found = {t.id: t for t in session.scalars(
        select(Task).options(joinedload(Task.case).joinedload(Case.region), joinedload(Task.agency))
        .where(Task.id.in_(ids), Task.status == "ready")).unique()} if ids else {}
    visible = [found[i] for i in ids if i in found and (permissions.can_act_on_task(actor, found[i], found[i].case)
                                                        or permissions.can_view_case(actor, found[i].case))]
    colleagues: list[User] = []
    agencies: list[Agency] = []
    if visible:
        offered = task_operations.panel(session, actor, visible[0])
        colleagues, agencies = offered.colleagues, offered.agencies
    return Selection(visible, len(dict.fromkeys(picked)) - len(visible), colleagues, agencies)
