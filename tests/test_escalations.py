"""The escalation ladder: supervisors raise 催办 … 问责 within their jurisdiction, the target marks it
read and answers, the raising level closes it; every step is in the case's history with its channel."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import CaseEvent, Escalation
from tests.conftest import at
from workflows import escalations
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

NOW = at("2026-03-02 09:00")
REASON = "项目停工三个月，回迁安置未推进"


@pytest.fixture(autouse=True)
def _everyone(people) -> None:  # noqa: ANN001
    """Everyone these tests sign in as, made before the first request (a test session that read before
    the app wrote cannot then write on SQLite)."""
    for place in ("长春市", "吉林市", "吉林省"):
        people.supervisor(place)
    for county, role in (("榆树市", "housing"), ("榆树市", "finance"), ("榆树市", "supervision"),
                         ("榆树市", "government"), ("农安县", "supervision")):
        people.officer(county, role)
    for role in ("auditor", "admin"):
        people.user("吉林省", "supervision", role)


@pytest.fixture
def case(driver):  # noqa: ANN001, ANN201
    return driver.new_case(2, "榆树市", now=NOW)


def _count(session, model) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def _raise(api, case, **body):  # noqa: ANN001, ANN003, ANN202
    return api.post(f"/cases/{case.id}/escalations", json={"level": "urge", "reason": REASON, **body})


# --- who may raise which rung ----------------------------------------------------------------------

def test_city_supervisor_urges_the_county_housing_bureau_with_a_working_day_deadline(api_as, people, case, session):
    housing = people.agency("榆树市", "housing")
    r = _raise(api_as(people.supervisor("长春市")), case, agency_id=housing.id, due_in_workdays=5)
    assert r.status_code == 201, r.json
    body = r.json
    assert (body["level_label"], body["outcome"], body["target_label"]) == ("催办", "open", housing.name)
    assert body["raised_by"]["id"] == people.supervisor("长春市").id and body["automatic"] is False
    assert body["due_at"] is not None and r.headers["ETag"] == f'"{body["version"]}"'
    session.rollback()
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "escalated")).one()
    assert event.channel == "api" and event.actor_id == people.supervisor("长春市").id
    assert event.data["escalation_id"] == body["id"] and event.data["provisional"] is False
    assert "催办" in event.summary and housing.name in event.summary


@pytest.mark.parametrize("level", ["onsite", "summon", "accountability"])
def test_only_the_province_holds_summons_onsite_supervision_and_accountability(api_as, people, case, level):
    body = {"level": level, "reason": REASON, "target": "leader"}
    r = api_as(people.supervisor("长春市")).post(f"/cases/{case.id}/escalations", json=body)
    assert r.status_code == 403 and "省级" in r.json["message"]
    r = api_as(people.supervisor("吉林省")).post(f"/cases/{case.id}/escalations", json=body)
    assert r.status_code == 201, r.json
    assert r.json["target"] == "leader" and r.json["target_leader"] == case.responsible_leader


@pytest.mark.parametrize("who", [("榆树市", "housing", "officer"), ("榆树市", "supervision", "officer"),
                                 ("吉林省", "supervision", "auditor"), ("吉林省", "supervision", "admin")])
def test_officers_auditors_and_admins_cannot_escalate(api_as, people, case, session, who):
    housing = people.agency("榆树市", "housing")
    r = _raise(api_as(people.user(*who)), case, agency_id=housing.id)
    assert r.status_code == 403, r.json
    assert _count(session, Escalation) == 0


def test_another_citys_case_does_not_exist_for_a_city_supervisor(api_as, people, driver, session):
    other = driver.new_case(2, "舒兰市", now=NOW)
    supervisor = api_as(people.supervisor("长春市"))
    r = _raise(supervisor, other, agency_id=people.agency("舒兰市", "housing").id)
    assert r.status_code == 404
    assert supervisor.get(f"/cases/{other.id}/escalations").status_code == 404
    assert _count(session, Escalation) == 0


def test_the_target_must_be_of_the_cases_county_or_its_city(api_as, people, case):
    supervisor = api_as(people.supervisor("长春市"))
    r = _raise(supervisor, case, agency_id=people.agency("农安县", "housing").id)
    assert r.status_code == 422 and "agency_id" in r.json["errors"]
    r = _raise(supervisor, case, agency_id=people.agency("长春市", "housing").id)
    assert r.status_code == 201, r.json


def test_a_second_open_escalation_of_the_same_rung_is_refused_until_closed(api_as, people, case):
    supervisor = api_as(people.supervisor("长春市"))
    housing = people.agency("榆树市", "housing").id
    first = _raise(supervisor, case, agency_id=housing)
    assert first.status_code == 201
    again = _raise(supervisor, case, agency_id=housing)
    assert again.status_code == 409, again.json
    assert _raise(supervisor, case, agency_id=housing, level="supervise").status_code == 201
    closed = supervisor.post(f"/escalations/{first.json['id']}/close", json={"outcome_note": "已约谈，转为督办"})
    assert closed.status_code == 200, closed.json
    assert _raise(supervisor, case, agency_id=housing).status_code == 201


def test_escalating_a_task_defaults_to_its_agency(api_as, people, driver, case):
    task = driver.task(case, "intake_verify")
    r = _raise(api_as(people.supervisor("长春市")), case, task_id=task.id)
    assert r.status_code == 201, r.json
    assert r.json["task_id"] == task.id and r.json["target_agency"]["id"] == task.agency_id


# --- the target: read receipt, answer --------------------------------------------------------------

def test_only_the_target_acknowledges_and_twice_changes_nothing(api_as, people, case, session):
    finance, officer = api_as(people.officer("榆树市", "finance")), api_as(people.officer("榆树市", "housing"))
    raised = _raise(api_as(people.supervisor("长春市")), case,
                    agency_id=people.agency("榆树市", "housing").id).json
    url = f"/escalations/{raised['id']}/acknowledge"
    assert finance.post(url).status_code == 403
    assert api_as(people.supervisor("长春市")).post(url).status_code == 403
    r = officer.post(url)
    assert r.status_code == 200 and r.json["acknowledged_by"]["id"] == officer.user.id
    again = officer.post(url)
    assert again.status_code == 200 and again.json["version"] == r.json["version"]
    session.rollback()
    acks = session.scalars(select(CaseEvent).where(CaseEvent.kind == "escalation_acknowledged")).all()
    assert len(acks) == 1 and acks[0].channel == "api"


def test_the_countys_supervision_office_acknowledges_for_the_responsible_leader(api_as, people, case):
    raised = api_as(people.supervisor("吉林省")).post(
        f"/cases/{case.id}/escalations", json={"level": "summon", "reason": REASON, "target": "leader"}).json
    url = f"/escalations/{raised['id']}/acknowledge"
    assert api_as(people.officer("榆树市", "housing")).post(url).status_code == 403
    office = api_as(people.officer("榆树市", "supervision"))
    assert office.post(url).status_code == 200
    mine = office.get("/escalations").json
    assert [e["id"] for e in mine["items"]] == [raised["id"]] and mine["total"] == 1
    assert api_as(people.officer("农安县", "supervision")).get("/escalations").json["total"] == 0


def test_answer_with_a_stale_version_is_refused_and_changes_nothing(api_as, people, case, session):
    raised = _raise(api_as(people.supervisor("长春市")), case,
                    agency_id=people.agency("榆树市", "housing").id).json
    officer = api_as(people.officer("榆树市", "housing"))
    acked = officer.post(f"/escalations/{raised['id']}/acknowledge")
    url = f"/escalations/{raised['id']}/respond"
    stale = officer.post(url, json={"response": "已督促施工单位复工"}, headers={"If-Match": f'"{raised["version"]}"'})
    assert stale.status_code == 412, stale.json
    session.rollback()
    assert session.get(Escalation, raised["id"]).outcome == "open"
    r = officer.post(url, json={"response": "已督促施工单位复工"}, headers={"If-Match": acked.headers["ETag"]})
    assert r.status_code == 200, r.json
    assert r.json["outcome"] == "answered" and r.json["responded_by"]["id"] == officer.user.id
    assert officer.post(url, json={"response": "再答复"}).status_code == 409
    session.rollback()
    event = session.scalars(select(CaseEvent).where(CaseEvent.kind == "escalation_answered")).one()
    assert event.channel == "api" and event.data["response"] == "已督促施工单位复工"


def test_the_raising_level_or_above_closes_it(api_as, people, case, session):
    raised = _raise(api_as(people.supervisor("长春市")), case,
                    agency_id=people.agency("榆树市", "housing").id).json
    url = f"/escalations/{raised['id']}/close"
    note = {"outcome_note": "已复工，办结"}
    assert api_as(people.officer("榆树市", "housing")).post(url, json=note).status_code == 403
    assert api_as(people.user("吉林省", "supervision", "auditor")).post(url, json=note).status_code == 403
    r = api_as(people.supervisor("吉林省")).post(url, json=note)
    assert r.status_code == 200 and r.json["outcome"] == "closed"
    assert api_as(people.supervisor("长春市")).post(url, json=note).status_code == 409
    session.rollback()
    assert session.scalars(select(CaseEvent.kind).where(CaseEvent.kind == "escalation_closed")).all()


def test_case_page_lists_escalations_for_readers_within_jurisdiction(api_as, people, case):
    readers = [api_as(people.user("吉林省", "supervision", "auditor")), api_as(people.officer("榆树市", "finance"))]
    other_city = api_as(people.supervisor("吉林市"))
    _raise(api_as(people.supervisor("长春市")), case, agency_id=people.agency("榆树市", "housing").id)
    for reader in readers:
        r = reader.get(f"/cases/{case.id}/escalations")
        assert r.status_code == 200 and [e["level"] for e in r.json] == ["urge"]
    assert other_city.get(f"/cases/{case.id}/escalations").status_code == 404


# --- hostile input --------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"reason": "说明\x00"}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"reason": "长" * 1001}, "reason"),
    ({"level": "shout"}, "level"),
    ({"target": "nobody"}, "target"),
    ({"agency_id": 10**12}, "agency_id"),
    ({"task_id": 2**31}, "task_id"),
    ({"due_in_workdays": 0}, "due_in_workdays"),
    ({"due_in_workdays": 10**6}, "due_in_workdays"),
])
def test_hostile_escalation_bodies_are_refused_by_field(api_as, people, case, session, body, field):
    housing = people.agency("榆树市", "housing").id
    r = api_as(people.supervisor("长春市")).post(
        f"/cases/{case.id}/escalations", json={"level": "urge", "reason": REASON, "agency_id": housing, **body})
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json
    assert _count(session, Escalation) == 0


def test_hostile_numbers_and_ids(api_as, people, case):
    supervisor = api_as(people.supervisor("长春市"))
    r = supervisor.post(f"/cases/{case.id}/escalations", data='{"level": "urge", "reason": "\\ud800", "target": "leader"}',
                        content_type="application/json")
    assert r.status_code == 422 and "reason" in r.json["errors"], r.json
    for raw in ('{"level": "urge", "reason": "x", "due_in_workdays": NaN}',
                '{"level": "urge", "reason": "x", "agency_id": 1e400}',
                '{"level": "urge", "reason": "x", "agency_id": ' + "9" * 5000 + "}"):
        r = supervisor.post(f"/cases/{case.id}/escalations", data=raw, content_type="application/json")
        assert r.status_code == 400, (raw[:60], r.status_code)
    assert supervisor.post(f"/cases/{10**30}/escalations", json={"level": "urge", "reason": "x"}).status_code == 404
    assert supervisor.get(f"/cases/{10**30}/escalations").status_code == 404
    for action, body in (("acknowledge", None), ("respond", {"response": "x"}), ("close", {"outcome_note": "x"})):
        r = supervisor.post(f"/escalations/{10**30}/{action}", json=body)
        assert r.status_code == 404, (action, r.status_code)
    # An If-Match this system never gave is stale whatever it names.
    assert supervisor.post("/escalations/1/respond", json={"response": "x"},
                           headers={"If-Match": '"abc"'}).status_code == 412
    assert supervisor.get("/escalations?per_page=0").status_code == 422


# --- the services directly ------------------------------------------------------------------------

def test_services_refuse_in_the_same_order_as_the_api(session, people, driver, case):
    officer = people.officer("榆树市", "housing")
    with pytest.raises(Forbidden):
        escalations.escalate(session, officer, case.id, level="urge", reason=REASON, target="leader")
    other = driver.new_case(2, "舒兰市", now=NOW)
    with pytest.raises(NotFound):
        escalations.escalate(session, people.supervisor("长春市"), other.id, level="urge", reason=REASON,
                             target="leader")
    with pytest.raises(Invalid):
        escalations.escalate(session, people.supervisor("长春市"), case.id, level=["urge"], reason=REASON,
                             target="leader")
    raised = escalations.escalate(session, people.supervisor("长春市"), case.id, level="urge", reason=REASON,
                                  target="leader")
    with pytest.raises(Conflict):
        escalations.escalate(session, people.supervisor("吉林省"), case.id, level="urge", reason=REASON,
                             target="leader")
    page = escalations.my_escalations(session, people.officer("榆树市", "government"))
    assert [e.id for e in page.items] == [raised.id]
    assert escalations.my_escalations(session, people.user("吉林省", "supervision", "auditor")).total == 0


# --- the 督办单 colours per rung ----------------------------------------------------------------------

def test_a_rung_coloured_by_its_own_thresholds(session, people, case):  # noqa: ANN001
    from datetime import timedelta
    housing = people.agency("榆树市", "housing")
    city, province = people.supervisor("长春市"), people.supervisor("吉林省")
    urge = escalations.escalate(session, city, case.id, level="urge", reason=REASON, agency_id=housing.id,
                                due_in_workdays=5, now=NOW)
    summon = escalations.escalate(session, province, case.id, level="summon", reason=REASON,
                                  agency_id=housing.id, due_in_workdays=5, now=NOW)
    later = urge.due_at - timedelta(days=4)  # four days before both deadlines
    plain = escalations.tracked([urge, summon], later, 3, 1)
    assert [t.deadline.level for t in plain] == [None, None]
    by_level = escalations.colour_days({"summon": [5, 2]})
    coloured = escalations.tracked([urge, summon], later, 3, 1, by_level)
    assert [t.deadline.level for t in coloured] == [None, "near"]


@pytest.mark.parametrize("setting", [[["summon", 5, 2]], {"meeting": [5, 2]}, {"summon": [2, 5]},
                                     {"summon": [5]}, {"summon": [5, True]}, {"summon": [400, 2]}])
def test_a_wrong_colour_setting_is_refused_naming_it(setting) -> None:  # noqa: ANN001
    with pytest.raises(Invalid) as refused:
        escalations.colour_days(setting)
    assert list(refused.value.errors) == ["ESCALATION_DUE_DAYS_BY_LEVEL"]


def test_the_app_does_not_start_with_a_wrong_colour_setting(engine) -> None:  # noqa: ANN001
    from webapp import create_app
    with pytest.raises(Invalid, match="未知的督办级别"):
        create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False), "SECRET_KEY": "x",
                    "ESCALATION_DUE_DAYS_BY_LEVEL": {"meeting": [5, 2]}})
