"""The restricted evaluator every BPMN expression goes through.

SpiffWorkflow's default environment runs conditions with `eval` and scripts with `exec`, full builtins
included: a BPMN file would be arbitrary code. Here an expression is first checked against a short
whitelist of syntax (no attribute access, no subscripts of dunders, calls only to the helper functions
below), then evaluated by simpleeval's node handlers over the cached tree. Scripts are limited to lines
of `name = expression`.

A whitelist alone still lets a file exhaust the machine (`'%0999999999d' % 1` asks for a gigabyte,
`x = x * x` repeated squares an integer past any size, `-` * 5000 + `1` overflows the parser), so every
expression and every value it produces is bounded:

* source: at most MAX_EXPRESSION_LENGTH characters, MAX_NESTING levels of brackets and MAX_NESTING
  unary operators in a row, checked *before* `ast.parse`; then at most MAX_AST_DEPTH levels and
  MAX_AST_NODES nodes of syntax tree. A parser that still gives up (RecursionError, MemoryError) becomes UnsafeExpression.
* values: integers within ±MAX_INTEGER (10**100, about 333 bits: far beyond any count or amount of
  money, far below what makes arithmetic slow); strings and containers at most MAX_LENGTH long, checked
  before `*` and `+` allocate; a container's recursive size (elements plus characters, shared parts
  counted each time they are reached) at most MAX_WEIGHT and its nesting at most MAX_VALUE_DEPTH.
  String formatting with `%` is refused outright.
* time: an expression gets EXPRESSION_TIME_BUDGET seconds, a whole script SCRIPT_TIME_BUDGET seconds,
  checked at every node and between lines; a script has at most MAX_SCRIPT_LINES lines.

Every refusal is an UnsafeExpression with a Chinese message.
"""

from __future__ import annotations

import ast
import operator as op
import time
from collections import ChainMap
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from functools import lru_cache
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from simpleeval import EvalWithCompoundTypes, SimpleEval
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import clock

CHINA = ZoneInfo("Asia/Shanghai")

MAX_EXPRESSION_LENGTH = 2_000
MAX_NESTING = 32  # brackets, and unary operators in a row, counted in the source
MAX_AST_DEPTH = 64  # a sum of 60 terms nests 60 deep; simpleeval recurses about twice per level
MAX_AST_NODES = 400
MAX_INTEGER = 10**100
MAX_LENGTH = 100_000
MAX_WEIGHT = 500_000
MAX_VALUE_DEPTH = 32
MAX_SCRIPT_LENGTH = 20_000
MAX_SCRIPT_LINES = 200
EXPRESSION_TIME_BUDGET = 0.5  # seconds
SCRIPT_TIME_BUDGET = 1.0  # seconds, for all lines of one script together


class UnsafeExpression(ValueError):
    """The expression uses syntax or names outside the whitelist, or exceeds a limit."""


def deadline_this_year(month: int, day: int) -> str:
    """End of the given day in the current year (China time), as the ISO string a timer wants."""
    year = clock.now().astimezone(CHINA).year
    return datetime.combine(date(year, month, day), time_of_day(23, 59, 59), CHINA).isoformat()


def _end_of(day: date) -> str:
    return datetime.combine(day, time_of_day(23, 59, 59), CHINA).isoformat()


def next_deadline(month: int, day: int) -> str:
    """End of the given day (China time) in the current year, or in the next year once this year's has
    passed: a step reached after a yearly deadline gets the next one instead of a deadline that has
    already gone by (which would fire the moment the step opens)."""
    now = clock.now().astimezone(CHINA)
    moment = datetime.combine(date(now.year, month, day), time_of_day(23, 59, 59), CHINA)
    if moment < now:
        moment = datetime.combine(date(now.year + 1, month, day), time_of_day(23, 59, 59), CHINA)
    return moment.isoformat()


def end_of_day(value: Any) -> str:
    """End of a day named in task data (China time), as the ISO string a timer wants: a deadline an
    officer wrote into a form (date fields store "YYYY-MM-DD") drives the timer that waits for it."""
    if isinstance(value, datetime):
        return _end_of(value.astimezone(CHINA).date() if value.tzinfo else value.date())
    if isinstance(value, date):
        return _end_of(value)
    if isinstance(value, str) and len(value) <= 10:
        try:
            return _end_of(date.fromisoformat(value))
        except ValueError:
            pass
    shown = value if isinstance(value, str) and len(value) <= 40 else type(value).__name__
    raise ValueError(f"end_of_day 需要一个日期（YYYY-MM-DD），收到的是 {shown!r}")


def today() -> str:
    return clock.now().astimezone(CHINA).date().isoformat()


def _bounded_int(*args: Any) -> int:
    # int('9' * 4000) is legal Python; the bound must hold for what int() returns as for arithmetic.
    return _check_value(int(*args))


def _bounded_str(*args: Any) -> str:
    return _check_value(str(*args))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "deadline_this_year": deadline_this_year,
    "next_deadline": next_deadline,
    "end_of_day": end_of_day,
    "today": today,
    "len": len,
    "min": min,
    "max": max,
    "int": _bounded_int,
    "str": _bounded_str,
    "bool": bool,
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.FloorDiv,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.Subscript, ast.Call,
)


# --- values -------------------------------------------------------------------------------------------

_SCALARS = frozenset({bool, float, complex, type(None), date, datetime, time_of_day, timedelta})
_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (list, tuple, dict, set, frozenset)


def _too_big_int() -> UnsafeExpression:
    return UnsafeExpression("整数超出允许范围（绝对值上限 10^100）")


def _too_long(length: int) -> UnsafeExpression:
    return UnsafeExpression(f"结果过长（{length}，上限 {MAX_LENGTH}）")


_Memo = dict[int, tuple[Any, int, int]]  # id -> (the object, kept alive so ids stay unique; weight; height)


def _weigh(value: Any, memo: _Memo, depth: int = 1) -> tuple[int, int]:
    """Recursive size (elements plus characters) and height of a container; refuse beyond the bounds.

    Shared parts count every time they are reached: `x = [x, x]` repeated doubles what printing or
    comparing `x` would walk, so it doubles the measured size too. The memo makes that arithmetic,
    not a walk: nothing in the language mutates a value, so a weighed object keeps its weight for the
    whole expression or script. Recursion stops at MAX_VALUE_DEPTH.
    """
    hit = memo.get(id(value))
    if hit is not None and hit[0] is value:
        weight, height = hit[1], hit[2]
        if depth + height - 1 > MAX_VALUE_DEPTH:
            raise UnsafeExpression(f"数据嵌套过深（上限 {MAX_VALUE_DEPTH} 层）")
        return weight, height
    if depth > MAX_VALUE_DEPTH:
        raise UnsafeExpression(f"数据嵌套过深（上限 {MAX_VALUE_DEPTH} 层）")
    weight, height = len(value), 1
    is_dict = isinstance(value, dict)
    for item in value.items() if is_dict else value:
        for part in item if is_dict else (item,):
            kind = type(part)
            if kind in _SCALARS:
                continue
            if isinstance(part, str | bytes):
                weight += len(part)
            elif isinstance(part, int):
                if not -MAX_INTEGER <= part <= MAX_INTEGER:
                    raise _too_big_int()
            elif isinstance(part, _CONTAINERS):
                part_weight, part_height = _weigh(part, memo, depth + 1)
                weight += part_weight
                height = max(height, part_height + 1)
            elif callable(part) or isinstance(part, ModuleType):
                raise UnsafeExpression("数据中不允许出现函数或模块")
            if weight > MAX_WEIGHT:
                raise UnsafeExpression(f"数据规模过大（上限 {MAX_WEIGHT} 个元素或字符）")
    memo[id(value)] = (value, weight, height)
    return weight, height


def _check_value(value: Any, memo: _Memo | None = None) -> Any:
    """Refuse a value beyond the bounds; return it unchanged otherwise."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is str:  # the common case, before the isinstance chain
        if len(value) > MAX_LENGTH:
            raise _too_long(len(value))
        return value
    if isinstance(value, str | bytes):
        if len(value) > MAX_LENGTH:
            raise _too_long(len(value))
    elif isinstance(value, int):
        if not -MAX_INTEGER <= value <= MAX_INTEGER:
            raise _too_big_int()
    elif isinstance(value, _CONTAINERS):
        if len(value) > MAX_LENGTH:
            raise _too_long(len(value))
        _weigh(value, {} if memo is None else memo)
    elif callable(value) or isinstance(value, ModuleType):
        # Only reachable by naming a helper without calling it; task data never holds functions.
        raise UnsafeExpression("函数不能作为值使用")
    return value


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_LENGTH:
        raise _too_long(len(a) + len(b))
    return a + b


def _mult(a: Any, b: Any) -> Any:
    # Checked before multiplying: the allocation itself is the attack.
    for seq, times in ((a, b), (b, a)):
        if isinstance(seq, _SEQUENCES) and isinstance(times, int) and len(seq) * times > MAX_LENGTH:
            raise _too_long(len(seq) * times)
    return a * b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        # '%0999999999d' % 1 allocates a gigabyte; formatting is never needed in a condition.
        raise UnsafeExpression("不允许用 % 格式化字符串")
    return a % b


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _add, ast.Sub: op.sub, ast.Mult: _mult, ast.Div: op.truediv, ast.FloorDiv: op.floordiv,
    ast.Mod: _mod,
    ast.Eq: op.eq, ast.NotEq: op.ne, ast.Gt: op.gt, ast.Lt: op.lt, ast.GtE: op.ge, ast.LtE: op.le,
    ast.In: lambda x, y: op.contains(y, x), ast.NotIn: lambda x, y: not op.contains(y, x),
    ast.Is: op.is_, ast.IsNot: op.is_not,
    ast.Not: op.not_, ast.USub: op.neg, ast.UAdd: op.pos,
}


# --- source and syntax ----------------------------------------------------------------------------------

def _prescan(source: str, what: str, max_length: int) -> None:
    """Bound length, bracket depth and runs of unary operators before the parser sees the text.

    CPython's parser recurses once per level: `-` * 5000 + '1' raises RecursionError inside
    ast.parse, and a deeper input can exhaust the C stack. String literals are skipped so that
    brackets inside quotes do not count.
    """
    if len(source) > max_length:
        raise UnsafeExpression(f"{what}过长（{len(source)} 个字符，上限 {max_length}）")
    depth = unary = 0
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in "'\"":
            quote = ch * 3 if source.startswith(ch * 3, i) else ch
            i += len(quote)
            while i < n and not source.startswith(quote, i):
                i += 2 if source[i] == "\\" else 1
            i += len(quote)
            unary = 0
            continue
        if ch == "#":  # a comment in a script: its brackets are not code
            while i < n and source[i] != "\n":
                i += 1
            continue
        if ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise UnsafeExpression(f"{what}嵌套过深（括号超过 {MAX_NESTING} 层）")
        elif ch in ")]}":
            depth -= 1
        if ch in "-+~":
            unary += 1
            if unary > MAX_NESTING:
                raise UnsafeExpression(f"{what}嵌套过深（连续运算符超过 {MAX_NESTING} 个）")
        elif not ch.isspace() and ch not in "([{":
            unary = 0
        i += 1


def _parse(source: str, mode: str, what: str) -> ast.AST:
    try:
        return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        where = f"（第 {exc.lineno} 行）" if mode == "exec" and exc.lineno else ""
        raise UnsafeExpression(f"{what}语法错误{where}：{exc.msg}") from None
    except (RecursionError, MemoryError):
        raise UnsafeExpression(f"{what}嵌套过深或过于复杂，无法解析") from None
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise UnsafeExpression(f"{what}包含非法字符：{exc}") from None


def _describe(node: ast.AST) -> str:
    """Short source text of a node for a refusal; the depth bound may not have been checked yet."""
    if isinstance(node, ast.Name):
        return node.id
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):
        return type(node).__name__
    return text if len(text) <= 60 else text[:60] + "…"


def _check_tree(tree: ast.AST) -> None:
    """Whitelist every node; bound depth and size. Iterative, so a deep tree cannot overflow here."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_AST_NODES:
            raise UnsafeExpression(f"表达式过于复杂（语法节点超过 {MAX_AST_NODES} 个）")
        if depth > MAX_AST_DEPTH:
            raise UnsafeExpression(f"表达式嵌套过深（超过 {MAX_AST_DEPTH} 层）")
        if not isinstance(node, _ALLOWED_NODES):
            raise UnsafeExpression(f"不允许的语法：{type(node).__name__}")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"不允许的名称：{node.id}")
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str) and value.startswith("__"):
                raise UnsafeExpression("不允许以双下划线开头的字符串")
            if isinstance(value, int) and not -MAX_INTEGER <= value <= MAX_INTEGER:
                raise _too_big_int()
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise UnsafeExpression(f"不允许调用函数：{_describe(node.func)}")
            if node.keywords:
                raise UnsafeExpression("不允许关键字参数")
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Mult):
                # Refuse string/list repetition bombs such as 'a' * 10**9; arithmetic on data stays allowed.
                for side in (node.left, node.right):
                    if isinstance(side, ast.Constant | ast.List | ast.Tuple) and not isinstance(
                        getattr(side, "value", 0), int | float
                    ):
                        raise UnsafeExpression("不允许对字符串或列表做乘法")
            if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(
                node.left.value, str | bytes
            ):
                raise UnsafeExpression("不允许用 % 格式化字符串")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def check_expression(expression: str) -> ast.Expression:
    """Parse and whitelist-check an expression; raise UnsafeExpression naming what is refused."""
    if not isinstance(expression, str) or not expression.strip():
        raise UnsafeExpression("表达式为空")
    source = expression.strip()
    _prescan(source, "表达式", MAX_EXPRESSION_LENGTH)
    tree = _parse(source, "eval", "表达式")
    _check_tree(tree)
    return tree  # type: ignore[return-value]


@lru_cache(maxsize=4096)
def _compiled(expression: str) -> ast.expr:
    return check_expression(expression).body


# --- evaluation -----------------------------------------------------------------------------------------

class _Evaluator(EvalWithCompoundTypes):
    """simpleeval's node handlers behind our own dispatch: only whitelisted nodes, every result bounded,
    a deadline checked at every node."""

    _HANDLERS: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
        ast.Name: SimpleEval._eval_name,
        ast.Constant: lambda _self, node: node.value,  # bounded by _check_value like any result
        ast.UnaryOp: SimpleEval._eval_unaryop,
        ast.BinOp: SimpleEval._eval_binop,
        ast.BoolOp: SimpleEval._eval_boolop,
        ast.Compare: SimpleEval._eval_compare,
        ast.IfExp: SimpleEval._eval_ifexp,
        ast.Call: SimpleEval._eval_call,
        ast.Subscript: SimpleEval._eval_subscript,
        ast.Dict: EvalWithCompoundTypes._eval_dict,
        ast.List: EvalWithCompoundTypes._eval_list,
        ast.Tuple: EvalWithCompoundTypes._eval_tuple,
        ast.Set: EvalWithCompoundTypes._eval_set,
    }

    def __init__(self, names: Mapping[str, Any], deadline: float, source: str, memo: _Memo | None = None) -> None:
        # SimpleEval.__init__ is skipped on purpose: it builds a dispatch table and copies the operator
        # and function tables on every construction, and EvalWithCompoundTypes adds list/dict/... to the
        # function table it is given. Ours are fixed and shared, and _eval below dispatches itself.
        self.names = names
        self.functions = FUNCTIONS
        self.operators = _OPERATORS
        self.nodes = self._HANDLERS
        self.allowed_attrs = None
        self.deadline = deadline
        self.expr = source
        self.memo = {} if memo is None else memo

    def _eval(self, node: ast.AST) -> Any:
        if time.monotonic() > self.deadline:
            raise UnsafeExpression("表达式求值超时")
        handler = self._HANDLERS.get(type(node))
        if handler is None:
            raise UnsafeExpression(f"不允许的语法：{type(node).__name__}")
        return _check_value(handler(self, node), self.memo)


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    """Evaluate a whitelisted expression against `names` (task data)."""
    node = _compiled(expression)
    return _Evaluator(names, time.monotonic() + EXPRESSION_TIME_BUDGET, expression)._eval(node)


@lru_cache(maxsize=1024)
def _compiled_script(script: str) -> tuple[tuple[str, ast.expr, int, str], ...]:
    _prescan(script, "脚本", MAX_SCRIPT_LENGTH)
    lines = [line for line in script.splitlines() if line.strip()]
    if len(lines) > MAX_SCRIPT_LINES:
        raise UnsafeExpression(f"脚本行数过多（{len(lines)} 行，上限 {MAX_SCRIPT_LINES}）")
    for number, line in enumerate(script.splitlines(), start=1):
        if len(line) > MAX_EXPRESSION_LENGTH:
            raise UnsafeExpression(f"脚本第 {number} 行过长（上限 {MAX_EXPRESSION_LENGTH} 个字符）")
    module = _parse(script, "exec", "脚本")
    if len(module.body) > MAX_SCRIPT_LINES:  # type: ignore[attr-defined]  # `a = 1; b = 2` on one line
        raise UnsafeExpression(f"脚本语句过多（上限 {MAX_SCRIPT_LINES} 条）")
    assignments = []
    for stmt in module.body:  # type: ignore[attr-defined]
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            raise UnsafeExpression(f"脚本第 {stmt.lineno} 行：只允许“变量 = 表达式”")
        target = stmt.targets[0].id
        if target.startswith("_"):
            raise UnsafeExpression(f"脚本第 {stmt.lineno} 行：不允许的变量名 {target}")
        source = ast.get_source_segment(script, stmt.value) or ""
        try:
            if len(source) > MAX_EXPRESSION_LENGTH:
                raise UnsafeExpression(f"表达式过长（{len(source)} 个字符，上限 {MAX_EXPRESSION_LENGTH}）")
            _check_tree(ast.Expression(body=stmt.value))
        except UnsafeExpression as exc:
            raise UnsafeExpression(f"脚本第 {stmt.lineno} 行：{exc}") from None
        assignments.append((target, stmt.value, stmt.lineno, source))
    return tuple(assignments)


def check_script(script: str | None) -> list[tuple[str, str]]:
    """A script is lines of `name = expression`; return (name, expression text) pairs, or raise
    UnsafeExpression."""
    if script is not None and not isinstance(script, str):
        raise UnsafeExpression("脚本必须是文本")
    return [(target, source) for target, _, _, source in _compiled_script(script or "")]


def execute_script(script: str | None, context: dict[str, Any],
                   external_context: Mapping[str, Any] | None = None) -> None:
    """Run a checked script, writing its assignments into `context` only if every line succeeds."""
    if script is not None and not isinstance(script, str):
        raise UnsafeExpression("脚本必须是文本")
    assignments = _compiled_script(script or "")
    deadline = time.monotonic() + SCRIPT_TIME_BUDGET
    assigned: dict[str, Any] = {}
    memo: _Memo = {}  # shared by all lines: values carried from line to line are weighed once
    names = ChainMap(assigned, context, dict(external_context or {}))
    for target, node, lineno, source in assignments:
        if time.monotonic() > deadline:
            raise UnsafeExpression(f"脚本运行超时（上限 {SCRIPT_TIME_BUDGET} 秒），停在第 {lineno} 行")
        try:
            assigned[target] = _Evaluator(names, deadline, source, memo)._eval(node)
        except UnsafeExpression as exc:
            raise UnsafeExpression(f"脚本第 {lineno} 行：{exc}") from None
        except Exception as exc:
            exc.add_note(f"脚本第 {lineno} 行：{source}")
            raise
    context.update(assigned)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Replaces SpiffWorkflow's eval/exec environment for conditions, timers and scripts."""

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        names = ChainMap(context, external_context) if external_context else context
        return evaluate(expression, names)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        execute_script(script, context, external_context)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        raise UnsafeExpression("本系统流程不支持服务任务")


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self, environment: BasePythonScriptEngineEnvironment | None = None) -> None:
        # Whatever environment a caller offers, expressions go through ours.
        super().__init__(environment=RestrictedEnvironment())

    def validate(self, expression: str) -> None:
        check_expression(expression)


SCRIPT_ENGINE = RestrictedScriptEngine()

# Keep timedelta importable for callers composing due dates next to the evaluator.
__all__ = [
    "SCRIPT_ENGINE", "RestrictedEnvironment", "RestrictedScriptEngine", "UnsafeExpression",
    "check_expression", "check_script", "evaluate", "execute_script", "timedelta",
]
