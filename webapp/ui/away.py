"""委托 (out of office): an officer's away periods and the colleague who handles their work meanwhile;
the periods they stand in for. Views parse the form, call one service, render."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from workflows import away
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

from .. import get_session
from . import signed_in

bp = Blueprint("ui_away", __name__)


def _render(values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
            status: int = 200) -> Any:
    page = away.away_page(get_session(), g.actor)
    return render_template("ui/away.html", title=gettext("委托"), page=page, values=values or {},
                           errors=errors or {}, max_days=away.MAX_DAYS), status


@bp.get("/me/away", endpoint="away")
@signed_in
def away_page() -> Any:
    return _render()


@bp.post("/me/away", endpoint="set_away")
@signed_in
def set_away() -> Any:
    form = request.form
    delegate = form.get("delegate_id", "")
    values = {k: form.get(k, "") for k in ("starts_on", "ends_on", "delegate_id", "reason")}
    try:
        period = away.set_away(get_session(), g.actor, starts_on=form.get("starts_on") or None,
                               ends_on=form.get("ends_on") or None, reason=form.get("reason"),
                               delegate_id=int(delegate) if delegate.isdigit() and len(delegate) < 11 else None)
    except Invalid as exc:
        return _render(values, dict(exc.errors) or {"_": [exc.message]}, 400)
    except (Conflict, Forbidden) as exc:
        return _render(values, {"_": [exc.message]}, 409 if isinstance(exc, Conflict) else 403)
    flash(gettext("已设置委托：%(first)s 至 %(last)s。", first=period.starts_on.isoformat(),
                  last=period.ends_on.isoformat()), "success")
    return redirect(url_for("ui_away.away"))


@bp.post("/me/away/<int:period_id>/cancel", endpoint="cancel_away")
@signed_in
def cancel_away(period_id: int) -> Any:
    try:
        away.cancel_away(get_session(), g.actor, period_id)
        flash(gettext("已取消委托。"), "success")
    except NotFound as exc:
        flash(exc.message, "danger")
    return redirect(url_for("ui_away.away"))
