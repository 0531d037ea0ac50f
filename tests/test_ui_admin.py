"""The administration pages: users (create with a one-time password shown once, deactivate, reset the
password), agencies (create, rename) and process versions (deploy; migrate with a dry run first)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from models import AccessEvent, Agency, CaseEvent, ProcessInstance, ProcessVersion, User
from tests.conftest import PASSWORD
from tests.pages import csrf as _csrf
from tests.pages import sign_in as _sign_in
from tests.pages import signed_in as _client
from workflows import processes

ROOT = Path(__file__).resolve().parent.parent








def _post(client, path: str, data: dict | None = None, *, form_page: str | None = None):  # noqa: ANN001, ANN202
    token = _csrf(client.get(form_page or "/admin/users").get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def _password(html: str) -> str:
    return re.search(r'id="one-time-password">([^<]+)<', html).group(1)


def _error(html: str, field: str) -> str:
    return " ".join(re.findall(rf'data-error-for="{field}">([^<]*)<', html))


@pytest.fixture
def admin(people):
    return people.user("吉林省", "supervision", "admin")


def _new_user(client, people, **overrides):  # noqa: ANN001, ANN003, ANN202
    data = {"username": "yushu-finance-1", "display_name": "张会计", "role": "officer",
            "agency_id": str(people.agency("榆树市", "finance").id), **overrides}
    return _post(client, "/admin/users/new", data, form_page="/admin/users/new")


def test_admin_creates_a_user_whose_password_is_shown_once_and_signs_in(app, session, people, admin) -> None:
    client = _client(app, admin)
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert '<label class="form-label" for="agency_id">所属部门</label>' in form
    assert '<optgroup label="榆树市（220182）">' in form
    created = _new_user(client, people)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    password = _password(html)
    assert "已新建用户" in html and "yushu-finance-1" in html and "榆树市财政局" in html and "只显示这一次" in html
    assert password not in client.get("/admin/users?q=yushu-finance").get_data(as_text=True)
    session.rollback()
    user = session.scalar(select(User).where(User.username == "yushu-finance-1"))
    assert user.role == "officer" and user.active and password not in user.password_hash
    assert session.scalar(select(AccessEvent.kind).where(AccessEvent.subject_user_id == user.id)) == "user_created"
    newcomer = app.test_client()
    assert _sign_in(newcomer, "yushu-finance-1", password).status_code == 302
    assert "张会计" in newcomer.get("/").get_data(as_text=True)


def test_a_refused_user_is_explained_next_to_the_field(app, session, people, admin) -> None:
    client = _client(app, admin)
    bad = _new_user(client, people, username="a b")
    assert bad.status_code == 422 and "用户名：应为 3–64 位英文字母" in _error(bad.get_data(as_text=True), "username")
    misplaced = _new_user(client, people, role="supervisor")
    assert misplaced.status_code == 422 and "督办人只能属于市级或省级" in _error(misplaced.get_data(as_text=True), "role")
    missing = _new_user(client, people, display_name="", agency_id="abc")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "请填写姓名" in _error(html, "display_name")
    assert "请选择所属部门" in _error(html, "agency_id")
    far = _new_user(client, people, agency_id=str(10**30))
    assert far.status_code == 422 and "部门不存在" in _error(far.get_data(as_text=True), "agency_id")
    nul = _new_user(client, people, display_name="张\x00会计")
    assert nul.status_code == 422 and "不能包含控制字符" in _error(nul.get_data(as_text=True), "display_name")
    _new_user(client, people)
    taken = _new_user(client, people, username="YUSHU-finance-1")
    assert taken.status_code == 409 and "已被使用" in _error(taken.get_data(as_text=True), "username")
    session.rollback()
    assert session.scalar(select(User).where(User.username.in_(["a b", "YUSHU-finance-1"]))) is None


def test_a_form_without_its_token_changes_nothing(app, session, people, admin) -> None:
    client = _client(app, admin)
    officer = people.officer("榆树市", "housing")
    refused = client.post(f"/admin/users/{officer.id}/deactivate")
    assert refused.status_code == 400
    session.rollback()
    session.refresh(officer)
    assert officer.active


def test_reset_shows_a_new_password_once_and_the_old_one_stops_working(app, session, people, admin) -> None:
    officer = people.officer("榆树市", "housing")
    client = _client(app, admin)
    page = client.get(f"/admin/users?q={officer.username}").get_data(as_text=True)
    assert f'action="/admin/users/{officer.id}/reset-password"' in page
    reset = _post(client, f"/admin/users/{officer.id}/reset-password")
    html = reset.get_data(as_text=True)
    assert reset.status_code == 200 and "已重置密码" in html and reset.headers["Cache-Control"] == "no-store"
    password = _password(html)
    assert password != PASSWORD
    assert _sign_in(app.test_client(), officer.username).status_code == 401
    assert _sign_in(app.test_client(), officer.username, password).status_code == 302
    again = _post(client, f"/admin/users/{officer.id}/reset-password")
    assert _password(again.get_data(as_text=True)) != password


def test_deactivating_a_user_ends_their_sign_in(app, session, people, admin) -> None:
    officer = people.officer("榆树市", "housing")
    their_session = _client(app, officer)
    client = _client(app, admin)
    done = _post(client, f"/admin/users/{officer.id}/deactivate", {"next": "/admin/users?active=1"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/users?active=1"
    page = client.get("/admin/users?active=0").get_data(as_text=True)
    assert f"已停用用户 {officer.username}" in page and f'data-username="{officer.username}" data-active="false"' in page
    session.rollback()
    session.refresh(officer)
    assert not officer.active
    assert their_session.get("/").status_code == 302
    assert _sign_in(app.test_client(), officer.username).status_code == 401


def test_an_admin_gets_no_button_against_themselves_and_cannot_deactivate_themselves(app, session, admin) -> None:
    client = _client(app, admin)
    page = client.get(f"/admin/users?q={admin.username}").get_data(as_text=True)
    assert f'action="/admin/users/{admin.id}/deactivate"' not in page and "（本人）" in page
    refused = _post(client, f"/admin/users/{admin.id}/deactivate")
    assert refused.status_code == 302
    assert "不能停用自己的账户" in client.get("/admin/users").get_data(as_text=True)
    session.rollback()
    session.refresh(admin)
    assert admin.active


def test_user_list_filters_and_pages(app, people, admin) -> None:
    for county in ("榆树市", "农安县", "舒兰市"):
        people.officer(county, "housing")
    client = _client(app, admin)
    changchun = client.get("/admin/users?region=220100&role=officer").get_data(as_text=True)
    assert "榆树市住房和城乡建设局" in changchun and "舒兰市" not in changchun
    unknown = client.get("/admin/users?region=999999")
    assert unknown.status_code == 422 and "地区代码 999999 不存在" in unknown.get_data(as_text=True)
    assert client.get("/admin/users?page=abc").status_code == 422
    assert client.get(f"/admin/users?page={10**30}").status_code == 200
    assert client.get(f"/admin/users?agency_id={10**30}").status_code == 200
    assert client.get(f"/admin/users/{10**30}/reset-password").status_code == 405


def test_a_user_outside_the_jurisdiction_does_not_exist(app, people) -> None:
    city_admin = people.user("长春市", "supervision", "admin")
    stranger = people.officer("舒兰市", "housing")
    client = _client(app, city_admin)
    assert _post(client, f"/admin/users/{stranger.id}/reset-password").status_code == 404
    assert _post(client, f"/admin/users/{stranger.id}/deactivate").status_code == 404
    assert _post(client, f"/admin/users/{2**31}/deactivate").status_code == 404


def test_admin_creates_and_renames_an_agency(app, session, people, admin) -> None:
    client = _client(app, admin)
    page = client.get("/admin/agencies?region=220000").get_data(as_text=True)
    assert "吉林省保障性安居工程领导小组办公室" in page and '<label class="form-label" for="new-name">部门名称</label>' in page
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    made = _post(client, "/admin/agencies", {"new-region": "220000", "new-role": "planning", "new-name": "吉林省自然资源厅"},
                 form_page="/admin/agencies")
    assert made.status_code == 302 and made.headers["Location"] == "/admin/agencies?region=220000"
    listed = client.get("/admin/agencies?region=220000").get_data(as_text=True)
    assert "已新建部门「吉林省自然资源厅」" in listed
    session.rollback()
    agency = session.scalar(select(Agency).where(Agency.name == "吉林省自然资源厅"))
    assert agency.role == "planning"
    twice = _post(client, "/admin/agencies", {"new-region": "220000", "new-role": "planning", "new-name": "又一个"},
                  form_page="/admin/agencies")
    assert twice.status_code == 409 and "同一地区每类部门只能有一个" in _error(twice.get_data(as_text=True), "new-role")
    nowhere = _post(client, "/admin/agencies", {"new-region": "999999", "new-role": "tax", "new-name": "某局"},
                    form_page="/admin/agencies")
    assert nowhere.status_code == 422 and "地区代码 999999 不存在" in _error(nowhere.get_data(as_text=True), "new-region")
    form = client.get(f"/admin/agencies/{agency.id}/rename").get_data(as_text=True)
    assert 'value="吉林省自然资源厅"' in form
    renamed = _post(client, f"/admin/agencies/{agency.id}/rename", {"name": "吉林省自然资源厅（更名）"},
                    form_page=f"/admin/agencies/{agency.id}/rename")
    assert renamed.status_code == 302
    session.rollback()  # end the read snapshot
    session.refresh(agency)
    assert agency.name == "吉林省自然资源厅（更名）"
    empty = _post(client, f"/admin/agencies/{agency.id}/rename", {"name": " "},
                  form_page=f"/admin/agencies/{agency.id}/rename")
    assert empty.status_code == 422 and "部门名称" in _error(empty.get_data(as_text=True), "name")
    assert client.get(f"/admin/agencies/{10**30}/rename").status_code == 404


def test_versions_list_and_deploying_unchanged_files_makes_no_version(app, session, admin) -> None:
    client = _client(app, admin)
    page = client.get("/admin/versions").get_data(as_text=True)
    assert 'data-version="1"' in page and "部署流程目录" in page
    deployed = _post(client, "/admin/versions/deploy", form_page="/admin/versions")
    assert deployed.status_code == 302
    assert "流程文件没有变化，未产生新版本（当前最新为 v1）" in client.get("/admin/versions").get_data(as_text=True)


def _v2(tmp_path: Path) -> Path:
    from tests.test_process_versions import CATEGORY_2, insert_task_after
    directory = tmp_path / "bpmn_v2"
    shutil.copytree(ROOT / "bpmn", directory)
    insert_task_after(directory, CATEGORY_2, "urge_builder", "review_progress", "核查建设进度")
    return directory


def test_deploying_a_changed_directory_makes_a_version_and_a_broken_one_is_explained(app, admin, tmp_path) -> None:
    client = _client(app, admin)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.bpmn").write_text("<definitions>", encoding="utf-8")
    try:
        processes.configure(_v2(tmp_path))
        assert _post(client, "/admin/versions/deploy", form_page="/admin/versions").status_code == 302
        assert "已部署流程版本 v2" in client.get("/admin/versions").get_data(as_text=True)
        processes.configure(broken)
        refused = _post(client, "/admin/versions/deploy", form_page="/admin/versions")
        assert refused.status_code == 422 and "流程校验未通过，未部署" in refused.get_data(as_text=True)
    finally:
        processes.configure(app.config["BPMN_DIR"])


def test_migration_shows_the_dry_run_before_executing_it(app, session, driver, admin, tmp_path) -> None:
    case = driver.new_case(2)
    processes.deploy(session, _v2(tmp_path), deployed_by="tests")
    client = _client(app, admin)
    form = client.get("/admin/versions/migrate").get_data(as_text=True)
    assert '<option selected value="2">' in form or 'value="2" selected' in form
    planned = _post(client, "/admin/versions/migrate", {"action": "plan", "to": "2", "case_codes": case.code},
                    form_page="/admin/versions/migrate")
    html = planned.get_data(as_text=True)
    assert planned.status_code == 200 and "预演结果（尚未写入）" in html
    assert f'data-case-code="{case.code}" data-status="would_migrate"' in html and "执行迁移" in html
    session.rollback()
    assert session.scalar(select(CaseEvent).where(CaseEvent.kind == "process_migrated")) is None
    token = _csrf(html)
    done = client.post("/admin/versions/migrate", data={"action": "execute", "to": "2", "case_codes": case.code,
                                                        "csrf_token": token})
    result = done.get_data(as_text=True)
    assert done.status_code == 200 and "迁移结果" in result
    assert f'data-case-code="{case.code}" data-status="migrated"' in result
    session.rollback()
    instance = session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id))
    v2 = session.scalar(select(ProcessVersion).where(ProcessVersion.number == 2))
    assert instance.version_id == v2.id
    assert session.scalar(select(CaseEvent.kind).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.kind == "process_migrated")) is not None


def test_executing_without_the_matching_dry_run_only_shows_the_dry_run(app, session, driver, admin, tmp_path) -> None:
    case, other = driver.new_case(2), driver.new_case(2)
    processes.deploy(session, _v2(tmp_path), deployed_by="tests")
    client = _client(app, admin)
    skipped = _post(client, "/admin/versions/migrate", {"action": "execute", "to": "2", "case_codes": case.code},
                    form_page="/admin/versions/migrate")
    html = skipped.get_data(as_text=True)
    assert "与上次预演不一致" in html and "预演结果（尚未写入）" in html
    planned = client.post("/admin/versions/migrate", data={"action": "plan", "to": "2", "case_codes": case.code,
                                                           "csrf_token": _csrf(html)})
    # Different codes than planned: planned again, not executed.
    changed = client.post("/admin/versions/migrate", data={
        "action": "execute", "to": "2", "case_codes": f"{case.code}, {other.code}",
        "csrf_token": _csrf(planned.get_data(as_text=True))})
    assert "与上次预演不一致" in changed.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(CaseEvent).where(CaseEvent.kind == "process_migrated")) is None
    unknown = _post(client, "/admin/versions/migrate", {"action": "plan", "to": str(10**30)},
                    form_page="/admin/versions/migrate")
    assert unknown.status_code == 404 and "流程版本" in unknown.get_data(as_text=True)


@pytest.mark.parametrize("who", ["officer", "supervisor", "auditor"])
def test_only_administrators_reach_the_admin_pages(app, people, who) -> None:
    user = {"officer": lambda: people.officer("榆树市", "housing"), "supervisor": lambda: people.supervisor("长春市"),
            "auditor": lambda: people.user("吉林省", "supervision", "auditor")}[who]()
    client = _client(app, user)
    for path in ("/admin/users", "/admin/users/new", "/admin/agencies", "/admin/versions", "/admin/versions/migrate"):
        refused = client.get(path)
        assert refused.status_code == 403 and "只有系统管理员可以使用系统管理页面" in refused.get_data(as_text=True)
    target = people.officer("农安县", "housing")
    token = _csrf(client.get("/").get_data(as_text=True))
    assert client.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": token}).status_code == 403
    assert 'href="/admin/users"' not in client.get("/").get_data(as_text=True)


def test_admin_menu_has_the_admin_pages(app, admin) -> None:
    html = _client(app, admin).get("/").get_data(as_text=True)
    assert 'href="/admin/users"' in html and "系统管理" in html
