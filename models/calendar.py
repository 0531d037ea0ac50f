"""The working-day calendar as administrators publish it: the statutory holidays and make-up working
days (调休) of a year that the calendar library does not cover yet, or a correction of one it does.

The library's own answers are not stored (workflows/workdays.py asks it); these rows exist only
where an administrator has entered the State Council's schedule, and they take precedence.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

CALENDAR_DAY_KINDS: dict[str, str] = {"holiday": "放假", "workday": "调休上班"}
# "admin": an administrator entered the year's whole schedule (its days are in calendar_days);
# "library": an administrator confirmed the library's schedule for the year as the published one.
CALENDAR_SOURCES: dict[str, str] = {"library": "日历库", "admin": "管理员录入"}


class CalendarDay(Base):
    """One day that is not what its weekday says: a holiday on a weekday, or a weekend day worked."""

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The holiday it belongs to, as the State Council's notice names it ("国庆节"); a make-up working
    # day carries the name of the holiday it makes up for.
    name: Mapped[str] = mapped_column(String(50))
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def kind_label(self) -> str:
        return CALENDAR_DAY_KINDS.get(self.kind, self.kind)


class CalendarYear(Base):
    """A year whose schedule an administrator has confirmed: from then on its deadlines are final."""

    __tablename__ = "calendar_years"
    __table_args__ = (CheckConstraint("source IN ('library', 'admin')", name="source_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    source: Mapped[str] = mapped_column(String(16))
    confirmed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def source_label(self) -> str:
        return CALENDAR_SOURCES.get(self.source, self.source)
