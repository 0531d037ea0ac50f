"""Category 1 (涉法涉诉): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from tests.conftest import at


def test_court_rules_return_enforceable_then_agreements_and_closeout(driver):
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "linkage_meeting")
    driver.complete(case, "preserve_housing")
    judgment = driver.task(case, "court_judgment")
    assert judgment.due_at == at("2026-09-30 23:59:59")
    assert driver.officer_for(judgment).agency.name == "榆树市人民法院"
    driver.complete(case, "court_judgment", judgment_result="return_enforceable", now=at("2026-06-01"))
    driver.complete(case, "enforce_judgment")
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12


def test_court_rules_return_not_possible_takes_resettlement_mode_path(driver):
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "linkage_meeting")
    driver.complete(case, "preserve_housing")
    driver.complete(case, "court_judgment", judgment_result="return_not_possible", now=at("2026-06-01"))
    assert driver.open_ids(case) == ["survey_wishes"]
    driver.complete(case, "survey_wishes")
    driver.complete(case, "decide_mode", resettlement_mode="monetary")
    driver.complete(case, "fund_compensation")
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_no_ruling_by_30_september_leaves_court_path_for_resettlement_mode(driver):
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    driver.complete(case, "linkage_meeting")
    driver.complete(case, "preserve_housing")
    assert driver.fire_timers(at("2026-09-30 12:00")).fired == []
    assert driver.open_ids(case) == ["court_judgment"]
    run = driver.fire_timers(at("2026-10-01 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    assert driver.open_ids(case) == ["switch_mode_decision"]
    cancelled = driver.events(case, "task_cancelled")
    assert [e.data["bpmn_id"] for e in cancelled] == ["court_judgment"]
    assert len(driver.events(case, "timer_fired")) == 1
    driver.complete(case, "switch_mode_decision")
    driver.complete(case, "survey_wishes")
    driver.complete(case, "decide_mode", resettlement_mode="transitional")
    driver.complete(case, "sign_supplementary", supplementary_signed=12, risks_explained=True)
    driver.complete(case, "arrange_transition", transition_arrangement="allowance")
    driver.resettle_all(case)
    driver.verify_and_close(case)
