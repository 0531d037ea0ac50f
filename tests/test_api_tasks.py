"""The tasks resource: each person's lists, one task and its form, claiming, completing, and what a
client hears when someone else got there first."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import ApiToken, Task, User
from tests.conftest import at
from workflows import auth

INTAKE = {"households_confirmed": 12, "responsible_leader": "王副市长", "intake_facts": "开发企业资金链断裂"}
NOW = at("2026-03-02 09:00")


@pytest.fixture
def places(driver):
    """An intake task in each of 榆树市, 农安县 (both under 长春市) and 舒兰市 (under 吉林市)."""
    found = {}
    for county in ("榆树市", "农安县", "舒兰市"):
        case = driver.new_case(1, county=county, now=NOW)
        found[county] = (case, driver.task(case, "intake_verify"))
    return found


@pytest.fixture
def yushu(places):
    return places["榆树市"]


def _ids(response) -> list[int]:  # noqa: ANN001
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def _stored(driver, task_id: int) -> Task:  # noqa: ANN001
    driver.session.rollback()
    return driver.session.get(Task, task_id, populate_existing=True)


def _token_id(session, api) -> int:  # noqa: ANN001
    return session.scalar(select(ApiToken.id).where(ApiToken.token_hash == auth.hash_token(api.token)))


def _events(driver, case, kind: str) -> list:  # noqa: ANN001
    driver.session.rollback()  # end the read snapshot: the API has written since
    return driver.events(case, kind)


def _set_due(driver, task: Task, due) -> None:  # noqa: ANN001
    driver.session.rollback()
    driver.session.execute(update(Task).where(Task.id == task.id).values(due_at=due))
    driver.session.commit()


# --- Lists: who sees what ---------------------------------------------------------------------------

def test_officer_sees_own_agency_tasks_and_not_another_countys(api_as, people, places):
    case, task = places["榆树市"]
    r = api_as(people.officer("榆树市", "housing")).get("/tasks")
    assert _ids(r) == [task.id]
    assert r.json["total"] == 1 and r.json["page"] == 1
    [row] = r.json["items"]
    assert row["case"] == {"id": case.id, "code": case.code, "project_name": case.project_name, "category": 1,
                           "category_label": "涉法涉诉"}
    assert row["agency"] == {"id": task.agency_id, "name": "榆树市住房和城乡建设局"}
    assert row["status"] == "ready" and row["status_label"] == "待办"
    assert row["assignee"] is None and row["claimed"] is False and row["overdue"] is False
    assert row["lane"] == "housing" and row["version"] == task.version and row["name"] == "立案核实"
    assert _ids(api_as(people.officer("农安县", "housing")).get("/tasks")) == [places["农安县"][1].id]


def test_city_supervisor_sees_both_counties_and_not_another_citys(api_as, people, places):
    expected = sorted([places["榆树市"][1].id, places["农安县"][1].id])
    assert sorted(_ids(api_as(people.supervisor("长春市")).get("/tasks"))) == expected
    assert _ids(api_as(people.supervisor("吉林市")).get("/tasks")) == [places["舒兰市"][1].id]


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_work_no_tasks_so_their_lists_are_empty(api_as, people, places, role):
    api = api_as(people.user("吉林省", "supervision", role))
    for view in ("inbox", "mine", "unclaimed", "completed"):
        r = api.get(f"/tasks?view={view}")
        assert r.status_code == 200, r.json
        assert r.json["items"] == [] and r.json["total"] == 0


def test_lists_need_sign_in(api_as, places):
    assert api_as(None).get("/tasks").status_code == 401


def test_claiming_moves_a_task_between_views(api_as, people, driver, places):
    _, task = places["榆树市"]
    me = api_as(people.officer("榆树市", "housing"))
    assert _ids(me.get("/tasks?view=unclaimed")) == [task.id]
    assert _ids(me.get("/tasks?view=mine")) == []
    r = me.post(f"/tasks/{task.id}/claim")
    assert r.status_code == 200, r.json
    assert r.json["claimed"] is True and r.json["assignee"]["id"] == me.user.id
    assert _ids(me.get("/tasks?view=mine")) == [task.id]
    assert _ids(me.get("/tasks?view=unclaimed")) == []
    assert _ids(me.get("/tasks")) == [task.id]
    # A colleague no longer has it to do; the supervisor, who may still act on it, keeps seeing it.
    driver.session.rollback()  # end the read snapshot: the API has written since
    colleague = User(username="yushu-housing-2", display_name="同事", role="officer", agency_id=me.user.agency_id,
                     password_hash="x", active=True)
    driver.session.add(colleague)
    driver.session.commit()
    assert _ids(api_as(colleague).get("/tasks")) == []
    assert task.id in _ids(api_as(people.supervisor("长春市")).get("/tasks"))


def test_completed_view_lists_what_i_completed_newest_first(api_as, people, driver, places):
    me = api_as(people.officer("榆树市", "housing"))
    first = places["榆树市"][1]
    second_case = driver.new_case(2, county="榆树市", now=NOW)
    second = driver.task(second_case, "intake_verify")
    assert me.post(f"/tasks/{first.id}/complete", json={"data": INTAKE}).status_code == 200
    driver.travel_to(NOW + timedelta(hours=1))
    assert me.post(f"/tasks/{second.id}/complete", json={"data": INTAKE}).status_code == 200
    r = me.get("/tasks?view=completed")
    assert _ids(r) == [second.id, first.id]
    assert r.json["items"][0]["status_label"] == "已办" and r.json["items"][0]["completed_at"]
    assert _ids(api_as(people.officer("农安县", "housing")).get("/tasks?view=completed")) == []


def test_due_filters_and_deadline_order(api_as, people, driver, places):
    case, task = places["榆树市"]
    soon_case = driver.new_case(2, county="榆树市", now=NOW)
    soon = driver.task(soon_case, "intake_verify")
    later_case = driver.new_case(3, county="榆树市", now=NOW)
    later = driver.task(later_case, "intake_verify")
    _set_due(driver, task, NOW - timedelta(days=1))
    _set_due(driver, soon, NOW + timedelta(days=2))
    _set_due(driver, later, NOW + timedelta(days=10))
    api = api_as(people.officer("榆树市", "housing"))
    assert _ids(api.get("/tasks")) == [task.id, soon.id, later.id]
    assert _ids(api.get("/tasks?due=overdue")) == [task.id]
    assert api.get("/tasks?due=overdue").json["items"][0]["overdue"] is True
    assert _ids(api.get("/tasks?due=soon")) == [soon.id]
    assert _ids(api.get("/tasks?due=soon&within_days=30")) == [soon.id, later.id]
    assert _ids(api.get("/tasks?category=2")) == [soon.id]
    assert _ids(api.get(f"/tasks?case_id={later_case.id}")) == [later.id]
    assert _ids(api.get(f"/tasks?case_id={places['农安县'][0].id}")) == []  # another county's case


def test_paging_counts_the_whole_list(api_as, people, driver, places):
    for category in (2, 3):
        driver.new_case(category, county="榆树市", now=NOW)
    api = api_as(people.officer("榆树市", "housing"))
    r = api.get("/tasks?per_page=2&page=2")
    assert r.status_code == 200, r.json
    assert len(r.json["items"]) == 1 and r.json["total"] == 3 and r.json["per_page"] == 2 and r.json["page"] == 2
    assert api.get("/tasks?page=1000000&per_page=1000").json["items"] == []


@pytest.mark.parametrize("query, field", [
    ("view=everything", "view"), ("due=tomorrow", "due"), ("within_days=0", "within_days"),
    ("within_days=91", "within_days"), ("category=10", "category"), ("per_page=0", "per_page"),
    ("case_id=" + "9" * 5000, "case_id"), ("case_id=abc", "case_id"),
])
def test_bad_list_arguments_are_refused_naming_them(api_as, people, places, query, field):
    r = api_as(people.officer("榆树市", "housing")).get(f"/tasks?{query}")
    assert r.status_code == 422, r.json
    assert field in r.json["errors"]


@pytest.mark.parametrize("case_id", [10**30, 2**40])
def test_an_impossible_case_id_lists_nothing(api_as, people, places, case_id):
    r = api_as(people.officer("榆树市", "housing")).get(f"/tasks?case_id={case_id}")
    assert r.status_code == 200, r.json
    assert r.json["items"] == [] and r.json["total"] == 0


# --- One task and its form --------------------------------------------------------------------------

def test_task_detail_carries_its_version_as_etag(api_as, people, yushu):
    case, task = yushu
    r = api_as(people.officer("榆树市", "housing")).get(f"/tasks/{task.id}")
    assert r.status_code == 200, r.json
    assert r.headers["ETag"] == f'"{task.version}"'
    assert r.json["id"] == task.id and r.json["case"]["code"] == case.code


def test_a_task_outside_scope_or_that_cannot_exist_is_not_found(api_as, people, yushu):
    _, task = yushu
    stranger = api_as(people.officer("农安县", "housing"))
    impossible = (10**30, 2**40)  # beyond any id; beyond PostgreSQL's 32-bit ids
    for path in (f"/tasks/{task.id}", f"/tasks/{task.id}/form", *(f"/tasks/{n}" for n in impossible),
                 *(f"/tasks/{n}/form" for n in impossible)):
        r = stranger.get(path)
        assert r.status_code == 404, (path, r.json)
        assert r.json["code"] == "not_found"
    for action in ("claim", "unclaim", "complete"):
        assert stranger.post(f"/tasks/{task.id}/{action}", json={"data": INTAKE}).status_code == 404
        for n in impossible:
            assert stranger.post(f"/tasks/{n}/{action}", json={}).status_code == 404


def test_a_5000_digit_task_id_is_not_a_server_error(api_as, people, yushu):
    r = api_as(people.officer("榆树市", "housing")).get("/tasks/" + "9" * 5000)
    assert r.status_code == 404


def test_auditor_and_colleague_agency_may_read_a_task(api_as, people, yushu):
    _, task = yushu
    for user in (people.user("吉林省", "supervision", "auditor"), people.officer("榆树市", "finance")):
        assert api_as(user).get(f"/tasks/{task.id}").status_code == 200


def test_form_lists_the_fields_the_process_declares(api_as, people, yushu):
    _, task = yushu
    r = api_as(people.officer("榆树市", "housing")).get(f"/tasks/{task.id}/form")
    assert r.status_code == 200, r.json
    assert r.headers["ETag"] == f'"{task.version}"'
    assert r.json["task_id"] == task.id and r.json["name"] == "立案核实" and r.json["documentation"]
    by_key = {f["key"]: f for f in r.json["fields"]}
    assert list(by_key) == ["households_confirmed", "responsible_leader", "intake_facts"]
    count = by_key["households_confirmed"]
    assert count["type"] == "integer" and count["type_label"] == "整数" and count["required"] is True
    assert count["minimum"] == 1 and count["maximum"] == 100000 and count["case_field"] == "households_overdue"
    assert count["max_length"] is None and count["help"]
    assert by_key["responsible_leader"]["max_length"] == 100  # the case column's width, not text's 200
    assert by_key["intake_facts"]["type"] == "textarea" and by_key["intake_facts"]["max_length"] == 5000


def test_enum_form_field_lists_its_options(api_as, people, driver, yushu):
    case, _ = yushu
    driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    r = api_as(driver.officer_for(classify)).get(f"/tasks/{classify.id}/form")
    [category] = [f for f in r.json["fields"] if f["key"] == "category"]
    assert category["type"] == "enum" and len(category["options"]) == 9
    assert category["options"][0] == {"value": "1", "label": "一、涉法涉诉"}


# --- Claiming ---------------------------------------------------------------------------------------

def test_claim_and_unclaim_with_if_match(api_as, people, driver, yushu):
    case, task = yushu
    api = api_as(people.officer("榆树市", "housing"))
    read_tag = f'"{task.version}"'
    r = api.post(f"/tasks/{task.id}/claim", headers={"If-Match": read_tag})
    assert r.status_code == 200, r.json
    claimed_tag = r.headers["ETag"]
    assert claimed_tag == f'"{r.json["version"]}"' and claimed_tag != read_tag
    assert [e.actor_id for e in _events(driver, case, "task_claimed")] == [api.user.id]
    r = api.post(f"/tasks/{task.id}/unclaim", headers={"If-Match": read_tag})  # the copy read before
    assert r.status_code == 412, r.json
    assert r.json["code"] == "stale" and r.json["current_version"] == int(claimed_tag.strip('"'))
    assert _stored(driver, task.id).assignee_id == api.user.id
    r = api.post(f"/tasks/{task.id}/unclaim", headers={"If-Match": claimed_tag})
    assert r.status_code == 200, r.json
    assert r.json["assignee"] is None and r.json["claimed"] is False
    assert len(_events(driver, case, "task_unclaimed")) == 1
    assert api.post(f"/tasks/{task.id}/unclaim").status_code == 409  # nobody holds it now


def test_a_stale_or_unreadable_if_match_changes_nothing(api_as, people, driver, yushu):
    case, task = yushu
    api = api_as(people.officer("榆树市", "housing"))
    for tag in (f'"{task.version + 7}"', '"abc"', '"' + "9" * 5000 + '"'):
        r = api.post(f"/tasks/{task.id}/claim", headers={"If-Match": tag})
        assert r.status_code == 412, r.json
    assert _events(driver, case, "task_claimed") == []
    assert _stored(driver, task.id).assignee_id is None


def test_officer_of_another_agency_in_the_county_may_read_but_not_act(api_as, people, driver, yushu):
    case, task = yushu
    finance = api_as(people.officer("榆树市", "finance"))
    for action in ("claim", "complete"):
        r = finance.post(f"/tasks/{task.id}/{action}", json={"data": INTAKE})
        assert r.status_code == 403, r.json
        assert r.json["code"] == "forbidden"
    assert _stored(driver, task.id).status == "ready"
    assert _events(driver, case, "task_completed") == [] and _events(driver, case, "task_claimed") == []


# --- Completing -------------------------------------------------------------------------------------

def test_completing_moves_the_case_on_and_says_where_the_next_task_went(api_as, people, driver, session, yushu):
    case, task = yushu
    api = api_as(people.officer("榆树市", "housing"))
    r = api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE}, headers={"If-Match": f'"{task.version}"'})
    assert r.status_code == 200, r.json
    body = r.json
    assert body["task"]["id"] == task.id and body["task"]["status"] == "completed"
    assert body["task"]["completed_at"] and r.headers["ETag"] == f'"{body["task"]["version"]}"'
    [opened] = body["opened"]
    classify = driver.task(case, "classify")
    assert opened["task_id"] == classify.id and opened["name"] == "分类认定" and opened["bpmn_id"] == "classify"
    assert opened["agency_id"] == classify.agency_id and opened["agency"] == driver.agency(case, "classify")
    assert body["cancelled"] == []
    assert task.id not in _ids(api.get("/tasks"))
    [event] = _events(driver, case, "task_completed")
    assert event.channel == "api" and event.token_id == _token_id(session, api)
    assert event.actor_id == api.user.id and event.task_id == task.id
    assert event.data["data"]["households_confirmed"] == 12


def test_completing_again_is_a_conflict(api_as, people, driver, yushu):
    case, task = yushu
    read_tag = f'"{task.version}"'
    api = api_as(people.officer("榆树市", "housing"))
    assert api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE}).status_code == 200
    r = api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE})
    assert r.status_code == 409 and r.json["code"] == "conflict"
    r = api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE}, headers={"If-Match": read_tag})
    assert r.status_code == 412 and r.json["current_version"] == _stored(driver, task.id).version
    assert len(_events(driver, case, "task_completed")) == 1


BAD_FORMS = [
    ("missing required", {k: v for k, v in INTAKE.items() if k != "intake_facts"}, "intake_facts"),
    ("null for required", {**INTAKE, "responsible_leader": None}, "responsible_leader"),
    ("wrong type", {**INTAKE, "households_confirmed": "十二"}, "households_confirmed"),
    ("fraction for integer", {**INTAKE, "households_confirmed": 12.5}, "households_confirmed"),
    ("out of range", {**INTAKE, "households_confirmed": 0}, "households_confirmed"),
    ("above maximum", {**INTAKE, "households_confirmed": 100001}, "households_confirmed"),
    ("huge number", {**INTAKE, "households_confirmed": str(10**30)}, "households_confirmed"),
    ("NaN text", {**INTAKE, "households_confirmed": "NaN"}, "households_confirmed"),
    ("Infinity text", {**INTAKE, "households_confirmed": "Infinity"}, "households_confirmed"),
    ("string over its limit", {**INTAKE, "responsible_leader": "王" * 101}, "responsible_leader"),
    ("10 MB-ish text", {**INTAKE, "intake_facts": "说" * 200_000}, "intake_facts"),
    ("NUL in text", {**INTAKE, "responsible_leader": "王\x00"}, "responsible_leader"),
    ("nested value", {**INTAKE, "intake_facts": {"a": [1]}}, "intake_facts"),
    ("unknown field", {**INTAKE, "bogus": 1}, "bogus"),
]


@pytest.mark.parametrize("label, data, field", BAD_FORMS, ids=[b[0] for b in BAD_FORMS])
def test_bad_form_data_is_refused_naming_the_field_and_nothing_is_written(api_as, people, driver, yushu,
                                                                         label, data, field):
    case, task = yushu
    version = task.version
    r = api_as(people.officer("榆树市", "housing")).post(f"/tasks/{task.id}/complete", json={"data": data})
    assert r.status_code == 422, r.json
    assert r.json["code"] == "invalid" and field in r.json["errors"], r.json
    stored = _stored(driver, task.id)
    assert stored.status == "ready" and stored.version == version
    assert _events(driver, case, "task_completed") == [] and driver.open_ids(case) == ["intake_verify"]


def test_an_option_not_in_the_list_is_refused(api_as, people, driver, yushu):
    case, _ = yushu
    driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    r = api_as(driver.officer_for(classify)).post(
        f"/tasks/{classify.id}/complete", json={"data": {"category": "10", "classification_basis": "依据"}})
    assert r.status_code == 422 and "category" in r.json["errors"], r.json
    assert driver.open_ids(case) == ["classify"]


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e400", "9" * 5000])
def test_non_finite_json_numbers_are_refused_naming_the_field(api_as, people, driver, yushu, raw):
    case, task = yushu
    body = '{"data": {"households_confirmed": ' + raw + ', "responsible_leader": "王", "intake_facts": "说明"}}'
    r = api_as(people.officer("榆树市", "housing")).post(f"/tasks/{task.id}/complete", data=body,
                                                          content_type="application/json")
    # Refused while the body is parsed (the bounded JSON parser): never stored, the field named.
    assert r.status_code in (400, 422), r.json
    assert "households_confirmed" in r.json["errors"], r.json
    assert _stored(driver, task.id).status == "ready" and _events(driver, case, "task_completed") == []


@pytest.mark.parametrize("text, field", [("\\ud800", "intake_facts"), ("\\u0000", "intake_facts")])
def test_lone_surrogates_and_nul_in_json_are_refused(api_as, people, driver, yushu, text, field):
    case, task = yushu
    body = '{"data": {"households_confirmed": 12, "responsible_leader": "王", "intake_facts": "' + text + '"}}'
    r = api_as(people.officer("榆树市", "housing")).post(f"/tasks/{task.id}/complete", data=body,
                                                          content_type="application/json")
    assert r.status_code == 422, r.json
    assert field in r.json["errors"], r.json
    assert _stored(driver, task.id).status == "ready" and _events(driver, case, "task_completed") == []


@pytest.mark.parametrize("data", [[1, 2], 12, "text", None])
def test_form_data_must_be_an_object(api_as, people, driver, yushu, data):
    case, task = yushu
    r = api_as(people.officer("榆树市", "housing")).post(f"/tasks/{task.id}/complete", json={"data": data})
    assert r.status_code == 422, r.json
    assert "data" in r.json["errors"]
    assert _stored(driver, task.id).status == "ready"


def test_supervisor_completes_another_agencys_task_only_with_a_reason(api_as, people, driver, yushu):
    case, task = yushu
    api = api_as(people.supervisor("长春市"))
    r = api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE})
    assert r.status_code == 403 and "代办理由" in r.json["message"]
    r = api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE, "on_behalf_reason": " "})
    assert r.status_code == 422 and "on_behalf_reason" in r.json["errors"]
    r = api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE, "on_behalf_reason": "经办人长期病假"})
    assert r.status_code == 200, r.json
    assert r.json["task"]["on_behalf_reason"] == "经办人长期病假"
    [event] = _events(driver, case, "task_completed")
    assert event.data["on_behalf"] is True and event.channel == "api"


def test_two_clients_complete_the_same_task_with_the_same_if_match(app, api_as, people, driver, session, yushu):
    case, task = yushu
    officer = people.officer("榆树市", "housing")
    clients = [api_as(officer), api_as(officer)]  # two devices, each with its own client and token
    for api in clients:  # each device has read the task before (and so used its token)
        assert api.get(f"/tasks/{task.id}").status_code == 200
    tag = f'"{task.version}"'
    barrier = threading.Barrier(2)
    results: list[tuple[int, dict]] = []

    def submit(api) -> None:  # noqa: ANN001
        barrier.wait()
        r = api.post(f"/tasks/{task.id}/complete", json={"data": INTAKE}, headers={"If-Match": tag})
        results.append((r.status_code, r.json))

    threads = [threading.Thread(target=submit, args=(api,)) for api in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(status for status, _ in results)
    assert len(statuses) == 2 and statuses[0] == 200 and statuses[1] in (409, 412), results
    loser = next(body for status, body in results if status != 200)
    if loser["code"] == "stale":
        assert loser["current_version"] == _stored(driver, task.id).version
    [event] = _events(driver, case, "task_completed")
    assert event.token_id in {_token_id(session, api) for api in clients}
    # The case is still usable: its next step can be completed.
    classify = driver.task(case, "classify")
    r = api_as(driver.officer_for(classify)).post(
        f"/tasks/{classify.id}/complete", json={"data": {"category": "1", "classification_basis": "涉诉"}},
        headers={"If-Match": f'"{classify.version}"'})
    assert r.status_code == 200, r.json
    assert r.json["opened"]


def test_the_api_document_describes_the_task_endpoints(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    for path in ("/api/v1/tasks", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/form",
                 "/api/v1/tasks/{task_id}/claim", "/api/v1/tasks/{task_id}/unclaim",
                 "/api/v1/tasks/{task_id}/complete"):
        assert path in spec["paths"], path
    assert "412" in spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]


def test_an_opinion_sent_with_a_completion_is_kept_on_the_task_and_in_history(api_as, people, driver, session):
    from sqlalchemy import select

    from models import CaseEvent, Task
    case = driver.new_case(2)
    task = driver.open_tasks(case)[0]
    officer = people.officer("榆树市", "housing")
    api = api_as(officer)
    form = api.get(f"/tasks/{task.id}/form").json
    from tests.driver import auto_value
    data = {f["key"]: auto_value(next(x for x in driver_fields(session, task) if x.key == f["key"]))
            for f in form["fields"]}
    done = api.post(f"/tasks/{task.id}/complete", json={"data": data, "opinion": "材料齐全，同意。"})
    assert done.status_code == 200, done.json
    session.rollback()
    assert session.get(Task, task.id).opinion == "材料齐全，同意。"
    event = session.scalars(select(CaseEvent).where(CaseEvent.task_id == task.id,
                                                    CaseEvent.kind == "task_completed")).one()
    assert event.data["opinion"] == "材料齐全，同意。"


def driver_fields(session, task):  # noqa: ANN001, ANN201
    from workflows import tasks
    return tasks.task_fields(session, task)
