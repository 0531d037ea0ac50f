"""Tasks: the caller's lists (待办, 我认领的, 未认领, 已办), one task and its form, claiming and completing.

A task's ETag is its row version; claim, unclaim and complete take it back as If-Match, so a client
that acted on an old copy gets 412 with the current version instead of overwriting someone's work.
"""

from __future__ import annotations

from typing import Any

from workflows import inbox, tasks

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.tasks import (
    CompleteArgs,
    CompletionSchema,
    TaskFormSchema,
    TaskListArgs,
    TaskPageSchema,
    TaskSchema,
)
from . import Blueprint, etag

blp = Blueprint("tasks", __name__, description="任务：待办列表、任务表单、认领与办结")

ETAG_HEADER = {"ETag": {"description": "任务版本号；认领、退回、办结时以 If-Match 带回", "schema": {"type": "string"}}}
_NOT_FOUND = "任务不存在或不在您的权限范围内"
_STALE = "If-Match 与任务当前版本不符（已被他人处理或修改），响应含 current_version"


@blp.route("/tasks", methods=["GET"])
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskPageSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="查询参数有误")
def list_tasks(args: dict[str, Any]) -> Any:
    """我的任务列表：按视图（待办、我认领的、未认领、已办）分页，可按到期、类别、案件筛选。

    待办按办理时限排序（无时限的在后），已办按办结时间倒序。审计和系统管理员不办理任务，列表为空。"""
    per_page = args["per_page"]
    return inbox.task_page(get_session(), auth.actor(), view=args["view"], due=args["due"],
                           within_days=args["within_days"], category=args["category"],
                           case_id=args["case_id"], limit=per_page, offset=(args["page"] - 1) * per_page)


@blp.route("/tasks/<int:task_id>", methods=["GET"])
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
def get_task(task_id: int) -> Any:
    """任务详情：所属案件、承办部门、认领人、办理时限与版本号（ETag）。"""
    task = inbox.task_detail(get_session(), auth.actor(), task_id)
    return task, 200, {"ETag": etag.tag(task.version)}


@blp.route("/tasks/<int:task_id>/form", methods=["GET"])
@blp.response(200, TaskFormSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
def get_form(task_id: int) -> Any:
    """任务表单：流程文件为该任务声明的字段（类型、是否必填、可选项、取值范围、长度上限）。"""
    form = inbox.task_form(get_session(), auth.actor(), task_id)
    return form, 200, {"ETag": etag.tag(form.task.version)}


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="可查看但无权办理该任务")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="任务已办结、已撤销或已被他人认领")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
def claim(task_id: int) -> Any:
    """认领任务：任务归我办理，同部门其他人的待办中不再出现。可带 If-Match。"""
    session = get_session()
    task = tasks.claim(session, auth.actor(), task_id, expected_version=etag.if_match())
    return inbox.described(session, task), 200, {"ETag": etag.tag(task.version)}


@blp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="可查看但无权办理该任务")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="任务未被认领，或由他人认领（只有认领人或督办人可退回）")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
def unclaim(task_id: int) -> Any:
    """退回任务：放回本部门的未认领任务中。可带 If-Match。"""
    session = get_session()
    task = tasks.unclaim(session, auth.actor(), task_id, expected_version=etag.if_match())
    return inbox.described(session, task), 200, {"ETag": etag.tag(task.version)}


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteArgs)
@blp.response(200, CompletionSchema, headers=ETAG_HEADER)
@blp.alt_response(400, schema=ErrorSchema, description="请求内容不是合法的 JSON，或含 NaN、超范围数值（指明字段）")
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="无权办理；督办人代办须填写代办理由；法院事项不能代办")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="任务已办结或已撤销，或已被他人认领")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="表单校验未通过，errors 按字段说明；任务保持待办")
def complete(args: dict[str, Any], task_id: int) -> Any:
    """办结任务：提交表单，流程随之推进；返回下一步下达的任务及承办部门、撤销的任务。

    表单按流程文件声明的字段校验，任何字段有误则不保存任何内容。督办人办理其他部门的任务即为代办，
    须填写 on_behalf_reason。可带 If-Match。"""
    session = get_session()
    done = tasks.complete_task(session, auth.actor(), task_id, args["data"], expected_version=etag.if_match(),
                               on_behalf_reason=args["on_behalf_reason"], opinion=args["opinion"])
    inbox.described(session, done.task)
    return done, 200, {"ETag": etag.tag(done.task.version)}
