"""通知 page: the signed-in user's notifications, newest first, unread ones marked; opening one marks
it read and goes to its task or case; one or all can be marked read."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from models import NOTIFICATION_KINDS
from workflows import notifications
from workflows.errors import Invalid

from .. import get_session
from . import local_path, signed_in

bp = Blueprint("ui_notifications", __name__)
PER_PAGE = 20


def _page_number(text: str | None) -> int | None:
    if text is None or text == "":
        return 1
    return int(text) if text.isdigit() and 0 < len(text) <= 6 and int(text) > 0 else None


@bp.get("/notifications")
@signed_in
def notification_list() -> Any:
    unread_only = request.args.get("unread") == "1"
    page = _page_number(request.args.get("page"))
    if page is None:
        flash(gettext("页码应为正整数，已显示第 1 页"), "warning")
        page = 1
    found = notifications.notification_page(get_session(), g.actor, unread_only=unread_only, limit=PER_PAGE,
                                            offset=(page - 1) * PER_PAGE)
    return render_template("ui/notifications.html", title=gettext("通知"), found=found, page=page,
                           unread_only=unread_only, kinds=NOTIFICATION_KINDS, per_page=PER_PAGE)


def _target(note: Any) -> str:
    if note.task_id is not None:
        return url_for("ui_tasks.task", task_id=note.task_id)
    if note.case_id is not None:
        return url_for("ui_cases.case", case_id=note.case_id)
    return url_for("ui_notifications.notification_list")


@bp.post("/notifications/<int:notification_id>/open")
@signed_in
def open_notification(notification_id: int) -> Any:
    """Mark it read and go where it points (another user's id: back to the list, as if unknown)."""
    session = get_session()
    note = notifications.own_notification(session, g.actor, notification_id)
    if note is None:
        flash(gettext("通知不存在"), "warning")
        return redirect(url_for("ui_notifications.notification_list"))
    notifications.mark_read(session, g.actor, [note.id])
    return redirect(_target(note))


@bp.post("/notifications/read")
@signed_in
def mark_read() -> Any:
    wanted = request.form.getlist("id")
    try:
        ids = None if request.form.get("all") == "1" else [int(i) if i.isdigit() and len(i) < 12 else i
                                                          for i in wanted]
        marked = notifications.mark_read(get_session(), g.actor, ids)
    except Invalid as exc:
        flash(exc.message, "danger")
    else:
        flash(gettext("已将 %(n)s 条通知标为已读", n=marked), "success")
    return redirect(local_path(request.form.get("next")) or url_for("ui_notifications.notification_list"))
