"""Hostile input — NaN and infinities, 5,000-digit and 10**30 numbers, NUL and other control characters,
lone surrogates, 10 MB strings, 50,000-deep nesting, ids no row can have — gets a one-line Chinese
error naming the field and changes nothing: through the service layer and through the `huiqian`
command, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from models import Case, CaseEvent, ProcessInstance, Task
from webapp import create_app
from webapp.cli import main
from workflows import cases, forms, inputs, tasks
from workflows.cases import NewCase
from workflows.engine.specs import FormField
from workflows.errors import Invalid, NotFound

DEEP = 50_000
TEN_MB = 10_000_000


def deep_list(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


def deep_json(levels: int) -> str:
    return "[" * levels + "]" * levels


# --- what "changes nothing" means: every row a refused call could have touched is as it was ---------

def snapshot(session: Any, case_id: int | None = None) -> tuple[Any, ...]:
    session.rollback()  # a fresh read: see exactly what is committed
    counts = tuple(session.scalar(select(func.count()).select_from(model))
                   for model in (Case, CaseEvent, Task, ProcessInstance))
    if case_id is None:
        return counts
    rows = []
    for table, column in ((Case.__table__, "id"), (Task.__table__, "case_id"),
                          (ProcessInstance.__table__, "case_id")):
        stmt = select(table).where(table.c[column] == case_id).order_by(table.c.id)
        rows.append([tuple(r) for r in session.execute(stmt)])
    return counts, rows


def assert_one_line_naming(exc: Invalid | NotFound, field: str | None, label: str) -> None:
    assert "\n" not in exc.message and label in exc.message, exc.message
    if field is not None:
        assert field in exc.errors, exc.errors
        assert all("\n" not in m for m in exc.errors[field]) and label in exc.errors[field][0], exc.errors


# --- the two tasks attacked: intake (integer, text copied to a case column, textarea) and the category-5
# policy-support application (decimal, enum, date) -----------------------------------------------------

INTAKE_OK = {"households_confirmed": 12, "responsible_leader": "王副县长", "intake_facts": "已核实"}
SUPPORT_OK = {"policy_support_program": "central_budget", "policy_support_amount": 100.5,
              "policy_application_date": "2026-06-30"}
LABELS = {"households_confirmed": "核实逾期未安置户数", "responsible_leader": "包保领导",
          "intake_facts": "项目情况说明", "policy_support_program": "申报支持渠道",
          "policy_support_amount": "申报资金（万元）", "policy_application_date": "申报日期"}


@pytest.fixture
def intake(driver):  # noqa: ANN001, ANN201
    case = driver.new_case(1)
    task = driver.task(case, "intake_verify")
    return case.id, task.id, driver.officer_for(task), INTAKE_OK


@pytest.fixture
def support(driver):  # noqa: ANN001, ANN201
    case = driver.new_case(5)
    driver.intake_and_classify(case)
    driver.complete(case, "c5_infra_plan", policy_support_eligible=True)
    task = driver.task(case, "c5_apply_policy_support")
    return case.id, task.id, driver.officer_for(task), SUPPORT_OK


# (test id, task fixture, field, hostile value: built lazily, so 10 MB and 50k levels exist one at a time)
SERVICE_CASES: list[tuple[str, str, str, Callable[[], Any]]] = [
    ("integer-nan-float", "intake", "households_confirmed", lambda: float("nan")),
    ("integer-nan-text", "intake", "households_confirmed", lambda: "NaN"),
    ("integer-infinity", "intake", "households_confirmed", lambda: float("inf")),
    ("integer-minus-infinity-text", "intake", "households_confirmed", lambda: "-Infinity"),
    ("integer-10e30", "intake", "households_confirmed", lambda: 10**30),
    ("integer-5000-digits", "intake", "households_confirmed", lambda: 10**4999),
    ("integer-5000-digit-text", "intake", "households_confirmed", lambda: "9" * 5000),
    ("integer-50k-deep", "intake", "households_confirmed", lambda: deep_list(DEEP)),
    ("text-nul", "intake", "responsible_leader", lambda: "王\x00副县长"),
    ("text-lone-surrogate", "intake", "responsible_leader", lambda: "王\ud800"),
    ("text-101-for-100-column", "intake", "responsible_leader", lambda: "王" * 101),
    ("text-nested-object", "intake", "responsible_leader", lambda: {"a": {"b": {"c": 1}}}),
    ("textarea-nul", "intake", "intake_facts", lambda: "已核实\x00"),
    ("textarea-escape-char", "intake", "intake_facts", lambda: "\x1b[31m已核实"),
    ("textarea-lone-surrogate", "intake", "intake_facts", lambda: "\udfff"),
    ("textarea-5001-for-5000", "intake", "intake_facts", lambda: "说" * 5001),
    ("textarea-10mb", "intake", "intake_facts", lambda: "x" * TEN_MB),
    ("decimal-1e400-text", "support", "policy_support_amount", lambda: "1e400"),
    ("decimal-nan-text", "support", "policy_support_amount", lambda: "nan"),
    ("decimal-nan-float", "support", "policy_support_amount", lambda: float("nan")),
    ("decimal-snan-decimal", "support", "policy_support_amount", lambda: Decimal("sNaN")),
    ("decimal-minus-infinity", "support", "policy_support_amount", lambda: float("-inf")),
    ("decimal-5000-digits", "support", "policy_support_amount", lambda: 10**4999),
    ("decimal-10mb-text", "support", "policy_support_amount", lambda: "1" * TEN_MB),
    ("enum-5000-digits", "support", "policy_support_program", lambda: 10**4999),
    ("enum-50k-deep", "support", "policy_support_program", lambda: deep_list(DEEP)),
    ("date-year-1", "support", "policy_application_date", lambda: "0001-01-01"),
    ("date-year-9999", "support", "policy_application_date", lambda: "9999-12-31"),
    ("date-10mb", "support", "policy_application_date", lambda: "2026-06-30" + " " * TEN_MB),
]


@pytest.mark.parametrize(("which", "field", "make"), [c[1:] for c in SERVICE_CASES],
                         ids=[c[0] for c in SERVICE_CASES])
def test_complete_task_refuses_hostile_value_and_changes_nothing(request, session, which, field, make):  # noqa: ANN001
    case_id, task_id, actor, ok = request.getfixturevalue(which)
    before = snapshot(session, case_id)
    with pytest.raises(Invalid) as caught:
        tasks.complete_task(session, actor, task_id, {**ok, field: make()})
    assert_one_line_naming(caught.value, field, LABELS[field])
    assert snapshot(session, case_id) == before


def test_complete_task_refuses_impossible_task_ids_as_not_found(session, intake):  # noqa: ANN001
    case_id, _, actor, ok = intake
    before = snapshot(session, case_id)
    for task_id in (10**30, 2**63, -1, 0, 10**4999, "1", 1.0, True):
        with pytest.raises(NotFound, match="任务不存在"):
            tasks.complete_task(session, actor, task_id, ok)
    assert snapshot(session, case_id) == before


def test_get_case_refuses_impossible_case_ids_as_not_found(session, intake):  # noqa: ANN001
    _, _, actor, _ = intake
    for case_id in (10**30, 2**63, 0, "1"):
        with pytest.raises(NotFound, match="案件不存在"):
            cases.get_case(session, actor, case_id)


# --- filing a case ---------------------------------------------------------------------------------

CASE_LABELS = {"code": "项目编号", "project_name": "项目名称", "region_code": "地区代码",
               "responsible_leader": "包保领导", "developer_name": "开发企业", "notes": "备注",
               "households_overdue": "逾期未安置户数", "overdue_since": "逾期起始日期",
               "target_date": "目标完成日期", "category": "解决类别", "lead_type": "主导方式"}

CREATE_CASES: list[tuple[str, str, Callable[[], Any]]] = [
    ("code-nul", "code", lambda: "H-\x00001"),
    ("code-lone-surrogate", "code", lambda: "H-\ud800"),
    ("code-33-for-32-column", "code", lambda: "H" * 33),
    ("code-newline", "code", lambda: "H-1\nH-2"),
    ("project-name-201-for-200-column", "project_name", lambda: "项" * 201),
    ("project-name-10mb", "project_name", lambda: "项" * TEN_MB),
    ("region-code-nul", "region_code", lambda: "220182\x00"),
    ("region-code-lone-surrogate", "region_code", lambda: "\ud800"),
    ("region-code-10mb", "region_code", lambda: "2" * TEN_MB),
    ("leader-101-for-100-column", "responsible_leader", lambda: "王" * 101),
    ("leader-nul", "responsible_leader", lambda: "王\x00"),
    ("developer-201-for-200-column", "developer_name", lambda: "企" * 201),
    ("notes-nul", "notes", lambda: "备注\x00"),
    ("notes-lone-surrogate", "notes", lambda: "\ud800"),
    ("notes-10mb", "notes", lambda: "x" * TEN_MB),
    ("households-10e30", "households_overdue", lambda: 10**30),
    ("households-past-int32-column", "households_overdue", lambda: 2**31),
    ("households-5000-digits", "households_overdue", lambda: 10**4999),
    ("households-nan", "households_overdue", lambda: float("nan")),
    ("households-deep", "households_overdue", lambda: deep_list(DEEP)),
    ("category-nan", "category", lambda: float("nan")),
    ("category-unhashable", "category", lambda: [3]),
    ("lead-type-unhashable", "lead_type", lambda: {"government": 1}),
    ("overdue-since-year-1", "overdue_since", lambda: date(1, 1, 1)),
    ("overdue-since-text", "overdue_since", lambda: "2019-12-31"),
    ("target-date-year-9999", "target_date", lambda: date(9999, 12, 31)),
]


@pytest.fixture
def filing(people):  # noqa: ANN001, ANN201
    filer = people.officer("榆树市", "housing")
    new = NewCase(code="H-0001", project_name="榆树市测试棚改项目", region_code=people.region("榆树市").code,
                  lead_type="developer", households_overdue=12, overdue_since=date(2019, 12, 31), category=2,
                  responsible_leader="王副县长", developer_name="测试房地产开发有限公司")
    return filer, new


@pytest.mark.parametrize(("field", "make"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES])
def test_create_case_refuses_hostile_value_and_changes_nothing(session, filing, field, make):  # noqa: ANN001
    filer, new = filing
    before = snapshot(session)
    with pytest.raises(Invalid) as caught:
        cases.create_case(session, filer, replace(new, **{field: make()}))
    assert_one_line_naming(caught.value, field, CASE_LABELS[field])
    assert snapshot(session) == before


def test_create_case_still_files_a_clean_case(session, filing):  # noqa: ANN001
    filer, new = filing
    case = cases.create_case(session, filer, replace(new, notes="第一行\n第二行\t附注"))
    assert case.id and case.notes == "第一行\n第二行\t附注"


# --- every field type, without a database: the checks themselves ----------------------------------

ALL_TYPES = (
    FormField("t", "单行", "text", True), FormField("a", "多行", "textarea", False),
    FormField("i", "整数", "integer", False, minimum=0, maximum=500),
    FormField("d", "金额", "decimal", False, minimum=0), FormField("b", "是否", "boolean", False),
    FormField("dt", "日期", "date", False), FormField("e", "选项", "enum", False, options=(("x", "甲"), ("y", "乙"))),
)


FIELD_CASES: list[tuple[str, str, Callable[[], Any]]] = [
    ("text-tab", "t", lambda: "a\tb"), ("text-line-separator", "t", lambda: "a\u2028b"),
    ("text-del", "t", lambda: "\x7f"), ("textarea-nul", "a", lambda: "\x00"), ("textarea-c1-nel", "a", lambda: "一\x85二"),
    ("integer-over-declared-max", "i", lambda: 501), ("integer-float", "i", lambda: 2.0),
    ("integer-arabic-indic-digits", "i", lambda: "١٢"), ("integer-superscript", "i", lambda: "²"),
    ("decimal-infinity-text", "d", lambda: "Infinity"), ("decimal-junk", "d", lambda: "1e-400e"),
    ("decimal-bool", "d", lambda: True), ("boolean-10mb", "b", lambda: "x" * TEN_MB),
    ("boolean-list", "b", lambda: ["true"]), ("boolean-nan", "b", lambda: float("nan")), ("boolean-2", "b", lambda: 2),
    ("date-with-time", "dt", lambda: "2026-06-30T00:00"), ("date-int", "dt", lambda: 20260630),
    ("enum-bool", "e", lambda: True), ("enum-5000-digits", "e", lambda: 10**4999), ("enum-object", "e", lambda: {"x": 1}),
]


@pytest.mark.parametrize(("key", "make"), [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_every_field_type_refuses_with_its_label(key, make):  # noqa: ANN001
    field = next(f for f in ALL_TYPES if f.key == key)
    with pytest.raises(Invalid) as caught:
        forms.validate(ALL_TYPES, {"t": "好", key: make()} if key != "t" else {key: make()})
    assert_one_line_naming(caught.value, key, field.label)


def test_clean_values_of_every_field_type_still_pass():
    cleaned = forms.validate(ALL_TYPES, {"t": " 好 ", "a": "一\r\n二\t三", "i": "+12", "d": "1e3", "b": "是",
                                         "dt": "2026-06-30", "e": "y"})
    assert cleaned == {"t": "好", "a": "一\n二\t三", "i": 12, "d": 1000.0, "b": True, "dt": "2026-06-30",
                       "e": "y"}


def test_unknown_keys_are_echoed_printably_and_too_many_keys_refused():
    with pytest.raises(Invalid) as caught:
        forms.validate(ALL_TYPES, {"t": "好", "\ud800\x00" + "k" * 10_000: 1})
    (key,) = [k for k in caught.value.errors if k != "t"]
    key.encode("utf-8")  # printable: no lone surrogate left to break a terminal or a JSON response
    assert len(key) < 100 and "\x00" not in key
    with pytest.raises(Invalid, match="表单字段过多"):
        forms.validate(ALL_TYPES, {f"k{i}": 1 for i in range(10_000)})


LOADER_CASES: list[tuple[str, Callable[[], str]]] = [
    ("50k-deep-array", lambda: "[" * DEEP), ("50k-deep-under-a-key", lambda: '{"a": ' + "[" * DEEP),
    ("5000-digits", lambda: "1" * 5000), ("4400-negative-digits", lambda: "-" + "9" * 4400),
    ("nan", lambda: '{"a": NaN}'), ("minus-infinity-in-list", lambda: '{"a": [1, -Infinity]}'),
    ("1e400", lambda: '{"a": 1e400}'), ("2mb", lambda: "x" * (2 << 20)), ("not-json", lambda: "{oops"),
]


@pytest.mark.parametrize("make", [c[1] for c in LOADER_CASES], ids=[c[0] for c in LOADER_CASES])
def test_bounded_loader_never_raises_anything_but_invalid(make):  # noqa: ANN001
    with pytest.raises(Invalid) as caught:
        inputs.loads_bounded(make())
    assert "\n" not in caught.value.message and caught.value.message.startswith("--data：")


def test_bounded_loader_ignores_brackets_inside_strings():
    text = json.dumps({"a": "[" * 100 + '\\"{' * 100})
    assert inputs.loads_bounded(text) == json.loads(text)


# --- the command line -----------------------------------------------------------------------------

@pytest.fixture
def cli(engine, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """`huiqian …` against the test's own database (SQLite file or PostgreSQL database)."""
    monkeypatch.setenv("HUIQIAN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    app = create_app()
    runner = CliRunner()

    def invoke(*args: str):  # noqa: ANN202
        # catch_exceptions=False: a traceback fails the test instead of hiding in result.exception.
        return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app), catch_exceptions=False)

    yield invoke
    app.extensions["huiqian"]["engine"].dispose()


def _data(ok: dict[str, Any], field: str, raw_json: str) -> str:
    """The valid payload with `field`'s value replaced by raw JSON text (which json.dumps can't write)."""
    return json.dumps({**ok, field: "@@HOSTILE@@"}, ensure_ascii=False).replace('"@@HOSTILE@@"', raw_json)


# (test id, task fixture, field, raw JSON for its value, what the error line must name)
CLI_CASES: list[tuple[str, str, str, Callable[[], str], str]] = [
    ("nan-literal", "intake", "households_confirmed", lambda: "NaN", "households_confirmed"),
    ("minus-infinity-literal", "intake", "households_confirmed", lambda: "-Infinity", "households_confirmed"),
    ("nan-text", "intake", "households_confirmed", lambda: '"nan"', "核实逾期未安置户数"),
    ("1e400-number", "support", "policy_support_amount", lambda: "1e400", "policy_support_amount"),
    ("1e400-text", "support", "policy_support_amount", lambda: '"1e400"', "申报资金（万元）"),
    ("5000-digits", "intake", "households_confirmed", lambda: "9" * 5000, "households_confirmed"),
    ("10e30", "intake", "households_confirmed", lambda: "1" + "0" * 30, "households_confirmed"),
    ("20-digits", "intake", "households_confirmed", lambda: "9" * 20, "核实逾期未安置户数"),
    ("50k-deep", "intake", "intake_facts", lambda: deep_json(DEEP), "intake_facts"),
    ("shallow-nested-object", "intake", "intake_facts", lambda: '{"a": [1]}', "项目情况说明"),
    ("nul-escape", "intake", "responsible_leader", lambda: '"\\u0000"', "包保领导"),
    ("lone-surrogate-escape", "intake", "intake_facts", lambda: '"\\ud800"', "项目情况说明"),
    ("101-for-100-column", "intake", "responsible_leader", lambda: json.dumps("王" * 101), "包保领导"),
    ("10mb-string", "intake", "intake_facts", lambda: json.dumps("x" * TEN_MB), "--data"),
    ("year-9999", "support", "policy_application_date", lambda: '"9999-01-01"', "申报日期"),
]


@pytest.mark.parametrize(("which", "field", "make", "named"), [c[1:] for c in CLI_CASES],
                         ids=[c[0] for c in CLI_CASES])
def test_cli_complete_refuses_hostile_data_in_one_line_and_changes_nothing(request, session, cli, which, field,  # noqa: ANN001
                                                                          make, named):
    case_id, task_id, actor, ok = request.getfixturevalue(which)
    before = snapshot(session, case_id)
    result = cli("complete", str(task_id), "--user", actor.username, "--data", _data(ok, field, make()))
    assert result.exit_code == 1, result.output
    first, *rest = result.output.strip().split("\n")
    assert first.startswith("错误：") and "Traceback" not in result.output, result.output
    assert named in first, result.output
    assert all(line.startswith("  ") for line in rest), result.output
    assert snapshot(session, case_id) == before


@pytest.mark.parametrize(("task_id", "message"), [
    pytest.param("1000000000000000000000000000000", "错误：任务不存在", id="10e30-digits"),
    pytest.param("9" * 5000, "错误：任务不存在", id="5000-digits"),
    pytest.param("#0", "错误：任务不存在", id="hash-zero"),
    pytest.param("10^30", "错误：任务编号：应为数字", id="10^30-as-typed"),
    pytest.param("1e30", "错误：任务编号：应为数字", id="1e30"),
    pytest.param("#", "错误：任务编号：应为数字", id="hash-only"),
    pytest.param("\ud800", "错误：任务编号：应为数字", id="lone-surrogate"),
])
def test_cli_complete_refuses_impossible_task_ids_in_chinese(session, cli, intake, task_id, message):  # noqa: ANN001
    case_id, _, actor, ok = intake
    before = snapshot(session, case_id)
    result = cli("complete", task_id, "--user", actor.username, "--data", json.dumps(ok))
    assert result.exit_code == 1 and result.output.startswith(message), result.output
    assert len(result.output.strip().split("\n")) == 1 and "Usage" not in result.output
    result.output.encode("utf-8")
    assert snapshot(session, case_id) == before


def test_cli_complete_refuses_hostile_user_names(session, cli, intake):  # noqa: ANN001
    case_id, task_id, _, ok = intake
    before = snapshot(session, case_id)
    for username in ("a\x00b", "\ud800", "u" * TEN_MB):
        result = cli("complete", str(task_id), "--user", username, "--data", json.dumps(ok))
        assert result.exit_code == 1 and result.output.startswith("错误：--user 用户名："), result.output
    assert snapshot(session, case_id) == before


def test_cli_complete_without_a_task_id_explains_the_shell_comment(cli, intake):  # noqa: ANN001
    _, _, actor, ok = intake
    result = cli("complete", "--user", actor.username, "--data", json.dumps(ok))
    assert result.exit_code == 1 and result.output.startswith("错误：缺少任务编号") and "'#247'" in result.output
    # What the shell runs for an unquoted `huiqian complete #247 --user …`: everything after # is gone.
    result = cli("complete")
    assert result.exit_code == 1 and result.output.startswith("错误：缺少任务编号"), result.output


def test_cli_complete_accepts_the_id_as_the_inbox_prints_it(session, cli, intake):  # noqa: ANN001
    case_id, task_id, actor, ok = intake
    listing = cli("tasks", "--user", actor.username)
    assert f"#{task_id} " in listing.output, listing.output
    result = cli("complete", f"#{task_id}", "--user", actor.username, "--data", json.dumps(ok, ensure_ascii=False))
    assert result.exit_code == 0, result.output
    assert f"已办结任务 #{task_id}" in result.output
    session.rollback()
    assert session.get(Task, task_id).status == "completed"
