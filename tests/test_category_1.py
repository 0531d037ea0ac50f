"""Category 1 (涉法涉诉): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from tests.conftest import at

GOVERNMENT = "榆树市人民政府办公室"


def test_court_rules_return_enforceable_then_agreements_and_closeout(driver):
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(case)
    # 住建 prepares; the county government holds the 府院联动 meeting (seed 001 二(二)一).
    assert driver.open_ids(case) == ["c1_prepare_linkage"]
    assert driver.agency(case, "c1_prepare_linkage") == "榆树市住房和城乡建设局"
    driver.complete(case, "c1_prepare_linkage")
    assert driver.open_ids(case) == ["linkage_meeting"]
    assert driver.agency(case, "linkage_meeting") == GOVERNMENT
    driver.complete(case, "linkage_meeting")
    # Its minutes are signed in turn: housing drafted them, the court, then the government issues them.
    signed = []
    while "c1_linkage_minutes_signoff" in driver.open_ids(case):
        assert driver.open_ids(case) == ["c1_linkage_minutes_signoff"]  # one signer at a time
        signed.append(driver.agency(case, "c1_linkage_minutes_signoff"))
        driver.complete(case, "c1_linkage_minutes_signoff")
    assert signed == ["榆树市住房和城乡建设局", "榆树市人民法院", GOVERNMENT]
    assert driver.agency(case, "preserve_housing") == "榆树市人民法院"
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
    driver.to_court_judgment(case)
    driver.complete(case, "court_judgment", judgment_result="return_not_possible", now=at("2026-06-01"))
    assert driver.open_ids(case) == ["survey_wishes"]
    driver.complete(case, "survey_wishes")
    # The county government chooses the mode, on the survey of the residents' wishes.
    assert driver.agency(case, "decide_mode") == GOVERNMENT
    driver.complete(case, "decide_mode", resettlement_mode="monetary")
    driver.complete(case, "fund_compensation")
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_no_ruling_by_30_september_leaves_court_path_for_resettlement_mode(driver):
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.to_court_judgment(case)
    assert driver.fire_timers(at("2026-09-30 12:00")).fired == []
    assert driver.open_ids(case) == ["court_judgment"]
    run = driver.fire_timers(at("2026-10-01 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    assert driver.open_ids(case) == ["switch_mode_decision"]
    cancelled = driver.events(case, "task_cancelled")
    assert [e.data["bpmn_id"] for e in cancelled] == ["court_judgment"]
    assert len(driver.events(case, "timer_fired")) == 1
    assert driver.agency(case, "switch_mode_decision") == GOVERNMENT
    driver.complete(case, "switch_mode_decision")
    driver.complete(case, "survey_wishes")
    driver.complete(case, "decide_mode", resettlement_mode="transitional")
    driver.complete(case, "sign_supplementary", supplementary_signed=12, risks_explained=True)
    driver.complete(case, "arrange_transition", transition_arrangement="allowance")
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_a_case_reaching_the_court_after_30_september_gets_next_years_deadline_not_a_silent_skip(driver):
    """The rule is about a court that has the case and cannot rule by the end of September of the work
    year. A case that reaches the court in October gets the next 30 September; the deadline is written
    into history when the task opens, and the timer fires (and says so) only when that day has passed."""
    case = driver.new_case(1, now=at("2026-10-02 09:00"))
    judgment = driver.to_court_judgment(case)
    assert driver.open_ids(case) == ["court_judgment"]
    assert judgment.due_at == at("2027-09-30 23:59:59")
    opened = [e for e in driver.events(case, "task_opened") if e.data["bpmn_id"] == "court_judgment"]
    assert "办理时限 2027-09-30 23:59" in opened[0].summary
    assert driver.events(case, "timer_fired") == [] and driver.events(case, "task_cancelled") == []
    assert driver.fire_timers(at("2026-12-31 12:00")).fired == []
    assert driver.fire_timers(at("2027-09-30 12:00")).fired == []
    run = driver.fire_timers(at("2027-10-01 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    [fired] = driver.events(case, "timer_fired")
    assert fired.data["due_at"] == at("2027-09-30 23:59:59").isoformat() and fired.actor_id is None
    assert "9月30日仍未判决" in fired.summary
    assert driver.open_ids(case) == ["switch_mode_decision"]
    assert driver.agency(case, "switch_mode_decision") == GOVERNMENT


def test_a_ruling_in_time_next_year_takes_the_court_path(driver):
    case = driver.new_case(1, now=at("2026-11-15 09:00"))
    driver.to_court_judgment(case)
    driver.complete(case, "court_judgment", judgment_result="return_enforceable", now=at("2027-03-01"))
    assert driver.open_ids(case) == ["enforce_judgment"]
    assert driver.fire_timers(at("2027-10-01 00:00:01")).fired == []  # the deadline went with the task
