"""The demo overview page: cases by category and status, read straight from the service layer."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from models import CASE_STATUSES, CATEGORIES, Case, Task

from . import get_session

bp = Blueprint("overview", __name__)


@bp.get("/")
def index() -> str:
    session = get_session()
    rows = session.execute(select(Case.category, Case.status, func.count(), func.sum(Case.households_overdue),
                                  func.sum(Case.households_resettled))
                           .group_by(Case.category, Case.status)).all()
    open_tasks = session.scalar(select(func.count()).select_from(Task).where(Task.status == "ready"))
    cases = session.scalars(select(Case).order_by(Case.id).limit(100)).all()
    return render_template("index.html", rows=rows, cases=cases, categories=CATEGORIES,
                           statuses=CASE_STATUSES, open_tasks=open_tasks)
