"""委托 on the wire: away periods and the colleague standing in (workflows.away)."""

from __future__ import annotations

from marshmallow import Schema, fields


class AwayArgs(Schema):
    starts_on = fields.String(load_default=None, allow_none=True, metadata={"description": "开始日期 YYYY-MM-DD（含）"})
    ends_on = fields.String(load_default=None, allow_none=True, metadata={"description": "结束日期 YYYY-MM-DD（含）"})
    delegate_id = fields.Integer(load_default=None, allow_none=True, metadata={"description": "代办人：同一部门在岗经办人"})
    reason = fields.String(load_default=None, allow_none=True, metadata={"description": "事由，1–200 字"})
    user_id = fields.Integer(load_default=None, allow_none=True,
                             metadata={"description": "委托人（督办人为所辖经办人设置时填写；默认本人）"})


class AwayPeriodSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    delegate_id = fields.Integer()
    starts_on = fields.Date()
    ends_on = fields.Date()
    reason = fields.String()
    applied_at = fields.DateTime(allow_none=True, metadata={"description": "已签收任务转交代办人的时间"})
    cancelled_at = fields.DateTime(allow_none=True)


class AwayPageSchema(Schema):
    mine = fields.List(fields.Nested(AwayPeriodSchema), metadata={"description": "我的委托（含近 30 天内结束的）"})
    covering = fields.List(fields.Nested(AwayPeriodSchema), metadata={"description": "我正在或将要代办的委托"})
