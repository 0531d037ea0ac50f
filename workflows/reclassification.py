"""Changing a running case's category (改变类别).

The move is modelled in `bpmn/case_lifecycle.bpmn`: every category call activity carries an
interrupting boundary signal "reclassify" that leads back into the category split. This module only
delivers the signal with the new category, so the engine cancels the running category process (its
open tasks become cancelled rows, still visible for audit) and opens the new category's first task;
history reads as one story. The attempt that ends is recorded on the case, since seed 001 defines a
死结 (category 9) by what was tried before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from models import CATEGORIES, Case, CaseEvent, ProcessInstance, ProcessVersion, Task, User

from . import history, inputs, instances, permissions, processes
from .engine import clock, runtime
from .engine.evaluator import CHINA
from .engine.specs import LIFECYCLE_PROCESS
from .errors import Conflict, Invalid, NotFound
from .transactions import mutation

REASON_MAX = 1000

# The version's hash by subquery, not join: see tasks._VERSION_HASH (a concurrent migration).
_LOCKED = (select(Case, ProcessInstance,
                  select(ProcessVersion.content_hash).where(ProcessVersion.id == ProcessInstance.version_id)
                  .scalar_subquery())
           .join(ProcessInstance, ProcessInstance.case_id == Case.id)
           .where(Case.id == bindparam("case_id"))
           .with_for_update(of=[Case.__table__, ProcessInstance.__table__])
           .execution_options(populate_existing=True))


@dataclass(frozen=True)
class Reclassification:
    case: Case
    attempt: dict[str, Any]
    opened: list[dict[str, Any]]
    cancelled: list[dict[str, Any]]


def _category(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 1:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value not in CATEGORIES:
        raise Invalid("新类别：应为 1–9", errors={"category": ["新类别：应为 1–9"]})
    return value


def _category_since(session: Session, case: Case) -> datetime | None:
    """When the current category took effect: the last reclassification, else the classification."""
    changed = session.scalar(select(func.max(CaseEvent.at)).where(CaseEvent.case_id == case.id,
                                                                 CaseEvent.kind == "case_reclassified"))
    classified = session.scalar(select(func.max(Task.completed_at)).where(
        Task.case_id == case.id, Task.bpmn_id == "classify", Task.status == "completed"))
    known = [t for t in (changed, classified) if t is not None]
    return max(known) if known else None


@mutation
def reclassify(session: Session, actor: User, case_id: int, category: Any, reason: Any, *,
               now: datetime | None = None) -> Reclassification:
    """Move a running case to another category.

    Permission: a city or province supervisor whose jurisdiction covers the case (others: the case
    does not exist for them, or Forbidden). Requires a reason. Refused (Conflict) when the case is
    not in its category stage (before classification, in verification, closed).
    Side effects, one transaction: the category process is cancelled with its open tasks, the new
    category's first task opens, the case's category and attempts change, history says who and why.
    """
    now = now or clock.now()
    if not inputs.valid_id(case_id):
        raise NotFound("案件不存在")
    new_category = _category(category)
    reason = inputs.clean_text(reason, field="reason", label="改类理由", max_length=REASON_MAX, multiline=True)
    if not reason:
        raise Invalid("改类理由：必填", errors={"reason": ["改类理由：必填"]})
    row = session.execute(_LOCKED, {"case_id": case_id}).one_or_none()
    if row is None or not permissions.can_view_case(actor, row[0]):
        raise NotFound("案件不存在")
    case, instance, content_hash = row
    permissions.require_reclassifier(actor, case)
    old = case.category
    if new_category == old:
        raise Invalid(f"案件已是第{old}类，无需改变", errors={"category": [f"新类别：案件已是第{old}类"]})
    bundle = processes.bundle_of(session, instance.version_id, content_hash)
    with instances.engine_work(case, actor), clock.frozen_at(now):
        workflow = runtime.load(instance.state, bundle)
        try:
            step = runtime.signal(workflow, "reclassify", {"category": str(new_category)})
        except LookupError:
            raise Conflict("案件当前不在按类别办理阶段（尚未分类认定，或已进入核验、销号），不能改变类别") from None

    since = _category_since(session, case)
    days = (now - since).days if since else None
    attempt = {"category": old, "label": CATEGORIES[old], "since": since.isoformat() if since else None,
               "until": now.isoformat(), "days": days, "reason": reason, "by": history.actor_label(actor),
               "to": new_category}
    case.attempts = [*(case.attempts or []), attempt]
    case.category = new_category
    case.updated_at = now
    tried = "；".join(f"第{a['category']}类（{a['label']}）" + (f"{a['days']} 天" if a.get("days") is not None
                                                             else "") for a in case.attempts)
    summary = (f"{history.actor_label(actor)}将案件由第{old}类（{CATEGORIES[old]}）改为第{new_category}类"
               f"（{CATEGORIES[new_category]}），理由：{reason}")
    if new_category == 9:
        summary += f"。此前尝试：{tried}"
    history.record(session, case, "case_reclassified", summary, actor=actor, at=now,
                   data={"from": old, "to": new_category, "reason": reason, "attempt": attempt})
    instances.record_fired_timers(session, case, step.fired, now=now, during="改变类别")
    moved = instances.project(session, case, instance, workflow, bundle, actor=actor, now=now,
                              before=step.open_before, cancel_reason="改变类别")
    instances.save_state(session, instance, workflow, now)
    return Reclassification(case, attempt, moved["opened"], moved["cancelled"])


@dataclass(frozen=True)
class ProcessStage:
    process_id: str
    name: str
    started_at: datetime
    ended_at: datetime | None
    status: str  # running / completed / cancelled

    @property
    def status_label(self) -> str:
        return {"running": "办理中", "completed": "已办结", "cancelled": "已撤销"}[self.status]

    def describe(self) -> str:
        start = self.started_at.astimezone(CHINA).strftime("%Y-%m-%d")
        end = self.ended_at.astimezone(CHINA).strftime("%Y-%m-%d") if self.ended_at else "至今"
        return f"{self.name}（{start} – {end}，{self.status_label}）"


def case_processes(session: Session, actor: User, case_id: int) -> list[ProcessStage]:
    """The processes a case has gone through, in order, from its task projection: what a case page
    shows as "where it stands" (a reclassified case lists the abandoned category process too)."""
    if not inputs.valid_id(case_id):
        raise NotFound("案件不存在")
    case = session.get(Case, case_id)
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("案件不存在")
    version_id, content_hash = session.execute(
        select(ProcessVersion.id, ProcessVersion.content_hash).join(
            ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
        .where(ProcessInstance.case_id == case_id)).one()
    names = processes.bundle_of(session, version_id, content_hash).process_names
    stages: dict[str, dict[str, Any]] = {}
    for process_id, status, created_at, completed_at in session.execute(
            select(Task.process_id, Task.status, Task.created_at, Task.completed_at)
            .where(Task.case_id == case_id).order_by(Task.id)):
        stage = stages.setdefault(process_id, {"start": created_at, "end": None, "statuses": []})
        stage["statuses"].append(status)
        stage["end"] = max(filter(None, (stage["end"], completed_at)), default=None)
    out = []
    for process_id, stage in stages.items():
        statuses = stage["statuses"]
        if "ready" in statuses or (process_id == LIFECYCLE_PROCESS and case.status != "closed"):
            status = "running"  # the lifecycle runs while any category process it called runs
        else:
            status = "cancelled" if statuses[-1] == "cancelled" else "completed"
        out.append(ProcessStage(process_id, names.get(process_id, process_id), stage["start"],
                                None if status == "running" else stage["end"], status))
    return out
