"""Keeping the database in step with the engine after every move of a case's workflow.

Starting a case, completing a task and firing timers all end here: `project` opens and cancels rows
of the task projection (routing each new task to the county's agency for its lane) and writes the
history of those changes; `save_state` stores the serialized workflow. Neither commits: the calling
service owns the transaction. This is the hot path, so it costs at most one statement per kind of
change (one SELECT of agencies, one multi-row INSERT of tasks, one UPDATE for cancellations, one
read of the working-day calendar when an opening task declares an SLA: workflows/sla.py) and nothing
when there is nothing to change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from models import AGENCY_ROLES, CASE_STATUSES, Agency, Case, ProcessInstance, Task, User

from . import history, sla
from .engine import routing, runtime
from .engine.evaluator import CHINA
from .engine.specs import Bundle
from .errors import Conflict, ProcessError


@contextmanager
def engine_work(case: Case, actor: User | None) -> Iterator[None]:
    """Attach the case (and who acted) to an engine failure so it is recorded against the case."""
    try:
        yield
    except ProcessError as exc:
        exc.case_id = case.id
        exc.actor_id = actor.id if actor is not None else None
        raise


def _region_chain(case: Case) -> list[int]:
    """Ids of the case's place and every place above it, nearest first (from the materialised path)."""
    return [int(part) for part in reversed(case.region.path.strip("/").split("/"))]


# Built once: building a statement costs more than running it on this path (see tasks._LOAD).
_AGENCIES = (select(Agency.id, Agency.region_id, Agency.role, Agency.name)
             .where(Agency.region_id.in_(bindparam("regions", expanding=True)),
                    Agency.role.in_(bindparam("roles", expanding=True))))


# Core on the connection: the ORM's bulk-insert path costs more than the multi-row INSERT itself.
_INSERT_TASKS = insert(Task.__table__).returning(Task.__table__.c.id, sort_by_parameter_order=True)


def _resolve_agencies(session: Session, case: Case, lanes: set[str]) -> dict[str, tuple[int, str, bool]]:
    """Lane key (routing.Lane.key) -> (agency id, agency name, fell_back). A county lane falls back to
    the level above when the county has no such agency; a "parent" lane starts at the level above."""
    chain = _region_chain(case)
    wanted = {lane: routing.resolve(lane) for lane in lanes}
    roles = {role for role, _ in wanted.values()}
    found = {(region_id, role): (agency_id, name) for agency_id, region_id, role, name in
             session.connection().execute(_AGENCIES, {"regions": chain, "roles": sorted(roles)})}
    out: dict[str, tuple[int, str, bool]] = {}
    for lane, (role, level) in wanted.items():
        start = 0 if level == routing.DEFAULT_LEVEL else 1
        for depth, region_id in enumerate(chain[start:]):
            hit = found.get((region_id, role))
            if hit is not None:
                out[lane] = (hit[0], hit[1], depth > 0)
                break
        else:
            # Named by the role's label (as in the agency roster), not the lane's free-text name.
            raise Conflict(f"{case.region.name}及其上级没有“{AGENCY_ROLES[role]}”部门，任务无法分派；"
                           "请管理员先补录该部门")
    return out


def record_fired_timers(session: Session, case: Case, fired: list[runtime.FiredTimer], *, now: datetime,
                        during: str | None = None) -> None:
    """One `timer_fired` event per timer, attributed to the system even inside someone's action."""
    for timer in fired:
        due = timer.due_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if timer.due_at else "已到"
        context = f"（于{during}时检测到）" if during else ""
        history.record(session, case, "timer_fired",
                       f"时限「{timer.name}」到期（{due}），流程按规定转入后续步骤{context}", actor=None, at=now,
                       data={"timer": timer.name, "due_at": timer.due_at.isoformat() if timer.due_at else None})


def _route_key(ready: runtime.ReadyTask, routed: dict[str, tuple[int, str]] | None) -> str:
    return ready.uuid if routed and ready.uuid in routed else ready.lane


def _row_name(ready: runtime.ReadyTask) -> str:
    """A signer's instance of a 会签/或签 task is named with the signing role: 「…（住建）」."""
    if ready.signer is None:
        return ready.meta.name
    return f"{ready.meta.name}（{routing.default_label(ready.signer)}）"[:200]


def project(session: Session, case: Case, instance: ProcessInstance, workflow: Any, bundle: Bundle, *,
            actor: User | None, now: datetime, before: set[str], done: str | None = None,
            cancel_reason: str = "流程变化", routed: dict[str, tuple[int, str]] | None = None,
            ) -> dict[str, list[dict[str, Any]]]:
    """Bring the task projection in line with `workflow`.

    `before` is the set of user tasks that were open before this move (the projection's ready rows,
    by construction), `done` the one this move completed. `routed` sends named new tasks (by engine
    id) to a given agency (id, name) instead of their lane's: a task reopened by 退回 or 撤回 goes back
    to the agency that did it. Returns what opened and what was cancelled.
    """
    ready = runtime.ready_user_tasks(workflow, bundle)
    ready_ids = {r.uuid for r in ready}
    opened: list[dict[str, Any]] = []
    cancelled: list[dict[str, Any]] = []

    gone = sorted(before - ready_ids - ({done} if done else set()))
    if gone:
        rows = session.execute(
            update(Task).where(Task.instance_id == instance.id, Task.spiff_task_id.in_(gone),
                               Task.status == "ready")
            .values(status="cancelled", completed_at=now, version=Task.version + 1)
            .returning(Task.id, Task.name, Task.bpmn_id)
            .execution_options(synchronize_session=False)).all()
        for task_id, name, bpmn_id in rows:
            cancelled.append({"task_id": task_id, "bpmn_id": bpmn_id, "name": name})
            history.record(session, case, "task_cancelled", f"任务「{name}」因{cancel_reason}撤销", actor=actor,
                           task=task_id, at=now, data={"bpmn_id": bpmn_id})

    new = [r for r in ready if r.uuid not in before]
    if new:
        lanes = {r.lane for r in new if not routed or r.uuid not in routed}
        routes = _resolve_agencies(session, case, lanes) if lanes else {}
        for uuid, (agency_id, agency_name) in (routed or {}).items():
            routes[uuid] = (agency_id, agency_name, False)
        dues = sla.opening_dues(session, now, new)  # the earlier of timer and SLA; no statement without SLAs
        values = [{"case_id": case.id, "region_id": case.region_id, "instance_id": instance.id,
                   "spiff_task_id": r.uuid, "process_id": r.process_id, "bpmn_id": r.meta.bpmn_id,
                   "name": _row_name(r), "lane": r.lane, "agency_id": routes[_route_key(r, routed)][0],
                   "status": "ready", "created_at": now, "due_at": dues[r.uuid].due_at, "version": 1}
                  for r in new]
        ids = session.connection().execute(_INSERT_TASKS, values).scalars().all()
        for r, task_id in zip(new, ids, strict=True):
            agency_id, agency_name, fell_back = routes[_route_key(r, routed)]
            name = _row_name(r)
            opened.append({"task_id": task_id, "bpmn_id": r.meta.bpmn_id, "name": name,
                           "agency": agency_name, "agency_id": agency_id})
            due = dues[r.uuid]
            history.record(session, case, "task_opened", f"任务「{name}」下达至{agency_name}{due.summary()}",
                           actor=actor, task=task_id, at=now,
                           data={"bpmn_id": r.meta.bpmn_id, "process_id": r.process_id, "lane": r.lane,
                                 "agency_id": agency_id, **due.data(),
                                 **({"signer": r.signer} if r.signer else {})})
            if fell_back:
                history.record(session, case, "lane_fallback",
                               f"{case.region.name}没有“{r.meta.lane_label if r.signer is None else routing.default_label(r.signer)}”"
                               f"部门，任务「{name}」"
                               f"由上级{agency_name}承办",
                               actor=actor, task=task_id, at=now,
                               data={"lane": r.lane, "agency_id": agency_id})
            status = r.meta.properties.get("case_status")
            if status and status != case.status:
                history.record(session, case, "status_changed",
                               f"案件状态变更：{CASE_STATUSES.get(case.status, case.status)} → "
                               f"{CASE_STATUSES.get(status, status)}",
                               actor=actor, at=now, data={"from": case.status, "to": status})
                case.status = status
                case.updated_at = now

    # `updated_at` is when the case's own fields last changed; its activity is in its history.
    if workflow.completed and case.status != "closed":
        history.record(session, case, "status_changed", "案件已销号", actor=actor, at=now,
                       data={"from": case.status, "to": "closed"})
        case.status = "closed"
        case.closed_at = case.updated_at = now
    return {"opened": opened, "cancelled": cancelled}


def state_values(workflow: Any, now: datetime) -> dict[str, Any]:
    """The columns of a process instance that follow from its workflow."""
    return {"state": runtime.dump(workflow), "serializer_version": runtime.SERIALIZER_VERSION,
            "completed": workflow.completed,
            "next_timer_at": None if workflow.completed else runtime.next_timer(workflow),
            "updated_at": now}


_SAVE_STATE = (update(ProcessInstance.__table__)
               .where(ProcessInstance.id == bindparam("instance_id"),
                      ProcessInstance.version == bindparam("old_version"))
               .values(state=bindparam("state"), serializer_version=bindparam("serializer_version"),
                       completed=bindparam("completed"),
                       next_timer_at=bindparam("next_timer_at", type_=ProcessInstance.__table__.c.next_timer_at.type),
                       updated_at=bindparam("updated_at", type_=ProcessInstance.__table__.c.updated_at.type),
                       version=bindparam("new_version")))


def save_state(session: Session, instance: ProcessInstance, workflow: Any, now: datetime) -> None:
    """Store the workflow with one prebuilt, version-checked UPDATE (the ORM's unit of work costs more
    than the statement on this path); the loaded object is updated without being marked dirty."""
    values = {**state_values(workflow, now), "version": instance.version + 1}
    stored = session.connection().execute(_SAVE_STATE, {
        **values, "instance_id": instance.id, "old_version": instance.version, "new_version": values["version"]})
    if stored.rowcount != 1:
        raise Conflict("数据已被他人修改，请刷新后重试")
    for key, value in values.items():
        set_committed_value(instance, key, value)
