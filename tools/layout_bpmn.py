#!/usr/bin/env python3
"""Lay out the diagrams (BPMNDI) of BPMN files -- a design-time tool, never imported at run time.

    python tools/layout_bpmn.py bpmn/*.bpmn        # rewrite each file's diagram in place
    python tools/layout_bpmn.py --check bpmn/*.bpmn  # exit 1 if a file's diagram is not up to date

The files under ``bpmn/`` are written for their process semantics. This tool gives them a diagram: a
``collaboration`` with one participant per process (only added when missing) and one freshly
computed ``bpmndi:BPMNDiagram`` that replaces any existing one. Process elements are never touched
and the rest of the document keeps its bytes (whitespace included), so the diff of a re-layout is
confined to the DI.

The geometry comes from ``tools/layout_bpmn.mjs`` (ELK's layered algorithm from the npm package
``elkjs``, lanes as horizontal bands, an orthogonal router for the flows), run with Node.js. Node
dependencies are installed into ``tools/node_modules`` on first use (``npm install --prefix tools``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lxml import etree

TOOLS_DIR = Path(__file__).resolve().parent
SCRIPT = TOOLS_DIR / "layout_bpmn.mjs"
NODE_MODULES = TOOLS_DIR / "node_modules"
# Packages whose presence means `npm install --prefix tools` has run with the current package.json.
REQUIRED_PACKAGES = ("elkjs", "bpmnlint", "bpmn-moddle", "bpmn-js")

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
_DI_PREFIXES = {"bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS}

_TASKS = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_FLOW_NODES = _TASKS | _EVENTS | _GATEWAYS
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


class LayoutError(RuntimeError):
    """The layout could not be computed (Node.js missing, npm failed, the script failed)."""


# --------------------------------------------------------------------------- node dependencies


def node_modules_ready() -> bool:
    return all((NODE_MODULES / name / "package.json").is_file() for name in REQUIRED_PACKAGES)


def ensure_node_modules(quiet: bool = False) -> None:
    """Run ``npm install --prefix tools`` when a package of tools/package.json is missing."""
    if node_modules_ready():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise LayoutError("npm not found: install Node.js (with npm) to lay out diagrams")
    cmd = [npm, "install", "--prefix", str(TOOLS_DIR), "--no-audit", "--no-fund"]
    if not quiet:
        print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not node_modules_ready():
        raise LayoutError(f"npm install failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _run_node(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        raise LayoutError("node not found: install Node.js to lay out diagrams")
    ensure_node_modules()
    done = subprocess.run(
        [node, str(SCRIPT)], input=json.dumps(documents, ensure_ascii=False), capture_output=True,
        text=True, encoding="utf-8", cwd=TOOLS_DIR,
    )
    if done.returncode != 0:
        raise LayoutError(f"{SCRIPT.name} failed:\n{done.stderr[-4000:]}")
    if done.stderr:
        sys.stderr.write(done.stderr)
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- reading


def _q(local: str, ns: str = BPMN_NS) -> str:
    return f"{{{ns}}}{local}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _is_bpmn(el: etree._Element, names: set[str] | str) -> bool:
    if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS:
        return False
    local = _local(el)
    return local == names if isinstance(names, str) else local in names


def _describe_lanes(lane_set: etree._Element, parent: str | None, depth: int, out: list[dict[str, Any]]) -> None:
    """Lanes depth first, each with its own flowNodeRefs; the innermost ones become the bands."""
    for lane in lane_set.iterchildren(_q("lane")):
        children = list(lane.iterchildren(_q("childLaneSet")))
        refs = [(ref.text or "").strip() for ref in lane.iterchildren(_q("flowNodeRef"))]
        out.append({"id": lane.get("id", ""), "name": lane.get("name", ""), "refs": refs, "parent": parent,
                    "depth": depth, "leaf": not any(c.find(_q("lane")) is not None for c in children)})
        for child in children:
            _describe_lanes(child, lane.get("id", ""), depth + 1, out)


def _describe(root: etree._Element, collab: etree._Element) -> dict[str, Any]:
    """What the layout script needs to know of a document: processes, lanes, nodes, flows."""
    processes = []
    for process in root.iterchildren(_q("process")):
        lanes: list[dict[str, Any]] = []
        for lane_set in process.iterchildren(_q("laneSet")):
            _describe_lanes(lane_set, None, 0, lanes)
        nodes = [
            {"id": el.get("id"), "kind": _local(el), "name": el.get("name", ""), "host": el.get("attachedToRef")}
            for el in process
            if _is_bpmn(el, _FLOW_NODES) and el.get("id")
        ]
        flows = [
            {"id": el.get("id"), "source": el.get("sourceRef", ""), "target": el.get("targetRef", ""),
             "name": el.get("name", "")}
            for el in process
            if _is_bpmn(el, "sequenceFlow") and el.get("id")
        ]
        participant = next(
            (p.get("id") for p in collab.iterchildren(_q("participant")) if p.get("processRef") == process.get("id")),
            None,
        )
        processes.append({
            "id": process.get("id"), "name": process.get("name", ""), "participant": participant,
            "lanes": lanes, "nodes": nodes, "flows": flows,
        })
    participants = [{"id": p.get("id"), "name": p.get("name", "")} for p in collab.iterchildren(_q("participant"))]
    messages = [
        {"id": m.get("id"), "source": m.get("sourceRef"), "target": m.get("targetRef")}
        for m in collab.iterchildren(_q("messageFlow"))
    ]
    return {"processes": processes, "participants": participants, "messageFlows": messages}


# --------------------------------------------------------------------------- writing (keeps bytes)


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


def _indent_unit(indent: str) -> str:
    unit = indent.rsplit("\n", 1)[-1]
    return unit or "  "


def _ensure_collaboration(root: etree._Element, processes: list[etree._Element], taken: set[str]) -> etree._Element:
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


def _bounds(parent: etree._Element, box: dict[str, float]) -> None:
    bounds = etree.SubElement(parent, _q("Bounds", DC_NS))
    for key, name in (("x", "x"), ("y", "y"), ("w", "width"), ("h", "height")):
        bounds.set(name, str(round(box[key])))


def _shape(plane: etree._Element, element_id: str, box: dict, extra: dict[str, str], label: dict | None) -> None:
    shape = etree.SubElement(plane, _q("BPMNShape", BPMNDI_NS))
    shape.set("id", f"{element_id}_di")
    shape.set("bpmnElement", element_id)
    for key, value in extra.items():
        shape.set(key, value)
    _bounds(shape, box)
    if label is not None:
        _bounds(etree.SubElement(shape, _q("BPMNLabel", BPMNDI_NS)), label)


def _edge(plane: etree._Element, element_id: str, points: list[dict], label: dict | None) -> None:
    edge = etree.SubElement(plane, _q("BPMNEdge", BPMNDI_NS))
    edge.set("id", f"{element_id}_di")
    edge.set("bpmnElement", element_id)
    for p in points:
        waypoint = etree.SubElement(edge, _q("waypoint", DI_NS))
        waypoint.set("x", str(round(p["x"])))
        waypoint.set("y", str(round(p["y"])))
    if label is not None:
        _bounds(etree.SubElement(edge, _q("BPMNLabel", BPMNDI_NS)), label)


def _serialize(tree: etree._ElementTree) -> str:
    root = tree.getroot()
    # lxml keeps no whitespace between top-level nodes; put each comment/PI on its own line.
    parts = [etree.tostring(n, encoding="unicode") for n in reversed(list(root.itersiblings(preceding=True)))]
    parts.append(etree.tostring(root, encoding="unicode"))
    parts += [etree.tostring(n, encoding="unicode") for n in root.itersiblings()]
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(p.strip("\n") for p in parts) + "\n"


class _Prepared:
    """A parsed document with its old diagram removed and its collaboration ensured."""

    def __init__(self, xml: str) -> None:
        parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, remove_blank_text=False)
        self.root = etree.fromstring(_XML_DECL.sub("", xml, count=1), parser)
        self.tree = self.root.getroottree()
        root = self.root
        if not _is_bpmn(root, "definitions"):
            raise ValueError("not a BPMN 2.0 definitions document")
        for old in list(root.iterchildren(_q("BPMNDiagram", BPMNDI_NS))):
            prev = old.getprevious()
            if prev is not None:
                prev.tail = old.tail
            else:
                root.text = old.tail
            root.remove(old)
        self.taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        self.processes = list(root.iterchildren(_q("process")))
        self.collab = _ensure_collaboration(root, self.processes, self.taken) if self.processes else None

    def description(self) -> dict[str, Any] | None:
        return _describe(self.root, self.collab) if self.collab is not None else None

    def write(self, layout: dict[str, Any] | None) -> str:
        root = self.root
        if layout is None:
            return _serialize(self.tree)
        kinds = {el.get("id"): _local(el) for p in self.processes for el in p if _is_bpmn(el, _FLOW_NODES)}
        diagram = etree.Element(_q("BPMNDiagram", BPMNDI_NS), nsmap=_free_prefixes(root))
        diagram.set("id", _unique_id("BPMNDiagram_1", self.taken))
        plane = etree.SubElement(diagram, _q("BPMNPlane", BPMNDI_NS))
        plane.set("id", _unique_id("BPMNPlane_1", self.taken))
        plane.set("bpmnElement", self.collab.get("id", ""))
        for pool in layout["pools"]:
            _shape(plane, pool["participant"], pool["pool"], {"isHorizontal": "true"}, None)
            for lane in pool.get("lanes", []):
                _shape(plane, lane["id"], lane, {"isHorizontal": "true"}, None)
            for shape in pool.get("shapes", []):
                extra = {}
                kind = kinds.get(shape["id"])
                if kind == "exclusiveGateway":
                    extra["isMarkerVisible"] = "true"
                elif kind in {"subProcess", "transaction", "adHocSubProcess"}:
                    extra["isExpanded"] = "false"
                _shape(plane, shape["id"], shape["bounds"], extra, shape.get("label"))
            for edge in pool.get("edges", []):
                _edge(plane, edge["id"], edge["points"], edge.get("label"))
        for edge in layout.get("messageFlows", []):
            _edge(plane, edge["id"], edge["points"], None)

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
        return _serialize(self.tree)


# --------------------------------------------------------------------------- public API


def layout_xmls(xmls: list[str]) -> list[str]:
    """Lay out several documents with one Node.js process; each result as ``layout_xml`` gives it."""
    prepared = [_Prepared(xml) for xml in xmls]
    wanted = [(i, p.description()) for i, p in enumerate(prepared)]
    todo = [(i, d) for i, d in wanted if d is not None]
    layouts: dict[int, dict[str, Any]] = {}
    if todo:
        for (i, _), result in zip(todo, _run_node([d for _, d in todo]), strict=True):
            layouts[i] = result
    return [p.write(layouts.get(i)) for i, p in enumerate(prepared)]


def layout_xml(xml: str) -> str:
    """Return ``xml`` with a freshly computed BPMNDiagram (and a collaboration if missing)."""
    return layout_xmls([xml])[0]


def _decode(raw: bytes) -> str:
    # Honour a declared encoding; we only need the text back.
    match = re.match(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']", raw)
    encoding = match.group(1).decode("ascii") if match else "utf-8"
    return raw.decode(encoding).lstrip("\ufeff")


def layout_files(paths: list[Path], check: bool = False) -> dict[Path, bool]:
    """Lay out files in place (or only compare with ``check``); per file, whether it changed.

    Others may be editing the same files: a file whose bytes changed while its layout was computed
    is laid out again from its new content rather than overwritten with a stale one.
    """
    changed: dict[Path, bool] = {}
    pending = list(paths)
    for _attempt in range(5):
        if not pending:
            break
        raws = [p.read_bytes() for p in pending]
        results = layout_xmls([_decode(raw) for raw in raws])
        retry = []
        for path, raw, result in zip(pending, raws, results, strict=True):
            new = result.encode("utf-8")
            changed[path] = new != raw
            if check or new == raw:
                continue
            if path.read_bytes() != raw:
                retry.append(path)
                continue
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(new)
            os.chmod(tmp, path.stat().st_mode & 0o777)
            os.replace(tmp, path)
        pending = retry
    if pending:
        raise LayoutError("files kept changing while being laid out: " + ", ".join(map(str, pending)))
    return changed


def layout_file(path: str | Path) -> bool:
    """Lay out the BPMN file at ``path`` in place; return True if its content changed."""
    return layout_files([Path(path)])[Path(path)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path, help="BPMN files to lay out in place")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file's layout is stale")
    ap.add_argument("--json", action="store_true", help="print {file: changed} as JSON (for `huiqian layout-bpmn`)")
    args = ap.parse_args(argv)
    missing = [f for f in args.files if not f.is_file()]
    if missing:
        print("no such file: " + ", ".join(map(str, missing)), file=sys.stderr)
        return 2
    try:
        changed = layout_files(args.files, check=args.check)
    except (LayoutError, ValueError, etree.XMLSyntaxError) as exc:
        print(f"layout failed: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({str(p): changed[p] for p in args.files}, ensure_ascii=False))
        return 1 if args.check and any(changed.values()) else 0
    for path in args.files:
        if args.check:
            print(f"{path}: {'stale' if changed[path] else 'up to date'}")
        else:
            print(f"{path}: {'updated' if changed[path] else 'unchanged'}")
    return 1 if args.check and any(changed.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
