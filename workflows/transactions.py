"""Running a service as one transaction: commit on success, roll back on any error, map races."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .db import write_transaction
from .errors import Conflict

P = ParamSpec("P")
R = TypeVar("R")


def mutation(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a service whose first argument is the Session: one write transaction, all or nothing."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = args[0]
        assert isinstance(session, Session)
        if session.in_transaction():
            # A caller may have read (e.g. looked up the acting user) before; start clean so the
            # write lock is taken before this service reads what it will change.
            session.commit()
        write_transaction(session)
        try:
            result = func(*args, **kwargs)
            session.commit()
            return result
        except StaleDataError:
            session.rollback()
            raise Conflict("数据已被他人修改，请刷新后重试") from None
        except OperationalError as exc:
            session.rollback()
            if "locked" in str(exc).lower():
                raise Conflict("数据库忙，请稍后重试") from None
            raise
        except IntegrityError:
            session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise

    return wrapper
