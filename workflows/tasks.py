"""Task inboxes and acting on tasks: claim, unclaim, complete with form data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, ProcessInstance, ProcessVersion, Region, Task, User

from . import forms, history, inputs, instances, permissions, processes
from .engine import clock, runtime
from .engine.specs import FormField, TaskMeta
from .errors import Conflict, Forbidden, Invalid, NotFound
from .transactions import mutation

INBOX_PAGE = 100


def _scoped(stmt: Any, actor: User) -> Any | None:
    """Restrict a task query to what the actor may work: an officer's agency; a supervisor's places."""
    if actor.role == "officer":
        return stmt.where(Task.agency_id == actor.agency_id)
    if actor.role == "supervisor":
        scope = permissions.jurisdiction(actor)
        return stmt.where(Task.region_id.in_(select(Region.id).where(Region.path.startswith(scope.path))))
    return None


def _page(stmt: Any, limit: int, offset: int) -> Any:
    return stmt.limit(max(1, min(int(limit), 1000))).offset(max(0, int(offset)))


def inbox(session: Session, actor: User, *, include_claimed_by_others: bool = True, limit: int = INBOX_PAGE,
          offset: int = 0) -> list[Task]:
    """Open tasks the actor may work, deadline first, one page at a time: an officer's agency's; a
    supervisor's whole jurisdiction.

    Answered from the task projection alone (no workflow is deserialized) along an index: tasks carry
    their case's place, so a supervisor's inbox needs no join.
    """
    stmt = _scoped(select(Task).where(Task.status == "ready")
                   .order_by(Task.due_at.asc().nulls_last(), Task.id), actor)
    if stmt is None:
        return []
    if not include_claimed_by_others:
        stmt = stmt.where((Task.assignee_id.is_(None)) | (Task.assignee_id == actor.id))
    return list(session.scalars(_page(stmt, limit, offset)))


def overdue(session: Session, actor: User, *, now: datetime | None = None, limit: int = INBOX_PAGE,
            offset: int = 0) -> list[Task]:
    """Open tasks past their deadline within the actor's reach, the longest overdue first."""
    now = now or clock.now()
    stmt = _scoped(select(Task).where(Task.status == "ready", Task.due_at < now)
                   .order_by(Task.due_at, Task.id), actor)
    return [] if stmt is None else list(session.scalars(_page(stmt, limit, offset)))


def _load(session: Session, actor: User, task_id: int, *, lock: bool = False,
          ) -> tuple[Task, Case, ProcessInstance | None, str | None]:
    """The task and its case (and, when locking, its process instance) in one statement.

    With `lock`, the case's process instance row is locked first (SELECT … FOR UPDATE on PostgreSQL;
    SQLite's write lock is already held by the transaction), so two moves of one case — parallel
    branches, a timer — serialize and each works from the other's result instead of a stale state.
    """
    if not inputs.valid_id(task_id):  # no such row can exist, and the driver would raise on the query
        raise NotFound("任务不存在")
    if lock:
        stmt = (select(Task, Case, ProcessInstance, ProcessVersion.content_hash).join(Case, Task.case_id == Case.id)
                .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
                .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id).where(Task.id == task_id)
                .with_for_update(of=[Task.__table__, Case.__table__, ProcessInstance.__table__])
                .execution_options(populate_existing=True))
    else:
        stmt = select(Task, Case).join(Case, Task.case_id == Case.id).where(Task.id == task_id)
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise NotFound("任务不存在")
    task, case = row[0], row[1]
    if not (permissions.can_act_on_task(actor, task, case) or permissions.can_view_case(actor, case)):
        raise NotFound("任务不存在")
    return task, case, (row[2] if lock else None), (row[3] if lock else None)


def get_task(session: Session, actor: User, task_id: int) -> Task:
    """A task the actor may act on or read (within jurisdiction); otherwise it does not exist."""
    return _load(session, actor, task_id)[0]


def task_meta(session: Session, task: Task) -> TaskMeta:
    """The task's definition (name, lane, form fields) in the process version its case runs under."""
    version_id, content_hash = session.execute(
        select(ProcessVersion.id, ProcessVersion.content_hash).join(
            ProcessInstance, ProcessInstance.version_id == ProcessVersion.id)
        .where(ProcessInstance.id == task.instance_id)).one()
    return processes.bundle_of(session, version_id, content_hash).task_meta(task.process_id, task.bpmn_id)


def task_fields(session: Session, task: Task) -> tuple[FormField, ...]:
    return task_meta(session, task).fields


def _require_actable(actor: User, task: Task, case: Case) -> None:
    if not permissions.can_act_on_task(actor, task, case):
        # Someone who may read but not act gets a clear refusal; others never learn it exists.
        if permissions.can_view_case(actor, case):
            raise Forbidden(f"该任务由{task.lane}部门办理，您无权办理")
        raise NotFound("任务不存在")
    if task.status != "ready":
        raise Conflict(f"任务「{task.name}」已{task.status_label}，不能再办理")


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and task.version != expected_version:
        raise Conflict("任务已被他人处理或修改，请刷新后重试")


@mutation
def claim(session: Session, actor: User, task_id: int, *, expected_version: int | None = None,
          now: datetime | None = None) -> Task:
    """Take a task for oneself. Permission: may act on the task. Side effects: assignee, history."""
    now = now or clock.now()
    task, case, _, _ = _load(session, actor, task_id)
    _require_actable(actor, task, case)
    _check_version(task, expected_version)
    if task.assignee_id == actor.id:
        return task
    if task.assignee_id is not None and actor.role != "supervisor":
        raise Conflict("任务已被他人认领")
    task.assignee_id = actor.id
    history.record(session, case, "task_claimed", f"{history.actor_label(actor)}认领任务「{task.name}」",
                   actor=actor, task=task, at=now)
    return task


@mutation
def unclaim(session: Session, actor: User, task_id: int, *, now: datetime | None = None) -> Task:
    """Give a claimed task back to the agency pool. Permission: the assignee or a supervisor."""
    now = now or clock.now()
    task, case, _, _ = _load(session, actor, task_id)
    _require_actable(actor, task, case)
    if task.assignee_id is None:
        raise Conflict("任务尚未被认领")
    if task.assignee_id != actor.id and actor.role != "supervisor":
        raise Conflict("只能退回自己认领的任务")
    task.assignee_id = None
    history.record(session, case, "task_unclaimed", f"{history.actor_label(actor)}退回任务「{task.name}」",
                   actor=actor, task=task, at=now)
    return task


_CASE_FIELD_LABELS = {"households_resettled": "累计已安置户数", "category": "解决类别",
                      "target_date": "目标完成日期", "responsible_leader": "包保领导"}


def _apply_case_fields(case: Case, fields: tuple[FormField, ...], cleaned: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in fields:
        if not field.case_field or field.key not in cleaned:
            continue
        value = cleaned[field.key]
        if field.case_field == "households_resettled" and value > case.households_overdue:
            raise Invalid(f"{field.label}不能超过逾期未安置户数 {case.households_overdue}",
                          errors={field.key: [f"{field.label}：不能超过逾期未安置户数 {case.households_overdue}"]})
        if field.case_field == "category":
            value = int(value)
        if field.case_field == "target_date":
            value = date.fromisoformat(value)
        old = getattr(case, field.case_field)
        if old != value:
            changes[field.case_field] = {"from": str(old) if isinstance(old, date) else old,
                                         "to": str(value) if isinstance(value, date) else value}
            setattr(case, field.case_field, value)
    return changes


@dataclass(frozen=True)
class Completion:
    """A completed task and what the process did next: the tasks it opened (with the agency each went
    to) and the tasks it withdrew."""

    task: Task
    opened: list[dict[str, Any]]
    cancelled: list[dict[str, Any]]


@mutation
def complete_task(session: Session, actor: User, task_id: int, data: dict[str, Any], *,
                  expected_version: int | None = None, now: datetime | None = None) -> Completion:
    """Complete a user task with form data and move the case's process on.

    Permission: an officer of the task's agency, or a supervisor over the case's place; a task
    claimed by someone else can only be completed by them or a supervisor.
    Validation: `data` against the fields the BPMN task declares (Invalid names each field).
    Side effects, in one transaction: workflow state (version-checked: a concurrent completion
    raises Conflict), task projection, case fields and status, history.
    """
    now = now or clock.now()
    task, case, instance, content_hash = _load(session, actor, task_id, lock=True)
    _require_actable(actor, task, case)
    _check_version(task, expected_version)
    if task.assignee_id not in (None, actor.id) and actor.role != "supervisor":
        raise Conflict("任务已被他人认领，请联系认领人或督办人")
    assert instance is not None
    bundle = processes.bundle_of(session, instance.version_id, content_hash)
    fields = bundle.task_meta(task.process_id, task.bpmn_id).fields
    cleaned = forms.validate(fields, data)
    changes = _apply_case_fields(case, fields, cleaned)
    with instances.engine_work(case, actor), clock.frozen_at(now):
        workflow = runtime.load(instance.state, bundle)
        before = runtime.ready_uuids(workflow)
        try:
            fired = runtime.complete(workflow, task.spiff_task_id, cleaned)
        except LookupError:
            raise Conflict("流程中该任务已不可办理，请刷新") from None
    task.status = "completed"
    task.completed_at = now
    task.completed_by_id = actor.id
    task.assignee_id = task.assignee_id or actor.id
    task.data = cleaned
    history.record(session, case, "task_completed", f"{history.actor_label(actor)}办结任务「{task.name}」",
                   actor=actor, task=task, at=now,
                   data={"bpmn_id": task.bpmn_id, "data": cleaned, "case_changes": changes})
    if changes:
        case.updated_at = now
        history.record(session, case, "case_updated",
                       "案件信息变更：" + "；".join(f"{_CASE_FIELD_LABELS[k]} {v['from']} → {v['to']}"
                                              for k, v in changes.items()),
                       actor=actor, task=task, at=now, data=changes)
    instances.record_fired_timers(session, case, fired, now=now, during=f"办结「{task.name}」")
    moved = instances.project(session, case, instance, workflow, bundle, actor=actor, now=now, before=before,
                              done=task.spiff_task_id)
    instances.save_state(instance, workflow, now)
    return Completion(task, moved["opened"], moved["cancelled"])
