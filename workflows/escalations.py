"""The escalation ladder (催办 → 督办 → 驻点督办 → 约谈 → 问责): supervisors raise an escalation on a case
towards an agency or the case's responsible leader (包保领导); the target marks it read (已阅) and
answers; the raising level closes it. Every step is a history event in the same transaction.

Who may do what:
- raise: a city or province supervisor within jurisdiction (a city over its counties, the province over
  all); 驻点督办, 约谈 and 问责 by the province only;
- acknowledge and answer: the people of the target agency (officers, or supervisors when the target is a
  city's 安居办); for a leader target, the county's 安居办 and government office, who serve the leader;
- close: a supervisor of the raising level or above.
A case outside the caller's jurisdiction, and its escalations, do not exist (NotFound).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from models import ESCALATION_LEVELS, Agency, Case, Escalation, Region, Task, User

from . import history, inbox, inputs, notifications, permissions, workdays
from .case_queries import get_case
from .engine import clock
from .errors import Conflict, Forbidden, NotFound, Stale
from .transactions import mutation

REASON_MAX = 1000
RESPONSE_MAX = 2000
NOTE_MAX = 1000
TARGETS = ("agency", "leader")
# The rungs only the province climbs (seed 001 三(二): 驻点督办, 通报约谈, 追责问责 are the province's).
PROVINCE_ONLY = ("onsite", "summon", "accountability")
# Who answers for a case's responsible leader: the county's 安居办 and its government office.
LEADER_DESKS = ("supervision", "government")
_NOT_FOUND = "督办事项不存在"


# ---------------------------------------------------------------------------------------------
# Who


def _require_raiser(actor: User, level: Any) -> None:
    scope = permissions.jurisdiction(actor)
    if not actor.active or actor.role != "supervisor" or scope.level not in ("city", "province"):
        raise Forbidden("只有市级或省级督办人可以催办、督办")
    if not isinstance(level, str) or level not in ESCALATION_LEVELS:
        inputs.refuse("level", "督办级别", "应为 " + "、".join(f"{k}（{v}）" for k, v in ESCALATION_LEVELS.items()))
    if level in PROVINCE_ONLY and scope.level != "province":
        raise Forbidden(f"{ESCALATION_LEVELS[level]}只能由省级督办人发起（驻点督办、约谈、问责由省安居办决定）")


def is_target(actor: User, escalation: Escalation) -> bool:
    """Whether `actor` is among those an escalation is addressed to (who acknowledge and answer it)."""
    if not actor.active or actor.role not in ("officer", "supervisor"):
        return False
    if escalation.target_agency_id is not None:
        return escalation.target_agency_id == actor.agency_id
    return actor.agency.role in LEADER_DESKS and actor.agency.region_id == escalation.case.region_id


def _target_filter(actor: User) -> Any:
    """`is_target` as a SQL condition (the query joins Case)."""
    if not actor.active or actor.role not in ("officer", "supervisor"):
        return false()
    mine = Escalation.target_agency_id == actor.agency_id
    if actor.agency.role not in LEADER_DESKS:
        return mine
    return or_(mine, and_(Escalation.target_agency_id.is_(None), Case.region_id == actor.agency.region_id))


def can_close(session: Session, actor: User, escalation: Escalation) -> bool:
    """A supervisor of the raising level or above; an automatic escalation raised in no level's name,
    any city or province supervisor over the case."""
    scope = permissions.jurisdiction(actor)
    if not actor.active or actor.role != "supervisor" or scope.level not in ("city", "province"):
        return False
    if escalation.raised_by_agency_id is None:
        return True
    raiser = session.get(Agency, escalation.raised_by_agency_id)
    return raiser is not None and scope.contains(raiser.region)


# ---------------------------------------------------------------------------------------------
# Raising


def _clean(value: Any, field: str, label: str, max_length: int) -> str:
    cleaned = inputs.clean_text(value, field=field, label=label, max_length=max_length, multiline=True)
    if not cleaned:
        inputs.refuse(field, label, "不能为空")
    return cleaned


def _locked_case(session: Session, actor: User, case_id: int) -> Case:
    if not inputs.valid_id(case_id):
        raise NotFound("案件不存在")
    # Locked so two supervisors raising the same rung at once cannot both pass the duplicate check.
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update(of=Case.__table__)
                          .execution_options(populate_existing=True))
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("案件不存在")
    return case


def _task_of(session: Session, case: Case, task_id: Any) -> Task | None:
    if task_id is None:
        return None
    task = session.get(Task, task_id) if inputs.valid_id(task_id) else None
    if task is None or task.case_id != case.id:
        inputs.refuse("task_id", "督办任务", "不是该案件的任务")
    return task


def _target_agency(session: Session, actor: User, case: Case, agency_id: Any) -> Agency:
    """The agency an escalation goes to: one of the case's county, or of the city above it."""
    agency = session.get(Agency, agency_id) if inputs.valid_id(agency_id) else None
    places = {case.region_id}
    parent = session.get(Region, case.region.parent_id) if case.region.parent_id is not None else None
    if parent is not None and parent.level == "city":
        places.add(parent.id)
    if agency is None or agency.region_id not in places:
        inputs.refuse("agency_id", "督办对象", "应为案件所在县（市、区）或其所属市（州）的部门")
    if agency.id == actor.agency_id:
        inputs.refuse("agency_id", "督办对象", "不能督办本单位")
    return agency


def _require_no_open_twin(session: Session, case: Case, level: str, task: Task | None,
                          agency: Agency | None) -> None:
    stmt = select(Escalation.id).where(
        Escalation.case_id == case.id, Escalation.level == level, Escalation.outcome != "closed",
        Escalation.task_id == task.id if task is not None else Escalation.task_id.is_(None),
        Escalation.target_agency_id == agency.id if agency is not None else Escalation.target_agency_id.is_(None))
    existing = session.scalar(stmt.limit(1))
    if existing is not None:
        whom = agency.name if agency is not None else "包保领导"
        raise Conflict(f"对{whom}已有未办结的{ESCALATION_LEVELS[level]}（#{existing}），请先办结再重新发起")


@mutation
def escalate(session: Session, actor: User, case_id: int, *, level: str, reason: str, target: str = "agency",
             agency_id: int | None = None, task_id: int | None = None, due_in_workdays: int | None = None,
             now: datetime | None = None) -> Escalation:
    """Raise an escalation on a case. Permission: a city or province supervisor whose jurisdiction
    covers the case (others who may see it: Forbidden; outside it: NotFound); 驻点督办, 约谈 and 问责 by
    the province only. `target` "agency" goes to `agency_id` (default: the task's agency), which must be
    of the case's county or its city; "leader" goes to the case's 包保领导. Refused: Invalid naming the
    field (level, reason 1–1000 characters, target, agency_id, task_id, due_in_workdays); Conflict when
    the case is closed or the same rung is already open towards the same target for the same task.
    Side effects: the escalation row (its deadline `due_in_workdays` working days from now, if given)
    and an "escalated" event carrying whether the deadline is provisional (an uncovered year)."""
    now = now or clock.now()
    case = _locked_case(session, actor, case_id)
    _require_raiser(actor, level)
    if case.status == "closed":
        raise Conflict("案件已销号，不能再督办")
    cleaned = _clean(reason, "reason", "督办事由", REASON_MAX)
    if not isinstance(target, str) or target not in TARGETS:
        inputs.refuse("target", "督办对象类型", "应为 agency（部门）或 leader（包保领导）")
    task = _task_of(session, case, task_id)
    agency: Agency | None = None
    if target == "leader":
        if agency_id is not None:
            inputs.refuse("agency_id", "督办对象", "督办包保领导时不填部门")
    elif agency_id is None and task is None:
        inputs.refuse("agency_id", "督办对象", "请指定被督办的部门")
    else:
        agency = _target_agency(session, actor, case, agency_id if agency_id is not None else task.agency_id)
    deadline = None
    if due_in_workdays is not None:
        days = int(inputs.finite_number(due_in_workdays, field="due_in_workdays", label="答复期限（工作日）",
                                        integer=True, minimum=1, maximum=workdays.MAX_WORKDAYS))
        deadline = workdays.add_workdays(session, now, days)
    _require_no_open_twin(session, case, level, task, agency)
    escalation = Escalation(
        case=case, task_id=task.id if task is not None else None, level=level, raised_by=actor,
        raised_by_agency_id=actor.agency_id, automatic=False,
        target_agency=agency,
        target_leader=case.responsible_leader if agency is None else None, reason=cleaned,
        due_at=deadline.due_at if deadline is not None else None, created_at=now, outcome="open")
    session.add(escalation)
    session.flush()
    whom = agency.name if agency is not None else f"包保领导{case.responsible_leader}"
    summary = f"{history.actor_label(actor)}对{whom}{ESCALATION_LEVELS[level]}：{cleaned}"
    if deadline is not None:
        summary += f"（限 {deadline.due_day.isoformat()} 前答复{'，期限暂按周末推算' if deadline.provisional else ''}）"
    copied = case.responsible_leader if agency is not None and case.responsible_leader else None
    if copied:
        summary += f"；已抄送包保领导{copied}"
    history.record(session, case, "escalated", summary, actor=actor, task=task, at=now, data={
        "copied_to_leader": copied,
        "escalation_id": escalation.id, "level": level, "target": target,
        "agency_id": agency.id if agency is not None else None,
        "leader": case.responsible_leader if agency is None else None, "reason": cleaned, "automatic": False,
        "due_at": deadline.due_at.isoformat() if deadline is not None else None,
        "provisional": bool(deadline and deadline.provisional),
        "uncovered_years": list(deadline.uncovered_years) if deadline is not None else []})
    notifications.escalation_raised(session, escalation, now)
    return escalation


# ---------------------------------------------------------------------------------------------
# The target's and the raiser's steps


def _locked(session: Session, actor: User, escalation_id: int) -> Escalation:
    """The escalation locked for this transaction and read fresh; outside the actor's jurisdiction it
    does not exist."""
    if not inputs.valid_id(escalation_id):
        raise NotFound(_NOT_FOUND)
    escalation = session.scalar(select(Escalation).where(Escalation.id == escalation_id)
                                .with_for_update(of=Escalation.__table__)
                                .execution_options(populate_existing=True))
    if escalation is None or not permissions.can_view_case(actor, escalation.case):
        raise NotFound(_NOT_FOUND)
    return escalation


def _require_target(actor: User, escalation: Escalation) -> None:
    if not is_target(actor, escalation):
        raise Forbidden(f"该{escalation.level_label}的对象是{escalation.target_label}，只有其人员可以签收和答复")


def _check_version(escalation: Escalation, expected_version: int | None) -> None:
    if expected_version is not None and escalation.version != expected_version:
        raise Stale("督办事项已被他人处理或修改，请刷新后重试", current_version=escalation.version)


def _mark_read(actor: User, escalation: Escalation, now: datetime) -> bool:
    if escalation.acknowledged_at is not None:
        return False
    escalation.acknowledged_at, escalation.acknowledged_by = now, actor
    return True


@mutation
def acknowledge(session: Session, actor: User, escalation_id: int, *, now: datetime | None = None) -> Escalation:
    """已阅: the target marks an escalation read. Permission: `is_target` (others who may see the case:
    Forbidden). Idempotent: a second acknowledgement changes nothing. Side effects: acknowledged_at/by
    and an "escalation_acknowledged" event, the first time only."""
    now = now or clock.now()
    escalation = _locked(session, actor, escalation_id)
    _require_target(actor, escalation)
    if _mark_read(actor, escalation, now):
        history.record(session, escalation.case, "escalation_acknowledged",
                       f"{history.actor_label(actor)}已阅{escalation.level_label}（#{escalation.id}）",
                       actor=actor, task=escalation.task_id, at=now,
                       data={"escalation_id": escalation.id, "level": escalation.level})
        notifications.escalation_acknowledged(session, escalation, actor, now)
    return escalation


@mutation
def respond(session: Session, actor: User, escalation_id: int, response: str, *,
            expected_version: int | None = None, now: datetime | None = None) -> Escalation:
    """The target answers an open escalation (what was done, what is still blocked). Permission:
    `is_target`. `expected_version` (If-Match) must be current, else Stale. Refused: Conflict when
    already answered or closed; Invalid on `response` (1–2000 characters). Side effects: the answer,
    outcome "answered", the read receipt if not yet given, an "escalation_answered" event."""
    now = now or clock.now()
    escalation = _locked(session, actor, escalation_id)
    _require_target(actor, escalation)
    _check_version(escalation, expected_version)
    if escalation.outcome != "open":
        raise Conflict(f"该{escalation.level_label}{escalation.outcome_label}，不能再答复")
    cleaned = _clean(response, "response", "答复", RESPONSE_MAX)
    _mark_read(actor, escalation, now)
    escalation.response, escalation.responded_at, escalation.responded_by = cleaned, now, actor
    escalation.outcome = "answered"
    history.record(session, escalation.case, "escalation_answered",
                   f"{history.actor_label(actor)}答复{escalation.level_label}（#{escalation.id}）：{cleaned}",
                   actor=actor, task=escalation.task_id, at=now,
                   data={"escalation_id": escalation.id, "level": escalation.level, "response": cleaned})
    notifications.escalation_answered(session, escalation, actor, now)
    return escalation


@mutation
def close(session: Session, actor: User, escalation_id: int, outcome_note: str, *,
          expected_version: int | None = None, now: datetime | None = None) -> Escalation:
    """The raising level closes an escalation with its conclusion (answered or not: a deadline missed
    is closed by climbing the ladder). Permission: `can_close` (others who may see the case:
    Forbidden). Refused: Conflict when already closed; Invalid on `outcome_note` (1–1000); Stale on an
    old `expected_version`. Side effects: outcome "closed", the note, an "escalation_closed" event."""
    now = now or clock.now()
    escalation = _locked(session, actor, escalation_id)
    if not can_close(session, actor, escalation):
        raise Forbidden(f"只有发起该{escalation.level_label}的督办单位或其上级可以办结")
    _check_version(escalation, expected_version)
    if escalation.outcome == "closed":
        raise Conflict(f"该{escalation.level_label}已办结")
    cleaned = _clean(outcome_note, "outcome_note", "办结意见", NOTE_MAX)
    answered = escalation.outcome == "answered"
    escalation.outcome, escalation.outcome_note = "closed", cleaned
    escalation.closed_at, escalation.closed_by = now, actor
    history.record(session, escalation.case, "escalation_closed",
                   f"{history.actor_label(actor)}办结{escalation.level_label}（#{escalation.id}）：{cleaned}",
                   actor=actor, task=escalation.task_id, at=now,
                   data={"escalation_id": escalation.id, "level": escalation.level, "note": cleaned,
                         "answered": answered})
    return escalation


# ---------------------------------------------------------------------------------------------
# Reading


def case_escalations(session: Session, actor: User, case_id: int) -> list[Escalation]:
    """A case's escalations, oldest first. Permission: may see the case (else NotFound). No side effects."""
    case = get_case(session, actor, case_id)
    return list(session.scalars(select(Escalation).where(Escalation.case_id == case.id).order_by(Escalation.id)))


def my_escalations(session: Session, actor: User, *, open_only: bool = True, limit: int = 50,
                   offset: int = 0) -> inputs.Page[Escalation]:
    """The escalations addressed to the actor's agency (and, for a county's 安居办 and government office,
    to the county's responsible leaders), newest first; `open_only`: those still awaiting an answer.
    Scope is SQL: the target condition and the actor's jurisdiction. Auditors and administrators are
    never targets: an empty page. No side effects."""
    limit, offset = inputs.page_bounds(limit, offset)
    where = [_target_filter(actor), Region.path.startswith(permissions.jurisdiction(actor).path)]
    if open_only:
        where.append(Escalation.outcome == "open")
    scoped = (select(Escalation).join(Case, Escalation.case_id == Case.id)
              .join(Region, Case.region_id == Region.id).where(*where))
    items = list(session.scalars(scoped.order_by(Escalation.id.desc()).limit(limit).offset(offset)).unique())
    total = session.scalar(select(func.count()).select_from(scoped.with_only_columns(Escalation.id).subquery())) or 0
    return inputs.Page(items, total, limit, offset)


# ---------------------------------------------------------------------------------------------
# What the pages show


def raisable_levels(actor: User) -> list[str]:
    """The rungs `actor` may raise, mildest first: 催办 and 督办 for a city supervisor, all five for the
    province's; none for anyone else (the rule of `escalate`, so a page offers only what it accepts)."""
    if not actor.active or actor.role != "supervisor":
        return []
    level = permissions.jurisdiction(actor).level
    if level == "province":
        return list(ESCALATION_LEVELS)
    return [key for key in ESCALATION_LEVELS if key not in PROVINCE_ONLY] if level == "city" else []


@dataclass(frozen=True)
class Tracked:
    """An escalation with how it stands against its answer deadline (the 督办单 colours: blue near,
    yellow due soon, red overdue; none once answered or closed)."""

    escalation: Escalation
    deadline: inbox.Deadline


ByLevel = dict[str, tuple[int, int]]


def colour_days(by_level: Any, *, setting: str = "ESCALATION_DUE_DAYS_BY_LEVEL") -> ByLevel:
    """The per-rung 督办单 thresholds a setting gives ({"summon": [5, 2]}: blue within 5 days, yellow
    within 2), checked: rungs of the ladder, whole days 0–365, the blue span not shorter than the
    yellow. Invalid naming the setting otherwise."""
    if by_level in (None, {}):
        return {}
    if not isinstance(by_level, dict):
        inputs.refuse(setting, setting, "应为 {级别: [蓝色天数, 黄色天数]}，如 {\"summon\": [5, 2]}")
    out: ByLevel = {}
    for level, pair in by_level.items():
        if level not in ESCALATION_LEVELS:
            inputs.refuse(setting, setting, f"未知的督办级别 {inputs.printable(level)}，应为 "
                          + "、".join(ESCALATION_LEVELS))
        ok = isinstance(pair, list | tuple) and len(pair) == 2 and all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 365 for d in pair)
        if not ok or pair[0] < pair[1]:
            inputs.refuse(setting, setting, f"{ESCALATION_LEVELS[level]}应为 [蓝色天数, 黄色天数]，"
                          "0–365 的整数且蓝色不少于黄色")
        out[level] = (pair[0], pair[1])
    return out


def tracked(items: list[Escalation], now: datetime, near_days: int, soon_days: int,
            by_level: ByLevel | None = None) -> list[Tracked]:
    """Each escalation with its deadline state as of `now` (for escalations the caller already read
    within the reader's jurisdiction), coloured by its rung's thresholds (`by_level`, else `near_days`
    and `soon_days`). No statements."""
    out = []
    for item in items:
        if item.outcome == "open":
            near, soon = (by_level or {}).get(item.level, (near_days, soon_days))
            state = inbox.open_deadline(item.due_at, now, near_days=near, soon_days=soon)
        else:
            state = inbox.Deadline(None, item.outcome_label)
        out.append(Tracked(item, state))
    return out


@dataclass(frozen=True)
class CasePanel:
    """The escalations part of a case page: every escalation of the case, oldest first, with its
    deadline state; the rungs the reader may raise here with the agencies offered as targets (none:
    no form); the ids of the open escalations the reader may close."""

    items: list[Tracked]
    levels: list[str]
    agencies: list[Agency]
    leader: str
    closable: frozenset[int]


def case_panel(session: Session, actor: User, case: Case, *, near_days: int = 3, soon_days: int = 1,
               by_level: ByLevel | None = None, now: datetime | None = None) -> CasePanel:
    """What the case page shows of the ladder for `case` (which the caller has already read within
    the actor's jurisdiction, e.g. through case_queries.case_detail). Targets offered: the agencies of
    the case's county but the reader's own, and the 包保领导. Reads only."""
    now = now or clock.now()
    found = list(session.scalars(select(Escalation).where(Escalation.case_id == case.id).order_by(Escalation.id)))
    levels = raisable_levels(actor) if case.status != "closed" and permissions.can_view_case(actor, case) else []
    agencies = list(session.scalars(select(Agency).where(Agency.region_id == case.region_id,
                                                         Agency.id != actor.agency_id).order_by(Agency.id))) \
        if levels else []
    closable = frozenset(e.id for e in found if e.outcome != "closed" and can_close(session, actor, e))
    return CasePanel(tracked(found, now, near_days, soon_days, by_level), levels, agencies, case.responsible_leader, closable)


def addressed_to_me(session: Session, actor: User, *, near_days: int = 3, soon_days: int = 1,
                    by_level: ByLevel | None = None, limit: int = 50,
                    now: datetime | None = None) -> inputs.Page[Tracked]:
    """The open escalations addressed to the actor (as `my_escalations`: the newest `limit` of them),
    each with its deadline state, those not yet read (已阅) first, then by deadline. One statement, and
    a count only when there are more than `limit` (the inbox shows them on every visit). No side
    effects."""
    now = now or clock.now()
    limit, _ = inputs.page_bounds(limit, 0)
    scoped = (select(Escalation).join(Case, Escalation.case_id == Case.id)
              .join(Region, Case.region_id == Region.id)
              .where(_target_filter(actor), Escalation.outcome == "open",
                     Region.path.startswith(permissions.jurisdiction(actor).path)))
    items = list(session.scalars(scoped.order_by(Escalation.id.desc()).limit(limit)).unique())
    total = len(items)
    if total == limit:
        total = session.scalar(select(func.count()).select_from(scoped.with_only_columns(Escalation.id)
                                                                .subquery())) or 0
    far = datetime.max.replace(tzinfo=now.tzinfo)
    ordered = sorted(items, key=lambda e: (e.acknowledged_at is not None, e.due_at or far, e.id))
    return inputs.Page(tracked(ordered, now, near_days, soon_days, by_level), total, limit, 0)


def count_addressed(session: Session, actor: User) -> int:
    """How many open escalations await the actor's answer (the count beside 待办 in the menu): one
    statement, zero for those who are never targets."""
    if not actor.active or actor.role not in ("officer", "supervisor"):
        return 0
    scoped = (select(func.count(Escalation.id)).join(Case, Escalation.case_id == Case.id)
              .join(Region, Case.region_id == Region.id)
              .where(_target_filter(actor), Escalation.outcome == "open",
                     Region.path.startswith(permissions.jurisdiction(actor).path)))
    return session.scalar(scoped) or 0
