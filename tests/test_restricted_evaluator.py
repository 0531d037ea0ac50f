"""BPMN files are code: nothing in them may reach Python's builtins."""

from __future__ import annotations

from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

from workflows.engine import evaluator
from workflows.engine.evaluator import UnsafeExpression, check_expression, evaluate
from workflows.engine.specs import parse_sources
from workflows.errors import ProcessDefinitionError

ESCAPES = [
    "__import__('os').system('touch /tmp/pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "(lambda: 1)()",
    "'a' * 10**9",
    "[1] * 10**9",
    "x.pop('k')",
    "getattr(x, 'pop')",
    "'{0.__class__}'.format(x)",
    "eval('1')",
    "__builtins__",
    "'%0999999999d' % 1",
    "'%s' % x",
    "-" * 5000 + "1",
    "1" + "+1" * 99_999,
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_escape_attempts_are_refused_before_evaluation(expression):
    with pytest.raises(UnsafeExpression):
        check_expression(expression)
    data = {"x": {"k": 1}}
    with pytest.raises(UnsafeExpression):
        evaluate(expression, data)
    assert data == {"x": {"k": 1}}


@pytest.mark.parametrize(("expression", "names", "expected"), [
    ("verified == True", {"verified": True}, True),
    ("households_resettled >= households_overdue", {"households_resettled": 5, "households_overdue": 6}, False),
    ("mode in ['monetary', 'offsite']", {"mode": "offsite"}, True),
    ("lead_type == 'developer' and not can_fund", {"lead_type": "developer", "can_fund": False}, True),
    ("max(a, b) - 1", {"a": 3, "b": 7}, 6),
])
def test_ordinary_conditions_evaluate(expression, names, expected):
    assert evaluate(expression, names) == expected


def test_deadline_follows_the_injected_clock():
    from datetime import UTC, datetime

    from workflows.engine import clock
    with clock.frozen_at(datetime(2027, 2, 1, tzinfo=UTC)):
        assert evaluate("deadline_this_year(9, 30)", {}) == "2027-09-30T23:59:59+08:00"


def test_next_deadline_is_this_years_until_it_has_passed_then_next_years():
    from datetime import UTC, datetime

    from workflows.engine import clock
    for moment, expected in [
        (datetime(2027, 2, 1, tzinfo=UTC), "2027-09-30T23:59:59+08:00"),
        (datetime(2027, 9, 30, 15, 59, 59, tzinfo=UTC), "2027-09-30T23:59:59+08:00"),  # the last second
        (datetime(2027, 9, 30, 16, 0, 0, tzinfo=UTC), "2028-09-30T23:59:59+08:00"),  # 1 October in China
        (datetime(2027, 12, 31, 23, 0, tzinfo=UTC), "2028-09-30T23:59:59+08:00"),
    ]:
        with clock.frozen_at(moment):
            assert evaluate("next_deadline(9, 30)", {}) == expected, moment


def test_end_of_day_turns_a_date_field_into_the_end_of_that_day_in_china():
    from datetime import date
    assert evaluate("end_of_day(reply_deadline)", {"reply_deadline": "2026-05-15"}) == "2026-05-15T23:59:59+08:00"
    assert evaluator.end_of_day(date(2026, 5, 15)) == "2026-05-15T23:59:59+08:00"
    # The clock plays no part: the day is the one written in the form.
    from datetime import UTC, datetime

    from workflows.engine import clock
    with clock.frozen_at(datetime(2030, 1, 1, tzinfo=UTC)):
        assert evaluate("end_of_day('2026-12-31')", {}) == "2026-12-31T23:59:59+08:00"


@pytest.mark.parametrize("value", ["", "2026-13-01", "明天", "2026-05-15T08:00:00+08:00", 20260515, None,
                                   "9" * 5000])
def test_end_of_day_refuses_what_is_not_a_date(value):
    with pytest.raises(ValueError, match="end_of_day 需要一个日期"):
        evaluate("end_of_day(d)", {"d": value})
    check_expression("end_of_day(d)")  # the call itself is allowed; only the value is wrong


MALICIOUS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://x">
  <bpmn:process id="evil" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f_evil</bpmn:outgoing>
      <bpmn:outgoing>f_ok</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_evil" sourceRef="gw" targetRef="e1">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">__import__('os').system('touch MARKER')</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_ok" sourceRef="gw" targetRef="e2">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="e1"><bpmn:incoming>f_evil</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>f_ok</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def malicious(tmp_path: Path) -> tuple[str, Path]:
    marker = tmp_path / "pwned"
    return MALICIOUS.replace("MARKER", str(marker)), marker


def test_loader_rejects_malicious_condition_naming_the_flow(tmp_path):
    xml, marker = malicious(tmp_path)
    with pytest.raises(ProcessDefinitionError) as err:
        parse_sources({"evil.bpmn": xml}, require_top=False)
    assert err.value.element_id == "f_evil"
    assert not marker.exists()


def test_spec_reaching_the_engine_another_way_still_cannot_run_code(tmp_path):
    """Parsed straight with SpiffWorkflow's parser, bypassing our loader, and run without naming a
    script engine: the engine's default is our restricted one, so the command never runs."""
    xml, marker = malicious(tmp_path)
    parser = BpmnParser()
    parser.add_bpmn_str(xml.encode())
    workflow = BpmnWorkflow(parser.get_spec("evil"))
    assert isinstance(workflow.script_engine, evaluator.RestrictedScriptEngine)
    with pytest.raises(Exception, match="Error evaluating expression"):
        workflow.do_engine_steps()
    assert not marker.exists()
