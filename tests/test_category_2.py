"""Category 2 (已开工): construction and signing in parallel, resettle by 31 December."""

from __future__ import annotations

from tests.conftest import at

DEVELOPER = "榆树市开发企业（项目方）"
HOUSING = "榆树市住房和城乡建设局"
CITY = "长春市保障性安居工程领导小组办公室"


def _to_delivery(driver, case):
    driver.intake_and_classify(case)
    driver.complete(case, "urge_builder")
    assert sorted(driver.open_ids(case)) == ["c2_report_progress", "sign_return_agreements"]


def test_delivered_and_resettled_before_year_end_needs_no_supervision(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    report = driver.task(case, "c2_report_progress")
    assert driver.officer_for(report).agency.name == DEVELOPER
    # The year-end timer sits on the calling activity; a task inside it is due at the earlier of that
    # deadline and its own SLA (报送建设进度 10, 组织签约 20 working days), here the SLA.
    assert report.due_at == at("2026-03-16 23:59:59")
    assert driver.task(case, "sign_return_agreements").due_at == at("2026-03-30 23:59:59")
    driver.complete(case, "c2_report_progress", planned_completion_date="2026-08-31")
    assert driver.agency(case, "c2_check_progress") == HOUSING
    driver.complete(case, "c2_check_progress", construction_completed=True)
    assert driver.agency(case, "complete_construction") == DEVELOPER
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
    driver.finish_construction(case)
    run = driver.fire_timers(at("2027-01-01 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    assert sorted(driver.open_ids(case)) == ["sign_return_agreements", "yearend_supervision"]
    supervision = driver.task(case, "yearend_supervision")
    assert driver.officer_for(supervision).agency.name == CITY
    assert driver.events(case, "task_cancelled") == []  # non-interrupting: nothing is withdrawn
    driver.complete(case, "yearend_supervision", supervision_measure="summons")
    driver.complete(case, "sign_return_agreements")
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert driver.fire_timers(at("2028-01-01 00:00:01")).fired == []  # closed: no supervision next year


def test_verification_rejected_sends_case_back_for_rectification(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    driver.finish_construction(case)
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


def test_builder_reports_progress_until_housing_finds_it_built(driver):
    """The builder reports progress against its 倒排工期 date; 住建 checks each report; not built yet
    means another report (the loop enters through a merge gateway), built means delivery."""
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    for month, built in (("2026-04-30", False), ("2026-05-31", False), ("2026-06-30", True)):
        assert driver.agency(case, "c2_report_progress") == DEVELOPER
        driver.complete(case, "c2_report_progress", progress_report_date=month,
                        planned_completion_date="2026-06-30", completed_works=f"截至{month}主体及配套进度")
        assert "c2_check_progress" in driver.open_ids(case)
        assert driver.agency(case, "c2_check_progress") == HOUSING
        driver.complete(case, "c2_check_progress", on_schedule=True, construction_completed=built)
    assert sorted(driver.open_ids(case)) == ["complete_construction", "sign_return_agreements"]
    reports = [e for e in driver.events(case, "task_completed") if e.data["bpmn_id"] == "c2_report_progress"]
    assert [e.data["data"]["planned_completion_date"] for e in reports] == ["2026-06-30"] * 3
    assert [e.data["data"]["progress_report_date"] for e in reports] == ["2026-04-30", "2026-05-31", "2026-06-30"]
    driver.complete(case, "complete_construction")
    driver.complete(case, "sign_return_agreements")
    driver.resettle_all(case)
    driver.verify_and_close(case)


def test_a_case_still_open_in_the_next_year_is_supervised_again_at_that_years_end(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    driver.complete(case, "c2_report_progress")
    driver.complete(case, "c2_check_progress", construction_completed=False)
    driver.fire_timers(at("2027-01-01 00:00:01"))
    assert driver.agency(case, "yearend_supervision") == CITY
    driver.complete(case, "yearend_supervision", supervision_measure="summons", now=at("2027-01-20 10:00"))
    assert "yearend_supervision" not in driver.open_ids(case)
    # The next one is this year's 31 December, never a fixed year.
    assert driver.fire_timers(at("2027-12-31 12:00")).fired == []
    run = driver.fire_timers(at("2028-01-01 00:00:01"))
    assert run.fired[0]["timers"] == ["本年度12月31日仍未实现回迁"]
    assert [o["bpmn_id"] for o in run.fired[0]["opened"]] == ["yearend_supervision"]
    assert driver.agency(case, "yearend_supervision") == CITY
    fired = driver.events(case, "timer_fired")
    assert [e.data["due_at"] for e in fired] == [at("2026-12-31 23:59:59").isoformat(),
                                                 at("2027-12-31 23:59:59").isoformat()]
    driver.complete(case, "yearend_supervision", supervision_measure="onsite", now=at("2028-01-10 10:00"))
    # The county finishes in 2028: the process ends and the wait for 31 December 2028 goes with it.
    driver.complete(case, "c2_report_progress")
    driver.complete(case, "c2_check_progress", construction_completed=True)
    driver.complete(case, "complete_construction")
    driver.complete(case, "sign_return_agreements")
    driver.resettle_all(case)
    assert driver.open_ids(case) == ["verify"]
    assert driver.fire_timers(at("2029-01-01 00:00:01")).fired == []
    assert driver.events(case, "task_cancelled") == []
    driver.verify_and_close(case)
    opened = [e for e in driver.events(case, "task_opened") if e.data["bpmn_id"] == "yearend_supervision"]
    assert len(opened) == 2


def test_supervision_still_open_when_the_county_finishes_is_withdrawn(driver):
    case = driver.new_case(2, now=at("2026-03-02 09:00"))
    _to_delivery(driver, case)
    driver.fire_timers(at("2027-01-01 00:00:01"))
    driver.finish_construction(case)
    driver.complete(case, "sign_return_agreements")
    driver.resettle_all(case)
    assert driver.open_ids(case) == ["verify"]
    [withdrawn] = driver.events(case, "task_cancelled")
    assert withdrawn.data["bpmn_id"] == "yearend_supervision"
