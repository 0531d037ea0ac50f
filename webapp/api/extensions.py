"""延期申请 (deadline extensions): the officer holding a task asks for a later due date before it
passes; the level above approves or refuses; the requesting agency marks the decision read. A
request's ETag is its row version; withdrawing and deciding take it back as If-Match."""

from __future__ import annotations

from typing import Any

from workflows import extensions

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.extensions import DecideArgs, ExtensionPage, ExtensionSchema, PendingArgs, RequestExtensionArgs
from . import Blueprint, etag

blp = Blueprint("extensions", __name__, description="延期申请：任务到期前申请延长办理时限，由上一级审批")

ETAG_HEADER = {"ETag": {"description": "延期申请版本号；撤回、审批时以 If-Match 带回", "schema": {"type": "string"}}}
_NOT_FOUND = "延期申请不存在或不在您的管辖范围内"
_STALE = "If-Match 与延期申请当前版本不符（已被他人处理），响应含 current_version"


@blp.route("/tasks/<int:task_id>/extensions", methods=["POST"])
@blp.arguments(RequestExtensionArgs)
@blp.response(201, ExtensionSchema, headers=ETAG_HEADER)
@blp.alt_response(400, schema=ErrorSchema, description="请求内容不是合法的 JSON，或含 NaN、超范围数值")
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有任务的承办部门（已签收的，签收人）可以申请")
@blp.alt_response(404, schema=ErrorSchema, description="任务不存在或不在管辖范围内")
@blp.alt_response(409, schema=ErrorSchema, description="任务已办结、无时限、时限已过或为政策期限，或已有待审批的申请")
@blp.alt_response(422, schema=ErrorSchema, description="理由或日期有误，逐项说明")
def request_extension(args: dict[str, Any], task_id: int) -> Any:
    """申请延期：在办理时限届满前，说明理由并申请延至某个工作日，报承办部门的上一级审批。"""
    request = extensions.request_extension(get_session(), auth.actor(), task_id, **args)
    return request, 201, {"ETag": etag.tag(request.version)}


@blp.route("/tasks/<int:task_id>/extensions", methods=["GET"])
@blp.response(200, ExtensionSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description="任务不存在或不在管辖范围内")
def task_extensions(task_id: int) -> Any:
    """任务的延期申请：按申请先后列出，含审批结果。"""
    return extensions.task_extensions(get_session(), auth.actor(), task_id)


@blp.route("/extensions", methods=["GET"])
@blp.arguments(PendingArgs, location="query")
@blp.response(200, ExtensionPage)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="查询参数有误")
def pending_extensions(args: dict[str, Any]) -> Any:
    """待审批的延期申请：管辖范围内、任务仍在办理中的申请，先申请的在前、分页。"""
    per_page = args["per_page"]
    return extensions.pending_extensions(get_session(), auth.actor(), decidable_only=args["decidable_only"],
                                         limit=per_page, offset=(args["page"] - 1) * per_page)


@blp.route("/extensions/<int:extension_id>", methods=["GET"])
@blp.response(200, ExtensionSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
def get_extension(extension_id: int) -> Any:
    """一件延期申请及其审批情况。"""
    request = extensions.get_extension(get_session(), auth.actor(), extension_id)
    return request, 200, {"ETag": etag.tag(request.version)}


@blp.route("/extensions/<int:extension_id>/withdraw", methods=["POST"])
@blp.response(200, ExtensionSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有申请人本人可以撤回")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="已审批或已撤回")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
def withdraw(extension_id: int) -> Any:
    """撤回延期申请（审批前，申请人本人）。可带 If-Match。"""
    request = extensions.withdraw(get_session(), auth.actor(), extension_id, expected_version=etag.if_match())
    return request, 200, {"ETag": etag.tag(request.version)}


@blp.route("/extensions/<int:extension_id>/decide", methods=["POST"])
@blp.arguments(DecideArgs)
@blp.response(200, ExtensionSchema, headers=ETAG_HEADER)
@blp.alt_response(400, schema=ErrorSchema, description="请求内容不是合法的 JSON")
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有承办部门上一级的督办人可以审批")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="已审批、已撤回，任务已办结，或申请的日期已过")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="审批结果或意见有误")
def decide(args: dict[str, Any], extension_id: int) -> Any:
    """审批延期申请：批准则任务的办理时限改为申请的日期；不批准须说明理由，时限不变。可带 If-Match。"""
    request = extensions.decide(get_session(), auth.actor(), extension_id, **args, expected_version=etag.if_match())
    return request, 200, {"ETag": etag.tag(request.version)}


@blp.route("/extensions/<int:extension_id>/acknowledge", methods=["POST"])
@blp.response(200, ExtensionSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="不是申请延期的部门")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="尚未审批")
def acknowledge(extension_id: int) -> Any:
    """已阅审批结果：申请部门确认已知悉；重复签收不改变任何内容。"""
    request = extensions.acknowledge(get_session(), auth.actor(), extension_id)
    return request, 200, {"ETag": etag.tag(request.version)}
