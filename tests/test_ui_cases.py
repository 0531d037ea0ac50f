"""The case pages: the list within one's jurisdiction, 立案 from the form, the case page with its
timeline and process diagrams, and 改变类别 from the page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import func, insert, select, update

from models import Attachment, Case, CaseEvent, ProcessFile, ProcessInstance
from tests.pages import csrf as _csrf
from tests.pages import signed_in as _signed_in
from workflows import cases, history, tasks
from workflows.cases import NewCase


def _file(session, people, county: str, name: str, code: str, category: int = 2) -> Case:  # noqa: ANN001
    filer = people.officer(county, "housing")
    return cases.create_case(session, filer, NewCase(
        code=code, project_name=name, region_code=people.region(county).code, lead_type="government",
        households_overdue=30, overdue_since=date(2019, 12, 31), category=category, responsible_leader="王副县长"))


def _text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def _form(client, path: str) -> str:  # noqa: ANN001
    return _csrf(_text(client.get(path)))


# --- the list -------------------------------------------------------------------------------------

def test_officer_lists_own_county_cases_and_filters_narrow_the_list(app, session, people) -> None:
    _file(session, people, "榆树市", "榆树东城棚改", "L-1", category=2)
    _file(session, people, "榆树市", "榆树西城棚改", "L-2", category=3)
    _file(session, people, "农安县", "农安北关棚改", "L-3")
    _file(session, people, "舒兰市", "舒兰西关棚改", "L-4")
    client = _signed_in(app, people.officer("榆树市", "housing"))
    page = _text(client.get("/cases"))
    assert "榆树东城棚改" in page and "榆树西城棚改" in page
    assert "农安北关棚改" not in page and "舒兰西关棚改" not in page
    narrowed = _text(client.get("/cases?category=3"))
    assert "榆树西城棚改" in narrowed and "榆树东城棚改" not in narrowed
    assert "榆树东城棚改" in _text(client.get("/cases?q=东城")) and "西城" not in _text(client.get("/cases?q=东城"))
    assert "没有符合条件的案件" in _text(client.get("/cases?status=closed"))
    assert "没有符合条件的案件" in _text(client.get("/cases?overdue=1"))
    # A case link carries the filtered list back, and the case page offers it.
    link = re.search(r'href="(/cases/\d+\?back=[^"]+)"', narrowed).group(1)
    assert "back=/cases?category%3D3" in link.replace("%2F", "/")
    case_page = _text(client.get(link.replace("&amp;", "&")))
    assert 'id="back-to-list"' in case_page and "/cases?category=3" in case_page
    case_id = re.search(r"/cases/(\d+)", link).group(1)
    for elsewhere in ("//evil.example/cases", "https://evil.example/cases", "/admin", "/cases/../logout"):
        page = _text(client.get(f"/cases/{case_id}", query_string={"back": elsewhere}))
        assert re.search(r'href="/cases" id="back-to-list"', page), elsewhere


def test_city_supervisor_filters_by_county_and_sees_the_whole_city(app, session, people) -> None:
    _file(session, people, "榆树市", "榆树东城棚改", "L-5")
    _file(session, people, "农安县", "农安北关棚改", "L-6")
    _file(session, people, "舒兰市", "舒兰西关棚改", "L-7")
    client = _signed_in(app, people.supervisor("长春市"))
    page = _text(client.get("/cases"))
    assert "榆树东城棚改" in page and "农安北关棚改" in page and "舒兰西关棚改" not in page
    yushu = _text(client.get(f"/cases?region={people.region('榆树市').code}"))
    assert "榆树东城棚改" in yushu and "农安北关棚改" not in yushu
    outside = _text(client.get(f"/cases?region={people.region('舒兰市').code}"))
    assert "舒兰西关棚改" not in outside


def test_bad_list_filters_are_told_in_chinese_never_a_server_error(app, people) -> None:
    client = _signed_in(app, people.supervisor("长春市"))
    for query, message in (("category=99", "类别：应为第 1–9 类之一"), ("status=gone", "状态："),
                           ("page=" + "9" * 5000, "页码："), ("page=0", "页码："), ("region=ZZ9", "地区代码 ZZ9 不存在"),
                           ("q=%00abc", "搜索内容"), ("q=" + "长" * 200, "关键字：最多 100 个字符"),
                           ("category=1e400", "类别："), ("overdue=NaN", "超期：")):
        response = client.get(f"/cases?{query}")
        assert response.status_code == 422, query
        assert message in _text(response), query


# --- 立案 ------------------------------------------------------------------------------------------

def test_housing_officer_files_a_case_from_the_form(app, session, people) -> None:
    officer = people.officer("榆树市", "housing")
    client = _signed_in(app, officer)
    assert 'id="file-case"' in _text(client.get("/cases"))
    form = _text(client.get("/cases/new"))
    assert f'value="{people.region("榆树市").code}"' in form
    assert f'value="{people.region("农安县").code}"' not in form  # only the places one may file in
    response = client.post("/cases/new", data={
        "csrf_token": _csrf(form), "code": "JL-220182-901", "project_name": "榆树市南山棚改项目",
        "region_code": people.region("榆树市").code, "category": "6", "lead_type": "government",
        "households_overdue": "88", "overdue_since": "2019-06-30", "responsible_leader": "李副市长",
        "developer_name": "", "target_date": "", "notes": "资金缺口较大"})
    assert response.status_code == 302
    session.rollback()
    case = session.scalar(select(Case).where(Case.code == "JL-220182-901"))
    assert response.headers["Location"] == f"/cases/{case.id}"
    assert (case.category, case.households_overdue, case.responsible_leader) == (6, 88, "李副市长")
    created = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                      CaseEvent.kind == "case_created")).one()
    assert created.actor_id == officer.id and created.channel == "web"
    page = _text(client.get(response.headers["Location"]))
    assert "已立案：JL-220182-901" in page and "榆树市南山棚改项目" in page


def test_filing_mistakes_are_shown_next_to_their_fields_and_nothing_is_written(app, session, people) -> None:
    client = _signed_in(app, people.officer("榆树市", "housing"))
    before = session.scalar(select(func.count()).select_from(Case))
    response = client.post("/cases/new", data={
        "csrf_token": _form(client, "/cases/new"), "code": "", "project_name": "榆树市北山棚改项目",
        "region_code": people.region("榆树市").code, "category": "12", "lead_type": "developer",
        "households_overdue": "很多", "overdue_since": "2019-13-01", "responsible_leader": "",
        "developer_name": "", "notes": "x\x00"})
    page = _text(response)
    assert response.status_code == 422
    for message in ("项目编号：必填", "包保领导：必填", "逾期未安置户数：应为整数", "逾期起始日期：应为日期",
                    "解决类别应为 1–9", "房地产开发项目须填写开发企业"):
        assert message in page, message
    # next to the field: the message follows the field's own input
    assert re.search(r'id="households_overdue"[^>]*>\s*(<div class="form-text">[^<]*</div>\s*)?'
                     r'<div class="invalid-feedback" id="households_overdue-error">逾期未安置户数：应为整数', page)
    assert 'value="榆树市北山棚改项目"' in page  # what was typed is kept
    empty = _text(client.post("/cases/new", data={"csrf_token": _form(client, "/cases/new")}))
    for message in ("逾期未安置户数：必填", "逾期起始日期：必填", "解决类别：必填", "地区：必填"):
        assert message in empty, message
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Case)) == before


def test_hostile_filing_input_is_refused_without_a_server_error(app, session, people) -> None:
    client = _signed_in(app, people.supervisor("长春市"))
    base = {"code": "JL-H-1", "project_name": "项目", "region_code": people.region("榆树市").code, "category": "2",
            "lead_type": "government", "households_overdue": "5", "overdue_since": "2019-06-30",
            "responsible_leader": "王"}
    for changes in ({"code": "A\x00B"}, {"households_overdue": "1e400"}, {"households_overdue": "9" * 5000},
                    {"households_overdue": "NaN"}, {"category": "1e400"}, {"overdue_since": "9" * 5000},
                    {"project_name": "长" * (10 * 1024 * 1024 // 3)},
                    {"lead_type": "<script>"}, {"target_date": "2019-02-30"}):
        response = client.post("/cases/new", data={**base, **changes, "csrf_token": _form(client, "/cases/new")})
        assert response.status_code in (413, 422), changes
    # Bytes no browser sends as text: a lone surrogate's UTF-8 form in a field.
    fields = {k: v for k, v in base.items() if k != "region_code"}
    body = urlencode({**fields, "csrf_token": _form(client, "/cases/new")}) + "&region_code=%ED%A0%80"
    raw = client.post("/cases/new", data=body, content_type="application/x-www-form-urlencoded")
    assert raw.status_code == 422 and "地区代码" in _text(raw)
    session.rollback()
    assert session.scalar(select(Case).where(Case.code == "JL-H-1")) is None


def test_filing_in_a_county_outside_ones_jurisdiction_is_refused(app, session, people) -> None:
    client = _signed_in(app, people.officer("榆树市", "housing"))
    response = client.post("/cases/new", data={
        "csrf_token": _form(client, "/cases/new"), "code": "JL-X-1", "project_name": "越权立案",
        "region_code": people.region("舒兰市").code, "category": "2", "lead_type": "government",
        "households_overdue": "5", "overdue_since": "2019-06-30", "responsible_leader": "王"})
    assert response.status_code == 403 and "无权在该地区立案" in _text(response)
    session.rollback()
    assert session.scalar(select(Case).where(Case.code == "JL-X-1")) is None


def test_a_finance_officer_sees_no_file_button_and_cannot_file(app, session, people) -> None:
    client = _signed_in(app, people.officer("榆树市", "finance"))
    assert 'id="file-case"' not in _text(client.get("/cases"))
    assert client.get("/cases/new").status_code == 403
    csrf = _csrf(_text(client.get("/cases")))
    response = client.post("/cases/new", data={
        "csrf_token": csrf, "code": "JL-F-1", "project_name": "财政立案", "region_code": people.region("榆树市").code,
        "category": "2", "lead_type": "government", "households_overdue": "5", "overdue_since": "2019-06-30",
        "responsible_leader": "王"})
    assert response.status_code == 403 and "只有住建部门、安居办经办人或督办人可以立案" in _text(response)
    session.rollback()
    assert session.scalar(select(Case).where(Case.code == "JL-F-1")) is None


# --- the case page --------------------------------------------------------------------------------

def test_a_case_of_another_county_is_not_found(app, session, people) -> None:
    other = _file(session, people, "舒兰市", "舒兰西关棚改", "P-1")
    client = _signed_in(app, people.officer("榆树市", "housing"))
    for path in (f"/cases/{other.id}", f"/cases/{10**30}", "/cases/0"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "案件不存在" in _text(response) and "舒兰西关棚改" not in _text(response)
    response = client.get(f"/cases/{other.id}/diagram.json")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_case_page_shows_summary_tasks_and_a_timeline_with_channels_opinions_and_files(
        app, session, people, driver) -> None:
    case = driver.new_case(7, households=40)
    intake = driver.task(case, "intake_verify")
    with history.origin("cli", "ops-zhang"):
        tasks.complete_task(session, driver.officer_for(intake), intake.id,
                            {"households_confirmed": 40, "responsible_leader": "赵副市长",
                             "intake_facts": "已建成未验收"}, opinion="情况属实，同意立案。")
    with history.origin("api"):
        driver.complete(case, "classify", category="7")
    driver.complete(case, "c7_prepare_joint_meeting")
    meeting = driver.complete(case, "c7_joint_meeting")
    scan = meeting.data["joint_meeting_minutes"]
    officer = people.officer("榆树市", "housing")
    session.add(Attachment(case_id=case.id, task_id=meeting.id, field_key="joint_meeting_minutes", name=scan["name"],
                           content_type=scan["content_type"], size=scan["size"], sha256=scan["sha256"],
                           uploaded_by_id=officer.id))
    session.commit()
    attachment_id = session.scalar(select(Attachment.id).where(Attachment.case_id == case.id))
    open_task = driver.open_tasks(case)[0]

    client = _signed_in(app, officer)
    page = _text(client.get(f"/cases/{case.id}"))
    assert "赵副市长" in page and "40 户" in page and "第7类" in page
    assert f'href="/tasks/{open_task.id}"' in page and open_task.name in page
    assert "命令行（ops-zhang）" in page and ">接口<" in page and ">服务调用<" in page
    assert "审批意见：" in page and "情况属实，同意立案。" in page
    assert f'href="/attachments/{attachment_id}"' in page and scan["sha256"] in page and "240.0 KB" in page
    assert "联席会议纪要（扫描件）" in page
    assert re.search(r"<td class=\"text-nowrap\">(不到 1 分钟|\d+ 分钟)</td>", page)  # how long a step took
    # Without JavaScript the page still says where the case stands.
    assert "当前：" in page and open_task.name in page


def test_the_timeline_pages_through_thousands_of_events(app, session, people, driver) -> None:
    case = driver.new_case(2)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    session.execute(insert(CaseEvent), [
        {"case_id": case.id, "kind": "case_updated", "at": start + timedelta(minutes=i), "summary": f"第{i}次记录",
         "data": {}, "channel": "api"} for i in range(5000)])
    session.commit()
    client = _signed_in(app, people.officer("榆树市", "housing"))
    newest = _text(client.get(f"/cases/{case.id}"))
    total = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    assert f"共 {total} 条" in newest and total > 5000
    assert newest.count("data-event-id=") == 50
    assert "第4999次记录" in newest and "第4949次记录" not in newest
    second = _text(client.get(f"/cases/{case.id}?page=2"))
    assert "第4949次记录" in second and "第4999次记录" not in second
    oldest = _text(client.get(f"/cases/{case.id}?order=oldest"))
    first_row = re.search(r'data-kind="([a-z_]+)"', oldest).group(1)
    assert first_row == "case_created"
    last = (total + 49) // 50
    tail = _text(client.get(f"/cases/{case.id}?order=oldest&page={last}"))
    assert "第4999次记录" in tail and f"第 {last} / {last} 页" in tail
    for hostile in ("page=" + "9" * 5000, "page=-1", "order=%00", "page=1e400"):
        assert client.get(f"/cases/{case.id}?{hostile}").status_code == 200, hostile


def test_diagram_json_carries_the_stored_xml_and_marks_where_the_case_stands(app, session, people, driver) -> None:
    case = driver.new_case(2)
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["urge_builder"]
    # The XML comes from the case's stored version, never from bpmn/ on disk.
    version_id = session.scalar(select(ProcessInstance.version_id).where(ProcessInstance.case_id == case.id))
    stored = session.scalar(select(ProcessFile).where(ProcessFile.version_id == version_id,
                                                      ProcessFile.file_name == "case_lifecycle.bpmn"))
    session.execute(update(ProcessFile).where(ProcessFile.id == stored.id)
                    .values(source=stored.source + "\n<!-- stored copy -->\n"))
    session.commit()
    client = _signed_in(app, people.officer("榆树市", "housing"))
    found = client.get(f"/cases/{case.id}/diagram.json").get_json()
    by_container = {d["container"]: d for d in found["diagrams"]}
    assert list(by_container) == ["diagram-case_lifecycle", "diagram-category_2"]
    lifecycle, category = by_container["diagram-case_lifecycle"], by_container["diagram-category_2"]
    assert lifecycle["xml"].endswith("<!-- stored copy -->\n")
    assert {"start_case", "intake_verify", "classify", "gw_category"} <= set(lifecycle["done"])
    assert lifecycle["active"] == ["call_category_2"] and lifecycle["cancelled"] == []
    assert category["active"] == ["urge_builder"] and "c2_start" in category["done"]
    assert category["file_name"] == "category_2_under_construction.bpmn" and "<bpmn:definitions" in category["xml"]
    # The page's containers carry the same ids for a browser to check against the drawing.
    page = _text(client.get(f"/cases/{case.id}"))
    container = re.search(r'<div class="hq-diagram mb-3" id="diagram-category_2"[^>]*>', page).group(0)
    assert 'data-active="urge_builder"' in container and "c2_start" in container
    assert "case-diagram.js" in page and "bpmn-navigated-viewer.production.min.js" in page


def test_signed_households_and_called_processes_are_shown(app, session, people, driver) -> None:
    case = driver.new_case(2, households=12)
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    driver.complete(case, "sign_return_agreements", agreements_signed=7)
    client = _signed_in(app, people.officer("榆树市", "housing"))
    page = _text(client.get(f"/cases/{case.id}"))
    assert re.search(r'id="households-signed">7 户<', page)
    found = client.get(f"/cases/{case.id}/diagram.json").get_json()
    by_container = {d["container"]: d for d in found["diagrams"]}
    # A file holding several processes is one drawing: the category and its continuation together.
    assert by_container["diagram-category_2"]["process_ids"] == ["category_2", "category_2_delivery"]
    assert "call_c2_delivery" in by_container["diagram-category_2"]["active"]
    shared = by_container["diagram-sub_sign_agreements"]
    assert shared["file_name"] == "shared_resettlement.bpmn"
    # 7 of 12 signed: the step came round again, so it is active (the loop's gateway is done).
    assert shared["active"] == ["sign_return_agreements"] and "gw_all_signed" in shared["done"]


# --- 改变类别 ---------------------------------------------------------------------------------------

def test_city_supervisor_reclassifies_from_the_page_after_confirming(app, session, people, driver) -> None:
    case = driver.new_case(2)
    driver.intake_and_classify(case)
    client = _signed_in(app, people.supervisor("长春市"))
    page = _text(client.get(f"/cases/{case.id}"))
    assert 'id="reclassify-form"' in page and 'id="escalate-form"' in page and 'id="reassign-hint"' in page
    csrf = _csrf(page)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    form = {"csrf_token": csrf, "category": "3", "reason": "经核查项目实为未开工", "version": version}
    missing = client.post(f"/cases/{case.id}/reclassify", data={**form, "reason": "", "step": "confirm"})
    assert missing.status_code == 422 and "改类理由：必填" in _text(missing)
    confirm = client.post(f"/cases/{case.id}/reclassify", data={**form, "step": "confirm"})
    assert confirm.status_code == 200 and "请确认" in _text(confirm) and "第3类" in _text(confirm)
    session.refresh(case)
    assert case.category == 2  # nothing happens before the confirmation
    done = client.post(f"/cases/{case.id}/reclassify", data={**form, "step": "execute"})
    assert done.status_code == 302 and done.headers["Location"] == f"/cases/{case.id}"
    session.rollback()
    assert session.get(Case, case.id).category == 3
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.kind == "case_reclassified")).one()
    assert event.channel == "web" and event.data["reason"] == "经核查项目实为未开工"
    found = client.get(f"/cases/{case.id}/diagram.json").get_json()
    by_container = {d["container"]: d for d in found["diagrams"]}
    assert by_container["diagram-category_2"]["cancelled"] == ["urge_builder"]
    assert by_container["diagram-category_2"]["status"] == "cancelled"
    assert "call_category_2" in by_container["diagram-case_lifecycle"]["cancelled"]
    assert by_container["diagram-case_lifecycle"]["active"] == ["call_category_3"]
    assert "已将案件由第2类改为第3类" in _text(client.get(f"/cases/{case.id}"))
    # The same confirmation sent again is stale: the case moved on since the form was read.
    again = client.post(f"/cases/{case.id}/reclassify", data={**form, "category": "4", "step": "execute"})
    assert again.status_code == 409 and "已被他人修改" in _text(again)


def test_officers_and_auditors_get_no_reclassify_form_and_a_post_is_refused(app, session, people, driver) -> None:
    case = driver.new_case(2)
    driver.intake_and_classify(case)
    officer = _signed_in(app, people.officer("榆树市", "housing"))
    page = _text(officer.get(f"/cases/{case.id}"))
    assert 'id="reclassify-form"' not in page and "即将上线" not in page
    refused = officer.post(f"/cases/{case.id}/reclassify", data={
        "csrf_token": _csrf(page), "category": "3", "reason": "越权", "step": "execute"})
    assert refused.status_code == 403 and "只有市级或省级督办人可以改变案件类别" in _text(refused)
    session.rollback()
    assert session.get(Case, case.id).category == 2
    auditor = _signed_in(app, people.user("吉林省", "supervision", "auditor"))
    page = _text(auditor.get(f"/cases/{case.id}"))
    assert "<form method=\"post\" action=\"/cases" not in page and "即将上线" not in page
    assert 'id="file-case"' not in _text(auditor.get("/cases"))


def test_script_in_a_project_name_is_shown_as_text(app, session, people) -> None:
    case = _file(session, people, "榆树市", "<script>alert(1)</script>棚改", "X-1")
    client = _signed_in(app, people.officer("榆树市", "housing"))
    for path in ("/cases", f"/cases/{case.id}"):
        page = _text(client.get(path))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;棚改" in page, path
        assert "<script>alert(1)" not in page, path
