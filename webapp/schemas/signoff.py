"""会签 / 或签 on the wire: the signers of a sign-off and 加签 / 减签 (workflows.signoff)."""

from __future__ import annotations

from marshmallow import Schema, fields

from workflows import signoff

from .tasks import OpenedTaskSchema


class SignerSchema(Schema):
    task_id = fields.Function(lambda s: s.task.id if s.task is not None else None, allow_none=True,
                              metadata={"description": "该部门签署的任务（依次会签中尚未轮到的部门为 null）"})
    version = fields.Function(lambda s: s.task.version if s.task is not None else None, allow_none=True,
                              metadata={"description": "任务版本号（减签时以 If-Match 带回）"})
    role = fields.String(metadata={"description": "部门角色"})
    agency = fields.String(metadata={"description": "签署部门"})
    status = fields.String(metadata={"description": "ready 待签署 / completed 已签署 / cancelled 已撤销（或签已完成或已减签）/ queued 排队待签（依次会签尚未轮到）"})
    status_label = fields.String()
    opinion = fields.String(allow_none=True, metadata={"description": "会签意见"})
    signed_by = fields.String(allow_none=True, metadata={"description": "签署人"})
    signed_at = fields.DateTime(allow_none=True)


class RoleSchema(Schema):
    role = fields.Function(lambda pair: pair[0])
    label = fields.Function(lambda pair: pair[1])


class SignoffSchema(Schema):
    mode = fields.String(metadata={"description": "all 会签（全部签署）/ any 或签（任一部门签署即完成）"
                                                  "/ sequence 依次会签（按顺序逐一签署）"})
    label = fields.String()
    running = fields.Boolean(metadata={"description": "是否仍在会签中"})
    may_change = fields.Boolean(metadata={"description": "当前用户可否加签、减签"})
    waiting_for = fields.List(fields.String(), metadata={"description": "尚未签署的部门（依次会签按签署顺序）"})
    addable = fields.List(fields.Nested(RoleSchema), metadata={"description": "可加签的部门角色"})
    signers = fields.List(fields.Nested(SignerSchema))
    changed = fields.Nested(SignerSchema, allow_none=True, metadata={"description": "刚加签的部门（仅加签的响应）"})


class AddSignerArgs(Schema):
    role = fields.String(load_default=None, allow_none=True, metadata={"description": "加签部门的角色（如 finance）"})
    reason = fields.String(load_default=None, allow_none=True,
                           metadata={"description": f"加签理由，1–{signoff.REASON_MAX} 字"})
    position = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "依次会签的加签位置：after 在当前签署部门之后（默认）/ "
                                                      "before 在当前签署部门之前（当前部门待其签署后再签）；并行会签不填"})


class RemoveSignerArgs(Schema):
    reason = fields.String(load_default=None, allow_none=True,
                           metadata={"description": f"减签理由，1–{signoff.REASON_MAX} 字"})
    role = fields.String(load_default=None, allow_none=True,
                         metadata={"description": "依次会签中尚未轮到的部门角色：减去它（此时 task_id 为该会签当前待签署的任务）；"
                                                  "不填则减去 task_id 对应的部门"})


class RemovedSchema(Schema):
    opened = fields.List(fields.Nested(OpenedTaskSchema),
                         metadata={"description": "减签后会签完成时随之下达的任务"})
