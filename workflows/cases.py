"""Cases: filing a new case (which starts its lifecycle process), reading, listing within scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CATEGORIES, LEAD_TYPES, Case, ProcessInstance, Region, Task, User

from . import history, instances, permissions, processes
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


def _validate(session: Session, new: NewCase) -> Region:
    errors: dict[str, list[str]] = {}
    if not new.code or len(new.code) > 32:
        errors["code"] = ["项目编号必填，且不超过 32 个字符"]
    elif session.scalar(select(Case.id).where(Case.code == new.code)) is not None:
        errors["code"] = [f"项目编号 {new.code} 已存在"]
    if not new.project_name or len(new.project_name) > 200:
        errors["project_name"] = ["项目名称必填，且不超过 200 个字符"]
    region = session.scalar(select(Region).where(Region.code == new.region_code))
    if region is None:
        errors["region_code"] = [f"地区代码 {new.region_code} 不存在"]
    elif region.level != "county":
        errors["region_code"] = ["案件须落在县（市、区）一级"]
    if new.lead_type not in LEAD_TYPES:
        errors["lead_type"] = ["主导方式应为 government（政府主导）或 developer（房地产开发）"]
    if new.lead_type == "developer" and not new.developer_name:
        errors["developer_name"] = ["房地产开发项目须填写开发企业"]
    if not isinstance(new.households_overdue, int) or isinstance(new.households_overdue, bool) \
            or new.households_overdue <= 0:
        errors["households_overdue"] = ["逾期未安置户数应为正整数"]
    if new.category not in CATEGORIES:
        errors["category"] = ["解决类别应为 1–9"]
    if not new.responsible_leader:
        errors["responsible_leader"] = ["包保领导必填"]
    if not isinstance(new.overdue_since, date):
        errors["overdue_since"] = ["逾期起始日期应为日期"]
    if errors:
        raise Invalid(f"立案信息有误：{'、'.join(errors)}", errors=errors)
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
    case = Case(code=new.code, project_name=new.project_name, region=region, lead_type=new.lead_type,
                developer_name=new.developer_name, households_overdue=new.households_overdue,
                overdue_since=new.overdue_since, category=new.category,
                responsible_leader=new.responsible_leader, target_date=new.target_date, notes=new.notes,
                status="open", households_resettled=0, created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    bundle = processes.current_bundle()
    spec_row = processes.register(session, bundle)
    with clock.frozen_at(now):
        workflow = runtime.start(bundle, start_data(case))
    instance = ProcessInstance(case_id=case.id, spec_id=spec_row.id, spec_refs=processes.process_hashes(bundle),
                               state="", completed=False, updated_at=now)
    session.add(instance)
    session.flush()
    history.record(session, case, "case_created",
                   f"{history.actor_label(actor)}立案：{case.project_name}（{case.households_overdue} 户，"
                   f"第{case.category}类 {CATEGORIES[case.category]}）",
                   actor=actor, at=now,
                   data={"code": case.code, "region": region.code, "category": case.category,
                         "households_overdue": case.households_overdue, "lead_type": case.lead_type,
                         "process_version": spec_row.version})
    instances.advance(session, case, instance, workflow, bundle, actor=actor, now=now, open_rows=[])
    return case


def get_case(session: Session, actor: User, case_id: int) -> Case:
    """Read one case. Outside the reader's jurisdiction it does not exist (404, not 403)."""
    case = session.get(Case, case_id)
    if case is None or not permissions.can_view_case(actor, case):
        raise NotFound("案件不存在")
    return case


def list_cases(session: Session, actor: User, *, category: int | None = None,
               status: str | None = None) -> list[Case]:
    scope = permissions.jurisdiction(actor)
    stmt = (select(Case).join(Region, Case.region_id == Region.id)
            .where(Region.path.startswith(scope.path)).order_by(Case.id))
    if category is not None:
        stmt = stmt.where(Case.category == category)
    if status is not None:
        stmt = stmt.where(Case.status == status)
    return list(session.scalars(stmt))


def case_tasks(session: Session, actor: User, case_id: int) -> list[Task]:
    get_case(session, actor, case_id)
    return list(session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)))


def case_history(session: Session, actor: User, case_id: int) -> list[Any]:
    get_case(session, actor, case_id)
    return history.case_events(session, case_id)
