"""A normalized projection of the engine's user tasks, so inboxes never deserialize workflows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, UTCDateTime, utcnow
from .case import Case
from .org import Agency, User

TASK_STATUSES = {"ready": "待办", "completed": "已办", "cancelled": "已撤销"}


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # An officer's inbox: the agency's open tasks, deadline first.
        Index("ix_tasks_agency_status_due", "agency_id", "status", "due_at", "id"),
        # A supervisor's inbox: open tasks of the places under them (region_id is the case's place,
        # copied here so the inbox needs no join), and due/overdue lists across the province.
        Index("ix_tasks_region_status_due", "region_id", "status", "due_at", "id"),
        Index("ix_tasks_status_due", "status", "due_at", "id"),
        Index("ix_tasks_instance_status", "instance_id", "status"),
        # The worker's "tasks opened since" window (notifications of new tasks).
        Index("ix_tasks_status_created", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    process_id: Mapped[str] = mapped_column(String(100))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    status: Mapped[str] = mapped_column(String(16), default="ready")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # 委派: the colleague the holder (assignee) asked to handle the task, until they resolve it back.
    delegated_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict | None] = mapped_column(JSONType)
    # 代办: a supervisor completed this task in the agency's place, with the reason given.
    on_behalf_reason: Mapped[str | None] = mapped_column(Text)
    # 审批意见: what the person who completed the task wrote beside the form.
    opinion: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    case: Mapped[Case] = relationship(lazy="raise")
    agency: Mapped[Agency] = relationship(lazy="raise")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="raise")

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return TASK_STATUSES[self.status]
