"""The supervisor's dashboard (督办工作台): open cases by county and category, households overdue and
resettled per county, the overdue tasks, the counties furthest behind and the escalations still open
(催办 … 问责), within the supervisor's jurisdiction; and the years ahead whose holiday schedule nobody
has entered (their deadlines are provisional).

Every figure is a GROUP BY over the whole jurisdiction (one statement for the cases, one for the
overdue tasks), never a query per county; the overdue list is the supervisor's inbox filtered to
overdue (inbox.task_page), so it reads the task projection along its index. The cases at risk
(倒排工期, workflows/schedule.py) are derived for every open case of the jurisdiction with three
more statements, whatever their number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ESCALATION_LEVELS, Case, Escalation, ExtensionRequest, Region, Task, User

from . import escalations, extensions, inbox, inputs, permissions, schedule, workdays
from .engine import clock
from .errors import Forbidden

OVERDUE_SHOWN = 20
EXTENSIONS_SHOWN = 50
ESCALATIONS_SHOWN = 30
AT_RISK_SHOWN = 20
BEHIND_SHOWN = 5
# Said on the page, so the ranking is never a black box.
BEHIND_RULE = ("按已安置户数占逾期未安置户数的比例从低到高排列；比例相同的，逾期任务多的在前，再按尚未安置户数从多到少；"
               f"只列尚有未安置户或逾期任务的县（市、区），最多 {BEHIND_SHOWN} 个")


@dataclass
class CountyRow:
    """One place's figures: open cases (办理中) per category, cases awaiting closeout, households over
    all its cases (closed ones included: what was resettled counts), and its overdue open tasks."""

    region_id: int
    code: str
    name: str
    open_by_category: dict[int, int] = field(default_factory=dict)
    awaiting_closeout: int = 0
    closed: int = 0
    households_overdue: int = 0
    households_resettled: int = 0
    overdue_tasks: int = 0
    at_risk: int = 0  # open cases with a step past its latest start, deadline not yet passed
    past_deadline: int = 0  # open cases whose deadline has passed with steps still ahead

    @property
    def open_cases(self) -> int:
        return sum(self.open_by_category.values())

    @property
    def households_remaining(self) -> int:
        return self.households_overdue - self.households_resettled

    @property
    def resettled_share(self) -> float:
        return self.households_resettled / self.households_overdue if self.households_overdue else 1.0

    @property
    def resettled_percent(self) -> float:
        return round(100 * self.resettled_share, 1)


@dataclass(frozen=True)
class OverdueTask:
    task: Task
    days_overdue: int


@dataclass(frozen=True)
class OpenEscalations:
    """The jurisdiction's escalations not yet closed: how many of each rung, and the first of them
    (awaiting an answer before answered, past their deadline first, the sternest rung first)."""

    by_level: dict[str, int]
    items: list[escalations.Tracked]
    total: int
    unanswered: int
    overdue: int


@dataclass(frozen=True)
class Dashboard:
    scope: Region
    counties: list[CountyRow]
    totals: CountyRow
    overdue: list[OverdueTask]
    overdue_total: int
    behind: list[CountyRow]
    behind_rule: str
    now: datetime
    escalations: OpenEscalations
    # This year and the next, where neither the calendar library nor an administrator covers them.
    uncovered_years: list[int]
    # 延期申请 pending within the jurisdiction, oldest first (those this level decides and the others).
    extensions: inputs.Page[ExtensionRequest] | None = None
    # 倒排工期: the cases at risk or past their deadline, the nearest deadline first.
    at_risk: list[schedule.Schedule] = field(default_factory=list)
    at_risk_total: int = 0
    schedule_rule: str = schedule.RULE


def require_supervisor(actor: User) -> None:
    if not actor.active or actor.role != "supervisor":
        raise Forbidden("只有督办人可以查看督办工作台")


def _county_rows(session: Session, scope: Region, now: datetime) -> list[CountyRow]:
    inside = Region.path.startswith(scope.path)
    rows: dict[int, CountyRow] = {}
    cases = session.execute(
        select(Region.id, Region.code, Region.name, Case.category, Case.status, func.count(Case.id),
               func.coalesce(func.sum(Case.households_overdue), 0),
               func.coalesce(func.sum(Case.households_resettled), 0))
        .join(Region, Case.region_id == Region.id).where(inside)
        .group_by(Region.id, Region.code, Region.name, Case.category, Case.status))
    for region_id, code, name, category, status, count, overdue, resettled in cases:
        row = rows.setdefault(region_id, CountyRow(region_id, code, name))
        if status == "open":
            row.open_by_category[category] = row.open_by_category.get(category, 0) + count
        elif status == "awaiting_closeout":
            row.awaiting_closeout += count
        else:
            row.closed += count
        row.households_overdue += int(overdue)
        row.households_resettled += int(resettled)
    late = session.execute(
        select(Task.region_id, func.count(Task.id))
        .where(Task.status == "ready", Task.due_at < now,
               Task.region_id.in_(select(Region.id).where(inside)))
        .group_by(Task.region_id))
    for region_id, count in late:
        if region_id in rows:  # a task's place is its case's, so it has a row
            rows[region_id].overdue_tasks = count
    return sorted(rows.values(), key=lambda r: r.code)


def _totals(scope: Region, counties: list[CountyRow]) -> CountyRow:
    total = CountyRow(scope.id, scope.code, "合计")
    for row in counties:
        for category, count in row.open_by_category.items():
            total.open_by_category[category] = total.open_by_category.get(category, 0) + count
        total.awaiting_closeout += row.awaiting_closeout
        total.closed += row.closed
        total.households_overdue += row.households_overdue
        total.households_resettled += row.households_resettled
        total.overdue_tasks += row.overdue_tasks
        total.at_risk += row.at_risk
        total.past_deadline += row.past_deadline
    return total


def _at_risk(session: Session, actor: User, counties: list[CountyRow], now: datetime
             ) -> tuple[list[schedule.Schedule], int]:
    """Count the cases at risk and past their deadline into the county rows; the list to show."""
    found = [s for s in schedule.jurisdiction_schedules(session, actor, now=now) if s.status in ("at_risk", "overdue")]
    rows = {row.region_id: row for row in counties}
    for s in found:
        row = rows.get(s.case.region_id)
        if row is not None:
            if s.status == "at_risk":
                row.at_risk += 1
            else:
                row.past_deadline += 1
    found.sort(key=lambda s: (s.deadline, -s.remaining, s.case.code))
    return found[:AT_RISK_SHOWN], len(found)


def furthest_behind(counties: list[CountyRow], limit: int = BEHIND_SHOWN) -> list[CountyRow]:
    """The counties furthest behind by BEHIND_RULE (ranking the already aggregated rows)."""
    lagging = [r for r in counties if r.households_remaining > 0 or r.overdue_tasks > 0]
    lagging.sort(key=lambda r: (r.resettled_share, -r.overdue_tasks, -r.households_remaining, r.code))
    return lagging[:limit]


def open_escalations(session: Session, scope: Region, now: datetime, *, near_days: int, soon_days: int,
                     by_level: escalations.ByLevel | None = None, limit: int = ESCALATIONS_SHOWN) -> OpenEscalations:
    """The escalations not yet closed on cases within `scope` (two statements: the counts by rung and
    state, and the first `limit` rows in the order of OpenEscalations)."""
    inside = Case.region_id.in_(select(Region.id).where(Region.path.startswith(scope.path)))
    not_closed = Escalation.outcome != "closed"
    late = (Escalation.outcome == "open") & (Escalation.due_at < now)
    counts = session.execute(
        select(Escalation.level, Escalation.outcome, func.count(Escalation.id),
               func.count(when((late, Escalation.id))))
        .join(Case, Escalation.case_id == Case.id).where(inside, not_closed)
        .group_by(Escalation.level, Escalation.outcome))
    counted = dict.fromkeys(ESCALATION_LEVELS, 0)
    total = unanswered = overdue = 0
    for level, outcome, count, late_count in counts:
        counted[level] = counted.get(level, 0) + count
        total += count
        unanswered += count if outcome == "open" else 0
        overdue += late_count
    rank = when(*((Escalation.level == key, i) for i, key in enumerate(ESCALATION_LEVELS)), else_=0)
    rows = list(session.scalars(
        select(Escalation).join(Case, Escalation.case_id == Case.id).where(inside, not_closed)
        .order_by(when((Escalation.outcome == "open", 0), else_=1), when((late, 0), else_=1), rank.desc(),
                  when((Escalation.due_at.is_(None), 1), else_=0), Escalation.due_at, Escalation.id)
        .limit(limit)).unique())
    return OpenEscalations(counted, escalations.tracked(rows, now, near_days, soon_days, by_level), total, unanswered,
                           overdue)


def dashboard(session: Session, actor: User, *, now: datetime | None = None, near_days: int = 3,
              soon_days: int = 1, by_level: escalations.ByLevel | None = None) -> Dashboard:
    """The dashboard of the supervisor's jurisdiction: per place (the case's county) the open cases
    (办理中) by category, cases awaiting closeout, households overdue and resettled, overdue open
    tasks and cases at risk of missing their deadline (倒排工期, AT_RISK_SHOWN of them); the longest
    overdue tasks first (OVERDUE_SHOWN of them, with the total); the counties furthest behind
    (BEHIND_RULE); the pending 延期申请 (EXTENSIONS_SHOWN, oldest first).

    Permission: supervisors only (Forbidden otherwise); everything is limited to their jurisdiction
    in SQL. Also the open escalations (open_escalations; `near_days`, `soon_days`: the 督办单 colours)
    and the years from this one to the next that no calendar covers. Reads only.
    """
    require_supervisor(actor)
    now = now or clock.now()
    scope = permissions.jurisdiction(actor)
    counties = _county_rows(session, scope, now)
    at_risk, at_risk_total = _at_risk(session, actor, counties, now)
    late = inbox.task_page(session, actor, view="inbox", due="overdue", limit=OVERDUE_SHOWN, now=now)
    overdue = [OverdueTask(t, max(0, (now - t.due_at).days)) for t in late.items if t.due_at is not None]
    pending = extensions.pending_extensions(session, actor, limit=EXTENSIONS_SHOWN)
    return Dashboard(scope, counties, _totals(scope, counties), overdue, late.total, furthest_behind(counties),
                     BEHIND_RULE, now,
                     open_escalations(session, scope, now, near_days=near_days, soon_days=soon_days,
                                      by_level=by_level),
                     workdays.uncovered_years_ahead(session, now, 1), pending, at_risk, at_risk_total)

