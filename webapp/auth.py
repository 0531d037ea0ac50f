"""Who is asking: a browser session (Flask-Login) or an API token (Authorization: Bearer), and where
the request came from, set once per request for the history the services write."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from models import ApiToken, User
from workflows import auth, history
from workflows.errors import Forbidden, Unauthenticated

from . import get_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What answers without sign-in: signing in, and the API's own description.
PUBLIC_API_ENDPOINTS = frozenset({"session.sign_in", "api-docs.openapi_json", "api-page.page"})

login_manager = LoginManager()


class Account(UserMixin):
    """The signed-in user as Flask-Login sees it. The session id carries the user's auth_version, so a
    password reset or deactivation ends every session of theirs."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.auth_version}"


@login_manager.user_loader
def _load(session_id: str) -> Account | None:
    try:
        user_id, version = (int(part) for part in session_id.split(":", 1))
    except ValueError:
        return None
    user = auth.user_for_session(get_session(), user_id, version)
    return Account(user) if user is not None else None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.login_message = "请先登录"
    app.before_request(_identify)


def _identify() -> None:
    """Resolve the caller once per request and name the channel and address for history."""
    g.actor = None
    g.token = None
    channel = "api" if request.path.startswith("/api/") else "web"
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        found = auth.user_for_token(get_session(), header[7:].strip())
        g.bearer_refused = found is None
        if found is not None:
            g.actor, g.token = found
    elif current_user.is_authenticated:
        g.actor = current_user.user
        # A cookie rides along on any site's request; a custom header cannot be sent cross-site
        # without a CORS preflight this app never grants. So cookie-authenticated API writes must
        # carry it (the web UI's forms have their own CSRF tokens).
        if channel == "api" and request.method not in SAFE_METHODS \
                and request.headers.get("X-Requested-With") is None and request.endpoint != "session.sign_in":
            raise Forbidden("使用浏览器会话调用接口写操作时须带 X-Requested-With 请求头（或改用接口令牌）")
    history.set_origin(channel, address=request.remote_addr,
                       token_id=g.token.id if g.token is not None else None)
    # Who is asking is settled before what is asked: an anonymous request gets 401 whatever its
    # arguments, so probing parameters teaches nothing without signing in.
    if channel == "api" and g.actor is None and request.endpoint is not None \
            and request.endpoint not in PUBLIC_API_ENDPOINTS:
        actor()


def actor() -> User:
    """The signed-in user, or Unauthenticated (401)."""
    user = g.get("actor")
    if user is None:
        if g.get("bearer_refused"):
            raise Unauthenticated("接口令牌无效、已过期或已吊销")
        raise Unauthenticated("请先登录")
    return user


def token() -> ApiToken | None:
    return g.get("token")


def sign_in(username: Any, password: Any, *, remember: bool = False) -> User:
    """Check the credentials (workflows.auth) and start a browser session."""
    user = auth.sign_in(get_session(), username, password)
    login_user(Account(user), remember=remember)
    g.actor = user
    return user


def sign_out() -> None:
    user = g.get("actor")
    if user is not None and g.get("token") is None:
        auth.sign_out(get_session(), user)
    logout_user()
