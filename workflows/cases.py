"""Cases: filing a new case (which starts its lifecycle process), reading, listing within scope."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from models import CATEGORIES, LEAD_TYPES, Case, ProcessInstance, Region, Task, User

from . import history, inputs, instances, permissions, processes
from .engine import clock, runtime
from .errors import Invalid, NotFound
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


def get_case(session: Session, actor: User, case_id: int) -> Case:
    """Read one case. Outside the reader's jurisdiction it does not exist (404, not 403)."""
    if not inputs.valid_id(case_id):  # no such row can exist, and the driver would raise on the query
        raise NotFound("案件不存在")
    case = session.get(Case, case_id)
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("案件不存在")
    return case


def get_case_by_code(session: Session, actor: User, code: str) -> Case:
    """Read one case by its project code; outside the reader's jurisdiction it does not exist."""
    code = inputs.clean_text(code, field="code", label="项目编号", max_length=Case.__table__.c.code.type.length)
    case = session.scalar(select(Case).where(Case.code == code))
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound(f"案件 {code} 不存在")
    return case


PAGE = 100


def list_cases(session: Session, actor: User, *, category: int | None = None, status: str | None = None,
               limit: int = PAGE, offset: int = 0) -> list[Case]:
    """Cases within the reader's jurisdiction, oldest first, one page at a time."""
    if category is not None and category not in CATEGORIES:
        raise Invalid("解决类别应为 1–9", errors={"category": ["解决类别应为 1–9"]})
    scope = permissions.jurisdiction(actor)
    stmt = (select(Case).join(Region, Case.region_id == Region.id)
            .where(Region.path.startswith(scope.path)).order_by(Case.id))
    if category is not None:
        stmt = stmt.where(Case.category == category)
    if status is not None:
        stmt = stmt.where(Case.status == status)
    limit, offset = inputs.page_bounds(limit, offset)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def case_tasks(session: Session, actor: User, case_id: int) -> list[Task]:
    get_case(session, actor, case_id)
    return list(session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)))


def case_history(session: Session, actor: User, case_id: int, *, kind: str | None = None, limit: int = PAGE,
                 offset: int = 0) -> list[Any]:
    """A case's history in order, one page at a time (along the (case_id, id) index)."""
    get_case(session, actor, case_id)
    limit, offset = inputs.page_bounds(limit, offset)
    return history.case_events(session, case_id, kind=kind, limit=limit, offset=offset)
