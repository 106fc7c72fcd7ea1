"""The monthly goal and its streak: distinct people reached out to, month by month in the user's zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from circleback.daemon.config import Settings
from circleback.daemon.core.goals import goal_line, goal_streak, month_goal
from circleback.daemon.store.ledger import Interaction, Ledger

# Mid-June in Berlin; the ledger below spans January to June.
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def settings(goal: int = 2) -> Settings:
    return Settings.model_validate(
        {
            "me": {"name": "Me", "addresses": ["me@example.org"], "timezone": "Europe/Berlin"},
            "goals": {"people_per_month": goal},
        }
    )


def at(month: int, day: int = 10, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.ledger = Ledger.memory()
        self.n = 0

    def touch(self, who: str, when: datetime, channel: str = "sent") -> None:
        self.n += 1
        with self.ledger.transaction():
            pid = self.ledger.person_for_address(f"{who}@x.example", who.title())
            self.ledger.add_interactions("home", f"m{self.n}", [Interaction(pid, channel, when)])


@pytest.fixture
def world() -> World:
    w = World()
    w.touch("ana", at(1))
    w.touch("bo", at(1), "met")
    # February: nobody. March to May: two different people each (a meeting counts like a note).
    for month in (3, 4, 5):
        w.touch("ana", at(month))
        w.touch("cy", at(month, 20), "met")
    w.touch("ana", at(6))  # June so far: one person
    return w


def test_the_streak_counts_back_from_last_month_and_stops_at_a_gap(world: World) -> None:
    # March, April, May met the goal; February had no contact at all, so January does not count.
    assert goal_streak(world.ledger, settings(), NOW) == 3


def test_this_month_joins_the_streak_once_the_goal_is_met(world: World) -> None:
    world.touch("dee", at(6, 14))
    assert month_goal(world.ledger, settings(), NOW).met
    assert goal_streak(world.ledger, settings(), NOW) == 4


def test_a_month_still_under_way_does_not_break_the_streak(world: World) -> None:
    assert not month_goal(world.ledger, settings(), NOW).met
    assert goal_streak(world.ledger, settings(), NOW) == 3


def test_one_person_many_times_is_one_person(world: World) -> None:
    for day in (2, 3, 4, 5):
        world.touch("ana", at(2, day))
    # February now has contact, but with a single person: still below the goal of two.
    assert goal_streak(world.ledger, settings(), NOW) == 3
    world.touch("bo", at(2, 6))
    assert goal_streak(world.ledger, settings(), NOW) == 5  # January to May


def test_mail_received_does_not_count_towards_the_goal(world: World) -> None:
    world.touch("eve", at(6, 12), "received")
    world.touch("fay", at(6, 13), "received")
    assert month_goal(world.ledger, settings(), NOW).people == 1
    assert goal_streak(world.ledger, settings(), NOW) == 3


def test_months_are_cut_in_the_users_zone() -> None:
    w = World()
    w.touch("ana", at(4))
    w.touch("bo", at(4))
    w.touch("ana", at(5))
    # 22:30 UTC on 30 April is 00:30 on 1 May in Berlin: it counts for May.
    w.touch("bo", at(4, 30, 22, 30))
    assert goal_streak(w.ledger, settings(), NOW) == 2
    utc = settings().model_copy(update={"me": settings().me.model_copy(update={"timezone": "UTC"})})
    assert goal_streak(w.ledger, utc, NOW) == 0  # in UTC, May had one person only


def test_a_future_meeting_is_not_contact_yet(world: World) -> None:
    world.touch("gil", at(6, 25), "met")  # on the calendar, ten days from NOW
    assert month_goal(world.ledger, settings(), NOW).people == 1
    assert goal_streak(world.ledger, settings(), NOW) == 3


def test_no_goal_means_no_streak(world: World) -> None:
    assert goal_streak(world.ledger, settings(goal=0), NOW) == 0
    assert goal_streak(Ledger.memory(), settings(), NOW) == 0


def test_the_goal_line_says_the_month_the_count_and_the_streak(world: World) -> None:
    s = settings()
    line = goal_line(month_goal(world.ledger, s, NOW), goal_streak(world.ledger, s, NOW))
    assert line == "June 2026: in touch with 1 person (goal 2); streak: 3 months in a row."
    assert goal_line(month_goal(Ledger.memory(), s, NOW), 0).endswith("(goal 2); no streak yet.")


def test_now_with_an_offset_is_the_same_instant_as_in_utc(world: World) -> None:
    # 12:00 in Berlin (+02:00 in June) is 10:00 UTC: a note at 10:30 UTC has not happened yet.
    world.touch("dee", at(6, 15, 10, 30))
    berlin = NOW.astimezone(settings().me.zone)
    assert month_goal(world.ledger, settings(), berlin) == month_goal(world.ledger, settings(), NOW)
    assert month_goal(world.ledger, settings(), berlin).people == 1
