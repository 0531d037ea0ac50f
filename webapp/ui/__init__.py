"""The pages people work in, server-rendered (Jinja2, Bootstrap and htmx served from the app), one
blueprint per concern. Every page requires sign-in; every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import Babel, gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError

from models import User
from workflows import escalations
from workflows import notifications as notices  # not `notifications`: the page module of that name
from workflows.engine.evaluator import CHINA

from .. import get_session

F = TypeVar("F", bound=Callable[..., Any])
LANGUAGES = {"zh_CN": "中文", "en": "English"}
TRANSLATIONS = str(Path(__file__).resolve().parent.parent / "translations")
csrf = CSRFProtect()
babel = Babel()


def _locale() -> str:
    user: User | None = g.get("actor")
    chosen = (user.locale if user is not None else None) or session.get("locale")
    return chosen if chosen in LANGUAGES else "zh_CN"


def china_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A moment as people in China read it: "2026-11-23 14:05" in Beijing time ("" for none)."""
    return moment.astimezone(CHINA).strftime(pattern) if moment is not None else ""


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site (where to go back to), else None: never another site."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def escalation_days() -> dict[str, Any]:
    """The 督办单 colour thresholds from the settings, as the escalation reads take them (checked when
    the app starts: init_app)."""
    config = current_app.config
    return {"near_days": int(config["ESCALATION_DUE_NEAR_DAYS"]), "soon_days": int(config["ESCALATION_DUE_SOON_DAYS"]),
            "by_level": escalations.colour_days(config.get("ESCALATION_DUE_DAYS_BY_LEVEL"))}


def signed_in_only() -> Any:
    """For a section's before_request: a visitor goes to the sign-in page and comes back after."""
    if g.get("actor") is None:
        return redirect(url_for("ui_auth.login", next=request.full_path.rstrip("?")))
    return None


def signed_in(view: F) -> F:
    """The page needs a signed-in user; a visitor is sent to the sign-in page and brought back after."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("actor") is None:
            return redirect(url_for("ui_auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below for pages, not for /api
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session: a long form is not lost
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh_CN")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    # By absolute path: the default ("translations" beside the app's root_path) depends on where the
    # app object is created.
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    csrf.init_app(app)
    # A wrong colour setting stops the app at start with the sentence saying what is wrong, not a page later.
    escalations.colour_days(app.config.get("ESCALATION_DUE_DAYS_BY_LEVEL"))
    babel.init_app(app, locale_selector=_locale)
    app.jinja_env.globals["china_time"] = china_time

    @app.before_request
    def _csrf() -> None:
        # The API authenticates writes by token or by a header a cross-site form cannot send.
        if app.config.get("WTF_CSRF_ENABLED", True) and not request.path.startswith("/api/"):
            csrf.protect()

    @app.errorhandler(CSRFError)
    def _csrf_refused(error: CSRFError) -> Any:
        if request.path.startswith("/api/"):
            return error
        return render_template("ui/error.html", title=gettext("页面已过期"),
                               message=gettext("表单校验码缺失或已失效（可能是页面停留过久或在别处退出了登录）。"
                                               "请返回上一页刷新后重新提交，已填写的内容请先复制保存。")), 400

    from . import auth
    app.register_blueprint(auth.bp)
    _register_sections(app)

    @app.context_processor
    def _page_globals() -> dict[str, Any]:
        actor = g.get("actor")
        return {"actor": actor, "languages": LANGUAGES, "current_locale": _locale(),
                "nav_items": _nav(app, actor), "nav_counts": _nav_counts(actor),
                "unread_notifications": _unread(actor)}


def N_(text: str) -> str:
    """Marks a constant for the message catalog (pybabel finds N_) while leaving it a plain str; the
    page translates it when shown (`{{ _(label) }}`), so exports and joins keep the Chinese text."""
    return text


# Page sections in menu order, with the roles that see them; sections land one at a time, so an
# endpoint not registered yet is left out. Labels are translated where the menu is drawn.
NAV = [
    ("overview.index", N_("概况"), ("officer", "supervisor", "auditor", "admin")),
    ("ui_inbox.inbox", N_("待办"), ("officer", "supervisor")),
    ("ui_cases.case_list", N_("案件"), ("officer", "supervisor", "auditor", "admin")),
    ("ui_supervise.dashboard", N_("督办"), ("supervisor",)),
    ("ui_audit.events", N_("审计"), ("auditor",)),
    ("ui_admin.users", N_("系统管理"), ("admin",)),
]


def _register_sections(app: Flask) -> None:
    """Each page section that exists registers its blueprint (sections land one at a time)."""
    import importlib
    for name in ("inbox", "tasks", "cases", "attachments", "supervise", "audit", "admin", "notifications", "away"):
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        app.register_blueprint(module.bp)


def _unread(user: User | None) -> int:
    """The bell's count; a page that failed before any session (an error page) shows none."""
    if user is None:
        return 0
    try:
        return notices.unread_count(get_session(), user)
    except SQLAlchemyError:  # an error page after a failed transaction still renders
        return 0


def _nav_counts(user: User | None) -> dict[str, int]:
    """Counts shown beside menu items: the open escalations awaiting the user's answer, beside 待办."""
    if user is None or user.role not in ("officer", "supervisor"):
        return {}
    if g.get("escalations_addressed") is not None:  # the inbox has just counted them
        count = g.escalations_addressed
        return {"ui_inbox.inbox": count} if count else {}
    try:
        count = escalations.count_addressed(get_session(), user)
    except SQLAlchemyError:
        # An error page drawn after a failed transaction must still render; the count can wait.
        return {}
    return {"ui_inbox.inbox": count} if count else {}


def _nav(app: Flask, user: User | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    return [(endpoint, label) for endpoint, label, roles in NAV
            if user.role in roles and endpoint in app.view_functions]
