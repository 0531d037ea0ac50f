"""Demo data: Jilin's places and agencies, a user for every role, ~40 cases at different stages.

Cases are advanced through the real service layer, each task completed by an officer of the agency it
was routed to, so the demo history looks exactly like real use.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import USER_ROLES, Agency, Case, Region, Task, User

from . import cases, regions, tasks
from .cases import NewCase
from .engine.specs import FILE_TYPES, FormField
from .users import hash_password

DEMO_COUNTIES = ["榆树市", "农安县", "德惠市", "九台区", "梅河口市", "公主岭市", "舒兰市", "敦化市"]
DEMO_CITIES = ["长春市", "吉林市", "通化市", "延边朝鲜族自治州"]
MAX_CASES = 1000
# Whom to sign in as to see each role at work on the demo data.
SUGGESTED_ACCOUNTS = [
    ("220122-housing", "经办人（农安县住建局）"),
    ("220122-finance", "经办人（农安县财政局）"),
    ("220100-supervisor", "市级督办人（长春市安居办）"),
    ("220000-supervisor", "省级督办人（吉林省安居办）"),
    ("audit", "审计（全省，只读）"),
    ("admin", "系统管理员"),
]
# How a demo user is called: place, agency, role, in Chinese (吉林省安居办审计员, 榆树市住建经办人).
_ROLE_TITLES = {**USER_ROLES, "auditor": "审计员"}
PROJECTS = ["东城棚户区改造", "铁北片区回迁安置", "老城区三期", "站前棚改", "南山片区", "河西小区二期",
            "纺织厂棚改", "粮库片区", "西关回迁楼", "新华街棚改"]


@dataclass
class DemoUser:
    username: str
    password: str
    role: str
    agency: str
    display_name: str = ""


def _make_user(session: Session, agency: Agency, role: str, username: str, created: list[DemoUser]) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        password = secrets.token_urlsafe(9)
        display_name = f"{agency.region.name}{agency.role_label}{_ROLE_TITLES.get(role, role)}"
        user = User(username=username, display_name=display_name, role=role, agency=agency,
                    password_hash=hash_password(password), active=True)
        session.add(user)
        created.append(DemoUser(username, password, role, agency.name, display_name))
    return user


def seed_people(session: Session) -> list[DemoUser]:
    """Officers for every agency of the demo places; supervisors for the cities and the province;
    an auditor and an admin. Returns the new users with their one-time passwords."""
    created: list[DemoUser] = []
    found = regions.seed_jilin(session)
    regions.seed_agencies(session, found)
    places = {r.name: r for r in found.values()}
    for name in DEMO_COUNTIES + DEMO_CITIES + ["吉林省"]:
        region = places[name]
        for agency in session.scalars(select(Agency).where(Agency.region_id == region.id).order_by(Agency.id)):
            _make_user(session, agency, "officer", f"{region.code}-{agency.role}", created)
        if region.level != "county":
            sup = session.scalar(select(Agency).where(Agency.region_id == region.id, Agency.role == "supervision"))
            _make_user(session, sup, "supervisor", f"{region.code}-supervisor", created)
    prov_sup = session.scalar(select(Agency).join(Region).where(Region.code == "220000", Agency.role == "supervision"))
    _make_user(session, prov_sup, "auditor", "audit", created)
    _make_user(session, prov_sup, "admin", "admin", created)
    session.commit()
    return created


def _value(field: FormField, rng: random.Random, households: int) -> object:
    if field.case_field == "households_resettled":
        return households
    if field.type == "enum":
        return rng.choice(field.options)[0]
    # Confirmations and attachments are derived, not drawn, so that declaring them left the demo's random
    # sequence, and so the task numbers README shows, as they were.
    if field.must_be_true:
        return True
    if field.type == "file":
        # A reference as the web UI will submit it; the demo has no file store, so the hash names nothing.
        extension = field.accept[0]
        return {"sha256": hashlib.sha256(f"{field.key}-{households}".encode()).hexdigest(),
                "name": f"{field.label}{extension}", "size": 100_000 + households,
                "content_type": FILE_TYPES[extension][0]}
    # Every other field draws the same two numbers whether it uses them or not (as it always has).
    decimal, coin = round(rng.uniform(50, 900), 1), rng.random() < 0.8
    if field.case_field == "households_overdue" or field.max_case:
        return households  # all confirmed, all signed
    return {"text": f"{field.label}（演示）", "textarea": f"{field.label}：已按要求办理。",
            "integer": max(int(field.minimum or 0), min(households, 10)), "decimal": decimal,
            "boolean": coin, "date": "2026-06-30"}[field.type]


def _officer(session: Session, task: Task) -> User:
    agency = session.get(Agency, task.agency_id)
    user = session.scalar(select(User).where(User.agency_id == agency.id, User.role == "officer"))
    if user is None:
        user = _make_user(session, agency, "officer", f"{agency.region.code}-{agency.role}", [])
        session.commit()
    return user


def seed_cases(session: Session, count: int = 40, *, seed: int = 2026,
               progress: Callable[[int, int], None] | None = None) -> int:
    """File `count` cases over the nine categories and advance each a random number of steps."""
    if session.scalar(select(func.count()).select_from(Case)):
        return 0
    places = {r.name: r for r in session.scalars(select(Region).where(Region.name.in_(DEMO_COUNTIES)))}
    for i in range(count):
        # One generator per case: a playbook that gains or loses a step changes its own cases' walks,
        # not every case filed after them.
        rng = random.Random(f"{seed}:{i}")
        category = i % 9 + 1
        county = places[DEMO_COUNTIES[i % len(DEMO_COUNTIES)]]
        filer = session.scalar(select(User).join(Agency).where(Agency.region_id == county.id,
                                                              Agency.role == "housing", User.role == "officer"))
        households = rng.randint(12, 480)
        lead = "developer" if category in (6, 8) and rng.random() < 0.7 or category == 8 else "government"
        new = NewCase(code=f"JL-{county.code}-{i + 1:03d}", project_name=f"{county.name}{rng.choice(PROJECTS)}项目",
                      region_code=county.code, lead_type=lead, households_overdue=households,
                      overdue_since=date(2018, 12, 31) + timedelta(days=rng.randint(0, 900)), category=category,
                      responsible_leader=f"{county.name}{rng.choice(['常务副市长', '副县长', '副区长'])}",
                      developer_name="吉林省某房地产开发有限公司" if lead == "developer" else None,
                      target_date=date(2026, 12, 31))
        case = cases.create_case(session, filer, new)
        for _ in range(rng.randint(0, 14)):
            open_tasks = session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "ready")
                                         .order_by(Task.id)).all()
            if not open_tasks:
                break
            task = open_tasks[0]
            fields = tasks.task_fields(session, task)
            data = {f.key: _value(f, rng, households) for f in fields if f.required or rng.random() < 0.5}
            if task.bpmn_id == "classify":
                data["category"] = str(category)
            tasks.complete_task(session, _officer(session, task), task.id, data)
        if progress:
            progress(i + 1, count)
    return count
