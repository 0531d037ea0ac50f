"""Access to the design-time Node.js tools under tools/ for the tests that check diagrams.

The tools are not part of the installed package (tools/ is never imported at run time), so the
layout driver is loaded from its file. Node dependencies come from tools/package.json: installed
with ``npm install --prefix tools`` when missing; a test needing them is skipped only when npm
itself is absent.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"


@cache
def layout_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("huiqian_layout_bpmn", TOOLS / "layout_bpmn.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def require_node_tools() -> None:
    """Skip when npm is absent; otherwise make sure tools/node_modules is installed (fail if not)."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node not found: install Node.js (with npm) to run the diagram checks")
    layout_tool().ensure_node_modules(quiet=True)
