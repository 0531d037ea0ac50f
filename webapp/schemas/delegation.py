"""委派 on the wire: delegating a task, resolving it back, recalling it (workflows.delegation)."""

from __future__ import annotations

from marshmallow import Schema, fields


class DelegateArgs(Schema):
    user_id = fields.Integer(load_default=None, allow_none=True, metadata={"description": "受委派人：本部门在岗经办人"})
    note = fields.String(load_default=None, allow_none=True, metadata={"description": "委派说明，至多 500 字"})


class ResolveArgs(Schema):
    opinion = fields.String(load_default=None, allow_none=True, metadata={"description": "办理意见，1–2000 字"})


class RecallArgs(Schema):
    reason = fields.String(load_default=None, allow_none=True, metadata={"description": "收回理由（选填），至多 500 字"})


class DelegationSchema(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    from_user_id = fields.Integer(metadata={"description": "委派人"})
    to_user_id = fields.Integer(metadata={"description": "受委派人"})
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True, metadata={"description": "办毕退回时间"})
    opinion = fields.String(allow_none=True, metadata={"description": "受委派人的办理意见"})
    recalled_at = fields.DateTime(allow_none=True, metadata={"description": "收回时间"})
