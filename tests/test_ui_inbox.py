"""The officer's inbox page: who sees which tasks in each tab, filters in the URL, deadline colours with
words, paging, named saved filters, the XLSX export, and a page that costs the same few statements
however many rows it shows."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from models import Case, SavedFilter, Task
from tests.conftest import at
from tests.pages import csrf as _csrf
from tests.pages import signed_in as _signed_in
from tests.test_hot_path import Counter
from workflows import saved_filters, tasks
from workflows.errors import Invalid, NotFound

NOW = at("2026-11-23 10:00")






def _page(client, url: str = "/inbox", status: int = 200) -> str:  # noqa: ANN001
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-task-id="(\d+)"', page)]


def _row(page: str, task_id: int) -> str:
    return re.search(rf'<tr data-task-id="{task_id}".*?</tr>', page, re.DOTALL).group(0)


@dataclass(frozen=True)
class Made:
    """A task a test opened, with its case (plain values: they outlive the session's rollbacks)."""

    id: int
    case_id: int
    code: str
    case: Case


def _set_due(driver, task: Made, due) -> None:  # noqa: ANN001
    driver.session.rollback()
    driver.session.execute(update(Task).where(Task.id == task.id).values(due_at=due))
    driver.session.commit()


def _intake(driver, county: str = "榆树市", category: int = 2) -> Made:  # noqa: ANN001
    case = driver.new_case(category, county=county, now=NOW)
    task = driver.task(case, "intake_verify")
    return Made(task.id, case.id, case.code, case)


# --- who sees what ---------------------------------------------------------------------------------

def test_officer_sees_own_agency_tasks_and_supervisor_sees_the_city(app, driver, people) -> None:
    yushu, shulan = _intake(driver, "榆树市"), _intake(driver, "舒兰市")
    finance, city, province = (people.officer("榆树市", "finance"), people.supervisor("长春市"),
                               people.supervisor("吉林省"))
    officer = _signed_in(app, people.officer("榆树市", "housing"))
    assert _ids(_page(officer)) == [yushu.id]
    assert _ids(_page(_signed_in(app, finance))) == []
    assert _ids(_page(_signed_in(app, city))) == [yushu.id]
    assert shulan.id in _ids(_page(_signed_in(app, province)))


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_are_told_they_work_no_tasks(app, driver, people, role: str) -> None:
    _intake(driver)
    client = _signed_in(app, people.user("吉林省", "supervision", role))
    page = _page(client)
    assert "审计与管理员不办理任务" in page and _ids(page) == []
    assert client.get("/inbox/export.xlsx").status_code == 403
    assert client.post("/inbox/filters", data={"csrf_token": _csrf(page), "name": "x"}).status_code == 403


def test_each_tab_lists_its_tasks(app, driver, people, session) -> None:
    officer = people.officer("榆树市", "housing")
    colleague = people.user("榆树市", "housing", "supervisor")  # any second user of the agency's tasks
    mine, free, theirs, done = (_intake(driver) for _ in range(4))
    driver.travel_to(at("2026-11-23 14:05"))
    tasks.claim(session, officer, mine.id)
    session.execute(update(Task).where(Task.id == theirs.id).values(assignee_id=colleague.id))
    session.commit()
    driver.complete(done.case, "intake_verify", households_confirmed=12)
    client = _signed_in(app, officer)
    inbox = _page(client)
    assert set(_ids(inbox)) == {mine.id, free.id}  # a colleague's claimed task is theirs to do
    assert "农安县" not in _row(inbox, mine.id)
    assert officer.display_name in _row(inbox, mine.id) and "2026-11-23 14:05" in _row(inbox, mine.id)
    assert "未签收" in _row(inbox, free.id)
    assert _ids(_page(client, "/inbox?view=mine")) == [mine.id]
    assert set(_ids(_page(client, "/inbox?view=unclaimed"))) == {free.id}
    assert _ids(_page(client, "/inbox?view=completed")) == [done.id]
    assert 'data-view="cc" href="/inbox/copies">抄送我的</a>' in inbox  # the 抄送 tab (tests/test_copies.py)


def test_rows_link_to_task_and_case_pages_carrying_the_list_back(app, driver, people) -> None:
    task = _intake(driver)
    page = _page(_signed_in(app, people.officer("榆树市", "housing")), "/inbox?due=overdue&view=inbox")
    assert _ids(page) == []
    _set_due(driver, task, NOW - timedelta(days=1))
    page = _page(_signed_in(app, people.officer("榆树市", "housing")), "/inbox?due=overdue")
    back = "back=" + quote("/inbox?due=overdue", safe="")
    assert f'href="/tasks/{task.id}?{back}"' in page
    assert f'href="/cases/{task.case_id}?{back}"' in page
    assert unquote(back.removeprefix("back=")) == "/inbox?due=overdue"


# --- deadlines -------------------------------------------------------------------------------------

def test_deadline_colours_come_with_words_and_follow_the_clock(app, driver, people) -> None:
    far, near, soon, today, late = (_intake(driver) for _ in range(5))
    _set_due(driver, far, at("2026-12-20 17:00"))
    _set_due(driver, near, at("2026-11-28 17:00"))
    _set_due(driver, soon, at("2026-11-25 09:00"))
    _set_due(driver, today, at("2026-11-23 23:59"))
    _set_due(driver, late, at("2026-11-20 17:00"))
    driver.travel_to(NOW)
    client = _signed_in(app, people.officer("榆树市", "housing"))
    page = _page(client)
    assert _ids(page) == [late.id, today.id, soon.id, near.id, far.id]  # deadline first
    expected = {far.id: ("", "剩 27 天"), near.id: ("near", "剩 5 天"), soon.id: ("soon", "剩 2 天"),
                today.id: ("soon", "今天到期"), late.id: ("overdue", "超期 3 天")}
    for task_id, (level, label) in expected.items():
        row = _row(page, task_id)
        assert f'data-due-level="{level}"' in row and label in row
    assert 'class="due-overdue"' in _row(page, late.id) and 'class="due-near"' in _row(page, near.id)
    assert 'class="due-behind"' in _row(page, soon.id)
    assert "蓝色：7 天内到期" in page and "黄色：2 天内或今天到期" in page and "红色：已超期" in page
    driver.travel_to(at("2026-11-29 08:00"))  # a week on: the near one is past, the far one not yet near
    page = _page(client)
    assert "超期 1 天" in _row(page, near.id) and 'data-due-level=""' in _row(page, far.id)


def test_thresholds_come_from_configuration(app, driver, people) -> None:
    task = _intake(driver)
    _set_due(driver, task, at("2026-11-28 17:00"))
    driver.travel_to(NOW)
    app.config.update(INBOX_DUE_NEAR_DAYS=3, INBOX_DUE_SOON_DAYS=6)
    page = _page(_signed_in(app, people.officer("榆树市", "housing")))
    assert 'data-due-level="soon"' in _row(page, task.id) and "蓝色：3 天内到期" in page


# --- filters and paging ----------------------------------------------------------------------------

def test_filters_by_deadline_category_and_case(app, driver, people) -> None:
    late, soon, later = _intake(driver, category=2), _intake(driver, category=3), _intake(driver, category=3)
    shulan = _intake(driver, "舒兰市")
    _set_due(driver, late, NOW - timedelta(days=1))
    _set_due(driver, soon, NOW + timedelta(days=3))
    _set_due(driver, later, NOW + timedelta(days=30))
    driver.travel_to(NOW)
    client = _signed_in(app, people.officer("榆树市", "housing"))
    assert _ids(_page(client, "/inbox?due=overdue")) == [late.id]
    assert _ids(_page(client, "/inbox?due=soon")) == [soon.id]
    assert _ids(_page(client, "/inbox?category=3")) == [soon.id, later.id]
    assert _ids(_page(client, f"/inbox?case={later.code}")) == [later.id]
    assert _ids(_page(client, f"/inbox?case={later.code.lower()}")) == [later.id]
    assert _ids(_page(client, f"/inbox?case=%23{late.case_id}")) == [late.id]
    assert _ids(_page(client, f"/inbox?case={shulan.code}")) == []  # another county's case: nothing
    page = _page(client, "/inbox?due=overdue&category=2")
    assert 'value="overdue" selected' in page and 'value="2" selected' in page


@pytest.mark.parametrize(("query", "message"), [
    ("view=everything", "视图：应为"), ("view=cc", "视图：应为"), ("due=tomorrow", "时限：应为"),
    ("category=10", "类别：应为"), ("category=NaN", "类别：应为"), ("per_page=7", "每页件数：应为"),
    ("page=0", "页码："), ("page=abc", "页码："), ("page=" + "9" * 5000, "页码："), ("page=1e400", "页码："),
    ("case=" + "A" * 40, "案件：不能超过 32 个字符"), ("case=JL%00-1", "案件：不能包含控制字符"),
    ("case=%ED%A0%80", "案件："), ("per_page=100000000000000000000000000000", "每页件数：应为"),
])
def test_a_wrong_filter_is_told_in_chinese_not_a_server_error(app, driver, people, query: str,
                                                             message: str) -> None:
    _intake(driver)
    client = _signed_in(app, people.officer("榆树市", "housing"))
    response = client.get(f"/inbox?{query}")
    page = response.get_data(as_text=True)
    if query == "case=%ED%A0%80":  # undecodable bytes arrive as U+FFFD: a code no case has
        assert response.status_code == 200 and _ids(page) == []
        return
    assert response.status_code == 400 and message in page and "筛选条件有误" in page
    assert client.get(f"/inbox/export.xlsx?{query}").status_code == 400


def test_pages_of_the_list(app, driver, people) -> None:
    made = [_intake(driver) for _ in range(27)]
    client = _signed_in(app, people.officer("榆树市", "housing"))
    first = _page(client)
    assert len(_ids(first)) == 25 and "第 1 页，共 27 件" in first
    assert 'href="/inbox?page=2"' in first
    second = _page(client, "/inbox?page=2")
    assert _ids(second) == [t.id for t in made[25:]] and "第 2 页，共 27 件" in second
    assert len(_ids(_page(client, "/inbox?per_page=50"))) == 27
    beyond = _page(client, "/inbox?page=99")
    assert _ids(beyond) == [] and "第 99 页，共 27 件" in beyond and 'href="/inbox?page=2"' in beyond


# --- saved filters ---------------------------------------------------------------------------------

def test_saving_using_and_deleting_a_named_filter(app, driver, people, session) -> None:
    late = _intake(driver)
    _intake(driver)
    _set_due(driver, late, NOW - timedelta(days=2))
    driver.travel_to(NOW)
    officer, finance = people.officer("榆树市", "housing"), people.officer("榆树市", "finance")
    client = _signed_in(app, officer)
    page = _page(client, "/inbox?due=overdue&page=3")
    saved = client.post("/inbox/filters", data={"csrf_token": _csrf(page), "name": "  我的超期  ",
                                                "query": "due=overdue&page=3&evil=<x>&view=inbox"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/inbox?view=inbox&due=overdue"
    [row] = session.scalars(select(SavedFilter)).all()
    assert (row.name, row.query, row.user_id, row.page) == ("我的超期", "view=inbox&due=overdue", officer.id, "inbox")
    page = _page(client)
    assert "已保存常用筛选「我的超期」" in page
    assert f'data-filter-id="{row.id}"' in page and 'href="/inbox?view=inbox&amp;due=overdue">我的超期</a>' in page
    assert _ids(_page(client, "/inbox?view=inbox&due=overdue")) == [late.id]
    # another officer cannot delete it, and does not see it
    other = _signed_in(app, finance)
    other_page = _page(other)
    assert "我的超期" not in other_page
    refused = other.post(f"/inbox/filters/{row.id}/delete", data={"csrf_token": _csrf(other_page)})
    assert refused.status_code == 404 and "筛选不存在" in refused.get_data(as_text=True)
    assert other.post(f"/inbox/filters/{10**30}/delete", data={"csrf_token": _csrf(other_page)}).status_code == 404
    session.rollback()
    assert session.scalar(select(func.count(SavedFilter.id))) == 1
    gone = client.post(f"/inbox/filters/{row.id}/delete", data={"csrf_token": _csrf(page), "back": "due=overdue"})
    assert gone.status_code == 302 and gone.headers["Location"] == "/inbox?due=overdue"
    session.rollback()
    assert session.scalar(select(func.count(SavedFilter.id))) == 0


def test_a_filter_name_is_checked_next_to_the_field(app, driver, people, session) -> None:
    client = _signed_in(app, people.officer("榆树市", "housing"))
    page = _page(client, "/inbox?due=overdue")
    for name, message in (("", "筛选名称：请填写"), ("超" * 41, "筛选名称：不能超过 40 个字符"),
                          ("a\x00b", "筛选名称：不能包含控制字符")):
        response = client.post("/inbox/filters", data={"csrf_token": _csrf(page), "name": name,
                                                       "query": "due=overdue"})
        body = response.get_data(as_text=True)
        assert response.status_code == 400 and message in body, name
        assert 'id="save-filter-error"' in body and 'value="overdue" selected' in body
    session.rollback()
    assert session.scalar(select(func.count(SavedFilter.id))) == 0


def test_posts_without_the_csrf_token_are_refused(app, driver, people, session) -> None:
    officer = people.officer("榆树市", "housing")
    mine = saved_filters.save_filter(session, officer, "inbox", "超期", "due=overdue")
    client = _signed_in(app, officer)
    assert client.post("/inbox/filters", data={"name": "x", "query": ""}).status_code == 400
    refused = client.post(f"/inbox/filters/{mine.id}/delete")
    assert refused.status_code == 400 and "校验码" in refused.get_data(as_text=True)
    session.rollback()
    assert [f.name for f in session.scalars(select(SavedFilter))] == ["超期"]


def test_saved_filter_rules(session, people) -> None:
    officer, other = people.officer("榆树市", "housing"), people.officer("农安县", "housing")
    first = saved_filters.save_filter(session, officer, "inbox", "超期", "due=overdue")
    again = saved_filters.save_filter(session, officer, "inbox", "超期", "?category=3&case=JL-1")
    assert again.id == first.id and again.query == "category=3&case=JL-1"  # same name: replaced
    for i in range(saved_filters.MAX_PER_PAGE - 1):
        saved_filters.save_filter(session, officer, "inbox", f"筛选{i:02d}", f"category={i % 9 + 1}")
    with pytest.raises(Invalid, match="最多保存 30 个"):
        saved_filters.save_filter(session, officer, "inbox", "再来一个", "")
    with pytest.raises(Invalid, match="过长"):
        saved_filters.save_filter(session, other, "inbox", "长", "case=" + "x" * 2001)
    with pytest.raises(Invalid, match="页面"):
        saved_filters.save_filter(session, other, "elsewhere", "x", "")
    with pytest.raises(NotFound):
        saved_filters.delete_filter(session, other, first.id)
    assert [f.name for f in saved_filters.list_filters(session, other, "inbox")] == []
    assert len(saved_filters.list_filters(session, officer, "inbox")) == 30


# --- export ----------------------------------------------------------------------------------------

def test_export_is_the_filtered_list_as_a_spreadsheet(app, driver, people, session) -> None:
    late, _, shulan = _intake(driver), _intake(driver), _intake(driver, "舒兰市")
    session.execute(update(Case).where(Case.id == late.case_id).values(project_name="=HYPERLINK(\"http://evil\")项目"))
    session.commit()
    _set_due(driver, late, at("2026-11-20 17:00"))
    driver.travel_to(NOW)
    response = _signed_in(app, people.officer("榆树市", "housing")).get("/inbox/export.xlsx?due=overdue&page=4")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="inbox-20261123-1000.xlsx"')
    assert "filename*=UTF-8''" + quote("待办任务_20261123-1000.xlsx") in disposition
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["待办"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:6] == ("任务编号", "任务", "案件编号", "项目名称", "类别", "办理部门")
    assert len(rows) == 2 and rows[1][0] == late.id and rows[1][1] == "立案核实"
    assert rows[1][3] == "=HYPERLINK(\"http://evil\")项目" and sheet["D2"].data_type == "s"  # text, not a formula
    assert rows[1][9].strftime("%Y-%m-%d %H:%M") == "2026-11-20 17:00"  # China time
    assert rows[1][10] == "超期 3 天"
    assert sheet.column_dimensions["D"].width == 36
    assert shulan.id not in [r[0] for r in rows]
    about = dict(book["导出说明"].iter_rows(values_only=True))
    assert about["时限"] == "已超期" and about["件数"] == 1


def test_export_is_capped_with_a_note(app, driver, people) -> None:
    for _ in range(3):
        _intake(driver)
    app.config["INBOX_EXPORT_MAX_ROWS"] = 2
    response = _signed_in(app, people.officer("榆树市", "housing")).get("/inbox/export.xlsx")
    rows = list(load_workbook(io.BytesIO(response.data))["待办"].iter_rows(values_only=True))
    assert len(rows) == 4 and rows[3][0].startswith("仅导出前 2 件（共 3 件")


# --- safety and cost -------------------------------------------------------------------------------

def test_a_project_name_with_markup_is_shown_as_text(app, driver, people) -> None:
    case = driver.new_case(2, now=NOW)
    driver.session.execute(update(Case).where(Case.id == case.id).values(project_name="<script>alert(1)</script>棚改"))
    driver.session.commit()
    page = _page(_signed_in(app, people.officer("榆树市", "housing")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;棚改" in page and "<script>alert(1)" not in page


def test_statements_per_page_do_not_grow_with_rows(app, driver, people, session) -> None:
    officer = people.officer("榆树市", "housing")
    for _ in range(3):
        tasks.claim(session, officer, _intake(driver).id)
    saved_filters.save_filter(session, officer, "inbox", "全部", "")
    client = _signed_in(app, officer)
    _page(client, "/inbox?per_page=50")  # warm caches
    counter = Counter(app.extensions["huiqian"]["engine"])  # the app's own engine serves its requests
    with counter:
        assert len(_ids(_page(client, "/inbox?per_page=50"))) == 3
    few = list(counter.statements)
    for _ in range(47):
        _intake(driver)
    with counter:
        assert len(_ids(_page(client, "/inbox?per_page=50"))) == 50
    assert len(counter.statements) == len(few), (few, counter.statements)
    # user, count, rows, claim times, saved filters, the escalations addressed to the officer (督办事项),
    # unread notifications (the bell)
    assert 0 < len(few) <= 7, few
