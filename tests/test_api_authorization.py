"""Who may do what through the REST API, as one table.

For every endpoint and method of /api/v1 (the table must cover the app's own OpenAPI document), the
status each kind of caller gets on something of their own places (OWN: 榆树市, under 长春市) and on
something of another city's (OTHER: 舒兰市, under 吉林市); endpoints without a subject have one row (ANY).

The rules the table spells out: anonymous → 401 (only signing in is open); outside the caller's
jurisdiction a thing does not exist → 404, never 403; within it, seen but not allowed → 403; users,
agency changes, deploying and migrating are the administrators' (403 for everyone else, whatever the
subject); officers do not read process versions; auditors change nothing (their own sign-in and
tokens aside).

Each caller's rows run in one test on a database of its own, and every difference is reported at
once: a status other than the table's, a list that holds an item outside the caller's jurisdiction
(or leaves out one within it), a refused write that changed anything.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from models import (
    Agency,
    ApiToken,
    Case,
    CaseEvent,
    Escalation,
    ExtensionRequest,
    ProcessVersion,
    Region,
    Task,
    User,
)
from tests.conftest import PASSWORD, PASSWORD_HASH, ApiClient, at
from tests.driver import auto_value
from workflows import auth, away, copies, delegation, escalations, extensions
from workflows import tasks as task_service
from workflows.engine import clock

OWN, OTHER, ANY = "own", "other", "-"
COUNTY = {OWN: "榆树市", OTHER: "舒兰市"}
CITY = {OWN: "长春市", OTHER: "吉林市"}
NOW = at("2026-03-02 09:00")

# The callers, in the table's column order. `city_admin` is not one of the brief's people but shows
# that administrators, too, are bounded by their jurisdiction.
ROLES = ("anonymous", "officer", "finance", "city", "province", "auditor", "admin", "city_admin")
CALLERS: dict[str, Callable[[Any], User | None]] = {
    "anonymous": lambda people: None,
    "officer": lambda people: people.officer("榆树市", "housing"),      # 榆树市住建局经办人
    "finance": lambda people: people.officer("榆树市", "finance"),      # 榆树市财政局经办人: same county, other agency
    "city": lambda people: people.supervisor("长春市"),                 # 长春市安居办督办人
    "province": lambda people: people.supervisor("吉林省"),             # 吉林省安居办督办人
    "auditor": lambda people: people.user("吉林省", "supervision", "auditor"),
    "admin": lambda people: people.user("吉林省", "supervision", "admin"),
    "city_admin": lambda people: people.user("长春市", "supervision", "admin"),
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as the OpenAPI document names it, without /api/v1
    scope: str
    statuses: tuple[int, ...]  # one per role, in ROLES order

    def expected(self, role: str) -> int:
        return self.statuses[ROLES.index(role)]


def R(method: str, path: str, scope: str, *statuses: int) -> Row:  # noqa: N802 - reads as a table row
    assert len(statuses) == len(ROLES), (method, path, scope)
    return Row(method, path, scope, statuses)


# Reads come first; each write runs on a subject of its own (World) so it changes nothing a later row reads.
TABLE: list[Row] = [
    # method   path                                scope   anon  offic finan city  prov  audit admin c.adm
    R("GET",   "/me",                              ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/me/tokens",                       ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/regions",                         ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    # Places are public reference data: another city's place is no secret.
    R("GET",   "/regions/{code}",                  OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/regions/{code}",                  OTHER,  401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/cases",                           ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/cases/{case_id}",                 OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/cases/{case_id}",                 OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    R("GET",   "/cases/{case_id}/history",         OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/cases/{case_id}/history",         OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    R("GET",   "/tasks",                           ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}",                 OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}",                 OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    R("GET",   "/tasks/{task_id}/form",            OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}/form",            OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    R("GET",   "/agencies",                        ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/agencies/{agency_id}",            OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/agencies/{agency_id}",            OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    # Users are the administrators' resource: 403 for anyone else before any subject is looked at.
    R("GET",   "/users",                           ANY,    401,  403,  403,  403,  403,  403,  200,  200),
    R("GET",   "/users/{user_id}",                 OWN,    401,  403,  403,  403,  403,  403,  200,  200),
    R("GET",   "/users/{user_id}",                 OTHER,  401,  403,  403,  403,  403,  403,  200,  404),
    R("GET",   "/versions",                        ANY,    401,  403,  403,  200,  200,  200,  200,  200),
    R("GET",   "/versions/{number}",               ANY,    401,  403,  403,  200,  200,  200,  200,  200),
    # Everyone's own notifications; nobody else's ids are ever touched.
    R("GET",   "/notifications",                   ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/notifications/unread",            ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/cases/{case_id}/schedule",        OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/cases/{case_id}/schedule",        OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    R("GET",   "/cases/{case_id}/escalations",     OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/cases/{case_id}/escalations",     OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    # What is addressed to the caller's agency: every caller has a list, empty for those never targeted.
    R("GET",   "/escalations",                     ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}/extensions",      OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}/extensions",      OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    R("GET",   "/extensions/{extension_id}",       OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/extensions/{extension_id}",       OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    # Pending requests within the caller's jurisdiction: everyone who reads cases reads them.
    R("GET",   "/extensions",                      ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    # --- writes ---
    # Signing in is the one open endpoint (anonymous: with the county officer's password).
    R("POST",  "/session",                         ANY,    200,  200,  200,  200,  200,  200,  200,  200),
    R("DELETE", "/session",                        ANY,    401,  204,  204,  204,  204,  204,  204,  204),
    R("POST",  "/me/tokens",                       ANY,    401,  201,  201,  201,  201,  201,  201,  201),
    # OWN: a spare token of the caller's; OTHER: a 舒兰市 officer's, which only an administrator over
    # 舒兰市 may revoke.
    R("DELETE", "/me/tokens/{token_id}",           OWN,    401,  204,  204,  204,  204,  204,  204,  204),
    R("DELETE", "/me/tokens/{token_id}",           OTHER,  401,  404,  404,  404,  404,  404,  204,  404),
    # Filing names a place (public): outside the jurisdiction it is refused, 403.
    R("POST",  "/cases",                           OWN,    401,  201,  403,  201,  201,  403,  403,  403),
    R("POST",  "/cases",                           OTHER,  401,  403,  403,  403,  201,  403,  403,  403),
    R("PATCH", "/cases/{case_id}",                 OWN,    401,  200,  403,  200,  200,  403,  403,  403),
    R("PATCH", "/cases/{case_id}",                 OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    R("POST",  "/cases/{case_id}/reclassify",      OWN,    401,  403,  403,  200,  200,  403,  403,  403),
    R("POST",  "/cases/{case_id}/reclassify",      OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    # 倒排工期's deadline: set by city and province supervisors within their jurisdiction.
    R("PUT",   "/cases/{case_id}/deadline",        OWN,    401,  403,  403,  200,  200,  403,  403,  403),
    R("PUT",   "/cases/{case_id}/deadline",        OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    # The tasks are 榆树市住建局's (OWN) and 舒兰市住建局's (OTHER); a supervisor completes them as 代办.
    R("POST",  "/tasks/{task_id}/claim",           OWN,    401,  200,  403,  200,  200,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/claim",           OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    R("POST",  "/tasks/{task_id}/unclaim",         OWN,    401,  200,  403,  200,  200,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/unclaim",         OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    R("POST",  "/tasks/{task_id}/complete",        OWN,    401,  200,  403,  200,  200,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/complete",        OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    # Task operations. 转办 of an intake task to the city's housing bureau: as acting on the task.
    R("POST",  "/tasks/{task_id}/reassign",        OWN,    401,  200,  403,  200,  200,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/reassign",        OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    # Bulk 转办 answers per task: a task the caller may not touch is a refused item, not a refused request.
    R("POST",  "/tasks/reassign",                  ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}/return-targets",  OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}/return-targets",  OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    # 退回 of the housing bureau's first category-1 task to the classification: as acting on the task.
    R("POST",  "/tasks/{task_id}/return",          OWN,    401,  200,  403,  200,  200,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/return",          OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    # 撤回 of an intake the county's housing officer completed: theirs alone.
    R("POST",  "/tasks/{task_id}/withdraw",        OWN,    401,  200,  403,  403,  403,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/withdraw",        OTHER,  401,  404,  404,  404,  403,  403,  403,  404),
    # Escalations: raised by city and province supervisors within their jurisdiction (a 催办 of the
    # county's housing bureau here); acknowledged and answered by the target agency's own people only;
    # closed by the raising level (OWN: 长春市's; OTHER: 吉林市's) or the province above it.
    R("POST",  "/cases/{case_id}/escalations",     OWN,    401,  403,  403,  201,  201,  403,  403,  403),
    R("POST",  "/cases/{case_id}/escalations",     OTHER,  401,  404,  404,  404,  201,  403,  403,  404),
    R("POST",  "/escalations/{escalation_id}/acknowledge", OWN,   401, 200, 403, 403, 403, 403, 403, 403),
    R("POST",  "/escalations/{escalation_id}/acknowledge", OTHER, 401, 404, 404, 404, 403, 403, 403, 404),
    R("POST",  "/escalations/{escalation_id}/respond", OWN,    401,  200,  403,  403,  403,  403,  403,  403),
    R("POST",  "/escalations/{escalation_id}/respond", OTHER,  401,  404,  404,  404,  403,  403,  403,  404),
    R("POST",  "/escalations/{escalation_id}/close", OWN,      401,  403,  403,  200,  200,  403,  403,  403),
    R("POST",  "/escalations/{escalation_id}/close", OTHER,    401,  404,  404,  404,  200,  403,  403,  404),
    R("POST",  "/notifications/read",              ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    # Extensions of 榆树市住建局's (OWN) and 舒兰市住建局's (OTHER) intake tasks: asked by the task's agency
    # (its officer here); withdrawn by the requester; decided by the level above, the task's city only
    # (the province decides a city's tasks); the decision read by the requesting agency.
    R("POST",  "/tasks/{task_id}/extensions",      OWN,    401,  201,  403,  403,  403,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/extensions",      OTHER,  401,  404,  404,  404,  403,  403,  403,  404),
    R("POST",  "/extensions/{extension_id}/withdraw", OWN,  401,  200,  403,  403,  403,  403,  403,  403),
    R("POST",  "/extensions/{extension_id}/withdraw", OTHER, 401, 404,  404,  404,  403,  403,  403,  404),
    R("POST",  "/extensions/{extension_id}/decide", OWN,   401,  403,  403,  200,  403,  403,  403,  403),
    R("POST",  "/extensions/{extension_id}/decide", OTHER, 401,  404,  404,  404,  403,  403,  403,  404),
    R("POST",  "/extensions/{extension_id}/acknowledge", OWN, 401, 200, 403, 403,  403,  403,  403,  403),
    R("POST",  "/extensions/{extension_id}/acknowledge", OTHER, 401, 404, 404, 404, 403, 403, 403, 404),
    # 会签 of category 7's joint-meeting minutes: read by whoever reads the task; signers added and removed
    # by supervisors over the case only.
    R("GET",   "/tasks/{task_id}/signoff",         OWN,    401,  200,  200,  200,  200,  200,  200,  200),
    R("GET",   "/tasks/{task_id}/signoff",         OTHER,  401,  404,  404,  404,  200,  200,  200,  404),
    R("POST",  "/tasks/{task_id}/signers",         OWN,    401,  403,  403,  201,  201,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/signers",         OTHER,  401,  404,  404,  404,  201,  403,  403,  404),
    R("POST",  "/tasks/{task_id}/remove-signer",   OWN,    401,  403,  403,  200,  200,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/remove-signer",   OTHER,  401,  404,  404,  404,  200,  403,  403,  404),
    # 抄送: by whoever may act on the task; "抄送我的" is everyone's own; a copy is marked read only by the
    # person it was copied to (the county's housing officer here).
    R("POST",  "/tasks/{task_id}/copies",          OWN,    401,  201,  403,  201,  201,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/copies",          OTHER,  401,  404,  404,  404,  201,  403,  403,  404),
    R("GET",   "/copies",                          ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("POST",  "/copies/{copy_id}/read",           ANY,    401,  204,  404,  404,  404,  404,  404,  404),
    # Bulk 催办 answers per task, as bulk 转办 does.
    R("POST",  "/tasks/urge",                      ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    # 委派 by an officer of the task's agency; 办毕退回 by the delegate only (none of these callers);
    # 收回 by the delegating officer or a supervisor over the case.
    R("POST",  "/tasks/{task_id}/delegate",        OWN,    401,  201,  403,  403,  403,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/delegate",        OTHER,  401,  404,  404,  404,  403,  403,  403,  404),
    R("POST",  "/tasks/{task_id}/delegation/resolve", OWN,  401, 403,  403,  403,  403,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/delegation/resolve", OTHER, 401, 404, 404,  404,  403,  403,  403,  404),
    R("POST",  "/tasks/{task_id}/delegation/recall", OWN,  401,  200,  403,  200,  200,  403,  403,  403),
    R("POST",  "/tasks/{task_id}/delegation/recall", OTHER, 401, 404,  404,  404,  200,  403,  403,  404),
    # 委托: officers set their own away periods (others are no officers: 422 naming user_id, or finance's
    # officer naming a colleague of another agency: 422 naming delegate_id); a period is cancelled by its
    # officer or a supervisor over them, and does not exist for anyone else.
    R("GET",   "/me/away",                         ANY,    401,  200,  200,  200,  200,  200,  200,  200),
    R("POST",  "/me/away",                         ANY,    401,  201,  422,  422,  422,  422,  422,  422),
    R("POST",  "/me/away/{period_id}/cancel",      OWN,    401,  200,  404,  200,  200,  404,  404,  404),
    R("POST",  "/me/away/{period_id}/cancel",      OTHER,  401,  404,  404,  404,  200,  404,  404,  404),
    # A new agency of 长春市 (OWN) or 吉林市 (OTHER): places are public, so outside the jurisdiction 403.
    R("POST",  "/agencies",                        OWN,    401,  403,  403,  403,  403,  403,  201,  201),
    R("POST",  "/agencies",                        OTHER,  401,  403,  403,  403,  403,  403,  201,  403),
    R("PATCH", "/agencies/{agency_id}",            OWN,    401,  403,  403,  403,  403,  403,  200,  200),
    R("PATCH", "/agencies/{agency_id}",            OTHER,  401,  403,  403,  403,  403,  403,  200,  404),
    # A new user of 榆树市住建局 (OWN) or 舒兰市住建局 (OTHER): an agency outside the administrator's
    # jurisdiction reads as absent, as an unknown agency_id does (422 naming agency_id).
    R("POST",  "/users",                           OWN,    401,  403,  403,  403,  403,  403,  201,  201),
    R("POST",  "/users",                           OTHER,  401,  403,  403,  403,  403,  403,  201,  422),
    R("PATCH", "/users/{user_id}",                 OWN,    401,  403,  403,  403,  403,  403,  200,  200),
    R("PATCH", "/users/{user_id}",                 OTHER,  401,  403,  403,  403,  403,  403,  200,  404),
    R("POST",  "/users/{user_id}/deactivate",      OWN,    401,  403,  403,  403,  403,  403,  200,  200),
    R("POST",  "/users/{user_id}/deactivate",      OTHER,  401,  403,  403,  403,  403,  403,  200,  404),
    R("POST",  "/users/{user_id}/reset-password",  OWN,    401,  403,  403,  403,  403,  403,  200,  200),
    R("POST",  "/users/{user_id}/reset-password",  OTHER,  401,  403,  403,  403,  403,  403,  200,  404),
    # bpmn/ is unchanged since the test database deployed it: the existing version, 200.
    # A version applies to the whole province: only the province's administrator deploys one.
    R("POST",  "/versions",                        ANY,    401,  403,  403,  403,  403,  403,  200,  403),
    # A dry run for one case: OWN's, or OTHER's, which reads as an unknown code outside the jurisdiction.
    R("POST",  "/versions/{number}/migrate",       OWN,    401,  403,  403,  403,  403,  403,  200,  200),
    R("POST",  "/versions/{number}/migrate",       OTHER,  401,  403,  403,  403,  403,  403,  200,  200),
]


# --- the data each caller's rows run against ----------------------------------------------------------

@dataclass
class Place:
    """What a row may name in one scope (ids only: the app reads and writes in its own sessions)."""

    region_code: str       # the county's code
    city_code: str         # its city's
    case_id: int           # a case at intake, read and edited
    case_code: str
    task_id: int           # its intake task, read and claimed
    claimed_task_id: int   # an intake task claimed by the county's housing officer: unclaimed
    open_task_id: int      # an intake task: completed
    classified_id: int     # a case past classification: reclassified
    agency_id: int         # the county's housing agency: read and renamed
    user_id: int           # the county's housing officer: read and edited
    deactivated_id: int    # two more officers of that agency, one for each write that may change them
    reset_id: int
    token_id: int          # OWN: a spare token of the caller's; OTHER: a token of the county's officer
    form_data: dict[str, Any]  # valid data for open_task's form
    acknowledged_id: int   # three 催办 of the county's housing bureau by its city's supervisor, one per
    answered_id: int       # write: acknowledged, answered, closed (case_id is left for raising one)
    closed_id: int
    reassign_task_id: int  # an intake task for 转办, another for bulk 转办, to the city's housing bureau
    bulk_task_id: int
    city_housing_id: int
    returnable_task_id: int  # a category-1 case's first task after classification: 退回
    withdrawable_task_id: int  # an intake the county's housing officer completed: 撤回
    extendable_task_id: int  # an intake task nobody asked to extend: asked
    pending_task_id: int     # an intake task with a pending request (pending_id): read and withdrawn
    pending_id: int
    to_decide_id: int        # a pending request of a third task: decided
    decided_id: int          # an approved request of a fourth: its decision read
    signoff_task_id: int     # category 7's 会签: the government's row (read, 加签) and the tax row (减签)
    signer_row_id: int
    copy_recipient_id: int   # the county's government officer: a task is copied to them
    copy_id: int             # a copy of the intake task to the county's housing officer (marked read)
    delegate_task_id: int    # an intake task to delegate, and the colleague it goes to
    colleague_id: int
    resolve_task_id: int     # two intake tasks the county's housing officer delegated to the colleague
    recall_task_id: int
    away_id: int             # an away period of the county's housing officer


class World:
    """Two places' worth of cases, tasks, users and tokens, built before the first row (so the lists
    have something outside the caller's jurisdiction to leave out)."""

    def __init__(self, driver: Any, people: Any, caller: User | None, reader: ApiClient) -> None:
        self.session, self.people, self.caller = driver.session, people, caller
        self.places = {scope: self._place(driver, scope, reader) for scope in (OWN, OTHER)}
        self._serial = itertools.count(1)
        self.session.commit()

    def __getitem__(self, scope: str) -> Place:
        return self.places[OWN if scope == ANY else scope]

    def serial(self) -> int:
        return next(self._serial)

    def _user(self, county: str, name: str) -> User:
        agency = self.people.agency(county, "housing")
        user = User(username=name, display_name=f"{county}{name}", role="officer", agency=agency,
                    password_hash=PASSWORD_HASH, active=True)
        self.session.add(user)
        self.session.commit()
        return user

    def _place(self, driver: Any, scope: str, reader: ApiClient) -> Place:
        county = COUNTY[scope]
        officer = self.people.officer(county, "housing")
        intake = [driver.new_case(1, county=county, now=NOW) for _ in range(3)]
        classified = driver.new_case(1, county=county, now=NOW)
        driver.intake_and_classify(classified)
        operated = [driver.new_case(1, county=county, now=NOW) for _ in range(4)]
        driver.intake_and_classify(operated[2])
        withdrawable = driver.complete(operated[3], "intake_verify")
        first, claimed, to_complete = (driver.task(case, "intake_verify") for case in intake)
        task_service.claim(self.session, officer, claimed.id)
        owner = self.caller if scope == OWN and self.caller is not None else officer
        housing = self.people.agency(county, "housing")
        extending = [driver.task(driver.new_case(1, county=county, now=NOW), "intake_verify") for _ in range(4)]
        asked = [extensions.request_extension(self.session, officer, t.id, reason="户数待核实",
                                              new_due_date="2026-03-16").id for t in extending[1:]]
        extensions.decide(self.session, self.people.supervisor(CITY[scope]), asked[2], decision="approve")
        urged = [escalations.escalate(self.session, self.people.supervisor(CITY[scope]), subject.id, level="urge",
                                      reason="进度滞后", agency_id=housing.id).id
                 for subject in (intake[1], intake[2], classified)]
        form = reader.get(f"/tasks/{to_complete.id}/form")
        assert form.status_code == 200, form.json
        joint = driver.new_case(7, county=county, now=NOW)
        driver.intake_and_classify(joint)
        driver.complete(joint, "c7_prepare_joint_meeting", in_provincial_ledger=True)
        driver.complete(joint, "c7_joint_meeting")
        signers = {self.session.get(Agency, t.agency_id).role: t.id for t in driver.open_tasks(joint)}
        colleague = self._user(county, f"colleague-{scope}")
        delegated = [driver.task(driver.new_case(1, county=county, now=NOW), "intake_verify") for _ in range(3)]
        for t in delegated[1:]:
            delegation.delegate(self.session, officer, t.id, user_id=colleague.id, now=NOW)
        copy = copies.copy_task(self.session, self.people.supervisor(CITY[scope]), first.id, user_ids=[officer.id],
                                now=NOW)[0]
        period = away.set_away(self.session, officer, starts_on=(NOW + timedelta(days=30)).date(),
                               ends_on=(NOW + timedelta(days=32)).date(), delegate_id=colleague.id, reason="年休假",
                               now=NOW)
        extra = {"signoff_task_id": signers["government"], "signer_row_id": signers["tax"],
                 "copy_recipient_id": self.people.officer(county, "government").id, "copy_id": copy.id,
                 "delegate_task_id": delegated[0].id, "colleague_id": colleague.id,
                 "resolve_task_id": delegated[1].id, "recall_task_id": delegated[2].id, "away_id": period.id}
        return Place(region_code=self.people.region(county).code,
                     city_code=self.people.region(CITY[scope]).code,
                     case_id=intake[0].id, case_code=intake[0].code, task_id=first.id,
                     claimed_task_id=claimed.id,
                     open_task_id=to_complete.id, classified_id=classified.id,
                     agency_id=self.people.agency(county, "housing").id, user_id=officer.id,
                     deactivated_id=self._user(county, f"deactivated-{scope}").id,
                     reset_id=self._user(county, f"reset-{scope}").id,
                     token_id=auth.create_token(self.session, owner, "备用令牌").token.id,
                     form_data=_valid_form(form.json["fields"]),
                     acknowledged_id=urged[0], answered_id=urged[1], closed_id=urged[2],
                     reassign_task_id=driver.task(operated[0], "intake_verify").id,
                     bulk_task_id=driver.task(operated[1], "intake_verify").id,
                     city_housing_id=self.people.agency(CITY[scope], "housing").id,
                     returnable_task_id=driver.task(operated[2], "c1_prepare_linkage").id,
                     withdrawable_task_id=withdrawable.id,
                     extendable_task_id=extending[0].id, pending_task_id=extending[1].id, pending_id=asked[0],
                     to_decide_id=asked[1], decided_id=asked[2], **extra)


def _valid_form(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Valid values for a form as GET /tasks/<id>/form declares it (tests/driver.py auto_value)."""
    def as_field(f: dict[str, Any]) -> Any:
        return SimpleNamespace(**{**f, "options": [(o["value"], o["label"]) for o in f["options"]]})
    return {f["key"]: auto_value(as_field(f)) for f in fields if f["required"]}


@dataclass(frozen=True)
class Call:
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    query: dict[str, Any] | None = None


ALL = {"per_page": 1000}
REASON = "榆树市住建局人手不足，逾期三个月"  # 代办 needs a reason; an agency's own officer's is ignored


def _filing(w: World, s: str) -> dict[str, Any]:
    return {"code": f"AUTH-{s}-{w.serial()}", "project_name": f"{COUNTY[s]}授权测试项目",
            "region_code": w[s].region_code, "lead_type": "government", "households_overdue": 20,
            "overdue_since": "2019-12-31", "category": 2, "responsible_leader": "王副市长"}


def _sign_in(w: World, s: str) -> dict[str, Any]:
    """The caller's own credentials (anonymous: the county officer's)."""
    return {"username": (w.caller or w.people.officer("榆树市", "housing")).username, "password": PASSWORD}


# How each endpoint is called for a scope: path parameters, a valid body, a query.
CALLS: dict[tuple[str, str], Callable[[World, str], Call]] = {
    ("POST", "/session"): lambda w, s: Call(body=_sign_in(w, s)),
    ("DELETE", "/session"): lambda w, s: Call(),
    ("GET", "/me"): lambda w, s: Call(),
    ("GET", "/me/tokens"): lambda w, s: Call(),
    ("POST", "/me/tokens"): lambda w, s: Call(body={"name": "对账脚本"}),
    ("DELETE", "/me/tokens/{token_id}"): lambda w, s: Call({"token_id": w[s].token_id}),
    ("GET", "/cases"): lambda w, s: Call(query=ALL),
    ("POST", "/cases"): lambda w, s: Call(body=_filing(w, s)),
    ("GET", "/cases/{case_id}"): lambda w, s: Call({"case_id": w[s].case_id}),
    ("PATCH", "/cases/{case_id}"): lambda w, s: Call({"case_id": w[s].case_id}, {"notes": "已约谈开发企业"}),
    ("POST", "/cases/{case_id}/reclassify"): lambda w, s: Call({"case_id": w[s].classified_id},
                                                               {"category": 9, "reason": "府院联动无果"}),
    ("GET", "/cases/{case_id}/history"): lambda w, s: Call({"case_id": w[s].case_id}, query=ALL),
    ("GET", "/tasks"): lambda w, s: Call(query=ALL),
    ("GET", "/tasks/{task_id}"): lambda w, s: Call({"task_id": w[s].task_id}),
    ("GET", "/tasks/{task_id}/form"): lambda w, s: Call({"task_id": w[s].task_id}),
    ("POST", "/tasks/{task_id}/claim"): lambda w, s: Call({"task_id": w[s].task_id}),
    ("POST", "/tasks/{task_id}/unclaim"): lambda w, s: Call({"task_id": w[s].claimed_task_id}),
    ("POST", "/tasks/{task_id}/complete"): lambda w, s: Call(
        {"task_id": w[s].open_task_id}, {"data": w[s].form_data, "on_behalf_reason": REASON}),
    ("POST", "/tasks/{task_id}/reassign"): lambda w, s: Call(
        {"task_id": w[s].reassign_task_id}, {"agency_id": w[s].city_housing_id, "reason": "县局人手不足"}),
    ("POST", "/tasks/reassign"): lambda w, s: Call(
        body={"task_ids": [w[s].bulk_task_id], "agency_id": w[s].city_housing_id, "reason": "县局人手不足"}),
    ("GET", "/tasks/{task_id}/return-targets"): lambda w, s: Call({"task_id": w[s].returnable_task_id}),
    ("POST", "/tasks/{task_id}/return"): lambda w, s: Call({"task_id": w[s].returnable_task_id},
                                                           {"opinion": "类别认定依据不足"}),
    ("POST", "/tasks/{task_id}/withdraw"): lambda w, s: Call({"task_id": w[s].withdrawable_task_id}),
    ("GET", "/cases/{case_id}/schedule"): lambda w, s: Call({"case_id": w[s].classified_id}),
    ("PUT", "/cases/{case_id}/deadline"): lambda w, s: Call({"case_id": w[s].case_id}, {"deadline": "2026-12-31"}),
    ("GET", "/cases/{case_id}/escalations"): lambda w, s: Call({"case_id": w[s].classified_id}),
    ("GET", "/escalations"): lambda w, s: Call(query={**ALL, "open_only": "false"}),
    ("POST", "/cases/{case_id}/escalations"): lambda w, s: Call(
        {"case_id": w[s].case_id}, {"level": "urge", "reason": "逾期未复工", "agency_id": w[s].agency_id}),
    ("POST", "/escalations/{escalation_id}/acknowledge"): lambda w, s: Call({"escalation_id": w[s].acknowledged_id}),
    ("POST", "/escalations/{escalation_id}/respond"): lambda w, s: Call(
        {"escalation_id": w[s].answered_id}, {"response": "已督促施工单位复工"}),
    ("POST", "/escalations/{escalation_id}/close"): lambda w, s: Call(
        {"escalation_id": w[s].closed_id}, {"outcome_note": "已复工，办结"}),
    ("GET", "/notifications"): lambda w, s: Call(query=ALL),
    ("GET", "/notifications/unread"): lambda w, s: Call(),
    ("POST", "/notifications/read"): lambda w, s: Call(body={"all": True}),
    ("GET", "/tasks/{task_id}/extensions"): lambda w, s: Call({"task_id": w[s].pending_task_id}),
    ("GET", "/extensions/{extension_id}"): lambda w, s: Call({"extension_id": w[s].pending_id}),
    ("GET", "/extensions"): lambda w, s: Call(query=ALL),
    ("POST", "/tasks/{task_id}/extensions"): lambda w, s: Call(
        {"task_id": w[s].extendable_task_id}, {"reason": "开发企业资料未移交", "new_due_date": "2026-03-13"}),
    ("POST", "/extensions/{extension_id}/withdraw"): lambda w, s: Call({"extension_id": w[s].pending_id}),
    ("POST", "/extensions/{extension_id}/decide"): lambda w, s: Call(
        {"extension_id": w[s].to_decide_id}, {"decision": "refuse", "note": "时限内可以完成"}),
    ("POST", "/extensions/{extension_id}/acknowledge"): lambda w, s: Call({"extension_id": w[s].decided_id}),
    ("GET", "/tasks/{task_id}/signoff"): lambda w, s: Call({"task_id": w[s].signoff_task_id}),
    ("POST", "/tasks/{task_id}/signers"): lambda w, s: Call({"task_id": w[s].signoff_task_id},
                                                            {"role": "finance", "reason": "涉及土地出让金"}),
    ("POST", "/tasks/{task_id}/remove-signer"): lambda w, s: Call({"task_id": w[s].signer_row_id},
                                                                  {"reason": "无欠缴税费"}),
    ("POST", "/tasks/{task_id}/copies"): lambda w, s: Call({"task_id": w[s].task_id},
                                                           {"user_ids": [w[s].copy_recipient_id], "note": "请阅"}),
    ("GET", "/copies"): lambda w, s: Call(query=ALL),
    ("POST", "/copies/{copy_id}/read"): lambda w, s: Call({"copy_id": w[s].copy_id}),
    ("POST", "/tasks/urge"): lambda w, s: Call(body={"task_ids": [w[s].task_id], "reason": "请加快办理"}),
    ("POST", "/tasks/{task_id}/delegate"): lambda w, s: Call({"task_id": w[s].delegate_task_id},
                                                             {"user_id": w[s].colleague_id, "note": "请协助"}),
    ("POST", "/tasks/{task_id}/delegation/resolve"): lambda w, s: Call({"task_id": w[s].resolve_task_id},
                                                                       {"opinion": "已核实"}),
    ("POST", "/tasks/{task_id}/delegation/recall"): lambda w, s: Call({"task_id": w[s].recall_task_id}),
    ("GET", "/me/away"): lambda w, s: Call(),
    ("POST", "/me/away"): lambda w, s: Call(body={
        "starts_on": (clock.now() + timedelta(days=60)).date().isoformat(),
        "ends_on": (clock.now() + timedelta(days=62)).date().isoformat(),
        "delegate_id": w[s].colleague_id, "reason": "参加培训"}),
    ("POST", "/me/away/{period_id}/cancel"): lambda w, s: Call({"period_id": w[s].away_id}),
    ("GET", "/regions"): lambda w, s: Call(),
    ("GET", "/regions/{code}"): lambda w, s: Call({"code": w[s].region_code}),
    ("GET", "/agencies"): lambda w, s: Call(query=ALL),
    ("POST", "/agencies"): lambda w, s: Call(body={"region": w[s].city_code, "role": "tax",
                                                   "name": f"{CITY[s]}税务局"}),
    ("GET", "/agencies/{agency_id}"): lambda w, s: Call({"agency_id": w[s].agency_id}),
    ("PATCH", "/agencies/{agency_id}"): lambda w, s: Call({"agency_id": w[s].agency_id},
                                                          {"name": f"{COUNTY[s]}住房和城乡建设局（更名）"}),
    ("GET", "/users"): lambda w, s: Call(query=ALL),
    ("POST", "/users"): lambda w, s: Call(body={"username": f"new-{s}-{w.serial()}", "display_name": "新经办人",
                                                "role": "officer", "agency_id": w[s].agency_id}),
    ("GET", "/users/{user_id}"): lambda w, s: Call({"user_id": w[s].user_id}),
    ("PATCH", "/users/{user_id}"): lambda w, s: Call({"user_id": w[s].user_id}, {"display_name": "改名经办人"}),
    ("POST", "/users/{user_id}/deactivate"): lambda w, s: Call({"user_id": w[s].deactivated_id}),
    ("POST", "/users/{user_id}/reset-password"): lambda w, s: Call({"user_id": w[s].reset_id}),
    ("GET", "/versions"): lambda w, s: Call(),
    ("POST", "/versions"): lambda w, s: Call(),
    ("GET", "/versions/{number}"): lambda w, s: Call({"number": 1}),
    ("POST", "/versions/{number}/migrate"): lambda w, s: Call(
        {"number": 1}, {"case_codes": [w[s].case_code], "dry_run": True}),
}


# --- what a list may hold: everything of the caller's jurisdiction it lists, and nothing else ---------

def _within(caller: User, path: str) -> bool:
    return path.startswith(caller.agency.region.path)


def _cases_in_scope(w: World, s: str) -> set[int]:
    return {case_id for case_id, path in w.session.execute(select(Case.id, Region.path).join(Region))
            if _within(w.caller, path)}


def _tasks_in_scope(w: World, s: str) -> set[int]:
    """The inbox: an officer's agency's open tasks, unclaimed or theirs; a supervisor's places' open
    tasks; nothing for those who work no tasks."""
    caller = w.caller
    rows = w.session.execute(select(Task.id, Task.agency_id, Task.assignee_id, Region.path)
                             .join(Region, Task.region_id == Region.id).where(Task.status == "ready"))
    if caller.role == "officer":
        return {i for i, agency, assignee, _ in rows
                if agency == caller.agency_id and assignee in (None, caller.id)}
    if caller.role == "supervisor":
        return {i for i, _, _, path in rows if _within(caller, path)}
    return set()


def _agencies_in_scope(w: World, s: str) -> set[int]:
    return {i for i, path in w.session.execute(select(Agency.id, Region.path).join(Region))
            if _within(w.caller, path)}


def _users_in_scope(w: World, s: str) -> set[int]:
    return {i for i, path in w.session.execute(select(User.id, Region.path).select_from(User)
                                                     .join(Agency, User.agency_id == Agency.id).join(Region))
            if _within(w.caller, path)}


def _events_of_case(w: World, s: str) -> set[int]:
    return set(w.session.scalars(select(CaseEvent.id).where(CaseEvent.case_id == w[s].case_id)))


def _escalations_addressed(w: World, s: str) -> set[int]:
    """The target's list: escalations of the caller's agency (and, for a county's 安居办 or government
    office, of the county's responsible leaders), for those who work; nothing for the others."""
    caller = w.caller
    if caller.role not in ("officer", "supervisor"):
        return set()
    rows = w.session.execute(select(Escalation.id, Escalation.target_agency_id, Case.region_id, Region.path)
                             .join(Case, Escalation.case_id == Case.id).join(Region, Case.region_id == Region.id))
    return {i for i, agency, region, path in rows if _within(caller, path) and (
        agency == caller.agency_id or (agency is None and region == caller.agency.region_id
                                       and caller.agency.role in ("supervision", "government")))}


def _pending_in_scope(w: World, s: str) -> set[int]:
    rows = w.session.execute(select(ExtensionRequest.id, Region.path)
                             .join(Task, ExtensionRequest.task_id == Task.id)
                             .join(Case, ExtensionRequest.case_id == Case.id).join(Region, Case.region_id == Region.id)
                             .where(ExtensionRequest.status == "pending", Task.status == "ready"))
    return {i for i, path in rows if _within(w.caller, path)}


def _own_tokens(w: World, s: str) -> set[int]:
    return set(w.session.scalars(select(ApiToken.id).where(ApiToken.user_id == w.caller.id)))


def _migrated_in_scope(w: World, s: str) -> set[int]:
    return {w[s].case_id} & _cases_in_scope(w, s)


def _page_ids(body: Any) -> set[int]:
    return {item["id"] for item in body["items"]}


# (method, path) → (the ids a 200 response lists, the ids it must list exactly).
LISTS: dict[tuple[str, str], tuple[Callable[[Any], set[int]], Callable[[World, str], set[int]]]] = {
    ("GET", "/cases"): (_page_ids, _cases_in_scope),
    ("GET", "/tasks"): (_page_ids, _tasks_in_scope),
    ("GET", "/agencies"): (_page_ids, _agencies_in_scope),
    ("GET", "/users"): (_page_ids, _users_in_scope),
    ("GET", "/cases/{case_id}/history"): (_page_ids, _events_of_case),
    ("GET", "/me/tokens"): (lambda body: {t["id"] for t in body}, _own_tokens),
    ("GET", "/escalations"): (_page_ids, _escalations_addressed),
    ("GET", "/cases/{case_id}/escalations"): (lambda body: {e["id"] for e in body},
                                              lambda w, s: set(w.session.scalars(select(Escalation.id).where(
                                                  Escalation.case_id == w[s].classified_id)))),
    ("GET", "/extensions"): (_page_ids, _pending_in_scope),
    ("GET", "/tasks/{task_id}/extensions"): (lambda body: {e["id"] for e in body},
                                             lambda w, s: set(w.session.scalars(select(ExtensionRequest.id).where(
                                                 ExtensionRequest.task_id == w[s].pending_task_id)))),
    ("POST", "/versions/{number}/migrate"): (lambda body: {r["case_id"] for r in body} - {None},
                                             _migrated_in_scope),
}


def _fingerprint(session: Any) -> tuple[Any, ...]:
    """What any write would change: counts, row versions, names, active flags, revocations."""
    session.rollback()  # a fresh snapshot: the app wrote in its own sessions
    return session.execute(select(
        select(func.count()).select_from(CaseEvent).scalar_subquery(),
        select(func.count()).select_from(Case).scalar_subquery(),
        select(func.sum(Case.version)).scalar_subquery(),
        select(func.sum(Task.version)).scalar_subquery(),
        select(func.count(Task.assignee_id)).scalar_subquery(),
        select(func.count()).select_from(User).scalar_subquery(),
        select(func.count()).select_from(User).where(User.active.is_(True)).scalar_subquery(),
        select(func.sum(func.length(User.display_name))).scalar_subquery(),
        select(func.sum(User.auth_version)).scalar_subquery(),
        select(func.count()).select_from(Agency).scalar_subquery(),
        select(func.sum(func.length(Agency.name))).scalar_subquery(),
        select(func.count(ApiToken.revoked_at)).scalar_subquery(),
        select(func.count()).select_from(ProcessVersion).scalar_subquery(),
        select(func.count()).select_from(Escalation).scalar_subquery(),
        select(func.sum(Escalation.version)).scalar_subquery(),
        select(func.count()).select_from(ExtensionRequest).scalar_subquery(),
        select(func.sum(ExtensionRequest.version)).scalar_subquery(),
    )).one()


def _run(row: Row, role: str, world: World, client: ApiClient) -> list[str]:
    """Run one row; what differs from the table (status, a list's contents, a refusal that wrote)."""
    call = CALLS[(row.method, row.path)](world, row.scope)
    url = row.path.format(**call.params)
    expected = row.expected(role)
    writes = row.method != "GET"
    before = _fingerprint(world.session) if writes and expected >= 400 else None
    r = client.open(row.method, url, json=call.body, query_string=call.query)
    where = f"{row.method:6} {url:34} {row.scope:5}"
    if r.status_code != expected:
        body = r.get_json(silent=True) or r.data[:200]
        return [f"{where} expected {expected}, got {r.status_code}: {body}"]
    problems = []
    if before is not None and _fingerprint(world.session) != before:
        problems.append(f"{where} refused with {expected} but changed data")
    if (row.method, row.path) in LISTS and expected == 200:
        listed, truth = LISTS[(row.method, row.path)]
        world.session.rollback()
        got, want = listed(r.json), truth(world, row.scope)
        if got - want:
            problems.append(f"{where} lists ids outside the caller's scope: {sorted(got - want)}")
        if want - got:
            problems.append(f"{where} leaves out ids within the caller's scope: {sorted(want - got)}")
    return problems


@pytest.fixture(autouse=True)
def _agencies_restored(engine):  # noqa: ANN001, ANN202
    """Agencies are reference data the PostgreSQL fixture keeps between tests: remove the ones a row
    created and give renamed ones their names back."""
    with engine.connect() as conn:
        names = dict(conn.execute(select(Agency.id, Agency.name)).all())
    yield
    with engine.begin() as conn:
        conn.execute(Agency.__table__.delete().where(Agency.id > max(names)))
        for agency_id, name in conn.execute(select(Agency.id, Agency.name)).all():
            if names[agency_id] != name:
                conn.execute(Agency.__table__.update().where(Agency.id == agency_id).values(name=name))


# --- the tests ----------------------------------------------------------------------------------------

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_the_table_covers_every_endpoint_of_the_api(app):  # noqa: ANN001
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {(method.upper(), path.removeprefix("/api/v1")) for path, ops in doc["paths"].items()
                  for method in ops if method in HTTP_METHODS}
    tabled = {(row.method, row.path) for row in TABLE}
    assert sorted(documented - tabled) == [], "endpoints without a row in TABLE"
    assert sorted(tabled - documented) == [], "rows for endpoints the API does not have"
    assert set(CALLS) == tabled
    for method, path in tabled:
        scopes = sorted(row.scope for row in TABLE if (row.method, row.path) == (method, path))
        assert scopes in ([ANY], [OTHER, OWN]), (method, path, scopes)


@pytest.mark.parametrize("role", ROLES)
def test_each_caller_gets_what_the_table_says(role, app, api_as, people, driver):  # noqa: ANN001
    caller = CALLERS[role](people)
    reader = api_as(people.user("吉林省", "supervision", "auditor"))  # builds valid form data
    world = World(driver, people, caller, reader)
    token = api_as(caller).token if caller is not None else None
    problems = []
    for row in TABLE:
        # A fresh client per row: signing in sets a cookie that must not carry over to the next row.
        problems += _run(row, role, world, ApiClient(app.test_client(), caller, token))
    assert not problems, f"{role}: {len(problems)} unexpected results\n" + "\n".join(problems)
