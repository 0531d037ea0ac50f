"""会签 / 或签 / 依次会签: a step several agencies sign, and 加签 / 减签 while it runs.

A sign-off is declared in the BPMN (a multi-instance user task with `hq:signoff roles="…"`, see
workflows/engine/specs.py). Parallel: when the case reaches it, each role's agency of the case's place
gets its own task row in its inbox; 会签 moves on when all have signed, 或签 when the first has (the
others' rows are withdrawn). Sequential (依次会签): one agency at a time, in the declared order; the
next gets its row when the previous has signed. Each signer's opinion stays on its row and in history.

Who may change the signers: a supervisor whose jurisdiction covers the case (加签 an agency that is
not signing yet, in a sequential sign-off right before or after the one signing now; 减签 one that has
not signed, never the last). The signing itself is completing the row (workflows/tasks.py), by an
officer of that agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AGENCY_ROLES, Agency, Case, ProcessInstance, Task, User

from . import history, inputs, instances, permissions, processes, tasks
from .engine import clock, routing, runtime
from .errors import Conflict, Forbidden, NotFound
from .transactions import mutation

REASON_MAX = 500
SIGNER_STATUSES = {"ready": "待签署", "completed": "已签署", "cancelled": "已撤销", "queued": "排队待签"}
POSITIONS = {"after": "在当前签署部门之后", "before": "在当前签署部门之前"}


@dataclass(frozen=True)
class Signer:
    """One signer of a sign-off: its task row (None while its turn in a sequential sign-off has not
    come), the role and agency, and what it said."""

    task: Task | None
    role: str
    agency: str
    status: str  # "ready" | "completed" | "cancelled" (withdrawn by 或签, removed by 减签) | "queued"
    opinion: str | None
    signed_by: str | None
    signed_at: datetime | None

    @property
    def status_label(self) -> str:
        return SIGNER_STATUSES[self.status]


@dataclass(frozen=True)
class Panel:
    """A sign-off as its task page shows it."""

    mode: str  # "all" (会签) | "any" (或签) | "sequence" (依次会签)
    label: str
    running: bool
    signers: list[Signer]
    may_change: bool  # the reader may 加签 / 减签 now
    addable: list[tuple[str, str]]  # (role, label) of agencies not signing yet
    changed: Signer | None = None  # the signer a 加签 just added

    @property
    def sequential(self) -> bool:
        return self.mode == "sequence"

    @property
    def waiting_for(self) -> list[str]:
        """Who has still to sign; for a sequential sign-off in signing order, the one signing now first."""
        return [s.agency for s in self.signers if s.status in ("ready", "queued")]

    @property
    def current(self) -> Signer | None:
        """The signer whose turn it is in a sequential sign-off."""
        return next((s for s in self.signers if s.status == "ready"), None) if self.sequential else None


def _may_change(actor: User, case: Case) -> bool:
    return actor.active and actor.role == "supervisor" and permissions.jurisdiction(actor).contains(case.region)


def _require_changer(actor: User, case: Case, doing: str) -> None:
    if not _may_change(actor, case):
        raise Forbidden(f"只有管辖该案件的督办人可以{doing}")


def _reason(value: Any) -> str:
    cleaned = inputs.clean_text(value, field="reason", label="理由", max_length=REASON_MAX, multiline=True) \
        if value is not None else ""
    if not cleaned:
        inputs.refuse("reason", "理由", "不能为空")
    return cleaned


def _rows(session: Session, task: Task, states: list[runtime.SignerState]) -> list[Task]:
    """The rows of a sign-off's instances (in the engine's order), and the rows of instances removed by
    减签 since it began (no longer in the engine, still in history)."""
    by_uuid = {row.spiff_task_id: row for row in session.scalars(
        select(Task).where(Task.spiff_task_id.in_([s.uuid for s in states if s.uuid])))}
    rows = [by_uuid[s.uuid] for s in states if s.uuid in by_uuid]
    if rows:
        began = min(row.created_at for row in rows)
        removed = session.scalars(select(Task).where(
            Task.instance_id == task.instance_id, Task.bpmn_id == task.bpmn_id, Task.status == "cancelled",
            Task.created_at >= began, Task.spiff_task_id.not_in(list(by_uuid))).order_by(Task.id))
        rows += list(removed)
    return rows


def _agency_names(session: Session, case: Case, roles: set[str]) -> dict[str, str]:
    """Role -> the name of the agency that would sign for the case (its place's, else the level
    above); the role's label where no agency exists (a 加签 of it would be refused with the reason)."""
    try:  # one query for all; role by role only when some role has no agency
        return {role: found[1] for role, found in instances._resolve_agencies(session, case, roles).items()}
    except Conflict:
        pass
    names = {}
    for role in roles:
        try:
            names[role] = instances._resolve_agencies(session, case, {role})[role][1]
        except Conflict:
            names[role] = AGENCY_ROLES[role]
    return names


def panel(session: Session, actor: User, task: Task, *, changed_role: str | None = None,
          workflow: Any = None) -> Panel | None:
    """The sign-off `task` is one signer's row of, for a reader who may see the task (the caller checked
    that); None for an ordinary task. Reads the case's workflow once (none when `workflow` is given)."""
    meta = tasks.task_meta(session, task)
    if meta.signoff is None:
        return None
    case = session.get(Case, task.case_id)
    assert case is not None
    workflow = workflow if workflow is not None else _workflow(session, task)
    states = runtime.signers(workflow, task.spiff_task_id, meta)
    if not states and task.status == "cancelled":
        # A signer withdrawn by 减签 or by 加签 before it is gone from the engine; the sign-off it was
        # part of may still run: read it through a row that is still open.
        open_row = session.scalar(select(Task.spiff_task_id).where(
            Task.instance_id == task.instance_id, Task.bpmn_id == task.bpmn_id, Task.status == "ready",
            Task.created_at >= task.created_at).order_by(Task.id).limit(1))
        if open_row is not None:
            states = runtime.signers(workflow, open_row, meta)
    rows = _rows(session, task, states) if states else [task]
    agencies = dict(session.execute(select(Agency.id, Agency.name)
                                    .where(Agency.id.in_({r.agency_id for r in rows}))).all())
    people = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_({r.completed_by_id for r in rows if r.completed_by_id is not None}))).all())
    signers = [Signer(row, routing.resolve(row.lane)[0], agencies.get(row.agency_id, ""), row.status,
                      (row.data or {}).get("signoff_opinion") or row.opinion,
                      people.get(row.completed_by_id) if row.completed_by_id is not None else None,
                      row.completed_at if row.status == "completed" else None)
               for row in rows]
    queued = [s.role for s in states if s.state == "queued" and s.role]
    if queued:
        names = _agency_names(session, case, set(queued))
        signers += [Signer(None, role, names[role], "queued", None, None, None) for role in queued]
    running = any(s.status == "ready" for s in signers)
    taken = {s.role for s in signers if s.status != "cancelled"}
    changed = None
    if changed_role is not None:
        changed = next((s for s in reversed(signers) if s.role == changed_role and s.status in ("ready", "queued")),
                       None)
    return Panel(meta.signoff.mode, meta.signoff.label, running, signers,
                 running and _may_change(actor, case),
                 [(code, label) for code, label in AGENCY_ROLES.items() if code not in taken], changed)


def _workflow(session: Session, task: Task) -> Any:
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    return runtime.load(instance.state, processes.bundle_for(session, instance))


def _signoff_task(session: Session, actor: User, task_id: int, expected_version: int | None, doing: str,
                  ) -> tuple[Task, Case, Any, Any]:
    """The sign-off row `task_id` (locked with its case and process instance) and the bundle, after the
    checks every change of signers shares."""
    task, case, instance, content_hash = tasks._load(session, actor, task_id, lock=True)
    assert instance is not None and content_hash is not None
    _require_changer(actor, case, doing)
    if doing == "减签" and task.status == "completed":
        raise Conflict("该部门已签署，不能减签")
    tasks._require_actable(actor, task, case, expected_version)
    bundle = processes.bundle_of(session, instance.version_id, content_hash)
    if bundle.task_meta(task.process_id, task.bpmn_id).signoff is None:
        raise Conflict(f"「{task.name}」不是会签任务，不能{doing}")
    return task, case, instance, bundle


def _position(value: Any, sequential: bool) -> str:
    if value is None or value == "":
        return "after"
    if not sequential:
        inputs.refuse("position", "加签位置", "并行会签没有先后顺序，不能指定加签位置")
    if not isinstance(value, str) or value not in POSITIONS:
        inputs.refuse("position", "加签位置", "应为 after（在当前签署部门之后）或 before（在当前签署部门之前）")
    return value


@mutation
def add_signer(session: Session, actor: User, task_id: int, *, role: Any, reason: Any, position: Any = None,
               expected_version: int | None = None, now: datetime | None = None) -> Panel:
    """加签: the agency of `role` (of the case's place, or the level above when the place has none)
    signs the running sign-off that `task_id` (any open signer's row) belongs to. In a parallel sign-off
    it signs beside the others; in a sequential one right after the agency signing now (`position`
    "after", the default) or before it ("before": that agency's row is withdrawn and comes back once
    the new signer has signed). Returns the sign-off after the change, `changed` the new signer.

    Permission: a supervisor whose jurisdiction covers the case. Refused: Invalid naming role (not an
    agency role), reason (1–500 characters) or position (not before/after, or given for a parallel
    sign-off); Conflict when the task is not a sign-off or it is over, or the role already signs it;
    Stale on an old `expected_version`. Side effects, one transaction: the signer in the workflow, its
    row in that agency's inbox when its turn has come, a "signer_added" event.
    """
    now = now or clock.now()
    cleaned = _reason(reason)
    if not isinstance(role, str) or role not in AGENCY_ROLES:
        inputs.refuse("role", "加签部门", f"应为部门角色之一：{routing.valid_codes()}")
    task, case, instance, bundle = _signoff_task(session, actor, task_id, expected_version, "加签")
    meta = bundle.task_meta(task.process_id, task.bpmn_id)
    assert meta.signoff is not None
    where = _position(position, meta.signoff.sequential)
    with instances.engine_work(case, actor):
        workflow = runtime.load(instance.state, bundle)
    states = runtime.signers(workflow, task.spiff_task_id, meta)
    rows = _rows(session, task, states)
    for row in rows:
        if row.status != "cancelled" and routing.resolve(row.lane)[0] == role:
            raise Conflict(f"{AGENCY_ROLES[role]}部门已在会签部门中")
    if any(s.state == "queued" and s.role == role for s in states):
        raise Conflict(f"{AGENCY_ROLES[role]}部门已在会签部门中（排队待签）")
    agency = instances._resolve_agencies(session, case, {role})[role][1]  # refuses a role the place lacks
    current = next((r for r in rows if r.status == "ready"), task)
    current_agency = session.scalar(select(Agency.name).where(Agency.id == current.agency_id)) or ""
    with instances.engine_work(case, actor), clock.frozen_at(now):
        try:
            step, new_uuid = runtime.add_signer(workflow, task.spiff_task_id, role, meta, where)
        except runtime.SignoffRefused as refused:
            raise Conflict(str(refused)) from None
    instances.record_fired_timers(session, case, step.fired, now=now, during="加签")
    instances.project(session, case, instance, workflow, bundle, actor=actor, now=now, before=step.open_before,
                      cancel_reason=f"在其前加签{agency}（{agency}签署后重新下达）")
    instances.save_state(session, instance, workflow, now)
    added = session.scalar(select(Task).where(Task.spiff_task_id == new_uuid)) if new_uuid else None
    placed = ""
    if meta.signoff.sequential:
        placed = f"（在{current_agency}{'之前' if where == 'before' else '之后'}签署）"
    history.record(session, case, "signer_added",
                   f"{history.actor_label(actor)}对「{meta.name}」加签{agency}{placed}，理由：{cleaned}",
                   actor=actor, task=added, at=now,
                   data={"role": role, "agency_id": added.agency_id if added else None, "reason": cleaned,
                         "from_task_id": task.id, **({"position": where} if meta.signoff.sequential else {})})
    anchor = added if added is not None else current
    # The projection withdrew rows with Core statements: what the session holds of them is stale.
    for held in list(session.identity_map.values()):
        if isinstance(held, Task) and held.instance_id == instance.id:
            session.expire(held, ["status", "completed_at", "version"])
    found = panel(session, actor, anchor, changed_role=role, workflow=workflow)
    assert found is not None
    return found


@mutation
def remove_signer(session: Session, actor: User, task_id: int, *, reason: Any, role: Any = None,
                  expected_version: int | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """减签: the signer whose row is `task_id` no longer signs; or, with `role`, the agency of that role
    whose turn has not yet come in the sequential sign-off `task_id` belongs to. If nobody else is left
    to sign, the sign-off is complete and the case moves on. Returns the tasks that opened.

    Permission: a supervisor whose jurisdiction covers the case. Refused: Invalid naming reason or role;
    Conflict when the task is not a sign-off, the signer has signed, it is the last signer left, the
    role is not waiting its turn, or the sign-off is over; Stale on an old `expected_version`. Side
    effects, one transaction: the signer removed from the workflow, its row withdrawn, a
    "signer_removed" event.
    """
    now = now or clock.now()
    cleaned = _reason(reason)
    if role is not None and (not isinstance(role, str) or role not in AGENCY_ROLES):
        inputs.refuse("role", "减签部门", f"应为部门角色之一：{routing.valid_codes()}")
    task, case, instance, bundle = _signoff_task(session, actor, task_id, expected_version,
                                                 "减签")
    meta = bundle.task_meta(task.process_id, task.bpmn_id)
    if role is not None:
        agency = _agency_names(session, case, {role})[role]
    else:
        agency = session.scalar(select(Agency.name).where(Agency.id == task.agency_id)) or ""
    with instances.engine_work(case, actor), clock.frozen_at(now):
        workflow = runtime.load(instance.state, bundle)
        try:
            step = runtime.remove_signer(workflow, task.spiff_task_id, meta, role)
        except runtime.SignoffRefused as refused:
            raise Conflict(str(refused)) from None
    queued = "（尚未轮到签署）" if role is not None else ""
    history.record(session, case, "signer_removed",
                   f"{history.actor_label(actor)}对「{meta.name}」减签{agency}{queued}，理由：{cleaned}",
                   actor=actor, task=task if role is None else None, at=now,
                   data={"agency_id": task.agency_id if role is None else None, "reason": cleaned,
                         **({"role": role} if role is not None else {})})
    instances.record_fired_timers(session, case, step.fired, now=now, during="减签")
    moved = instances.project(session, case, instance, workflow, bundle, actor=actor, now=now,
                              before=step.open_before, cancel_reason="减签")
    instances.save_state(session, instance, workflow, now)
    session.expire(task)
    return moved["opened"]


def panel_for(session: Session, actor: User, task_id: int) -> Panel:
    """The sign-off of task `task_id` for a reader who may see the task (otherwise NotFound, as for the
    task); NotFound also when the task is not a sign-off. No side effects."""
    found = panel(session, actor, tasks.get_task(session, actor, task_id))
    if found is None:
        raise NotFound("该任务不是会签任务")
    return found
