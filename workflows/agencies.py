"""Agencies: reading them within one's jurisdiction, and (administrators) creating and renaming them.

An agency is always of one place and one role (the place's 住建局, its 财政局, …); a place has at most
one agency per role, which is what a BPMN lane resolves to. Every change is written to the access log
in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from models import AGENCY_ROLES, Agency, Region, User

from . import inputs, permissions, regions
from .auth import log
from .errors import Conflict, Forbidden, NotFound
from .inputs import Page
from .transactions import mutation

NAME_MAX = 128  # Agency.name's width
PAGE = 100


def in_jurisdiction(actor: User) -> ColumnElement[bool]:
    """The SQL condition 'this Region row is within the actor's jurisdiction' (its subtree)."""
    return Region.path.startswith(permissions.jurisdiction(actor).path)


def _scoped(actor: User) -> Select[Any]:
    return (select(Agency).join(Region, Agency.region_id == Region.id).where(in_jurisdiction(actor)))


def find_in_scope(session: Session, actor: User, agency_id: Any, *, for_update: bool = False) -> Agency | None:
    """The agency with this id if it lies within the actor's jurisdiction, else None (an id no row can
    have included: it never reaches the database)."""
    if not inputs.valid_id(agency_id):
        return None
    stmt = _scoped(actor).where(Agency.id == agency_id)
    if for_update:
        stmt = stmt.with_for_update(of=Agency)
    return session.scalar(stmt)


def _role(role: Any) -> str:
    if role not in AGENCY_ROLES:
        inputs.refuse("role", "部门类别", f"应为 {'、'.join(AGENCY_ROLES)} 之一")
    return role


def _name(name: Any) -> str:
    clean = inputs.clean_text(name, field="name", label="部门名称", max_length=NAME_MAX)
    if not clean:
        inputs.refuse("name", "部门名称", "必填")
    return clean


def list_agencies(session: Session, actor: User, *, region: str | None = None, role: str | None = None,
                  limit: int = PAGE, offset: int = 0) -> Page[Agency]:
    """Agencies within the actor's jurisdiction, by place code then role, one page at a time; filtered
    to one place (`region`, a code) and/or one role.

    Permission: any signed-in user, for the places of their jurisdiction (an officer: their county).
    """
    stmt = _scoped(actor)
    if role is not None:
        stmt = stmt.where(Agency.role == _role(role))
    if region is not None:
        place = regions.find(session, region)
        if place is None:
            inputs.refuse("region", "地区", f"地区代码 {inputs.printable(region, 20)} 不存在")
        stmt = stmt.where(Agency.region_id == place.id)
    limit, offset = inputs.page_bounds(limit, offset)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    items = session.scalars(stmt.order_by(Region.code, Agency.role, Agency.id).limit(limit).offset(offset))
    return Page(list(items), total or 0, limit, offset)


def get_agency(session: Session, actor: User, agency_id: Any) -> Agency:
    """One agency. Permission: within the actor's jurisdiction; any other is NotFound."""
    agency = find_in_scope(session, actor, agency_id)
    if agency is None:
        raise NotFound("部门不存在")
    return agency


@mutation
def create_agency(session: Session, actor: User, *, region: Any, role: Any, name: Any) -> Agency:
    """A new agency of a place within the administrator's jurisdiction, for a role that place has no
    agency for yet (Conflict otherwise). Writes `agency_created` to the access log.

    Permission: administrators; a place outside their jurisdiction is Forbidden (places are public
    reference data, so saying so leaks nothing).
    """
    permissions.require_admin(actor, "新建部门")
    place = regions.find(session, region) if isinstance(region, str) else None
    if place is None:
        inputs.refuse("region", "地区", f"地区代码 {inputs.printable(region, 20)} 不存在")
    role = _role(role)
    name = _name(name)
    if not permissions.jurisdiction(actor).contains(place):
        raise Forbidden(f"{place.name}不在您的管辖范围内，不能在该地区新建部门")
    existing = session.scalar(select(Agency).where(Agency.region_id == place.id, Agency.role == role))
    if existing is not None:
        message = f"{place.name}已有{AGENCY_ROLES[role]}部门（{existing.name}），同一地区每类部门只能有一个"
        raise Conflict(message, errors={"role": [message]})
    agency = Agency(region=place, role=role, name=name)
    session.add(agency)
    session.flush()
    log(session, "agency_created", f"{actor.display_name} 新建部门「{name}」（{place.name}，{AGENCY_ROLES[role]}）",
        actor=actor, data={"agency_id": agency.id, "region": place.code, "role": role, "name": name})
    return agency


@mutation
def rename_agency(session: Session, actor: User, agency_id: Any, *, name: Any) -> Agency:
    """Rename an agency within the administrator's jurisdiction (an agency outside it is NotFound).
    Writes `agency_updated` to the access log when the name changes.

    Permission: administrators.
    """
    permissions.require_admin(actor, "修改部门")
    agency = find_in_scope(session, actor, agency_id, for_update=True)
    if agency is None:
        raise NotFound("部门不存在")
    name = _name(name)
    if name != agency.name:
        before, agency.name = agency.name, name
        log(session, "agency_updated", f"{actor.display_name} 将部门「{before}」更名为「{name}」", actor=actor,
            data={"agency_id": agency.id, "name": [before, name]})
    return agency
