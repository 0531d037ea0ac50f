"""The administration pages (系统管理, administrators only): users (list, create, deactivate, reset the
password), agencies (list, create, rename), process versions (list, deploy the configured
directory, migrate running cases: a dry run first, then the same migration for real) and the
working-day calendar (each year's status; entering a year's published holiday schedule).

A one-time password is rendered once, on the page answering the POST that made it; it is never put
in the session or shown again. Every change is written to the access log by the service.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import gettext
from wtforms.fields.choices import SelectChoice

from models import AGENCY_ROLES, USER_ROLES
from workflows import agencies, permissions, processes, users, workdays
from workflows.engine import clock
from workflows.errors import HuiqianError, Invalid, NotFound
from workflows.inputs import MAX_PAGE, MAX_YEAR, MIN_YEAR
from workflows.migration import STATUS_LABELS

from .. import get_session
from ..api.errors import STATUS
from . import N_, china_time, signed_in_only
from .admin_forms import (
    AgencyFilters,
    CalendarForm,
    MigrateForm,
    NewAgencyForm,
    NewUserForm,
    RenameAgencyForm,
    UserFilters,
)
from .audit import page_error
from .auth import _safe_next

bp = Blueprint("ui_admin", __name__)
bp.register_error_handler(HuiqianError, page_error)

PAGE = 50
# The dry run a migration must follow: a digest of its parameters (the codes may not fit a cookie).
_PLANNED = "hq_migration_plan"


@bp.before_request
def _administrators_only() -> Any:
    found = signed_in_only()
    if found is None:
        permissions.require_admin(g.actor, "使用系统管理页面")  # Forbidden → the 403 page
    return found


@bp.context_processor
def _helpers() -> dict[str, Any]:
    # Every administration page flags a year ahead that no calendar covers, with the way to enter it.
    return {"user_roles": USER_ROLES, "agency_roles": AGENCY_ROLES,
            "uncovered_years": workdays.uncovered_years_ahead(get_session(), clock.now(), 1)}


def _field_errors(form: Any, error: HuiqianError) -> str | None:
    """Put a service's field errors next to their fields; return what no field of the form shows."""
    if not error.errors:
        return error.message
    unplaced = []
    for name, messages in error.errors.items():
        if name in form:
            form[name].errors = list(form[name].errors) + list(messages)
        else:
            unplaced.extend(messages)
    return "；".join(unplaced) or None


def _status(error: HuiqianError) -> int:
    return next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)


def _filters(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    """The filters as given, for the pager's links."""
    return {name: form[name].raw_data[0] for name in names if form[name].raw_data and form[name].raw_data[0]}


def _no_store(page: str) -> Any:
    """A page with a one-time password must not be kept by the browser or a proxy."""
    return page, 200, {"Cache-Control": "no-store"}


def _offset(form: Any) -> int:
    return ((form.page.data or 1) - 1) * PAGE


# --- users ------------------------------------------------------------------------------------------

_USER_FILTERS = ("q", "role", "active", "region", "agency_id")


@bp.get("/admin/users", endpoint="users")
def user_list() -> Any:
    form = UserFilters(formdata=request.args)
    found, error = None, None
    if form.validate():
        try:
            found = users.list_users(get_session(), g.actor, agency_id=form.agency_id.data,
                                     region=form.region.data or None, role=form.role.data or None,
                                     active={"1": True, "0": False}.get(form.active.data or ""),
                                     q=form.q.data or None, limit=PAGE, offset=_offset(form))
        except Invalid as exc:
            error = _field_errors(form, exc)
    return render_template("ui/admin_users.html", form=form, found=found, error=error,
                           filters=_filters(form, _USER_FILTERS)), (200 if found is not None else 422)


@bp.route("/admin/users/new", methods=["GET", "POST"])
def new_user() -> Any:
    form = NewUserForm()
    # The agencies of the jurisdiction grouped by place, for the select (one scoped query).
    form.agency_id.choices = [SelectChoice("", gettext("请选择"))] + [
        SelectChoice(str(a.id), a.name, optgroup=f"{a.region.name}（{a.region.code}）")
        for a in agencies.list_agencies(get_session(), g.actor, limit=MAX_PAGE).items]
    error, status = None, 200
    if form.validate_on_submit():
        try:
            credentials = users.create_user(get_session(), g.actor, username=form.username.data,
                                            display_name=form.display_name.data, role=form.role.data,
                                            agency_id=form.agency_id.data)
        except HuiqianError as exc:
            error, status = _field_errors(form, exc), _status(exc)
        else:
            return _no_store(render_template("ui/admin_credentials.html", credentials=credentials, created=True))
    elif form.is_submitted():
        status = 422
    return render_template("ui/admin_user_new.html", form=form, error=error), status


@bp.post("/admin/users/<int:user_id>/deactivate")
def deactivate_user(user_id: int) -> Any:
    try:
        user = users.deactivate_user(get_session(), g.actor, user_id)
    except NotFound:
        raise
    except HuiqianError as exc:  # e.g. deactivating oneself
        flash(exc.message, "danger")
    else:
        flash(gettext("已停用用户 %(username)s（%(name)s）：其登录、浏览器会话和接口令牌随即失效",
                      username=user.username, name=user.display_name), "success")
    return redirect(_safe_next(request.form.get("next") or url_for("ui_admin.users")))


@bp.post("/admin/users/<int:user_id>/reset-password")
def reset_password(user_id: int) -> Any:
    credentials = users.reset_password(get_session(), g.actor, user_id)
    return _no_store(render_template("ui/admin_credentials.html", credentials=credentials, created=False))


# --- agencies ---------------------------------------------------------------------------------------

_AGENCY_FILTERS = ("region", "role")


@bp.route("/admin/agencies", methods=["GET", "POST"], endpoint="agencies")
def agency_list() -> Any:
    new = NewAgencyForm(prefix="new")  # the filters above it have a region and a role too: distinct ids
    error, status = None, 200
    if new.validate_on_submit():
        try:
            agency = agencies.create_agency(get_session(), g.actor, region=new.region.data, role=new.role.data,
                                            name=new.name.data)
        except HuiqianError as exc:
            error, status = _field_errors(new, exc), _status(exc)
        else:
            flash(gettext("已新建部门「%(name)s」", name=agency.name), "success")
            return redirect(url_for("ui_admin.agencies", region=agency.region.code))
    elif new.is_submitted():
        status = 422
    form = AgencyFilters(formdata=request.args)
    found, list_error = None, None
    if form.validate():
        try:
            found = agencies.list_agencies(get_session(), g.actor, region=form.region.data or None,
                                           role=form.role.data or None, limit=PAGE, offset=_offset(form))
        except Invalid as exc:
            list_error = _field_errors(form, exc)
            status = max(status, 422)
    elif status == 200:
        status = 422
    return render_template("ui/admin_agencies.html", form=form, new=new, found=found, error=error,
                           list_error=list_error, filters=_filters(form, _AGENCY_FILTERS)), status


@bp.route("/admin/agencies/<int:agency_id>/rename", methods=["GET", "POST"])
def rename_agency(agency_id: int) -> Any:
    form = RenameAgencyForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            agency = agencies.rename_agency(get_session(), g.actor, agency_id, name=form.name.data)
        except NotFound:
            raise
        except HuiqianError as exc:
            error, status = _field_errors(form, exc), _status(exc)
        else:
            flash(gettext("部门已更名为「%(name)s」", name=agency.name), "success")
            return redirect(url_for("ui_admin.agencies", region=agency.region.code))
    elif form.is_submitted():
        status = 422
    agency = agencies.get_agency(get_session(), g.actor, agency_id)
    if not form.is_submitted():
        form.name.data = agency.name
    return render_template("ui/admin_agency_rename.html", form=form, agency=agency, error=error), status


# --- process versions -------------------------------------------------------------------------------

@bp.get("/admin/versions", endpoint="versions")
def version_list() -> Any:
    return render_template("ui/admin_versions.html", versions=processes.versions(get_session(), g.actor),
                           error=None)


@bp.post("/admin/versions/deploy")
def deploy() -> Any:
    try:
        result = processes.deploy_configured(get_session(), g.actor)
    except HuiqianError as exc:  # a file that fails validation, an empty directory
        get_session().rollback()
        found = processes.versions(get_session(), g.actor)
        return render_template("ui/admin_versions.html", versions=found, error=exc.message), _status(exc)
    v = result.version
    if result.created:
        flash(gettext("已部署流程版本 v%(number)s（%(hash)s）；新立案件将使用此版本", number=v.number,
                      hash=v.content_hash[:12]), "success")
    else:
        flash(gettext("流程文件没有变化，未产生新版本（当前最新为 v%(number)s）", number=v.number), "info")
    return redirect(url_for("ui_admin.versions"))


def _plan_key(number: int, codes: list[str] | None) -> str:
    return hashlib.sha256(json.dumps([number, codes], ensure_ascii=False).encode()).hexdigest()


@bp.route("/admin/versions/migrate", methods=["GET", "POST"])
def migrate() -> Any:
    """GET: the form. POST: the dry run (plan), offering 执行迁移 with the same parameters; 执行迁移
    runs only right after the dry run of exactly those parameters, else the dry run is shown again."""
    versions = processes.versions(get_session(), g.actor)
    form = MigrateForm()
    form.to.choices = [SelectChoice("", gettext("请选择"))] + [
        SelectChoice(str(v.number), gettext("v%(number)s（%(at)s 部署，在办 %(open)s 件）", number=v.number,
                                            at=china_time(v.deployed_at), open=v.open_cases))
        for v in versions]
    if request.method == "GET" and versions:
        form.to.data = versions[-1].number
    results, executed, notice, error, status = None, False, None, None, 200
    if form.validate_on_submit():
        number, codes = form.to.data, form.codes()
        key = _plan_key(number, codes)
        execute = request.form.get("action") == "execute"
        if execute and browser_session.get(_PLANNED) != key:
            execute, notice = False, gettext("迁移参数与上次预演不一致（或尚未预演），以下是按这些参数重新预演的结果，"
                                              "确认无误后再执行。")
        try:
            results = processes.migrate_to(get_session(), g.actor, number, codes, dry_run=not execute)
        except HuiqianError as exc:
            error, status = _field_errors(form, exc), _status(exc)
        else:
            executed = execute
            if execute:
                browser_session.pop(_PLANNED, None)
            else:
                browser_session[_PLANNED] = key
    elif form.is_submitted():
        status = 422
    return render_template("ui/admin_migrate.html", form=form, results=results, executed=executed, notice=notice,
                           error=error, status_labels=STATUS_LABELS), status


# --- the working-day calendar -----------------------------------------------------------------------

YEAR_STATUSES = {"admin": N_("已录入（以管理员录入为准）"), "library": N_("已覆盖（国务院已公布，系统内置）"),
                 "uncovered": N_("尚未录入（期限按周末暂定）")}


def _chosen_year() -> int | str:
    text = request.args.get("year", "").strip()
    if text.isascii() and text.isdigit() and len(text) == 4:
        return int(text)
    uncovered = workdays.uncovered_years_ahead(get_session(), clock.now(), 1)
    return uncovered[0] if uncovered else clock.now().year


@bp.route("/admin/calendar", methods=["GET", "POST"], endpoint="calendar")
def calendar() -> Any:
    """GET: the years' status and the chosen year's entries, in the form. POST: enter that year's
    schedule (replacing what was entered for it); a refused schedule comes back as typed, the reason
    under the field it concerns."""
    form = CalendarForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            done = workdays.enter_schedule(get_session(), g.actor, form.year.data, form.entries("holidays"),
                                           form.entries("workdays"))
        except HuiqianError as exc:
            get_session().rollback()
            error, status = form.show_errors(exc), _status(exc)
        else:
            flash(gettext("已录入 %(year)s 年节假日安排；该年的期限不再是暂定", year=done.year), "success")
            return redirect(url_for("ui_admin.calendar", year=done.year))
    elif form.is_submitted():
        status = 422
    typed = form.year.data if form.is_submitted() else None
    year = typed if isinstance(typed, int) and MIN_YEAR <= typed <= MAX_YEAR else _chosen_year()
    page = workdays.schedule_page(get_session(), g.actor, year)
    if not form.is_submitted():
        form.year.data = page.year
        form.holidays.data = "\n".join(f"{d.day.isoformat()} {d.name}" for d in page.holidays)
        form.workdays.data = "\n".join(f"{d.day.isoformat()} {d.name}" for d in page.workdays)
    return render_template("ui/admin_calendar.html", form=form, page=page, error=error,
                           year_statuses=YEAR_STATUSES), status
