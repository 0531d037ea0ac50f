"""Database engines, sessions and schema migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

import models

MIGRATIONS = Path(models.__file__).resolve().parent / "migrations"


# How long a writer waits for another writer's lock before giving up with a "busy, retry" error.
# Short: a person is waiting on the other end, and a hung writer must not stall everyone.
LOCK_TIMEOUT_SECONDS = 5.0
# A statement that runs longer than this on PostgreSQL is cancelled (a runaway query, not normal work).
STATEMENT_TIMEOUT_SECONDS = 60.0
# A transaction left open and idle this long on PostgreSQL is ended by the server, freeing its locks.
IDLE_IN_TRANSACTION_SECONDS = 120.0


def make_engine(url: str, *, lock_timeout: float = LOCK_TIMEOUT_SECONDS, **kwargs: Any) -> Engine:
    """An engine whose lock waits are bounded on both backends (see LOCK_TIMEOUT_SECONDS)."""
    if url.startswith("sqlite"):
        # A busy writer makes others wait (up to the lock timeout) instead of failing at once.
        engine = create_engine(url, connect_args={"timeout": lock_timeout, "check_same_thread": False},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            # WAL: readers never block the writer; synchronous=NORMAL is durable across application
            # crashes and only risks the last commits on power loss.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        # pysqlite's own transaction handling defers BEGIN until the first write, which lets two
        # sessions read the same version and then both try to write; emit BEGIN ourselves so SQLite
        # behaves like the other backends.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            # Writers take the write lock up front (see write_transaction), so a second writer waits
            # and then reads the first one's result, instead of failing on a stale snapshot.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

        return engine
    options = (f"-c lock_timeout={int(lock_timeout * 1000)} "
               f"-c statement_timeout={int(STATEMENT_TIMEOUT_SECONDS * 1000)} "
               f"-c idle_in_transaction_session_timeout={int(IDLE_IN_TRANSACTION_SECONDS * 1000)}")
    connect_args = {"options": options, "connect_timeout": 10, **kwargs.pop("connect_args", {})}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


WRITE = "huiqian_write"


def write_transaction(session: Session) -> None:
    """Mark the session's transaction as a writing one; call before the first query of a mutation."""
    session.connection(execution_options={WRITE: True})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services hand committed objects back to callers (views, CLI) that
    # read them after the transaction; re-reading every attribute would cost a query each.
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # SQLite rebuilds a table to alter it ("batch" migrations); with foreign keys enforced the
            # rebuild's DROP of a referenced table fails. The pragma only works outside a transaction,
            # so it is set on the driver connection before SQLAlchemy begins one.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left rows with broken references: {broken[:5]}")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")
