"""Task operations on the wire: 转办 (one task, or many with a per-item result), 退回 with its target
steps, 撤回 (workflows.task_operations)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from workflows import task_operations, tasks
from workflows.inputs import INT64_MAX

from .tasks import CancelledTaskSchema, TaskSchema

_ID = validate.Range(min=1, max=INT64_MAX)


class ReassignArgs(Schema):
    agency_id = fields.Integer(load_default=None, allow_none=True, validate=_ID,
                               metadata={"description": "接收部门：与承办部门同类（如住建），且所在地覆盖案件所在地"
                                                        "（本县或其上级）；只填接收人时为其所在部门"})
    user_id = fields.Integer(load_default=None, allow_none=True, validate=_ID,
                             metadata={"description": "接收人：接收部门的在岗经办人（选填；不填则交部门待认领）"})
    reason = fields.String(load_default=None, allow_none=True,
                           metadata={"description": f"转办理由，1–{task_operations.REASON_MAX} 字"})


class BulkReassignArgs(ReassignArgs):
    task_ids = fields.List(fields.Integer(validate=_ID), required=True,
                           validate=validate.Length(min=1, max=task_operations.BULK_MAX),
                           metadata={"description": f"要转办的任务，1–{task_operations.BULK_MAX} 项"})


class BulkUrgeArgs(Schema):
    task_ids = fields.List(fields.Integer(validate=_ID), required=True,
                           validate=validate.Length(min=1, max=task_operations.BULK_MAX),
                           metadata={"description": f"要催办的任务，1–{task_operations.BULK_MAX} 项"})
    reason = fields.String(load_default=None, allow_none=True, metadata={"description": "催办事由，1–1000 字"})
    due_in_workdays = fields.Integer(load_default=None, allow_none=True,
                                     metadata={"description": "答复期限：自今日起的工作日数（选填）"})


class ItemResultSchema(Schema):
    task_id = fields.Integer()
    status = fields.String(metadata={"description": "done 已办理（转办或催办） / refused 未办理（见 code、message）"})
    code = fields.String(allow_none=True, metadata={"description": "未转办的错误类型：not_found、forbidden、conflict、"
                                                                   "invalid、stale"})
    message = fields.String(allow_none=True, metadata={"description": "未转办的原因"})
    version = fields.Integer(allow_none=True, metadata={"description": "转办后任务的版本号"})


class BulkResultSchema(Schema):
    done = fields.Function(lambda results: sum(r.done for r in results), metadata={"type": "integer"})
    refused = fields.Function(lambda results: sum(not r.done for r in results), metadata={"type": "integer"})
    results = fields.Function(lambda results: ItemResultSchema(many=True).dump(results),
                              metadata={"type": "array", "items": {"type": "object"},
                                        "description": "逐项结果，顺序与 task_ids 相同（重复的只列一次）"})


class ReturnArgs(Schema):
    opinion = fields.String(load_default=None, allow_none=True,
                            metadata={"description": f"退回意见，1–{tasks.OPINION_MAX} 字；随任务退回到承办人"})
    target_task_id = fields.Integer(load_default=None, allow_none=True, validate=_ID,
                                    metadata={"description": "退回至哪一步（该案件已办结任务的 id，见 return-targets）；"
                                                             "不填为上一步"})


class WithdrawArgs(Schema):
    reason = fields.String(load_default=None, allow_none=True,
                           metadata={"description": f"撤回理由（选填），最多 {task_operations.REASON_MAX} 字"})


class ReturnTargetSchema(Schema):
    task_id = fields.Integer(attribute="task.id")
    bpmn_id = fields.String(attribute="task.bpmn_id")
    name = fields.String(attribute="task.name")
    agency_id = fields.Integer(attribute="task.agency_id")
    agency = fields.String(attribute="agency_name", metadata={"description": "办理该步骤的部门"})
    completed_by = fields.String(attribute="completed_by_name", allow_none=True, metadata={"description": "办理人"})
    completed_at = fields.DateTime(attribute="task.completed_at")
    allowed = fields.Function(lambda t: t.blocked is None, metadata={"type": "boolean"})
    blocked = fields.String(allow_none=True, metadata={"description": "不能退回至此的原因；可以退回时为 null"})


class ReopenedSchema(Schema):
    task = fields.Nested(TaskSchema, metadata={"description": "重新打开的任务（新的一行，回到原承办部门和办理人）"})
    cancelled = fields.List(fields.Nested(CancelledTaskSchema), metadata={"description": "随之撤销的任务"})
