"""The auditor's pages: case histories across the jurisdiction with filters, one case's complete
history as JSON and as a printable page; read-only, and nothing outside the jurisdiction."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from models import CaseEvent
from tests.conftest import at
from tests.pages import signed_in as _client


def _event_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-event-id="(\d+)"', html)]


def _stored(session, case_id: int | None = None, **where) -> list[int]:  # noqa: ANN001, ANN003
    session.rollback()
    stmt = select(CaseEvent.id).order_by(CaseEvent.id)
    if case_id is not None:
        stmt = stmt.where(CaseEvent.case_id == case_id)
    for name, value in where.items():
        stmt = stmt.where(getattr(CaseEvent, name) == value)
    return list(session.scalars(stmt))


@pytest.fixture
def story(driver, people):
    """A 榆树市 case filed on 2 March and classified on 10 March, a 农安县 case filed on 20 March, and a
    舒兰市 (吉林市) case: the 长春市 auditor sees the first two only."""
    yushu = driver.new_case(2, "榆树市", now=at("2026-03-02 09:00"))
    driver.travel_to(at("2026-03-10 10:00"))
    driver.intake_and_classify(yushu)
    nongan = driver.new_case(6, "农安县", now=at("2026-03-20 09:00"))
    shulan = driver.new_case(2, "舒兰市", now=at("2026-03-21 09:00"))
    return {"yushu": yushu, "nongan": nongan, "shulan": shulan}


@pytest.fixture
def auditor(people):
    return people.user("长春市", "supervision", "auditor")


def test_auditor_reads_every_event_of_the_jurisdiction_newest_first(app, session, auditor, story) -> None:
    page = _client(app, auditor).get("/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    inside = _stored(session, story["yushu"].id) + _stored(session, story["nongan"].id)
    assert _event_ids(html) == sorted(inside, reverse=True)
    assert story["shulan"].code not in html and "舒兰市" not in html
    assert f'href="/cases/{story["yushu"].id}"' in html and "立案" in html
    assert "2026-03-02 09:00" in html  # China time


def test_filters_by_case_actor_kind_channel_and_dates(app, session, people, auditor, story) -> None:
    client = _client(app, auditor)
    yushu = story["yushu"]

    def shown(**query) -> list[int]:  # noqa: ANN003
        response = client.get("/audit", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sorted(_event_ids(response.get_data(as_text=True)))

    assert shown(case_code=yushu.code) == _stored(session, yushu.id)
    officer = people.officer("农安县", "housing")
    assert shown(username=officer.username.upper()) == _stored(session, actor_id=officer.id)
    created = _stored(session, kind="case_created")
    assert shown(kind="case_created") == [i for i in created if i not in _stored(session, story["shulan"].id)]
    assert shown(channel="cli") == []
    assert shown(channel="service") == sorted(_stored(session, yushu.id) + _stored(session, story["nongan"].id))
    assert shown(since="2026-03-10", until="2026-03-10") == [
        e.id for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == yushu.id))
        if e.at >= at("2026-03-10 00:00")]
    assert shown(since="2026-03-20") == _stored(session, story["nongan"].id)


def test_wrong_filters_are_explained_next_to_the_field(app, auditor, story) -> None:
    client = _client(app, auditor)
    backwards = client.get("/audit?since=2026-03-10&until=2026-03-01")
    html = backwards.get_data(as_text=True)
    assert backwards.status_code == 422 and 'data-error-for="since">起始日期：不能晚于截止日期' in html
    bad_date = client.get("/audit?until=2026-13-01").get_data(as_text=True)
    assert 'data-error-for="until">截止日期：应为日期，格式 YYYY-MM-DD' in bad_date
    nul = client.get("/audit?case_code=JL%00x")
    assert nul.status_code == 422 and "案件编号：不能包含控制字符" in nul.get_data(as_text=True)
    assert client.get("/audit?kind=nonsense").status_code == 422
    assert client.get("/audit?page=abc").status_code == 422
    assert client.get("/audit?page=" + "9" * 5000).status_code == 422
    far = client.get(f"/audit?page={10**30}")
    assert far.status_code == 200 and "没有符合条件的事件" in far.get_data(as_text=True)
    assert client.get("/audit?case_code=" + "x" * 100_000).status_code in (414, 422)


def test_paging_keeps_the_filters(app, driver, auditor, story, monkeypatch) -> None:
    from workflows import audit
    monkeypatch.setattr(audit, "PAGE", 2)
    client = _client(app, auditor)
    first = client.get("/audit?kind=task_opened&channel=service").get_data(as_text=True)
    assert "第 1 / 2 页" in first
    link = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "kind=task_opened" in link and "channel=service" in link and "page=2" in link
    second = client.get(link).get_data(as_text=True)
    assert len(_event_ids(first)) == 2 and _event_ids(second)
    assert set(_event_ids(first)).isdisjoint(_event_ids(second))
    assert 'rel="next"' not in second and 'rel="prev"' in second


def test_export_holds_every_event_of_the_case_and_nothing_else(app, session, auditor, story) -> None:
    client = _client(app, auditor)
    yushu = story["yushu"]
    response = client.get(f"/audit/cases/{yushu.id}/history.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="case-{yushu.id}-history.json"'
    body = json.loads(response.get_data(as_text=True))
    assert body["case"]["code"] == yushu.code and body["case"]["region"] == "榆树市"
    assert [e["id"] for e in body["events"]] == _stored(session, yushu.id)
    first = body["events"][0]
    assert first["kind"] == "case_created" and first["actor"]["display_name"] and first["channel"] == "service"


def test_printable_history_lists_every_event_for_paper(app, session, auditor, story) -> None:
    yushu = story["yushu"]
    page = _client(app, auditor).get(f"/audit/cases/{yushu.id}/print")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _event_ids(html) == _stored(session, yushu.id)
    assert "@media print" in html and "nav.navbar" in html and f"{yushu.code} {yushu.project_name} · 办理历史" in html
    assert "2026-03-02 09:00:00" in html


@pytest.mark.parametrize("path", ["/audit/cases/{id}/history.json", "/audit/cases/{id}/print"])
def test_a_case_outside_the_jurisdiction_does_not_exist(app, auditor, story, path) -> None:
    client = _client(app, auditor)
    assert client.get(path.format(id=story["shulan"].id)).status_code == 404
    assert client.get(path.format(id=10**30)).status_code == 404
    assert client.get(path.format(id=2**31)).status_code == 404


def test_auditor_pages_offer_no_control_that_changes_anything(app, auditor, story) -> None:
    client = _client(app, auditor)
    for path in ("/audit", f"/audit?case_code={story['yushu'].code}", f"/audit/cases/{story['yushu'].id}/print"):
        html = client.get(path).get_data(as_text=True)
        posts = re.findall(r'<form[^>]*method="post"[^>]*>', html, re.I)
        assert len(posts) == 2 and all('action="/logout"' in f or 'action="/language"' in f for f in posts), posts
        assert not re.search(r"hx-(post|put|patch|delete)|formmethod", html, re.I)


@pytest.mark.parametrize("who", ["officer", "supervisor", "admin"])
def test_only_auditors_read_the_audit_pages(app, people, story, who) -> None:
    user = {"officer": lambda: people.officer("榆树市", "housing"), "supervisor": lambda: people.supervisor("长春市"),
            "admin": lambda: people.user("吉林省", "supervision", "admin")}[who]()
    client = _client(app, user)
    for path in ("/audit", f"/audit/cases/{story['yushu'].id}/history.json", f"/audit/cases/{story['yushu'].id}/print"):
        refused = client.get(path)
        assert refused.status_code == 403 and "只有审计人员可以查看审计页面" in refused.get_data(as_text=True)
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


def test_auditor_menu_has_the_audit_pages(app, auditor) -> None:
    assert 'href="/audit"' in _client(app, auditor).get("/").get_data(as_text=True)
    visitor = app.test_client().get("/audit/cases/1/print")
    assert visitor.status_code == 302 and "/login?next=/audit/cases/1/print" in visitor.headers["Location"]


def test_printable_history_gives_each_evidence_files_hash(app, session, driver, people, auditor) -> None:
    import hashlib
    case = driver.new_case(1, "榆树市")
    driver.to_court_judgment(case)
    driver.complete(case, "court_judgment")
    expected = hashlib.sha256(b"%PDF-1.7 test scan").hexdigest()
    html = _client(app, auditor).get(f"/audit/cases/{case.id}/print").get_data(as_text=True)
    assert f'data-sha256="{expected}"' in html and f"<code>{expected}</code>" in html
    assert "附件：" in html
