"""The officer's inbox (待办): the escalations addressed to the officer's agency (督办事项: 已阅, 答复)
above the tasks, tabs by view, filters carried in the URL, deadline colours, named saved filters, and
the filtered list as an XLSX file.

Views parse the query string (InboxArgs), call one read (workflows.inbox.task_listing) and render.
Auditors and admins work no tasks: they are told so instead of being shown an empty list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from models import CATEGORIES, Task
from workflows import bulk, copies, escalations, inbox, saved_filters, task_operations
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

from .. import get_session
from . import N_, escalation_days, signed_in
from .inbox_export import workbook_response

bp = Blueprint("ui_inbox", __name__)

PAGE_KEY = "inbox"
WORKING_ROLES = ("officer", "supervisor")
# Labels stay Chinese here (the XLSX export and messages use them) and are translated where shown.
TABS = {"inbox": N_("待办"), "mine": N_("我的已签收"), "unclaimed": N_("未签收"), "completed": N_("已办")}
DUE_CHOICES = {"soon": N_("即将到期"), "overdue": N_("已超期")}
PER_PAGE_CHOICES = (25, 50, 100)
COPIES_PER_PAGE = 25
PAGE_MAX = 1_000_000
LABELS = {"view": "视图", "due": "时限", "category": "类别", "case": "案件", "page": "页码", "per_page": "每页件数"}
NOT_WORKING = N_("审计与管理员不办理任务，没有待办列表。查看案件及其任务请从“案件”进入。")


def _one_of(choices: Any, wanted: str) -> validate.OneOf:
    return validate.OneOf([str(c) for c in choices], error=f"应为 {wanted}")


def _page_number(text: str) -> None:
    # Digits only and short: int() of a 5,000-digit string costs (and raises past 4,300 digits).
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or not 1 <= int(text) <= PAGE_MAX:
        raise ValidationError(f"应为 1–{PAGE_MAX} 之间的整数")


class InboxArgs(Schema):
    """The inbox's query string. Every value is text as typed; unknown parameters are ignored."""

    class Meta:
        unknown = EXCLUDE

    view = fields.String(load_default="inbox", validate=_one_of(TABS, "、".join(TABS.values()) + " 之一"))
    due = fields.String(load_default="", validate=_one_of(["", *DUE_CHOICES], "即将到期或已超期"))
    category = fields.String(load_default="", validate=_one_of(["", *CATEGORIES], "第 1–9 类之一"))
    case = fields.String(load_default="")
    page = fields.String(load_default="1", validate=_page_number)
    per_page = fields.String(load_default=str(PER_PAGE_CHOICES[0]),
                             validate=_one_of(PER_PAGE_CHOICES, "、".join(map(str, PER_PAGE_CHOICES)) + " 之一"))


@dataclass(frozen=True)
class Filters:
    """The list a URL asks for, each value as the query string carries it."""

    view: str = "inbox"
    due: str = ""
    category: str = ""
    case: str = ""
    page: int = 1
    per_page: int = PER_PAGE_CHOICES[0]

    def query(self, *, with_page: bool = True, **changes: Any) -> str:
        """The query string of this list (defaults left out), with `changes` applied."""
        values = asdict(replace(self, **changes))
        defaults = asdict(Filters())
        return urlencode([(k, v) for k, v in values.items()
                          if v != defaults[k] and (with_page or k != "page")])

    @property
    def due_label(self) -> str:
        return gettext(DUE_CHOICES.get(self.due, "全部"))

    @property
    def category_label(self) -> str:
        if not self.category:
            return gettext("全部")
        return gettext("第%(category)s类 %(category_label)s", category=self.category,
                       category_label=gettext(CATEGORIES[int(self.category)]))

    def url(self, **changes: Any) -> str:
        query = self.query(**changes)
        return url_for("ui_inbox.inbox") + (f"?{query}" if query else "")


def parse_filters(args: MultiDict[str, str]) -> tuple[Filters, dict[str, list[str]]]:
    """The filters of a query string and, per field, what is wrong with them (in Chinese); a wrong
    field keeps its default so the form can still be drawn."""
    errors: dict[str, list[str]] = {}
    try:
        loaded = InboxArgs().load(args.to_dict(flat=True))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        errors = {k: [f"{LABELS.get(k, k)}：{m}" for m in v] for k, v in messages.items() if k in LABELS}
        loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}  # the fields that were right
    defaults = Filters()
    found = Filters(view=loaded.get("view", defaults.view), due=loaded.get("due", defaults.due),
                    category=loaded.get("category", defaults.category), case=loaded.get("case", "").strip(),
                    page=int(loaded.get("page", defaults.page)),
                    per_page=int(loaded.get("per_page", defaults.per_page)))
    return found, errors


def _thresholds() -> tuple[int, int]:
    config = current_app.config
    return int(config["INBOX_DUE_NEAR_DAYS"]), int(config["INBOX_DUE_SOON_DAYS"])


def listing(filters: Filters, *, export_rows: int | None = None) -> inbox.Listing:
    """The one read behind the page and the export."""
    near, soon = _thresholds()
    limit = export_rows if export_rows is not None else filters.per_page
    return inbox.task_listing(
        get_session(), g.actor, view=filters.view, due=filters.due or None,
        category=int(filters.category) if filters.category else None, case_ref=filters.case or None,
        limit=limit, offset=0 if export_rows is not None else (filters.page - 1) * filters.per_page,
        near_days=near, soon_days=soon, export=export_rows is not None)


def _render(filters: Filters, errors: dict[str, list[str]], *, status: int = 200,
            save_errors: dict[str, list[str]] | None = None, save_name: str = "",
            answer_errors: dict[int, list[str]] | None = None, answers: dict[int, str] | None = None
            ) -> tuple[str, int]:
    found = None
    if not errors:
        try:
            found = listing(filters)
        except Invalid as exc:
            errors = {k: v for k, v in exc.errors.items()} or {"_": [exc.message]}
            status = 400
    current = filters.url()
    near, soon = _thresholds()
    days = escalation_days()
    addressed = escalations.addressed_to_me(get_session(), g.actor, **days)
    g.escalations_addressed = addressed.total  # the menu's count, without asking again
    return render_template(
        "ui/inbox.html", title=gettext("待办"), filters=filters, errors=errors, listing=found, tabs=TABS,
        due_choices=DUE_CHOICES, categories=CATEGORIES, per_page_choices=PER_PAGE_CHOICES,
        saved=saved_filters.list_filters(get_session(), g.actor, PAGE_KEY), current=current,
        back=urlencode({"back": current}), near_days=near, soon_days=soon,
        save_errors=save_errors or {}, save_name=save_name, export_query=filters.query(with_page=False),
        addressed=addressed, escalation_near=days["near_days"], escalation_soon=days["soon_days"],
        may_urge=_may_urge(),
        answer_errors=answer_errors or {}, answers=answers or {}, here=filters.query(),
    ), status


def _not_working(status: int = 200) -> tuple[str, int]:
    return render_template("ui/inbox_none.html", title=gettext("待办"), message=gettext(NOT_WORKING)), status


@bp.get("/inbox", endpoint="inbox")
@signed_in
def inbox_page() -> Any:
    if g.actor.role not in WORKING_ROLES:
        return _not_working()
    filters, errors = parse_filters(request.args)
    return _render(filters, errors, status=400 if errors else 200)


@bp.get("/inbox/export.xlsx")
@signed_in
def export() -> Any:
    if g.actor.role not in WORKING_ROLES:
        return _not_working(403)
    filters, errors = parse_filters(request.args)
    if errors:
        return _render(filters, errors, status=400)
    cap = min(int(current_app.config["INBOX_EXPORT_MAX_ROWS"]), inbox.EXPORT_MAX)
    try:
        found = listing(filters, export_rows=cap)
    except Invalid as exc:
        return _render(filters, dict(exc.errors) or {"_": [exc.message]}, status=400)
    return workbook_response(found, filters, gettext(TABS[filters.view]), cap)


@bp.get("/inbox/copies", endpoint="copies")
@signed_in
def copies_page() -> Any:
    """抄送我的: the tasks copied to the reader, unread first (read-only; each opens the task page)."""
    page_text = request.args.get("page", "1")
    number = int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) <= 7 else 1
    unread_only = request.args.get("unread") == "1"
    session = get_session()
    found = copies.copied_to_me(session, g.actor, unread_only=unread_only, limit=COPIES_PER_PAGE,
                                offset=(max(number, 1) - 1) * COPIES_PER_PAGE)
    return render_template("ui/inbox_copies.html", title=gettext("抄送我的"), page=found, tabs=TABS,
                           unread_only=unread_only, unread=copies.unread_copies(session, g.actor))


@bp.post("/inbox/copies/<int:copy_id>/read", endpoint="read_copy")
@signed_in
def read_copy(copy_id: int) -> Any:
    try:
        copies.mark_read(get_session(), g.actor, copy_id)
    except NotFound as exc:
        flash(exc.message, "danger")
    return redirect(url_for("ui_inbox.copies"))


def _picked() -> list[int]:
    return [int(v) for v in request.values.getlist("task_ids") if v.isascii() and v.isdigit() and len(v) < 11]


def _may_urge() -> bool:
    return g.actor.role == "supervisor" and "urge" in escalations.raisable_levels(g.actor)


@bp.get("/inbox/bulk", endpoint="bulk")
@signed_in
def bulk_confirm() -> Any:
    """The second step of 批量转办 / 批量催办: the ticked tasks, and the target (转办) or the reason and reply
    deadline (催办) to confirm."""
    action = request.args.get("action", "reassign")
    if g.actor.role not in WORKING_ROLES or action not in ("reassign", "urge") or (action == "urge" and not _may_urge()):
        return _not_working(403)
    picked = _picked()
    if not picked:
        flash(gettext("请先在列表中勾选任务。"), "warning")
        return redirect(url_for("ui_inbox.inbox"))
    try:
        chosen = bulk.selection(get_session(), g.actor, picked)
    except Invalid as exc:
        flash(exc.message, "danger")
        return redirect(url_for("ui_inbox.inbox"))
    return render_template("ui/inbox_bulk.html", title=gettext("批量转办") if action == "reassign" else gettext("批量催办"),
                           action=action, chosen=chosen, bulk_max=task_operations.BULK_MAX)


@bp.post("/inbox/bulk", endpoint="bulk_run")
@signed_in
def bulk_run() -> Any:
    """Run 批量转办 / 批量催办 and show each task's result."""
    form = request.form
    action = form.get("action", "")
    if g.actor.role not in WORKING_ROLES or action not in ("reassign", "urge"):
        return _not_working(403)
    session, picked = get_session(), _picked()
    try:
        if action == "reassign":
            kind, _, ident = form.get("target", "").partition(":")
            value = int(ident) if ident.isdigit() and len(ident) < 11 else None
            target = {"user_id": value} if kind == "user" else {"agency_id": value}
            results = task_operations.bulk_reassign(session, g.actor, picked, reason=form.get("reason"), **target)
        else:
            days = form.get("due_in_workdays", "").strip()
            results = bulk.bulk_urge(session, g.actor, picked, reason=form.get("reason"),
                                     due_in_workdays=int(days) if days.isdigit() and len(days) < 5 else (days or None))
    except Invalid as exc:
        flash(exc.message, "danger")
        return redirect(url_for("ui_inbox.bulk", action=action, task_ids=picked))
    names = dict(session.execute(select(Task.id, Task.name).where(Task.id.in_([r.task_id for r in results]))).all())
    return render_template("ui/inbox_bulk_result.html", title=gettext("批量办理结果"), action=action,
                           results=results, names=names)


@bp.post("/inbox/filters")
@signed_in
def save_filter() -> Any:
    if g.actor.role not in WORKING_ROLES:
        return _not_working(403)
    name = request.form.get("name", "")
    query = request.form.get("query", "")
    try:
        saved = saved_filters.save_filter(get_session(), g.actor, PAGE_KEY, name, query)
    except Invalid as exc:
        filters, errors = parse_filters(MultiDict(parse_qsl(query[:saved_filters.QUERY_MAX])))
        return _render(filters, errors, status=400, save_errors=exc.errors or {"name": [exc.message]},
                       save_name=name[:saved_filters.NAME_MAX])
    flash(gettext("已保存常用筛选「%(name)s」", name=saved.name), "success")
    return redirect(url_for("ui_inbox.inbox") + (f"?{saved.query}" if saved.query else ""))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@signed_in
def delete_filter(filter_id: int) -> Any:
    if g.actor.role not in WORKING_ROLES:
        return _not_working(403)
    try:
        gone = saved_filters.delete_filter(get_session(), g.actor, filter_id)
    except NotFound as exc:
        return render_template("ui/error.html", title=gettext("未找到"), message=exc.message), 404
    flash(gettext("已删除常用筛选「%(name)s」", name=gone.name), "success")
    try:
        back = saved_filters.normalized_query(PAGE_KEY, request.form.get("back", ""))
    except Invalid:
        back = ""
    return redirect(url_for("ui_inbox.inbox") + (f"?{back}" if back else ""))


# --- 督办事项: the escalations addressed to the reader's agency ----------------------------------------

def _back_to_inbox() -> str:
    """The inbox list the form was posted from (its query string, as the page put it in `back`)."""
    back, errors = parse_filters(MultiDict(parse_qsl(request.form.get("back", "")[:2000])))
    return back.url() if not errors else url_for("ui_inbox.inbox")


def _refused(error: NotFound | Forbidden) -> tuple[str, int]:
    title, status = (gettext("未找到"), 404) if isinstance(error, NotFound) else (gettext("无权操作"), 403)
    return render_template("ui/error.html", title=title, message=error.message), status


@bp.post("/inbox/escalations/<int:escalation_id>/acknowledge")
@signed_in
def acknowledge_escalation(escalation_id: int) -> Any:
    """已阅: the target marks an escalation read; back to the inbox."""
    try:
        done = escalations.acknowledge(get_session(), g.actor, escalation_id)
    except (NotFound, Forbidden) as exc:
        return _refused(exc)
    flash(gettext("已阅%(level)s（#%(id)s）", level=gettext(done.level_label), id=done.id), "success")
    return redirect(_back_to_inbox() + f"#escalation-{done.id}")


@bp.post("/inbox/escalations/<int:escalation_id>/respond")
@signed_in
def respond_escalation(escalation_id: int) -> Any:
    """答复: the target answers an escalation (which also marks it read); a refused answer comes back
    with what was typed and the reason next to it."""
    session = get_session()
    response = request.form.get("response", "")
    version = request.form.get("version", "")
    expected = int(version) if version.isascii() and version.isdigit() and len(version) <= 9 else None
    try:
        done = escalations.respond(session, g.actor, escalation_id, response, expected_version=expected)
    except (NotFound, Forbidden) as exc:
        return _refused(exc)
    except (Invalid, Conflict) as exc:  # an empty or too long answer; already answered, or changed since
        session.rollback()
        messages = [m for ms in exc.errors.values() for m in ms] or [exc.message]
        back, _ = parse_filters(MultiDict(parse_qsl(request.form.get("back", "")[:2000])))
        return _render(back, {}, status=422 if isinstance(exc, Invalid) else 409,
                       answer_errors={escalation_id: messages}, answers={escalation_id: response})
    flash(gettext("已答复%(level)s（#%(id)s）", level=gettext(done.level_label), id=done.id), "success")
    return redirect(_back_to_inbox() + f"#escalation-{done.id}")
