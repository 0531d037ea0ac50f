"""A case's history (办理历史): every event in order, filtered and paged."""

from __future__ import annotations

from typing import Any

from workflows import cases

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.history import EventPage, HistoryArgs
from . import Blueprint

blp = Blueprint("history", __name__, description="案件办理历史：谁在何时、经何渠道做了什么")


@blp.route("/cases/<int:case_id>/history", methods=["GET"])
@blp.arguments(HistoryArgs, location="query")
@blp.response(200, EventPage)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
@blp.alt_response(422, schema=ErrorSchema, description="筛选条件有误（如起始晚于截止），逐项说明")
def case_history(args: dict[str, Any], case_id: int) -> Any:
    """案件历史：按发生顺序分页列出，可按事件类型、操作人、时间范围和来源渠道筛选。"""
    page, per_page = args.pop("page"), args.pop("per_page")
    return cases.case_history_page(get_session(), auth.actor(), case_id, limit=per_page,
                                   offset=(page - 1) * per_page, **args)
