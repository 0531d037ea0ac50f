"""倒排工期 (backward schedule): from a case's deadline and the SLAs of the steps still ahead on its
current path (workflows/engine/schedule.py says which steps and how many working days each leaves),
each step's latest start; a step not started by then is late, and a case with a late step is at risk
(有延误风险) before its deadline passes.

The deadline, first that applies:
- the policy date of the case's category, as its BPMN timer states it (seed 001 二(二)): 31 December
  of the current year for categories 2 and 5 (`deadline_this_year(12, 31)` on the delivery; the
  year-end supervision loop takes each following 31 December the same way), and for category 1 the
  first 30 September at or after the court's step opens (`next_deadline(9, 30)`), which binds the
  steps up to and including the judgment only;
- otherwise the date a city or province supervisor set on the case (`set_deadline`), which binds the
  steps up to the end of the category process;
- otherwise none: the steps and their SLAs are listed without dates.
Nothing is stored: the schedule is derived when read (the hot paths of filing and completing pay
nothing); the dashboard derives it for all open cases of a jurisdiction with three statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models import Case, ProcessInstance, ProcessVersion, Region, Task, User

from . import history, inputs, permissions, processes, workdays
from .case_queries import get_case
from .engine import clock
from .engine import schedule as graph
from .engine.evaluator import CHINA
from .errors import Forbidden, NotFound, Stale
from .transactions import mutation

STATUS_LABELS = {
    "none": "未设定时限",
    "on_track": "按期推进",
    "at_risk": "有延误风险",
    "overdue": "已超过时限",
}
SOURCE_LABELS = {"policy": "政策时限", "supervisor": "督办人设定"}
STEP_STATES = {"open": "办理中", "ahead": "未开始"}
# Said on the pages, so the rule is never a black box.
RULE = ("从当前待办任务沿流程到时限所指环节（无政策时限的，到本类别流程结束）：遇选择取剩余时限最少的一支，"
        "并行取最长的一支，不计回退；各步骤最迟开始日期 = 时限日期倒推“本步及其后各步办理时限”个工作日。"
        "未开始的步骤已过最迟开始日期，或办理中的步骤开始晚于最迟开始日期、已过最迟完成日期，即有延误风险。")


def _china_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _end_of(day: date) -> datetime:
    return datetime.combine(day, datetime.max.time().replace(microsecond=0), CHINA)


@dataclass(frozen=True)
class Step:
    """One step still ahead, as the 倒排工期 panel shows it."""

    name: str
    lane_label: str  # the agency role that does it (泳道)
    sla: int | None
    rest: int  # working days from its start to the deadline's target, its own SLA included
    open: bool
    task_id: int | None
    started_at: datetime | None
    latest_start: workdays.LatestStart | None
    latest_finish: workdays.LatestStart | None
    late: bool
    late_reason: str | None

    @property
    def state_label(self) -> str:
        return STEP_STATES["open" if self.open else "ahead"]


@dataclass(frozen=True)
class Schedule:
    case: Case
    deadline: date | None
    source: str | None  # "policy", "supervisor" or None
    source_text: str  # "政策时限：2026年12月31日（第二类：已开工项目）"
    steps: tuple[Step, ...]
    status: str
    now: datetime

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def at_risk(self) -> bool:
        return self.status == "at_risk"

    @property
    def remaining(self) -> int:
        return max((s.rest for s in self.steps), default=0)

    @property
    def late_steps(self) -> list[Step]:
        return [s for s in self.steps if s.late]

    @property
    def provisional_years(self) -> tuple[int, ...]:
        years = {y for s in self.steps for ls in (s.latest_start, s.latest_finish) if ls for y in ls.uncovered_years}
        return tuple(sorted(years))


@dataclass(frozen=True)
class _Row:
    case: Case
    version_id: int
    content_hash: str


@dataclass(frozen=True)
class _OpenTask:
    id: int
    process_id: str
    bpmn_id: str
    created_at: datetime


def _policy_date(policy: graph.PolicyTimer, open_tasks: list[_OpenTask], now: datetime) -> date:
    """The date the category's timer gives, computed as engine/evaluator.py does: this year's for
    deadline_this_year; for next_deadline the first at or after the moment its step opened (now, when
    the step is still ahead)."""
    moment = now
    if policy.function == "next_deadline":
        at_target = [t.created_at for t in open_tasks
                     if t.process_id == policy.process_id and t.bpmn_id == policy.attached_to]
        moment = min(at_target) if at_target else now
    local = moment.astimezone(CHINA)
    day = date(local.year, policy.month, policy.day)
    if policy.function == "next_deadline" and _end_of(day) < local:
        day = date(local.year + 1, policy.month, policy.day)
    return day


def _source_text(source: str | None, deadline: date | None, case: Case, bundle: Any,
                 policy: graph.PolicyTimer | None) -> str:
    if deadline is None:
        return "未设定时限：本类别没有政策时限，督办人尚未设定"
    if source == "policy" and policy is not None:
        name = bundle.process_names.get(policy.process_id, f"第{case.category}类")
        return f"政策时限：{_china_date(deadline)}（{name}，{policy.attached_name}）"
    return f"督办人设定：{_china_date(deadline)}"


@dataclass(frozen=True)
class _Planned:
    row: _Row
    bundle: Any
    open_tasks: list[_OpenTask]
    plan: graph.Plan | None
    deadline: date | None
    source: str | None


def _plan(session: Session, row: _Row, open_tasks: list[_OpenTask], now: datetime) -> _Planned:
    bundle = processes.bundle_of(session, row.version_id, row.content_hash)  # cached per version
    graphs = graph.graphs(bundle)
    category = graph.category_process(row.case.category)
    positions = frozenset((t.process_id, t.bpmn_id) for t in open_tasks)
    plan = graphs.plan(category, positions, to_policy=True) if positions else None
    if plan is not None and plan.policy is not None:
        return _Planned(row, bundle, open_tasks, plan, _policy_date(plan.policy, open_tasks, now), "policy")
    plan = graphs.plan(category, positions, to_policy=False) if positions else None
    deadline = row.case.schedule_deadline
    return _Planned(row, bundle, open_tasks, plan, deadline, "supervisor" if deadline else None)


def _finish(planned: _Planned, back: workdays.Backward | None, now: datetime) -> Schedule:
    row, plan, deadline = planned.row, planned.plan, planned.deadline
    by_position = {}
    for t in planned.open_tasks:
        by_position.setdefault((t.process_id, t.bpmn_id), t)
    steps = []
    for s in plan.steps if plan is not None else ():
        task = by_position.get((s.process_id, s.bpmn_id)) if s.open else None
        latest = finish = None
        late, reason = False, None
        if deadline is not None and back is not None:
            latest = back.latest_start(deadline, s.rest)
            finish = back.latest_start(deadline, s.rest - (s.sla or 0))
            if task is None and now > latest.at:
                late, reason = True, "已过最迟开始日期仍未开始"
            elif task is not None and task.created_at > latest.at:
                late, reason = True, "开始晚于最迟开始日期"
            elif task is not None and now > finish.at:
                late, reason = True, "已过最迟完成日期仍在办理"
        steps.append(Step(s.name, s.lane_label, s.sla, s.rest, s.open, task.id if task else None,
                          task.created_at if task else None, latest, finish, late, reason))
    if deadline is None or not steps:
        status = "none"
    elif now > _end_of(deadline):
        status = "overdue"
    elif any(s.late for s in steps):
        status = "at_risk"
    else:
        status = "on_track"
    source_text = _source_text(planned.source, deadline, row.case, planned.bundle,
                               plan.policy if plan is not None else None)
    if not steps and deadline is not None:
        source_text += "；当前没有通往该时限的待办步骤"
    return Schedule(row.case, deadline, planned.source, source_text, tuple(steps), status, now)


def _schedules(session: Session, where: ColumnElement[bool], now: datetime) -> list[Schedule]:
    """The schedule of every open case matching `where` (on Case and Region): three statements (the
    cases with their process version, their open tasks, the working-day calendar) whatever their
    number. The caller has checked the reader may see these cases."""
    rows = [_Row(case, version_id, content_hash) for case, version_id, content_hash in session.execute(
        select(Case, ProcessInstance.version_id, ProcessVersion.content_hash)
        .join(ProcessInstance, ProcessInstance.case_id == Case.id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.version_id)
        .join(Region, Region.id == Case.region_id)
        .where(where, Case.status == "open").order_by(Case.id))]
    if not rows:
        return []
    tasks: dict[int, list[_OpenTask]] = {}
    for case_id, task_id, process_id, bpmn_id, created_at in session.execute(
            select(Task.case_id, Task.id, Task.process_id, Task.bpmn_id, Task.created_at)
            .join(Case, Case.id == Task.case_id).join(Region, Region.id == Case.region_id)
            .where(where, Case.status == "open", Task.status == "ready").order_by(Task.id)):
        tasks.setdefault(case_id, []).append(_OpenTask(task_id, process_id, bpmn_id, created_at))
    planned = [_plan(session, row, tasks.get(row.case.id, []), now) for row in rows]
    dated = [p for p in planned if p.deadline is not None and p.plan is not None]
    back = None
    if dated:
        # Five working days in seven and the holidays on top: the span the longest count back needs.
        longest = max(p.plan.remaining for p in dated)
        first = min(p.deadline for p in dated) - timedelta(days=longest * 3 // 2 + 30)
        back = workdays.Backward(session, first, max(p.deadline for p in dated))
    return [_finish(p, back, now) for p in planned]


def case_schedule(session: Session, actor: User, case_id: int, *, now: datetime | None = None) -> Schedule:
    """The case's 倒排工期: its deadline and where it comes from, each step still ahead with its
    agency role, SLA, latest start and whether it is late, and whether the case is at risk.

    Permission: as `case_queries.get_case` (outside jurisdiction: NotFound). Reads only. A case that
    is not running (awaiting closeout, closed) has no steps ahead: status "none".
    """
    case = get_case(session, actor, case_id)
    now = now or clock.now()
    found = _schedules(session, Case.id == case.id, now)
    if found:
        return found[0]
    return Schedule(case, None, None, "案件不在办理中，无需倒排工期", (), "none", now)


def jurisdiction_schedules(session: Session, actor: User, *, now: datetime | None = None) -> list[Schedule]:
    """The schedules of every open case within the reader's jurisdiction (for the dashboard).
    Permission: anyone signed in; limited to the jurisdiction in SQL. Reads only."""
    scope = permissions.jurisdiction(actor)
    return _schedules(session, Region.path.startswith(scope.path), now or clock.now())


# ---------------------------------------------------------------------------------------------
# The supervisor's deadline


def require_deadline_setter(actor: User) -> None:
    """A deadline for a case is set by a city or province supervisor (the 安居办 that supervise it)."""
    if not actor.active or actor.role != "supervisor" or permissions.jurisdiction(actor).level not in (
            "city", "province"):
        raise Forbidden("只有市级或省级督办人可以设定办理时限")


def may_set_deadline(actor: User) -> bool:
    try:
        require_deadline_setter(actor)
    except Forbidden:
        return False
    return True


def _deadline(value: Any) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return inputs.sane_date(value, field="deadline", label="办理时限")


# Only the case's row (its region is joined in for reading, and PostgreSQL refuses to lock an outer join).
_LOCK = select(Case).with_for_update(of=Case.__table__).execution_options(populate_existing=True)


@mutation
def set_deadline(session: Session, actor: User, case_id: int, deadline: Any, *,
                 expected_version: int | None = None, now: datetime | None = None) -> Case:
    """Set (or, with None or "", clear) the deadline a supervisor gives a case: it applies where the
    case's category has no policy deadline of its own (see the module's docstring).

    Permission: a city or province supervisor whose jurisdiction covers the case (outside it: NotFound;
    anyone else: Forbidden). A date that is not a date, or lies before today: Invalid on "deadline".
    `expected_version` (If-Match) must be the case's current version, else Stale.
    Side effects, one transaction: the case's schedule_deadline and version, a `deadline_set` event.
    Setting the date it already has writes nothing.
    """
    now = now or clock.now()
    if not inputs.valid_id(case_id):
        raise NotFound("案件不存在")
    case = session.execute(_LOCK.where(Case.id == case_id)).scalar_one_or_none()
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("案件不存在")
    require_deadline_setter(actor)
    if expected_version is not None and case.version != expected_version:
        raise Stale(f"案件已被他人修改（当前版本 {case.version}，您读取的是版本 {expected_version}），请刷新后重试",
                    current_version=case.version)
    day = _deadline(deadline)
    if day is not None and day < now.astimezone(CHINA).date():
        inputs.refuse("deadline", "办理时限", f"{day.isoformat()} 已经过去，应为今天或以后的日期")
    old = case.schedule_deadline
    if day == old:
        return case
    case.schedule_deadline = day
    case.updated_at = now
    said = f"设定办理时限为 {_china_date(day)}" if day else "取消督办人设定的办理时限"
    if old is not None and day is not None:
        said = f"将办理时限由 {_china_date(old)} 改为 {_china_date(day)}"
    history.record(session, case, "deadline_set", f"{history.actor_label(actor)}{said}（倒排工期）", actor=actor,
                   at=now, data={"from": old.isoformat() if old else None, "to": day.isoformat() if day else None})
    return case


def counts_by_region(schedules: Iterable[Schedule]) -> dict[int, dict[str, int]]:
    """{region id: {status: count}} over the schedules given."""
    out: dict[int, dict[str, int]] = {}
    for s in schedules:
        row = out.setdefault(s.case.region_id, {})
        row[s.status] = row.get(s.status, 0) + 1
    return out
