"""Inbox queries at scale: the first page of an officer's, a city supervisor's and the province
supervisor's inbox, and the overdue list, with N open tasks (default 100,000) spread over Jilin.

    python benchmarks/inbox.py [--tasks 100000] [--pg URL] [--no-pg]

Rows are inserted directly (the service layer's speed is measured by benchmarks/engine.py); the
queries are the service functions themselves (`tasks.inbox`, `tasks.overdue`), so what is timed is
what a request runs. Prints the median and p90 of 30 runs of each and the plan's index use.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models import Agency, Case, ProcessInstance, ProcessVersion, Region, Task, User  # noqa: E402
from workflows import db, regions, tasks  # noqa: E402

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def populate(engine, n_tasks: int) -> dict[str, int]:  # noqa: ANN001
    sessions = db.make_session_factory(engine)
    rnd = random.Random(7)
    with sessions() as s:
        found = regions.seed_jilin(s)
        regions.seed_agencies(s, found)
        s.commit()
        counties = list(s.scalars(select(Region).where(Region.level == "county")))
        agencies = {(a.region_id, a.role): a.id for a in s.scalars(select(Agency))}
        spec = ProcessVersion(number=1, content_hash="0" * 64, deployed_by="benchmark")
        s.add(spec)
        s.flush()
        n_cases = max(1, n_tasks // 4)
        case_rows = [{"code": f"C{i}", "project_name": "项目", "region_id": rnd.choice(counties).id,
                      "lead_type": "government", "households_overdue": 10, "overdue_since": date(2019, 1, 1),
                      "category": 1 + i % 9, "responsible_leader": "x", "status": "open",
                      "households_resettled": 0, "created_at": NOW, "updated_at": NOW} for i in range(n_cases)]
        s.execute(insert(Case.__table__), case_rows)
        case_ids = list(s.execute(select(Case.id, Case.region_id)))
        s.execute(insert(ProcessInstance.__table__), [
            {"case_id": cid, "version_id": spec.id, "state": "", "version": 1, "completed": False,
             "serializer_version": "", "timer_failures": 0, "updated_at": NOW} for cid, _ in case_ids])
        instance_of = dict(s.execute(select(ProcessInstance.case_id, ProcessInstance.id)).all())
        roles = ["housing", "finance", "planning", "court", "community", "developer", "tax"]
        rows = []
        for i in range(n_tasks):
            cid, rid = case_ids[i % len(case_ids)]
            role = rnd.choice(roles)
            agency = agencies.get((rid, role)) or agencies[(rid, "housing")]
            due = NOW + timedelta(days=rnd.randint(-60, 200)) if rnd.random() < 0.8 else None
            rows.append({"case_id": cid, "region_id": rid, "instance_id": instance_of[cid],
                         "spiff_task_id": f"{i:036d}", "process_id": "p", "bpmn_id": "t", "name": "任务",
                         "lane": role, "agency_id": agency, "status": "ready", "created_at": NOW, "due_at": due,
                         "version": 1})
        for start in range(0, len(rows), 5000):
            s.execute(insert(Task.__table__), rows[start:start + 5000])
        busiest = s.execute(select(Task.agency_id, func.count()).group_by(Task.agency_id)
                            .order_by(func.count().desc()).limit(1)).one()
        province = s.scalar(select(Agency.id).join(Region).where(Region.level == "province",
                                                                  Agency.role == "supervision"))
        city = s.scalar(select(Agency.id).join(Region).where(Region.name == "长春市", Agency.role == "supervision"))
        users = {}
        for name, role, agency_id in [("officer", "officer", busiest[0]), ("city", "supervisor", city),
                                      ("province", "supervisor", province)]:
            u = User(username=f"bench-{name}", display_name=name, role=role, agency_id=agency_id,
                     password_hash="-", active=True)
            s.add(u)
            s.flush()
            users[name] = u.id
        s.commit()
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        users["busiest_agency_tasks"] = busiest[1]
        return users


def timed(fn, runs: int = 30) -> tuple[float, float]:  # noqa: ANN001
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.9)] * 1000


def measure(url: str, n: int, label: str) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    ids = populate(engine, n)
    sessions = db.make_session_factory(engine)
    print(f"{label}: {n:,} open tasks; busiest agency holds {ids['busiest_agency_tasks']:,}")
    for name in ("officer", "city", "province"):
        with sessions() as s:
            user = s.get(User, ids[name])
            page = tasks.inbox(s, user)
            med, p90 = timed(lambda s=s, user=user: tasks.inbox(s, user))
            print(f"  inbox first page ({name:8s}, {len(page):3d} rows): median {med:6.2f} ms  p90 {p90:6.2f} ms")
    with sessions() as s:
        user = s.get(User, ids["province"])
        rows = tasks.overdue(s, user, now=NOW)
        med, p90 = timed(lambda: tasks.overdue(s, user, now=NOW))
        print(f"  overdue first page (province, {len(rows):3d} rows): median {med:6.2f} ms  p90 {p90:6.2f} ms")
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("HUIQIAN_BENCH_PG",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{tmp}/inbox.db", args.tasks, "sqlite")
    if args.no_pg:
        return
    try:
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"huiqian_inbox_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        print(f"PostgreSQL not reachable ({type(exc).__name__}); skipped")
        return
    try:
        measure(make_url(args.pg).set(database=name).render_as_string(hide_password=False), args.tasks,
                "postgresql")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
