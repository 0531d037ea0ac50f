"""An injectable clock, and the engine's timers wired to it.

SpiffWorkflow's timers read `datetime.now(timezone.utc)` inside their module. We point that module's
`datetime` at a subclass whose `now()` reads our clock, so tests and `huiqian timers --now` move time
instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_fixed: ContextVar[datetime | None] = ContextVar("huiqian_now", default=None)
_global_fixed: list[datetime | None] = [None]


def now() -> datetime:
    """The current time (aware, UTC), or the time a caller or test has set."""
    value = _fixed.get() or _global_fixed[0]
    return value if value is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[datetime]:
    """Run a block of engine work as if it were `moment`."""
    if moment.tzinfo is None:
        raise ValueError("clock needs an aware datetime")
    token = _fixed.set(moment.astimezone(UTC))
    try:
        yield moment
    finally:
        _fixed.reset(token)


def set_global(moment: datetime | None) -> None:
    """Set (or clear with None) the time for every thread; meant for tests and demos."""
    if moment is not None and moment.tzinfo is None:
        raise ValueError("clock needs an aware datetime")
    _global_fixed[0] = moment.astimezone(UTC) if moment else None


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _ClockedDatetime
