"""延期申请: before its deadline the officer holding a task asks for a later date with a reason; the
level above approves (the due date moves, the inbox colour follows) or refuses (it stays); withdraw;
已阅 of the decision; every step in the case's history with who did it. Services first, then the API."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from models import CaseEvent, ExtensionRequest, Task
from tests.conftest import at
from workflows import extensions, inbox
from workflows.errors import Conflict, Forbidden, Invalid, NotFound, Stale

FILED = at("2026-03-02 09:00")  # a Monday: 立案核实 (5 working days) is due 2026-03-09 23:59:59
ASKED = at("2026-03-06 10:00")
REASON = "开发企业账目尚未移交，需会同审计核实户数"


@pytest.fixture(autouse=True)
def _everyone(people) -> None:  # noqa: ANN001
    """Everyone these tests act as, made before the first request (a test session that read before the
    app wrote cannot then write on SQLite)."""
    for place in ("长春市", "吉林市", "吉林省", "榆树市"):
        people.supervisor(place)
    for county, role in (("榆树市", "housing"), ("榆树市", "finance"), ("农安县", "housing")):
        people.officer(county, role)
    people.user("吉林省", "supervision", "auditor")


@pytest.fixture
def task(driver) -> Task:  # noqa: ANN001
    case = driver.new_case(2, "榆树市", now=FILED)
    task = driver.task(case, "intake_verify")
    assert task.due_at == at("2026-03-09 23:59:59")
    return task


def _ask(session, people, task, *, day="2026-03-16", now=ASKED, actor=None):  # noqa: ANN001, ANN202
    return extensions.request_extension(session, actor or people.officer("榆树市", "housing"), task.id,
                                        reason=REASON, new_due_date=day, now=now)


def _events(session, task, kind=None):  # noqa: ANN001, ANN202
    session.rollback()
    stmt = select(CaseEvent).where(CaseEvent.case_id == task.case_id, CaseEvent.kind.like("extension%"))
    if kind:
        stmt = stmt.where(CaseEvent.kind == kind)
    return list(session.scalars(stmt.order_by(CaseEvent.id)))


def _due(session, task) -> object:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(Task.due_at).where(Task.id == task.id))


def _colour(session, officer, task, now):  # noqa: ANN001, ANN202
    session.rollback()
    rows = inbox.task_listing(session, officer, now=now).rows
    return next(r.deadline for r in rows if r.task.id == task.id)


# --- asking, deciding ---------------------------------------------------------------------------------

def test_approval_moves_the_due_date_and_the_inbox_colour_follows(session, people, task):
    officer, city = people.officer("榆树市", "housing"), people.supervisor("长春市")
    asked = _ask(session, people, task)
    assert (asked.status, asked.extra_workdays) == ("pending", 5)
    assert asked.requested_due_at == at("2026-03-16 23:59:59") and asked.current_due_at == task.due_at
    assert asked.decider_region.name == "长春市"
    decision_day = at("2026-03-09 10:00")
    assert _colour(session, officer, task, decision_day).level == "soon"  # due today: yellow
    assert _due(session, task) == at("2026-03-09 23:59:59")  # asking alone moves nothing

    decided = extensions.decide(session, city, asked.id, decision="approve", note="同意，抓紧核实",
                                now=decision_day)
    assert decided.status == "approved" and decided.decided_by.id == city.id
    assert _due(session, task) == at("2026-03-16 23:59:59")
    colour = _colour(session, officer, task, decision_day)
    assert (colour.level, colour.label) == (None, "剩 7 天")

    requested, approved = _events(session, task)
    assert (requested.kind, requested.actor_id) == ("extension_requested", officer.id)
    assert "2026-03-09" in requested.summary and "2026-03-16" in requested.summary and "5 个工作日" in requested.summary
    assert requested.data["extension_id"] == asked.id and requested.data["reason"] == REASON
    assert (approved.kind, approved.actor_id, approved.task_id) == ("extension_approved", city.id, task.id)
    assert approved.data["due_at"] == at("2026-03-16 23:59:59").isoformat()
    assert "延至 2026-03-16" in approved.summary and "同意，抓紧核实" in approved.summary


def test_refusal_keeps_the_date_and_needs_a_reason(session, people, task):
    city = people.supervisor("长春市")
    asked = _ask(session, people, task)
    with pytest.raises(Invalid) as refused:
        extensions.decide(session, city, asked.id, decision="refuse", note="  ", now=ASKED)
    assert "note" in refused.value.errors and "审批意见" in refused.value.message
    decided = extensions.decide(session, city, asked.id, decision="refuse", note="户数核实不需另加时间", now=ASKED)
    assert decided.status == "refused"
    assert _due(session, task) == at("2026-03-09 23:59:59")
    [_, event] = _events(session, task)
    assert (event.kind, event.actor_id) == ("extension_refused", city.id)
    assert "仍为 2026-03-09" in event.summary
    with pytest.raises(Conflict, match="未批准"):
        extensions.decide(session, city, asked.id, decision="approve", now=ASKED)


def test_asking_after_the_deadline_is_refused_with_a_message(session, people, task):
    with pytest.raises(Conflict) as late:
        _ask(session, people, task, day="2026-03-20", now=at("2026-03-10 09:00"))
    assert "办理时限（2026-03-09）已过" in late.value.message
    assert _events(session, task) == []


def test_a_second_pending_request_is_refused_until_the_first_is_settled(session, people, task):
    first = _ask(session, people, task)
    with pytest.raises(Conflict, match=f"已有待审批的延期申请（#{first.id}）"):
        _ask(session, people, task, day="2026-03-13")
    extensions.withdraw(session, people.officer("榆树市", "housing"), first.id, now=ASKED)
    again = _ask(session, people, task, day="2026-03-13")
    assert again.status == "pending" and again.extra_workdays == 4


@pytest.mark.parametrize("who", [("榆树市", "supervision", "supervisor"), ("榆树市", "housing", "officer"),
                                 ("吉林省", "supervision", "supervisor"), ("吉林省", "supervision", "auditor")])
def test_only_the_level_above_decides(session, people, task, who):
    asked = _ask(session, people, task)
    with pytest.raises(Forbidden, match="长春市督办人审批"):
        extensions.decide(session, people.user(*who), asked.id, decision="approve", now=ASKED)
    session.rollback()
    assert session.get(ExtensionRequest, asked.id).status == "pending"
    assert _due(session, task) == at("2026-03-09 23:59:59")


def test_another_city_or_county_does_not_see_the_request(session, people, task):
    asked = _ask(session, people, task)
    with pytest.raises(NotFound):
        extensions.decide(session, people.supervisor("吉林市"), asked.id, decision="approve", now=ASKED)
    with pytest.raises(NotFound):
        extensions.get_extension(session, people.officer("农安县", "housing"), asked.id)
    with pytest.raises(NotFound):
        _ask(session, people, task, actor=people.officer("农安县", "housing"))
    assert extensions.pending_extensions(session, people.supervisor("吉林市")).total == 0
    assert [r.id for r in extensions.pending_extensions(session, people.supervisor("长春市")).items] == [asked.id]


def test_only_the_tasks_agency_asks_and_only_its_holder_once_claimed(session, people, task, driver):
    for other in (people.officer("榆树市", "finance"), people.supervisor("长春市")):
        with pytest.raises(Forbidden, match="承办部门"):
            _ask(session, people, task, actor=other)
    holder = driver.people.user("榆树市", "housing", "supervisor")
    session.execute(update(Task).where(Task.id == task.id).values(assignee_id=holder.id))
    session.commit()
    with pytest.raises(Forbidden, match="签收人"):
        _ask(session, people, task)
    assert _ask(session, people, task, actor=holder).requested_by.id == holder.id


def test_withdraw_by_the_requester_only_while_pending(session, people, task):
    officer = people.officer("榆树市", "housing")
    asked = _ask(session, people, task)
    with pytest.raises(Forbidden, match="申请人本人"):
        extensions.withdraw(session, people.supervisor("长春市"), asked.id, now=ASKED)
    with pytest.raises(Stale):
        extensions.withdraw(session, officer, asked.id, expected_version=asked.version + 1, now=ASKED)
    withdrawn = extensions.withdraw(session, officer, asked.id, expected_version=asked.version, now=ASKED)
    assert withdrawn.status == "withdrawn" and withdrawn.withdrawn_at == ASKED
    with pytest.raises(Conflict, match="已撤回"):
        extensions.withdraw(session, officer, asked.id, now=ASKED)
    with pytest.raises(Conflict, match="已撤回"):
        extensions.decide(session, people.supervisor("长春市"), asked.id, decision="approve", now=ASKED)
    kinds = [(e.kind, e.actor_id) for e in _events(session, task)]
    assert kinds == [("extension_requested", officer.id), ("extension_withdrawn", officer.id)]


def test_the_requesting_agency_reads_the_decision_once(session, people, task):
    officer = people.officer("榆树市", "housing")
    asked = _ask(session, people, task)
    with pytest.raises(Conflict, match="没有需要签收"):
        extensions.acknowledge(session, officer, asked.id, now=ASKED)
    extensions.decide(session, people.supervisor("长春市"), asked.id, decision="approve", now=ASKED)
    with pytest.raises(Forbidden):
        extensions.acknowledge(session, people.officer("榆树市", "finance"), asked.id, now=ASKED)
    read = extensions.acknowledge(session, officer, asked.id, now=at("2026-03-06 11:00"))
    assert read.decision_read_by.id == officer.id and read.decision_read_at == at("2026-03-06 11:00")
    again = extensions.acknowledge(session, officer, asked.id, now=at("2026-03-07 11:00"))
    assert again.decision_read_at == at("2026-03-06 11:00")
    acks = _events(session, task, "extension_acknowledged")
    assert [(e.actor_id, e.data["status"]) for e in acks] == [(officer.id, "approved")]


def test_a_citys_task_is_decided_by_the_province(session, people, task):
    city_office = people.agency("长春市", "supervision")
    session.execute(update(Task).where(Task.id == task.id).values(agency_id=city_office.id))
    session.commit()
    city = people.supervisor("长春市")  # of the city's 安居办: the task is its own agency's
    asked = _ask(session, people, task, actor=city)
    assert asked.decider_region.name == "吉林省"
    with pytest.raises(Forbidden, match="吉林省督办人审批"):
        extensions.decide(session, city, asked.id, decision="approve", now=ASKED)
    decided = extensions.decide(session, people.supervisor("吉林省"), asked.id, decision="approve", now=ASKED)
    assert decided.status == "approved" and _due(session, task) == at("2026-03-16 23:59:59")


@pytest.mark.parametrize("day, problem", [
    ("2026-03-09", "应晚于当前办理时限 2026-03-09"),
    ("2026-03-14", "2026-03-14 是休息日"),
    ("2026-06-30", "一次最多延期 30 个工作日"),
    ("2026-13-01", "格式 YYYY-MM-DD"),
    ("3000-01-01", "年份应在"),
    (float("nan"), "格式 YYYY-MM-DD"),
    (None, "格式 YYYY-MM-DD"),
])
def test_a_bad_new_date_is_refused_naming_the_field(session, people, task, day, problem):
    with pytest.raises(Invalid) as refused:
        _ask(session, people, task, day=day)
    assert "new_due_date" in refused.value.errors and problem in refused.value.message
    assert _events(session, task) == []


@pytest.mark.parametrize("reason", ["", "   ", "理由\x00", "长" * 1001, None])
def test_a_bad_reason_is_refused_naming_the_field(session, people, task, reason):
    with pytest.raises(Invalid) as refused:
        extensions.request_extension(session, people.officer("榆树市", "housing"), task.id, reason=reason,
                                     new_due_date="2026-03-16", now=ASKED)
    assert "reason" in refused.value.errors and "延期理由" in refused.value.message
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ExtensionRequest)) == 0


def test_a_closed_task_cannot_be_extended_and_leaves_the_pending_list(session, people, driver, task):
    asked = _ask(session, people, task)
    case = task.case_id
    driver.complete(session.get(type(asked.case), case), "intake_verify", now=at("2026-03-07 09:00"))
    with pytest.raises(Conflict, match="已办"):
        _ask(session, people, task)
    with pytest.raises(Conflict, match="无需再审批"):
        extensions.decide(session, people.supervisor("长春市"), asked.id, decision="approve",
                          now=at("2026-03-07 10:00"))
    assert extensions.pending_extensions(session, people.supervisor("长春市")).total == 0


def test_a_policy_timer_deadline_cannot_be_extended(session, people, driver):
    case = driver.new_case(1, "榆树市", now=FILED)
    judgment = driver.to_court_judgment(case)
    assert judgment.due_at == at("2026-09-30 23:59:59")
    court = driver.officer_for(judgment)
    with pytest.raises(Conflict, match="政策期限"):
        extensions.request_extension(session, court, judgment.id, reason=REASON, new_due_date="2026-10-16",
                                     now=at("2026-09-01 09:00"))


def test_workdays_between_counts_as_add_workdays_does(session):
    from workflows import workdays
    from workflows.engine.evaluator import CHINA
    # Across National Day and its make-up working days, and into an uncovered year.
    for start, n in ((at("2026-09-28 09:00"), 12), (at("2026-12-20 09:00"), 30), (FILED, 5)):
        deadline = workdays.add_workdays(session, start, n)
        counted = workdays.workdays_between(session, start.astimezone(CHINA).date(), deadline.due_day)
        assert counted == (n, deadline.uncovered_years)
    assert workdays.workdays_between(session, date(2026, 3, 9), date(2026, 3, 9)) == (0, ())


# --- the API ------------------------------------------------------------------------------------------

def _post(api, task, **body):  # noqa: ANN001, ANN003, ANN202
    return api.post(f"/tasks/{task.id}/extensions", json={"reason": REASON, "new_due_date": "2026-03-16", **body})


def test_api_request_decide_with_if_match_and_read_receipt(api_as, people, task, session, driver):
    driver.travel_to(ASKED)
    officer, city = api_as(people.officer("榆树市", "housing")), api_as(people.supervisor("长春市"))
    r = _post(officer, task)
    assert r.status_code == 201, r.json
    asked = r.json
    assert (asked["status"], asked["status_label"], asked["extra_workdays"]) == ("pending", "待审批", 5)
    assert asked["decider"]["name"] == "长春市" and r.headers["ETag"] == f'"{asked["version"]}"'
    assert [e["id"] for e in officer.get(f"/tasks/{task.id}/extensions").json] == [asked["id"]]
    assert [e["id"] for e in city.get("/extensions?decidable_only=true").json["items"]] == [asked["id"]]
    assert api_as(people.supervisor("吉林省")).get("/extensions?decidable_only=true").json["total"] == 0

    url = f"/extensions/{asked['id']}/decide"
    stale = city.post(url, json={"decision": "approve"}, headers={"If-Match": f'"{asked["version"] + 1}"'})
    assert stale.status_code == 412, stale.json
    assert _due(session, task) == at("2026-03-09 23:59:59")
    r = city.post(url, json={"decision": "approve", "note": "同意"}, headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "approved" and r.json["task"]["due_at"].startswith("2026-03-16T15:59:59")
    assert city.post(url, json={"decision": "refuse", "note": "再议"}).status_code == 409
    read = officer.post(f"/extensions/{asked['id']}/acknowledge")
    assert read.status_code == 200 and read.json["decision_read_by"]["id"] == officer.user.id
    assert officer.get(f"/tasks/{task.id}").json["due_at"].startswith("2026-03-16T15:59:59")
    kinds = [(e.kind, e.channel) for e in _events(session, task)]
    assert kinds == [("extension_requested", "api"), ("extension_approved", "api"), ("extension_acknowledged", "api")]


def test_api_withdraw_with_a_stale_version_changes_nothing(api_as, people, task, session, driver):
    driver.travel_to(ASKED)
    officer = api_as(people.officer("榆树市", "housing"))
    asked = _post(officer, task).json
    url = f"/extensions/{asked['id']}/withdraw"
    assert officer.post(url, headers={"If-Match": '"99"'}).status_code == 412
    assert officer.post(url, headers={"If-Match": '"abc"'}).status_code == 412
    session.rollback()
    assert session.get(ExtensionRequest, asked["id"]).status == "pending"
    r = officer.post(url, headers={"If-Match": f'"{asked["version"]}"'})
    assert r.status_code == 200 and r.json["status"] == "withdrawn"
    assert officer.post(url).status_code == 409


@pytest.mark.parametrize("body, field", [
    ({"reason": "说明\x00"}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"reason": "长" * 1001}, "reason"),
    ({"reason": 12}, "reason"),
    ({"new_due_date": "明天"}, "new_due_date"),
    ({"new_due_date": "2026-03-14"}, "new_due_date"),
    ({"new_due_date": "2026-03-02"}, "new_due_date"),
    ({"new_due_date": None}, "new_due_date"),
])
def test_api_bad_bodies_are_refused_by_field_and_change_nothing(api_as, people, task, session, driver, body, field):
    driver.travel_to(ASKED)
    r = _post(api_as(people.officer("榆树市", "housing")), task, **body)
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ExtensionRequest)) == 0


def test_api_hostile_numbers_and_ids(api_as, people, task, driver):
    driver.travel_to(ASKED)
    officer, city = api_as(people.officer("榆树市", "housing")), api_as(people.supervisor("长春市"))
    for raw in ('{"reason": "x", "new_due_date": NaN}', '{"reason": "x", "new_due_date": 1e400}',
                '{"reason": "x", "new_due_date": ' + "9" * 5000 + "}"):
        r = officer.post(f"/tasks/{task.id}/extensions", data=raw, content_type="application/json")
        assert r.status_code == 400, (raw[:50], r.status_code)
    r = officer.post(f"/tasks/{task.id}/extensions", data='{"reason": "\\ud800", "new_due_date": "2026-03-16"}',
                     content_type="application/json")
    assert r.status_code == 422 and "reason" in r.json["errors"], r.json
    for huge in (2**31, 10**30):
        assert _post(officer, type("T", (), {"id": huge})).status_code == 404
        assert officer.get(f"/tasks/{huge}/extensions").status_code == 404
        assert officer.get(f"/extensions/{huge}").status_code == 404
        for action, body in (("withdraw", None), ("decide", {"decision": "approve"}), ("acknowledge", None)):
            assert city.post(f"/extensions/{huge}/{action}", json=body).status_code == 404, (huge, action)
    asked = _post(officer, task).json
    r = city.post(f"/extensions/{asked['id']}/decide", json={"decision": "maybe"})
    assert r.status_code == 422 and "decision" in r.json["errors"]
    r = city.post(f"/extensions/{asked['id']}/decide", json={"decision": "refuse", "note": "x\x00"})
    assert r.status_code == 422 and "note" in r.json["errors"]
    assert city.get("/extensions?per_page=0").status_code == 422
