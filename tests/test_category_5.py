"""Category 5 (配套设施不完善无法入住): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from tests.conftest import at

PARALLEL_START = {"c5_fund_offsite", "sign_return_agreements"}


def _agency(driver, case, bpmn_id: str) -> str:  # noqa: ANN001
    return driver.officer_for(driver.task(case, bpmn_id)).agency.name


def _finish_offsite_and_signing(driver, case) -> None:  # noqa: ANN001
    driver.complete(case, "c5_fund_offsite", offsite_infra_investment=860.0, offsite_funds_source="budget")
    assert "c5_complete_offsite" in driver.open_ids(case)
    assert _agency(driver, case, "c5_complete_offsite") == "榆树市住房和城乡建设局"
    driver.complete(case, "c5_complete_offsite")
    driver.complete(case, "sign_return_agreements", agreements_signed=12)


def test_government_led_eligible_project_applies_for_support_and_resettles_before_year_end(driver):
    case = driver.new_case(5, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["c5_infra_plan"]
    assert _agency(driver, case, "c5_infra_plan") == "榆树市住房和城乡建设局"
    driver.complete(case, "c5_infra_plan", policy_support_eligible=True)
    assert driver.open_ids(case) == ["c5_apply_policy_support"]
    assert _agency(driver, case, "c5_apply_policy_support") == "榆树市发展和改革局"
    driver.complete(case, "c5_apply_policy_support", policy_support_program="central_budget")
    # Government-led: no developer to assess, the government coordinates on-site utilities directly.
    assert set(driver.open_ids(case)) == PARALLEL_START | {"c5_coordinate_build_first"}
    assert _agency(driver, case, "c5_fund_offsite") == "榆树市财政局"
    assert _agency(driver, case, "c5_coordinate_build_first") == "榆树市住房和城乡建设局"
    assert _agency(driver, case, "sign_return_agreements") == "榆树市棚改片区街道办事处"
    _finish_offsite_and_signing(driver, case)
    driver.complete(case, "c5_coordinate_build_first", now=at("2026-09-15"))
    # Built first by the utilities, settled afterwards (seed 001 二(二)五): the finance bureau settles.
    assert driver.open_ids(case) == ["c5_settle_build_first"]
    assert _agency(driver, case, "c5_settle_build_first") == "榆树市财政局"
    driver.complete(case, "c5_settle_build_first", settlement_amount=320.0, settlement_payer="government")
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    # Finished before 31 December: the year-end timer is gone and no supervision task appears.
    run = driver.fire_timers(at("2027-01-01 00:00:01"))
    assert run.fired == []
    assert driver.open_ids(case) == ["verify"]
    assert driver.events(case, "timer_fired") == []
    driver.verify_and_close(case)
    assert case.households_resettled == 12


def test_developer_unable_to_fund_on_site_utilities_gets_build_first_settle_later(driver):
    case = driver.new_case(5, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c5_infra_plan", policy_support_eligible=False)
    # Not eligible for national support: straight on to the infrastructure work, no 发改 application.
    assert set(driver.open_ids(case)) == PARALLEL_START | {"c5_assess_developer_funding"}
    assert _agency(driver, case, "c5_assess_developer_funding") == "榆树市住房和城乡建设局"
    driver.complete(case, "c5_assess_developer_funding", developer_can_fund=False)
    assert "c5_coordinate_build_first" in driver.open_ids(case)
    assert "c5_developer_build_onsite" not in driver.open_ids(case)
    driver.complete(case, "c5_coordinate_build_first", utility_units="供水公司、供电公司、热力公司")
    assert "c5_settle_build_first" in driver.open_ids(case)
    assert _agency(driver, case, "c5_settle_build_first") == "榆树市财政局"
    driver.complete(case, "c5_settle_build_first", settlement_amount=460.0, settlement_payer="developer",
                    settlement_note="专业部门工程费用经住建、财政核定，由开发企业分期偿付")
    _finish_offsite_and_signing(driver, case)
    assert driver.fire_timers(at("2026-12-31 12:00")).fired == []
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_developer_builds_on_site_utilities_but_year_end_passes_city_supervises(driver):
    case = driver.new_case(5, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c5_infra_plan", policy_support_eligible=True)
    driver.complete(case, "c5_apply_policy_support")
    driver.complete(case, "c5_assess_developer_funding", developer_can_fund=True)
    assert set(driver.open_ids(case)) == PARALLEL_START | {"c5_developer_build_onsite"}
    assert _agency(driver, case, "c5_developer_build_onsite") == "榆树市开发企业（项目方）"
    driver.complete(case, "c5_fund_offsite")
    assert driver.fire_timers(at("2026-12-31 12:00")).fired == []
    run = driver.fire_timers(at("2027-01-01 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    assert len(driver.events(case, "timer_fired")) == 1
    # Non-interrupting: the city office supervises while the county's work carries on.
    assert driver.events(case, "task_cancelled") == []
    assert set(driver.open_ids(case)) == {"c5_complete_offsite", "c5_developer_build_onsite",
                                          "sign_return_agreements", "c5_yearend_supervision"}
    supervision = driver.task(case, "c5_yearend_supervision")
    assert driver.officer_for(supervision).agency.name == "长春市保障性安居工程领导小组办公室"
    driver.complete(case, "c5_yearend_supervision", supervision_measure="summons", now=at("2027-01-15"))
    # Still open at the end of 2027: the city supervises again.
    assert driver.fire_timers(at("2027-12-31 12:00")).fired == []
    again = driver.fire_timers(at("2028-01-01 00:00:01"))
    assert [f["case_id"] for f in again.fired] == [case.id]
    assert "c5_yearend_supervision" in driver.open_ids(case)
    assert _agency(driver, case, "c5_yearend_supervision") == "长春市保障性安居工程领导小组办公室"
    driver.complete(case, "c5_yearend_supervision", supervision_measure="onsite")
    assert [e.data["due_at"] for e in driver.events(case, "timer_fired")] == [
        at("2026-12-31 23:59:59").isoformat(), at("2027-12-31 23:59:59").isoformat()]
    driver.complete(case, "c5_developer_build_onsite", onsite_completion_date="2028-03-31")
    driver.complete(case, "c5_complete_offsite")
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
