"""会签 / 或签 / 加签 / 减签 (issue #17) through the service layer: category 7's joint-meeting minutes are
signed by the county's four agencies; the case waits for all of them (会签), or for the first (或签, the
same step declared with a completion condition); a supervisor adds or removes a signer mid-way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from models import Agency, CaseEvent, Task
from tests.conftest import at
from workflows import history, processes, signoff, task_operations
from workflows.engine.specs import parse_sources, read_directory
from workflows.errors import Conflict, Forbidden, Invalid, ProcessDefinitionError

NOW = at("2026-03-02 09:00")
STEP = "c7_joint_meeting_signoff"
FOUR = ("人民政府办公室", "住房和城乡建设局", "自然资源局", "税务局")
C7 = "category_7_acceptance_pending.bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _at_signoff(driver, **kw):  # noqa: ANN001, ANN003, ANN202
    case = driver.new_case(7, now=NOW, **kw)
    driver.intake_and_classify(case)
    driver.complete(case, "c7_prepare_joint_meeting", in_provincial_ledger=True)
    driver.complete(case, "c7_joint_meeting", joint_meeting_date="2026-03-10")
    return case


def _signers(driver, case) -> list[tuple[str, str]]:  # noqa: ANN001
    """(agency, status) of every row of the sign-off, in the order opened."""
    rows = driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == STEP)
                                  .order_by(Task.id)).all()
    return [(driver.session.get(Agency, r.agency_id).name, r.status) for r in rows]


def _sign(driver, case, agency_suffix: str, opinion: str = "同意纪要") -> Task:  # noqa: ANN001
    place = case.region.name
    [row] = [t for t in driver.open_tasks(case)
             if t.bpmn_id == STEP and driver.session.get(Agency, t.agency_id).name == f"{place}{agency_suffix}"]
    from workflows import tasks
    return tasks.complete_task(driver.session, driver.officer_for(row), row.id, {"signoff_opinion": opinion}).task


def test_joint_meeting_waits_for_all_four_agencies(driver) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    place = case.region.name
    assert sorted(_signers(driver, case)) == sorted((f"{place}{a}", "ready") for a in FOUR)
    for i, agency in enumerate(FOUR[:3]):
        _sign(driver, case, agency, opinion=f"第{i + 1}个部门同意")
        assert driver.open_ids(case) == [STEP] * (3 - i)  # the case has not moved on
    _sign(driver, case, FOUR[3], opinion="税务部门同意，欠税另行催缴")
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
    # Each signer's opinion is kept on its own row and in history.
    rows = driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == STEP)).all()
    assert sorted(r.data["signoff_opinion"] for r in rows) == sorted(
        ["第1个部门同意", "第2个部门同意", "第3个部门同意", "税务部门同意，欠税另行催缴"])
    opened = [e.summary for e in driver.events(case, "task_opened") if e.data["bpmn_id"] == STEP]
    assert sorted(opened)[0].startswith("任务「会签联席会议纪要（") and len(opened) == 4


def _or_sign_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "bpmn"
    shutil.copytree(processes.bpmn_dir(), directory)
    path = directory / C7
    root = etree.fromstring(path.read_bytes())
    [loop] = root.iter(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    condition = etree.SubElement(loop, f"{{{BPMN}}}completionCondition")
    condition.text = "True"
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return directory


def test_or_sign_moves_on_after_first(driver, tmp_path) -> None:  # noqa: ANN001
    deployed = processes.deploy(driver.session, _or_sign_dir(tmp_path), deployed_by="tests")
    assert deployed.created
    case = _at_signoff(driver)
    assert len(driver.open_ids(case)) == 4
    _sign(driver, case, "自然资源局", opinion="同意，由自然资源局代表各部门签署")
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
    statuses = dict(_signers(driver, case))
    assert statuses[f"{case.region.name}自然资源局"] == "completed"
    assert sorted(statuses.values()) == ["cancelled", "cancelled", "cancelled", "completed"]
    withdrawn = [e.summary for e in driver.events(case, "task_cancelled")]
    assert len(withdrawn) == 3 and all("因或签已由其他部门签署撤销" in s for s in withdrawn)


def test_added_signer_is_waited_for(driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    for agency in FOUR[:2]:
        _sign(driver, case, agency)
    supervisor = people.supervisor("长春市")
    any_open = driver.task(case, STEP)
    after = signoff.add_signer(session, supervisor, any_open.id, role="finance", reason="涉及补缴土地出让金，财政须会签")
    assert after.changed is not None and after.changed.status == "ready" and after.changed.task is not None
    added = after.changed.task
    assert after.waiting_for == [f"{case.region.name}{a}" for a in FOUR[2:]] + [f"{case.region.name}财政局"]
    assert session.get(Agency, added.agency_id).name == f"{case.region.name}财政局"
    for agency in FOUR[2:]:
        _sign(driver, case, agency)
    assert driver.open_ids(case) == [STEP]  # all four signed, and still waiting for finance
    _sign(driver, case, "财政局", opinion="财政同意")
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
    [event] = driver.events(case, "signer_added")
    assert event.summary == (f"{history.actor_label(supervisor)}对「会签联席会议纪要」加签{case.region.name}财政局，"
                             "理由：涉及补缴土地出让金，财政须会签")
    assert event.task_id == added.id


def test_the_page_of_a_removed_signer_still_shows_the_running_signoff(driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    supervisor = people.supervisor("长春市")
    planning = next(t for t in driver.open_tasks(case)
                    if driver.session.get(Agency, t.agency_id).name.endswith("自然资源局"))
    signoff.remove_signer(session, supervisor, planning.id, reason="规划手续齐全")
    session.expire_all()
    shown = signoff.panel(session, supervisor, session.get(Task, planning.id))
    assert shown is not None and shown.running and len(shown.waiting_for) == 3
    assert [s.status for s in shown.signers if s.role == "planning"] == ["cancelled"]


def test_removing_the_last_unsigned_signer_completes_the_signoff(driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    for agency in FOUR[:3]:
        _sign(driver, case, agency)
    [tax] = driver.open_tasks(case)
    supervisor = people.supervisor("长春市")
    opened = signoff.remove_signer(session, supervisor, tax.id, reason="项目无欠缴税费，税务无需会签")
    assert [o["bpmn_id"] for o in opened] == ["c7_tolerance_mechanism"]
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
    assert session.get(Task, tax.id).status == "cancelled"
    story = [e.kind for e in driver.events(case)][-4:]
    assert story == ["task_completed", "signer_removed", "task_cancelled", "task_opened"]
    [removed] = driver.events(case, "signer_removed")
    assert removed.summary.endswith(f"减签{case.region.name}税务局，理由：项目无欠缴税费，税务无需会签")


def test_signer_changes_refused_with_reasons(driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    supervisor = people.supervisor("长春市")
    housing = driver.task(case, STEP)
    signed = _sign(driver, case, "住房和城乡建设局")
    [open_row, *_] = driver.open_tasks(case)
    officer = driver.officer_for(open_row)
    with pytest.raises(Forbidden) as caught:
        signoff.add_signer(session, officer, open_row.id, role="finance", reason="需要财政")
    assert caught.value.message == "只有管辖该案件的督办人可以加签"
    with pytest.raises(Conflict) as caught:
        signoff.add_signer(session, supervisor, open_row.id, role="tax", reason="再加一次")
    assert caught.value.message == "税务部门已在会签部门中"
    with pytest.raises(Invalid) as caught:
        signoff.add_signer(session, supervisor, open_row.id, role="mayor", reason="x")
    assert list(caught.value.errors) == ["role"]
    with pytest.raises(Invalid) as caught:
        signoff.add_signer(session, supervisor, open_row.id, role="finance", reason="  ")
    assert list(caught.value.errors) == ["reason"]
    with pytest.raises(Conflict) as caught:
        signoff.remove_signer(session, supervisor, signed.id, reason="已签也想减")
    assert caught.value.message == "该部门已签署，不能减签"
    prepare = driver.session.scalar(select(Task).where(Task.case_id == case.id,
                                                       Task.bpmn_id == "c7_joint_meeting"))
    with pytest.raises(Conflict):
        signoff.remove_signer(session, supervisor, prepare.id, reason="不是会签")
    # Remove all but one unsigned signer; the last one left is kept.
    remaining = [t for t in driver.open_tasks(case) if t.bpmn_id == STEP]
    for row in remaining[:-1]:
        signoff.remove_signer(session, supervisor, row.id, reason="不参与")
    assert housing.id != remaining[-1].id
    # one signer signed (housing), one still open: removing it would complete the sign-off, which is allowed
    other_county = people.supervisor("四平市")
    with pytest.raises(Exception) as caught:  # outside jurisdiction: the case does not exist for them
        signoff.remove_signer(session, other_county, remaining[-1].id, reason="越权")
    assert type(caught.value).__name__ == "NotFound"
    assert session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.kind == "signer_added")) is None


def test_the_last_signer_cannot_be_removed_before_anyone_signed(driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    supervisor = people.supervisor("长春市")
    rows = [t for t in driver.open_tasks(case) if t.bpmn_id == STEP]
    for row in rows[:-1]:
        signoff.remove_signer(session, supervisor, row.id, reason="不参与")
    with pytest.raises(Conflict) as caught:
        signoff.remove_signer(session, supervisor, rows[-1].id, reason="全部减掉")
    assert caught.value.message == "至少保留一个会签部门"
    assert driver.open_ids(case) == [STEP]


def test_returning_from_a_signoff_someone_signed_is_refused(driver, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    _sign(driver, case, "住房和城乡建设局")
    row = driver.task(case, STEP)
    with pytest.raises(Conflict) as caught:
        task_operations.return_task(session, driver.officer_for(row), row.id, opinion="纪要有误，请重开会议")
    assert "会签「会签联席会议纪要」已有部门签署，退回会作废其签署" in caught.value.message


def test_the_task_page_panel_lists_signers_and_opinions(driver, people, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    _sign(driver, case, "税务局", opinion="欠税已核清")
    row = driver.task(case, STEP)
    supervisor = people.supervisor("长春市")
    shown = signoff.panel(session, supervisor, row)
    assert shown is not None and shown.label == "会签" and shown.running and shown.may_change
    by_agency = {s.agency: s for s in shown.signers}
    assert by_agency[f"{case.region.name}税务局"].status == "completed"
    assert by_agency[f"{case.region.name}税务局"].opinion == "欠税已核清"
    assert len(shown.waiting_for) == 3 and ("finance", "财政") in shown.addable
    assert "tax" not in dict(shown.addable)
    officer_view = signoff.panel(session, driver.officer_for(row), row)
    assert officer_view is not None and not officer_view.may_change
    plain = driver.session.scalar(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "c7_joint_meeting"))
    assert signoff.panel(session, supervisor, plain) is None


@pytest.mark.parametrize(("change", "message"), [
    (lambda loop, ut: (loop.set("isSequential", "true"),
                       etree.SubElement(loop, f"{{{BPMN}}}completionCondition").__setattr__("text", "True")),
     "依次会签（isSequential=true）须全部部门依次签署，不能声明完成条件"),
    (lambda loop, ut: loop[0].__setattr__("text", "3"), "多实例数量（loopCardinality）应为 4"),
    (lambda loop, ut: ut.remove(loop), "须同时声明多实例"),
    (lambda loop, ut: etree.SubElement(loop, f"{{{BPMN}}}completionCondition").__setattr__("text", "len(x) > 1"),
     "完成条件（completionCondition）只能省略"),
])
def test_a_malformed_signoff_is_refused_at_load(change, message) -> None:  # noqa: ANN001
    sources = read_directory(processes.bpmn_dir())
    root = etree.fromstring(sources[C7].encode())
    [loop] = root.iter(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    change(loop, loop.getparent())
    sources[C7] = etree.tostring(root, encoding="unicode")
    with pytest.raises(ProcessDefinitionError) as caught:
        parse_sources(sources)
    assert message in str(caught.value) and STEP in str(caught.value)


def test_a_signer_withdraws_while_others_sign_but_not_once_the_signoff_is_complete(driver, session) -> None:  # noqa: ANN001
    case = _at_signoff(driver)
    tax = _sign(driver, case, "税务局", opinion="先签了")
    officer = driver.officer_for(tax)
    reopened = task_operations.withdraw(session, officer, tax.id, reason="意见需补充欠税数额")
    assert reopened.cancelled == [] and driver.open_ids(case) == [STEP] * 4
    for agency in FOUR:
        _sign(driver, case, agency)
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
    last = driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == STEP,
                                                     Task.status == "completed").order_by(Task.id.desc())).first()
    with pytest.raises(Conflict) as caught:
        task_operations.withdraw(session, driver.officer_for(last), last.id, reason="改意见")
    assert caught.value.message.endswith("会签已完成，流程已进入后续环节，不能撤回")
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
