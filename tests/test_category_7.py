"""Category 7 (已建成尚未竣工验收): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from tests.conftest import at

BACKFILL_TASKS = ["c7_backfill_construction_permit", "c7_backfill_land_planning", "c7_collect_taxes",
                  "c7_fire_acceptance"]


def _agency(driver, case, bpmn_id: str) -> str:  # noqa: ANN001
    return driver.officer_for(driver.task(case, bpmn_id)).agency.name


def _meeting_and_tolerance(driver, case) -> None:  # noqa: ANN001
    assert driver.open_ids(case) == ["c7_joint_meeting"]
    assert _agency(driver, case, "c7_joint_meeting").endswith("住房和城乡建设局")
    driver.complete(case, "c7_joint_meeting", joint_meeting_date="2026-03-10")
    assert driver.open_ids(case) == ["c7_tolerance_mechanism"]
    driver.complete(case, "c7_tolerance_mechanism", in_provincial_ledger=True, overdue_taxes_amount=86.5,
                    missing_approvals="土地、规划、施工许可和消防验收手续均需补办")


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
    assert _agency(driver, case, "c7_fire_acceptance") == "榆树市消防救援大队"
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


def test_city_district_fire_acceptance_falls_back_to_city_fire_brigade(driver):
    case = driver.new_case(7, county="南关区", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    _meeting_and_tolerance(driver, case)
    assert _agency(driver, case, "c7_fire_acceptance") == "长春市消防救援大队"
    assert _agency(driver, case, "c7_backfill_land_planning") == "南关区自然资源局"
    assert _agency(driver, case, "c7_collect_taxes") == "南关区税务局"
    fallbacks = driver.events(case, "lane_fallback")
    assert [e.data["lane"] for e in fallbacks] == ["fire"]
    assert "南关区没有“消防”部门" in fallbacks[0].summary
    assert fallbacks[0].data["agency_id"] == driver.task(case, "c7_fire_acceptance").agency_id
    _backfill_all(driver, case)
    driver.complete(case, "c7_completion_acceptance", acceptance_passed=True)
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
