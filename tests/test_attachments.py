"""Evidence files through the service: stored once under their SHA-256, outside the web root, only
for an open task's file field by someone who may act on it, of the kind the field accepts (name, type
and first bytes agreeing), within its size; read back only by those who may see the case."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Attachment
from workflows import attachments
from workflows.attachments import Upload
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def _court_task(driver):  # noqa: ANN001, ANN202
    case = driver.new_case(1, "榆树市")
    task = driver.to_court_judgment(case)
    return case, task, driver.officer_for(task)


def _store(session, actor, task, directory: Path, content: bytes = PDF, name: str = "判决书.pdf",  # noqa: ANN001, ANN202
           content_type: str | None = "application/pdf", field: str = "judgment_scan", **limits: int):
    return attachments.store_upload(session, actor, task.id, field, Upload(io.BytesIO(content), name, content_type),
                                    directory=directory, **limits)


def _count(session) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(func.count()).select_from(Attachment))


def test_the_same_scan_is_stored_once_under_its_hash_and_recorded_per_upload(session, driver, store) -> None:
    case, task, court = _court_task(driver)
    first = _store(session, court, task, store, name="C:\\扫描\\判决书.pdf")
    second = _store(session, court, task, store, content_type="application/pdf; charset=binary")
    digest = hashlib.sha256(PDF).hexdigest()
    assert (first.sha256, second.sha256) == (digest, digest) and first.id != second.id
    assert first.name == "判决书.pdf" and first.case_id == case.id and first.uploaded_by_id == court.id
    assert first.content_type == "application/pdf" and first.size == len(PDF)
    assert _files(store) == [f"{digest[:2]}/{digest}"]
    assert attachments.reference(first) == {"sha256": digest, "name": "判决书.pdf", "size": len(PDF),
                                            "content_type": "application/pdf"}


@pytest.mark.parametrize(("name", "content", "content_type", "problem"), [
    ("判决书.html", b"<html></html>", "text/html", "不接受网页、脚本或 SVG 文件（.html）"),
    ("判决书.htm", b"<html></html>", None, "不接受网页、脚本或 SVG 文件（.htm）"),
    ("判决书.svg", b"<svg/>", "image/svg+xml", "不接受网页、脚本或 SVG 文件（.svg）"),
    ("scan.pdf.js", b"alert(1)", "text/javascript", "不接受网页、脚本或 SVG 文件（.js）"),
    ("判决书.docx", b"PK\x03\x04", None, "文件类型 .docx 不允许"),
    ("判决书", PDF, "application/pdf", "（无扩展名）"),
    ("判决书.pdf", b"<html><script>alert(1)</script>", "application/pdf", "文件内容不是 .pdf 格式"),
    ("判决书.png", PDF, "image/png", "文件内容不是 .png 格式"),
    ("判决书.pdf", PDF, "text/html", "与文件名 .pdf 不符"),
    ("判决书.pdf", b"", "application/pdf", "文件为空"),
    ("判\x00决书.pdf", PDF, "application/pdf", "不能包含控制字符"),
    ("..", PDF, "application/pdf", "文件名无效"),
])
def test_files_the_field_does_not_take_are_refused_naming_it(session, driver, store, name, content,
                                                             content_type, problem) -> None:
    _, task, court = _court_task(driver)
    with pytest.raises(Invalid) as refused:
        _store(session, court, task, store, content=content, name=name, content_type=content_type)
    assert list(refused.value.errors) == ["judgment_scan"]
    message = refused.value.errors["judgment_scan"][0]
    assert message.startswith("判决书（扫描件）") and problem in message, message
    assert _count(session) == 0
    assert _files(store) == []  # nothing half-written left behind


def test_images_and_unknown_browser_types_are_taken_by_their_first_bytes(session, driver, store) -> None:
    _, task, court = _court_task(driver)
    stored = _store(session, court, task, store, content=PNG, name="判决书第1页.PNG", content_type="image/x-png")
    assert stored.content_type == "image/png"
    stored = _store(session, court, task, store, content=PDF, name="判决书.pdf", content_type=None)
    assert stored.content_type == "application/pdf"


def test_a_file_past_the_field_or_global_limit_is_refused(session, driver, store) -> None:
    _, task, court = _court_task(driver)
    with pytest.raises(Invalid) as refused:
        _store(session, court, task, store, content=PDF + b"0" * 2048, max_bytes=1024)
    assert refused.value.errors == {"judgment_scan": ["判决书（扫描件）：文件过大（不能超过 1 KB）"]}
    assert _count(session) == 0 and _files(store) == []


def test_only_those_who_may_act_on_an_open_task_upload(session, driver, people, store) -> None:
    case, task, court = _court_task(driver)
    auditor = people.user("吉林省", "supervision", "auditor")
    outsider = people.officer("舒兰市", "housing")
    with pytest.raises(Forbidden):
        _store(session, auditor, task, store)
    with pytest.raises(NotFound):
        _store(session, outsider, task, store)
    with pytest.raises(Invalid) as refused:
        _store(session, court, task, store, field="judgment_no")  # a text field takes no file
    assert "该任务没有此附件字段" in refused.value.message
    driver.complete(case, "court_judgment", judgment_result="return_enforceable")
    with pytest.raises(Conflict):
        _store(session, court, task, store)
    assert _count(session) == 0


def test_an_attachment_is_read_only_within_the_case_jurisdiction(session, driver, people, store) -> None:
    _, task, court = _court_task(driver)
    stored = _store(session, court, task, store)
    for reader in (people.user("吉林省", "supervision", "auditor"), people.supervisor("长春市"), court):
        assert attachments.get_attachment(session, reader, stored.id).id == stored.id
    for outsider in (people.officer("舒兰市", "housing"), people.supervisor("吉林市")):
        with pytest.raises(NotFound):
            attachments.get_attachment(session, outsider, stored.id)
    for bogus in (0, -1, 10**30, stored.id + 1000):
        with pytest.raises(NotFound):
            attachments.get_attachment(session, court, bogus)
