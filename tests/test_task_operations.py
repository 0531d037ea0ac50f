"""Task operations (issue #17, first slice): 转办 (reassign), 退回 (return to an earlier step), 撤回
(withdraw one's own completion) and bulk 转办, through the service layer: who may, what each refuses
and with which message, and history that reads as one story."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import CaseEvent, Task, TaskDraft, User
from tests.conftest import PASSWORD_HASH, at
from workflows import drafts, inbox, task_operations, tasks
from workflows.errors import Conflict, Forbidden, Invalid, NotFound, Stale

NOW = at("2026-03-02 09:00")
REASON = "本单位人手不足，请市局协助"


def _colleague(session, people, county: str = "榆树市", role: str = "housing", name: str = "colleague",
               active: bool = True) -> User:  # noqa: ANN001
    agency = people.agency(county, role)
    user = User(username=f"{name}-{agency.id}", display_name=f"{agency.name}{name}", role="officer", agency=agency,
                password_hash=PASSWORD_HASH, active=active)
    session.add(user)
    session.commit()
    return user


def _inbox_ids(session, user: User, view: str = "inbox") -> set[int]:  # noqa: ANN001
    session.rollback()
    return {t.id for t in inbox.task_page(session, user, view=view).items}


def _kinds(driver, case) -> list[str]:  # noqa: ANN001
    return [e.kind for e in driver.events(case)]


# --- 转办 ---------------------------------------------------------------------------------------------

def test_officer_reassigns_to_a_colleague_who_sees_it_at_once(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    officer = people.officer("榆树市", "housing")
    colleague = _colleague(session, people)
    task = driver.task(case, "intake_verify")
    tasks.claim(session, officer, task.id)
    assert task.id not in _inbox_ids(session, colleague)
    done = task_operations.reassign(session, officer, task.id, user_id=colleague.id, reason="我出差一周，请同事办理")
    assert (done.agency_id, done.assignee_id) == (officer.agency_id, colleague.id)
    assert task.id in _inbox_ids(session, colleague, "mine")
    assert task.id not in _inbox_ids(session, officer)
    event = driver.events(case, "task_reassigned")[-1]
    assert event.summary == (f"{officer.display_name}（榆树市住房和城乡建设局）将任务「立案核实」由榆树市住房和城乡建设局"
                             f"{officer.display_name}转办至榆树市住房和城乡建设局{colleague.display_name}，"
                             "理由：我出差一周，请同事办理")
    assert event.data["to_user_id"] == colleague.id and event.actor_id == officer.id and event.task_id == task.id


def test_county_task_reassigned_to_the_citys_bureau_of_the_same_role(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    officer = people.officer("榆树市", "housing")
    city = people.officer("长春市", "housing")
    task = driver.task(case, "intake_verify")
    assert task.id not in _inbox_ids(session, city)
    task_operations.reassign(session, officer, task.id, agency_id=city.agency_id, reason=REASON)
    assert task.id in _inbox_ids(session, city)
    assert task.id not in _inbox_ids(session, officer)
    # The city's officer now works it: completing it moves the case on.
    tasks.complete_task(session, city, task.id, {"households_confirmed": 12, "responsible_leader": "王副县长",
                                                 "intake_facts": "已核实"})
    assert driver.open_ids(case) == ["classify"]
    assert "由榆树市住房和城乡建设局转办至长春市住房和城乡建设局，理由：" + REASON in \
        driver.events(case, "task_reassigned")[-1].summary


def test_supervisor_within_jurisdiction_reassigns_any_task_even_a_claimed_one(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    officer = people.officer("榆树市", "housing")
    colleague = _colleague(session, people)
    task = driver.task(case, "intake_verify")
    tasks.claim(session, officer, task.id)
    supervisor = people.supervisor("长春市")
    task_operations.reassign(session, supervisor, task.id, user_id=colleague.id, reason="原经办人长期病假")
    assert session.get(Task, task.id).assignee_id == colleague.id
    with pytest.raises(NotFound):
        task_operations.reassign(session, people.supervisor("吉林市"), task.id, user_id=officer.id, reason="越权")


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda p, s, t: dict(agency_id=p.agency("榆树市", "finance").id),
     Invalid, "接收部门：应为住建部门（转办只在同类部门之间）"),
    (lambda p, s, t: dict(agency_id=p.agency("舒兰市", "housing").id),
     Invalid, "接收部门：应为榆树市或其上级的住建部门"),
    (lambda p, s, t: dict(user_id=_colleague(s, p, name="gone", active=False).id), Invalid, "接收人：应为在岗的经办人"),
    (lambda p, s, t: dict(user_id=p.supervisor("长春市").id), Invalid, "接收人：应为在岗的经办人"),
    (lambda p, s, t: dict(agency_id=p.agency("长春市", "housing").id, user_id=_colleague(s, p).id),
     Invalid, "接收人：不是长春市住房和城乡建设局的经办人"),
    (lambda p, s, t: dict(agency_id=p.agency("榆树市", "housing").id), Invalid,
     "接收部门：任务已由榆树市住房和城乡建设局承办，无需转办"),
    (lambda p, s, t: dict(agency_id=999_999), Invalid, "接收部门：部门不存在"),
    (lambda p, s, t: dict(), Invalid, "接收部门：请指定接收部门或接收人"),
    (lambda p, s, t: dict(user_id=_colleague(s, p).id, reason="  "), Invalid, "转办理由：不能为空"),
    (lambda p, s, t: dict(user_id=_colleague(s, p).id, reason="理" * 501), Invalid, "转办理由：不能超过 500 个字符"),
    (lambda p, s, t: dict(user_id=_colleague(s, p).id, expected_version=t.version + 5), Stale,
     "任务已被他人处理或修改，请刷新后重试"),
])
def test_reassign_refusals_name_the_problem_and_change_nothing(driver, people, session, make, error,  # noqa: ANN001
                                                               message) -> None:
    case = driver.new_case(2, now=NOW)
    officer = people.officer("榆树市", "housing")
    task = driver.task(case, "intake_verify")
    kwargs = {"reason": REASON, **make(people, session, task)}
    before = (task.version, len(driver.events(case)))
    with pytest.raises(error) as caught:
        task_operations.reassign(session, officer, task.id, **kwargs)
    assert caught.value.message == message
    session.rollback()
    assert (session.get(Task, task.id).version, len(driver.events(case))) == before


def test_reassign_refused_to_others_and_on_closed_tasks(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    officer = people.officer("榆树市", "housing")
    colleague = _colleague(session, people)
    task = driver.task(case, "intake_verify")
    with pytest.raises(Forbidden, match="该任务由榆树市住房和城乡建设局办理，您无权办理"):
        task_operations.reassign(session, people.officer("榆树市", "finance"), task.id, user_id=colleague.id,
                                 reason=REASON)
    with pytest.raises(NotFound, match="任务不存在"):
        task_operations.reassign(session, people.officer("舒兰市", "housing"), task.id, user_id=colleague.id,
                                 reason=REASON)
    tasks.claim(session, colleague, task.id)
    with pytest.raises(Conflict, match="任务已被他人认领，只有认领人或督办人可以转办"):
        task_operations.reassign(session, officer, task.id, agency_id=people.agency("长春市", "housing").id,
                                 reason=REASON)
    tasks.unclaim(session, colleague, task.id)
    driver.complete(case, "intake_verify")
    with pytest.raises(Conflict, match="任务「立案核实」已办结，不能再办理"):
        task_operations.reassign(session, colleague, task.id, user_id=officer.id, reason=REASON)


# --- bulk 转办 ---------------------------------------------------------------------------------------

def test_bulk_reassign_of_50_with_3_not_allowed_does_47_and_changes_nothing_else(driver, people, session) -> None:  # noqa: ANN001
    officer = people.officer("榆树市", "housing")
    colleague = _colleague(session, people)
    cases = [driver.new_case(2, now=NOW) for _ in range(49)]
    ids = [driver.task(c, "intake_verify").id for c in cases]
    claimed, done_already = ids[10], ids[20]
    tasks.claim(session, _colleague(session, people, name="other"), claimed)
    driver.complete(cases[20], "intake_verify")
    other_county = driver.new_case(2, county="舒兰市", now=NOW)
    foreign = driver.task(other_county, "intake_verify").id
    selected = [*ids, foreign]
    assert len(selected) == 50
    session.rollback()
    untouched = {t.id: (t.version, t.agency_id, t.assignee_id, t.status)
                 for t in session.scalars(select(Task).where(Task.id.in_([claimed, done_already, foreign])))}
    other_rows = {t.id: t.version for t in session.scalars(select(Task).where(Task.id.not_in(selected)))}
    events_before = session.scalar(select(func.count()).select_from(CaseEvent))

    results = task_operations.bulk_reassign(session, officer, selected, user_id=colleague.id, reason="集中转办")

    assert [r.task_id for r in results] == selected
    refused = {r.task_id: (r.code, r.message) for r in results if not r.done}
    assert refused == {claimed: ("conflict", "任务已被他人认领，只有认领人或督办人可以转办"),
                       done_already: ("conflict", "任务「立案核实」已办结，不能再办理"),
                       foreign: ("not_found", "任务不存在")}
    assert sum(r.done for r in results) == 47
    session.rollback()
    for task in session.scalars(select(Task).where(Task.id.in_(selected))):
        if task.id in refused:
            assert (task.version, task.agency_id, task.assignee_id, task.status) == untouched[task.id]
        else:
            assert task.assignee_id == colleague.id and task.status == "ready"
    assert {t.id: t.version for t in session.scalars(select(Task).where(Task.id.not_in(selected)))} == other_rows
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events_before + 47
    assert len(_inbox_ids(session, colleague, "mine")) == 47


def test_bulk_reassign_refuses_as_a_whole_without_a_reason_or_tasks(people, session) -> None:  # noqa: ANN001
    officer = people.officer("榆树市", "housing")
    with pytest.raises(Invalid, match="转办理由：不能为空"):
        task_operations.bulk_reassign(session, officer, [1, 2], user_id=officer.id, reason="")
    with pytest.raises(Invalid, match="任务：请至少选择一项任务"):
        task_operations.bulk_reassign(session, officer, [], user_id=officer.id, reason=REASON)
    with pytest.raises(Invalid, match="任务：一次最多 200 项"):
        task_operations.bulk_reassign(session, officer, list(range(1, 202)), user_id=officer.id, reason=REASON)


# --- 退回 ---------------------------------------------------------------------------------------------

def test_return_reopens_the_previous_step_for_whoever_did_it_with_the_opinion(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    filer = people.officer("榆树市", "housing")
    driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    classifier = driver.officer_for(classify)
    assert [t.task.bpmn_id for t in task_operations.return_targets(session, classifier, classify.id)] == \
        ["intake_verify"]
    back = task_operations.return_task(session, classifier, classify.id, opinion="户数与台账不符，请重新核实")
    assert driver.open_ids(case) == ["intake_verify"]
    reopened = back.task
    assert (reopened.agency_id, reopened.assignee_id, reopened.status) == (filer.agency_id, filer.id, "ready")
    assert [c["bpmn_id"] for c in back.cancelled] == ["classify"]
    assert session.get(Task, classify.id).status == "cancelled"
    # The earlier completion keeps its row: one row per time a task is open.
    first = session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "intake_verify")
                            .order_by(Task.id)).all()
    assert [t.status for t in first] == ["completed", "ready"]
    assert reopened.id in _inbox_ids(session, filer, "mine")
    note = task_operations.return_notes(session, [reopened])[reopened.id]
    assert (note.opinion, note.from_name) == ("户数与台账不符，请重新核实", "分类认定")
    assert _kinds(driver, case)[-3:] == ["task_cancelled", "task_opened", "task_returned"]
    returned = driver.events(case, "task_returned")[-1]
    assert returned.summary == (f"{classifier.display_name}（榆树市保障性安居工程领导小组办公室）将任务「分类认定」退回至"
                                f"「立案核实」（榆树市住房和城乡建设局{filer.display_name}），退回意见：户数与台账不符，请重新核实")
    assert driver.events(case, "task_cancelled")[-1].summary == "任务「分类认定」因退回撤销"
    # And the case goes on from there as before.
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["urge_builder"]


def test_return_from_a_category_process_to_the_classification(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(7, now=NOW)
    driver.intake_and_classify(case)
    prepare = driver.task(case, "c7_prepare_joint_meeting")
    officer = driver.officer_for(prepare)
    targets = task_operations.return_targets(session, officer, prepare.id)
    assert [(t.task.bpmn_id, t.blocked) for t in targets] == [("classify", None), ("intake_verify", None)]
    task_operations.return_task(session, officer, prepare.id, opinion="项目已开工，应认定为第二类")
    assert driver.open_ids(case) == ["classify"]
    driver.complete(case, "classify", category="2")
    assert driver.open_ids(case) == ["urge_builder"]
    session.refresh(case)
    assert case.category == 2


def test_return_across_parallel_branches_is_refused(driver, session) -> None:  # noqa: ANN001
    case = driver.new_case(7, now=NOW)
    driver.intake_and_classify(case)
    for step, data in (("c7_prepare_joint_meeting", {"in_provincial_ledger": True}),
                       ("c7_joint_meeting", {"joint_meeting_date": "2026-03-10"}),
                       ("c7_joint_meeting_signoff", {}),
                       ("c7_tolerance_mechanism", {"liability_exemption": "exempt"})):
        driver.sign_all(case, step, **data)
    fire = driver.task(case, "c7_fire_acceptance")
    housing = driver.officer_for(fire)
    with pytest.raises(Conflict) as caught:
        task_operations.return_task(session, housing, fire.id, opinion="容缺机制未明确消防验收")
    assert caught.value.message == ("不能退回至「出台容缺机制，决定补办手续是否予以免责」：中间经过并行分支"
                                    "「补办手续、消防验收与催缴税费同步推进」，退回会打乱其他并行事项")
    for step in ("c7_backfill_land_planning", "c7_backfill_construction_permit", "c7_fire_acceptance"):
        driver.complete(case, step)
    driver.complete(case, "c7_collect_taxes", taxes_collected=86.5, taxes_outstanding=0)
    acceptance = driver.task(case, "c7_completion_acceptance")
    targets = task_operations.return_targets(session, housing, acceptance.id)
    assert all(t.blocked for t in targets) and targets[0].blocked == "中间经过并行分支，退回会打乱其他并行事项"
    fire_row = session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "c7_fire_acceptance")).one()
    with pytest.raises(Conflict, match="不能退回至「补办消防验收」：该步骤与本任务不在同一条办理路径上（属于并行的其他分支）"):
        task_operations.return_task(session, housing, acceptance.id, opinion="消防验收材料不全",
                                    target_task_id=fire_row.id)
    assert driver.open_ids(case) == ["c7_completion_acceptance"]


def test_return_within_one_parallel_branch_leaves_the_other_branch_open(driver, session) -> None:  # noqa: ANN001
    case = driver.new_case(3, now=NOW)
    driver.intake_and_classify(case)
    driver.complete(case, "c3_record_cause", not_started_cause="expropriation")
    driver.complete(case, "c3_check_holdouts", holdout_households=2)
    apply = driver.task(case, "c3_apply_enforcement")
    with pytest.raises(Conflict, match="中间经过并行分支「调整安置方式与司法程序同步推进」"):
        task_operations.return_task(session, driver.officer_for(apply), apply.id, opinion="未签约户数有误")
    driver.complete(case, "c3_apply_enforcement", enforcement_households=2)
    ruling = driver.task(case, "c3_court_ruling")
    court = driver.officer_for(ruling)
    task_operations.return_task(session, court, ruling.id, opinion="申请材料缺少补偿决定书")
    assert sorted(driver.open_ids(case)) == ["c3_apply_enforcement", "survey_wishes"]
    reopened = driver.task(case, "c3_apply_enforcement")
    assert reopened.id != apply.id and reopened.agency_id == apply.agency_id


def test_return_into_a_finished_called_process_is_refused(driver, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    driver.finish_construction(case)
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    verify = driver.task(case, "verify")
    city = driver.officer_for(verify)
    targets = task_operations.return_targets(session, city, verify.id)
    assert [t.task.bpmn_id for t in targets] == ["classify", "intake_verify"]
    assert targets[0].blocked == "中间经过已办结的「第2类：已开工」，不能回到它之前"
    resettled = session.scalars(select(Task).where(Task.case_id == case.id,
                                                   Task.bpmn_id == "record_resettlement")).one()
    with pytest.raises(Conflict) as caught:
        task_operations.return_task(session, city, verify.id, opinion="安置户数存疑", target_task_id=resettled.id)
    assert caught.value.message == ("不能退回至「组织回迁入住，登记安置户数」：该步骤属于已办结的「组织回迁入住」，"
                                    "不能退回其中的步骤")
    with pytest.raises(Conflict, match="不能退回至「分类认定」：中间经过已办结的「第2类：已开工」"):
        task_operations.return_task(session, city, verify.id, opinion="类别认定有误")


def test_return_past_a_timer_that_fired_is_refused(driver, session) -> None:  # noqa: ANN001
    case = driver.new_case(1, now=NOW)
    driver.to_court_judgment(case)
    driver.fire_timers(at("2026-10-01 00:00:01"))
    switch = driver.task(case, "switch_mode_decision")
    government = driver.officer_for(switch)
    targets = task_operations.return_targets(session, government, switch.id)
    assert targets and all(t.blocked for t in targets)
    with pytest.raises(Conflict) as caught:
        task_operations.return_task(session, government, switch.id, opinion="请法院先作出判决")
    assert caught.value.message.startswith(f"不能退回至「{targets[0].task.name}」：时限「")
    assert caught.value.message.endswith("」已到期并已转入后续步骤，不能回到时限之前")
    assert driver.open_ids(case) == ["switch_mode_decision"]


def test_return_refusals_for_people_input_and_the_first_step(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    intake = driver.task(case, "intake_verify")
    filer = people.officer("榆树市", "housing")
    with pytest.raises(Conflict, match="「立案核实」是本案的第一个步骤，没有可退回的前序步骤"):
        task_operations.return_task(session, filer, intake.id, opinion="重新核实")
    driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    classifier = driver.officer_for(classify)
    with pytest.raises(Invalid, match="退回意见：不能为空"):
        task_operations.return_task(session, classifier, classify.id, opinion=" ")
    with pytest.raises(Invalid, match="退回至：不是该案件已办理的步骤"):
        task_operations.return_task(session, classifier, classify.id, opinion="重新核实", target_task_id=classify.id)
    with pytest.raises(Forbidden, match="您无权办理"):
        task_operations.return_task(session, people.officer("榆树市", "finance"), classify.id, opinion="重新核实")
    with pytest.raises(NotFound):
        task_operations.return_task(session, people.officer("舒兰市", "supervision"), classify.id, opinion="重新核实")
    with pytest.raises(Stale):
        task_operations.return_task(session, classifier, classify.id, opinion="重新核实",
                                    expected_version=classify.version + 1)
    assert driver.open_ids(case) == ["classify"]
    # A supervisor over the place may return it too; the returned task is the filer's again.
    task_operations.return_task(session, people.supervisor("长春市"), classify.id, opinion="核实户数")
    assert driver.task(case, "intake_verify").assignee_id == filer.id


# --- 撤回 ---------------------------------------------------------------------------------------------

def test_withdraw_takes_a_completion_back_while_the_next_task_is_untouched(driver, people, session) -> None:  # noqa: ANN001
    case = driver.new_case(2, now=NOW)
    filer = people.officer("榆树市", "housing")
    intake = driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    assert task_operations.withdrawable(session, filer, intake) is None
    back = task_operations.withdraw(session, filer, intake.id, reason="户数填错")
    assert driver.open_ids(case) == ["intake_verify"]
    assert back.task.assignee_id == filer.id and back.task.id != intake.id
    assert [c["task_id"] for c in back.cancelled] == [classify.id]
    assert session.get(Task, classify.id).status == "cancelled"
    event = driver.events(case, "task_withdrawn")[-1]
    assert event.summary == f"{filer.display_name}（榆树市住房和城乡建设局）撤回已办结的任务「立案核实」，重新办理，理由：户数填错"
    assert driver.events(case, "task_cancelled")[-1].summary == "任务「分类认定」因撤回撤销"
    # The withdrawn completion cannot be withdrawn again; the reopened task can be completed as usual.
    with pytest.raises(Conflict, match="不能撤回「立案核实」：该任务已被退回或撤回，不能再撤回"):
        task_operations.withdraw(session, filer, intake.id)
    driver.complete(case, "intake_verify")
    assert driver.open_ids(case) == ["classify"]


def test_withdraw_refused_once_the_next_task_is_claimed_started_or_done(driver, people, session) -> None:  # noqa: ANN001
    filer = people.officer("榆树市", "housing")
    case = driver.new_case(2, now=NOW)
    intake = driver.complete(case, "intake_verify")
    classify = driver.task(case, "classify")
    classifier = driver.officer_for(classify)
    with pytest.raises(Forbidden, match="只有办结该任务的本人可以撤回"):
        task_operations.withdraw(session, classifier, intake.id)
    with pytest.raises(NotFound):
        task_operations.withdraw(session, people.officer("舒兰市", "housing"), intake.id)
    with pytest.raises(Conflict, match="任务「分类认定」待办，无需撤回"):
        task_operations.withdraw(session, classifier, classify.id)

    tasks.claim(session, classifier, classify.id)
    with pytest.raises(Conflict) as caught:
        task_operations.withdraw(session, filer, intake.id)
    assert caught.value.message == "不能撤回「立案核实」：下一步「分类认定」已被认领，不能撤回"
    assert task_operations.withdrawable(session, filer, intake) == "下一步「分类认定」已被认领，不能撤回"
    tasks.unclaim(session, classifier, classify.id)
    drafts.save_draft(session, classifier, classify.id, {"classification_basis": "正在核对"})
    with pytest.raises(Conflict, match="不能撤回「立案核实」：下一步已开始办理（已暂存），不能撤回"):
        task_operations.withdraw(session, filer, intake.id)
    session.execute(TaskDraft.__table__.delete())
    session.commit()
    driver.complete(case, "classify", category="2")
    with pytest.raises(Conflict, match="不能撤回「立案核实」：下一步「分类认定」已办结，不能撤回"):
        task_operations.withdraw(session, filer, intake.id)
    assert driver.open_ids(case) == ["urge_builder"]


def test_withdrawing_one_parallel_branch_waiting_at_the_join(driver, session) -> None:  # noqa: ANN001
    case = driver.new_case(7, now=NOW)
    driver.intake_and_classify(case)
    for step, data in (("c7_prepare_joint_meeting", {"in_provincial_ledger": True}),
                       ("c7_joint_meeting", {"joint_meeting_date": "2026-03-10"}),
                       ("c7_joint_meeting_signoff", {}),
                       ("c7_tolerance_mechanism", {"liability_exemption": "exempt"})):
        driver.sign_all(case, step, **data)
    fire = driver.complete(case, "c7_fire_acceptance")
    housing = driver.officer_for(fire)
    task_operations.withdraw(session, housing, fire.id)
    assert sorted(driver.open_ids(case)) == ["c7_backfill_construction_permit", "c7_backfill_land_planning",
                                             "c7_collect_taxes", "c7_fire_acceptance"]
    for step in ("c7_backfill_land_planning", "c7_backfill_construction_permit", "c7_fire_acceptance"):
        driver.complete(case, step)
    taxes = driver.complete(case, "c7_collect_taxes", taxes_collected=86.5, taxes_outstanding=0)
    assert driver.open_ids(case) == ["c7_completion_acceptance"]
    # The last branch's completion merged the branches: withdrawing it would undo the join.
    with pytest.raises(Conflict, match="不能撤回「催缴项目欠缴税费」：并行事项已汇合，流程已继续，不能撤回"):
        task_operations.withdraw(session, driver.officer_for(taxes), taxes.id)
