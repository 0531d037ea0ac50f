"""Notifications (通知): one row per recipient, read or not, and for each the deliveries beyond the app
(e-mail, a webhook) with a record of every attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow

NOTIFICATION_KINDS: dict[str, str] = {
    "assigned": "新任务",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "escalated": "督办",
    "acknowledged": "已阅回执",
    "answered": "督办答复",
    "copied": "抄送",
}

DELIVERY_CHANNELS: dict[str, str] = {"email": "电子邮件", "webhook": "Webhook"}

DELIVERY_STATUSES: dict[str, str] = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("kind IN ('assigned', 'due_soon', 'overdue', 'escalated', 'acknowledged', 'answered', 'copied')",
                        name="kind_known"),
        # What makes two notifications the same one ("overdue:42"): a worker pass that runs twice, or two
        # workers at once, notify a person once.
        UniqueConstraint("user_id", "key", name="uq_notifications_user_key"),
        # The notification centre: a user's newest first, and the unread count.
        Index("ix_notifications_user_read", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def kind_label(self) -> str:
        return NOTIFICATION_KINDS.get(self.kind, self.kind)


class NotificationDelivery(Base):
    """One notification on its way out of the app by one channel. A worker claims due deliveries by
    moving `next_attempt_at` past the moment (a lease), so two workers never send one twice at once."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'webhook')", name="channel_known"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at", "id"),
        Index("ix_notification_deliveries_notification", "notification_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    notification: Mapped[Notification] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return DELIVERY_STATUSES.get(self.status, self.status)


class DeliveryAttempt(Base):
    """Every try of a delivery, successful or not: what the mail server or the webhook answered."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
