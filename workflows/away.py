"""委托: an officer away for a span of days (leave, training) hands their work to a colleague of the same
agency. From the first day, the tasks they hold go to the colleague (the worker's pass, or at once when
the period is set on a day it covers), and anything routed to them personally meanwhile — a task
returned (退回) or withdrawn (撤回) to the person who did it, a 转办 or 委派 naming them — goes to the
colleague instead. History says on whose behalf.

Who: the officer for themselves, or a supervisor whose jurisdiction covers the officer's agency. Dates
are China dates, both included, at most MAX_DAYS long; periods of one officer do not overlap; the
colleague must be an active officer of the same agency who is not away themselves at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from models import AwayPeriod, Case, Task, User

from . import history, inputs, notifications, permissions
from .auth import log
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Conflict, Forbidden, NotFound
from .transactions import mutation

MAX_DAYS = 90
REASON_MAX = 200


def _today(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def _require_manager(actor: User, user: User) -> None:
    if actor.id == user.id and actor.active and actor.role == "officer":
        return
    if actor.active and actor.role == "supervisor" and permissions.jurisdiction(actor).contains(user.agency.region):
        return
    raise Forbidden("只有经办人本人或管辖其单位的督办人可以设置委托")


def _overlapping(session: Session, user_id: int, first: date, last: date, *, skip: int | None = None) -> AwayPeriod | None:
    stmt = select(AwayPeriod).where(AwayPeriod.user_id == user_id, AwayPeriod.cancelled_at.is_(None),
                                    AwayPeriod.starts_on <= last, AwayPeriod.ends_on >= first)
    if skip is not None:
        stmt = stmt.where(AwayPeriod.id != skip)
    return session.scalar(stmt.limit(1))


def _span(first: date, last: date) -> str:
    return f"{first.isoformat()} 至 {last.isoformat()}"


@mutation
def set_away(session: Session, actor: User, *, starts_on: Any, ends_on: Any, delegate_id: Any, reason: Any,
             user_id: Any = None, now: datetime | None = None) -> AwayPeriod:
    """Set an away period for `user_id` (default: the actor). Refused: Invalid naming starts_on/ends_on
    (not dates, the end before the start or already past, longer than MAX_DAYS), delegate_id (not an
    active officer of the same agency, the officer themselves, or away at the same time), reason
    (1–200 characters), user_id (not an officer), a start more than a year ahead; Conflict when it overlaps another period of the
    officer; Forbidden for anyone but the officer and their supervisors. Side effects: the period, an
    "away_set" access-log event, and, when the period has begun, the officer's tasks handed over."""
    now = now or clock.now()
    user = actor if user_id is None else (
        session.get(User, user_id) if inputs.valid_id(user_id) and user_id <= inputs.INT32_MAX else None)
    if user is None or user.role != "officer" or not user.active:
        inputs.refuse("user_id", "委托人", "应为在岗的经办人")
    _require_manager(actor, user)
    first = inputs.sane_date(starts_on, field="starts_on", label="开始日期")
    last = inputs.sane_date(ends_on, field="ends_on", label="结束日期")
    if last < first:
        inputs.refuse("ends_on", "结束日期", "不能早于开始日期")
    if last < _today(now):
        inputs.refuse("ends_on", "结束日期", "已过去，无需委托")
    if first > _today(now) + timedelta(days=366):
        inputs.refuse("starts_on", "开始日期", "最多提前一年设置")
    if (last - first).days + 1 > MAX_DAYS:
        inputs.refuse("ends_on", "结束日期", f"委托期限最长 {MAX_DAYS} 天")
    cleaned = inputs.clean_text(reason, field="reason", label="委托事由", max_length=REASON_MAX) if reason is not None else ""
    if not cleaned:
        inputs.refuse("reason", "委托事由", "不能为空")
    to = session.get(User, delegate_id) if inputs.valid_id(delegate_id) and delegate_id <= inputs.INT32_MAX else None
    if to is None or not to.active or to.role != "officer" or to.agency_id != user.agency_id:
        inputs.refuse("delegate_id", "代办人", "应为同一部门在岗的经办人")
    if to.id == user.id:
        inputs.refuse("delegate_id", "代办人", "不能委托给本人")
    busy = _overlapping(session, to.id, first, last)
    if busy is not None:
        inputs.refuse("delegate_id", "代办人", f"{to.display_name}在 {_span(busy.starts_on, busy.ends_on)} 也不在岗，请另选")
    clash = _overlapping(session, user.id, first, last)
    if clash is not None:
        raise Conflict(f"{user.display_name}已设置 {_span(clash.starts_on, clash.ends_on)} 的委托，与所选日期重叠")
    period = AwayPeriod(user_id=user.id, delegate_id=to.id, starts_on=first, ends_on=last, reason=cleaned,
                        created_by_id=actor.id, created_at=now)
    session.add(period)
    session.flush()
    log(session, "away_set", f"{actor.display_name}设置委托：{user.display_name}于 {_span(first, last)}（{cleaned}）"
        f"由{to.display_name}代办", actor=actor, subject=user, at=now,
        data={"period_id": period.id, "delegate_id": to.id, "starts_on": first.isoformat(), "ends_on": last.isoformat()})
    if first <= _today(now):
        _hand_over(session, period, user, to, now)
    return period


@mutation
def cancel_away(session: Session, actor: User, period_id: Any, *, now: datetime | None = None) -> AwayPeriod:
    """End a period early (or before it starts). Tasks already handed over stay with the colleague,
    who may hand them back (转办). Permission: as set_away; a period one may not manage: NotFound."""
    now = now or clock.now()
    period = session.scalar(select(AwayPeriod).options(joinedload(AwayPeriod.user), joinedload(AwayPeriod.delegate))
                            .where(AwayPeriod.id == period_id)) \
        if inputs.valid_id(period_id) and period_id <= inputs.INT32_MAX else None
    if period is None or period.cancelled_at is not None:
        raise NotFound("委托不存在或已取消")
    try:
        _require_manager(actor, period.user)
    except Forbidden:
        raise NotFound("委托不存在或已取消") from None
    period.cancelled_at = now
    log(session, "away_cancelled", f"{actor.display_name}取消委托：{period.user.display_name} "
        f"{_span(period.starts_on, period.ends_on)}", actor=actor, subject=period.user, at=now,
        data={"period_id": period.id})
    return period


def standing_in(session: Session, user_id: int, now: datetime) -> User | None:
    """Who handles `user_id`'s work today (the colleague of a period covering today), or None. Used by
    whatever routes a task to a person (退回, 撤回, 转办, 委派). One statement."""
    today = _today(now)
    return session.scalar(select(User).join(AwayPeriod, AwayPeriod.delegate_id == User.id).where(
        AwayPeriod.user_id == user_id, AwayPeriod.cancelled_at.is_(None), AwayPeriod.starts_on <= today,
        AwayPeriod.ends_on >= today, User.active.is_(True)).limit(1))


def _hand_over(session: Session, period: AwayPeriod, user: User, to: User, now: datetime) -> int:
    """Give the away officer's open claimed tasks to the colleague, one history event and one
    notification (新任务, to the colleague) per task."""
    held = list(session.execute(select(Task.id, Task.version, Task.name, Task.case_id, Case.code)
                                .join(Case, Case.id == Task.case_id)
                                .where(Task.assignee_id == user.id, Task.status == "ready",
                                       Task.delegated_to_id.is_(None))))
    span = _span(period.starts_on, period.ends_on)
    moved = []
    for task_id, version, name, case_id, code in held:
        done = session.execute(update(Task).where(Task.id == task_id, Task.version == version)
                               .values(assignee_id=to.id, version=version + 1)
                               .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            continue  # someone moved it meanwhile: it is no longer the away officer's
        history.record(session, case_id, "task_reassigned",
                       f"{user.display_name}委托期间（{span}，{period.reason}），任务「{name}」由{to.display_name}代为办理",
                       actor=None, task=task_id, at=now,
                       data={"away_period_id": period.id, "from_user_id": user.id, "to_user_id": to.id})
        moved.append(notifications.Draft(
            "assigned", f"away:{period.id}:{task_id}", f"委托代办：{name}（{code}）"[:200],
            f"{user.display_name}委托期间（{span}，{period.reason}），此任务转由您代为办理。",
            case_id=case_id, task_id=task_id))
    notifications.notify(session, [(draft, [to.id]) for draft in moved], now=now)
    period.applied_at = now
    return len(moved)


@mutation
def apply_due(session: Session, now: datetime) -> int:
    """The worker's step: hand over the tasks of every period that has begun and not been applied.
    Returns how many tasks moved."""
    today = _today(now)
    moved = 0
    for period in session.scalars(select(AwayPeriod).options(joinedload(AwayPeriod.user), joinedload(AwayPeriod.delegate))
                                  .where(AwayPeriod.applied_at.is_(None), AwayPeriod.cancelled_at.is_(None),
                                         AwayPeriod.starts_on <= today, AwayPeriod.ends_on >= today)).unique():
        moved += _hand_over(session, period, period.user, period.delegate, now)
    return moved


@dataclass(frozen=True)
class AwayPage:
    """委托 as its page shows it to one officer: their periods, the ones they stand in for, colleagues."""

    mine: list[AwayPeriod]
    covering: list[AwayPeriod]
    colleagues: list[User]
    today: date


def away_page(session: Session, actor: User, now: datetime | None = None) -> AwayPage:
    now = now or clock.now()
    today = _today(now)
    recent = today - timedelta(days=30)
    opts = (joinedload(AwayPeriod.user), joinedload(AwayPeriod.delegate))
    mine = list(session.scalars(select(AwayPeriod).options(*opts).where(
        AwayPeriod.user_id == actor.id, AwayPeriod.ends_on >= recent).order_by(AwayPeriod.starts_on.desc())).unique())
    covering = list(session.scalars(select(AwayPeriod).options(*opts).where(
        AwayPeriod.delegate_id == actor.id, AwayPeriod.cancelled_at.is_(None), AwayPeriod.ends_on >= today)
        .order_by(AwayPeriod.starts_on)).unique())
    colleagues = list(session.scalars(select(User).where(
        User.agency_id == actor.agency_id, User.role == "officer", User.active.is_(True), User.id != actor.id)
        .order_by(User.id))) if actor.role == "officer" else []
    return AwayPage(mine, covering, colleagues, today)


