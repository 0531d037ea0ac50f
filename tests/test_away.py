"""委托 while away (issue #17): an officer hands their work to a colleague for a span of days. From the
first day (moved clock, no sleeping), their claimed tasks go to the colleague, and a task returned to
them goes to the colleague instead; history says on whose behalf. Refusals name the field."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import AccessEvent, AwayPeriod, Notification, Task, User
from tests.conftest import PASSWORD_HASH, at
from tests.pages import csrf, signed_in
from workflows import away, jobs, task_operations, tasks
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

NOW = at("2026-03-02 09:00")  # a Monday


def _officer(session, people, name: str, county: str = "榆树市", role: str = "housing") -> User:  # noqa: ANN001
    agency = people.agency(county, role)
    user = User(username=f"{name}-{agency.id}", display_name=name, role="officer", agency=agency,
                password_hash=PASSWORD_HASH, active=True)
    session.add(user)
    session.commit()
    return user


def test_claimed_tasks_go_to_the_colleague_when_the_period_begins(driver, people, session) -> None:  # noqa: ANN001
    zhang, li = _officer(session, people, "张三"), _officer(session, people, "李四")
    case = driver.new_case(2, now=NOW)
    task = driver.task(case, "intake_verify")
    session.rollback()
    tasks.claim(session, zhang, task.id, now=NOW)
    period = away.set_away(session, zhang, starts_on="2026-03-09", ends_on="2026-03-13", delegate_id=li.id,
                           reason="年休假", now=NOW)
    assert period.applied_at is None  # not begun: nothing moves yet
    session.rollback()
    assert session.get(Task, task.id).assignee_id == zhang.id

    quiet = jobs.run_pass(session, at("2026-03-08 09:00"))
    assert quiet.handed_over == 0
    begun = jobs.run_pass(session, at("2026-03-09 08:00"))
    assert begun.handed_over == 1 and "委托期间转交 1 项任务" in begun.summary()
    session.rollback()
    assert session.get(Task, task.id).assignee_id == li.id
    [event] = [e for e in driver.events(case, "task_reassigned")]
    assert event.summary == "张三委托期间（2026-03-09 至 2026-03-13，年休假），任务「立案核实」由李四代为办理"
    assert event.actor_id is None
    assert jobs.run_pass(session, at("2026-03-10 08:00")).handed_over == 0  # once
    # The colleague is told, once, in their notifications.
    [told] = session.scalars(select(Notification).where(Notification.user_id == li.id,
                                                        Notification.task_id == task.id,
                                                        Notification.title.startswith("委托代办"))).all()
    assert (told.kind, told.title) == ("assigned", f"委托代办：立案核实（{case.code}）")
    assert told.body == "张三委托期间（2026-03-09 至 2026-03-13，年休假），此任务转由您代为办理。"
    logged = session.scalar(select(AccessEvent.summary).where(AccessEvent.kind == "away_set"))
    assert "张三于 2026-03-09 至 2026-03-13（年休假）由李四代办" in logged


def test_a_task_returned_to_an_away_officer_goes_to_the_colleague(driver, people, session) -> None:  # noqa: ANN001
    zhang, li = _officer(session, people, "张三"), _officer(session, people, "李四")
    case = driver.new_case(2, now=NOW)
    intake = driver.task(case, "intake_verify")
    session.rollback()
    tasks.complete_task(session, zhang, intake.id, {"households_confirmed": 12, "responsible_leader": "王副市长",
                                                    "intake_facts": "已核实"}, now=NOW)
    away.set_away(session, zhang, starts_on="2026-03-02", ends_on="2026-03-06", delegate_id=li.id, reason="培训",
                  now=NOW)
    classify = driver.task(case, "classify")
    done = task_operations.return_task(session, driver.officer_for(classify), classify.id, opinion="户数有误",
                                       now=NOW + timedelta(hours=1))
    assert done.task.assignee_id == li.id  # not 张三, who is away
    # A 转办 naming 张三 meanwhile also goes to 李四, and history says so.
    other_case = driver.new_case(2, now=NOW)
    other = driver.task(other_case, "intake_verify")
    session.rollback()
    moved = task_operations.reassign(session, people.supervisor("长春市"), other.id, user_id=zhang.id,
                                     reason="请张三办理", now=NOW + timedelta(hours=2))
    assert moved.assignee_id == li.id
    summary = [e.summary for e in driver.events(other_case, "task_reassigned")][-1]
    assert "（张三委托期间由李四代办）" in summary


def test_away_refusals_name_the_field(driver, people, session) -> None:  # noqa: ANN001
    zhang, li = _officer(session, people, "张三"), _officer(session, people, "李四")
    wang = _officer(session, people, "王五")
    finance = _officer(session, people, "赵六", role="finance")
    session.rollback()
    cases = [({"starts_on": "2026-03-10", "ends_on": "2026-03-09"}, "ends_on"),
             ({"starts_on": "2026-02-01", "ends_on": "2026-02-10"}, "ends_on"),
             ({"starts_on": "2026-03-10", "ends_on": "2026-07-10"}, "ends_on"),
             ({"starts_on": "明天", "ends_on": "2026-03-10"}, "starts_on"),
             ({"delegate_id": zhang.id}, "delegate_id"),
             ({"delegate_id": finance.id}, "delegate_id"),
             ({"delegate_id": 10**30}, "delegate_id"),
             ({"reason": " "}, "reason")]
    base = {"starts_on": "2026-03-09", "ends_on": "2026-03-13", "delegate_id": li.id, "reason": "年休假"}
    for change, field in cases:
        with pytest.raises(Invalid) as caught:
            away.set_away(session, zhang, **{**base, **change}, now=NOW)
        assert list(caught.value.errors) == [field], change
    away.set_away(session, zhang, **base, now=NOW)
    with pytest.raises(Conflict) as caught:
        away.set_away(session, zhang, **{**base, "starts_on": "2026-03-12", "ends_on": "2026-03-20"}, now=NOW)
    assert "已设置 2026-03-09 至 2026-03-13 的委托" in caught.value.message
    with pytest.raises(Invalid) as caught:  # 张三 cannot stand in for 王五 while away himself
        away.set_away(session, wang, **{**base, "delegate_id": zhang.id}, now=NOW)
    assert caught.value.errors == {"delegate_id": ["代办人：张三在 2026-03-09 至 2026-03-13 也不在岗，请另选"]}
    with pytest.raises(Forbidden):
        away.set_away(session, li, **{**base, "user_id": wang.id, "delegate_id": zhang.id}, now=NOW)
    outsider = people.supervisor("四平市")
    period = session.scalar(select(AwayPeriod))
    with pytest.raises(NotFound):
        away.cancel_away(session, outsider, period.id, now=NOW)
    # The county's supervisor may set one for the officer, and cancel it.
    boss = people.supervisor("榆树市")
    made = away.set_away(session, boss, **{**base, "user_id": wang.id, "starts_on": "2026-04-01",
                                           "ends_on": "2026-04-03"}, now=NOW)
    away.cancel_away(session, boss, made.id, now=NOW)
    assert away.standing_in(session, wang.id, at("2026-04-02 10:00")) is None
    assert away.standing_in(session, zhang.id, at("2026-03-11 10:00")).id == li.id
    assert away.standing_in(session, zhang.id, at("2026-03-14 10:00")) is None


def test_away_through_the_api_and_the_page(app, api_as, driver, people, session) -> None:  # noqa: ANN001
    zhang, li = _officer(session, people, "张三"), _officer(session, people, "李四")
    r = api_as(zhang).post("/me/away", json={"starts_on": "2099-03-09", "ends_on": "2099-03-13",
                                            "delegate_id": li.id, "reason": "年休假"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"starts_on"}  # beyond the calendar's range
    today = date.today()
    start, end = today + timedelta(days=7), today + timedelta(days=9)
    r = api_as(zhang).post("/me/away", json={"starts_on": start.isoformat(), "ends_on": end.isoformat(),
                                            "delegate_id": li.id, "reason": "年休假"})
    assert r.status_code == 201, r.json
    listed = api_as(li).get("/me/away").json
    assert [p["user_id"] for p in listed["covering"]] == [zhang.id]

    client = signed_in(app, zhang)
    page = client.get("/me/away").get_data(as_text=True)
    assert 'id="away-form"' in page and 'data-state="planned"' in page and 'id="nav-away"' in page
    bad = client.post("/me/away", data={"csrf_token": csrf(page), "starts_on": end.isoformat(),
                                        "ends_on": start.isoformat(), "delegate_id": str(li.id), "reason": "x"})
    assert bad.status_code == 400 and "结束日期：不能早于开始日期" in bad.get_data(as_text=True)
    period_id = r.json["id"]
    cancelled = client.post(f"/me/away/{period_id}/cancel", data={"csrf_token": csrf(page)})
    assert "已取消委托。" in client.get(cancelled.headers["Location"]).get_data(as_text=True)
    assert session.scalar(select(AwayPeriod.cancelled_at).where(AwayPeriod.id == period_id)) is not None
