"""The supervisor's dashboard (督办工作台): open cases by county and category, the overdue tasks, the
counties furthest behind and the open escalations (催办 → 督办 → 驻点督办 → 约谈 → 问责) with their
督办单 colours, within the supervisor's jurisdiction; a year whose holiday schedule nobody entered is
flagged. Escalations are raised from the case page; reassignment (改派) comes later and is shown
disabled. The pending 延期申请 of the jurisdiction are listed with an approve/refuse form for those
this level decides."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from models import CATEGORIES, ESCALATION_LEVELS
from workflows import extensions, supervision
from workflows.engine.evaluator import CHINA
from workflows.errors import Conflict, HuiqianError, Invalid

from .. import get_session
from . import N_, escalation_days, signed_in_only
from .audit import page_error
from .task_form import version_of

bp = Blueprint("ui_supervise", __name__)
bp.register_error_handler(HuiqianError, page_error)
bp.before_request(signed_in_only)

# The ladder's rungs, for the catalog (translated where shown).
ESCALATIONS = (N_("催办"), N_("督办"), N_("驻点督办"), N_("约谈"), N_("问责"))


# The request labels, for the catalog (the page translates the stored label when it shows it).
EXTENSION_STATUSES = (N_("待审批"), N_("已批准"), N_("未批准"), N_("已撤回"))


def _dashboard(decision: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The page; `decision` is a refused approve/refuse: the request's id, what was typed, the errors."""
    days = escalation_days()
    board = supervision.dashboard(get_session(), g.actor, **days)  # Forbidden but for supervisors → 403 page
    places = {row.region_id: row.name for row in board.counties}
    return render_template("ui/supervise.html", board=board, categories=CATEGORIES, places=places,
                           level_labels=ESCALATION_LEVELS, **days,
                           escalations=ESCALATIONS, can_decide=extensions.can_decide,
                           decision=decision or {"id": None, "values": {}, "errors": {}, "problem": None},
                           note_max=extensions.NOTE_MAX), status


@bp.get("/supervise")
def dashboard() -> Any:
    return _dashboard()


@bp.post("/supervise/extensions/<int:extension_id>")
def decide_extension(extension_id: int) -> Any:
    """批准 or 不批准 a 延期申请 from the dashboard; a refusal is shown at the request's row with the
    note as typed."""
    typed = {"decision": request.form.get("decision", ""), "note": request.form.get("note", "")}
    try:
        decided = extensions.decide(get_session(), g.actor, extension_id, decision=typed["decision"],
                                    note=typed["note"], expected_version=version_of(request.form))
    except Invalid as exc:
        return _dashboard({"id": extension_id, "values": typed, "errors": exc.errors, "problem": exc.message}, 422)
    except Conflict as exc:  # Stale included: someone else decided, or the task closed
        return _dashboard({"id": extension_id, "values": typed, "errors": {}, "problem": exc.message}, 409)
    said = gettext("已批准延期：「%(task)s」办理时限延至 %(day)s。", task=decided.task.name,
                   day=decided.requested_due_at.astimezone(CHINA).date().isoformat()) \
        if decided.status == "approved" else gettext("已不批准延期：「%(task)s」办理时限不变。", task=decided.task.name)
    flash(said, "success")
    return redirect(url_for("ui_supervise.dashboard") + "#extensions")
