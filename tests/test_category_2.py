"""Category 2 (已开工): construction and signing in parallel, resettle by 31 December."""

from __future__ import annotations

from tests.conftest import at


def _to_delivery(driver, case):
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    assert sorted(driver.open_ids(case)) == ["complete_construction", "sign_return_agreements"]


def test_delivered_and_resettled_before_year_end_needs_no_supervision(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    build = driver.task(case, "complete_construction")
    assert driver.officer_for(build).agency.name == "榆树市开发企业（项目方）"
    # The year-end timer sits on the calling activity; tasks inside it inherit the deadline.
    assert build.due_at == at("2026-12-31 23:59:59")
    assert driver.task(case, "sign_return_agreements").due_at == at("2026-12-31 23:59:59")
    driver.complete(case, "complete_construction")
    assert driver.open_ids(case) == ["sign_return_agreements"]  # the join waits for signing
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.complete(case, "record_resettlement", households_resettled=5, now=at("2026-11-01"))
    assert driver.open_ids(case) == ["record_resettlement"]  # not all resettled: the step repeats
    driver.resettle_all(case)
    assert driver.fire_timers(at("2027-01-05")).fired == []
    driver.verify_and_close(case)
    assert not [e for e in driver.events(case, "task_opened") if e.data["bpmn_id"] == "yearend_supervision"]


def test_not_resettled_by_31_december_opens_city_supervision_while_work_continues(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    driver.complete(case, "complete_construction")
    run = driver.fire_timers(at("2027-01-01 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    assert sorted(driver.open_ids(case)) == ["sign_return_agreements", "yearend_supervision"]
    supervision = driver.task(case, "yearend_supervision")
    assert driver.officer_for(supervision).agency.name == "长春市保障性安居工程领导小组办公室"
    assert driver.events(case, "task_cancelled") == []  # non-interrupting: nothing is withdrawn
    driver.complete(case, "yearend_supervision", supervision_measure="summons")
    driver.complete(case, "sign_return_agreements")
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_verification_rejected_sends_case_back_for_rectification(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    driver.complete(case, "complete_construction")
    driver.complete(case, "sign_return_agreements")
    driver.resettle_all(case)
    driver.session.refresh(case)
    assert case.status == "awaiting_closeout"
    driver.complete(case, "verify", verified=False)
    driver.session.refresh(case)
    assert case.status == "open"
    assert driver.open_ids(case) == ["rectify"]
    driver.complete(case, "rectify", households_resettled=12)
    driver.verify_and_close(case)
    kinds = [e.kind for e in driver.events(case)]
    assert kinds.count("status_changed") == 4  # awaiting → open → awaiting → closed
