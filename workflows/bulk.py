"""Bulk actions on tasks selected in an inbox: 批量催办 (urge each task's agency). 批量转办 lives beside
转办 (workflows.task_operations.bulk_reassign); both give one result per task, each item done in a
transaction of its own or left untouched."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models import User

from . import escalations, inputs, tasks, workdays
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
