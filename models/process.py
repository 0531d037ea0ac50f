"""Process specifications (stored per version) and the running instance of each case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType, UTCDateTime, utcnow


class ProcessSpec(Base):
    """One version of one BPMN process. The source is kept so a running case can always be
    reloaded with the exact rules it started under, even after the files change."""

    __tablename__ = "process_specs"
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "source_hash", name="process_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    source_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(Base):
    """The serialized engine state of one case, without the specs (they are referenced).

    `version` is an optimistic lock: every write bumps it, and a write based on a stale read fails.
    """

    __tablename__ = "process_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    spec_id: Mapped[int] = mapped_column(ForeignKey("process_specs.id"))
    # {process_id: process_specs.id} for the top process and every process it calls.
    spec_refs: Mapped[dict] = mapped_column(JSONType)
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Which serialization format `state` is in (SpiffWorkflow serializer version + ours), so an
    # engine upgrade can find the states it must migrate instead of misreading them.
    serializer_version: Mapped[str] = mapped_column(String(32), default="")
    # A timer run that fails on this case records it here and retries later with backoff, without
    # holding up the other cases.
    timer_failures: Mapped[int] = mapped_column(Integer, default=0)
    timer_last_error: Mapped[str | None] = mapped_column(Text)
    timer_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}
