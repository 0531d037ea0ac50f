"""Who may see and do what. Every service calls these before acting; views never decide."""

from __future__ import annotations

from models import AGENCY_ROLES, Case, Region, Task, User

from .errors import Forbidden, Invalid
from .inputs import clean_text

ON_BEHALF_REASON_MAX = 500


def jurisdiction(user: User) -> Region:
    """The region a user's agency belongs to; supervision and reading cover its whole subtree."""
    return user.agency.region


def can_view_case(user: User, case: Case) -> bool:
    return user.active and jurisdiction(user).contains(case.region)


def can_act_on_task(user: User, task: Task, case: Case) -> bool:
    if not user.active:
        return False
    if user.role == "officer":
        return task.agency_id == user.agency_id
    if user.role == "supervisor":
        return jurisdiction(user).contains(case.region)
    return False


def require_can_complete(actor: User, task: Task, case: Case, agency_role: str,
                         on_behalf_reason: str | None) -> str | None:
    """Whether `actor` may complete `task` (already known actable: `can_act_on_task`), and as whom.

    An agency's own people (its officers, or a supervisor whose own agency the task went to) complete
    it as themselves: returns None and any reason given is not needed. A city or province supervisor
    may complete another agency's task only as 代办, with a reason that history keeps: returns the
    cleaned reason. Supervisors urge, reassign and escalate; doing an agency's work for it is the
    exception that must be explained, and a court's judgment is never theirs to give.
    """
    if task.agency_id == actor.agency_id:
        return None
    if agency_role == "court":
        raise Forbidden("法院的审判事项不能代办")
    lane = AGENCY_ROLES.get(agency_role, agency_role)
    if actor.role != "supervisor" or jurisdiction(actor).level not in ("city", "province") \
            or not jurisdiction(actor).contains(case.region):
        raise Forbidden(f"该任务由{lane}部门办理，您无权代办")
    if on_behalf_reason is None:
        raise Forbidden(f"督办人不能直接办理{lane}部门的任务；如确需代办，请填写代办理由")
    reason = clean_text(on_behalf_reason, field="on_behalf_reason", label="代办理由",
                        max_length=ON_BEHALF_REASON_MAX, multiline=True)
    if not reason:
        raise Invalid("代办理由：不能为空", errors={"on_behalf_reason": ["代办理由：不能为空"]})
    return reason


def require_reclassifier(actor: User, case: Case) -> None:
    """A case's category is changed by a city or province supervisor within jurisdiction (seed 001:
    the city/province 安居办 confirm the category; a 死结 is declared above the county)."""
    if actor.role != "supervisor" or jurisdiction(actor).level not in ("city", "province"):
        raise Forbidden("只有市级或省级督办人可以改变案件类别")


def can_file_case(user: User) -> bool:
    """Whether the user may file cases at all (立案): what `require_case_creator` allows, short of
    the place, so a page shows the 立案 button only to those who may press it."""
    if not user.active:
        return False
    return user.role == "supervisor" or (user.role == "officer" and user.agency.role in ("housing", "supervision"))


def require_case_creator(user: User, region: Region) -> None:
    """Cases are filed by the housing department or the 安居办 of the place, or a supervisor above it."""
    if not user.active or not jurisdiction(user).contains(region):
        raise Forbidden("无权在该地区立案")
    if user.role == "supervisor":  # administrators manage users and agencies, not cases
        return
    if user.role == "officer" and user.agency.role in ("housing", "supervision"):
        return
    raise Forbidden("只有住建部门、安居办经办人或督办人可以立案")


def require_case_editor(user: User, case: Case) -> None:
    """A case's particulars (name, leader, developer, target date, notes) are kept by the housing
    department or the 安居办 of its county, or a supervisor whose jurisdiction covers it; auditors and
    administrators change nothing. The caller has already checked the user may see the case."""
    if user.active and user.role == "supervisor" and jurisdiction(user).contains(case.region):
        return
    if user.active and user.role == "officer" and user.agency.role in ("housing", "supervision") \
            and user.agency.region_id == case.region_id:
        return
    raise Forbidden("只有本县住建部门、安居办经办人或督办人可以修改案件信息")


def require_admin(user: User, doing: str) -> None:
    """Users, agencies and process versions are managed by system administrators only; `doing` says
    what was refused (“管理用户”)."""
    if not user.active or user.role != "admin":
        raise Forbidden(f"只有系统管理员可以{doing}")
