"""Category 8 (开发企业不兑现安置协议): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from models import Case
from tests.conftest import at
from tests.driver import Driver

GOVERNMENT = "榆树市人民政府办公室"
HOUSING = "榆树市住房和城乡建设局"
DEVELOPER = "榆树市开发企业（项目方）"


def _ordered_and_awaiting_reply(driver: Driver, reply_deadline: str = "2026-05-15") -> Case:
    case = driver.new_case(8, now=at("2026-03-02 09:00"), lead_type="developer")
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["c8_order_compliance"]
    # The county government orders the developer (seed 001 二(二)八), with a reply deadline in the order.
    assert driver.agency(case, "c8_order_compliance") == GOVERNMENT
    driver.complete(case, "c8_order_compliance", reply_deadline=reply_deadline, compliance_deadline="2026-08-31")
    assert driver.open_ids(case) == ["c8_developer_reply"]
    reply = driver.task(case, "c8_developer_reply")
    assert driver.officer_for(reply).agency.name == DEVELOPER
    assert reply.due_at == at(f"{reply_deadline} 23:59:59")  # the date written in the order, to the end of that day
    return case


def _crack_down(driver: Driver, case: Case, *, seizure: bool) -> None:
    """Refusal: 住建 cracks down (penalties, credit listing) and judges whether seizure is needed; only
    then, and only on 住建's application, does the court seize."""
    assert driver.open_ids(case) == ["c8_crack_down"]
    assert driver.agency(case, "c8_crack_down") == HOUSING
    driver.complete(case, "c8_crack_down", penalty_decision_no="榆住建罚〔2026〕8号", credit_listed=True,
                    seizure_needed=seizure)
    if seizure:
        assert driver.open_ids(case) == ["c8_apply_seizure"]
        assert driver.agency(case, "c8_apply_seizure") == HOUSING
        driver.complete(case, "c8_apply_seizure", seizure_application_no="榆住建申〔2026〕3号")
        assert driver.open_ids(case) == ["c8_seize_accounts"]
        assert driver.agency(case, "c8_seize_accounts") == "榆树市人民法院"
        driver.complete(case, "c8_seize_accounts", seized_amount=3200.0)
    assert driver.open_ids(case) == ["c8_revoke_right"]


def _enforcement_path_to_closeout(driver: Driver, case: Case, *, seizure: bool = True) -> None:
    _crack_down(driver, case, seizure=seizure)
    assert driver.officer_for(driver.task(case, "c8_revoke_right")).agency.name == "榆树市自然资源局"
    driver.complete(case, "c8_revoke_right")
    assert driver.open_ids(case) == ["c8_liquidate_assets"]
    assert driver.officer_for(driver.task(case, "c8_liquidate_assets")).agency.name == "榆树市财政局"
    driver.complete(case, "c8_liquidate_assets", liquidated_amount=5400.0, construction_funds=2100.0)
    assert driver.open_ids(case) == ["c8_select_developer"]
    assert driver.officer_for(driver.task(case, "c8_select_developer")).agency.name == HOUSING
    driver.complete(case, "c8_select_developer", new_developer="榆树市城市建设投资有限公司",
                    selection_method="state_platform")
    assert driver.open_ids(case) == ["c8_resume_and_deliver"]
    resume = driver.task(case, "c8_resume_and_deliver")
    assert driver.officer_for(resume).agency.name == DEVELOPER
    driver.complete(case, "c8_resume_and_deliver", delivered_units=12)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12
    court = [e for e in driver.events(case, "task_opened") if e.data["bpmn_id"] == "c8_seize_accounts"]
    assert len(court) == (1 if seizure else 0)


def test_developer_complies_and_delivers_as_promised(driver):
    case = _ordered_and_awaiting_reply(driver)
    driver.complete(case, "c8_developer_reply", developer_reply="will_comply", now=at("2026-04-01"))
    assert driver.open_ids(case) == ["c8_deliver_housing"]
    assert driver.officer_for(driver.task(case, "c8_deliver_housing")).agency.name == "榆树市开发企业（项目方）"
    driver.complete(case, "c8_deliver_housing", delivered_units=12)
    assert driver.open_ids(case) == ["c8_check_delivery"]
    assert driver.officer_for(driver.task(case, "c8_check_delivery")).agency.name == "榆树市住房和城乡建设局"
    driver.complete(case, "c8_check_delivery", delivered_as_promised=True)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    sign = driver.task(case, "sign_return_agreements")
    assert driver.officer_for(sign).agency.name == "榆树市棚改片区街道办事处"
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12
    assert driver.events(case, "task_cancelled") == []


def test_delivery_check_fails_once_reorders_developer_then_delivers(driver):
    case = _ordered_and_awaiting_reply(driver)
    driver.complete(case, "c8_developer_reply", developer_reply="will_comply", now=at("2026-04-01"))
    driver.complete(case, "c8_deliver_housing", delivered_units=8)
    driver.complete(case, "c8_check_delivery", delivered_as_promised=False,
                    check_findings="交付套数不足，4户回迁房未按协议交付。")
    assert driver.open_ids(case) == ["c8_order_compliance"]
    assert driver.agency(case, "c8_order_compliance") == GOVERNMENT
    driver.complete(case, "c8_order_compliance", reply_deadline="2026-06-20", compliance_deadline="2026-10-31",
                    now=at("2026-06-01"))
    assert driver.open_ids(case) == ["c8_developer_reply"]
    # The new order's deadline, not the first one's.
    assert driver.task(case, "c8_developer_reply").due_at == at("2026-06-20 23:59:59")
    driver.complete(case, "c8_developer_reply", developer_reply="will_comply")
    driver.complete(case, "c8_deliver_housing", delivered_units=12)
    driver.complete(case, "c8_check_delivery", delivered_as_promised=True)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12


def test_developer_refuses_crack_down_then_seizure_on_application_revocation_and_new_developer(driver):
    case = _ordered_and_awaiting_reply(driver)
    driver.complete(case, "c8_developer_reply", developer_reply="refuses", now=at("2026-04-01"))
    _enforcement_path_to_closeout(driver, case, seizure=True)
    assert driver.events(case, "task_cancelled") == []


def test_developer_refuses_and_no_seizure_is_needed_so_the_court_is_not_involved(driver):
    case = _ordered_and_awaiting_reply(driver)
    driver.complete(case, "c8_developer_reply", developer_reply="refuses", now=at("2026-04-01"))
    _enforcement_path_to_closeout(driver, case, seizure=False)
    opened = [e.data["bpmn_id"] for e in driver.events(case, "task_opened")]
    assert "c8_apply_seizure" not in opened and "c8_seize_accounts" not in opened


def test_no_reply_by_the_deadline_in_the_order_is_treated_as_refusal(driver):
    case = _ordered_and_awaiting_reply(driver, reply_deadline="2026-05-15")
    assert driver.fire_timers(at("2026-05-15 23:59:00")).fired == []
    assert driver.open_ids(case) == ["c8_developer_reply"]
    run = driver.fire_timers(at("2026-05-16 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    assert run.fired[0]["timers"] == ["答复期限届满仍未答复，视为拒不履行"]
    [fired] = driver.events(case, "timer_fired")
    assert fired.data["due_at"] == at("2026-05-15 23:59:59").isoformat()
    cancelled = driver.events(case, "task_cancelled")
    assert [e.data["bpmn_id"] for e in cancelled] == ["c8_developer_reply"]
    _enforcement_path_to_closeout(driver, case, seizure=True)


def test_a_reply_deadline_already_past_when_ordered_fires_at_once_and_history_says_so(driver):
    """A deadline that has gone by when its step opens must not pass silently: the timer fires inside
    the completion that armed it, recorded as the system's doing, before what it opened."""
    case = driver.new_case(8, now=at("2026-03-02 09:00"), lead_type="developer")
    driver.intake_and_classify(case)
    driver.complete(case, "c8_order_compliance", reply_deadline="2026-03-01", now=at("2026-03-05 10:00"))
    assert driver.open_ids(case) == ["c8_crack_down"]
    [fired] = driver.events(case, "timer_fired")
    assert fired.actor_id is None and fired.data["due_at"] == at("2026-03-01 23:59:59").isoformat()
    assert "办结「市县政府责令开发企业限期兑现安置承诺」" in fired.summary
    opened = [e for e in driver.events(case, "task_opened") if e.data["bpmn_id"] == "c8_crack_down"]
    assert opened[0].id > fired.id
