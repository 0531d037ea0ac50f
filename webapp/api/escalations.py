"""Escalations (督办): a supervisor raises 催办/督办/驻点督办/约谈/问责 on a case; the target marks it read,
answers it; the raising level closes it. An escalation's ETag is its row version; answering and closing
take it back as If-Match, so nobody answers an escalation that changed under them."""

from __future__ import annotations

from typing import Any

from workflows import escalations

from .. import auth, get_session
from ..schemas.common import ErrorSchema
from ..schemas.escalations import (
    CloseArgs,
    EscalateArgs,
    EscalationPage,
    EscalationSchema,
    MyEscalationsArgs,
    RespondArgs,
)
from . import Blueprint, etag

blp = Blueprint("escalations", __name__, description="督办：催办、督办、驻点督办、约谈、问责的发起、签收、答复与办结")

ETAG_HEADER = {"ETag": {"description": "督办事项版本号；答复、办结时以 If-Match 带回", "schema": {"type": "string"}}}
_NOT_FOUND = "督办事项不存在或不在您的管辖范围内"
_STALE = "If-Match 与督办事项当前版本不符（已被他人处理），响应含 current_version"


@blp.route("/cases/<int:case_id>/escalations", methods=["POST"])
@blp.arguments(EscalateArgs)
@blp.response(201, EscalationSchema, headers=ETAG_HEADER)
@blp.alt_response(400, schema=ErrorSchema, description="请求内容不是合法的 JSON，或含 NaN、超范围数值")
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有市级或省级督办人可以督办；驻点督办、约谈、问责仅限省级")
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
@blp.alt_response(409, schema=ErrorSchema, description="案件已销号，或对同一对象已有未办结的同级督办")
@blp.alt_response(422, schema=ErrorSchema, description="级别、事由、督办对象、任务或期限有误，逐项说明")
def escalate(args: dict[str, Any], case_id: int) -> Any:
    """发起督办：对案件所在县（市、区）或其所属市（州）的部门，或案件的包保领导，催办、督办、驻点督办、约谈、问责。

    可指定针对的任务和答复期限（工作日，按法定节假日和调休计算）。"""
    escalation = escalations.escalate(get_session(), auth.actor(), case_id, **args)
    return escalation, 201, {"ETag": etag.tag(escalation.version)}


@blp.route("/cases/<int:case_id>/escalations", methods=["GET"])
@blp.response(200, EscalationSchema(many=True))
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
def case_escalations(case_id: int) -> Any:
    """案件的督办记录：按发起先后列出每一级督办、签收、答复和办结情况。"""
    return escalations.case_escalations(get_session(), auth.actor(), case_id)


@blp.route("/escalations", methods=["GET"])
@blp.arguments(MyEscalationsArgs, location="query")
@blp.response(200, EscalationPage)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="查询参数有误")
def my_escalations(args: dict[str, Any]) -> Any:
    """我收到的督办：督办本部门（县安居办、政府办还包括督办本县包保领导）的事项，最新在前、分页。"""
    per_page = args["per_page"]
    return escalations.my_escalations(get_session(), auth.actor(), open_only=args["open_only"], limit=per_page,
                                      offset=(args["page"] - 1) * per_page)


@blp.route("/escalations/<int:escalation_id>/acknowledge", methods=["POST"])
@blp.response(200, EscalationSchema, headers=ETAG_HEADER)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="不是被督办的部门")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
def acknowledge(escalation_id: int) -> Any:
    """签收（已阅）：被督办部门确认已收到；重复签收不改变任何内容。"""
    escalation = escalations.acknowledge(get_session(), auth.actor(), escalation_id)
    return escalation, 200, {"ETag": etag.tag(escalation.version)}


@blp.route("/escalations/<int:escalation_id>/respond", methods=["POST"])
@blp.arguments(RespondArgs)
@blp.response(200, EscalationSchema, headers=ETAG_HEADER)
@blp.alt_response(400, schema=ErrorSchema, description="请求内容不是合法的 JSON")
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="不是被督办的部门")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="已答复或已办结")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="答复内容有误")
def respond(args: dict[str, Any], escalation_id: int) -> Any:
    """答复督办：被督办部门说明办理情况（同时视为已阅）。可带 If-Match。"""
    escalation = escalations.respond(get_session(), auth.actor(), escalation_id, args["response"],
                                     expected_version=etag.if_match())
    return escalation, 200, {"ETag": etag.tag(escalation.version)}


@blp.route("/escalations/<int:escalation_id>/close", methods=["POST"])
@blp.arguments(CloseArgs)
@blp.response(200, EscalationSchema, headers=ETAG_HEADER)
@blp.alt_response(400, schema=ErrorSchema, description="请求内容不是合法的 JSON")
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有发起督办的单位或其上级可以办结")
@blp.alt_response(404, schema=ErrorSchema, description=_NOT_FOUND)
@blp.alt_response(409, schema=ErrorSchema, description="已办结")
@blp.alt_response(412, schema=ErrorSchema, description=_STALE)
@blp.alt_response(422, schema=ErrorSchema, description="办结意见有误")
def close(args: dict[str, Any], escalation_id: int) -> Any:
    """办结督办：发起督办的单位（或其上级）给出办结意见。可带 If-Match。"""
    escalation = escalations.close(get_session(), auth.actor(), escalation_id, args["outcome_note"],
                                   expected_version=etag.if_match())
    return escalation, 200, {"ETag": etag.tag(escalation.version)}
