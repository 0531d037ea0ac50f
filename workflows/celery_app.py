"""Scale-out: the worker's pass (workflows/jobs.py) as a Celery task on Redis, scheduled by Celery beat.

The embedded worker (`huiqian worker`) needs no broker; this is for running the pass on other machines
than the web servers. Several Celery workers may take the beat's messages at once: the pass is safe to
run concurrently (see workflows/jobs.py).

    HUIQIAN_CELERY_BROKER_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgresql://… \\
        celery -A workflows.celery_app worker --beat --loglevel=info

Settings come from the environment (config.setting): HUIQIAN_CELERY_BROKER_URL, DATABASE_URL,
HUIQIAN_WORKER_INTERVAL_SECONDS, HUIQIAN_AUTO_ESCALATION, HUIQIAN_BPMN_DIR.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from config import DefaultConfig, database_url, setting

from . import auto_escalation, db, history, jobs, notifications, processes
from .engine import bootstrap

TASK_NAME = "huiqian.pass"

# The expression sandbox is in place before this process loads any workflow (as the CLI and app do).
bootstrap()
processes.configure(DefaultConfig.BPMN_DIR)
notifications.configure(notifications.channels_from(setting))

app = Celery("huiqian", broker=setting("CELERY_BROKER_URL"), backend=setting("CELERY_BROKER_URL"))
app.conf.update(
    beat_schedule={"huiqian-pass": {"task": TASK_NAME, "schedule": float(setting("WORKER_INTERVAL_SECONDS"))}},
    # A pass that outlived its interval is not worth running after the next one has started.
    task_time_limit=max(600, 10 * int(setting("WORKER_INTERVAL_SECONDS"))),
    result_expires=3600,
    task_serializer="json", result_serializer="json", accept_content=["json"],
    broker_connection_retry_on_startup=True,
)


@cache
def _sessions() -> sessionmaker[Session]:
    """One engine per worker process, made on first use (not at import, before a fork)."""
    return db.make_session_factory(db.make_engine(database_url()))


@cache
def _policy() -> tuple[auto_escalation.Rule, ...]:
    return auto_escalation.parse_policy(setting("AUTO_ESCALATION"))


@app.task(name=TASK_NAME)
def run_pass(now: str | None = None) -> dict[str, Any]:
    """One pass of the worker at `now` (ISO, aware; default the clock); returns its counts."""
    moment = datetime.fromisoformat(now) if now else None
    with history.origin("worker"), _sessions()() as session:
        result = jobs.run_pass(session, moment, _policy())
    return result.counts()
