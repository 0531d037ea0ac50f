"""Cases (案件): the list within the reader's jurisdiction with its filters in the URL, 立案, and the
case page (particulars, open tasks, escalations, timeline, process diagrams, 改变类别, 发起督办 and
办结督办).

Views parse (case_forms), call the service (workflows.case_queries, cases, case_page, diagram) and
render. Something outside the reader's jurisdiction is a 404 page; a refused action a 403 page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext

from models import CASE_STATUSES, CATEGORIES, LEAD_TYPES
from workflows import case_page, case_queries, cases, diagram, escalations, permissions, regions, schedule
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

from .. import get_session
from ..api import errors as api_errors
from . import N_, escalation_days, local_path, signed_in
from .case_forms import (
    CATEGORY_CHOICES,
    OVERDUE_CHOICES,
    CloseEscalationForm,
    DeadlineForm,
    EscalateForm,
    NewCaseForm,
    ReclassifyForm,
    parse_list_args,
)

bp = Blueprint("ui_cases", __name__)

LIST_PAGE = 50
ORDERS = {"newest": N_("最新在前"), "oldest": N_("最早在前")}  # translated where shown
# An escalation's outcome and target kind (models.escalation), for the catalog: translated where shown.
ESCALATION_WORDS = (N_("待答复"), N_("已答复"), N_("已办结"), N_("部门"), N_("包保领导"))
# 倒排工期's words, translated where shown (the service's own texts stay Chinese).
SCHEDULE_WORDS = {
    "none": N_("未设定时限"), "on_track": N_("按期推进"), "at_risk": N_("有延误风险"), "overdue": N_("已超过时限"),
    "open": N_("办理中"), "ahead": N_("未开始"),
    "已过最迟开始日期仍未开始": N_("已过最迟开始日期仍未开始"), "开始晚于最迟开始日期": N_("开始晚于最迟开始日期"),
    "已过最迟完成日期仍在办理": N_("已过最迟完成日期仍在办理"),
}


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> Any:
    if request.path.endswith(".json"):
        return api_errors.from_service(error)
    return render_template("ui/error.html", title=gettext("未找到"), message=error.message), 404


@bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden) -> Any:
    if request.path.endswith(".json"):
        return api_errors.from_service(error)
    return render_template("ui/error.html", title=gettext("无权操作"), message=error.message), 403


def _safe_back(target: str | None) -> str:
    """Only a case list on this site: `back` is taken from the URL and must not lead elsewhere."""
    path = local_path(target)
    if path is not None and urlsplit(path).path.rstrip("/") == "/cases":
        return path
    return url_for("ui_cases.case_list")


def _here() -> str:
    return request.full_path.rstrip("?")


@bp.get("/cases")
@signed_in
def case_list() -> Any:
    """The cases within the reader's jurisdiction, filtered and paged by the URL."""
    session = get_session()
    filters, errors = parse_list_args(request.args)
    found = None
    status = 200
    if not errors:
        try:
            found = case_queries.search_cases(session, g.actor, **filters.search_args(), limit=LIST_PAGE,
                                              offset=(filters.page - 1) * LIST_PAGE)
        except Invalid as exc:  # a place that does not exist: named next to its field
            errors = dict(exc.errors) or {"_": [exc.message]}
    if errors:
        status = 422
    return render_template(
        "ui/case_list.html", title=gettext("案件"), filters=filters, errors=errors, found=found,
        places=regions.in_jurisdiction(session, g.actor), categories=CATEGORY_CHOICES, statuses=CASE_STATUSES,
        overdue_choices=OVERDUE_CHOICES, can_file=permissions.can_file_case(g.actor), back=_here(),
        per_page=LIST_PAGE), status


def _require_filer() -> None:
    if not permissions.can_file_case(g.actor):
        raise Forbidden(gettext("只有住建部门、安居办经办人或督办人可以立案"))


@bp.route("/cases/new", methods=["GET", "POST"])
@signed_in
def new_case() -> Any:
    """立案: the form, and filing it (the new case's page on success)."""
    _require_filer()
    session = get_session()
    form = NewCaseForm()
    form.set_places(regions.in_jurisdiction(session, g.actor, level="county"))
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            case = cases.create_case(session, g.actor, form.to_new_case())
        except Invalid as exc:
            problems = form.show_errors(exc)
        except Conflict as exc:
            problems = [exc.message]
        else:
            flash(gettext("已立案：%(code)s %(name)s", code=case.code, name=case.project_name), "success")
            return redirect(url_for("ui_cases.case", case_id=case.id))
    status = 422 if (problems or any(f.errors for f in form)) else 200
    return render_template("ui/case_new.html", title=gettext("立案"), form=form, problems=problems,
                           required=NewCaseForm.REQUIRED), status


def _page_arg() -> int:
    text = request.args.get("page", "1").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 7 and int(text) > 0 else 1


@bp.get("/cases/<int:case_id>")
@signed_in
def case(case_id: int) -> Any:
    """The case page."""
    return _case_page(case_id)


def _case_page(case_id: int, *, status: int = 200, escalate: EscalateForm | None = None,
               escalate_problems: list[str] | None = None, closing: dict[int, CloseEscalationForm] | None = None,
               close_problems: dict[int, list[str]] | None = None) -> Any:
    """The case page; after a refused 发起督办 or 办结, with what was typed and why it was refused."""
    order = request.args.get("order", "newest")
    order = order if order in ORDERS else "newest"
    page = case_page.case_page(get_session(), g.actor, case_id, page=_page_arg(), newest_first=order == "newest",
                               **escalation_days())
    form = ReclassifyForm(formdata=None)
    form.set_current(page.case.category)
    form.version.data = str(page.case.version)
    panel = page.escalations
    if escalate is None:
        escalate = EscalateForm(formdata=None)
    escalate.set_choices(panel.levels, panel.agencies, panel.leader)
    closing = dict(closing or {})
    for tracked in panel.items:
        if tracked.escalation.id in panel.closable and tracked.escalation.id not in closing:
            closing[tracked.escalation.id] = CloseEscalationForm(formdata=None, prefix=f"close-{tracked.escalation.id}")
        if tracked.escalation.id in closing:
            closing[tracked.escalation.id].version.data = str(tracked.escalation.version)
    deadline_form = DeadlineForm(formdata=None)
    deadline_form.version.data = str(page.case.version)
    deadline_form.deadline.data = page.case.schedule_deadline.isoformat() if page.case.schedule_deadline else ""
    asked = request.args.get("back")
    back = _safe_back(asked)
    return render_template("ui/case.html", title=f"{page.case.code} {page.case.project_name}", page=page,
                           form=form, deadline_form=deadline_form, order=order, orders=ORDERS, lead_types=LEAD_TYPES,
                           categories=CATEGORIES, back=back, keep_back=asked if asked == back else None,
                           fmt=case_page.china_time, words=SCHEDULE_WORDS,
                           escalate=escalate, escalate_problems=escalate_problems or [],
                           closing=closing, close_problems=close_problems or {}), status


@bp.post("/cases/<int:case_id>/escalations")
@signed_in
def escalate(case_id: int) -> Any:
    """发起督办 from the case page: the case page again with the new escalation, or with the form as
    typed and the refusal next to the field it concerns."""
    session = get_session()
    form = EscalateForm()
    problems: list[str] = []
    try:
        done = escalations.escalate(session, g.actor, case_id, **form.service_args())
    except Invalid as exc:
        problems, status = form.show_errors(exc), 422
    except Forbidden as exc:
        if not escalations.raisable_levels(g.actor):
            raise  # not a supervisor who raises at all: the 403 page
        form.level.errors, status = [exc.message], 403  # a rung above the reader's level
    except Conflict as exc:  # the case is closed, or the same rung is open towards the same target
        problems, status = [exc.message], 409
    else:
        flash(gettext("已发起%(level)s（#%(id)s），督办对象：%(target)s", level=gettext(done.level_label), id=done.id,
                      target=done.target_label), "success")
        return redirect(url_for("ui_cases.case", case_id=case_id) + "#escalations")
    session.rollback()
    return _case_page(case_id, status=status, escalate=form, escalate_problems=problems)


@bp.post("/cases/<int:case_id>/escalations/<int:escalation_id>/close")
@signed_in
def close_escalation(case_id: int, escalation_id: int) -> Any:
    """办结督办 from the case page, with the conclusion; the version read guards against a change since."""
    session = get_session()
    form = CloseEscalationForm(prefix=f"close-{escalation_id}")
    problems: list[str] = []
    try:
        done = escalations.close(session, g.actor, escalation_id, form.outcome_note.data or "",
                                 expected_version=form.expected_version())
    except Invalid as exc:
        form.outcome_note.errors = [m for ms in exc.errors.values() for m in ms] or [exc.message]
        status = 422
    except Conflict as exc:  # already closed, or Stale: changed since the page was read
        problems, status = [exc.message], 409
    else:
        flash(gettext("已办结%(level)s（#%(id)s）", level=gettext(done.level_label), id=done.id), "success")
        return redirect(url_for("ui_cases.case", case_id=done.case_id) + "#escalations")
    session.rollback()
    return _case_page(case_id, status=status, closing={escalation_id: form},
                      close_problems={escalation_id: problems})



@bp.post("/cases/<int:case_id>/deadline")
@signed_in
def set_deadline(case_id: int) -> Any:
    """倒排工期: a city or province supervisor sets (or clears) the case's deadline."""
    form = DeadlineForm()
    if not form.validate_on_submit():  # the CSRF token
        flash(gettext("表单已过期，请重试"), "danger")
        return redirect(url_for("ui_cases.case", case_id=case_id) + "#schedule")
    session = get_session()
    try:
        case = schedule.set_deadline(session, g.actor, case_id, form.deadline.data,
                                     expected_version=form.expected_version())
    except (Invalid, Conflict) as exc:  # Stale is a Conflict: someone changed the case since
        session.rollback()
        flash(exc.message, "danger")
    else:
        done = case.schedule_deadline
        flash(gettext("已设定办理时限：%(day)s", day=done.isoformat()) if done else gettext("已取消办理时限"), "success")
    return redirect(url_for("ui_cases.case", case_id=case_id) + "#schedule")


@bp.get("/cases/<int:case_id>/diagram.json")
@signed_in
def diagram_json(case_id: int) -> Any:
    """The case's process diagrams: each file's BPMN source from the case's process version and the
    element ids completed, active and withdrawn."""
    found = diagram.case_diagram(get_session(), g.actor, case_id, with_xml=True)
    return jsonify(found.as_dict())


@bp.post("/cases/<int:case_id>/reclassify")
@signed_in
def reclassify(case_id: int) -> Any:
    """改变类别 in two steps: the choice and reason are shown back for confirmation, then carried out."""
    session = get_session()
    target = case_page.case_for_reclassification(session, g.actor, case_id)  # 404 / 403 first
    form = ReclassifyForm()
    form.set_current(target.category)
    step = request.form.get("step", "confirm")
    problems: list[str] = []
    if step == "edit":  # back from the confirmation to change the choice
        return _reclassify_page(target, form, "edit", problems, 200)
    if not form.validate_on_submit():
        return _reclassify_page(target, form, "edit", problems, 422)
    if step != "execute":
        return _reclassify_page(target, form, "confirm", problems, 200)
    try:
        done = cases.reclassify_case(session, g.actor, case_id, form.category.data, form.reason.data,
                                     expected_version=form.expected_version())
    except Invalid as exc:
        problems = form.show_errors(exc)
        status = 422
    except Conflict as exc:  # Stale: someone changed the case since; Conflict: not in its category stage
        problems = [exc.message]
        status = 409
    else:
        flash(gettext("已将案件由第%(old)s类改为第%(new)s类（%(label)s）", old=done.attempt["category"],
                      new=done.case.category, label=CATEGORIES[done.case.category]), "success")
        return redirect(url_for("ui_cases.case", case_id=case_id))
    session.rollback()
    target = case_page.case_for_reclassification(session, g.actor, case_id)
    form.version.data = str(target.version)
    return _reclassify_page(target, form, "edit", problems, status)


def _reclassify_page(target: Any, form: ReclassifyForm, mode: str, problems: list[str], status: int) -> Any:
    chosen = form.category.data if form.category.data in {v for v, _ in CATEGORY_CHOICES} else None
    return render_template("ui/case_reclassify.html", title=gettext("改变类别"), case=target, form=form, mode=mode,
                           problems=problems, chosen=int(chosen) if chosen else None,
                           categories=CATEGORIES), status
