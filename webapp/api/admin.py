"""Administration resources: places (public reference data), agencies, users and process versions.

Reading places and agencies is for anyone signed in (agencies within their jurisdiction); users and
every change are for system administrators; process versions are read by supervisors, auditors and
administrators. Each change is in the access log, written by the service in the same transaction.
"""

from __future__ import annotations

from typing import Any

from workflows import agencies, processes, regions, users

from .. import auth, get_session
from ..schemas.admin import (
    AgencyArgs,
    AgencyPage,
    AgencySchema,
    CredentialsSchema,
    DeploymentSchema,
    MigrateArgs,
    MigrationResultSchema,
    NewAgencyArgs,
    NewUserArgs,
    RegionArgs,
    RegionSchema,
    RenameAgencyArgs,
    UpdateUserArgs,
    UserArgs,
    UserPage,
    UserSchema,
    VersionSchema,
)
from ..schemas.common import ErrorSchema
from . import Blueprint

regions_blp = Blueprint("regions", __name__, description="行政区划（省、市、县）：公共参考数据")
agencies_blp = Blueprint("agencies", __name__, description="各地部门：查看管辖范围内的部门；系统管理员新建、更名")
users_blp = Blueprint("users", __name__, description="用户管理（系统管理员）：新建、修改、停用、重置密码")
versions_blp = Blueprint("versions", __name__, description="流程版本：查看、部署、迁移在办案件")
blueprints = [regions_blp, agencies_blp, users_blp, versions_blp]


def _paging(args: dict[str, Any]) -> dict[str, int]:
    page, per_page = args.pop("page"), args.pop("per_page")
    return {"limit": per_page, "offset": (page - 1) * per_page}


# --- places -----------------------------------------------------------------------------------------

@regions_blp.route("/regions", methods=["GET"])
@regions_blp.arguments(RegionArgs, location="query")
@regions_blp.response(200, RegionSchema(many=True))
@regions_blp.alt_response(422, schema=ErrorSchema, description="上级地区代码不存在或层级无效")
def list_regions(args: dict[str, Any]) -> Any:
    """行政区划列表：可按上级地区（代码，只列直接下级）或层级筛选。"""
    return regions.list_regions(get_session(), auth.actor(), **args)


@regions_blp.route("/regions/<code>", methods=["GET"])
@regions_blp.response(200, RegionSchema)
@regions_blp.alt_response(404, schema=ErrorSchema, description="地区代码不存在")
def get_region(code: str) -> Any:
    """一个地区：代码、名称、层级与上级。"""
    return regions.get_region(get_session(), auth.actor(), code)


# --- agencies ---------------------------------------------------------------------------------------

@agencies_blp.route("/agencies", methods=["GET"])
@agencies_blp.arguments(AgencyArgs, location="query")
@agencies_blp.response(200, AgencyPage)
@agencies_blp.alt_response(422, schema=ErrorSchema, description="地区代码不存在或部门类别无效")
def list_agencies(args: dict[str, Any]) -> Any:
    """管辖范围内的部门（按地区代码、类别排序，分页）：可按地区（代码）、部门类别筛选。"""
    paging = _paging(args)
    return agencies.list_agencies(get_session(), auth.actor(), **args, **paging)


@agencies_blp.route("/agencies/<int:agency_id>", methods=["GET"])
@agencies_blp.response(200, AgencySchema)
@agencies_blp.alt_response(404, schema=ErrorSchema, description="部门不存在或不在管辖范围内")
def get_agency(agency_id: int) -> Any:
    """一个部门。"""
    return agencies.get_agency(get_session(), auth.actor(), agency_id)


@agencies_blp.route("/agencies", methods=["POST"])
@agencies_blp.arguments(NewAgencyArgs)
@agencies_blp.response(201, AgencySchema)
@agencies_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员，或该地区不在管辖范围内")
@agencies_blp.alt_response(409, schema=ErrorSchema, description="该地区已有这一类部门")
@agencies_blp.alt_response(422, schema=ErrorSchema, description="地区、类别或名称有误")
def create_agency(args: dict[str, Any]) -> Any:
    """新建部门（系统管理员）：某地区尚没有的一类部门；写入访问日志。"""
    return agencies.create_agency(get_session(), auth.actor(), **args)


@agencies_blp.route("/agencies/<int:agency_id>", methods=["PATCH"])
@agencies_blp.arguments(RenameAgencyArgs)
@agencies_blp.response(200, AgencySchema)
@agencies_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@agencies_blp.alt_response(404, schema=ErrorSchema, description="部门不存在或不在管辖范围内")
@agencies_blp.alt_response(422, schema=ErrorSchema, description="名称有误")
def rename_agency(args: dict[str, Any], agency_id: int) -> Any:
    """部门更名（系统管理员）；写入访问日志。"""
    return agencies.rename_agency(get_session(), auth.actor(), agency_id, **args)


# --- users ------------------------------------------------------------------------------------------

@users_blp.route("/users", methods=["GET"])
@users_blp.arguments(UserArgs, location="query")
@users_blp.response(200, UserPage)
@users_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@users_blp.alt_response(422, schema=ErrorSchema, description="筛选条件有误")
def list_users(args: dict[str, Any]) -> Any:
    """管辖范围内的用户（系统管理员，分页）：可按部门、地区（含下级）、角色、启用状态筛选，按用户名或姓名搜索。"""
    paging = _paging(args)
    return users.list_users(get_session(), auth.actor(), **args, **paging)


@users_blp.route("/users/<int:user_id>", methods=["GET"])
@users_blp.response(200, UserSchema)
@users_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@users_blp.alt_response(404, schema=ErrorSchema, description="用户不存在或不在管辖范围内")
def get_user(user_id: int) -> Any:
    """一个用户（系统管理员）。"""
    return users.get_user(get_session(), auth.actor(), user_id)


@users_blp.route("/users", methods=["POST"])
@users_blp.arguments(NewUserArgs)
@users_blp.response(201, CredentialsSchema)
@users_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@users_blp.alt_response(409, schema=ErrorSchema, description="用户名已被使用")
@users_blp.alt_response(422, schema=ErrorSchema, description="用户名、姓名、角色或部门有误，或角色与部门不相称")
def create_user(args: dict[str, Any]) -> Any:
    """新建用户（系统管理员）：返回用户和一次性密码（只显示这一次，库中只存其摘要）；写入访问日志。"""
    return users.create_user(get_session(), auth.actor(), **args)


@users_blp.route("/users/<int:user_id>", methods=["PATCH"])
@users_blp.arguments(UpdateUserArgs)
@users_blp.response(200, UserSchema)
@users_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@users_blp.alt_response(404, schema=ErrorSchema, description="用户不存在或不在管辖范围内")
@users_blp.alt_response(409, schema=ErrorSchema, description="不能修改自己的角色、部门或启用状态")
@users_blp.alt_response(422, schema=ErrorSchema, description="字段有误，或角色与部门不相称")
def update_user(args: dict[str, Any], user_id: int) -> Any:
    """修改用户（系统管理员）：姓名、角色、部门、启用状态。改角色、部门或启用状态即结束其浏览器会话。"""
    return users.update_user(get_session(), auth.actor(), user_id, **args)


@users_blp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@users_blp.response(200, UserSchema)
@users_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@users_blp.alt_response(404, schema=ErrorSchema, description="用户不存在或不在管辖范围内")
@users_blp.alt_response(409, schema=ErrorSchema, description="不能停用自己的账户")
def deactivate_user(user_id: int) -> Any:
    """停用用户（系统管理员）：其登录、浏览器会话和接口令牌随即失效；写入访问日志。"""
    return users.deactivate_user(get_session(), auth.actor(), user_id)


@users_blp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@users_blp.response(200, CredentialsSchema)
@users_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@users_blp.alt_response(404, schema=ErrorSchema, description="用户不存在或不在管辖范围内")
def reset_password(user_id: int) -> Any:
    """重置密码（系统管理员）：返回新的一次性密码，结束其浏览器会话并解除登录锁定；写入访问日志。"""
    return users.reset_password(get_session(), auth.actor(), user_id)


# --- process versions -------------------------------------------------------------------------------

@versions_blp.route("/versions", methods=["GET"])
@versions_blp.response(200, VersionSchema(many=True))
@versions_blp.alt_response(403, schema=ErrorSchema, description="经办人不能查看")
def list_versions() -> Any:
    """已部署的流程版本：文件、校验值、部署人、在办案件数（督办人、审计、系统管理员）。"""
    return processes.versions(get_session(), auth.actor())


@versions_blp.route("/versions/<int:number>", methods=["GET"])
@versions_blp.response(200, VersionSchema)
@versions_blp.alt_response(403, schema=ErrorSchema, description="经办人不能查看")
@versions_blp.alt_response(404, schema=ErrorSchema, description="版本不存在")
def get_version(number: int) -> Any:
    """一个流程版本及其文件（文件名、SHA-256）。"""
    return processes.version_summary(get_session(), auth.actor(), number)


@versions_blp.route("/versions", methods=["POST"])
@versions_blp.response(201, DeploymentSchema)
@versions_blp.alt_response(200, schema=DeploymentSchema, description="文件没有变化：返回已有版本")
@versions_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@versions_blp.alt_response(422, schema=ErrorSchema, description="流程校验未通过：说明文件和元素")
def deploy() -> Any:
    """部署服务器所配置的流程目录（系统管理员）：有文件变化时产生新版本（201），否则返回已有版本（200）。"""
    result = processes.deploy_configured(get_session(), auth.actor())
    return result, 201 if result.created else 200


@versions_blp.route("/versions/<int:number>/migrate", methods=["POST"])
@versions_blp.arguments(MigrateArgs)
@versions_blp.response(200, MigrationResultSchema(many=True))
@versions_blp.alt_response(403, schema=ErrorSchema, description="不是系统管理员")
@versions_blp.alt_response(404, schema=ErrorSchema, description="版本不存在")
@versions_blp.alt_response(422, schema=ErrorSchema, description="案件编号有误")
def migrate(args: dict[str, Any], number: int) -> Any:
    """将在办案件迁移到该版本（系统管理员）；默认只试运行（dry_run），逐案报告将如何处理而不做修改。"""
    return processes.migrate_to(get_session(), auth.actor(), number, args["case_codes"], dry_run=args["dry_run"])
