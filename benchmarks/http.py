"""Completing tasks over HTTP against the app under gunicorn, beside the same completion done in-process.

What is timed: an officer's client completes the first task (「立案核实」) of one category-2 case after
another with `POST /api/v1/tasks/<id>/complete` (JSON {"data": {...}}, If-Match, a personal Bearer
token), over loopback to a real server process started as

    DATABASE_URL=<temporary database> HUIQIAN_INSTANCE=<temporary dir> \\
        gunicorn -w 2 -b 127.0.0.1:<free port> 'webapp:create_app()'

(run here as `python -m gunicorn` of this interpreter, from the project root). The client is the
standard library's http.client on one keep-alive connection, so it costs little; each latency runs from
sending the request to reading the whole response. Gunicorn's default (sync) workers close the
connection after every response, so the client reconnects each time (a loopback connect, ~0.1 ms):
that is what a deployment with the command above pays, and the report says how often it happened.

Beside it, timed alternately (HTTP completion i, service completion i, HTTP i+1, ...) after an
unrecorded warm-up, the service-layer figure of the same run: a fresh session, the officer looked up
by id, `workflows.tasks.complete_task` with the same data, close — what benchmarks/engine.py times as
"service". The difference is what the web stack adds: WSGI, token check, JSON parsing and validation,
the response's task description and serialisation, and the round trip.

The database is seeded by the script itself (places, agencies, one officer, process version 1 of
bpmn/, 2 × (N + warm-up) cases through `cases.create_case`): a temporary SQLite file, and when the
PostgreSQL server at 127.0.0.1:5432 (database `test`, trust auth) answers, a fresh database there that
is dropped afterwards.

    python benchmarks/http.py [--completions 300] [--warmup 10] [--workers 2] [--pg URL | --no-pg]

The last line is `http_completions_per_s=X.X ratio_vs_service=X.XX` for SQLite: completions per second
of one client over HTTP, and median HTTP completion over median service completion.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py: run as a script, its folder would come first on sys.path and shadow the
# standard library's `http` package for everything imported after. Drop it before anything imports http.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
_ROOT = str(_HERE.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from benchmarks import engine as service_bench  # noqa: E402
from models import User  # noqa: E402
from workflows import auth, cases, db, tasks  # noqa: E402

WARMUP = service_bench.WARMUP
START_TIMEOUT = 60.0


@dataclass
class Run:
    """One backend's samples: seconds per completion, HTTP and service, timed alternately."""

    backend: str
    workers: int
    http: list[float] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    reconnects: int = 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(url: str, instance: Path, workers: int) -> Iterator[int]:
    """A gunicorn server on the database at `url`; yields its port, stops it (only it) afterwards."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "HUIQIAN_INSTANCE": str(instance),
           # Set here so the workers do not race to generate the instance's secret file.
           "HUIQIAN_SECRET_KEY": os.urandom(16).hex()}
    log_path = instance / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                   "webapp:create_app()"], cwd=_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if server.returncode not in (0, -15):
        print(f"gunicorn exited with {server.returncode}; its log:\n{log_path.read_text(errors='replace')[-3000:]}",
              file=sys.stderr)


class Client:
    """One keep-alive connection; http.client reopens it when the server closed it after a response."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.reconnects = 0

    def call(self, method: str, path: str, payload: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        extra = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.conn.request(method, path, body=body, headers={**self.headers, **extra, **(headers or {})})
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # a half-sent request leaves the connection unusable; the next call reopens
            raise
        if response.will_close:
            self.reconnects += 1
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        self.conn.close()


def wait_until_serving(client: Client, deadline: float, log: Path) -> None:
    while True:
        try:
            status, body = client.call("GET", "/api/v1/me")
        except (OSError, http.client.HTTPException):
            status, body = 0, None
        if status == 200:
            return
        if status not in (0, 502, 503) or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"gunicorn did not serve /api/v1/me (last status {status}, {body}):\n{tail}")
        time.sleep(0.1)


def open_tasks(client: Client) -> list[dict[str, Any]]:
    """Every task in the officer's inbox, page by page, as the API lists them."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        status, body = client.call("GET", f"/api/v1/tasks?per_page=1000&page={page}")
        if status != 200:
            raise RuntimeError(f"GET /api/v1/tasks: {status} {body}")
        rows.extend(body["items"])
        if len(rows) >= body["total"] or not body["items"]:
            return rows
        page += 1


def seed(engine: Engine, n_cases: int) -> tuple[sessionmaker[Session], int, str]:
    """Migrate and seed a fresh database with n_cases new cases at their first task; return the session
    factory, the officer's id and a personal token of theirs."""
    sessions, officer_id, county_code = service_bench.prepare(engine)
    prefix = f"H{time.time_ns() % 10**8}-"
    with sessions() as session:
        officer = session.get(User, officer_id)
        for i in range(n_cases):
            cases.create_case(session, officer, service_bench.new_case(f"{prefix}{i}", county_code))
        token = auth.create_token(session, officer, "benchmarks/http.py").secret
    return sessions, officer_id, token


def measure(url: str, backend: str, n: int, workers: int, warmup: int = WARMUP) -> Run:
    run = Run(backend, workers)
    engine = db.make_engine(url)
    try:
        return _measure(engine, url, run, n, warmup)
    finally:
        engine.dispose()


def _measure(engine: Engine, url: str, run: Run, n: int, warmup: int) -> Run:
    total = warmup + n
    sessions, officer_id, token = seed(engine, 2 * total)
    with tempfile.TemporaryDirectory() as instance, gunicorn(url, Path(instance), run.workers) as port:
        client = Client(port, token)
        try:
            wait_until_serving(client, time.monotonic() + START_TIMEOUT, Path(instance) / "gunicorn.log")
            rows = open_tasks(client)
            if len(rows) != 2 * total:
                raise RuntimeError(f"expected {2 * total} open tasks in the inbox, the API listed {len(rows)}")
            over_http, in_process = rows[0::2], rows[1::2]
            client.reconnects = 0
            for i in range(total):
                row = over_http[i]
                t0 = time.perf_counter()
                status, body = client.call("POST", f"/api/v1/tasks/{row['id']}/complete",
                                           {"data": dict(service_bench.INTAKE)}, {"If-Match": f'"{row["version"]}"'})
                elapsed = time.perf_counter() - t0
                if status != 200:
                    raise RuntimeError(f"POST /api/v1/tasks/{row['id']}/complete: {status} {body}")
                if i >= warmup:
                    run.http.append(elapsed)

                t0 = time.perf_counter()
                with sessions() as session:
                    actor = session.get(User, officer_id)
                    tasks.complete_task(session, actor, in_process[i]["id"], dict(service_bench.INTAKE))
                if i >= warmup:
                    run.service.append(time.perf_counter() - t0)
            run.reconnects = client.reconnects
        finally:
            client.close()
    return run


def _row(run: Run, path: str, samples: Sequence[float]) -> str:
    ms = 1000.0
    return (f"{run.backend:<11}{path:<9}{len(samples) / sum(samples):>14.1f}"
            f"{statistics.median(samples) * ms:>9.2f}{service_bench.percentile(samples, 0.95) * ms:>9.2f}")


def report(runs: Sequence[Run], n: int, warmup: int = WARMUP) -> list[str]:
    """The figures as printed lines; the last one is `http_completions_per_s=X.X ratio_vs_service=X.XX`."""
    workers = runs[0].workers
    lines = [
        f"{n} completions per path (+{warmup} warm-up) of 「立案核实」, category-2 cases, one officer; "
        "HTTP and service timed alternately",
        f"http:    POST /api/v1/tasks/<id>/complete with If-Match and a Bearer token, loopback, one client, "
        f"to gunicorn -w {workers} (sync workers)",
        "service: fresh session + officer by id + workflows.tasks.complete_task + close, in this process",
        f"{'backend':<11}{'path':<9}{'completions/s':>14}{'p50 ms':>9}{'p95 ms':>9}",
    ]
    for run in runs:
        lines.append(_row(run, "http", run.http))
        lines.append(_row(run, "service", run.service))
    for run in runs:
        lines.append(f"  {run.backend}: http median is {statistics.median(run.http) / statistics.median(run.service):.2f}x "
                     f"the service's; the server closed the connection after {run.reconnects} of "
                     f"{warmup + n} responses (the client reconnected)")
    sqlite = next(r for r in runs if r.backend == "sqlite")
    lines.append(f"http_completions_per_s={len(sqlite.http) / sum(sqlite.http):.1f} "
                 f"ratio_vs_service={statistics.median(sqlite.http) / statistics.median(sqlite.service):.2f}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--completions", type=int, default=300, help="timed completions per path (default 300)")
    parser.add_argument("--warmup", type=int, default=WARMUP, help=f"untimed completions first (default {WARMUP})")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--pg", default=os.environ.get("HUIQIAN_BENCH_PG", service_bench.DEFAULT_PG),
                        help="PostgreSQL server URL to create a temporary database on")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if args.completions < 1 or args.warmup < 0 or args.workers < 1:
        parser.error("--completions and --workers must be at least 1, --warmup at least 0")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append(measure(f"sqlite:///{tmp}/bench.db", "sqlite", args.completions, args.workers, args.warmup))
    if not args.no_pg:
        with service_bench.pg_database(args.pg) as url:
            if url is not None:
                runs.append(measure(url, "postgresql", args.completions, args.workers, args.warmup))
    print("\n".join(report(runs, args.completions, args.warmup)))


if __name__ == "__main__":
    main()
