"""Task inboxes and acting on tasks: claim, unclaim, complete with form data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from models import Agency, Case, ProcessInstance, ProcessVersion, Region, Task, User

from . import forms, history, inputs, instances, permissions, processes, resolution
from .engine import clock, routing, runtime
from .engine.specs import CASE_BOUNDS, FormField, TaskMeta
from .errors import Conflict, Forbidden, Invalid, NotFound, Stale
from .transactions import mutation

INBOX_PAGE = 100


def scoped(stmt: Any, actor: User) -> Any | None:
    """Restrict a task query to what the actor may work: an officer's agency; a supervisor's places.
    None for those who work no tasks (auditors, admins): their lists are empty."""
    if actor.role == "officer":
        return stmt.where(Task.agency_id == actor.agency_id)
    if actor.role == "supervisor":
        scope = permissions.jurisdiction(actor)
        return stmt.where(Task.region_id.in_(select(Region.id).where(Region.path.startswith(scope.path))))
    return None


def _page(stmt: Any, limit: int, offset: int) -> Any:
    limit, offset = inputs.page_bounds(limit, offset)
    return stmt.limit(limit).offset(offset)


def inbox(session: Session, actor: User, *, include_claimed_by_others: bool = True, limit: int = INBOX_PAGE,
          offset: int = 0) -> list[Task]:
    """Open tasks the actor may work, deadline first, one page at a time: an officer's agency's; a
    supervisor's whole jurisdiction.

    Answered from the task projection alone (no workflow is deserialized) along an index: tasks carry
    their case's place, so a supervisor's inbox needs no join.
    """
    stmt = scoped(select(Task).where(Task.status == "ready")
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
    stmt = scoped(select(Task).where(Task.status == "ready", Task.due_at < now)
                  .order_by(Task.due_at, Task.id), actor)
    return [] if stmt is None else list(session.scalars(_page(stmt, limit, offset)))


# Statements of the hot path are built once: building one costs more than running it (SQLAlchemy's
# cache key of a freshly built statement is ~0.3-0.5 ms of Python per call).
_LOAD = select(Task, Case).join(Case, Task.case_id == Case.id).where(Task.id == bindparam("task_id"))
# The version's hash comes from a subquery, not a join: when a concurrent migration moves the instance
# to another version while this statement waits for the lock, PostgreSQL re-checks the locked rows
# against the join condition with the new version id and would drop the row ("task not found").
_VERSION_HASH = (select(ProcessVersion.content_hash).where(ProcessVersion.id == ProcessInstance.version_id)
                 .scalar_subquery())
_LOAD_LOCKED = (select(Task, Case, ProcessInstance, _VERSION_HASH)
                .join(Case, Task.case_id == Case.id)
                .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
                .where(Task.id == bindparam("task_id"))
                .with_for_update(of=[Task.__table__, Case.__table__, ProcessInstance.__table__])
                .execution_options(populate_existing=True))
_COMPLETE = (update(Task.__table__)
             .where(Task.id == bindparam("task_id"), Task.version == bindparam("old_version"))
             .values(status="completed", completed_at=bindparam("completed_at"),
                     completed_by_id=bindparam("completed_by_id"), assignee_id=bindparam("assignee_id"),
                     data=bindparam("data", type_=Task.__table__.c.data.type),
                     opinion=bindparam("opinion"), version=bindparam("new_version")))


def _load(session: Session, actor: User, task_id: int, *, lock: bool = False,
          ) -> tuple[Task, Case, ProcessInstance | None, str | None]:
    """The task and its case (and, when locking, its process instance) in one statement.

    With `lock`, the case's process instance row is locked first (SELECT … FOR UPDATE on PostgreSQL;
    SQLite's write lock is already held by the transaction), so two moves of one case — parallel
    branches, a timer — serialize and each works from the other's result instead of a stale state.
    """
    # No such row can exist, and the driver would raise on the query (ids are 32-bit on PostgreSQL).
    if not inputs.valid_id(task_id) or task_id > inputs.INT32_MAX:
        raise NotFound("任务不存在")
    row = session.execute(_LOAD_LOCKED if lock else _LOAD, {"task_id": task_id}).one_or_none()
    if row is None:
        raise NotFound("任务不存在")
    task, case = row[0], row[1]
    if not (permissions.can_act_on_task(actor, task, case) or permissions.can_view_case(actor, case)):
        raise NotFound("任务不存在")
    return task, case, (row[2] if lock else None), (row[3] if lock else None)


def get_task(session: Session, actor: User, task_id: int) -> Task:
    """A task the actor may act on or read (within jurisdiction); otherwise it does not exist."""
    return _load(session, actor, task_id)[0]


def task_metas(session: Session, items: list[Task]) -> dict[int, TaskMeta]:
    """Each task's definition in the process version its case runs under, for a whole list in one
    query (an inbox page must not cost a query per row)."""
    versions = {instance_id: (version_id, digest) for instance_id, version_id, digest in session.execute(
        select(ProcessInstance.id, ProcessVersion.id, ProcessVersion.content_hash)
        .join(ProcessVersion, ProcessInstance.version_id == ProcessVersion.id)
        .where(ProcessInstance.id.in_({t.instance_id for t in items})))}
    return {t.id: processes.bundle_of(session, *versions[t.instance_id]).task_meta(t.process_id, t.bpmn_id)
            for t in items}


def task_meta(session: Session, task: Task) -> TaskMeta:
    """The task's definition (name, lane, form fields) in the process version its case runs under."""
    return task_metas(session, [task])[task.id]


def task_fields(session: Session, task: Task) -> tuple[FormField, ...]:
    return task_meta(session, task).fields


def _agency_name(task: Task) -> str:
    """Who handles the task, for a refusal: the agency's name ("榆树市财政局"). One query, and only on
    the refusal path; the row's lane is a key, so without a session the lane's role label stands in."""
    session = object_session(task)
    name = session.scalar(select(Agency.name).where(Agency.id == task.agency_id)) if session else None
    if name:
        return name
    try:
        return f"{routing.default_label(task.lane)}部门"
    except routing.UnknownLane:
        return "其他部门"


def _require_actable(actor: User, task: Task, case: Case, expected_version: int | None = None) -> None:
    if not permissions.can_act_on_task(actor, task, case):
        # Someone who may read but not act gets a clear refusal; others never learn it exists.
        if permissions.can_view_case(actor, case):
            raise Forbidden(f"该任务由{_agency_name(task)}办理，您无权办理")
        raise NotFound("任务不存在")
    # Before the status: a client that names the version it read (If-Match) and lost a race is told its
    # copy is stale, with the current version, whatever the winner did to the task.
    _check_version(task, expected_version)
    if task.status != "ready":
        raise Conflict(f"任务「{task.name}」{'已撤销' if task.status == 'cancelled' else '已办结'}，不能再办理")


def require_not_delegated(actor: User, task: Task) -> None:
    """委派: while a task is out with a delegate, nobody completes, claims, reassigns or returns it (the
    delegate resolves it back, or the holder recalls it, first). Reads only the row."""
    if task.delegated_to_id is None:
        return
    if task.delegated_to_id == actor.id:
        raise Conflict("委派给您的任务由委派人办结：请办理后“办毕退回”委派人")
    raise Conflict("任务已委派他人办理，须待其办毕退回（或由委派人收回）后再操作")


def _check_version(task: Task, expected_version: int | None) -> None:
    if expected_version is not None and task.version != expected_version:
        raise Stale("任务已被他人处理或修改，请刷新后重试", current_version=task.version)


@mutation
def claim(session: Session, actor: User, task_id: int, *, expected_version: int | None = None,
          now: datetime | None = None) -> Task:
    """Take a task for oneself. Permission: may act on the task. Side effects: assignee, history.
    A stale `expected_version` raises Stale."""
    now = now or clock.now()
    task, case, _, _ = _load(session, actor, task_id)
    _require_actable(actor, task, case, expected_version)
    require_not_delegated(actor, task)
    if task.assignee_id == actor.id:
        return task
    if task.assignee_id is not None and actor.role != "supervisor":
        raise Conflict("任务已被他人认领")
    task.assignee_id = actor.id
    history.record(session, case, "task_claimed", f"{history.actor_label(actor)}认领任务「{task.name}」",
                   actor=actor, task=task, at=now)
    return task


@mutation
def unclaim(session: Session, actor: User, task_id: int, *, expected_version: int | None = None,
            now: datetime | None = None) -> Task:
    """Give a claimed task back to the agency pool. Permission: the assignee or a supervisor.
    A stale `expected_version` raises Stale."""
    now = now or clock.now()
    task, case, _, _ = _load(session, actor, task_id)
    _require_actable(actor, task, case, expected_version)
    require_not_delegated(actor, task)
    if task.assignee_id is None:
        raise Conflict("任务尚未被认领")
    if task.assignee_id != actor.id and actor.role != "supervisor":
        raise Conflict("只能退回自己认领的任务")
    task.assignee_id = None
    history.record(session, case, "task_unclaimed", f"{history.actor_label(actor)}退回任务「{task.name}」",
                   actor=actor, task=task, at=now)
    return task


_CASE_FIELD_LABELS = {"households_overdue": "逾期未安置户数", "households_resettled": "累计已安置户数",
                      "category": "解决类别", "target_date": "目标完成日期", "responsible_leader": "包保领导"}
# The largest household count a case may be confirmed at. The biggest projects on a county's ledger
# have a few thousand households; a count past this is a typing error, not a project.
HOUSEHOLDS_MAX = 100_000


def _case_value(field: FormField, value: Any) -> Any:
    if field.case_field == "category":
        return int(value)
    if field.case_field == "target_date":
        return date.fromisoformat(value)
    return value


def _case_errors(case: Case, fields: tuple[FormField, ...], cleaned: dict[str, Any],
                 new: dict[str, Any]) -> dict[str, list[str]]:
    """What the submitted values may not be, given the case (a form cannot know it): the counts stay
    within the case's household count as this submission leaves it (the database refuses a resettled
    count above it, PostgreSQL mid-transaction), and `max-case` fields stay within the case attribute."""
    errors: dict[str, list[str]] = {}

    def refuse(field: FormField, problem: str) -> None:
        message = f"{field.label}：{problem}"
        if message not in errors.get(field.key, []):
            errors.setdefault(field.key, []).append(message)

    by_case_field = {f.case_field: f for f in fields if f.case_field and f.key in cleaned}
    overdue = new.get("households_overdue", case.households_overdue)
    resettled = new.get("households_resettled", case.households_resettled)
    if "households_overdue" in new:
        field = by_case_field["households_overdue"]
        if not 1 <= overdue <= HOUSEHOLDS_MAX:
            refuse(field, f"应在 1–{HOUSEHOLDS_MAX} 户之间")
        elif overdue < resettled:
            refuse(field, f"不能少于已安置户数 {resettled}")
    if "households_resettled" in new and resettled > overdue:
        refuse(by_case_field["households_resettled"], f"不能超过逾期未安置户数 {overdue}")
    bounds = {"households_overdue": overdue}
    for field in fields:
        if field.max_case and field.key in cleaned:
            bound = bounds.get(field.max_case, getattr(case, field.max_case))
            if cleaned[field.key] > bound:
                refuse(field, f"不能超过{CASE_BOUNDS[field.max_case]} {bound}")
    return errors


def _apply_case_fields(case: Case, fields: tuple[FormField, ...], cleaned: dict[str, Any]) -> dict[str, Any]:
    """Check the values against the case, then write the declared case fields back; nothing is written
    when anything is refused. Returns the changes as {attribute: {from, to}} for history."""
    new = {f.case_field: _case_value(f, cleaned[f.key]) for f in fields if f.case_field and f.key in cleaned}
    errors = _case_errors(case, fields, cleaned, new)
    if errors:
        first = next(iter(errors.values()))[0]
        more = f"（另有 {len(errors) - 1} 个字段有误）" if len(errors) > 1 else ""
        raise Invalid(f"表单校验未通过：{first}{more}", errors=errors)
    changes: dict[str, Any] = {}
    for name, value in new.items():
        old = getattr(case, name)
        if old != value:
            changes[name] = {"from": str(old) if isinstance(old, date) else old,
                             "to": str(value) if isinstance(value, date) else value}
            setattr(case, name, value)
    return changes


def _process_data(fields: tuple[FormField, ...], cleaned: dict[str, Any]) -> dict[str, Any]:
    """What the process receives: the form's values, and each value written to the case also under the
    case attribute's name, so gateways read the case as it now is (intake's households_confirmed is the
    households_overdue every later "all resettled?" and "all signed?" compares against)."""
    extra = {f.case_field: cleaned[f.key] for f in fields
             if f.case_field and f.key in cleaned and f.case_field != f.key}
    return {**cleaned, **extra} if extra else cleaned


def _check_requirement(case: Case, instance: ProcessInstance, bundle: Any, task: Task, actor: User,
                       cleaned: dict[str, Any]) -> None:
    """A task declaring `requires` (核验通过, 销号) is refused, naming what is missing, until the rule holds
    for the case and the process data at the task (workflows/resolution.py). Only those tasks pay for
    reading the process state here."""
    meta = bundle.task_meta(task.process_id, task.bpmn_id)
    rule = meta.properties.get("requires")
    if rule is None:
        return
    when = meta.properties.get("requires_when")
    if when is not None and cleaned.get(when) is not True:
        return  # e.g. 核验不通过: the case goes back for rectification, which needs no rule
    action = next((f.label for f in meta.fields if f.key == when), meta.name)
    with instances.engine_work(case, actor):
        spiff_task = runtime.load(instance.state, bundle).get_task_from_id(UUID(task.spiff_task_id))
    resolution.require(rule, case, spiff_task.data if spiff_task is not None else {}, action=action, field=when)


def _store_completion(session: Session, task: Task, actor: User, now: datetime, data: dict[str, Any],
                      opinion: str | None) -> None:
    """One version-checked UPDATE of the task row (cheaper than the ORM's flush on the hot path); the
    loaded object is brought up to date without being marked dirty."""
    values = {"status": "completed", "completed_at": now, "completed_by_id": actor.id,
              "assignee_id": task.assignee_id or actor.id, "data": data, "opinion": opinion,
              "version": task.version + 1}
    stored = session.connection().execute(_COMPLETE, {
        "task_id": task.id, "old_version": task.version, "completed_at": now, "completed_by_id": actor.id,
        "assignee_id": values["assignee_id"], "data": data, "opinion": opinion, "new_version": values["version"]})
    if stored.rowcount != 1:
        raise Conflict("任务已被他人处理或修改，请刷新后重试")
    for key, value in values.items():
        set_committed_value(task, key, value)


@dataclass(frozen=True)
class OnBehalf:
    """代办: a supervisor completing another agency's task, and the reason they gave."""

    reason: str
    agency_id: int
    agency_name: str


def _on_behalf(session: Session, actor: User, task: Task, case: Case, reason: str | None) -> OnBehalf | None:
    if task.agency_id == actor.agency_id:  # the agency's own people: no lookup on the hot path
        permissions.require_can_complete(actor, task, case, actor.agency.role, reason)
        return None
    role, name = session.execute(select(Agency.role, Agency.name).where(Agency.id == task.agency_id)).one()
    cleaned = permissions.require_can_complete(actor, task, case, role, reason)
    assert cleaned is not None
    return OnBehalf(cleaned, task.agency_id, name)


def _completed_summary(actor: User, task: Task, behalf: OnBehalf | None) -> str:
    if behalf is None:
        return f"{history.actor_label(actor)}办结任务「{task.name}」"
    return f"{history.actor_label(actor)}代{behalf.agency_name}办结任务「{task.name}」，理由：{behalf.reason}"


OPINION_MAX = 2000


def clean_opinion(opinion: Any) -> str | None:
    """审批意见 as stored: multi-line text of at most OPINION_MAX characters; blank is no opinion."""
    if opinion is None:
        return None
    cleaned = inputs.clean_text(opinion, field="opinion", label="审批意见", max_length=OPINION_MAX, multiline=True)
    return cleaned or None


@dataclass(frozen=True)
class Completion:
    """A completed task and what the process did next: the tasks it opened (with the agency each went
    to) and the tasks it withdrew."""

    task: Task
    opened: list[dict[str, Any]]
    cancelled: list[dict[str, Any]]


@mutation
def complete_task(session: Session, actor: User, task_id: int, data: dict[str, Any], *,
                  expected_version: int | None = None, now: datetime | None = None,
                  on_behalf_reason: str | None = None, opinion: str | None = None) -> Completion:
    """Complete a user task with form data and move the case's process on.

    Permission: an officer of the task's agency; a city or province supervisor over the case's place
    only as 代办 with `on_behalf_reason` (never a court's task; see permissions.require_can_complete).
    A task claimed by someone else can only be completed by them or a supervisor.
    `opinion` (审批意见, optional, up to OPINION_MAX characters) is stored on the task by the same
    UPDATE and carried in the task_completed event.
    Validation: `data` against the fields the BPMN task declares (Invalid names each field), counts
    against the case (`max-case`), and a task's declared `requires` rule (workflows/resolution.py).
    Side effects, in one transaction: workflow state (version-checked: a concurrent completion
    raises Conflict; a stale `expected_version` raises Stale, before "already completed"), task
    projection, case fields and status, history.
    """
    now = now or clock.now()
    opinion = clean_opinion(opinion)
    task, case, instance, content_hash = _load(session, actor, task_id, lock=True)
    _require_actable(actor, task, case, expected_version)
    require_not_delegated(actor, task)
    behalf = _on_behalf(session, actor, task, case, on_behalf_reason)
    if behalf is not None:
        # Through the ORM (one more version-checked UPDATE), so 代办, the rare path, leaves the
        # completion's single UPDATE of the hot path alone.
        task.on_behalf_reason = behalf.reason
    if task.assignee_id not in (None, actor.id) and actor.role != "supervisor":
        raise Conflict("任务已被他人认领，请联系认领人或督办人")
    assert instance is not None
    bundle = processes.bundle_of(session, instance.version_id, content_hash)
    meta = bundle.task_meta(task.process_id, task.bpmn_id)
    fields = meta.fields
    cleaned = forms.validate(fields, data)
    changes = _apply_case_fields(case, fields, cleaned)
    _check_requirement(case, instance, bundle, task, actor, cleaned)
    with instances.engine_work(case, actor), clock.frozen_at(now):
        workflow = runtime.load(instance.state, bundle)
        try:
            step = runtime.complete(workflow, task.spiff_task_id, _process_data(fields, cleaned))
        except LookupError:
            raise Conflict("流程中该任务已不可办理，请刷新") from None
    _store_completion(session, task, actor, now, cleaned, opinion)
    history.record(session, case, "task_completed", _completed_summary(actor, task, behalf),
                   actor=actor, task=task, at=now,
                   data={"bpmn_id": task.bpmn_id, "data": cleaned, "case_changes": changes,
                         **({"opinion": opinion} if opinion else {}),
                         **({"on_behalf": True, "reason": behalf.reason, "agency_id": behalf.agency_id}
                            if behalf else {})})
    if changes:
        case.updated_at = now
        history.record(session, case, "case_updated",
                       "案件信息变更：" + "；".join(f"{_CASE_FIELD_LABELS[k]} {v['from']} → {v['to']}"
                                              for k, v in changes.items()),
                       actor=actor, task=task, at=now, data=changes)
    instances.record_fired_timers(session, case, step.fired, now=now, during=f"办结「{task.name}」")
    # 或签: the first signature ends the step; the other signers' rows are withdrawn for that reason.
    either = meta.signoff is not None and meta.signoff.mode == "any"
    moved = instances.project(session, case, instance, workflow, bundle, actor=actor, now=now,
                              before=step.open_before, done=task.spiff_task_id,
                              cancel_reason="或签已由其他部门签署" if either else "流程变化")
    instances.save_state(session, instance, workflow, now)
    return Completion(task, moved["opened"], moved["cancelled"])
