"""Places, the agencies of each place, and the people who work in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime

REGION_LEVELS = {"province": "省", "city": "市（州）", "county": "县（市、区）"}

# Agency roles: the lanes of every playbook. Codes are stable identifiers; labels are what people read.
AGENCY_ROLES: dict[str, str] = {
    "housing": "住建",
    "finance": "财政",
    "planning": "自然资源",
    "expropriation": "征收",
    "court": "法院",
    "tax": "税务",
    "fire": "消防",
    "development": "发改",
    "community": "街道社区",
    "developer": "开发企业",
    "supervision": "安居办",
    # Seed 001 puts the 市县政府 (its principal and responsible leaders) above the departments: it convenes
    # the 府院联动 meeting and the 联席会议, decides the resettlement mode, the 容缺 arrangement, a 接盘 and a
    # 兜底, and orders a defaulting developer; 住建 leads the work and prepares those decisions.
    "government": "市县政府",
}

# Formal names as a county's bureau would be called, e.g. 榆树市 + 财政局.
AGENCY_SUFFIX: dict[str, str] = {
    "housing": "住房和城乡建设局",
    "finance": "财政局",
    "planning": "自然资源局",
    "expropriation": "房屋征收经办中心",
    "court": "人民法院",
    "tax": "税务局",
    "fire": "消防救援大队",
    "development": "发展和改革局",
    "community": "街道办事处",
    "developer": "开发企业（项目方）",
    "supervision": "保障性安居工程领导小组办公室",
    "government": "人民政府办公室",
}

USER_ROLES: dict[str, str] = {
    "officer": "经办人",
    "supervisor": "督办人",
    "auditor": "审计",
    "admin": "系统管理员",
}


class Region(Base):
    """A province, city/prefecture or county/district with its GB/T 2260 code.

    `parent` is the supervising level, which is the administrative parent except for places the
    province governs directly (省直管, e.g. 梅河口市, 公主岭市, 长白山管委会): their parent is the
    province and `admin_parent_code` keeps the administrative city.
    """

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    # Materialised path of ids, "/1/5/42/", so jurisdiction checks are one prefix comparison.
    path: Mapped[str] = mapped_column(String(255), index=True)
    direct_to_province: Mapped[bool] = mapped_column(Boolean, default=False)
    admin_parent_code: Mapped[str | None] = mapped_column(String(12))
    code_source: Mapped[str] = mapped_column(String(128))

    parent: Mapped[Region | None] = relationship(remote_side=[id])

    def contains(self, other: Region) -> bool:
        return other.path.startswith(self.path)


class Agency(Base):
    """An agency is always of a place: the finance bureau of 榆树市 is not that of 农安县."""

    __tablename__ = "agencies"
    __table_args__ = (UniqueConstraint("region_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))

    region: Mapped[Region] = relationship(lazy="joined")

    @property
    def role_label(self) -> str:
        return AGENCY_ROLES.get(self.role, self.role)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the password, role, agency or active flag changes: browser sessions carry it, so a
    # change signs the user out everywhere.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    # Wrong passwords in a row, and until when sign-in is refused after too many.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of the pages for this user ("zh_CN", "en"); None: the installation's default (zh_CN).
    locale: Mapped[str | None] = mapped_column(String(8))
    # Where notifications are e-mailed when SMTP is configured (none: the in-app centre only).
    email: Mapped[str | None] = mapped_column(String(254))

    agency: Mapped[Agency] = relationship(lazy="joined")

    @property
    def role_label(self) -> str:
        return USER_ROLES.get(self.role, self.role)
