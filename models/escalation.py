"""The escalation ladder (督办升级) as records: 催办 → 督办 → 驻点督办 → 约谈 → 问责, each raised on a case
(and perhaps one of its tasks) towards an agency or the case's responsible leader (包保领导), with its own
deadline, a read receipt (已阅), the target's answer and the raising level's conclusion."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .case import Case
from .org import Agency, User

# Mildest first: the order is the ladder's (seed 001 三(二); DOMAIN.md "How supervision works").
ESCALATION_LEVELS: dict[str, str] = {
    "urge": "催办",
    "supervise": "督办",
    "onsite": "驻点督办",
    "summon": "约谈",
    "accountability": "问责",
}

ESCALATION_OUTCOMES: dict[str, str] = {"open": "待答复", "answered": "已答复", "closed": "已办结"}

ESCALATION_TARGETS: dict[str, str] = {"agency": "部门", "leader": "包保领导"}


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint("level IN ('urge', 'supervise', 'onsite', 'summon', 'accountability')",
                        name="level_known"),
        CheckConstraint("outcome IN ('open', 'answered', 'closed')", name="outcome_known"),
        # An agency target names the agency; a leader target names the leader and no agency.
        CheckConstraint("(target_agency_id IS NULL) = (target_leader IS NOT NULL)", name="one_target"),
        Index("ix_escalations_case", "case_id", "id"),
        # The target's inbox: its open escalations, newest first.
        Index("ix_escalations_target_outcome", "target_agency_id", "outcome", "id"),
        # The policy raises each rung once per task (workflows/auto_escalation.py): two workers in the
        # same moment cannot both insert it. Partial, so people may raise a rung again by hand; written
        # "automatic = 1" on SQLite because its planner uses a partial index only for a query repeating
        # the predicate as written, and the worker's query says automatic = 1 there.
        Index("ux_escalations_automatic_task_level", "task_id", "level", unique=True,
              sqlite_where=text("automatic = 1"), postgresql_where=text("automatic")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    level: Mapped[str] = mapped_column(String(16))
    # None with `automatic`: a policy raised it on an SLA breach, never credited to a person.
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The 安居办 in whose name it was raised (the raiser's agency, or the policy's level): that level
    # or one above it closes it.
    raised_by_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    target_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # The case's 包保领导 as the case named them when the escalation was raised.
    target_leader: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(16), default="open")
    outcome_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Bumped by every ORM update: the API's ETag, so an answer is never given to a changed escalation.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    case: Mapped[Case] = relationship(lazy="joined")
    target_agency: Mapped[Agency | None] = relationship(foreign_keys=[target_agency_id], lazy="joined")
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id], lazy="joined")
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id], lazy="joined")
    responded_by: Mapped[User | None] = relationship(foreign_keys=[responded_by_id], lazy="joined")
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def level_label(self) -> str:
        return ESCALATION_LEVELS.get(self.level, self.level)

    @property
    def level_rank(self) -> int:
        """Its rung on the ladder, 1 (催办) to 5 (问责)."""
        return list(ESCALATION_LEVELS).index(self.level) + 1

    @property
    def outcome_label(self) -> str:
        return ESCALATION_OUTCOMES.get(self.outcome, self.outcome)

    @property
    def target(self) -> str:
        return "agency" if self.target_agency_id is not None else "leader"

    @property
    def target_label(self) -> str:
        return self.target_leader if self.target_agency_id is None else self.target_agency.name
