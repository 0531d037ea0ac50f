"""延期申请: before a task's deadline the officer holding it asks for a later due date, with a reason;
the level above (a city's 安居办 for a county's task, the province's for a city's) approves or refuses
it with a note, and only an approval moves the task's due date. The requesting agency marks the
decision read (已阅)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .case import Case
from .org import Region, User
from .task import Task

EXTENSION_STATUSES: dict[str, str] = {
    "pending": "待审批",
    "approved": "已批准",
    "refused": "未批准",
    "withdrawn": "已撤回",
}

_PENDING = text("status = 'pending'")


class ExtensionRequest(Base):
    __tablename__ = "extension_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'refused', 'withdrawn')", name="status_known"),
        CheckConstraint("requested_due_at > current_due_at", name="later_date"),
        # One pending request per task: the service checks under a lock, the database backs it up.
        Index("ux_extension_requests_one_pending", "task_id", unique=True,
              sqlite_where=_PENDING, postgresql_where=_PENDING),
        Index("ix_extension_requests_task", "task_id", "id"),
        # The deciding level's list: its pending requests, oldest first.
        Index("ix_extension_requests_decider_status", "decider_region_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The agency the task was with when asked: its people read the decision (已阅).
    requested_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    reason: Mapped[str] = mapped_column(Text)
    # The due date the task had when asked, and the one asked for (the end of a China working day).
    current_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # How many working days the new date adds, counted on the China calendar when asked.
    extra_workdays: Mapped[int] = mapped_column(Integer)
    # The level above the task's agency, whose supervisors decide (fixed when asked).
    decider_region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_read_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Bumped by every ORM update: the API's ETag, so nobody decides on or withdraws a changed request.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    case: Mapped[Case] = relationship(lazy="joined")
    task: Mapped[Task] = relationship(lazy="joined")
    decider_region: Mapped[Region] = relationship(lazy="joined")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
    decision_read_by: Mapped[User | None] = relationship(foreign_keys=[decision_read_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return EXTENSION_STATUSES.get(self.status, self.status)
