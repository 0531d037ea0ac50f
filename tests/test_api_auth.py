"""Signing in to the API and staying safe while doing it: the account lock after ten wrong passwords,
tokens that stop working the moment they are revoked or expire, deactivated users shut out, passwords
and token secrets never kept in clear, the per-address limit, and browser writes that need a header
no other site can send."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from models import AccessEvent, User
from tests.conftest import PASSWORD, at
from workflows.auth import LOCK_MINUTES, MAX_FAILED_SIGN_INS
from workflows.engine import clock
from workflows.users import hash_password

XHR = {"X-Requested-With": "XMLHttpRequest"}
MORNING = at("2026-03-02 09:00")


def sign_in(client, username: str, password: str, **kwargs):  # noqa: ANN001, ANN003, ANN201
    return client.post("/api/v1/session", json={"username": username, "password": password}, **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fresh(session, user: User) -> User:  # noqa: ANN001
    """The user as the database has it now (the app wrote through its own session): ending the test
    session's transaction drops its snapshot, which on SQLite's WAL would otherwise hide those writes,
    and expiring reloads objects that the session keeps after its commits."""
    session.rollback()
    session.expire_all()
    return session.get(User, user.id)


@pytest.fixture
def officer(people) -> User:  # noqa: ANN001
    return people.officer("榆树市", "housing")


# --- signing in --------------------------------------------------------------------------------------

def test_officer_signs_in_and_the_session_serves_me(app, officer):
    client = app.test_client()
    r = sign_in(client, officer.username, PASSWORD)
    assert r.status_code == 200, r.json
    assert (r.json["username"], r.json["role"]) == (officer.username, "officer")
    assert "password" not in r.json
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.json
    assert me.json["id"] == officer.id
    assert me.json["jurisdiction"]["name"] == "榆树市"


def test_wrong_password_is_refused_in_chinese(app, officer):
    client = app.test_client()
    r = sign_in(client, officer.username, PASSWORD + "x")
    assert r.status_code == 401
    assert r.json["code"] == "unauthenticated"
    assert r.json["message"] == "用户名或密码错误"
    assert "locked_until" not in r.json
    assert client.get("/api/v1/me").status_code == 401


def test_unknown_user_gets_the_same_refusal_as_a_wrong_password(app):
    r = sign_in(app.test_client(), "nobody-here", PASSWORD)
    assert (r.status_code, r.json["code"], r.json["message"]) == (401, "unauthenticated", "用户名或密码错误")


def test_ten_wrong_passwords_lock_the_account_until_a_stated_time(app, session, officer):
    clock.set_global(MORNING)
    client = app.test_client()
    for attempt in range(1, MAX_FAILED_SIGN_INS):
        r = sign_in(client, officer.username, f"wrong-{attempt}")
        assert (r.status_code, r.json["message"]) == (401, "用户名或密码错误"), attempt
        assert "locked_until" not in r.json
    until = MORNING + timedelta(minutes=LOCK_MINUTES)
    tenth = sign_in(client, officer.username, "wrong-10")
    assert tenth.status_code == 401
    assert tenth.json["code"] == "unauthenticated"
    assert "锁定至 2026-03-02 09:15" in tenth.json["message"]
    assert tenth.json["locked_until"] == until.isoformat()

    # Locked means locked: the right password is refused too, and says until when.
    clock.set_global(until - timedelta(seconds=1))
    r = sign_in(client, officer.username, PASSWORD)
    assert r.status_code == 401
    assert "锁定至 2026-03-02 09:15" in r.json["message"]
    assert r.json["locked_until"] == until.isoformat()
    assert client.get("/api/v1/me").status_code == 401

    clock.set_global(until + timedelta(seconds=1))
    r = sign_in(client, officer.username, PASSWORD)
    assert r.status_code == 200, r.json
    assert client.get("/api/v1/me").json["id"] == officer.id
    user = fresh(session, officer)
    assert (user.failed_sign_ins, user.locked_until) == (0, None)
    # The count starts over: one more wrong password is an ordinary refusal, not a new lock.
    r = sign_in(app.test_client(), officer.username, "wrong-again")
    assert (r.status_code, r.json["message"]) == (401, "用户名或密码错误")
    assert fresh(session, officer).failed_sign_ins == 1


def test_a_successful_sign_in_resets_the_count_of_wrong_passwords(app, session, officer):
    client = app.test_client()
    for attempt in range(MAX_FAILED_SIGN_INS - 1):
        assert sign_in(client, officer.username, f"wrong-{attempt}").status_code == 401
    assert fresh(session, officer).failed_sign_ins == MAX_FAILED_SIGN_INS - 1
    assert sign_in(client, officer.username, PASSWORD).status_code == 200
    assert fresh(session, officer).failed_sign_ins == 0
    for attempt in range(MAX_FAILED_SIGN_INS - 1):
        r = sign_in(app.test_client(), officer.username, f"again-{attempt}")
        assert (r.status_code, r.json["message"]) == (401, "用户名或密码错误")
    assert fresh(session, officer).locked_until is None


def test_checking_a_password_does_not_hold_up_other_writers(app, engine, officer, monkeypatch):
    """The scrypt check (~50 ms) runs outside the sign-in's write transaction: on SQLite that
    transaction locks the whole database, so a burst of guesses would otherwise stall every writer."""
    import workflows.auth

    real = workflows.auth.verify_password
    checked = []

    def verify_while_someone_writes(password: str, stored: str) -> bool:
        if engine.dialect.name == "sqlite":
            with sqlite3.connect(engine.url.database, timeout=0.2, isolation_level=None) as other:
                other.execute("BEGIN IMMEDIATE")  # "database is locked" if the sign-in held it
                other.execute("ROLLBACK")
        else:
            with engine.connect() as other:  # NOWAIT: an error at once if the sign-in locked the row
                other.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE NOWAIT"), {"id": officer.id})
                other.rollback()
        checked.append(password)
        return real(password, stored)

    monkeypatch.setattr(workflows.auth, "verify_password", verify_while_someone_writes)
    client = app.test_client()
    assert sign_in(client, officer.username, "wrong").status_code == 401
    assert sign_in(client, "nobody-here", "wrong").status_code == 401
    assert sign_in(client, officer.username, PASSWORD).status_code == 200
    assert checked == ["wrong", "wrong", PASSWORD]


# --- tokens and deactivation -------------------------------------------------------------------------

def test_revoked_token_is_refused_on_the_very_next_request(api_as, officer):
    api = api_as(officer)
    created = api.post("/me/tokens", json={"name": "对账脚本"})  # a Bearer caller needs no extra header
    assert created.status_code == 201, created.json
    script = api.client
    assert script.get("/api/v1/me", headers=bearer(created.json["token"])).status_code == 200

    assert api.delete(f"/me/tokens/{created.json['id']}").status_code == 204
    r = script.get("/api/v1/me", headers=bearer(created.json["token"]))
    assert r.status_code == 401
    assert r.json["code"] == "unauthenticated"
    assert "吊销" in r.json["message"]
    listed = {t["id"]: t for t in api.get("/me/tokens").json}
    assert listed[created.json["id"]]["active"] is False
    assert api.get("/me").status_code == 200  # the other token is untouched


def test_expired_token_is_refused(api_as, officer):
    clock.set_global(MORNING)
    api = api_as(officer)
    created = api.post("/me/tokens", json={"name": "临时", "expires_in_days": 1})
    assert created.status_code == 201, created.json
    assert created.json["expires_at"] == (MORNING + timedelta(days=1)).isoformat()
    token = created.json["token"]
    clock.set_global(MORNING + timedelta(hours=23, minutes=59))
    assert api.client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    clock.set_global(MORNING + timedelta(days=1))
    r = api.client.get("/api/v1/me", headers=bearer(token))
    assert (r.status_code, r.json["code"]) == (401, "unauthenticated")
    listed = {t["id"]: t for t in api.get("/me/tokens").json}
    assert listed[created.json["id"]]["active"] is False


def test_deactivated_users_token_and_session_stop_working(app, api_as, session, officer):
    api = api_as(officer)
    browser = app.test_client()
    assert sign_in(browser, officer.username, PASSWORD).status_code == 200
    assert api.get("/me").status_code == 200
    assert browser.get("/api/v1/me").status_code == 200

    # Only the flag: even if whoever deactivates forgets to bump auth_version, access ends.
    user = fresh(session, officer)
    user.active = False
    session.commit()

    assert api.get("/me").status_code == 401
    assert browser.get("/api/v1/me").status_code == 401
    r = sign_in(app.test_client(), officer.username, PASSWORD)
    assert r.status_code == 401
    assert r.json["message"] == "账户已停用，请联系系统管理员"


def test_token_of_another_user_cannot_be_revoked_and_does_not_leak(api_as, people, officer):
    theirs = api_as(people.officer("农安县", "housing")).post("/me/tokens", json={"name": "他人"})
    assert theirs.status_code == 201
    api = api_as(officer)
    for token_id in (theirs.json["id"], 10**30, 0):
        r = api.delete(f"/me/tokens/{token_id}")
        assert r.status_code == 404, (token_id, r.json)
    assert api.client.get("/api/v1/me", headers=bearer(theirs.json["token"])).status_code == 200


# --- nothing kept in clear ---------------------------------------------------------------------------

def dump_database(engine) -> str:  # noqa: ANN001
    """Every text the database holds: SQLite's full dump, or each text/json column on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(engine.url.database) as raw:
            return "\n".join(raw.iterdump())
    out = []
    with engine.connect() as conn:
        columns = conn.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')")).all()
        assert columns
        for table, column in columns:
            out.extend(str(v) for v in conn.execute(text(f'SELECT "{column}"::text FROM "{table}"')).scalars())
    return "\n".join(out)


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for every logger, including those that do not propagate to the root."""
    caplog.set_level(logging.DEBUG)
    detached = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                logger.addHandler(caplog.handler)
                detached.append(logger)
    yield caplog
    for logger in detached:
        logger.removeHandler(caplog.handler)


def all_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)


def test_passwords_are_never_stored_or_logged_in_clear(app, engine, session, officer, every_log):
    good, bad = "Kq7-Distinctive-Right-4821", "Kq7-Distinctive-Wrong-4821"
    user = fresh(session, officer)
    user.password_hash = hash_password(good)
    session.commit()
    client = app.test_client()
    assert sign_in(client, officer.username, bad).status_code == 401
    assert sign_in(client, "no-such-user", bad).status_code == 401
    assert sign_in(client, officer.username, good).status_code == 200
    assert client.get("/api/v1/me").status_code == 200

    logged = all_logged(every_log)
    assert "access_events" in logged, "SQL logging was not captured: the check would prove nothing"
    stored = dump_database(engine)
    assert officer.username in stored
    for secret in (good, bad):
        assert secret not in stored
        assert secret not in logged


def test_token_secret_is_never_stored_or_logged_only_its_sha256(app, engine, officer, every_log):
    client = app.test_client()
    assert sign_in(client, officer.username, PASSWORD).status_code == 200
    created = client.post("/api/v1/me/tokens", json={"name": "对账脚本"}, headers=XHR)
    assert created.status_code == 201, created.json
    secret = created.json["token"]
    assert app.test_client().get("/api/v1/me", headers=bearer(secret)).status_code == 200

    stored, logged = dump_database(engine), all_logged(every_log)
    assert "api_tokens" in logged
    assert secret not in stored and secret not in logged
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    assert secret[:10] in stored  # the short prefix shown to tell tokens apart is all that is kept


# --- per-address limit ---------------------------------------------------------------------------------

@pytest.fixture
def strict_app(engine):  # noqa: ANN001, ANN201
    from webapp import create_app
    application = create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                              "TESTING": True, "SECRET_KEY": "test-secret", "SIGN_IN_RATE_LIMIT": "3 per minute"})
    yield application
    application.extensions["huiqian"]["engine"].dispose()


def test_too_many_sign_ins_from_one_address_are_refused_while_others_get_through(strict_app, session, officer):
    client = strict_app.test_client()
    for _ in range(3):
        assert sign_in(client, officer.username, "wrong").status_code == 401
    r = sign_in(client, officer.username, PASSWORD)
    assert r.status_code == 429
    assert r.mimetype == "application/json"
    assert r.json["code"] == "too_many_requests"
    assert r.json["message"] == "该地址登录尝试过于频繁，请稍后再试"
    assert int(r.headers["Retry-After"]) > 0
    # The refused attempt never reached the password check: it does not count towards the lock.
    assert fresh(session, officer).failed_sign_ins == 3

    other = sign_in(strict_app.test_client(), officer.username, PASSWORD,
                    environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert other.status_code == 200, other.json


# --- browser writes, sign-out --------------------------------------------------------------------------

def test_browser_session_writes_need_x_requested_with_but_tokens_do_not(app, api_as, session, officer):
    browser = app.test_client()
    assert sign_in(browser, officer.username, PASSWORD).status_code == 200
    refused = browser.post("/api/v1/me/tokens", json={"name": "跨站伪造"})
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"
    assert "X-Requested-With" in refused.json["message"]
    assert browser.get("/api/v1/me/tokens").json == []  # nothing was created

    created = browser.post("/api/v1/me/tokens", json={"name": "脚本"}, headers=XHR)
    assert created.status_code == 201, created.json
    assert browser.delete(f"/api/v1/me/tokens/{created.json['id']}").status_code == 403
    assert browser.get("/api/v1/me/tokens").json[0]["active"] is True

    api = api_as(officer)
    assert api.post("/me/tokens", json={"name": "令牌创建"}).status_code == 201
    assert api.delete(f"/me/tokens/{created.json['id']}").status_code == 204


def test_signing_out_ends_the_session_and_is_logged(app, session, officer):
    browser = app.test_client()
    assert sign_in(browser, officer.username, PASSWORD).status_code == 200
    assert browser.delete("/api/v1/session", headers=XHR).status_code == 204
    r = browser.get("/api/v1/me")
    assert (r.status_code, r.json["code"]) == (401, "unauthenticated")
    assert browser.delete("/api/v1/session", headers=XHR).status_code == 401
    events = session.scalars(select(AccessEvent).where(AccessEvent.kind == "sign_out")).all()
    assert [(e.actor_id, e.subject_user_id, e.channel) for e in events] == [(officer.id, officer.id, "api")]


# --- hostile input -------------------------------------------------------------------------------------

HOSTILE = {
    "nul in password": lambda name: json.dumps({"username": name, "password": "a\x00b"}),
    "nul in username": lambda name: json.dumps({"username": name + "\x00", "password": PASSWORD}),
    "lone surrogate in username": lambda name: '{"username": "\\ud800", "password": "x"}',
    "lone surrogate in password": lambda name: f'{{"username": "{name}", "password": "\\udfff"}}',
    "10 MB password": lambda name: json.dumps({"username": name, "password": "x" * 10_000_000}),
    "300-character password": lambda name: json.dumps({"username": name, "password": "x" * 300}),
    "username of a number": lambda name: json.dumps({"username": 12345, "password": PASSWORD}),
    "5,000-digit username": lambda name: '{"username": ' + "9" * 5000 + ', "password": "x"}',
    "password of a list": lambda name: json.dumps({"username": name, "password": [PASSWORD]}),
    "deep JSON": lambda name: '{"username": ' + "[" * 5000 + "]" * 5000 + ', "password": "x"}',
    "NaN remember": lambda name: f'{{"username": "{name}", "password": "x", "remember": NaN}}',
    "not JSON": lambda name: "username=a&password=b",
    "empty object": lambda name: "{}",
    "a JSON array": lambda name: "[1, 2]",
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_sign_in_input_is_refused_with_json_never_5xx(app, session, officer, case):
    r = app.test_client().post("/api/v1/session", data=HOSTILE[case](officer.username),
                               content_type="application/json")
    assert 400 <= r.status_code < 500 and r.status_code != 401, (r.status_code, r.get_data()[:300])
    assert r.mimetype == "application/json"
    assert r.json["code"] and r.json["message"]
    assert fresh(session, officer).failed_sign_ins == 0  # refused before any password was checked
