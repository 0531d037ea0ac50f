"""Category 3 (因征收、规划调整等原因尚未开工建设): every branch from filing to 销号."""

from __future__ import annotations

from tests.conftest import at


def agency_of(driver, case, bpmn_id: str) -> str:  # noqa: ANN001
    return driver.officer_for(driver.task(case, bpmn_id)).agency.name


def test_unfinished_expropriation_without_holdouts_only_adjusts_resettlement_mode(driver):
    case = driver.new_case(3, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["c3_record_cause"]
    assert agency_of(driver, case, "c3_record_cause") == "榆树市住房和城乡建设局"
    driver.complete(case, "c3_record_cause", not_started_cause="expropriation")
    assert driver.open_ids(case) == ["c3_check_holdouts"]
    assert agency_of(driver, case, "c3_check_holdouts") == "榆树市房屋征收经办中心"
    driver.complete(case, "c3_check_holdouts", expropriation_signed=12, holdout_households=0)
    # No holdouts: the judicial branch passes straight to the join; only the mode adjustment is open.
    assert driver.open_ids(case) == ["survey_wishes"]
    assert agency_of(driver, case, "survey_wishes") == "榆树市棚改片区街道办事处"
    driver.complete(case, "survey_wishes", households_surveyed=12)
    # The county government adjusts the mode on the residents' wishes (seed 001 二(二)三).
    assert agency_of(driver, case, "decide_mode") == "榆树市人民政府办公室"
    driver.complete(case, "decide_mode", resettlement_mode="monetary")
    assert driver.open_ids(case) == ["fund_compensation"]
    assert agency_of(driver, case, "fund_compensation") == "榆树市财政局"
    driver.complete(case, "fund_compensation")
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12


def test_planning_adjustment_then_court_grants_enforcement_and_demolition(driver):
    case = driver.new_case(3, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c3_record_cause", not_started_cause="planning")
    assert driver.open_ids(case) == ["c3_adjust_planning"]
    assert agency_of(driver, case, "c3_adjust_planning") == "榆树市自然资源局"
    driver.complete(case, "c3_adjust_planning", planning_approval_no="榆自然资规〔2026〕7号")
    assert driver.open_ids(case) == ["c3_check_holdouts"]
    driver.complete(case, "c3_check_holdouts", expropriation_signed=9, holdout_households=3)
    # Mode adjustment and judicial procedure run at the same time.
    assert sorted(driver.open_ids(case)) == ["c3_apply_enforcement", "survey_wishes"]
    assert agency_of(driver, case, "c3_apply_enforcement") == "榆树市房屋征收经办中心"
    driver.complete(case, "c3_apply_enforcement", enforcement_households=3)
    assert sorted(driver.open_ids(case)) == ["c3_court_ruling", "survey_wishes"]
    assert agency_of(driver, case, "c3_court_ruling") == "榆树市人民法院"
    driver.complete(case, "c3_court_ruling", enforcement_ruling="granted")
    assert sorted(driver.open_ids(case)) == ["c3_demolish", "survey_wishes"]
    assert agency_of(driver, case, "c3_demolish") == "榆树市房屋征收经办中心"
    driver.complete(case, "c3_demolish", demolished_households=3)
    # Demolition done, but resettlement waits for the mode adjustment branch.
    assert driver.open_ids(case) == ["survey_wishes"]
    driver.complete(case, "survey_wishes")
    driver.complete(case, "decide_mode", resettlement_mode="offsite")
    assert driver.open_ids(case) == ["allocate_offsite"]
    assert agency_of(driver, case, "allocate_offsite") == "榆树市住房和城乡建设局"
    driver.complete(case, "allocate_offsite", offsite_units=12)
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_court_rejects_enforcement_then_reapplication_is_granted(driver):
    case = driver.new_case(3, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c3_record_cause", not_started_cause="expropriation")
    driver.complete(case, "c3_check_holdouts", holdout_households=2)
    # The mode adjustment finishes first; the join waits for the judicial branch.
    driver.complete(case, "survey_wishes")
    driver.complete(case, "decide_mode", resettlement_mode="transitional")
    driver.complete(case, "sign_supplementary", supplementary_signed=12, risks_explained=True)
    driver.complete(case, "arrange_transition", transition_arrangement="housing")
    assert driver.open_ids(case) == ["c3_apply_enforcement"]
    driver.complete(case, "c3_apply_enforcement", enforcement_households=2)
    driver.complete(case, "c3_court_ruling", enforcement_ruling="rejected")
    assert driver.open_ids(case) == ["c3_rejected_followup"]
    assert agency_of(driver, case, "c3_rejected_followup") == "榆树市房屋征收经办中心"
    driver.complete(case, "c3_rejected_followup", rejected_followup="reapply")
    assert driver.open_ids(case) == ["c3_apply_enforcement"]
    driver.complete(case, "c3_apply_enforcement", enforcement_households=2)
    driver.complete(case, "c3_court_ruling", enforcement_ruling="granted")
    assert driver.open_ids(case) == ["c3_demolish"]
    driver.complete(case, "c3_demolish", demolished_households=2)
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_court_rejects_enforcement_and_holdouts_sign_after_negotiation(driver):
    case = driver.new_case(3, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "c3_record_cause", not_started_cause="other")
    assert driver.open_ids(case) == ["c3_check_holdouts"]
    driver.complete(case, "c3_check_holdouts", holdout_households=1)
    driver.complete(case, "c3_apply_enforcement", enforcement_households=1)
    driver.complete(case, "c3_court_ruling", enforcement_ruling="rejected")
    driver.complete(case, "c3_rejected_followup", rejected_followup="negotiated")
    # Judicial branch closed without demolition; the mode adjustment is still open.
    assert driver.open_ids(case) == ["survey_wishes"]
    driver.complete(case, "survey_wishes")
    driver.complete(case, "decide_mode", resettlement_mode="monetary")
    driver.complete(case, "fund_compensation")
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)
