"""Keeping the database in step with the engine after every move of a case's workflow.

One function, `advance`, is shared by starting a case, completing a task and firing timers: it
persists the serialized state, opens and cancels rows of the task projection (routing each to the
county's agency for its lane), updates the case status and writes the history events. It never
commits: the calling service owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Agency, Case, ProcessInstance, Region, Task, User

from . import history
from .engine import runtime
from .engine.routing import LANES
from .engine.specs import Bundle
from .errors import Conflict


def _candidate_regions(case: Case) -> list[Region]:
    chain, region = [], case.region
    while region is not None:
        chain.append(region)
        region = region.parent
    return chain


def _resolve_agencies(session: Session, case: Case, lanes: set[str]) -> dict[str, tuple[Agency, bool]]:
    """Lane -> (agency, fell_back). A county lane falls back to the level above when the county has
    no such agency; a "市" lane starts at the level above."""
    chain = _candidate_regions(case)
    roles = {LANES[lane][0] for lane in lanes}
    agencies = {(a.region_id, a.role): a for a in session.scalars(
        select(Agency).where(Agency.region_id.in_([r.id for r in chain]), Agency.role.in_(roles)))}
    out: dict[str, tuple[Agency, bool]] = {}
    for lane in lanes:
        role, level = LANES[lane]
        start = 0 if level == "county" else 1
        for depth, region in enumerate(chain[start:]):
            agency = agencies.get((region.id, role))
            if agency is not None:
                out[lane] = (agency, depth > 0)
                break
        else:
            raise Conflict(f"{case.region.name}及其上级没有“{lane}”部门，任务无法分派；请管理员先补录该部门")
    return out


def advance(session: Session, case: Case, instance: ProcessInstance, workflow: Any, bundle: Bundle, *,
            actor: User | None, now: datetime, open_rows: list[Task] | None = None,
            exclude: Task | None = None) -> dict[str, list[dict[str, Any]]]:
    """Persist `workflow` for `instance` and project its user tasks; return what opened/cancelled."""
    ready = runtime.ready_user_tasks(workflow, bundle)
    if open_rows is None:
        open_rows = list(session.scalars(select(Task).where(Task.instance_id == instance.id,
                                                            Task.status == "ready")))
    open_by_uuid = {t.spiff_task_id: t for t in open_rows if t is not exclude}
    ready_ids = {r.uuid for r in ready}
    opened: list[dict[str, Any]] = []
    cancelled: list[dict[str, Any]] = []

    new = [r for r in ready if r.uuid not in open_by_uuid]
    if new:
        routes = _resolve_agencies(session, case, {r.meta.lane for r in new})
        rows = []
        for r in new:
            agency, fell_back = routes[r.meta.lane]
            rows.append((r, agency, fell_back, Task(
                case_id=case.id, instance_id=instance.id, spiff_task_id=r.uuid, process_id=r.process_id,
                bpmn_id=r.meta.bpmn_id, name=r.meta.name, lane=r.meta.lane, agency_id=agency.id,
                status="ready", created_at=now, due_at=r.due_at)))
        session.add_all([row for *_, row in rows])
        session.flush()  # one flush for all new rows: the history entries below need their ids
        for r, agency, fell_back, row in rows:
            opened.append({"task_id": row.id, "bpmn_id": r.meta.bpmn_id, "name": r.meta.name,
                           "agency": agency.name})
            due = f"，办理时限 {r.due_at.isoformat()}" if r.due_at else ""
            history.record(session, case, "task_opened", f"任务「{r.meta.name}」下达至{agency.name}{due}",
                           actor=actor, task=row, at=now,
                           data={"bpmn_id": r.meta.bpmn_id, "process_id": r.process_id, "lane": r.meta.lane,
                                 "agency_id": agency.id, "due_at": r.due_at.isoformat() if r.due_at else None})
            if fell_back:
                history.record(session, case, "lane_fallback",
                               f"{case.region.name}没有“{r.meta.lane}”部门，任务「{r.meta.name}」由上级{agency.name}承办",
                               actor=actor, task=row, at=now, data={"lane": r.meta.lane, "agency_id": agency.id})
            status = r.meta.properties.get("case_status")
            if status and status != case.status:
                history.record(session, case, "status_changed", f"案件状态变更：{case.status} → {status}",
                               actor=actor, at=now, data={"from": case.status, "to": status})
                case.status = status

    for uuid, row in open_by_uuid.items():
        if uuid not in ready_ids:
            row.status = "cancelled"
            row.completed_at = now
            cancelled.append({"task_id": row.id, "bpmn_id": row.bpmn_id, "name": row.name})
            history.record(session, case, "task_cancelled", f"任务「{row.name}」因流程变化撤销", actor=actor,
                           task=row, at=now, data={"bpmn_id": row.bpmn_id})

    instance.state = runtime.dump(workflow)
    instance.completed = workflow.completed
    instance.next_timer_at = None if workflow.completed else runtime.next_timer(workflow)
    instance.updated_at = now
    case.updated_at = now
    if workflow.completed and case.status != "closed":
        history.record(session, case, "status_changed", "案件已销号", actor=actor, at=now,
                       data={"from": case.status, "to": "closed"})
        case.status = "closed"
        case.closed_at = now
    return {"opened": opened, "cancelled": cancelled}
