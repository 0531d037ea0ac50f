"""抄送 on the wire: copying a task to people, and the signed-in user's "抄送我的" list."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import copies
from workflows.inputs import INT64_MAX

from .common import PageArgs, paged


class CopyArgs(Schema):
    user_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=INT64_MAX)), load_default=None,
                           allow_none=True,
                           metadata={"description": f"抄送给这些用户（至多 {copies.RECIPIENTS_MAX} 人）"})
    leader = fields.Boolean(load_default=False, metadata={"description": "true：抄送包保领导（案件所在地安居办和政府办公室人员）"})
    note = fields.String(load_default=None, allow_none=True,
                         metadata={"description": f"抄送说明，至多 {copies.NOTE_MAX} 字"})


class CopiesArgs(PageArgs):
    unread_only = fields.Boolean(load_default=False, metadata={"description": "只列未阅的"})


class CopySchema(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    task_name = fields.String(attribute="task.name")
    task_status = fields.String(attribute="task.status")
    case_id = fields.Integer()
    case_code = fields.String(attribute="case.code")
    project_name = fields.String(attribute="case.project_name")
    copied_by = fields.String(attribute="copied_by.display_name", metadata={"description": "抄送人"})
    note = fields.String(allow_none=True, metadata={"description": "抄送说明"})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True, metadata={"description": "已阅时间；null 为未阅"})


class NewCopySchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer(metadata={"description": "抄送对象"})
    created_at = fields.DateTime()


CopyPage = paged(CopySchema, "CopyPage")
