"""The overview page: counts by category and status within the signed-in user's jurisdiction, and its
first cases, from the service layer."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from models import CASE_STATUSES, CATEGORIES
from workflows import overview

from . import get_session
from .ui import signed_in

bp = Blueprint("overview", __name__)


@bp.get("/")
@signed_in
def index() -> str:
    found = overview.summary(get_session(), g.actor)
    return render_template("index.html", overview=found, categories=CATEGORIES, statuses=CASE_STATUSES)
