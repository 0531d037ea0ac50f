"""Users: lookup and password hashing (scrypt, memory-hard, from the standard library), and their
management by administrators.

An administrator manages the users of their jurisdiction: creating one (with a one-time password shown
once), changing name, role, agency or active flag, deactivating, resetting the password. Every change
is written to the access log in the same transaction; a password never is. Changing what someone may
access (role, agency, active, password) bumps their `auth_version`, which ends their browser sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from models import AGENCY_ROLES, USER_ROLES, Agency, Region, User

from . import inputs, permissions, regions
from .errors import Conflict, Invalid, NotFound
from .inputs import Page
from .transactions import mutation

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                               dklen=32)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def get_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise NotFound(f"用户 {username} 不存在或已停用")
    return user


# --- management (administrators) -------------------------------------------------------------------

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")
DISPLAY_NAME_MAX = 64
QUERY_MAX = 64
PAGE = 100
# Roles that act above a county: a supervisor supervises from a city's or the province's 安居办.
UPPER_LEVELS = ("city", "province")


@dataclass(frozen=True)
class Credentials:
    """A user and the one-time password just set: shown to the administrator once, never stored or
    logged (only its scrypt hash is kept)."""

    user: User
    password: str


def _log(session: Session, kind: str, summary: str, **kwargs: Any) -> None:
    from .auth import log  # auth imports this module (verify_password) at load time
    log(session, kind, summary, **kwargs)


def _one_time_password() -> str:
    return secrets.token_urlsafe(12)


def _scoped(actor: User) -> Select[Any]:
    return (select(User).join(Agency, User.agency_id == Agency.id).join(Region, Agency.region_id == Region.id)
            .where(Region.path.startswith(permissions.jurisdiction(actor).path)))


def _in_scope(session: Session, actor: User, user_id: Any, *, for_update: bool = False) -> User:
    if not inputs.valid_id(user_id):
        raise NotFound("用户不存在")
    stmt = _scoped(actor).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update(of=User)
    user = session.scalar(stmt)
    if user is None:
        raise NotFound("用户不存在")
    return user


def _username(value: Any) -> str:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        inputs.refuse("username", "用户名", "应为 3–64 位英文字母、数字或 . _ -")
    return value


def _display_name(value: Any) -> str:
    clean = inputs.clean_text(value, field="display_name", label="姓名", max_length=DISPLAY_NAME_MAX)
    if not clean:
        inputs.refuse("display_name", "姓名", "必填")
    return clean


def _role(value: Any) -> str:
    if value not in USER_ROLES:
        inputs.refuse("role", "角色", f"应为 {'、'.join(USER_ROLES)} 之一")
    return value


def _agency(session: Session, actor: User, agency_id: Any) -> Agency:
    from .agencies import find_in_scope  # agencies imports auth, which imports this module
    agency = find_in_scope(session, actor, agency_id)
    if agency is None:
        # Outside the administrator's jurisdiction reads as absent, like any other read out of scope.
        inputs.refuse("agency_id", "所属部门", "部门不存在")
    return agency


def _check_placement(role: str, agency: Agency) -> None:
    """Which roles an agency can hold: supervisors sit in a city's or the province's 安居办; auditors
    and administrators in an agency of a city or the province; officers anywhere."""
    level = agency.region.level
    if role == "supervisor" and (agency.role != "supervision" or level not in UPPER_LEVELS):
        inputs.refuse("role", "角色", f"督办人只能属于市级或省级{AGENCY_ROLES['supervision']}"
                      f"（{agency.name}不是）")
    if role in ("auditor", "admin") and level not in UPPER_LEVELS:
        inputs.refuse("role", "角色", f"{USER_ROLES[role]}只能属于省级或市级部门（{agency.name}属于县级）")


def list_users(session: Session, actor: User, *, agency_id: Any = None, region: str | None = None,
               role: str | None = None, active: bool | None = None, q: Any = None, limit: int = PAGE,
               offset: int = 0) -> Page[User]:
    """Users of the administrator's jurisdiction by id, one page at a time, with the total. Filters:
    one agency, a place and everything below it (`region`, a code), role, active, and `q` (part of the
    username or name, any case).

    Permission: administrators only (Forbidden otherwise: the resource is theirs).
    """
    permissions.require_admin(actor, "查看用户列表")
    limit, offset = inputs.page_bounds(limit, offset)
    stmt = _scoped(actor)
    if agency_id is not None:
        if not inputs.valid_id(agency_id):
            return Page([], 0, limit, offset)  # no agency has such an id
        stmt = stmt.where(User.agency_id == agency_id)
    if region is not None:
        place = regions.find(session, region)
        if place is None:
            inputs.refuse("region", "地区", f"地区代码 {inputs.printable(region, 20)} 不存在")
        stmt = stmt.where(Region.path.startswith(place.path))
    if role is not None:
        stmt = stmt.where(User.role == _role(role))
    if active is not None:
        stmt = stmt.where(User.active.is_(bool(active)))
    if q is not None:
        text = inputs.clean_text(q, field="q", label="搜索", max_length=QUERY_MAX)
        if text:
            stmt = stmt.where(or_(User.username.icontains(text, autoescape=True),
                                  User.display_name.icontains(text, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    items = session.scalars(stmt.order_by(User.id).limit(limit).offset(offset))
    return Page(list(items), total or 0, limit, offset)


def get_user(session: Session, actor: User, user_id: Any) -> User:
    """One user. Permission: administrators (Forbidden otherwise); a user outside the administrator's
    jurisdiction is NotFound."""
    permissions.require_admin(actor, "查看用户")
    return _in_scope(session, actor, user_id)


def create_user(session: Session, actor: User, *, username: Any, display_name: Any, role: Any,
                agency_id: Any) -> Credentials:
    """A new active user of an agency within the administrator's jurisdiction, with a generated
    one-time password returned once. The username is unique regardless of case (Conflict otherwise);
    the role must suit the agency (`_check_placement`). Writes `user_created` to the access log.

    Permission: administrators.
    """
    permissions.require_admin(actor, "新建用户")
    username, display_name, role = _username(username), _display_name(display_name), _role(role)
    # scrypt takes a while: hashed before the write transaction, which on SQLite holds the database.
    password = _one_time_password()
    user = _create_user(session, actor, username, display_name, role, agency_id, hash_password(password))
    return Credentials(user, password)


@mutation
def _create_user(session: Session, actor: User, username: str, display_name: str, role: str, agency_id: Any,
                 password_hash: str) -> User:
    agency = _agency(session, actor, agency_id)
    _check_placement(role, agency)
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        message = f"用户名 {username} 已被使用"
        raise Conflict(message, errors={"username": [message]})
    user = User(username=username, display_name=display_name, role=role, agency=agency,
                password_hash=password_hash, active=True, auth_version=1, failed_sign_ins=0)
    session.add(user)
    session.flush()
    _log(session, "user_created", f"{actor.display_name} 新建用户 {username}（{display_name}，"
         f"{agency.name}{USER_ROLES[role]}）", actor=actor, subject=user,
         data={"username": username, "display_name": display_name, "role": role, "agency_id": agency.id})
    return user


@mutation
def update_user(session: Session, actor: User, user_id: Any, *, display_name: Any = None, role: Any = None,
                agency_id: Any = None, active: bool | None = None) -> User:
    """Change a user's name, role, agency or active flag (None: unchanged). A change of role, agency or
    active flag bumps `auth_version`, ending the user's browser sessions. Administrators cannot change
    their own role, agency or active flag (Conflict: another administrator must). Writes
    `user_updated` (or `user_deactivated`) to the access log when something changed.

    Permission: administrators, for users within their jurisdiction (others NotFound).
    """
    permissions.require_admin(actor, "修改用户")
    user = _in_scope(session, actor, user_id, for_update=True)
    new_name = _display_name(display_name) if display_name is not None else user.display_name
    new_role = _role(role) if role is not None else user.role
    new_agency = _agency(session, actor, agency_id) if agency_id is not None else user.agency
    new_active = bool(active) if active is not None else user.active
    access_changed = (new_role, new_agency.id, new_active) != (user.role, user.agency_id, user.active)
    if access_changed and user.id == actor.id:
        raise Conflict("不能修改自己的角色、所属部门或启用状态，请由其他系统管理员办理")
    if (new_role, new_agency.id) != (user.role, user.agency_id):
        _check_placement(new_role, new_agency)
    changes: dict[str, list[Any]] = {}
    for field, before, after in (("display_name", user.display_name, new_name), ("role", user.role, new_role),
                                 ("agency_id", user.agency_id, new_agency.id), ("active", user.active, new_active)):
        if before != after:
            changes[field] = [before, after]
    if not changes:
        return user
    user.display_name, user.role, user.agency, user.active = new_name, new_role, new_agency, new_active
    if access_changed:
        user.auth_version = (user.auth_version or 0) + 1
    kind = "user_deactivated" if changes.get("active") == [True, False] else "user_updated"
    verb = "停用用户" if kind == "user_deactivated" else "修改用户"
    _log(session, kind, f"{actor.display_name} {verb} {user.username}（{'、'.join(changes)}）",
         actor=actor, subject=user, data={"changes": changes})
    return user


@mutation
def deactivate_user(session: Session, actor: User, user_id: Any) -> User:
    """Deactivate a user: sign-in, browser sessions and API tokens are refused from the next request.
    Idempotent. An administrator cannot deactivate themselves (Conflict). Writes `user_deactivated`.

    Permission: administrators, for users within their jurisdiction (others NotFound).
    """
    permissions.require_admin(actor, "停用用户")
    user = _in_scope(session, actor, user_id, for_update=True)
    if user.id == actor.id:
        raise Conflict("不能停用自己的账户")
    return update_user(session, actor, user.id, active=False)


def reset_password(session: Session, actor: User, user_id: Any) -> Credentials:
    """Give a user a new one-time password (returned once), end their browser sessions (auth_version)
    and lift any sign-in lock. Writes `password_reset` (without the password).

    Permission: administrators, for users within their jurisdiction (others NotFound).
    """
    permissions.require_admin(actor, "重置密码")
    password = _one_time_password()
    user = _reset_password(session, actor, user_id, hash_password(password))
    return Credentials(user, password)


@mutation
def _reset_password(session: Session, actor: User, user_id: Any, password_hash: str) -> User:
    user = _in_scope(session, actor, user_id, for_update=True)
    user.password_hash = password_hash
    user.auth_version = (user.auth_version or 0) + 1
    user.failed_sign_ins = 0
    user.locked_until = None
    _log(session, "password_reset", f"{actor.display_name} 重置用户 {user.username} 的密码", actor=actor,
         subject=user)
    return user


@mutation
def set_locale(session: Session, actor: User, locale: str) -> User:
    """The language of the pages for the acting user (themselves only)."""
    if locale not in ("zh_CN", "en"):
        raise Invalid("不支持的语言", errors={"locale": ["不支持的语言"]})
    user = session.get(User, actor.id)
    if user is None:
        raise NotFound("用户不存在")
    user.locale = locale
    return user
