"""The diagram layout tool (tools/layout_bpmn.py + layout_bpmn.mjs): it writes BPMNDI and nothing else."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

from tests.diagram_geometry import measure
from tests.node_tools import layout_tool, require_node_tools


@pytest.fixture(autouse=True)
def _node_tools() -> None:
    require_node_tools()


@cache
def layout_xml(xml: str) -> str:
    # Each call starts Node.js and loads ELK (about a second): the same input is laid out once.
    return layout_tool().layout_xml(xml)


def layout_file(path: Path) -> bool:
    return layout_tool().layout_file(path)

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODES = [
    "startEvent",
    "endEvent",
    "userTask",
    "manualTask",
    "scriptTask",
    "exclusiveGateway",
    "parallelGateway",
    "callActivity",
    "intermediateCatchEvent",
    "boundaryEvent",
]

REVIEW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:hq="http://huiqian.org/schema/bpmn/1.0"
                  id="Definitions_review" targetNamespace="http://huiqian.org/bpmn">
  <bpmn:process id="review" name="审查" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_clerk" name="Clerk">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>draft</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>fix</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>timer</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>timeout_end</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_judge" name="Judge">
        <bpmn:flowNodeRef>approve</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decision</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="draft" name="起草">
      <bpmn:extensionElements>
        <hq:form key="draft_form"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="approve" name="审批"/>
    <bpmn:exclusiveGateway id="decision" default="to_end"/>
    <bpmn:userTask id="fix" name="修改"/>
    <bpmn:boundaryEvent id="timer" attachedToRef="fix">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration>"P3D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="timeout_end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft"/>
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="approve"/>
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="decision"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="decision" targetRef="end"/>
    <bpmn:sequenceFlow id="to_fix" sourceRef="decision" targetRef="fix">
      <bpmn:conditionExpression>approved == False</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="back" sourceRef="fix" targetRef="approve"/>
    <bpmn:sequenceFlow id="f_timeout" sourceRef="timer" targetRef="timeout_end"/>
  </bpmn:process>
</bpmn:definitions>
"""

TWO_PROCESSES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="Definitions_two" targetNamespace="http://huiqian.org/bpmn">
  <bpmn:process id="main" name="Main" isExecutable="true">
    <bpmn:laneSet id="LaneSet_main">
      <bpmn:lane id="Lane_a" name="A">
        <bpmn:flowNodeRef>m_start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>split</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>t1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>t2</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>join</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="m_start"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:manualTask id="t1"/>
    <bpmn:callActivity id="t2" calledElement="helper"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:endEvent id="m_end"/>
    <bpmn:sequenceFlow id="m1" sourceRef="m_start" targetRef="split"/>
    <bpmn:sequenceFlow id="m2" sourceRef="split" targetRef="t1"/>
    <bpmn:sequenceFlow id="m3" sourceRef="split" targetRef="t2"/>
    <bpmn:sequenceFlow id="m4" sourceRef="t1" targetRef="join"/>
    <bpmn:sequenceFlow id="m5" sourceRef="t2" targetRef="join"/>
    <bpmn:sequenceFlow id="m6" sourceRef="join" targetRef="m_end"/>
  </bpmn:process>
  <bpmn:process id="helper" name="Helper" isExecutable="true">
    <bpmn:startEvent id="h_start"/>
    <bpmn:scriptTask id="h_script">
      <bpmn:script>x = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="h_end"/>
    <bpmn:sequenceFlow id="h1" sourceRef="h_start" targetRef="h_script"/>
    <bpmn:sequenceFlow id="h2" sourceRef="h_script" targetRef="h_end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode())


def _canonical_processes(xml: str) -> list[bytes]:
    # Exclusive c14n: the namespace declarations added to the root are not part of the process.
    return [
        etree.tostring(p, method="c14n", exclusive=True) for p in _parse(xml).iterfind("bpmn:process", NS)
    ]


def _bounds(root: etree._Element) -> dict[str, tuple[float, float, float, float]]:
    result = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        result[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return result


def _inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and x + w <= ox + ow and oy <= y and y + h <= oy + oh


def _di_refs(root: etree._Element) -> list[str]:
    return [
        el.get("bpmnElement")
        for el in root.iter(f"{{{NS['bpmndi']}}}BPMNShape", f"{{{NS['bpmndi']}}}BPMNEdge")
    ]


def test_every_element_gets_exactly_one_di() -> None:
    root = _parse(layout_xml(REVIEW))
    refs = _di_refs(root)
    process = root.find("bpmn:process", NS)
    nodes = [el.get("id") for el in process if etree.QName(el).localname in FLOW_NODES]
    flows = [el.get("id") for el in process.iterfind("bpmn:sequenceFlow", NS)]
    assert len(nodes) == 8 and len(flows) == 7
    for element_id in nodes + flows + ["Lane_clerk", "Lane_judge"]:
        assert refs.count(element_id) == 1, element_id
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [(p.get("processRef"), p.get("name")) for p in participants] == [("review", "审查")]
    assert refs.count(participants[0].get("id")) == 1
    assert len(refs) == len(set(refs)) == len(nodes) + len(flows) + 3
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == root.find("bpmn:collaboration", NS).get("id")
    assert len(root.findall("bpmndi:BPMNDiagram", NS)) == 1
    for edge in plane.iterfind("bpmndi:BPMNEdge", NS):
        assert edge.get("id") == edge.get("bpmnElement") + "_di"
        assert len(edge.findall("di:waypoint", NS)) >= 2


def test_shapes_lie_within_their_lane_and_pool() -> None:
    root = _parse(layout_xml(REVIEW))
    bounds = _bounds(root)
    pool = bounds[root.find("bpmn:collaboration/bpmn:participant", NS).get("id")]
    for lane in root.iterfind(".//bpmn:lane", NS):
        assert _inside(bounds[lane.get("id")], pool)
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text == "timer":  # drawn on its host's bottom edge
                continue
            assert _inside(bounds[ref.text], bounds[lane.get("id")]), ref.text
    # Left to right by longest path; the loop back from "fix" does not push "approve" right.
    assert bounds["start"][0] < bounds["draft"][0] < bounds["approve"][0] < bounds["decision"][0]
    assert bounds["decision"][0] < bounds["fix"][0]
    fix, timer = bounds["fix"], bounds["timer"]
    assert timer[1] + timer[3] / 2 == fix[1] + fix[3]
    assert fix[0] <= timer[0] + timer[2] / 2 <= fix[0] + fix[2]
    assert bounds["timeout_end"][0] > fix[0]
    gateway = root.find(".//bpmndi:BPMNShape[@bpmnElement='decision']", NS)
    assert gateway.get("isMarkerVisible") == "true"


def test_process_semantics_unchanged_and_spiff_parses() -> None:
    out = layout_xml(REVIEW)
    assert _canonical_processes(out) == _canonical_processes(REVIEW)
    assert '<hq:form key="draft_form"/>' in out
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    parser = BpmnParser()
    parser.add_bpmn_str(out.encode())
    spec = parser.get_spec("review")
    assert "approve" in spec.task_specs


def test_layout_is_idempotent() -> None:
    once = layout_xml(REVIEW)
    assert layout_xml(once) == once
    two = layout_xml(TWO_PROCESSES)
    assert layout_xml(two) == two


def test_two_processes_give_two_stacked_pools() -> None:
    out = layout_xml(TWO_PROCESSES)
    root = _parse(out)
    assert _canonical_processes(out) == _canonical_processes(TWO_PROCESSES)
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == ["main", "helper"]
    bounds = _bounds(root)
    main, helper = (bounds[p.get("id")] for p in participants)
    assert main[1] + main[3] <= helper[1]
    # m_end sits in no lane: still inside the pool, in a band below the lane.
    assert _inside(bounds["m_end"], main) and not _inside(bounds["m_end"], bounds["Lane_a"])
    assert bounds["t1"][0] == bounds["t2"][0] and bounds["t1"][1] != bounds["t2"][1]
    for node in ("h_start", "h_script", "h_end"):
        assert _inside(bounds[node], helper)
    refs = _di_refs(root)
    for element_id in ("m1", "m2", "m3", "m4", "m5", "m6", "h1", "h2", "m_end", "h_script"):
        assert refs.count(element_id) == 1
    parser = BpmnParser()
    parser.add_bpmn_str(out.encode())
    parser.get_spec("main")
    parser.get_spec("helper")


def test_existing_diagram_is_replaced_and_collaboration_kept() -> None:
    once = layout_xml(TWO_PROCESSES)
    stale = once.replace('x="160"', 'x="999"')
    assert layout_xml(stale) == once


def test_layout_file(tmp_path: Path) -> None:
    path = tmp_path / "review.bpmn"
    path.write_text(REVIEW, encoding="utf-8")
    assert layout_file(path) is True
    assert path.read_text(encoding="utf-8") == layout_xml(REVIEW)
    assert layout_file(path) is False


def test_laid_out_examples_pass_the_readability_checks() -> None:
    """The same geometry checks as the project's files get (tests/test_diagrams.py)."""
    for xml in (REVIEW, TWO_PROCESSES):
        assert measure(layout_xml(xml).encode()).problems() == {}


def test_huiqian_layout_bpmn_runs_the_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from webapp.cli import main

    monkeypatch.setenv("HUIQIAN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    path = tmp_path / "review.bpmn"
    path.write_text(REVIEW, encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(main, ["layout-bpmn", str(path)], catch_exceptions=False)
    assert first.exit_code == 0 and f"{path}: 已更新" in first.output, first.output
    assert path.read_text(encoding="utf-8") == layout_xml(REVIEW)
    again = runner.invoke(main, ["layout-bpmn", str(path)], catch_exceptions=False)
    assert again.exit_code == 0 and f"{path}: 无变化" in again.output, again.output
