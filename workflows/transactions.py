"""Running a service as one transaction: commit on success, roll back on any error, and turn every
database failure into one of the project's error types (never a raw driver traceback)."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event, insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from models import CaseEvent

from . import history
from .db import write_transaction
from .engine import clock
from .errors import Busy, Conflict, HuiqianError, Invalid, ProcessError, Unavailable

P = ParamSpec("P")
R = TypeVar("R")

_WROTE = "huiqian_wrote"
_IN_MUTATION = "huiqian_in_mutation"


@event.listens_for(Session, "after_flush")
def _mark_flush(session: Session, _ctx: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_dml(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _clear_marks(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


class UncommittedWork(RuntimeError):
    """A programming error: a service was called with the caller's own writes still uncommitted.

    Committing them as part of the service would make the service's all-or-nothing promise a lie
    (the caller's half-done work would be committed even if the service then failed)."""


def _pgcode(exc: DBAPIError) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def translate(exc: Exception) -> HuiqianError:
    """Map a database exception to the project's error types (one place for every service)."""
    text = str(getattr(exc, "orig", exc)).lower()
    code = _pgcode(exc) if isinstance(exc, DBAPIError) else None
    if isinstance(exc, StaleDataError):
        return Conflict("数据已被他人修改，请刷新后重试")
    if isinstance(exc, IntegrityError):
        if code in ("23514", "23502") or "check constraint" in text or "not null constraint" in text:
            return Invalid("数据不符合约束条件，未保存", errors={"_": ["数据不符合约束条件"]})
        return Conflict("数据已存在或已被他人修改，请刷新后重试")
    if isinstance(exc, OperationalError | DBAPIError):
        if code in ("55P03", "57014") or "locked" in text or "busy" in text:
            return Busy("该案件正在被他人办理，请稍后重试")
        if code in ("40001", "40P01"):
            return Conflict("与他人的操作冲突，请刷新后重试")
        if code is not None and code.startswith("22"):
            return Invalid("输入数据超出允许范围，未保存", errors={"_": ["输入数据超出允许范围"]})
        if isinstance(exc, OperationalError):
            return Unavailable("数据库暂时不可用，请稍后重试")
    if isinstance(exc, StatementError):
        # The driver refused a value before sending it (e.g. text it cannot encode).
        return Invalid("输入数据无法保存（含有不允许的字符或超出范围）", errors={"_": ["输入数据无法保存"]})
    return Unavailable("数据库操作失败，请稍后重试")


def _record_process_error(session: Session, error: ProcessError) -> None:
    """Write the failure as a history event in a transaction of its own (the work was rolled back)."""
    where = history.current_origin()
    try:
        session.execute(insert(CaseEvent), [{
            "case_id": error.case_id, "task_id": None, "actor_id": error.actor_id, "kind": "process_error",
            "at": clock.now(), "summary": f"流程运行出错，本次操作未生效：{error.message}",
            "data": {"detail": (error.detail or "")[:2000]}, "channel": where.channel, "os_user": where.os_user,
            "token_id": where.token_id}])
        session.commit()
    except Exception:  # noqa: BLE001 - recording the error must never hide the error itself
        session.rollback()


def mutation(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a service whose first argument is the Session: one write transaction, all or nothing.

    A read-only transaction the caller left open (it looked up the acting user, say) becomes the
    write transaction (`_become_writer`); a caller's pending *writes* are refused with UncommittedWork. A
    service called from inside another service joins its transaction.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = args[0]
        assert isinstance(session, Session)
        if session.info.get(_IN_MUTATION):
            return func(*args, **kwargs)
        reading = session.in_transaction()
        if reading and (session.new or session.dirty or session.deleted or session.info.get(_WROTE)):
            raise UncommittedWork(f"{func.__name__}: the session has uncommitted writes; commit or "
                                  "roll them back before calling a service")
        session.info[_IN_MUTATION] = True
        try:
            if reading:
                _become_writer(session)
            else:
                write_transaction(session)
            result = func(*args, **kwargs)
            session.flush()
            history.write_pending(session)
            session.commit()
            return result
        except ProcessError as exc:
            _rollback(session)
            if exc.case_id is not None:
                _record_process_error(session, exc)
            raise
        except HuiqianError:
            _rollback(session)
            raise
        except (StaleDataError, StatementError) as exc:
            _rollback(session)
            if os.environ.get("HUIQIAN_DEBUG_DB_ERRORS"):
                raise
            raise translate(exc) from None
        except BaseException:
            _rollback(session)
            raise
        finally:
            session.info.pop(_IN_MUTATION, None)

    return wrapper


def _become_writer(session: Session) -> None:
    """Turn the caller's read-only transaction into this service's write transaction on the same
    connection, so the write lock is taken before the service reads and nothing is read again.

    Not a commit (there is nothing to commit) and not `Session.rollback()`, which would expire
    everything the caller read (the acting user, say) and cost a query each to read again; nor a new
    connection from the pool, which on PostgreSQL costs a ping. SQLite: the deferred transaction is
    ended and an IMMEDIATE one begun in its place (the caller's snapshot was read-only). PostgreSQL:
    the transaction goes on (READ COMMITTED: every statement sees the latest commits; rows are locked
    FOR UPDATE as each service reads them).
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The session may hold a transaction that has not read anything yet (no BEGIN sent), or one
        # the driver already ended: only an open one is rolled back.
        if connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("ROLLBACK")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _rollback(session: Session) -> None:
    history.discard_pending(session)
    try:
        session.rollback()
    except Exception:  # noqa: BLE001 - a broken connection: the pool discards it
        session.close()
