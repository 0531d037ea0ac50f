"""The 通知 page and the bell: the count in every page's header, the list (unread marked), opening one
(marks it read, goes to its task or case), marking one or all read; CSRF on every form; another
person's notification does not exist."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Notification
from tests.conftest import at
from tests.pages import csrf, signed_in
from workflows import escalations, notifications

NOW = at("2026-03-02 09:00")


@pytest.fixture
def urged(session, people, driver):  # noqa: ANN001, ANN201
    """Two escalations of 榆树市住建局 (one about a task) and one of its 财政局."""
    housing, finance = people.officer("榆树市", "housing"), people.officer("榆树市", "finance")
    city = people.supervisor("长春市")
    case = driver.new_case(2, "榆树市", now=NOW)
    [task] = driver.open_tasks(case)
    escalations.escalate(session, city, case.id, level="urge", reason="逾期<script>alert(1)</script>",
                         agency_id=housing.agency_id, now=NOW)
    escalations.escalate(session, city, case.id, level="supervise", reason="仍未推进", task_id=task.id,
                         agency_id=housing.agency_id, now=NOW)
    escalations.escalate(session, city, case.id, level="urge", reason="资金未到位", agency_id=finance.agency_id,
                         now=NOW)
    return case, task


def _unread(session, user) -> int:  # noqa: ANN001
    session.rollback()  # a fresh read: the app wrote in its own session
    return notifications.unread_count(session, user)


def _unread_badge(page: str) -> str | None:
    found = re.search(r'id="unread-count">(\d+)<', page)
    return found.group(1) if found else None


def test_the_bell_counts_unread_and_the_list_shows_them_as_text(app, people, urged) -> None:  # noqa: ANN001
    client = signed_in(app, people.officer("榆树市", "housing"))
    inbox = client.get("/inbox").get_data(as_text=True)
    assert _unread_badge(inbox) == "2"
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('data-read="no"') == 2 and "督办：" in page and "催办：" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_opening_marks_read_and_goes_to_the_task_or_case(app, session, people, urged) -> None:  # noqa: ANN001
    case, task = urged
    housing = people.officer("榆树市", "housing")
    client = signed_in(app, housing)
    page = client.get("/notifications").get_data(as_text=True)
    by_kind = {n.task_id: n for n in notifications.notification_page(session, housing).items}
    about_task, about_case = by_kind[task.id], by_kind[None]
    r = client.post(f"/notifications/{about_task.id}/open", data={"csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{task.id}")
    r = client.post(f"/notifications/{about_case.id}/open", data={"csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case.id}")
    session.rollback()
    assert all(n.read_at is not None for n in session.scalars(
        select(Notification).where(Notification.user_id == housing.id)))
    assert _unread_badge(client.get("/notifications").get_data(as_text=True)) is None


def test_mark_one_then_all_read(app, session, people, urged) -> None:  # noqa: ANN001
    housing = people.officer("榆树市", "housing")
    client = signed_in(app, housing)
    page = client.get("/notifications?unread=1").get_data(as_text=True)
    first = re.search(r'data-notification-id="(\d+)"', page).group(1)
    r = client.post("/notifications/read", data={"csrf_token": csrf(page), "id": first, "next": "/notifications?unread=1"})
    assert r.status_code == 302 and r.headers["Location"] == "/notifications?unread=1"
    assert _unread(session, housing) == 1
    after = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已将 1 条通知标为已读" in after and after.count('data-read="no"') == 1
    client.post("/notifications/read", data={"csrf_token": csrf(after), "all": "1", "next": "https://evil.example/"})
    assert _unread(session, housing) == 0


def test_forms_need_the_csrf_token_and_another_persons_notification_does_not_exist(
        app, session, people, urged) -> None:  # noqa: ANN001
    finance = people.officer("榆树市", "finance")
    theirs = notifications.notification_page(session, finance).items[0].id
    client = signed_in(app, people.officer("榆树市", "housing"))
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 400
    assert _unread(session, people.officer("榆树市", "housing")) == 2
    page = client.get("/notifications").get_data(as_text=True)
    r = client.post(f"/notifications/{theirs}/open", data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "通知不存在" in r.get_data(as_text=True)
    r = client.post(f"/notifications/{10**30}/open", data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "通知不存在" in r.get_data(as_text=True)
    client.post("/notifications/read", data={"csrf_token": csrf(page), "id": str(theirs)})
    assert _unread(session, finance) == 1


def test_a_bad_id_in_the_form_is_a_message_not_an_error(app, session, people, urged) -> None:  # noqa: ANN001
    housing = people.officer("榆树市", "housing")
    client = signed_in(app, housing)
    page = client.get("/notifications").get_data(as_text=True)
    r = client.post("/notifications/read", data={"csrf_token": csrf(page), "id": "abc"}, follow_redirects=True)
    assert r.status_code == 200 and "通知编号" in r.get_data(as_text=True)
    assert _unread(session, housing) == 2
