"""倒排工期 on the wire: a case's deadline, where it comes from, each step ahead with its latest start,
and whether the case is at risk (workflows.schedule.Schedule); setting a supervisor's deadline."""

from __future__ import annotations

from marshmallow import Schema, fields

from workflows import schedule


class ScheduleStepSchema(Schema):
    name = fields.String()
    lane_label = fields.String(metadata={"description": "承办部门（泳道）"})
    sla = fields.Integer(allow_none=True, metadata={"description": "本步办理时限（工作日），未规定为 null"})
    rest = fields.Integer(metadata={"description": "本步及其后各步尚需的工作日数（至时限所指环节）"})
    open = fields.Boolean(metadata={"description": "是否为办理中的任务"})
    task_id = fields.Integer(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    latest_start = fields.Function(lambda s: s.latest_start.day.isoformat() if s.latest_start else None,
                                   metadata={"description": "最迟开始日期（至当日 24 时）；无时限为 null"})
    latest_start_provisional = fields.Function(lambda s: bool(s.latest_start and s.latest_start.provisional),
                                               metadata={"description": "倒推跨越节假日安排尚未公布的年份"})
    late = fields.Boolean(metadata={"description": "标红：已过最迟开始日期未开始、开始过晚或已过最迟完成日期"})
    late_reason = fields.String(allow_none=True)


class ScheduleSchema(Schema):
    case_id = fields.Function(lambda s: s.case.id)
    deadline = fields.Date(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "policy 政策时限、supervisor 督办人设定、null 无"})
    source_text = fields.String(metadata={"description": "如“政策时限：2026年12月31日（第二类：已开工项目，…）”"})
    status = fields.String(metadata={"description": "、".join(f"{k} {v}" for k, v in schedule.STATUS_LABELS.items())})
    status_label = fields.String()
    remaining = fields.Integer(metadata={"description": "当前待办起尚需的工作日数（关键路径）"})
    steps = fields.List(fields.Nested(ScheduleStepSchema))
    rule = fields.Function(lambda s: schedule.RULE)


class DeadlineArgs(Schema):
    # Raw: the service checks it and names the field in Chinese ("办理时限：应为日期，格式 YYYY-MM-DD").
    deadline = fields.Raw(required=True, allow_none=True,
                          metadata={"description": "办理时限 YYYY-MM-DD（不早于今天）；null 或空串为取消"})
