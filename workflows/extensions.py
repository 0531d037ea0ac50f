"""延期申请 (deadline extensions): before a task's deadline, the officer working it asks for a later
due date with a reason; the level above decides, and the due date moves only when it approves.

Who may do what:
- request: the people of the task's agency (officers, or supervisors when the task is their own
  agency's), and once the task is claimed only its holder; while the task is open, before its due
  date, one pending request per task;
- withdraw: the requester, while the request is pending;
- decide (approve or refuse, with a note): a supervisor of the level above the task's agency — the
  city's for a county's task, the province's for a city's (or for a county the province governs
  directly); the level is fixed when the request is made;
- 已阅: the people of the requesting agency mark the decision read.
A task outside the caller's jurisdiction, and its requests, do not exist (NotFound). Every step is a
history event of the case in the same transaction.

Only a due date set by the task's working-day SLA can move: a date set by a BPMN timer is a policy
deadline (the court's end of September, the year's end) that fires in the engine whatever the task
row says. The task row keeps the due date that applies (workflows/sla.py), so an approval changes
`tasks.due_at` and nothing else; the inbox colours, overdue lists and dashboards read it from there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Agency, Case, CaseEvent, ExtensionRequest, Region, Task, User

from . import history, inputs, permissions, workdays
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Conflict, Forbidden, NotFound, Stale
from .transactions import mutation

REASON_MAX = 1000
NOTE_MAX = 1000
# One request moves a deadline by at most this many working days (about six weeks): a longer delay
# is a change of plan, for the supervisors' escalation or the case's category, not an extension.
MAX_EXTRA_WORKDAYS = 30
DECISIONS = {"approve": "批准", "refuse": "不批准"}
_NOT_FOUND = "延期申请不存在"
_TASK_NOT_FOUND = "任务不存在"


def _day(moment: datetime) -> str:
    return moment.astimezone(CHINA).date().isoformat()


def _end_of(day: date) -> datetime:
    """The due moment of a day, as working-day deadlines have it: 23:59:59 China time."""
    return datetime.combine(day, time(23, 59, 59), CHINA).astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Who


def _holds(actor: User, task: Task) -> bool:
    """The task's agency's own people; once claimed, its holder only."""
    return (actor.active and actor.role in ("officer", "supervisor") and task.agency_id == actor.agency_id
            and task.assignee_id in (None, actor.id))


def can_request(actor: User, task: Task) -> bool:
    """Whether `actor` may ask to extend `task` (the task's state aside)."""
    return _holds(actor, task)


def can_decide(actor: User, request: ExtensionRequest) -> bool:
    """A supervisor of the level that decides the request."""
    return (actor.active and actor.role == "supervisor"
            and permissions.jurisdiction(actor).id == request.decider_region_id)


def may_acknowledge(actor: User, request: ExtensionRequest) -> bool:
    """The requesting agency's people read the decision (已阅)."""
    return actor.active and actor.role in ("officer", "supervisor") and actor.agency_id == request.requested_by_agency_id


# ---------------------------------------------------------------------------------------------
# Asking


def _locked_task(session: Session, actor: User, task_id: Any) -> tuple[Task, Case]:
    if not inputs.valid_id(task_id):
        raise NotFound(_TASK_NOT_FOUND)
    # Locked so two requests for one task at once cannot both pass the one-pending check.
    row = session.execute(select(Task, Case).join(Case, Task.case_id == Case.id).where(Task.id == task_id)
                          .with_for_update(of=Task.__table__)
                          .execution_options(populate_existing=True)).one_or_none()
    if row is None or not permissions.can_view_case(actor, row[1]):
        raise NotFound(_TASK_NOT_FOUND)
    return row[0], row[1]


def _due_source(session: Session, task: Task) -> str | None:
    """What set the task's due date when it opened: "sla", "timer" or None (its task_opened event)."""
    data = session.scalar(select(CaseEvent.data).where(
        CaseEvent.case_id == task.case_id, CaseEvent.task_id == task.id, CaseEvent.kind == "task_opened")
        .order_by(CaseEvent.id.desc()).limit(1)) or {}
    return data.get("due_source")


def _require_extendable(session: Session, task: Task, now: datetime) -> None:
    if task.status != "ready":
        raise Conflict(f"任务「{task.name}」{task.status_label}，不能再申请延期")
    if task.due_at is None:
        raise Conflict(f"任务「{task.name}」没有办理时限，无需申请延期")
    if task.due_at <= now:
        raise Conflict(f"任务「{task.name}」的办理时限（{_day(task.due_at)}）已过，不能再申请延期；"
                       "请尽快办理，或向督办人说明情况")
    if _due_source(session, task) != "sla":
        # A BPMN timer's date (or one from before SLAs were recorded, whose source is unknown).
        raise Conflict(f"任务「{task.name}」的时限由流程规定的政策期限确定，到期后流程自动转入后续步骤，不能申请延期")
    pending = session.scalar(select(ExtensionRequest.id).where(
        ExtensionRequest.task_id == task.id, ExtensionRequest.status == "pending").limit(1))
    if pending is not None:
        raise Conflict(f"任务「{task.name}」已有待审批的延期申请（#{pending}），请等待审批结果或撤回后再申请")


def _decider(session: Session, task: Task) -> Region:
    agency = session.get(Agency, task.agency_id)
    assert agency is not None
    above = agency.region.parent
    if above is None:
        raise Conflict(f"{agency.name}是省级部门，没有上级审批延期")
    return above


def _new_due(session: Session, task: Task, value: Any) -> tuple[datetime, int, tuple[int, ...]]:
    """The asked-for date as a due moment (the end of that working day), the working days it adds,
    and the uncovered years counted; Invalid naming `new_due_date` otherwise."""
    field, label = "new_due_date", "申请延至"
    day = inputs.sane_date(value, field=field, label=label)
    current = task.due_at.astimezone(CHINA).date()
    if day <= current:
        inputs.refuse(field, label, f"应晚于当前办理时限 {current.isoformat()}")
    if not workdays.is_workday(session, day):
        inputs.refuse(field, label, f"{day.isoformat()} 是休息日，请选择工作日")
    extra, uncovered = workdays.workdays_between(session, current, day)
    if extra > MAX_EXTRA_WORKDAYS:
        latest = workdays.add_workdays(session, task.due_at, MAX_EXTRA_WORKDAYS).due_day
        inputs.refuse(field, label, f"一次最多延期 {MAX_EXTRA_WORKDAYS} 个工作日（至 {latest.isoformat()}），"
                                    f"所选日期延期 {extra} 个工作日")
    return _end_of(day), extra, uncovered


def _clean(value: Any, field: str, label: str, max_length: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    cleaned = inputs.clean_text(value, field=field, label=label, max_length=max_length, multiline=True)
    if required and not cleaned:
        inputs.refuse(field, label, "不能为空")
    return cleaned


@mutation
def request_extension(session: Session, actor: User, task_id: int, *, reason: str, new_due_date: date | str,
                      now: datetime | None = None) -> ExtensionRequest:
    """Ask for `task_id`'s due date to move to the end of the working day `new_due_date` (a China
    date), for `reason`. Permission: `can_request` (others who may see the task: Forbidden; outside
    the jurisdiction: NotFound). Refused with Conflict: the task is not open, has no due date, its
    due date has passed or comes from a policy timer, or a request is already pending; with Invalid
    naming the field: reason (1–1000 characters), new_due_date (a date after the current due date,
    a working day, at most MAX_EXTRA_WORKDAYS working days later). Side effects: the request row,
    decided by the level above the task's agency, and an "extension_requested" event."""
    now = now or clock.now()
    task, case = _locked_task(session, actor, task_id)
    if not can_request(actor, task):
        if task.agency_id != actor.agency_id or not actor.active or actor.role not in ("officer", "supervisor"):
            raise Forbidden(f"只有任务「{task.name}」的承办部门可以申请延期")
        raise Forbidden(f"任务「{task.name}」已由他人签收，只有签收人可以申请延期")
    _require_extendable(session, task, now)
    decider = _decider(session, task)
    cleaned = _clean(reason, "reason", "延期理由", REASON_MAX)
    due_at, extra, uncovered = _new_due(session, task, new_due_date)
    request = ExtensionRequest(
        case_id=case.id, task=task, requested_by=actor, requested_by_agency_id=actor.agency_id, reason=cleaned,
        current_due_at=task.due_at, requested_due_at=due_at, extra_workdays=extra,
        decider_region_id=decider.id, status="pending", created_at=now)
    session.add(request)
    session.flush()
    provisional = f"（{'、'.join(map(str, uncovered))}年节假日安排未公布，工作日数暂按周末推算）" if uncovered else ""
    history.record(session, case, "extension_requested",
                   f"{history.actor_label(actor)}申请将任务「{task.name}」的办理时限由 {_day(task.due_at)} "
                   f"延至 {_day(due_at)}（延长 {extra} 个工作日{provisional}），报{decider.name}审批：{cleaned}",
                   actor=actor, task=task, at=now,
                   data={"extension_id": request.id, "reason": cleaned, "current_due_at": task.due_at.isoformat(),
                         "requested_due_at": due_at.isoformat(), "extra_workdays": extra,
                         "uncovered_years": list(uncovered), "decider_region_id": decider.id})
    return request


# ---------------------------------------------------------------------------------------------
# Withdrawing, deciding, reading the decision


def _locked(session: Session, actor: User, request_id: Any) -> ExtensionRequest:
    """The request locked for this transaction and read fresh; outside the actor's jurisdiction it
    does not exist."""
    if not inputs.valid_id(request_id):
        raise NotFound(_NOT_FOUND)
    request = session.scalar(select(ExtensionRequest).where(ExtensionRequest.id == request_id)
                             .with_for_update(of=ExtensionRequest.__table__)
                             .execution_options(populate_existing=True))
    if request is None or not permissions.can_view_case(actor, request.case):
        raise NotFound(_NOT_FOUND)
    return request


def _check_version(request: ExtensionRequest, expected_version: int | None) -> None:
    if expected_version is not None and request.version != expected_version:
        raise Stale("延期申请已被他人处理或修改，请刷新后重试", current_version=request.version)


def _require_pending(request: ExtensionRequest, doing: str) -> None:
    if request.status != "pending":
        raise Conflict(f"该延期申请{request.status_label}，不能再{doing}")


@mutation
def withdraw(session: Session, actor: User, request_id: int, *, expected_version: int | None = None,
             now: datetime | None = None) -> ExtensionRequest:
    """The requester withdraws a pending request. Permission: the requester only (others who may see
    the case: Forbidden). Refused: Conflict when no longer pending; Stale on an old
    `expected_version`. Side effects: status "withdrawn" and an "extension_withdrawn" event."""
    now = now or clock.now()
    request = _locked(session, actor, request_id)
    if request.requested_by_id != actor.id or not actor.active:
        raise Forbidden("只有申请人本人可以撤回延期申请")
    _check_version(request, expected_version)
    _require_pending(request, "撤回")
    request.status, request.withdrawn_at = "withdrawn", now
    history.record(session, request.case_id, "extension_withdrawn",
                   f"{history.actor_label(actor)}撤回任务「{request.task.name}」的延期申请（#{request.id}）",
                   actor=actor, task=request.task_id, at=now, data={"extension_id": request.id})
    return request


@mutation
def decide(session: Session, actor: User, request_id: int, *, decision: str, note: str | None = None,
           expected_version: int | None = None, now: datetime | None = None) -> ExtensionRequest:
    """Approve or refuse a pending request (`decision` "approve" or "refuse"), with a note (required to
    refuse, so the officer learns why; optional to approve; at most 1000 characters). Permission:
    `can_decide` (others who may see the case: Forbidden). Refused: Conflict when no longer pending,
    when the task has closed meanwhile, or, to approve, when the asked-for date has itself passed;
    Stale on an old `expected_version`. Side effects: the decision on the request; an approval moves
    the task's due date to the asked-for one (the task's version moves with it); an
    "extension_approved" or "extension_refused" event."""
    now = now or clock.now()
    request = _locked(session, actor, request_id)
    if not can_decide(actor, request):
        raise Forbidden(f"延期申请由{request.decider_region.name}督办人审批")
    _check_version(request, expected_version)
    if not isinstance(decision, str) or decision not in DECISIONS:
        inputs.refuse("decision", "审批结果", "应为 approve（批准）或 refuse（不批准）")
    _require_pending(request, "审批")
    cleaned = _clean(note, "note", "审批意见", NOTE_MAX, required=decision == "refuse")
    task = session.scalar(select(Task).where(Task.id == request.task_id).with_for_update()
                          .execution_options(populate_existing=True))
    assert task is not None
    if task.status != "ready":
        raise Conflict(f"任务「{task.name}」{task.status_label}，该延期申请无需再审批，请申请人撤回")
    approve = decision == "approve"
    if approve and request.requested_due_at <= now:
        raise Conflict(f"申请延至的 {_day(request.requested_due_at)} 已过，不能批准；请申请人重新申请")
    request.status = "approved" if approve else "refused"
    request.decided_by, request.decided_at, request.decision_note = actor, now, cleaned or None
    before = task.due_at
    if approve:
        task.due_at = request.requested_due_at
    said = (f"办理时限由 {_day(before)} 延至 {_day(request.requested_due_at)}（{request.extra_workdays} 个工作日）"
            if approve and before is not None else f"办理时限仍为 {_day(before)}" if before is not None else "")
    history.record(session, request.case_id, f"extension_{request.status}",
                   f"{history.actor_label(actor)}{DECISIONS[decision]}任务「{task.name}」的延期申请（#{request.id}），"
                   f"{said}" + (f"：{cleaned}" if cleaned else ""),
                   actor=actor, task=task, at=now,
                   data={"extension_id": request.id, "decision": decision, "note": cleaned or None,
                         "due_at_before": before.isoformat() if before else None,
                         "due_at": task.due_at.isoformat() if task.due_at else None})
    return request


@mutation
def acknowledge(session: Session, actor: User, request_id: int, *, now: datetime | None = None) -> ExtensionRequest:
    """已阅: the requesting agency marks the decision read. Permission: `may_acknowledge` (others who
    may see the case: Forbidden). Refused: Conflict while nothing has been decided. Idempotent: a
    second acknowledgement changes nothing. Side effects: decision_read_at/by and an
    "extension_acknowledged" event, the first time only."""
    now = now or clock.now()
    request = _locked(session, actor, request_id)
    if not may_acknowledge(actor, request):
        raise Forbidden("只有申请延期的部门可以签收审批结果")
    if request.status not in ("approved", "refused"):
        raise Conflict(f"该延期申请{request.status_label}，没有需要签收的审批结果")
    if request.decision_read_at is None:
        request.decision_read_at, request.decision_read_by = now, actor
        history.record(session, request.case_id, "extension_acknowledged",
                       f"{history.actor_label(actor)}已阅延期申请（#{request.id}）的审批结果：{request.status_label}",
                       actor=actor, task=request.task_id, at=now,
                       data={"extension_id": request.id, "status": request.status})
    return request


# ---------------------------------------------------------------------------------------------
# Reading


def get_extension(session: Session, actor: User, request_id: Any) -> ExtensionRequest:
    """One request. Permission: may see its case (else NotFound). No side effects."""
    if not inputs.valid_id(request_id):
        raise NotFound(_NOT_FOUND)
    request = session.get(ExtensionRequest, request_id)
    if request is None or not permissions.can_view_case(actor, request.case):
        raise NotFound(_NOT_FOUND)
    return request


def task_extensions(session: Session, actor: User, task_id: Any) -> list[ExtensionRequest]:
    """A task's requests, oldest first. Permission: may see the task's case (else NotFound). No side
    effects."""
    if not inputs.valid_id(task_id):
        raise NotFound(_TASK_NOT_FOUND)
    row = session.execute(select(Task.id, Case).join(Case, Task.case_id == Case.id)
                          .where(Task.id == task_id)).one_or_none()
    if row is None or not permissions.can_view_case(actor, row[1]):
        raise NotFound(_TASK_NOT_FOUND)
    return list(session.scalars(select(ExtensionRequest).where(ExtensionRequest.task_id == task_id)
                                .order_by(ExtensionRequest.id)))


def pending_extensions(session: Session, actor: User, *, decidable_only: bool = False, limit: int = 50,
                       offset: int = 0) -> inputs.Page[ExtensionRequest]:
    """The pending requests within the actor's jurisdiction whose task is still open, oldest first
    (first asked, first decided); `decidable_only`: those the actor decides. Scope is SQL. A request
    whose task closed before anyone decided stays pending on the task but leaves this list. No side
    effects."""
    limit, offset = inputs.page_bounds(limit, offset)
    where = [ExtensionRequest.status == "pending", Task.status == "ready",
             Region.path.startswith(permissions.jurisdiction(actor).path)]
    if decidable_only:
        if not actor.active or actor.role != "supervisor":
            return inputs.Page([], 0, limit, offset)
        where.append(ExtensionRequest.decider_region_id == permissions.jurisdiction(actor).id)
    scoped = (select(ExtensionRequest).join(Task, ExtensionRequest.task_id == Task.id)
              .join(Case, ExtensionRequest.case_id == Case.id).join(Region, Case.region_id == Region.id)
              .where(*where))
    items = list(session.scalars(scoped.order_by(ExtensionRequest.id).limit(limit).offset(offset)).unique())
    total = session.scalar(select(func.count()).select_from(
        scoped.with_only_columns(ExtensionRequest.id).subquery())) or 0
    return inputs.Page(items, total, limit, offset)


def latest_for_task(requests: list[ExtensionRequest]) -> ExtensionRequest | None:
    """The request a task page shows first: the pending one, else the newest."""
    pending = [r for r in requests if r.status == "pending"]
    return pending[0] if pending else (requests[-1] if requests else None)


def earliest_new_date(task: Task) -> date | None:
    """The first date a request may name (the day after the current due date), for the form's hint."""
    return task.due_at.astimezone(CHINA).date() + timedelta(days=1) if task.due_at else None
