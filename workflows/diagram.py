"""Where a case stands, drawn on its process diagrams: for each process file the case has run in
(the lifecycle, its category, a category it was moved out of, the shared sub-processes it entered),
the BPMN source of the case's own process version and the element ids completed, active and
withdrawn.

User tasks come from the task projection (cheap, and what every other page shows); events,
gateways and call activities come from the engine's state of this one case, read once. A state the
engine cannot read still leaves the user tasks: the page never fails because a diagram cannot be
marked in full.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, ProcessFile, ProcessInstance, ProcessVersion, Task, User

from . import case_queries, processes
from .engine import runtime
from .engine.specs import LIFECYCLE_PROCESS
from .errors import HuiqianError

log = logging.getLogger("huiqian.diagram")

STATES = ("active", "cancelled", "done")  # also the order in which one state wins over another
STATE_LABELS = {"active": "办理中", "cancelled": "已撤销", "done": "已完成"}
_TASK_STATES = {"ready": "active", "completed": "done", "cancelled": "cancelled"}


@dataclass(frozen=True)
class Element:
    id: str
    name: str
    state: str
    user_task: bool

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class ProcessDiagram:
    """One process file as the case page draws it (a file may hold several pools, e.g. a category
    and its continuation); `container` is the page element it is drawn in."""

    container: str
    process_ids: list[str]
    file_name: str
    name: str
    elements: list[Element] = field(default_factory=list)
    xml: str | None = None

    def ids(self, state: str) -> list[str]:
        return [e.id for e in self.elements if e.state == state]

    @property
    def active(self) -> list[str]:
        return self.ids("active")

    @property
    def done(self) -> list[str]:
        return self.ids("done")

    @property
    def cancelled(self) -> list[str]:
        return self.ids("cancelled")

    @property
    def status(self) -> str:
        """running while anything in it is active; withdrawn when something was withdrawn and nothing
        runs; otherwise completed."""
        if self.active:
            return "running"
        return "cancelled" if self.cancelled else "completed"

    @property
    def status_label(self) -> str:
        return {"running": "办理中", "cancelled": "已撤销", "completed": "已办结"}[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {"container": self.container, "process_ids": self.process_ids, "file_name": self.file_name,
                "name": self.name, "status": self.status, "xml": self.xml, "active": self.active,
                "done": self.done, "cancelled": self.cancelled}


@dataclass(frozen=True)
class CaseDiagram:
    case_id: int
    process_version: int
    diagrams: list[ProcessDiagram]
    # False when the engine's state could not be read: only user tasks are marked.
    complete: bool

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "process_version": self.process_version, "complete": self.complete,
                "diagrams": [d.as_dict() for d in self.diagrams]}


def _merge(states: dict[tuple[str, str], tuple[str, str, bool]], key: tuple[str, str], name: str, state: str,
           user_task: bool) -> None:
    known = states.get(key)
    if known is None or STATES.index(state) < STATES.index(known[1]):
        states[key] = (name, state, user_task or (known is not None and known[2]))
    elif user_task and not known[2]:
        states[key] = (known[0], known[1], True)


def case_diagram(session: Session, actor: User, case_id: int, *, with_xml: bool = False) -> CaseDiagram:
    """The case's process diagrams with the elements marked by state, lifecycle first, then each
    other process file in the order the case entered it. `with_xml`: include each file's BPMN source
    as stored for the case's process version (never the files on disk).

    Permission: as `case_queries.get_case` (outside the reader's jurisdiction: NotFound). Reads only.
    """
    case: Case = case_queries.get_case(session, actor, case_id)
    instance, version_number, content_hash = session.execute(
        select(ProcessInstance, ProcessVersion.number, ProcessVersion.content_hash)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
        .where(ProcessInstance.case_id == case.id)).one()
    bundle = processes.bundle_of(session, instance.version_id, content_hash)

    # (process id, element id) -> (name, state, is a user task); the order of first sight is kept.
    states: dict[tuple[str, str], tuple[str, str, bool]] = {}
    order: list[str] = [LIFECYCLE_PROCESS]
    for process_id, bpmn_id, name, status in session.execute(
            select(Task.process_id, Task.bpmn_id, Task.name, Task.status)
            .where(Task.case_id == case.id).order_by(Task.id)):
        if process_id not in order:
            order.append(process_id)
        _merge(states, (process_id, bpmn_id), name, _TASK_STATES.get(status, "done"), True)
    complete = True
    try:
        workflow = runtime.load(instance.state, bundle)
        for e in runtime.element_states(workflow):
            if e.process_id not in order:
                order.append(e.process_id)
            _merge(states, (e.process_id, e.bpmn_id), e.name, e.state, False)
    except HuiqianError as exc:  # a damaged or unreadable state: show what the projection knows
        log.warning("case %s: engine state unreadable for the diagram: %s", case.id, exc)
        complete = False

    by_file: dict[str, ProcessDiagram] = {}
    for process_id in order:
        file_name = bundle.file_of_process.get(process_id)
        if file_name is None:
            continue
        diagram = by_file.get(file_name)
        if diagram is None:
            diagram = by_file[file_name] = ProcessDiagram(
                f"diagram-{process_id}", [], file_name, bundle.process_names.get(process_id, process_id))
        diagram.process_ids.append(process_id)
    for (process_id, bpmn_id), (name, state, user_task) in states.items():
        file_name = bundle.file_of_process.get(process_id)
        if file_name in by_file:
            by_file[file_name].elements.append(Element(bpmn_id, name, state, user_task))

    if with_xml and by_file:
        sources = dict(session.execute(
            select(ProcessFile.file_name, ProcessFile.source)
            .where(ProcessFile.version_id == instance.version_id, ProcessFile.file_name.in_(list(by_file)))).all())
        for file_name, diagram in by_file.items():
            diagram.xml = sources.get(file_name)
    return CaseDiagram(case.id, version_number, list(by_file.values()), complete)
