"""How far the background worker's windowed jobs have got, so a worker that was down catches up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime


class JobMark(Base):
    """The moment a job (e.g. "notify_tasks") last covered: its next run starts its window there."""

    __tablename__ = "job_marks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    done_through: Mapped[datetime] = mapped_column(UTCDateTime)
