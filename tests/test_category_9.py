"""Category 9 (“死结”项目): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from tests.conftest import at


def _agency(driver, case, bpmn_id: str) -> str:  # noqa: ANN001
    return driver.officer_for(driver.task(case, bpmn_id)).agency.name


def _confirm_dead_knot(driver, case) -> None:  # noqa: ANN001
    assert driver.open_ids(case) == ["c9_confirm_dead_knot"]
    assert _agency(driver, case, "c9_confirm_dead_knot") == "榆树市住房和城乡建设局"
    driver.complete(case, "c9_confirm_dead_knot")
    assert driver.open_ids(case) == ["c9_draft_backstop_plan"]


def _opened(driver, case) -> list[str]:  # noqa: ANN001
    return [e.data["bpmn_id"] for e in driver.events(case, "task_opened")]


def test_plan_approved_first_time_without_bond_then_monetary_compensation(driver):
    case = driver.new_case(9, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    _confirm_dead_knot(driver, case)
    driver.complete(case, "c9_draft_backstop_plan", needs_bond=False, backstop_funding_required=480.0)
    assert driver.open_ids(case) == ["c9_review_backstop_plan"]
    # The county government carries the 兜底 (seed 001 二(二)九): it approves the plan 住建 drafted.
    assert _agency(driver, case, "c9_review_backstop_plan") == "榆树市人民政府办公室"
    driver.complete(case, "c9_review_backstop_plan", backstop_plan_approved=True)
    assert driver.open_ids(case) == ["survey_wishes"]
    driver.complete(case, "survey_wishes", households_surveyed=12)
    assert _agency(driver, case, "decide_mode") == "榆树市人民政府办公室"
    driver.complete(case, "decide_mode", resettlement_mode="monetary")
    assert driver.open_ids(case) == ["fund_compensation"]
    assert _agency(driver, case, "fund_compensation") == "榆树市财政局"
    driver.complete(case, "fund_compensation", compensation_source="budget")
    driver.resettle_all(case)
    driver.verify_and_close(case)
    opened = _opened(driver, case)
    assert "c9_apply_bond_funds" not in opened
    assert opened.count("c9_draft_backstop_plan") == 1


def test_rejected_plan_is_revised_then_approved_with_bond_and_offsite_housing(driver):
    case = driver.new_case(9, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    _confirm_dead_knot(driver, case)
    driver.complete(case, "c9_draft_backstop_plan", needs_bond=False, backstop_funding_required=900.0)
    driver.complete(case, "c9_review_backstop_plan", backstop_plan_approved=False,
                    backstop_review_opinion="本级财力无法承担，资金来源不落实，请研究申请债券")
    assert driver.open_ids(case) == ["c9_draft_backstop_plan"]
    assert _agency(driver, case, "c9_draft_backstop_plan") == "榆树市住房和城乡建设局"
    driver.complete(case, "c9_draft_backstop_plan", needs_bond=True, backstop_funding_required=900.0)
    assert driver.open_ids(case) == ["c9_review_backstop_plan"]
    driver.complete(case, "c9_review_backstop_plan", backstop_plan_approved=True)
    assert driver.open_ids(case) == ["c9_apply_bond_funds"]
    assert _agency(driver, case, "c9_apply_bond_funds") == "榆树市财政局"
    driver.complete(case, "c9_apply_bond_funds", bond_amount=900.0)
    assert driver.open_ids(case) == ["survey_wishes"]
    driver.complete(case, "survey_wishes", households_surveyed=12)
    driver.complete(case, "decide_mode", resettlement_mode="offsite")
    assert driver.open_ids(case) == ["allocate_offsite"]
    driver.complete(case, "allocate_offsite", offsite_units=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    opened = _opened(driver, case)
    assert opened.count("c9_draft_backstop_plan") == 2
    assert opened.count("c9_review_backstop_plan") == 2
    assert opened.count("c9_apply_bond_funds") == 1


def test_developer_led_plan_approved_with_bond_then_transitional_resettlement(driver):
    case = driver.new_case(9, now=at("2026-03-02 09:00"), lead_type="developer")
    driver.intake_and_classify(case)
    _confirm_dead_knot(driver, case)
    driver.complete(case, "c9_draft_backstop_plan", needs_bond=True)
    driver.complete(case, "c9_review_backstop_plan", backstop_plan_approved=True)
    assert driver.open_ids(case) == ["c9_apply_bond_funds"]
    driver.complete(case, "c9_apply_bond_funds", bond_amount=600.0, bond_priority_arranged=True)
    driver.complete(case, "survey_wishes", households_surveyed=12)
    driver.complete(case, "decide_mode", resettlement_mode="transitional")
    assert driver.open_ids(case) == ["sign_supplementary"]
    assert _agency(driver, case, "sign_supplementary") == "榆树市棚改片区街道办事处"
    driver.complete(case, "sign_supplementary", supplementary_signed=12, risks_explained=True)
    assert driver.open_ids(case) == ["arrange_transition"]
    driver.complete(case, "arrange_transition", transition_arrangement="housing")
    assert driver.open_ids(case) == ["record_resettlement"]
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12
