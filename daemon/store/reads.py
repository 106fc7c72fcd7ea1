"""What core/ reads of the interactions: the per-person summaries, the plan's hooks, drafting and goals.

Most of it reads ``channel_totals`` (schema v3, kept by triggers) rather than the million
interactions behind it, and goes back to the interactions only where a total is not exact
for ``now``; the statements that matter for speed (benchmarks/core.py) are the contacts
(``_CONTACT_SQL``), each person's latest titles (``_LATEST_SQL``), the facts behind a
moment's title (``_MOMENT_FACTS_SQL``), the latest mail received and the personal history.
Each returns plain rows; core/ makes sense of them. Mixed into :class:`~.ledger.Ledger`:
call these as ``ledger.<method>``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from .timestamps import iso

# -- contacts ---------------------------------------------------------------------------------

def _channel_sql(channel: str, alias: str) -> str:
    """(latest at or before :now, how many) for one channel, from its total where that is exact.

    A total is exact while its latest row is not after :now. Mail dated after now (a provider
    clock decades off) counts only once its date arrives: it must never make a person look
    recently contacted. Only then are the person's rows read (an index range). Sent and received
    counts include future rows; met counts do not (a meeting ahead is not a meeting held).
    """
    exact = f"{alias}.last_at IS NULL OR {alias}.last_at <= :now"
    rows = f"FROM interactions WHERE person_id = p.id AND channel = '{channel}'"
    count = f"coalesce({alias}.n, 0)"
    if channel == "met":
        count = f"CASE WHEN {exact} THEN {count} ELSE (SELECT COUNT(*) {rows} AND at <= :now) END"
    return f"CASE WHEN {exact} THEN {alias}.last_at ELSE (SELECT MAX(at) {rows} AND at <= :now) END, {count}"


# Rows: id, name, configured, snoozed, skipped, company, title, linkedin, then (last, count) for
# sent, received and met, then the next meeting. Identical to grouping the person's interactions
# (tests/test_core_fastpaths.py), without reading them.
_CONTACT_SQL = f"""
    SELECT p.id, p.name, p.configured, p.snoozed_until, p.skipped_at, p.company, p.title, p.linkedin, p.source,
           {_channel_sql("sent", "ts")}, {_channel_sql("received", "tr")}, {_channel_sql("met", "tm")},
           CASE WHEN tm.last_at > :now THEN
               (SELECT MIN(at) FROM interactions WHERE person_id = p.id AND channel = 'met' AND at > :now) END
    FROM people p
    LEFT JOIN channel_totals ts ON ts.person_id = p.id AND ts.channel = 'sent'
    LEFT JOIN channel_totals tr ON tr.person_id = p.id AND tr.channel = 'received'
    LEFT JOIN channel_totals tm ON tm.person_id = p.id AND tm.channel = 'met'
    {{where}}
    ORDER BY p.id
"""


# -- the plan's hooks --------------------------------------------------------------------------


def _latest_sql(channel: str, alias: str) -> str:
    return f"""CASE WHEN {alias}.last_at IS NULL THEN NULL
        WHEN {alias}.last_at <= :now THEN {alias}.last_at || {alias}.last_title
        ELSE (SELECT at || title FROM interactions WHERE person_id = d.value AND channel = '{channel}'
              AND at <= :now ORDER BY at DESC, title DESC LIMIT 1) END"""


_LATEST_SQL = f"""
    SELECT d.value, {_latest_sql("met", "tm")}, {_latest_sql("sent", "ts")}, {_latest_sql("received", "tr")}
    FROM json_each(:ids) d
    LEFT JOIN channel_totals tm ON tm.person_id = d.value AND tm.channel = 'met'
    LEFT JOIN channel_totals ts ON ts.person_id = d.value AND ts.channel = 'sent'
    LEFT JOIN channel_totals tr ON tr.person_id = d.value AND tr.channel = 'received'
"""


_MOMENT_FACTS_SQL = """
    WITH c AS (SELECT key AS k, json_extract(value, '$[0]') AS pid, json_extract(value, '$[1]') AS kind,
                      json_extract(value, '$[2]') AS title, json_extract(value, '$[3]') AS at
               FROM json_each(:keys)),
    m AS (SELECT c.k, c.kind, i.person_id, i.account, i.source_id, i.channel, i.thread,
                 ROW_NUMBER() OVER (PARTITION BY c.k ORDER BY i.channel DESC) AS rn  -- 'sent' before 'received'
          FROM c JOIN interactions i ON i.person_id = c.pid AND i.at = c.at AND i.title = c.title
           AND ((c.kind = 'meeting' AND i.channel = 'met')
                OR (c.kind = 'thread' AND i.channel IN ('sent', 'received'))))
    SELECT m.k, m.channel, m.thread,
           (SELECT COUNT(DISTINCT j.person_id) FROM interactions j
             WHERE j.account = m.account AND j.source_id = m.source_id),
           EXISTS (SELECT 1 FROM interactions r WHERE r.person_id = m.person_id AND r.channel = 'received'
                   AND r.thread = m.thread AND m.thread != ''),
           CASE WHEN m.kind = 'thread' AND m.thread != '' THEN
               (SELECT f.channel FROM interactions f WHERE f.person_id = m.person_id AND f.thread = m.thread
                AND f.channel IN ('sent', 'received') ORDER BY f.at, f.channel DESC LIMIT 1) END
    FROM m WHERE m.rn = 1
"""


class InteractionReads:
    """The reads above, as :class:`~.ledger.Ledger` methods."""

    _conn: sqlite3.Connection

    # -- contacts -------------------------------------------------------------------------------

    def contact_rows(self, now: datetime, person_ids: Collection[int] | None = None) -> Iterator[tuple[Any, ...]]:
        """Every person (or only ``person_ids``), by id: the columns named above ``_CONTACT_SQL``."""
        where = ""
        args: dict[str, Any] = {"now": iso(now)}
        if person_ids is not None:
            where = "WHERE p.id IN (SELECT value FROM json_each(:ids))"
            args["ids"] = json.dumps(sorted(person_ids))
        return self._conn.execute(_CONTACT_SQL.format(where=where), args)

    def addresses_by_person(self, person_ids: Collection[int]) -> dict[int, list[str]]:
        """``Ledger.all_addresses`` for a few people: the same lists, in the same (address) order."""
        out: dict[int, list[str]] = {}
        rows = self._conn.execute(
            "SELECT address, person_id FROM addresses WHERE person_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY address",
            (json.dumps(sorted(person_ids)),),
        )
        for address, pid in rows:
            out.setdefault(pid, []).append(address)
        return out

    def personal_history_rows(
        self, person_ids: Collection[int], small: int, now: datetime
    ) -> Iterator[tuple[int, str, int, str, str]]:
        """(person, channel, how many, first at, last at) over messages and meetings of at most ``small`` people."""
        return self._conn.execute(
            """WITH mine AS (SELECT i.person_id, i.account, i.source_id, i.channel, i.at FROM json_each(:ids) d
                             JOIN interactions i ON i.person_id = d.value),
                    sizes AS (SELECT m.account, m.source_id, COUNT(DISTINCT j.person_id) AS n
                              FROM (SELECT DISTINCT account, source_id FROM mine) m
                              JOIN interactions j ON j.account = m.account AND j.source_id = m.source_id
                              GROUP BY m.account, m.source_id)
               SELECT m.person_id, m.channel, COUNT(*), MIN(m.at), MAX(m.at) FROM mine m
               JOIN sizes s ON s.account = m.account AND s.source_id = m.source_id
               WHERE s.n <= :small AND m.at <= :now GROUP BY m.person_id, m.channel""",
            {"ids": json.dumps(sorted(person_ids)), "small": small, "now": iso(now)},
        )

    # -- the plan's hooks -------------------------------------------------------------------------

    def latest_titles(
        self, person_ids: list[int], now: datetime
    ) -> Iterator[tuple[int, str | None, str | None, str | None]]:
        """(person, met, sent, received): each channel's latest (at, title) at or before ``now``, packed.

        Packed as ``at || title``: ``at`` is fixed-width ISO text (20 characters), so the later
        one is the greater string. "Latest" is the greatest (at, title), as in ``channel_totals``.
        """
        return self._conn.execute(_LATEST_SQL, {"now": iso(now), "ids": json.dumps(person_ids)})

    def moment_facts(
        self, keys: list[tuple[int, str, str, str]]
    ) -> Iterator[tuple[int, str, str, int, int, str | None]]:
        """Per (person, kind, title, at) key, by its index in ``keys``: (index, channel, thread, people on it,
        whether they wrote in the thread, who wrote its first message)."""
        return self._conn.execute(_MOMENT_FACTS_SQL, {"keys": json.dumps([list(k) for k in keys])})

    def latest_received_titles(self, person_ids: list[int], now: datetime) -> dict[int, str]:
        """The subject of each person's latest mail to me, from ``channel_totals``."""
        rows = self._conn.execute(
            "SELECT person_id, last_title FROM channel_totals WHERE channel = 'received' AND last_at <= ? "
            "AND person_id IN (SELECT value FROM json_each(?))",
            (iso(now), json.dumps(person_ids)),
        )
        return dict(rows)

    def companion_rows(self, person_ids: list[int]) -> Iterator[tuple[int, int]]:
        """(person, other) once for each pair of their rows on one message or meeting."""
        return self._conn.execute(
            """SELECT a.person_id, b.person_id FROM json_each(?) d
           JOIN interactions a ON a.person_id = d.value
           JOIN interactions b ON a.account = b.account AND a.source_id = b.source_id AND b.person_id != a.person_id""",
            (json.dumps(person_ids),),
        )

    # -- drafting and the outbox -------------------------------------------------------------------

    def latest_interaction(
        self, person_id: int, channels: tuple[str, ...], now: datetime
    ) -> tuple[str, str, str, str] | None:
        """(title, at, channel, thread) of the latest row on these channels at or before ``now``."""
        marks = ",".join("?" * len(channels))
        return self._conn.execute(
            f"SELECT title, at, channel, thread FROM interactions WHERE person_id = ? AND channel IN ({marks}) "
            "AND at <= ? ORDER BY at DESC, title DESC LIMIT 1",  # ties as planner and channel_totals break them
            (person_id, *channels, iso(now)),
        ).fetchone()

    def wrote_in_thread(self, person_id: int, thread: str, now: datetime) -> bool:
        """Did this person write to me in ``thread`` at or before ``now``?"""
        return self._conn.execute(
            "SELECT 1 FROM interactions WHERE person_id = ? AND channel = 'received' AND thread = ? AND at <= ? "
            "LIMIT 1",
            (person_id, thread, iso(now)),
        ).fetchone() is not None

    def sent_to_since(self, person_id: int, since: datetime) -> bool:
        """Did I send this person mail at or after ``since``?"""
        row = self._conn.execute(
            "SELECT 1 FROM interactions WHERE person_id = ? AND channel = 'sent' AND at >= ? LIMIT 1",
            (person_id, iso(since)),
        ).fetchone()
        return row is not None

    # -- goals -------------------------------------------------------------------------------------

    def people_reached_between(self, start: datetime, end: datetime) -> int:
        """How many different people I wrote to or met from ``start`` to ``end``, both included."""
        (n,) = self._conn.execute(
            "SELECT COUNT(DISTINCT person_id) FROM interactions WHERE at >= ? AND at <= ? "
            "AND channel IN ('sent', 'met')",
            (iso(start), iso(end)),
        ).fetchone()
        return int(n)

    def contacts_newest_first(self, channels: tuple[str, ...], until: datetime) -> Iterator[tuple[int, str]]:
        """(person, at) of every row on these channels at or before ``until``, newest first, read lazily."""
        return self._conn.execute(
            f"SELECT person_id, at FROM interactions WHERE channel IN ({','.join('?' * len(channels))}) "
            "AND at <= ? ORDER BY at DESC",
            (*channels, iso(until)),
        )
