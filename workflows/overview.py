"""The overview: cases by category and status, open tasks, and the first cases, within the reader's
jurisdiction. Without a reader only the province-wide counts are given (the province publishes them in
its monthly circular anyway); no project is named."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Case, Region, Task, User

from . import permissions

CASES_SHOWN = 100


@dataclass(frozen=True)
class CategoryRow:
    category: int
    status: str
    cases: int
    households_overdue: int
    households_resettled: int


@dataclass(frozen=True)
class Overview:
    scope: str
    rows: list[CategoryRow]
    open_tasks: int
    cases: list[Case] = field(default_factory=list)


def summary(session: Session, actor: User | None) -> Overview:
    """Counts by category and status and the open-task count within the actor's jurisdiction, and its
    first cases; with no actor, the counts for the whole province and no case list."""
    counts = (select(Case.category, Case.status, func.count(), func.coalesce(func.sum(Case.households_overdue), 0),
                     func.coalesce(func.sum(Case.households_resettled), 0))
              .group_by(Case.category, Case.status).order_by(Case.category, Case.status))
    open_tasks = select(func.count()).select_from(Task).where(Task.status == "ready")
    if actor is None or not actor.active:
        rows = [CategoryRow(*r) for r in session.execute(counts)]
        return Overview("全省", rows, session.scalar(open_tasks) or 0)
    scope = permissions.jurisdiction(actor)
    inside = select(Region.id).where(Region.path.startswith(scope.path))
    rows = [CategoryRow(*r) for r in session.execute(counts.where(Case.region_id.in_(inside)))]
    tasks = session.scalar(open_tasks.where(Task.region_id.in_(inside))) or 0
    cases = list(session.scalars(select(Case).where(Case.region_id.in_(inside)).order_by(Case.id)
                                 .limit(CASES_SHOWN)))
    return Overview(scope.name, rows, tasks, cases)
