"""Cases: the list within the caller's jurisdiction, filing (立案), the case page, editing its
particulars and changing its category. Writes carry the case's version as ETag / If-Match."""

from __future__ import annotations

from typing import Any

from flask import url_for

from workflows import case_queries, cases

from .. import auth, get_session
from ..schemas.cases import (
    CaseChangesSchema,
    CaseDetailSchema,
    CaseListArgs,
    CasePage,
    CaseSchema,
    NewCaseSchema,
    ReclassificationSchema,
    ReclassifyArgs,
)
from ..schemas.common import ErrorSchema
from . import Blueprint, etag

blp = Blueprint("cases", __name__, description="案件：列表与查找、立案、案件详情、修改案件信息、改变类别")


@blp.route("/cases", methods=["GET"])
@blp.arguments(CaseListArgs, location="query")
@blp.response(200, CasePage)
@blp.alt_response(401, schema=ErrorSchema, description="未登录")
@blp.alt_response(422, schema=ErrorSchema, description="筛选条件有误（如地区代码不存在），逐项说明")
def list_cases(args: dict[str, Any]) -> Any:
    """案件列表：调用者管辖范围内的案件，按编号排序、分页，可按地区、类别、状态、是否超期和关键字筛选。"""
    page, per_page = args.pop("page"), args.pop("per_page")
    return case_queries.search_cases(get_session(), auth.actor(), limit=per_page, offset=(page - 1) * per_page,
                                     **args)


@blp.route("/cases", methods=["POST"])
@blp.arguments(NewCaseSchema)
@blp.response(201, CaseSchema, headers={"Location": {"schema": {"type": "string"}, "description": "新案件地址"},
                                        "ETag": {"schema": {"type": "string"}, "description": "案件版本"}})
@blp.alt_response(403, schema=ErrorSchema, description="无权在该地区立案")
@blp.alt_response(422, schema=ErrorSchema, description="立案信息有误，逐项说明")
def create_case(new: cases.NewCase) -> Any:
    """立案：登记逾期未安置案件并启动办理流程（县住建部门、安居办经办人或上级督办人）。"""
    case = cases.create_case(get_session(), auth.actor(), new)
    return case, 201, {"Location": url_for("cases.get_case", case_id=case.id), "ETag": etag.tag(case.version)}


@blp.route("/cases/<int:case_id>", methods=["GET"])
@blp.response(200, CaseDetailSchema, headers={"ETag": {"schema": {"type": "string"}, "description": "案件版本"}})
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
def get_case(case_id: int) -> Any:
    """案件详情：案件信息、当前待办任务、户数情况和所处流程。"""
    detail = case_queries.case_detail(get_session(), auth.actor(), case_id)
    return detail, 200, {"ETag": etag.tag(detail.case.version)}


@blp.route("/cases/<int:case_id>", methods=["PATCH"])
@blp.arguments(CaseChangesSchema)
@blp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}, "description": "新的案件版本"}})
@blp.alt_response(403, schema=ErrorSchema, description="无权修改案件信息（如审计、系统管理员）")
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
@blp.alt_response(412, schema=ErrorSchema, description="If-Match 与当前版本不符：案件已被他人修改")
@blp.alt_response(422, schema=ErrorSchema, description="字段有误或不可修改，逐项说明")
def update_case(changes: dict[str, Any], case_id: int) -> Any:
    """修改案件信息：项目名称、包保领导、开发企业、目标完成日期、备注（类别请用改变类别，户数随任务办理变化）。

    带 If-Match（案件版本）时，版本不符即拒绝（412）。"""
    case = cases.update_case(get_session(), auth.actor(), case_id, changes, expected_version=etag.if_match())
    return case, 200, {"ETag": etag.tag(case.version)}


@blp.route("/cases/<int:case_id>/reclassify", methods=["POST"])
@blp.arguments(ReclassifyArgs)
@blp.response(200, ReclassificationSchema,
              headers={"ETag": {"schema": {"type": "string"}, "description": "新的案件版本"}})
@blp.alt_response(403, schema=ErrorSchema, description="只有市级或省级督办人可以改变类别")
@blp.alt_response(404, schema=ErrorSchema, description="案件不存在或不在管辖范围内")
@blp.alt_response(409, schema=ErrorSchema, description="案件当前不在按类别办理阶段")
@blp.alt_response(412, schema=ErrorSchema, description="If-Match 与当前版本不符")
@blp.alt_response(422, schema=ErrorSchema, description="类别或理由有误")
def reclassify(args: dict[str, Any], case_id: int) -> Any:
    """改变类别：撤销当前类别的流程及其待办任务，启动新类别（市级、省级督办人，须说明理由）。"""
    moved = cases.reclassify_case(get_session(), auth.actor(), case_id, args["category"], args["reason"],
                                  expected_version=etag.if_match())
    return moved, 200, {"ETag": etag.tag(moved.case.version)}
