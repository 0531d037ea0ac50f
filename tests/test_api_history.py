"""A case's history over the API: every event in order, who did it and through which channel,
filtered by kind, person, time and channel, in pages; nobody outside the case's places sees it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import ApiToken, CaseEvent
from tests.conftest import at
from workflows import auth

FILED = at("2026-03-02 09:00")
CLASSIFIED = at("2026-03-10 10:00")
YEAR_END = at("2027-01-01 00:00:01")


@pytest.fixture
def story(driver, people, api_as):
    """A 已开工 case filed on 2 March, classified on 10 March, whose year-end timer fired (the system
    acting), then its notes edited through the API; the API client is returned with it."""
    case = driver.new_case(2, now=FILED)
    driver.travel_to(CLASSIFIED)
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    driver.fire_timers(YEAR_END)
    api = api_as(people.officer("榆树市", "housing"))
    assert api.patch(f"/cases/{case.id}", json={"notes": "年底前未实现回迁，已约谈"}).status_code == 200
    return case, api


def _stored(session, case_id: int, **where) -> list[CaseEvent]:  # noqa: ANN001, ANN003
    session.rollback()
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(CaseEvent, name) == value)
    return list(session.scalars(stmt))


def _ids(response) -> list[int]:  # noqa: ANN001
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_history_reads_in_order_with_who_did_what_and_where(story, session, people):
    case, api = story
    r = api.get(f"/cases/{case.id}/history?per_page=1000")
    stored = _stored(session, case.id)
    assert _ids(r) == [e.id for e in stored] and r.json["total"] == len(stored)
    first = r.json["items"][0]
    filer = people.officer("榆树市", "housing")
    assert first["kind"] == "case_created" and first["kind_label"] == "立案"
    assert first["actor"] == {"id": filer.id, "display_name": filer.display_name}
    assert first["channel"] == "service" and first["channel_label"] == "服务调用"
    assert first["task_id"] is None and first["token_id"] is None and first["os_user"] is None
    assert first["data"]["code"] == case.code and first["summary"].startswith(filer.display_name)
    completed = next(e for e in r.json["items"] if e["kind"] == "task_completed")
    assert completed["task_id"] is not None and completed["kind_label"] == "办结任务"
    fired = next(e for e in r.json["items"] if e["kind"] == "timer_fired")
    assert fired["actor"] is None  # the system acted
    edited = r.json["items"][-1]
    token_id = session.scalar(select(ApiToken.id).where(ApiToken.token_hash == auth.hash_token(api.token)))
    assert edited["kind"] == "case_updated" and edited["channel"] == "api" and edited["channel_label"] == "接口"
    assert edited["token_id"] == token_id and edited["data"]["notes"]["to"] == "年底前未实现回迁，已约谈"


def test_history_filters_by_kind_person_and_channel(story, session, people):
    case, api = story
    filer = people.officer("榆树市", "housing")
    assert _ids(api.get(f"/cases/{case.id}/history?kind=timer_fired")) == \
        [e.id for e in _stored(session, case.id, kind="timer_fired")]
    r = api.get(f"/cases/{case.id}/history?actor_id={filer.id}&per_page=1000")
    assert _ids(r) == [e.id for e in _stored(session, case.id, actor_id=filer.id)]
    assert r.json["total"] == len(_stored(session, case.id, actor_id=filer.id))
    [edited] = _stored(session, case.id, channel="api")
    assert _ids(api.get(f"/cases/{case.id}/history?channel=api")) == [edited.id]
    assert _ids(api.get(f"/cases/{case.id}/history?channel=api&kind=case_updated")) == [edited.id]
    assert len(_stored(session, case.id, kind="case_updated")) > 1  # the intake wrote to the case too
    assert _ids(api.get(f"/cases/{case.id}/history?channel=cli")) == []
    assert _ids(api.get(f"/cases/{case.id}/history?actor_id=999999")) == []


def test_history_filters_by_time_days_in_china_time_both_ends_included(story, session):
    case, api = story
    events = _stored(session, case.id)

    def between(low, high):  # noqa: ANN001, ANN202
        return [e.id for e in events if (low is None or e.at >= low) and (high is None or e.at <= high)]

    url = f"/cases/{case.id}/history?per_page=1000"
    assert _ids(api.get(f"{url}&until=2026-03-02")) == between(None, FILED) != []
    assert _ids(api.get(f"{url}&since=2026-03-10&until=2026-03-10")) == between(CLASSIFIED, CLASSIFIED) != []
    assert _ids(api.get(f"{url}&since=2026-03-03")) == between(CLASSIFIED, None)
    # A datetime without a zone is China time; one with a zone is taken as given.
    assert _ids(api.get(f"{url}&until=2026-03-02T09:00")) == between(None, FILED)
    assert _ids(api.get(f"{url}&until=2026-03-02T08:59:59")) == []
    r = api.get(f"{url}&since=2026-12-31T16:00:00Z")
    assert _ids(r) == between(YEAR_END, None) and {e["kind"] for e in r.json["items"]} >= {"timer_fired",
                                                                                           "case_updated"}


def test_history_comes_in_pages(story, session):
    case, api = story
    events = [e.id for e in _stored(session, case.id)]
    r = api.get(f"/cases/{case.id}/history?per_page=2&page=2")
    assert _ids(r) == events[2:4]
    assert r.json["total"] == len(events) and r.json["page"] == 2 and r.json["per_page"] == 2
    assert _ids(api.get(f"/cases/{case.id}/history?per_page=2&page=500000")) == []
    for bad in ("per_page=0", "per_page=1001", "page=0", f"page={10**30}"):
        assert api.get(f"/cases/{case.id}/history?{bad}").status_code == 422, bad


@pytest.mark.parametrize("query, field", [
    ("kind=case_deleted", "kind"), ("channel=fax", "channel"), ("actor_id=0", "actor_id"),
    (f"actor_id={10**30}", "actor_id"), ("since=2026-03-10&until=2026-03-02", "since"),
    ("since=yesterday", "since"), ("until=9999-01-01", "until"), ("until=2026-02-30", "until"),
    ("since=" + "9" * 41, "since"), ("since=2026-03-02%00", "since"),
])
def test_bad_history_filters_are_refused_naming_the_field(story, query, field):
    case, api = story
    r = api.get(f"/cases/{case.id}/history?{query}")
    assert r.status_code == 422 and list(r.json["errors"]) == [field], r.json


def test_history_of_a_case_outside_ones_places_does_not_exist(driver, people, api_as):
    case = driver.new_case(2, now=FILED)
    outsiders = [api_as(people.officer("舒兰市", "housing")), api_as(people.supervisor("吉林市")),
                 api_as(people.officer("农安县", "housing"))]
    insiders = [api_as(people.supervisor("长春市")), api_as(people.user("吉林省", "supervision", "auditor"))]
    for api in outsiders:
        r = api.get(f"/cases/{case.id}/history")
        assert r.status_code == 404 and r.json["code"] == "not_found", api.user.username
    for api in insiders:
        assert _ids(api.get(f"/cases/{case.id}/history"))
    assert insiders[0].get(f"/cases/{10**30}/history").status_code == 404
    assert api_as(None).get(f"/cases/{case.id}/history").status_code == 401
