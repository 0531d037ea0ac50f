"""Tasks reach only the agency of the case's county; nobody else sees or completes them."""

from __future__ import annotations

import pytest

from tests.conftest import at
from workflows import tasks
from workflows.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
def case_with_intake(driver):
    case = driver.new_case(1, county="榆树市", now=at("2026-03-02 09:00"))
    return case, driver.task(case, "intake_verify")


def test_task_is_routed_to_the_county_housing_bureau(driver, people, case_with_intake):
    case, task = case_with_intake
    own = people.officer("榆树市", "housing")
    assert [t.id for t in tasks.inbox(driver.session, own)] == [task.id]
    assert task.agency_id == own.agency_id


def test_officer_of_other_county_cannot_see_or_complete(driver, people, case_with_intake):
    case, task = case_with_intake
    stranger = people.officer("农安县", "housing")
    assert tasks.inbox(driver.session, stranger) == []
    with pytest.raises(NotFound):
        tasks.get_task(driver.session, stranger, task.id)
    with pytest.raises(NotFound):
        tasks.complete_task(driver.session, stranger, task.id, {"households_confirmed": 1})
    assert driver.task(case, "intake_verify").status == "ready"
    assert driver.events(case, "task_completed") == []


def test_officer_of_other_agency_in_same_county_cannot_complete(driver, people, case_with_intake):
    case, task = case_with_intake
    finance = people.officer("榆树市", "finance")
    assert tasks.inbox(driver.session, finance) == []
    with pytest.raises(Forbidden):
        tasks.complete_task(driver.session, finance, task.id, {"households_confirmed": 1})
    assert driver.events(case, "task_completed") == []


def test_city_supervisor_may_act_within_jurisdiction_but_not_outside(driver, people, case_with_intake):
    case, task = case_with_intake
    changchun = people.supervisor("长春市")
    assert task.id in [t.id for t in tasks.inbox(driver.session, changchun)]
    jilin_city = people.supervisor("吉林市")
    assert tasks.inbox(driver.session, jilin_city) == []
    with pytest.raises(NotFound):
        tasks.claim(driver.session, jilin_city, task.id)
    tasks.claim(driver.session, changchun, task.id)
    assert driver.events(case, "task_claimed")[0].actor_id == changchun.id


def test_auditor_reads_but_cannot_act(driver, people, case_with_intake):
    case, task = case_with_intake
    auditor = people.user("吉林省", "supervision", "auditor")
    assert tasks.get_task(driver.session, auditor, task.id).id == task.id
    with pytest.raises(Forbidden):
        tasks.complete_task(driver.session, auditor, task.id, {})


def test_claimed_task_cannot_be_completed_by_a_colleague(driver, people, case_with_intake):
    case, task = case_with_intake
    first = people.officer("榆树市", "housing")
    tasks.claim(driver.session, first, task.id)
    from models import User
    colleague = User(username="yushu-housing-2", display_name="同事", role="officer", agency_id=first.agency_id,
                     password_hash="x", active=True)
    driver.session.add(colleague)
    driver.session.commit()
    with pytest.raises(Conflict):
        tasks.complete_task(driver.session, colleague, task.id,
                            {"households_confirmed": 12, "responsible_leader": "甲", "intake_facts": "乙"})
    tasks.unclaim(driver.session, first, task.id)
    tasks.complete_task(driver.session, colleague, task.id,
                        {"households_confirmed": 12, "responsible_leader": "甲", "intake_facts": "乙"})


def test_bad_form_data_names_the_field_and_changes_nothing(driver, people, case_with_intake):
    case, task = case_with_intake
    own = people.officer("榆树市", "housing")
    before = len(driver.events(case))
    with pytest.raises(Invalid) as err:
        tasks.complete_task(driver.session, own, task.id,
                            {"households_confirmed": "many", "responsible_leader": "", "bogus": 1})
    assert set(err.value.errors) == {"households_confirmed", "responsible_leader", "intake_facts", "bogus"}
    assert "整数" in err.value.errors["households_confirmed"][0]
    driver.session.rollback()
    assert len(driver.events(case)) == before
    assert driver.task(case, "intake_verify").status == "ready"


def test_resettled_households_cannot_exceed_overdue(driver, case_with_intake):
    case, _ = case_with_intake
    driver.to_court_judgment(case)
    driver.complete(case, "court_judgment", judgment_result="return_enforceable")
    driver.complete(case, "enforce_judgment")
    driver.complete(case, "sign_return_agreements")
    with pytest.raises(Invalid) as err:
        driver.complete(case, "record_resettlement", households_resettled=case.households_overdue + 1)
    assert "households_resettled" in err.value.errors


def test_county_without_fire_brigade_falls_back_to_city_and_says_so(driver, people):
    """City districts share the city's fire brigade: the lane resolves one level up, with a history entry."""
    from workflows.instances import _resolve_agencies
    case = driver.new_case(2, county="南关区")
    routes = _resolve_agencies(driver.session, case, {"fire", "housing"})
    assert routes["fire"][1] == "长春市消防救援大队" and routes["fire"][2] is True
    assert routes["housing"][1] == "南关区住房和城乡建设局" and routes["housing"][2] is False


def test_case_lists_and_history_come_in_pages_within_jurisdiction(driver, people):
    from workflows import cases
    for _ in range(3):
        driver.new_case(2)
    driver.new_case(2, county="农安县")
    city = people.supervisor("长春市")
    county = people.supervisor("榆树市")
    assert len(cases.list_cases(driver.session, city)) == 4
    first, second = (cases.list_cases(driver.session, county, limit=2, offset=o) for o in (0, 2))
    assert len(first) == 2 and len(second) == 1 and not {c.id for c in first} & {c.id for c in second}
    assert len(cases.list_cases(driver.session, county, limit=10**30, offset=10**30)) == 0
    with pytest.raises(Invalid):
        cases.list_cases(driver.session, county, category=10**30)
    case = first[0]
    events = cases.case_history(driver.session, county, case.id)
    assert [e.id for e in cases.case_history(driver.session, county, case.id, limit=1, offset=1)] == [events[1].id]


def test_inbox_pages_are_bounded(driver, people):
    driver.new_case(2)
    officer = people.officer("榆树市", "housing")
    assert len(tasks.inbox(driver.session, officer, limit=10**30)) == 1
    assert tasks.inbox(driver.session, officer, offset=10**30) == []
    assert tasks.overdue(driver.session, officer, offset=10**30) == []
