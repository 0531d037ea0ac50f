"""The process diagrams are readable, lint-clean, and keep the hq: extensions in bpmn-js.

Issue 13, "Must show 1": computed from each bpmn/*.bpmn file's BPMNDI (tests/diagram_geometry.py)
-- no flow through a shape it does not connect, no overlapping shapes, every flow label next to its
flow, every node inside its lane and pool; bpmnlint's recommended rules with 0 errors; and the hq:
moddle descriptor (webapp/static/bpmn/hq-moddle.json) types every hq: element and attribute the
files use, so that bpmn-js keeps them through an import/export round trip (and copy/paste).

The Node.js parts install tools/package.json's dependencies when missing and are skipped only when
npm itself is absent. A file failing the geometry test after a change of its process: run
``python tools/layout_bpmn.py bpmn/FILE.bpmn``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.diagram_geometry import LABEL_DISTANCE, measure
from tests.node_tools import ROOT, TOOLS, require_node_tools

BPMN_FILES = sorted((ROOT / "bpmn").glob("*.bpmn"))
DESCRIPTOR = ROOT / "webapp" / "static" / "bpmn" / "hq-moddle.json"
HQ_NS = "http://huiqian.org/schema/bpmn/1.0"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_diagram_is_readable(path: Path) -> None:
    fig = measure(path)
    hint = f"\n(re-run the layout: python tools/layout_bpmn.py {path.relative_to(ROOT)})"
    assert fig.missing_di == [], "elements without a diagram shape" + hint
    assert fig.crossings == [], "flows through shapes they do not connect" + hint
    assert fig.overlaps == [], "overlapping shapes" + hint
    assert fig.label_far == [], f"flow labels farther than {LABEL_DISTANCE:.0f}px from their flow" + hint
    assert fig.label_overlaps == [], "labels on shapes or on each other" + hint
    assert fig.label_crossed == [], "flows running through labels" + hint
    assert fig.outside_lane == [], "nodes outside the lane that lists them" + hint
    assert fig.outside_pool == [], "lanes, nodes or flows outside their pool" + hint
    assert fig.pool_overlaps == [], "pools overlapping" + hint


def test_geometry_checks_catch_a_flow_through_a_shape() -> None:
    """The checks above are not vacuous: put a task on another flow's path and they say so."""
    bpmn = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    di, dc = "{http://www.omg.org/spec/DD/20100524/DI}", "{http://www.omg.org/spec/DD/20100524/DC}"
    root = etree.fromstring((ROOT / "bpmn" / "category_1_litigation.bpmn").read_bytes())
    flow = root.find(f".//{bpmn}sequenceFlow")
    edge = root.find(f".//*[@bpmnElement='{flow.get('id')}']")
    task = next(t for t in root.iter(f"{bpmn}userTask") if t.get("id") not in (flow.get("sourceRef"), flow.get("targetRef")))
    bounds = root.find(f".//*[@bpmnElement='{task.get('id')}']/{dc}Bounds")
    a, b = edge.findall(f"{di}waypoint")[:2]
    bounds.set("x", str((float(a.get("x")) + float(b.get("x"))) / 2 - float(bounds.get("width")) / 2))
    bounds.set("y", str((float(a.get("y")) + float(b.get("y"))) / 2 - float(bounds.get("height")) / 2))
    assert any(task.get("id") in c for c in measure(etree.tostring(root)).crossings)


# --------------------------------------------------------------------------- bpmnlint


def _bpmnlint(files: list[Path]) -> subprocess.CompletedProcess[str]:
    require_node_tools()
    cli = TOOLS / "node_modules" / "bpmnlint" / "bin" / "bpmnlint.js"
    return subprocess.run(
        ["node", str(cli), "--config", str(TOOLS / ".bpmnlintrc"), *map(str, files)],
        capture_output=True, text=True, encoding="utf-8", cwd=TOOLS,
    )


def _lint_findings(output: str) -> list[tuple[str, str, str, str]]:
    """(file, element, error|warning, rule) per finding of bpmnlint's stylish output."""
    findings, current = [], ""
    for line in output.splitlines():
        if line.strip().endswith(".bpmn") and not line.startswith(" "):
            current = Path(line.strip()).name
            continue
        m = re.match(r"^\s+(\S+)\s+(error|warning)\s+.*?\s{2,}(\S+)\s*$", line)
        if m:
            findings.append((current, m.group(1), m.group(2), m.group(3)))
    return findings


def test_bpmnlint_recommended_rules_report_no_errors() -> None:
    config = json.loads((TOOLS / ".bpmnlintrc").read_text(encoding="utf-8"))
    assert config["extends"] == "bpmnlint:recommended"
    # A rule may only be relaxed with a written reason next to it.
    for rule in config.get("rules", {}):
        assert rule in config.get("reasons", {}), f"rule {rule} changed without a reason in tools/.bpmnlintrc"
    done = _bpmnlint(BPMN_FILES)
    findings = _lint_findings(done.stdout)
    errors = [f for f in findings if f[2] == "error"]
    assert errors == [], done.stdout
    assert done.returncode == 0, done.stdout + done.stderr


def test_bpmnlint_does_report_errors(tmp_path: Path) -> None:
    """An unnamed start event is an error (label-required): the lint test above can fail."""
    broken = (ROOT / "bpmn" / "category_9_dead_knot.bpmn").read_text(encoding="utf-8")
    start = re.search(r"<bpmn:startEvent [^>]*>", broken).group(0)
    copy = tmp_path / "unnamed_start.bpmn"
    copy.write_text(broken.replace(start, re.sub(r'\sname="[^"]*"', "", start)), encoding="utf-8")
    done = _bpmnlint([copy])
    assert ("error", "label-required") in {(f[2], f[3]) for f in _lint_findings(done.stdout)}, done.stdout
    assert done.returncode != 0


# --------------------------------------------------------------------------- hq: moddle descriptor


def _roundtrip(descriptor: Path, files: list[Path]) -> dict[str, Any]:
    require_node_tools()
    done = subprocess.run(
        ["node", str(TOOLS / "check_moddle.mjs"), str(descriptor), *map(str, files)],
        capture_output=True, text=True, encoding="utf-8", cwd=TOOLS,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _hq_element(el: etree._Element) -> dict[str, Any]:
    return {
        "type": etree.QName(el).localname.lower(),
        "attrs": {k: v for k, v in el.attrib.items() if "}" not in k},
        "children": [_hq_element(c) for c in el if isinstance(c.tag, str) and etree.QName(c).namespace == HQ_NS],
    }


def _hq_in_xml(path: Path) -> tuple[dict[str, list], dict[str, dict[str, str]]]:
    """What the file itself declares in hq:, read with lxml: per element id, and per lane."""
    root = etree.parse(str(path)).getroot()
    tasks: dict[str, list] = {}
    for ext in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}extensionElements"):
        hq = [c for c in ext if isinstance(c.tag, str) and etree.QName(c).namespace == HQ_NS]
        if hq:
            tasks[ext.getparent().get("id")] = [_hq_element(c) for c in hq]
    lanes = {}
    for lane in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"):
        lanes[lane.get("id")] = {k.split("}")[1]: v for k, v in lane.attrib.items() if k.startswith(f"{{{HQ_NS}}}")}
    return tasks, lanes


def _normalise(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": i["type"].lower(), "attrs": i["attrs"], "children": _normalise(i["children"])} for i in items]


def test_hq_descriptor_keeps_every_form_field_through_a_bpmn_js_round_trip() -> None:
    result = _roundtrip(DESCRIPTOR, BPMN_FILES)
    forms = 0
    for path in BPMN_FILES:
        got = result[str(path)]
        assert got["untyped"] == [], f"{path.name}: hq: content the descriptor does not declare"
        tasks, lanes = _hq_in_xml(path)
        assert {k: _normalise(v) for k, v in got["tasks"].items()} == tasks, path.name
        assert got["lanes"] == lanes, path.name
        forms += sum(1 for items in tasks.values() for i in items if i["type"] == "form")
    assert forms > 50  # every user task of the project went through it, with all its fields


def test_without_the_descriptor_hq_content_is_untyped(tmp_path: Path) -> None:
    """Control: the same round trip with an empty hq: package leaves forms opaque (what copy/paste
    and "change type" in bpmn-js silently drop)."""
    descriptor = json.loads(DESCRIPTOR.read_text(encoding="utf-8"))
    empty = tmp_path / "hq-moddle-empty.json"
    empty.write_text(json.dumps({**descriptor, "types": []}), encoding="utf-8")
    result = _roundtrip(empty, [ROOT / "bpmn" / "case_lifecycle.bpmn"])
    assert result[str(ROOT / "bpmn" / "case_lifecycle.bpmn")]["untyped"]
