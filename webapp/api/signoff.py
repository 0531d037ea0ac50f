"""会签 / 或签 / 依次会签 (issue #17): who signs a sign-off step and what each said; 加签 and 减签 by a supervisor
over the case. The signing itself is completing one's own row (POST /tasks/{id}/complete). The rules
and every refusal are the service's (workflows.signoff)."""

from __future__ import annotations

from typing import Any

from workflows import signoff

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.signoff import AddSignerArgs, RemovedSchema, RemoveSignerArgs, SignoffSchema
from . import Blueprint, etag

blp = Blueprint("signoff", __name__, description="会签、或签、加签、减签")

_NOT_FOUND = "任务不存在、不在您的权限范围内，或不是会签任务"


@blp.route("/tasks/<int:task_id>/signoff", methods=["GET"])
@blp.response(200, SignoffSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
def get_signoff(task_id: int) -> Any:
    """会签情况：会签方式（会签/或签），各签署部门、状态、会签意见、签署人和时间，尚待签署的部门。"""
    return signoff.panel_for(get_session(), auth.actor(), task_id)


@blp.route("/tasks/<int:task_id>/signers", methods=["POST"])
@blp.arguments(AddSignerArgs)
@blp.response(201, SignoffSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有管辖该案件的督办人可以加签")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="不是会签任务、会签已结束，或该部门已在会签部门中")
@blp.alt_response(412, schema=ErrorSchema, description="If-Match 与任务当前版本不符")
@blp.alt_response(422, schema=ErrorSchema, description="部门角色、理由或加签位置有误")
def add_signer(args: dict[str, Any], task_id: int) -> Any:
    """加签：在进行中的会签中增加一个签署部门（案件所在地该角色的部门），须填写理由；会签须等其签署后才完成。

    task_id 为该会签任一待签署的任务。依次会签可指定 position：after 在当前签署部门之后（默认），before
    在其之前（当前部门的任务撤回，待新部门签署后重新下达）。返回加签后的会签情况，changed 为新增的部门。"""
    return signoff.add_signer(get_session(), auth.actor(), task_id, **args, expected_version=etag.if_match())


@blp.route("/tasks/<int:task_id>/remove-signer", methods=["POST"])
@blp.arguments(RemoveSignerArgs)
@blp.response(200, RemovedSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有管辖该案件的督办人可以减签")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema,
                  description="该部门已签署、是唯一的签署部门、不在排队待签的部门中，或会签已结束")
@blp.alt_response(412, schema=ErrorSchema, description="If-Match 与任务当前版本不符")
@blp.alt_response(422, schema=ErrorSchema, description="理由或部门角色有误")
def remove_signer(args: dict[str, Any], task_id: int) -> Any:
    """减签：去掉一个尚未签署的部门（task_id 为该部门的任务），须填写理由；其余部门均已签署时会签随即完成。

    依次会签中尚未轮到的部门没有任务：以 role 指明，task_id 为该会签当前待签署的任务。"""
    opened = signoff.remove_signer(get_session(), auth.actor(), task_id, **args, expected_version=etag.if_match())
    return {"opened": opened}
