"""Notifications (通知): the signed-in user's own, and marking them read."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models import NOTIFICATION_KINDS
from workflows.inputs import INT64_MAX

from .common import Label, PageArgs, paged

_KINDS = "、".join(f"{k} {v}" for k, v in NOTIFICATION_KINDS.items())


class NotificationArgs(PageArgs):
    unread_only = fields.Boolean(load_default=False, metadata={"description": "只列未读的"})


class MarkReadArgs(Schema):
    ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=INT64_MAX)), load_default=None,
                      validate=validate.Length(min=1, max=1000),
                      metadata={"description": "要标为已读的通知编号（1–1000 个）；与 all 二选一"})
    all = fields.Boolean(load_default=False, metadata={"description": "true：全部标为已读"})

    @validates_schema
    def _one_of(self, data: dict, **_kwargs: object) -> None:
        if (data.get("ids") is None) == (not data.get("all")):
            raise ValidationError("请指定 ids，或 all 为 true（二选一）", field_name="ids")


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": _KINDS})
    kind_label = Label(NOTIFICATION_KINDS, attribute="kind")
    title = fields.String()
    body = fields.String()
    case_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    escalation_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True, metadata={"description": "已读时间；null 为未读"})


NotificationPage = paged(NotificationSchema, "NotificationPage")


class UnreadSchema(Schema):
    unread = fields.Integer(metadata={"description": "未读通知数"})


class MarkedSchema(Schema):
    marked = fields.Integer(metadata={"description": "本次标为已读的条数"})
    unread = fields.Integer(metadata={"description": "仍未读的条数"})
