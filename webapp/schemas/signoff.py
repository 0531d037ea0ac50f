"""会签 / 或签 on the wire: the signers of a sign-off and 加签 / 减签 (workflows.signoff)."""

from __future__ import annotations

from marshmallow import Schema, fields

from workflows import signoff

from .tasks import OpenedTaskSchema


class SignerSchema(Schema):
    task_id = fields.Integer(attribute="task.id", metadata={"description": "该部门签署的任务"})
    version = fields.Integer(attribute="task.version", metadata={"description": "任务版本号（减签时以 If-Match 带回）"})
    role = fields.String(metadata={"description": "部门角色"})
    agency = fields.String(metadata={"description": "签署部门"})
    status = fields.String(metadata={"description": "ready 待签署 / completed 已签署 / cancelled 已撤销（或签已完成或已减签）"})
    status_label = fields.String()
    opinion = fields.String(allow_none=True, metadata={"description": "会签意见"})
    signed_by = fields.String(allow_none=True, metadata={"description": "签署人"})
    signed_at = fields.DateTime(allow_none=True)


class RoleSchema(Schema):
    role = fields.Function(lambda pair: pair[0])
    label = fields.Function(lambda pair: pair[1])


class SignoffSchema(Schema):
    mode = fields.String(metadata={"description": "all 会签（全部签署）/ any 或签（任一部门签署即完成）"})
    label = fields.String()
    running = fields.Boolean(metadata={"description": "是否仍在会签中"})
    may_change = fields.Boolean(metadata={"description": "当前用户可否加签、减签"})
    waiting_for = fields.List(fields.String(), metadata={"description": "尚未签署的部门"})
    addable = fields.List(fields.Nested(RoleSchema), metadata={"description": "可加签的部门角色"})
    signers = fields.List(fields.Nested(SignerSchema))


class AddSignerArgs(Schema):
    role = fields.String(load_default=None, allow_none=True, metadata={"description": "加签部门的角色（如 finance）"})
    reason = fields.String(load_default=None, allow_none=True,
                           metadata={"description": f"加签理由，1–{signoff.REASON_MAX} 字"})


class RemoveSignerArgs(Schema):
    reason = fields.String(load_default=None, allow_none=True,
                           metadata={"description": f"减签理由，1–{signoff.REASON_MAX} 字"})


class RemovedSchema(Schema):
    opened = fields.List(fields.Nested(OpenedTaskSchema),
                         metadata={"description": "减签后会签完成时随之下达的任务"})
