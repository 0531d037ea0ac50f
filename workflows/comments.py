"""留言: short notes people leave on a task ("财政局材料已催，周五前报送"), kept in the case's history as
events of kind "comment", so they are as permanent and attributable as every other step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, User

from . import history, inputs, permissions, tasks
from .engine import clock
from .errors import Forbidden
from .transactions import mutation

COMMENT_MAX = 500
SHOWN_MAX = 200


@dataclass(frozen=True)
class Comment:
    """One comment as a task page shows it."""

    at: datetime
    author: str | None
    text: str


@mutation
def post_comment(session: Session, actor: User, task_id: int, text: str, *, now: datetime | None = None) -> None:
    """Leave a comment on a task. Permission: may act on the task (its agency's officers; supervisors
    over the case's place); someone who may only read it (an auditor) is refused, someone outside its
    reach gets NotFound. Refused (Invalid on `text`): blank, over COMMENT_MAX characters, control
    characters. Side effects: a "comment" event in the case's history, naming the task."""
    task = tasks.get_task(session, actor, task_id)
    case = session.get(Case, task.case_id)
    assert case is not None
    if not permissions.can_act_on_task(actor, task, case):
        raise Forbidden("只有承办部门的经办人或督办人可以留言")
    cleaned = inputs.clean_text(text, field="text", label="留言", max_length=COMMENT_MAX, multiline=True)
    if not cleaned:
        inputs.refuse("text", "留言", "不能为空")
    history.record(session, case, "comment", f"{history.actor_label(actor)}在「{task.name}」留言：{cleaned}",
                   actor=actor, task=task, at=now or clock.now(), data={"text": cleaned})


def task_comments(session: Session, case_id: int, task_id: int) -> list[Comment]:
    """A task's comments, oldest first (the latest SHOWN_MAX). Unscoped: the caller has checked the
    reader may see the task."""
    rows = session.execute(
        select(CaseEvent.at, User.display_name, CaseEvent.data)
        .outerjoin(User, User.id == CaseEvent.actor_id)
        .where(CaseEvent.case_id == case_id, CaseEvent.task_id == task_id, CaseEvent.kind == "comment")
        .order_by(CaseEvent.id.desc()).limit(SHOWN_MAX)).all()
    return [Comment(at, name, (data or {}).get("text", "")) for at, name, data in reversed(rows)]
