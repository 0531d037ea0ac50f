"""The case (案件): one stalled shantytown project whose residents are owed a return flat."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JSONType, UTCDateTime, utcnow
from .org import Region

CATEGORIES: dict[int, str] = {
    1: "涉法涉诉",
    2: "已开工",
    3: "未开工（征收、规划调整等）",
    4: "回迁房暂时无法建设，群众要求原地回迁",
    5: "主体已建成，配套设施不完善",
    6: "资金短缺停工",
    7: "已建成未竣工验收",
    8: "开发企业不兑现安置协议",
    9: "“死结”项目",
}

CASE_STATUSES: dict[str, str] = {
    "open": "办理中",
    "awaiting_closeout": "待销号",
    "closed": "已销号",
}

LEAD_TYPES: dict[str, str] = {"government": "政府主导", "developer": "房地产开发（市场化运作）"}


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("category BETWEEN 1 AND 9", name="category_range"),
        CheckConstraint("households_overdue > 0", name="households_positive"),
        CheckConstraint(
            "households_resettled >= 0 AND households_resettled <= households_overdue",
            name="resettled_within_overdue",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    project_name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    lead_type: Mapped[str] = mapped_column(String(16))
    developer_name: Mapped[str | None] = mapped_column(String(200))
    households_overdue: Mapped[int] = mapped_column(Integer)
    overdue_since: Mapped[date] = mapped_column(Date)
    category: Mapped[int] = mapped_column(Integer, index=True)
    responsible_leader: Mapped[str] = mapped_column(String(100))
    target_date: Mapped[date | None] = mapped_column(Date)
    # 倒排工期: the deadline a city or province supervisor set (workflows/schedule.py), used where the
    # category has no policy deadline of its own.
    schedule_deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), default="open", index=True)
    households_resettled: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    # Earlier resolution attempts, oldest first: [{category, since, until, days, reason, by}]. Seed 001
    # defines a 死结 by what was tried before (administrative coordination, market means, courts), so
    # each change of category appends the attempt it ends.
    attempts: Mapped[list] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every ORM update of the row; the API's ETag, so two editors never overwrite each other.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    region: Mapped[Region] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]

    @property
    def status_label(self) -> str:
        return CASE_STATUSES[self.status]
