"""延期申请 (deadline extensions): asking, deciding, and a request as lists show it
(models.ExtensionRequest)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import EXTENSION_STATUSES
from workflows import extensions

from .common import Label, PageArgs, RegionRef, paged

_STATUSES = "、".join(f"{k} {v}" for k, v in EXTENSION_STATUSES.items())


class RequestExtensionArgs(Schema):
    reason = fields.String(required=True, metadata={"description": f"延期理由，1–{extensions.REASON_MAX} 字"})
    new_due_date = fields.Date(required=True, metadata={
        "description": "申请延至的日期（北京时间，当日 23:59:59 截止）：须晚于当前办理时限、为工作日，"
                       f"且一次最多延长 {extensions.MAX_EXTRA_WORKDAYS} 个工作日"})


class DecideArgs(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(list(extensions.DECISIONS)),
                             metadata={"description": "approve 批准（办理时限改为申请的日期）、refuse 不批准（时限不变）"})
    note = fields.String(load_default=None, allow_none=True,
                         metadata={"description": f"审批意见，最多 {extensions.NOTE_MAX} 字；不批准时必填"})


class PendingArgs(PageArgs):
    decidable_only = fields.Boolean(load_default=False,
                                    metadata={"description": "只列由本级审批的（默认列出管辖范围内全部待审批的）"})


class ExtensionUserRef(Schema):
    id = fields.Integer()
    display_name = fields.String()


class ExtensionTaskRef(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()
    due_at = fields.DateTime(allow_none=True, metadata={"description": "任务现行的办理时限"})


class ExtensionCaseRef(Schema):
    id = fields.Integer()
    code = fields.String()
    project_name = fields.String()


class ExtensionSchema(Schema):
    id = fields.Integer()
    case = fields.Nested(ExtensionCaseRef)
    task = fields.Nested(ExtensionTaskRef)
    requested_by = fields.Nested(ExtensionUserRef)
    reason = fields.String()
    current_due_at = fields.DateTime(metadata={"description": "申请时的办理时限"})
    requested_due_at = fields.DateTime(metadata={"description": "申请延至（当日 23:59:59，北京时间）"})
    extra_workdays = fields.Integer(metadata={"description": "延长的工作日数（按法定节假日和调休计算）"})
    decider = fields.Nested(RegionRef, attribute="decider_region",
                            metadata={"description": "审批的层级：任务承办部门的上一级"})
    status = fields.String(metadata={"description": _STATUSES})
    status_label = Label(EXTENSION_STATUSES, attribute="status")
    created_at = fields.DateTime()
    decided_by = fields.Nested(ExtensionUserRef, allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True, metadata={"description": "审批意见"})
    withdrawn_at = fields.DateTime(allow_none=True)
    decision_read_at = fields.DateTime(allow_none=True, metadata={"description": "申请部门已阅审批结果的时间"})
    decision_read_by = fields.Nested(ExtensionUserRef, allow_none=True)
    version = fields.Integer(metadata={"description": "版本号，即 ETag；撤回、审批时以 If-Match 带回"})


ExtensionPage = paged(ExtensionSchema, "ExtensionPage")
