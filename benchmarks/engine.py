"""Cases started and task completions per second through the service layer, beside the engine floor.

Floor: the same lifecycle process run by SpiffWorkflow alone with its stock serializer (spec embedded
in every serialized instance), no database: start = create + engine steps + serialize; completion =
deserialize + complete the first task + engine steps + serialize. Service: `cases.create_case` and
`tasks.complete_task` on a migrated database (permission checks, form validation, task projection,
history, optimistic locking, one commit each). Same process, same data, same workflow states.

    python benchmarks/engine.py [--cases 300] [--pg URL]
The last line is `ratio_vs_floor=X.XX`: service time per completion over the floor's, on SQLite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models import Agency, Region, Task, User  # noqa: E402
from workflows import cases, db, processes, regions, tasks  # noqa: E402
from workflows.cases import NewCase  # noqa: E402
from workflows.engine import clock, runtime  # noqa: E402
from workflows.engine.evaluator import SCRIPT_ENGINE  # noqa: E402

INTAKE = {"households_confirmed": 120, "responsible_leader": "王副市长", "intake_facts": "核实无误"}
START_DATA = {"case_id": 1, "case_code": "B", "category": "2", "lead_type": "government",
              "households_overdue": 120, "households_resettled": 0, "responsible_leader": "王副市长"}
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def rate(seconds: list[float]) -> tuple[float, float]:
    per_op = statistics.median(seconds)
    return per_op, 1 / per_op


def floor(n: int) -> dict[str, float]:
    bundle = processes.current_bundle()
    serializer = BpmnWorkflowSerializer()
    starts, completes, states = [], [], []
    with clock.frozen_at(NOW):
        for _ in range(n):
            t0 = time.perf_counter()
            wf = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=SCRIPT_ENGINE)
            wf.data.update(START_DATA)
            wf.task_tree.data.update(START_DATA)
            wf.do_engine_steps()
            states.append(serializer.serialize_json(wf))
            starts.append(time.perf_counter() - t0)
        for state in states:
            t0 = time.perf_counter()
            wf = serializer.deserialize_json(state)
            wf.script_engine = SCRIPT_ENGINE
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data.update(INTAKE)
            task.run()
            wf.do_engine_steps()
            serializer.serialize_json(wf)
            completes.append(time.perf_counter() - t0)
    # The same engine work with each spec stored once and referenced (what the service layer does).
    ref_completes, ref_states = [], []
    with clock.frozen_at(NOW):
        for _ in range(n):
            ref_states.append(runtime.dump(runtime.start(bundle, dict(START_DATA))))
        for state in ref_states:
            t0 = time.perf_counter()
            wf = runtime.load(state, bundle)
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            runtime.complete(wf, str(task.id), dict(INTAKE))
            runtime.dump(wf)
            ref_completes.append(time.perf_counter() - t0)
    return {"start": rate(starts)[0], "complete": rate(completes)[0], "size": len(states[0]),
            "ref_complete": rate(ref_completes)[0], "ref_size": len(ref_states[0])}


def service(url: str, n: int) -> dict[str, float]:
    engine = db.make_engine(url)
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    with sessions() as session:
        found = regions.seed_jilin(session)
        regions.seed_agencies(session, found)
        county = session.scalar(select(Region).where(Region.name == "榆树市"))
        agency = session.scalar(select(Agency).where(Agency.region_id == county.id, Agency.role == "housing"))
        officer = session.scalar(select(User).where(User.username == "bench"))
        if officer is None:
            officer = User(username="bench", display_name="基准测试", role="officer", agency=agency,
                           password_hash="-", active=True)
            session.add(officer)
        session.commit()
        clock.set_global(NOW)
        stamp = time.time_ns()
        starts, completes, task_ids = [], [], []
        for i in range(n + 5):
            new = NewCase(code=f"B{stamp % 10**9}-{i}", project_name="基准项目", region_code=county.code,
                          lead_type="government", households_overdue=120, overdue_since=date(2019, 1, 1),
                          category=2, responsible_leader="王副市长")
            t0 = time.perf_counter()
            case = cases.create_case(session, officer, new)
            if i >= 5:  # warm-up: first calls register specs and fill caches
                starts.append(time.perf_counter() - t0)
            task_ids.append(session.scalar(select(Task.id).where(Task.case_id == case.id)))
        for i, task_id in enumerate(task_ids):
            t0 = time.perf_counter()
            tasks.complete_task(session, officer, task_id, dict(INTAKE))
            if i >= 5:
                completes.append(time.perf_counter() - t0)
        clock.set_global(None)
    engine.dispose()
    return {"start": rate(starts)[0], "complete": rate(completes)[0]}


def pg_database(admin_url: str) -> tuple[str, callable] | None:
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"huiqian_bench_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL not reachable ({type(exc).__name__}); skipped")
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--pg", default=os.environ.get("HUIQIAN_BENCH_PG",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    n = args.cases
    base = floor(n)
    print(f"floor (SpiffWorkflow alone, stock serializer, {base['size'] / 1024:.1f} KB per instance): "
          f"start {1 / base['start']:.0f}/s ({base['start'] * 1000:.2f} ms), "
          f"complete {1 / base['complete']:.0f}/s ({base['complete'] * 1000:.2f} ms)")
    print(f"engine with specs stored once (no database, {base['ref_size'] / 1024:.1f} KB per instance): "
          f"complete {1 / base['ref_complete']:.0f}/s ({base['ref_complete'] * 1000:.2f} ms)")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = service(f"sqlite:///{tmp}/bench.db", n)
    pg = pg_database(args.pg)
    if pg:
        url, drop = pg
        try:
            results["postgresql"] = service(url, n)
        finally:
            drop()
    for backend, r in results.items():
        print(f"service/{backend}: start {1 / r['start']:.0f}/s ({r['start'] * 1000:.2f} ms, "
              f"x{r['start'] / base['start']:.2f} floor), complete {1 / r['complete']:.0f}/s "
              f"({r['complete'] * 1000:.2f} ms, x{r['complete'] / base['complete']:.2f} floor)")
    print(f"ratio_vs_engine_with_spec_refs={results['sqlite']['complete'] / base['ref_complete']:.2f}")
    print(f"ratio_vs_floor={results['sqlite']['complete'] / base['complete']:.2f}")


if __name__ == "__main__":
    main()
