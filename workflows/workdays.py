"""Working days in China: statutory holidays and the make-up working days (调休) around them.

Which rule decides a day, first match wins:
1. an administrator's entry for that day (calendar_days: 放假 or 调休上班);
2. a year whose whole schedule an administrator has entered (calendar_years, source "admin"): its
   other days follow the weekday (Monday–Friday work, weekends rest);
3. a year the `chinese-calendar` library covers: the library (it knows both the holidays and the
   make-up days of the years the State Council has published);
4. otherwise the year is *uncovered*: weekdays only, and every deadline that counts such a day is
   provisional until an administrator enters that year's schedule.

The library raises NotImplementedError for a year it does not know (2027 while the State Council has
not published it), also in the middle of a count that crosses 31 December: that is caught per year,
so nothing here raises for a date past the library's range. The library is pure, so its answers are
cached per process, one year at a time; administrators' entries are read with one range query for
the years a count needs, never one per day, and kept per process for a minute (see `_load`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from threading import Lock
from time import monotonic
from typing import Any
from weakref import WeakKeyDictionary

import chinese_calendar
from sqlalchemy import Date, Engine, Integer, cast, delete, event, insert, null, select, text, union_all
from sqlalchemy.orm import Session

from models import CalendarDay, CalendarYear, User

from . import inputs, permissions
from .auth import log
from .engine import clock
from .engine.evaluator import CHINA
from .errors import Forbidden
from .transactions import mutation

# A count of working days: an SLA or a policy period; 2,500 is about ten years.
MAX_WORKDAYS = 2500
# Entries of one list (holidays or make-up days) in a year: no more than its days.
MAX_ENTRIES = 366
NAME_MAX = 50
MAX_YEARS_AHEAD = 10
_END_OF_DAY = time(23, 59, 59)
_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class Deadline:
    """When n working days after a moment end: the end of the last of them, 23:59:59 China time.

    `provisional`: some day counted lies in a year that neither the library nor an administrator's
    schedule covers, so weekends-only rules were used there (`uncovered_years` names those years)."""

    due_at: datetime
    provisional: bool
    uncovered_years: tuple[int, ...] = ()

    @property
    def due_day(self) -> date:
        """The due date as people in China read it."""
        return self.due_at.astimezone(CHINA).date()


# ---------------------------------------------------------------------------------------------
# The library, asked once per year and process


@cache
def covered_years() -> range:
    """The years the installed calendar library knows, found by asking it (not written down here),
    once per process. Empty if it knows none."""
    known = [year for year in range(inputs.MIN_YEAR, inputs.MAX_YEAR + 1) if _library_knows(year)]
    return range(min(known), max(known) + 1) if known else range(0)


def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@cache
def _library_rest_days(year: int) -> frozenset[date] | None:
    """The days of `year` the library says nobody works (weekends not worked and holidays), or None
    when the library does not cover the year."""
    if not _library_knows(year):
        return None
    first = date(year, 1, 1)
    days = (first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days))
    return frozenset(day for day in days if not chinese_calendar.is_workday(day))


# ---------------------------------------------------------------------------------------------
# Administrators' entries


@dataclass
class _Entries:
    """Administrators' entries for a span of days, and the years in it they have confirmed."""

    kinds: dict[date, str]
    admin_years: set[int]

    def merge(self, other: _Entries) -> None:
        self.kinds.update(other.kinds)
        self.admin_years |= other.admin_years


# Administrators' entries change a few times a year, and only through `enter_schedule`, while every task
# opened reads them for its SLA: each process keeps them per database and year. The process that enters
# a schedule drops its copy when that commits; another process (a worker beside the web app) keeps its
# copy at most CACHE_SECONDS, so a schedule entered there counts everywhere within that time.
CACHE_SECONDS = 60.0
_cached: WeakKeyDictionary[Engine, dict[int, tuple[float, _Entries]]] = WeakKeyDictionary()
_cache_lock = Lock()


def forget_entries(engine: Engine | None = None) -> None:
    """Drop this process's copy of administrators' entries (of one database, or of all)."""
    with _cache_lock:
        if engine is None:
            _cached.clear()
        else:
            _cached.pop(engine, None)


def _query(session: Session, first: date, last: date) -> _Entries:
    """One statement for the span: the entered days and the confirmed years, as one UNION ALL (each
    half a range query on a unique index)."""
    days = (select(CalendarDay.day, CalendarDay.kind, cast(null(), Integer).label("year"))
            .where(CalendarDay.day.between(first, last)))
    years = (select(cast(null(), Date), CalendarYear.source, CalendarYear.year)
             .where(CalendarYear.year.between(first.year, last.year), CalendarYear.source == "admin"))
    entries = _Entries({}, set())
    for day, kind, year in session.execute(union_all(days, years)):
        if year is not None:
            entries.admin_years.add(year)
        else:
            entries.kinds[day] = kind
    return entries


def _load(session: Session, first: date, last: date) -> _Entries:
    """The entries of the whole years from `first` to `last`: from this process's copy while it is
    fresh, otherwise with one statement for the years missing, so a count costs at most one round trip
    however long it is, and usually none."""
    engine = session.get_bind().engine
    moment = monotonic()
    with _cache_lock:
        per_year = _cached.setdefault(engine, {})
        have: dict[int, _Entries] = {}
        for year in range(first.year, last.year + 1):
            hit = per_year.get(year)
            if hit is not None and moment - hit[0] < CACHE_SECONDS:
                have[year] = hit[1]
    missing = [year for year in range(first.year, last.year + 1) if year not in have]
    if missing:
        fetched = _query(session, date(missing[0], 1, 1), date(missing[-1], 12, 31))
        for year in missing:
            have[year] = _Entries({day: kind for day, kind in fetched.kinds.items() if day.year == year},
                                  {year} & fetched.admin_years)
        with _cache_lock:
            _cached.setdefault(engine, {}).update((year, (moment, have[year])) for year in missing)
    entries = _Entries({}, set())
    for year_entries in have.values():
        entries.merge(year_entries)
    return entries


def _works(day: date, entries: _Entries) -> tuple[bool, bool]:
    """(whether `day` is a working day, whether that answer is provisional)."""
    kind = entries.kinds.get(day)
    if kind is not None:
        return kind == "workday", False
    if day.year in entries.admin_years:
        return day.weekday() < 5, False
    rest = _library_rest_days(day.year)
    if rest is not None:
        return day not in rest, False
    return day.weekday() < 5, True


class _Calendar:
    """The calendar as a walk over many days reads it: administrators' entries per year, fetched when
    the walk first reaches a year (from this process's copy, see `_load`), optionally for a whole span
    up front with one statement."""

    def __init__(self, session: Session, first: date | None = None, last: date | None = None) -> None:
        self._session = session
        self._years: dict[int, _Entries] = {}
        if first is not None and last is not None and first <= last:
            span = _load(session, date(first.year, 1, 1), date(last.year, 12, 31))
            for year in range(first.year, last.year + 1):
                self._years[year] = span

    def works(self, day: date) -> tuple[bool, bool]:
        entries = self._years.get(day.year)
        if entries is None:
            entries = self._years[day.year] = _load(self._session, date(day.year, 1, 1), date(day.year, 12, 31))
        return _works(day, entries)


# ---------------------------------------------------------------------------------------------
# Reading the calendar


def _china_day(value: Any, *, field: str, label: str) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware datetime (UTC or +08:00)")
        value = value.astimezone(CHINA).date()
    return inputs.sane_date(value, field=field, label=label)


def is_workday(session: Session, day: date) -> bool:
    """Whether people work on `day` (an aware datetime counts as its date in China). For anyone; reads
    one statement."""
    day = _china_day(day, field="day", label="日期")
    works, _ = _Calendar(session).works(day)
    return works


def add_workdays(session: Session, start: datetime, n: int) -> Deadline:
    """The end of the n-th working day after `start` (aware): counting starts the next day, as
    Chinese practice does, and the due moment is 23:59:59 China time, returned aware in UTC.

    For anyone; reads administrators' entries with one statement for the span a count of n normally
    needs (more only if entered holidays stretch the count beyond it), never one per day.
    """
    (deadline,) = add_workdays_each(session, start, [n]).values()
    return deadline


def add_workdays_each(session: Session, start: datetime, counts: Iterable[int]) -> dict[int, Deadline]:
    """`add_workdays` for several counts from the same moment (the SLAs of tasks opened together), in
    one pass over the days and so with the one statement the longest count needs. For anyone."""
    if not isinstance(start, datetime):
        raise TypeError("start must be an aware datetime")
    first = _china_day(start, field="start", label="起算时间") + timedelta(days=1)
    wanted = sorted({int(inputs.finite_number(n, field="working_days", label="工作日数", integer=True,
                                              minimum=1, maximum=MAX_WORKDAYS)) for n in counts})
    if not wanted:
        return {}
    # Five working days in seven, and a week-long holiday or two on top, fit well inside this span.
    calendar = _Calendar(session, first, first + timedelta(days=wanted[-1] * 3 // 2 + 30))
    day, counted, uncovered = first - timedelta(days=1), 0, set()
    out: dict[int, Deadline] = {}
    for n in wanted:
        while counted < n:
            day += timedelta(days=1)
            works, provisional = calendar.works(day)
            if works:
                counted += 1
            if provisional:
                uncovered.add(day.year)
        due = datetime.combine(day, _END_OF_DAY, CHINA).astimezone(UTC)
        out[n] = Deadline(due, bool(uncovered), tuple(sorted(uncovered)))
    return out


def workdays_between(session: Session, after: date, through: date) -> tuple[int, tuple[int, ...]]:
    """How many working days lie after `after` up to and including `through` (0 when `through` is not
    later), and the years among them nobody covers (the count is provisional there), as
    `add_workdays` would count them. For anyone; one statement for the span."""
    if through <= after:
        return 0, ()
    calendar = _Calendar(session, after + timedelta(days=1), through)
    counted, uncovered = 0, set()
    for offset in range(1, (through - after).days + 1):
        works, provisional = calendar.works(after + timedelta(days=offset))
        counted += works
        if provisional:
            uncovered.add((after + timedelta(days=offset)).year)
    return counted, tuple(sorted(uncovered))


class _DaysBack:
    """The working days before a day, nearest first, found as far back as asked and remembered."""

    _FLOOR = date(inputs.MIN_YEAR, 1, 1)

    def __init__(self, calendar: _Calendar, before: date) -> None:
        self._calendar = calendar
        self._cursor = before  # every day from here up to `before` (excluded) has been looked at
        self.days: list[tuple[date, bool]] = []  # (working day, provisional)

    def count(self, n: int) -> bool:
        """Find at least n working days; False if the calendar's range ends first."""
        while len(self.days) < n and self._cursor > self._FLOOR:
            self._step()
        return len(self.days) >= n

    def reach(self, day: date) -> None:
        """Look at every day back to `day` (inclusive)."""
        while self._cursor > max(day, self._FLOOR):
            self._step()

    def _step(self) -> None:
        self._cursor -= timedelta(days=1)
        works, provisional = self._calendar.works(self._cursor)
        if works:
            self.days.append((self._cursor, provisional))


class WorkdaysBack:
    """Working days counted backwards from a moment: how many whole working days lie between a past
    deadline and `now`, and the cutoff a deadline must fall before to be N working days overdue.

    A working day counts once it is over, so the counting runs from yesterday (China time) back. One
    object serves a whole worker pass: the calendar is read per year as the walk reaches it, so a pass
    costs a statement or two however many tasks it counts for, and none while this process's copy of
    the calendar is fresh. For anyone.
    """

    def __init__(self, session: Session, now: datetime) -> None:
        self._today = _china_day(now, field="now", label="当前时间")
        self._back = _DaysBack(_Calendar(session), self._today)

    def cutoff(self, n: int) -> datetime:
        """The moment a deadline must be before to be at least `n` working days overdue: the start
        (China time, returned in UTC) of the n-th working day before today. A deadline on that day
        itself has only n - 1 whole working days after it."""
        n = int(inputs.finite_number(n, field="working_days", label="工作日数", integer=True, minimum=1,
                                     maximum=MAX_WORKDAYS))
        day = self._back.days[n - 1][0] if self._back.count(n) else _DaysBack._FLOOR
        return datetime.combine(day, time.min, CHINA).astimezone(UTC)

    def overdue(self, deadline: datetime) -> int:
        """Whole working days between `deadline` (aware) and now: those after its day, up to yesterday."""
        due_day = _china_day(deadline, field="deadline", label="办理时限")
        if due_day >= self._today:
            return 0
        self._back.reach(due_day + timedelta(days=1))
        # The days run backwards: count those later than the deadline's.
        worked = self._back.days
        low, high = 0, len(worked)
        while low < high:
            mid = (low + high) // 2
            if worked[mid][0] > due_day:
                low = mid + 1
            else:
                high = mid
        return low


def _year(value: Any, field: str = "year") -> int:
    return int(inputs.finite_number(value, field=field, label="年份", integer=True,
                                    minimum=inputs.MIN_YEAR, maximum=inputs.MAX_YEAR))


def _admin_years(session: Session, first: int, last: int) -> set[int]:
    return set(session.scalars(select(CalendarYear.year).where(CalendarYear.year.between(first, last),
                                                               CalendarYear.source == "admin")))


def year_status(session: Session, year: int) -> str:
    """Who decides `year`'s working days: "admin" (an administrator entered its schedule, which takes
    precedence), "library", or "uncovered" (weekends only; deadlines in it are provisional). For anyone."""
    year = _year(year)
    if _admin_years(session, year, year):
        return "admin"
    return "library" if year in covered_years() else "uncovered"


def uncovered_years_ahead(session: Session, today: date, years: int = 1) -> list[int]:
    """The years from `today`'s through `years` later whose schedule nobody covers: what the supervisor
    dashboard flags so that an administrator enters it before deadlines fall there. For anyone."""
    today = _china_day(today, field="today", label="日期")
    years = int(inputs.finite_number(years, field="years", label="年数", integer=True, minimum=0,
                                     maximum=MAX_YEARS_AHEAD))
    span = range(today.year, today.year + years + 1)
    confirmed = _admin_years(session, span.start, span.stop - 1)
    return [year for year in span if year not in confirmed and year not in covered_years()]


def entered_days(session: Session, year: int) -> list[CalendarDay]:
    """An administrator's entries for `year`, by date (empty where the library decides). For anyone."""
    year = _year(year)
    return list(session.scalars(select(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1),
                                                                                  date(year, 12, 31)))
                                .order_by(CalendarDay.day)))


# ---------------------------------------------------------------------------------------------
# Entering a year's schedule


def _entry_list(value: Any, year: int, *, field: str, label: str) -> list[tuple[date, str]]:
    if not isinstance(value, list | tuple):
        inputs.refuse(field, label, "应为（日期, 名称）的列表")
    if len(value) > MAX_ENTRIES:
        inputs.refuse(field, label, f"不能超过 {MAX_ENTRIES} 项")
    out: list[tuple[date, str]] = []
    seen: dict[date, int] = {}
    for i, item in enumerate(value):
        where, what = f"{field}[{i}]", f"{label}第 {i + 1} 项"
        if not isinstance(item, list | tuple) or len(item) != 2:
            inputs.refuse(where, what, "应为（日期, 名称）")
        day = inputs.sane_date(item[0], field=f"{where}.date", label=f"{what}日期")
        if day.year != year:
            inputs.refuse(f"{where}.date", f"{what}日期", f"{day.isoformat()} 不在 {year} 年内")
        if day in seen:
            inputs.refuse(f"{where}.date", f"{what}日期", f"{day.isoformat()} 与第 {seen[day] + 1} 项重复")
        seen[day] = i
        name = inputs.clean_text(item[1], field=f"{where}.name", label=f"{what}名称", max_length=NAME_MAX)
        if not name:
            inputs.refuse(f"{where}.name", f"{what}名称", "必填（如“国庆节”）")
        out.append((day, name))
    return out


def _schedule(year: int, holidays: Any, workdays: Any) -> list[tuple[date, str, str]]:
    """The entries as (day, kind, name), or Invalid naming the first bad field."""
    off = _entry_list(holidays, year, field="holidays", label="放假日期")
    on = _entry_list(workdays, year, field="workdays", label="调休上班日期")
    holiday_index = {day: i for i, (day, _) in enumerate(off)}
    for i, (day, _) in enumerate(on):
        where, what = f"workdays[{i}].date", f"调休上班日期第 {i + 1} 项日期"
        if day in holiday_index:
            inputs.refuse(where, what, f"{day.isoformat()} 已列为放假日期第 {holiday_index[day] + 1} 项，"
                          "不能同时为上班日")
        if day.weekday() < 5:
            # A weekday is worked anyway: listing one is almost certainly a slip of the date.
            inputs.refuse(where, what, f"{day.isoformat()} 是周{_WEEKDAYS[day.weekday()]}，调休上班日应为周六或周日")
    return [(day, "holiday", name) for day, name in off] + [(day, "workday", name) for day, name in on]


@mutation
def enter_schedule(session: Session, actor: User, year: int, holidays: list[tuple[date, str]],
                   workdays: list[tuple[date, str]]) -> CalendarYear:
    """Enter `year`'s published schedule: the holidays (dates off, with the holiday's name) and the
    make-up working days (weekend dates worked, named after the holiday they make up for). Replaces
    whatever was entered for that year before, marks the year confirmed (its deadlines stop being
    provisional; for a year the library covers, the entry overrides the library), and writes
    `calendar_entered` to the access log.

    Permission: administrators of the province (the schedule applies to every case in it). Input is
    checked whole before anything is written: a date outside the year, a date given twice or as both
    holiday and working day, a working day on a weekday, a bad name → Invalid naming the field.
    """
    permissions.require_admin(actor, "录入节假日安排")
    if permissions.jurisdiction(actor).level != "province":
        raise Forbidden("节假日安排适用于全省，只有省级系统管理员可以录入")
    year = _year(year)
    schedule = _schedule(year, holidays, workdays)
    if session.get_bind().dialect.name == "postgresql":
        # Two administrators entering the same year at once: one after the other, the later one wins
        # whole (SQLite's write lock already serializes the transaction).
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('huiqian.calendar'))"))
    now = clock.now()
    replaced = session.execute(delete(CalendarDay).where(
        CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))).rowcount
    if schedule:
        session.execute(insert(CalendarDay), [
            {"day": day, "kind": kind, "name": name, "entered_by_id": actor.id, "entered_at": now}
            for day, kind, name in schedule])
    confirmed = session.scalar(select(CalendarYear).where(CalendarYear.year == year))
    if confirmed is None:
        confirmed = CalendarYear(year=year)
        session.add(confirmed)
    confirmed.source, confirmed.confirmed_by_id, confirmed.confirmed_at = "admin", actor.id, now
    off = [[day.isoformat(), name] for day, kind, name in schedule if kind == "holiday"]
    on = [[day.isoformat(), name] for day, kind, name in schedule if kind == "workday"]
    # Dropped once this commits (not before: a count in between would cache the old schedule again).
    event.listen(session, "after_commit", lambda _s: forget_entries(session.get_bind().engine), once=True)
    log(session, "calendar_entered",
        f"{actor.display_name} 录入 {year} 年节假日安排：放假 {len(off)} 天，调休上班 {len(on)} 天"
        + (f"（替换此前录入的 {replaced} 天）" if replaced else ""),
        actor=actor, at=now, data={"year": year, "holidays": off, "workdays": on, "replaced": replaced})
    return confirmed


# ---------------------------------------------------------------------------------------------
# The administrators' page

YEARS_LISTED = 4


@dataclass(frozen=True)
class SchedulePage:
    """A year's schedule as the administrators' page shows it: the status (`year_status`) of the years
    around today,
    the chosen year's entries, and whether the reader may enter a schedule (province administrators)."""

    year: int
    statuses: dict[int, str]
    entries: list[CalendarDay]
    may_enter: bool

    @property
    def holidays(self) -> list[CalendarDay]:
        return [e for e in self.entries if e.kind == "holiday"]

    @property
    def workdays(self) -> list[CalendarDay]:
        return [e for e in self.entries if e.kind == "workday"]


def schedule_page(session: Session, actor: User, year: Any, *, today: date | None = None) -> SchedulePage:
    """The calendar page: the statuses of the years from last year through YEARS_LISTED - 2 ahead (and
    `year` if outside them), with `year`'s entries. Permission: administrators (Forbidden otherwise);
    `may_enter` for those of the province. Invalid on a `year` outside 1900–2100. Reads only."""
    permissions.require_admin(actor, "查看节假日安排")
    year = _year(year)
    today = today or clock.now().astimezone(CHINA).date()
    years = sorted({*range(today.year - 1, today.year + YEARS_LISTED - 1), year})
    confirmed = _admin_years(session, years[0], years[-1])
    statuses = {y: "admin" if y in confirmed else ("library" if y in covered_years() else "uncovered")
                for y in years}
    return SchedulePage(year, statuses, entered_days(session, year),
                        permissions.jurisdiction(actor).level == "province")


# ---------------------------------------------------------------------------------------------
# Counting back from a deadline (倒排工期)


@dataclass(frozen=True)
class LatestStart:
    """The last day a step may begin and still finish n working days before a deadline: counting
    starts the day after a step opens (as add_workdays counts), so a step opened on `day` and given
    its n working days is done by the deadline. `provisional` as for Deadline."""

    day: date
    provisional: bool
    uncovered_years: tuple[int, ...] = ()

    @property
    def at(self) -> datetime:
        """The end of that day (23:59:59 China time), aware in UTC: later than this is too late."""
        return datetime.combine(self.day, _END_OF_DAY, CHINA).astimezone(UTC)


class Backward:
    """Working days counted back from deadlines, for many steps of many cases: reads administrators'
    entries with one statement for the span given (more only when a count reaches before it), and
    remembers, per deadline, the working days before it so each count is a lookup."""

    def __init__(self, session: Session, first: date, last: date) -> None:
        self._calendar = _Calendar(session, first, last)
        self._found: dict[date, _DaysBack] = {}

    def latest_start(self, deadline: date, n: int) -> LatestStart:
        """The day before the n-th working day counted back from `deadline` (itself included when it
        is a working day); `deadline` itself when n is 0."""
        n = int(inputs.finite_number(n, field="working_days", label="工作日数", integer=True, minimum=0,
                                     maximum=MAX_WORKDAYS))
        if n == 0:
            return LatestStart(deadline, False)
        back = self._found.get(deadline)
        if back is None:
            back = self._found[deadline] = _DaysBack(self._calendar, deadline + timedelta(days=1))
        if not back.count(n):
            raise ValueError(f"fewer than {n} working days before {deadline}")
        worked = back.days[:n]
        uncovered = tuple(sorted({day.year for day, provisional in worked if provisional}))
        return LatestStart(worked[-1][0] - timedelta(days=1), bool(uncovered), uncovered)
