"""The month goal: how many different people I reached this month, and the streak of months met."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ..config import Settings
from ..store.ledger import Ledger
from ..store.timestamps import iso, parse_iso


@dataclass(frozen=True, slots=True)
class MonthGoal:
    month: str
    people: int
    goal: int

    @property
    def met(self) -> bool:
        return self.goal > 0 and self.people >= self.goal


def month_goal(ledger: Ledger, settings: Settings, now: datetime) -> MonthGoal:
    local = now.astimezone(settings.me.zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    n = ledger.people_reached_between(start, now)
    return MonthGoal(f"{local:%B %Y}", n, settings.goals.people_per_month)


# What counts towards the goal: reaching out (a note sent, a meeting held), not mail received.
_GOAL_CHANNELS = ("sent", "met")


def _month_of(at: str, zone: ZoneInfo) -> tuple[int, int]:
    local = parse_iso(at).astimezone(zone)
    return local.year, local.month


def _month_start(month: tuple[int, int], zone: ZoneInfo) -> str:
    """The first instant of ``month`` in ``zone``, as ledger text (string order is time order)."""
    return iso(datetime(month[0], month[1], 1, tzinfo=zone))


def _month_before(month: tuple[int, int]) -> tuple[int, int]:
    year, m = month
    return (year - 1, 12) if m == 1 else (year, m - 1)


def _people_by_month(ledger: Ledger, zone: ZoneInfo, now: datetime) -> Iterator[tuple[tuple[int, int], set[int]]]:
    """(month, distinct people) in the user's zone, newest month first, read lazily.

    Months are cut in the user's zone, so a note sent at 23:30 on 31 May in Berlin counts for May.
    Lazy so that a streak ending last month reads one month of interactions, not the whole history.
    Rows come newest first, so a timestamp is converted only when it falls before the current
    month's first instant: a text comparison per row instead of a zone conversion (a million
    interactions: 3.9 s to 0.4 s for the streak, benchmarks/core.py's ledger).
    """
    rows = ledger.contacts_newest_first(_GOAL_CHANNELS, now)
    month: tuple[int, int] | None = None
    starts = ""  # ``month``'s first instant: anything at or after it is in ``month``
    people: set[int] = set()
    for person_id, at in rows:
        if at < starts or month is None:
            if month is not None:
                yield month, people
            month, people = _month_of(at, zone), set()
            starts = _month_start(month, zone)
        people.add(person_id)
    if month is not None:
        yield month, people


def goal_streak(ledger: Ledger, settings: Settings, now: datetime) -> int:
    """Consecutive months that met ``[goals] people_per_month``, ending with last month,
    plus this month once it has met the goal (a month still under way cannot break a streak)."""
    goal = settings.goals.people_per_month
    if goal <= 0:
        return 0  # no goal set: every month would "meet" it
    zone = settings.me.zone
    this_month = _month_of(iso(now), zone)
    expected = _month_before(this_month)
    streak, this_month_met = 0, False
    for month, people in _people_by_month(ledger, zone, now):
        if month == this_month:
            this_month_met = len(people) >= goal
            continue
        if month != expected or len(people) < goal:
            break  # a month with no contact at all, or too few people
        streak += 1
        expected = _month_before(month)
    return streak + this_month_met


def goal_line(goal: MonthGoal, streak: int) -> str:
    """The goal and the streak in words, as ``status`` and the weekly digest print them."""
    who = "1 person" if goal.people == 1 else f"{goal.people} different people"
    line = f"{goal.month}: in touch with {who} (goal {goal.goal})"
    if goal.goal <= 0:
        return line + "."
    if streak == 0:
        return line + "; no streak yet."
    return line + f"; streak: {streak} month{'s' if streak != 1 else ''} in a row."
