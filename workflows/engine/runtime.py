"""Running workflows: start, list ready user tasks, complete, fire timers, (de)serialize.

State is serialized without the process specs (they are stored once per version and shared):
the serialized instance carries only tasks and data, which halves its size and the work of loading it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from ..errors import ProcessError
from .evaluator import SCRIPT_ENGINE
from .specs import Bundle, TaskMeta

# The format of a stored state: SpiffWorkflow's serializer version and our spec-reference converter's.
# A state in another format is refused on load (never misread); an engine upgrade that changes the
# format must ship a migration of stored states, and tests/test_serializer_fixture.py fails until it does.
HQ_STATE_FORMAT = 1
SERIALIZER_VERSION = f"spiff-{SPIFF_SERIALIZER_VERSION}/hq-{HQ_STATE_FORMAT}"
_VERSION_KEY = "serializer_version"


class _SpecRefConverter(BpmnWorkflowConverter):
    """Writes no spec into the state; restores the already-parsed spec objects of a bundle."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], bundle: Bundle | None = None) -> BpmnWorkflow:
        if bundle is None:
            raise ValueError("restoring a workflow needs the bundle of specs it was started with")
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, script_engine=SCRIPT_ENGINE,
                                     deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_CONFIG = dict(DEFAULT_CONFIG)
_CONFIG[BpmnWorkflow] = _SpecRefConverter
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_CONFIG))


def dump(workflow: BpmnWorkflow) -> str:
    dct = _SERIALIZER.to_dict(workflow)
    dct[_VERSION_KEY] = SERIALIZER_VERSION
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def load(state: str, bundle: Bundle) -> BpmnWorkflow:
    """Restore a stored state; a state in another format, or damaged, is a ProcessError (never misread)."""
    try:
        dct = json.loads(state)
    except ValueError as exc:
        raise ProcessError("流程状态已损坏，无法读取", detail=str(exc)[:2000]) from None
    version = dct.pop(_VERSION_KEY, None) if isinstance(dct, dict) else None
    if version != SERIALIZER_VERSION:
        raise ProcessError(f"流程状态的存储格式为 {version or '未知'}，本程序只能读取 {SERIALIZER_VERSION}；"
                           "请先迁移存储的流程状态")
    try:
        workflow = _SERIALIZER.from_dict(dct, bundle=bundle)
    except Exception as exc:  # noqa: BLE001 - a damaged state must not surface as a raw traceback
        raise ProcessError("流程状态已损坏，无法读取", detail=f"{type(exc).__name__}: {exc}"[:2000]) from None
    if not isinstance(workflow, BpmnWorkflow):  # the registry hands back what it cannot convert
        raise ProcessError("流程状态已损坏，无法读取", detail="not a serialized workflow")
    return workflow


def _engine_failure(exc: Exception) -> ProcessError:
    task = getattr(exc, "task", None)
    where = f"（步骤「{task.task_spec.bpmn_name or task.task_spec.bpmn_id}」）" if task is not None else ""
    message = getattr(exc, "error_msg", None) or str(exc) or type(exc).__name__
    return ProcessError(f"流程引擎执行失败{where}：{message.splitlines()[0][:300]}",
                        detail=f"{type(exc).__name__}: {str(exc)[:2000]}")


def start(bundle: Bundle, data: dict[str, Any]) -> BpmnWorkflow:
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.data.update(data)
    start_task = workflow.task_tree
    start_task.data.update(data)
    try:
        workflow.do_engine_steps()
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        raise _engine_failure(exc) from None
    return workflow


def ready_uuids(workflow: BpmnWorkflow) -> set[str]:
    """The user tasks open now, which are exactly the rows of the task projection marked ready."""
    return {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def _is_timer(task: Any) -> bool:
    return isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)


_FIRED_STATES = TaskState.READY | TaskState.COMPLETED


def _open_and_fired(workflow: BpmnWorkflow) -> tuple[set[str], set[UUID]]:
    """Ready user tasks, and the timers that have already fired, in one walk of the task tree (the hot
    path needs both: what was open before a move, and which timers a move fires)."""
    ready, fired = set(), set()
    for t in workflow.get_tasks(state=_FIRED_STATES):
        if t.state == TaskState.READY and t.task_spec.manual:
            ready.add(str(t.id))
        elif _is_timer(t):
            fired.add(t.id)
    return ready, fired


@dataclass(frozen=True)
class ReadyTask:
    uuid: str
    process_id: str
    meta: TaskMeta
    due_at: datetime | None
    signer: str | None = None  # the role whose agency signs this instance of a 会签/或签 task

    @property
    def lane(self) -> str:
        """The lane key the task is routed by: a signer's role, otherwise the task's lane."""
        return self.signer or self.meta.lane


# Where an instance of a sign-off task keeps the role it was added for (加签 to a parallel sign-off);
# declared instances are found by their index in hq:signoff's roles. A sequential sign-off keeps its
# signing order on the multi-instance task (ORDER_KEY), since 加签/减签 change the signers still to come;
# the engine numbers its instances 0, 1, … in that order (internal_data "item").
SIGNER_KEY = "hq_signer"
ORDER_KEY = "hq_order"


def _order(parent: Any, meta: TaskMeta) -> list[str]:
    assert meta.signoff is not None
    order = parent.internal_data.get(ORDER_KEY)
    return list(order) if order is not None else list(meta.signoff.roles)


def signer_of(task: Any, meta: TaskMeta) -> str | None:
    """The role that signs this instance of a sign-off task (None for an ordinary task)."""
    if meta.signoff is None:
        return None
    added = task.internal_data.get(SIGNER_KEY)
    if added is not None:
        return added
    if meta.signoff.sequential:
        index, roles = task.internal_data.get("item"), _order(task.parent, meta) if task.parent else []
    else:
        index, roles = task.internal_data.get("key_or_index"), list(meta.signoff.roles)
    return roles[index] if isinstance(index, int) and 0 <= index < len(roles) else None


def _timer_value(task: Any) -> datetime | None:
    value = task.internal_data.get("event_value")
    if isinstance(value, dict) and "next" in value:  # cycle timers
        value = value["next"]
    if not isinstance(value, str):
        return None
    # Re-create as a plain datetime: the engine's clock shim hands back its own subclass.
    return datetime.fromtimestamp(TimerEventDefinition.get_datetime(value).timestamp(), UTC)


def _due(task: Any) -> datetime | None:
    """The earliest waiting timer on the task or on any call activity it runs inside.

    A boundary timer sits beside its host under the same parent; for a task in a called process the
    host may be the call activity in the calling workflow, so walk up through the callers.
    """
    due, current = None, task
    while current is not None:
        if current.parent is not None:
            for sibling in current.parent.children:
                if sibling is not current and sibling.state == TaskState.WAITING and isinstance(
                    getattr(sibling.task_spec, "event_definition", None), TimerEventDefinition
                ):
                    value = _timer_value(sibling)
                    if value is not None and (due is None or value < due):
                        due = value
        workflow = current.workflow
        parent_workflow = getattr(workflow, "parent_workflow", None)
        current = parent_workflow.get_task_from_id(workflow.parent_task_id) if parent_workflow else None
    return due


def ready_user_tasks(workflow: BpmnWorkflow, bundle: Bundle) -> list[ReadyTask]:
    out = []
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        process_id = task.workflow.spec.name
        meta = bundle.task_meta(process_id, task.task_spec.bpmn_id)
        due = _due(task)
        out.append(ReadyTask(str(task.id), process_id, meta, due, signer_of(task, meta)))
    return out


@dataclass(frozen=True)
class FiredTimer:
    name: str
    due_at: datetime | None


def _fired_since(workflow: BpmnWorkflow, fired_before: set[UUID]) -> list[FiredTimer]:
    """The timers that fired since `fired_before` was taken: those that were waiting, and those armed
    and fired within the same move (a deadline already past when its step opens, e.g. a date an officer
    wrote into the form that has gone by). Either way history must say so; none fires unrecorded."""
    return [FiredTimer(t.task_spec.bpmn_name or t.task_spec.bpmn_id, _timer_value(t))
            for t in workflow.get_tasks(state=_FIRED_STATES) if t.id not in fired_before and _is_timer(t)]


@dataclass(frozen=True)
class Step:
    """What a completion changed: the user tasks open before it, and the timers that fired meanwhile
    (a deadline that passed before this completion fires on its way, and history must say so)."""

    open_before: set[str]
    fired: list[FiredTimer]


def complete(workflow: BpmnWorkflow, task_uuid: str, data: dict[str, Any]) -> Step:
    """Complete a ready user task and run the engine on."""
    task = workflow.get_task_from_id(UUID(task_uuid))
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise LookupError(task_uuid)
    open_before, fired_before = _open_and_fired(workflow)
    try:
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
        fired = _fired_since(workflow, fired_before)
        if fired:
            # A timer made ready at the end of the last step runs its outgoing path on the next.
            workflow.do_engine_steps()
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        raise _engine_failure(exc) from None
    return Step(open_before, fired)


def signal(workflow: BpmnWorkflow, name: str, payload: dict[str, Any]) -> Step:
    """Deliver a signal the process models (e.g. "reclassify", caught by interrupting boundary events)
    with `payload` merged into the catching event's data; LookupError if nothing is waiting for it."""
    open_before, fired_before = _open_and_fired(workflow)
    if not any(getattr(t.task_spec, "event_definition", None) is not None
               and getattr(t.task_spec.event_definition, "name", None) == name
               for t in workflow.get_tasks(state=TaskState.WAITING)):
        raise LookupError(name)
    try:
        workflow.send_event(BpmnEvent(SignalEventDefinition(name), payload=dict(payload)))
        workflow.do_engine_steps()
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        raise _engine_failure(exc) from None
    return Step(open_before, _fired_since(workflow, fired_before))


def fire_timers(workflow: BpmnWorkflow) -> list[FiredTimer]:
    """Let due timers fire (the clock module decides what 'now' is) and run what follows them."""
    _, fired_before = _open_and_fired(workflow)
    try:
        workflow.refresh_timers()
        workflow.do_engine_steps()
        # A timer that became ready in the step above runs its outgoing path on this one.
        workflow.refresh_timers()
        workflow.do_engine_steps()
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        raise _engine_failure(exc) from None
    return _fired_since(workflow, fired_before)


def next_timer(workflow: BpmnWorkflow) -> datetime | None:
    due = [
        _timer_value(t) for t in workflow.event_manager.tasks.values()
        if isinstance(t.task_spec.event_definition, TimerEventDefinition)
    ]
    due = [d for d in due if d is not None]
    return min(due).astimezone(UTC) if due else None


# --- going back: 退回 to an earlier user task, 撤回 of one's own completion -------------------------------
# Both reset the workflow to a completed user task (SpiffWorkflow's reset_from_task_id drops everything
# that followed it). That is only safe where nothing outside the dropped branch depends on what is
# dropped: never across a parallel split or join (the other branches would be orphaned or merged
# twice), never past a timer that fired (its deadline is history), never through or into a called
# process that has finished (its results are already in the calling process).

_PARALLEL = (ParallelGateway, InclusiveGateway)


def _name(task: Any) -> str:
    return task.task_spec.bpmn_name or task.task_spec.bpmn_id or task.task_spec.name


def _obstacle(task: Any) -> str | None:
    """Why going back across `task` (a task between the open one and the target) is unsafe, or None."""
    spec = task.task_spec
    if isinstance(spec, _PARALLEL):
        label = f"「{spec.bpmn_name}」" if spec.bpmn_name else ""
        return f"中间经过并行分支{label}，退回会打乱其他并行事项"
    if _is_timer(task) and task.state == TaskState.COMPLETED:
        return f"时限「{_name(task)}」已到期并已转入后续步骤，不能回到时限之前"
    if isinstance(spec, MultiInstanceTask) and any(
            c.state == TaskState.COMPLETED for c in spec._instances(task)):
        name = spec.bpmn_name or task.workflow.spec.task_specs[spec.task_spec].bpmn_name
        label = f"「{name}」" if name else ""
        return f"会签{label}已有部门签署，退回会作废其签署"
    if isinstance(spec, SubWorkflowTask) and task.state == TaskState.COMPLETED:
        return f"中间经过已办结的「{_name(task)}」，不能回到它之前"
    return None


def _find(workflow: BpmnWorkflow, task_uuid: str) -> Any | None:
    """The task of that id anywhere in the workflow, or None (a task dropped by an earlier reset)."""
    try:
        return workflow.get_task_from_id(UUID(task_uuid))
    except TaskNotFoundException:
        return None


def _caller(task: Any) -> Any | None:
    """The call activity that started the (sub)process `task` runs in; None in the top process."""
    workflow = task.workflow
    parent_id = getattr(workflow, "parent_task_id", None)
    parent = getattr(workflow, "parent_workflow", None)
    return parent.get_task_from_id(parent_id) if parent_id is not None and parent is not None else None


@dataclass(frozen=True)
class WayBack:
    """A completed user task the case passed through to reach an open one, and why it cannot be gone
    back to (None: it can)."""

    uuid: str
    process_id: str
    bpmn_id: str
    name: str
    blocked: str | None


def way_back(workflow: BpmnWorkflow, task_uuid: str) -> list[WayBack]:
    """The completed user tasks on the path that led to the open task `task_uuid`, nearest first, up to
    the first task of the case, each with the first obstacle between it and the open task. The path
    runs up the task tree and, at the start of a called process, on from the call activity."""
    task = _find(workflow, task_uuid)
    if task is None:
        raise LookupError(task_uuid)
    out: list[WayBack] = []
    blocked: str | None = None
    current = task.parent if task.parent is not None else _caller(task)
    while current is not None:
        if current.task_spec.manual and current.state == TaskState.COMPLETED:
            out.append(WayBack(str(current.id), current.workflow.spec.name, current.task_spec.bpmn_id,
                               _name(current), blocked))
        blocked = blocked or _obstacle(current)
        current = current.parent if current.parent is not None else _caller(current)
    return out


def not_on_way(workflow: BpmnWorkflow, task_uuid: str) -> str:
    """Why a completed task that is not on the path to the open task cannot be gone back to."""
    task = _find(workflow, task_uuid)
    if task is None:
        return "该步骤已被退回或撤回，流程中已不存在"
    caller = _caller(task)
    while caller is not None:
        if caller.state == TaskState.COMPLETED:
            return f"该步骤属于已办结的「{_name(caller)}」，不能退回其中的步骤"
        caller = _caller(caller)
    return "该步骤与本任务不在同一条办理路径上（属于并行的其他分支），退回会打乱其他并行事项"


def _descendants(workflow: BpmnWorkflow, task: Any) -> Iterator[Any]:
    """The tasks that followed `task`, including those of processes its successors called."""
    for t in task:
        if t is task:
            continue
        yield t
        sub = workflow.subprocesses.get(t.id)
        if sub is not None:
            yield from _descendants(workflow, sub.task_tree)


def followers(workflow: BpmnWorkflow, task_uuid: str) -> tuple[list[str], str | None]:
    """What withdrawing the completed task `task_uuid` would take back: the open user tasks its
    completion led to, and why it cannot be withdrawn (None: it can, as far as the engine knows)."""
    task = _find(workflow, task_uuid)
    if task is None:
        return [], "该任务已被退回或撤回，不能再撤回"
    if task.state != TaskState.COMPLETED or not task.task_spec.manual:
        return [], "该任务尚未办结，无需撤回"
    if workflow.completed:
        return [], "案件流程已结束，不能撤回"
    caller = _caller(task)
    while caller is not None:
        if caller.state == TaskState.COMPLETED:
            return [], f"「{_name(caller)}」已随本任务办结，流程已进入后续环节，不能撤回"
        caller = _caller(caller)
    # A signature of a sign-off: the next step (or the next signer) hangs off the multi-instance task,
    # not off this instance, so the walk below would not find it; say no rather than leave it open.
    parent = task.parent
    if parent is not None and isinstance(parent.task_spec, MultiInstanceTask):
        if parent.state != TaskState.STARTED:
            return [], "会签已完成，流程已进入后续环节，不能撤回"
        if isinstance(parent.task_spec, SequentialMultiInstanceTask):
            later = [c for c in parent.task_spec._instances(parent) if _index(c) > _index(task)]
            if any(c.state == TaskState.COMPLETED for c in later):
                return [], "后续部门已签署，不能撤回"
            return [str(c.id) for c in later if c.state == TaskState.READY], None
    opened: list[str] = []
    for t in _descendants(workflow, task):
        if t.task_spec.manual and t.state == TaskState.COMPLETED:
            return [], f"下一步「{_name(t)}」已办结，不能撤回"
        if isinstance(t.task_spec, _PARALLEL) and len(t.task_spec.inputs) > 1 and t.state == TaskState.COMPLETED:
            return [], "并行事项已汇合，流程已继续，不能撤回"
        reason = _obstacle(t) if t.state == TaskState.COMPLETED and not isinstance(t.task_spec, _PARALLEL) else None
        if reason is not None:
            return [], reason.replace("不能回到时限之前", "不能撤回").replace("不能回到它之前", "不能撤回")
        if t.task_spec.manual and t.state == TaskState.READY:
            opened.append(str(t.id))
    return opened, None


def _renew_id(task: Any) -> str:
    """Give a reopened task a new id: the projection keeps one row per time a task is open (the row of
    its earlier completion stays as it was), and rows are keyed by the engine's task id."""
    old, new = task.id, uuid4()
    workflow = task.workflow
    del workflow.tasks[old]
    task.id = new
    workflow.tasks[new] = task
    parent = task.parent
    if parent is not None:
        parent._children = [new if child == old else child for child in parent._children]
    for child in task.children:
        child._parent = new
    return str(new)


def _rewind_sequential_signoff(task: Any) -> None:
    """Withdrawing a signature of a running sequential sign-off: the next signer's instance hangs off
    the multi-instance task, not off this one, so the engine's reset would leave it open. Drop it and
    step the sign-off back, so that signing again hands over to the same next signer."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, SequentialMultiInstanceTask) \
            or parent.state != TaskState.STARTED:
        return
    for later in [c for c in parent.task_spec._instances(parent) if _index(c) > _index(task)]:
        later.workflow._remove_task(later.id)
    parent.internal_data["current"] = _index(task) + 1
    parent.internal_data["merged"] = [m for m in parent.internal_data.get("merged", []) if m != str(task.id)]


def reset_to(workflow: BpmnWorkflow, task_uuid: str) -> tuple[Step, str]:
    """Reopen the completed user task `task_uuid`, dropping everything that followed it (the caller has
    checked it is safe: way_back / followers). Returns the step and the reopened task's new id."""
    task = _find(workflow, task_uuid)
    if task is None or task.state != TaskState.COMPLETED or not task.task_spec.manual:
        raise LookupError(task_uuid)
    open_before, fired_before = _open_and_fired(workflow)
    try:
        _rewind_sequential_signoff(task)
        workflow.reset_from_task_id(task.id)
        workflow.do_engine_steps()
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        raise _engine_failure(exc) from None
    if task.state != TaskState.READY:
        raise ProcessError(f"流程引擎未能重新打开「{_name(task)}」", detail=f"state {TaskState.get_name(task.state)}")
    return Step(open_before, _fired_since(workflow, fired_before)), _renew_id(task)


@dataclass(frozen=True)
class ElementState:
    """Where one BPMN element of a running case stands, for a process diagram."""

    process_id: str
    bpmn_id: str
    name: str
    state: str  # "done", "active" or "cancelled"


_REACHED = TaskState.COMPLETED | TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.CANCELLED


def element_states(workflow: BpmnWorkflow) -> list[ElementState]:
    """Every element the engine has reached, in the lifecycle and every process it called (a
    cancelled category process included): completed ones "done"; ready, started (a running call
    activity) or waiting (a timer or join the case waits at) ones "active"; a call activity whose
    process was withdrawn "cancelled". A boundary event counts only once it fired: waiting beside its
    task, or cancelled with it, it was never reached. Predicted (not yet reached) tasks are left out.
    One element may appear several times (loops); the caller decides which state wins."""
    started = set(workflow.subprocesses)  # call activities whose process was actually started
    out = []
    for t in workflow.get_tasks(state=_REACHED):
        spec = t.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if not bpmn_id:  # the engine's own start/join helpers
            continue
        boundary = isinstance(spec, BoundaryEvent)
        if t.state == TaskState.COMPLETED:
            state = "done"
        elif boundary:
            continue
        elif t.state in (TaskState.READY, TaskState.STARTED, TaskState.WAITING):
            state = "active"
        elif isinstance(spec, SubWorkflowTask) and t.id in started:
            state = "cancelled"
        else:
            continue  # a cancelled user task is the projection's to report; others were never reached
        out.append(ElementState(t.workflow.spec.name, bpmn_id, spec.bpmn_name or bpmn_id, state))
    return out


__all__ = ["SERIALIZER_VERSION", "ElementState", "FiredTimer", "ReadyTask", "Step", "WayBack", "complete", "dump",
           "element_states", "fire_timers", "followers", "load", "next_timer", "not_on_way", "ready_user_tasks",
           "ready_uuids", "reset_to", "signal", "start", "way_back"]


# ---------------------------------------------------------------------------------------------
# 会签 / 或签 / 依次会签: the signers of a running sign-off (a multi-instance user task)


@dataclass(frozen=True)
class SignerState:
    uuid: str | None  # None: a signer of a sequential sign-off whose turn has not come (no task yet)
    index: int
    state: str  # "ready" | "completed" | "cancelled" | "queued"
    role: str | None = None  # the signing role (always known for a queued signer)


class SignoffRefused(ValueError):
    """A change to a sign-off the engine cannot make; the message says why, for people."""


def _signoff_step(workflow: BpmnWorkflow, task_uuid: str) -> tuple[Any, Any]:
    """(the instance, the running multi-instance task above it) for an instance of a sign-off."""
    task = _find(workflow, task_uuid)
    if task is None:
        raise LookupError(task_uuid)
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, MultiInstanceTask):
        raise SignoffRefused("该任务不是会签任务")
    if parent.state != TaskState.STARTED:
        raise SignoffRefused("会签已结束，不能再调整签署部门")
    return task, parent


def _state_name(task: Any) -> str:
    if task.state == TaskState.COMPLETED:
        return "completed"
    if task.has_state(TaskState.FINISHED_MASK):
        return "cancelled"
    return "ready"


def _index(task: Any) -> int:
    value = task.internal_data.get("key_or_index", task.internal_data.get("item", -1))
    return value if isinstance(value, int) else -1


def signers(workflow: BpmnWorkflow, task_uuid: str, meta: TaskMeta | None = None) -> list[SignerState]:
    """Every instance of the sign-off the task belongs to, in the order they were created, then (for a
    sequential sign-off, given its `meta`) the signers whose turn is still to come; [] when the task is
    not (or no longer) part of a sign-off the workflow holds."""
    task = _find(workflow, task_uuid)
    if task is None or task.parent is None or not isinstance(task.parent.task_spec, MultiInstanceTask):
        return []
    parent = task.parent
    out = [SignerState(str(c.id), _index(c), _state_name(c), signer_of(c, meta) if meta else None)
           for c in parent.task_spec._instances(parent)]
    if meta is not None and meta.signoff is not None and meta.signoff.sequential \
            and parent.state == TaskState.STARTED:
        order, next_index = _order(parent, meta), parent.internal_data.get("current", 0)
        out += [SignerState(None, i, "queued", order[i]) for i in range(next_index, len(order))]
    return out


def add_signer(workflow: BpmnWorkflow, task_uuid: str, role: str, meta: TaskMeta,
               position: str = "after") -> tuple[Step, str | None]:
    """加签: one more signer of the running sign-off `task_uuid` belongs to, signed by `role`'s agency.
    A parallel sign-off gets another instance beside the others. A sequential one takes the new signer
    right after the one signing now (`position` "after"), or before them ("before": the current
    signer's task is withdrawn and comes back once the new signer has signed).
    Returns the step (what was open before) and the new instance's id (None when queued "after")."""
    task, parent = _signoff_step(workflow, task_uuid)
    open_before, fired_before = _open_and_fired(workflow)
    spec = parent.task_spec
    try:
        if isinstance(spec, SequentialMultiInstanceTask):
            current = next((c for c in spec._instances(parent) if c.state == TaskState.READY), None)
            if current is None:
                raise SignoffRefused("会签已结束，不能再调整签署部门")
            order, k = _order(parent, meta), _index(current)
            if position == "before":
                order.insert(k, role)
                parent.internal_data[ORDER_KEY] = order
                parent.internal_data["cardinality"] = len(order)
                current.workflow._remove_task(current.id)
                parent.internal_data["current"] = k
                spec.add_next_child(parent)
                child = parent.children[-1]
                workflow.do_engine_steps()
                return Step(open_before, _fired_since(workflow, fired_before)), str(child.id)
            order.insert(k + 1, role)
            parent.internal_data[ORDER_KEY] = order
            parent.internal_data["cardinality"] = len(order)
            return Step(open_before, []), None
        instances = list(spec._instances(parent))
        index = max((c.internal_data.get("key_or_index", -1) for c in instances), default=-1) + 1
        spec.create_child(parent, index, index)
    except SignoffRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        raise _engine_failure(exc) from None
    child = parent.children[-1]
    child.internal_data[SIGNER_KEY] = role
    return Step(open_before, []), str(child.id)


def _finish_or_next(workflow: BpmnWorkflow, parent: Any) -> None:
    """After an unsigned instance is dropped: the sign-off completes when nobody else is left to sign,
    otherwise a sequential one opens its next signer."""
    spec = parent.task_spec
    if spec.children_complete(parent) and not any(
            c.state == TaskState.READY for c in spec._instances(parent)):
        parent._set_state(TaskState.READY)
    elif isinstance(spec, SequentialMultiInstanceTask) and not any(
            c.state == TaskState.READY for c in spec._instances(parent)):
        spec.add_next_child(parent)
    workflow.do_engine_steps()


def remove_signer(workflow: BpmnWorkflow, task_uuid: str, meta: TaskMeta, role: str | None = None) -> Step:
    """减签: drop a signer who has not signed: the instance `task_uuid`, or (with `role`) a signer of
    the same sequential sign-off whose turn has not come. When nobody else is left to sign, the sign-off
    is complete and the process moves on. Refused for the last signer (nobody would sign)."""
    task, parent = _signoff_step(workflow, task_uuid)
    spec = parent.task_spec
    sequential = isinstance(spec, SequentialMultiInstanceTask)
    instances = list(spec._instances(parent))
    order = _order(parent, meta) if sequential else []
    next_index = parent.internal_data.get("current", 0) if sequential else 0
    if role is not None:
        queued = [i for i in range(next_index, len(order)) if order[i] == role]
        if not sequential or not queued:
            raise SignoffRefused("该部门不在排队待签的部门中")
        signing = any(c.state in (TaskState.READY, TaskState.COMPLETED) for c in instances)
        if not signing and len(order) - next_index <= 1:
            raise SignoffRefused("至少保留一个会签部门")
        order.pop(queued[0])
        parent.internal_data[ORDER_KEY] = order
        parent.internal_data["cardinality"] = len(order)
        return Step(_open_and_fired(workflow)[0], [])
    if task.state != TaskState.READY:
        raise SignoffRefused("该部门已签署，不能减签")
    others = [c for c in instances if c is not task]
    if not any(c.state in (TaskState.READY, TaskState.COMPLETED) for c in others) and len(order) - next_index <= 0:
        raise SignoffRefused("至少保留一个会签部门")
    open_before, fired_before = _open_and_fired(workflow)
    try:
        if sequential:
            k = _index(task)
            order.pop(k)
            parent.internal_data[ORDER_KEY] = order
            parent.internal_data["cardinality"] = len(order)
            parent.internal_data["current"] = k
        task.workflow._remove_task(task.id)
        _finish_or_next(workflow, parent)
        fired = _fired_since(workflow, fired_before)
    except Exception as exc:  # noqa: BLE001 - any engine failure becomes a ProcessError
        raise _engine_failure(exc) from None
    return Step(open_before, fired)
