"""The cases resource: who sees which cases, finding them, filing one, the case page, editing its
particulars under If-Match, and changing its category."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select, update

from models import Case, CaseEvent, Task
from tests.conftest import at
from workflows import cases
from workflows.cases import NewCase

NOW = at("2026-03-02 09:00")


@pytest.fixture
def places(driver):
    """Two cases in 榆树市, one in 农安县 (both under 长春市) and one in 舒兰市 (under 吉林市)."""
    return {"榆树市": [driver.new_case(1, now=NOW), driver.new_case(2, now=NOW)],
            "农安县": [driver.new_case(3, county="农安县", now=NOW)],
            "舒兰市": [driver.new_case(1, county="舒兰市", now=NOW)]}


def _ids(response) -> list[int]:  # noqa: ANN001
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def _of(places, *counties: str) -> list[int]:  # noqa: ANN001
    return sorted(c.id for county in counties for c in places[county])


def _filing(people, **changes) -> dict:  # noqa: ANN001, ANN003
    body = {"code": "JL-220182-901", "project_name": "榆树市棉纺厂棚改项目", "region_code": people.region("榆树市").code,
            "lead_type": "government", "households_overdue": 80, "overdue_since": "2019-12-31", "category": 2,
            "responsible_leader": "王副市长", "notes": "开发企业资金链断裂"}
    return {**body, **changes}


def _case_count(session) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(func.count()).select_from(Case))


def _stored(session, case_id: int) -> Case:  # noqa: ANN001
    session.rollback()
    return session.get(Case, case_id, populate_existing=True)


def _events(session, case_id: int, kind: str) -> list[CaseEvent]:  # noqa: ANN001
    session.rollback()
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)))


# --- The list: scope ----------------------------------------------------------------------------------

def test_county_officer_sees_only_the_countys_cases(api_as, people, places):
    r = api_as(people.officer("榆树市", "housing")).get("/cases")
    assert _ids(r) == _of(places, "榆树市")
    assert r.json["total"] == 2 and r.json["page"] == 1 and r.json["per_page"] == 50
    row = r.json["items"][0]
    assert row["region"]["name"] == "榆树市" and row["category_label"] == "涉法涉诉" and row["status_label"] == "办理中"


def test_city_supervisor_sees_its_counties_but_not_another_citys(api_as, people, places):
    r = api_as(people.supervisor("长春市")).get("/cases")
    assert _ids(r) == _of(places, "榆树市", "农安县")
    assert places["舒兰市"][0].id not in _ids(r)


def test_province_sees_every_case(api_as, people, places):
    assert _ids(api_as(people.supervisor("吉林省")).get("/cases")) == _of(places, "榆树市", "农安县", "舒兰市")
    auditor = people.user("吉林省", "supervision", "auditor")
    assert api_as(auditor).get("/cases").json["total"] == 4


def test_the_list_needs_sign_in(api_as, places):
    r = api_as(None).get("/cases?per_page=0")
    assert r.status_code == 401 and r.json["code"] == "unauthenticated"


# --- The list: filters --------------------------------------------------------------------------------

def test_region_filter_covers_the_whole_subtree_within_jurisdiction(api_as, people, places):
    changchun, shulan = people.region("长春市").code, people.region("舒兰市").code
    province, city = api_as(people.supervisor("吉林省")), api_as(people.supervisor("长春市"))
    assert _ids(province.get(f"/cases?region={changchun}")) == _of(places, "榆树市", "农安县")
    assert _ids(province.get(f"/cases?region={shulan}")) == _of(places, "舒兰市")
    r = city.get(f"/cases?region={shulan}")
    assert _ids(r) == [] and r.json["total"] == 0  # outside the jurisdiction: simply nothing
    r = city.get("/cases?region=999999")
    assert r.status_code == 422 and list(r.json["errors"]) == ["region"], r.json
    r = city.get("/cases?region=22%00")
    assert r.status_code == 422 and "region" in r.json["errors"], r.json


def test_category_and_status_filters(api_as, people, places):
    api = api_as(people.supervisor("长春市"))
    assert _ids(api.get("/cases?category=1")) == [places["榆树市"][0].id]
    assert _ids(api.get("/cases?status=open")) == _of(places, "榆树市", "农安县")
    assert _ids(api.get("/cases?status=closed")) == []
    for bad in ("category=0", "category=10", "category=x", f"category={10**30}", "status=done"):
        r = api.get(f"/cases?{bad}")
        assert r.status_code == 422 and list(r.json["errors"]) == [bad.split("=")[0]], (bad, r.json)


def test_overdue_filter_finds_cases_with_an_open_task_past_its_deadline(api_as, people, places, driver):
    late, on_time = places["榆树市"]
    for case, due in ((late, at("2026-03-01 00:00")), (on_time, at("2099-01-01 00:00"))):
        driver.session.execute(update(Task).where(Task.case_id == case.id).values(due_at=due))
    driver.session.commit()
    api = api_as(people.officer("榆树市", "housing"))
    assert _ids(api.get("/cases?overdue=true")) == [late.id]
    assert _ids(api.get("/cases?overdue=false")) == [on_time.id]
    assert api.get("/cases?overdue=maybe").status_code == 422


def test_text_search_takes_percent_and_underscore_literally(api_as, people, driver):
    filer = people.officer("榆树市", "housing")
    made = {}
    for code, name in (("JL-A_B", "百分之100%安置项目"), ("JL-A1B", "第一小区"), ("JL-XYZ", "棉纺厂_二期")):
        made[code] = cases.create_case(driver.session, filer, NewCase(
            code=code, project_name=name, region_code=people.region("榆树市").code, lead_type="government",
            households_overdue=5, overdue_since=date(2020, 1, 1), category=2, responsible_leader="王"), now=NOW).id
    api = api_as(filer)
    assert _ids(api.get("/cases", query_string={"q": "%"})) == [made["JL-A_B"]]
    assert _ids(api.get("/cases", query_string={"q": "_"})) == [made["JL-A_B"], made["JL-XYZ"]]
    assert _ids(api.get("/cases", query_string={"q": "a_b"})) == [made["JL-A_B"]]  # not JL-A1B
    assert _ids(api.get("/cases", query_string={"q": "小区"})) == [made["JL-A1B"]]
    assert _ids(api.get("/cases", query_string={"q": "JL-"})) == sorted(made.values())


def test_hostile_search_text_is_refused_naming_the_field(api_as, people, places):
    api = api_as(people.officer("榆树市", "housing"))
    for query in ("q=" + "x" * 101, "q=a%00b"):
        r = api.get(f"/cases?{query}")
        assert r.status_code == 422 and list(r.json["errors"]) == ["q"], r.json
    # A lone surrogate cannot travel in a URL: its UTF-8 bytes arrive as replacement characters.
    r = api.get("/cases?q=%ED%A0%80")
    assert r.status_code == 200 and r.json["items"] == []


def test_paging(api_as, people, places):
    api = api_as(people.supervisor("吉林省"))
    r = api.get("/cases?per_page=3&page=2")
    assert _ids(r) == _of(places, "榆树市", "农安县", "舒兰市")[3:]
    assert r.json["total"] == 4 and r.json["page"] == 2 and r.json["per_page"] == 3
    assert _ids(api.get("/cases?per_page=3&page=9")) == []
    for bad in ("per_page=0", "per_page=1001", f"page={10**30}", "page=0", f"per_page={'9' * 5000}"):
        r = api.get(f"/cases?{bad}")
        assert r.status_code == 422, (bad, r.status_code)


# --- One case -----------------------------------------------------------------------------------------

def test_case_page_shows_the_case_its_open_tasks_households_and_processes(api_as, people, places):
    case = places["榆树市"][0]
    r = api_as(people.officer("榆树市", "housing")).get(f"/cases/{case.id}")
    assert r.status_code == 200, r.json
    body = r.json
    assert r.headers["ETag"] == f'"{case.version}"' and body["version"] == case.version
    assert body["code"] == case.code and body["region"]["code"] == people.region("榆树市").code
    assert body["category"] == 1 and body["category_label"] == "涉法涉诉" and body["status"] == "open"
    assert body["lead_type"] == "government" and body["lead_type_label"] == "政府主导"
    assert body["overdue_since"] == "2019-12-31" and body["responsible_leader"] == "王副县长"
    assert body["households"] == {"overdue": 12, "resettled": 0, "remaining": 12, "resettled_percent": 0.0}
    [task] = body["open_tasks"]
    assert task["name"] == "立案核实" and task["agency"]["name"] == "榆树市住房和城乡建设局"
    assert task["assignee"] is None and task["overdue"] is False
    assert [(p["process_id"], p["status"]) for p in body["processes"]] == [("case_lifecycle", "running")]


def test_another_countys_case_does_not_exist_for_an_officer(api_as, people, places):
    city = api_as(people.supervisor("长春市"))
    api = api_as(people.officer("榆树市", "housing"))
    for case_id in (places["舒兰市"][0].id, places["农安县"][0].id, 10**30, 999999):
        r = api.get(f"/cases/{case_id}")
        assert r.status_code == 404 and r.json["code"] == "not_found", (case_id, r.json)
    assert city.get(f"/cases/{places['舒兰市'][0].id}").status_code == 404


# --- Filing -------------------------------------------------------------------------------------------

def test_officer_files_a_case(api_as, people, session):
    api = api_as(people.officer("榆树市", "housing"))
    r = api.post("/cases", json=_filing(people))
    assert r.status_code == 201, r.json
    case_id = r.json["id"]
    assert r.headers["Location"].endswith(f"/api/v1/cases/{case_id}")
    assert r.headers["ETag"] == f'"{r.json["version"]}"'
    assert r.json["project_name"] == "榆树市棉纺厂棚改项目" and r.json["category"] == 2
    assert r.json["target_date"] is None and r.json["notes"] == "开发企业资金链断裂"
    [created] = _events(session, case_id, "case_created")
    assert created.actor_id == api.user.id and created.channel == "api" and created.token_id is not None
    assert api.get(r.headers["Location"]).status_code == 200


def test_filing_with_bad_fields_names_each_and_writes_nothing(api_as, people, session):
    api = api_as(people.officer("榆树市", "housing"))
    before = _case_count(session)
    r = api.post("/cases", json=_filing(people, project_name="  ", region_code="000000", lead_type="x",
                                        households_overdue=0, category=10, overdue_since="2300-01-01"))
    assert r.status_code == 422, r.json
    assert set(r.json["errors"]) == {"project_name", "region_code", "lead_type", "households_overdue",
                                     "category", "overdue_since"}
    r = api.post("/cases", json=_filing(people, category="二", overdue_since="昨天", households_overdue=1.5))
    assert r.status_code == 422 and set(r.json["errors"]) == {"category", "overdue_since", "households_overdue"}
    r = api.post("/cases", json={"code": "X"})
    assert r.status_code == 422 and "project_name" in r.json["errors"] and "region_code" in r.json["errors"]
    r = api.post("/cases", json=_filing(people, surprise=1))
    assert r.status_code == 422 and "surprise" in r.json["errors"]
    assert _case_count(session) == before


def test_hostile_text_is_refused_when_filing(api_as, people, session):
    api = api_as(people.officer("榆树市", "housing"))
    before = _case_count(session)
    r = api.post("/cases", json=_filing(people, project_name="项目\x00名"))
    assert r.status_code == 422 and list(r.json["errors"]) == ["project_name"], r.json
    raw = json.dumps(_filing(people), ensure_ascii=False).replace("榆树市棉纺厂棚改项目", "\\ud800项目")
    r = api.post("/cases", data=raw, content_type="application/json")
    assert r.status_code == 422 and list(r.json["errors"]) == ["project_name"], r.json
    r = api.post("/cases", json=_filing(people, project_name="长" * 201))
    assert r.status_code == 422 and list(r.json["errors"]) == ["project_name"], r.json
    r = api.post("/cases", json=_filing(people, project_name="x" * (10 << 20)))
    assert r.status_code == 413, r.status_code
    r = api.post("/cases", data='{"households_overdue": NaN}', content_type="application/json")
    assert r.status_code == 400
    assert _case_count(session) == before


def test_only_the_places_housing_officers_or_supervisors_file_cases(api_as, people, session):
    body = _filing(people)
    finance, stranger, city = (api_as(people.officer("榆树市", "finance")), api_as(people.officer("农安县", "housing")),
                               api_as(people.supervisor("长春市")))
    before = _case_count(session)
    assert finance.post("/cases", json=body).status_code == 403
    assert stranger.post("/cases", json=body).status_code == 403
    assert _case_count(session) == before
    assert city.post("/cases", json=body).status_code == 201


# --- Editing the particulars --------------------------------------------------------------------------

def test_edit_with_a_stale_version_is_refused_and_changes_nothing(api_as, people, places, session):
    case = places["榆树市"][0]
    api = api_as(people.officer("榆树市", "housing"))
    etag = api.get(f"/cases/{case.id}").headers["ETag"]
    r = api.patch(f"/cases/{case.id}", json={"project_name": "新名称"}, headers={"If-Match": '"999"'})
    assert r.status_code == 412 and r.json["code"] == "stale" and r.json["current_version"] == case.version
    for garbage in ('"abc"', '"' + "9" * 40 + '"'):
        assert api.patch(f"/cases/{case.id}", json={"project_name": "新名称"},
                         headers={"If-Match": garbage}).status_code == 412
    assert _stored(session, case.id).project_name == case.project_name
    assert _events(session, case.id, "case_updated") == []
    assert api.get(f"/cases/{case.id}").headers["ETag"] == etag


def test_edit_with_the_current_version_changes_the_case_and_says_so(api_as, people, places, session):
    case = places["榆树市"][0]
    old_name, old_version = case.project_name, case.version
    api = api_as(people.officer("榆树市", "housing"))
    etag = api.get(f"/cases/{case.id}").headers["ETag"]
    r = api.patch(f"/cases/{case.id}", headers={"If-Match": etag},
                  json={"project_name": "  榆树市纺织厂棚改项目 ", "target_date": "2026-12-31", "notes": None,
                        "responsible_leader": "王副县长"})
    assert r.status_code == 200, r.json
    assert r.headers["ETag"] != etag and r.headers["ETag"] == f'"{r.json["version"]}"'
    assert r.json["project_name"] == "榆树市纺织厂棚改项目" and r.json["target_date"] == "2026-12-31"
    stored = _stored(session, case.id)
    assert stored.project_name == "榆树市纺织厂棚改项目" and stored.target_date == date(2026, 12, 31)
    assert stored.version == old_version + 1
    [event] = _events(session, case.id, "case_updated")
    # Only what changed: responsible_leader and notes were already so.
    assert event.data == {"project_name": {"from": old_name, "to": "榆树市纺织厂棚改项目"},
                          "target_date": {"from": None, "to": "2026-12-31"}}
    assert event.actor_id == api.user.id and "项目名称" in event.summary
    # The old ETag is stale now.
    assert api.patch(f"/cases/{case.id}", json={"notes": "x"}, headers={"If-Match": etag}).status_code == 412


def test_edit_refuses_fields_that_are_not_editable_or_bad(api_as, people, places, session):
    case = places["榆树市"][0]
    version = case.version
    api = api_as(people.officer("榆树市", "housing"))
    for body, field in (({"category": 9}, "category"), ({"households_resettled": 3}, "households_resettled"),
                        ({"project_name": ""}, "project_name"), ({"project_name": None}, "project_name"),
                        ({"responsible_leader": "王\x00"}, "responsible_leader"),
                        ({"target_date": "2200-01-01"}, "target_date"), ({"notes": "x" * 5001}, "notes"),
                        ({"developer_name": "x" * 201}, "developer_name")):
        r = api.patch(f"/cases/{case.id}", json=body)
        assert r.status_code == 422 and list(r.json["errors"]) == [field], (body, r.json)
    # A field name is the client's text too: a lone surrogate in it is named back safely, not a 500.
    for path in (f"/cases/{case.id}", "/cases", f"/cases/{case.id}/reclassify"):
        r = api.open("PATCH" if path == f"/cases/{case.id}" else "POST", path, data='{"\\ud800": 1}',
                     content_type="application/json")
        assert r.status_code == 422 and "\\ud800" in r.json["errors"], (path, r.json)
    assert _stored(session, case.id).version == version
    assert _events(session, case.id, "case_updated") == []


def test_a_developer_led_case_keeps_its_developer(api_as, people, driver):
    case = driver.new_case(8, lead_type="developer", now=NOW)
    api = api_as(people.officer("榆树市", "housing"))
    r = api.patch(f"/cases/{case.id}", json={"developer_name": None})
    assert r.status_code == 422 and list(r.json["errors"]) == ["developer_name"], r.json
    r = api.patch(f"/cases/{case.id}", json={"developer_name": "接盘房地产开发有限公司"})
    assert r.status_code == 200 and r.json["developer_name"] == "接盘房地产开发有限公司"


def test_an_edit_that_changes_nothing_writes_nothing(api_as, people, places, session):
    case = places["榆树市"][0]
    version = case.version
    api = api_as(people.officer("榆树市", "housing"))
    for body in ({}, {"project_name": case.project_name}):
        r = api.patch(f"/cases/{case.id}", json=body, headers={"If-Match": f'"{version}"'})
        assert r.status_code == 200 and r.headers["ETag"] == f'"{version}"', r.json
    assert _events(session, case.id, "case_updated") == []


def test_who_may_edit_a_case(api_as, people, places, session):
    case_id = places["榆树市"][0].id
    body = {"notes": "已约谈开发企业"}
    refused = [api_as(people.user("吉林省", "supervision", "auditor")), api_as(people.user("吉林省", "supervision", "admin")),
               api_as(people.officer("榆树市", "finance"))]
    strangers = [api_as(people.officer("舒兰市", "housing")), api_as(people.supervisor("吉林市"))]
    own, city = api_as(people.officer("榆树市", "housing")), api_as(people.supervisor("长春市"))
    for api in refused:
        r = api.patch(f"/cases/{case_id}", json=body)
        assert r.status_code == 403 and r.json["code"] == "forbidden", (api.user.username, r.json)
    for api in strangers:
        assert api.patch(f"/cases/{case_id}", json=body).status_code == 404
    assert own.patch(f"/cases/{10**30}", json=body).status_code == 404
    assert _events(session, case_id, "case_updated") == []
    assert city.patch(f"/cases/{case_id}", json=body).status_code == 200


# --- Changing the category ----------------------------------------------------------------------------

@pytest.fixture
def classified(driver):
    case = driver.new_case(1, now=NOW)
    driver.intake_and_classify(case)
    return case


def test_county_officer_cannot_reclassify(api_as, people, classified, session):
    r = api_as(people.officer("榆树市", "housing")).post(f"/cases/{classified.id}/reclassify",
                                                         json={"category": 9, "reason": "府院联动无果"})
    assert r.status_code == 403, r.json
    assert _stored(session, classified.id).category == 1


def test_city_supervisor_reclassifies_with_the_current_version(api_as, people, classified, session):
    api, stranger = api_as(people.supervisor("长春市")), api_as(people.supervisor("吉林市"))
    etag = api.get(f"/cases/{classified.id}").headers["ETag"]
    body = {"category": 9, "reason": "法院明确年内无法判决，府院联动无果"}
    r = api.post(f"/cases/{classified.id}/reclassify", json=body, headers={"If-Match": '"999"'})
    assert r.status_code == 412 and _stored(session, classified.id).category == 1
    r = api.post(f"/cases/{classified.id}/reclassify", json={"category": 10, "reason": ""})
    assert r.status_code == 422 and "category" in r.json["errors"]
    r = api.post(f"/cases/{classified.id}/reclassify", json=body, headers={"If-Match": etag})
    assert r.status_code == 200, r.json
    assert r.json["case"]["category"] == 9 and r.json["attempt"]["category"] == 1
    assert r.json["opened"] and r.json["cancelled"]
    assert r.headers["ETag"] == f'"{_stored(session, classified.id).version}"' != etag
    assert len(_events(session, classified.id, "case_reclassified")) == 1
    assert stranger.post(f"/cases/{classified.id}/reclassify", json=body).status_code == 404
