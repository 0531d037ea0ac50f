"""The auditor's pages (审计): case histories across the jurisdiction with filters, one case's complete
history as a JSON download and as a printable page. Read-only: nothing here renders a control that
changes anything, and every route is a GET.

Also the two small page helpers the oversight sections (督办, 审计, 系统管理) share: a service refusal
rendered as an error page, and times in China time.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import Schema, fields
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from models import CASE_STATUSES, CATEGORIES, EVENT_KINDS
from models.history import CHANNELS
from workflows import audit
from workflows.errors import HuiqianError, Invalid

from .. import get_session
from ..api.errors import STATUS
from ..schemas.history import EventSchema
from . import signed_in_only

bp = Blueprint("ui_audit", __name__)

_TITLES = {401: _l("请先登录"), 403: _l("无权访问"), 404: _l("页面不存在"), 409: _l("操作未能完成"),
           412: _l("内容已变化"), 422: _l("输入有误"), 503: _l("服务暂时不可用")}


def page_error(error: HuiqianError) -> Any:
    """A service's refusal as a page with the matching status: Forbidden 403, NotFound (including
    anything outside the reader's jurisdiction) 404, and so on; the message is the service's own."""
    status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
    return render_template("ui/error.html", title=_TITLES.get(status, _TITLES[409]), message=error.message), status


def options(labels: dict[str, str], blank: Any) -> list[SelectChoice]:
    """A select's options: a blank first (“全部”, “请选择”), then each code with its label."""
    return [SelectChoice("", blank)] + [SelectChoice(code, label) for code, label in labels.items()]


bp.register_error_handler(HuiqianError, page_error)


@bp.before_request
def _auditors_only() -> Any:
    found = signed_in_only()
    if found is None:
        audit.require_auditor(g.actor)  # Forbidden → the 403 page
    return found


class EventFilters(FlaskForm):
    """The audit list's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    case_code = StringField(_l("案件编号"), validators=[Optional(), Length(max=audit.CODE_MAX)])
    username = StringField(_l("操作人用户名"), validators=[Optional(), Length(max=audit.USERNAME_MAX)])
    kind = SelectField(_l("事件类型"), choices=options(EVENT_KINDS, _l("全部")), default="")
    channel = SelectField(_l("来源渠道"), choices=options(CHANNELS, _l("全部")), default="")
    since = StringField(_l("起始日期"), validators=[Optional(), Length(max=10)], render_kw={"type": "date"})
    until = StringField(_l("截止日期"), validators=[Optional(), Length(max=10)], render_kw={"type": "date"})
    page = IntegerField(_l("页码"), validators=[Optional(), NumberRange(min=1, message=_l("应为正整数"))], default=1)


@bp.get("/audit")
def events() -> Any:
    form = EventFilters(formdata=request.args)
    found, error = None, None
    if form.validate():
        criteria = {name: form[name].data or None for name in ("case_code", "username", "kind", "channel",
                                                               "since", "until")}
        page = form.page.data or 1
        try:
            found = audit.search_events(get_session(), g.actor, **criteria, limit=audit.PAGE,
                                        offset=(page - 1) * audit.PAGE)
        except Invalid as exc:
            placed = {name: list(messages) for name, messages in exc.errors.items() if name in form}
            for name, messages in placed.items():
                form[name].errors = messages
            error = None if placed else exc.message
    status = 200 if found is not None else 422
    return render_template("ui/audit.html", form=form, found=found, error=error, kinds=EVENT_KINDS,
                           channels=CHANNELS, filters=_query(form)), status


def _query(form: EventFilters) -> dict[str, str]:
    """The filters as given, for the pager's links."""
    return {name: form[name].raw_data[0] for name in ("case_code", "username", "kind", "channel", "since", "until")
            if form[name].raw_data and form[name].raw_data[0]}


class _CaseSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    project_name = fields.String()
    region_code = fields.String(attribute="region.code")
    region = fields.String(attribute="region.name")
    category = fields.Integer()
    status = fields.String()
    households_overdue = fields.Integer()
    households_resettled = fields.Integer()


class CaseHistoryExport(Schema):
    """One case's complete history as downloaded: the case, when exported, every event in order."""

    case = fields.Nested(_CaseSchema)
    exported_at = fields.DateTime()
    events = fields.List(fields.Nested(EventSchema))


@bp.get("/audit/cases/<int:case_id>/history.json")
def history_json(case_id: int) -> Any:
    record = audit.case_record(get_session(), g.actor, case_id)
    body = json.dumps(CaseHistoryExport().dump(record), ensure_ascii=False, indent=2)
    response = current_app.response_class(body, mimetype="application/json")
    # The id, not the code, names the file: a code is typed by people and need not be a safe file name.
    response.headers["Content-Disposition"] = f'attachment; filename="case-{record.case.id}-history.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/audit/cases/<int:case_id>/print")
def history_print(case_id: int) -> Any:
    record = audit.case_record(get_session(), g.actor, case_id)
    return render_template("ui/audit_print.html", record=record, categories=CATEGORIES, statuses=CASE_STATUSES,
                           channels=CHANNELS)
