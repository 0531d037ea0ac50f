"""Signing in and API tokens, with every attempt in the append-only access log.

Passwords are checked with scrypt (workflows/users.py). Ten wrong passwords in a row lock an
account's sign-in for 15 minutes; the refusal says until when. A failed attempt is written even though
the sign-in is refused, so the counter and the log survive the refusal. Per-address limits are the
web layer's job (Flask-Limiter); the per-account lock lives here so that every entry point shares it.

API tokens are 256-bit random strings shown once; only their SHA-256 is stored (a random token needs
no slow hash: there is no password to guess), with a short prefix so a user can tell tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from models import AccessEvent, ApiToken, User

from . import history, inputs, permissions
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Busy, Forbidden, Invalid, NotFound, Unauthenticated, Unavailable
from .transactions import mutation
from .users import verify_password

MAX_FAILED_SIGN_INS = 10
LOCK_MINUTES = 15
TOKEN_PREFIX = "hq_"
TOKEN_NAME_MAX = 100
TOKEN_MAX_DAYS = 3650
MAX_TOKENS_PER_USER = 50
# A token's last use is written at most this often, so an API call is not a write every time.
LAST_USED_RESOLUTION = timedelta(minutes=5)
_BAD_CREDENTIALS = "用户名或密码错误"


def log(session: Session, kind: str, summary: str, *, actor: User | None = None,
        subject: User | None = None, username: str | None = None, data: dict[str, Any] | None = None,
        at: datetime | None = None, token_id: int | None = None) -> None:
    """Write one access-log event in the current transaction, with the request's origin."""
    where = history.current_origin()
    session.execute(insert(AccessEvent), [{
        "at": at or clock.now(), "kind": kind, "actor_id": actor.id if actor else None,
        "subject_user_id": subject.id if subject else None, "username": (username or "")[:64] or None,
        "summary": summary, "data": data or {}, "channel": where.channel, "address": where.address,
        "token_id": token_id if token_id is not None else where.token_id, "os_user": where.os_user}])


def _local(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class _Attempt:
    user: User | None
    refusal: str | None
    locked_until: datetime | None = None


@mutation
def _attempt(session: Session, username: str, password: str, now: datetime, checked: _Check) -> _Attempt:
    user = session.scalar(select(User).where(User.username == username).with_for_update(of=User))
    if user is None:
        log(session, "sign_in_failed", f"登录失败：用户名 {inputs.printable(username, 40)} 不存在",
            username=username, at=now)
        return _Attempt(None, _BAD_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        log(session, "sign_in_failed", f"{user.display_name} 登录被拒绝：账户锁定中", subject=user,
            username=username, at=now, data={"locked_until": user.locked_until.isoformat()})
        return _Attempt(None, f"密码错误次数过多，账户已锁定至 {_local(user.locked_until)}，请稍后再试",
                        user.locked_until)
    # The password was checked before this transaction against the hash read then; only if that was
    # not done or the hash has changed since (a reset at that very moment) is it checked here.
    matches = checked.matches if checked.password_hash == user.password_hash \
        else verify_password(password, user.password_hash)
    if not matches:
        user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
        if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_sign_ins = 0
            log(session, "sign_in_locked", f"{user.display_name} 连续 {MAX_FAILED_SIGN_INS} 次密码错误，"
                f"登录锁定至 {_local(user.locked_until)}", subject=user, username=username, at=now)
            return _Attempt(None, f"密码错误次数过多，账户已锁定至 {_local(user.locked_until)}，请稍后再试",
                            user.locked_until)
        log(session, "sign_in_failed", f"{user.display_name} 登录失败：密码错误（连续第 {user.failed_sign_ins} 次）",
            subject=user, username=username, at=now)
        return _Attempt(None, _BAD_CREDENTIALS)
    if not user.active:
        log(session, "sign_in_failed", f"{user.display_name} 登录被拒绝：账户已停用", subject=user,
            username=username, at=now)
        return _Attempt(None, "账户已停用，请联系系统管理员")
    user.failed_sign_ins = 0
    user.locked_until = None
    user.last_sign_in_at = now
    log(session, "sign_in", f"{user.display_name} 登录", actor=user, subject=user, username=username, at=now)
    return _Attempt(user, None)


@dataclass(frozen=True)
class _Check:
    password_hash: str | None
    matches: bool


def _check_password(session: Session, username: str, password: str, now: datetime) -> _Check:
    """The slow scrypt check, done before the write transaction: on SQLite a write transaction holds
    the whole database, and a burst of guesses must not stall every other writer for 50 ms each."""
    row = session.execute(select(User.password_hash, User.locked_until)
                          .where(User.username == username)).one_or_none()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        # Refused as locked whatever the password; no hash was checked, so should the lock be gone by
        # the transaction, the password is checked there.
        return _Check(None, False)
    # An unknown name costs the same time as a real check, so response times do not tell which exist.
    matches = verify_password(password, row.password_hash if row is not None else _DUMMY_HASH)
    return _Check(row.password_hash if row is not None else None, matches and row is not None)


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def sign_in(session: Session, username: Any, password: Any, *, now: datetime | None = None) -> User:
    """Check a username and password and return the user.

    Refusals raise Unauthenticated with a Chinese message (a locked account's says until when); the
    attempt is logged and counted whatever the outcome. Input is checked first: a name or password that
    is not a short printable string is refused without touching the database.
    """
    now = now or clock.now()
    errors: dict[str, list[str]] = {}
    for field, label, value, limit in (("username", "用户名", username, 64), ("password", "密码", password, 256)):
        if not isinstance(value, str) or not value:
            errors[field] = [f"{label}：必填"]
        elif len(value) > limit or "\x00" in value:
            errors[field] = [f"{label}：格式不正确"]
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                errors[field] = [f"{label}：含有无法识别的字符"]
    if errors:
        raise Invalid(next(iter(errors.values()))[0], errors=errors)
    attempt = _attempt(session, username, password, now, _check_password(session, username, password, now))
    if attempt.user is None:
        raise Unauthenticated(attempt.refusal or _BAD_CREDENTIALS, locked_until=attempt.locked_until)
    return attempt.user


@mutation
def sign_out(session: Session, actor: User, *, now: datetime | None = None) -> None:
    log(session, "sign_out", f"{actor.display_name} 退出登录", actor=actor, subject=actor, at=now)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


@mutation
def create_token(session: Session, actor: User, name: Any, *, expires_in_days: Any = None,
                 now: datetime | None = None) -> NewToken:
    """A personal API token for the acting user. The secret is returned once and only its hash kept.
    Permission: any active user, for themselves (auditors get a read-only token as they are read-only)."""
    now = now or clock.now()
    if not actor.active:
        raise Forbidden("账户已停用")
    clean = inputs.clean_text(name, field="name", label="令牌名称", max_length=TOKEN_NAME_MAX)
    if not clean:
        raise Invalid("令牌名称：必填", errors={"name": ["令牌名称：必填"]})
    expires_at = None
    if expires_in_days is not None:
        days = inputs.finite_number(expires_in_days, field="expires_in_days", label="有效天数", integer=True,
                                    minimum=1, maximum=TOKEN_MAX_DAYS)
        expires_at = now + timedelta(days=int(days))
    live = session.scalar(select(func.count()).select_from(ApiToken)
                          .where(ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None)))
    if live >= MAX_TOKENS_PER_USER:
        raise Invalid(f"有效令牌已达 {MAX_TOKENS_PER_USER} 个，请先吊销不用的令牌",
                      errors={"name": [f"有效令牌已达 {MAX_TOKENS_PER_USER} 个"]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.id, name=clean, token_hash=hash_token(secret), prefix=secret[:10],
                     created_at=now, expires_at=expires_at)
    session.add(token)
    session.flush()
    log(session, "token_created", f"{actor.display_name} 创建接口令牌「{clean}」（{token.prefix}…）",
        actor=actor, subject=actor, at=now, token_id=token.id,
        data={"name": clean, "expires_at": expires_at.isoformat() if expires_at else None})
    return NewToken(token, secret)


def list_tokens(session: Session, actor: User) -> list[ApiToken]:
    """The acting user's own tokens, newest first (revoked ones included, marked)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == actor.id)
                                .order_by(ApiToken.id.desc())))


@mutation
def revoke_token(session: Session, actor: User, token_id: Any, *, now: datetime | None = None) -> ApiToken:
    """Revoke one of the acting user's tokens (an admin may revoke those of the users within their
    jurisdiction). Takes effect on the next request. Any other user's token does not exist for them."""
    now = now or clock.now()
    if not inputs.valid_id(token_id):
        raise NotFound("令牌不存在")
    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id).with_for_update())
    if token is None or (token.user_id != actor.id and not (
            actor.role == "admin"
            and permissions.jurisdiction(actor).contains(session.get(User, token.user_id).agency.region))):
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = now
        log(session, "token_revoked", f"{actor.display_name} 吊销接口令牌「{token.name}」（{token.prefix}…）",
            actor=actor, subject=session.get(User, token.user_id), at=now, token_id=token.id)
    return token


def user_for_token(session: Session, secret: Any, *, now: datetime | None = None
                   ) -> tuple[User, ApiToken] | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, expired, user inactive).
    Notes the token's last use at most every few minutes, in its own small transaction."""
    if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    now = now or clock.now()
    row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                          .where(ApiToken.token_hash == hash_token(secret))).one_or_none()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now) \
            or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A busy database must not refuse the request; the next use notes it.
        with suppress(Busy, Unavailable):
            _touch(session, token.id, now)
    return user, token


@mutation
def _touch(session: Session, token_id: int, now: datetime) -> None:
    """Note a token's use in a write transaction of its own: upgrading the request's read transaction
    to a write would fail at once on SQLite when another request writes at the same moment."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id,
                                           (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now))
                    .values(last_used_at=now))


def user_for_session(session: Session, user_id: Any, auth_version: Any) -> User | None:
    """The user a browser session names, if still active and nothing about their access changed since
    it was signed in (a password reset or deactivation bumps `auth_version`)."""
    if not inputs.valid_id(user_id):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or user.auth_version != auth_version:
        return None
    return user
