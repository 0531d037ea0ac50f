"""Fixtures: a migrated, seeded database per test on SQLite, and on PostgreSQL when one answers.

PostgreSQL is used when HUIQIAN_TEST_DATABASE_URL or DATABASE_URL points at one, or when the local
server of this machine kind (127.0.0.1:5432, trust auth) answers. Each test run creates its own
database there and drops it afterwards, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from models import USER_ROLES, Agency, Region, User
from workflows import db, history, processes, regions
from workflows.engine import bootstrap, clock
from workflows.users import hash_password

# The same explicit start-up as the app factory and the CLI: the expression sandbox is in place
# before any test builds a workflow.
bootstrap()

LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MUTABLE_TABLES = ["away_periods", "task_delegations", "task_copies", "job_marks", "extension_requests", "delivery_attempts", "notification_deliveries", "notifications", "escalations",
                  "calendar_days", "calendar_years", "attachments", "task_drafts", "stock_opinions", "saved_filters",
                  "access_events", "api_tokens", "case_events", "tasks", "process_instances",
                  "cases", "users", "process_files", "process_versions"]
PASSWORD = "测试-password-1"
PASSWORD_HASH = hash_password(PASSWORD)


def _pg_admin_url() -> str | None:
    url = os.environ.get("HUIQIAN_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url and not url.startswith("postgres"):
        return None
    from config import database_url
    candidate = database_url(url) if url else LOCAL_PG
    try:
        engine = create_engine(candidate, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return candidate
    except Exception:
        return None


PG_ADMIN_URL = _pg_admin_url()
BACKENDS = ["sqlite"] + (["postgres"] if PG_ADMIN_URL else [])


def _deploy(engine) -> None:  # noqa: ANN001
    with Session(engine) as session:
        processes.deploy(session, deployed_by="tests")


def _seed_reference(engine) -> None:  # noqa: ANN001
    db.upgrade(engine)
    with Session(engine) as session:
        found = regions.seed_jilin(session)
        regions.seed_agencies(session, found)
        session.commit()
    _deploy(engine)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    _seed_reference(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    if not PG_ADMIN_URL:
        yield None
        return
    name = f"huiqian_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    _seed_reference(engine)
    with engine.begin() as conn:  # the agencies as seeded, restored before each test (the API edits them)
        conn.exec_driver_sql("CREATE TABLE agencies_seed AS SELECT * FROM agencies")
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_url: str | None):  # noqa: ANN201
    if request.param == "sqlite":
        path = tmp_path / "huiqian.db"
        shutil.copy(sqlite_template, path)
        eng = db.make_engine(f"sqlite:///{path}")
    else:
        eng = db.make_engine(pg_url)
        with eng.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(MUTABLE_TABLES)} RESTART IDENTITY CASCADE")
            conn.exec_driver_sql("DELETE FROM agencies WHERE id NOT IN (SELECT id FROM agencies_seed)")
            conn.exec_driver_sql("UPDATE agencies SET name = s.name, role = s.role, region_id = s.region_id "
                                 "FROM agencies_seed s WHERE agencies.id = s.id")
        _deploy(eng)  # the same starting point as the SQLite template: version 1 of bpmn/
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):  # noqa: ANN001, ANN201
    return db.make_session_factory(engine)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:  # noqa: ANN001
    with session_factory() as s:
        yield s


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    yield
    clock.set_global(None)
    history.set_origin("service")  # a CLI test sets the process's origin to the command line


class People:
    """Makes users of named places and agencies: people.officer("榆树市", "housing")."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def region(self, name: str) -> Region:
        return self.session.query(Region).filter(Region.name == name).one()

    def agency(self, region_name: str, role: str) -> Agency:
        region = self.region(region_name)
        return self.session.query(Agency).filter_by(region_id=region.id, role=role).one()

    def user(self, region_name: str, agency_role: str, role: str = "officer") -> User:
        agency = self.agency(region_name, agency_role)
        username = f"{role}-{agency.id}"
        user = self.session.query(User).filter_by(username=username).one_or_none()
        if user is None:
            user = User(username=username, display_name=f"{agency.name}{USER_ROLES[role]}", role=role, agency=agency,
                        password_hash=PASSWORD_HASH, active=True)
            self.session.add(user)
            self.session.commit()
        return user

    def officer(self, region_name: str, agency_role: str) -> User:
        return self.user(region_name, agency_role, "officer")

    def supervisor(self, region_name: str) -> User:
        return self.user(region_name, "supervision", "supervisor")


@pytest.fixture
def people(session: Session) -> People:
    return People(session)


def at(text_: str) -> datetime:
    """An aware moment from 'YYYY-MM-DD[ HH:MM]' in China time."""
    from workflows.engine.evaluator import CHINA
    moment = datetime.fromisoformat(text_)
    return moment.replace(tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def driver(session: Session, people: People):  # noqa: ANN201
    from tests.driver import Driver
    return Driver(session, people)


class ApiClient:
    """A Flask test client signed in with a personal API token: api.get("/cases"), api.post(...).
    Paths are relative to /api/v1; `headers` are added to every request."""

    def __init__(self, client, user: User | None, token: str | None) -> None:  # noqa: ANN001
        self.client = client
        self.user = user
        self.token = token

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    def open(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs):  # noqa: ANN003, ANN201
        url = path if path.startswith("/") and path.startswith("/api/") else f"/api/v1{path}"
        return self.client.open(url, method=method, headers=self._headers(headers), **kwargs)

    def get(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.open("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.open("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.open("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs):  # noqa: ANN003, ANN201
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def app(engine, tmp_path: Path):  # noqa: ANN001, ANN201
    """The Flask app on the test's database (SQLite, and PostgreSQL when it answers)."""
    from webapp import create_app
    os.environ.setdefault("HUIQIAN_INSTANCE", str(tmp_path / "instance"))
    application = create_app({"DATABASE_URL": engine.url.render_as_string(hide_password=False),
                              "TESTING": True, "SECRET_KEY": "test-secret"})
    yield application
    application.extensions["huiqian"]["engine"].dispose()


@pytest.fixture
def api_as(app, session: Session):  # noqa: ANN001, ANN201
    """api_as(user) → an ApiClient authenticated with a fresh token of that user; api_as(None) → anonymous."""
    from workflows import auth

    def make(user: User | None) -> ApiClient:
        client = app.test_client()
        if user is None:
            return ApiClient(client, None, None)
        session.rollback()
        secret = auth.create_token(session, user, "tests").secret
        return ApiClient(client, user, secret)

    return make
