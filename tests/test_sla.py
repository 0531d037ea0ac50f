"""办理时限 declared in BPMN (sla_workdays): a task's due date counted in China's working days from when
it opens, the earlier of that and a BPMN timer; provisional while its year's holidays are unpublished;
refused at check time when malformed; shown on the task form (API) and the task page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from tests.conftest import at
from tests.test_ui_tasks import _client, _open
from tests.test_workdays import HOLIDAYS_2027, library_ends_2026  # noqa: F401 (a fixture)
from webapp.cli import main
from workflows import processes, workdays
from workflows.engine.specs import BPMN_NS, HQ_NS, parse_sources, read_directory
from workflows.errors import ProcessDefinitionError

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = "case_lifecycle.bpmn"
CATEGORY_1 = "category_1_litigation.bpmn"


def opened(driver, case, bpmn_id: str):  # noqa: ANN001, ANN201
    """The task_opened event of the open task `bpmn_id`."""
    task = driver.task(case, bpmn_id)
    [event] = [e for e in driver.events(case, "task_opened") if e.task_id == task.id]
    return task, event


def with_sla(directory: Path, file_name: str, task_id: str, value: str) -> None:
    """Give task `task_id` of one copied file <hq:property name="sla_workdays" value=.../>."""
    path = directory / file_name
    root = etree.fromstring(path.read_bytes())
    [task] = root.xpath("//*[@id=$id]", id=task_id)
    ext = task.find(f"{{{BPMN_NS}}}extensionElements")
    for prop in ext.findall(f"{{{HQ_NS}}}property[@name='sla_workdays']"):
        ext.remove(prop)
    etree.SubElement(ext, f"{{{HQ_NS}}}property", name="sla_workdays", value=value)
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    directory = tmp_path / "bpmn"
    shutil.copytree(ROOT / "bpmn", directory)
    return directory


# --- due dates from the real calendar ------------------------------------------------------------

def test_intake_opened_on_29_september_is_due_after_national_day(driver) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=at("2025-09-29 10:00"))
    task, event = opened(driver, case, "intake_verify")
    # 5 working days: 9-30, the make-up Saturday 10-11, 10-09, 10-10, 10-13 (10-01..10-08 off).
    assert task.due_at == at("2025-10-13 23:59:59")
    assert event.data["due_source"] == "sla" and event.data["sla_workdays"] == 5
    assert event.data["sla_due_at"] == event.data["due_at"] == at("2025-10-13 23:59:59").isoformat()
    assert "due_provisional" not in event.data
    assert "办理时限 2025-10-13 23:59（5 个工作日）" in event.summary and "暂定" not in event.summary


def test_the_next_step_counts_from_when_it_opens(driver) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=at("2025-09-29 10:00"))
    driver.complete(case, "intake_verify", now=at("2025-10-09 09:00"))
    task, event = opened(driver, case, "classify")
    # 10 working days after Thursday 10-09: 10-10, 10-11 (make-up), 10-13..17, 10-20..22.
    assert task.due_at == at("2025-10-22 23:59:59")
    assert event.data["sla_workdays"] == 10


def test_a_task_without_an_sla_keeps_no_due_date(driver) -> None:  # noqa: ANN001
    case = driver.new_case(3, now=at("2025-09-29 10:00"))
    driver.intake_and_classify(case)
    [first] = driver.open_ids(case)
    task, event = opened(driver, case, first)
    assert task.due_at is None
    assert event.data["due_source"] is None and "sla_workdays" not in event.data


# --- a year nobody has published ------------------------------------------------------------------

def test_a_count_into_an_unpublished_year_is_provisional_until_the_admin_enters_it(
        driver, people, library_ends_2026) -> None:  # noqa: ANN001, F811
    case = driver.new_case(2, now=at("2026-12-24 10:00"))
    driver.complete(case, "intake_verify", now=at("2026-12-24 11:00"))
    task, event = opened(driver, case, "classify")
    # 12-25, 12-28..31 (2026, published), then 2027 by weekdays only: 1-01, 1-04..07.
    assert task.due_at == at("2027-01-07 23:59:59")
    assert event.data["due_provisional"] is True and event.data["sla_uncovered_years"] == [2027]
    assert "（暂定：2027年节假日安排未公布）" in event.summary

    admin = people.user("吉林省", "supervision", "admin")
    workdays.enter_schedule(driver.session, admin, 2027, HOLIDAYS_2027, [])
    later = driver.new_case(2, now=at("2026-12-24 10:00"))
    driver.complete(later, "intake_verify", now=at("2026-12-24 11:00"))
    task, event = opened(driver, later, "classify")
    # 元旦 2027-01-01 is off now: one working day later, and final.
    assert task.due_at == at("2027-01-08 23:59:59")
    assert "due_provisional" not in event.data and "sla_uncovered_years" not in event.data
    assert "暂定" not in event.summary


# --- a BPMN timer and an SLA on the same task -------------------------------------------------------

def _court_case(driver, copied: Path, sla: str, filed: str):  # noqa: ANN001, ANN202
    with_sla(copied, CATEGORY_1, "court_judgment", sla)
    processes.deploy(driver.session, copied, deployed_by="tests")
    case = driver.new_case(1, now=at(filed))
    driver.to_court_judgment(case)
    return case, *opened(driver, case, "court_judgment")


def test_a_timer_earlier_than_the_sla_wins(driver, copied) -> None:  # noqa: ANN001
    case, task, event = _court_case(driver, copied, "250", "2025-06-02 10:00")
    # The court's 30 September deadline comes long before 250 working days.
    assert task.due_at == at("2025-09-30 23:59:59")
    assert event.data["due_source"] == "timer" and event.data["sla_workdays"] == 250
    assert event.data["sla_due_at"] > event.data["due_at"]
    assert "早于 250 个工作日的办理时限" in event.summary


def test_an_sla_earlier_than_the_timer_wins(driver, copied) -> None:  # noqa: ANN001
    case, task, event = _court_case(driver, copied, "5", "2025-06-02 10:00")
    assert event.data["due_source"] == "sla" and task.due_at.isoformat() == event.data["sla_due_at"]
    assert task.due_at < at("2025-09-30")


# --- refused when malformed ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "251", "-3", "5.5", "五", "５", "", " ", "1e2", "99999999999999999999"])
def test_a_bad_sla_is_refused_naming_the_element(copied, value) -> None:  # noqa: ANN001
    with_sla(copied, LIFECYCLE, "classify", value)
    with pytest.raises(ProcessDefinitionError) as refused:
        parse_sources(read_directory(copied))
    assert refused.value.element_id == "classify" and "sla_workdays" in str(refused.value)
    assert "1–250" in str(refused.value)


def test_an_sla_without_a_value_is_refused(copied) -> None:  # noqa: ANN001
    path = copied / LIFECYCLE
    path.write_text(path.read_text(encoding="utf-8").replace(
        '<hq:property name="sla_workdays" value="10"/>', '<hq:property name="sla_workdays"/>', 1), encoding="utf-8")
    with pytest.raises(ProcessDefinitionError) as refused:
        parse_sources(read_directory(copied))
    assert refused.value.element_id == "classify"


def test_check_bpmn_refuses_a_bad_sla_naming_the_element(copied, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("HUIQIAN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    with_sla(copied, LIFECYCLE, "intake_verify", "300")
    result = CliRunner().invoke(main, ["check-bpmn", str(copied / LIFECYCLE), str(copied / "shared_resettlement.bpmn"),
                                       *(str(p) for p in sorted(copied.glob("category_*.bpmn")))],
                                catch_exceptions=False)
    assert result.exit_code != 0
    assert "intake_verify" in result.output and "sla_workdays" in result.output


def test_the_lifecycle_declares_its_county_slas() -> None:
    bundle = processes.current_bundle(ROOT / "bpmn")
    slas = {bpmn_id: meta.sla_workdays for (process_id, bpmn_id), meta in bundle.tasks.items()
            if meta.sla_workdays and process_id == "case_lifecycle"}
    assert slas == {"intake_verify": 5, "classify": 10, "verify": 10}


def test_categories_1_2_and_5_and_the_shared_steps_declare_slas_for_the_backward_schedule() -> None:
    """倒排工期 counts back from the policy deadlines of categories 1, 2 and 5 by the SLAs of the steps
    ahead; a step of theirs without one would count as taking no time. The court's judgment has none:
    its limit is the 30 September of policy itself."""
    bundle = processes.current_bundle(ROOT / "bpmn")
    counted = {"category_1", "category_2", "category_2_delivery", "category_5", "category_5_delivery",
               "sub_resettlement_mode", "sub_sign_agreements", "sub_resettle_households"}
    without = sorted(bpmn_id for (process_id, bpmn_id), meta in bundle.tasks.items()
                     if process_id in counted and meta.sla_workdays is None)
    assert without == ["court_judgment"]


# --- shown on the form -----------------------------------------------------------------------------

def test_the_api_form_shows_the_sla(api_as, driver) -> None:  # noqa: ANN001
    case = driver.new_case(3, now=at("2025-09-29 10:00"))
    task = driver.task(case, "intake_verify")
    r = api_as(driver.officer_for(task)).get(f"/tasks/{task.id}/form")
    assert r.status_code == 200, r.json
    assert r.json["sla"] == {"workdays": 5, "due_at": "2025-10-13T15:59:59+00:00", "applied": True,
                             "provisional": False, "uncovered_years": [], "label": "5 个工作日（至 2025-10-13）"}
    driver.intake_and_classify(case)
    [other] = driver.open_tasks(case)
    assert api_as(driver.officer_for(other)).get(f"/tasks/{other.id}/form").json["sla"] is None


def test_the_task_page_shows_the_sla(app, driver) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=at("2025-09-29 10:00"))
    task = driver.task(case, "intake_verify")
    page, _ = _open(_client(app, driver.officer_for(task)), task.id)
    assert '<span id="task-sla">5 个工作日（至 2025-10-13）</span> · 截止 2025-10-13 23:59' in page


def test_several_counts_from_one_moment_cost_one_statement(engine, session) -> None:  # noqa: ANN001
    from tests.test_hot_path import Counter
    start = at("2025-09-29 10:00")
    with Counter(engine) as counter:
        together = workdays.add_workdays_each(session, start, [10, 5, 5, 250])
    assert len(counter.statements) == 1
    assert sorted(together) == [5, 10, 250]
    for n, deadline in together.items():
        assert deadline == workdays.add_workdays(session, start, n)
    assert workdays.add_workdays_each(session, start, []) == {}
