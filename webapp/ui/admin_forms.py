"""The forms of the administration pages (users, agencies, process versions, holiday schedules). They check shape only
(present, not too long, one of the offered choices); what a value means is the service's to judge,
and its Invalid is shown next to the field it names."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import AGENCY_ROLES, USER_ROLES
from workflows import agencies, processes, users

from .audit import options

REGION_CODE_MAX = 12  # Region.code's width
# Up to MIGRATE_MAX_CASES codes of at most CASE_CODE_MAX characters, with separators.
CASE_CODES_TEXT_MAX = processes.MIGRATE_MAX_CASES * (processes.CASE_CODE_MAX + 2)
_CODE_SEPARATORS = re.compile(r"[\s,，、;；]+")
# A schedule line's date and name: split at the first space, tab or comma.
_ENTRY_SEPARATOR = re.compile(r"[\s,，、]+")
# A year's days, each with a name, comfortably.
CALENDAR_TEXT_MAX = 20_000


def _id_or_none(value: Any) -> int | None:
    """A submitted id, or None when it is not a number at all (the required check then says so);
    a number no row can have is left for the service to refuse."""
    if value is None or value == "" or isinstance(value, int):
        return value or None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


class _Filters(FlaskForm):
    """A list's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    page = IntegerField(_l("页码"), validators=[Optional(), NumberRange(min=1, message=_l("应为正整数"))], default=1)


class UserFilters(_Filters):
    q = StringField(_l("用户名或姓名"), validators=[Optional(), Length(max=users.QUERY_MAX)])
    role = SelectField(_l("角色"), choices=options(USER_ROLES, _l("全部")), default="")
    active = SelectField(_l("状态"), choices=options({"1": _l("启用"), "0": _l("已停用")}, _l("全部")),
                         default="")
    region = StringField(_l("地区代码"), validators=[Optional(), Length(max=REGION_CODE_MAX)],
                         description=_l("含下级地区，如 220100（长春市）"))
    agency_id = IntegerField(_l("部门编号"), validators=[Optional(), NumberRange(min=1, message=_l("部门编号应为正整数"))])


class NewUserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名")), Length(max=64)],
                           description=_l("3–64 位英文字母、数字或 . _ -，登录时使用"))
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=users.DISPLAY_NAME_MAX)])
    role = SelectField(_l("角色"), choices=options(USER_ROLES, _l("请选择")),
                       validators=[DataRequired(_l("请选择角色"))])
    agency_id = SelectField(_l("所属部门"), coerce=_id_or_none, validate_choice=False,
                            validators=[DataRequired(_l("请选择所属部门"))],
                            description=_l("督办人属于市级或省级安居办；审计、系统管理员属于市级或省级部门"))


class AgencyFilters(_Filters):
    region = StringField(_l("地区代码"), validators=[Optional(), Length(max=REGION_CODE_MAX)],
                         description=_l("只列该地区本级的部门，如 220182（榆树市）"))
    role = SelectField(_l("部门类别"), choices=options(AGENCY_ROLES, _l("全部")), default="")


class NewAgencyForm(FlaskForm):
    region = StringField(_l("地区代码"), validators=[DataRequired(_l("请填写地区代码")), Length(max=REGION_CODE_MAX)])
    role = SelectField(_l("部门类别"), choices=options(AGENCY_ROLES, _l("请选择")),
                       validators=[DataRequired(_l("请选择部门类别"))])
    name = StringField(_l("部门名称"), validators=[DataRequired(_l("请填写部门名称")), Length(max=agencies.NAME_MAX)])


class RenameAgencyForm(FlaskForm):
    name = StringField(_l("新名称"), validators=[DataRequired(_l("请填写部门名称")), Length(max=agencies.NAME_MAX)])


class MigrateForm(FlaskForm):
    to = SelectField(_l("目标版本"), coerce=_id_or_none, validate_choice=False,
                     validators=[DataRequired(_l("请选择目标版本"))])
    case_codes = TextAreaField(_l("案件编号（可选）"), validators=[Optional(), Length(max=CASE_CODES_TEXT_MAX)],
                               description=_l("每行一个，或以逗号、空格分隔；不填则为在较早版本上运行的全部在办案件"
                                              "（最多 %(count)s 个）", count=processes.MIGRATE_MAX_CASES))

    def codes(self) -> list[str] | None:
        """The case codes typed, in order, or None for every open case on an older version."""
        found = [code for code in _CODE_SEPARATORS.split(self.case_codes.data or "") if code]
        return found or None


class CalendarForm(FlaskForm):
    """A year's published holiday schedule, one day per line: "2027-10-01 国庆节". The lines become
    the (date, name) pairs workflows.workdays.enter_schedule takes; it names any bad line (第 n 项)."""

    year = IntegerField(_l("年份"), validators=[DataRequired(_l("请填写年份"))])
    holidays = TextAreaField(_l("放假日期"), validators=[Optional(), Length(max=CALENDAR_TEXT_MAX)], render_kw={"rows": 12},
                             description=_l("每行一天：日期 节日名称，如“2027-10-01 国庆节”；周末放假的也要列出"))
    workdays = TextAreaField(_l("调休上班日期"), validators=[Optional(), Length(max=CALENDAR_TEXT_MAX)], render_kw={"rows": 12},
                             description=_l("每行一天：日期 所调节日，如“2027-09-26 国庆节”；只列需要上班的周六、周日"))

    FIELDS = ("holidays", "workdays", "year")

    def entries(self, field: str) -> list[tuple[str, str]]:
        """One (date, name) per non-blank line of `field`, as typed (the name "" when none was given,
        which the service refuses naming the line)."""
        out: list[tuple[str, str]] = []
        for line in (self[field].data or "").splitlines():
            parts = _ENTRY_SEPARATOR.split(line.strip(), maxsplit=1)
            if parts[0]:
                out.append((parts[0], parts[1] if len(parts) == 2 else ""))
        return out

    def show_errors(self, error: Any) -> str | None:
        """The service's messages under the field each concerns ("holidays[3].date" → 放假日期);
        returns what belongs to none."""
        loose = []
        for name, messages in (error.errors or {}).items():
            field = next((f for f in self.FIELDS if name == f or name.startswith(f + "[")), None)
            if field is None:
                loose.extend(messages)
            else:
                self[field].errors = list(self[field].errors) + list(messages)
        return "；".join(loose) or (None if error.errors else error.message)
