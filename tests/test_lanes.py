"""A lane is the agency role it declares (hq:role, hq:level), not its Chinese name: renaming a lane in a
modeler changes what people read and nothing else. Task rows and history store the stable key."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, update

from models import CaseEvent, ProcessFile, ProcessInstance, ProcessVersion, Task
from tests.conftest import at
from workflows import processes, tasks
from workflows.engine import routing
from workflows.engine.specs import bundle_key, parse_sources, read_directory
from workflows.errors import Forbidden, ProcessDefinitionError
from workflows.instances import _resolve_agencies

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"
MIGRATION = ROOT / "models" / "migrations" / "versions" / "0004_lane_role_codes.py"


def _retag(source: str, lane_id: str, new_tag: str) -> str:
    """Replace the start tag of one lane, which must be there exactly once."""
    edited, count = re.subn(rf'<bpmn:lane id="{lane_id}"[^>]*>', new_tag, source)
    assert count == 1, lane_id
    return edited


def _renamed(sources: dict[str, str]) -> dict[str, str]:
    """The project's files with the lifecycle's housing and city-supervision lanes renamed."""
    out = dict(sources)
    life = out["case_lifecycle.bpmn"]
    life = _retag(life, "Lane_housing", '<bpmn:lane id="Lane_housing" name="住房和城乡建设部门" hq:role="housing">')
    life = _retag(life, "Lane_city_supervision", '<bpmn:lane id="Lane_city_supervision" name="上级核验组" '
                                                 'hq:role="supervision" hq:level="parent">')
    out["case_lifecycle.bpmn"] = life
    return out


def _load_migration():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("migration_0004", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- parsing (no database) -------------------------------------------------------------------------


def test_a_lane_is_keyed_by_its_declared_role_and_labelled_by_its_name():
    bundle = parse_sources(read_directory(BPMN_DIR))
    intake = bundle.task_meta("case_lifecycle", "intake_verify")
    assert (intake.lane, intake.lane_label) == ("housing", "住建")
    verify = bundle.task_meta("case_lifecycle", "verify")
    assert (verify.lane, verify.lane_label) == ("supervision@parent", "市安居办")
    for meta in bundle.tasks.values():  # every key the files produce routes
        routing.resolve(meta.lane)


def test_a_renamed_lane_keeps_its_key_and_shows_its_new_name():
    bundle = parse_sources(_renamed(read_directory(BPMN_DIR)))
    intake = bundle.task_meta("case_lifecycle", "intake_verify")
    assert (intake.lane, intake.lane_label) == ("housing", "住房和城乡建设部门")
    verify = bundle.task_meta("case_lifecycle", "verify")
    assert (verify.lane, verify.lane_label) == ("supervision@parent", "上级核验组")


@pytest.mark.parametrize(("tag", "says"), [
    ('<bpmn:lane id="Lane_c1_court" name="法院">', "没有声明部门角色 hq:role"),
    ('<bpmn:lane id="Lane_c1_court" name="法院" hq:role="">', "没有声明部门角色 hq:role"),
    ('<bpmn:lane id="Lane_c1_court" name="法院" hq:role="police">', "hq:role='police' 未知"),
    ('<bpmn:lane id="Lane_c1_court" name="法院" hq:role="法院">', "hq:role='法院' 未知"),
    ('<bpmn:lane id="Lane_c1_court" name="法院" hq:role="court" hq:level="province">', "hq:level='province' 未知"),
    # The attribute must be in our namespace: a bare role="court" is not a declaration.
    ('<bpmn:lane id="Lane_c1_court" name="法院" role="court">', "没有声明部门角色 hq:role"),
], ids=["no-role", "empty-role", "unknown-role", "label-as-role", "unknown-level", "role-outside-namespace"])
def test_a_lane_without_a_known_role_or_level_is_refused_naming_it(tag, says):
    sources = read_directory(BPMN_DIR)
    sources["category_1_litigation.bpmn"] = _retag(sources["category_1_litigation.bpmn"], "Lane_c1_court", tag)
    with pytest.raises(ProcessDefinitionError) as err:
        parse_sources(sources)
    assert err.value.element_id == "Lane_c1_court"
    assert err.value.file == "category_1_litigation.bpmn"
    assert says in err.value.message and "泳道「法院」" in err.value.message
    if "hq:role" in says:
        assert "court（法院）" in err.value.message and "housing（住建）" in err.value.message


def test_lane_keys_resolve_to_role_and_level_and_nothing_else_does():
    assert routing.resolve("housing") == ("housing", "county")
    assert routing.resolve("supervision@parent") == ("supervision", "parent")
    assert routing.Lane("supervision", "parent").key == "supervision@parent"
    assert routing.default_label("supervision@parent") == "上级安居办"
    for bad in ("住建", "市安居办", "housing@county", "police", "housing@city", ""):
        with pytest.raises(routing.UnknownLane):
            routing.resolve(bad)


# --- routing at run time (both backends) -----------------------------------------------------------


def test_a_renamed_lane_still_routes_to_the_housing_agency_and_rows_keep_the_key(driver, tmp_path):
    directory = tmp_path / "bpmn"
    shutil.copytree(BPMN_DIR, directory)
    for name, source in _renamed(read_directory(BPMN_DIR)).items():
        (directory / name).write_text(source, encoding="utf-8")
    assert processes.deploy(driver.session, directory, deployed_by="tests").created

    case = driver.new_case(4, now=at("2026-03-02 09:00"))
    task = driver.task(case, "intake_verify")
    assert task.lane == "housing"
    assert driver.officer_for(task).agency.name == "榆树市住房和城乡建设局"
    assert tasks.task_meta(driver.session, task).lane_label == "住房和城乡建设部门"
    opened = driver.events(case, "task_opened")
    assert opened[0].data["lane"] == "housing" and "下达至榆树市住房和城乡建设局" in opened[0].summary

    # Run to the lifecycle's verification, in the renamed parent-level lane.
    driver.intake_and_classify(case)
    driver.complete(case, "c4_explain_delay", cannot_build_reason="funding", expected_build_date="2027-05-01")
    driver.complete(case, "c4_consult_residents", consultation_attendees=12, insist_return_households=4)
    driver.complete(case, "survey_wishes", households_surveyed=12)
    driver.complete(case, "decide_mode", resettlement_mode="monetary")
    driver.complete(case, "fund_compensation", compensation_source="bond")
    driver.resettle_all(case)
    verify = driver.task(case, "verify")
    assert verify.lane == "supervision@parent"
    assert driver.officer_for(verify).agency.name == "长春市保障性安居工程领导小组办公室"
    assert driver.events(case, "lane_fallback") == []  # starting one level up is not a fallback
    driver.verify_and_close(case)


def test_the_parent_level_lane_routes_to_the_supervising_places_office(driver):
    case = driver.new_case(2, county="榆树市")
    routes = _resolve_agencies(driver.session, case, {"supervision@parent", "supervision"})
    assert routes["supervision@parent"][1:] == ("长春市保障性安居工程领导小组办公室", False)
    assert routes["supervision"][1:] == ("榆树市保障性安居工程领导小组办公室", False)
    # A place the province governs directly is supervised by the province.
    direct = driver.new_case(2, county="梅河口市")
    routes = _resolve_agencies(driver.session, direct, {"supervision@parent"})
    assert routes["supervision@parent"][1] == "吉林省保障性安居工程领导小组办公室"


def test_a_refusal_names_the_agency_that_handles_the_task(driver, people):
    case = driver.new_case(1, county="榆树市")
    task = driver.task(case, "intake_verify")
    with pytest.raises(Forbidden, match="该任务由榆树市住房和城乡建设局办理，您无权办理"):
        tasks.complete_task(driver.session, people.officer("榆树市", "finance"), task.id,
                            {"households_confirmed": 1})


# --- migration 0004 (both backends) ----------------------------------------------------------------

OLD_NAMES = {"housing": "住建", "supervision@parent": "市安居办", "fire": "消防"}


def _old_format(source: str) -> str:
    """A file as 0003's code deployed it: lanes identified by name only. There was no 市县政府 lane then
    (its steps were 住建's), and 0004 rightly knows no such name."""
    source = source.replace('name="市县政府" hq:role="government"', 'name="住建" hq:role="housing"')
    return re.sub(r' hq:role="[^"]*"(?: hq:level="[^"]*")?', "", source)


def test_migration_maps_old_lane_names_and_upgrades_deployed_files(driver, engine):
    session = driver.session
    cases = [driver.new_case(1, county="榆树市") for _ in range(4)]
    rows = [driver.task(c, "intake_verify") for c in cases]
    events_before = {e.id: e.data for e in session.scalars(select(CaseEvent))}

    # An old deployment, in 0003's format, that the first case runs under. It differs from the files on
    # disk by a comment, as an older deployment would differ.
    current = read_directory(BPMN_DIR)
    old = {name: _old_format(source) for name, source in current.items()}
    old["category_9_dead_knot.bpmn"] += "<!-- an older revision -->\n"
    version = ProcessVersion(number=99, content_hash=bundle_key(old), deployed_by="0003", source_dir=None)
    session.add(version)
    session.flush()
    session.add_all([ProcessFile(version_id=version.id, file_name=n, sha256=processes.sha256(s), source=s)
                     for n, s in old.items()])
    session.execute(update(ProcessInstance).where(ProcessInstance.case_id == cases[0].id)
                    .values(version_id=version.id))
    # Task rows as 0003's code wrote them; one value no lane ever had stays as it is.
    for row, value in zip(rows, ["住建", "市安居办", "消防", "自定义"], strict=True):
        session.execute(update(Task).where(Task.id == row.id).values(lane=value))
    session.commit()
    session.close()

    # Only 0004's upgrade, on this data: the schema is already at head, and 0004 changes rows only.
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        _load_migration().upgrade()

    lanes = dict(session.execute(select(Task.id, Task.lane).where(Task.id.in_([r.id for r in rows]))).all())
    assert [lanes[r.id] for r in rows] == ["housing", "supervision@parent", "fire", "自定义"]
    # History is append-only: old events keep what they recorded.
    assert {e.id: e.data for e in session.scalars(select(CaseEvent))} == events_before

    note = _load_migration().MIGRATED_NOTE
    stored = dict(session.execute(select(ProcessFile.file_name, ProcessFile.source)
                                  .where(ProcessFile.version_id == version.id)).all())
    assert stored["case_lifecycle.bpmn"] == current["case_lifecycle.bpmn"].rstrip("\n") + note
    assert all(f.sha256 == processes.sha256(f.source) for f in session.scalars(
        select(ProcessFile).where(ProcessFile.version_id == version.id)))
    migrated = session.get(ProcessVersion, version.id)
    assert migrated.content_hash == bundle_key(stored) and migrated.number == 99
    # The version deployed from the files on disk is untouched.
    first = session.scalar(select(ProcessVersion).where(ProcessVersion.number == 1))
    assert first.content_hash == bundle_key(current)

    # The case on the migrated version loads it and routes its next task.
    session.rollback()
    driver.complete(cases[0], "intake_verify", households_confirmed=12)
    classify = driver.task(cases[0], "classify")
    assert classify.lane == "supervision"
    assert driver.officer_for(classify).agency.name == "榆树市保障性安居工程领导小组办公室"


def test_migration_rewrites_only_lane_tags_whatever_the_prefix():
    migration = _load_migration()
    source = ('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">\n'
              '  <process id="p"><laneSet id="s">\n'
              "    <lane name='市安居办' id='L1'><flowNodeRef>t</flowNodeRef></lane>\n"
              '    <lane id="L2" name="a &gt; b 住建"/>\n'
              '  </laneSet><userTask id="t" name="任务"/></process>\n'
              '</definitions>\n')
    with pytest.raises(RuntimeError, match="L2"):
        migration.add_lane_roles(source, "x.bpmn")
    source = source.replace("a &gt; b 住建", "住建")
    edited = migration.add_lane_roles(source, "x.bpmn")
    assert edited == source.replace(
        "<lane name='市安居办' id='L1'>",
        f"<lane name='市安居办' id='L1' xmlns:hq=\"{migration.HQ_NS}\" hq:role=\"supervision\" hq:level=\"parent\">",
    ).replace(
        '<lane id="L2" name="住建"/>', f'<lane id="L2" name="住建" xmlns:hq="{migration.HQ_NS}" hq:role="housing"/>',
    ).rstrip("\n") + migration.MIGRATED_NOTE
    assert migration.add_lane_roles(edited, "x.bpmn") == edited  # already declared: left alone
