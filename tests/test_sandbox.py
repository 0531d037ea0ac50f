"""The expression sandbox: every position SpiffWorkflow evaluates is checked at load, bounded at run time,
and no import order or engine default leaves Python's eval/exec reachable.

Malicious expressions here try to create a marker file; every test asserts the file never appears.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from workflows.engine import bootstrap, evaluator, sandbox, specs
from workflows.engine.evaluator import UnsafeExpression, check_expression, evaluate, execute_script
from workflows.engine.specs import parse_sources
from workflows.errors import ProcessDefinitionError

ROOT = Path(__file__).resolve().parent.parent

# --- BPMN builders ----------------------------------------------------------------------------------------

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://x">
"""


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def bpmn(body: str, definitions: str = "") -> str:
    return f'{HEAD}{definitions}<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'


def chain(*nodes: str) -> str:
    """start -> nodes... -> end, each node given as the XML of an element with an id."""
    ids = ["s", *[n.split('id="', 1)[1].split('"', 1)[0] for n in nodes], "e"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False)))
    return '<bpmn:startEvent id="s"/>' + "".join(nodes) + '<bpmn:endEvent id="e"/>' + flows


def gateway(expr: str) -> str:
    return bpmn(
        '<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="gw" default="f_ok"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="gw"/>'
        f'<bpmn:sequenceFlow id="f_evil" sourceRef="gw" targetRef="e1"><bpmn:conditionExpression '
        f'xsi:type="bpmn:tFormalExpression">{_xml_text(expr)}</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="f_ok" sourceRef="gw" targetRef="e2"/>'
        '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>')


def conditional_event(expr: str) -> str:
    return bpmn(chain(
        f'<bpmn:intermediateCatchEvent id="ce"><bpmn:conditionalEventDefinition id="ced"><bpmn:condition '
        f'xsi:type="bpmn:tFormalExpression">{_xml_text(expr)}</bpmn:condition>'
        '</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>'))


def loop_condition(expr: str) -> str:
    return bpmn(chain(
        '<bpmn:task id="loop"><bpmn:standardLoopCharacteristics testBefore="true">'
        f'<bpmn:loopCondition xsi:type="bpmn:tFormalExpression">{_xml_text(expr)}</bpmn:loopCondition>'
        '</bpmn:standardLoopCharacteristics></bpmn:task>'))


def loop_cardinality(expr: str) -> str:
    return bpmn(chain(
        '<bpmn:task id="mi"><bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        f'<bpmn:loopCardinality>{_xml_text(expr)}</bpmn:loopCardinality>'
        '</bpmn:multiInstanceLoopCharacteristics></bpmn:task>'))


def completion_condition(expr: str) -> str:
    return bpmn(chain(
        # A script child runs by itself, so the condition is reached without completing user tasks.
        '<bpmn:scriptTask id="mi"><bpmn:script>y = 1</bpmn:script>'
        '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        '<bpmn:loopCardinality>2</bpmn:loopCardinality>'
        f'<bpmn:completionCondition>{_xml_text(expr)}</bpmn:completionCondition>'
        '</bpmn:multiInstanceLoopCharacteristics></bpmn:scriptTask>'))


def ad_hoc_completion(expr: str) -> str:
    return bpmn(chain(
        '<bpmn:adHocSubProcess id="ah"><bpmn:task id="ah_task"/>'
        f'<bpmn:completionCondition>{_xml_text(expr)}</bpmn:completionCondition></bpmn:adHocSubProcess>'))


def timer(kind: str) -> Any:
    def build(expr: str) -> str:
        return bpmn(chain(
            f'<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition id="td"><bpmn:{kind} '
            f'xsi:type="bpmn:tFormalExpression">{_xml_text(expr)}</bpmn:{kind}>'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'))
    return build


def script(expr: str) -> str:
    return bpmn(chain(f'<bpmn:scriptTask id="sc"><bpmn:script>a = 1\nx = {_xml_text(expr)}</bpmn:script>'
                      '</bpmn:scriptTask>'))


def correlation(expr: str) -> str:
    definitions = (
        '<bpmn:message id="msg" name="msg"/>'
        '<bpmn:correlationProperty id="cp" name="cp"><bpmn:correlationPropertyRetrievalExpression messageRef="msg">'
        f'<bpmn:formalExpression>{_xml_text(expr)}</bpmn:formalExpression>'
        '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>')
    return bpmn(chain('<bpmn:intermediateThrowEvent id="thr"><bpmn:messageEventDefinition id="med" '
                      'messageRef="msg"/></bpmn:intermediateThrowEvent>'), definitions)


# (builder, element named by the XML check, element named by the parsed-spec check)
POSITIONS = {
    "gateway condition": (gateway, "f_evil", "gw"),
    "conditional event condition": (conditional_event, "ce", "ce"),
    "loopCondition": (loop_condition, "loop", "loop"),
    "loopCardinality": (loop_cardinality, "mi", "mi"),
    "multi-instance completionCondition": (completion_condition, "mi", "mi"),
    "ad hoc completionCondition": (ad_hoc_completion, "ah", "ah"),
    "timer timeDate": (timer("timeDate"), "t", "t"),
    "timer timeDuration": (timer("timeDuration"), "t", "t"),
    "timer timeCycle": (timer("timeCycle"), "t", "t"),
    "script": (script, "sc", "sc"),
    "message correlation": (correlation, "cp", "thr"),
}


def evil(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w')"


def evil_shell(marker: Path) -> str:
    return f"__import__('os').system('touch {marker}')"


def _refusal_in(exc: BaseException) -> bool:
    """Whether our refusal is somewhere in the chain SpiffWorkflow wraps it in."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, UnsafeExpression):
            return True
        stack += [current.__cause__, current.__context__, getattr(current, "exception", None)]
    return False


def _run_unchecked(xml: str) -> BaseException | None:
    """Bypass our loader: SpiffWorkflow's own parser, and a workflow built with no script engine."""
    parser = BpmnParser()
    parser.add_bpmn_str(xml.encode())
    workflow = BpmnWorkflow(parser.get_spec("p"), parser.get_subprocess_specs("p"))
    try:
        for _ in range(3):
            workflow.do_engine_steps()
            workflow.refresh_waiting_tasks()
    except Exception as exc:  # the point: it must be our refusal
        return exc
    return None


# --- every expression position ----------------------------------------------------------------------------

@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("payload", [evil, evil_shell])
def test_loader_refuses_code_in_every_expression_position(position, payload, tmp_path):
    build, xml_element, _ = POSITIONS[position]
    marker = tmp_path / "pwned"
    with pytest.raises(ProcessDefinitionError) as err:
        parse_sources({"evil.bpmn": build(payload(marker))}, require_top=False)
    assert err.value.element_id == xml_element
    assert err.value.file == "evil.bpmn"
    assert "被拒绝" in err.value.message
    assert not marker.exists()


@pytest.mark.parametrize("position", POSITIONS)
def test_parsed_spec_check_catches_what_the_xml_check_would_miss(position, tmp_path, monkeypatch):
    """The second layer alone: with the XML check switched off, the walk over the parsed task specs
    still refuses each position, naming the BPMN element."""
    build, _, spec_element = POSITIONS[position]
    marker = tmp_path / "pwned"
    monkeypatch.setattr(specs, "_check_expressions", lambda root, file_name: None)
    with pytest.raises(ProcessDefinitionError) as err:
        parse_sources({"evil.bpmn": build(evil(marker))}, require_top=False)
    assert err.value.element_id == spec_element
    assert err.value.file == "evil.bpmn"
    assert not marker.exists()


@pytest.mark.parametrize("position", POSITIONS)
def test_the_engine_refuses_each_position_at_run_time_too(position, tmp_path):
    """Parsed straight with SpiffWorkflow's parser and run with its default engine: never executed."""
    build, _, _ = POSITIONS[position]
    marker = tmp_path / "pwned"
    exc = _run_unchecked(build(evil(marker)))
    assert exc is not None and _refusal_in(exc), exc
    assert not marker.exists()


@pytest.mark.parametrize("position", POSITIONS)
def test_ordinary_expressions_pass_in_every_position(position):
    build, _, _ = POSITIONS[position]
    ordinary = {"script": "a + 1", "timer timeDate": "'2030-01-01T00:00:00+08:00'",
                "timer timeDuration": "'P1D'", "timer timeCycle": "'R2/PT1H'",
                "loopCardinality": "2"}.get(position, "True")
    parse_sources({"ok.bpmn": build(ordinary)}, require_top=False)


def test_correlation_expression_hidden_in_a_comment_is_refused(tmp_path):
    """The parser takes the first child node's text, and a comment is a child node."""
    marker = tmp_path / "pwned"
    xml = correlation("True").replace("<bpmn:formalExpression>", f"<!--{evil(marker)}--><bpmn:formalExpression>")
    with pytest.raises(ProcessDefinitionError) as err:
        parse_sources({"evil.bpmn": xml}, require_top=False)
    assert err.value.element_id == "cp"
    assert not marker.exists()


def test_condition_of_a_boundary_conditional_event_is_checked(tmp_path):
    marker = tmp_path / "pwned"
    xml = bpmn(chain('<bpmn:task id="work"/>') +
               '<bpmn:boundaryEvent id="b" attachedToRef="work"><bpmn:conditionalEventDefinition id="bd">'
               f'<bpmn:condition>{_xml_text(evil(marker))}</bpmn:condition></bpmn:conditionalEventDefinition>'
               '</bpmn:boundaryEvent><bpmn:endEvent id="be"/><bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="be"/>')
    with pytest.raises(ProcessDefinitionError) as err:
        parse_sources({"evil.bpmn": xml}, require_top=False)
    assert err.value.element_id == "b"
    assert not marker.exists()


# --- denial of service ---------------------------------------------------------------------------------------

DOS = {
    "format width": "'%0999999999d' % 1",
    "format with a name": "'%s' % x",
    "format through a variable": "fmt % 1",
    "bytes format": "b'%0999999999d' % 1",
    "unary minus x5000": "-" * 5000 + "1",
    "unary not x400": "not " * 400 + "1",
    "100k-term sum": "1" + "+1" * 99_999,
    "900-term sum": "1" + "+1" * 900,
    "nested brackets": "(" * 100 + "1" + ")" * 100,
    "nested lists": "[" * 40 + "]" * 40,
    "wide expression": "[" + ", ".join(["1"] * 500) + "]",
    "big integer literal": "1" + "0" * 200,
    "big product": "big * big",
    "int from a long string": "int(digits)",
    "list repetition": "one * million",
    "string repetition": "s * million",
    "string concatenation": "long + long",
    "a helper as a value": "len",
}


@pytest.mark.parametrize("expression", DOS.values(), ids=DOS.keys())
def test_denial_of_service_expressions_are_refused_quickly(expression):
    names = {"x": 1, "fmt": "%0999999999d", "big": 10**60, "digits": "9" * 4000, "one": [1],
             "million": 10**6, "s": "ab", "long": "x" * 60_000}
    started = time.monotonic()
    with pytest.raises(UnsafeExpression):
        evaluate(expression, names)
    assert time.monotonic() - started < 1


def test_refusals_of_unparseable_input_are_clear_not_tracebacks():
    for expression in ("-" * 1999 + "1", "not " * 499 + "1", "1" + "+1" * 990):
        with pytest.raises(UnsafeExpression, match="过长|嵌套过深|过于复杂"):
            check_expression(expression)


def test_depth_is_bounded_before_the_parser_runs(monkeypatch):
    def must_not_parse(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("ast.parse reached")
    monkeypatch.setattr(evaluator.ast, "parse", must_not_parse)
    for expression in ("-" * 100 + "1", "(" * 40 + "1" + ")" * 40, "1" + "+1" * 5000):
        with pytest.raises(UnsafeExpression, match="嵌套过深|过长"):
            check_expression(expression)
    with pytest.raises(UnsafeExpression, match="嵌套过深|过长|行数过多"):
        execute_script("x = " + "-" * 100 + "1", {})


def test_brackets_and_operators_inside_strings_do_not_count():
    assert evaluate("s == '" + "(" * 50 + "-" * 50 + "'", {"s": "(" * 50 + "-" * 50}) is True


def test_a_long_sum_of_fields_is_still_allowed():
    names = {f"a{i}": i for i in range(50)}
    assert evaluate(" + ".join(names), names) == sum(range(50))


def test_parser_recursion_becomes_a_refusal(monkeypatch):
    def explode(*_a: Any, **_k: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded during ast construction")
    monkeypatch.setattr(evaluator.ast, "parse", explode)
    with pytest.raises(UnsafeExpression, match="无法解析"):
        check_expression("1 + 1")


def test_repeated_squaring_script_stops_at_the_integer_limit():
    script = "x = 2\n" + "x = x * x\n" * 60
    context: dict[str, Any] = {}
    started = time.monotonic()
    with pytest.raises(UnsafeExpression, match="整数超出允许范围"):
        execute_script(script, context)
    assert time.monotonic() - started < 1
    assert context == {}  # a refused script writes nothing


def test_doubling_a_shared_list_is_stopped_by_its_size():
    script = "x = [1]\n" + "x = [x, x]\n" * 60
    started = time.monotonic()
    with pytest.raises(UnsafeExpression, match="数据规模过大|超时"):
        execute_script(script, {})
    assert time.monotonic() - started < 2


def test_doubling_a_string_is_stopped_by_its_length():
    with pytest.raises(UnsafeExpression, match="结果过长"):
        execute_script("x = 'ab'\n" + "x = x + x\n" * 40, {})


def test_scripts_have_a_line_limit():
    with pytest.raises(UnsafeExpression, match="行数过多"):
        execute_script("x = 1\n" * (evaluator.MAX_SCRIPT_LINES + 1), {})


def test_scripts_have_a_time_budget(monkeypatch):
    monkeypatch.setattr(evaluator, "SCRIPT_TIME_BUDGET", -1.0)
    with pytest.raises(UnsafeExpression, match="超时"):
        execute_script("x = 1\ny = 2", {})


def test_expressions_have_a_time_budget(monkeypatch):
    monkeypatch.setattr(evaluator, "EXPRESSION_TIME_BUDGET", -1.0)
    with pytest.raises(UnsafeExpression, match="超时"):
        evaluate("1 + 1", {})


def test_squaring_script_in_a_workflow_fails_with_our_refusal_fast():
    xml = bpmn(chain('<bpmn:scriptTask id="sq"><bpmn:script>'
                     + "x = 2\n" + "x = x * x\n" * 100 + "</bpmn:script></bpmn:scriptTask>"))
    bundle = parse_sources({"sq.bpmn": xml}, top="p")  # nothing to refuse statically: the sizes are data
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs)
    started = time.monotonic()
    with pytest.raises(Exception) as err:
        workflow.do_engine_steps()
    assert _refusal_in(err.value)
    assert time.monotonic() - started < 2


def test_ordinary_scripts_still_run():
    context = {"households": 120}
    execute_script("# 计算\nresettled = households - 20\nratio = (resettled * 100) // households\n"
                   "label = '已安置' + str(resettled) + '户'", context)
    assert context == {"households": 120, "resettled": 100, "ratio": 83, "label": "已安置100户"}


def test_ordinary_condition_stays_in_microseconds():
    names = {"verified": True, "mode": "offsite"}
    evaluate("mode in ['monetary', 'offsite'] and verified == True", names)
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        evaluate("mode in ['monetary', 'offsite'] and verified == True", names)
    per_call = (time.perf_counter() - started) / runs
    assert per_call < 200e-6, per_call  # ~15 µs here; generous for slow CI machines


# --- check-bpmn on the command line ---------------------------------------------------------------------

@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("HUIQIAN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    from webapp.cli import main

    def invoke(*args: str):  # noqa: ANN202
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    return invoke


@pytest.mark.parametrize("expression", ["-" * 5000 + "1", "1" + "+1" * 99_999],
                         ids=["5000 unary minus", "100k-term sum"])
def test_check_bpmn_refuses_deep_expressions_in_one_line(cli, tmp_path, expression):
    path = tmp_path / "deep.bpmn"
    path.write_text(gateway(expression), encoding="utf-8")
    result = cli("check-bpmn", str(path))
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output[:500]
    assert "f_evil" in lines[0] and "被拒绝" in lines[0] and "过长" in lines[0]
    assert "Traceback" not in result.output and "RecursionError" not in result.output


def test_check_bpmn_refuses_a_conditional_event_and_a_loop_condition(cli, tmp_path):
    marker = tmp_path / "pwned"
    for build, element in ((conditional_event, "ce"), (loop_condition, "loop")):
        path = tmp_path / f"{element}.bpmn"
        path.write_text(build(evil_shell(marker)), encoding="utf-8")
        result = cli("check-bpmn", str(path))
        assert result.exit_code != 0
        assert element in result.output and "被拒绝" in result.output
    assert not marker.exists()


def test_project_processes_still_pass(cli):
    result = cli("check-bpmn")
    assert result.exit_code == 0, result.output


# --- no import order leaves eval/exec reachable -------------------------------------------------------------

CHILD = r"""
import json, sys
from pathlib import Path
IMPORT_SPIFF_FIRST = {spiff_first}
IMPORT_ENGINE = {engine}
if IMPORT_SPIFF_FIRST:
    import SpiffWorkflow.bpmn.workflow
    from SpiffWorkflow.bpmn.script_engine import python_environment
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
if IMPORT_ENGINE:
    import workflows.engine  # noqa: F401  -- the only huiqian import
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

sources = json.loads(sys.argv[1])
engines = {{
    "default": lambda: None,
    "PythonScriptEngine()": lambda: PythonScriptEngine(),
    "TaskDataEnvironment": lambda: PythonScriptEngine(environment=TaskDataEnvironment()),
}}
out = {{}}
for label, xml in sources.items():
    for name, make in engines.items():
        parser = BpmnParser()
        parser.add_bpmn_str(xml.encode())
        workflow = BpmnWorkflow(parser.get_spec("p"), script_engine=make())
        try:
            workflow.do_engine_steps()
            out[f"{{label}} / {{name}}"] = "completed"
        except Exception as exc:
            chain, seen = [], [exc]
            while seen:
                e = seen.pop()
                if e is None:
                    continue
                chain.append(type(e).__name__ + ": " + str(e))
                seen += [e.__cause__, e.__context__]
            out[f"{{label}} / {{name}}"] = " | ".join(chain)
print(json.dumps(out, ensure_ascii=False))
"""


def _child(tmp_path: Path, *, spiff_first: bool, engine: bool) -> tuple[dict[str, str], Path]:
    marker = tmp_path / "pwned"
    sources = {"gateway": gateway(evil_shell(marker)), "script": script(evil(marker))}
    code = CHILD.format(spiff_first=spiff_first, engine=engine)
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(sources)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), marker


@pytest.mark.parametrize("spiff_first", [False, True], ids=["engine imported alone", "SpiffWorkflow first"])
def test_importing_workflows_engine_alone_closes_every_path(tmp_path, spiff_first):
    outcomes, marker = _child(tmp_path, spiff_first=spiff_first, engine=True)
    assert len(outcomes) == 6
    for where, outcome in outcomes.items():
        assert "UnsafeExpression" in outcome, (where, outcome)
    assert not marker.exists()


def test_without_the_sandbox_the_same_files_do_run_code(tmp_path):
    """Control: proves the payloads above would have worked, so their absence is the sandbox's doing."""
    outcomes, marker = _child(tmp_path, spiff_first=True, engine=False)
    assert marker.exists()
    assert not any("UnsafeExpression" in o for o in outcomes.values())


# --- the other eval/exec sites -----------------------------------------------------------------------------

def test_bootstrap_is_idempotent_and_installed():
    bootstrap()
    bootstrap()
    assert sandbox.installed()
    from SpiffWorkflow.bpmn import workflow
    assert workflow.PythonScriptEngine is evaluator.RestrictedScriptEngine


def test_default_environment_routes_to_the_restricted_evaluator(tmp_path):
    """An engine built explicitly on SpiffWorkflow's TaskDataEnvironment keeps working for ordinary
    expressions and scripts, and refuses the rest."""
    marker = tmp_path / "pwned"
    env = TaskDataEnvironment()
    assert env.evaluate("a + 1", {"a": 1}) == 2
    context = {"a": 1}
    env.execute("b = a * 3", context)
    assert context == {"a": 1, "b": 3}
    with pytest.raises(UnsafeExpression):
        env.evaluate(evil(marker), {})
    with pytest.raises(UnsafeExpression):
        env.execute(f"x = {evil(marker)}", {})
    with pytest.raises(UnsafeExpression):
        env.execute("import os", {})
    assert isinstance(PythonScriptEngine().environment, evaluator.RestrictedEnvironment)
    assert not marker.exists()


def test_serializer_migration_never_evals_a_stored_timer(tmp_path):
    from SpiffWorkflow.bpmn.serializer.exceptions import VersionMigrationError
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

    marker = tmp_path / "pwned"
    forged = {
        "serializer_version": "1.1",
        "spec": {"task_specs": {"t": {
            "name": "t", "typename": "IntermediateCatchEvent",
            "event_definition": {"typename": "TimerEventDefinition", "label": "t",
                                 "dateTime": evil_shell(marker)}}}},
        "tasks": {},
    }
    with pytest.raises(VersionMigrationError) as err:
        BpmnWorkflowSerializer().migrate(forged)
    assert _refusal_in(err.value)
    assert not marker.exists()


def test_core_transform_spec_never_execs(tmp_path):
    from SpiffWorkflow.specs import Transform, WorkflowSpec
    from SpiffWorkflow.workflow import Workflow

    marker = tmp_path / "pwned"
    spec = WorkflowSpec("t", addstart=True)
    transform = Transform(spec, "transform", transforms=[f"{evil(marker)}.write('x')"])
    spec.start.connect(transform)
    with pytest.raises(UnsafeExpression):
        Workflow(spec).run_all()
    assert not marker.exists()
