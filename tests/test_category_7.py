"""Category 7 (已建成尚未竣工验收): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from tests.conftest import at

BACKFILL_TASKS = ["c7_backfill_construction_permit", "c7_backfill_land_planning", "c7_collect_taxes",
                  "c7_fire_acceptance"]


def _agency(driver, case, bpmn_id: str) -> str:  # noqa: ANN001
    return driver.officer_for(driver.task(case, bpmn_id)).agency.name


def _signers(driver, case) -> list[str]:  # noqa: ANN001
    """The agencies the open sign-off instances went to."""
    from models import Agency
    return [driver.session.get(Agency, t.agency_id).name
            for t in driver.open_tasks(case) if t.bpmn_id == "c7_joint_meeting_signoff"]


def _meeting_and_tolerance(driver, case, exemption: str = "exempt") -> None:  # noqa: ANN001
    """住建 prepares; the county government holds the 联席会议 and issues the 容缺 arrangement with its
    免责 decision (seed 001 二(二)七)."""
    place = case.region.name
    assert driver.open_ids(case) == ["c7_prepare_joint_meeting"]
    assert _agency(driver, case, "c7_prepare_joint_meeting") == f"{place}住房和城乡建设局"
    driver.complete(case, "c7_prepare_joint_meeting", in_provincial_ledger=exemption == "exempt",
                    overdue_taxes_amount=86.5, missing_approvals="土地、规划、施工许可和消防验收手续均需补办")
    assert driver.open_ids(case) == ["c7_joint_meeting"]
    assert _agency(driver, case, "c7_joint_meeting") == f"{place}人民政府办公室"
    driver.complete(case, "c7_joint_meeting", joint_meeting_date="2026-03-10")
    # 会签: the minutes go to the four agencies of the county at once; the step ends with the fourth.
    assert driver.open_ids(case) == ["c7_joint_meeting_signoff"] * 4
    assert sorted(_signers(driver, case)) == sorted(
        f"{place}{name}" for name in ("人民政府办公室", "住房和城乡建设局", "自然资源局", "税务局"))
    for _ in range(4):
        assert driver.open_ids(case)[0] == "c7_joint_meeting_signoff"
        driver.complete(case, "c7_joint_meeting_signoff", signoff_opinion="同意纪要")
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
    assert _agency(driver, case, "c7_tolerance_mechanism") == f"{place}人民政府办公室"
    driver.complete(case, "c7_tolerance_mechanism", liability_exemption=exemption)


def _backfill_all(driver, case) -> None:  # noqa: ANN001
    assert sorted(driver.open_ids(case)) == BACKFILL_TASKS
    driver.complete(case, "c7_backfill_land_planning")
    driver.complete(case, "c7_backfill_construction_permit")
    driver.complete(case, "c7_fire_acceptance")
    # the join waits for the last parallel branch: no acceptance while taxes are still being collected
    assert driver.open_ids(case) == ["c7_collect_taxes"]
    driver.complete(case, "c7_collect_taxes", taxes_collected=86.5, taxes_outstanding=0)
    assert driver.open_ids(case) == ["c7_completion_acceptance"]


def test_approvals_backfilled_taxes_collected_and_acceptance_passes_first_time(driver):
    case = driver.new_case(7, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    _meeting_and_tolerance(driver, case)
    assert _agency(driver, case, "c7_backfill_land_planning") == "榆树市自然资源局"
    assert _agency(driver, case, "c7_backfill_construction_permit") == "榆树市住房和城乡建设局"
    # 消防验收 belongs to the housing bureau since the 2019 reform, not to the fire brigade.
    assert _agency(driver, case, "c7_fire_acceptance") == "榆树市住房和城乡建设局"
    assert _agency(driver, case, "c7_collect_taxes") == "榆树市税务局"
    _backfill_all(driver, case)
    assert _agency(driver, case, "c7_completion_acceptance") == "榆树市住房和城乡建设局"
    driver.complete(case, "c7_completion_acceptance", acceptance_passed=True)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    assert _agency(driver, case, "sign_return_agreements") == "榆树市棚改片区街道办事处"
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)
    opened = [e.data["bpmn_id"] for e in driver.events(case, "task_opened")]
    assert "c7_rectify_for_acceptance" not in opened
    assert opened.count("c7_completion_acceptance") == 1
    assert driver.events(case, "lane_fallback") == []
    assert case.households_resettled == 12


def test_failed_acceptance_sends_developer_to_rectify_then_reacceptance_passes(driver):
    case = driver.new_case(7, now=at("2026-03-02 09:00"), lead_type="developer")
    driver.intake_and_classify(case)
    _meeting_and_tolerance(driver, case)
    _backfill_all(driver, case)
    driver.complete(case, "c7_completion_acceptance", acceptance_passed=False,
                    acceptance_issues="外墙保温及单元门禁未完成，不具备验收条件")
    assert driver.open_ids(case) == ["c7_rectify_for_acceptance"]
    assert _agency(driver, case, "c7_rectify_for_acceptance") == "榆树市开发企业（项目方）"
    driver.complete(case, "c7_rectify_for_acceptance", acceptance_rectification="已完成外墙保温及门禁安装")
    assert driver.open_ids(case) == ["c7_completion_acceptance"]
    driver.complete(case, "c7_completion_acceptance", acceptance_passed=True)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    opened = [e.data["bpmn_id"] for e in driver.events(case, "task_opened")]
    assert opened.count("c7_completion_acceptance") == 2
    assert opened.count("c7_rectify_for_acceptance") == 1


def test_city_district_fire_acceptance_goes_to_the_districts_housing_bureau(driver):
    case = driver.new_case(7, county="南关区", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    _meeting_and_tolerance(driver, case)
    assert _agency(driver, case, "c7_fire_acceptance") == "南关区住房和城乡建设局"
    assert _agency(driver, case, "c7_backfill_land_planning") == "南关区自然资源局"
    assert _agency(driver, case, "c7_collect_taxes") == "南关区税务局"
    # Every lane of the playbook resolves in the district itself: no fire brigade, no fallback.
    assert driver.events(case, "lane_fallback") == []
    _backfill_all(driver, case)
    driver.complete(case, "c7_completion_acceptance", acceptance_passed=True)
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_no_exemption_means_the_violations_are_dealt_with_before_the_approvals_are_backfilled(driver):
    """The 免责 decision is recorded and read: not exempted, 住建 deals with the building done without
    approvals (penalty, accountability) before the approvals are filed afterwards."""
    case = driver.new_case(7, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    _meeting_and_tolerance(driver, case, exemption="not_exempt")
    assert driver.open_ids(case) == ["c7_handle_violations"]
    assert _agency(driver, case, "c7_handle_violations") == "榆树市住房和城乡建设局"
    driver.complete(case, "c7_handle_violations", penalty_decision_no="榆住建罚〔2026〕12号",
                    penalty_measures="对未取得施工许可擅自施工处以罚款", accountability="对建设单位负责人约谈问责")
    _backfill_all(driver, case)
    driver.complete(case, "c7_completion_acceptance", acceptance_passed=True)
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    decision = [e for e in driver.events(case, "task_completed") if e.data["bpmn_id"] == "c7_tolerance_mechanism"]
    assert decision[0].data["data"]["liability_exemption"] == "not_exempt"


def test_exemption_granted_goes_straight_to_backfilling(driver):
    case = driver.new_case(7, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    _meeting_and_tolerance(driver, case, exemption="exempt")
    assert sorted(driver.open_ids(case)) == BACKFILL_TASKS
    assert "c7_handle_violations" not in [e.data["bpmn_id"] for e in driver.events(case, "task_opened")]
