"""Task operations (issue #17): 转办 one task or many (a result per task), 退回 to an earlier step with
an opinion, 撤回 of one's own completion. Each takes the task's version as If-Match where it acts on
one task; the permission rules and every refusal are the service's (workflows.task_operations)."""

from __future__ import annotations

from typing import Any

from workflows import bulk, inbox, task_operations

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.task_operations import (
    BulkReassignArgs,
    BulkResultSchema,
    BulkUrgeArgs,
    ReassignArgs,
    ReopenedSchema,
    ReturnArgs,
    ReturnTargetSchema,
    WithdrawArgs,
)
from ..schemas.tasks import TaskSchema
from . import Blueprint, etag

blp = Blueprint("task_operations", __name__, description="任务操作：转办、批量转办、批量催办、退回、撤回")

ETAG_HEADER = {"ETag": {"description": "任务版本号；以 If-Match 带回", "schema": {"type": "string"}}}
_NOT_FOUND = "任务不存在或不在您的权限范围内"
_STALE = "If-Match 与任务当前版本不符（已被他人处理或修改），响应含 current_version"


@blp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@blp.arguments(ReassignArgs)
@blp.response(200, TaskSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="可查看但无权办理该任务")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="任务已办结或已撤销，或已被他人认领")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="理由、接收部门或接收人有误，逐项说明")
def reassign(args: dict[str, Any], task_id: int) -> Any:
    """转办：交本部门另一位经办人，或交同类部门（如县住建局交市住建局），须填写理由。

    承办部门的经办人（他人已认领的只有认领人）或管辖范围内的督办人可以转办；接收人立即在待办中看到该任务。"""
    session = get_session()
    task = task_operations.reassign(session, auth.actor(), task_id, **args, expected_version=etag.if_match())
    return inbox.described(session, task), 200, {"ETag": etag.tag(task.version)}


@blp.route("/tasks/reassign", methods=["POST"])
@blp.arguments(BulkReassignArgs)
@blp.response(200, BulkResultSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="未选任务、超过上限或理由有误：一项也不转办")
def bulk_reassign(args: dict[str, Any]) -> Any:
    """批量转办：逐项转办所选任务，每项单独生效；返回每项的结果（已转办，或未转办及原因）。"""
    task_ids = args.pop("task_ids")
    return task_operations.bulk_reassign(get_session(), auth.actor(), task_ids, **args)


@blp.route("/tasks/urge", methods=["POST"])
@blp.arguments(BulkUrgeArgs)
@blp.response(200, BulkResultSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="未选任务、超过上限、催办事由或答复期限有误：一项也不催办")
def bulk_urge(args: dict[str, Any]) -> Any:
    """批量催办：对所选每项待办任务的承办部门发起催办（市、省级督办人），每项单独生效；返回每项的结果（已催办，或未催办及原因）。"""
    task_ids = args.pop("task_ids")
    return bulk.bulk_urge(get_session(), auth.actor(), task_ids, **args)


@blp.route("/tasks/<int:task_id>/return-targets", methods=["GET"])
@blp.response(200, ReturnTargetSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
def return_targets(task_id: int) -> Any:
    """可退回的步骤：本任务之前已办理的步骤，最近的在前，逐项说明能否退回（并行分支、已到期的时限、已办结的子流程之前不能退回）。"""
    return task_operations.return_targets(get_session(), auth.actor(), task_id)


@blp.route("/tasks/<int:task_id>/return", methods=["POST"])
@blp.arguments(ReturnArgs)
@blp.response(200, ReopenedSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="可查看但无权办理该任务")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="不能退回至该步骤（说明原因），或任务已不可办理")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="退回意见或退回步骤有误")
def return_task(args: dict[str, Any], task_id: int) -> Any:
    """退回：将案件退回到本任务之前已办理的某一步（默认上一步），须填写退回意见。

    该步骤重新打开，交回原承办部门和办理人，附退回意见；本任务撤销。ETag 为重新打开的任务的版本号。"""
    session = get_session()
    done = task_operations.return_task(session, auth.actor(), task_id, **args, expected_version=etag.if_match())
    inbox.described(session, done.task)
    return done, 200, {"ETag": etag.tag(done.task.version)}


@blp.route("/tasks/<int:task_id>/withdraw", methods=["POST"])
@blp.arguments(WithdrawArgs)
@blp.response(200, ReopenedSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有办结该任务的本人可以撤回")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="下一步已被认领、已开始办理或已办结等，不能撤回（说明原因）")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="撤回理由过长")
def withdraw(args: dict[str, Any], task_id: int) -> Any:
    """撤回：办结人撤回自己办结的任务，下一步尚未被认领或开始办理时可以撤回；下一步撤销，本任务重新交本人办理。"""
    session = get_session()
    done = task_operations.withdraw(session, auth.actor(), task_id, **args, expected_version=etag.if_match())
    inbox.described(session, done.task)
    return done, 200, {"ETag": etag.tag(done.task.version)}
