"""抄送: any task can be copied to people who should know of it — the case's 包保领导 (through the
county's 安居办 and government office, who serve the leader) or named colleagues — who read it in a
"抄送我的" list and on the task page, never act on it.

Who may copy: whoever may act on the task (its agency's officers, a supervisor over the case). To whom:
active officers and supervisors who may already read the case (its place lies within theirs): a copy
lets them know, it does not widen what they may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from models import Agency, Case, Task, TaskCopy, User

from . import history, inputs, notifications, permissions, tasks
from .engine import clock
from .errors import Forbidden, NotFound
from .escalations import LEADER_DESKS
from .transactions import mutation

NOTE_MAX = 500
RECIPIENTS_MAX = 20


def _recipients(session: Session, case: Case, actor: User, user_ids: Any, leader: bool) -> list[User]:
    if user_ids is None:
        user_ids = []
    if not isinstance(user_ids, list | tuple) or len(user_ids) > RECIPIENTS_MAX:
        inputs.refuse("user_ids", "抄送对象", f"应为至多 {RECIPIENTS_MAX} 人的列表")
    wanted: list[int] = []
    for value in user_ids:
        if not inputs.valid_id(value) or value > inputs.INT32_MAX:
            inputs.refuse("user_ids", "抄送对象", "含有不存在的用户")
        wanted.append(value)
    people = {u.id: u for u in session.scalars(select(User).options(joinedload(User.agency).joinedload(Agency.region))
                                               .where(User.id.in_(wanted)))} if wanted else {}
    for value in wanted:
        user = people.get(value)
        if user is None or not user.active or user.role not in ("officer", "supervisor"):
            inputs.refuse("user_ids", "抄送对象", "应为在岗的经办人或督办人")
        if not permissions.can_view_case(user, case):
            inputs.refuse("user_ids", "抄送对象", f"{user.display_name}不能查看该案件（不在其管辖范围内）")
    chosen = [people[v] for v in dict.fromkeys(wanted)]
    if leader:
        desks = session.scalars(select(User).options(joinedload(User.agency))
                                .join(Agency, User.agency_id == Agency.id)
                                .where(Agency.region_id == case.region_id, Agency.role.in_(LEADER_DESKS),
                                       User.active.is_(True), User.role.in_(("officer", "supervisor")))
                                .order_by(User.id)).unique().all()
        if not desks:
            inputs.refuse("leader", "抄送包保领导", "案件所在地的安居办和政府办公室没有在岗人员，无法抄送")
        chosen += [u for u in desks if u.id not in people]
    chosen = [u for u in chosen if u.id != actor.id]
    if not chosen:
        inputs.refuse("user_ids", "抄送对象", "请选择抄送对象（包保领导或具体人员，不含本人）")
    return chosen


@mutation
def copy_task(session: Session, actor: User, task_id: int, *, user_ids: Any = None, leader: Any = False,
              note: Any = None, now: datetime | None = None) -> list[TaskCopy]:
    """抄送 a task (open or done) to people who should know of it: with `leader`, the case's 包保领导's
    desks (the county's 安居办 and government office); and/or `user_ids` (at most RECIPIENTS_MAX).

    Permission: whoever may act on the task (otherwise Forbidden; outside jurisdiction: NotFound).
    Refused: Invalid naming user_ids (unknown, inactive, an auditor or admin, someone who may not read
    the case, none at all), leader (the desks have nobody) or note (over 500 characters). A person
    the task was copied to before is not copied again. Side effects, one transaction: a copy per new
    recipient, a notification each, a "task_copied" event naming them. Returns the new copies.
    """
    now = now or clock.now()
    if not isinstance(leader, bool):
        inputs.refuse("leader", "抄送包保领导", "应为是或否")
    cleaned = inputs.clean_text(note, field="note", label="抄送说明", max_length=NOTE_MAX, multiline=True) \
        if note is not None else ""
    task, case, _instance, _hash = tasks._load(session, actor, task_id)
    if not permissions.can_act_on_task(actor, task, case):
        raise Forbidden("只有任务的承办部门或督办人可以抄送")
    people = _recipients(session, case, actor, user_ids, leader)
    already = set(session.scalars(select(TaskCopy.user_id).where(TaskCopy.task_id == task.id,
                                                                  TaskCopy.user_id.in_([u.id for u in people]))))
    new = [u for u in people if u.id not in already]
    if not new:
        return []
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Two people copying the same task to the same person at once: one copy.
    ids = session.execute(insert(TaskCopy).values([
        {"task_id": task.id, "case_id": case.id, "user_id": u.id, "copied_by_id": actor.id, "note": cleaned or None,
         "created_at": now} for u in new]).on_conflict_do_nothing(index_elements=["task_id", "user_id"])
        .returning(TaskCopy.id)).scalars().all()
    copies = list(session.scalars(select(TaskCopy).where(TaskCopy.id.in_(ids)))) if ids else []
    names = "、".join(f"{u.display_name}" for u in new)
    whom = (f"包保领导{case.responsible_leader or ''}（{names}）" if leader else names)
    history.record(session, case, "task_copied",
                   f"{history.actor_label(actor)}将任务「{task.name}」抄送{whom}" + (f"，说明：{cleaned}" if cleaned else ""),
                   actor=actor, task=task, at=now,
                   data={"user_ids": [u.id for u in new], "leader": leader, "note": cleaned or None})
    notifications.notify(session, [(notifications.Draft(
        "copied", f"copied-task:{task.id}", f"抄送：{task.name}（{case.code}）"[:200],
        f"{history.actor_label(actor)}抄送给您阅知" + (f"：{cleaned}" if cleaned else "。"),
        case_id=case.id, task_id=task.id), [u.id for u in new])], now=now)
    return copies


def copied_to_me(session: Session, actor: User, *, unread_only: bool = False, limit: int = 25,
                 offset: int = 0) -> inputs.Page[TaskCopy]:
    """The tasks copied to the actor, unread first, newest first, with task, case and who copied them.
    Only ever the actor's own. Two statements."""
    limit, offset = inputs.page_bounds(limit, offset)
    where = [TaskCopy.user_id == actor.id] + ([TaskCopy.read_at.is_(None)] if unread_only else [])
    total = session.scalar(select(func.count()).select_from(TaskCopy).where(*where)) or 0
    items = list(session.scalars(
        select(TaskCopy).where(*where)
        .options(joinedload(TaskCopy.task).joinedload(Task.agency), joinedload(TaskCopy.case),
                 joinedload(TaskCopy.copied_by).joinedload(User.agency))
        .order_by(TaskCopy.read_at.is_not(None), TaskCopy.id.desc()).limit(limit).offset(offset)).unique())
    return inputs.Page(items, total, limit, offset)


def unread_copies(session: Session, actor: User) -> int:
    return session.scalar(select(func.count()).select_from(TaskCopy)
                          .where(TaskCopy.user_id == actor.id, TaskCopy.read_at.is_(None))) or 0


def copies_of_task(session: Session, task: Task) -> list[TaskCopy]:
    """Who a task was copied to (for its page), oldest first, with the recipients' names loaded. For a
    task the caller obtained through a permission-checked read."""
    return list(session.scalars(select(TaskCopy).where(TaskCopy.task_id == task.id)
                                .options(joinedload(TaskCopy.copied_by)).order_by(TaskCopy.id)).unique())


def recipient_names(session: Session, copies: Iterable[TaskCopy]) -> dict[int, str]:
    ids = {c.user_id for c in copies}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}


@mutation
def mark_read(session: Session, actor: User, copy_id: Any, *, now: datetime | None = None) -> None:
    """Mark a copy 已阅. Only the person it was copied to; anyone else's copy does not exist for them."""
    if not inputs.valid_id(copy_id) or copy_id > inputs.INT32_MAX:
        raise NotFound("抄送不存在")
    copy = session.scalar(select(TaskCopy).where(TaskCopy.id == copy_id, TaskCopy.user_id == actor.id))
    if copy is None:
        raise NotFound("抄送不存在")
    if copy.read_at is None:
        copy.read_at = now or clock.now()


@dataclass(frozen=True)
class CopyPanel:
    """抄送 on a task's page: who it was copied to (read or not), and whether the reader may copy it, to
    whom (the people of the case's county and the city's 安居办, as choices)."""

    copies: list[tuple[TaskCopy, str]]  # (copy, recipient's name)
    may_copy: bool
    candidates: list[tuple[int, str]]  # (user id, "name（agency）")
    leader: str | None  # the case's 包保领导


def task_panel(session: Session, actor: User, task: Task, case: Case) -> CopyPanel:
    """For a task the caller obtained through a permission-checked read. Two or three statements."""
    made = copies_of_task(session, task)
    names = recipient_names(session, made)
    may_copy = permissions.can_act_on_task(actor, task, case)
    candidates: list[tuple[int, str]] = []
    if may_copy:
        places = [case.region_id] + ([case.region.parent_id] if case.region.parent_id is not None else [])
        candidates = [(uid, f"{name}（{agency}）") for uid, name, agency in session.execute(
            select(User.id, User.display_name, Agency.name).join(Agency, User.agency_id == Agency.id)
            .where(Agency.region_id.in_(places), User.active.is_(True), User.role.in_(("officer", "supervisor")),
                   User.id != actor.id)
            .order_by(Agency.region_id, Agency.id, User.id).limit(200))]
    return CopyPanel([(c, names.get(c.user_id, "")) for c in made], may_copy, candidates, case.responsible_leader)
