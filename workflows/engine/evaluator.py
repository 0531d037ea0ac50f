"""The restricted evaluator every BPMN expression goes through.

SpiffWorkflow's default environment runs conditions with `eval` and scripts with `exec`, full builtins
included: a BPMN file would be arbitrary code. Here an expression is first checked against a short
whitelist of syntax (no attribute access, no subscripts of dunders, calls only to the helper functions
below), then evaluated by simpleeval with the parsed tree cached. Scripts are limited to lines of
`name = expression`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from simpleeval import EvalWithCompoundTypes
from SpiffWorkflow.bpmn import workflow as _spiff_workflow_module
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import clock

CHINA = ZoneInfo("Asia/Shanghai")


class UnsafeExpression(ValueError):
    """The expression uses syntax or names outside the whitelist."""


def deadline_this_year(month: int, day: int) -> str:
    """End of the given day in the current year (China time), as the ISO string a timer wants."""
    year = clock.now().astimezone(CHINA).year
    return datetime.combine(date(year, month, day), time(23, 59, 59), CHINA).isoformat()


def today() -> str:
    return clock.now().astimezone(CHINA).date().isoformat()


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "deadline_this_year": deadline_this_year,
    "today": today,
    "len": len,
    "min": min,
    "max": max,
    "int": int,
    "str": str,
    "bool": bool,
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.FloorDiv,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.Subscript, ast.Call,
)


def check_expression(expression: str) -> ast.Expression:
    """Parse and whitelist-check an expression; raise UnsafeExpression naming what is refused."""
    if not isinstance(expression, str) or not expression.strip():
        raise UnsafeExpression("表达式为空")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"表达式语法错误：{exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise UnsafeExpression(f"不允许的语法：{type(node).__name__}")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"不允许的名称：{node.id}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("__"):
            raise UnsafeExpression("不允许以双下划线开头的字符串")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise UnsafeExpression(f"不允许调用函数：{name}")
            if node.keywords:
                raise UnsafeExpression("不允许关键字参数")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            # Refuse string/list repetition bombs such as 'a' * 10**9; arithmetic on data stays allowed.
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant | ast.List | ast.Tuple) and not isinstance(
                    getattr(side, "value", 0), int | float
                ):
                    raise UnsafeExpression("不允许对字符串或列表做乘法")
    return tree


@lru_cache(maxsize=4096)
def _compiled(expression: str) -> Any:
    check_expression(expression)
    return EvalWithCompoundTypes.parse(expression.strip())


def evaluate(expression: str, names: dict[str, Any]) -> Any:
    """Evaluate a whitelisted expression against `names` (task data)."""
    tree = _compiled(expression)
    evaluator = EvalWithCompoundTypes(names=names, functions=FUNCTIONS)
    return evaluator.eval(expression, previously_parsed=tree)


def check_script(script: str) -> list[tuple[str, str]]:
    """A script is lines of `name = expression`; return them parsed, or raise UnsafeExpression."""
    try:
        module = ast.parse(script)
    except SyntaxError as exc:
        raise UnsafeExpression(f"脚本语法错误（第 {exc.lineno} 行）：{exc.msg}") from None
    assignments = []
    for stmt in module.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise UnsafeExpression(f"脚本第 {stmt.lineno} 行：只允许“变量 = 表达式”")
        target = stmt.targets[0].id
        if target.startswith("_"):
            raise UnsafeExpression(f"不允许的变量名：{target}")
        expression = ast.unparse(stmt.value)
        check_expression(expression)
        assignments.append((target, expression))
    return assignments


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Replaces SpiffWorkflow's eval/exec environment for conditions, timers and scripts."""

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        names = {**external_context, **context} if external_context else context
        return evaluate(expression, names)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        for target, expression in check_script(script):
            context[target] = self.evaluate(expression, context, external_context)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        raise UnsafeExpression("本系统流程不支持服务任务")


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self) -> None:
        super().__init__(environment=RestrictedEnvironment())

    def validate(self, expression: str) -> None:
        check_expression(expression)


SCRIPT_ENGINE = RestrictedScriptEngine()

# Defence in depth: any BpmnWorkflow built without an explicit engine (a code path we did not
# foresee, a library default) gets the restricted one instead of eval/exec with full builtins.
_spiff_workflow_module.PythonScriptEngine = RestrictedScriptEngine

# Keep timedelta importable for callers composing due dates next to the evaluator.
__all__ = ["SCRIPT_ENGINE", "UnsafeExpression", "check_expression", "check_script", "evaluate", "timedelta"]
