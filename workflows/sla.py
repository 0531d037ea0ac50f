"""办理时限: a user task's time limit in working days, declared in its BPMN file (sla_workdays).

When a task opens its due date is the earlier of its BPMN timer (a policy deadline) and the end of
its SLA counted on China's working-day calendar (workflows/workdays.py) from the moment it opened.
Which one applied, the SLA's own due date and whether that date is provisional (it counts days of a
year whose holiday schedule is not yet published) are written into the task_opened history event,
which is where the form reads them back: the task row keeps only the due date that applies.
Changing an SLA is deploying a new process version; tasks already open keep the date they got.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CaseEvent, Task

from . import workdays
from .engine.evaluator import CHINA
from .engine.runtime import ReadyTask
from .engine.specs import TaskMeta


def provisional_note(years: Iterable[int]) -> str:
    """"（暂定：2027年节假日安排未公布）": said wherever a provisional due date is shown."""
    return f"（暂定：{'、'.join(str(y) for y in years)}年节假日安排未公布）"


@dataclass(frozen=True)
class OpeningDue:
    """A task's due date as it opens: `source` is "sla", "timer" or None (no limit at all); `sla` the
    count of its SLA in working days when it declares one, and `deadline` where that count ends."""

    due_at: datetime | None
    source: str | None
    sla: int | None = None
    deadline: workdays.Deadline | None = None

    @property
    def provisional(self) -> bool:
        """The date that applies is the SLA's and counts days of an unpublished year."""
        return self.source == "sla" and self.deadline is not None and self.deadline.provisional

    def summary(self) -> str:
        """What task_opened's summary says after the agency: "，办理时限 2025-10-13 23:59（5 个工作日）"."""
        if self.due_at is None:
            return ""
        said = f"，办理时限 {self.due_at.astimezone(CHINA).strftime('%Y-%m-%d %H:%M')}"
        if self.source == "sla":
            said += f"（{self.sla} 个工作日）"
            if self.provisional:
                said += provisional_note(self.deadline.uncovered_years)
        elif self.sla is not None:
            said += f"（流程时限，早于 {self.sla} 个工作日的办理时限）"
        return said

    def data(self) -> dict[str, Any]:
        """task_opened's data about the due date (the event always had "due_at")."""
        out: dict[str, Any] = {"due_at": self.due_at.isoformat() if self.due_at else None,
                               "due_source": self.source}
        if self.sla is not None and self.deadline is not None:
            out["sla_workdays"] = self.sla
            out["sla_due_at"] = self.deadline.due_at.isoformat()
            if self.deadline.provisional:
                out["sla_uncovered_years"] = list(self.deadline.uncovered_years)
        if self.provisional:
            out["due_provisional"] = True
        return out


def opening_dues(session: Session, now: datetime, ready: list[ReadyTask]) -> dict[str, OpeningDue]:
    """The due date of each task opening at `now`, by its engine uuid. Reads the calendar with one
    statement for all of them together, and none when no task declares an SLA (the hot path)."""
    counts = {r.meta.sla_workdays for r in ready if r.meta.sla_workdays is not None}
    deadlines = workdays.add_workdays_each(session, now, counts) if counts else {}
    out: dict[str, OpeningDue] = {}
    for r in ready:
        n = r.meta.sla_workdays
        deadline = deadlines.get(n) if n is not None else None
        if deadline is not None and (r.due_at is None or deadline.due_at < r.due_at):
            out[r.uuid] = OpeningDue(deadline.due_at, "sla", n, deadline)
        else:
            # A policy deadline (a BPMN timer) at or before the SLA's end wins: it is the harder limit.
            out[r.uuid] = OpeningDue(r.due_at, "timer" if r.due_at else None, n, deadline)
    return out


@dataclass(frozen=True)
class TaskSla:
    """A task's SLA as its form shows it: "5 个工作日（至 2026-12-01）"."""

    workdays: int
    due_at: datetime | None  # where the count ended when the task opened (None: opened before SLAs)
    applied: bool  # the SLA set the task's due date (else an earlier BPMN timer did)
    provisional: bool
    uncovered_years: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        until = f"（至 {self.due_at.astimezone(CHINA).date().isoformat()}）" if self.due_at else ""
        note = provisional_note(self.uncovered_years) if self.provisional else ""
        return f"{self.workdays} 个工作日{until}{note}"


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def task_sla(session: Session, task: Task, meta: TaskMeta) -> TaskSla | None:
    """The SLA of `task` (whose process version's `meta` is given), with the due date it got when it
    opened; None when the task declares none. The caller has checked the reader may see the task.
    One statement (the task_opened event); none for a task without an SLA."""
    if meta.sla_workdays is None:
        return None
    data = session.scalar(select(CaseEvent.data).where(
        CaseEvent.case_id == task.case_id, CaseEvent.task_id == task.id, CaseEvent.kind == "task_opened")
        .order_by(CaseEvent.id.desc()).limit(1)) or {}
    years = data.get("sla_uncovered_years") or ()
    return TaskSla(workdays=meta.sla_workdays, due_at=_moment(data.get("sla_due_at")),
                   applied=data.get("due_source") == "sla", provisional=bool(years),
                   uncovered_years=tuple(int(y) for y in years))
