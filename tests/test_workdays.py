"""Working-day deadlines with China's real calendar: the National Day holiday and its make-up days,
2026's schedule as the State Council published it, a count that runs into a year nobody has published
yet (provisional, weekends only), and the province administrator entering that year's schedule."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AccessEvent, CalendarDay, CalendarYear
from tests.conftest import at
from tests.test_hot_path import Counter
from workflows import db, workdays
from workflows.errors import Forbidden, Invalid

# 2027's schedule as an administrator would enter it once published (元旦 on a Friday).
HOLIDAYS_2027 = [(date(2027, 1, 1), "元旦")]


@pytest.fixture
def library_ends_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library as installed today, which stops at 2026; pinned so that a newer release knowing 2027
    does not change what these tests show."""
    real_days, real_years = workdays._library_rest_days, workdays.covered_years()
    monkeypatch.setattr(workdays, "_library_rest_days", lambda year: None if year >= 2027 else real_days(year))
    monkeypatch.setattr(workdays, "covered_years", lambda: range(real_years.start, min(real_years.stop, 2027)))


@pytest.fixture
def province_admin(people):  # noqa: ANN001, ANN201
    return people.user("吉林省", "supervision", "admin")


def nothing_written(session) -> bool:  # noqa: ANN001
    session.rollback()
    return (session.scalar(select(func.count()).select_from(CalendarDay)) == 0
            and session.scalar(select(func.count()).select_from(CalendarYear)) == 0
            and session.scalar(select(func.count()).where(AccessEvent.kind == "calendar_entered")) == 0)


def test_library_range_is_found_by_asking_it() -> None:
    years = workdays.covered_years()
    assert 2004 in years and 2025 in years and 2026 in years
    assert years.stop - 1 == max(years)


# --- the real calendar -----------------------------------------------------------------------------

def test_five_working_days_from_29_september_2025_end_after_national_day(session) -> None:  # noqa: ANN001
    deadline = workdays.add_workdays(session, at("2025-09-29 10:00"), 5)
    # 9-30 is one; 10-01..10-08 is the holiday; the make-up Saturday 10-11 is two; 10-09, 10-10, 10-13.
    # A plain Monday–Friday count would say 10-06, in the middle of the holiday.
    assert deadline.due_day == date(2025, 10, 13)
    assert deadline.due_at == at("2025-10-13 23:59:59")
    assert deadline.due_at.utcoffset().total_seconds() == 0
    assert not deadline.provisional and deadline.uncovered_years == ()


def test_make_up_saturday_and_sunday_are_working_days(session) -> None:  # noqa: ANN001
    assert workdays.is_workday(session, date(2025, 10, 11))  # Saturday, 调休上班
    assert workdays.is_workday(session, date(2025, 9, 28))  # Sunday, 调休上班
    assert not workdays.is_workday(session, date(2025, 10, 1))
    assert not workdays.is_workday(session, date(2025, 10, 8))  # a Wednesday inside the holiday
    assert not workdays.is_workday(session, date(2025, 10, 12))  # an ordinary Sunday
    # A task given one working day on Friday 9-26 is due on the Sunday worked.
    assert workdays.add_workdays(session, at("2025-09-26 16:00"), 1).due_day == date(2025, 9, 28)
    assert workdays.add_workdays(session, at("2025-10-10 09:00"), 1).due_day == date(2025, 10, 11)


def test_counting_starts_the_next_day_in_china_time(session) -> None:  # noqa: ANN001
    # 9-29 00:30 in China is still 9-28 in UTC: the count starts on 9-30 all the same.
    assert workdays.add_workdays(session, at("2025-09-29 00:30"), 1).due_day == date(2025, 9, 30)
    assert workdays.add_workdays(session, at("2025-09-29 23:59"), 1).due_day == date(2025, 9, 30)


def test_2026_counts_follow_the_state_councils_schedule(session) -> None:  # noqa: ANN001
    # The notice of 4 November 2025: these weekend days are worked in 2026.
    for day in (date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
                date(2026, 10, 10)):
        assert workdays.is_workday(session, day), day
    # Spring Festival: off 2-15..2-23. From Friday 2-13: Saturday 2-14 (worked), then 2-24..2-27.
    assert workdays.add_workdays(session, at("2026-02-13 15:00"), 5).due_day == date(2026, 2, 27)
    # National Day: off 10-01..10-07, Saturday 10-10 worked. From 9-30: 10-08, 10-09, 10-10, 10-12, 10-13.
    assert workdays.add_workdays(session, at("2026-09-30 09:00"), 5).due_day == date(2026, 10, 13)
    assert workdays.year_status(session, 2026) == "library"


def test_a_count_past_the_librarys_last_year_does_not_crash(session) -> None:  # noqa: ANN001
    last = workdays.covered_years()[-1]
    deadline = workdays.add_workdays(session, at(f"{last}-12-24 10:00"), 10)
    assert deadline.provisional and deadline.uncovered_years == (last + 1,)
    assert deadline.due_day.year == last + 1
    assert workdays.year_status(session, last + 1) == "uncovered"


# --- a year nobody has published yet ----------------------------------------------------------------

def test_count_into_2027_is_provisional_and_uses_weekends_only(session, library_ends_2026) -> None:  # noqa: ANN001
    # From Thursday 2026-12-24: 12-25, 12-28..12-31 (five), then 2027-01-01 (a Friday, counted by the
    # weekday rule), 01-04..01-07.
    deadline = workdays.add_workdays(session, at("2026-12-24 10:00"), 10)
    assert deadline.due_day == date(2027, 1, 7)
    assert deadline.provisional and deadline.uncovered_years == (2027,)
    assert workdays.year_status(session, 2027) == "uncovered"
    assert workdays.uncovered_years_ahead(session, date(2026, 11, 20)) == [2027]
    assert workdays.uncovered_years_ahead(session, date(2026, 11, 20), years=0) == []
    # A count that ends before 31 December is not provisional.
    assert not workdays.add_workdays(session, at("2026-12-24 10:00"), 5).provisional


def test_admins_2027_schedule_makes_the_count_final(session, province_admin, library_ends_2026) -> None:  # noqa: ANN001
    confirmed = workdays.enter_schedule(session, province_admin, 2027, HOLIDAYS_2027 + [
        (date(2027, 2, 6), "春节"), (date(2027, 2, 8), "春节")], [(date(2027, 2, 20), "春节")])
    assert (confirmed.year, confirmed.source, confirmed.confirmed_by_id) == (2027, "admin", province_admin.id)

    deadline = workdays.add_workdays(session, at("2026-12-24 10:00"), 10)
    assert deadline.due_day == date(2027, 1, 8)  # 01-01 is now a holiday
    assert not deadline.provisional and deadline.uncovered_years == ()
    assert not workdays.is_workday(session, date(2027, 2, 8))
    assert workdays.is_workday(session, date(2027, 2, 20))  # the Saturday entered as worked
    assert workdays.is_workday(session, date(2027, 3, 1))  # any other Monday
    assert workdays.year_status(session, 2027) == "admin"
    assert workdays.uncovered_years_ahead(session, date(2026, 11, 20)) == []
    assert [(d.day, d.kind, d.name) for d in workdays.entered_days(session, 2027)] == [
        (date(2027, 1, 1), "holiday", "元旦"), (date(2027, 2, 6), "holiday", "春节"),
        (date(2027, 2, 8), "holiday", "春节"), (date(2027, 2, 20), "workday", "春节")]

    [event] = session.scalars(select(AccessEvent).where(AccessEvent.kind == "calendar_entered"))
    assert event.actor_id == province_admin.id and event.kind_label == "录入节假日安排"
    assert "2027 年" in event.summary and "放假 3 天" in event.summary and "调休上班 1 天" in event.summary
    assert event.data["holidays"][0] == ["2027-01-01", "元旦"] and event.data["replaced"] == 0


def test_entering_a_year_again_replaces_its_schedule(session, province_admin, library_ends_2026) -> None:  # noqa: ANN001
    workdays.enter_schedule(session, province_admin, 2027, HOLIDAYS_2027 + [(date(2027, 1, 4), "元旦")], [])
    workdays.enter_schedule(session, province_admin, 2027, HOLIDAYS_2027, [])
    assert [d.day for d in workdays.entered_days(session, 2027)] == [date(2027, 1, 1)]
    assert workdays.is_workday(session, date(2027, 1, 4))
    last = session.scalars(select(AccessEvent).where(AccessEvent.kind == "calendar_entered")
                           .order_by(AccessEvent.id.desc())).first()
    assert last.data["replaced"] == 2 and "替换此前录入的 2 天" in last.summary


def test_an_entered_schedule_overrides_the_library(session, province_admin) -> None:  # noqa: ANN001
    # A correction of 2025: National Day entered as 10-01..10-03 only, no make-up days.
    workdays.enter_schedule(session, province_admin, 2025, [
        (date(2025, 10, 1), "国庆节"), (date(2025, 10, 2), "国庆节"), (date(2025, 10, 3), "国庆节")], [])
    assert workdays.year_status(session, 2025) == "admin"
    assert workdays.is_workday(session, date(2025, 10, 8))
    assert not workdays.is_workday(session, date(2025, 10, 11))
    assert workdays.is_workday(session, date(2026, 10, 10))  # other years keep the library


# --- who may enter, and what is refused -------------------------------------------------------------

@pytest.mark.parametrize("who", [("长春市", "supervision", "admin"), ("吉林省", "supervision", "supervisor"),
                                 ("吉林省", "supervision", "auditor"), ("榆树市", "housing", "officer")])
def test_only_the_provinces_administrator_enters_a_schedule(session, people, who) -> None:  # noqa: ANN001
    actor = people.user(*who)
    with pytest.raises(Forbidden):
        workdays.enter_schedule(session, actor, 2027, HOLIDAYS_2027, [])
    assert nothing_written(session)


@pytest.mark.parametrize(("year", "holidays", "workdays_", "field"), [
    (2027, [(date(2028, 1, 1), "元旦")], [], "holidays[0].date"),
    (2027, HOLIDAYS_2027, [(date(2027, 1, 1), "元旦")], "workdays[0].date"),
    (2027, HOLIDAYS_2027 + [(date(2027, 1, 1), "元旦")], [], "holidays[1].date"),
    (2027, [(date(2027, 1, 1), "元\x00旦")], [], "holidays[0].name"),
    (2027, [(date(2027, 1, 1), "  ")], [], "holidays[0].name"),
    (2027, [(date(2027, 1, 1), "元" * 10_000_000)], [], "holidays[0].name"),
    (2027, [(date(2027, 1, 1), "元\ud800旦")], [], "holidays[0].name"),
    (2027, [], [(date(2027, 2, 17), "春节")], "workdays[0].date"),  # a Wednesday
    (2027, [("2027-13-01", "元旦")], [], "holidays[0].date"),
    (2027, [(date(2027, 1, 1),)], [], "holidays[0]"),
    (2027, "2027-01-01", [], "holidays"),
    (2027, [(date(2027, 1, 1), "元旦")] * 400, [], "holidays"),
    (10**30, HOLIDAYS_2027, [], "year"),
    (float("nan"), HOLIDAYS_2027, [], "year"),
    ("2027年", HOLIDAYS_2027, [], "year"),
    (True, HOLIDAYS_2027, [], "year"),
])
def test_bad_schedule_is_refused_naming_the_field(session, province_admin, year, holidays, workdays_,  # noqa: ANN001
                                                  field) -> None:
    with pytest.raises(Invalid) as refused:
        workdays.enter_schedule(session, province_admin, year, holidays, workdays_)
    assert list(refused.value.errors) == [field], refused.value.errors
    assert len(refused.value.message) < 200
    assert nothing_written(session)


@pytest.mark.parametrize("n", [0, -1, 10**30, True, 2.5, float("inf"), "五", None])
def test_bad_working_day_counts_are_refused(session, n) -> None:  # noqa: ANN001
    with pytest.raises(Invalid) as refused:
        workdays.add_workdays(session, at("2025-09-29 10:00"), n)
    assert list(refused.value.errors) == ["working_days"]


def test_naive_start_is_a_programming_error(session) -> None:  # noqa: ANN001
    from datetime import datetime
    with pytest.raises(ValueError, match="naive"):
        workdays.add_workdays(session, datetime(2025, 9, 29, 10), 5)


# --- cost -----------------------------------------------------------------------------------------

def test_a_count_costs_one_statement_however_long(engine, session, province_admin, library_ends_2026) -> None:  # noqa: ANN001
    workdays.enter_schedule(session, province_admin, 2027, HOLIDAYS_2027, [])
    session.commit()
    counter = Counter(engine)
    for n in (1, 5, 60, 400, 2000):
        workdays.forget_entries()
        with counter:
            deadline = workdays.add_workdays(session, at("2026-12-24 10:00"), n)
        assert len(counter.statements) == 1, (n, counter.statements)
        with counter:  # the entries just read are this process's copy now
            again = workdays.add_workdays(session, at("2026-12-24 10:00"), n)
        assert counter.statements == [] and again == deadline
        session.rollback()
    assert deadline.due_day.year >= 2034 and deadline.provisional  # past 2027 nobody has entered anything
    workdays.forget_entries()
    with counter:
        workdays.is_workday(session, date(2027, 1, 1))
    assert len(counter.statements) == 1


def test_a_schedule_entered_counts_at_once_here_and_within_the_cache_time_elsewhere(
        engine, session, province_admin, library_ends_2026, monkeypatch) -> None:  # noqa: ANN001
    """This process drops its copy when the entry commits; another process (here: another engine on the
    same database) keeps its copy at most CACHE_SECONDS."""
    start = at("2027-09-29 10:00")
    before = workdays.add_workdays(session, start, 3)  # 2027 not covered: weekdays only
    session.rollback()
    other = db.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with Session(other) as elsewhere:
            assert workdays.add_workdays(elsewhere, start, 3) == before
        national_day = [(date(2027, 10, d), "国庆节") for d in range(1, 8)]
        workdays.enter_schedule(session, province_admin, 2027, national_day, [])
        session.commit()
        here = workdays.add_workdays(session, start, 3)
        assert here.due_at > before.due_at and not here.provisional  # the National Day week is off
        with Session(other) as elsewhere:
            assert workdays.add_workdays(elsewhere, start, 3) == before  # still its copy
        later = workdays.monotonic() + workdays.CACHE_SECONDS + 1
        monkeypatch.setattr(workdays, "monotonic", lambda: later)
        with Session(other) as elsewhere:
            assert workdays.add_workdays(elsewhere, start, 3) == here
    finally:
        other.dispose()
