"""The access log: every sign-in, failure, lock and token change is written with where it came from
(channel, client address, token), and the database refuses to rewrite or delete it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from models import AccessEvent
from tests.conftest import PASSWORD, at
from workflows.auth import MAX_FAILED_SIGN_INS
from workflows.engine import clock

ADDRESS = "10.20.30.40"
FROM_ADDRESS = {"environ_base": {"REMOTE_ADDR": ADDRESS}}


def sign_in(client, username: str, password: str):  # noqa: ANN001, ANN201
    return client.post("/api/v1/session", json={"username": username, "password": password}, **FROM_ADDRESS)


def events(session, kind: str | None = None) -> list[AccessEvent]:  # noqa: ANN001
    session.rollback()  # a fresh snapshot: the app wrote through its own session
    stmt = select(AccessEvent).order_by(AccessEvent.id)
    return list(session.scalars(stmt.where(AccessEvent.kind == kind) if kind else stmt))


@pytest.fixture
def officer(people):  # noqa: ANN001, ANN201
    return people.officer("榆树市", "housing")


def test_sign_in_is_logged_with_the_channel_and_the_clients_address(app, session, officer):
    assert sign_in(app.test_client(), officer.username, PASSWORD).status_code == 200
    [event] = events(session)
    assert event.kind == "sign_in"
    assert (event.channel, event.address, event.token_id) == ("api", ADDRESS, None)
    assert (event.actor_id, event.subject_user_id, event.username) == (officer.id, officer.id, officer.username)
    assert officer.display_name in event.summary and event.kind_label == "登录"


def test_wrong_password_is_logged_against_the_account(app, session, officer):
    assert sign_in(app.test_client(), officer.username, "wrong").status_code == 401
    [event] = events(session)
    assert event.kind == "sign_in_failed"
    assert (event.channel, event.address) == ("api", ADDRESS)
    assert (event.actor_id, event.subject_user_id) == (None, officer.id)  # nobody was signed in
    assert "密码错误" in event.summary and "连续第 1 次" in event.summary


def test_sign_in_as_an_unknown_name_is_logged_with_the_name_typed(app, session):
    typed = "张三-不存在"
    assert sign_in(app.test_client(), typed, PASSWORD).status_code == 401
    [event] = events(session)
    assert event.kind == "sign_in_failed"
    assert (event.username, event.subject_user_id, event.actor_id) == (typed, None, None)
    assert typed in event.summary and "不存在" in event.summary
    assert (event.channel, event.address) == ("api", ADDRESS)


def test_the_lock_and_attempts_while_locked_are_logged(app, session, officer):
    clock.set_global(at("2026-03-02 09:00"))
    client = app.test_client()
    for attempt in range(MAX_FAILED_SIGN_INS):
        sign_in(client, officer.username, f"wrong-{attempt}")
    assert sign_in(client, officer.username, PASSWORD).status_code == 401  # locked: right password refused
    kinds = [e.kind for e in events(session)]
    assert kinds == ["sign_in_failed"] * (MAX_FAILED_SIGN_INS - 1) + ["sign_in_locked", "sign_in_failed"]
    locked, refused = events(session)[-2:]
    assert "锁定至 2026-03-02 09:15" in locked.summary
    assert (locked.subject_user_id, locked.channel, locked.address) == (officer.id, "api", ADDRESS)
    assert "锁定中" in refused.summary
    assert refused.data["locked_until"] == at("2026-03-02 09:15").isoformat()


def test_token_creation_and_revocation_are_logged_with_the_token(api_as, session, officer):
    api = api_as(officer)  # its own token is made through the service, outside any request
    before = len(events(session))
    created = api.post("/me/tokens", json={"name": "对账脚本"}, **FROM_ADDRESS)
    assert created.status_code == 201, created.json
    assert api.delete(f"/me/tokens/{created.json['id']}", **FROM_ADDRESS).status_code == 204
    made, revoked = events(session)[before:]
    token_id = created.json["id"]
    assert (made.kind, made.token_id, made.channel, made.address) == ("token_created", token_id, "api", ADDRESS)
    assert (made.actor_id, made.subject_user_id) == (officer.id, officer.id)
    assert made.data["name"] == "对账脚本" and "对账脚本" in made.summary
    assert (revoked.kind, revoked.token_id, revoked.channel, revoked.address) == \
        ("token_revoked", token_id, "api", ADDRESS)
    assert created.json["token"] not in made.summary + str(made.data)
    # Revoking twice changes nothing and writes nothing more.
    assert api.delete(f"/me/tokens/{token_id}").status_code == 204
    assert len(events(session, "token_revoked")) == 1


@pytest.mark.parametrize("statement", [
    "UPDATE access_events SET summary = '篡改' WHERE kind = 'sign_in_failed'",
    "UPDATE access_events SET address = NULL",
    "DELETE FROM access_events WHERE kind = 'sign_in_failed'",
    "DELETE FROM access_events",
])
def test_raw_sql_cannot_rewrite_or_delete_the_access_log(app, engine, session, officer, statement):
    assert sign_in(app.test_client(), officer.username, "wrong").status_code == 401
    assert sign_in(app.test_client(), officer.username, PASSWORD).status_code == 200
    before = [(e.id, e.kind, e.summary, e.address) for e in events(session)]
    assert len(before) == 2
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert [(e.id, e.kind, e.summary, e.address) for e in events(session)] == before


def test_bulk_orm_statements_cannot_rewrite_the_access_log_either(app, session, officer):
    assert sign_in(app.test_client(), officer.username, "wrong").status_code == 401
    before = [(e.id, e.summary) for e in events(session)]
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(update(AccessEvent).values(summary="x").execution_options(synchronize_session=False))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(delete(AccessEvent).execution_options(synchronize_session=False))
    session.rollback()
    assert [(e.id, e.summary) for e in events(session)] == before
