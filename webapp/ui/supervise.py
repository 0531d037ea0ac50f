"""The supervisor's dashboard (督办工作台): open cases by county and category, the overdue tasks and the
counties furthest behind, within the supervisor's jurisdiction. Escalation (催办 → 督办 → 驻点督办 →
约谈 → 问责) and reassignment come in a later issue; the page shows them disabled."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template

from models import CATEGORIES
from workflows import supervision
from workflows.errors import HuiqianError

from .. import get_session
from . import N_, signed_in_only
from .audit import page_error

bp = Blueprint("ui_supervise", __name__)
bp.register_error_handler(HuiqianError, page_error)
bp.before_request(signed_in_only)

# Shown disabled until the escalation issue lands, so supervisors know what is coming.
ESCALATIONS = (N_("催办"), N_("督办"), N_("驻点督办"), N_("约谈"), N_("问责"), N_("改派"))


@bp.get("/supervise")
def dashboard() -> Any:
    board = supervision.dashboard(get_session(), g.actor)  # Forbidden for anyone but supervisors → 403 page
    places = {row.region_id: row.name for row in board.counties}
    return render_template("ui/supervise.html", board=board, categories=CATEGORIES, places=places,
                           escalations=ESCALATIONS)
