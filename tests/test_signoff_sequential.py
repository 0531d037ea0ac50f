"""依次会签 (issue #17): category 1's 府院联动 minutes are signed in turn by housing, the court and the
county government; a supervisor adds a signer before or after the one signing now, or removes one whose
turn has not come. Through the service layer; the API and the page are tested beside it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Agency, Task
from tests.conftest import at
from workflows import history, signoff, task_operations, tasks
from workflows.errors import Conflict, Invalid

NOW = at("2026-03-02 09:00")
STEP = "c1_linkage_minutes_signoff"


def _at_minutes(driver):  # noqa: ANN001, ANN202
    case = driver.new_case(1, now=NOW)
    driver.intake_and_classify(case)
    driver.complete(case, "c1_prepare_linkage")
    driver.complete(case, "linkage_meeting")
    return case


def _current(driver, case) -> Task:  # noqa: ANN001
    [row] = [t for t in driver.open_tasks(case) if t.bpmn_id == STEP]
    return row


def _agency(driver, row: Task) -> str:  # noqa: ANN001
    return driver.session.get(Agency, row.agency_id).name


def _sign_in_turn(driver, case) -> list[str]:  # noqa: ANN001
    """Sign until the minutes are done; the agencies in the order they signed."""
    order = []
    while STEP in driver.open_ids(case):
        assert driver.open_ids(case).count(STEP) == 1  # never two at once
        row = _current(driver, case)
        order.append(_agency(driver, row))
        tasks.complete_task(driver.session, driver.officer_for(row), row.id,
                            {"signoff_opinion": f"{_agency(driver, row)}同意纪要"})
    return order


def _names(case, *suffixes: str) -> list[str]:  # noqa: ANN001
    return [f"{case.region.name}{s}" for s in suffixes]


def test_minutes_are_signed_in_order_and_the_panel_shows_who_is_next(driver, people, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    row = _current(driver, case)
    assert row.name == "会签府院联动会议纪要（住建）"
    shown = signoff.panel(session, people.supervisor("长春市"), row)
    assert shown is not None and (shown.mode, shown.label, shown.sequential) == ("sequence", "依次会签", True)
    assert [(s.agency, s.status) for s in shown.signers] == [
        (f"{case.region.name}住房和城乡建设局", "ready"), (f"{case.region.name}人民法院", "queued"),
        (f"{case.region.name}人民政府办公室", "queued")]
    assert shown.current is not None and shown.current.task.id == row.id
    assert shown.waiting_for == _names(case, "住房和城乡建设局", "人民法院", "人民政府办公室")
    assert _sign_in_turn(driver, case) == _names(case, "住房和城乡建设局", "人民法院", "人民政府办公室")
    assert driver.open_ids(case) == ["preserve_housing"]
    rows = driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == STEP)
                                  .order_by(Task.id)).all()
    assert [r.data["signoff_opinion"] for r in rows] == [f"{a}同意纪要" for a in
                                                         _names(case, "住房和城乡建设局", "人民法院", "人民政府办公室")]
    # Each signer's row opened when the previous one signed, not before.
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)
    assert rows[1].created_at >= rows[0].completed_at


def test_a_signer_added_after_the_current_one_signs_next(driver, people, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    supervisor = people.supervisor("长春市")
    housing = _current(driver, case)
    after = signoff.add_signer(session, supervisor, housing.id, role="finance", reason="保全房源涉及财政垫付资金")
    assert after.changed is not None and (after.changed.status, after.changed.task) == ("queued", None)
    assert after.waiting_for == _names(case, "住房和城乡建设局", "财政局", "人民法院", "人民政府办公室")
    assert driver.open_ids(case) == [STEP] and _current(driver, case).id == housing.id  # nothing else moved
    [event] = driver.events(case, "signer_added")
    assert event.summary == (f"{history.actor_label(supervisor)}对「会签府院联动会议纪要」加签{case.region.name}财政局"
                             f"（在{case.region.name}住房和城乡建设局之后签署），理由：保全房源涉及财政垫付资金")
    assert event.data["position"] == "after"
    assert _sign_in_turn(driver, case) == _names(case, "住房和城乡建设局", "财政局", "人民法院", "人民政府办公室")
    assert driver.open_ids(case) == ["preserve_housing"]


def test_a_signer_added_before_the_current_one_signs_first_and_the_current_one_signs_again(  # noqa: D103
        driver, people, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    supervisor = people.supervisor("长春市")
    row = _current(driver, case)
    tasks.complete_task(session, driver.officer_for(row), row.id, {"signoff_opinion": "住建起草完毕"})
    court = _current(driver, case)
    assert _agency(driver, court) == f"{case.region.name}人民法院"
    after = signoff.add_signer(session, supervisor, court.id, role="tax", reason="纪要涉及土地增值税，须税务先核",
                               position="before", expected_version=court.version)
    assert after.changed is not None and after.changed.status == "ready"
    tax = _current(driver, case)
    assert after.changed.task.id == tax.id and _agency(driver, tax) == f"{case.region.name}税务局"
    assert session.scalar(select(Task.status).where(Task.id == court.id)) == "cancelled"
    assert after.waiting_for == _names(case, "税务局", "人民法院", "人民政府办公室")
    story = [(e.kind, e.summary) for e in driver.events(case)][-3:]
    assert [k for k, _ in story] == ["task_cancelled", "task_opened", "signer_added"]
    assert story[0][1] == (f"任务「会签府院联动会议纪要（法院）」因在其前加签{case.region.name}税务局"
                           f"（{case.region.name}税务局签署后重新下达）撤销")
    assert story[2][1].endswith(f"加签{case.region.name}税务局（在{case.region.name}人民法院之前签署），"
                                "理由：纪要涉及土地增值税，须税务先核")
    assert _sign_in_turn(driver, case) == _names(case, "税务局", "人民法院", "人民政府办公室")
    signed = driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == STEP,
                                                       Task.status == "completed").order_by(Task.id)).all()
    assert len(signed) == 4  # housing, tax, the court (its second row), the government


def test_removing_signers_whose_turn_has_not_come_and_the_one_signing_now(driver, people, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    supervisor = people.supervisor("长春市")
    housing = _current(driver, case)
    opened = signoff.remove_signer(session, supervisor, housing.id, role="court", reason="法院已另行出具意见")
    assert opened == [] and _current(driver, case).id == housing.id
    [event] = driver.events(case, "signer_removed")
    assert event.summary.endswith(f"减签{case.region.name}人民法院（尚未轮到签署），理由：法院已另行出具意见")
    with pytest.raises(Conflict) as caught:
        signoff.remove_signer(session, supervisor, housing.id, role="court", reason="再减一次")
    assert caught.value.message == "该部门不在排队待签的部门中"
    with pytest.raises(Conflict) as caught:  # housing is signing now: it is removed by its own row
        signoff.remove_signer(session, supervisor, housing.id, role="housing", reason="减掉住建")
    assert caught.value.message == "该部门不在排队待签的部门中"
    # Removing the one signing now hands over to the next.
    opened = signoff.remove_signer(session, supervisor, housing.id, reason="住建已在会上签字")
    assert [o["agency"] for o in opened] == _names(case, "人民政府办公室")
    assert session.get(Task, housing.id).status == "cancelled"
    government = _current(driver, case)
    with pytest.raises(Conflict) as caught:
        signoff.remove_signer(session, supervisor, government.id, reason="全部减掉")
    assert caught.value.message == "至少保留一个会签部门"
    assert _sign_in_turn(driver, case) == _names(case, "人民政府办公室")
    assert driver.open_ids(case) == ["preserve_housing"]


def test_removing_the_current_signer_after_others_signed_completes_the_minutes(driver, people, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    supervisor = people.supervisor("长春市")
    for _ in range(2):
        row = _current(driver, case)
        tasks.complete_task(session, driver.officer_for(row), row.id, {"signoff_opinion": "同意"})
    government = _current(driver, case)
    opened = signoff.remove_signer(session, supervisor, government.id, reason="主持领导已在会上签发")
    assert [o["bpmn_id"] for o in opened] == ["preserve_housing"]


def test_sequential_refusals_name_the_field_or_the_reason(driver, people, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    supervisor = people.supervisor("长春市")
    housing = _current(driver, case)
    for bad in ("middle", "BEFORE", 1, ["before"]):
        with pytest.raises(Invalid) as caught:
            signoff.add_signer(session, supervisor, housing.id, role="finance", reason="财政", position=bad)
        assert list(caught.value.errors) == ["position"]
    with pytest.raises(Conflict) as caught:
        signoff.add_signer(session, supervisor, housing.id, role="government", reason="再加政府")
    assert caught.value.message == "市县政府部门已在会签部门中（排队待签）"
    with pytest.raises(Invalid) as caught:
        signoff.remove_signer(session, supervisor, housing.id, role="mayor", reason="市长")
    assert list(caught.value.errors) == ["role"]
    officer = driver.officer_for(housing)
    with pytest.raises(Exception) as caught:
        signoff.add_signer(session, officer, housing.id, role="finance", reason="财政", position="before")
    assert caught.value.message == "只有管辖该案件的督办人可以加签"
    assert driver.events(case, "signer_added") == [] and driver.events(case, "signer_removed") == []
    assert _current(driver, case).id == housing.id and _current(driver, case).version == housing.version


def test_returning_from_the_minutes_after_someone_signed_is_refused(driver, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    row = _current(driver, case)
    tasks.complete_task(session, driver.officer_for(row), row.id, {"signoff_opinion": "同意"})
    court = _current(driver, case)
    with pytest.raises(Conflict) as caught:
        task_operations.return_task(session, driver.officer_for(court), court.id, opinion="纪要有误")
    assert "会签「会签府院联动会议纪要」已有部门签署，退回会作废其签署" in caught.value.message


def test_the_first_signer_returns_the_minutes_to_the_meeting_and_they_start_over(driver, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    housing = _current(driver, case)
    task_operations.return_task(session, driver.officer_for(housing), housing.id, opinion="议定事项与会议记录不符，请核对")
    assert driver.open_ids(case) == ["linkage_meeting"]
    driver.complete(case, "linkage_meeting")
    assert _sign_in_turn(driver, case) == _names(case, "住房和城乡建设局", "人民法院", "人民政府办公室")
    assert driver.open_ids(case) == ["preserve_housing"]


def test_a_signature_is_withdrawn_while_the_next_signer_has_not_claimed_it(driver, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    row = _current(driver, case)
    officer = driver.officer_for(row)
    tasks.complete_task(session, officer, row.id, {"signoff_opinion": "同意"})
    court = _current(driver, case)
    reopened = task_operations.withdraw(session, officer, row.id, reason="意见写错")
    assert [c["task_id"] for c in reopened.cancelled] == [court.id]
    again = _current(driver, case)  # only the withdrawn signature is open again
    assert _agency(driver, again) == f"{case.region.name}住房和城乡建设局" and again.id != row.id
    assert _sign_in_turn(driver, case) == _names(case, "住房和城乡建设局", "人民法院", "人民政府办公室")
    assert driver.open_ids(case) == ["preserve_housing"]


def test_a_signature_cannot_be_withdrawn_once_the_next_signer_claimed_or_signed(driver, session) -> None:  # noqa: ANN001
    case = _at_minutes(driver)
    row = _current(driver, case)
    officer = driver.officer_for(row)
    tasks.complete_task(session, officer, row.id, {"signoff_opinion": "同意"})
    court = _current(driver, case)
    tasks.claim(session, driver.officer_for(court), court.id)
    with pytest.raises(Conflict) as caught:
        task_operations.withdraw(session, officer, row.id, reason="意见写错")
    assert caught.value.message.endswith("下一步「会签府院联动会议纪要（法院）」已被认领，不能撤回")
    assert _current(driver, case).id == court.id
    tasks.complete_task(session, driver.officer_for(court), court.id, {"signoff_opinion": "同意"})
    with pytest.raises(Conflict) as caught:
        task_operations.withdraw(session, officer, row.id, reason="意见写错")
    assert caught.value.message.endswith("后续部门已签署，不能撤回")
    assert _sign_in_turn(driver, case) == _names(case, "人民政府办公室")
    last = driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == STEP)
                                  .order_by(Task.id.desc())).first()
    with pytest.raises(Conflict) as caught:
        task_operations.withdraw(session, driver.officer_for(last), last.id, reason="再改")
    assert caught.value.message.endswith("会签已完成，流程已进入后续环节，不能撤回")
    assert driver.open_ids(case) == ["preserve_housing"]
