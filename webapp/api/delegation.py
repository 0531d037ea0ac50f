"""委派 (issue #17): the holder of a task delegates it to a colleague, who resolves it back with an
opinion; the holder may recall it. The rules and refusals are the service's (workflows.delegation)."""

from __future__ import annotations

from typing import Any

from workflows import delegation

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.delegation import DelegateArgs, DelegationSchema, RecallArgs, ResolveArgs
from . import Blueprint, etag

blp = Blueprint("delegation", __name__, description="委派：委派同事办理、办毕退回、收回")

_NOT_FOUND = "任务不存在或不在您的权限范围内"
_STALE = "If-Match 与任务当前版本不符"


@blp.route("/tasks/<int:task_id>/delegate", methods=["POST"])
@blp.arguments(DelegateArgs)
@blp.response(201, DelegationSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有承办部门的经办人可以委派")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="任务已办结、已被他人认领或已委派")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="受委派人或说明有误")
def delegate(args: dict[str, Any], task_id: int) -> Any:
    """委派：任务的承办人请本部门同事办理；受委派人办毕退回后，由委派人办结。未认领的任务委派时即由委派人认领。"""
    return delegation.delegate(get_session(), auth.actor(), task_id, **args, expected_version=etag.if_match())


@blp.route("/tasks/<int:task_id>/delegation/resolve", methods=["POST"])
@blp.arguments(ResolveArgs)
@blp.response(200, DelegationSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有受委派人可以办毕退回")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="没有进行中的委派，或任务已办结")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="办理意见有误")
def resolve(args: dict[str, Any], task_id: int) -> Any:
    """办毕退回：受委派人附办理意见，将任务交回委派人办结。"""
    return delegation.resolve(get_session(), auth.actor(), task_id, **args, expected_version=etag.if_match())


@blp.route("/tasks/<int:task_id>/delegation/recall", methods=["POST"])
@blp.arguments(RecallArgs)
@blp.response(200, DelegationSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有委派人或督办人可以收回")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="没有进行中的委派，或任务已办结")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
def recall(args: dict[str, Any], task_id: int) -> Any:
    """收回委派：委派人在受委派人办毕退回之前收回任务。"""
    return delegation.recall(get_session(), auth.actor(), task_id, **args, expected_version=etag.if_match())
