"""The task page: the form a task's BPMN declares, filled in and completed in the browser, with the
审批意见, 暂存, 签收, 代办, comments and evidence uploads (the upload service itself:
tests/test_attachments.py)."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from models import Attachment, StockOpinion, Task, TaskDraft
from tests.pages import csrf as _csrf
from tests.pages import signed_in as _client
from workflows import drafts, inbox, opinions, tasks
from workflows.errors import Invalid, NotFound

PDF = b"%PDF-1.7\n% test scan of a judgment\n" + b"0" * 2000
# Past the app's MAX_CONTENT_LENGTH (2 MB): only the task form takes bodies this large.
BIG_PDF = b"%PDF-1.7\n% a scanned judgment of many pages\n" + b"0" * (3 << 20)


def _fresh(session) -> None:  # noqa: ANN001
    """See what the app committed: end the test's read snapshot and forget loaded rows."""
    session.rollback()
    session.expire_all()






def _open(client, task_id: int, query: str = "") -> tuple[str, dict[str, str]]:  # noqa: ANN001
    """The task page's text and the hidden inputs of its form (csrf_token, version, back)."""
    response = client.get(f"/tasks/{task_id}{query}")
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    form = page[page.index('id="task-form"'):] if 'id="task-form"' in page else page
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    return page, hidden


def _feedback(page: str, key: str) -> list[str]:
    """The error messages shown inside the group of field `key`."""
    start = page.index(f'data-field="{key}"')
    group = page[start:page.index('class="mb-3 task-field', start + 1)] if 'class="mb-3 task-field' in page[start + 1:] \
        else page[start:]
    return re.findall(r'class="invalid-feedback[^"]*"[^>]*>([^<]+)<', group)


def _intake(driver, county: str = "农安县"):  # noqa: ANN001, ANN202
    case = driver.new_case(2, county)
    return case, driver.task(case, "intake_verify")


def _submit(client, task_id: int, hidden: dict[str, str], **fields: Any):  # noqa: ANN001, ANN202
    return client.post(f"/tasks/{task_id}", data={**hidden, **fields}, content_type="multipart/form-data")


def test_officer_fixes_a_missing_field_and_completes_with_an_opinion(app, session, driver) -> None:
    case, task = _intake(driver)
    officer = driver.officer_for(task)
    client = _client(app, officer)
    page, hidden = _open(client, task.id, "?back=/inbox%3Fview%3Dmine")
    assert "立案核实" in page and f'href="/cases/{case.id}"' in page and case.project_name in page
    assert 'id="field-households_confirmed"' in page and 'for="field-households_confirmed"' in page
    assert "县级住建部门核实项目基本情况" in page and "以核实数为准" in page  # documentation and help text
    assert hidden["back"] == "/inbox?view=mine" and hidden["version"] == str(task.version)

    refused = _submit(client, task.id, hidden, action="complete", households_confirmed="12",
                      intake_facts="开发企业资金链断裂，项目停工", opinion="同意。")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert _feedback(text, "responsible_leader") == ["包保领导：必填"]
    assert "开发企业资金链断裂，项目停工</textarea>" in text and "同意。</textarea>" in text  # kept as typed
    assert driver.open_ids(case) == ["intake_verify"]

    done = _submit(client, task.id, hidden, action="complete", households_confirmed="12", responsible_leader="王副县长",
                   intake_facts="开发企业资金链断裂，项目停工", opinion="同意。\r\n材料齐全。")
    assert done.status_code == 302 and done.headers["Location"] == "/inbox?view=mine"
    flashed = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "下一步：「分类认定」已交 农安县" in flashed
    _fresh(session)
    stored = session.get(Task, task.id)
    assert stored.status == "completed" and stored.opinion == "同意。\n材料齐全。"
    assert stored.data["households_confirmed"] == 12
    event = driver.events(case, "task_completed")[-1]
    assert event.data["opinion"] == "同意。\n材料齐全。" and event.channel == "web"
    assert task.id not in [t.id for t in inbox.task_page(session, officer).items]
    assert "审批意见" in flashed and 'id="task-form"' not in flashed  # the completed task reads as a record


def test_a_draft_is_saved_without_checks_restored_and_gone_once_completed(app, session, driver) -> None:
    case, task = _intake(driver)
    officer = driver.officer_for(task)
    client = _client(app, officer)
    _, hidden = _open(client, task.id)
    saved = _submit(client, task.id, hidden, action="draft", households_confirmed="十二", intake_facts="初稿",
                    opinion="拟同意")
    assert saved.status_code == 302 and saved.headers["Location"] == f"/tasks/{task.id}"
    page, hidden = _open(client, task.id)
    assert re.search(r"已恢复 \d\d-\d\d \d\d:\d\d 暂存的内容", page)
    assert 'value="十二"' in page and "初稿</textarea>" in page and "拟同意</textarea>" in page
    assert driver.open_ids(case) == ["intake_verify"]
    draft = session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).one()
    assert draft.data == {"households_confirmed": "十二", "intake_facts": "初稿"} and draft.opinion == "拟同意"

    done = _submit(client, task.id, hidden, action="complete", households_confirmed="12", responsible_leader="王副县长",
                   intake_facts="终稿")
    assert done.status_code == 302 and done.headers["Location"] == "/inbox"
    _fresh(session)
    assert session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).all() == []


def test_a_stale_page_is_told_and_what_was_typed_is_kept_as_a_draft(app, session, driver, people) -> None:
    case, task = _intake(driver)
    officer, supervisor = driver.officer_for(task), people.supervisor("长春市")
    client = _client(app, officer)
    _, hidden = _open(client, task.id)
    _fresh(session)
    tasks.claim(session, supervisor, task.id)  # someone else acted meanwhile

    stale = _submit(client, task.id, hidden, action="complete", households_confirmed="12",
                    responsible_leader="王副县长", intake_facts="核实无误")
    text = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "任务已被他人处理" in text and "已自动暂存" in text
    assert "核实无误" in text and 'id="typed-values"' in text  # claimed by another: shown, not lost
    assert driver.open_ids(case) == ["intake_verify"]
    _fresh(session)
    draft = session.scalars(select(TaskDraft).where(TaskDraft.task_id == task.id)).one()
    assert draft.data["intake_facts"] == "核实无误"


def test_claiming_shows_who_and_when_and_can_be_given_back(app, session, driver) -> None:
    _, task = _intake(driver)
    officer = driver.officer_for(task)
    client = _client(app, officer)
    page, _ = _open(client, task.id)
    claim_form = page[page.index("/claim"):]
    version = re.search(r'name="version" value="(\d+)"', claim_form).group(1)
    claimed = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": _csrf(page), "version": version})
    assert claimed.status_code == 302
    page, _ = _open(client, task.id)
    assert "已签收" in page and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d 签收", page) and 'id="btn-unclaim"' in page
    assert 'id="btn-claim"' not in page
    again = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": _csrf(page), "version": version})
    assert "任务已被他人处理" in client.get(again.headers["Location"]).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page[page.index("/unclaim"):]).group(1)
    client.post(f"/tasks/{task.id}/unclaim", data={"csrf_token": _csrf(page), "version": version})
    _fresh(session)
    assert session.get(Task, task.id).assignee_id is None


def test_supervisor_completes_another_agencys_task_only_with_a_reason(app, session, driver, people) -> None:
    case, task = _intake(driver, "榆树市")
    client = _client(app, people.supervisor("长春市"))
    page, hidden = _open(client, task.id)
    assert 'id="on_behalf_reason"' in page and "代办办结" in page and 'id="btn-claim"' not in page
    fields = {"action": "complete", "households_confirmed": "12", "responsible_leader": "王副县长",
              "intake_facts": "核实无误"}
    refused = _submit(client, task.id, hidden, **fields, on_behalf_reason=" ")
    assert refused.status_code == 422
    assert _feedback(refused.get_data(as_text=True), "on_behalf_reason") == ["代办理由：不能为空"]
    done = _submit(client, task.id, hidden, **fields, on_behalf_reason="榆树市住建局人手不足")
    assert done.status_code == 302
    _fresh(session)
    assert session.get(Task, task.id).on_behalf_reason == "榆树市住建局人手不足"
    assert driver.open_ids(case) == ["classify"]


def test_a_court_task_never_offers_on_behalf(app, driver, people) -> None:
    case = driver.new_case(1, "榆树市")
    court_task = driver.to_court_judgment(case)
    page, _ = _open(_client(app, people.supervisor("长春市")), court_task.id)
    assert 'id="task-form"' not in page and "法院的审判事项不能代办" in page


def test_an_auditor_reads_the_task_without_any_control(app, driver, people) -> None:
    _, task = _intake(driver)
    client = _client(app, people.user("吉林省", "supervision", "auditor"))
    page, _ = _open(client, task.id)
    assert "立案核实" in page
    for control in ('id="task-form"', 'id="btn-claim"', 'id="comment-form"', 'id="opinion-settings"', "<textarea"):
        assert control not in page, control
    refused = client.post(f"/tasks/{task.id}/comments", data={"csrf_token": _csrf(page), "text": "看看"})
    assert refused.status_code == 403 and "只有承办部门的经办人或督办人可以留言" in refused.get_data(as_text=True)


def test_comments_are_posted_to_the_case_history_and_shown(app, session, driver) -> None:
    case, task = _intake(driver)
    client = _client(app, driver.officer_for(task))
    page, _ = _open(client, task.id)
    empty = client.post(f"/tasks/{task.id}/comments", data={"csrf_token": _csrf(page), "text": "  "})
    assert empty.status_code == 422 and "留言：不能为空" in empty.get_data(as_text=True)
    posted = client.post(f"/tasks/{task.id}/comments",
                         data={"csrf_token": _csrf(page), "text": "<b>财政局材料已催</b>，周五前报送"})
    assert posted.status_code == 302 and posted.headers["Location"].endswith("#comments")
    _fresh(session)
    event = driver.events(case, "comment")[-1]
    assert event.data == {"text": "<b>财政局材料已催</b>，周五前报送"} and event.task_id == task.id
    page, _ = _open(client, task.id)
    assert "&lt;b&gt;财政局材料已催&lt;/b&gt;，周五前报送" in page and "<b>财政局" not in page


def test_stock_opinions_are_one_click_away_and_bounded(app, session, driver, people) -> None:
    _, task = _intake(driver)
    officer = driver.officer_for(task)
    client = _client(app, officer)
    page, _ = _open(client, task.id)
    added = client.post("/opinions", data={"csrf_token": _csrf(page), "text": "材料齐全，同意报批。",
                                           "next": f"/tasks/{task.id}"})
    assert added.status_code == 302 and added.headers["Location"] == f"/tasks/{task.id}"
    page, _ = _open(client, task.id)
    assert 'data-opinion="材料齐全，同意报批。"' in page
    _fresh(session)
    mine = session.scalars(select(StockOpinion).where(StockOpinion.user_id == officer.id)).one()
    other = people.officer("舒兰市", "housing")
    try:
        opinions.delete_stock_opinion(session, other, mine.id)
        raise AssertionError("someone else's stock opinion was deleted")
    except NotFound:
        pass
    for i in range(19):
        opinions.add_stock_opinion(session, officer, f"常用意见{i}")
    try:
        opinions.add_stock_opinion(session, officer, "第二十一条")
        raise AssertionError("a 21st stock opinion was kept")
    except Invalid as exc:
        assert "最多 20 条" in exc.message
    mine_id = mine.id
    deleted = client.post(f"/opinions/{mine_id}/delete", data={"csrf_token": _csrf(page), "next": "https://evil.example/"})
    assert deleted.status_code == 302 and deleted.headers["Location"] == "/inbox"
    _fresh(session)
    assert session.scalar(select(StockOpinion).where(StockOpinion.id == mine_id)) is None


def _court_task(driver):  # noqa: ANN001, ANN202
    case = driver.new_case(1, "榆树市")
    return case, driver.to_court_judgment(case)


def test_a_judgment_scan_is_uploaded_and_its_hash_recorded_with_the_completion(app, session, driver, people,
                                                                              tmp_path) -> None:
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    case, task = _court_task(driver)
    court, outsider, auditor = (driver.officer_for(task), people.officer("舒兰市", "housing"),
                                people.user("吉林省", "supervision", "auditor"))
    client = _client(app, court)
    page, hidden = _open(client, task.id)
    assert 'type="file"' in page and 'id="field-judgment_scan"' in page and 'accept=".pdf,.ofd,.jpg,.jpeg,.png"' in page
    # The first try misses the result: the upload is kept and need not be chosen again.
    first = _submit(client, task.id, hidden, action="complete", judgment_no="（2026）吉0182民初123号",
                    judgment_scan=(io.BytesIO(BIG_PDF), "判决书.pdf", "application/pdf"))
    text = first.get_data(as_text=True)
    assert first.status_code == 422 and _feedback(text, "judgment_result") == ["判决结果：必填"]
    _fresh(session)
    attachment = session.scalars(select(Attachment).where(Attachment.task_id == task.id)).one()
    assert f'name="judgment_scan__attachment" value="{attachment.id}"' in text and "判决书.pdf" in text
    done = _submit(client, task.id, hidden, action="complete", judgment_no="（2026）吉0182民初123号",
                   judgment_result="return_enforceable", judgment_scan__attachment=str(attachment.id))
    assert done.status_code == 302
    _fresh(session)
    digest = hashlib.sha256(BIG_PDF).hexdigest()
    recorded = driver.events(case, "task_completed")[-1].data["data"]["judgment_scan"]
    assert recorded == {"sha256": digest, "name": "判决书.pdf", "size": len(BIG_PDF),
                        "content_type": "application/pdf"}
    assert (tmp_path / "files" / digest[:2] / digest).read_bytes() == BIG_PDF

    outsider = _client(app, outsider)
    assert outsider.get(f"/attachments/{attachment.id}").status_code == 404
    assert outsider.get("/attachments/" + "9" * 30).status_code == 404
    auditor = _client(app, auditor)
    got = auditor.get(f"/attachments/{attachment.id}")
    assert got.status_code == 200 and got.data == BIG_PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert app.test_client().get(f"/attachments/{attachment.id}").status_code == 302  # visitors sign in first


def test_web_pages_disguised_files_and_oversized_uploads_are_refused(app, session, driver, tmp_path) -> None:
    app.config["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    case, task = _court_task(driver)
    client = _client(app, driver.officer_for(task))
    _, hidden = _open(client, task.id)
    fields = {"action": "complete", "judgment_no": "（2026）吉0182民初123号", "judgment_result": "return_enforceable"}
    for upload, message in [
        ((io.BytesIO(b"<html><script>alert(1)</script></html>"), "判决书.html", "text/html"), "不接受网页、脚本或 SVG 文件"),
        ((io.BytesIO(b"<svg onload=alert(1)>"), "判决书.svg", "image/svg+xml"), "不接受网页、脚本或 SVG 文件"),
        ((io.BytesIO(b"<html>not a pdf</html>"), "判决书.pdf", "application/pdf"), "文件内容不是 .pdf 格式"),
        ((io.BytesIO(PDF), "判决书.pdf", "text/html"), "与文件名 .pdf 不符"),
        ((io.BytesIO(b"PK\x03\x04 a word file"), "判决书.docx", "application/octet-stream"), "不允许"),
    ]:
        refused = _submit(client, task.id, hidden, **fields, judgment_scan=upload)
        errors = _feedback(refused.get_data(as_text=True), "judgment_scan")
        assert refused.status_code == 422 and len(errors) == 1 and errors[0].startswith("判决书（扫描件）："), errors
        assert message in errors[0], errors

    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    too_big = _submit(client, task.id, hidden, **fields, judgment_scan=(io.BytesIO(PDF), "判决书.pdf", "application/pdf"))
    assert _feedback(too_big.get_data(as_text=True), "judgment_scan") == ["判决书（扫描件）：文件过大（不能超过 1 KB）"]

    app.config["UPLOAD_MAX_CONTENT_LENGTH"] = 64 * 1024
    huge = _submit(client, task.id, hidden, **fields,
                   judgment_scan=(io.BytesIO(b"%PDF-" + b"0" * 100_000), "判决书.pdf", "application/pdf"))
    assert huge.status_code == 413 and "上传内容过大" in huge.get_data(as_text=True)

    assert driver.open_ids(case) == ["court_judgment"]
    _fresh(session)
    assert session.scalars(select(Attachment)).all() == []
    assert not list((tmp_path / "files").rglob("upload-*"))  # nothing half-written left behind


def test_a_draft_past_its_size_bound_is_refused(app, driver, monkeypatch) -> None:
    monkeypatch.setattr(drafts, "DRAFT_MAX_BYTES", 1024)
    _, task = _intake(driver)
    client = _client(app, driver.officer_for(task))
    _, hidden = _open(client, task.id)
    refused = _submit(client, task.id, hidden, action="draft", intake_facts="长" * 1000)
    assert refused.status_code == 422 and "暂存内容过大" in refused.get_data(as_text=True)


def test_hostile_requests_get_chinese_answers_never_a_server_error(app, session, driver, people) -> None:
    case, task = _intake(driver)
    elsewhere = driver.task(driver.new_case(2, "舒兰市"), "intake_verify")
    client = _client(app, driver.officer_for(task))
    page, hidden = _open(client, task.id)
    for path in ("/tasks/" + "9" * 30, f"/tasks/{elsewhere.id}"):
        missing = client.get(path)
        assert missing.status_code == 404 and "任务不存在" in missing.get_data(as_text=True)
    nul = _submit(client, task.id, {**hidden, "version": "abc", "back": "https://evil.example/"}, action="complete",
                  households_confirmed="1e400", responsible_leader="王\x00副县长", intake_facts="核实")
    text = nul.get_data(as_text=True)
    assert nul.status_code == 422
    assert "不能包含控制字符" in _feedback(text, "responsible_leader")[0]
    assert _feedback(text, "households_confirmed") == ["核实逾期未安置户数：应为整数"]
    assert 'value="https://evil.example/"' not in text
    # Bytes that are not UTF-8 (a lone surrogate's encoding among them) arrive as U+FFFD, never a 500.
    raw = urlencode({**hidden, "action": "draft"}) + "&intake_facts=%ED%A0%80%FF&opinion=%C0"
    garbled = client.post(f"/tasks/{task.id}", data=raw, content_type="application/x-www-form-urlencoded")
    assert garbled.status_code == 302
    huge = client.post(f"/tasks/{task.id}", data={**hidden, "action": "draft", "intake_facts": "长" * (10 << 20)})
    assert huge.status_code == 413 and "上传内容过大" in huge.get_data(as_text=True)
    overlong = _submit(client, task.id, hidden, action="draft", intake_facts="长" * 100_000)
    assert overlong.status_code == 422 and _feedback(overlong.get_data(as_text=True), "intake_facts") == [
        "项目情况说明：不能超过 20000 个字符"]
    assert driver.open_ids(case) == ["intake_verify"]


def test_a_form_without_its_csrf_token_is_refused(app, session, driver) -> None:
    case, task = _intake(driver)
    client = _client(app, driver.officer_for(task))
    refused = client.post(f"/tasks/{task.id}", data={"action": "complete", "households_confirmed": "12",
                                                     "responsible_leader": "王副县长", "intake_facts": "核实无误"})
    assert refused.status_code == 400 and "校验码" in refused.get_data(as_text=True)
    assert client.post(f"/tasks/{task.id}/comments", data={"text": "你好"}).status_code == 400
    _fresh(session)
    assert driver.open_ids(case) == ["intake_verify"] and driver.events(case, "comment") == []
