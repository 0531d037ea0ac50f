"""Tasks: list arguments, a task as lists and detail show it, its form, and a completion's outcome."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from workflows import inbox
from workflows.engine import clock
from workflows.engine.specs import FIELD_TYPES

from .common import PageArgs, paged


class TaskListArgs(PageArgs):
    view = fields.String(load_default="inbox", validate=validate.OneOf(list(inbox.VIEWS)),
                         metadata={"description": "inbox 待办（默认）、mine 我认领的、unclaimed 未认领、"
                                                  "completed 已办（我办结的，最新在前）"})
    due = fields.String(load_default=None, validate=validate.OneOf(list(inbox.DUE_FILTERS)),
                        metadata={"description": "soon 即将到期（within_days 天内）、overdue 已逾期"})
    within_days = fields.Integer(load_default=inbox.WITHIN_DAYS_DEFAULT,
                                 validate=validate.Range(min=1, max=inbox.WITHIN_DAYS_MAX),
                                 metadata={"description": f"due=soon 的天数，1–{inbox.WITHIN_DAYS_MAX}"})
    category = fields.Integer(load_default=None, validate=validate.Range(min=1, max=9),
                              metadata={"description": "案件解决类别 1–9"})
    case_id = fields.Integer(load_default=None, validate=validate.Range(min=1),
                             metadata={"description": "只列该案件的任务"})


class TaskCaseRef(Schema):
    id = fields.Integer()
    code = fields.String()
    project_name = fields.String()
    category = fields.Integer()
    category_label = fields.String()


class TaskAgencyRef(Schema):
    id = fields.Integer()
    name = fields.String()


class TaskUserRef(Schema):
    id = fields.Integer()
    display_name = fields.String()


def _overdue(task: Any) -> bool:
    """Past its deadline: an open task now, a finished one when it was finished."""
    return task.due_at is not None and (task.completed_at or clock.now()) > task.due_at


class TaskSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    case = fields.Nested(TaskCaseRef)
    lane = fields.String(metadata={"description": "泳道（部门角色）键，如 housing、supervision@parent"})
    agency = fields.Nested(TaskAgencyRef, metadata={"description": "承办部门"})
    status = fields.String(metadata={"description": "ready 待办 / completed 已办 / cancelled 已撤销"})
    status_label = fields.String()
    assignee = fields.Nested(TaskUserRef, allow_none=True, metadata={"description": "认领人，未认领为 null"})
    claimed = fields.Function(lambda task: task.assignee_id is not None, metadata={"type": "boolean"})
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True, metadata={"description": "办理时限"})
    overdue = fields.Function(_overdue, metadata={"type": "boolean", "description": "是否逾期"})
    completed_at = fields.DateTime(allow_none=True)
    on_behalf_reason = fields.String(allow_none=True, metadata={"description": "代办理由（督办人代办时）"})
    version = fields.Integer(metadata={"description": "版本号，即 ETag；办理时以 If-Match 带回"})


TaskPageSchema = paged(TaskSchema, "TaskPage")


class FormOptionSchema(Schema):
    value = fields.String()
    label = fields.String()


class FormFieldSchema(Schema):
    """A field of a task's form as the BPMN declares it (workflows.engine.specs.FormField)."""

    key = fields.String()
    label = fields.String()
    type = fields.String(metadata={"description": "、".join(f"{k} {v}" for k, v in FIELD_TYPES.items())})
    type_label = fields.Function(lambda f: FIELD_TYPES.get(f.type, f.type))
    required = fields.Boolean()
    options = fields.Function(lambda f: [{"value": v, "label": lbl} for v, lbl in f.options],
                              metadata={"description": "enum 字段的可选项"})
    minimum = fields.Float(allow_none=True)
    maximum = fields.Float(allow_none=True)
    max_length = fields.Function(lambda f: inbox.max_length(f), metadata={"description": "文本最长字符数"})
    case_field = fields.String(allow_none=True, metadata={"description": "填写值同时写入案件的该项"})
    help = fields.String(allow_none=True)
    must_be_true = fields.Boolean(metadata={"description": "只有“是”才满足（协议必须包含的内容）"})
    max_case = fields.String(allow_none=True, metadata={"description": "数值不能超过案件的该项"})
    accept = fields.List(fields.String(), metadata={"description": "file 字段允许的扩展名"})
    max_size = fields.Integer(allow_none=True, metadata={"description": "file 字段的最大字节数"})


class TaskSlaSchema(Schema):
    """A task's time limit in working days as its BPMN declares it (workflows.sla.TaskSla)."""

    workdays = fields.Integer(metadata={"description": "办理时限（工作日数），自任务下达次日起算"})
    due_at = fields.DateTime(allow_none=True, metadata={"description": "按工作日推算的截止时间（当日 23:59:59）"})
    applied = fields.Boolean(metadata={"description": "是否据此确定任务的 due_at（否：流程定时器的时限更早）"})
    provisional = fields.Boolean(metadata={"description": "暂定：推算跨入节假日安排尚未公布的年份"})
    uncovered_years = fields.List(fields.Integer(), metadata={"description": "节假日安排尚未公布的年份"})
    label = fields.String(metadata={"description": "如“5 个工作日（至 2026-12-01）”"})


class TaskFormSchema(Schema):
    task_id = fields.Integer(attribute="task.id")
    name = fields.String()
    documentation = fields.String(metadata={"description": "流程文件中的办理说明"})
    fields_ = fields.List(fields.Nested(FormFieldSchema), attribute="fields", data_key="fields")
    sla = fields.Nested(TaskSlaSchema, allow_none=True,
                        metadata={"description": "办理时限（流程文件声明 sla_workdays 时），否则为 null"})


class CompleteArgs(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict,
                       metadata={"description": "表单字段值 {字段键: 值}，见 GET /tasks/{id}/form"})
    on_behalf_reason = fields.String(load_default=None, allow_none=True,
                                     metadata={"description": "代办理由：督办人办理其他部门的任务时必填"})
    opinion = fields.String(load_default=None, allow_none=True,
                            metadata={"description": "审批意见（选填，最多 2000 字），随办结记入案件历史"})


class OpenedTaskSchema(Schema):
    task_id = fields.Integer()
    bpmn_id = fields.String()
    name = fields.String()
    agency_id = fields.Integer()
    agency = fields.String(metadata={"description": "任务交办的部门名称"})


class CancelledTaskSchema(Schema):
    task_id = fields.Integer()
    bpmn_id = fields.String()
    name = fields.String()


class CompletionSchema(Schema):
    task = fields.Nested(TaskSchema)
    opened = fields.List(fields.Nested(OpenedTaskSchema), metadata={"description": "流程随之下达的任务"})
    cancelled = fields.List(fields.Nested(CancelledTaskSchema), metadata={"description": "流程随之撤销的任务"})

