"""暂存: a task form saved as it stands, without validation, by someone who may act on the task, and
restored when they open the task again. One draft per task and person; drafts go when the task is
completed (workflows/task_desk.complete).

A draft is not checked against the form (that is what completing does), but it is still bounded and
storable: only the task's declared fields, plain values (text, numbers, yes/no, an uploaded file's
attachment id), text without NUL or broken characters (PostgreSQL's JSON refuses them), 200 KB in all.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import Case, Task, TaskDraft, User

from . import inputs, permissions, tasks
from .engine import clock
from .engine.specs import FormField
from .errors import Conflict, Forbidden, Invalid
from .transactions import mutation

DRAFT_MAX_BYTES = 200 * 1024
# Longer than any field takes (a textarea holds 5,000 characters): a draft keeps what was typed, even
# past the limit, so the person can shorten it; the byte bound above caps the whole.
VALUE_TEXT_MAX = 20_000


def _clean_value(field: FormField, value: Any) -> Any:
    key, label = field.key, field.label
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not inputs.INT64_MIN <= value <= inputs.INT64_MAX:
            inputs.refuse(key, label, "数值过大，无法暂存")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            inputs.refuse(key, label, "不能为 NaN 或无穷大")
        return value
    if isinstance(value, str):
        return inputs.clean_text(value, field=key, label=label, max_length=VALUE_TEXT_MAX, multiline=True,
                                 strip=False)
    if field.type == "file" and isinstance(value, dict) and list(value) == ["attachment_id"] \
            and inputs.valid_id(value["attachment_id"]):
        return {"attachment_id": value["attachment_id"]}
    inputs.refuse(key, label, "暂存内容无效")


def clean_draft(fields: tuple[FormField, ...], data: Any) -> dict[str, Any]:
    """The values worth keeping: those of declared fields (others are dropped: a newer process
    version may have renamed a field), each a plain value; Invalid names a value that cannot be kept."""
    if not isinstance(data, dict):
        raise Invalid("暂存内容应为表单字段", errors={"_": ["暂存内容应为表单字段"]})
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in fields:
        if field.key not in data or data[field.key] is None:
            continue
        try:
            cleaned[field.key] = _clean_value(field, data[field.key])
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        first = next(iter(errors.values()))[0]
        raise Invalid(f"暂存未成功：{first}", errors=errors)
    return cleaned


def _check_size(data: dict[str, Any], opinion: str | None) -> None:
    size = len(json.dumps({"data": data, "opinion": opinion}, ensure_ascii=False).encode())
    if size > DRAFT_MAX_BYTES:
        message = f"暂存内容过大（{size // 1024} KB，最多 {DRAFT_MAX_BYTES // 1024} KB），请精简后再暂存"
        raise Invalid(message, errors={"_": [message]})


def _actable(session: Session, actor: User, task_id: int) -> Task:
    task = tasks.get_task(session, actor, task_id)  # NotFound outside the actor's reach
    case = session.get(Case, task.case_id)
    assert case is not None
    if not permissions.can_act_on_task(actor, task, case):
        raise Forbidden("只有承办部门的经办人或督办人可以暂存该任务")
    if task.status != "ready":
        raise Conflict(f"任务「{task.name}」{task.status_label}，不能再暂存")
    return task


@mutation
def save_draft(session: Session, actor: User, task_id: int, data: dict[str, Any], *,
               opinion: str | None = None, now: datetime | None = None) -> TaskDraft:
    """Save (or replace) the actor's draft of an open task: the form's values as typed and the opinion.

    Permission: may act on the task (its agency's officers; supervisors over the case's place), and
    the task is open. Not validated against the form; bounded (clean_draft, 200 KB). Side effects:
    the actor's TaskDraft row for the task; no history (a draft is nobody's business but its author's).
    """
    task = _actable(session, actor, task_id)
    cleaned = clean_draft(tasks.task_fields(session, task), data)
    opinion = tasks.clean_opinion(opinion)
    _check_size(cleaned, opinion)
    draft = session.scalar(select(TaskDraft).where(TaskDraft.task_id == task.id, TaskDraft.user_id == actor.id))
    if draft is None:
        draft = TaskDraft(task_id=task.id, user_id=actor.id)
        session.add(draft)
    draft.data = cleaned
    draft.opinion = opinion
    draft.saved_at = now or clock.now()
    return draft


def draft_of(session: Session, actor: User, task: Task) -> TaskDraft | None:
    """The actor's own draft of an open task, if any. For a task the caller obtained through a service
    that checked the actor may see it. No side effects."""
    if task.status != "ready":
        return None
    return session.scalar(select(TaskDraft).where(TaskDraft.task_id == task.id, TaskDraft.user_id == actor.id))


@mutation
def discard_draft(session: Session, actor: User, task_id: int) -> None:
    """Throw away the actor's own draft of a task (放弃暂存). Permission: may see the task (NotFound
    otherwise); only one's own draft is touched. Side effects: the row is deleted."""
    task = tasks.get_task(session, actor, task_id)
    session.execute(delete(TaskDraft).where(TaskDraft.task_id == task.id, TaskDraft.user_id == actor.id))


def discard_task_drafts(session: Session, task_id: int) -> None:
    """Everyone's drafts of a task that was just completed, inside the completing transaction."""
    session.execute(delete(TaskDraft).where(TaskDraft.task_id == task_id))
