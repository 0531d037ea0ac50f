"""通知: what a person should know without looking for it — a task arrived for them or their agency, a
deadline is near or has passed, an escalation was addressed to them, their escalation was read or answered.

Each notification is one row per recipient in the in-app centre (unread count, newest first). When e-mail
(SMTP) or a webhook is configured (`configure`, from the app factory), each new notification also gets a
delivery per channel, sent by the worker with retries and a record of every attempt.

Where notifications come from:
- escalations: written in the same transaction as the escalation step (workflows/escalations.py);
- tasks (assigned, due soon, overdue): by the worker pass (`notify_tasks`) from indexed windows of task
  times, so completing a task and filing a case pay nothing for them.
A notification's `key` ("overdue:42") makes it once per person: a pass that runs twice, or two workers at
once, insert nothing new (the unique key refuses the twin; no error).
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    Agency,
    Case,
    DeliveryAttempt,
    Escalation,
    JobMark,
    Notification,
    NotificationDelivery,
    Task,
    User,
)

from . import inputs
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Busy
from .transactions import mutation

BATCH = 500
LEASE = timedelta(minutes=5)  # a claimed delivery not finished by then (a crashed worker) is tried again
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
# Leader targets are served by the county's 安居办 and government office (as in escalations.py).
LEADER_DESKS = ("supervision", "government")


@dataclass(frozen=True)
class Channels:
    """Delivery beyond the app. Nothing configured: the in-app centre only."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "huiqian@localhost"
    smtp_starttls: bool = False
    webhook_url: str | None = None
    max_attempts: int = 5
    timeout_seconds: float = 10.0

    @property
    def email(self) -> bool:
        return bool(self.smtp_host)


_channels = Channels()


def configure(channels: Channels) -> None:
    """Set the delivery channels (the app factory does, from config/)."""
    global _channels
    _channels = channels


def channels() -> Channels:
    return _channels


def channels_from(get: Callable[[str], Any]) -> Channels:
    """The channels a configuration names (`get`: the app's config.get, or config.setting for the
    Celery worker); none configured: the in-app centre only."""
    return Channels(
        smtp_host=get("SMTP_HOST") or None, smtp_port=int(get("SMTP_PORT") or 25),
        smtp_username=get("SMTP_USERNAME") or None, smtp_password=get("SMTP_PASSWORD") or None,
        smtp_sender=get("SMTP_SENDER") or "huiqian@localhost", smtp_starttls=bool(get("SMTP_STARTTLS")),
        webhook_url=get("NOTIFY_WEBHOOK_URL") or None, max_attempts=int(get("NOTIFY_MAX_ATTEMPTS") or 5))


# ---------------------------------------------------------------------------------------------
# Writing


@dataclass(frozen=True)
class Draft:
    """One notification to write for several people."""

    kind: str
    key: str
    title: str
    body: str = ""
    case_id: int | None = None
    task_id: int | None = None
    escalation_id: int | None = None


def _insert_ignoring_twins(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(Notification).values(rows).on_conflict_do_nothing(index_elements=["user_id", "key"])
            .returning(Notification.id, Notification.user_id))
    return [(row.id, row.user_id) for row in session.execute(stmt)]


def notify(session: Session, drafts: Iterable[tuple[Draft, Iterable[int]]], *, now: datetime | None = None) -> int:
    """Write each draft for its recipients (user ids), skipping those who already have it; add the
    deliveries of the configured channels. Part of the caller's transaction. Returns how many were new."""
    now = now or clock.now()
    rows = [{"user_id": user_id, "kind": d.kind, "key": d.key[:100], "title": d.title[:200], "body": d.body,
             "case_id": d.case_id, "task_id": d.task_id, "escalation_id": d.escalation_id, "created_at": now}
            for d, users in drafts for user_id in dict.fromkeys(users)]
    if not rows:
        return 0
    created: list[tuple[int, int]] = []
    for start in range(0, len(rows), BATCH):
        created += _insert_ignoring_twins(session, rows[start:start + BATCH])
    _add_deliveries(session, created, now)
    return len(created)


def _add_deliveries(session: Session, created: list[tuple[int, int]], now: datetime) -> None:
    config = _channels
    if not created or not (config.email or config.webhook_url):
        return
    emails: dict[int, str | None] = {}
    if config.email:
        user_ids = {user_id for _, user_id in created}
        emails = {row.id: row.email for row in session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))}
    deliveries = []
    for notification_id, user_id in created:
        if emails.get(user_id):
            deliveries.append({"notification_id": notification_id, "channel": "email", "address": emails[user_id]})
        if config.webhook_url:
            deliveries.append({"notification_id": notification_id, "channel": "webhook",
                               "address": config.webhook_url})
    if deliveries:
        session.execute(NotificationDelivery.__table__.insert(),
                        [{**d, "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                         for d in deliveries])


def agency_people(session: Session, agency_ids: Iterable[int]) -> list[int]:
    """The active officers and supervisors of these agencies (who see their inboxes)."""
    ids = set(agency_ids)
    if not ids:
        return []
    return list(session.scalars(select(User.id).where(User.agency_id.in_(ids), User.active.is_(True),
                                                      User.role.in_(("officer", "supervisor")))))


# ---------------------------------------------------------------------------------------------
# Escalations (called by workflows/escalations.py inside its transaction)


def _escalation_targets(session: Session, escalation: Escalation) -> list[int]:
    if escalation.target_agency_id is not None:
        return agency_people(session, [escalation.target_agency_id])
    desks = session.scalars(select(Agency.id).where(Agency.region_id == escalation.case.region_id,
                                                    Agency.role.in_(LEADER_DESKS)))
    return agency_people(session, desks)


def _escalation_raisers(session: Session, escalation: Escalation) -> list[int]:
    if escalation.raised_by_id is not None:
        return [escalation.raised_by_id]
    if escalation.raised_by_agency_id is not None:
        return agency_people(session, [escalation.raised_by_agency_id])
    return []


def escalation_raised(session: Session, escalation: Escalation, now: datetime) -> None:
    case = escalation.case
    who = "系统自动" if escalation.automatic else ""
    draft = Draft("escalated", f"escalated:{escalation.id}",
                  f"{who}{escalation.level_label}：{case.code} {case.project_name}"[:200],
                  f"督办事由：{escalation.reason}\n请及时签阅并答复。", case_id=case.id,
                  task_id=escalation.task_id, escalation_id=escalation.id)
    targets = _escalation_targets(session, escalation)
    drafts = [(draft, targets)]
    if escalation.target_agency_id is not None and case.responsible_leader:
        # The 催办通知书 is copied to the case's 包保领导, whom the county's 安居办 and government office
        # serve: they see it too, marked as a copy.
        copy = Draft("escalated", f"copied:{escalation.id}",
                     f"抄送：{who}{escalation.level_label}{escalation.target_label}：{case.code} {case.project_name}"[:200],
                     f"抄送包保领导{case.responsible_leader}。督办事由：{escalation.reason}", case_id=case.id,
                     task_id=escalation.task_id, escalation_id=escalation.id)
        desks = session.scalars(select(Agency.id).where(Agency.region_id == case.region_id,
                                                        Agency.role.in_(LEADER_DESKS)))
        drafts.append((copy, [u for u in agency_people(session, desks) if u not in targets]))
    notify(session, drafts, now=now)


def escalation_acknowledged(session: Session, escalation: Escalation, reader: User, now: datetime) -> None:
    case = escalation.case
    draft = Draft("acknowledged", f"acknowledged:{escalation.id}",
                  f"{escalation.level_label}已阅：{case.code} {case.project_name}"[:200],
                  f"{reader.display_name}（{reader.agency.name}）已阅。", case_id=case.id,
                  escalation_id=escalation.id)
    notify(session, [(draft, _escalation_raisers(session, escalation))], now=now)


def escalation_answered(session: Session, escalation: Escalation, responder: User, now: datetime) -> None:
    case = escalation.case
    draft = Draft("answered", f"answered:{escalation.id}",
                  f"{escalation.level_label}已答复：{case.code} {case.project_name}"[:200],
                  f"{responder.display_name}（{responder.agency.name}）答复：{escalation.response or ''}",
                  case_id=case.id, escalation_id=escalation.id)
    notify(session, [(draft, _escalation_raisers(session, escalation))], now=now)


# ---------------------------------------------------------------------------------------------
# Tasks (the worker pass)


@dataclass
class TaskNotices:
    assigned: int = 0
    due_soon: int = 0
    overdue: int = 0


def _china(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _task_drafts(session: Session, where: Any, make: Callable[[Task, Case], Draft]) -> int:
    written = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(Task, Case).join(Case, Case.id == Task.case_id)
            .where(Task.status == "ready", where, Task.id > last_id).order_by(Task.id).limit(BATCH)).all()
        if not rows:
            return written
        last_id = rows[-1][0].id
        people: dict[int, list[int]] = {}
        agency_ids = {task.agency_id for task, _ in rows if task.assignee_id is None}
        for user_id, agency_id in session.execute(
                select(User.id, User.agency_id).where(User.agency_id.in_(agency_ids), User.active.is_(True),
                                                      User.role.in_(("officer", "supervisor")))):
            people.setdefault(agency_id, []).append(user_id)
        drafts = [(make(task, case), [task.assignee_id] if task.assignee_id else people.get(task.agency_id, []))
                  for task, case in rows]
        written += notify(session, drafts)


_NOTIFY_MARK = "notify_tasks"
# How far back a worker that was down catches up on task notices: beyond this, a notice of a task
# opened or overdue so long ago says nothing the inbox does not.
CATCH_UP_LIMIT = timedelta(days=30)


@mutation
def notify_tasks(session: Session, now: datetime, *, soon: timedelta = timedelta(days=2),
                 lookback: timedelta = timedelta(days=3)) -> TaskNotices:
    """Notify the holders of open tasks that opened, fall due soon, or went overdue within the window.

    The window starts `lookback` before `now`, or earlier, where the last pass left off, when the
    worker was down longer (a week's holiday, say), but never more than CATCH_UP_LIMIT back; the very
    first pass looks back `lookback` only, so a new deployment does not announce months-old tasks.
    Each window is an index range on tasks, so the cost follows the tasks in it, not all open tasks.
    One write transaction (its lock taken before the reads, so two workers at once take turns: Busy
    when the wait runs out, and the next pass does it); notices are idempotent per person and key.
    """
    since = now - lookback
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    first = session.execute(insert(JobMark).values(name=_NOTIFY_MARK, done_through=now)
                            .on_conflict_do_nothing(index_elements=["name"])).rowcount == 1
    # Locked: a second worker at the same moment waits here and then starts where this one ends.
    mark = session.execute(select(JobMark).where(JobMark.name == _NOTIFY_MARK).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()
    if not first and mark.done_through < since:
        since = max(mark.done_through, now - CATCH_UP_LIMIT)
    done = TaskNotices()
    done.assigned = _task_drafts(
        session, and_(Task.created_at > since, Task.created_at <= now),
        lambda t, c: Draft("assigned", f"assigned:{t.id}", f"新任务：{t.name}（{c.code}）"[:200],
                           f"案件 {c.code} {c.project_name}" + (f"，办理时限 {_china(t.due_at)}" if t.due_at else ""),
                           case_id=c.id, task_id=t.id))
    done.due_soon = _task_drafts(
        session, and_(Task.due_at > now, Task.due_at <= now + soon),
        lambda t, c: Draft("due_soon", f"due_soon:{t.id}", f"即将到期：{t.name}（{c.code}）"[:200],
                           f"办理时限 {_china(t.due_at)}，请抓紧办理。", case_id=c.id, task_id=t.id))
    done.overdue = _task_drafts(
        session, and_(Task.due_at > since, Task.due_at <= now),
        lambda t, c: Draft("overdue", f"overdue:{t.id}", f"已逾期：{t.name}（{c.code}）"[:200],
                           f"办理时限 {_china(t.due_at)} 已过，请尽快办理或申请延期。", case_id=c.id, task_id=t.id))
    if mark.done_through < now:  # a pass for an earlier moment (a re-run) does not move it back
        mark.done_through = now
    return done


# ---------------------------------------------------------------------------------------------
# The notification centre


def unread_count(session: Session, actor: User) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == actor.id, Notification.read_at.is_(None))) or 0


def notification_page(session: Session, actor: User, *, unread_only: bool = False, limit: int = 20,
                      offset: int = 0) -> inputs.Page[Notification]:
    """The actor's notifications, newest first. Only ever their own."""
    limit, offset = inputs.page_bounds(limit, offset)
    where = [Notification.user_id == actor.id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    items = list(session.scalars(select(Notification).where(*where).order_by(Notification.id.desc())
                                 .limit(limit).offset(offset)))
    total = session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    return inputs.Page(items, total, limit, offset)


def own_notification(session: Session, actor: User, notification_id: int) -> Notification | None:
    """One of the actor's notifications; another's, or an unknown id, is None."""
    if not inputs.valid_id(notification_id):
        return None
    note = session.get(Notification, notification_id)
    return note if note is not None and note.user_id == actor.id else None


@mutation
def mark_read(session: Session, actor: User, ids: list[Any] | None = None, *, now: datetime | None = None) -> int:
    """Mark the actor's notifications read: the given ids (others' ids are ignored, never an error that
    would tell they exist), or all when `ids` is None. Returns how many changed."""
    now = now or clock.now()
    where = [Notification.user_id == actor.id, Notification.read_at.is_(None)]
    if ids is not None:
        if not isinstance(ids, list) or len(ids) > 1000:
            inputs.refuse("ids", "通知编号", "应为不超过 1000 个编号的列表")
        valid = [i for i in ids if isinstance(i, int) and not isinstance(i, bool) and inputs.valid_id(i)]
        if len(valid) != len(ids):
            inputs.refuse("ids", "通知编号", "应为正整数")
        where.append(Notification.id.in_(valid))
    result = session.execute(update(Notification).where(*where).values(read_at=now)
                             .execution_options(synchronize_session=False))
    return result.rowcount


# ---------------------------------------------------------------------------------------------
# Delivery (the worker pass)


@dataclass
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


Sender = Callable[[NotificationDelivery, Notification, Channels], None]


def _send_email(delivery: NotificationDelivery, notification: Notification, config: Channels) -> None:
    message = EmailMessage()
    message["Subject"] = notification.title
    message["From"] = config.smtp_sender
    message["To"] = delivery.address
    message.set_content(f"{notification.body}\n\n（{notification.kind_label}，{_china(notification.created_at)}）")
    with smtplib.SMTP(config.smtp_host or "", config.smtp_port, timeout=config.timeout_seconds) as smtp:
        if config.smtp_starttls:
            smtp.starttls()
        if config.smtp_username:
            smtp.login(config.smtp_username, config.smtp_password or "")
        smtp.send_message(message)


def _post_webhook(delivery: NotificationDelivery, notification: Notification, config: Channels) -> None:
    body = json.dumps({
        "id": notification.id, "kind": notification.kind, "kind_label": notification.kind_label,
        "user_id": notification.user_id, "title": notification.title, "body": notification.body,
        "case_id": notification.case_id, "task_id": notification.task_id,
        "escalation_id": notification.escalation_id, "created_at": notification.created_at.isoformat(),
    }, ensure_ascii=False).encode()
    request = urllib.request.Request(delivery.address, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=config.timeout_seconds) as response:  # noqa: S310 - configured URL
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


SENDERS: dict[str, Sender] = {"email": _send_email, "webhook": _post_webhook}


@mutation
def _claim(session: Session, now: datetime, limit: int) -> list[int]:
    """Take up to `limit` due deliveries: each is claimed by a conditional update pushing its next attempt
    past the lease, so of two workers only one wins each row (on SQLite the write lock, taken first,
    makes them take turns)."""
    due = [NotificationDelivery.status == "pending",
           or_(NotificationDelivery.next_attempt_at.is_(None), NotificationDelivery.next_attempt_at <= now)]
    candidates = list(session.scalars(select(NotificationDelivery.id).where(*due)
                                      .order_by(NotificationDelivery.next_attempt_at, NotificationDelivery.id)
                                      .limit(limit)))
    claimed = []
    for delivery_id in candidates:
        result = session.execute(update(NotificationDelivery)
                                 .where(NotificationDelivery.id == delivery_id, *due)
                                 .values(next_attempt_at=now + LEASE)
                                 .execution_options(synchronize_session=False))
        if result.rowcount:
            claimed.append(delivery_id)
    return claimed


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    return f"{type(error).__name__}: {error}"[:2000]


def deliver_due(session: Session, now: datetime | None = None, *, limit: int = BATCH,
                senders: dict[str, Sender] | None = None) -> DeliveryRun:
    """Send the due deliveries (outside any open transaction: a slow mail server holds no lock), then
    record each attempt; a failure is retried with a growing wait until `max_attempts`, then marked
    failed. One delivery failing never stops the others."""
    now = now or clock.now()
    config = _channels
    senders = senders or SENDERS
    run = DeliveryRun()
    session.rollback()
    try:
        claimed = _claim(session, now, limit)
    except Busy:  # another worker holds the write lock past the wait: the next pass sends them
        return run
    for delivery_id in claimed:
        delivery = session.get(NotificationDelivery, delivery_id, populate_existing=True)
        notification = delivery.notification
        error: BaseException | None = None
        session.rollback()  # nothing held while the network is slow
        try:
            senders[delivery.channel](delivery, notification, config)
        except Exception as exc:  # noqa: BLE001 - recorded per delivery; the others go on
            error = exc
        outcome = _record_attempt(session, delivery_id, error, now, config.max_attempts)
        if outcome == "sent":
            run.sent += 1
        elif outcome == "failed":
            run.failed += 1
            run.errors.append(f"#{delivery_id} {_describe(error)}")
        else:
            run.retrying += 1
    return run


@mutation
def _record_attempt(session: Session, delivery_id: int, error: BaseException | None, now: datetime,
                    max_attempts: int) -> str:
    """Record one try and what follows from it: "sent", "failed" (no tries left) or "retry"."""
    delivery = session.get(NotificationDelivery, delivery_id, populate_existing=True)
    attempts = delivery.attempts + 1
    detail = "OK" if error is None else _describe(error)
    session.add(DeliveryAttempt(delivery_id=delivery_id, at=now, ok=error is None, detail=detail))
    delivery.attempts = attempts
    if error is None:
        delivery.status, delivery.sent_at, delivery.next_attempt_at, delivery.last_error = "sent", now, None, None
        return "sent"
    if attempts >= max_attempts:
        delivery.status, delivery.next_attempt_at, delivery.last_error = "failed", None, detail
        return "failed"
    delivery.next_attempt_at = now + min(FIRST_RETRY * 2 ** (attempts - 1), MAX_RETRY)
    delivery.last_error = detail
    return "retry"
