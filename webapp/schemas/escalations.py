"""Escalations (督办): raising one, the target's answer, the raising level's conclusion, and an
escalation as lists show it (models.Escalation)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import ESCALATION_LEVELS, ESCALATION_OUTCOMES, ESCALATION_TARGETS
from workflows import escalations, workdays
from workflows.inputs import INT64_MAX

from .common import AgencyRef, Label, PageArgs, paged

_LEVELS = "、".join(f"{k} {v}" for k, v in ESCALATION_LEVELS.items())


class EscalateArgs(Schema):
    level = fields.String(required=True, validate=validate.OneOf(list(ESCALATION_LEVELS)),
                          metadata={"description": f"督办级别：{_LEVELS}（驻点督办、约谈、问责仅限省级督办人）"})
    reason = fields.String(required=True, metadata={"description": f"督办事由，1–{escalations.REASON_MAX} 字"})
    target = fields.String(load_default="agency", validate=validate.OneOf(list(ESCALATION_TARGETS)),
                           metadata={"description": "agency 督办部门（默认）、leader 督办案件的包保领导"})
    agency_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=INT64_MAX),
                               metadata={"description": "被督办部门：案件所在县（市、区）或其所属市（州）的部门；"
                                                        "指定任务时默认为任务的承办部门"})
    task_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=INT64_MAX),
                             metadata={"description": "针对的任务（选填），须为该案件的任务"})
    due_in_workdays = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1, max=workdays.MAX_WORKDAYS),
                                     metadata={"description": "答复期限：自现在起的工作日数（选填）"})


class MyEscalationsArgs(PageArgs):
    open_only = fields.Boolean(load_default=True, metadata={"description": "只列待答复的（默认）；false 列出全部"})


class RespondArgs(Schema):
    response = fields.String(required=True, metadata={"description": f"答复内容，1–{escalations.RESPONSE_MAX} 字"})


class CloseArgs(Schema):
    outcome_note = fields.String(required=True, metadata={"description": f"办结意见，1–{escalations.NOTE_MAX} 字"})


class EscalationCaseRef(Schema):
    id = fields.Integer()
    code = fields.String()
    project_name = fields.String()
    responsible_leader = fields.String()


class EscalationUserRef(Schema):
    id = fields.Integer()
    display_name = fields.String()


class EscalationSchema(Schema):
    id = fields.Integer()
    case = fields.Nested(EscalationCaseRef)
    task_id = fields.Integer(allow_none=True)
    level = fields.String(metadata={"description": _LEVELS})
    level_label = Label(ESCALATION_LEVELS, attribute="level")
    level_rank = fields.Integer(metadata={"description": "督办阶梯中的级次，1 催办 … 5 问责"})
    automatic = fields.Boolean(metadata={"description": "是否由超期规则自动发起（不记在任何人名下）"})
    raised_by = fields.Nested(EscalationUserRef, allow_none=True, metadata={"description": "发起人；自动发起为 null"})
    target = fields.String(metadata={"description": "agency 部门 / leader 包保领导"})
    target_label = fields.String(metadata={"description": "被督办的部门名称或包保领导"})
    target_agency = fields.Nested(AgencyRef, allow_none=True)
    target_leader = fields.String(allow_none=True)
    reason = fields.String()
    due_at = fields.DateTime(allow_none=True, metadata={"description": "答复期限"})
    created_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True, metadata={"description": "已阅时间"})
    acknowledged_by = fields.Nested(EscalationUserRef, allow_none=True)
    response = fields.String(allow_none=True)
    responded_at = fields.DateTime(allow_none=True)
    responded_by = fields.Nested(EscalationUserRef, allow_none=True)
    outcome = fields.String(metadata={"description": "open 待答复 / answered 已答复 / closed 已办结"})
    outcome_label = Label(ESCALATION_OUTCOMES, attribute="outcome")
    outcome_note = fields.String(allow_none=True, metadata={"description": "办结意见"})
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.Nested(EscalationUserRef, allow_none=True)
    version = fields.Integer(metadata={"description": "版本号，即 ETag；答复、办结时以 If-Match 带回"})


EscalationPage = paged(EscalationSchema, "EscalationPage")
