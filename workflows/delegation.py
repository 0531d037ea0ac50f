"""委派: the holder of a task asks a colleague of the same agency to handle it. The colleague (the
delegate) sees it in their inbox, may fill and save the form, and resolves it back (办毕退回) with an
opinion; the holder then completes it. While it is out, nobody completes, reassigns or returns it; the
holder may recall it (收回).

Who: the holder is the officer who claimed the task, or an officer of its agency who delegates an
unclaimed task (and so claims it). The delegate: an active officer of the task's agency, not the holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from models import Case, Task, TaskDelegation, User

from . import away, history, inputs, notifications, permissions, tasks
from .engine import clock
from .errors import Conflict, Forbidden
from .transactions import mutation

NOTE_MAX = 500
OPINION_MAX = 2000


def _active(session: Session, task: Task) -> TaskDelegation | None:
    return session.scalar(select(TaskDelegation).where(
        TaskDelegation.task_id == task.id, TaskDelegation.resolved_at.is_(None),
        TaskDelegation.recalled_at.is_(None)).order_by(TaskDelegation.id.desc()).limit(1))


def _bump(session: Session, task: Task, **values: Any) -> None:
    """One version-checked UPDATE of the task row (a concurrent change loses with a conflict)."""
    done = session.execute(update(Task).where(Task.id == task.id, Task.version == task.version)
                           .values(version=task.version + 1, **values).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("任务已被他人处理或修改，请刷新后重试")
    session.expire(task)


def _text(value: Any, field: str, label: str, max_length: int, *, required: bool) -> str | None:
    cleaned = inputs.clean_text(value, field=field, label=label, max_length=max_length, multiline=True) \
        if value is not None else ""
    if required and not cleaned:
        inputs.refuse(field, label, "不能为空")
    return cleaned or None


@mutation
def delegate(session: Session, actor: User, task_id: int, *, user_id: Any, note: Any = None,
             expected_version: int | None = None, now: datetime | None = None) -> TaskDelegation:
    """委派 the task to a colleague. Permission: an officer of the task's agency who holds it (claimed it;
    an unclaimed task is claimed by delegating it). Refused: Invalid naming user_id (not an active
    officer of the task's agency, or oneself) or note (over 500 characters); Conflict when the task is
    not open, claimed by someone else, or already delegated; Stale on an old `expected_version`.
    Side effects, one transaction: the delegation, the task's holder and delegate, a "task_delegated"
    event, a notification to the delegate."""
    now = now or clock.now()
    cleaned = _text(note, "note", "委派说明", NOTE_MAX, required=False)
    task, case, _instance, _hash = tasks._load(session, actor, task_id, lock=True)
    tasks._require_actable(actor, task, case, expected_version)
    if actor.role != "officer" or task.agency_id != actor.agency_id:
        raise Forbidden("只有承办部门的经办人可以委派")
    if task.assignee_id not in (None, actor.id):
        raise Conflict("任务已被他人认领，只有认领人可以委派")
    tasks.require_not_delegated(actor, task)
    to = session.get(User, user_id) if inputs.valid_id(user_id) and user_id <= inputs.INT32_MAX else None
    if to is None or not to.active or to.role != "officer" or to.agency_id != task.agency_id:
        inputs.refuse("user_id", "受委派人", "应为本部门在岗的经办人")
    if to.id == actor.id:
        inputs.refuse("user_id", "受委派人", "不能委派给自己")
    if away.standing_in(session, to.id, now) is not None:
        inputs.refuse("user_id", "受委派人", f"{to.display_name}正在委托期间（不在岗），请委派给其他同事")
    made = TaskDelegation(task_id=task.id, from_user_id=actor.id, to_user_id=to.id, note=cleaned, created_at=now)
    session.add(made)
    _bump(session, task, assignee_id=actor.id, delegated_to_id=to.id)
    history.record(session, case, "task_delegated",
                   f"{history.actor_label(actor)}将任务「{task.name}」委派给{to.display_name}办理"
                   + (f"，说明：{cleaned}" if cleaned else ""),
                   actor=actor, task=task, at=now, data={"to_user_id": to.id, "note": cleaned})
    notifications.notify(session, [(notifications.Draft(
        "assigned", f"delegated:{task.id}:{to.id}:{int(now.timestamp())}", f"委派：{task.name}（{case.code}）"[:200],
        f"{actor.display_name}委派您办理" + (f"：{cleaned}" if cleaned else "，办毕请退回委派人。"),
        case_id=case.id, task_id=task.id), [to.id])], now=now)
    return made


def _end(session: Session, actor: User, task_id: int, expected_version: int | None,
         ) -> tuple[Task, Case, TaskDelegation]:
    task, case, _instance, _hash = tasks._load(session, actor, task_id, lock=True)
    tasks._check_version(task, expected_version)
    if task.status != "ready":
        raise Conflict(f"任务「{task.name}」已{'办结' if task.status == 'completed' else '撤销'}")
    found = _active(session, task) if task.delegated_to_id is not None else None
    if found is None:
        raise Conflict("该任务没有进行中的委派")
    return task, case, found


@mutation
def resolve(session: Session, actor: User, task_id: int, *, opinion: Any, expected_version: int | None = None,
            now: datetime | None = None) -> TaskDelegation:
    """办毕退回: the delegate hands the task back to its holder with an opinion (what was done, what to
    decide). Permission: the delegate only. Refused: Invalid naming opinion (1–2000 characters);
    Conflict when nothing is delegated; Forbidden for anyone else. Side effects: the delegation ends,
    the holder has the task back, a "delegation_resolved" event, a notification to the holder."""
    now = now or clock.now()
    cleaned = _text(opinion, "opinion", "办理意见", OPINION_MAX, required=True)
    task, case, found = _end(session, actor, task_id, expected_version)
    if found.to_user_id != actor.id:
        raise Forbidden("只有受委派人可以办毕退回")
    found.resolved_at, found.opinion = now, cleaned
    _bump(session, task, delegated_to_id=None)
    holder = session.get(User, found.from_user_id)
    history.record(session, case, "delegation_resolved",
                   f"{history.actor_label(actor)}办毕退回任务「{task.name}」给{holder.display_name if holder else ''}，"
                   f"办理意见：{cleaned}",
                   actor=actor, task=task, at=now, data={"delegation_id": found.id, "opinion": cleaned})
    notifications.notify(session, [(notifications.Draft(
        "assigned", f"resolved:{found.id}", f"委派已办毕退回：{task.name}（{case.code}）"[:200],
        f"{actor.display_name}的办理意见：{cleaned}"[:1000], case_id=case.id, task_id=task.id), [found.from_user_id])],
        now=now)
    return found


@mutation
def recall(session: Session, actor: User, task_id: int, *, reason: Any = None, expected_version: int | None = None,
           now: datetime | None = None) -> TaskDelegation:
    """收回: the holder takes a delegated task back before the delegate resolves it. Permission: the
    holder (who delegated it) or a supervisor over the case. Refused: Conflict when nothing is
    delegated; Invalid on a reason over 500 characters. Side effects: the delegation ends, a
    "delegation_recalled" event."""
    now = now or clock.now()
    cleaned = _text(reason, "reason", "收回理由", NOTE_MAX, required=False)
    task, case, found = _end(session, actor, task_id, expected_version)
    if found.from_user_id != actor.id and not (actor.role == "supervisor" and permissions.can_act_on_task(
            actor, task, case)):
        raise Forbidden("只有委派人或督办人可以收回委派")
    found.recalled_at = now
    _bump(session, task, delegated_to_id=None)
    delegate_user = session.get(User, found.to_user_id)
    history.record(session, case, "delegation_recalled",
                   f"{history.actor_label(actor)}收回委派给{delegate_user.display_name if delegate_user else ''}的任务"
                   f"「{task.name}」" + (f"，理由：{cleaned}" if cleaned else ""),
                   actor=actor, task=task, at=now, data={"delegation_id": found.id, "reason": cleaned})
    return found


@dataclass(frozen=True)
class Panel:
    """委派 on a task's page: the delegations so far (newest first, with both people), and what the
    reader may do now."""

    delegations: list[TaskDelegation]
    active: TaskDelegation | None
    may_delegate: bool
    may_resolve: bool
    may_recall: bool
    colleagues: list[User]


def panel(session: Session, actor: User, task: Task) -> Panel:
    """For a task the caller obtained through a permission-checked read (with its case). One statement,
    two when the reader may delegate (the colleagues)."""
    made = list(session.scalars(select(TaskDelegation).where(TaskDelegation.task_id == task.id)
                                .options(joinedload(TaskDelegation.from_user), joinedload(TaskDelegation.to_user))
                                .order_by(TaskDelegation.id.desc())).unique())
    active = next((d for d in made if d.active), None) if task.delegated_to_id is not None else None
    open_ = task.status == "ready"
    may_delegate = (open_ and active is None and actor.active and actor.role == "officer"
                    and task.agency_id == actor.agency_id and task.assignee_id in (None, actor.id))
    colleagues = list(session.scalars(select(User).where(
        User.agency_id == task.agency_id, User.role == "officer", User.active.is_(True), User.id != actor.id)
        .order_by(User.id))) if may_delegate else []
    return Panel(made, active, may_delegate and bool(colleagues),
                 open_ and active is not None and active.to_user_id == actor.id,
                 open_ and active is not None and (active.from_user_id == actor.id or actor.role == "supervisor"),
                 colleagues)
