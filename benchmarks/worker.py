"""One pass of the background worker (workflows/jobs.py) over many open tasks: its cost must follow the
due work (tasks past their SLA), not all open tasks.

Three databases are built with Core bulk inserts (the service layer's speed is benchmarks/engine.py's
subject): 100k open tasks of which 10k are overdue, 100k with 1k overdue, and 20k with 10k overdue
(`--tasks`/`--due` scale them: T/D, T/(D/10), (T/5)/D). Overdue tasks are 3–30 working days past their
deadline, so every rung of the default policy is raised; of the rest some are overdue by less than
three working days (no rung yet) and the others are due later or have no deadline.

Each round copies each database afresh (SQLite: the file; PostgreSQL: CREATE DATABASE … TEMPLATE) and
times, on each in turn, the first pass (it raises one escalation per overdue task, each in its own
transaction) and then a second pass at the same moment (nothing left to raise: the steady state of a
worker running every minute, which still reads the overdue tasks to find nothing). Configurations are
alternated within a round, so drift of the machine hits them alike.

    python benchmarks/worker.py [--tasks 100000] [--due 10000] [--rounds 2] [--pg URL | --no-pg]

The last line is `pass_seconds_<T>_<D>=X.XX`: the median first pass on SQLite at the first size.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models import Agency, Case, ProcessInstance, ProcessVersion, Region, Task  # noqa: E402
from workflows import db, jobs, regions, workdays  # noqa: E402
from workflows.engine import bootstrap  # noqa: E402

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 23 November 2026, 10:00 in China
ROLES = ["housing", "finance", "planning", "court", "community", "developer", "tax"]


def label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 and n >= 1000 else str(n)


def populate(engine, n_tasks: int, n_due: int) -> None:  # noqa: ANN001
    """Places and agencies as seeded, then cases, instances and tasks by bulk insert."""
    db.upgrade(engine)
    rnd = random.Random(16)
    sessions = db.make_session_factory(engine)
    with sessions() as s:
        found = regions.seed_jilin(s)
        regions.seed_agencies(s, found)
        s.commit()
        counties = list(s.scalars(select(Region.id).where(Region.level == "county")))
        agencies = {(a.region_id, a.role): a.id for a in s.scalars(select(Agency))}
        back = workdays.WorkdaysBack(s, NOW)
        # Deadlines 3..30 working days back (each band of the policy), and "not yet 3" ones.
        overdue_days = [back.cutoff(n) - timedelta(hours=1) for n in range(3, 31)]
        recent = [back.cutoff(1) - timedelta(hours=1), back.cutoff(2) - timedelta(hours=1), NOW - timedelta(hours=3)]
        version = ProcessVersion(number=1, content_hash="0" * 64, deployed_by="benchmark")
        s.add(version)
        s.flush()
        n_cases = max(1, n_tasks // 4)
        s.execute(insert(Case.__table__), [
            {"code": f"W{i}", "project_name": "项目", "region_id": rnd.choice(counties), "lead_type": "government",
             "households_overdue": 10, "overdue_since": date(2019, 1, 1), "category": 1 + i % 9,
             "responsible_leader": "王副县长", "status": "open", "households_resettled": 0, "created_at": NOW,
             "updated_at": NOW, "attempts": [], "version": 1} for i in range(n_cases)])
        cases = list(s.execute(select(Case.id, Case.region_id).order_by(Case.id)))
        s.execute(insert(ProcessInstance.__table__), [
            {"case_id": cid, "version_id": version.id, "state": "", "version": 1, "completed": False,
             "serializer_version": "", "timer_failures": 0, "updated_at": NOW} for cid, _ in cases])
        instance_of = dict(s.execute(select(ProcessInstance.case_id, ProcessInstance.id)).all())
        due_slots = set(rnd.sample(range(n_tasks), n_due))
        rows = []
        for i in range(n_tasks):
            cid, rid = cases[i % len(cases)]
            role = rnd.choice(ROLES)
            if i in due_slots:
                due = rnd.choice(overdue_days)
            else:
                pick = rnd.random()
                due = (rnd.choice(recent) if pick < 0.1 else None if pick < 0.3
                       else NOW + timedelta(days=rnd.randint(1, 200)))
            rows.append({"case_id": cid, "region_id": rid, "instance_id": instance_of[cid],
                         "spiff_task_id": f"{i:036d}", "process_id": "p", "bpmn_id": "t", "name": "办理任务",
                         "lane": role, "agency_id": agencies.get((rid, role)) or agencies[(rid, "housing")],
                         "status": "ready", "created_at": NOW, "due_at": due, "version": 1})
            if len(rows) == 5000:
                s.execute(insert(Task.__table__), rows)
                rows = []
        if rows:
            s.execute(insert(Task.__table__), rows)
        s.commit()
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


class Statements:
    def __init__(self, engine) -> None:  # noqa: ANN001
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *_args) -> None:  # noqa: ANN002
        self.count += 1


@dataclass
class Config:
    tasks: int
    due: int
    first: list[float] = field(default_factory=list)
    steady: list[float] = field(default_factory=list)
    raised: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    steady_statements: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{label(self.tasks)}_{label(self.due)}"


def timed_passes(url: str, cfg: Config) -> None:
    """The first pass and a second one at the same moment, on a fresh copy of the database."""
    engine = db.make_engine(url)
    counter = Statements(engine)
    sessions = db.make_session_factory(engine)
    try:
        for steady in (False, True):
            counter.count = 0
            with sessions() as session:
                t0 = time.perf_counter()
                result = jobs.run_pass(session, NOW)
                elapsed = time.perf_counter() - t0
            if result.escalations.failed or result.timers.failed:
                raise RuntimeError(f"pass failed: {result.escalations.failed[:3]}")
            if steady:
                cfg.steady.append(elapsed)
                cfg.steady_statements.append(counter.count)
                if result.escalations.raised:
                    raise RuntimeError("the second pass raised escalations again")
            else:
                cfg.first.append(elapsed)
                cfg.statements.append(counter.count)
                cfg.raised.append(len(result.escalations.raised))
                if len(result.escalations.raised) != cfg.due:
                    raise RuntimeError(f"expected {cfg.due} escalations, got {len(result.escalations.raised)}")
    finally:
        engine.dispose()


@contextmanager
def sqlite_copies(tmp: str) -> Iterator[tuple[Callable[[Config], None], Callable[[Config], str]]]:
    def build(cfg: Config) -> None:
        engine = db.make_engine(f"sqlite:///{tmp}/{cfg.name}.db")
        populate(engine, cfg.tasks, cfg.due)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()

    def fresh(cfg: Config) -> str:
        shutil.copy(f"{tmp}/{cfg.name}.db", f"{tmp}/run.db")
        for suffix in ("-wal", "-shm"):
            Path(f"{tmp}/run.db{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{tmp}/run.db"

    yield build, fresh


@contextmanager
def pg_copies(admin_url: str) -> Iterator[tuple[Callable[[Config], None], Callable[[Config], str]] | None]:
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "skip"
        print(f"postgresql: not reachable ({type(exc).__name__}); skipped")
        yield None
        return
    prefix = f"huiqian_wbench_{os.getpid()}"
    made: list[str] = []

    def url(name: str) -> str:
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def create(name: str, template: str | None = None) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        if name not in made:
            made.append(name)

    def build(cfg: Config) -> None:
        name = f"{prefix}_{cfg.name}"
        create(name)
        engine = db.make_engine(url(name))
        populate(engine, cfg.tasks, cfg.due)
        engine.dispose()

    def fresh(cfg: Config) -> str:
        create(f"{prefix}_run", f"{prefix}_{cfg.name}")
        return url(f"{prefix}_run")

    try:
        yield build, fresh
    finally:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(backend: str, build: Callable[[Config], None], fresh: Callable[[Config], str],
            sizes: list[tuple[int, int]], rounds: int) -> list[Config]:
    configs = [Config(t, d) for t, d in sizes]
    for cfg in configs:
        t0 = time.perf_counter()
        build(cfg)
        print(f"{backend}: built {cfg.tasks:,} open tasks, {cfg.due:,} overdue ({time.perf_counter() - t0:.1f} s)")
    for _ in range(rounds):
        for cfg in configs:  # alternated within each round
            timed_passes(fresh(cfg), cfg)
    return configs


def report(backend: str, configs: list[Config]) -> list[str]:
    lines = [f"{'backend':<11}{'tasks':>8}{'due':>8}{'first pass s':>14}{'ms/escalation':>15}"
             f"{'stmts':>8}{'steady pass s':>15}{'stmts':>7}"]
    for c in configs:
        first, steady = statistics.median(c.first), statistics.median(c.steady)
        lines.append(f"{backend:<11}{c.tasks:>8,}{c.due:>8,}{first:>14.2f}{first / max(c.due, 1) * 1000:>15.2f}"
                     f"{statistics.median_low(c.statements):>8}{steady:>15.3f}{statistics.median_low(c.steady_statements):>7}")
    base, fewer_due, fewer_tasks = configs
    lines.append(
        f"  {backend}: first pass {base.name} / {fewer_due.name} = "
        f"{statistics.median(base.first) / statistics.median(fewer_due.first):.1f}x (due work ×"
        f"{base.due / fewer_due.due:.0f}); {base.name} / {fewer_tasks.name} = "
        f"{statistics.median(base.first) / statistics.median(fewer_tasks.first):.2f}x (open tasks ×"
        f"{base.tasks / fewer_tasks.tasks:.0f}, same due work)")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks of the largest database")
    parser.add_argument("--due", type=int, default=10_000, help="of which overdue (3–30 working days)")
    parser.add_argument("--rounds", type=int, default=2, help="passes timed per configuration (median)")
    parser.add_argument("--pg", default=os.environ.get("HUIQIAN_BENCH_PG",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if not (10 <= args.due <= args.tasks // 5) or args.rounds < 1:
        parser.error("need 10 <= --due <= --tasks / 5 and --rounds >= 1")
    bootstrap()
    sizes = [(args.tasks, args.due), (args.tasks, args.due // 10), (args.tasks // 5, args.due)]
    print(f"one worker pass (timers + automatic escalation, default policy) at {NOW.isoformat()}; "
          f"{args.rounds} round(s), configurations alternated")
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sqlite_copies(tmp) as (build, fresh):
        sqlite = measure("sqlite", build, fresh, sizes, args.rounds)
    lines += report("sqlite", sqlite)
    if not args.no_pg:
        with pg_copies(args.pg) as copies:
            if copies is not None:
                lines += report("postgresql", measure("postgresql", *copies, sizes, args.rounds))
    lines.append("first pass: one escalation raised per overdue task, each its own transaction; steady pass: "
                 "the same moment again, nothing left to raise")
    print("\n".join(lines))
    print(f"pass_seconds_{sqlite[0].name}={statistics.median(sqlite[0].first):.2f}")


if __name__ == "__main__":
    main()
