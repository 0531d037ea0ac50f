"""The supervisor's dashboard (/supervise): open cases by county and category, households, overdue
tasks and the counties furthest behind, within the supervisor's jurisdiction only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, update

from models import Case, Task
from tests.conftest import at
from tests.pages import signed_in as _client
from workflows import workdays

NOW = at("2026-05-01 09:00")






def _row(page: str, region_code: str) -> str:
    found = re.search(rf'<tr data-region="{region_code}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {region_code}"
    return found.group(1)


def _cell(row: str, category: int) -> int:
    return int(re.search(rf'data-category="{category}" data-count="(\d+)"', row).group(1))


def _total(row: str, name: str) -> str:
    return re.search(rf'data-total="{name}">(?:<a [^>]*>)?([^<]+)', row).group(1).strip()


@pytest.fixture
def counties(driver, session, people):
    """Cases in 榆树市 (two: categories 2 and 6, 12 + 30 households, one task ten days overdue), 农安县
    (one, category 2, 20 households of which 10 resettled) and 舒兰市 (吉林市; an overdue task too)."""
    driver.travel_to(at("2026-03-02 09:00"))
    yushu_a = driver.new_case(2, "榆树市", households=12)
    yushu_b = driver.new_case(6, "榆树市", households=30)
    nongan = driver.new_case(2, "农安县", households=20)
    shulan = driver.new_case(2, "舒兰市", households=50)
    late, shulan_task = driver.open_tasks(yushu_a)[0], driver.open_tasks(shulan)[0]  # (open_tasks rolls back)
    session.execute(update(Case).where(Case.id == nongan.id).values(households_resettled=10))
    # Only the two tasks below are late: the intake step's working-day SLA would make every case's first
    # task overdue by NOW, which is not what these figures are about.
    session.execute(update(Task).where(Task.status == "ready").values(due_at=None))
    session.execute(update(Task).where(Task.id == late.id).values(due_at=at("2026-04-21 08:00")))
    session.execute(update(Task).where(Task.id == shulan_task.id).values(due_at=at("2026-04-01 08:00")))
    session.commit()
    driver.travel_to(NOW)
    return {"yushu": (yushu_a, yushu_b), "nongan": nongan, "shulan": shulan, "late": late}


def test_city_supervisor_sees_own_counties_by_category_with_links(app, people, counties) -> None:
    page = _client(app, people.supervisor("长春市")).get("/supervise")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "督办工作台 · 长春市" in html
    yushu, nongan = people.region("榆树市"), people.region("农安县")
    row = _row(html, yushu.code)
    assert "榆树市" in row and _cell(row, 2) == 1 and _cell(row, 6) == 1 and _cell(row, 1) == 0
    assert _total(row, "open") == "2" and _total(row, "households_overdue") == "42"
    assert _total(row, "households_resettled") == "0" and _total(row, "overdue_tasks") == "1"
    assert f'href="/cases?region={yushu.code}&amp;category=2&amp;status=open"' in row
    row = _row(html, nongan.code)
    assert _cell(row, 2) == 1 and _total(row, "households_overdue") == "20"
    assert _total(row, "resettled_percent") == "50.0%" and _total(row, "overdue_tasks") == "0"
    assert "舒兰市" not in html and counties["shulan"].code not in html
    total = _row(html, "total")
    assert _total(total, "open") == "3" and _total(total, "households_overdue") == "62"


def test_overdue_tasks_show_agency_and_days_longest_first(app, people, counties) -> None:
    html = _client(app, people.supervisor("长春市")).get("/supervise").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="overdue-tasks".*?</table>', html, re.S).group(0)
    late = counties["late"]
    assert f'data-task-id="{late.id}" data-days-overdue="10"' in table
    assert "10 天" in table and "榆树市住房和城乡建设局" in table and counties["yushu"][0].code in table
    assert table.count("data-task-id=") == 1  # 舒兰市's overdue task is outside 长春市
    # Escalation is raised on the case page; 改派 goes to the task page's 转办.
    assert f'href="/cases/{late.case_id}#escalate-form"' in table
    assert f'href="/tasks/{late.id}#task-operations" data-reassign-task="{late.id}"' in table


def test_province_supervisor_sees_every_overdue_task_longest_first(app, people, counties) -> None:
    html = _client(app, people.supervisor("吉林省")).get("/supervise").get_data(as_text=True)
    days = [int(d) for d in re.findall(r'data-days-overdue="(\d+)"', html)]
    assert days == [30, 10]
    assert "舒兰市" in html and "榆树市" in html


def test_counties_furthest_behind_follow_the_stated_rule(app, people, counties) -> None:
    html = _client(app, people.supervisor("长春市")).get("/supervise").get_data(as_text=True)
    assert "排序规则：按已安置户数占逾期未安置户数的比例从低到高排列" in html
    ranked = re.search(r'id="counties-behind">(.*?)</ol>', html, re.S).group(1)
    order = re.findall(r'data-region="(\d+)"', ranked)
    assert order == [people.region("榆树市").code, people.region("农安县").code]


def test_dashboard_costs_the_same_statements_however_many_counties(app, people, driver, counties) -> None:
    supervisor = people.supervisor("吉林省")
    client = _client(app, supervisor)
    engine = app.extensions["huiqian"]["engine"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
        statements.append(statement)

    def run() -> int:
        statements.clear()
        workdays.forget_entries()  # each run reads the calendar itself, as a fresh process would
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/supervise").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    before = run()
    for county in ("德惠市", "九台区", "梅河口市"):
        driver.new_case(3, county)
    assert run() == before


@pytest.mark.parametrize("who", ["officer", "auditor", "admin"])
def test_only_supervisors_get_the_dashboard(app, people, who) -> None:
    user = {"officer": lambda: people.officer("榆树市", "housing"),
            "auditor": lambda: people.user("吉林省", "supervision", "auditor"),
            "admin": lambda: people.user("吉林省", "supervision", "admin")}[who]()
    client = _client(app, user)
    refused = client.get("/supervise")
    assert refused.status_code == 403 and "只有督办人可以查看督办工作台" in refused.get_data(as_text=True)
    assert 'href="/supervise"' not in client.get("/").get_data(as_text=True)


def test_supervisor_menu_has_the_dashboard_and_visitors_are_sent_to_sign_in(app, people) -> None:
    assert 'href="/supervise"' in _client(app, people.supervisor("长春市")).get("/").get_data(as_text=True)
    visitor = app.test_client().get("/supervise")
    assert visitor.status_code == 302 and "/login?next=/supervise" in visitor.headers["Location"]


def test_an_empty_jurisdiction_says_so(app, people) -> None:
    html = _client(app, people.supervisor("吉林市")).get("/supervise").get_data(as_text=True)
    assert "辖区内暂无案件" in html and "辖区内没有逾期任务" in html
