"""Running workflows: start, list ready user tasks, complete, fire timers, (de)serialize.

State is serialized without the process specs (they are stored once per version and shared):
the serialized instance carries only tasks and data, which halves its size and the work of loading it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .evaluator import SCRIPT_ENGINE
from .specs import Bundle, TaskMeta


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
    return json.dumps(_SERIALIZER.to_dict(workflow), ensure_ascii=False, separators=(",", ":"))


def load(state: str, bundle: Bundle) -> BpmnWorkflow:
    return _SERIALIZER.from_dict(json.loads(state), bundle=bundle)


def start(bundle: Bundle, data: dict[str, Any]) -> BpmnWorkflow:
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.data.update(data)
    start_task = workflow.task_tree
    start_task.data.update(data)
    workflow.do_engine_steps()
    return workflow


@dataclass(frozen=True)
class ReadyTask:
    uuid: str
    process_id: str
    meta: TaskMeta
    due_at: datetime | None


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
        out.append(ReadyTask(str(task.id), process_id, meta, due))
    return out


def complete(workflow: BpmnWorkflow, task_uuid: str, data: dict[str, Any]) -> None:
    task = workflow.get_task_from_id(UUID(task_uuid))
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise LookupError(task_uuid)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Let due timers fire (the clock module decides what 'now' is) and run what follows them."""
    workflow.refresh_timers()
    workflow.do_engine_steps()
    # A timer that became ready in the step above runs its outgoing path on this one.
    workflow.refresh_timers()
    workflow.do_engine_steps()


def next_timer(workflow: BpmnWorkflow) -> datetime | None:
    due = [
        _timer_value(t) for t in workflow.event_manager.tasks.values()
        if isinstance(t.task_spec.event_definition, TimerEventDefinition)
    ]
    due = [d for d in due if d is not None]
    return min(due).astimezone(UTC) if due else None


__all__ = ["ReadyTask", "complete", "dump", "fire_timers", "load", "next_timer", "ready_user_tasks", "start"]
