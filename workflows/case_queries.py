"""Reading cases: one case within the reader's jurisdiction, a case page's full picture, and the
filtered, paged case list. Scope is always a SQL condition on the place's path, never a filter in
Python over loaded rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, joinedload

from models import CASE_STATUSES, CATEGORIES, Case, Region, Task, User

from . import inputs, permissions, reclassification
from .engine import clock
from .errors import Invalid, NotFound

PAGE = 100
SEARCH_MAX = 100


def get_case(session: Session, actor: User, case_id: int) -> Case:
    """Read one case. Outside the reader's jurisdiction it does not exist (404, not 403)."""
    if not inputs.valid_id(case_id):  # no such row can exist, and the driver would raise on the query
        raise NotFound("案件不存在")
    case = session.get(Case, case_id)
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("案件不存在")
    return case


def _refuse(field: str, message: str) -> Invalid:
    return Invalid(message, errors={field: [message]})


def search_cases(session: Session, actor: User, *, region_code: str | None = None, category: int | None = None,
                 status: str | None = None, overdue: bool | None = None, q: str | None = None,
                 limit: int = PAGE, offset: int = 0, now: datetime | None = None) -> inputs.Page[Case]:
    """Cases within the reader's jurisdiction, by id, one page at a time, with the total.

    Permission: anyone signed in; the list holds only cases of places within the reader's
    jurisdiction. `region_code` narrows to a place's whole subtree (a place outside the jurisdiction
    yields nothing; an unknown code is Invalid). `overdue` true: cases with an open task past its
    deadline; false: cases without one. `q` matches the code or project name literally (% and _ are
    not wildcards). Reads only.
    """
    scope = permissions.jurisdiction(actor)
    where: list[Any] = [Region.path.startswith(scope.path)]
    if region_code is not None:
        code = inputs.clean_text(region_code, field="region", label="地区代码",
                                 max_length=Region.__table__.c.code.type.length)
        place = session.scalar(select(Region).where(Region.code == code))
        if place is None:
            raise _refuse("region", f"地区代码 {inputs.printable(code)} 不存在")
        where.append(Region.path.startswith(place.path))
    if category is not None:
        if isinstance(category, bool) or category not in CATEGORIES:
            raise _refuse("category", "解决类别应为 1–9")
        where.append(Case.category == category)
    if status is not None:
        if status not in CASE_STATUSES:
            raise _refuse("status", "案件状态应为 open、awaiting_closeout 或 closed")
        where.append(Case.status == status)
    if overdue is not None:
        late = exists().where(Task.case_id == Case.id, Task.status == "ready",
                              Task.due_at < (now or clock.now()))
        where.append(late if overdue else ~late)
    if q is not None:
        text = inputs.clean_text(q, field="q", label="搜索内容", max_length=SEARCH_MAX)
        if text:
            where.append(Case.code.icontains(text, autoescape=True)
                         | Case.project_name.icontains(text, autoescape=True))
    limit, offset = inputs.page_bounds(limit, offset)
    base = select(Case).join(Region, Case.region_id == Region.id).where(*where)
    items = list(session.scalars(base.order_by(Case.id).limit(limit).offset(offset)))
    total = session.scalar(select(func.count()).select_from(Case).join(Region, Case.region_id == Region.id)
                           .where(*where)) or 0
    return inputs.Page(items, total, limit, offset)


@dataclass(frozen=True)
class OpenTask:
    task: Task
    overdue: bool


@dataclass(frozen=True)
class Households:
    overdue: int
    resettled: int

    @property
    def remaining(self) -> int:
        return self.overdue - self.resettled

    @property
    def resettled_percent(self) -> float:
        return round(100 * self.resettled / self.overdue, 1) if self.overdue else 0.0


@dataclass(frozen=True)
class CaseDetail:
    """What a case page shows: the case, its open tasks, its households and where it stands."""

    case: Case
    open_tasks: list[OpenTask]
    households: Households
    processes: list[reclassification.ProcessStage]


def case_detail(session: Session, actor: User, case_id: int, *, now: datetime | None = None) -> CaseDetail:
    """One case with its open tasks (agency, assignee, deadline, whether overdue), its households and
    the processes it has gone through. Permission: as `get_case` (outside jurisdiction: NotFound)."""
    case = get_case(session, actor, case_id)
    now = now or clock.now()
    open_tasks = session.scalars(
        select(Task).where(Task.case_id == case.id, Task.status == "ready")
        .options(joinedload(Task.agency), joinedload(Task.assignee)).order_by(Task.id)).unique()
    return CaseDetail(case,
                      [OpenTask(t, t.due_at is not None and t.due_at < now) for t in open_tasks],
                      Households(case.households_overdue, case.households_resettled),
                      reclassification.case_processes(session, actor, case.id))
