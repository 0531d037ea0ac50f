"""Append-only case history: who did what, when, with the data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType, UTCDateTime, utcnow

EVENT_KINDS: dict[str, str] = {
    "case_created": "立案",
    "task_opened": "任务下达",
    "task_claimed": "认领任务",
    "task_unclaimed": "退回认领",
    "task_completed": "办结任务",
    "task_cancelled": "任务撤销",
    "task_reassigned": "转办",
    "task_returned": "退回",
    "task_withdrawn": "撤回",
    "signer_added": "加签",
    "signer_removed": "减签",
    "task_copied": "抄送",
    "task_delegated": "委派",
    "delegation_resolved": "委派办毕退回",
    "delegation_recalled": "收回委派",
    "timer_fired": "时限到期",
    "lane_fallback": "上级部门代办",
    "case_updated": "案件信息变更",
    "status_changed": "状态变更",
    "process_error": "流程运行错误",
    "case_reclassified": "改变类别",
    "process_migrated": "流程版本迁移",
    "comment": "留言",
    "escalated": "督办升级",
    "escalation_acknowledged": "督办已阅",
    "escalation_answered": "督办答复",
    "escalation_closed": "督办办结",
    "extension_requested": "申请延期",
    "extension_withdrawn": "撤回延期申请",
    "extension_approved": "批准延期",
    "extension_refused": "不批准延期",
    "extension_acknowledged": "延期审批已阅",
    "deadline_set": "设定办理时限",
}

# Where an action came from; the command line also records the operating-system account that ran it.
CHANNELS: dict[str, str] = {"service": "服务调用", "cli": "命令行", "web": "网页", "api": "接口", "worker": "后台任务"}


class CaseEvent(Base):
    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_at", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    # None means the system itself acted (a timer fired).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    channel: Mapped[str] = mapped_column(String(16), default="service")
    os_user: Mapped[str | None] = mapped_column(String(64))
    # The API token the action came through, if any.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))

    @property
    def kind_label(self) -> str:
        return EVENT_KINDS.get(self.kind, self.kind)


class AppendOnlyViolation(RuntimeError):
    pass


# The ORM refuses first (a clear Python error); the database itself refuses UPDATE and DELETE too,
# by triggers created in migration 0002, so bulk statements and raw SQL cannot rewrite history.
@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _refuse_change(mapper, connection, target):  # noqa: ANN001 - SQLAlchemy event signature
    raise AppendOnlyViolation("case history is append-only")
