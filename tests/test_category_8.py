"""Category 8 (开发企业不兑现安置协议): every branch from filing to 销号, acting as the county's agencies."""

from __future__ import annotations

from models import Case
from tests.conftest import at
from tests.driver import Driver

YEAR_END = at("2026-12-31 23:59:59")


def _ordered_and_awaiting_reply(driver: Driver) -> Case:
    case = driver.new_case(8, now=at("2026-03-02 09:00"), lead_type="developer")
    driver.intake_and_classify(case)
    assert driver.open_ids(case) == ["c8_order_compliance"]
    order = driver.task(case, "c8_order_compliance")
    assert driver.officer_for(order).agency.name == "榆树市住房和城乡建设局"
    driver.complete(case, "c8_order_compliance", compliance_deadline="2026-08-31")
    assert driver.open_ids(case) == ["c8_developer_reply"]
    reply = driver.task(case, "c8_developer_reply")
    assert driver.officer_for(reply).agency.name == "榆树市开发企业（项目方）"
    assert reply.due_at == YEAR_END
    return case


def _enforcement_path_to_closeout(driver: Driver, case: Case) -> None:
    seize = driver.task(case, "c8_seize_accounts")
    assert driver.officer_for(seize).agency.name == "榆树市人民法院"
    driver.complete(case, "c8_seize_accounts", seized_amount=3200.0)
    assert driver.open_ids(case) == ["c8_revoke_right"]
    assert driver.officer_for(driver.task(case, "c8_revoke_right")).agency.name == "榆树市自然资源局"
    driver.complete(case, "c8_revoke_right")
    assert driver.open_ids(case) == ["c8_liquidate_assets"]
    assert driver.officer_for(driver.task(case, "c8_liquidate_assets")).agency.name == "榆树市财政局"
    driver.complete(case, "c8_liquidate_assets", liquidated_amount=5400.0, construction_funds=2100.0)
    assert driver.open_ids(case) == ["c8_select_developer"]
    assert driver.officer_for(driver.task(case, "c8_select_developer")).agency.name == "榆树市住房和城乡建设局"
    driver.complete(case, "c8_select_developer", new_developer="榆树市城市建设投资有限公司",
                    selection_method="state_platform")
    assert driver.open_ids(case) == ["c8_resume_and_deliver"]
    resume = driver.task(case, "c8_resume_and_deliver")
    assert driver.officer_for(resume).agency.name == "榆树市开发企业（项目方）"
    driver.complete(case, "c8_resume_and_deliver", delivered_units=12)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12


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
    driver.complete(case, "c8_order_compliance", compliance_deadline="2026-10-31", now=at("2026-06-01"))
    assert driver.open_ids(case) == ["c8_developer_reply"]
    assert driver.task(case, "c8_developer_reply").due_at == YEAR_END
    driver.complete(case, "c8_developer_reply", developer_reply="will_comply")
    driver.complete(case, "c8_deliver_housing", delivered_units=12)
    driver.complete(case, "c8_check_delivery", delivered_as_promised=True)
    assert driver.open_ids(case) == ["sign_return_agreements"]
    driver.complete(case, "sign_return_agreements", agreements_signed=12)
    driver.resettle_all(case)
    driver.verify_and_close(case)
    assert case.households_resettled == 12


def test_developer_refuses_triggers_seizure_revocation_liquidation_and_new_developer(driver):
    case = _ordered_and_awaiting_reply(driver)
    driver.complete(case, "c8_developer_reply", developer_reply="refuses", now=at("2026-04-01"))
    assert driver.open_ids(case) == ["c8_seize_accounts"]
    _enforcement_path_to_closeout(driver, case)
    assert driver.events(case, "task_cancelled") == []


def test_no_reply_by_31_december_is_treated_as_refusal_and_enforced(driver):
    case = _ordered_and_awaiting_reply(driver)
    assert driver.fire_timers(at("2026-12-31 12:00")).fired == []
    assert driver.open_ids(case) == ["c8_developer_reply"]
    run = driver.fire_timers(at("2027-01-01 00:00:01"))
    assert [f["case_id"] for f in run.fired] == [case.id]
    assert driver.open_ids(case) == ["c8_seize_accounts"]
    cancelled = driver.events(case, "task_cancelled")
    assert [e.data["bpmn_id"] for e in cancelled] == ["c8_developer_reply"]
    assert len(driver.events(case, "timer_fired")) == 1
    _enforcement_path_to_closeout(driver, case)
