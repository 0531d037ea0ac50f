"""Who may see and do what. Every service calls these before acting; views never decide."""

from __future__ import annotations

from models import Case, Region, Task, User

from .errors import Forbidden


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


def require_case_creator(user: User, region: Region) -> None:
    """Cases are filed by the housing department or the 安居办 of the place, or a supervisor above it."""
    if not user.active or not jurisdiction(user).contains(region):
        raise Forbidden("无权在该地区立案")
    if user.role == "supervisor" or user.role == "admin":
        return
    if user.role == "officer" and user.agency.role in ("housing", "supervision"):
        return
    raise Forbidden("只有住建部门、安居办经办人或督办人可以立案")
