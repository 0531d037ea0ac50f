"""One bootstrap that leaves SpiffWorkflow no way to reach Python's eval/exec.

Passing our script engine to every BpmnWorkflow we build is not enough: a workflow built without one
(a library default, a code path we did not foresee) falls back to `PythonScriptEngine()`, whose
environment calls `eval`/`exec` with full builtins; the serializer's 1.2 migration `eval`s stored
timer expressions; the core `Transform` spec `exec`s its commands. `bootstrap()` rebinds each of those
names in the module that looks it up, so the replacement holds whichever module was imported first.
Module globals shadow builtins, so setting `eval` on a module changes only that module.

`workflows.engine` calls `bootstrap()` when it is imported, so importing anything from the engine
installs it; the app factory calls it again explicitly. Calling it twice is harmless.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from .evaluator import (
    RestrictedEnvironment,
    RestrictedScriptEngine,
    UnsafeExpression,
    evaluate,
    execute_script,
)


def _restricted_eval(source: Any, global_names: Mapping[str, Any] | None = None,
                     local_names: Mapping[str, Any] | None = None, /) -> Any:
    """Stands in for `eval` inside SpiffWorkflow's default environment: the same restricted evaluator."""
    if not isinstance(source, str):
        raise UnsafeExpression("拒绝执行已编译的代码对象，只接受受限表达式文本")
    names = {**(global_names or {}), **(local_names or {})}
    return evaluate(source, names)


def _restricted_exec(source: Any, global_names: dict[str, Any] | None = None,
                     local_names: dict[str, Any] | None = None, /) -> None:
    """Stands in for `exec` inside SpiffWorkflow's default environment: the restricted script runner."""
    if not isinstance(source, str):
        raise UnsafeExpression("拒绝执行已编译的代码对象，只接受受限脚本文本")
    target = local_names if local_names is not None else global_names if global_names is not None else {}
    execute_script(source, target)


def _refuse_migration_eval(*_args: Any, **_kwargs: Any) -> Any:
    # Only states serialized before SpiffWorkflow 1.2 reach this; huiqian never wrote any, so a state
    # asking for it is forged or foreign.
    raise UnsafeExpression("拒绝执行：不会用 eval 求值旧版序列化状态中的定时器表达式")


def _refuse_transform_exec(*_args: Any, **_kwargs: Any) -> None:
    raise UnsafeExpression("拒绝执行：Transform 任务的代码不会被运行")


def _targets() -> dict[str, Any]:
    from SpiffWorkflow.bpmn import workflow
    from SpiffWorkflow.bpmn.script_engine import python_engine, python_environment
    from SpiffWorkflow.bpmn.serializer.migration import version_1_2

    # `SpiffWorkflow.specs.Transform` is shadowed by the class of that name in the package namespace.
    transform = importlib.import_module("SpiffWorkflow.specs.Transform")
    return {"workflow": workflow, "python_engine": python_engine, "python_environment": python_environment,
            "version_1_2": version_1_2, "transform": transform}


def bootstrap() -> None:
    """Install the restricted engine everywhere SpiffWorkflow would otherwise eval/exec. Idempotent."""
    t = _targets()
    # BpmnWorkflow(spec) with no script_engine builds `PythonScriptEngine()` by this module-level name;
    # sub-workflows use their top workflow's engine.
    t["workflow"].PythonScriptEngine = RestrictedScriptEngine
    # PythonScriptEngine() built explicitly defaults to this environment class.
    t["python_engine"].TaskDataEnvironment = RestrictedEnvironment
    # TaskDataEnvironment built explicitly still finds these instead of the builtins.
    t["python_environment"].eval = _restricted_eval
    t["python_environment"].exec = _restricted_exec
    t["version_1_2"].eval = _refuse_migration_eval
    t["transform"].exec = _refuse_transform_exec


def installed() -> bool:
    """Whether every replacement made by bootstrap() is still in place."""
    t = _targets()
    return (t["workflow"].PythonScriptEngine is RestrictedScriptEngine
            and t["python_engine"].TaskDataEnvironment is RestrictedEnvironment
            and getattr(t["python_environment"], "eval", None) is _restricted_eval
            and getattr(t["python_environment"], "exec", None) is _restricted_exec
            and getattr(t["version_1_2"], "eval", None) is _refuse_migration_eval
            and getattr(t["transform"], "exec", None) is _refuse_transform_exec)


__all__ = ["bootstrap", "installed"]
