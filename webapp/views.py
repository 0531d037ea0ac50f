"""The overview page: counts by category and status within the signed-in user's jurisdiction (only the
province-wide counts for a visitor), from the service layer."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from models import CASE_STATUSES, CATEGORIES
from workflows import overview

from . import get_session

bp = Blueprint("overview", __name__)


@bp.get("/")
def index() -> str:
    found = overview.summary(get_session(), g.get("actor"))
    return render_template("index.html", overview=found, categories=CATEGORIES, statuses=CASE_STATUSES,
                           signed_in=g.get("actor"))
