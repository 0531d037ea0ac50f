"""Case history is append-only in the database itself, and says where each action came from."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models import CaseEvent
from workflows import history


@pytest.mark.parametrize("statement", [
    "UPDATE case_events SET summary = '篡改' WHERE case_id = :c",
    "UPDATE case_events SET actor_id = NULL",
    "DELETE FROM case_events WHERE case_id = :c",
    "DELETE FROM case_events",
])
def test_raw_sql_cannot_rewrite_or_delete_history(driver, engine, statement):
    case = driver.new_case(2)
    before = [(e.id, e.summary, e.actor_id) for e in driver.events(case)]
    assert before
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement), {"c": case.id})
    driver.session.expire_all()
    assert [(e.id, e.summary, e.actor_id) for e in driver.events(case)] == before


def test_bulk_orm_statements_cannot_rewrite_history_either(driver):
    from sqlalchemy import delete, update
    case = driver.new_case(2)
    count = len(driver.events(case))
    with pytest.raises(DBAPIError, match="append-only"):
        driver.session.execute(update(CaseEvent).values(summary="x").execution_options(synchronize_session=False))
    driver.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        driver.session.execute(delete(CaseEvent).execution_options(synchronize_session=False))
    driver.session.rollback()
    assert len(driver.events(case)) == count


def test_events_record_their_channel_and_the_os_user(driver):
    case = driver.new_case(2)
    assert {e.channel for e in driver.events(case)} == {"service"}
    with history.origin("cli", os_user="zhangsan"):
        driver.complete(case, "intake_verify", households_confirmed=12)
    done = driver.events(case, "task_completed")[-1]
    assert (done.channel, done.os_user) == ("cli", "zhangsan")
    assert driver.events(case, "task_opened")[-1].channel == "cli"
    with pytest.raises(ValueError):
        history.origin("telepathy").__enter__()
