"""Sign-in and access: personal API tokens and the append-only access log (who signed in, failed to,
created or revoked a token, and what administrators changed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType, UTCDateTime, utcnow
from .history import AppendOnlyViolation

ACCESS_KINDS: dict[str, str] = {
    "sign_in": "登录",
    "sign_in_failed": "登录失败",
    "sign_in_locked": "账户锁定",
    "sign_out": "退出登录",
    "token_created": "创建接口令牌",
    "token_revoked": "吊销接口令牌",
    "user_created": "新建用户",
    "user_updated": "修改用户",
    "user_deactivated": "停用用户",
    "password_reset": "重置密码",
    "agency_created": "新建部门",
    "agency_updated": "修改部门",
    "process_deployed": "部署流程版本",
    "calendar_entered": "录入节假日安排",
    "away_set": "设置委托",
    "away_cancelled": "取消委托",
}


class ApiToken(Base):
    """A personal token for scripts. Only a hash is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough (no password to guess).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so a user can tell their tokens apart ("hq_Ab3x…").
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessEvent(Base):
    """Append-only like case history; the database refuses UPDATE and DELETE (migration 0007)."""

    __tablename__ = "access_events"
    __table_args__ = (Index("ix_access_events_user", "subject_user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    # Who acted (None: nobody signed in, e.g. a failed sign-in) and whom it concerns.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The username as typed on a failed sign-in (truncated), so attempts on unknown names are visible.
    username: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    channel: Mapped[str] = mapped_column(String(16), default="service")
    address: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    os_user: Mapped[str | None] = mapped_column(String(64))

    @property
    def kind_label(self) -> str:
        return ACCESS_KINDS.get(self.kind, self.kind)


@event.listens_for(AccessEvent, "before_update")
@event.listens_for(AccessEvent, "before_delete")
def _refuse_change(mapper, connection, target):  # noqa: ANN001 - SQLAlchemy event signature
    raise AppendOnlyViolation("the access log is append-only")
