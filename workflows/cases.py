"""Cases: filing a new case (which starts its lifecycle process), editing its particulars, changing its
category for a client that read it first, and its history. Lists and the case page: case_queries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import bindparam, literal, select
from sqlalchemy.orm import Session

from models import CATEGORIES, EVENT_KINDS, LEAD_TYPES, Case, ProcessInstance, Region, Task, User
from models.history import CHANNELS

from . import case_queries, history, inputs, instances, permissions, processes, reclassification
from .case_queries import get_case  # the one-case read; callers of cases.get_case keep working
from .engine import clock, runtime
from .engine.evaluator import CHINA
from .errors import Invalid, NotFound, Stale
from .transactions import mutation


@dataclass
class NewCase:
    code: str
    project_name: str
    region_code: str
    lead_type: str
    households_overdue: int
    overdue_since: date
    category: int
    responsible_leader: str
    developer_name: str | None = None
    target_date: date | None = None
    notes: str | None = None


def _lookup(session: Session, new: NewCase) -> tuple[Region | None, bool]:
    """The case's place and whether its code is taken, in one statement (filing is a hot path)."""
    code_ok = isinstance(new.code, str) and 0 < len(new.code) <= 32
    region_ok = isinstance(new.region_code, str) and 0 < len(new.region_code) <= 12
    taken = (select(Case.id).where(Case.code == new.code).exists() if code_ok else literal(False)).label("taken")
    if region_ok:
        row = session.execute(select(Region, taken).where(Region.code == new.region_code)).one_or_none()
        if row is not None:
            return row[0], bool(row[1])
    return None, bool(code_ok and session.scalar(select(taken)))


def _validate(session: Session, new: NewCase) -> Region:
    errors: dict[str, list[str]] = {}
    # Text is checked before any of it reaches a query: PostgreSQL raises on a NUL or a lone surrogate
    # where SQLite stores them, and only PostgreSQL enforces the column lengths, so use theirs.
    column = Case.__table__.c
    for name, label, required, max_length in (
            ("code", "项目编号", True, column.code.type.length),
            ("project_name", "项目名称", True, column.project_name.type.length),
            ("region_code", "地区代码", True, Region.__table__.c.code.type.length),
            ("responsible_leader", "包保领导", True, column.responsible_leader.type.length),
            ("developer_name", "开发企业", False, column.developer_name.type.length),
            ("notes", "备注", False, 5000)):
        value = getattr(new, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors[name] = [f"{label}：必填"]
            continue
        try:
            inputs.clean_text(value, field=name, label=label, max_length=max_length, strip=False,
                              multiline=name == "notes")
        except Invalid as exc:
            errors.update(exc.errors)
    unsafe = {"code", "region_code"} & errors.keys()
    region, taken = _lookup(session, replace(new, **dict.fromkeys(unsafe)) if unsafe else new)
    if "code" not in errors and taken:
        errors["code"] = [f"项目编号 {new.code} 已存在"]
    if "region_code" not in errors and region is None:
        errors["region_code"] = [f"地区代码 {new.region_code} 不存在"]
    elif region is not None and region.level != "county":
        errors["region_code"] = ["案件须落在县（市、区）一级"]
    if not isinstance(new.lead_type, str) or new.lead_type not in LEAD_TYPES:
        errors["lead_type"] = ["主导方式应为 government（政府主导）或 developer（房地产开发）"]
    elif new.lead_type == "developer" and not new.developer_name and "developer_name" not in errors:
        errors["developer_name"] = ["房地产开发项目须填写开发企业"]
    try:
        inputs.finite_number(new.households_overdue, field="households_overdue", label="逾期未安置户数",
                             integer=True, minimum=1, maximum=inputs.INT32_MAX)
        if not isinstance(new.households_overdue, int):  # the column takes the value as given
            inputs.refuse("households_overdue", "逾期未安置户数", "应为整数")
    except Invalid as exc:
        errors.update(exc.errors)
    if not isinstance(new.category, int) or isinstance(new.category, bool) or new.category not in CATEGORIES:
        errors["category"] = ["解决类别应为 1–9"]
    for name, label, required in (("overdue_since", "逾期起始日期", True), ("target_date", "目标完成日期", False)):
        value = getattr(new, name)
        if value is None and not required:
            continue
        try:
            if not isinstance(value, date):  # the Date column takes a date object, not text
                inputs.refuse(name, label, "应为日期")
            inputs.sane_date(value, field=name, label=label)
        except Invalid as exc:
            errors.update(exc.errors)
    if errors:
        # One line naming the first bad field by its label; `errors` carries every field.
        more = f"（另有 {len(errors) - 1} 项有误）" if len(errors) > 1 else ""
        raise Invalid(f"立案信息有误：{next(iter(errors.values()))[0]}{more}", errors=errors)
    assert region is not None
    return region


def start_data(case: Case) -> dict[str, Any]:
    """What the lifecycle process knows about the case when it starts."""
    return {"case_id": case.id, "case_code": case.code, "category": str(case.category),
            "lead_type": case.lead_type, "households_overdue": case.households_overdue,
            "households_resettled": case.households_resettled,
            "responsible_leader": case.responsible_leader}


@mutation
def create_case(session: Session, actor: User, new: NewCase, *, now: datetime | None = None) -> Case:
    """File a case and start its lifecycle process.

    Permission: housing/安居办 officers of the place, or a supervisor above it.
    Side effects: case, process instance, first task(s), history — one transaction.
    """
    now = now or clock.now()
    region = _validate(session, new)
    permissions.require_case_creator(actor, region)
    version = processes.latest_version(session)
    bundle = processes.bundle_of(session, version.id, version.content_hash)
    case = Case(code=new.code, project_name=new.project_name, region=region, lead_type=new.lead_type,
                developer_name=new.developer_name, households_overdue=new.households_overdue,
                overdue_since=new.overdue_since, category=new.category,
                responsible_leader=new.responsible_leader, target_date=new.target_date, notes=new.notes,
                status="open", households_resettled=0, created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    with clock.frozen_at(now):
        # No case to record a failure against yet: a ProcessError here simply refuses the filing.
        workflow = runtime.start(bundle, start_data(case))
    instance = ProcessInstance(case_id=case.id, version_id=version.id, **instances.state_values(workflow, now))
    session.add(instance)
    session.flush()
    history.record(session, case, "case_created",
                   f"{history.actor_label(actor)}立案：{case.project_name}（{case.households_overdue} 户，"
                   f"第{case.category}类 {CATEGORIES[case.category]}）",
                   actor=actor, at=now,
                   data={"code": case.code, "region": region.code, "category": case.category,
                         "households_overdue": case.households_overdue, "lead_type": case.lead_type,
                         "process_version": version.number})
    instances.project(session, case, instance, workflow, bundle, actor=actor, now=now, before=set())
    return case


def get_case_by_code(session: Session, actor: User, code: str) -> Case:
    """Read one case by its project code; outside the reader's jurisdiction it does not exist."""
    code = inputs.clean_text(code, field="code", label="项目编号", max_length=Case.__table__.c.code.type.length)
    case = session.scalar(select(Case).where(Case.code == code))
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound(f"案件 {code} 不存在")
    return case



# --- editing a case's particulars ----------------------------------------------------------------------

# What PATCH may change, with its label and whether it is required. Not the category (that is
# `reclassify`, with a reason) and not the household counts (they move through tasks).
EDITABLE: dict[str, tuple[str, bool]] = {
    "project_name": ("项目名称", True),
    "responsible_leader": ("包保领导", True),
    "developer_name": ("开发企业", False),
    "target_date": ("目标完成日期", False),
    "notes": ("备注", False),
}
NOTES_MAX = 5000

_LOCK_CASE = (select(Case).where(Case.id == bindparam("case_id"))
              .with_for_update(of=Case.__table__).execution_options(populate_existing=True))


def _locked_case(session: Session, actor: User, case_id: int) -> Case:
    """The case row locked for this transaction (SELECT … FOR UPDATE on PostgreSQL; SQLite's write lock
    is already held), read fresh; outside the actor's jurisdiction it does not exist."""
    if not inputs.valid_id(case_id):
        raise NotFound("案件不存在")
    case = session.execute(_LOCK_CASE, {"case_id": case_id}).scalar_one_or_none()
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("案件不存在")
    return case


def _require_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise Stale(f"案件已被他人修改（当前版本 {case.version}，您读取的是版本 {expected_version}），请刷新后重试",
                    current_version=case.version)


def _clean_changes(case: Case, changes: dict[str, Any]) -> dict[str, Any]:
    """Each change checked as filing checks it, every bad field named at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    column = Case.__table__.c
    for name, value in changes.items():
        if name not in EDITABLE:
            # The key itself is untrusted: make it safe to echo back as a field name.
            errors[inputs.printable(name)] = ["不是可修改的字段（改变类别请用改类；户数随任务办理变化）"]
            continue
        label, required = EDITABLE[name]
        try:
            if name == "target_date":
                values[name] = None if value is None else inputs.sane_date(value, field=name, label=label)
                continue
            if value is None or (isinstance(value, str) and not value.strip()):
                if required:
                    inputs.refuse(name, label, "必填")
                values[name] = None
                continue
            limit = NOTES_MAX if name == "notes" else column[name].type.length
            values[name] = inputs.clean_text(value, field=name, label=label, max_length=limit,
                                             multiline=name == "notes")
        except Invalid as exc:
            errors.update(exc.errors)
    if case.lead_type == "developer" and "developer_name" in values and values["developer_name"] is None \
            and "developer_name" not in errors:
        errors["developer_name"] = ["开发企业：房地产开发项目须填写开发企业"]
    if errors:
        more = f"（另有 {len(errors) - 1} 项有误）" if len(errors) > 1 else ""
        raise Invalid(f"案件信息有误：{next(iter(errors.values()))[0]}{more}", errors=errors)
    return values


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@mutation
def update_case(session: Session, actor: User, case_id: int, changes: dict[str, Any], *,
                expected_version: int | None = None, now: datetime | None = None) -> Case:
    """Change a case's particulars: project_name, responsible_leader, developer_name, target_date, notes.

    Permission: the reader may see the case, and is an officer of its county's housing department or
    安居办, or a supervisor whose jurisdiction covers it (auditors, administrators: Forbidden).
    `expected_version` (the If-Match the client read) must be the case's current version, else Stale.
    Side effects, one transaction: the fields that actually change, updated_at, the row's version,
    and a `case_updated` event with {field: {from, to}}. Nothing changes: nothing is written.
    """
    now = now or clock.now()
    case = _locked_case(session, actor, case_id)
    permissions.require_case_editor(actor, case)
    _require_version(case, expected_version)
    if not isinstance(changes, dict):
        raise Invalid("修改内容应为 JSON 对象", errors={"_": ["应为 JSON 对象"]})
    values = _clean_changes(case, changes)
    diff = {name: (getattr(case, name), value) for name, value in values.items() if getattr(case, name) != value}
    if not diff:
        return case
    for name, (_, value) in diff.items():
        setattr(case, name, value)
    case.updated_at = now
    labels = "、".join(EDITABLE[name][0] for name in diff)
    history.record(session, case, "case_updated", f"{history.actor_label(actor)}修改案件信息：{labels}",
                   actor=actor, at=now,
                   data={name: {"from": _plain(old), "to": _plain(new)} for name, (old, new) in diff.items()})
    return case


@mutation
def reclassify_case(session: Session, actor: User, case_id: int, category: Any, reason: Any, *,
                    expected_version: int | None = None,
                    now: datetime | None = None) -> reclassification.Reclassification:
    """`reclassification.reclassify` for a client that read the case first: with `expected_version`
    the case row is locked and must still be at that version (else Stale) before anything moves.
    Permission and side effects: those of `reclassify` (a city or province supervisor)."""
    if expected_version is not None:
        case = _locked_case(session, actor, case_id)
        permissions.require_reclassifier(actor, case)
        _require_version(case, expected_version)
    return reclassification.reclassify(session, actor, case_id, category, reason, now=now)


# --- lists and history --------------------------------------------------------------------------------

PAGE = case_queries.PAGE


def list_cases(session: Session, actor: User, *, category: int | None = None, status: str | None = None,
               limit: int = PAGE, offset: int = 0) -> list[Case]:
    """Cases within the reader's jurisdiction, oldest first, one page at a time (see
    `case_queries.search_cases` for every filter and the total)."""
    return case_queries.search_cases(session, actor, category=category, status=status, limit=limit,
                                     offset=offset).items


def case_tasks(session: Session, actor: User, case_id: int) -> list[Task]:
    get_case(session, actor, case_id)
    return list(session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)))


def case_history(session: Session, actor: User, case_id: int, *, kind: str | None = None, limit: int = PAGE,
                 offset: int = 0) -> list[Any]:
    """A case's history in order, one page at a time (along the (case_id, id) index)."""
    get_case(session, actor, case_id)
    limit, offset = inputs.page_bounds(limit, offset)
    return history.case_events(session, case_id, kind=kind, limit=limit, offset=offset)


def _moment(value: date | datetime | str | None, *, field: str, label: str, end: bool) -> datetime | None:
    """A history bound as an aware moment: a date is its whole day in China time (from 00:00, or up
    to the day's last instant for `end`); a datetime without a zone is China time."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > inputs.DATE_TEXT_MAX:
            inputs.refuse(field, label, "应为日期或日期时间（ISO 8601）")
        try:
            value = date.fromisoformat(text) if len(text) <= 10 else datetime.fromisoformat(text)
        except ValueError:
            inputs.refuse(field, label, "应为日期或日期时间（ISO 8601）")
    if not isinstance(value, date):
        inputs.refuse(field, label, "应为日期或日期时间（ISO 8601）")
    if not inputs.MIN_YEAR <= value.year <= inputs.MAX_YEAR:
        inputs.refuse(field, label, f"年份应在 {inputs.MIN_YEAR}–{inputs.MAX_YEAR} 之间")
    if not isinstance(value, datetime):
        return datetime.combine(value, time.max if end else time.min, CHINA)
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA)


def case_history_page(session: Session, actor: User, case_id: int, *, kind: str | None = None,
                      actor_id: int | None = None, since: date | datetime | str | None = None,
                      until: date | datetime | str | None = None, channel: str | None = None,
                      limit: int = PAGE, offset: int = 0,
                      newest_first: bool = False) -> inputs.Page[history.EventEntry]:
    """A case's events in order (`newest_first`: latest first), filtered (kind, who acted, from
    `since` to `until` inclusive, the channel), one page at a time with the total. Permission: as
    `get_case` (outside jurisdiction: NotFound). Reads only."""
    get_case(session, actor, case_id)
    if kind is not None and kind not in EVENT_KINDS:
        inputs.refuse("kind", "事件类型", "不是已知的事件类型")
    if channel is not None and channel not in CHANNELS:
        inputs.refuse("channel", "来源渠道", "应为 " + "、".join(CHANNELS))
    if actor_id is not None and not inputs.valid_id(actor_id):
        inputs.refuse("actor_id", "操作人", "应为用户编号（正整数）")
    start = _moment(since, field="since", label="起始时间", end=False)
    stop = _moment(until, field="until", label="截止时间", end=True)
    if start is not None and stop is not None and start > stop:
        inputs.refuse("since", "起始时间", "不能晚于截止时间")
    limit, offset = inputs.page_bounds(limit, offset)
    items, total = history.case_events_page(session, case_id, kind=kind, actor_id=actor_id, since=start,
                                            until=stop, channel=channel, limit=limit, offset=offset,
                                            newest_first=newest_first)
    return inputs.Page(items, total, limit, offset)
