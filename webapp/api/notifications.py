"""Notifications (通知): the signed-in user's notification centre — new tasks, deadlines near or passed,
escalations addressed to them, read receipts and answers to their escalations."""

from __future__ import annotations

from typing import Any

from workflows import notifications

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.notifications import (
    MarkedSchema,
    MarkReadArgs,
    NotificationArgs,
    NotificationPage,
    UnreadSchema,
)
from . import Blueprint

blp = Blueprint("notifications", __name__, description="通知：新任务、即将到期、已逾期、督办、已阅回执、督办答复")


@blp.route("/notifications", methods=["GET"])
@blp.arguments(NotificationArgs, location="query")
@blp.response(200, NotificationPage)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="查询参数有误")
def list_notifications(args: dict[str, Any]) -> Any:
    """我的通知：最新在前、分页；unread_only 只列未读。"""
    per_page = args["per_page"]
    return notifications.notification_page(get_session(), auth.actor(), unread_only=args["unread_only"],
                                           limit=per_page, offset=(args["page"] - 1) * per_page)


@blp.route("/notifications/unread", methods=["GET"])
@blp.response(200, UnreadSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
def unread(_args: Any = None) -> Any:
    """未读通知数。"""
    return {"unread": notifications.unread_count(get_session(), auth.actor())}


@blp.route("/notifications/read", methods=["POST"])
@blp.arguments(MarkReadArgs)
@blp.response(200, MarkedSchema)
@blp.alt_response(400, schema=ErrorSchema, description="请求内容不是合法的 JSON")
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="ids 有误，或 ids 与 all 未二选一")
def mark_read(args: dict[str, Any]) -> Any:
    """标为已读：指定编号，或全部。他人的通知编号被忽略。"""
    session, actor = get_session(), auth.actor()
    marked = notifications.mark_read(session, actor, None if args["all"] else args["ids"])
    return {"marked": marked, "unread": notifications.unread_count(session, actor)}
