"""The case pages' forms and query strings: the list's filters (CaseListArgs), 立案 (NewCaseForm,
mapped to workflows.cases.NewCase) and 改变类别 (ReclassifyForm).

Filing is validated by the service, which names every bad field in Chinese; the form only parses
what a browser sends (text) into the types NewCase takes, and passes anything it cannot parse on as
typed, so the service's own message ("应为整数", "应为日期") is what the user reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length

from models import CASE_STATUSES, CATEGORIES, ESCALATION_LEVELS, LEAD_TYPES
from workflows.cases import NewCase
from workflows.errors import Invalid

from . import N_

CATEGORY_CHOICES = [(str(n), f"第{n}类 {label}") for n, label in CATEGORIES.items()]
OVERDUE_CHOICES = {"1": N_("有超期任务"), "0": N_("无超期任务")}  # translated where shown
PAGE_MAX = 1_000_000
LIST_LABELS = {"region": "地区", "category": "类别", "status": "状态", "overdue": "超期", "q": "关键字",
               "page": "页码"}
REASON_MAX = 1000  # reclassification.REASON_MAX


def _choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _one_of(choices: Any, wanted: str) -> validate.OneOf:
    return validate.OneOf(["", *(str(c) for c in choices)], error=f"应为{wanted}")


class CaseListArgs(Schema):
    """The case list's query string, every value as typed; unknown parameters are ignored. The place
    is checked by the service (it knows the reader's jurisdiction)."""

    class Meta:
        unknown = EXCLUDE

    region = fields.String(load_default="", validate=validate.Length(max=12, error="地区代码过长"))
    category = fields.String(load_default="", validate=_one_of(CATEGORIES, "第 1–9 类之一"))
    status = fields.String(load_default="", validate=_one_of(CASE_STATUSES, "办理中、待销号或已销号"))
    overdue = fields.String(load_default="", validate=_one_of(OVERDUE_CHOICES, "有或无超期任务"))
    q = fields.String(load_default="", validate=validate.Length(max=100, error="最多 100 个字符"))
    page = fields.String(load_default="1")


@dataclass(frozen=True)
class ListFilters:
    region: str = ""
    category: str = ""
    status: str = ""
    overdue: str = ""
    q: str = ""
    page: int = 1

    def url(self, **changes: Any) -> str:
        """This list's address (defaults left out), with `changes` applied."""
        values = {**self.__dict__, **changes}
        query = urlencode([(k, v) for k, v in values.items() if v not in ("", None) and (k, v) != ("page", 1)])
        return url_for("ui_cases.case_list") + (f"?{query}" if query else "")

    def search_args(self) -> dict[str, Any]:
        """The filters as `case_queries.search_cases` takes them."""
        return {"region_code": self.region or None,
                "category": int(self.category) if self.category else None,
                "status": self.status or None,
                "overdue": {"1": True, "0": False}.get(self.overdue),
                "q": self.q or None}


def _page_number(text: str) -> int:
    # Digits only and short: int() of a 5,000-digit string is slow, and refused past 4,300 digits.
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or not 1 <= int(text) <= PAGE_MAX:
        raise ValidationError(f"应为 1–{PAGE_MAX} 之间的整数")
    return int(text)


def parse_list_args(args: MultiDict[str, str]) -> tuple[ListFilters, dict[str, list[str]]]:
    """The filters a list URL asks for and, per field, what is wrong with them (in Chinese); a wrong
    field keeps its default so the form can still be drawn."""
    errors: dict[str, list[str]] = {}
    try:
        loaded = CaseListArgs().load(args.to_dict(flat=True))
    except ValidationError as exc:
        errors = {k: [f"{LIST_LABELS[k]}：{m}" for m in v] for k, v in exc.normalized_messages().items()
                  if k in LIST_LABELS}
        loaded = dict(exc.valid_data) if isinstance(exc.valid_data, dict) else {}
    page = 1
    try:
        page = _page_number(str(loaded.get("page", "1")).strip())
    except ValidationError as exc:
        errors.setdefault("page", []).append(f"页码：{exc.messages[0]}")
    return ListFilters(region=loaded.get("region", "").strip(), category=loaded.get("category", ""),
                       status=loaded.get("status", ""), overdue=loaded.get("overdue", ""),
                       q=loaded.get("q", "").strip(), page=page), errors


class NewCaseForm(FlaskForm):
    """立案. Labels as workflows.cases._validate names the fields, so its messages read beside them."""

    code = StringField(_l("项目编号"))
    project_name = StringField(_l("项目名称"))
    region_code = SelectField(_l("地区"), validate_choice=False)
    category = SelectField(_l("解决类别"), choices=_choices([("", _l("请选择")), *CATEGORY_CHOICES]), validate_choice=False)
    lead_type = SelectField(_l("主导方式"), choices=_choices(LEAD_TYPES.items()), validate_choice=False,
                            default="government")
    developer_name = StringField(_l("开发企业"))
    households_overdue = StringField(_l("逾期未安置户数"))
    overdue_since = StringField(_l("逾期起始日期"))
    target_date = StringField(_l("目标完成日期"))
    responsible_leader = StringField(_l("包保领导"))
    notes = TextAreaField(_l("备注"))

    REQUIRED = ("code", "project_name", "region_code", "category", "lead_type", "households_overdue",
                "overdue_since", "responsible_leader")

    def set_places(self, places: list[Any]) -> None:
        self.region_code.choices = _choices([("", _l("请选择")), *(
            (p.code, f"{p.parent.name} · {p.name}" if p.parent is not None else p.name) for p in places)])

    def to_new_case(self) -> NewCase:
        return NewCase(code=_text(self.code.data) or "", project_name=_text(self.project_name.data) or "",
                       region_code=_text(self.region_code.data) or "", lead_type=_text(self.lead_type.data) or "",
                       households_overdue=_integer(self.households_overdue.data),
                       overdue_since=_date(self.overdue_since.data), category=_integer(self.category.data),
                       responsible_leader=_text(self.responsible_leader.data) or "",
                       developer_name=_text(self.developer_name.data), target_date=_date(self.target_date.data),
                       notes=_text(self.notes.data, strip=False))

    def show_errors(self, error: Invalid) -> list[str]:
        """Put the service's messages next to their fields; return those that belong to no field. A
        required field left empty reads "必填" (the service, given nothing, may say "应为整数")."""
        loose = []
        for name, messages in (error.errors or {}).items():
            field = self._fields.get(name)
            if field is None or name == "csrf_token":
                loose.extend(messages)
            elif name in self.REQUIRED and _text(field.data) is None:
                field.errors = [gettext("%(label)s：必填", label=field.label.text)]
            else:
                field.errors = list(messages)
        return loose or ([] if error.errors else [error.message])


def _text(value: Any, *, strip: bool = True) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip() if strip else value


def _integer(value: Any) -> Any:
    """A whole number as int; anything else as typed (the service says what is wrong with it)."""
    text = _text(value)
    if text is None:
        return None
    if text.isascii() and text.lstrip("+-").isdigit() and len(text) <= 18:
        return int(text)
    return text


def _date(value: Any) -> Any:
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text) if len(text) <= 10 else text
    except ValueError:
        return text


class _Versioned(FlaskForm):
    """A form that writes a versioned record: the version read travels with it (If-Match for pages)."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        text = self.version.data or ""
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


class ReclassifyForm(_Versioned):
    """改变类别, in two steps: choose and give the reason (step "confirm"), then confirm ("execute")."""

    category = SelectField(_l("新类别"), validate_choice=False,
                           validators=[AnyOf([v for v, _ in CATEGORY_CHOICES], message=_l("新类别：应为第 1–9 类之一"))])
    reason = TextAreaField(_l("改类理由"), validators=[
        DataRequired(_l("改类理由：必填")),
        Length(max=REASON_MAX, message=_l("改类理由：最多 %(max)s 个字符", max=REASON_MAX))])

    def set_current(self, category: int) -> None:
        """Offer every category but the case's own."""
        self.category.choices = _choices([("", _l("请选择")),
                                          *((v, label) for v, label in CATEGORY_CHOICES if v != str(category))])

    def show_errors(self, error: Invalid) -> list[str]:
        loose = []
        for name, messages in (error.errors or {}).items():
            if name in ("category", "reason"):
                self[name].errors = list(messages)
            else:
                loose.extend(messages)
        return loose or ([] if error.errors else [error.message])


class EscalateForm(FlaskForm):
    """发起督办 on the case page. Only the rungs the reader may raise and the targets the service accepts
    are offered; what is typed is handed over as typed and the service names a bad field."""

    # Ids of their own: the case page also carries 改变类别's form, whose `reason` would share the id.
    level = SelectField(_l("督办级别"), validate_choice=False, id="escalate-level")
    # "leader" (the case's 包保领导) or an agency's id.
    target = SelectField(_l("督办对象"), validate_choice=False, id="escalate-target")
    due_in_workdays = StringField(_l("答复期限（工作日）"), id="escalate-due")
    reason = TextAreaField(_l("督办事由"), id="escalate-reason")

    FIELDS = {"level": "level", "reason": "reason", "target": "target", "agency_id": "target",
              "due_in_workdays": "due_in_workdays"}

    def set_choices(self, levels: list[str], agencies: list[Any], leader: str) -> None:
        self.level.choices = _choices((key, gettext(ESCALATION_LEVELS[key])) for key in levels)
        self.target.choices = _choices([("", _l("请选择")), *((str(a.id), a.name) for a in agencies),
                                        ("leader", gettext("包保领导 %(leader)s", leader=leader))])

    def service_args(self) -> dict[str, Any]:
        """The arguments of workflows.escalations.escalate."""
        target = _text(self.target.data) or ""
        chosen = _integer(target) if target != "leader" else None
        due = _integer(self.due_in_workdays.data)
        return {"level": _text(self.level.data) or "", "reason": self.reason.data or "",
                "target": "leader" if target == "leader" else "agency", "agency_id": chosen, "due_in_workdays": due}

    def show_errors(self, error: Invalid) -> list[str]:
        """The service's messages next to the field each names; those of no field are returned."""
        loose = []
        for name, messages in (error.errors or {}).items():
            if name in self.FIELDS:
                self[self.FIELDS[name]].errors = list(messages)
            else:
                loose.extend(messages)
        return loose or ([] if error.errors else [error.message])


class CloseEscalationForm(_Versioned):
    """办结 an escalation: the raising level's conclusion, against the version that was read."""

    outcome_note = TextAreaField(_l("办结意见"))


class DeadlineForm(_Versioned):
    """倒排工期: the deadline a city or province supervisor sets (empty clears it). The date is checked
    by the service, whose message names the field."""

    deadline = StringField(_l("办理时限"))
