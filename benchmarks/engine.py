"""Starting a case and completing a task through the service layer, beside the engine floor for the same work.

Method: three rules keep the comparison honest.

1. The floor is the cheapest honest path for the engine work huiqian does: specs parsed once and referenced,
   never embedded (`runtime.start`/`load`/`complete`/`dump` with the cached bundle), no database.
   Floor start = `runtime.start` + `runtime.dump`; floor completion = `runtime.load` + `runtime.complete`
   of the same first user task with the same data (it runs the engine steps) + `runtime.dump`.
   SpiffWorkflow's stock serializer would embed all called specs and spend nearly all its time on them:
   a floor no design that references specs ever pays, and a ratio against it flatters the service.
2. Floor and service are timed alternately, operation by operation (floor op i, service op i, floor op
   i+1, ...), first for starts and then for completions, after a warm-up that is not recorded, so drift
   of the machine (frequency, caches, other load) hits both sides alike.
3. Every service operation is a request: a fresh session, the acting user looked up by id (timed as
   part of the request and also shown apart), `cases.create_case` / `tasks.complete_task`, close.
   SQL statements and commits are counted per operation with engine events, for the service call alone.

Runs on a temporary SQLite file (WAL, as `workflows.db` configures it) and on PostgreSQL when reachable
(a temporary database is created on the server and dropped afterwards).

    python benchmarks/engine.py [--cases 300] [--pg URL | --no-pg] [--sql]

The last line is `ratio_vs_floor=X.XX`: median SQLite completion over median floor completion.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

# Run as a script from anywhere: the project root must be importable.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import Engine, create_engine, event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from models import Agency, Region, Task, User  # noqa: E402
from workflows import cases, db, processes, regions, tasks  # noqa: E402
from workflows.cases import NewCase  # noqa: E402
from workflows.engine import clock, runtime  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WARMUP = 10
COUNTY = "榆树市"
INTAKE = {"households_confirmed": 120, "responsible_leader": "王副市长", "intake_facts": "核实无误"}
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
# What the ratio means: everything below is in the service time and absent from the floor.
INCLUDED = ("service: fresh session + user lookup by id + create_case | complete_task + close, i.e.\n"
            "         permission checks, form validation, workflow load/advance/dump, task projection,\n"
            "         case fields, history, one write transaction")
# Transaction control and connection setup are not work the service chose to do; SQLite's BEGIN
# comes through exec_driver_sql (workflows/db.py) while PostgreSQL's is implicit in the driver, so
# counting it would make the backends disagree.
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")


@dataclass(frozen=True)
class Counts:
    statements: int = 0
    commits: int = 0
    write_commits: int = 0  # commits of a transaction that sent INSERT/UPDATE/DELETE
    rollbacks: int = 0  # explicit rollbacks on a Connection (e.g. ending a read-only transaction)
    control: int = 0  # BEGIN/COMMIT/ROLLBACK/PRAGMA/SAVEPOINT sent as SQL
    checkouts: int = 0  # pool checkouts: each one pings on PostgreSQL (pool_pre_ping)


class SqlCounter:
    """Counts what one engine sends, between two `reset()`s, and keeps the statements' text."""

    def __init__(self, engine: Engine) -> None:
        self.log: list[str] = []
        self.reset()
        event.listen(engine, "before_cursor_execute", self._on_execute)
        # "commit" on the Engine fires once per Connection commit whatever the driver does underneath
        # (pysqlite's COMMIT never passes through a cursor, so before_cursor_execute cannot see it).
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "rollback", self._on_rollback)
        event.listen(engine.pool, "checkout", self._on_checkout)

    def reset(self) -> None:
        self._statements = self._commits = self._write_commits = self._rollbacks = 0
        self._control = self._checkouts = 0
        self._wrote = False
        self.log = []

    def counts(self) -> Counts:
        return Counts(self._statements, self._commits, self._write_commits, self._rollbacks, self._control,
                      self._checkouts)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any,
                    executemany: bool) -> None:
        words = statement.lstrip().split(None, 1)
        verb = words[0].upper() if words else ""
        if verb in CONTROL:
            self._control += 1
        else:
            self._statements += 1
            self._wrote = self._wrote or verb in ("INSERT", "UPDATE", "DELETE")
        self.log.append(("[many] " if executemany else "") + " ".join(statement.split()))

    def _on_commit(self, _conn: Any) -> None:
        self._commits += 1
        self._write_commits += self._wrote
        self._wrote = False

    def _on_rollback(self, _conn: Any) -> None:
        self._rollbacks += 1
        self._wrote = False

    def _on_checkout(self, *_args: Any) -> None:
        self._checkouts += 1


@dataclass
class OpTimes:
    """Per-operation samples of one kind (start or complete) on one backend."""

    floor: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    lookup: list[float] = field(default_factory=list)
    counts: list[Counts] = field(default_factory=list)
    lookup_counts: list[Counts] = field(default_factory=list)
    last_log: list[str] = field(default_factory=list)


@dataclass
class BackendResult:
    backend: str
    start: OpTimes
    complete: OpTimes
    state_bytes: int
    pre_ping: bool  # the pool pings on every checkout: a round trip no statement count shows


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1): no interpolation between samples."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def start_data(case_id: int, code: str) -> dict[str, Any]:
    # What cases.create_case hands the lifecycle process for the benchmark's case.
    return {"case_id": case_id, "case_code": code, "category": "2", "lead_type": "government",
            "households_overdue": 120, "households_resettled": 0, "responsible_leader": "王副市长"}


def new_case(code: str, region_code: str) -> NewCase:
    return NewCase(code=code, project_name="基准项目", region_code=region_code, lead_type="government",
                   households_overdue=120, overdue_since=date(2019, 1, 1), category=2,
                   responsible_leader="王副市长")


def prepare(engine: Engine) -> tuple[sessionmaker[Session], int, str]:
    """Migrate and seed a fresh database; return the session factory, the acting officer's id and the
    code of the county the cases are filed in."""
    db.upgrade(engine)
    sessions = db.make_session_factory(engine)
    with sessions() as session:
        found = regions.seed_jilin(session)
        regions.seed_agencies(session, found)
        county = session.scalar(select(Region).where(Region.name == COUNTY))
        agency = session.scalar(select(Agency).where(Agency.region_id == county.id, Agency.role == "housing"))
        officer = User(username="bench", display_name="基准测试", role="officer", agency=agency,
                       password_hash="-", active=True)
        session.add(officer)
        session.commit()
        processes.deploy(session, deployed_by="benchmark")
        return sessions, officer.id, county.code


def _request(sessions: sessionmaker[Session], counter: SqlCounter, user_id: int, ops: OpTimes,
             call: Callable[[Session, User], Any], record: bool) -> Any:
    """One service operation as a web request runs it; timed from opening the session to closing it."""
    t0 = time.perf_counter()
    with sessions() as session:
        counter.reset()
        actor = session.get(User, user_id)
        t1 = time.perf_counter()
        lookup_counts = counter.counts()
        counter.reset()
        result = call(session, actor)
        counts = counter.counts()
        log = list(counter.log)  # a copy: untimed queries after the last operation would land in it
    elapsed = time.perf_counter() - t0
    if record:
        ops.service.append(elapsed)
        ops.lookup.append(t1 - t0)
        ops.counts.append(counts)
        ops.lookup_counts.append(lookup_counts)
        ops.last_log = log
    return result


def measure(url: str, backend: str, n: int, warmup: int = WARMUP) -> BackendResult:
    """Start n (+ warm-up) cases and then complete their first task, floor and service alternately."""
    bundle = processes.current_bundle()  # parsed once here: the floor references it, as the service does
    engine = db.make_engine(url)
    try:
        sessions, user_id, county_code = prepare(engine)
        counter = SqlCounter(engine)
        starts, completes = OpTimes(), OpTimes()
        prefix = f"B{time.time_ns() % 10**8}-"
        floor_states: list[tuple[str, str]] = []  # (state, uuid of the first user task)
        case_ids: list[int] = []
        # One frozen moment for both sides: timers then compute the same deadlines in the same way.
        with clock.frozen_at(NOW):
            gc.collect()
            for i in range(warmup + n):
                record = i >= warmup
                code = f"{prefix}{i}"
                t0 = time.perf_counter()
                wf = runtime.start(bundle, start_data(i + 1, code))
                state = runtime.dump(wf)
                if record:
                    starts.floor.append(time.perf_counter() - t0)
                first = wf.get_tasks(state=TaskState.READY, manual=True)[0]
                floor_states.append((state, str(first.id)))
                new = new_case(code, county_code)
                case = _request(sessions, counter, user_id, starts,
                                lambda s, actor, new=new: cases.create_case(s, actor, new), record)
                case_ids.append(case.id)

            with sessions() as session:  # not timed: which projection row is each case's first task
                rows = session.execute(select(Task.case_id, Task.id, Task.bpmn_id)
                                       .where(Task.status == "ready", Task.case_id.in_(case_ids))).all()
            task_of = {case_id: task_id for case_id, task_id, _ in rows}
            if len(task_of) != len(case_ids) or len(rows) != len(case_ids):
                raise RuntimeError("expected exactly one open task per new case")
            if {bpmn for *_, bpmn in rows} != {first.task_spec.bpmn_id}:
                raise RuntimeError("floor and service are not at the same first user task")

            gc.collect()
            for i, ((state, uuid), case_id) in enumerate(zip(floor_states, case_ids, strict=True)):
                record = i >= warmup
                t0 = time.perf_counter()
                wf = runtime.load(state, bundle)
                # The engine's own calls, not runtime.complete: its extra scan for fired timers is
                # product work, and a floor must not include it.
                task = wf.get_task_from_id(UUID(uuid))
                task.data.update(INTAKE)
                task.run()
                wf.do_engine_steps()
                runtime.dump(wf)
                if record:
                    completes.floor.append(time.perf_counter() - t0)
                _request(sessions, counter, user_id, completes,
                         lambda s, actor, task_id=task_of[case_id]: tasks.complete_task(
                             s, actor, task_id, dict(INTAKE)), record)
        return BackendResult(backend, starts, completes, len(floor_states[0][0].encode()),
                             bool(getattr(engine.pool, "_pre_ping", False)))
    finally:
        engine.dispose()


@contextmanager
def pg_database(admin_url: str) -> Iterator[str | None]:
    """A temporary database on the server at admin_url (None when it does not answer); dropped after."""
    name = f"huiqian_bench_{os.getpid()}_{time.time_ns() % 10**6}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "skip"
        print(f"postgresql: not reachable at {make_url(admin_url).render_as_string()} "
              f"({type(exc).__name__}); skipped")
        yield None
        return
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _per_op(counts: Sequence[Counts], attr: str) -> str:
    values = [getattr(c, attr) for c in counts]
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def _transactions(counts: Sequence[Counts]) -> str:
    return (f"{_per_op(counts, 'commits')} commit ({_per_op(counts, 'write_commits')} wrote), "
            f"{_per_op(counts, 'rollbacks')} rollback")


def report(results: Sequence[BackendResult], n: int, warmup: int = WARMUP,
           show_sql: bool = False) -> list[str]:
    """The figures as printed lines; the last one is `ratio_vs_floor=X.XX`."""
    ms = 1000.0
    lines = [
        f"{n} cases (+{warmup} warm-up), lifecycle process, category 2; floor and service timed alternately",
        "floor:   runtime.start | load+complete, then dump; specs referenced from the cached bundle; "
        f"no DB ({results[0].state_bytes / 1024:.1f} KB state)",
        INCLUDED,
        f"{'backend':<11}{'op':<9}{'floor ms':>15}{'service ms':>16}{'ratio':>8}"
        f"{'stmts':>7}{'commits':>8}{'lookup ms':>10}",
        f"{'':<20}{'median':>8}{'p90':>7}{'median':>9}{'p90':>7}{'@med':>8}{'/op':>7}{'/op':>8}"
        f"{'median':>10}",
    ]
    for r in results:
        for op_name, ops in (("start", r.start), ("complete", r.complete)):
            f_med, s_med = statistics.median(ops.floor), statistics.median(ops.service)
            lines.append(
                f"{r.backend:<11}{op_name:<9}{f_med * ms:>8.2f}{percentile(ops.floor, 0.9) * ms:>7.2f}"
                f"{s_med * ms:>9.2f}{percentile(ops.service, 0.9) * ms:>7.2f}{s_med / f_med:>7.1f}x"
                f"{_per_op(ops.counts, 'statements'):>7}{_per_op(ops.counts, 'commits'):>8}"
                f"{statistics.median(ops.lookup) * ms:>10.2f}")
    lines.append("stmts, commits: the service call alone (engine events); BEGIN/COMMIT/ROLLBACK/PRAGMA/"
                 "SAVEPOINT not stmts")
    for r in results:
        per_request = [Counts(statements=a.statements, checkouts=a.checkouts + b.checkouts)
                       for a, b in zip(r.complete.lookup_counts, r.complete.counts, strict=True)]
        ends = "; ".join(f"{name}: {_transactions(ops.counts)}"
                         for name, ops in (("start", r.start), ("completion", r.complete)))
        lines.append(f"  {r.backend}: {ends}")
        pinged = ", each pinged" if r.pre_ping else ""
        lines.append(f"  {'':{len(r.backend)}}  lookup: {_per_op(per_request, 'statements')} stmt; "
                     f"pool checkouts: {_per_op(per_request, 'checkouts')}/request{pinged}")
    if show_sql:
        for r in results:
            for op_name, ops in (("start", r.start), ("complete", r.complete)):
                control = ops.counts[-1].control
                lines.append(f"-- {r.backend} {op_name}: what the last operation sent ({control} of it "
                             f"transaction control); [many] = one executemany call")
                lines.extend(f"   {i:>2}. {s[:150]}" for i, s in enumerate(ops.last_log, 1))
    sqlite = next(r for r in results if r.backend == "sqlite")
    ratio = statistics.median(sqlite.complete.service) / statistics.median(sqlite.complete.floor)
    lines.append(f"ratio_vs_floor={ratio:.2f}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=300, help="timed operations per kind (default 300)")
    parser.add_argument("--pg", default=os.environ.get("HUIQIAN_BENCH_PG", DEFAULT_PG),
                        help="PostgreSQL server URL to create a temporary database on")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--sql", action="store_true",
                        help="list the statements of one start and one completion")
    args = parser.parse_args(argv)
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(measure(f"sqlite:///{tmp}/bench.db", "sqlite", args.cases))
    if not args.no_pg:
        with pg_database(args.pg) as url:
            if url is not None:
                results.append(measure(url, "postgresql", args.cases))
    print("\n".join(report(results, args.cases, show_sql=args.sql)))


if __name__ == "__main__":
    main()
