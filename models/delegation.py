"""委派: a task's holder asks a colleague to handle it; the colleague resolves it back with an opinion and
the holder completes it. Each delegation is kept, also once resolved or recalled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .org import User


class TaskDelegation(Base):
    __tablename__ = "task_delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Ended by the delegate resolving it back (with an opinion) or by the holder recalling it.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opinion: Mapped[str | None] = mapped_column(Text)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    from_user: Mapped[User] = relationship(foreign_keys=[from_user_id], lazy="raise")
    to_user: Mapped[User] = relationship(foreign_keys=[to_user_id], lazy="raise")

    @property
    def active(self) -> bool:
        return self.resolved_at is None and self.recalled_at is None
