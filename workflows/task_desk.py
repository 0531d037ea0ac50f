"""The desk around one task: what its page shows (the task with its case, the form its BPMN declares,
the reader's draft, stock opinions, comments, evidence files, and what the reader may do) and
completing it from that page (evidence files resolved, drafts cleared, a lost race kept as a draft).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Attachment, Case, CaseEvent, ExtensionRequest, StockOpinion, Task, TaskDraft, User

from . import (
    attachments,
    comments,
    copies,
    delegation,
    drafts,
    extensions,
    inbox,
    inputs,
    opinions,
    permissions,
    task_operations,
    tasks,
)
from . import signoff as signoff_service
from .engine import clock, routing
from .engine.specs import TaskMeta
from .errors import HuiqianError, Invalid, Stale
from .sla import TaskSla, task_sla
from .transactions import mutation


@dataclass(frozen=True)
class TaskPage:
    """A task as its page shows it to one reader, with what that reader may do now."""

    task: Task  # with its case, agency and assignee loaded
    meta: TaskMeta
    claimed_at: datetime | None
    completed_by: str | None
    draft: TaskDraft | None
    opinions: list[StockOpinion]
    comments: list[comments.Comment]
    attachments: dict[int, Attachment]
    limits: dict[str, int | None]  # the longest text each text field takes
    can_act: bool  # may act on the task at all (claim, comment, complete when open)
    can_claim: bool
    can_unclaim: bool
    can_complete: bool
    on_behalf: bool  # completing would be 代办: a reason is required
    blocked: str | None  # why someone who may act cannot complete it now
    sla: TaskSla | None = None  # 办理时限 in working days, when the BPMN declares one
    operations: task_operations.Panel | None = None  # 转办, 退回, 撤回 as this reader may use them
    extensions: tuple[ExtensionRequest, ...] = ()  # the task's 延期申请, oldest first
    can_request_extension: bool = False  # may ask for one now (the service checks again)
    signoff: signoff_service.Panel | None = None  # 会签/或签: every signer and what each said
    copies: copies.CopyPanel | None = None  # 抄送: to whom, and whether the reader may copy it
    delegation: delegation.Panel | None = None  # 委派: to whom, the delegate's opinion, what the reader may do

    @property
    def lane_label(self) -> str:
        """Who handles the task: the lane's name, or for a signer of a sign-off the signing role's."""
        return routing.default_label(self.task.lane) if self.meta.signoff else self.meta.lane_label

    @property
    def extension(self) -> ExtensionRequest | None:
        """The request the page shows first: the pending one, else the newest."""
        return extensions.latest_for_task(list(self.extensions))


def _claimed_at(session: Session, task: Task) -> datetime | None:
    if task.assignee_id is None:
        return None
    return session.scalar(select(func.max(CaseEvent.at)).where(
        CaseEvent.case_id == task.case_id, CaseEvent.task_id == task.id, CaseEvent.kind == "task_claimed"))


def _completion_rights(actor: User, task: Task, can_act: bool) -> tuple[bool, bool, str | None]:
    """(may complete now, as 代办, why not) for someone who may act on the task."""
    if not can_act or task.status != "ready":
        return False, False, None
    if task.delegated_to_id is not None:
        if task.delegated_to_id == actor.id:
            return False, False, "此任务委派给您办理：办理后请在“委派”中办毕退回委派人，由委派人办结"
        return False, False, "任务已委派他人办理，待其办毕退回后再办结"
    if task.agency_id != actor.agency_id:
        # A supervisor over the place, not of the agency: only as 代办, never a court's judgment.
        if task.agency.role == "court":
            return False, False, "法院的审判事项不能代办"
        if permissions.jurisdiction(actor).level not in ("city", "province"):
            return False, False, f"该任务由{task.agency.name}办理"
        return True, True, None
    if task.assignee_id not in (None, actor.id) and actor.role != "supervisor":
        holder = task.assignee.display_name if task.assignee is not None else "他人"
        return False, False, f"任务已由{holder}认领，请联系认领人或督办人"
    return True, False, None


def task_page(session: Session, actor: User, task_id: int) -> TaskPage:
    """Everything the task page shows. Permission: as tasks.get_task (may act on the task or see its
    case; otherwise NotFound); drafts, stock opinions and the rights to act are the reader's own, and
    a reader who may only look (an auditor) gets none. No side effects."""
    task = inbox.described(session, tasks.get_task(session, actor, task_id))
    can_act = permissions.can_act_on_task(actor, task, task.case)
    can_complete, on_behalf, blocked = _completion_rights(actor, task, can_act)
    ready = task.status == "ready"
    meta = tasks.task_meta(session, task)
    sla = task_sla(session, task, meta)
    requests = tuple(session.scalars(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)
                                     .order_by(ExtensionRequest.id)))
    completed_by = None
    if task.completed_by_id is not None:
        completed_by = session.scalar(select(User.display_name).where(User.id == task.completed_by_id))
    return TaskPage(
        task=task, meta=meta, claimed_at=_claimed_at(session, task), completed_by=completed_by,
        draft=drafts.draft_of(session, actor, task) if can_act else None,
        opinions=opinions.stock_opinions(session, actor) if can_complete else [],
        comments=comments.task_comments(session, task.case_id, task.id),
        attachments={a.id: a for a in attachments.task_attachments(session, task.id)},
        limits={f.key: inbox.max_length(f) for f in meta.fields},
        can_act=can_act,
        can_claim=ready and can_act and task.agency_id == actor.agency_id and task.assignee_id is None
        and task.delegated_to_id is None,
        can_unclaim=ready and can_act and task.assignee_id is not None and task.delegated_to_id is None
        and (task.assignee_id == actor.id or actor.role == "supervisor"),
        can_complete=can_complete, on_behalf=on_behalf, blocked=blocked, sla=sla, extensions=requests,
        can_request_extension=_may_ask_extension(actor, task, sla, requests),
        operations=task_operations.panel(session, actor, task),
        signoff=signoff_service.panel(session, actor, task) if meta.signoff is not None else None,
        copies=copies.task_panel(session, actor, task, task.case),
        delegation=delegation.panel(session, actor, task))


def _may_ask_extension(actor: User, task: Task, sla: TaskSla | None,
                       requests: tuple[ExtensionRequest, ...]) -> bool:
    """Whether the page offers 申请延期: the task's holder, the task open with an SLA due date still
    ahead and nothing pending (a due date a policy timer set cannot move)."""
    return (task.status == "ready" and task.due_at is not None and task.due_at > clock.now()
            and sla is not None and sla.applied and extensions.can_request(actor, task)
            and not any(r.status == "pending" for r in requests))


@dataclass(frozen=True)
class Finished:
    """A completion from the task page, and the case's status after it (销号 closes the case)."""

    completion: tasks.Completion
    case_status: str


def _resolve_files(session: Session, task_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Replace each {"attachment_id": n} with the reference of that upload, which must belong to this
    task and field: the hash a completion records comes from the stored file, never from the form."""
    wanted = {key: value["attachment_id"] for key, value in values.items()
              if isinstance(value, dict) and list(value) == ["attachment_id"] and inputs.valid_id(value["attachment_id"])}
    if not wanted:
        return values
    found = {a.id: a for a in session.scalars(
        select(Attachment).where(Attachment.task_id == task_id, Attachment.id.in_(set(wanted.values()))))}
    data = dict(values)
    errors: dict[str, list[str]] = {}
    for key, attachment_id in wanted.items():
        attachment = found.get(attachment_id)
        if attachment is None or attachment.field_key != key:
            errors[key] = ["附件无效（不是本任务此项上传的文件），请重新上传"]
        else:
            data[key] = attachments.reference(attachment)
    if errors:
        raise Invalid(f"表单校验未通过：{next(iter(errors.values()))[0]}", errors=errors)
    return data


@mutation
def _complete(session: Session, actor: User, task_id: int, values: dict[str, Any], **options: Any) -> Finished:
    data = _resolve_files(session, task_id, values)
    done = tasks.complete_task(session, actor, task_id, data, **options)
    drafts.discard_task_drafts(session, done.task.id)
    case = session.get(Case, done.task.case_id)  # already in the session: no query
    assert case is not None
    return Finished(done, case.status)


def complete(session: Session, actor: User, task_id: int, values: dict[str, Any], *, opinion: str | None = None,
             expected_version: int | None = None, on_behalf_reason: str | None = None) -> Finished:
    """Complete a task from its page: `values` are the form's values, a file field's being the
    {"attachment_id": n} of a file uploaded for it (workflows/attachments.store_upload).

    Permission and validation: as tasks.complete_task. Side effects: as tasks.complete_task, and every
    draft of the task is deleted. When the page was stale (someone else completed, claimed or gave the
    task back since it was opened: `expected_version` no longer matches), what the person typed is
    kept as their draft where the task is still open, and Stale says so.
    """
    try:
        return _complete(session, actor, task_id, values, opinion=opinion, expected_version=expected_version,
                         on_behalf_reason=on_behalf_reason)
    except Stale as exc:
        try:
            drafts.save_draft(session, actor, task_id, values, opinion=opinion)
            kept = "您填写的内容已自动暂存，"
        except HuiqianError:
            kept = ""
        raise Stale(f"任务已被他人处理（办理、认领或退回），{kept}请核对后再提交",
                    current_version=exc.current_version) from None
