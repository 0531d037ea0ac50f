"""Category 6 (资金短缺停工): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from tests.conftest import at


def _agency(driver, case, bpmn_id: str) -> str:  # noqa: ANN001
    return driver.officer_for(driver.task(case, bpmn_id)).agency.name


def _sign_resettle_close(driver, case) -> None:  # noqa: ANN001
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12


def test_government_led_project_gets_funds_committed_then_resumes_construction(driver):
    case = driver.new_case(6, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["c6_commit_funds"]
    assert _agency(driver, case, "c6_commit_funds") == "榆树市财政局"
    driver.complete(case, "c6_commit_funds", land_reserve_funds=1200.0, land_price_turnover_funds=800.0,
                    special_bond_amount=5000.0, special_loan_amount=3000.0)
    assert driver.open_ids(case) == ["c6_resume_construction"]
    assert _agency(driver, case, "c6_resume_construction") == "榆树市住房和城乡建设局"
    driver.complete(case, "c6_resume_construction", resume_date="2026-04-15", planned_completion_date="2026-11-30")
    _sign_resettle_close(driver, case)


def test_developer_able_to_continue_commits_schedule_and_funds_with_government_support(driver):
    case = driver.new_case(6, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["c6_assess_developer"]
    assert _agency(driver, case, "c6_assess_developer") == "榆树市住房和城乡建设局"
    driver.complete(case, "c6_assess_developer", developer_can_continue=True, funding_gap=2600.0)
    assert driver.open_ids(case) == ["c6_developer_commit"]
    assert _agency(driver, case, "c6_developer_commit") == "榆树市开发企业（项目方）"
    driver.complete(case, "c6_developer_commit", resume_date="2026-04-01", funds_raised=2600.0)
    assert driver.open_ids(case) == ["c6_support_enterprise"]
    assert _agency(driver, case, "c6_support_enterprise") == "榆树市住房和城乡建设局"
    driver.complete(case, "c6_support_enterprise")
    _sign_resettle_close(driver, case)


def test_developer_cannot_continue_triggers_government_takeover_and_liquidation(driver):
    case = driver.new_case(6, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c6_assess_developer", developer_can_continue=False)
    # 住建 assessed the developer; the county government decides the takeover (seed 001 二(二)六).
    assert driver.open_ids(case) == ["c6_start_takeover"]
    assert _agency(driver, case, "c6_start_takeover") == "榆树市人民政府办公室"
    driver.complete(case, "c6_start_takeover", takeover_party="government", takeover_entity="榆树市城市建设投资有限公司")
    assert driver.open_ids(case) == ["c6_asset_liquidation"]
    assert _agency(driver, case, "c6_asset_liquidation") == "榆树市财政局"
    driver.complete(case, "c6_asset_liquidation")
    assert driver.open_ids(case) == ["c6_expedite_procedures"]
    driver.complete(case, "c6_expedite_procedures")
    # Government takes over: the housing bureau organises resumed construction, not the developer lane.
    assert driver.open_ids(case) == ["c6_resume_construction"]
    assert _agency(driver, case, "c6_resume_construction") == "榆树市住房和城乡建设局"
    driver.complete(case, "c6_resume_construction")
    _sign_resettle_close(driver, case)


def test_developer_cannot_continue_capable_enterprise_takes_over_and_resumes_construction(driver):
    case = driver.new_case(6, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c6_assess_developer", developer_can_continue=False)
    assert _agency(driver, case, "c6_start_takeover") == "榆树市人民政府办公室"
    driver.complete(case, "c6_start_takeover", takeover_party="enterprise", takeover_entity="吉林某实力房地产集团")
    driver.complete(case, "c6_asset_liquidation", assets_value=9000.0, liabilities_value=11000.0)
    driver.complete(case, "c6_expedite_procedures")
    assert driver.open_ids(case) == ["c6_taker_resume"]
    assert _agency(driver, case, "c6_taker_resume") == "榆树市开发企业（项目方）"
    driver.complete(case, "c6_taker_resume", planned_completion_date="2026-12-15")
    _sign_resettle_close(driver, case)
