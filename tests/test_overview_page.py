"""Signing in to the pages, and the overview within the reader's jurisdiction."""

from __future__ import annotations

from datetime import date

from tests.conftest import PASSWORD
from tests.pages import csrf as _csrf
from tests.pages import sign_in as _sign_in
from workflows import cases
from workflows.cases import NewCase


def _file(session, people, county: str, name: str, code: str):  # noqa: ANN001, ANN202
    filer = people.officer(county, "housing")
    return cases.create_case(session, filer, NewCase(
        code=code, project_name=name, region_code=people.region(county).code, lead_type="government",
        households_overdue=30, overdue_since=date(2019, 12, 31), category=2, responsible_leader="王副县长"))






def test_a_visitor_is_sent_to_sign_in_and_brought_back(app, people) -> None:
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and "/login?next=/" in response.headers["Location"]
    officer = people.officer("榆树市", "housing")
    page = client.get("/login?next=/").get_data(as_text=True)
    back = client.post("/login?next=/", data={"username": officer.username, "password": PASSWORD,
                                              "csrf_token": _csrf(page)})
    assert back.status_code == 302 and back.headers["Location"] == "/"


def test_a_wrong_password_is_told_in_chinese_and_an_outside_next_is_ignored(app, people) -> None:
    officer = people.officer("榆树市", "housing")
    client = app.test_client()
    refused = _sign_in(client, officer.username, "wrong")
    assert refused.status_code == 401 and "用户名或密码错误" in refused.get_data(as_text=True)
    page = client.get("/login?next=https://evil.example/").get_data(as_text=True)
    signed = client.post("/login?next=https://evil.example/",
                         data={"username": officer.username, "password": PASSWORD, "csrf_token": _csrf(page)})
    assert signed.headers["Location"] == "/"


def test_a_form_without_its_csrf_token_is_refused(app, people) -> None:
    officer = people.officer("榆树市", "housing")
    response = app.test_client().post("/login", data={"username": officer.username, "password": PASSWORD})
    assert response.status_code == 400 and "校验码" in response.get_data(as_text=True)


def test_signing_out_ends_the_session(app, people) -> None:
    officer = people.officer("榆树市", "housing")
    client = app.test_client()
    _sign_in(client, officer.username)
    page = client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": _csrf(page)}).status_code == 302
    assert client.get("/").status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_officer_sees_own_county_cases_only_and_names_are_text(app, session, people) -> None:
    _file(session, people, "榆树市", "<script>alert(1)</script>榆树项目", "OV-2")
    _file(session, people, "舒兰市", "舒兰西关项目", "OV-3")
    officer = people.officer("榆树市", "housing")
    client = app.test_client()
    _sign_in(client, officer.username)
    page = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;榆树项目" in page
    assert "<script>alert(1)" not in page
    assert "舒兰西关项目" not in page
    assert "管辖范围：榆树市" in page
