"""Notifications: the in-app centre (once per person, unread count, only one's own), the escalation
steps and the worker's task windows that write them, and delivery by e-mail (a real SMTP conversation
with a local server) and webhook (a real HTTP POST) with retries and a record of every attempt."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import func, select

from models import DeliveryAttempt, Notification, NotificationDelivery, Task
from tests.conftest import at
from workflows import escalations, notifications
from workflows.errors import Invalid

NOW = at("2026-03-02 09:00")


@pytest.fixture(autouse=True)
def _no_channels() -> Iterator[None]:
    yield
    notifications.configure(notifications.Channels())


@pytest.fixture
def case(driver):  # noqa: ANN001, ANN201
    return driver.new_case(2, "榆树市", now=NOW)


def _mine(session, user) -> list[Notification]:  # noqa: ANN001
    session.rollback()
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id)))


def _count(session, model) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


# --- escalations ------------------------------------------------------------------------------------

def test_an_escalation_notifies_the_target_agency_and_its_read_receipt_and_answer_notify_the_raiser(
        session, people, case):  # noqa: ANN001
    housing, colleague = people.officer("榆树市", "housing"), people.user("榆树市", "housing", "supervisor")
    city = people.supervisor("长春市")
    finance = people.officer("榆树市", "finance")
    raised = escalations.escalate(session, city, case.id, level="urge", reason="停工三个月",
                                  agency_id=housing.agency_id, now=NOW)
    for person in (housing, colleague):
        [note] = _mine(session, person)
        assert (note.kind, note.escalation_id, note.case_id) == ("escalated", raised.id, case.id)
        assert note.title.startswith("催办：") and case.code in note.title and "停工三个月" in note.body
    assert _mine(session, finance) == [] and _mine(session, city) == []

    escalations.acknowledge(session, housing, raised.id, now=NOW + timedelta(hours=1))
    escalations.acknowledge(session, colleague, raised.id, now=NOW + timedelta(hours=2))  # already read
    [receipt] = _mine(session, city)
    assert receipt.kind == "acknowledged" and housing.display_name in receipt.body

    escalations.respond(session, housing, raised.id, "已复工", now=NOW + timedelta(hours=3))
    kinds = [n.kind for n in _mine(session, city)]
    assert kinds == ["acknowledged", "answered"] and "已复工" in _mine(session, city)[1].body


def test_a_leader_escalation_notifies_the_county_desks_that_serve_the_leader(session, people, case):  # noqa: ANN001
    desk, government = people.officer("榆树市", "supervision"), people.officer("榆树市", "government")
    housing = people.officer("榆树市", "housing")
    escalations.escalate(session, people.supervisor("吉林省"), case.id, level="summon", reason="约谈包保领导",
                         target="leader", now=NOW)
    assert [n.kind for n in _mine(session, desk)] == ["escalated"]
    assert [n.kind for n in _mine(session, government)] == ["escalated"]
    assert _mine(session, housing) == []


# --- tasks (the worker's windows) -------------------------------------------------------------------

def test_task_windows_notify_new_due_soon_and_overdue_tasks_once_each(session, people, driver, case):  # noqa: ANN001
    [task] = driver.open_tasks(case)
    officer = driver.officer_for(task)
    session.rollback()
    first = notifications.notify_tasks(session, NOW + timedelta(minutes=5))
    assert first.assigned >= 1
    [note] = [n for n in _mine(session, officer) if n.task_id == task.id]
    assert note.kind == "assigned" and task.name in note.title

    again = notifications.notify_tasks(session, NOW + timedelta(minutes=6))
    assert again.assigned == 0 and len(_mine(session, officer)) == 1  # a second pass writes nothing new

    session.rollback()
    due = session.get(Task, task.id).due_at
    assert due is not None
    notifications.notify_tasks(session, due - timedelta(hours=30))
    notifications.notify_tasks(session, due + timedelta(hours=1))
    notifications.notify_tasks(session, due + timedelta(hours=2))
    kinds = [n.kind for n in _mine(session, officer) if n.task_id == task.id]
    assert kinds == ["assigned", "due_soon", "overdue"]


def test_a_claimed_task_notifies_its_holder_only(session, people, driver, case):  # noqa: ANN001
    [task] = driver.open_tasks(case)
    holder = driver.officer_for(task)
    colleague = people.user("榆树市", "housing", "supervisor") if holder.agency.role == "housing" else None
    session.rollback()
    row = session.get(Task, task.id)
    row.assignee_id = holder.id
    session.commit()
    notifications.notify_tasks(session, NOW + timedelta(minutes=5))
    assert [n.kind for n in _mine(session, holder)] == ["assigned"]
    if colleague is not None:
        assert _mine(session, colleague) == []


def test_a_completed_task_is_not_notified(session, people, driver, case):  # noqa: ANN001
    [task] = driver.open_tasks(case)
    officer = driver.officer_for(task)
    driver.complete(case, task.bpmn_id, now=NOW + timedelta(minutes=1))
    session.rollback()
    notifications.notify_tasks(session, NOW + timedelta(minutes=5))
    assert all(n.task_id != task.id for n in _mine(session, officer))


# --- the centre -------------------------------------------------------------------------------------

def test_unread_count_page_and_mark_read_touch_only_ones_own(session, people, case):  # noqa: ANN001
    housing, other = people.officer("榆树市", "housing"), people.officer("榆树市", "finance")
    city = people.supervisor("长春市")
    for level in ("urge", "supervise"):
        escalations.escalate(session, city, case.id, level=level, reason=f"{level} 事由",
                             agency_id=housing.agency_id, now=NOW)
    escalations.escalate(session, city, case.id, level="urge", reason="财政", agency_id=other.agency_id, now=NOW)
    assert notifications.unread_count(session, housing) == 2
    page = notifications.notification_page(session, housing)
    assert page.total == 2 and [n.title[:2] for n in page.items] == ["督办", "催办"]  # newest first
    theirs = _mine(session, other)[0].id
    assert notifications.mark_read(session, housing, [page.items[0].id, theirs], now=NOW) == 1
    assert notifications.unread_count(session, housing) == 1 and notifications.unread_count(session, other) == 1
    assert notifications.notification_page(session, housing, unread_only=True).total == 1
    assert notifications.mark_read(session, housing, None, now=NOW) == 1
    assert notifications.unread_count(session, housing) == 0


@pytest.mark.parametrize("ids", [["1"], [True], [2**40], [-1], "1", [None], list(range(1, 1002))])
def test_mark_read_refuses_bad_ids_naming_the_field(session, people, ids) -> None:  # noqa: ANN001
    with pytest.raises(Invalid) as refused:
        notifications.mark_read(session, people.officer("榆树市", "housing"), ids)
    assert list(refused.value.errors) == ["ids"] and "通知编号" in refused.value.message


# --- delivery ---------------------------------------------------------------------------------------

class _Mailbox(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[tuple[str, list[str], str]] = []
        self.refuse = False


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, QUIT."""

    def _say(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        server: _Mailbox = self.server  # type: ignore[assignment]
        self._say("220 test ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 test")
            elif verb == "MAIL":
                sender = command
                self._say("250 OK")
            elif verb == "RCPT":
                if server.refuse:
                    self._say("550 mailbox unavailable")
                    continue
                recipients.append(command.split(":", 1)[1].strip("<> "))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 go on")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode("utf-8", "replace"))
                server.messages.append((sender, recipients, "".join(body)))
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 OK")


@pytest.fixture
def mailbox() -> Iterator[_Mailbox]:
    server = _Mailbox()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


class _Hook(HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.received: list[dict] = []
        self.status = 200


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        server: _Hook = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.received.append(json.loads(body))
        self.send_response(server.status)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _escalate_to_housing(session, people, case):  # noqa: ANN001, ANN202
    housing = people.officer("榆树市", "housing")
    housing.email = "housing@example.gov.cn"
    session.commit()
    return escalations.escalate(session, people.supervisor("长春市"), case.id, level="urge", reason="停工",
                                agency_id=housing.agency_id, now=NOW)


def test_email_and_webhook_deliveries_are_sent_once_with_each_attempt_recorded(
        session, people, case, mailbox, hook):  # noqa: ANN001
    notifications.configure(notifications.Channels(smtp_host="127.0.0.1", smtp_port=mailbox.server_address[1],
                                                   smtp_sender="huiqian@example.gov.cn",
                                                   webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/n"))
    _escalate_to_housing(session, people, case)
    session.rollback()
    assert _count(session, NotificationDelivery) == 2  # one person has an address; the webhook gets each
    run = notifications.deliver_due(session, NOW)
    assert (run.sent, run.retrying, run.failed) == (2, 0, 0)
    [(_, rcpt, text)] = mailbox.messages
    assert rcpt == ["housing@example.gov.cn"] and "Subject:" in text
    [posted] = hook.received
    assert posted["kind"] == "escalated" and posted["title"].startswith("催办")
    assert notifications.deliver_due(session, NOW + timedelta(hours=1)).sent == 0  # nothing twice
    assert len(mailbox.messages) == 1 and len(hook.received) == 1
    session.rollback()
    assert [a.ok for a in session.scalars(select(DeliveryAttempt))] == [True, True]


def test_a_failing_webhook_is_retried_with_growing_waits_then_marked_failed(session, people, case, hook):  # noqa: ANN001
    notifications.configure(notifications.Channels(webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/n",
                                                   max_attempts=3))
    _escalate_to_housing(session, people, case)
    hook.status = 503
    first = notifications.deliver_due(session, NOW)
    assert (first.sent, first.retrying) == (0, 1)
    assert notifications.deliver_due(session, NOW + timedelta(seconds=30)).retrying == 0  # not due yet
    session.rollback()
    delivery = session.scalars(select(NotificationDelivery)).one()
    assert delivery.next_attempt_at == NOW + notifications.FIRST_RETRY and "503" in delivery.last_error
    second = notifications.deliver_due(session, delivery.next_attempt_at)
    session.rollback()
    delivery = session.scalars(select(NotificationDelivery)).one()
    assert second.retrying == 1 and delivery.next_attempt_at > NOW + 2 * notifications.FIRST_RETRY
    third = notifications.deliver_due(session, delivery.next_attempt_at)
    assert third.failed == 1
    session.rollback()
    delivery = session.scalars(select(NotificationDelivery)).one()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert [a.ok for a in session.scalars(select(DeliveryAttempt))] == [False, False, False]
    assert len(hook.received) == 3


def test_a_refusing_mail_server_does_not_stop_the_webhook(session, people, case, mailbox, hook):  # noqa: ANN001
    mailbox.refuse = True
    notifications.configure(notifications.Channels(smtp_host="127.0.0.1", smtp_port=mailbox.server_address[1],
                                                   webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/n"))
    _escalate_to_housing(session, people, case)
    run = notifications.deliver_due(session, NOW)
    assert (run.sent, run.retrying) == (1, 1) and len(hook.received) == 1
    session.rollback()
    email = session.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "email")).one()
    assert email.status == "pending" and "550" in email.last_error


def test_two_workers_claiming_at_once_send_each_delivery_once(session_factory, session, people, case, hook):  # noqa: ANN001
    notifications.configure(notifications.Channels(webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/n"))
    for level in ("urge", "supervise"):
        escalations.escalate(session, people.supervisor("长春市"), case.id, level=level, reason="停工",
                             agency_id=people.officer("榆树市", "housing").agency_id, now=NOW)
    runs: list[notifications.DeliveryRun] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        own = session_factory()
        try:
            barrier.wait()
            runs.append(notifications.deliver_due(own, NOW))
        finally:
            own.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(runs) == 2  # neither worker failed (on SQLite: "database is locked" while claiming)
    assert sum(r.sent for r in runs) == 2 and len(hook.received) == 2
    assert sorted(p["escalation_id"] for p in hook.received) == sorted({p["escalation_id"] for p in hook.received})


# --- the API ----------------------------------------------------------------------------------------

def test_api_lists_counts_and_marks_read_the_callers_own(api_as, session, people, case):  # noqa: ANN001
    housing = people.officer("榆树市", "housing")
    finance = people.officer("榆树市", "finance")
    raised = escalations.escalate(session, people.supervisor("长春市"), case.id, level="urge", reason="停工",
                                  agency_id=housing.agency_id, now=NOW)
    api = api_as(housing)
    listed = api.get("/notifications", query_string={"unread_only": "true"})
    assert listed.status_code == 200 and listed.json["total"] == 1
    [item] = listed.json["items"]
    assert (item["kind"], item["kind_label"], item["escalation_id"]) == ("escalated", "督办", raised.id)
    assert api.get("/notifications/unread").json == {"unread": 1}
    assert api_as(finance).post("/notifications/read", json={"ids": [item["id"]]}).json == {"marked": 0, "unread": 0}
    assert api.post("/notifications/read", json={"ids": [item["id"]]}).json == {"marked": 1, "unread": 0}


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"ids": [1], "all": True}, 422), ({"ids": []}, 422), ({"ids": ["x"]}, 422),
    ({"ids": [2**40]}, 422), ({"ids": [10**30]}, 400), ({"ids": list(range(1, 1002))}, 422), ({"all": "maybe"}, 422)])
def test_api_mark_read_refuses_bad_bodies_naming_the_field(api_as, people, body, status) -> None:  # noqa: ANN001
    r = api_as(people.officer("榆树市", "housing")).post("/notifications/read", json=body)
    assert r.status_code == status, r.json
    assert any(key.split(".")[0] in ("ids", "all") for key in r.json["errors"]), r.json


def test_the_app_configures_the_channels_from_its_settings(engine, tmp_path) -> None:  # noqa: ANN001
    from webapp import create_app
    create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False), "SECRET_KEY": "x",
                "SMTP_HOST": "mail.example.gov.cn", "SMTP_PORT": 587, "SMTP_STARTTLS": True,
                "NOTIFY_WEBHOOK_URL": "http://im.example.gov.cn/hook", "NOTIFY_MAX_ATTEMPTS": 3})
    configured = notifications.channels()
    assert (configured.smtp_host, configured.smtp_port, configured.smtp_starttls) == ("mail.example.gov.cn", 587, True)
    assert (configured.webhook_url, configured.max_attempts) == ("http://im.example.gov.cn/hook", 3)


def test_an_agency_escalation_is_copied_to_the_desks_that_serve_the_leader(session, people, case):  # noqa: ANN001
    housing, desk = people.officer("榆树市", "housing"), people.officer("榆树市", "supervision")
    government = people.officer("榆树市", "government")
    raised = escalations.escalate(session, people.supervisor("长春市"), case.id, level="urge", reason="停工",
                                  agency_id=housing.agency_id, now=NOW)
    for person in (desk, government):
        [copy] = _mine(session, person)
        assert copy.title.startswith("抄送：催办") and case.responsible_leader in copy.body
        assert copy.escalation_id == raised.id
    assert [n.kind for n in _mine(session, housing)] == ["escalated"]
    session.rollback()
    from models import CaseEvent
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.kind == "escalated")).one()
    assert f"已抄送包保领导{case.responsible_leader}" in event.summary
    assert event.data["copied_to_leader"] == case.responsible_leader


def test_a_worker_down_for_a_week_catches_up_on_what_it_missed(session, people, driver):  # noqa: ANN001
    """The window starts where the last pass left off (National Day week without a worker), not just
    three days back; the very first pass looks back three days only."""
    early = driver.new_case(2, now=NOW - timedelta(days=10))
    [old_task] = driver.open_tasks(early)
    session.rollback()
    first = notifications.notify_tasks(session, NOW - timedelta(days=5))  # the first pass ever
    old_holder = driver.officer_for(old_task)
    assert all(n.task_id != old_task.id for n in _mine(session, old_holder))  # ten days old: not announced

    during = driver.new_case(2, now=NOW - timedelta(days=4))  # the worker is down from here on
    [missed] = driver.open_tasks(during)
    session.rollback()
    back = notifications.notify_tasks(session, NOW + timedelta(days=2))  # six days later
    holder = driver.officer_for(missed)
    assert "assigned" in [n.kind for n in _mine(session, holder) if n.task_id == missed.id]
    assert back.assigned >= 1 and first.assigned == 0


def test_catching_up_stops_at_thirty_days(session, people, driver):  # noqa: ANN001
    notifications.notify_tasks(session, NOW - timedelta(days=90))
    stale = driver.new_case(2, now=NOW - timedelta(days=40))
    recent = driver.new_case(2, now=NOW - timedelta(days=25))
    [stale_task], [recent_task] = driver.open_tasks(stale), driver.open_tasks(recent)
    session.rollback()
    notifications.notify_tasks(session, NOW)  # down for ninety days
    assert all(n.task_id != stale_task.id for n in _mine(session, driver.officer_for(stale_task)))
    assert any(n.task_id == recent_task.id for n in _mine(session, driver.officer_for(recent_task)))
