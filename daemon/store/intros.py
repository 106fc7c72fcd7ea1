"""The introductions' rows, and what core/intros asks of the interactions to move one along.

The state machine (which states exist, which are open, when to move) is core/intros.py's;
this module writes a move with fixed statements and reads. Mixed into
:class:`~.ledger.Ledger`: call these as ``ledger.<method>``.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Literal

from .timestamps import iso, parse_iso

_COLS = "id, person_a, person_b, state, reason, created_at, updated_at, a_replied_at, b_replied_at, sent_at, closed_at"

# One fixed statement per column a move may set: no column name is ever put into SQL from a value.
_SET_STATE = "UPDATE intros SET state = ?, updated_at = ?, closed_at = ? WHERE id = ?"
_SET_STATE_AND_SENT = "UPDATE intros SET state = ?, updated_at = ?, closed_at = ?, sent_at = ? WHERE id = ?"
_SET_REPLIED = {
    "a": "UPDATE intros SET a_replied_at = ? WHERE id = ?",
    "b": "UPDATE intros SET b_replied_at = ? WHERE id = ?",
}


class IntroRows:
    """The intros table, and the joins over interactions an introduction needs, as Ledger methods."""

    _conn: sqlite3.Connection

    # -- the intros table -----------------------------------------------------------------

    def intro_rows(self, states: tuple[str, ...] | None = None) -> list[tuple[Any, ...]]:
        """Introductions (all, or in these states) by id: id, the two people, state, reason, then the
        times as stored: created, updated, a replied, b replied, sent, closed."""
        sql = f"SELECT {_COLS} FROM intros"
        args: tuple[str, ...] = ()
        if states:
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            args = states
        return self._conn.execute(sql + " ORDER BY id", args).fetchall()

    def add_intro(self, a: int, b: int, reason: str, now: datetime) -> int:
        """A new introduction, asked (its first state); its id."""
        cur = self._conn.execute(
            "INSERT INTO intros (person_a, person_b, state, reason, created_at, updated_at) "
            "VALUES (?, ?, 'asked', ?, ?, ?)",
            (a, b, reason, iso(now), iso(now)),
        )
        return int(cur.lastrowid or 0)

    def set_intro_state(
        self, intro_id: int, state: str, now: datetime, *, closed: bool, sent_at: datetime | None = None
    ) -> None:
        """Move to ``state``; ``closed``: it ends here (closed_at is now, else cleared); ``sent_at`` when given."""
        closed_at = iso(now) if closed else None
        if sent_at is None:
            self._conn.execute(_SET_STATE, (state, iso(now), closed_at, intro_id))
        else:
            self._conn.execute(_SET_STATE_AND_SENT, (state, iso(now), closed_at, iso(sent_at), intro_id))

    def set_intro_replied(self, intro_id: int, side: Literal["a", "b"], at: datetime) -> None:
        """Party ``a`` or ``b`` answered the ask at ``at``."""
        self._conn.execute(_SET_REPLIED[side], (iso(at), intro_id))

    def intro_sent_at(self, intro_id: int) -> datetime | None:
        row = self._conn.execute("SELECT sent_at FROM intros WHERE id = ?", (intro_id,)).fetchone()
        return parse_iso(row[0]) if row else None

    def intros_created_since(self, since: datetime) -> int:
        (n,) = self._conn.execute("SELECT COUNT(*) FROM intros WHERE created_at >= ?", (iso(since),)).fetchone()
        return int(n)

    def intro_pairs(self) -> set[frozenset[int]]:
        """Every pair ever introduced (or asked), whatever became of it."""
        return {frozenset(r) for r in self._conn.execute("SELECT person_a, person_b FROM intros")}

    def people_in_intros(self, states: tuple[str, ...]) -> set[int]:
        marks = ",".join("?" * len(states))
        rows = self._conn.execute(f"SELECT person_a, person_b FROM intros WHERE state IN ({marks})", states)
        return {pid for row in rows for pid in row}

    # -- what the interactions say about two people --------------------------------------------

    def ever_together(self, a: int, b: int) -> bool:
        """Ever together in one thread or meeting: the same source in the same account."""
        row = self._conn.execute(
            "SELECT 1 FROM interactions x JOIN interactions y ON x.account = y.account AND x.source_id = y.source_id "
            "WHERE x.person_id = ? AND y.person_id = ? LIMIT 1",
            (a, b),
        ).fetchone()
        return row is not None

    def companions(self, person_id: int) -> list[tuple[int, str]]:
        """(person, name) for each row shared with this person: their rows in index order, then by id."""
        return self._conn.execute(
            "SELECT y.person_id, p.name FROM interactions x "
            "JOIN interactions y ON x.account = y.account AND x.source_id = y.source_id "
            "JOIN people p ON p.id = y.person_id WHERE x.person_id = ? "
            "ORDER BY x.channel, x.at, x.account, x.source_id, y.person_id, y.channel",
            (person_id,),
        ).fetchall()

    def first_reply_in(self, person_id: int, threads: list[str]) -> datetime | None:
        """When this person first wrote to me in one of these threads."""
        marks = ",".join("?" * len(threads))
        row = self._conn.execute(
            f"SELECT MIN(at) FROM interactions WHERE person_id = ? AND channel = 'received' AND thread IN ({marks})",
            (person_id, *threads),
        ).fetchone()
        return parse_iso(row[0]) if row else None

    def first_sent_to_both(self, a: int, b: int, since: datetime) -> datetime | None:
        """When I first sent one message to both, at or after ``since``."""
        row = self._conn.execute(
            "SELECT MIN(x.at) FROM interactions x JOIN interactions y ON x.account = y.account "
            "AND x.source_id = y.source_id WHERE x.person_id = ? AND y.person_id = ? "
            "AND x.channel = 'sent' AND y.channel = 'sent' AND x.at >= ?",
            (a, b, iso(since)),
        ).fetchone()
        return parse_iso(row[0]) if row else None
