"""The fast paths of issue 8 give what the straightforward computations give.

* ``channel_totals`` (ledger schema v3), kept by triggers, equals grouping the
  interactions, after any mix of inserts, re-syncs, merges, deletes and updates;
  and the v3 migration's backfill equals it on a ledger written by schema v2.
* ``relations.contacts`` reads those totals and equals the aggregate over every
  interaction it replaced (the query below), for a ``now`` before, inside and after
  the ledger's dates (meetings ahead, mail from a clock years off).
* ``plan_cycle`` looks up titles and mutual contacts only where they can change
  the hook; every due person's hook, ``needs_note``, ``over_budget`` and the notes
  equal the plan worked out from every row for every due person.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circleback.daemon.config import Settings
from circleback.daemon.core.contacts import apply_people, contacts
from circleback.daemon.core.names import same_person_marks
from circleback.daemon.core.planner import Standing, _held_back, _pick_hook, assess, mark_suggested, plan_cycle
from circleback.daemon.store.ledger import MIGRATIONS, SCHEMA_VERSION, Interaction, Ledger
from circleback.daemon.store.timestamps import iso
from tests.support.ledger_sql import raw_sql

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
ME = "me@example.org"
TITLES = ["Berlin flat", "Your talk", "Re: Berlin flat", "hi", "Quick question", "", "Seed deck", "1:1"]
CHANNELS = ("sent", "received", "met")
EXAMPLES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the straightforward computations -------------------------------------------------------------

# relations.contacts before schema v3: every interaction of every person, grouped.
GROUPED = """
    SELECT p.id,
           MAX(CASE WHEN i.channel = 'sent' AND i.at <= :now THEN i.at END),
           MAX(CASE WHEN i.channel = 'received' AND i.at <= :now THEN i.at END),
           MAX(CASE WHEN i.channel = 'met' AND i.at <= :now THEN i.at END),
           MIN(CASE WHEN i.channel = 'met' AND i.at > :now THEN i.at END),
           COUNT(CASE WHEN i.channel = 'sent' THEN 1 END),
           COUNT(CASE WHEN i.channel = 'met' AND i.at <= :now THEN 1 END),
           COUNT(CASE WHEN i.channel = 'received' THEN 1 END)
    FROM people p LEFT JOIN interactions i ON i.person_id = p.id GROUP BY p.id ORDER BY p.id
"""


def grouped_totals(conn: sqlite3.Connection) -> dict[tuple[int, str], tuple[int, str, str]]:
    """(person, channel) -> (count, latest at, title of the latest (at, title)), from every row."""
    out: dict[tuple[int, str], tuple[int, str, str]] = {}
    for pid, channel, at, title in conn.execute("SELECT person_id, channel, at, title FROM interactions"):
        n, last_at, last_title = out.get((pid, channel), (0, "", ""))
        last_at, last_title = max((last_at, last_title), (at, title))
        out[(pid, channel)] = (n + 1, last_at, last_title)
    return out


def stored_totals(conn: sqlite3.Connection) -> dict[tuple[int, str], tuple[int, str, str]]:
    rows = conn.execute("SELECT person_id, channel, n, last_at, last_title FROM channel_totals")
    return {(pid, ch): (n, at, title) for pid, ch, n, at, title in rows}


def reference_plan(ledger: Ledger, s: Settings, now: datetime) -> dict[str, Any]:
    """The plan from every row: the latest titles of every due person, then who may be written to."""
    standings = assess(ledger, s, now)
    recent = {m for x in standings if not x.due for m in same_person_marks(x.contact.display_name, x.contact.emails)}
    latest: dict[tuple[int, str], tuple[str, str]] = {}
    theirs: dict[int, tuple[str, str]] = {}  # their latest mail to me: what holds a note back is read from it
    for pid, channel, at, title in raw_sql(ledger).execute("SELECT person_id, channel, at, title FROM interactions"):
        if at <= iso(now):
            key = (pid, "met" if channel == "met" else "mail")
            latest[key] = max(latest.get(key, ("", "")), (at, title))
            if channel == "received":
                theirs[pid] = max(theirs.get(pid, ("", "")), (at, title))
    due = []
    for st_ in standings:
        marks = same_person_marks(st_.contact.display_name, st_.contact.emails)
        if not st_.due or marks & recent:
            continue
        recent |= marks
        pid = st_.contact.person_id
        met, mail = ((latest[(pid, k)][1], latest[(pid, k)][0]) if (pid, k) in latest else None
                     for k in ("met", "mail"))
        st_.hook = _pick_hook(ledger, st_, met, mail, now)
        due.append(st_)
    mark_suggested(ledger, s, due, now, hooked_only=True)
    for x in due:
        if not x.suggested and _held_back(x, theirs.get(x.contact.person_id, ("", ""))[1], now):
            x.hook = None
    hooks = {x.contact.person_id: (x.hook if x.contact.greeting_name else None) for x in due if not x.suggested}
    return {"hooks": hooks, "order": [x.contact.person_id for x in due if not x.suggested],
            "suggested": [x.contact.person_id for x in due if x.suggested]}


# -- random small ledgers -----------------------------------------------------------------------------

# One row: (account, source, person, channel, minutes before NOW (negative: ahead), title).
rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["home", "work"]),
        st.integers(0, 12),
        st.integers(0, 7),
        st.sampled_from(CHANNELS),
        # Few distinct times: rows at the same second (ties) are common; some lie ahead of NOW.
        st.sampled_from([-5 * 24 * 60, -60, 0, 1, 10 * 24 * 60, 40 * 24 * 60, 41 * 24 * 60, 400 * 24 * 60]),
        st.sampled_from(TITLES),
    ),
    max_size=40,
)
people_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "note": st.sampled_from(["", "", "always brings the best snacks", "VP Eng at Northwind"]),
            "group": st.sampled_from(["", "family"]),
            "do_not_contact": st.booleans(),
        }
    ),
    min_size=0,
    max_size=4,
)


def address(n: int) -> str:
    return f"p{n}@x.example"


def make_settings(people: list[dict[str, Any]], budget: int) -> Settings:
    return Settings.model_validate(
        {
            "me": {"name": "Me", "addresses": [ME], "timezone": "UTC"},
            "cadence": {"default": "30d", "groups": {"family": "14d"}, "weights": {"family": 3.0}},
            "drafting": {"budget_per_week": budget},
            "people": [
                {"name": f"Person {n}", "emails": [address(n)], **p} for n, p in enumerate(people)
            ],
        }
    )


def fill(ledger: Ledger, s: Settings, rows: list[tuple[str, int, int, str, int, str]]) -> None:
    with ledger.transaction():
        apply_people(ledger, s)
        for account, source, person, channel, minutes, title in rows:
            pid = ledger.person_for_address(address(person), f"P{person}")
            at = NOW - timedelta(minutes=minutes)
            ledger.add_interactions(account, f"s{source}", [Interaction(pid, channel, at, f"t{source}", title)])


# -- channel_totals -------------------------------------------------------------------------------------

ops_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("forget_source"), st.sampled_from(["home", "work"]), st.integers(0, 12)),
        st.tuples(st.just("forget_channel"), st.sampled_from(["home", "work"]), st.sampled_from(CHANNELS)),
        st.tuples(st.just("merge"), st.integers(1, 8), st.integers(1, 8)),
        st.tuples(st.just("move"), st.integers(0, 12), st.integers(-60, 60 * 24 * 50)),
        st.tuples(st.just("retitle"), st.integers(0, 12), st.sampled_from(TITLES)),
        st.tuples(st.just("replace"), st.integers(0, 12), st.sampled_from(TITLES)),
        st.tuples(st.just("delete_person"), st.integers(1, 8)),
    ),
    max_size=8,
)


def apply_op(ledger: Ledger, op: tuple[Any, ...]) -> None:
    c = raw_sql(ledger)
    kind = op[0]
    if kind == "forget_source":
        ledger.forget_source(op[1], f"s{op[2]}")
    elif kind == "forget_channel":
        ledger.forget_channels(op[1], (op[2],))
    elif kind == "merge":
        if c.execute("SELECT 1 FROM people WHERE id = ?", (op[1],)).fetchone():
            ledger.merge_people(op[1], [op[2]])
    elif kind == "move":  # an event seen again at another time, written in place
        c.execute("UPDATE interactions SET at = ? WHERE source_id = ?",
                  (iso(NOW - timedelta(minutes=op[2])), f"s{op[1]}"))
    elif kind == "retitle":
        c.execute("UPDATE interactions SET title = ? WHERE source_id = ?", (op[2], f"s{op[1]}"))
    elif kind == "replace":  # INSERT OR REPLACE deletes the row it replaces: the delete trigger must run
        c.execute(
            "INSERT OR REPLACE INTO interactions SELECT account, source_id, person_id, channel, ?, thread, ? "
            "FROM interactions WHERE source_id = ?",
            (iso(NOW - timedelta(days=3)), op[2], f"s{op[1]}"),
        )
    elif kind == "delete_person":  # interactions go by ON DELETE CASCADE
        c.execute("DELETE FROM outbox WHERE person_id = ?", (op[1],))
        c.execute("DELETE FROM people WHERE id = ?", (op[1],))


@EXAMPLES
@given(rows=rows_strategy, ops=ops_strategy)
def test_channel_totals_follow_every_write(rows, ops) -> None:
    ledger = Ledger.memory()
    fill(ledger, make_settings([], 5), rows)
    assert stored_totals(raw_sql(ledger)) == grouped_totals(raw_sql(ledger))
    for op in ops:
        with ledger.transaction():
            apply_op(ledger, op)
        assert stored_totals(raw_sql(ledger)) == grouped_totals(raw_sql(ledger)), op


def v2_ledger(path: Path) -> sqlite3.Connection:
    """A ledger as schema v2 left it: no channel_totals, no triggers."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in (s for version in MIGRATIONS[:2] for s in version):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    return conn


def test_v3_backfills_totals_from_a_v2_ledger(tmp_path: Path) -> None:
    conn = v2_ledger(tmp_path / "l.db")
    conn.executemany("INSERT INTO people (id, name, created_at) VALUES (?, '', '2020-01-01T00:00:00Z')",
                     [(1,), (2,), (3,)])
    rows = [
        ("home", "a", 1, "sent", "2026-01-01T00:00:00Z", "Berlin flat"),
        ("home", "b", 1, "sent", "2026-03-01T00:00:00Z", "Apples"),  # the latest second holds two rows:
        ("work", "c", 1, "sent", "2026-03-01T00:00:00Z", "Zebras"),  # the greater title is the latest
        ("home", "d", 1, "received", "2025-12-01T00:00:00Z", "hi"),
        ("cal", "e", 2, "met", "2027-01-01T00:00:00Z", "Board meeting ahead"),
        ("cal", "f", 2, "met", "2026-02-01T00:00:00Z", "Board meeting"),
    ]
    conn.executemany("INSERT INTO interactions VALUES (?, ?, ?, ?, ?, '', ?)", rows)
    conn.close()

    ledger = Ledger.open(tmp_path / "l.db")
    assert ledger.schema_version == SCHEMA_VERSION == 6
    assert stored_totals(raw_sql(ledger)) == {
        (1, "sent"): (3, "2026-03-01T00:00:00Z", "Zebras"),
        (1, "received"): (1, "2025-12-01T00:00:00Z", "hi"),
        (2, "met"): (2, "2027-01-01T00:00:00Z", "Board meeting ahead"),
    }
    # The triggers came with it: later writes keep the totals.
    with ledger.transaction():
        ledger.add_interactions("home", "g", [Interaction(3, "sent", NOW, "", "Seed deck")])
        ledger.forget_source("work", "c")
    assert stored_totals(raw_sql(ledger)) == grouped_totals(raw_sql(ledger))
    assert stored_totals(raw_sql(ledger))[(1, "sent")] == (2, "2026-03-01T00:00:00Z", "Apples")


# -- contacts ----------------------------------------------------------------------------------------


@EXAMPLES
@given(rows=rows_strategy, shift=st.sampled_from([-3 * 365 * 24 * 60, -60, 0, 1, 20 * 24 * 60, 500 * 24 * 60]))
def test_contacts_equal_grouping_every_interaction(rows, shift) -> None:
    ledger = Ledger.memory()
    s = make_settings([], 5)
    fill(ledger, s, rows)
    now = NOW - timedelta(minutes=shift)
    expected = [tuple(r) for r in raw_sql(ledger).execute(GROUPED, {"now": iso(now)})]

    def text(t: datetime | None) -> str | None:
        return iso(t) if t else None

    got = [
        (c.person_id, text(c.last_sent), text(c.last_received), text(c.last_met), text(c.next_meeting),
         c.sent_count, c.met_count, c.received_count)
        for c in contacts(ledger, s, now)
    ]
    assert got == expected
    some = [r[0] for r in expected[::2]]
    assert [c.person_id for c in contacts(ledger, s, now, some)] == some


# -- the plan ----------------------------------------------------------------------------------------------


def ids(standings: list[Standing]) -> list[int]:
    return [x.contact.person_id for x in standings]


@EXAMPLES
@given(rows=rows_strategy, people=people_strategy, budget=st.integers(0, 3),
       shift=st.sampled_from([-60, 0, 20 * 24 * 60]))
def test_plan_hooks_equal_the_plan_from_every_row(rows, people, budget, shift) -> None:
    ledger = Ledger.memory()
    s = make_settings(people, budget)
    fill(ledger, s, rows)
    now = NOW - timedelta(minutes=shift)
    ref = reference_plan(ledger, s, now)
    plan = plan_cycle(ledger, s, now)

    due = [x for x in plan.standings if x.contact.person_id in set(ref["order"])]
    assert sorted(ids(due)) == sorted(ref["order"])
    assert ids(plan.suggested) == ref["suggested"]
    assert {x.contact.person_id: x.hook for x in due} == ref["hooks"]
    no_hook = [pid for pid in ref["order"] if ref["hooks"][pid] is None]
    with_hook = [pid for pid in ref["order"] if ref["hooks"][pid] is not None]
    assert ids(plan.needs_note) == no_hook
    assert [n.standing.contact.person_id for n in plan.notes] == with_hook[:budget]
    assert ids(plan.over_budget) == with_hook[budget:]


def test_a_tie_at_the_same_second_gives_the_greater_title() -> None:
    """Pinned so that the hook does not depend on which row SQLite happens to read first."""
    ledger = Ledger.memory()
    s = make_settings([{}], 5)
    fill(ledger, s, [
        ("home", 1, 0, "received", 40 * 24 * 60, "Lunch at Dishoom"),
        ("home", 2, 0, "sent", 40 * 24 * 60, "Drinks at The Crown"),
        ("work", 3, 0, "sent", 41 * 24 * 60, "Trip to Lisbon"),
    ])
    (note,) = plan_cycle(ledger, s, NOW).notes
    assert note.standing.hook is not None
    assert (note.standing.hook.kind, note.standing.hook.text) == ("thread", "our lunch at Dishoom")


def test_deleting_the_latest_row_finds_the_greater_title_of_the_next_second() -> None:
    ledger = Ledger.memory()
    fill(ledger, make_settings([], 5), [
        ("home", 1, 0, "sent", 60, "Zebras"),  # "Zebras" before "Apples" in (account, source) order
        ("home", 2, 0, "sent", 60, "Apples"),
        ("home", 3, 0, "sent", 30, "Latest"),
    ])
    with ledger.transaction():
        ledger.forget_source("home", "s3")
    (row,) = stored_totals(raw_sql(ledger)).values()
    assert row == (2, iso(NOW - timedelta(minutes=60)), "Zebras")


def test_a_meeting_ahead_does_not_hide_the_greater_title_of_the_last_one() -> None:
    """The channel's latest row is ahead of now: the latest past one is read from the interactions."""
    ledger = Ledger.memory()
    s = make_settings([{}], 5)
    fill(ledger, s, [
        ("cal", 1, 0, "met", 40 * 24 * 60, "Trip to Zanzibar"),
        ("cal", 2, 0, "met", 40 * 24 * 60, "Lunch at Alfies"),
        ("cal", 3, 0, "met", -60 * 24 * 60, "Board meeting ahead"),  # beyond the upcoming window
    ])
    (note,) = plan_cycle(ledger, s, NOW).notes
    assert note.standing.hook is not None
    assert (note.standing.hook.kind, note.standing.hook.text) == ("meeting", "our trip to Zanzibar")
