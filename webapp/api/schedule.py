"""倒排工期: a case's backward schedule, and the deadline a city or province supervisor sets where
its category has no policy deadline. Setting it takes the case's version as If-Match."""

from __future__ import annotations

from typing import Any

from workflows import schedule

from .. import auth, get_session
from ..schemas.cases import CaseSchema
from ..schemas.common import ErrorSchema
from ..schemas.schedule import DeadlineArgs, ScheduleSchema
from . import Blueprint, etag

blp = Blueprint("schedule", __name__, description="倒排工期：案件的时限、各步骤最迟开始日期与延误风险；督办人设定时限")


@blp.route("/cases/<int:case_id>/schedule", methods=["GET"])
@blp.response(200, ScheduleSchema)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
def get_schedule(case_id: int) -> Any:
    """倒排工期：时限及其来源（政策时限或督办人设定），当前路径上尚需办理的各步骤、办理时限、最迟开始日期，
    以及案件是否有延误风险。"""
    return schedule.case_schedule(get_session(), auth.actor(), case_id)


@blp.route("/cases/<int:case_id>/deadline", methods=["PUT"])
@blp.arguments(DeadlineArgs)
@blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}, "description": "新的案件版本"}})
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(403, schema=ErrorSchema, description="只有市级或省级督办人可以设定办理时限")
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
@blp.alt_response(412, schema=ErrorSchema, description="If-Match 与当前版本不符：案件已被他人修改")
@blp.alt_response(422, schema=ErrorSchema, description="办理时限不是日期或已经过去")
def set_deadline(args: dict[str, Any], case_id: int) -> Any:
    """设定（或取消）督办人给案件的办理时限：本类别没有政策时限时，倒排工期以此为准。记入办理记录。"""
    case = schedule.set_deadline(get_session(), auth.actor(), case_id, args["deadline"],
                                 expected_version=etag.if_match())
    return case, 200, {"ETag": etag.tag(case.version)}
