"""抄送 (issue #17): copy a task to the case's 包保领导 or to named people, who read it in "抄送我的"
and mark it 已阅; they never act on it. The rules and refusals are the service's (workflows.copies)."""

from __future__ import annotations

from typing import Any

from workflows import copies

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.copies import CopiesArgs, CopyArgs, CopyPage, NewCopySchema
from . import Blueprint

blp = Blueprint("copies", __name__, description="抄送：抄送任务给包保领导或相关人员，抄送我的列表")


@blp.route("/tasks/<int:task_id>/copies", methods=["POST"])
@blp.arguments(CopyArgs)
@blp.response(201, NewCopySchema(many=True))
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有任务的承办部门或督办人可以抄送")
@blp.alt_response(404, schema=ErrorSchema, description="任务不存在或不在您的权限范围内")
@blp.alt_response(422, schema=ErrorSchema, description="抄送对象或说明有误，逐项说明")
def copy_task(args: dict[str, Any], task_id: int) -> Any:
    """抄送：把任务（办理中或已办结）抄送给包保领导（leader=true）和/或指定人员，附说明；对方只能查看，不能办理。

    已抄送过的人不重复抄送；返回本次新增的抄送。"""
    return copies.copy_task(get_session(), auth.actor(), task_id, **args)


@blp.route("/copies", methods=["GET"])
@blp.arguments(CopiesArgs, location="query")
@blp.response(200, CopyPage)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="查询参数有误")
def list_copies(args: dict[str, Any]) -> Any:
    """抄送我的：未阅在前、最新在前、分页；unread_only 只列未阅。"""
    per_page = args["per_page"]
    return copies.copied_to_me(get_session(), auth.actor(), unread_only=args["unread_only"], limit=per_page,
                               offset=(args["page"] - 1) * per_page)


@blp.route("/copies/<int:copy_id>/read", methods=["POST"])
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description="抄送不存在（只能标记抄送给自己的）")
def mark_read(copy_id: int) -> Any:
    """标记已阅。"""
    copies.mark_read(get_session(), auth.actor(), copy_id)
    return None
