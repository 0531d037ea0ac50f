"""The overview page answers from the service layer within the reader's jurisdiction."""

from __future__ import annotations

from datetime import date

from tests.conftest import PASSWORD
from workflows import cases
from workflows.cases import NewCase


def _file(session, people, county: str, name: str, code: str):  # noqa: ANN001, ANN202
    filer = people.officer(county, "housing")
    return cases.create_case(session, filer, NewCase(
        code=code, project_name=name, region_code=people.region(county).code, lead_type="government",
        households_overdue=30, overdue_since=date(2019, 12, 31), category=2, responsible_leader="王副县长"))


def test_visitor_sees_province_counts_but_no_project(app, session, people) -> None:
    _file(session, people, "榆树市", "榆树东城棚改", "OV-1")
    page = app.test_client().get("/").get_data(as_text=True)
    assert "全省" in page and "已开工" in page
    assert "榆树东城棚改" not in page


def test_officer_sees_own_county_cases_only_and_names_are_text(app, session, people) -> None:
    _file(session, people, "榆树市", "<script>alert(1)</script>榆树项目", "OV-2")
    _file(session, people, "舒兰市", "舒兰西关项目", "OV-3")
    officer = people.officer("榆树市", "housing")
    client = app.test_client()
    assert client.post("/api/v1/session", json={"username": officer.username, "password": PASSWORD}).status_code == 200
    page = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;榆树项目" in page
    assert "<script>alert(1)" not in page
    assert "舒兰西关项目" not in page
    assert "管辖范围：榆树市" in page
