"""English as the pages' second language: a user switches with the navbar's language select, the
choice is kept on the user (and survives signing out and in), a visitor reads Chinese, and the
message catalog covers every text the pages mark for translation and is compiled up to date."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from models import User
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES"


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def _sign_in(client, user: User) -> None:  # noqa: ANN001
    page = client.get("/login").get_data(as_text=True)
    signed = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": _csrf(page)})
    assert signed.status_code == 302


def _choose(client, locale: str, on: str = "/inbox") -> str:  # noqa: ANN001
    """Pick a language in the navbar's select on page `on` (the form posts itself on change)."""
    page = client.get(on).get_data(as_text=True)
    form = page[page.index('action="/language"'):]
    assert 'name="locale"' in form
    chosen = client.post("/language", data={"locale": locale, "next": on, "csrf_token": _csrf(form)})
    assert chosen.status_code == 302 and chosen.headers["Location"] == on
    return client.get(on).get_data(as_text=True)


def _stored_locale(session, user: User) -> str | None:  # noqa: ANN001
    session.rollback()
    session.expire_all()
    return session.get(User, user.id).locale


def test_an_officer_switches_to_english_and_back(app, session, driver) -> None:
    case = driver.new_case(2, "榆树市")
    task = driver.task(case, "intake_verify")
    officer = driver.officer_for(task)
    client = app.test_client()
    _sign_in(client, officer)

    inbox = _choose(client, "en")
    assert '<html lang="en">' in inbox
    assert "My tasks" in inbox and "Export to Excel" in inbox and ">Filter</button>" in inbox
    assert ">Inbox</a>" in inbox and ">Sign out</button>" in inbox  # the navbar and the tabs
    assert "我的任务" not in inbox and "筛选" not in inbox
    assert case.project_name in inbox  # data stays as stored
    assert _stored_locale(session, officer) == "en"

    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="btn-claim">Claim</button>' in page and 'id="btn-complete">Complete</button>' in page
    assert ">Opinion</label>" in page and ">Comments" in page

    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert ">Particulars</h2>" in page and ">Process diagrams</h2>" in page and ">History</h2>" in page
    assert "基本情况" not in page
    # The models' coded values (status, category, event kind, role) read in English too.
    assert "Construction under way" in page and "Task opened" in page and "Officer" in page
    assert re.search(r'id="case-category">[^<]*Construction under way</dd>', page)

    # A flash message built by the pages is in English too.
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"',
                             page := client.get(f"/tasks/{task.id}").get_data(as_text=True)))
    claimed = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": hidden["csrf_token"],
                                                           "version": hidden["version"]},
                          follow_redirects=True).get_data(as_text=True)
    assert "Claimed: the task is yours to handle." in claimed

    back = _choose(client, "zh_CN")
    assert '<html lang="zh-CN">' in back and "我的任务" in back and "导出 Excel" in back
    assert "My tasks" not in back
    assert _stored_locale(session, officer) == "zh_CN"


def test_the_choice_is_kept_on_the_user_across_signing_out_and_in(app, session, people) -> None:
    officer = people.officer("农安县", "housing")
    client = app.test_client()
    _sign_in(client, officer)
    _choose(client, "en", on="/cases")
    out_page = _sign_out(client)
    # The sign-in page right after signing out stays in the language just used.
    assert "Signed out" in out_page and ">Sign in</button>" in out_page and "Keep me signed in" in out_page

    elsewhere = app.test_client()  # another browser: a visitor reads Chinese until signed in
    login = elsewhere.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in login and "登录" in login and "Sign in" not in login
    _sign_in(elsewhere, officer)
    cases_page = elsewhere.get("/cases").get_data(as_text=True)
    assert ">File a case</a>" in cases_page and ">Project code</th>" in cases_page
    assert _stored_locale(session, officer) == "en"


def _sign_out(client) -> str:  # noqa: ANN001
    page = client.get("/cases").get_data(as_text=True)
    form = page[page.index('action="/logout"'):]
    return client.post("/logout", data={"csrf_token": _csrf(form)}, follow_redirects=True).get_data(as_text=True)


def test_a_visitor_reads_the_sign_in_page_in_chinese(app) -> None:
    page = app.test_client().get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "登录 · 棚改逾期未安置案件办理" in page and "在这台电脑上保持登录" in page
    assert "Sign in" not in page


def test_an_unknown_language_is_ignored(app, session, people) -> None:
    officer = people.officer("榆树市", "housing")
    client = app.test_client()
    _sign_in(client, officer)
    _choose(client, "en")
    for wrong in ("fr", "en_US", "", "zh_CN\x00", "e" * 10_000, "../../etc/passwd"):
        page = _choose(client, wrong)
        assert "My tasks" in page, wrong
    assert _stored_locale(session, officer) == "en"
    # A value in the database the pages do not know reads as Chinese rather than failing.
    session.get(User, officer.id).locale = "xx"
    session.commit()
    page = client.get("/inbox").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "我的任务" in page


def test_a_chinese_error_from_a_service_stays_chinese_in_english_pages(app, session, driver) -> None:
    case = driver.new_case(2, "榆树市")
    task = driver.task(case, "intake_verify")
    officer = driver.officer_for(task)
    client = app.test_client()
    _sign_in(client, officer)
    _choose(client, "en")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"',
                             page[page.index('id="task-form"'):]))
    refused = client.post(f"/tasks/{task.id}", data={**hidden, "action": "complete"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Complete</button>" in text and "必填" in text  # chrome in English, the service's message as said


def _marked_messages() -> set[str]:
    """Every msgid the pages mark for translation, extracted as babel.cfg says (keywords _l and N_)."""
    from babel.messages.extract import DEFAULT_KEYWORDS
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}
    found: set[str] = set()
    method_map = [("webapp/ui/**.py", "python"), ("webapp/templates/ui/**.html", "jinja2"),
                  ("webapp/templates/index.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_text_has_an_english_translation() -> None:
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(_marked_messages() - translated)
    assert not missing, f"untranslated (run pybabel extract/update, see babel.cfg): {missing}"


def test_the_compiled_catalog_matches_the_po_file(tmp_path) -> None:
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = read_po(f)
    with open(tmp_path / "fresh.mo", "wb") as f:
        write_mo(f, catalog)
    with open(tmp_path / "fresh.mo", "rb") as fresh, open(CATALOG / "messages.mo", "rb") as committed:
        expected, shipped = read_mo(fresh), read_mo(committed)
    expected_pairs = {m.id: m.string for m in expected if m.id}
    shipped_pairs = {m.id: m.string for m in shipped if m.id}
    assert shipped_pairs == expected_pairs, "messages.mo is stale: run pybabel compile -d webapp/translations"


def test_every_label_of_the_models_is_in_the_catalog() -> None:
    """webapp/ui/labels.py marks the models' labels for translation; one the models gain is caught here."""
    import models
    import models.history
    from webapp.ui.labels import LABELS
    for name, marked in LABELS.items():
        table = getattr(models, name, None) or getattr(models.history, name)
        assert set(table.values()) == set(marked), name
    shown = {"CASE_STATUSES", "CATEGORIES", "LEAD_TYPES", "TASK_STATUSES", "EVENT_KINDS", "CHANNELS", "USER_ROLES",
             "AGENCY_ROLES", "ESCALATION_LEVELS", "ESCALATION_OUTCOMES", "EXTENSION_STATUSES", "NOTIFICATION_KINDS"}
    assert shown <= set(LABELS)


def test_the_inbox_export_follows_the_readers_language(app, session, driver) -> None:
    import io

    from openpyxl import load_workbook
    case = driver.new_case(2, "榆树市")
    officer = driver.officer_for(driver.task(case, "intake_verify"))
    client = app.test_client()
    _sign_in(client, officer)

    def sheets() -> tuple[list, list]:
        book = load_workbook(io.BytesIO(client.get("/inbox/export.xlsx?category=2").get_data()))
        tasks, about = book.worksheets
        return [c.value for c in next(tasks.iter_rows(max_row=2))] + \
            [c.value for c in list(tasks.iter_rows(min_row=2, max_row=2))[0]], \
            [[c.value for c in row] for row in about.iter_rows()]

    row, about = sheets()
    assert row[0] == "任务编号" and "第2类 已开工" in row and ["类别", "第2类 已开工"] in about
    _choose(client, "en")
    row, about = sheets()
    assert row[0] == "Task no." and "已开工" not in " ".join(str(v) for v in row)
    assert any("Construction under way" in str(v) for v in row)
    assert about[0][0] == "View" and "Construction under way" in about[2][1]
