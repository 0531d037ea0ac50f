"""The background worker's pass: fire due BPMN timers, then check SLAs and raise the automatic
escalations the policy calls for, then write the notifications of tasks new, due soon or overdue and
send those that go out by e-mail or webhook. One function, run by every way of scheduling it: `huiqian tick`
(once), `huiqian worker` and the demo (a loop in this process, no broker), and Celery beat on Redis
(workflows/celery_app.py) when the work is spread over machines. Running it twice at the same moment is
harmless: both halves do each item in its own transaction, checked again under a lock, and the database
refuses a second automatic escalation of a rung on a task.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from models import ESCALATION_LEVELS

from . import auto_escalation, away, history, notifications, timers
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Busy

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60


@dataclass
class PassResult:
    now: datetime
    timers: timers.TimerRun
    escalations: auto_escalation.EscalationRun
    notices: notifications.TaskNotices
    deliveries: notifications.DeliveryRun
    handed_over: int = 0  # tasks given to the colleagues of officers whose away period began (委托)

    def counts(self) -> dict[str, Any]:
        """The figures of the pass (what Celery returns and a log line shows)."""
        esc = self.escalations
        return {"now": self.now.isoformat(), "timers_fired": len(self.timers.fired),
                "timers_busy": len(self.timers.conflicts), "timers_failed": len(self.timers.failed),
                "escalations_raised": len(esc.raised),
                "escalations_by_level": dict(Counter(e["level"] for e in esc.raised)),
                "escalations_busy": len(esc.busy), "escalations_failed": len(esc.failed),
                # Raised by another worker between this one's check and its insert: done, not pending.
                "escalations_raced": len(esc.raced),
                "notified": {"assigned": self.notices.assigned, "due_soon": self.notices.due_soon,
                             "overdue": self.notices.overdue},
                "delivered": self.deliveries.sent, "delivery_retrying": self.deliveries.retrying,
                "delivery_failed": self.deliveries.failed, "handed_over": self.handed_over}

    def summary(self) -> str:
        """One Chinese line: "2026-10-01T09:00:00+08:00：触发 2 个案件的到期时限；自动督办 3 件（催办 2、督办 1）"."""
        c = self.counts()
        by_level = "、".join(f"{ESCALATION_LEVELS[k]} {v}" for k, v in sorted(
            c["escalations_by_level"].items(), key=lambda kv: list(ESCALATION_LEVELS).index(kv[0])))
        line = (f"{self.now.astimezone(CHINA).isoformat()}：触发 {c['timers_fired']} 个案件的到期时限；"
                f"自动督办 {c['escalations_raised']} 件" + (f"（{by_level}）" if by_level else ""))
        notified = sum(c["notified"].values())
        if notified:
            line += f"；通知 {notified} 条"
        if c["delivered"] or c["delivery_retrying"] or c["delivery_failed"]:
            line += f"；外发 {c['delivered']} 条" + (f"（{c['delivery_retrying']} 条待重试）" if c["delivery_retrying"] else "")
        if c["handed_over"]:
            line += f"；委托期间转交 {c['handed_over']} 项任务"
        busy = c["timers_busy"] + c["escalations_busy"]
        failed = c["timers_failed"] + c["escalations_failed"] + c["delivery_failed"]
        if busy:
            line += f"；{busy} 项正由他人处理，下次再办"
        if failed:
            line += f"；{failed} 项失败（已记录，下次重试）"
        return line


def run_pass(session: Session, now: datetime | None = None,
             policy: Any = auto_escalation.DEFAULT_POLICY) -> PassResult:
    """One pass at `now` (default: the clock): due timers first (a timer may open a task or end one),
    then the automatic escalations, then notifications of tasks new, due soon or overdue and their
    delivery. Items are committed one by one; the session is left clean."""
    now = now or clock.now()
    rules = auto_escalation.rules_of(policy)  # a bad policy is refused before anything is done
    fired = timers.fire_due_timers(session, now)
    try:  # before the notices, so the colleague standing in is the one notified
        handed_over = away.apply_due(session, now)
    except Busy:
        handed_over = 0
    raised = auto_escalation.escalate_overdue(session, now, rules)
    session.rollback()
    # Notices after the escalations (which notify their targets themselves), then what goes out by
    # e-mail or webhook; both are idempotent, so two workers at once notify and send once.
    try:
        notices = notifications.notify_tasks(session, now)
    except Busy:  # another worker is writing them right now; they are idempotent, the next pass goes on
        notices = notifications.TaskNotices()
    deliveries = notifications.deliver_due(session, now)
    session.rollback()
    return PassResult(now, fired, raised, notices, deliveries, handed_over)


def run_forever(sessions: sessionmaker[Session], *, interval: float = DEFAULT_INTERVAL_SECONDS,
                stop: threading.Event, policy: Any = auto_escalation.DEFAULT_POLICY,
                report: Callable[[PassResult], None] | None = None) -> int:
    """Run a pass every `interval` seconds until `stop` is set; return how many passes ran. A pass that
    fails as a whole (the database is down) is logged and the loop goes on: the next pass retries.
    Events are written with the channel "worker"."""
    rules = auto_escalation.rules_of(policy)
    passes = 0
    with history.origin("worker"):
        while not stop.is_set():
            try:
                with sessions() as session:
                    result = run_pass(session, policy=rules)
                passes += 1
                if report is not None:
                    report(result)
            except Exception:  # noqa: BLE001 - the worker outlives a bad pass; the next one retries
                log.exception("worker pass failed")
            stop.wait(interval)
    return passes


def start_thread(sessions: sessionmaker[Session], *, interval: float = DEFAULT_INTERVAL_SECONDS,
                 policy: Any = auto_escalation.DEFAULT_POLICY,
                 report: Callable[[PassResult], None] | None = None) -> tuple[threading.Thread, threading.Event]:
    """The embedded worker as a daemon thread next to a server (the demo): started at once, its first
    pass runs in the background so the server is not kept waiting. Set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, name="huiqian-worker", daemon=True,
                              kwargs={"sessions": sessions, "interval": interval, "stop": stop,
                                      "policy": auto_escalation.rules_of(policy), "report": report})
    thread.start()
    return thread, stop
