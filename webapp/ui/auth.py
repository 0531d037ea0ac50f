"""Signing in and out of the pages, and choosing the page language."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext

from workflows import users
from workflows.errors import HuiqianError, Invalid, Unauthenticated

from .. import auth, get_session, limiter
from . import LANGUAGES, _locale, local_path, signed_in
from .forms import SignInForm

bp = Blueprint("ui_auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would turn the sign-in page into a phishing aid."""
    return local_path(target) or url_for("overview.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"],
               error_message="该地址登录尝试过于频繁，请稍后再试")
def login() -> Any:
    form = SignInForm()
    error = None
    if g.get("actor") is not None and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    if form.validate_on_submit():
        try:
            auth.sign_in(form.username.data, form.password.data, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
        except (Unauthenticated, Invalid) as exc:
            error = exc.message
    status = 401 if error else 200
    return render_template("ui/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Any:
    message = gettext("已退出登录")  # in the language of the one signing out
    locale = _locale()
    auth.sign_out()
    session.clear()
    # The sign-in page after signing out stays in the language this browser's user chose.
    session["locale"] = locale
    flash(message, "info")
    return redirect(url_for("ui_auth.login"))


@bp.post("/language")
@signed_in
def language() -> Any:
    chosen = request.form.get("locale", "")
    if chosen in LANGUAGES:
        try:
            users.set_locale(get_session(), g.actor, chosen)
        except HuiqianError as exc:
            flash(exc.message, "danger")
    return redirect(_safe_next(request.form.get("next")))
