"""倒排工期 on the pages: the case page's panel (deadline and its source, the steps ahead, the late one
in red, the supervisor's deadline form) and the dashboard's count of cases at risk per county."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Case
from tests.conftest import at
from tests.pages import csrf
from tests.pages import signed_in as _client


def _panel(html: str) -> str:
    found = re.search(r'<section class="card my-3[^"]*" aria-labelledby="h-schedule" id="schedule".*?</section>', html, re.S)
    assert found, "no 倒排工期 panel"
    return found.group(0)


def test_the_case_page_shows_the_schedule_with_the_late_step_in_red(app, driver, people) -> None:  # noqa: ANN001
    late = driver.new_case(2, now=at("2026-11-02 09:00"))
    fits = driver.new_case(2, now=at("2026-11-02 09:00"))
    people.supervisor("长春市")
    driver.travel_to(at("2026-11-03 09:00"))
    client = _client(app, people.officer("榆树市", "housing"))
    panel = _panel(client.get(f"/cases/{late.id}").get_data(as_text=True))
    assert 'data-status="at_risk"' in panel and "有延误风险" in panel
    assert "政策时限：2026年12月31日（第二类：已开工项目" in panel
    red = re.findall(r'<tr class="table-danger hq-late" data-late="true" data-open="true">(.*?)</tr>', panel, re.S)
    assert len(red) == 1 and "立案核实" in red[0] and "开始晚于最迟开始日期" in red[0] and "2026-08-23" in red[0]
    assert "组织回迁入住，登记安置户数" in panel and "20 个工作日" in panel
    assert 'id="deadline-form"' not in panel  # an officer does not set deadlines
    del fits


def test_a_city_supervisor_sets_a_deadline_on_the_case_page(app, driver, people) -> None:  # noqa: ANN001
    case = driver.new_case(3, now=at("2026-05-04 09:00"))
    driver.intake_and_classify(case)
    client = _client(app, people.supervisor("长春市"))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    panel = _panel(page)
    assert 'data-status="none"' in panel and 'id="deadline-form"' in panel
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', panel).group(1)

    r = client.post(f"/cases/{case.id}/deadline", data={"deadline": "2026-02-30", "version": version,
                                                        "csrf_token": csrf(page)})
    assert r.status_code == 302
    shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "办理时限：应为日期，格式 YYYY-MM-DD" in shown

    r = client.post(f"/cases/{case.id}/deadline", data={"deadline": "2026-06-30", "version": version,
                                                        "csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case.id}#schedule")
    panel = _panel(client.get(f"/cases/{case.id}").get_data(as_text=True))
    assert "督办人设定：2026年6月30日" in panel and 'data-status="at_risk"' in panel
    assert 'value="2026-06-30"' in panel
    driver.session.rollback()
    assert str(driver.session.scalar(select(Case.schedule_deadline).where(Case.id == case.id))) == "2026-06-30"


def test_an_officer_cannot_set_a_deadline_through_the_page(app, driver, people) -> None:  # noqa: ANN001
    case = driver.new_case(3, now=at("2026-05-04 09:00"))
    client = _client(app, people.officer("榆树市", "housing"))
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    r = client.post(f"/cases/{case.id}/deadline", data={"deadline": "2026-06-30", "csrf_token": csrf(page)})
    assert r.status_code == 403 and "只有市级或省级督办人可以设定办理时限" in r.get_data(as_text=True)
    driver.session.rollback()
    assert driver.session.scalar(select(Case.schedule_deadline).where(Case.id == case.id)) is None


def test_the_dashboard_counts_and_lists_cases_at_risk(app, driver, people) -> None:  # noqa: ANN001
    at_risk = driver.new_case(2, "榆树市", now=at("2026-11-02 09:00"))
    driver.new_case(3, "农安县", now=at("2026-11-02 09:00"))
    supervisor = people.supervisor("长春市")
    driver.travel_to(at("2026-11-03 09:00"))
    html = _client(app, supervisor).get("/supervise").get_data(as_text=True)
    yushu = re.search(rf'<tr data-region="{people.region("榆树市").code}">(.*?)</tr>', html, re.S).group(1)
    nongan = re.search(rf'<tr data-region="{people.region("农安县").code}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-total="at_risk">1\b', yushu) and re.search(r'data-total="at_risk">0\b', nongan)
    listed = re.search(r'<table class="table table-sm table-striped align-middle" id="at-risk-cases">.*?</table>',
                       html, re.S).group(0)
    assert f'data-case-id="{at_risk.id}"' in listed and "立案核实" in listed and "有延误风险" in listed
