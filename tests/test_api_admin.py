"""Administration over the API: places, agencies, users and process versions (/api/v1)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from models import AccessEvent, Agency, ProcessInstance, ProcessVersion, Region, User
from tests.conftest import PASSWORD
from workflows import processes

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("officer", "supervisor", "auditor", "admin", "anonymous")


@pytest.fixture(autouse=True)
def _agencies_restored(engine):  # noqa: ANN001, ANN202
    """Agencies are reference data the PostgreSQL fixture keeps between tests (it truncates only the
    tables tests change): remove the ones a test here created."""
    with engine.connect() as conn:
        last = conn.scalar(select(func.max(Agency.id)))
    yield
    with engine.begin() as conn:
        conn.execute(delete(Agency).where(Agency.id > last))


@pytest.fixture
def staff(people):  # noqa: ANN001, ANN201
    """One user of each role, as the brief's people: a county officer, a city supervisor, the
    province's auditor and administrator."""
    return {"officer": people.officer("榆树市", "housing"), "supervisor": people.supervisor("长春市"),
            "auditor": people.user("吉林省", "supervision", "auditor"),
            "admin": people.user("吉林省", "supervision", "admin")}


@pytest.fixture
def clients(api_as, staff):  # noqa: ANN001, ANN201
    return {**{role: api_as(user) for role, user in staff.items()}, "anonymous": api_as(None)}


def events(session, kind: str | None = None) -> list[AccessEvent]:  # noqa: ANN001
    session.rollback()  # a fresh snapshot: the app wrote in its own sessions
    stmt = select(AccessEvent).order_by(AccessEvent.id)
    if kind:
        stmt = stmt.where(AccessEvent.kind == kind)
    return list(session.scalars(stmt))


def fresh(session, obj):  # noqa: ANN001, ANN201
    """`obj` as the database has it now (a new snapshot: the app wrote in its own sessions)."""
    session.rollback()
    session.refresh(obj)
    return obj


def user_count(session) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(func.count()).select_from(User))


def new_user_body(people, username: str = "zhang.san", **changes) -> dict:  # noqa: ANN001, ANN003
    return {"username": username, "display_name": "张三", "role": "officer",
            "agency_id": people.agency("农安县", "finance").id, **changes}


# --- who may do what ----------------------------------------------------------------------------------

def _table(people, staff):  # noqa: ANN001, ANN202
    """(method, path, body) per endpoint, and the status each role gets, anonymous last."""
    target = people.officer("德惠市", "housing")
    province_finance = people.agency("吉林省", "finance")
    everyone = (200, 200, 200, 200, 401)
    admin_only = (403, 403, 403, 200, 401)
    readers = (403, 200, 200, 200, 401)
    return [
        ("GET", "/regions", None, everyone),
        ("GET", f"/regions/{people.region('榆树市').code}", None, everyone),
        ("GET", "/agencies", None, everyone),
        ("GET", f"/agencies/{staff['officer'].agency_id}", None, everyone),
        ("POST", "/agencies", {"region": people.region("吉林省").code, "role": "tax", "name": "国家税务总局吉林省税务局"},
         (403, 403, 403, 201, 401)),
        ("PATCH", f"/agencies/{province_finance.id}", {"name": "吉林省财政厅"}, admin_only),
        ("GET", "/users", None, admin_only),
        ("GET", f"/users/{target.id}", None, admin_only),
        ("POST", "/users", new_user_body(people), (403, 403, 403, 201, 401)),
        ("PATCH", f"/users/{target.id}", {"display_name": "德惠市住建局王五"}, admin_only),
        ("POST", f"/users/{target.id}/reset-password", None, admin_only),
        ("POST", f"/users/{target.id}/deactivate", None, admin_only),
        ("GET", "/versions", None, readers),
        ("GET", "/versions/1", None, readers),
        ("POST", "/versions", None, admin_only),  # bpmn/ unchanged since the fixture deployed it: 200
        ("POST", "/versions/1/migrate", {}, admin_only),
    ]


ENDPOINTS = 16


@pytest.mark.parametrize("row", range(ENDPOINTS))
def test_each_role_gets_the_status_the_table_says(row, people, staff, clients, session):
    method, path, body, statuses = _table(people, staff)[row]
    before = [(e.id, e.kind) for e in events(session)]
    # The admin goes last: refusals first, so they can be checked to have changed nothing.
    order = ["officer", "supervisor", "auditor", "anonymous", "admin"]
    expected = dict(zip(ROLES, statuses, strict=True))
    for role in order:
        r = clients[role].open(method, path, json=body)
        assert r.status_code == expected[role], (role, method, path, r.json)
        if r.status_code >= 400:
            assert r.json["code"] in ("forbidden", "unauthenticated") and r.json["message"]
        if role != "admin" and method != "GET":
            # Only the access log of the admin's own sign-in token may differ: refusals change nothing.
            assert [(e.id, e.kind) for e in events(session)] == before
    assert len(_table(people, staff)) == ENDPOINTS


# --- users --------------------------------------------------------------------------------------------

def test_admin_creates_a_user_whose_one_time_password_signs_in_and_is_never_logged(
        app, clients, people, staff, session, caplog):
    caplog.set_level(logging.DEBUG)
    r = clients["admin"].post("/users", json=new_user_body(people))
    assert r.status_code == 201, r.json
    password = r.json["password"]
    assert len(password) >= 12
    created = r.json["user"]
    assert (created["username"], created["role"], created["active"]) == ("zhang.san", "officer", True)
    assert created["agency"]["name"] == "农安县财政局"

    c = app.test_client()
    signed_in = c.post("/api/v1/session", json={"username": "zhang.san", "password": password})
    assert signed_in.status_code == 200, signed_in.json
    assert c.get("/api/v1/me").json["id"] == created["id"]

    [event] = events(session, "user_created")
    assert (event.actor_id, event.subject_user_id) == (staff["admin"].id, created["id"])
    assert "zhang.san" in event.summary
    for e in events(session):
        assert password not in e.summary and password not in str(e.data)
    assert password not in caplog.text
    stored = session.get(User, created["id"])
    assert password not in stored.password_hash and stored.password_hash.startswith("scrypt$")


def test_a_user_can_be_found_by_name_place_and_role(clients, people, staff, session):
    admin = clients["admin"]
    elsewhere = people.officer("舒兰市", "housing")
    assert admin.post("/users", json=new_user_body(people, "li_si", display_name="李四")).status_code == 201
    r = admin.get("/users", query_string={"q": "李四"})
    assert r.status_code == 200, r.json
    assert [u["username"] for u in r.json["items"]] == ["li_si"] and r.json["total"] == 1
    # Wildcards are text, not patterns.
    assert admin.get("/users", query_string={"q": "%"}).json["total"] == 0
    # A city's users include its counties' (榆树市 is under 长春市); 舒兰市's are not.
    r = admin.get("/users", query_string={"region": people.region("长春市").code, "per_page": 1000})
    names = {u["username"] for u in r.json["items"]}
    assert {staff["officer"].username, staff["supervisor"].username} <= names
    assert elsewhere.username not in names
    r = admin.get("/users", query_string={"role": "supervisor"})
    assert [u["role"] for u in r.json["items"]] == ["supervisor"]
    r = admin.get("/users", query_string={"per_page": 2, "page": 2})
    assert (r.json["page"], r.json["per_page"], len(r.json["items"])) == (2, 2, 2)
    assert r.json["total"] >= 5
    assert admin.get("/users", query_string={"agency_id": str(10**30)}).json["total"] == 0
    assert admin.get("/users", query_string={"agency_id": str(2**31)}).json["total"] == 0
    assert admin.get("/users", query_string={"per_page": 0}).status_code == 422
    assert admin.get("/users", query_string={"role": "boss"}).status_code == 422


def test_reset_password_ends_the_users_browser_session_and_lifts_the_lock(app, clients, people, session):
    officer = people.officer("农安县", "housing")
    c = app.test_client()
    assert c.post("/api/v1/session", json={"username": officer.username, "password": PASSWORD}).status_code == 200
    assert c.get("/api/v1/me").status_code == 200
    officer.failed_sign_ins = 3
    session.commit()

    r = clients["admin"].post(f"/users/{officer.id}/reset-password")
    assert r.status_code == 200, r.json
    new_password = r.json["password"]
    assert c.get("/api/v1/me").status_code == 401
    fresh(session, officer)
    assert officer.failed_sign_ins == 0 and officer.locked_until is None
    other = app.test_client()
    assert other.post("/api/v1/session", json={"username": officer.username, "password": PASSWORD}).status_code == 401
    assert other.post("/api/v1/session",
                      json={"username": officer.username, "password": new_password}).status_code == 200
    [event] = events(session, "password_reset")
    assert event.subject_user_id == officer.id and new_password not in event.summary + str(event.data)


def test_deactivated_users_token_is_refused(api_as, clients, people, staff, session):
    officer = people.officer("九台区", "finance")
    api = api_as(officer)
    assert api.get("/me").status_code == 200
    r = clients["admin"].post(f"/users/{officer.id}/deactivate")
    assert r.status_code == 200 and r.json["active"] is False
    assert api.get("/me").status_code == 401
    assert [e.subject_user_id for e in events(session, "user_deactivated")] == [officer.id]
    # Deactivating again changes nothing and writes nothing.
    assert clients["admin"].post(f"/users/{officer.id}/deactivate").status_code == 200
    assert len(events(session, "user_deactivated")) == 1


def test_an_admin_cannot_deactivate_or_demote_themselves(clients, staff, session):
    admin = staff["admin"]
    r = clients["admin"].post(f"/users/{admin.id}/deactivate")
    assert r.status_code == 409 and "自己" in r.json["message"]
    r = clients["admin"].patch(f"/users/{admin.id}", json={"role": "officer"})
    assert r.status_code == 409
    fresh(session, admin)
    assert admin.active and admin.role == "admin"


def test_changing_a_users_role_or_agency_ends_their_sessions_but_renaming_does_not(clients, people, session):
    target = people.officer("德惠市", "housing")
    version = target.auth_version
    r = clients["admin"].patch(f"/users/{target.id}", json={"display_name": "王五"})
    assert r.status_code == 200 and r.json["display_name"] == "王五"
    fresh(session, target)
    assert target.auth_version == version
    r = clients["admin"].patch(f"/users/{target.id}", json={"agency_id": people.agency("德惠市", "finance").id})
    assert r.status_code == 200 and r.json["agency"]["role"] == "finance"
    fresh(session, target)
    assert target.auth_version == version + 1
    [_, moved] = events(session, "user_updated")
    assert moved.data["changes"]["agency_id"][1] == people.agency("德惠市", "finance").id


@pytest.mark.parametrize(("changes", "field"), [
    ({"username": "ab"}, "username"),
    ({"username": "张三"}, "username"),
    ({"username": "a b c"}, "username"),
    ({"username": "x" * 65}, "username"),
    ({"role": "boss"}, "role"),
    ({"agency_id": 2**63}, "agency_id"),
    ({"agency_id": 2**31}, "agency_id"),
    ({"agency_id": "1" + "0" * 30}, "agency_id"),
    ({"agency_id": 10**30}, "agency_id"),
    ({"agency_id": 999999}, "agency_id"),
    ({"display_name": "张\x00三"}, "display_name"),
    ({"display_name": "\ud800"}, "display_name"),
    ({"display_name": "  "}, "display_name"),
    ({"display_name": "长" * 100_000}, "display_name"),
    ({"role": "supervisor"}, "role"),  # a county finance bureau has no supervisors
    ({"role": "auditor"}, "role"),  # nor auditors: they sit at a city or the province
])
def test_invalid_new_user_is_refused_naming_the_field_and_nothing_is_written(changes, field, clients, people,
                                                                            session):
    before = user_count(session)
    # As JSON text: the test client cannot encode a lone surrogate itself, but a JSON escape can carry one.
    r = clients["admin"].post("/users", data=json.dumps(new_user_body(people, **changes)),
                              content_type="application/json")
    # A number of more than 20 digits is refused by the JSON parser itself (400), before any field
    # is looked at; everything else reaches the field checks (422).
    assert r.status_code == (400 if changes.get("agency_id") == 10**30 else 422), r.json
    assert field in r.json["errors"], r.json
    assert user_count(session) == before
    assert events(session, "user_created") == []


def test_supervisors_sit_in_a_city_or_province_supervision_office(clients, people):
    body = new_user_body(people, "cc.supervisor", role="supervisor",
                         agency_id=people.agency("长春市", "supervision").id)
    assert clients["admin"].post("/users", json=body).status_code == 201
    body = new_user_body(people, "ys.supervisor", role="supervisor",
                         agency_id=people.agency("榆树市", "supervision").id)
    r = clients["admin"].post("/users", json=body)
    assert r.status_code == 422 and "role" in r.json["errors"]


def test_a_username_is_taken_whatever_its_case(clients, people, session):
    assert clients["admin"].post("/users", json=new_user_body(people, "wang.wu")).status_code == 201
    before = user_count(session)
    for name in ("wang.wu", "Wang.Wu"):
        r = clients["admin"].post("/users", json=new_user_body(people, name))
        assert r.status_code == 409 and "已被使用" in r.json["message"], r.json
    assert user_count(session) == before


def test_a_city_admin_manages_only_the_citys_people(api_as, people):
    city_admin = api_as(people.user("长春市", "supervision", "admin"))
    elsewhere = people.officer("舒兰市", "housing")
    assert city_admin.get(f"/users/{elsewhere.id}").status_code == 404
    assert city_admin.post(f"/users/{elsewhere.id}/reset-password").status_code == 404
    r = city_admin.post("/users", json=new_user_body(people, agency_id=people.agency("舒兰市", "finance").id))
    assert r.status_code == 422 and "agency_id" in r.json["errors"]
    assert city_admin.get(f"/users/{people.officer('榆树市', 'housing').id}").status_code == 200
    # Ids no row can have: 32-bit id columns on PostgreSQL, 64-bit integers on SQLite.
    for path in (f"/users/{10**30}", "/users/0", f"/agencies/{10**30}", f"/users/{2**31}", f"/agencies/{2**31}"):
        assert city_admin.get(path).status_code == 404, path


# --- agencies -----------------------------------------------------------------------------------------

def test_a_city_supervisor_sees_the_citys_agencies_only(api_as, people, staff, session):
    api = api_as(staff["supervisor"])  # 长春市
    assert api.get(f"/agencies/{people.agency('舒兰市', 'housing').id}").status_code == 404
    assert api.get(f"/agencies/{people.agency('公主岭市', 'housing').id}").status_code == 404  # 省直管
    assert api.get(f"/agencies/{people.agency('榆树市', 'housing').id}").status_code == 200
    r = api.get("/agencies", query_string={"per_page": 1000})
    city = people.region("长春市")
    expected = session.scalar(select(func.count()).select_from(Agency).join(Region)
                              .where(Region.path.startswith(city.path)))
    assert r.json["total"] == expected == len(r.json["items"])
    codes = {a["region"]["code"] for a in r.json["items"]}
    assert people.region("榆树市").code in codes and people.region("舒兰市").code not in codes
    r = api.get("/agencies", query_string={"region": people.region("农安县").code, "role": "court"})
    assert [a["name"] for a in r.json["items"]] == ["农安县人民法院"]
    assert api.get("/agencies", query_string={"region": "999999"}).status_code == 422


def test_admin_creates_and_renames_an_agency_and_the_log_says_so(clients, people, session):
    province = people.region("吉林省")
    body = {"region": province.code, "role": "tax", "name": "国家税务总局吉林省税务局"}
    r = clients["admin"].post("/agencies", json=body)
    assert r.status_code == 201, r.json
    assert (r.json["role_label"], r.json["region"]["code"]) == ("税务", province.code)
    again = clients["admin"].post("/agencies", json={**body, "name": "另一个税务局"})
    assert again.status_code == 409 and "已有税务部门" in again.json["message"]
    r2 = clients["admin"].patch(f"/agencies/{r.json['id']}", json={"name": "吉林省税务局"})
    assert r2.status_code == 200 and r2.json["name"] == "吉林省税务局"
    assert [e.kind for e in events(session) if e.kind.startswith("agency_")] == ["agency_created", "agency_updated"]
    for bad in ({"name": "税务\x00局"}, {"name": ""}, {"name": "局" * 200}):
        r3 = clients["admin"].patch(f"/agencies/{r.json['id']}", json=bad)
        assert r3.status_code == 422 and "name" in r3.json["errors"], r3.json
    assert clients["admin"].post("/agencies", json={**body, "role": "tax2"}).status_code == 422
    assert clients["admin"].post("/agencies", json={**body, "region": "22\x00"}).status_code == 422


# --- places -------------------------------------------------------------------------------------------

def test_places_are_listed_by_parent_and_level(clients, people):
    api = clients["officer"]
    city = people.region("长春市")
    r = api.get("/regions", query_string={"parent": city.code})
    assert r.status_code == 200
    names = {p["name"] for p in r.json}
    assert {"榆树市", "农安县", "德惠市", "九台区"} <= names and "公主岭市" not in names
    assert {p["parent_code"] for p in r.json} == {city.code}
    r = api.get("/regions", query_string={"level": "city"})
    assert all(p["level"] == "city" and p["level_label"] == "市（州）" for p in r.json) and len(r.json) >= 8
    r = api.get(f"/regions/{people.region('公主岭市').code}")
    assert r.json["parent_code"] == people.region("吉林省").code and r.json["direct_to_province"] is True
    assert api.get("/regions/999999").status_code == 404
    assert api.get("/regions", query_string={"level": "village"}).status_code == 422
    assert api.get("/regions", query_string={"parent": "999999"}).status_code == 422
    assert api.get("/regions/%00").status_code == 404


# --- process versions ---------------------------------------------------------------------------------

def test_supervisors_read_versions_and_officers_may_not(clients):
    r = clients["supervisor"].get("/versions")
    assert r.status_code == 200
    [v1] = r.json
    assert v1["number"] == 1 and any(f["name"] == "case_lifecycle.bpmn" for f in v1["files"])
    one = clients["auditor"].get("/versions/1").json
    assert one["files"] == v1["files"] and len(one["files"][0]["sha256"]) == 64
    assert clients["officer"].get("/versions").status_code == 403
    for missing in ("/versions/2", f"/versions/{10**30}", f"/versions/{2**40}"):
        assert clients["supervisor"].get(missing).status_code == 404, missing


def test_deploying_the_unchanged_directory_returns_the_existing_version(clients, session):
    r = clients["admin"].post("/versions")
    assert r.status_code == 200, r.json
    assert (r.json["created"], r.json["number"]) == (False, 1)
    assert events(session, "process_deployed") == []


def test_deploying_a_changed_directory_makes_a_new_version_and_a_broken_one_is_refused(
        clients, staff, session, tmp_path, monkeypatch):
    changed = tmp_path / "changed"
    shutil.copytree(ROOT / "bpmn", changed)
    lifecycle = changed / "case_lifecycle.bpmn"
    lifecycle.write_text(lifecycle.read_text(encoding="utf-8") + "\n<!-- 修订 -->\n", encoding="utf-8")
    monkeypatch.setattr(processes, "_bpmn_dir", [changed])
    r = clients["admin"].post("/versions")
    assert r.status_code == 201, r.json
    assert (r.json["created"], r.json["number"], r.json["deployed_by"]) == (True, 2, staff["admin"].username)
    [event] = events(session, "process_deployed")
    assert event.actor_id == staff["admin"].id and event.data["number"] == 2

    source = lifecycle.read_text(encoding="utf-8")
    lifecycle.write_text(source.replace("category == '3'", "__import__('os').system('true')"), encoding="utf-8")
    r = clients["admin"].post("/versions")
    assert r.status_code == 422, r.json
    assert r.json["code"] == "process_definition" and "f_cat_3" in r.json["message"]
    assert "case_lifecycle.bpmn" in r.json["errors"]["bpmn"][0]
    session.rollback()
    assert session.scalar(select(func.max(ProcessVersion.number))) == 2


def test_a_migration_dry_run_reports_a_plan_and_changes_nothing(clients, driver, session, tmp_path,
                                                                monkeypatch):
    from tests.test_process_versions import CATEGORY_2, insert_task_after
    case = driver.new_case(2)
    driver.intake_and_classify(case)
    v2 = tmp_path / "v2"
    shutil.copytree(ROOT / "bpmn", v2)
    insert_task_after(v2, CATEGORY_2, "urge_builder", "review_progress", "核查建设进度")
    monkeypatch.setattr(processes, "_bpmn_dir", [v2])
    assert clients["admin"].post("/versions").status_code == 201
    session.rollback()
    state_before = session.scalar(select(ProcessInstance.state).where(ProcessInstance.case_id == case.id))
    history_before = len(driver.events(case))

    r = clients["admin"].post("/versions/2/migrate", json={"case_codes": [case.code, "NO-SUCH-CASE"]})
    assert r.status_code == 200, r.json
    assert [(x["code"], x["status"]) for x in r.json] == [(case.code, "would_migrate"), ("NO-SUCH-CASE", "failed")]
    assert r.json[0]["status_label"] == "可迁移" and r.json[1]["reason"] == "案件不存在"
    assert any("review_progress" in change.get("added", []) for change in r.json[0]["changed"]), r.json[0]
    session.rollback()
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id))
    assert instance.state == state_before
    assert session.scalar(select(ProcessVersion.number).where(ProcessVersion.id == instance.version_id)) == 1
    assert len(driver.events(case)) == history_before

    r = clients["admin"].post("/versions/2/migrate", json={"case_codes": [case.code], "dry_run": False})
    assert [(x["code"], x["status"], x["from_number"], x["to_number"]) for x in r.json] == \
        [(case.code, "migrated", 1, 2)]

    for body, field in (({"case_codes": ["A\x00"]}, "case_codes"), ({"case_codes": ["x"] * 1001}, "case_codes"),
                        ({"dry_run": "maybe"}, "dry_run")):
        r = clients["admin"].post("/versions/2/migrate", json=body)
        assert r.status_code == 422 and field in r.json["errors"], r.json
    assert clients["admin"].post(f"/versions/{10**30}/migrate", json={}).status_code == 404


def test_hostile_input_never_gives_a_server_error(clients, people, session):
    admin = clients["admin"]
    target = people.officer("德惠市", "housing")
    digits = "9" * 5000
    requests = [
        ("GET", "/users", {"query_string": {"agency_id": digits}}),
        ("PATCH", f"/users/{2**31}", {"json": {"display_name": "x"}}),
        ("PATCH", f"/users/{target.id}", {"json": {"agency_id": 2**31}}),
        ("GET", "/users", {"query_string": {"q": "\x00"}}),
        ("GET", "/users", {"query_string": {"q": "长" * 100_000}}),
        ("GET", "/users?region=%ED%A0%80", {}),  # a UTF-16 surrogate, UTF-8-encoded: not valid UTF-8
        ("GET", "/agencies", {"query_string": {"region": "2201%"}}),
        ("GET", "/agencies", {"query_string": {"page": digits}}),
        ("GET", "/regions", {"query_string": {"parent": "\x00"}}),
        ("PATCH", f"/users/{target.id}", {"data": '{"agency_id": 1e400}'}),
        ("PATCH", f"/users/{target.id}", {"data": '{"active": NaN}'}),
        ("PATCH", f"/users/{target.id}", {"data": '{"agency_id": ' + digits + "}"}),
        ("PATCH", f"/users/{target.id}", {"data": '{"agency_id": 9223372036854775808}'}),
        ("PATCH", f"/users/{target.id}", {"data": '{"display_name": "' + "长" * 400_000 + '"}'}),
        ("POST", "/agencies", {"data": '{"region": "220000", "role": "tax", "name": "\\u0000"}'}),
        ("POST", "/versions/1/migrate", {"data": '{"case_codes": [' + digits + "]}"}),
        ("POST", "/versions/1/migrate", {"data": '{"case_codes": "JL-1"}'}),
    ]
    for method, path, kwargs in requests:
        if "data" in kwargs:
            kwargs = {**kwargs, "content_type": "application/json"}
        r = admin.open(method, path, **kwargs)
        assert 400 <= r.status_code < 500, (method, path, str(kwargs)[:80], r.status_code, r.json)
        assert r.json["message"]
    assert fresh(session, target).agency.name == "德惠市住房和城乡建设局"
    assert events(session, "user_updated") == [] and events(session, "agency_created") == []
