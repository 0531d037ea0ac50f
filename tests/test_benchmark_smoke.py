"""The benchmark still runs end to end and prints figures a reader can trust the shape of.

A smoke test only (a handful of cases, SQLite only): it keeps benchmarks/engine.py from rotting as the
service layer changes, without timing anything itself.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "engine.py"


def _load_benchmark(monkeypatch: pytest.MonkeyPatch, path: Path = BENCHMARK) -> ModuleType:
    # benchmarks/ is not a package: load the script from its path, as `python benchmarks/engine.py` would.
    name = f"huiqian_benchmark_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is created; undone after the test.
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_benchmark_prints_figures_and_ends_with_the_ratio(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _load_benchmark(monkeypatch).main(["--cases", "5", "--no-pg"])
    lines = capsys.readouterr().out.strip().splitlines()

    ratio = re.fullmatch(r"ratio_vs_floor=(\d+\.\d\d)", lines[-1])
    assert ratio, lines[-1]
    assert math.isfinite(float(ratio.group(1))) and float(ratio.group(1)) > 0

    # backend, op, floor median/p90, service median/p90, ratio, statements, commits, lookup
    row = next(line.split() for line in lines if line.split()[:2] == ["sqlite", "complete"])
    statements, commits = row[7], row[8]
    assert statements.isdigit() and int(statements) > 0, row
    assert commits.isdigit() and int(commits) >= 1, row
    assert not any(line.startswith("postgresql") for line in lines)


def test_inbox_benchmark_runs_and_prints_each_page(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _load_benchmark(monkeypatch, BENCHMARK.parent / "inbox.py").main(["--tasks", "400", "--no-pg"])
    out = capsys.readouterr().out
    for who in ("officer", "city", "province"):
        assert re.search(rf"inbox first page \({who}\s*, +\d+ rows\): median +[\d.]+ ms", out), out
    assert "overdue first page (province" in out


def test_http_benchmark_completes_tasks_under_gunicorn_and_prints_figures(monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _load_benchmark(monkeypatch, BENCHMARK.parent / "http.py").main(
        ["--completions", "3", "--warmup", "1", "--no-pg"])
    lines = capsys.readouterr().out.strip().splitlines()

    last = re.fullmatch(r"http_completions_per_s=(\d+\.\d) ratio_vs_service=(\d+\.\d\d)", lines[-1])
    assert last, lines[-1]
    assert all(math.isfinite(float(v)) and float(v) > 0 for v in last.groups())
    # backend, path, completions/s, p50 ms, p95 ms
    for path in ("http", "service"):
        row = next(line.split() for line in lines if line.split()[:2] == ["sqlite", path])
        per_s, p50, p95 = (float(v) for v in row[2:5])
        assert per_s > 0 and 0 < p50 <= p95, row
    assert re.search(r"closed the connection after \d+ of 4 responses", "\n".join(lines))
    assert not any(line.startswith("postgresql") for line in lines)


def test_worker_benchmark_raises_one_escalation_per_overdue_task_and_ends_with_the_pass_time(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _load_benchmark(monkeypatch, BENCHMARK.parent / "worker.py").main(
        ["--tasks", "300", "--due", "30", "--rounds", "1", "--no-pg"])
    lines = capsys.readouterr().out.strip().splitlines()

    last = re.fullmatch(r"pass_seconds_300_30=(\d+\.\d\d)", lines[-1])
    assert last, lines[-1]
    assert math.isfinite(float(last.group(1)))
    # backend, tasks, due, first pass s, ms/escalation, stmts, steady pass s, stmts
    rows = [line.split() for line in lines if line.split()[:1] == ["sqlite"]]
    assert [(r[1], r[2]) for r in rows] == [("300", "30"), ("300", "3"), ("60", "30")]
    for r in rows:
        assert float(r[3]) > 0 and int(r[5]) > int(r[2]) and int(r[7]) > 0, r
    assert any("first pass 300_30 / 300_3" in line for line in lines)
    assert not any(line.startswith("postgresql") for line in lines)
