"""The outbox's rows: every draft intent, and every move of its state, written here and nowhere else.

    pending -> drafted -> sent | deleted          (deleted -> sent: a Sent copy that came late)
    pending -> withdrawn                           (an introduction declined or expired)
    drafted -> withdrawn                           (stale, removed by ``withdraw_stale``)
    anything but sent -> sent                      (our key seen in Sent)

The rules that choose a move live in core/ (outbox, lifecycle, intros); this module
only writes it. Mixed into :class:`~.ledger.Ledger`: call these as ``ledger.<method>``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .timestamps import iso, parse_iso


class OutboxState(StrEnum):
    """An intent's state; the value is the text stored in ``outbox.state`` (schema v1's CHECK)."""

    PENDING = "pending"  # committed, not in Drafts yet
    DRAFTED = "drafted"  # in Drafts, waiting for the user
    SENT = "sent"
    DELETED = "deleted"  # gone from Drafts without a Sent copy: the user said no (cool-down)
    WITHDRAWN = "withdrawn"  # taken back by circleback, never the user's doing


# Not yet sent or deleted by the user: a draft is planned or waiting in Drafts.
OPEN_STATES = (OutboxState.PENDING, OutboxState.DRAFTED)
CLOSED_STATES = (OutboxState.SENT, OutboxState.DELETED, OutboxState.WITHDRAWN)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    key: str
    person_id: int | None
    kind: str
    period: str
    account: str
    recipient: str
    message_id: str
    message: bytes
    state: OutboxState
    ref: str | None
    attempts: int
    created_at: datetime
    drafted_at: datetime | None
    closed_at: datetime | None
    intro_id: int | None = None
    sent_thread: str = ""


_COLS = (
    "key, person_id, kind, period, account, recipient, message_id, message, state, ref, "
    "attempts, created_at, drafted_at, closed_at, intro_id, sent_thread"
)


def _entry(row: tuple[Any, ...]) -> OutboxEntry:
    return OutboxEntry(
        *row[:8], OutboxState(row[8]), row[9], row[10], parse_iso(row[11]), parse_iso(row[12]),
        parse_iso(row[13]), row[14], row[15],
    )  # type: ignore[arg-type]


def _marks(values: Iterable[object]) -> str:
    return ",".join("?" for _ in values)


class OutboxRows:
    """The outbox table, as :class:`~.ledger.Ledger` methods."""

    _conn: sqlite3.Connection

    # -- writing: every state move -------------------------------------------------------

    def add_intent(
        self,
        *,
        key: str,
        person_id: int | None,
        kind: str,
        period: str,
        account: str,
        recipient: str,
        message_id: str,
        message: bytes,
        now: datetime,
        intro_id: int | None = None,
    ) -> bool:
        """Record a draft intent (pending); False when the key exists (it was planned before)."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO outbox (key, person_id, kind, period, account, recipient, message_id, "
            "message, created_at, intro_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, person_id, kind, period, account, recipient, message_id, message, iso(now), intro_id),
        )
        return cur.rowcount == 1

    def note_attempt(self, key: str) -> None:
        self._conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE key = ?", (key,))

    def mark_drafted(self, key: str, ref: str, now: datetime) -> None:
        """pending -> drafted, with the draft box's ref."""
        self._conn.execute(
            "UPDATE outbox SET state = ?, ref = ?, drafted_at = ? WHERE key = ? AND state = ?",
            (OutboxState.DRAFTED, ref, iso(now), key, OutboxState.PENDING),
        )

    def close_intent(self, key: str, state: OutboxState, now: datetime) -> None:
        """To sent, deleted or withdrawn, whatever the state was."""
        if state not in CLOSED_STATES:
            raise ValueError(f"an intent closes as one of {', '.join(CLOSED_STATES)}, not {state!r}")
        self._conn.execute("UPDATE outbox SET state = ?, closed_at = ? WHERE key = ?", (state, iso(now), key))

    def sent_copy_seen(self, key: str, at: datetime, thread: str) -> bool:
        """Our draft, found in Sent with its key: sent at ``at`` (unless already), and replies thread on ``thread``.

        Gmail and Graph give a sent draft a new Message-ID: ``thread`` is the one replies use.
        True when this is news (the intent was not closed as sent before).
        """
        changed = self._conn.execute(
            "UPDATE outbox SET state = ?, closed_at = ? WHERE key = ? AND state != ?",
            (OutboxState.SENT, iso(at), key, OutboxState.SENT),
        ).rowcount
        self._conn.execute("UPDATE outbox SET sent_thread = ? WHERE key = ?", (thread, key))
        return changed > 0

    def withdraw_pending_for_intro(self, intro_id: int, now: datetime) -> None:
        """pending -> withdrawn for an introduction's intents; drafts already in Drafts are the user's."""
        self._conn.execute(
            "UPDATE outbox SET state = ?, closed_at = ? WHERE intro_id = ? AND state = ?",
            (OutboxState.WITHDRAWN, iso(now), intro_id, OutboxState.PENDING),
        )

    # -- reading ------------------------------------------------------------------------------

    def outbox(
        self, *, states: tuple[OutboxState, ...] | None = None, account: str | None = None
    ) -> list[OutboxEntry]:
        sql = f"SELECT {_COLS} FROM outbox WHERE 1=1"
        args: list[Any] = []
        if states:
            sql += f" AND state IN ({_marks(states)})"
            args += states
        if account:
            sql += " AND account = ?"
            args.append(account)
        sql += " ORDER BY created_at, key"
        return [_entry(r) for r in self._conn.execute(sql, args)]

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        row = self._conn.execute(f"SELECT {_COLS} FROM outbox WHERE key = ?", (key,)).fetchone()
        return _entry(row) if row else None

    def oldest_open_entry(self, person_id: int) -> OutboxEntry | None:
        """The oldest intent to this person that the user has not sent or deleted yet."""
        row = self._conn.execute(
            f"SELECT {_COLS} FROM outbox WHERE person_id = ? AND state IN ({_marks(OPEN_STATES)}) "
            "ORDER BY created_at, key LIMIT 1",
            (person_id, *OPEN_STATES),
        ).fetchone()
        return _entry(row) if row else None

    def intro_entries(self, intro_id: int, kind: str) -> list[OutboxEntry]:
        """An introduction's intents of one kind (its asks, the introduction, the follow-ups), by key."""
        rows = self._conn.execute(
            f"SELECT {_COLS} FROM outbox WHERE intro_id = ? AND kind = ? ORDER BY key", (intro_id, kind)
        )
        return [_entry(r) for r in rows]

    def answered_drafts(self, kinds: tuple[str, ...], account: str | None = None) -> list[OutboxEntry]:
        """Drafted intents of these kinds whose person wrote to the user after the draft appeared."""
        return self._drafted_after(kinds, "received", account)

    def overtaken_drafts(self, kinds: tuple[str, ...], account: str | None = None) -> list[OutboxEntry]:
        """Drafted intents of these kinds whose person the user wrote to (another mail) after the draft appeared.

        The draft itself, once sent, is no longer ``drafted``: ingest marks it sent by its Message-ID.
        """
        return self._drafted_after(kinds, "sent", account)

    def _drafted_after(self, kinds: tuple[str, ...], channel: str, account: str | None) -> list[OutboxEntry]:
        sql = (
            f"SELECT {_COLS} FROM outbox o WHERE o.state = ? AND o.kind IN ({_marks(kinds)}) "
            "AND o.person_id IS NOT NULL AND EXISTS (SELECT 1 FROM interactions i WHERE i.person_id = o.person_id "
            "AND i.channel = ? AND i.at > COALESCE(o.drafted_at, o.created_at))"
        )
        args: list[object] = [OutboxState.DRAFTED, *kinds, channel]
        if account:
            sql += " AND o.account = ?"
            args.append(account)
        return [_entry(r) for r in self._conn.execute(sql + " ORDER BY o.created_at, o.key", args)]

    def drafts_of_closed_intros(self, states: tuple[str, ...], account: str | None = None) -> list[OutboxEntry]:
        """Drafted intents of an introduction now in one of ``states`` (declined, expired)."""
        sql = (
            f"SELECT {_COLS} FROM outbox o WHERE o.state = ? AND o.intro_id IN "
            f"(SELECT id FROM intros WHERE state IN ({_marks(states)}))"
        )
        args: list[object] = [OutboxState.DRAFTED, *states]
        if account:
            sql += " AND o.account = ?"
            args.append(account)
        return [_entry(r) for r in self._conn.execute(sql + " ORDER BY o.created_at, o.key", args)]

    def people_with_open_intents(self) -> set[int]:
        """Everyone with an intent planned or waiting in Drafts."""
        rows = self._conn.execute(
            f"SELECT DISTINCT person_id FROM outbox WHERE state IN ({_marks(OPEN_STATES)}) AND person_id IS NOT NULL",
            OPEN_STATES,
        )
        return {pid for (pid,) in rows}

    def people_deleted_since(self, since: datetime) -> set[int]:
        """Everyone whose draft the user deleted at or after ``since`` (the cool-down)."""
        rows = self._conn.execute(
            "SELECT DISTINCT person_id FROM outbox WHERE state = ? AND closed_at >= ?",
            (OutboxState.DELETED, iso(since)),
        )
        return {pid for (pid,) in rows}

    def drafts_created_since(self, since: datetime, kinds: tuple[str, ...] | None = None) -> int:
        sql = "SELECT COUNT(*) FROM outbox WHERE created_at >= ?"
        args: list[Any] = [iso(since)]
        if kinds:
            sql += f" AND kind IN ({_marks(kinds)})"
            args += kinds
        return int(self._conn.execute(sql, args).fetchone()[0])
