"""Cases: the list's filters, filing, editing, changing the category, and the case as it is shown.

Input schemas check shapes and types; the services check content (lengths, control characters,
dates in range, codes that exist) and name every bad field at once."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from models import CASE_STATUSES, LEAD_TYPES
from workflows.case_queries import SEARCH_MAX
from workflows.cases import NewCase

from .common import Label, PageArgs, RegionRef, paged


class CaseListArgs(PageArgs):
    region_code = fields.String(data_key="region", validate=validate.Length(min=1, max=12),
                                metadata={"description": "地区代码，含其下辖各地；管辖范围外的地区没有结果"})
    category = fields.Integer(validate=validate.Range(min=1, max=9), metadata={"description": "解决类别 1–9"})
    status = fields.String(validate=validate.OneOf(list(CASE_STATUSES)),
                           metadata={"description": "open 办理中 / awaiting_closeout 待销号 / closed 已销号"})
    overdue = fields.Boolean(metadata={"description": "true：有超期未办的任务；false：没有"})
    q = fields.String(validate=validate.Length(max=SEARCH_MAX),
                      metadata={"description": "在项目编号和项目名称中查找（% 和 _ 按字面匹配）"})


class CaseSummarySchema(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"description": "项目编号"})
    project_name = fields.String()
    region = fields.Nested(RegionRef)
    category = fields.Integer()
    category_label = fields.String()
    status = fields.String()
    status_label = fields.String()
    lead_type = fields.String(metadata={"description": "government 政府主导 / developer 房地产开发"})
    households_overdue = fields.Integer(metadata={"description": "逾期未安置户数"})
    households_resettled = fields.Integer(metadata={"description": "已安置户数"})
    target_date = fields.Date(allow_none=True)
    updated_at = fields.DateTime()
    version = fields.Integer(metadata={"description": "行版本，即 ETag；修改时放在 If-Match 中"})


class CaseSchema(CaseSummarySchema):
    lead_type_label = Label(LEAD_TYPES, attribute="lead_type")
    developer_name = fields.String(allow_none=True)
    overdue_since = fields.Date()
    responsible_leader = fields.String(metadata={"description": "包保领导"})
    notes = fields.String(allow_none=True)
    attempts = fields.List(fields.Dict(), metadata={"description": "改变类别前的各次办理尝试"})
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


CasePage = paged(CaseSummarySchema, "CasePage")


class AgencyBrief(Schema):
    id = fields.Integer()
    name = fields.String()


class PersonBrief(Schema):
    id = fields.Integer()
    display_name = fields.String()


class OpenTaskSchema(Schema):
    id = fields.Integer(attribute="task.id")
    name = fields.String(attribute="task.name")
    agency = fields.Nested(AgencyBrief, attribute="task.agency")
    assignee = fields.Nested(PersonBrief, attribute="task.assignee", allow_none=True)
    due_at = fields.DateTime(attribute="task.due_at", allow_none=True)
    overdue = fields.Boolean(metadata={"description": "已超过办理时限"})


class HouseholdsSchema(Schema):
    overdue = fields.Integer(metadata={"description": "逾期未安置户数"})
    resettled = fields.Integer(metadata={"description": "已安置户数"})
    remaining = fields.Integer(metadata={"description": "尚未安置户数"})
    resettled_percent = fields.Float(metadata={"description": "已安置比例（%）"})


class ProcessStageSchema(Schema):
    process_id = fields.String()
    name = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    status = fields.String(metadata={"description": "running / completed / cancelled"})
    status_label = fields.String()


class CaseDetailSchema(CaseSchema):
    """The case page (workflows.case_queries.CaseDetail): the case's own fields, then what it has."""

    open_tasks = fields.List(fields.Nested(OpenTaskSchema))
    households = fields.Nested(HouseholdsSchema)
    processes = fields.List(fields.Nested(ProcessStageSchema), metadata={"description": "所处流程及各流程状态"})

    _OWN = frozenset({"open_tasks", "households", "processes"})

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        return super().get_attribute(obj if attr in self._OWN else obj.case, attr, default)


class NewCaseSchema(Schema):
    code = fields.String(required=True, metadata={"description": "项目编号，全省唯一"})
    project_name = fields.String(required=True)
    region_code = fields.String(required=True, metadata={"description": "所在县（市、区）的地区代码"})
    lead_type = fields.String(required=True, metadata={"description": "government / developer"})
    households_overdue = fields.Integer(required=True, strict=True)
    overdue_since = fields.Date(required=True)
    category = fields.Integer(required=True, strict=True, metadata={"description": "解决类别 1–9"})
    responsible_leader = fields.String(required=True)
    developer_name = fields.String(load_default=None, allow_none=True)
    target_date = fields.Date(load_default=None, allow_none=True)
    notes = fields.String(load_default=None, allow_none=True)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> NewCase:
        return NewCase(**data)


class CaseChangesSchema(Schema):
    """Only the fields sent are changed; others stay as they are. Anything else is refused."""

    project_name = fields.String()
    responsible_leader = fields.String()
    developer_name = fields.String(allow_none=True)
    target_date = fields.Date(allow_none=True)
    notes = fields.String(allow_none=True)


class ReclassifyArgs(Schema):
    category = fields.Integer(required=True, strict=True, metadata={"description": "新类别 1–9"})
    reason = fields.String(required=True, metadata={"description": "改类理由（记入历史）"})


class TaskMoveSchema(Schema):
    task_id = fields.Integer()
    bpmn_id = fields.String()
    name = fields.String()
    agency = fields.String()


class ReclassificationSchema(Schema):
    case = fields.Nested(CaseSchema)
    attempt = fields.Dict(metadata={"description": "结束的这次办理尝试：类别、起止、天数、理由、经办"})
    opened = fields.List(fields.Nested(TaskMoveSchema), metadata={"description": "新类别下达的任务"})
    cancelled = fields.List(fields.Nested(TaskMoveSchema), metadata={"description": "因改类撤销的任务"})
