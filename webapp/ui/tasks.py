"""The task page (/tasks/<id>): the case in brief, the task's instructions, the form its BPMN declares
with evidence uploads, the 审批意见 with one-click stock opinions, 暂存, 签收/退回, 代办 with a reason,
and comments. What a reader may not do is not drawn (an auditor sees no control at all).

Views parse the form (task_form), call the service (workflows.task_desk, drafts, tasks, comments,
opinions) and render; a service's Invalid is shown under its field, in Chinese, with what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from workflows import (
    attachments,
    comments,
    copies,
    delegation,
    drafts,
    extensions,
    inbox,
    opinions,
    signoff,
    task_desk,
    task_operations,
    tasks,
)
from workflows.engine import clock
from workflows.errors import Conflict, Forbidden, HuiqianError, Invalid, NotFound, Stale

from .. import get_session
from . import china_time, local_path, signed_in
from .task_form import hint, read_values, store_files, upload_request_limit, version_of

bp = Blueprint("ui_tasks", __name__)

DEFAULT_BACK = "/inbox"


@bp.record_once
def _allow_uploads(state: Any) -> None:
    """The task form carries evidence files, so it may be larger than the app's MAX_CONTENT_LENGTH.
    The limit has to be raised before anything reads the body, and the CSRF check (the app's first
    before_request) reads the form: so this runs ahead of it, for this one endpoint only."""
    state.app.before_request_funcs.setdefault(None, []).insert(0, _upload_limit)


def _upload_limit() -> None:
    if request.endpoint == "ui_tasks.submit":
        request.max_content_length = upload_request_limit()


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> Any:
    return render_template("ui/error.html", title=gettext("未找到"), message=error.message), 404


@bp.errorhandler(Forbidden)
def _forbidden(error: Forbidden) -> Any:
    return render_template("ui/error.html", title=gettext("无权操作"), message=error.message), 403


def _back() -> str | None:
    return local_path(request.values.get("back"))


def _task_url(task_id: int, anchor: str | None = None) -> str:
    back = _back()
    url = url_for("ui_tasks.task", task_id=task_id, **({"back": back} if back else {}))
    return f"{url}#{anchor}" if anchor else url


def _render(task_id: int, *, values: dict[str, Any] | None = None, opinion: str | None = None,
            reason: str = "", errors: dict[str, list[str]] | None = None, problem: str | None = None,
            comment: str = "", comment_errors: list[str] | None = None, extension: dict[str, Any] | None = None,
            status: int = 200) -> Any:
    """The page as the task now stands; `values`/`opinion` are what was typed (else the reader's draft)."""
    page = task_desk.task_page(get_session(), g.actor, task_id)
    restored = None
    if values is None:
        values = {}
        if page.draft is not None:
            values, opinion = dict(page.draft.data or {}), page.draft.opinion
            restored = china_time(page.draft.saved_at, "%m-%d %H:%M")
    now = clock.now()
    return render_template(
        "ui/task.html", title=page.meta.name, page=page, task=page.task, case=page.task.case,
        values=values, opinion=opinion or "", reason=reason, errors=errors or {}, problem=problem,
        restored=restored, comment=comment, comment_errors=comment_errors or [], back=_back(),
        extension_form=extension or {"values": {}, "errors": {}, "problem": None},
        extension_limits={"reason": extensions.REASON_MAX, "workdays": extensions.MAX_EXTRA_WORKDAYS},
        earliest_extension=extensions.earliest_new_date(page.task),
        may_acknowledge=extensions.may_acknowledge,
        overdue=page.task.due_at is not None and page.task.due_at < now and page.task.status == "ready",
        china_time=china_time, size_text=attachments.size_text, hint=hint), status


@bp.get("/tasks/<int:task_id>")
@signed_in
def task(task_id: int) -> Any:
    return _render(task_id)


def _next_step(finished: task_desk.Finished) -> str:
    done = finished.completion
    said = gettext("已办结「%(name)s」。", name=done.task.name)
    if done.opened:
        said += gettext("下一步：%(steps)s", steps=gettext("；").join(
            gettext("「%(name)s」已交 %(agency)s", name=t["name"], agency=t["agency"]) for t in done.opened))
    elif finished.case_status == "closed":
        said += gettext("案件已销号，流程结束。")
    else:
        said += gettext("流程等待其他环节办理完毕后继续。")
    if done.cancelled:
        said += gettext("（同时撤销：%(names)s）", names=gettext("、").join(
            gettext("「%(name)s」", name=t["name"]) for t in done.cancelled))
    return said


@bp.post("/tasks/<int:task_id>", endpoint="submit")
@signed_in
def submit(task_id: int) -> Any:
    """办结 (action=complete) or 暂存 (action=draft) the task form, with any evidence files."""
    session, actor, form = get_session(), g.actor, request.form
    action = form.get("action", "complete")
    fields = task_desk.task_page(session, actor, task_id).meta.fields
    values = read_values(fields, form)
    opinion = form.get("opinion")
    reason = form.get("on_behalf_reason")
    typed = {"values": values, "opinion": opinion, "reason": reason or ""}
    try:
        upload_errors = store_files(session, actor, task_id, fields, request.files, values)
        if action == "draft":
            drafts.save_draft(session, actor, task_id, values, opinion=opinion)
            if upload_errors:
                return _render(task_id, **typed, errors=upload_errors, status=422,
                               problem=gettext("已暂存，但有附件未能上传：%(error)s",
                                               error=next(iter(upload_errors.values()))[0]))
            flash(gettext("已暂存。下次打开此任务时将恢复暂存的内容。"), "success")
            return redirect(_task_url(task_id))
        if upload_errors:
            return _render(task_id, **typed, errors=upload_errors, status=422,
                           problem=gettext("附件未能上传，任务未办结：%(error)s",
                                           error=next(iter(upload_errors.values()))[0]))
        finished = task_desk.complete(session, actor, task_id, values, opinion=opinion,
                                      expected_version=version_of(form),
                                      on_behalf_reason=reason)
    except Invalid as exc:
        return _render(task_id, **typed, errors=exc.errors, problem=exc.message, status=422)
    except Stale as exc:
        return _render(task_id, **typed, problem=exc.message, status=409)
    except (Conflict, Forbidden) as exc:
        return _render(task_id, **typed, problem=exc.message, status=409 if isinstance(exc, Conflict) else 403)
    flash(_next_step(finished), "success")
    return redirect(_back() or DEFAULT_BACK)


def _act(task_id: int, act: Any, done: str) -> Any:
    try:
        act(get_session(), g.actor, task_id, expected_version=version_of(request.form))
        flash(done, "success")
    except Stale:
        flash(gettext("任务已被他人处理（办理、认领或退回），页面已刷新，请核对。"), "warning")
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "danger")
    return redirect(_task_url(task_id))


@bp.post("/tasks/<int:task_id>/claim")
@signed_in
def claim(task_id: int) -> Any:
    return _act(task_id, tasks.claim, gettext("已签收，任务由您办理。"))


@bp.post("/tasks/<int:task_id>/unclaim")
@signed_in
def unclaim(task_id: int) -> Any:
    return _act(task_id, tasks.unclaim, gettext("已退回，任务回到本部门的未签收任务中。"))


def _target(text: str) -> dict[str, int | None]:
    """The 转办 choice as the page sends it: "user:12" (a colleague) or "agency:5" (a bureau's pool)."""
    kind, _, ident = text.partition(":")
    value = int(ident) if ident.isdigit() and len(ident) < 11 else None
    if kind == "user":
        return {"user_id": value}
    return {"agency_id": value}


def _operate(task_id: int, act: Any) -> Any:
    """Run a 转办/退回/撤回 and say what happened; a refusal is shown on the task page, which still holds it."""
    try:
        return act()
    except Stale:
        flash(gettext("任务已被他人处理（办理、认领或退回），页面已刷新，请核对。"), "warning")
    except (Conflict, Forbidden, Invalid) as exc:
        flash(exc.message, "danger")
    return redirect(_task_url(task_id))


@bp.post("/tasks/<int:task_id>/reassign")
@signed_in
def reassign(task_id: int) -> Any:
    form = request.form

    def act() -> Any:
        task = task_operations.reassign(get_session(), g.actor, task_id, **_target(form.get("target", "")),
                                        reason=form.get("reason"), expected_version=version_of(form))
        flash(gettext("已转办「%(name)s」。", name=task.name), "success")
        return redirect(_back() or DEFAULT_BACK)
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/return", endpoint="return_task")
@signed_in
def return_task(task_id: int) -> Any:
    form = request.form
    target = form.get("target_task_id", "")

    def act() -> Any:
        done = task_operations.return_task(
            get_session(), g.actor, task_id, opinion=form.get("opinion"),
            target_task_id=int(target) if target.isdigit() and len(target) < 11 else None,
            expected_version=version_of(form))
        reopened = inbox.described(get_session(), done.task)
        flash(gettext("已退回至「%(name)s」，交 %(agency)s 重新办理。", name=reopened.name,
                      agency=reopened.agency.name), "success")
        return redirect(_back() or DEFAULT_BACK)
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/withdraw")
@signed_in
def withdraw(task_id: int) -> Any:
    form = request.form

    def act() -> Any:
        done = task_operations.withdraw(get_session(), g.actor, task_id, reason=form.get("reason") or None,
                                        expected_version=version_of(form))
        flash(gettext("已撤回「%(name)s」，请重新办理。", name=done.task.name), "success")
        return redirect(_task_url(done.task.id))
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/delegate", endpoint="delegate")
@signed_in
def delegate(task_id: int) -> Any:
    form = request.form
    chosen = form.get("user_id", "")

    def act() -> Any:
        made = delegation.delegate(get_session(), g.actor, task_id,
                                   user_id=int(chosen) if chosen.isdigit() and len(chosen) < 11 else None,
                                   note=form.get("note") or None, expected_version=version_of(form))
        flash(gettext("已委派，待受委派人办毕退回后由您办结。"), "success")
        return redirect(_task_url(task_id, "task-delegation")) if made else redirect(_task_url(task_id))
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/delegation/resolve", endpoint="resolve_delegation")
@signed_in
def resolve_delegation(task_id: int) -> Any:
    form = request.form

    def act() -> Any:
        delegation.resolve(get_session(), g.actor, task_id, opinion=form.get("opinion"),
                           expected_version=version_of(form))
        flash(gettext("已办毕退回委派人。"), "success")
        return redirect(_back() or DEFAULT_BACK)
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/delegation/recall", endpoint="recall_delegation")
@signed_in
def recall_delegation(task_id: int) -> Any:
    form = request.form

    def act() -> Any:
        delegation.recall(get_session(), g.actor, task_id, reason=form.get("reason") or None,
                          expected_version=version_of(form))
        flash(gettext("已收回委派。"), "success")
        return redirect(_task_url(task_id, "task-delegation"))
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/copies", endpoint="copy_task")
@signed_in
def copy_task(task_id: int) -> Any:
    form = request.form
    chosen = [int(v) for v in form.getlist("user_ids") if v.isascii() and v.isdigit() and len(v) < 11]

    def act() -> Any:
        made = copies.copy_task(get_session(), g.actor, task_id, user_ids=chosen, leader=form.get("leader") == "1",
                                note=form.get("note") or None)
        flash(gettext("已抄送 %(count)s 人。", count=len(made)) if made else gettext("所选人员均已抄送过，未重复抄送。"),
              "success" if made else "info")
        return redirect(_task_url(task_id, "task-copies"))
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/signers", endpoint="add_signer")
@signed_in
def add_signer(task_id: int) -> Any:
    form = request.form

    def act() -> Any:
        after = signoff.add_signer(get_session(), g.actor, task_id, role=form.get("role") or None,
                                   reason=form.get("reason"), position=form.get("position") or None)
        agency = after.changed.agency if after.changed else ""
        if after.sequential and after.changed and after.changed.status == "ready":
            said = gettext("已加签 %(agency)s，现由其先签署；原签署部门待其签署后重新签署。", agency=agency)
        elif after.sequential:
            said = gettext("已加签 %(agency)s，将在当前签署部门签署后接着签署。", agency=agency)
        else:
            said = gettext("已加签 %(agency)s，会签须等其签署后才完成。", agency=agency)
        flash(said, "success")
        # Added before the signer now signing, this page's row was withdrawn: show the new one's.
        shown = after.changed.task.id if after.changed and after.changed.task and after.sequential else task_id
        return redirect(_task_url(shown, "signoff"))
    return _operate(task_id, act)


@bp.post("/tasks/<int:task_id>/remove-signer", endpoint="remove_signer")
@signed_in
def remove_signer(task_id: int) -> Any:
    form = request.form
    shown = form.get("from", "")
    page_id = int(shown) if shown.isdigit() and len(shown) < 11 else task_id

    def act() -> Any:
        opened = signoff.remove_signer(get_session(), g.actor, task_id, reason=form.get("reason"),
                                       role=form.get("role") or None, expected_version=version_of(form))
        said = gettext("已减签。")
        if opened:
            said += gettext("随之下达：%(steps)s", steps=gettext("；").join(
                gettext("「%(name)s」已交 %(agency)s", name=t["name"], agency=t["agency"]) for t in opened))
        flash(said, "success")
        return redirect(_task_url(page_id, "signoff"))
    return _operate(page_id, act)


@bp.post("/tasks/<int:task_id>/draft/discard")
@signed_in
def discard_draft(task_id: int) -> Any:
    drafts.discard_draft(get_session(), g.actor, task_id)
    flash(gettext("已放弃暂存的内容。"), "info")
    return redirect(_task_url(task_id))


@bp.post("/tasks/<int:task_id>/comments")
@signed_in
def comment(task_id: int) -> Any:
    text = request.form.get("text", "")
    try:
        comments.post_comment(get_session(), g.actor, task_id, text)
    except Invalid as exc:
        return _render(task_id, comment=text[:comments.COMMENT_MAX * 2],
                       comment_errors=exc.errors.get("text") or [exc.message], status=422)
    flash(gettext("留言已发布。"), "success")
    return redirect(_task_url(task_id, "comments"))


@bp.post("/opinions")
@signed_in
def add_opinion() -> Any:
    try:
        opinions.add_stock_opinion(get_session(), g.actor, request.form.get("text", ""))
        flash(gettext("已加入常用意见。"), "success")
    except (Invalid, Forbidden) as exc:
        flash(exc.message, "danger")
    return redirect(local_path(request.form.get("next")) or DEFAULT_BACK)


@bp.post("/opinions/<int:opinion_id>/delete")
@signed_in
def delete_opinion(opinion_id: int) -> Any:
    try:
        opinions.delete_stock_opinion(get_session(), g.actor, opinion_id)
        flash(gettext("已删除该常用意见。"), "info")
    except HuiqianError as exc:
        flash(exc.message, "danger")
    return redirect(local_path(request.form.get("next")) or DEFAULT_BACK)


@bp.post("/tasks/<int:task_id>/extensions")
@signed_in
def request_extension(task_id: int) -> Any:
    """申请延期 from the task page: the reason and the date asked for; a refusal is shown in the form
    with what was typed."""
    typed = {"reason": request.form.get("reason", ""), "new_due_date": request.form.get("new_due_date", "")}
    try:
        extensions.request_extension(get_session(), g.actor, task_id, reason=typed["reason"],
                                     new_due_date=typed["new_due_date"])
    except Invalid as exc:
        return _render(task_id, extension={"values": typed, "errors": exc.errors, "problem": exc.message},
                       status=422)
    except (Conflict, Forbidden) as exc:
        return _render(task_id, extension={"values": typed, "errors": {}, "problem": exc.message},
                       status=409 if isinstance(exc, Conflict) else 403)
    flash(gettext("延期申请已提交，等待上级审批；审批前办理时限不变。"), "success")
    return redirect(_task_url(task_id, "extension"))


def _on_extension(task_id: int, act: Any, done: str) -> Any:
    """Withdraw a request, or mark its decision read, from its task's page; then back to that page."""
    try:
        act()
        flash(done, "success")
    except Stale:
        flash(gettext("延期申请已被他人处理，页面已刷新，请核对。"), "warning")
    except (Conflict, Forbidden) as exc:
        flash(exc.message, "danger")
    return redirect(_task_url(task_id, "extension"))


@bp.post("/tasks/<int:task_id>/extensions/<int:extension_id>/withdraw")
@signed_in
def withdraw_extension(task_id: int, extension_id: int) -> Any:
    return _on_extension(task_id, lambda: extensions.withdraw(
        get_session(), g.actor, extension_id, expected_version=version_of(request.form)),
        gettext("已撤回延期申请。"))


@bp.post("/tasks/<int:task_id>/extensions/<int:extension_id>/acknowledge")
@signed_in
def acknowledge_extension(task_id: int, extension_id: int) -> Any:
    return _on_extension(task_id, lambda: extensions.acknowledge(get_session(), g.actor, extension_id),
                         gettext("已阅审批结果。"))
