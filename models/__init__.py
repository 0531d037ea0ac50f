"""SQLAlchemy models. This package imports nothing else of the project's."""

from .auth import ACCESS_KINDS, AccessEvent, ApiToken
from .away import AwayPeriod
from .base import Base, UTCDateTime, utcnow
from .calendar import CALENDAR_DAY_KINDS, CALENDAR_SOURCES, CalendarDay, CalendarYear
from .case import CASE_STATUSES, CATEGORIES, LEAD_TYPES, Case
from .copy import TaskCopy
from .delegation import TaskDelegation
from .desk import Attachment, SavedFilter, StockOpinion, TaskDraft
from .escalation import ESCALATION_LEVELS, ESCALATION_OUTCOMES, ESCALATION_TARGETS, Escalation
from .extension import EXTENSION_STATUSES, ExtensionRequest
from .history import EVENT_KINDS, AppendOnlyViolation, CaseEvent
from .job import JobMark
from .notification import (
    DELIVERY_CHANNELS,
    DELIVERY_STATUSES,
    NOTIFICATION_KINDS,
    DeliveryAttempt,
    Notification,
    NotificationDelivery,
)
from .org import AGENCY_ROLES, AGENCY_SUFFIX, REGION_LEVELS, USER_ROLES, Agency, Region, User
from .process import ProcessFile, ProcessInstance, ProcessVersion
from .task import TASK_STATUSES, Task

__all__ = [
    "ACCESS_KINDS", "AccessEvent", "AwayPeriod", "ApiToken", "AGENCY_ROLES", "Attachment", "SavedFilter", "StockOpinion",
    "TaskDraft", "AGENCY_SUFFIX", "CASE_STATUSES", "CATEGORIES", "EVENT_KINDS", "LEAD_TYPES",
    "REGION_LEVELS", "TASK_STATUSES", "USER_ROLES", "Agency", "AppendOnlyViolation", "Base", "Case",
    "CALENDAR_DAY_KINDS", "CALENDAR_SOURCES", "CalendarDay", "CalendarYear",
    "ESCALATION_LEVELS", "ESCALATION_OUTCOMES", "ESCALATION_TARGETS", "Escalation",
    "DELIVERY_CHANNELS", "DELIVERY_STATUSES", "NOTIFICATION_KINDS", "DeliveryAttempt", "Notification",
    "NotificationDelivery", "EXTENSION_STATUSES", "ExtensionRequest",
    "CaseEvent", "JobMark", "ProcessFile", "ProcessInstance", "ProcessVersion", "Region", "Task", "TaskCopy", "TaskDelegation", "User", "UTCDateTime", "utcnow",
]
