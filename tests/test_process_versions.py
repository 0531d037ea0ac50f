"""Deployed process versions: running cases keep theirs, new cases take the newest, and running cases
can be migrated to a newer one (workflows/migration.py) without losing their open tasks."""

from __future__ import annotations

import shutil
import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from models import Case, CaseEvent, ProcessInstance, ProcessVersion, User
from tests.conftest import at
from workflows import cases, migration, processes, tasks
from workflows.cases import NewCase
from workflows.engine.specs import BPMN_NS, HQ_NS
from workflows.errors import Forbidden, NotFound, ProcessDefinitionError

ROOT = Path(__file__).resolve().parent.parent
CATEGORY_2 = "category_2_under_construction.bpmn"
NS = {"bpmn": BPMN_NS}


def _b(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _edit(directory: Path, file_name: str, change) -> None:  # noqa: ANN001
    """Apply `change(root)` to one file. Its diagram is dropped rather than laid out again: process
    versions never read the DI, and the layout tool is a design-time Node.js tool (tools/)."""
    path = directory / file_name
    root = etree.fromstring(path.read_bytes())
    change(root)
    for diagram in root.findall("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNDiagram"):
        root.remove(diagram)
    path.write_text(etree.tostring(root, encoding="unicode"), encoding="utf-8")


def _by_id(root: etree._Element, element_id: str) -> etree._Element:
    found = root.xpath("//*[@id=$id]", id=element_id)
    assert len(found) == 1, element_id
    return found[0]


def insert_task_after(directory: Path, file_name: str, after: str, new_id: str, name: str) -> None:
    """A new user task between `after` and what follows it, in `after`'s lane, with a form field."""
    def change(root: etree._Element) -> None:
        before = _by_id(root, after)
        process = before.getparent()
        flow_id = before.find("bpmn:outgoing", NS).text.strip()
        flow = _by_id(root, flow_id)
        new_flow = f"{flow_id}_{new_id}"
        before.find("bpmn:outgoing", NS).text = new_flow
        task = etree.Element(_b("userTask"), id=new_id, name=name)
        ext = etree.SubElement(task, _b("extensionElements"))
        form = etree.SubElement(ext, f"{{{HQ_NS}}}form")
        etree.SubElement(form, f"{{{HQ_NS}}}field", key="progress_note", label="建设进度说明", type="textarea",
                         required="true")
        etree.SubElement(task, _b("incoming")).text = new_flow
        etree.SubElement(task, _b("outgoing")).text = flow_id
        before.addnext(task)
        flow.set("sourceRef", new_id)
        process.append(etree.Element(_b("sequenceFlow"), id=new_flow, sourceRef=after, targetRef=new_id))
        ref = process.xpath(".//bpmn:lane/bpmn:flowNodeRef[normalize-space(text())=$id]", namespaces=NS, id=after)[0]
        new_ref = etree.Element(_b("flowNodeRef"))
        new_ref.text = new_id
        ref.addnext(new_ref)

    _edit(directory, file_name, change)


def remove_task(directory: Path, file_name: str, task_id: str) -> None:
    """Remove a task with one incoming and one outgoing flow; its incoming flow goes where it went."""
    def change(root: etree._Element) -> None:
        task = _by_id(root, task_id)
        process = task.getparent()
        incoming = _by_id(root, task.find("bpmn:incoming", NS).text.strip())
        outgoing = _by_id(root, task.find("bpmn:outgoing", NS).text.strip())
        target = _by_id(root, outgoing.get("targetRef"))
        incoming.set("targetRef", target.get("id"))
        for el in target.findall("bpmn:incoming", NS):
            if el.text.strip() == outgoing.get("id"):
                el.text = incoming.get("id")
        for ref in process.xpath(".//bpmn:lane/bpmn:flowNodeRef[normalize-space(text())=$id]", namespaces=NS,
                                 id=task_id):
            ref.getparent().remove(ref)
        process.remove(outgoing)
        process.remove(task)

    _edit(directory, file_name, change)


@pytest.fixture
def v2_dir(tmp_path: Path) -> Path:
    """bpmn/ with a new task 「核查建设进度」 (review_progress) between urge_builder and the delivery call."""
    directory = tmp_path / "v2"
    shutil.copytree(ROOT / "bpmn", directory)
    insert_task_after(directory, CATEGORY_2, "urge_builder", "review_progress", "核查建设进度")
    return directory


@pytest.fixture
def v3_dir(tmp_path: Path, v2_dir: Path) -> Path:
    """v2 without 「完成建设并交付回迁房」 (complete_construction)."""
    directory = tmp_path / "v3"
    shutil.copytree(v2_dir, directory)
    remove_task(directory, CATEGORY_2, "complete_construction")
    return directory


def deploy(session, directory: Path) -> ProcessVersion:  # noqa: ANN001
    result = processes.deploy(session, directory, deployed_by="tests")
    assert result.created
    return result.version


def version_of(session, case: Case) -> int:  # noqa: ANN001
    session.rollback()
    return session.scalar(select(ProcessVersion.number).join(ProcessInstance, ProcessInstance.version_id
                                                             == ProcessVersion.id)
                          .where(ProcessInstance.case_id == case.id))


def snapshot(driver, case: Case) -> list[tuple]:  # noqa: ANN001
    return [(t.id, t.spiff_task_id, t.bpmn_id, t.assignee_id, t.due_at) for t in driver.open_tasks(case)]


def at_urge_builder(driver, **kw) -> Case:  # noqa: ANN001, ANN003
    case = driver.new_case(2, **kw)
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["urge_builder"]
    return case


def at_construction(driver, **kw) -> Case:  # noqa: ANN001, ANN003
    """A category-2 case whose builder reported and 住建 found it built: the delivery and the signing open."""
    case = at_urge_builder(driver, **kw)
    driver.complete(case, "urge_builder")
    assert sorted(driver.open_ids(case)) == ["c2_report_progress", "sign_return_agreements"]
    driver.complete(case, "c2_report_progress")
    driver.complete(case, "c2_check_progress", construction_completed=True)
    assert sorted(driver.open_ids(case)) == ["complete_construction", "sign_return_agreements"]
    return case


def test_the_edited_copy_is_a_valid_new_version(v2_dir, v3_dir):
    v2 = processes.current_bundle(v2_dir)
    assert v2.task_meta("category_2", "review_progress").fields[0].key == "progress_note"
    assert v2.task_meta("category_2", "review_progress").lane == v2.task_meta("category_2", "urge_builder").lane
    v3 = processes.current_bundle(v3_dir)
    assert ("category_2_delivery", "complete_construction") not in v3.tasks


def test_running_cases_keep_their_version_and_new_cases_take_the_new_one(driver, v2_dir):
    old = at_urge_builder(driver, now=at("2026-03-02 09:00"))
    assert deploy(driver.session, v2_dir).number == 2

    # The running case still reads its task from v1 and completes it on v1: no review step appears.
    urge = driver.task(old, "urge_builder")
    assert tasks.task_meta(driver.session, urge).name == "督促建设单位加快建设进度"
    assert [f.key for f in tasks.task_fields(driver.session, urge)] == ["planned_delivery_date", "urging_measures"]
    driver.complete(old, "urge_builder")
    assert sorted(driver.open_ids(old)) == ["c2_report_progress", "sign_return_agreements"]
    assert version_of(driver.session, old) == 1

    new = at_urge_builder(driver)
    assert version_of(driver.session, new) == 2
    driver.complete(new, "urge_builder")
    assert driver.open_ids(new) == ["review_progress"]
    review = driver.task(new, "review_progress")
    assert [f.key for f in tasks.task_fields(driver.session, review)] == ["progress_note"]
    driver.complete(new, "review_progress")
    assert sorted(driver.open_ids(new)) == ["c2_report_progress", "sign_return_agreements"]

    counts = {v.number: (v.open_cases, v.all_cases) for v in processes.list_versions(driver.session)}
    assert counts == {1: (1, 1), 2: (1, 1)}


def test_dry_run_reports_and_writes_nothing_then_migration_keeps_open_tasks(driver, people, v2_dir):
    at_intake = driver.new_case(2, now=at("2026-03-02 09:00"))
    before_review = at_urge_builder(driver)
    building = at_construction(driver)
    joined = at_construction(driver)
    driver.complete(joined, "complete_construction")  # the parallel join now waits for signing
    # A claimed task: migration must keep who holds it.
    build_task = driver.task(building, "complete_construction")
    claimant = driver.officer_for(build_task)
    tasks.claim(driver.session, claimant, build_task.id)
    closed = at_construction(driver)
    for step in ("complete_construction", "sign_return_agreements"):
        driver.complete(closed, step)
    driver.resettle_all(closed)
    driver.verify_and_close(closed)
    running = [at_intake, before_review, building, joined]
    open_before = {c.id: snapshot(driver, c) for c in running}
    states_before = dict(driver.session.execute(select(ProcessInstance.case_id, ProcessInstance.state)).all())

    deploy(driver.session, v2_dir)
    dry = migration.migrate_cases(driver.session, None, 2, dry_run=True)
    assert [(r.case_code, r.status) for r in dry] == [(c.code, "would_migrate") for c in running]
    assert all(r.from_number == 1 and r.to_number == 2 for r in dry)
    plans = {p.case_code: p for p in migration.plan(driver.session, None, 2)}
    review_added = {"process": "category_2", "added": ["review_progress"], "removed": [],
                    "changed": ["urge_builder"]}
    assert review_added in plans[before_review.code].changed
    assert plans[before_review.code].waiting == ["督促建设单位加快建设进度"]
    assert plans[at_intake.code].changed == []  # category 2 is not running yet: nothing differs for it
    assert sorted(plans[building.code].waiting) == ["完成建设并交付回迁房", "组织居民签订回迁安置协议"]
    assert plans[building.code].opens == [] and plans[building.code].cancels == []
    # Nothing written: versions, states, tasks and history are as they were.
    assert all(version_of(driver.session, c) == 1 for c in running)
    assert dict(driver.session.execute(select(ProcessInstance.case_id, ProcessInstance.state)).all()) \
        == states_before
    assert {c.id: snapshot(driver, c) for c in running} == open_before
    assert driver.session.scalar(select(func.count()).select_from(CaseEvent)
                                 .where(CaseEvent.kind == "process_migrated")) == 0

    results = migration.migrate_cases(driver.session, None, 2, now=at("2026-03-03 10:00"))
    assert [(r.case_code, r.status) for r in results] == [(c.code, "migrated") for c in running]
    assert all(version_of(driver.session, c) == 2 for c in running)
    assert version_of(driver.session, closed) == 1  # a closed case is left alone
    # Open tasks keep their rows: ids, engine ids, assignee (the claim), deadlines.
    assert {c.id: snapshot(driver, c) for c in running} == open_before
    assert driver.task(building, "complete_construction").assignee_id == claimant.id
    # Its SLA (30 working days), earlier than the year-end timer on the calling activity.
    assert driver.task(building, "complete_construction").due_at == at("2026-04-14 23:59:59")
    for c in running:
        assert [e.kind for e in driver.events(c)][-1] == "process_migrated"  # no task opened or withdrawn
        event = driver.events(c, "process_migrated")[0]
        assert event.summary == "流程由 v1 迁移至 v2"
        assert event.data["from"] == 1 and event.data["to"] == 2
    assert review_added in driver.events(before_review, "process_migrated")[0].data["changed"]
    assert migration.migrate_cases(driver.session, None, 2) == []  # nothing older is left

    # The case waiting before the inserted task passes through it, and runs on to the end.
    driver.complete(before_review, "urge_builder")
    assert driver.open_ids(before_review) == ["review_progress"]
    driver.complete(before_review, "review_progress")
    driver.finish_construction(before_review)
    driver.complete(before_review, "sign_return_agreements")
    driver.resettle_all(before_review)
    driver.verify_and_close(before_review)
    # The one not yet classified gets the new step too.
    driver.intake_and_classify(at_intake)
    driver.complete(at_intake, "urge_builder")
    assert driver.open_ids(at_intake) == ["review_progress"]
    # The ones inside the delivery process finish it on the new version.
    driver.complete(building, "complete_construction")
    driver.complete(building, "sign_return_agreements")
    driver.complete(joined, "sign_return_agreements")
    for c in (building, joined):
        driver.resettle_all(c)
        driver.verify_and_close(c)


def test_migration_keeps_a_timer_deadline_set_under_the_old_version(driver, v2_dir):
    case = at_construction(driver, now=at("2026-03-02 09:00"))
    deploy(driver.session, v2_dir)
    [result] = migration.migrate_cases(driver.session, None, 2, [case.code], now=at("2026-06-01 08:00"))
    assert result.status == "migrated", result.reason
    driver.session.rollback()
    instance = driver.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id))
    assert instance.next_timer_at == at("2026-12-31 23:59:59")


def test_a_deadline_that_passed_before_migration_fires_on_its_old_date(driver, v2_dir):
    case = at_construction(driver, now=at("2026-03-02 09:00"))
    deploy(driver.session, v2_dir)
    # Migrated in the new year before the year-end timer ran. Re-evaluating deadline_this_year(12, 31)
    # now (what migrate_workflow's reset does) would move the deadline to 2027-12-31; the case keeps
    # 2026-12-31, which has passed, so the timer fires on the way, as it would on any other move.
    driver.travel_to(at("2027-01-02 08:00"))
    [result] = migration.migrate_cases(driver.session, None, 2, [case.code], now=at("2027-01-02 08:00"))
    assert result.status == "migrated", result.reason
    assert [o["name"] for o in result.opened] == ["年底未实现回迁：督办"]
    [fired] = driver.events(case, "timer_fired")
    assert fired.data["due_at"] == at("2026-12-31 23:59:59").isoformat()
    assert "流程迁移" in fired.summary
    assert sorted(driver.open_ids(case)) == ["complete_construction", "sign_return_agreements",
                                             "yearend_supervision"]


def test_an_open_task_keeps_its_row_when_the_engine_gives_it_a_new_id(driver, monkeypatch, v2_dir):
    """SpiffWorkflow 3.2 resets a ready task in place (same uuid); should a reset ever re-create it, the
    row is re-pointed, not cancelled and re-opened."""
    case = at_urge_builder(driver, now=at("2026-03-02 09:00"))
    urge = driver.task(case, "urge_builder")
    officer = driver.officer_for(urge)
    tasks.claim(driver.session, officer, urge.id)
    urge_id, urge_uuid, urge_due = urge.id, urge.spiff_task_id, urge.due_at
    deploy(driver.session, v2_dir)
    real = migration.migrate_workflow

    def renewing(diff, workflow, spec, reset_mask=None):  # noqa: ANN001, ANN202
        removed = real(diff, workflow, spec, reset_mask)
        for task in list(workflow.get_tasks(state=TaskState.READY, manual=True,
                                                   skip_subprocesses=True)):
            new_id = uuid.uuid4()
            workflow.tasks[new_id] = workflow.tasks.pop(task.id)
            parent = task.parent
            parent._children[parent._children.index(task.id)] = new_id
            for child in task.children:
                child._parent = new_id
            task.id = new_id
        return removed

    monkeypatch.setattr(migration, "migrate_workflow", renewing)
    [result] = migration.migrate_cases(driver.session, None, 2, [case.code])
    assert result.status == "migrated", result.reason
    [row] = driver.open_tasks(case)
    assert (row.id, row.assignee_id, row.due_at) == (urge_id, officer.id, urge_due)
    assert row.spiff_task_id != urge_uuid
    assert result.kept == [urge_id] and result.opened == [] and result.cancelled == []
    assert not driver.events(case, "task_cancelled")
    driver.complete(case, "urge_builder")
    assert driver.open_ids(case) == ["review_progress"]


def test_a_task_inserted_after_the_call_a_case_is_inside_is_not_skipped(driver, tmp_path):
    """migrate_workflow re-predicts only below READY/WAITING tasks; what follows a running call activity
    is predicted again by the migration, or the case would skip a task inserted there."""
    directory = tmp_path / "after_call"
    shutil.copytree(ROOT / "bpmn", directory)
    insert_task_after(directory, CATEGORY_2, "call_c2_delivery", "delivery_followup", "交付后回访")
    case = at_construction(driver, now=at("2026-03-02 09:00"))
    deploy(driver.session, directory)
    [result] = migration.migrate_cases(driver.session, None, 2)
    assert result.status == "migrated", result.reason
    driver.complete(case, "complete_construction")
    driver.complete(case, "sign_return_agreements")
    driver.resettle_all(case)
    assert driver.open_ids(case) == ["delivery_followup"]
    driver.complete(case, "delivery_followup")
    driver.verify_and_close(case)


def test_a_case_waiting_at_a_removed_task_is_refused_and_the_others_migrate(driver, v2_dir, v3_dir):
    building = at_construction(driver, now=at("2026-03-02 09:00"))
    before_review = at_urge_builder(driver)
    built = at_construction(driver)
    driver.complete(built, "complete_construction")
    deploy(driver.session, v2_dir)
    assert deploy(driver.session, v3_dir).number == 3
    open_before = snapshot(driver, building)

    dry = {r.case_code: r for r in migration.migrate_cases(driver.session, None, 3, dry_run=True)}
    assert dry[building.code].status == "refused"
    assert "案件正在办理的任务「完成建设并交付回迁房」在新版本中已删除" in dry[building.code].reason
    assert dry[before_review.code].status == "would_migrate"
    # A step already done cannot be dropped either: the stored state names the step it ran.
    assert dry[built.code].status == "refused"
    assert dry[built.code].reason == "案件已办理过的步骤「完成建设并交付回迁房」在新版本中已删除，流程记录无法迁移"

    results = {r.case_code: r for r in migration.migrate_cases(driver.session, None, 3)}
    assert results[building.code].status == "refused"
    assert results[building.code].reason == dry[building.code].reason
    assert results[before_review.code].status == "migrated"
    assert results[built.code].status == "refused"
    assert version_of(driver.session, building) == 1
    assert snapshot(driver, building) == open_before
    assert driver.events(building, "process_migrated") == []
    # Refused means untouched: the case carries on under v1.
    driver.complete(building, "complete_construction")
    driver.complete(building, "sign_return_agreements")
    driver.resettle_all(building)
    driver.verify_and_close(building)
    # The migrated one never meets the removed task.
    driver.complete(before_review, "urge_builder")
    driver.complete(before_review, "review_progress")
    driver.complete(before_review, "c2_report_progress")
    driver.complete(before_review, "c2_check_progress", construction_completed=True)
    assert driver.open_ids(before_review) == ["sign_return_agreements"]


def test_listed_cases_unknown_and_closed_ones_are_reported(driver, v2_dir):
    case = at_urge_builder(driver, now=at("2026-03-02 09:00"))
    deploy(driver.session, v2_dir)
    results = migration.migrate_cases(driver.session, None, 2, [case.code, "NO-SUCH", case.code])
    assert [(r.case_code, r.status) for r in results] == [(case.code, "migrated"), ("NO-SUCH", "failed")]
    again = migration.migrate_cases(driver.session, None, 2, [case.code])
    assert [(r.status, r.reason) for r in again] == [("skipped", "案件已在 v2")]
    with pytest.raises(NotFound, match="v9"):
        migration.migrate_cases(driver.session, None, 9)
    officer = driver.officer_for(driver.task(case, "urge_builder"))
    with pytest.raises(Forbidden, match="系统管理员"):
        migration.migrate_cases(driver.session, officer, 2, dry_run=True)


def test_two_migration_runs_at_once_migrate_each_case_once(session_factory, driver, v2_dir):
    running = [at_urge_builder(driver, now=at("2026-03-02 09:00")) for _ in range(3)]
    deploy(driver.session, v2_dir)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def migrate_in_thread() -> None:
        with session_factory() as s:
            barrier.wait()
            try:
                outcomes.append(migration.migrate_cases(s, None, 2))
            except Exception as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)

    threads = [threading.Thread(target=migrate_in_thread) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(o, list) for o in outcomes), outcomes
    statuses = [r.status for run in outcomes for r in run]
    # Each case is migrated by exactly one run; the other skips it (or never listed it).
    assert statuses.count("migrated") == 3 and set(statuses) <= {"migrated", "skipped"}, statuses
    for case in running:
        assert version_of(driver.session, case) == 2
        assert len(driver.events(case, "process_migrated")) == 1


def test_two_deployments_at_once_make_one_version(session_factory, driver, v2_dir):
    barrier = threading.Barrier(2)
    outcomes: list = []

    def deploy_in_thread() -> None:
        with session_factory() as s:
            barrier.wait()
            try:
                outcomes.append(processes.deploy(s, v2_dir, deployed_by="tests").created)
            except Exception as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)

    threads = [threading.Thread(target=deploy_in_thread) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, True], outcomes
    assert [v.number for v in processes.list_versions(driver.session)] == [1, 2]


def test_two_cases_filed_at_once_right_after_a_deployment_start_on_it(session_factory, driver, people, v2_dir):
    deploy(driver.session, v2_dir)
    filer = people.officer("榆树市", "housing")
    region = people.region("榆树市")
    barrier = threading.Barrier(2)
    outcomes: list = []

    def file_case(code: str) -> None:
        with session_factory() as s:
            actor = s.get(User, filer.id)
            new = NewCase(code=code, project_name=f"并发立案{code}", region_code=region.code, lead_type="government",
                          households_overdue=5, overdue_since=date(2019, 12, 31), category=2,
                          responsible_leader="王副县长")
            barrier.wait()
            try:
                outcomes.append(cases.create_case(s, actor, new).code)
            except Exception as exc:  # noqa: BLE001 - reported below
                outcomes.append(exc)

    threads = [threading.Thread(target=file_case, args=(f"PAR-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, outcomes)) == ["PAR-0", "PAR-1"], outcomes
    driver.session.rollback()  # see the other sessions' commits
    for code in ("PAR-0", "PAR-1"):
        case = driver.session.scalar(select(Case).where(Case.code == code))
        assert version_of(driver.session, case) == 2
        assert driver.open_ids(case) == ["intake_verify"]


@pytest.mark.parametrize("breakage", ["malformed", "unsafe"])
def test_a_broken_copy_is_refused_and_running_cases_carry_on(driver, tmp_path, breakage):
    case = at_urge_builder(driver, now=at("2026-03-02 09:00"))
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "bpmn", broken)
    if breakage == "malformed":
        path = broken / "category_3_not_started.bpmn"
        path.write_text(path.read_text(encoding="utf-8")[:-200], encoding="utf-8")  # a half-saved file
    else:
        path = broken / "case_lifecycle.bpmn"
        source = path.read_text(encoding="utf-8")
        assert "category == '3'" in source
        path.write_text(source.replace("category == '3'", "__import__('os').system('true')"), encoding="utf-8")
    with pytest.raises(ProcessDefinitionError) as refused:
        processes.deploy(driver.session, broken, deployed_by="tests")
    if breakage == "malformed":
        assert refused.value.file == "category_3_not_started.bpmn" and "XML" in refused.value.message
    else:
        assert (refused.value.file, refused.value.element_id) == ("case_lifecycle.bpmn", "f_cat_3")
    assert "case_lifecycle.bpmn" in str(refused.value) or "category_3" in str(refused.value)
    assert [v.number for v in processes.list_versions(driver.session)] == [1]
    driver.complete(case, "urge_builder")
    assert sorted(driver.open_ids(case)) == ["c2_report_progress", "sign_return_agreements"]


@pytest.fixture
def run(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("HUIQIAN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    from webapp.cli import main
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def test_migrate_cases_from_the_command_line(run, v2_dir, v3_dir):
    assert run("init").exit_code == 0
    assert run("seed-demo", "--cases", "3").exit_code == 0
    assert run("deploy-bpmn", str(v2_dir)).exit_code == 0
    dry = run("migrate-cases", "--to", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "试运行" in dry.output and "可迁移" in dry.output and "已迁移" not in dry.output
    done = run("migrate-cases", "--to", "2")
    assert done.exit_code == 0, done.output
    assert "v1 → v2  已迁移" in done.output and "合计：已迁移 3 件" in done.output
    assert "在办 3 件" in run("versions").output.split("v2")[1]
    assert run("migrate-cases", "--to", "2", "--case", "NO-SUCH").exit_code == 1
    missing = run("migrate-cases", "--to", "7")
    assert missing.exit_code != 0 and "v7" in missing.output
    assert run("deploy-bpmn", str(v3_dir)).exit_code == 0
    to_v3 = run("migrate-cases", "--to", "3")
    assert to_v3.exit_code == 0, to_v3.output  # refusals are reported, not failures
    assert "合计：" in to_v3.output
    assert run("migrate-cases", "--to", "1", "--dry-run").output.strip().endswith("没有需要迁移的案件")
