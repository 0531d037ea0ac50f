"""Moving running cases onto a newer deployed process version (`huiqian migrate-cases`).

A case keeps the version it was started on (processes.py) until someone migrates it. Migration is
SpiffWorkflow's own: `diff_workflow` aligns the case's tasks with the new specs (by BPMN id, then by
structure) for the top workflow and every called process, and `migrate_workflow` swaps the specs and
resets the READY/WAITING branches so what comes after them is predicted from the new version. Around
that this module adds what the engine leaves to its caller:

* refusal, with a reason people can read, when the case could not continue on the new version: a task
  it is waiting at (or a call it is inside, or a step it already did) has no counterpart there, or a
  called process is missing. Steps already done matter because states reference their specs by name
  (runtime._SpecRefConverter): a finished task whose spec is gone could not be read back.
* re-prediction below running call activities: `migrate_workflow` only resets READY/WAITING tasks, so
  the steps after a call activity the case is inside would keep the old version's path (a task inserted
  after it would be skipped).
* timers keep their deadlines: resetting a waiting timer re-evaluates its expression at migration time
  ("this year's 31 December" in a later year, a duration restarted); an unchanged timer gets its value
  back.
* the task projection: an open task keeps its row (id, assignee, due date). Should the engine hand it a
  new uuid, the row is re-pointed (matched by process and BPMN id) instead of cancelled and re-opened;
  only genuinely new tasks open through the normal path (instances.project).

Each case is migrated in its own transaction with its instance row locked, as timers.fire_instance
does; one case failing is reported and the others go on. A dry run does the same work in memory,
without the lock, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, ProcessInstance, ProcessVersion, Region, Task, User

from . import history, instances, permissions, processes
from .engine import clock, runtime
from .engine.specs import Bundle
from .errors import Forbidden, HuiqianError, ProcessError
from .transactions import mutation

STATUS_LABELS = {"migrated": "已迁移", "would_migrate": "可迁移", "refused": "拒绝迁移", "skipped": "无需迁移",
                 "failed": "迁移失败"}

_WAITING = TaskState.READY | TaskState.WAITING


@dataclass(frozen=True)
class _Target:
    """The version migrated to, as plain values (each case runs in a transaction of its own)."""

    id: int
    number: int
    content_hash: str


@dataclass(frozen=True)
class CasePlan:
    """What migrating one case would do. `action` is "migrate", "refuse", "skip" or "fail" (the case
    does not exist, or its state cannot be read)."""

    case_id: int | None
    case_code: str
    from_number: int | None
    to_number: int
    action: str
    reason: str | None = None
    # Per process the case runs: BPMN ids added, removed and changed in the new version.
    changed: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # names of the open tasks now
    opens: list[str] = field(default_factory=list)  # tasks the new version would open at once
    cancels: list[str] = field(default_factory=list)  # open tasks that would be withdrawn
    repointed: list[str] = field(default_factory=list)  # open tasks kept whose engine id changes


@dataclass(frozen=True)
class CaseResult:
    """What happened to one case. `status` is a key of STATUS_LABELS."""

    case_id: int | None
    case_code: str
    from_number: int | None
    to_number: int
    status: str
    reason: str | None = None
    changed: list[dict[str, Any]] = field(default_factory=list)
    opened: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[dict[str, Any]] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # ids of the open task rows carried over unchanged

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass
class _Outcome:
    """A workflow migrated in memory, or the reason it cannot be."""

    reason: str | None
    workflow: Any
    changed: list[dict[str, Any]]
    before: dict[str, tuple[str, str]]  # open user task uuid -> (process id, BPMN id), before migrating
    fired: list[runtime.FiredTimer] = field(default_factory=list)


@dataclass(frozen=True)
class _Match:
    """How the open tasks before line up with the ready user tasks after."""

    ready: list[runtime.ReadyTask]
    repoint: dict[str, runtime.ReadyTask]  # old uuid -> the same task under a new uuid
    new: list[runtime.ReadyTask]
    gone: list[str]


def _require_admin(actor: User | None) -> None:
    # None is the command line (whoever may run it may deploy, too); in the app, administrators only.
    if actor is not None and actor.role != "admin":
        raise Forbidden("只有系统管理员可以迁移案件的流程版本")


def _label(task: Any) -> str:
    spec = task.task_spec
    if spec.bpmn_name or spec.bpmn_id:
        return spec.bpmn_name or spec.bpmn_id
    # Engine-internal specs ("call_x.BoundaryEventSplit") are named after the element they belong to.
    base = spec.name.split(".")[0]
    owner = task.workflow.spec.task_specs.get(base)
    return (owner.bpmn_name or owner.bpmn_id or base) if owner is not None else base


def _workflows(workflow: Any) -> list[Any]:
    """The top workflow and every called process (nested ones too: all live in the top's mapping)."""
    return [workflow, *workflow.subprocesses.values()]


# --- what differs ---------------------------------------------------------------------------------

def _spec_changes(old: Any, new: Any, source: Bundle, target: Bundle,
                  cache: dict[tuple[int, int], dict[str, Any]]) -> dict[str, Any]:
    """BPMN ids added, removed and changed between two specs of one process, forms included (a form is
    ours, in the file's extension elements, not in the engine's spec). Cached per pair of specs."""
    key = (id(old), id(new))  # the specs are kept in the entry, so their ids stay theirs while cached
    if key not in cache:
        diff = SpecDiff(runtime._SERIALIZER.registry, old, new)
        added = {s.bpmn_id for s in diff.added if s.bpmn_id}
        removed = {s.bpmn_id for s in diff.removed if s.bpmn_id}
        changed = {s.bpmn_id for s in diff.changed if s.bpmn_id}
        for (pid, bpmn_id), meta in source.tasks.items():
            if pid == old.name and target.tasks.get((pid, bpmn_id), meta) != meta:
                changed.add(bpmn_id)
        cache[key] = {"process": old.name, "added": sorted(added), "removed": sorted(removed),
                      "changed": sorted(changed - removed),
                      "differs": bool(diff.added or diff.removed or diff.changed or changed),
                      "_specs": (old, new)}
    return cache[key]


def _changes(workflow: Any, source: Bundle, target: Bundle,
             cache: dict[tuple[int, int], dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
    """What differs in the processes this case runs (for the plan and history), and which differ."""
    out, differing, seen = [], set(), set()
    for wf in _workflows(workflow):
        name = wf.spec.name
        if name in seen:
            continue
        seen.add(name)
        new = target.spec if wf is workflow else target.subprocess_specs.get(name)
        if new is None:
            out.append({"process": name, "added": [], "removed": [], "changed": [], "missing": True})
            continue
        change = _spec_changes(wf.spec, new, source, target, cache)
        if change["differs"]:
            differing.add(name)
            out.append({k: v for k, v in change.items() if k not in ("differs", "_specs")})
    return out, differing


def _refusals(workflow: Any, top_diff: Any, sub_diffs: dict[Any, Any], source: Bundle) -> list[str]:
    """Why the case cannot continue on the new version; the tasks it is waiting at first."""
    now_, running, done = [], [], []
    pairs = [(workflow, top_diff), *((workflow.subprocesses[sp_id], d) for sp_id, d in sub_diffs.items())]
    for wf, diff in pairs:
        if diff is None:
            name = source.process_names.get(wf.spec.name, wf.spec.name)
            if wf.completed:
                done.append(f"案件已运行过的子流程「{name}」在新版本中已不存在，流程记录无法迁移")
            else:
                running.append(f"案件正在运行的子流程「{name}」在新版本中已不存在")
            continue
        for task in diff.removed:
            if task.has_state(_WAITING):
                now_.append(f"案件正在办理的任务「{_label(task)}」在新版本中已删除")
            elif task.has_state(TaskState.STARTED):
                running.append(f"案件正在进行的「{_label(task)}」在新版本中已删除")
            elif task.has_state(TaskState.FINISHED_MASK):
                done.append(f"案件已办理过的步骤「{_label(task)}」在新版本中已删除，流程记录无法迁移")
            # A predicted task needs nothing: it is predicted again from the new version.
        for task in wf.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
            new = diff.alignment.get(task)
            if (isinstance(task.task_spec, SubWorkflowTask) and new is not None
                    and getattr(new, "spec", None) != task.task_spec.spec):
                running.append(f"案件正在进行的「{_label(task)}」在新版本中改为调用其他流程")
    return list(dict.fromkeys(now_ + running + done))


# --- migrating in memory --------------------------------------------------------------------------

def _timer_key(spec: Any) -> tuple[str, Any] | None:
    definition = getattr(spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    return type(definition).__name__, getattr(definition, "expression", None)


def _waiting_timers(workflow: Any) -> list[Any]:
    return [t for t in workflow.get_tasks(state=TaskState.WAITING) if _timer_key(t.task_spec) is not None]


def _restore_timers(workflow: Any, waiting: list[Any], saved: dict[Any, tuple[Any, Any]]) -> None:
    """Give an unchanged timer back the deadline it had: migrating is no reason to move a deadline."""
    for task in waiting:
        key, value = saved[task.id]
        if (value is not None and task.id in task.workflow.tasks and task.state == TaskState.WAITING
                and _timer_key(task.task_spec) == key):
            task.internal_data["event_value"] = value


def _repredict_below_running(wf: Any) -> None:
    """Predict again what follows each running call activity (migrate_workflow leaves it as the old
    version had it). Only where nothing below has happened yet: then dropping it loses nothing."""
    for task in wf.get_tasks(state=TaskState.STARTED, skip_subprocesses=True):
        below = list(task)[1:]
        if below and all(t.has_state(TaskState.FUTURE | TaskState.PREDICTED_MASK) for t in below):
            task._drop_children(force=True)
            task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE | TaskState.STARTED)


def _stale(workflow: Any) -> list[str]:
    """Tasks still on a spec the new version lacks: predicted ones are dropped (they were only a
    forecast); any other cannot be stored and refuses the migration."""
    reasons = []
    for wf in _workflows(workflow):
        for task in list(wf.get_tasks(skip_subprocesses=True)):
            if task.id not in wf.tasks or wf.spec.task_specs.get(task.task_spec.name) is task.task_spec:
                continue
            if task.has_state(TaskState.PREDICTED_MASK):
                wf._remove_task(task.id)
            else:
                reasons.append(f"案件的步骤「{_label(task)}」在新版本中没有对应，流程状态无法迁移")
    return reasons


def _attempt(state: str, source: Bundle, target: Bundle,
             cache: dict[tuple[int, int], dict[str, Any]]) -> _Outcome:
    """Load the case's workflow with its own version and migrate it to `target` in memory."""
    workflow = runtime.load(state, source)
    before = {str(t.id): (t.workflow.spec.name, t.task_spec.bpmn_id)
              for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    changed, differing = _changes(workflow, source, target, cache)
    try:
        top_diff, sub_diffs = diff_workflow(runtime._SERIALIZER.registry, workflow, target.spec,
                                            target.subprocess_specs)
    except Exception as exc:  # noqa: BLE001 - a spec the differ cannot align is a refusal, not a crash
        return _Outcome(f"无法比对新旧版本的流程：{type(exc).__name__}: {str(exc)[:200]}", workflow, changed, before)
    reasons = _refusals(workflow, top_diff, sub_diffs, source)
    if reasons:
        return _Outcome("；".join(reasons), workflow, changed, before)

    waiting = _waiting_timers(workflow)
    saved = {t.id: (_timer_key(t.task_spec), t.internal_data.get("event_value")) for t in waiting}
    try:
        migrate_workflow(top_diff, workflow, target.spec)
        # migrate_workflow swaps only the spec: calls started from now on must find the new versions.
        workflow.subprocess_specs = target.subprocess_specs
        for sp_id, diff in sub_diffs.items():
            sub = workflow.subprocesses[sp_id]
            migrate_workflow(diff, sub, target.subprocess_specs[sub.spec.name])
        for wf in _workflows(workflow):
            if wf.spec.name in differing:
                _repredict_below_running(wf)
        _restore_timers(workflow, waiting, saved)
        reasons = _stale(workflow)
        if reasons:
            return _Outcome("；".join(dict.fromkeys(reasons)), workflow, changed, before)
        # A READY task that is now an automatic one (a script, a gateway) runs, as after any move; a
        # deadline that passed before the move fires on the way (see _restore_timers).
        workflow.do_engine_steps()
        fired = [runtime.FiredTimer(t.task_spec.bpmn_name or t.task_spec.bpmn_id, runtime._timer_value(t))
                 for t in waiting if t.state in (TaskState.READY, TaskState.COMPLETED)]
        if fired:
            # As in runtime.complete: a timer made ready at the end of a step runs its path on the next.
            workflow.do_engine_steps()
    except HuiqianError:
        raise
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        message = getattr(exc, "error_msg", None) or str(exc) or type(exc).__name__
        raise ProcessError(f"迁移时流程引擎执行失败：{message.splitlines()[0][:300]}",
                           detail=f"{type(exc).__name__}: {str(exc)[:2000]}") from None
    return _Outcome(None, workflow, changed, before, fired)


def _match(before: dict[str, tuple[str, str]], ready: list[runtime.ReadyTask]) -> _Match:
    """Line the open tasks up with the ready ones: same uuid, or else the same process and BPMN id
    (the same task, re-created by a reset), one to one; the rest are new or gone."""
    after = {r.uuid: r for r in ready}
    gone = [uuid for uuid in before if uuid not in after]
    fresh = [r for r in ready if r.uuid not in before]
    repoint: dict[str, runtime.ReadyTask] = {}
    for uuid in list(gone):
        for r in fresh:
            if (r.process_id, r.meta.bpmn_id) == before[uuid]:
                repoint[uuid] = r
                fresh.remove(r)
                gone.remove(uuid)
                break
    return _Match(ready, repoint, fresh, gone)


# --- selecting cases ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    instance_id: int | None
    case_id: int | None
    code: str
    from_number: int | None
    completed: bool


def _target(session: Session, to_number: int) -> _Target:
    version = processes.get_version(session, to_number)
    return _Target(version.id, version.number, version.content_hash)


def _candidates(session: Session, target: _Target, case_codes: Iterable[str] | None,
                actor: User | None) -> list[_Candidate]:
    """The listed cases (in the order given, unknown codes included), or every open case on an older
    version. Ids only: each case is read again in its own transaction. An administrator's cases are
    those of their jurisdiction: another place's case reads as an unknown code (it does not exist)."""
    stmt = (select(ProcessInstance.id, Case.id, Case.code, ProcessVersion.number, ProcessInstance.completed)
            .join(Case, Case.id == ProcessInstance.case_id)
            .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id))
    if actor is not None:
        stmt = stmt.join(Region, Region.id == Case.region_id).where(
            Region.path.startswith(permissions.jurisdiction(actor).path))
    if case_codes is None:
        rows = session.execute(stmt.where(ProcessInstance.completed.is_(False),
                                          ProcessVersion.number < target.number).order_by(Case.id)).all()
        return [_Candidate(*row) for row in rows]
    codes = list(dict.fromkeys(case_codes))
    found = {row[2]: _Candidate(*row) for row in session.execute(stmt.where(Case.code.in_(codes)))}
    return [found.get(code) or _Candidate(None, None, code, None, False) for code in codes]


def _skip_reason(candidate: _Candidate, target: _Target, current_version_id: int | None = None) -> str | None:
    if candidate.instance_id is None:
        return None
    if candidate.completed:
        return "案件流程已结束，无需迁移"
    if current_version_id == target.id or candidate.from_number == target.number:
        return f"案件已在 v{target.number}"
    return None


# --- planning (dry run) ---------------------------------------------------------------------------

def _plan_one(session: Session, candidate: _Candidate, target: _Target, target_bundle: Bundle, now: datetime,
              cache: dict[tuple[int, int], dict[str, Any]]) -> CasePlan:
    base = {"case_id": candidate.case_id, "case_code": candidate.code, "from_number": candidate.from_number,
            "to_number": target.number}
    if candidate.instance_id is None:
        return CasePlan(**base, action="fail", reason="案件不存在")
    skip = _skip_reason(candidate, target)
    if skip:
        return CasePlan(**base, action="skip", reason=skip)
    instance = session.get(ProcessInstance, candidate.instance_id)
    source = processes.bundle_for(session, instance)
    with clock.frozen_at(now):
        outcome = _attempt(instance.state, source, target_bundle, cache)
    waiting = [source.task_meta(pid, bpmn_id).name for pid, bpmn_id in outcome.before.values()]
    if outcome.reason:
        return CasePlan(**base, action="refuse", reason=outcome.reason, changed=outcome.changed, waiting=waiting)
    match = _match(outcome.before, runtime.ready_user_tasks(outcome.workflow, target_bundle))
    return CasePlan(**base, action="migrate", changed=outcome.changed, waiting=waiting,
                    opens=[r.meta.name for r in match.new],
                    cancels=[source.task_meta(*outcome.before[u]).name for u in match.gone],
                    repointed=[r.meta.name for r in match.repoint.values()])


def plan(session: Session, actor: User | None, to_number: int, case_codes: Iterable[str] | None = None, *,
         now: datetime | None = None) -> list[CasePlan]:
    """What migrating to version `to_number` would do, per case, without writing anything.

    Cases: `case_codes` (any version, in the order given), or every open case on an older version.
    Permission: the command line (actor None) or an administrator (the cases of their jurisdiction).
    """
    _require_admin(actor)
    now = now or clock.now()
    target = _target(session, to_number)
    target_bundle = processes.bundle_of(session, target.id, target.content_hash)
    cache: dict[tuple[int, int], dict[str, Any]] = {}
    out = []
    try:
        for candidate in _candidates(session, target, case_codes, actor):
            try:
                out.append(_plan_one(session, candidate, target, target_bundle, now, cache))
            except HuiqianError as exc:  # a damaged state, say: this case only
                out.append(CasePlan(candidate.case_id, candidate.code, candidate.from_number, target.number,
                                    "fail", exc.message))
    finally:
        session.rollback()  # read only: end the snapshot
    return out


# --- migrating ------------------------------------------------------------------------------------

@mutation
def _migrate_one(session: Session, actor: User | None, candidate: _Candidate, target: _Target,
                 now: datetime, cache: dict[tuple[int, int], dict[str, Any]]) -> CaseResult:
    """One case, one transaction, its instance and case rows locked (complete_task and timers lock the
    same rows, so nothing moves the case meanwhile)."""
    row = session.execute(
        select(ProcessInstance, Case).join(Case, Case.id == ProcessInstance.case_id)
        .where(ProcessInstance.id == candidate.instance_id)
        .with_for_update(of=[ProcessInstance.__table__, Case.__table__])
        .execution_options(populate_existing=True)).one()
    instance, case = row
    from_number = session.scalar(select(ProcessVersion.number).where(ProcessVersion.id == instance.version_id))
    base = {"case_id": case.id, "case_code": case.code, "from_number": from_number, "to_number": target.number}
    # Checked again under the lock: another run may have migrated or finished it since it was listed.
    current = _Candidate(instance.id, case.id, case.code, from_number, instance.completed)
    skip = _skip_reason(current, target, instance.version_id)
    if skip:
        return CaseResult(**base, status="skipped", reason=skip)
    source = processes.bundle_for(session, instance)
    target_bundle = processes.bundle_of(session, target.id, target.content_hash)
    with instances.engine_work(case, actor), clock.frozen_at(now):
        outcome = _attempt(instance.state, source, target_bundle, cache)
    if outcome.reason:
        return CaseResult(**base, status="refused", reason=outcome.reason, changed=outcome.changed)

    workflow = outcome.workflow
    match = _match(outcome.before, runtime.ready_user_tasks(workflow, target_bundle))
    by_uuid = {r.uuid: r for r in match.ready}
    open_rows = session.scalars(
        select(Task).where(Task.instance_id == instance.id, Task.status == "ready").order_by(Task.id)
        .with_for_update().execution_options(populate_existing=True)).all()
    kept = []
    for task in open_rows:
        now_ready = match.repoint.get(task.spiff_task_id) or by_uuid.get(task.spiff_task_id)
        if now_ready is None:
            continue  # withdrawn below by instances.project, like any task the process no longer has
        kept.append(task.id)
        # The row stays (id, assignee, due date); only what names the task in the new version follows it.
        new_values = {"spiff_task_id": now_ready.uuid, "process_id": now_ready.process_id,
                      "bpmn_id": now_ready.meta.bpmn_id, "name": now_ready.meta.name}
        for key, value in new_values.items():
            if getattr(task, key) != value:
                setattr(task, key, value)
    session.flush()  # the re-pointed uuids are in place before project() looks tasks up by them

    history.record(session, case, "process_migrated", f"流程由 v{from_number} 迁移至 v{target.number}",
                   actor=actor, at=now,
                   data={"from": from_number, "to": target.number, "changed": outcome.changed,
                         "kept": kept, "repointed": sorted(r.uuid for r in match.repoint.values())})
    instances.record_fired_timers(session, case, outcome.fired, now=now, during="流程迁移")
    before = (set(outcome.before) - set(match.repoint)) | {r.uuid for r in match.repoint.values()}
    moved = instances.project(session, case, instance, workflow, target_bundle, actor=actor, now=now,
                              before=before)
    # The state columns as every move writes them (instances.state_values), plus the version, in one
    # version-checked UPDATE of the locked row.
    for key, value in instances.state_values(workflow, now).items():
        setattr(instance, key, value)
    instance.version_id = target.id
    return CaseResult(**base, status="migrated", changed=outcome.changed, opened=moved["opened"],
                      cancelled=moved["cancelled"], kept=kept)


def migrate_cases(session: Session, actor: User | None, to_number: int, case_codes: Iterable[str] | None = None,
                  *, dry_run: bool = False, now: datetime | None = None) -> list[CaseResult]:
    """Migrate cases to version `to_number`; one result per case, in order.

    Cases: `case_codes` (any version), or every open case on an older version. Each case is its own
    transaction: a refusal or a failure is reported and the others go on. With `dry_run`, report what
    would happen (status "would_migrate") and write nothing.
    Permission: the command line (actor None) or an administrator (the cases of their jurisdiction).
    """
    if dry_run:
        statuses = {"migrate": "would_migrate", "refuse": "refused", "skip": "skipped", "fail": "failed"}
        return [CaseResult(p.case_id, p.case_code, p.from_number, p.to_number, statuses[p.action], p.reason,
                           p.changed, opened=[{"name": n} for n in p.opens],
                           cancelled=[{"name": n} for n in p.cancels])
                for p in plan(session, actor, to_number, case_codes, now=now)]
    _require_admin(actor)
    now = now or clock.now()
    target = _target(session, to_number)
    candidates = _candidates(session, target, case_codes, actor)
    session.rollback()  # end the read: every case takes its own write transaction
    cache: dict[tuple[int, int], dict[str, Any]] = {}
    results = []
    for candidate in candidates:
        base = (candidate.case_id, candidate.code, candidate.from_number, target.number)
        if candidate.instance_id is None:
            results.append(CaseResult(*base, status="failed", reason="案件不存在"))
            continue
        try:
            results.append(_migrate_one(session, actor, candidate, target, now, cache))
        except HuiqianError as exc:  # busy, changed meanwhile, an engine failure (recorded on the case)
            results.append(CaseResult(*base, status="failed", reason=exc.message))
        except Exception as exc:  # noqa: BLE001 - one bad case must not stop the others
            results.append(CaseResult(*base, status="failed", reason=f"{type(exc).__name__}: {str(exc)[:300]}"))
    return results


__all__ = ["STATUS_LABELS", "CasePlan", "CaseResult", "migrate_cases", "plan"]
