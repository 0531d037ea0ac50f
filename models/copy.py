"""抄送: a task copied to someone (the 包保领导's desks, a colleague, a leader) who reads it, never acts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .case import Case
from .org import User
from .task import Task


class TaskCopy(Base):
    __tablename__ = "task_copies"
    __table_args__ = (
        # Copying a task to someone twice is one copy.
        UniqueConstraint("task_id", "user_id", name="uq_task_copies_task_user"),
        # "抄送我的": a person's copies, unread first and newest first.
        Index("ix_task_copies_user_read", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    copied_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    task: Mapped[Task] = relationship(lazy="raise")
    case: Mapped[Case] = relationship(lazy="raise")
    copied_by: Mapped[User] = relationship(foreign_keys=[copied_by_id], lazy="raise")
