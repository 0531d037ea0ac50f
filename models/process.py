"""Deployed versions of the process files, and the running instance of each case."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow


class ProcessVersion(Base):
    """One deployment of the whole set of BPMN files (`huiqian deploy-bpmn`).

    Cases start on the newest version and keep theirs until migrated; every file's source is kept, so
    a running case always reloads the exact rules it runs under, whatever is on disk.
    """

    __tablename__ = "process_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    # sha256 over every file name and content: the same set deployed twice is one version.
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by: Mapped[str] = mapped_column(String(128))
    source_dir: Mapped[str | None] = mapped_column(String(500))

    files: Mapped[list[ProcessFile]] = relationship(back_populates="version", lazy="raise",
                                                    order_by="ProcessFile.file_name")


class ProcessFile(Base):
    __tablename__ = "process_files"
    __table_args__ = (UniqueConstraint("version_id", "file_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)

    version: Mapped[ProcessVersion] = relationship(back_populates="files", lazy="raise")


class ProcessInstance(Base):
    """The serialized engine state of one case, without the specs (they are referenced).

    `version` is an optimistic lock: every write bumps it, and a write based on a stale read fails.
    """

    __tablename__ = "process_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    # The deployed version of the process files this case runs under.
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
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
