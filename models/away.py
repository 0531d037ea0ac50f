"""委托: an officer away (leave, training) hands their work to a colleague for a span of days."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .org import User


class AwayPeriod(Base):
    __tablename__ = "away_periods"
    __table_args__ = (
        # Who is away on a day, and whom they handed their work to.
        Index("ix_away_periods_user_dates", "user_id", "starts_on", "ends_on"),
        Index("ix_away_periods_delegate", "delegate_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[date] = mapped_column(Date)  # China dates, both included
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the away officer's claimed tasks were handed to the delegate (at the start, by the worker).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id], lazy="raise")
