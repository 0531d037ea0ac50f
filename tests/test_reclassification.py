"""Changing a running case's category: a supervisor above the county moves it, the old category's
work is withdrawn (and stays visible), the new category starts, history reads as one story."""

from __future__ import annotations

import pytest

from models import Task
from tests.conftest import at
from workflows import reclassification, tasks
from workflows.errors import Conflict, Forbidden, Invalid, NotFound

REASON = "法院已明确年内无法判决，府院联动无果，市场化接盘两次流拍"


def _at_court_judgment(driver):  # noqa: ANN001, ANN202
    case = driver.new_case(1, now=at("2026-03-02 09:00"))
    driver.to_court_judgment(case)
    assert driver.open_ids(case) == ["court_judgment"]
    return case


def test_litigation_case_waiting_for_the_court_becomes_a_dead_knot(driver, people):
    case = _at_court_judgment(driver)
    court_task = driver.task(case, "court_judgment")
    before = [(e.id, e.kind, e.summary) for e in driver.events(case)]
    city = people.supervisor("长春市")
    driver.travel_to(at("2026-07-15 10:00"))
    moved = reclassification.reclassify(driver.session, city, case.id, 9, REASON)

    driver.session.expire_all()
    assert driver.session.get(Task, court_task.id).status == "cancelled"
    assert driver.open_ids(case) == ["c9_confirm_dead_knot"]
    first = driver.task(case, "c9_confirm_dead_knot")
    assert driver.officer_for(first).agency.name == "榆树市住房和城乡建设局"
    housing = people.officer("榆树市", "housing")
    assert first.id in [t.id for t in tasks.inbox(driver.session, housing)]
    assert [o["name"] for o in moved.opened] == [first.name]
    assert [c["task_id"] for c in moved.cancelled] == [court_task.id]

    after = driver.events(case)
    assert [(e.id, e.kind, e.summary) for e in after[:len(before)]] == before  # nothing rewritten
    new = [e.kind for e in after[len(before):]]
    assert new == ["case_reclassified", "task_cancelled", "task_opened"]
    change = driver.events(case, "case_reclassified")[0]
    assert change.actor_id == city.id and change.data["from"] == 1 and change.data["to"] == 9
    assert "此前尝试：第1类（涉法涉诉）" in change.summary and REASON in change.summary
    assert "改变类别" in driver.events(case, "task_cancelled")[-1].summary

    driver.session.refresh(case)
    assert case.category == 9
    [attempt] = case.attempts
    assert attempt["category"] == 1 and attempt["reason"] == REASON and attempt["days"] >= 100

    stages = reclassification.case_processes(driver.session, city, case.id)
    assert [(s.process_id, s.status) for s in stages] == [
        ("case_lifecycle", "running"), ("category_1", "cancelled"), ("category_9", "running")]
    assert stages[1].ended_at == at("2026-07-15 10:00")

    # The new category's work goes on to the end as usual.
    driver.complete(case, "c9_confirm_dead_knot")
    assert driver.open_ids(case) == ["c9_draft_backstop_plan"]


def test_only_supervisors_above_the_county_within_jurisdiction_may_reclassify(driver, people):
    case = _at_court_judgment(driver)
    with pytest.raises(Forbidden):
        reclassification.reclassify(driver.session, people.officer("榆树市", "housing"), case.id, 9, REASON)
    with pytest.raises(Forbidden):
        reclassification.reclassify(driver.session, people.supervisor("榆树市"), case.id, 9, REASON)
    with pytest.raises(NotFound):
        reclassification.reclassify(driver.session, people.supervisor("吉林市"), case.id, 9, REASON)
    assert driver.open_ids(case) == ["court_judgment"]
    assert driver.events(case, "case_reclassified") == []
    # The province may.
    reclassification.reclassify(driver.session, people.supervisor("吉林省"), case.id, 3, REASON)
    assert driver.open_ids(case) != ["court_judgment"]


@pytest.mark.parametrize(("category", "reason", "error"), [
    (1, REASON, Invalid),  # already category 1
    (10, REASON, Invalid),
    ("九", REASON, Invalid),
    (9, "", Invalid),
    (9, "  ", Invalid),
])
def test_bad_reclassification_input_is_refused_and_changes_nothing(driver, people, category, reason, error):
    case = _at_court_judgment(driver)
    events = len(driver.events(case))
    with pytest.raises(error):
        reclassification.reclassify(driver.session, people.supervisor("长春市"), case.id, category, reason)
    assert len(driver.events(case)) == events
    assert driver.open_ids(case) == ["court_judgment"]


def test_a_case_not_yet_classified_cannot_be_reclassified(driver, people):
    case = driver.new_case(2)
    with pytest.raises(Conflict, match="不在按类别办理阶段"):
        reclassification.reclassify(driver.session, people.supervisor("长春市"), case.id, 9, REASON)
    assert driver.open_ids(case) == ["intake_verify"]


@pytest.mark.parametrize("category", range(1, 10))
def test_every_category_can_be_left_for_another(driver, people, category):
    """Walks each category's reclassification boundary event."""
    target = category % 9 + 1
    reference = driver.new_case(target, now=at("2026-03-02 09:00"))
    driver.intake_and_classify(reference)
    expected = sorted(driver.open_ids(reference))

    case = driver.new_case(category, now=at("2026-03-02 09:00"),
                           lead_type="developer" if category in (6, 8) else "government")
    driver.intake_and_classify(case)
    old_open = [t.id for t in driver.open_tasks(case)]
    assert old_open
    reclassification.reclassify(driver.session, people.supervisor("长春市"), case.id, target, REASON)
    assert sorted(driver.open_ids(case)) == expected
    driver.session.expire_all()
    assert {driver.session.get(Task, t).status for t in old_open} == {"cancelled"}
    assert driver.session.get(type(case), case.id).category == target
