"""Category 4 (回迁安置住房暂时无法建设、群众要求原地回迁): every branch from filing to 销号."""

from __future__ import annotations

from tests.conftest import at


def agency_of(driver, case, bpmn_id: str) -> str:  # noqa: ANN001
    return driver.officer_for(driver.task(case, bpmn_id)).agency.name


def explain_and_consult(driver, case) -> None:  # noqa: ANN001
    assert driver.open_ids(case) == ["c4_explain_delay"]
    assert agency_of(driver, case, "c4_explain_delay") == "榆树市住房和城乡建设局"
    driver.complete(case, "c4_explain_delay", cannot_build_reason="funding", expected_build_date="2027-05-01")
    assert driver.open_ids(case) == ["c4_consult_residents"]
    assert agency_of(driver, case, "c4_consult_residents") == "榆树市棚改片区街道办事处"
    driver.complete(case, "c4_consult_residents", consultation_attendees=12, insist_return_households=4)
    assert driver.open_ids(case) == ["survey_wishes"]
    driver.complete(case, "survey_wishes", households_surveyed=12)


def test_monetary_mode_is_funded_by_finance_then_registered(driver):
    case = driver.new_case(4, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    explain_and_consult(driver, case)
    assert agency_of(driver, case, "decide_mode") == "榆树市人民政府办公室"
    driver.complete(case, "decide_mode", resettlement_mode="monetary")
    assert driver.open_ids(case) == ["fund_compensation"]
    assert agency_of(driver, case, "fund_compensation") == "榆树市财政局"
    driver.complete(case, "fund_compensation", compensation_source="bond")
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12


def test_offsite_mode_allocates_housing_then_registered(driver):
    case = driver.new_case(4, lead_type="developer", now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    explain_and_consult(driver, case)
    driver.complete(case, "decide_mode", resettlement_mode="offsite")
    assert driver.open_ids(case) == ["allocate_offsite"]
    driver.complete(case, "allocate_offsite", offsite_units=12)
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_transitional_mode_resolves_households_once_every_one_signed_the_supplementary_agreement(driver):
    # The same rule as every category (workflows/resolution.py): a household in 过渡性安置 counts as
    # resolved under a signed 补充协议, so the case does not wait for the flats before it is registered.
    case = driver.new_case(4, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    explain_and_consult(driver, case)
    driver.complete(case, "decide_mode", resettlement_mode="transitional")
    assert driver.open_ids(case) == ["sign_supplementary"]
    assert agency_of(driver, case, "sign_supplementary") == "榆树市棚改片区街道办事处"
    driver.complete(case, "sign_supplementary", supplementary_signed=8, supplementary_date="2026-04-10")
    # 4 of 12 have not signed yet: the street office goes on, another batch is registered.
    assert driver.open_ids(case) == ["sign_supplementary"]
    driver.complete(case, "sign_supplementary", supplementary_signed=12, supplementary_date="2026-05-20")
    driver.complete(case, "arrange_transition", transition_arrangement="allowance", expected_return_date="2028-10-01")
    assert driver.open_ids(case) == ["record_resettlement"]
    assert agency_of(driver, case, "record_resettlement") == "榆树市住房和城乡建设局"
    driver.resettle_all(case)
    driver.verify_and_close(case)
