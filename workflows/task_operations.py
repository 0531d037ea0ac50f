"""Task operations officers of Chinese approval systems expect: 转办 (reassign), 退回 (return to an
earlier step), 撤回 (withdraw one's own completion) and bulk 转办, each with a reason or opinion,
permission rules, history, and a clear refusal where it would be unsafe.

Who may do what:
- 转办: an officer of the task's agency (a task a colleague claimed is theirs to hand on), or a
  supervisor whose jurisdiction covers the case; to an officer of the same agency, or to an agency of
  the same role over the case's place (the county's bureau to the city's when the county lacks
  capacity, and back), optionally naming its officer;
- 退回: whoever may complete the open task (its agency's officers, the claimant, a supervisor over the
  case), to a user task the case passed through on the way to it (the previous one by default, the
  filer's at most); the engine decides what is unsafe (workflows.engine.runtime.way_back);
- 撤回: the person who completed a task, while what it led to has been neither claimed nor started
  (no one saved a draft of it).
A reopened task (退回, 撤回) goes back to the agency that did it, to the person who did it while they
still work there; its row is new, the row of its earlier completion stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Agency, Case, CaseEvent, ProcessInstance, Task, TaskDraft, User

from . import away, history, inputs, instances, permissions, processes, tasks
from .engine import clock, runtime
from .errors import Conflict, Forbidden, HuiqianError, NotFound
from .transactions import mutation

REASON_MAX = 500
BULK_MAX = 200


def _reason(value: Any, *, field: str = "reason", label: str = "转办理由", required: bool = True,
            max_length: int = REASON_MAX) -> str | None:
    cleaned = inputs.clean_text(value, field=field, label=label, max_length=max_length, multiline=True) \
        if value is not None else ""
    if not cleaned and required:
        inputs.refuse(field, label, "不能为空")
    return cleaned or None


def _holder(session: Session, task: Task) -> str:
    """Who holds a task, for history: the agency, and the person when someone claimed it."""
    agency = session.scalar(select(Agency.name).where(Agency.id == task.agency_id)) or "（未知部门）"
    if task.assignee_id is None:
        return agency
    person = session.scalar(select(User.display_name).where(User.id == task.assignee_id))
    return f"{agency}{person}" if person else agency


def _require_holder_or_supervisor(actor: User, task: Task, doing: str) -> None:
    """A task a colleague claimed is theirs: an officer may not move it on their behalf."""
    if task.assignee_id not in (None, actor.id) and actor.role != "supervisor":
        raise Conflict(f"任务已被他人认领，只有认领人或督办人可以{doing}")


# ---------------------------------------------------------------------------------------------
# 转办


def _target(session: Session, task: Task, case: Case, agency_id: Any, user_id: Any) -> tuple[Agency, User | None]:
    """The agency (and officer) a task may be reassigned to: an agency of the task's role whose place
    covers the case's; an active officer of it."""
    user: User | None = None
    if user_id is not None:
        user = session.get(User, user_id) if inputs.valid_id(user_id) and user_id <= inputs.INT32_MAX else None
        if user is None or not user.active or user.role != "officer":
            inputs.refuse("user_id", "接收人", "应为在岗的经办人")
    if agency_id is None and user is None:
        inputs.refuse("agency_id", "接收部门", "请指定接收部门或接收人")
    if agency_id is not None:
        agency = session.get(Agency, agency_id) if inputs.valid_id(agency_id) and agency_id <= inputs.INT32_MAX \
            else None
        if agency is None:
            inputs.refuse("agency_id", "接收部门", "部门不存在")
    else:
        agency = user.agency
    if user is not None and user.agency_id != agency.id:
        inputs.refuse("user_id", "接收人", f"不是{agency.name}的经办人")
    current = session.get(Agency, task.agency_id)
    assert current is not None
    if agency.role != current.role:
        inputs.refuse("agency_id", "接收部门", f"应为{current.role_label}部门（转办只在同类部门之间）")
    if not agency.region.contains(case.region):
        inputs.refuse("agency_id", "接收部门", f"应为{case.region.name}或其上级的{current.role_label}部门")
    return agency, user


def _reassign(session: Session, actor: User, task_id: int, agency_id: Any, user_id: Any, reason: Any,
              expected_version: int | None, now: datetime) -> Task:
    task, case, _, _ = tasks._load(session, actor, task_id)
    tasks._require_actable(actor, task, case, expected_version)
    tasks.require_not_delegated(actor, task)
    _require_holder_or_supervisor(actor, task, "转办")
    reason = _reason(reason)
    agency, user = _target(session, task, case, agency_id, user_id)
    standing_note = ""
    if user is not None:
        stand_in = away.standing_in(session, user.id, now)
        if stand_in is not None:  # 委托: the named officer is away; their colleague takes it meanwhile
            standing_note = f"（{user.display_name}委托期间由{stand_in.display_name}代办）"
            user = stand_in
    new_assignee = user.id if user is not None else None
    if agency.id == task.agency_id and new_assignee == task.assignee_id:
        inputs.refuse("user_id" if user is not None else "agency_id", "接收人" if user is not None else "接收部门",
                      f"任务已由{_holder(session, task)}承办，无需转办")
    before = _holder(session, task)
    old_agency, old_assignee = task.agency_id, task.assignee_id
    task.agency_id, task.assignee_id = agency.id, new_assignee
    after = f"{agency.name}{user.display_name}" if user is not None else agency.name
    history.record(session, case, "task_reassigned",
                   f"{history.actor_label(actor)}将任务「{task.name}」由{before}转办至{after}{standing_note}，理由：{reason}",
                   actor=actor, task=task, at=now,
                   data={"from_agency_id": old_agency, "from_user_id": old_assignee, "to_agency_id": agency.id,
                         "to_user_id": new_assignee, "reason": reason})
    return task


@mutation
def reassign(session: Session, actor: User, task_id: int, *, agency_id: int | None = None,
             user_id: int | None = None, reason: Any = None, expected_version: int | None = None,
             now: datetime | None = None) -> Task:
    """转办 an open task to another officer of its agency (`user_id`), or to another agency of the same
    role over the case's place (`agency_id`, optionally with its officer `user_id`), with a reason.

    Permission: may act on the task (its agency's officers; supervisors over the case's place; others
    who may see it: Forbidden; outside: NotFound); a task a colleague claimed only by them or a
    supervisor (Conflict). Refused: Invalid naming reason (1–500), agency_id or user_id (an agency of
    another role, a place that does not cover the case, an inactive or non-officer user, no change);
    Conflict when the task is no longer open; Stale on an old `expected_version`.
    Side effects: the task's agency and assignee (the new holder sees it in their inbox at once), a
    "task_reassigned" event saying from whom to whom and why.
    """
    return _reassign(session, actor, task_id, agency_id, user_id, reason, expected_version, now or clock.now())


@dataclass(frozen=True)
class ItemResult:
    """One task of a bulk action: done, or refused with the error's code and message."""

    task_id: Any
    done: bool
    code: str | None = None
    message: str | None = None
    version: int | None = None

    @property
    def status(self) -> str:
        return "done" if self.done else "refused"


def _bulk_ids(task_ids: Any) -> list[Any]:
    if not isinstance(task_ids, list | tuple) or not task_ids:
        inputs.refuse("task_ids", "任务", "请至少选择一项任务")
    if len(task_ids) > BULK_MAX:
        inputs.refuse("task_ids", "任务", f"一次最多 {BULK_MAX} 项")
    return list(dict.fromkeys(task_ids))


def bulk_reassign(session: Session, actor: User, task_ids: Iterable[Any], *, agency_id: int | None = None,
                  user_id: int | None = None, reason: Any = None, now: datetime | None = None) -> list[ItemResult]:
    """批量转办: `reassign` for each of the selected tasks (at most BULK_MAX, duplicates once), each in a
    transaction of its own, so an item is done or untouched and one refusal does not stop the others.

    Refused as a whole (Invalid, nothing done): no tasks, too many, a missing or too long reason.
    Returns one result per task in the order given: done (with the task's new version) or refused
    with the code and Chinese message `reassign` gave (not found, no permission, claimed by someone
    else, already completed, a target of another role...)."""
    ids = _bulk_ids(list(task_ids) if not isinstance(task_ids, list | tuple) else task_ids)
    cleaned = _reason(reason)
    out: list[ItemResult] = []
    for task_id in ids:
        try:
            if isinstance(task_id, bool) or not isinstance(task_id, int):
                raise NotFound("任务不存在")
            task = reassign(session, actor, task_id, agency_id=agency_id, user_id=user_id, reason=cleaned,
                            now=now)
            out.append(ItemResult(task_id, True, version=task.version))
        except HuiqianError as exc:
            out.append(ItemResult(task_id, False, exc.code, exc.message))
    return out


# ---------------------------------------------------------------------------------------------
# 退回 and 撤回: reopening a completed task


def _locked(session: Session, actor: User, task_id: int) -> tuple[Task, Case, ProcessInstance, Any]:
    """The task, its case and process instance locked (tasks._load), and the bundle of specs."""
    task, case, instance, content_hash = tasks._load(session, actor, task_id, lock=True)
    assert instance is not None and content_hash is not None
    return task, case, instance, processes.bundle_of(session, instance.version_id, content_hash)


def _workflow(session: Session, task: Task) -> Any:
    """The case's workflow as it stands, for a read (nothing locked, nothing saved)."""
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.id == task.instance_id))
    assert instance is not None
    return runtime.load(instance.state, processes.bundle_for(session, instance))


def _reopen_to(session: Session, task_row: Task, now: datetime) -> tuple[tuple[int, str], int | None]:
    """Where a reopened task goes: the agency that did it, and the person who did it while they are an
    active officer of that agency (a supervisor's 代办 goes back to the agency's pool), or the colleague
    standing in for them while they are away (委托)."""
    name = session.scalar(select(Agency.name).where(Agency.id == task_row.agency_id))
    person = session.get(User, task_row.completed_by_id) if task_row.completed_by_id is not None else None
    keep = person is not None and person.active and person.role == "officer" and person.agency_id == task_row.agency_id
    if keep:
        stand_in = away.standing_in(session, person.id, now)
        if stand_in is not None:
            person = stand_in
    return (task_row.agency_id, name or ""), (person.id if keep else None)


def _reopen(session: Session, actor: User, case: Case, instance: ProcessInstance, bundle: Any, workflow: Any,
            target: Task, now: datetime, reason: str) -> tuple[Task, dict[str, list[dict[str, Any]]]]:
    """Reset the workflow to `target` (a completed row), project the change, and give the reopened row
    to whoever did the task. Returns the reopened row and what opened and was cancelled."""
    routed, assignee = _reopen_to(session, target, now)
    with instances.engine_work(case, actor), clock.frozen_at(now):
        try:
            step, new_uuid = runtime.reset_to(workflow, target.spiff_task_id)
        except LookupError:
            raise Conflict("流程中该步骤已不可重新打开，请刷新") from None
    instances.record_fired_timers(session, case, step.fired, now=now, during=reason)
    moved = instances.project(session, case, instance, workflow, bundle, actor=actor, now=now,
                              before=step.open_before, cancel_reason=reason, routed={new_uuid: routed})
    instances.save_state(session, instance, workflow, now)
    # The cancellations were written by statement: rows this session holds must not read as open.
    for row in [obj for obj in session.identity_map.values() if isinstance(obj, Task) and obj.case_id == case.id]:
        session.expire(row)
    reopened = session.scalar(select(Task).where(Task.spiff_task_id == new_uuid))
    assert reopened is not None
    if assignee is not None:
        session.execute(update(Task).where(Task.id == reopened.id).values(assignee_id=assignee)
                        .execution_options(synchronize_session=False))
        session.refresh(reopened)
    return reopened, moved


@dataclass(frozen=True)
class ReturnTarget:
    """A step an open task may be returned to (or not, and why): the row of its completion, the agency
    that did it and who."""

    task: Task
    blocked: str | None
    agency_name: str
    completed_by_name: str | None


def _targets(session: Session, case: Case, workflow: Any, task: Task) -> list[ReturnTarget]:
    try:
        path = runtime.way_back(workflow, task.spiff_task_id)
    except LookupError:
        raise Conflict("流程中该任务已不可办理，请刷新") from None
    if not path:
        return []
    found = session.execute(
        select(Task, Agency.name, User.display_name).join(Agency, Agency.id == Task.agency_id)
        .outerjoin(User, User.id == Task.completed_by_id)
        .where(Task.case_id == case.id, Task.spiff_task_id.in_([p.uuid for p in path]))).all()
    rows = {row.spiff_task_id: (row, agency, person) for row, agency, person in found}
    return [ReturnTarget(rows[p.uuid][0], p.blocked, rows[p.uuid][1], rows[p.uuid][2])
            for p in path if p.uuid in rows]


def return_targets(session: Session, actor: User, task_id: int) -> list[ReturnTarget]:
    """The steps an open task could be returned to, nearest first, each with why not (None: allowed).
    Permission: as tasks.get_task (may act on it or read its case). No side effects."""
    task, case, _, _ = tasks._load(session, actor, task_id)
    if task.status != "ready":
        return []
    return _targets(session, case, _workflow(session, task), task)


def _target_row(session: Session, case: Case, workflow: Any, task: Task, target_task_id: Any) -> Task:
    found = _targets(session, case, workflow, task)
    if target_task_id is None:
        if not found:
            raise Conflict(f"「{task.name}」是本案的第一个步骤，没有可退回的前序步骤")
        chosen = found[0]
    else:
        if isinstance(target_task_id, bool) or not inputs.valid_id(target_task_id) \
                or target_task_id > inputs.INT32_MAX:
            inputs.refuse("target_task_id", "退回至", "不是该案件已办理的步骤")
        chosen = next((t for t in found if t.task.id == target_task_id), None)
        if chosen is None:
            row = session.get(Task, target_task_id)
            if row is None or row.case_id != case.id or row.status != "completed":
                inputs.refuse("target_task_id", "退回至", "不是该案件已办理的步骤")
            raise Conflict(f"不能退回至「{row.name}」：{runtime.not_on_way(workflow, row.spiff_task_id)}")
    if chosen.blocked is not None:
        raise Conflict(f"不能退回至「{chosen.task.name}」：{chosen.blocked}")
    return chosen.task


@dataclass(frozen=True)
class Reopened:
    """What a 退回 or 撤回 did: the row reopened (in its agency's inbox), the tasks it cancelled."""

    task: Task
    cancelled: list[dict[str, Any]]


@mutation
def return_task(session: Session, actor: User, task_id: int, *, opinion: Any = None,
                target_task_id: int | None = None, expected_version: int | None = None,
                now: datetime | None = None) -> Reopened:
    """退回 an open task to a step the case passed through on the way to it: the previous one by default,
    any earlier one (`target_task_id`, a completed task row of the case) up to the filer's, with an
    opinion (退回意见) that the reopened task carries into its agency's inbox.

    Permission: as completing the task (its agency's officers; the claimant; a supervisor over the
    case's place; others who may see it: Forbidden; outside: NotFound). Refused: Invalid naming
    opinion (1–2000) or target_task_id (not a step of the case, or not on the path to this task: a
    parallel branch, a finished called process, a step already returned); Conflict across a parallel
    split or join, past a timer that fired, across a called process that finished, for the first task
    of the case, or when the task is no longer open; Stale on an old `expected_version`.
    Side effects, one transaction: the workflow reset to the target, this task (and anything else
    opened after the target) cancelled, the target reopened as a new row for the agency and person who
    did it, a "task_returned" event on that row with the opinion.
    """
    now = now or clock.now()
    cleaned = _reason(opinion, field="opinion", label="退回意见", max_length=tasks.OPINION_MAX)
    task, case, instance, bundle = _locked(session, actor, task_id)
    tasks._require_actable(actor, task, case, expected_version)
    tasks.require_not_delegated(actor, task)
    _require_holder_or_supervisor(actor, task, "退回")
    with instances.engine_work(case, actor):
        workflow = runtime.load(instance.state, bundle)
    target = _target_row(session, case, workflow, task, target_task_id)
    reopened, moved = _reopen(session, actor, case, instance, bundle, workflow, target, now, "退回")
    to = _holder(session, reopened)
    history.record(session, case, "task_returned",
                   f"{history.actor_label(actor)}将任务「{task.name}」退回至「{target.name}」（{to}），"
                   f"退回意见：{cleaned}",
                   actor=actor, task=reopened, at=now,
                   data={"from_task_id": task.id, "from_name": task.name, "to_task_id": target.id,
                         "reopened_task_id": reopened.id, "opinion": cleaned})
    return Reopened(reopened, moved["cancelled"])


def withdrawable(session: Session, actor: User, task: Task) -> str | None:
    """Why the actor may not withdraw a completed task (None: they may), without loading the workflow
    when the row already says no. For a task the caller obtained through a permission-checked read."""
    if task.status != "completed":
        return "任务尚未办结，无需撤回"
    if task.completed_by_id != actor.id or not actor.active:
        return "只有办结该任务的本人可以撤回"
    return _withdraw_problem(session, task, _workflow(session, task))[1]


def _withdraw_problem(session: Session, task: Task, workflow: Any) -> tuple[list[Task], str | None]:
    opened, blocked = runtime.followers(workflow, task.spiff_task_id)
    if blocked is not None:
        return [], blocked
    rows = list(session.scalars(select(Task).where(Task.spiff_task_id.in_(opened), Task.status == "ready")))
    for row in rows:
        if row.assignee_id is not None:
            return rows, f"下一步「{row.name}」已被认领，不能撤回"
    started = session.scalar(select(func.count()).select_from(TaskDraft)
                             .where(TaskDraft.task_id.in_([r.id for r in rows]))) if rows else 0
    if started:
        return rows, "下一步已开始办理（已暂存），不能撤回"
    return rows, None


@mutation
def withdraw(session: Session, actor: User, task_id: int, *, reason: Any = None,
             expected_version: int | None = None, now: datetime | None = None) -> Reopened:
    """撤回 a task the actor completed: the tasks its completion opened are cancelled and it reopens for
    the actor, as long as none of them has been claimed or started (a draft saved) and the case has
    not moved on past them.

    Permission: the person who completed the task (others who may see it: Forbidden; outside:
    NotFound). Refused: Conflict when the task is not completed, when a next task was claimed, started
    or completed, when a timer fired or a parallel join or called process finished since, or when the
    case is closed; Invalid on a reason over 500 characters; Stale on an old `expected_version`.
    Side effects, one transaction: the workflow reset to the task, the next tasks cancelled, the task
    reopened as a new row for the actor, a "task_withdrawn" event on it.
    """
    now = now or clock.now()
    cleaned = _reason(reason, label="撤回理由", required=False)
    task, case, instance, bundle = _locked(session, actor, task_id)
    tasks._check_version(task, expected_version)
    if task.status != "completed":
        raise Conflict(f"任务「{task.name}」{task.status_label}，无需撤回")
    if task.completed_by_id != actor.id:
        raise Forbidden("只有办结该任务的本人可以撤回")
    with instances.engine_work(case, actor):
        workflow = runtime.load(instance.state, bundle)
    _, blocked = _withdraw_problem(session, task, workflow)
    if blocked is not None:
        raise Conflict(f"不能撤回「{task.name}」：{blocked}")
    reopened, moved = _reopen(session, actor, case, instance, bundle, workflow, task, now, "撤回")
    summary = f"{history.actor_label(actor)}撤回已办结的任务「{task.name}」，重新办理"
    if cleaned:
        summary += f"，理由：{cleaned}"
    history.record(session, case, "task_withdrawn", summary, actor=actor, task=reopened, at=now,
                   data={"withdrawn_task_id": task.id, "reopened_task_id": reopened.id, "reason": cleaned,
                         "cancelled": [t["task_id"] for t in moved["cancelled"]]})
    return Reopened(reopened, moved["cancelled"])


# ---------------------------------------------------------------------------------------------
# Reading: the opinion a returned task carries


@dataclass(frozen=True)
class ReturnNote:
    """Why a task is back in an inbox: who returned it, when, from which step, with what opinion."""

    by: str
    at: datetime
    opinion: str
    from_name: str


def return_notes(session: Session, items: list[Task]) -> dict[int, ReturnNote]:
    """The 退回意见 of each listed task that was reopened by a 退回, for a whole list in one query. No
    permission check: for tasks the caller already obtained through a scoped read."""
    ids = [t.id for t in items if t.status == "ready"]
    if not ids:
        return {}
    rows = session.execute(
        select(CaseEvent.task_id, CaseEvent.at, CaseEvent.data, User.display_name)
        .outerjoin(User, User.id == CaseEvent.actor_id)
        .where(CaseEvent.case_id.in_({t.case_id for t in items}), CaseEvent.kind == "task_returned",
               CaseEvent.task_id.in_(ids)))
    return {task_id: note_of(at, data, name) for task_id, at, data, name in rows}


def note_of(at: datetime, data: dict[str, Any], actor_name: str | None) -> ReturnNote:
    """A ReturnNote from a task_returned event's moment, data and actor's name."""
    return ReturnNote(actor_name or "系统", at, str(data.get("opinion") or ""), str(data.get("from_name") or ""))


# ---------------------------------------------------------------------------------------------
# What the task page offers


@dataclass(frozen=True)
class Panel:
    """The operations a task page offers one reader: the 退回意见 the task came back with, whom it may be
    转办'd to, the steps it may be 退回'd to, and whether the reader may 撤回 it (or why not)."""

    note: ReturnNote | None
    can_reassign: bool
    colleagues: list[User]
    agencies: list[Agency]
    can_return: bool
    targets: list[ReturnTarget]
    can_withdraw: bool
    withdraw_blocked: str | None  # for the person who completed it: why it cannot be withdrawn now


def _region_ids(case: Case) -> list[int]:
    return [int(part) for part in case.region.path.strip("/").split("/")]


def panel(session: Session, actor: User, task: Task) -> Panel:
    """What the task page offers `actor` on `task` (loaded with its case and agency through a
    permission-checked read). Loads the case's workflow only when a 退回 or 撤回 is in question. No
    side effects."""
    case = task.case
    note = return_notes(session, [task]).get(task.id)
    movable = task.status == "ready" and permissions.can_act_on_task(actor, task, case) \
        and (task.assignee_id in (None, actor.id) or actor.role == "supervisor")
    colleagues: list[User] = []
    agencies: list[Agency] = []
    targets: list[ReturnTarget] = []
    if movable:
        colleagues = list(session.scalars(select(User).where(
            User.agency_id == task.agency_id, User.role == "officer", User.active.is_(True),
            User.id.not_in([i for i in (task.assignee_id, actor.id) if i is not None])).order_by(User.id)))
        agencies = list(session.scalars(select(Agency).where(
            Agency.role == task.agency.role, Agency.region_id.in_(_region_ids(case)), Agency.id != task.agency_id)
            .order_by(Agency.id)))
        targets = _targets(session, case, _workflow(session, task), task)
    blocked = None
    mine = task.status == "completed" and task.completed_by_id == actor.id and actor.active
    if mine:
        blocked = _withdraw_problem(session, task, _workflow(session, task))[1]
    return Panel(note, movable and bool(colleagues or agencies), colleagues, agencies,
                 movable and any(t.blocked is None for t in targets), targets, mine and blocked is None,
                 blocked if mine else None)


__all__ = ["BULK_MAX", "ItemResult", "Panel", "Reopened", "ReturnNote", "ReturnTarget", "bulk_reassign", "reassign",
           "note_of", "panel", "return_notes", "return_targets", "return_task", "withdraw", "withdrawable"]
