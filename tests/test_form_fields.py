"""Form field declarations added for evidence and agreements (issue 13, items 5 and 8): `file` fields
(a reference to an uploaded file, checked for hash, size and type), `must-be-true` booleans, `max-case`
bounds and task `requires` rules — how the BPMN declares them and how submissions are judged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import at
from tests.driver import file_reference
from workflows import forms
from workflows.engine.specs import DEFAULT_MAX_SIZE, FormField, parse_sources, read_directory
from workflows.errors import Invalid, ProcessDefinitionError

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
LIFECYCLE = "case_lifecycle.bpmn"
CLOSEOUT_NOTE = '<hq:field key="closeout_note" label="销号说明" type="textarea" required="false"/>'
SCAN = FormField(key="scan", label="判决书（扫描件）", type="file", required=True, accept=(".pdf", ".jpg", ".png"),
                 max_size=DEFAULT_MAX_SIZE)
GOOD = {"sha256": hashlib.sha256(b"ruling").hexdigest(), "name": "（2026）吉0182民初123号判决书.pdf",
        "size": 1_234_567, "content_type": "application/pdf"}


def refusal(data: dict, field: FormField = SCAN) -> list[str]:
    with pytest.raises(Invalid) as caught:
        forms.validate((field,), data)
    assert "\n" not in caught.value.message and field.label in caught.value.message
    return caught.value.errors[field.key]


# --- file fields ----------------------------------------------------------------------------------

def test_a_file_reference_is_kept_as_the_four_facts_of_the_upload():
    upper = {**GOOD, "sha256": GOOD["sha256"].upper(), "content_type": "Application/PDF; charset=binary"}
    assert forms.validate((SCAN,), {"scan": upper}) == {"scan": {**GOOD}}


@pytest.mark.parametrize(("change", "problem"), [
    ({"sha256": "abc123"}, "文件校验码 sha256 应为 64 位十六进制字符"),
    ({"sha256": "g" * 64}, "文件校验码 sha256 应为 64 位十六进制字符"),
    ({"sha256": 12345}, "文件校验码 sha256 应为 64 位十六进制字符"),
    ({"size": DEFAULT_MAX_SIZE + 1}, "文件过大（不能超过 20 MB）"),
    ({"size": 10**4999}, "文件过大（不能超过 20 MB）"),
    ({"size": 0}, "文件为空"),
    ({"size": -5}, "文件大小应为正整数字节数"),
    ({"size": "1024"}, "文件大小应为字节数（整数）"),
    ({"size": True}, "文件大小应为字节数（整数）"),
    ({"name": "判决书.exe", "content_type": "application/octet-stream"}, "文件类型不允许（允许：.pdf、.jpg、.png）"),
    ({"name": "判决书.docx"}, "文件类型不允许（允许：.pdf、.jpg、.png）"),
    ({"name": "判决书"}, "文件类型不允许（允许：.pdf、.jpg、.png）"),
    ({"content_type": "image/png"}, "文件类型 image/png 与文件名 .pdf 不符（允许：.pdf、.jpg、.png）"),
    ({"content_type": "x" * 101}, "文件类型无效（允许：.pdf、.jpg、.png）"),
    ({"name": "../../etc/判决书.pdf"}, "文件名无效（应为不含路径的文件名）"),
    ({"name": "判决书\x00.pdf"}, "判决书（扫描件）（文件名）：不能包含控制字符（NUL）"),
    ({"name": "判" * 256 + ".pdf"}, "判决书（扫描件）（文件名）：不能超过 255 个字符"),
])
def test_a_bad_file_reference_is_refused_naming_the_field(change, problem):
    messages = refusal({"scan": {**GOOD, **change}})
    assert messages == [problem if problem.startswith(SCAN.label) else f"{SCAN.label}：{problem}"]


@pytest.mark.parametrize(("value", "problem"), [
    ({k: v for k, v in GOOD.items() if k != "size"}, "文件引用缺少 size"),
    ({**GOOD, "path": "/srv/uploads/1.pdf"}, "文件引用含有未知项 path（只能包含 sha256、name、size、content_type）"),
    ("判决书.pdf", "应为已上传文件的引用（含 sha256、name、size、content_type）"),
    ([GOOD], "应为已上传文件的引用（含 sha256、name、size、content_type）"),
])
def test_a_value_that_is_not_a_file_reference_is_refused(value, problem):
    assert refusal({"scan": value}) == [f"{SCAN.label}：{problem}"]


def test_a_required_file_that_is_missing_is_refused():
    assert refusal({}) == ["判决书（扫描件）：必填"]
    assert refusal({"scan": ""}) == ["判决书（扫描件）：必填"]
    optional = FormField(key="scan", label="附件", type="file", required=False, accept=(".pdf",), max_size=100)
    assert forms.validate((optional,), {}) == {}


def advance_to(driver, case, bpmn_id: str, limit: int = 12) -> None:  # noqa: ANN001
    """Complete the case's first open task with valid values until `bpmn_id` opens (a playbook may gain
    steps before it; the test is about the step, not the way there)."""
    for _ in range(limit):
        open_ids = driver.open_ids(case)
        if bpmn_id in open_ids:
            return
        driver.complete(case, open_ids[0])
    raise AssertionError(f"{bpmn_id} never opened; open: {driver.open_ids(case)}")


def test_the_court_ruling_step_refuses_a_bad_scan_and_changes_nothing(driver):
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    advance_to(driver, case, "court_judgment")
    events = len(driver.events(case))
    with pytest.raises(Invalid) as caught:
        driver.complete(case, "court_judgment", judgment_scan={**file_reference(), "size": 30 * 1024 * 1024})
    assert caught.value.errors == {"judgment_scan": ["判决书（扫描件）：文件过大（不能超过 20 MB）"]}
    with pytest.raises(Invalid) as caught:
        driver.complete(case, "court_judgment", judgment_scan=None)
    assert caught.value.errors == {"judgment_scan": ["判决书（扫描件）：必填"]}
    assert len(driver.events(case)) == events and "court_judgment" in driver.open_ids(case)
    task = driver.complete(case, "court_judgment", judgment_result="return_enforceable", now=at("2026-06-01"))
    assert task.data["judgment_scan"] == file_reference()


@pytest.mark.parametrize(("process", "task_id", "key"), [
    ("sub_sign_agreements", "sign_return_agreements", "agreements_scan"),
    ("sub_resettlement_mode", "sign_supplementary", "supplementary_scan"),
    ("category_1", "court_judgment", "judgment_scan"),
    ("category_7", "c7_joint_meeting", "joint_meeting_minutes"),
    ("category_7", "c7_completion_acceptance", "acceptance_report_scan"),
    ("category_7", "c7_fire_acceptance", "fire_acceptance_scan"),
])
def test_steps_a_verifier_checks_require_their_evidence(process, task_id, key):
    bundle = parse_sources(read_directory(BPMN_DIR))
    field = next(f for f in bundle.task_meta(process, task_id).fields if f.key == key)
    assert (field.type, field.required, field.max_size) == ("file", True, DEFAULT_MAX_SIZE)
    assert ".pdf" in field.accept
    assert field.as_dict()["accept"] == list(field.accept)


# --- declarations the loader refuses -------------------------------------------------------------

@pytest.mark.parametrize(("declaration", "says"), [
    ('<hq:field key="x" label="附件" type="file" accept=".pdf,.exe"/>', "accept 含不支持的类型 .exe"),
    ('<hq:field key="x" label="附件" type="file" accept=""/>', "accept 含不支持的类型"),
    ('<hq:field key="x" label="附件" type="file" max-size="0"/>', "max-size 应为"),
    ('<hq:field key="x" label="附件" type="file" max-size="1e9"/>', "max-size 应为"),
    ('<hq:field key="x" label="附件" type="file" max-size="999999999999"/>', "max-size 应为"),
    ('<hq:field key="x" label="说明" type="text" accept=".pdf"/>', "不是附件字段"),
    ('<hq:field key="x" label="确认" type="text" must-be-true="true" required="true"/>', "不是是/否字段"),
    ('<hq:field key="x" label="确认" type="boolean" must-be-true="true"/>', "须同时 required"),
    ('<hq:field key="x" label="户数" type="integer" max-case="households_resettled"/>', "max-case"),
    ('<hq:field key="x" label="说明" type="text" max-case="households_overdue"/>', "不是数字字段"),
])
def test_a_bad_field_declaration_is_refused_naming_the_task(declaration, says):
    sources = read_directory(BPMN_DIR)
    sources[LIFECYCLE] = sources[LIFECYCLE].replace(CLOSEOUT_NOTE, declaration)
    with pytest.raises(ProcessDefinitionError) as caught:
        parse_sources(sources)
    assert says in caught.value.message and caught.value.element_id == "closeout"


@pytest.mark.parametrize(("properties", "says"), [
    ('<hq:property name="requires" value="all_happy"/>', "requires 的值 'all_happy' 未知"),
    ('<hq:property name="requires_when" value="closeout_date"/>', "须与 requires 同时声明"),
    ('<hq:property name="requires" value="households_resolved"/><hq:property name="requires_when" '
     'value="closeout_date"/>', "应为本任务的是/否字段"),
])
def test_a_bad_requirement_is_refused(properties, says):
    sources = read_directory(BPMN_DIR)
    old = '<hq:property name="requires" value="households_resolved"/>\n      </bpmn:extensionElements>'
    assert old in sources[LIFECYCLE]
    sources[LIFECYCLE] = sources[LIFECYCLE].replace(old, f"{properties}\n      </bpmn:extensionElements>")
    with pytest.raises(ProcessDefinitionError) as caught:
        parse_sources(sources)
    assert says in caught.value.message and caught.value.element_id == "closeout"
