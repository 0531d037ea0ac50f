"""The escalation ladder in the pages: raised and closed on the case page (only the rungs the reader
may raise, refusals next to the field they concern, what was typed kept), acknowledged and answered
from the target's inbox with a count in the menu, watched on the supervisor's dashboard with the 督办单
colours, read by auditors without a control that changes anything; and the working-day calendar's
flag and the administrators' page to enter a year's holiday schedule."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from models import CalendarDay, CalendarYear, CaseEvent, Escalation
from tests.conftest import at
from tests.pages import csrf as _csrf
from tests.pages import signed_in as _signed_in
from workflows import escalations, workdays

NOW = at("2026-03-02 09:00")
REASON = "项目停工三个月，回迁安置未推进"


@pytest.fixture(autouse=True)
def _everyone(people) -> None:  # noqa: ANN001
    """Everyone these tests sign in as, made before the first request (a test session that read before
    the app wrote cannot then write on SQLite)."""
    for place in ("长春市", "吉林市", "吉林省"):
        people.supervisor(place)
    for county, role in (("榆树市", "housing"), ("榆树市", "finance"), ("农安县", "housing")):
        people.officer(county, role)
    people.officer("长春市", "housing")
    for role in ("auditor", "admin"):
        people.user("吉林省", "supervision", role)
    people.user("长春市", "supervision", "admin")


@pytest.fixture
def case(driver):  # noqa: ANN001, ANN201
    return driver.new_case(2, "榆树市", now=NOW)


def _text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def _count(session, model=Escalation) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def _form(html: str, form_id: str) -> str:
    found = re.search(rf'<form [^>]*id="{form_id}".*?</form>', html, re.S)
    assert found, f"no form {form_id}"
    return found.group(0)


def _options(select_html: str, name: str) -> list[str]:
    block = re.search(rf'<select[^>]*name="{name}".*?</select>', select_html, re.S).group(0)
    return re.findall(r'<option[^>]*value="([^"]*)"', block)


def _raise_on_page(client, case, **fields):  # noqa: ANN001, ANN003, ANN202
    page = _text(client.get(f"/cases/{case.id}"))
    data = {"csrf_token": _csrf(page), "level": "urge", "reason": REASON, "due_in_workdays": "5", **fields}
    return client.post(f"/cases/{case.id}/escalations", data=data)


def _raised(session, case, supervisor, agency, level: str = "urge") -> Escalation:  # noqa: ANN001
    """An escalation raised through the service (the tests of answering need one, not its page)."""
    return escalations.escalate(session, supervisor, case.id, level=level, reason=REASON, agency_id=agency.id,
                                due_in_workdays=3, now=NOW)


# --- raising from the case page -----------------------------------------------------------------------

def test_city_supervisor_raises_from_the_case_page_with_only_the_city_rungs(app, people, case, session) -> None:
    client = _signed_in(app, people.supervisor("长春市"))
    page = _text(client.get(f"/cases/{case.id}"))
    form = _form(page, "escalate-form")
    assert _options(form, "level") == ["urge", "supervise"]  # 驻点督办, 约谈, 问责 are the province's
    housing = people.agency("榆树市", "housing")
    targets = _options(form, "target")
    assert str(housing.id) in targets and "leader" in targets
    assert str(people.agency("农安县", "housing").id) not in targets  # another county's bureau
    assert str(people.agency("长春市", "supervision").id) not in targets  # the raiser's own office
    assert "即将上线" not in page and 'id="reassign-hint"' in page  # 改派 is the task page's 转办
    done = _raise_on_page(client, case, target=str(housing.id))
    assert done.status_code == 302 and done.headers["Location"] == f"/cases/{case.id}#escalations"
    session.rollback()
    row = session.scalars(select(Escalation)).one()
    assert (row.level, row.target_agency_id, row.reason, row.outcome) == ("urge", housing.id, REASON, "open")
    assert row.due_at == workdays.add_workdays(session, NOW, 5).due_at
    event = session.scalars(select(CaseEvent).where(CaseEvent.kind == "escalated")).one()
    assert event.channel == "web" and event.actor_id == people.supervisor("长春市").id
    after = _text(client.get(f"/cases/{case.id}"))
    assert "已发起催办" in after
    listed = re.search(rf'<tr data-escalation-id="{row.id}"[^>]*>.*?</tr>', after, re.S).group(0)
    assert 'data-level="urge"' in listed and housing.name in listed and REASON in listed
    assert "hq-level-urge" in listed and "未阅" in listed and "尚未答复" in listed


def test_province_supervisor_may_summon_the_responsible_leader(app, people, case, session) -> None:
    client = _signed_in(app, people.supervisor("吉林省"))
    form = _form(_text(client.get(f"/cases/{case.id}")), "escalate-form")
    assert _options(form, "level") == ["urge", "supervise", "onsite", "summon", "accountability"]
    done = _raise_on_page(client, case, level="summon", target="leader", due_in_workdays="")
    assert done.status_code == 302
    session.rollback()
    row = session.scalars(select(Escalation)).one()
    assert (row.level, row.target_agency_id, row.target_leader, row.due_at) == ("summon", None, "王副县长", None)


def test_a_city_supervisor_posting_a_province_rung_is_refused_beside_the_level(app, people, case, session) -> None:
    client = _signed_in(app, people.supervisor("长春市"))
    refused = _raise_on_page(client, case, level="summon", target="leader", reason="约谈县长")
    assert refused.status_code == 403
    form = _form(_text(refused), "escalate-form")
    assert re.search(r'data-error-for="level">约谈只能由省级督办人发起', form)
    assert "约谈县长</textarea>" in form  # what was typed is kept
    assert _count(session) == 0


def test_a_missing_reason_is_named_and_nothing_typed_is_lost(app, people, case, session) -> None:
    client = _signed_in(app, people.supervisor("长春市"))
    housing = people.agency("榆树市", "housing")
    refused = _raise_on_page(client, case, level="supervise", target=str(housing.id), reason="  ",
                             due_in_workdays="7")
    assert refused.status_code == 422
    form = _form(_text(refused), "escalate-form")
    assert re.search(r'data-error-for="reason">督办事由：不能为空', form)
    assert re.search(rf'<option selected value="{housing.id}">|<option value="{housing.id}" selected>', form)
    assert re.search(r'<option selected value="supervise">|<option value="supervise" selected>', form)
    assert 'value="7"' in form
    no_target = _raise_on_page(client, case, target="")
    assert no_target.status_code == 422
    assert re.search(r'data-error-for="target">督办对象：请指定被督办的部门', _text(no_target))
    bad_days = _raise_on_page(client, case, target=str(housing.id), due_in_workdays="三天")
    assert bad_days.status_code == 422 and 'data-error-for="due_in_workdays">答复期限（工作日）' in _text(bad_days)
    assert _count(session) == 0


def test_the_same_rung_twice_is_refused_with_the_reason_shown(app, people, case, session) -> None:
    client = _signed_in(app, people.supervisor("长春市"))
    housing = str(people.agency("榆树市", "housing").id)
    assert _raise_on_page(client, case, target=housing).status_code == 302
    again = _raise_on_page(client, case, target=housing)
    assert again.status_code == 409 and "已有未办结的催办" in _form(_text(again), "escalate-form")
    assert _count(session) == 1


def test_officers_get_no_escalate_form_and_a_post_is_refused(app, people, case, session) -> None:
    officer = _signed_in(app, people.officer("榆树市", "housing"))
    page = _text(officer.get(f"/cases/{case.id}"))
    assert 'id="escalate-form"' not in page and 'id="escalations"' in page and "本案尚无催办、督办记录" in page
    refused = officer.post(f"/cases/{case.id}/escalations", data={
        "csrf_token": _csrf(page), "level": "urge", "reason": REASON, "target": "leader"})
    assert refused.status_code == 403 and "只有市级或省级督办人可以催办、督办" in _text(refused)
    assert _count(session) == 0


def test_writes_need_the_csrf_token(app, people, case, session) -> None:
    supervisor = _signed_in(app, people.supervisor("长春市"))
    housing = people.agency("榆树市", "housing")
    refused = supervisor.post(f"/cases/{case.id}/escalations",
                              data={"level": "urge", "reason": REASON, "target": str(housing.id)})
    assert refused.status_code == 400 and "表单校验码" in _text(refused)
    assert _count(session) == 0
    raised = _raised(session, case, people.supervisor("长春市"), housing)
    officer = _signed_in(app, people.officer("榆树市", "housing"))
    for path, data in ((f"/inbox/escalations/{raised.id}/acknowledge", {}),
                       (f"/inbox/escalations/{raised.id}/respond", {"response": "已复工"}),
                       (f"/cases/{case.id}/escalations/{raised.id}/close", {f"close-{raised.id}-outcome_note": "好"})):
        assert officer.post(path, data=data).status_code == 400, path
    session.rollback()
    row = session.get(Escalation, raised.id)
    assert (row.acknowledged_at, row.response, row.outcome) == (None, None, "open")


# --- the target's inbox -------------------------------------------------------------------------------

def test_the_target_acknowledges_and_answers_from_the_inbox(app, people, case, session) -> None:
    housing = people.agency("榆树市", "housing")
    raised = _raised(session, case, people.supervisor("长春市"), housing)
    officer = _signed_in(app, people.officer("榆树市", "housing"))
    inbox = _text(officer.get("/inbox"))
    assert re.search(r'id="nav-escalations"[^>]*>1<', inbox)  # the count beside 待办 in the menu
    section = re.search(r'<section[^>]*id="addressed-escalations".*?</section>', inbox, re.S).group(0)
    row = re.search(rf'<tr id="escalation-{raised.id}"[^>]*>', section).group(0)
    assert 'data-read="0"' in row and "hq-unread" in row  # unread stands out
    assert "其中 1 件未阅" in section and REASON in section and case.code in section
    assert f'id="acknowledge-{raised.id}"' in section
    # Another officer of the county, not the target, sees nothing and may not acknowledge.
    finance = _signed_in(app, people.officer("榆树市", "finance"))
    theirs = _text(finance.get("/inbox"))
    assert 'id="addressed-escalations"' not in theirs
    refused = finance.post(f"/inbox/escalations/{raised.id}/acknowledge", data={"csrf_token": _csrf(theirs)})
    assert refused.status_code == 403

    done = officer.post(f"/inbox/escalations/{raised.id}/acknowledge",
                        data={"csrf_token": _csrf(inbox), "back": "view=mine"})
    assert done.status_code == 302 and done.headers["Location"] == f"/inbox?view=mine#escalation-{raised.id}"
    session.rollback()
    row = session.get(Escalation, raised.id)
    assert row.acknowledged_by_id == people.officer("榆树市", "housing").id and row.outcome == "open"
    inbox = _text(officer.get("/inbox"))
    assert 'data-read="1"' in inbox and f'id="acknowledge-{raised.id}"' not in inbox and "已阅：" in inbox

    empty = officer.post(f"/inbox/escalations/{raised.id}/respond",
                         data={"csrf_token": _csrf(inbox), "response": " ", "version": str(row.version)})
    assert empty.status_code == 422
    assert re.search(rf'id="response-{raised.id}-error">答复：不能为空', _text(empty))
    answer = "已约谈开发企业，4月1日复工"
    stale = officer.post(f"/inbox/escalations/{raised.id}/respond",
                         data={"csrf_token": _csrf(inbox), "response": answer, "version": str(row.version - 1)})
    assert stale.status_code == 409 and f"{answer}</textarea>" in _text(stale)  # the answer is not lost
    done = officer.post(f"/inbox/escalations/{raised.id}/respond",
                        data={"csrf_token": _csrf(inbox), "response": answer, "version": str(row.version)})
    assert done.status_code == 302
    session.rollback()
    row = session.get(Escalation, raised.id)
    assert (row.outcome, row.response) == ("answered", answer)
    kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.kind.like("escalation%"))).all()
    assert kinds == ["escalation_acknowledged", "escalation_answered"]
    after = _text(officer.get("/inbox"))
    assert 'id="addressed-escalations"' not in after and 'id="nav-escalations"' not in after


def test_another_countys_escalation_does_not_exist(app, people, case, driver, session) -> None:
    raised = _raised(session, case, people.supervisor("长春市"), people.agency("榆树市", "housing"))
    elsewhere = _signed_in(app, people.officer("农安县", "housing"))
    token = _csrf(_text(elsewhere.get("/inbox")))
    for path in (f"/inbox/escalations/{raised.id}/acknowledge", f"/inbox/escalations/{raised.id}/respond",
                 "/inbox/escalations/99999999999/acknowledge"):
        refused = elsewhere.post(path, data={"csrf_token": token, "response": "越权答复"})
        assert refused.status_code == 404 and "督办事项不存在" in _text(refused), path
    other_city = _signed_in(app, people.supervisor("吉林市"))
    token = _csrf(_text(other_city.get("/supervise")))
    refused = other_city.post(f"/cases/{case.id}/escalations/{raised.id}/close",
                              data={"csrf_token": token, f"close-{raised.id}-outcome_note": "越权办结"})
    assert refused.status_code == 404
    assert other_city.get(f"/cases/{case.id}").status_code == 404
    session.rollback()
    row = session.get(Escalation, raised.id)
    assert (row.acknowledged_at, row.response, row.outcome) == (None, None, "open")


# --- closing on the case page ---------------------------------------------------------------------------

def test_the_raising_level_closes_from_the_case_page(app, people, case, session) -> None:
    raised = _raised(session, case, people.supervisor("长春市"), people.agency("榆树市", "housing"))
    province = _signed_in(app, people.supervisor("吉林省"))
    _form(_text(province.get(f"/cases/{case.id}")), f"close-escalation-{raised.id}")  # the level above may too
    supervisor = _signed_in(app, people.supervisor("长春市"))
    page = _text(supervisor.get(f"/cases/{case.id}"))
    form = _form(page, f"close-escalation-{raised.id}")
    version = re.search(r'name="close-\d+-version" type="hidden" value="(\d+)"', form).group(1)
    data = {"csrf_token": _csrf(page), f"close-{raised.id}-version": version}
    empty = supervisor.post(f"/cases/{case.id}/escalations/{raised.id}/close",
                            data={**data, f"close-{raised.id}-outcome_note": ""})
    assert empty.status_code == 422 and "办结意见：不能为空" in _form(_text(empty), f"close-escalation-{raised.id}")
    done = supervisor.post(f"/cases/{case.id}/escalations/{raised.id}/close",
                           data={**data, f"close-{raised.id}-outcome_note": "已复工，办结"})
    assert done.status_code == 302
    session.rollback()
    row = session.get(Escalation, raised.id)
    assert (row.outcome, row.outcome_note) == ("closed", "已复工，办结")
    after = _text(supervisor.get(f"/cases/{case.id}"))
    assert f'id="close-escalation-{raised.id}"' not in after and "已复工，办结" in after
    # An officer of the target sees the record and no close form.
    officer = _text(_signed_in(app, people.officer("榆树市", "housing")).get(f"/cases/{case.id}"))
    assert f'data-escalation-id="{raised.id}"' in officer and "close-escalation" not in officer


# --- auditors -------------------------------------------------------------------------------------------

def test_auditors_read_escalations_and_their_history_with_no_control_that_changes_anything(
        app, people, case, session) -> None:
    raised = _raised(session, case, people.supervisor("长春市"), people.agency("榆树市", "housing"))
    escalations.acknowledge(session, people.officer("榆树市", "housing"), raised.id, now=NOW)
    auditor = _signed_in(app, people.user("吉林省", "supervision", "auditor"))
    page = _text(auditor.get(f"/cases/{case.id}"))
    assert f'data-escalation-id="{raised.id}"' in page and REASON in page
    posts = re.findall(r'<form method="post" action="([^"]+)"', page)
    assert set(posts) <= {"/logout", "/language"}, posts
    assert "<button" not in re.sub(r'<form method="post" action="/(logout|language)".*?</form>', "", page, flags=re.S)
    timeline = re.search(r'<table[^>]*id="timeline".*?</table>', page, re.S).group(0)
    assert 'data-kind="escalated"' in timeline and "督办升级" in timeline
    assert 'data-kind="escalation_acknowledged"' in timeline and "督办已阅" in timeline
    audit = _text(auditor.get(f"/audit?case_code={case.code}&kind=escalated"))
    assert "督办升级" in audit and REASON in audit
    assert "<option value=\"escalation_answered\">督办答复</option>" in audit


# --- the supervisor's dashboard -------------------------------------------------------------------------

def test_dashboard_lists_open_escalations_unanswered_and_overdue_first_with_colours(
        app, people, driver, session) -> None:
    city = people.supervisor("长春市")
    first, second = driver.new_case(2, "榆树市", now=NOW), driver.new_case(3, "农安县", now=NOW)
    elsewhere = driver.new_case(2, "舒兰市", now=NOW)
    answered = _raised(session, first, city, people.agency("榆树市", "housing"), "supervise")
    escalations.respond(session, people.officer("榆树市", "housing"), answered.id, "已办", now=NOW)
    late = _raised(session, second, city, people.agency("农安县", "housing"))
    near = escalations.escalate(session, city, first.id, level="urge", reason=REASON,
                                agency_id=people.agency("榆树市", "finance").id, due_in_workdays=4, now=NOW)
    _raised(session, elsewhere, people.supervisor("吉林市"), people.agency("舒兰市", "housing"))
    closed = _raised(session, second, city, people.agency("农安县", "finance"))
    escalations.close(session, city, closed.id, "不再督办", now=NOW)
    driver.travel_to(at("2026-03-06 10:00"))  # `late` was due 3 working days after 2 March: 5 March
    html = _text(_signed_in(app, city).get("/supervise"))
    board = re.search(r'<section[^>]*id="open-escalations".*?</section>', html, re.S).group(0)
    ids = [int(i) for i in re.findall(r'<tr data-escalation-id="(\d+)"', board)]
    assert ids == [late.id, near.id, answered.id]  # 舒兰市 is outside, the closed one is done
    assert re.search(rf'data-escalation-id="{late.id}"[^>]*data-due-level="overdue"[^>]*class="due-overdue"', board)
    assert re.search(rf'data-escalation-id="{near.id}"[^>]*data-due-level="soon"[^>]*class="due-behind"', board)
    assert 'data-level="urge" data-count="2"' in board and 'data-level="supervise" data-count="1"' in board
    assert "共 3 件，待答复 2 件，其中已超期 1 件" in board


def test_dashboard_flags_a_year_no_calendar_covers(app, people, driver) -> None:
    supervisor = _signed_in(app, people.supervisor("长春市"))
    uncovered = [y for y in (2026, 2027) if y not in workdays.covered_years()]
    assert uncovered, "the test needs next year unpublished; move NOW forward"
    driver.travel_to(NOW)
    html = _text(supervisor.get("/supervise"))
    for year in uncovered:
        assert f"{year}年法定节假日安排尚未录入，涉及该年的期限为暂定" in html
    assert "/admin/calendar" not in html  # supervisors do not enter it
    admin = _signed_in(app, people.user("吉林省", "supervision", "admin"))
    page = _text(admin.get("/admin/users"))
    assert f'href="/admin/calendar?year={uncovered[0]}"' in page


# --- the administrators' calendar page ------------------------------------------------------------------

def test_province_admin_enters_a_years_schedule_with_clear_field_errors(app, people, driver, session) -> None:
    driver.travel_to(NOW)
    year = max(workdays.covered_years()) + 1
    admin = _signed_in(app, people.user("吉林省", "supervision", "admin"))
    page = _text(admin.get(f"/admin/calendar?year={year}"))
    assert re.search(rf'<tr data-year="{year}" data-status="uncovered"', page)
    token = _csrf(page)
    bad = admin.post("/admin/calendar", data={
        "csrf_token": token, "year": str(year),
        "holidays": f"{year}-10-01 国庆节\n{year}-10-02\n", "workdays": f"{year}-09-28 国庆节"})
    assert bad.status_code == 422
    text = _text(bad)
    assert re.search(r'data-error-for="holidays">放假日期第 2 项名称：必填', text)
    assert re.search(rf'name="holidays"[^>]*>\s*{year}-10-01 国庆节\s+{year}-10-02\s*</textarea>', text)  # as typed
    weekday = admin.post("/admin/calendar", data={
        "csrf_token": token, "year": str(year), "holidays": f"{year}-10-01 国庆节",
        "workdays": f"{year}-10-04 国庆节"})
    assert weekday.status_code == 422 and 'data-error-for="workdays">调休上班日期第 1 项日期' in _text(weekday)
    assert _count(session, CalendarDay) == 0
    saturday = next(date(year, 9, d) for d in range(20, 28) if date(year, 9, d).weekday() == 5)
    done = admin.post("/admin/calendar", data={
        "csrf_token": token, "year": str(year), "holidays": f"{year}-10-01 国庆节\n{year}-10-02 国庆节",
        "workdays": f"{saturday.isoformat()} 国庆节"})
    assert done.status_code == 302 and done.headers["Location"] == f"/admin/calendar?year={year}"
    session.rollback()
    assert workdays.year_status(session, year) == "admin"
    assert {(d.day, d.kind) for d in session.scalars(select(CalendarDay))} == {
        (date(year, 10, 1), "holiday"), (date(year, 10, 2), "holiday"), (saturday, "workday")}
    after = _text(admin.get(f"/admin/calendar?year={year}"))
    assert re.search(rf'<tr data-year="{year}" data-status="admin"', after)
    assert f"{year}-10-02 国庆节" in after and "放假 2 天，调休上班 1 天" in after


def test_city_admins_read_the_calendar_and_others_are_refused(app, people, session) -> None:
    city_admin = _signed_in(app, people.user("长春市", "supervision", "admin"))
    page = _text(city_admin.get("/admin/calendar"))
    assert 'id="calendar-readonly"' in page and 'id="calendar-form"' not in page
    refused = city_admin.post("/admin/calendar", data={"csrf_token": _csrf(page), "year": "2030",
                                                       "holidays": "2030-10-01 国庆节"})
    assert refused.status_code == 403 and "省级系统管理员" in _text(refused)
    assert _count(session, CalendarYear) == 0
    assert _signed_in(app, people.supervisor("吉林省")).get("/admin/calendar").status_code == 403
