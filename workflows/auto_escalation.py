"""Automatic escalation (自动督办): a task past its deadline by N working days gets the policy's rung
of the ladder, raised by the system in the name of the 安居办 of the level the policy names.

The policy (config AUTO_ESCALATION) is a list of rules (working days overdue, rung, level of the 安居办):
by default 3 → 催办 by the county's, 10 → 督办 by the city's, 20 → 约谈 by the province's. A task gets
the highest rung it has reached, once: a task found 12 working days overdue by a worker that was down
for a fortnight is 督办'd, not 催办'd and 督办'd at the same moment. Each escalation targets the task's
agency, names the task, is copied to the case's 包保领导 and is written to the history as the system's
(actor None), labelled automatic.

Exactly once: a unique index on (task_id, level) of the automatic rows is the database's guarantee;
before it, each task is raised in its own transaction with the task row locked (SKIP LOCKED on
PostgreSQL: another worker holding it is left alone; SQLite serializes writers) and checked again under
the lock. One task failing is logged, written once to its case's history, and skipped; the others go
on, and the next pass tries it again.

Cost: each rule's tasks are one band of deadlines read from the (status, due_at, id) index in bounded
batches, with the automatic-escalation index answering "already raised?" per row, so a pass reads the
overdue tasks, never all the open ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, true, tuple_
from sqlalchemy.orm import Session

from config import DefaultConfig
from models import ESCALATION_LEVELS, REGION_LEVELS, Agency, Case, CaseEvent, Escalation, Region, Task

from . import history, inputs, notifications, workdays
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Busy, Conflict
from .transactions import mutation

log = logging.getLogger(__name__)

BATCH = 500
# County first: a rule names the level whose 安居办 raises it; a place with no such level above it (a
# county the province governs directly has no city) goes to the next level up.
LEVEL_ORDER = ("county", "city", "province")
DEFAULT_POLICY: tuple[tuple[int, str, str], ...] = DefaultConfig.AUTO_ESCALATION
_LABEL = "自动督办规则"
_SETTING = "自动督办规则 AUTO_ESCALATION "  # refusals name the setting the operator edits


@dataclass(frozen=True)
class Rule:
    """One rung of the policy: `workdays` overdue → `level`, raised in the name of the `by` 安居办."""

    workdays: int
    level: str
    by: str

    @property
    def label(self) -> str:
        return f"逾期满 {self.workdays} 个工作日由{REGION_LEVELS[self.by].split('（')[0]}级安居办{ESCALATION_LEVELS[self.level]}"

    def as_dict(self) -> dict[str, Any]:
        return {"workdays": self.workdays, "level": self.level, "by": self.by}


def parse_policy(value: Any) -> tuple[Rule, ...]:
    """The policy from configuration ([[3, "urge", "county"], …], as a tuple or from JSON), checked
    whole: Invalid naming the rule that is wrong. Rules ascend in days and climb the ladder."""
    if not isinstance(value, list | tuple):
        inputs.refuse("AUTO_ESCALATION", _SETTING.strip(), "应为 [[工作日数, 级别, 发起层级], …] 的列表")
    rules: list[Rule] = []
    for i, item in enumerate(value):
        where = f"AUTO_ESCALATION[{i}]"
        what = f"{_SETTING}第 {i + 1} 条"
        if not isinstance(item, list | tuple) or len(item) != 3:
            inputs.refuse(where, what, "应为 [工作日数, 级别, 发起层级]")
        days, level, by = item
        days = int(inputs.finite_number(days, field=where, label=f"{what}工作日数", integer=True, minimum=1,
                                        maximum=workdays.MAX_WORKDAYS))
        if level not in ESCALATION_LEVELS:
            inputs.refuse(where, what, "级别应为 " + "、".join(f"{k}（{v}）" for k, v in ESCALATION_LEVELS.items()))
        if by not in LEVEL_ORDER:
            inputs.refuse(where, what, "发起层级应为 county（县）、city（市）或 province（省）")
        if rules and days <= rules[-1].workdays:
            inputs.refuse(where, what, "工作日数应逐条递增")
        if rules and list(ESCALATION_LEVELS).index(level) <= list(ESCALATION_LEVELS).index(rules[-1].level):
            inputs.refuse(where, what, "级别应逐条升级（催办 → 督办 → 驻点督办 → 约谈 → 问责）")
        rules.append(Rule(days, level, by))
    return tuple(rules)


@dataclass
class EscalationRun:
    now: datetime
    raised: list[dict] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)  # task ids held by another worker: next pass
    raced: list[int] = field(default_factory=list)  # raised by another worker in the same moment
    failed: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Who raises it


class Raisers:
    """The 安居办 of each level above a place, looked up once per place and pass."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._chains: dict[int, list[tuple[str, int, str]]] = {}

    def _chain(self, region_id: int, path: str) -> list[tuple[str, int, str]]:
        """(level, agency id, agency name) of the 安居办 from the place (its `path` of region ids) up to
        the province: one statement per place and pass."""
        if region_id not in self._chains:
            ids = [int(part) for part in path.strip("/").split("/") if part]
            rows = self._session.execute(
                select(Region.level, Agency.id, Agency.name).join(Agency, Agency.region_id == Region.id)
                .where(Region.id.in_(ids), Agency.role == "supervision")).all()
            self._chains[region_id] = sorted(((lvl, aid, name) for lvl, aid, name in rows),
                                             key=lambda row: LEVEL_ORDER.index(row[0]))
        return self._chains[region_id]

    def of(self, region_id: int, path: str, level: str, target_agency_id: int) -> tuple[int, str] | None:
        """The 安居办 at `level` over the place, or the next one up; never the target itself (a
        安居办's own overdue task is urged by the level above it). None: no 安居办 is seeded there."""
        wanted = LEVEL_ORDER.index(level)
        for lvl, agency_id, name in self._chain(region_id, path):
            if LEVEL_ORDER.index(lvl) >= wanted and agency_id != target_agency_id:
                return agency_id, name
        return None


# ---------------------------------------------------------------------------------------------
# Finding the due work


def _not_yet(level: str) -> Any:
    """No automatic `level` escalation on the task yet, probed per row from the partial unique index.

    A correlated scalar subquery with LIMIT, not NOT EXISTS: PostgreSQL turns NOT EXISTS into an anti
    join whose plan follows the table's statistics, and right after a pass has inserted thousands of
    rows (before autovacuum's ANALYZE) it estimated a handful and re-read them all for each task, a
    cost growing with the square of the overdue tasks. The subquery stays one index probe per task.
    Its predicate is written as the index's, so SQLite uses the partial index too."""
    return (select(literal(1)).where(Escalation.task_id == Task.id, Escalation.level == level,
                                     Escalation.automatic == true())
            .limit(1).correlate(Task).scalar_subquery().is_(None))


def _due_select(level: str, upper: datetime, lower: datetime | None, *,
                after: tuple[datetime, int] | None = None) -> Any:
    where = [Task.status == "ready", Task.due_at < upper, _not_yet(level)]
    if lower is not None:
        where.append(Task.due_at >= lower)
    if after is not None:
        # The plain bound lets the index start the scan at the keyset; the row comparison is exact.
        where += [Task.due_at >= after[0], tuple_(Task.due_at, Task.id) > tuple_(*after)]
    return select(Task.id, Task.due_at).where(*where).order_by(Task.due_at, Task.id)


def due_tasks(session: Session, level: str, upper: datetime, lower: datetime | None, *,
              after: tuple[datetime, int] | None = None, limit: int | None = None) -> list[tuple[int, datetime]]:
    """(id, due_at) of open tasks due in [lower, upper) that have no automatic `level` escalation, in
    deadline order, one bounded batch after the keyset `after`."""
    stmt = _due_select(level, upper, lower, after=after).limit(limit or BATCH)
    return [tuple(row) for row in session.execute(stmt)]


# ---------------------------------------------------------------------------------------------
# Raising one


def _reason(task_name: str, agency_name: str, overdue: int, rule: Rule, due_at: datetime) -> str:
    due = due_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return (f"{agency_name}办理的「{task_name}」办理时限为 {due}，已逾期 {overdue} 个工作日"
            f"（{_LABEL}：{rule.label}）")


@mutation
def raise_for_task(session: Session, task_id: int, rule: Rule, upper: datetime, now: datetime, *,
                   overdue: int, raisers: Raisers) -> dict:
    """Raise `rule`'s rung on one overdue task as the system, in its own transaction.

    Returns {} when there is nothing to do any more: the task was completed, its deadline moved, another
    worker raised it already or holds the task right now."""
    row = session.execute(
        select(Task.id, Task.name, Task.agency_id, Task.due_at, Case.id, Case.code, Case.region_id, Region.path,
               Case.responsible_leader, Agency.name)
        .join(Case, Case.id == Task.case_id).join(Agency, Agency.id == Task.agency_id)
        .join(Region, Region.id == Case.region_id)
        .where(Task.id == task_id, Task.status == "ready", Task.due_at < upper, _not_yet(rule.level))
        .with_for_update(of=Task.__table__, skip_locked=True)).one_or_none()
    if row is None:
        return {}
    _, task_name, agency_id, due_at, case_id, case_code, region_id, path, leader, agency_name = row
    raiser = raisers.of(region_id, path, rule.by, agency_id)
    reason = _reason(task_name, agency_name, overdue, rule, due_at)
    escalation = Escalation(
        case_id=case_id, task_id=task_id, level=rule.level, raised_by_id=None,
        raised_by_agency_id=raiser[0] if raiser else None, automatic=True, target_agency_id=agency_id,
        target_leader=None, reason=reason, created_at=now, outcome="open")
    session.add(escalation)
    session.flush()
    label = ESCALATION_LEVELS[rule.level]
    raised_by = f"（以{raiser[1]}名义）" if raiser else ""
    summary = f"系统自动{label}{raised_by}：{reason}；已抄送包保领导{leader}"
    history.record(session, case_id, "escalated", summary, actor=None, task=task_id, at=now, data={
        "escalation_id": escalation.id, "level": rule.level, "target": "agency", "agency_id": agency_id,
        "automatic": True, "overdue_workdays": overdue, "due_at": due_at.isoformat(), "rule": rule.as_dict(),
        "raised_by_agency_id": raiser[0] if raiser else None, "copied_to_leader": leader})
    notifications.escalation_raised(session, escalation, now)
    return {"case_id": case_id, "case_code": case_code, "task_id": task_id, "task": task_name,
            "escalation_id": escalation.id, "level": rule.level, "overdue_workdays": overdue}


@mutation
def _record_failure(session: Session, task_id: int, rule: Rule, message: str, now: datetime) -> None:
    """Put a failure in the case's history, the first time only: the pass retries the task every time
    it runs, and a broken task must not fill the history with one event a minute."""
    case_id = session.scalar(select(Task.case_id).where(Task.id == task_id))
    if case_id is None:
        return
    earlier = session.scalars(select(CaseEvent.data).where(
        CaseEvent.case_id == case_id, CaseEvent.task_id == task_id, CaseEvent.kind == "process_error"))
    if any((data or {}).get("auto_escalation") == rule.level for data in earlier):
        return
    history.record(session, case_id, "process_error",
                   f"系统自动{ESCALATION_LEVELS[rule.level]}失败，每次后台运行都会重试：{message[:300]}",
                   actor=None, task=task_id, at=now, data={"auto_escalation": rule.level, "detail": message[:2000]})


# ---------------------------------------------------------------------------------------------
# The pass


def bands(calendar: workdays.WorkdaysBack, rules: Iterable[Rule]) -> list[tuple[Rule, datetime, datetime | None]]:
    """Each rule with its band of deadlines [lower, upper): overdue at least its days, and not yet the
    next rule's (the top rule's band has no lower end)."""
    rules = list(rules)
    cutoffs = [calendar.cutoff(r.workdays) for r in rules]
    return [(rule, cutoffs[i], cutoffs[i + 1] if i + 1 < len(rules) else None) for i, rule in enumerate(rules)]


def rules_of(policy: Any) -> tuple[Rule, ...]:
    """Parsed rules, whether given parsed or as configuration."""
    if isinstance(policy, tuple) and all(isinstance(r, Rule) for r in policy):
        return policy
    return parse_policy(policy)


def escalate_overdue(session: Session, now: datetime | None = None, policy: Any = DEFAULT_POLICY) -> EscalationRun:
    """Raise the policy's automatic escalations due at `now` (default: the clock). One task failing is
    logged and skipped; one held by someone else right now is left for the next pass."""
    now = now or clock.now()
    rules = rules_of(policy)
    run = EscalationRun(now=now)
    if not rules:
        return run
    session.rollback()
    calendar = workdays.WorkdaysBack(session, now)
    raisers = Raisers(session)
    for rule, upper, lower in bands(calendar, rules):
        after: tuple[datetime, int] | None = None
        while True:
            session.rollback()
            batch = due_tasks(session, rule.level, upper, lower, after=after)
            if not batch:
                break
            overdue = {task_id: calendar.overdue(due_at) for task_id, due_at in batch}
            session.rollback()
            for task_id, due_at in batch:
                after = (due_at, task_id)
                try:
                    result = raise_for_task(session, task_id, rule, upper, now, overdue=overdue[task_id],
                                            raisers=raisers)
                except Busy:
                    run.busy.append(task_id)
                    continue
                except Conflict:  # the unique index: another worker inserted it between check and insert
                    run.raced.append(task_id)
                    continue
                except Exception as exc:  # noqa: BLE001 - one bad task must not stop the others
                    log.exception("automatic escalation of task %s failed", task_id)
                    message = f"{type(exc).__name__}: {exc}"
                    run.failed.append({"task_id": task_id, "level": rule.level, "error": message[:500]})
                    try:
                        _record_failure(session, task_id, rule, message, now)
                    except Exception:  # noqa: BLE001 - the database itself failing: the log has it
                        log.exception("recording the failure of task %s failed", task_id)
                    continue
                if result:
                    run.raised.append(result)
    return run
