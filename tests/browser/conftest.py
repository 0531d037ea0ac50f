"""Browser test plumbing: Debian's Chromium for Playwright, the app served live on 127.0.0.1, a seeded
SQLite world per test module, sign-in and screenshot helpers.

Chromium comes from Debian (``/usr/bin/chromium`` with ``fonts-noto-cjk`` so Chinese renders), installed
by tools/render_diagrams.py's ``ensure_chromium()`` when missing; Playwright's own browser download
(``playwright install``) is never used. Screenshots of every page a test looks at are written to
``test-artifacts/screenshots/<test>-<step>.png`` at the repository root (gitignored).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from models import Case, Task, User
from tests.conftest import PASSWORD, People
from tests.driver import Driver
from workflows import cases, db
from workflows.cases import NewCase

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SCRIPT_NAME = '<script>alert("xss")</script>德惠<b>西区</b>项目'


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium_installed() -> str:
    """Debian's Chromium and a CJK font, installed (as root, through apt-get) when missing. A machine
    where that cannot happen fails here with the reason rather than skipping the browser tests."""
    spec = importlib.util.spec_from_file_location("render_diagrams", REPO / "tools" / "render_diagrams.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    try:
        tool.ensure_chromium()
    except (SystemExit, subprocess.CalledProcessError, OSError) as exc:
        pytest.fail(f"浏览器测试需要 Debian 的 chromium 与 fonts-noto-cjk，自动安装失败：{exc}。"
                    "请以 root 运行 apt-get install -y chromium fonts-noto-cjk 后重试。", pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} 不存在或不可执行", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, chromium_installed: str) -> dict:
    return {**browser_type_launch_args, "executable_path": chromium_installed, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}, "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai"}


# --------------------------------------------------------------------------- the live app


@dataclass
class World:
    """The served app's address and what the module's tests act on, with a service-layer session on the
    same database (to set things up and to check what a page changed)."""

    url: str
    app: Any
    session: Session
    people: People
    driver: Driver
    users: dict[str, User] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)

    def at(self, path: str) -> str:
        return self.url + path


def _new_case(session: Session, people: People, county: str, name: str, code: str, category: int) -> Case:
    filer = people.officer(county, "housing")
    return cases.create_case(session, filer, NewCase(
        code=code, project_name=name, region_code=people.region(county).code, lead_type="government",
        households_overdue=24, overdue_since=date(2019, 12, 31), category=category, responsible_leader="王副县长"))


def _seed(session: Session) -> tuple[People, Driver, dict[str, User], dict[str, Case], dict[str, Task]]:
    people = People(session)
    driver = Driver(session, people)
    users = {"officer": people.officer("榆树市", "housing"), "supervisor": people.supervisor("长春市"),
             "auditor": people.user("吉林省", "supervision", "auditor")}
    # 榆树市, category 1, at the court's ruling: a form with a required text, an enum and a required scan.
    judgment = _new_case(session, people, "榆树市", "榆树市北城棚改项目", "BR-001", 1)
    tasks = {"judgment": driver.to_court_judgment(judgment)}
    users["court"] = driver.officer_for(tasks["judgment"])
    # 榆树市, just filed: 立案核实 is open, for the supervisor to watch it advance.
    fresh = _new_case(session, people, "榆树市", "榆树市南关棚改项目", "BR-002", 2)
    tasks["intake"] = driver.task(fresh, "intake_verify")
    # 农安县, classified as category 2 and working: a city supervisor may change its category.
    working = _new_case(session, people, "农安县", "农安县纺织厂棚改项目", "BR-003", 2)
    driver.intake_and_classify(working)
    # 德惠市: a name that is markup, to be shown as text.
    hostile = _new_case(session, people, "德惠市", SCRIPT_NAME, "BR-004", 3)
    session.commit()
    return people, driver, users, {"judgment": judgment, "fresh": fresh, "working": working,
                                   "hostile": hostile}, tasks


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The app on its own copy of the seeded SQLite database, served by werkzeug in a thread on a free
    127.0.0.1 port for the test module, then shut down."""
    from webapp import create_app

    folder = tmp_path_factory.mktemp("browser")
    path = folder / "huiqian.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DATABASE_URL", raising=False)  # it would win over the configured database
        env.setenv("HUIQIAN_INSTANCE", str(folder / "instance"))
        engine = db.make_engine(url)
        session = db.make_session_factory(engine)()
        people, driver, users, seeded, tasks = _seed(session)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test-secret",
                          "SIGN_IN_RATE_LIMIT": "1000 per minute"})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
        thread.start()
        try:
            yield World(f"http://127.0.0.1:{server.server_port}", app, session, people, driver, users, seeded, tasks)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            session.close()
            app.extensions["huiqian"]["engine"].dispose()
            engine.dispose()


# --------------------------------------------------------------------------- what a test does with a page


@dataclass
class Watch:
    """What the page did that no test should let pass: JavaScript dialogs (alert/confirm/prompt),
    uncaught script errors and server errors (5xx)."""

    dialogs: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)


@pytest.fixture
def watch(page: Any) -> Iterator[Watch]:
    seen = Watch()

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen.script_errors.append(str(error)))
    page.on("response", lambda r: seen.server_errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    yield seen
    assert not seen.dialogs, f"a dialog fired: {seen.dialogs}"
    assert not seen.script_errors, f"uncaught script errors: {seen.script_errors}"
    assert not seen.server_errors, f"server errors: {seen.server_errors}"


@pytest.fixture
def snap(page: Any, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """snap("step") saves a full-page screenshot as test-artifacts/screenshots/<test>-<step>.png;
    snap("step", locator) just that element."""
    test = re.sub(r"\[.*\]$", "", request.node.name).removeprefix("test_")

    def take(step: str, target: Any = None) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{test}-{step}.png"
        if target is None:
            page.screenshot(path=str(path), full_page=True)
        else:  # one element of the page (a locator)
            target.screenshot(path=str(path))
        return path

    return take


# Every form, button and htmx write on the page that is not signing out, choosing the language, a GET
# form (list filters: reading only) or the print page's 打印 (window.print()). Disabled buttons do
# nothing and are left out.
_WRITE_CONTROLS = """() => {
  const path = (form) => new URL(form.getAttribute('action') || location.href, location.href).pathname;
  const harmless = (form) => form && (form.method.toLowerCase() === 'get' || ['/logout', '/language'].includes(path(form)));
  const found = [];
  for (const form of document.forms) {
    if (!harmless(form)) found.push('form ' + form.method + ' ' + path(form));
  }
  for (const b of document.querySelectorAll('button, input[type=submit], input[type=button], input[type=image], input[type=reset]')) {
    if (b.id === 'print-button' && b.type === 'button' && !b.form) continue;
    if (!b.disabled && !harmless(b.form)) found.push('button ' + (b.id || b.textContent.trim() || b.value));
  }
  for (const e of document.querySelectorAll('[hx-post],[hx-put],[hx-patch],[hx-delete],[data-hx-post],[data-hx-put],[data-hx-patch],[data-hx-delete]')) {
    found.push('htmx ' + e.outerHTML.slice(0, 80));
  }
  for (const e of document.querySelectorAll('[contenteditable=""],[contenteditable=true]')) found.push('editable ' + e.tagName);
  return found;
}"""


def write_controls(page: Any) -> list[str]:
    """The controls on the page that could change something (see _WRITE_CONTROLS), described."""
    return page.evaluate(_WRITE_CONTROLS)


def sign_in(page: Any, world: World, user: User, password: str = PASSWORD) -> None:
    """Sign in through the form as a person would; stays on the page the form leads to."""
    page.goto(world.at("/login"))
    page.get_by_label("用户名", exact=True).fill(user.username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state()


def tiny_pdf(title: str = "judgment") -> bytes:
    """A small, well-formed one-page PDF (header, objects, cross-reference table, trailer)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode("ascii")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
