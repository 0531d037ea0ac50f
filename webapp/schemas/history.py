"""A case's history: the filters of its list and each event as shown (workflows.history.EventEntry)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import EVENT_KINDS
from models.history import CHANNELS
from workflows.inputs import INT64_MAX

from .common import Label, PageArgs, paged

_MOMENT = "日期（YYYY-MM-DD，按北京时间整天计）或日期时间（ISO 8601，不带时区按北京时间）"


class HistoryArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(list(EVENT_KINDS)), metadata={"description": "事件类型"})
    actor_id = fields.Integer(validate=validate.Range(min=1, max=INT64_MAX), metadata={"description": "操作人编号"})
    since = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": f"起始（含）：{_MOMENT}"})
    until = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": f"截止（含）：{_MOMENT}"})
    channel = fields.String(validate=validate.OneOf(list(CHANNELS)),
                            metadata={"description": "来源：" + "、".join(f"{k} {v}" for k, v in CHANNELS.items())})


class EventActorSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()


class EventSchema(Schema):
    id = fields.Integer(attribute="event.id")
    at = fields.DateTime(attribute="event.at")
    kind = fields.String(attribute="event.kind")
    kind_label = Label(EVENT_KINDS, attribute="event.kind")
    summary = fields.String(attribute="event.summary")
    actor = fields.Nested(EventActorSchema, allow_none=True, metadata={"description": "操作人；null 表示系统"})
    task_id = fields.Integer(attribute="event.task_id", allow_none=True)
    channel = fields.String(attribute="event.channel")
    channel_label = Label(CHANNELS, attribute="event.channel")
    token_id = fields.Integer(attribute="event.token_id", allow_none=True,
                              metadata={"description": "经由的接口令牌编号"})
    os_user = fields.String(attribute="event.os_user", allow_none=True,
                            metadata={"description": "命令行操作时的操作系统账户"})
    data = fields.Dict(attribute="event.data")


EventPage = paged(EventSchema, "CaseEventPage")
