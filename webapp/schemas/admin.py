"""Administration: places, agencies, users and deployed process versions.

Input schemas check shapes and types; the services check content (workflows.inputs: lengths, control
characters, ids that cannot exist) so the command line and the API refuse the same things.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import AGENCY_ROLES, REGION_LEVELS, USER_ROLES
from workflows.migration import STATUS_LABELS
from workflows.processes import MIGRATE_MAX_CASES

from .common import AgencyRef, PageArgs, paged

# --- places -----------------------------------------------------------------------------------------


class RegionSchema(Schema):
    id = fields.Integer()
    code = fields.String(metadata={"description": "行政区划代码（GB/T 2260；长白山管委会为本系统自定代码）"})
    name = fields.String()
    level = fields.String(metadata={"description": " / ".join(REGION_LEVELS)})
    level_label = fields.Function(lambda r: REGION_LEVELS.get(r.level, r.level))
    parent_code = fields.Function(lambda r: r.parent.code if r.parent is not None else None,
                                  metadata={"description": "上级（督办关系上的上级，省直管县为省）"})
    direct_to_province = fields.Boolean(metadata={"description": "省直管"})


class RegionArgs(Schema):
    parent = fields.String(load_default=None, validate=validate.Length(max=12),
                           metadata={"description": "只列该地区（代码）的直接下级"})
    level = fields.String(load_default=None, validate=validate.OneOf(list(REGION_LEVELS)))


# --- agencies ---------------------------------------------------------------------------------------

class AgencySchema(AgencyRef):
    pass


AgencyPage = paged(AgencySchema, "AgencyPage")


class AgencyArgs(PageArgs):
    region = fields.String(load_default=None, validate=validate.Length(max=12),
                           metadata={"description": "地区代码：只列该地区的部门"})
    role = fields.String(load_default=None, validate=validate.OneOf(list(AGENCY_ROLES)))


class NewAgencyArgs(Schema):
    region = fields.String(required=True, metadata={"description": "地区代码"})
    role = fields.String(required=True, validate=validate.OneOf(list(AGENCY_ROLES)),
                         metadata={"description": "部门类别；每个地区每类部门只能有一个"})
    name = fields.String(required=True, metadata={"description": "部门全称，不超过 128 个字符"})


class RenameAgencyArgs(Schema):
    name = fields.String(required=True, metadata={"description": "部门全称，不超过 128 个字符"})


# --- users ------------------------------------------------------------------------------------------

class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String(metadata={"description": " / ".join(USER_ROLES)})
    role_label = fields.String()
    agency = fields.Nested(AgencyRef)
    active = fields.Boolean()
    last_sign_in_at = fields.DateTime(allow_none=True)
    locked_until = fields.DateTime(allow_none=True, metadata={"description": "密码错误过多时登录锁定至"})


UserPage = paged(UserSchema, "UserPage")


class UserArgs(PageArgs):
    agency_id = fields.Integer(load_default=None)
    region = fields.String(load_default=None, validate=validate.Length(max=12),
                           metadata={"description": "地区代码：该地区及其下级各地的用户"})
    role = fields.String(load_default=None, validate=validate.OneOf(list(USER_ROLES)))
    active = fields.Boolean(load_default=None)
    q = fields.String(load_default=None, metadata={"description": "用户名或姓名中的文字"})


class NewUserArgs(Schema):
    username = fields.String(required=True, metadata={"description": "3–64 位英文字母、数字或 . _ -"})
    display_name = fields.String(required=True, metadata={"description": "姓名，不超过 64 个字符"})
    role = fields.String(required=True, validate=validate.OneOf(list(USER_ROLES)),
                         metadata={"description": "督办人只能属于市级或省级安居办；审计、系统管理员只能属于省级或市级部门"})
    agency_id = fields.Integer(required=True, strict=True)


class UpdateUserArgs(Schema):
    display_name = fields.String()
    role = fields.String(validate=validate.OneOf(list(USER_ROLES)))
    agency_id = fields.Integer(strict=True)
    active = fields.Boolean()


class CredentialsSchema(Schema):
    """A user with the one-time password just set (workflows.users.Credentials)."""

    user = fields.Nested(UserSchema)
    password = fields.String(metadata={"description": "一次性密码，只显示这一次，请当面或以安全方式交给本人"})


# --- process versions -------------------------------------------------------------------------------

class VersionFileSchema(Schema):
    name = fields.Function(lambda f: f[0])
    sha256 = fields.Function(lambda f: f[1])


class VersionSchema(Schema):
    number = fields.Integer()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()
    content_hash = fields.String(metadata={"description": "全部文件名与内容的 SHA-256"})
    open_cases = fields.Integer(metadata={"description": "在此版本上办理中的案件数"})
    all_cases = fields.Integer()
    files = fields.List(fields.Nested(VersionFileSchema))


class DeploymentSchema(Schema):
    """The version a deployment produced or found (workflows.processes.Deployment)."""

    created = fields.Boolean(metadata={"description": "false：文件没有变化，仍为已有版本"})
    number = fields.Integer(attribute="version.number")
    deployed_at = fields.DateTime(attribute="version.deployed_at")
    deployed_by = fields.String(attribute="version.deployed_by")
    content_hash = fields.String(attribute="version.content_hash")


class MigrateArgs(Schema):
    case_codes = fields.List(fields.String(), load_default=None, allow_none=True,
                             validate=validate.Length(max=MIGRATE_MAX_CASES),
                             metadata={"description": f"只迁移这些案件（最多 {MIGRATE_MAX_CASES} 个）；"
                                                      "省略则为旧版本上的全部在办案件"})
    dry_run = fields.Boolean(load_default=True, metadata={"description": "默认只报告、不修改"})


class MigrationResultSchema(Schema):
    """One case's outcome (workflows.migration.CaseResult)."""

    code = fields.String(attribute="case_code")
    case_id = fields.Integer(allow_none=True)
    from_number = fields.Integer(allow_none=True)
    to_number = fields.Integer()
    status = fields.String(metadata={"description": " / ".join(STATUS_LABELS)})
    status_label = fields.String()
    reason = fields.String(allow_none=True)
    opened = fields.Function(lambda r: [o["name"] for o in r.opened],
                             metadata={"description": "（将）新下达的任务"})
    cancelled = fields.Function(lambda r: [o["name"] for o in r.cancelled],
                                metadata={"description": "（将）撤销的任务"})
    changed = fields.List(fields.Dict(), metadata={
        "description": "案件所运行的各流程在新版本中的差异：process、added、removed、changed（BPMN 元素 id）"})
