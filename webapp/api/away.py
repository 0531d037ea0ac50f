"""委托 (issue #17): an officer away hands their work to a colleague for a span of days. The rules and
refusals are the service's (workflows.away)."""

from __future__ import annotations

from typing import Any

from workflows import away

from .. import auth, get_session
from ..schemas.away import AwayArgs, AwayPageSchema, AwayPeriodSchema
from ..schemas.common import ErrorSchema
from . import Blueprint

blp = Blueprint("away", __name__, description="委托：不在岗期间由同事代办")


@blp.route("/me/away", methods=["GET"])
@blp.response(200, AwayPageSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
def list_away() -> Any:
    """我的委托，以及我代办的委托。"""
    return away.away_page(get_session(), auth.actor())


@blp.route("/me/away", methods=["POST"])
@blp.arguments(AwayArgs)
@blp.response(201, AwayPeriodSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有经办人本人或管辖其单位的督办人可以设置委托")
@blp.alt_response(409, schema=ErrorSchema, description="与已有委托的日期重叠")
@blp.alt_response(422, schema=ErrorSchema, description="日期、代办人或事由有误，逐项说明")
def set_away(args: dict[str, Any]) -> Any:
    """设置委托：期间开始时，委托人已签收的任务转由代办人办理；期间内退回、撤回、转办给委托人的任务交代办人。"""
    return away.set_away(get_session(), auth.actor(), **args)


@blp.route("/me/away/<int:period_id>/cancel", methods=["POST"])
@blp.response(200, AwayPeriodSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description="委托不存在或已取消")
def cancel_away(period_id: int) -> Any:
    """取消或提前结束委托；已转交的任务仍由代办人办理（可再转办回来）。"""
    return away.cancel_away(get_session(), auth.actor(), period_id)
