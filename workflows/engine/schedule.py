"""倒排工期 on the process graphs: which user tasks still lie ahead of a case's open tasks, and how many
working days of SLA (sla_workdays) each of them leaves before a deadline's target is done.

The rule, applied to the BPMN XML of one process version (read with lxml, as specs.py reads it):
- the *current path* from an open task follows the flows to the end of the case's category process,
  or to the element a policy timer of that category is attached to (a boundary timer whose date is
  `deadline_this_year(m, d)` or `next_deadline(m, d)`: that element must be done by the date);
- at an exclusive (or inclusive, event-based) choice the branch with the least remaining SLA is
  taken, the optimistic plan: if even that cannot fit, the case is at risk whatever is decided;
- a parallel split waits for its longest branch (all its branches are steps ahead);
- loop-backs are ignored (each step counted once), and so are boundary events, which are the
  exceptions to the plan, not the plan;
- a call activity costs the least remaining SLA of the process it calls, and its steps are ahead;
- a task without an SLA costs nothing (it has no time limit of its own).
A step's *rest* is its own SLA plus the longest remaining chain after it up to the target; its latest
start is the deadline counted back by its rest in working days (workflows/schedule.py does the dates).

Specs are immutable per process version, so the analysis is cached per bundle and per question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from lxml import etree

from .routing import default_label
from .specs import BPMN_NS, LIFECYCLE_PROCESS, Bundle

_Q = f"{{{BPMN_NS}}}"
_NOT_FLOW_NODES = {"sequenceFlow", "laneSet", "documentation", "extensionElements", "boundaryEvent",
                   "textAnnotation", "association", "dataObject", "dataObjectReference", "dataStoreReference",
                   "ioSpecification", "property"}
_TAKE_LONGEST = {"parallelGateway"}
_USER_TASKS = {"userTask", "manualTask"}
_POLICY_TIMER = re.compile(r"^\s*(deadline_this_year|next_deadline)\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)\s*$")
# One analysis per distinct question; a version has a few dozen tasks, so this stays small.
_QUESTIONS_KEPT = 4096


@dataclass(frozen=True)
class PolicyTimer:
    """A category's policy deadline as its BPMN says it: `attached_to` must be done by the date that
    `function(month, day)` gives (see engine/evaluator.py)."""

    process_id: str
    attached_to: str
    attached_name: str
    function: str  # "deadline_this_year" or "next_deadline"
    month: int
    day: int


@dataclass(frozen=True)
class PlannedStep:
    process_id: str
    bpmn_id: str
    name: str
    lane: str
    lane_label: str
    sla: int | None  # working days the step takes (a sequential sign-off: each signer's SLA in turn)
    rest: int  # working days from this step's start until the target is done (its SLA included)
    open: bool


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlannedStep, ...]  # the open ones first, then the most work still ahead first
    policy: PolicyTimer | None  # the policy deadline the steps lead to, None: the category's end

    @property
    def remaining(self) -> int:
        """Working days the critical chain still needs from its first step's start."""
        return max((s.rest for s in self.steps), default=0)


@dataclass
class _Node:
    id: str
    kind: str
    name: str
    called: str | None
    outgoing: list[str]


@dataclass
class _Process:
    id: str
    nodes: dict[str, _Node]
    starts: list[str]
    policy: PolicyTimer | None


def _parse_process(el: etree._Element) -> _Process:
    pid = el.get("id")
    nodes: dict[str, _Node] = {}
    policy: PolicyTimer | None = None
    for child in el:
        if not isinstance(child.tag, str):
            continue
        kind = etree.QName(child).localname
        if kind == "boundaryEvent":
            date_el = child.find(f".//{_Q}timeDate")
            found = _POLICY_TIMER.match(date_el.text or "") if date_el is not None else None
            if found and policy is None:
                policy = PolicyTimer(pid, child.get("attachedToRef"), "", found.group(1), int(found.group(2)),
                                     int(found.group(3)))
            continue
        if kind in _NOT_FLOW_NODES or not child.get("id"):
            continue
        nodes[child.get("id")] = _Node(child.get("id"), kind, child.get("name") or "",
                                       child.get("calledElement"), [])
    for flow in el.iter(f"{_Q}sequenceFlow"):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in nodes and target in nodes:  # flows out of boundary events are not the plan
            nodes[source].outgoing.append(target)
    if policy is not None and policy.attached_to in nodes:
        policy = PolicyTimer(policy.process_id, policy.attached_to, nodes[policy.attached_to].name,
                             policy.function, policy.month, policy.day)
    starts = [n.id for n in nodes.values() if n.kind == "startEvent"]
    _drop_loop_backs(nodes, starts)
    return _Process(pid, nodes, starts, policy)


def _drop_loop_backs(nodes: dict[str, _Node], starts: list[str]) -> None:
    """Remove every flow that returns to a node on the current depth-first path (from the start
    events first, then from whatever they do not reach), leaving a graph without cycles."""
    done: set[str] = set()
    for root in [*starts, *nodes]:
        if root in done:
            continue
        on_path: set[str] = {root}
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            nid, i = stack[-1]
            outgoing = nodes[nid].outgoing
            if i >= len(outgoing):
                stack.pop()
                on_path.discard(nid)
                done.add(nid)
                continue
            stack[-1] = (nid, i + 1)
            target = outgoing[i]
            if target in on_path:
                outgoing.pop(i)
                stack[-1] = (nid, i)
            elif target not in done:
                on_path.add(target)
                stack.append((target, 0))


class Graphs:
    """The processes of one bundle as graphs, with the remaining-SLA questions answered once each."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.processes: dict[str, _Process] = {}
        for text in bundle.sources.values():
            root = etree.fromstring(text.encode())
            for el in root.iter(f"{_Q}process"):
                process = _parse_process(el)
                self.processes[process.id] = process
        self._rem: dict[tuple[str, str, str | None, str | None], float] = {}
        self._plans: dict[tuple, Plan | None] = {}

    # -- costs ----------------------------------------------------------------------------------

    def _sla(self, pid: str, nid: str) -> int | None:
        """The working days a step takes: its SLA, or for a sequential sign-off (依次会签) the SLA of
        each declared signer in turn (a signer added on the fly is not foreseen)."""
        meta = self.bundle.tasks.get((pid, nid))
        if meta is None or meta.sla_workdays is None:
            return None
        if meta.signoff is not None and meta.signoff.sequential:
            return meta.sla_workdays * len(meta.signoff.roles)
        return meta.sla_workdays

    def _own(self, pid: str, node: _Node, only: str | None) -> float:
        if node.kind in _USER_TASKS:
            return self._sla(pid, node.id) or 0
        if node.kind == "callActivity" and node.called in self.processes:
            return self.whole(node.called, only)
        return 0

    def whole(self, pid: str, only: str | None = None) -> float:
        """The least remaining SLA of a whole process, start to end."""
        starts = self.processes[pid].starts
        return min((self.rem(pid, s, None, only) for s in starts), default=0)

    def _choices(self, pid: str, node: _Node, only: str | None) -> list[str]:
        """The branches a choice may take: all of them, except that a choice among category processes
        (the lifecycle's split by category) takes only the case's own (`only`)."""
        if only is None:
            return node.outgoing
        nodes = self.processes[pid].nodes
        called = {o: nodes[o].called for o in node.outgoing if nodes[o].kind == "callActivity"}
        if only in called.values():
            return [o for o in node.outgoing if called.get(o) == only]
        return node.outgoing

    def rem(self, pid: str, nid: str, target: str | None, only: str | None = None) -> float:
        """Working days from the start of `nid` until `target` (an element of `pid`) is done, or until
        `pid` ends when `target` is None; infinite when the target cannot be reached from `nid`."""
        key = (pid, nid, target, only)
        known = self._rem.get(key)
        if known is not None:
            return known
        node = self.processes[pid].nodes[nid]
        own = self._own(pid, node, only)
        if nid == target:
            value = own
        else:
            branches = [self.rem(pid, o, target, only) for o in self._choices(pid, node, only)]
            if not branches:
                value = own if target is None else math.inf
            elif node.kind in _TAKE_LONGEST and len(branches) > 1:
                value = own + max(branches)
            else:
                value = own + min(branches)
        self._rem[key] = value
        return value

    def _after(self, pid: str, nid: str, target: str | None, only: str | None = None) -> float:
        """Working days from the end of `nid` until the target is done (or `pid` ends)."""
        if nid == target:
            return 0
        node = self.processes[pid].nodes[nid]
        return self.rem(pid, nid, target, only) - self._own(pid, node, only)

    # -- steps ----------------------------------------------------------------------------------

    def _walk(self, pid: str, nid: str, target: str | None, tail: float, out: dict[tuple[str, str], float],
              *, inclusive: bool, only: str | None = None, expand_target: bool = True) -> None:
        """Add the steps on the chosen path from `nid` (itself when `inclusive`) with their rest."""
        todo = [(nid, inclusive)]
        seen: set[str] = set()
        nodes = self.processes[pid].nodes
        while todo:
            current, visit = todo.pop()
            if visit:
                if current in seen:
                    continue
                seen.add(current)
                node = nodes[current]
                if node.kind in _USER_TASKS:
                    rest = self.rem(pid, current, target, only) + tail
                    key = (pid, current)
                    out[key] = max(out.get(key, -1), rest)
                elif node.kind == "callActivity" and node.called in self.processes and \
                        (expand_target or current != target):
                    inner_tail = tail + self._after(pid, current, target, only)
                    for start in self.processes[node.called].starts:
                        self._walk(node.called, start, None, inner_tail, out, inclusive=True)
                if current == target:
                    continue
            node = nodes[current]
            options = [(o, self.rem(pid, o, target, only)) for o in self._choices(pid, node, only)]
            options = [(o, v) for o, v in options if v != math.inf]
            if not options:
                continue
            if node.kind in _TAKE_LONGEST:
                todo.extend((o, True) for o, _ in options)
            else:
                todo.append((min(options, key=lambda ov: ov[1])[0], True))

    def _call_path(self, root: str, pid: str) -> list[tuple[str, str]] | None:
        """The call activities leading from process `root` down to process `pid`: [(process, call
        activity id), …], outermost first; [] when pid is root; None when root never calls pid. Where
        several lead there the first found (in document order) is taken."""
        if root == pid:
            return []
        queue: list[tuple[str, list[tuple[str, str]]]] = [(root, [])]
        seen = {root}
        while queue:
            current, path = queue.pop(0)
            for node in self.processes[current].nodes.values():
                if node.kind != "callActivity" or node.called not in self.processes:
                    continue
                step = [*path, (current, node.id)]
                if node.called == pid:
                    return step
                if node.called not in seen:
                    seen.add(node.called)
                    queue.append((node.called, step))
        return None

    def _lifecycle_call(self, category_pid: str) -> str | None:
        process = self.processes.get(LIFECYCLE_PROCESS)
        if process is None:
            return None
        return next((n.id for n in process.nodes.values()
                     if n.kind == "callActivity" and n.called == category_pid), None)

    def _position(self, category_pid: str, target: str | None, pid: str, nid: str,
                  out: dict[tuple[str, str], float]) -> bool:
        """Add the steps ahead of one open task; False when they do not lead to the target."""
        if pid == LIFECYCLE_PROCESS and category_pid != LIFECYCLE_PROCESS:
            call = self._lifecycle_call(category_pid)
            if call is None or nid not in self.processes[pid].nodes:
                return False
            if self.rem(pid, nid, call, category_pid) == math.inf:
                return False  # the category is behind it (verification, closeout): nothing ahead
            category = min(self.rem(category_pid, s, target) for s in self.processes[category_pid].starts)
            if category == math.inf:
                return False
            # Up to the category: what the lifecycle needs before it, then the category's own steps.
            before: dict[tuple[str, str], float] = {}
            self._walk(pid, nid, call, 0, before, inclusive=True, only=category_pid, expand_target=False)
            call_own = self._own(pid, self.processes[pid].nodes[call], category_pid)
            for key, rest in before.items():
                out[key] = max(out.get(key, -1), rest - call_own + category)
            for start in self.processes[category_pid].starts:
                self._walk(category_pid, start, target, 0, out, inclusive=True)
            return True
        path = self._call_path(category_pid, pid)
        if path is None or nid not in self.processes[pid].nodes:
            return False
        levels = [*path, (pid, nid)]
        tails: list[float] = []
        tail = 0.0
        for level, (p, n) in enumerate(levels):
            tails.append(tail)
            if level < len(levels) - 1:
                tail += self._after(p, n, target if p == category_pid else None)
        if tail == math.inf or self.rem(pid, nid, target if pid == category_pid else None) == math.inf:
            return False
        self._walk(pid, nid, target if pid == category_pid else None, tails[-1], out, inclusive=True)
        for level in range(len(levels) - 2, -1, -1):  # then what follows each calling activity
            p, n = levels[level]
            if n == target:
                break
            self._walk(p, n, target if p == category_pid else None, tails[level], out, inclusive=False)
        return True

    def plan(self, category_pid: str, open_tasks: frozenset[tuple[str, str]], *, to_policy: bool) -> Plan | None:
        """The steps ahead of the open tasks up to the category's policy target (`to_policy`, None when
        no open task leads there) or up to the category's end (None when nothing leads there)."""
        key = (category_pid, open_tasks, to_policy)
        if key in self._plans:
            return self._plans[key]
        process = self.processes.get(category_pid)
        policy = process.policy if process is not None else None
        plan = None
        if process is not None and (policy is not None or not to_policy):
            target = policy.attached_to if to_policy else None
            rests: dict[tuple[str, str], float] = {}
            reached = [self._position(category_pid, target, pid, nid, rests) for pid, nid in sorted(open_tasks)]
            if any(reached):
                plan = Plan(self._steps(rests, open_tasks), policy if to_policy else None)
        if len(self._plans) < _QUESTIONS_KEPT:
            self._plans[key] = plan
        return plan

    def _steps(self, rests: dict[tuple[str, str], float], open_tasks: frozenset[tuple[str, str]]
               ) -> tuple[PlannedStep, ...]:
        steps = []
        for (pid, nid), rest in rests.items():
            if rest == math.inf:
                continue
            meta = self.bundle.tasks.get((pid, nid))
            if meta is None:
                continue
            label = meta.lane_label
            if meta.signoff is not None:  # the signers, not the lane the step is drawn in
                label = "、".join(default_label(role) for role in meta.signoff.roles)
            steps.append(PlannedStep(pid, nid, meta.name, meta.lane, label, self._sla(pid, nid),
                                     int(rest), (pid, nid) in open_tasks))
        # Open steps first, then by latest start (the most work still ahead starts first).
        steps.sort(key=lambda s: (not s.open, -s.rest, s.name))
        return tuple(steps)


_graphs: dict[int, Graphs] = {}


def graphs(bundle: Bundle) -> Graphs:
    """The graphs of a bundle, built once per bundle (bundles are cached per content hash, so once
    per process version and process)."""
    found = _graphs.get(id(bundle))
    if found is None or found.bundle is not bundle:
        found = _graphs[id(bundle)] = Graphs(bundle)
    return found


def category_process(category: int) -> str:
    """The process id a category runs in (bpmn/category_N_*.bpmn)."""
    return f"category_{category}"
