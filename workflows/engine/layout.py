"""Automatic diagram layout (BPMN DI) for the hand-written BPMN files.

The files under ``bpmn/`` carry only process semantics. Modelers (bpmn-js, Camunda Modeler) need
diagram interchange to show anything, and need a collaboration with participants to draw lanes.
This module adds exactly that and nothing else: a ``collaboration`` (only when the file has none,
or participants for processes it does not reference yet) and one freshly computed
``bpmndi:BPMNDiagram`` replacing any existing one. Process elements are never touched, and the
whitespace of the existing document is kept, so the diff of a re-layout is confined to the DI.

Layout: per process, nodes are ranked left to right by longest path over the sequence flows
(back edges ignored), lanes are horizontal bands in laneSet order, nodes sharing a lane and a rank
are stacked in sub-rows, and pools of several processes are stacked vertically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
_DI_PREFIXES = {"bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS}

LANE_HEADER = 30
POOL_PADDING = 50
COLUMN_WIDTH = 160
ROW_HEIGHT = 120
SLOT_WIDTH = 100
POOL_GAP = 50
POOL_X = 160
POOL_Y = 80
MARGIN = 10

_TASKS = {
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
}
_EVENTS = {
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
}
_GATEWAYS = {
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
}
_FLOW_NODES = _TASKS | _EVENTS | _GATEWAYS
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def _q(local: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{local}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _is_bpmn(el: etree._Element, names: set[str] | str) -> bool:
    if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
        return False
    local = _local(el)
    return local == names if isinstance(names, str) else local in names


def _size(kind: str) -> tuple[int, int]:
    if kind in _EVENTS:
        return 36, 36
    if kind in _GATEWAYS:
        return 50, 50
    return 100, 80


@dataclass(frozen=True)
class _Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


@dataclass
class _Flow:
    id: str
    source: str
    target: str


@dataclass
class _ProcessModel:
    nodes: list[etree._Element]  # flow nodes, document order
    flows: list[_Flow]
    lanes: list[tuple[str, set[str]]]  # top-level lane id -> node ids (incl. nested lanes)
    host_of: dict[str, str]  # boundary event id -> host id


def _read_process(process: etree._Element) -> _ProcessModel:
    nodes = [el for el in process if _is_bpmn(el, _FLOW_NODES) and el.get("id")]
    flows = [
        _Flow(el.get("id", ""), el.get("sourceRef", ""), el.get("targetRef", ""))
        for el in process
        if _is_bpmn(el, "sequenceFlow") and el.get("id")
    ]
    lanes = []
    for lane_set in process.iterchildren(_q("laneSet")):
        for lane in lane_set.iterchildren(_q("lane")):
            refs = {(ref.text or "").strip() for ref in lane.iter(_q("flowNodeRef"))}
            lanes.append((lane.get("id", ""), refs))
    host_of = {el.get("id", ""): el.get("attachedToRef", "") for el in nodes if _local(el) == "boundaryEvent"}
    return _ProcessModel(nodes, flows, lanes, host_of)


def _rank(model: _ProcessModel) -> tuple[dict[str, int], set[str]]:
    """Longest-path ranks of the non-boundary nodes, and the ids of flows that are back edges."""
    ranked = [el.get("id", "") for el in model.nodes if el.get("id") not in model.host_of]
    ranked_set = set(ranked)
    succ: dict[str, list[tuple[str, str]]] = {n: [] for n in ranked}
    # A flow leaving a boundary event counts as leaving its host, so its target lands after the host.
    for flow in model.flows:
        src = model.host_of.get(flow.source, flow.source)
        if src in ranked_set and flow.target in ranked_set:
            succ[src].append((flow.target, flow.id))

    starts = [el.get("id", "") for el in model.nodes if _local(el) == "startEvent"]
    has_incoming = {t for edges in succ.values() for t, _ in edges}
    roots = starts + [n for n in ranked if n not in has_incoming] + ranked
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = finished
    back: set[str] = set()
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            for target, flow_id in it:
                if state.get(target) == 1:
                    back.add(flow_id)
                elif target not in state:
                    state[target] = 1
                    stack.append((target, iter(succ[target])))
                    break
            else:
                state[node] = 2
                stack.pop()

    indegree = dict.fromkeys(ranked, 0)
    for edges in succ.values():
        for target, flow_id in edges:
            if flow_id not in back:
                indegree[target] += 1
    rank = dict.fromkeys(ranked, 0)
    ready = [n for n in ranked if indegree[n] == 0]
    while ready:
        node = ready.pop(0)
        for target, flow_id in succ[node]:
            if flow_id in back:
                continue
            rank[target] = max(rank[target], rank[node] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    # Self loops are not in `back` when they come from a boundary event of the node itself.
    back |= {f.id for f in model.flows if model.host_of.get(f.source, f.source) == f.target}
    return rank, back


@dataclass
class _PoolLayout:
    pool: _Box
    lanes: list[tuple[str, _Box]]
    shapes: dict[str, _Box]
    back: set[str]


def _layout_process(model: _ProcessModel, pool_y: int, pool_w: int | None) -> _PoolLayout:
    rank, back = _rank(model)
    kinds = {el.get("id", ""): _local(el) for el in model.nodes}
    lane_of: dict[str, str | None] = {}
    for node in rank:
        lane_of[node] = next((lid for lid, refs in model.lanes if node in refs), None)
    bands: list[str | None] = [lid for lid, _ in model.lanes]
    if not bands or any(lane is None for lane in lane_of.values()):
        bands.append(None)

    subrow: dict[str, int] = {}
    band_rows: dict[str | None, int] = {}
    for band in bands:
        counts: dict[int, int] = {}
        for node in rank:  # document order
            if lane_of[node] == band:
                subrow[node] = counts.get(rank[node], 0)
                counts[rank[node]] = subrow[node] + 1
        band_rows[band] = max([1, *counts.values()])

    max_rank = max(rank.values(), default=0)
    width = LANE_HEADER + POOL_PADDING + max_rank * COLUMN_WIDTH + SLOT_WIDTH + POOL_PADDING
    if pool_w is not None:
        width = pool_w

    shapes: dict[str, _Box] = {}
    lanes: list[tuple[str, _Box]] = []
    y = pool_y
    for band in bands:
        height = band_rows[band] * ROW_HEIGHT
        if band is not None:
            lanes.append((band, _Box(POOL_X + LANE_HEADER, y, width - LANE_HEADER, height)))
        for node in rank:
            if lane_of[node] != band:
                continue
            w, h = _size(kinds[node])
            col_x = POOL_X + LANE_HEADER + POOL_PADDING + rank[node] * COLUMN_WIDTH
            row_y = y + subrow[node] * ROW_HEIGHT
            shapes[node] = _Box(col_x + (SLOT_WIDTH - w) // 2, row_y + (ROW_HEIGHT - h) // 2, w, h)
        y += height

    by_host: dict[str, list[str]] = {}
    for boundary, host in model.host_of.items():
        by_host.setdefault(host, []).append(boundary)
    for host, boundaries in by_host.items():
        host_box = shapes.get(host)
        if host_box is None:
            continue
        for i, boundary in enumerate(boundaries):
            # From the right corner leftwards, leaving the bottom centre free for back edges.
            cx = host_box.right - 25 - i * 45
            shapes[boundary] = _Box(cx - 18, host_box.bottom - 18, 36, 36)

    return _PoolLayout(_Box(POOL_X, pool_y, width, y - pool_y), lanes, shapes, back)


def _route(src: _Box, tgt: _Box, from_boundary: bool, is_back: bool) -> list[tuple[int, int]]:
    half_row = ROW_HEIGHT // 2
    if from_boundary:
        start = (src.cx, src.bottom)
        if tgt.x <= src.cx:
            low = max(src.bottom, tgt.bottom) + MARGIN
            return [start, (src.cx, low), (tgt.cx, low), (tgt.cx, tgt.bottom)]
        if tgt.cy > src.bottom:
            return [start, (src.cx, tgt.cy), (tgt.x, tgt.cy)]
        # A boundary event overhangs its host's row, so the detour runs just past the row border.
        low = src.bottom + 2 * MARGIN
        mid = max(src.cx, tgt.x - 2 * MARGIN)
        return [start, (src.cx, low), (mid, low), (mid, tgt.cy), (tgt.x, tgt.cy)]
    if is_back or tgt.x <= src.x:
        if tgt.y >= src.bottom:
            # Target in a lower row: come in from the top, through the empty top margin of its row.
            high = tgt.cy - half_row + MARGIN
            return [(src.cx, src.bottom), (src.cx, high), (tgt.cx, high), (tgt.cx, tgt.y)]
        # The empty bottom margin of the source row keeps the way back clear of the row's shapes.
        low = max(src.cy + half_row - MARGIN, tgt.bottom + MARGIN)
        return [(src.cx, src.bottom), (src.cx, low), (tgt.cx, low), (tgt.cx, tgt.bottom)]
    if src.cy == tgt.cy:
        return [(src.right, src.cy), (tgt.x, tgt.cy)]
    mid = (src.right + tgt.x) // 2
    return [(src.right, src.cy), (mid, src.cy), (mid, tgt.cy), (tgt.x, tgt.cy)]


def _message_route(src: _Box, tgt: _Box) -> list[tuple[int, int]]:
    if tgt.y >= src.bottom:
        start, end = (src.cx, src.bottom), (tgt.cx, tgt.y)
    else:
        start, end = (src.cx, src.y), (tgt.cx, tgt.bottom)
    mid = (start[1] + end[1]) // 2
    if start[0] == end[0]:
        return [start, end]
    return [start, (start[0], mid), (end[0], mid), end]


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _child_indent(parent: etree._Element) -> str:
    text = parent.text
    if text and not text.strip() and "\n" in text:
        return text
    return "\n  "


def _ensure_collaboration(
    root: etree._Element, processes: list[etree._Element], taken: set[str]
) -> etree._Element:
    collab = next(root.iterchildren(_q("collaboration")), None)
    if collab is None:
        collab = etree.Element(_q("collaboration"))
        collab.set("id", _unique_id("Collaboration_1", taken))
        first = processes[0]
        prev = first.getprevious()
        before = (prev.tail if prev is not None else root.text) or _child_indent(root)
        if prev is not None:
            prev.tail = before
        else:
            root.text = before
        collab.tail = before
        first.addprevious(collab)
    referenced = {p.get("processRef") for p in collab.iterchildren(_q("participant"))}
    indent = _child_indent(root)
    inner = indent + _indent_unit(indent)
    for process in processes:
        if process.get("id") in referenced:
            continue
        part = etree.Element(_q("participant"))
        part.set("id", _unique_id(f"Participant_{process.get('id')}", taken))
        if process.get("name"):
            part.set("name", process.get("name", ""))
        part.set("processRef", process.get("id", ""))
        existing = list(collab.iterchildren(_q("participant")))
        if existing:
            part.tail = existing[-1].tail
            existing[-1].tail = inner
            existing[-1].addnext(part)
        elif len(collab):
            part.tail = inner
            collab.insert(0, part)
        else:
            collab.text, part.tail = inner, indent
            collab.append(part)
    return collab


def _fmt(value: int) -> str:
    return str(int(value))


def layout_xml(xml: str) -> str:
    """Return ``xml`` with a freshly computed BPMNDiagram (and a collaboration if missing)."""
    parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, remove_blank_text=False)
    root = etree.fromstring(_XML_DECL.sub("", xml, count=1), parser)
    tree = root.getroottree()
    if not _is_bpmn(root, "definitions"):
        raise ValueError("not a BPMN 2.0 definitions document")

    for old in list(root.iterchildren(_q("BPMNDiagram", BPMNDI_NS))):
        prev = old.getprevious()
        if prev is not None:
            prev.tail = old.tail
        else:
            root.text = old.tail
        root.remove(old)

    taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    processes = list(root.iterchildren(_q("process")))
    if not processes:
        return _serialize(tree)
    collab = _ensure_collaboration(root, processes, taken)
    process_by_id = {p.get("id"): p for p in processes}

    models = {pid: _read_process(p) for pid, p in process_by_id.items()}
    # First pass only measures pool widths so that all pools share the widest one.
    pool_w = max(_layout_process(m, 0, None).pool.w for m in models.values())
    participants = list(collab.iterchildren(_q("participant")))
    pools: list[tuple[etree._Element, _PoolLayout | None, _Box]] = []
    y = POOL_Y
    for part in participants:
        model = models.get(part.get("processRef"))
        if model is None:  # black-box pool
            box = _Box(POOL_X, y, pool_w, ROW_HEIGHT)
            pools.append((part, None, box))
        else:
            layout = _layout_process(model, y, pool_w)
            pools.append((part, layout, layout.pool))
            box = layout.pool
        y = box.bottom + POOL_GAP

    diagram = etree.Element(_q("BPMNDiagram", BPMNDI_NS), nsmap=_free_prefixes(root))
    diagram.set("id", _unique_id("BPMNDiagram_1", taken))
    plane = etree.SubElement(diagram, _q("BPMNPlane", BPMNDI_NS))
    plane.set("id", _unique_id("BPMNPlane_1", taken))
    plane.set("bpmnElement", collab.get("id", ""))

    all_shapes: dict[str, _Box] = {}
    for part, layout, box in pools:
        _shape(plane, part.get("id", ""), box, {"isHorizontal": "true"})
        if layout is None:
            continue
        all_shapes[part.get("id", "")] = box
        for lane_id, lane_box in layout.lanes:
            _shape(plane, lane_id, lane_box, {"isHorizontal": "true"})
        model = models[part.get("processRef")]
        for node in model.nodes:
            node_id = node.get("id", "")
            node_box = layout.shapes.get(node_id)
            if node_box is None:
                continue
            extra = {}
            if _local(node) == "exclusiveGateway":
                extra["isMarkerVisible"] = "true"
            elif _local(node) in {"subProcess", "transaction", "adHocSubProcess"}:
                extra["isExpanded"] = "false"
            _shape(plane, node_id, node_box, extra)
            all_shapes[node_id] = node_box
        for flow in model.flows:
            src, tgt = layout.shapes.get(flow.source), layout.shapes.get(flow.target)
            if src is None or tgt is None:
                continue
            points = _route(src, tgt, flow.source in model.host_of, flow.id in layout.back)
            _edge(plane, flow.id, points)
    for part, _, box in pools:
        all_shapes.setdefault(part.get("id", ""), box)
    for message in collab.iterchildren(_q("messageFlow")):
        src, tgt = all_shapes.get(message.get("sourceRef")), all_shapes.get(message.get("targetRef"))
        if src is not None and tgt is not None:
            _edge(plane, message.get("id", ""), _message_route(src, tgt))

    indent = _child_indent(root)
    etree.indent(diagram, space=_indent_unit(indent), level=1)
    insert_before = next(root.iterchildren(_q("relationship")), None)
    if insert_before is not None:
        diagram.tail = indent
        insert_before.addprevious(diagram)
    else:
        last = root[-1] if len(root) else None
        if last is not None:
            diagram.tail = last.tail if last.tail is not None else "\n"
            last.tail = indent
        else:
            root.text, diagram.tail = indent, "\n"
        root.append(diagram)

    keep = sorted({p for el in root.iter(tag=etree.Element) for p in el.nsmap if p})
    etree.cleanup_namespaces(root, top_nsmap=diagram.nsmap, keep_ns_prefixes=keep)
    return _serialize(tree)


def _indent_unit(indent: str) -> str:
    unit = indent.rsplit("\n", 1)[-1]
    return unit or "  "


def _free_prefixes(root: etree._Element) -> dict[str, str]:
    """DI namespace prefixes to declare, reusing the document's own prefix for a known URI."""
    declared = root.nsmap
    nsmap: dict[str, str] = {}
    for prefix, uri in _DI_PREFIXES.items():
        existing = next((p for p, u in declared.items() if u == uri and p), None)
        if existing is not None:
            nsmap[existing] = uri
            continue
        candidate, n = prefix, 1
        while candidate in declared or candidate in nsmap:
            n += 1
            candidate = f"{prefix}{n}"
        nsmap[candidate] = uri
    return nsmap


def _shape(plane: etree._Element, element_id: str, box: _Box, extra: dict[str, str]) -> None:
    shape = etree.SubElement(plane, _q("BPMNShape", BPMNDI_NS))
    shape.set("id", f"{element_id}_di")
    shape.set("bpmnElement", element_id)
    for key, value in extra.items():
        shape.set(key, value)
    bounds = etree.SubElement(shape, _q("Bounds", DC_NS))
    for key, value in (("x", box.x), ("y", box.y), ("width", box.w), ("height", box.h)):
        bounds.set(key, _fmt(value))


def _edge(plane: etree._Element, element_id: str, points: list[tuple[int, int]]) -> None:
    edge = etree.SubElement(plane, _q("BPMNEdge", BPMNDI_NS))
    edge.set("id", f"{element_id}_di")
    edge.set("bpmnElement", element_id)
    for x, y in points:
        waypoint = etree.SubElement(edge, _q("waypoint", DI_NS))
        waypoint.set("x", _fmt(x))
        waypoint.set("y", _fmt(y))


def _serialize(tree: etree._ElementTree) -> str:
    root = tree.getroot()
    # lxml keeps no whitespace between top-level nodes; put each comment/PI on its own line.
    parts = [etree.tostring(n, encoding="unicode") for n in reversed(list(root.itersiblings(preceding=True)))]
    parts.append(etree.tostring(root, encoding="unicode"))
    parts += [etree.tostring(n, encoding="unicode") for n in root.itersiblings()]
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(p.strip("\n") for p in parts) + "\n"


def layout_file(path: str | Path) -> bool:
    """Lay out the BPMN file at ``path`` in place; return True if its content changed."""
    path = Path(path)
    raw = path.read_bytes()
    original = _decode(raw)
    result = layout_xml(original)
    if result.encode("utf-8") == raw:
        return False
    path.write_text(result, encoding="utf-8", newline="")
    return True


def _decode(raw: bytes) -> str:
    # Honour a declared encoding; lxml does the sniffing, we only need the text back.
    match = re.match(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", raw)
    encoding = match.group(1).decode("ascii") if match else "utf-8"
    return raw.decode(encoding).lstrip("\ufeff")
