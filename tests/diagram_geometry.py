"""Readability figures of a BPMN file's diagram, computed from its BPMNDI alone.

Used by tests/test_diagrams.py; ``python -m tests.diagram_geometry bpmn/*.bpmn`` prints the figures
and every finding. Independent of the layout tool on purpose: it reads only the DI that any modeler
would have written.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODES = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
}
LABEL_DISTANCE = 30.0  # px: a flow label farther than this from its flow is read as someone else's

Rect = tuple[float, float, float, float]  # x, y, width, height
Point = tuple[float, float]


@dataclass
class Figures:
    crossings: list[str] = field(default_factory=list)        # flow segment through an unrelated shape
    overlaps: list[str] = field(default_factory=list)         # two shapes overlapping
    label_far: list[str] = field(default_factory=list)        # flow label too far from its flow
    label_overlaps: list[str] = field(default_factory=list)   # a label on a shape or on another label
    label_crossed: list[str] = field(default_factory=list)    # a flow running through a label
    outside_lane: list[str] = field(default_factory=list)     # node not inside the lane listing it
    outside_pool: list[str] = field(default_factory=list)     # lane/node/flow point outside its pool
    pool_overlaps: list[str] = field(default_factory=list)
    missing_di: list[str] = field(default_factory=list)
    max_label_distance: float = 0.0

    def problems(self) -> dict[str, list[str]]:
        return {k: v for k, v in vars(self).items() if isinstance(v, list) and v}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _rect(bounds: etree._Element | None) -> Rect | None:
    if bounds is None:
        return None
    return tuple(float(bounds.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _overlap(a: Rect, b: Rect, pad: float = 0.0) -> bool:
    return (a[0] + pad < b[0] + b[2] - pad and b[0] + pad < a[0] + a[2] - pad
            and a[1] + pad < b[1] + b[3] - pad and b[1] + pad < a[1] + a[3] - pad)


def _inside(inner: Rect, outer: Rect, tol: float = 0.5) -> bool:
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
            and inner[0] + inner[2] <= outer[0] + outer[2] + tol and inner[1] + inner[3] <= outer[1] + outer[3] + tol)


def segment_hits_rect(p: Point, q: Point, r: Rect, pad: float = 1.0) -> bool:
    """Does segment p-q pass through the interior of r shrunk by pad (Liang-Barsky clipping)?"""
    x0, x1, y0, y1 = r[0] + pad, r[0] + r[2] - pad, r[1] + pad, r[1] + r[3] - pad
    if x0 >= x1 or y0 >= y1:
        return False
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for pp, qq in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if pp == 0:
            if qq <= 0:
                return False
            continue
        t = qq / pp
        if pp < 0:
            if t > t1:
                return False
            t0 = max(t0, t)
        else:
            if t < t0:
                return False
            t1 = min(t1, t)
    return t1 - t0 > 1e-9


def _point_segment_distance(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length2))
    cx, cy = a[0] + t * dx, a[1] + t * dy
    return ((p[0] - cx) ** 2 + (p[1] - cy) ** 2) ** 0.5


def rect_polyline_distance(r: Rect, points: list[Point]) -> float:
    """Shortest distance between a rectangle and a polyline (0 when they touch)."""
    corners = [(r[0], r[1]), (r[0] + r[2], r[1]), (r[0] + r[2], r[1] + r[3]), (r[0], r[1] + r[3])]
    best = float("inf")
    for a, b in zip(points, points[1:], strict=False):
        if segment_hits_rect(a, b, r, pad=0) or any(_inside((p[0], p[1], 0, 0), r) for p in (a, b)):
            return 0.0
        for c in corners:
            best = min(best, _point_segment_distance(c, a, b))
        for p in (a, b):
            px = min(max(p[0], r[0]), r[0] + r[2])
            py = min(max(p[1], r[1]), r[1] + r[3])
            best = min(best, ((p[0] - px) ** 2 + (p[1] - py) ** 2) ** 0.5)
    return best


def measure(source: str | Path | bytes) -> Figures:
    data = Path(source).read_bytes() if not isinstance(source, bytes) else source
    root = etree.fromstring(data)
    fig = Figures()
    shapes: dict[str, tuple[Rect, Rect | None]] = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        rect = _rect(shape.find("dc:Bounds", NS))
        label = _rect(shape.find("bpmndi:BPMNLabel/dc:Bounds", NS))
        if rect is not None:
            shapes[shape.get("bpmnElement", "")] = (rect, label)
    edges: dict[str, tuple[list[Point], Rect | None]] = {}
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        pts = [(float(w.get("x")), float(w.get("y"))) for w in edge.iterfind("di:waypoint", NS)]
        edges[edge.get("bpmnElement", "")] = (pts, _rect(edge.find("bpmndi:BPMNLabel/dc:Bounds", NS)))

    pool_of_process = {p.get("processRef"): p.get("id") for p in root.iterfind("bpmn:collaboration/bpmn:participant", NS)}
    pools = [shapes[pid][0] for pid in pool_of_process.values() if pid in shapes]
    for i, a in enumerate(pools):
        for b in pools[i + 1:]:
            if _overlap(a, b):
                fig.pool_overlaps.append(f"pools {a} and {b} overlap")

    for process in root.iterfind("bpmn:process", NS):
        nodes = {el.get("id"): el for el in process if isinstance(el.tag, str) and _local(el) in FLOW_NODES}
        host_of = {i: el.get("attachedToRef") for i, el in nodes.items() if _local(el) == "boundaryEvent"}
        flows = [el for el in process.iterfind("bpmn:sequenceFlow", NS)]
        pool = shapes.get(pool_of_process.get(process.get("id")), (None, None))[0]
        for element_id in list(nodes) + [f.get("id") for f in flows]:
            if element_id not in shapes and element_id not in edges:
                fig.missing_di.append(element_id)
        if pool is None:
            fig.missing_di.append(f"pool of process {process.get('id')}")
        node_rects = {i: shapes[i][0] for i in nodes if i in shapes}

        # Shapes overlapping shapes (a boundary event sits on its host's border by design).
        ids = sorted(node_rects)
        for n, a in enumerate(ids):
            for b in ids[n + 1:]:
                if host_of.get(a) == b or host_of.get(b) == a:
                    continue
                if _overlap(node_rects[a], node_rects[b], pad=0.5):
                    fig.overlaps.append(f"{a} overlaps {b}")

        # Flows through shapes that are neither their source nor their target.
        for flow in flows:
            fid, src, tgt = flow.get("id"), flow.get("sourceRef"), flow.get("targetRef")
            if fid not in edges:
                continue
            pts = edges[fid][0]
            for k, (p, q) in enumerate(zip(pts, pts[1:], strict=False)):
                for nid, rect in node_rects.items():
                    if nid in (src, tgt):
                        continue
                    if k == 0 and host_of.get(src) == nid:
                        continue  # the segment leaving a boundary event starts on its host's border
                    if segment_hits_rect(p, q, rect):
                        fig.crossings.append(f"flow {fid} ({src} -> {tgt}) runs through {nid}")
            if pool is not None and not all(_inside((x, y, 0, 0), pool) for x, y in pts):
                fig.outside_pool.append(f"flow {fid} leaves its pool")
            label = edges[fid][1]
            if label is not None and flow.get("name"):
                d = rect_polyline_distance(label, pts)
                fig.max_label_distance = max(fig.max_label_distance, d)
                if d > LABEL_DISTANCE:
                    fig.label_far.append(f"label of flow {fid} is {d:.0f}px from its flow")

        # Lanes inside the pool, nodes inside the lane that lists them.
        for lane in process.iterfind(".//bpmn:lane", NS):
            lane_rect = shapes.get(lane.get("id"), (None, None))[0]
            if lane_rect is None:
                fig.missing_di.append(lane.get("id"))
                continue
            if pool is not None and not _inside(lane_rect, pool):
                fig.outside_pool.append(f"lane {lane.get('id')} is not inside its pool")
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                nid = (ref.text or "").strip()
                if nid in host_of or nid not in node_rects:
                    continue  # a boundary event is drawn on its host, wherever that is
                if not _inside(node_rects[nid], lane_rect):
                    fig.outside_lane.append(f"{nid} is not inside its lane {lane.get('id')}")
        if pool is not None:
            for nid, rect in node_rects.items():
                if not _inside(rect, pool):
                    fig.outside_pool.append(f"{nid} is not inside its pool")

        # Labels: none on a shape or on another label; no flow through a label.
        labels = [(f"label of {i}", shapes[i][1]) for i in nodes if i in shapes and shapes[i][1] is not None]
        labels += [(f"label of flow {f.get('id')}", edges[f.get("id")][1]) for f in flows
                   if f.get("id") in edges and edges[f.get("id")][1] is not None]
        for n, (name, rect) in enumerate(labels):
            for nid, shape_rect in node_rects.items():
                if _overlap(rect, shape_rect, pad=0.5):
                    fig.label_overlaps.append(f"{name} lies on {nid}")
            for other, other_rect in labels[n + 1:]:
                if _overlap(rect, other_rect, pad=0.5):
                    fig.label_overlaps.append(f"{name} overlaps {other}")
            for flow in flows:
                pts = edges.get(flow.get("id"), ([], None))[0]
                if name == f"label of flow {flow.get('id')}":
                    continue
                if any(segment_hits_rect(p, q, rect, pad=0.5) for p, q in zip(pts, pts[1:], strict=False)):
                    fig.label_crossed.append(f"{name} is crossed by flow {flow.get('id')}")
    return fig


def main(argv: list[str]) -> int:
    bad = 0
    for arg in argv:
        fig = measure(arg)
        problems = fig.problems()
        counts = ", ".join(f"{k} {len(v)}" for k, v in problems.items()) or "clean"
        print(f"{Path(arg).name}: {counts}; farthest flow label {fig.max_label_distance:.0f}px")
        for kind, items in problems.items():
            for item in items:
                print(f"    [{kind}] {item}")
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
