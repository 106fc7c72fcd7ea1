"""The ledger: circleback's SQLite state (people, addresses, interactions, cursors, outbox, intros).

Explicit transactions (``BEGIN IMMEDIATE``), WAL with ``synchronous=FULL`` so a
committed outbox intent survives a power cut, and a schema versioned with
``PRAGMA user_version`` whose migrations (store/schema.py) run one per transaction (docs/STYLE.md #5).

Only header-derived facts are stored: who, when, which channel, the subject or
meeting title (the hook a note may mention). Never a body or a snippet.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import LedgerDamaged, LedgerFull, StateError
from .intros import IntroRows
from .outbox import OutboxRows
from .reads import InteractionReads
from .schema import MIGRATIONS, SCHEMA_VERSION
from .timestamps import iso, parse_iso

# An import fills blanks column by column: one fixed statement per column, never a name put into SQL.
_FILL_BLANK = {
    "name": "UPDATE people SET name = ? WHERE id = ? AND name = ''",
    "company": "UPDATE people SET company = ? WHERE id = ? AND company = ''",
    "title": "UPDATE people SET title = ? WHERE id = ? AND title = ''",
    "linkedin": "UPDATE people SET linkedin = ? WHERE id = ? AND linkedin = ''",
}


_DAMAGE = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}
RECOVER = "circleback ledger recover"


def is_damage(exc: BaseException) -> bool:
    """Is this SQLite error a damaged file (not a lock, a full disk or a bad statement)?"""
    return isinstance(exc, sqlite3.DatabaseError) and getattr(exc, "sqlite_errorname", "") in _DAMAGE


def damaged(path: Path | str | None, what: BaseException | str) -> LedgerDamaged:
    where = f"{path}: the ledger" if path else "the ledger"
    return LedgerDamaged(f"{where} is damaged ({what})", remedy=f"run `{RECOVER}` (it keeps the damaged file aside)")


def _disk_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)


LOW_SPACE = 8 << 20  # bytes: less free than this under the ledger, and an I/O error is a full disk


def _space_left(path: Path | None) -> int:
    try:
        return shutil.disk_usage(path.parent if path else ".").free
    except OSError:
        return LOW_SPACE  # cannot tell: say it as a failing disk, not a full one


def _full(path: Path | None) -> LedgerFull:
    where = path.parent if path else "the in-memory ledger"
    return LedgerFull(
        f"{where}: the state directory's disk is full (SQLite: database or disk is full); "
        "the ledger is intact and this step was not saved: free some space there, then run again"
    )


def storage_error(exc: BaseException, path: Path | None) -> StateError | None:
    """What a failed read or write of the ledger says to the user: a full disk, a damaged file, a
    failing disk, a file it may not write; None for any other error (a bug: let it show)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    if _disk_full(exc):
        return _full(path)
    if is_damage(exc):
        return damaged(path, exc)
    name = getattr(exc, "sqlite_errorname", "")
    where = path or "the ledger"
    if name.startswith("SQLITE_IOERR"):
        if _space_left(path) < LOW_SPACE:  # a full disk often fails as an I/O error (-shm, fsync)
            return _full(path)
        return StateError(f"{where}: the disk under the ledger failed to read or write (SQLite: {exc}, {name}); "
                          "this step was rolled back", remedy="check the disk (`dmesg`, `df`), then run again")
    if name.startswith("SQLITE_READONLY"):
        return StateError(f"{where}: the ledger cannot be written ({exc})",
                          remedy="fix the permissions of the state directory and the ledger in it")
    return None


def _header_name(name: str, address: str) -> str:
    """A header's display name, or "" when it says nothing more than the address does."""
    name = " ".join(name.split()).strip("'\"")
    return "" if name.lower() == address.lower() else name


@dataclass(frozen=True, slots=True)
class Interaction:
    person_id: int
    channel: str  # sent | received | met
    at: datetime
    thread: str = ""
    title: str = ""


class Ledger(OutboxRows, IntroRows, InteractionReads):
    """One SQLite connection; use :meth:`transaction` for every write.

    Every statement circleback runs is a method here: people, addresses, interactions and
    cursors in this module; the outbox (store/outbox.py), the introductions (store/intros.py)
    and what core/ reads of the interactions (store/reads.py) mixed in from theirs. The
    connection stays private: callers get rows, sets or small dataclasses, never a cursor to write.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self._conn = conn
        self.path = path

    # -- opening -----------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str) -> Ledger:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create it private before SQLite does (its -wal and -shm files copy this mode).
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{path}: cannot open the ledger: {exc}") from None
        ledger = cls(conn, path)
        ledger._configure(wal=True)
        return ledger

    @classmethod
    def open_read_only(cls, path: Path) -> Ledger:
        """The ledger for reading only, in a state directory this user cannot write (``status``).

        SQLite reads a WAL database read-only through its -shm file; where that cannot be made
        either, the file is read as immutable (a snapshot: right for a directory no one writes).
        """
        uri = f"file:{urllib.parse.quote(str(path))}"
        for flags in ("mode=ro", "mode=ro&immutable=1"):
            conn = sqlite3.connect(f"{uri}?{flags}", uri=True, isolation_level=None, timeout=30)
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                break
            except sqlite3.OperationalError:  # SQLITE_CANTOPEN / READONLY: no -shm to be had
                conn.close()
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise damaged(path, exc) from None
        else:
            raise StateError(f"{path}: cannot read the ledger in a read-only state directory")
        if version != SCHEMA_VERSION:
            conn.close()
            raise StateError(f"{path}: the ledger is at version {version}, this circleback reads {SCHEMA_VERSION}, "
                             "and the state directory is read-only",
                             remedy="run `circleback run --once` once as the user who owns the state directory")
        return cls(conn, path)

    @classmethod
    def memory(cls) -> Ledger:
        ledger = cls(sqlite3.connect(":memory:", isolation_level=None), None)
        ledger._configure(wal=False)
        return ledger

    def _configure(self, *, wal: bool) -> None:
        c = self._conn
        try:
            c.execute("PRAGMA busy_timeout = 30000")
            if wal:
                mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StateError(f"{self.path}: SQLite refused WAL mode (got {mode})")
            c.execute("PRAGMA synchronous = FULL")
            c.execute("PRAGMA foreign_keys = ON")
            # Without it, rows that INSERT OR REPLACE deletes skip the delete triggers (channel_totals).
            c.execute("PRAGMA recursive_triggers = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._storage_error(exc) or StateError(f"{self.path}: the ledger is unusable: {exc}") from None

    def _storage_error(self, exc: sqlite3.Error) -> StateError | None:
        return storage_error(exc, self.path)

    def _full(self) -> LedgerFull:
        return _full(self.path)

    def _migrate(self) -> None:
        current = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: ledger schema {current} is newer than this circleback "
                f"({SCHEMA_VERSION}); upgrade circleback"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                # Asked again under the write lock: a command run beside a starting service may
                # have migrated the same file a moment ago.
                if self._conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                    continue
                for statement in MIGRATIONS[version - 1]:
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {version}")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def quick_check(self) -> list[str]:
        """What SQLite's quick check finds wrong (a damaged page, a broken index); [] when sound."""
        try:
            rows = [r for (r,) in self._conn.execute("PRAGMA quick_check(20)")]
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged(self.path or "(memory)", exc) from None
            raise
        if rows == ["ok"]:
            return []
        found = [r for r in rows if not r.startswith("*** in database")]  # a heading, not a problem
        return found or rows

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the whole ledger (SQLite's online backup), private like the ledger."""
        os.close(os.open(target, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600))
        copy = sqlite3.connect(target)
        try:
            self._conn.backup(copy)
        except sqlite3.DatabaseError as exc:  # the copy's disk full or failing, or this ledger damaged
            raise storage_error(exc, self.path) or StateError(f"{target}: the copy failed: {exc}") from None
        finally:
            copy.close()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        c = self._conn
        if c.in_transaction:  # nested use joins the outer transaction
            yield
            return
        c.execute("BEGIN IMMEDIATE")
        try:
            yield
            c.execute("COMMIT")
        except BaseException as exc:
            if c.in_transaction:  # a failed COMMIT (disk full) leaves the transaction open
                c.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError) and (said := self._storage_error(exc)) is not None:
                raise said from None
            raise

    # -- people and addresses ---------------------------------------------

    def person_for_address(self, address: str, name: str = "") -> int:
        """The person behind ``address``, created on first sight.

        The address keeps the last non-empty display name it is given: a later bare
        ``From: anna@example.com`` never erases "Anna Berg", and "Anna Berg-Lund" after a
        marriage replaces it. The person's name follows for someone met in mail, while it
        is blank or still that header name. A configured or imported person keeps the name
        the user gave (blank included): headers never rename them.

        "Last given" is "most recent" only as far as callers call in time order.
        relations.ingest_mail and ingest_events do so within one sync; across syncs and
        accounts the last one ingested wins, so an old message first seen late (another
        account's first sync, a message moved between folders) can bring an old name back.
        """
        c = self._conn
        name = _header_name(name, address)
        row = c.execute("SELECT person_id, display_name FROM addresses WHERE address = ?", (address,)).fetchone()
        if row:
            person_id, known = int(row[0]), row[1]
            if name and name != known:
                c.execute("UPDATE addresses SET display_name = ? WHERE address = ?", (name, address))
                c.execute(
                    "UPDATE people SET name = ? WHERE id = ? AND configured = 0 AND source IN ('', 'mail') "
                    "AND name IN ('', ?)",
                    (name, person_id, known),
                )
            return person_id
        cur = c.execute(
            "INSERT INTO people (name, created_at) VALUES (?, ?)", (name, iso(datetime.now(UTC)))
        )
        person_id = int(cur.lastrowid or 0)
        c.execute(
            "INSERT INTO addresses (address, person_id, display_name) VALUES (?, ?, ?)",
            (address, person_id, name),
        )
        return person_id

    def merge_people(self, keep: int, others: Iterable[int]) -> None:
        """Fold ``others`` into ``keep``: addresses, interactions, drafts, intros."""
        c = self._conn
        for other in others:
            if other == keep:
                continue
            c.execute("UPDATE addresses SET person_id = ? WHERE person_id = ?", (keep, other))
            c.execute(
                "INSERT OR IGNORE INTO interactions SELECT account, source_id, ?, channel, at, thread, title "
                "FROM interactions WHERE person_id = ?",
                (keep, other),
            )
            c.execute("DELETE FROM interactions WHERE person_id = ?", (other,))
            c.execute("UPDATE outbox SET person_id = ? WHERE person_id = ?", (keep, other))
            c.execute("UPDATE intros SET person_a = ? WHERE person_a = ?", (keep, other))
            c.execute("UPDATE intros SET person_b = ? WHERE person_b = ?", (keep, other))
            c.execute("DELETE FROM people WHERE id = ?", (other,))

    def apply_configured_person(self, name: str, emails: list[str]) -> int | None:
        """Make one ``[[people]]`` entry a single person holding all its addresses."""
        if not emails:
            return None
        ids = [self.person_for_address(e, name) for e in emails]
        keep = min(ids)
        self.merge_people(keep, set(ids))
        self._conn.execute(
            "UPDATE people SET configured = 1, name = CASE WHEN ? != '' THEN ? ELSE name END WHERE id = ?",
            (name, name, keep),
        )
        return keep

    def addresses_of(self, person_id: int) -> list[str]:
        rows = self._conn.execute(
            "SELECT address FROM addresses WHERE person_id = ? ORDER BY address", (person_id,)
        )
        return [r[0] for r in rows]

    def address_used(self, times: dict[str, datetime]) -> None:
        """Record when each address was last seen in mail or a meeting (the later time wins)."""
        self._conn.executemany(
            "UPDATE addresses SET last_at = ? WHERE address = ? AND (last_at IS NULL OR last_at < ?)",
            ((iso(at), address, iso(at)) for address, at in times.items()),
        )

    def my_address_used(self, via: dict[int, tuple[str, datetime]]) -> None:
        """Record which of my addresses each person was last in touch with (the later time wins)."""
        self._conn.executemany(
            "UPDATE people SET via = ?, via_at = ? WHERE id = ? AND (via_at IS NULL OR via_at <= ?)",
            ((addr, iso(at), pid, iso(at)) for pid, (addr, at) in via.items()),
        )

    def my_address_for(self, person_id: int) -> str | None:
        """The address of mine this person and I last used, if one was seen."""
        row = self._conn.execute("SELECT via FROM people WHERE id = ?", (person_id,)).fetchone()
        return row[0] if row and row[0] else None

    def latest_address(self, person_id: int) -> str | None:
        """The address this person used most recently, if any was seen in mail or a meeting."""
        row = self._conn.execute(
            "SELECT address FROM addresses WHERE person_id = ? AND last_at IS NOT NULL "
            "ORDER BY last_at DESC, address LIMIT 1",
            (person_id,),
        ).fetchone()
        return row[0] if row else None

    def all_addresses(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for address, pid in self._conn.execute("SELECT address, person_id FROM addresses ORDER BY address"):
            out.setdefault(pid, []).append(address)
        return out

    def people_with_addresses(self, addresses: list[str]) -> set[int]:
        rows = self._conn.execute(
            "SELECT person_id FROM addresses WHERE address IN (SELECT value FROM json_each(?))",
            (json.dumps(addresses),),
        )
        return {pid for (pid,) in rows}

    def people_with_linkedin(self, urls: list[str]) -> set[int]:
        rows = self._conn.execute(
            "SELECT id FROM people WHERE linkedin IN (SELECT value FROM json_each(?))", (json.dumps(urls),)
        )
        return {pid for (pid,) in rows}

    def names_and_links(self) -> list[tuple[int, str, str]]:
        """(id, name, profile link) of every named person: an import with no address merges by name."""
        return self._conn.execute("SELECT id, name, linkedin FROM people WHERE name <> ''").fetchall()

    def configured_without_address(self, name: str, linkedin: str) -> int:
        """A ``[[people]]`` entry known only by its LinkedIn profile: one row, found again by URL."""
        row = self._conn.execute("SELECT id FROM people WHERE linkedin = ? ORDER BY id LIMIT 1", (linkedin,)).fetchone()
        if row:
            self._conn.execute("UPDATE people SET configured = 1, name = ? WHERE id = ?", (name, row[0]))
            return int(row[0])
        cur = self._conn.execute(
            "INSERT INTO people (name, configured, linkedin, source, created_at) VALUES (?, 1, ?, 'config', ?)",
            (name, linkedin, iso(datetime.now(UTC))),
        )
        return int(cur.lastrowid or 0)

    def person_name(self, person_id: int) -> str:
        row = self._conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
        return str(row[0]) if row else ""

    def person_names(self) -> dict[int, str]:
        return dict(self._conn.execute("SELECT id, name FROM people").fetchall())

    def configured_among(self, person_ids: set[int]) -> set[int]:
        """Which of these people a ``[[people]]`` entry names."""
        marks = ",".join("?" * len(person_ids))
        rows = self._conn.execute(
            f"SELECT id FROM people WHERE configured = 1 AND id IN ({marks})", sorted(person_ids)
        )
        return {int(r[0]) for r in rows}

    def add_imported_person(
        self, *, name: str, company: str, title: str, linkedin: str, source: str, emails: list[str], now: datetime
    ) -> int:
        """A person from a LinkedIn or vCard import (``source``), with their addresses; their id."""
        cur = self._conn.execute(
            "INSERT INTO people (name, company, title, linkedin, source, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (name, company, title, linkedin, source, iso(now)),
        )
        for e in emails:
            self._conn.execute(
                "INSERT INTO addresses (address, person_id, display_name) VALUES (?, ?, ?)", (e, cur.lastrowid, name)
            )
        return int(cur.lastrowid or 0)

    def attach_address(self, person_id: int, address: str, name: str) -> bool:
        """Give this person ``address`` unless someone has it; True when it was added."""
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO addresses (address, person_id, display_name) VALUES (?, ?, ?)",
            (address, person_id, name),
        )
        return cur.rowcount == 1

    def fill_person_blanks(self, person_id: int, *, name: str, company: str, title: str, linkedin: str) -> bool:
        """Set each given value only where that column is empty; True when any was set."""
        changed = 0
        for column, value in (("name", name), ("company", company), ("title", title), ("linkedin", linkedin)):
            if value:
                changed += self._conn.execute(_FILL_BLANK[column], (value, person_id)).rowcount
        return changed > 0

    def learn_list_addresses(self, found: dict[str, tuple[str, datetime]]) -> None:
        """Remember mailing-list addresses: address -> (its List-Id, when seen)."""
        self._conn.executemany(
            "INSERT OR IGNORE INTO list_addresses (address, list_id, seen_at) VALUES (?, ?, ?)",
            [(address, list_id, iso(at)) for address, (list_id, at) in found.items()],
        )

    def list_addresses(self) -> frozenset[str]:
        return frozenset(a for (a,) in self._conn.execute("SELECT address FROM list_addresses"))

    def remember_skip(self, account: str, place: str, why: str, at: datetime) -> bool:
        """Note an input ``account`` could not use; True the first time this place is skipped for this reason."""
        row = self._conn.execute(
            "SELECT why FROM skipped_inputs WHERE account = ? AND place = ?", (account, place)
        ).fetchone()
        self._conn.execute(
            "INSERT INTO skipped_inputs (account, place, why, first_at, last_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (account, place) DO UPDATE SET why = excluded.why, last_at = excluded.last_at",
            (account, place, why, iso(at), iso(at)),
        )
        return row is None or row[0] != why

    def forget_skips_before(self, before: datetime) -> None:
        self._conn.execute("DELETE FROM skipped_inputs WHERE last_at < ?", (iso(before),))

    def skipped_inputs(self, since: datetime | None = None) -> list[tuple[str, str, str, datetime | None]]:
        """(account, place, why, last seen) of each skipped input, the latest first."""
        rows = self._conn.execute(
            "SELECT account, place, why, last_at FROM skipped_inputs WHERE last_at >= ? ORDER BY last_at DESC,"
            " account, place", (iso(since) if since else "",),
        )
        return [(account, place, why, parse_iso(at)) for account, place, why, at in rows]

    def set_skipped(self, person_id: int, at: datetime | None) -> None:
        self._conn.execute("UPDATE people SET skipped_at = ? WHERE id = ?", (iso(at) if at else None, person_id))

    def set_snooze(self, person_id: int, until: datetime | None) -> None:
        self._conn.execute(
            "UPDATE people SET snoozed_until = ? WHERE id = ?", (iso(until) if until else None, person_id)
        )

    # -- interactions -------------------------------------------------------

    def add_interactions(self, account: str, source_id: str, rows: Iterable[Interaction]) -> int:
        added = 0
        for r in rows:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO interactions (account, source_id, person_id, channel, at, thread, title) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account, source_id, r.person_id, r.channel, iso(r.at), r.thread, r.title),
            )
            added += cur.rowcount
        return added

    def forget_source(self, account: str, source_id: str) -> None:
        self._conn.execute(
            "DELETE FROM interactions WHERE account = ? AND source_id = ?", (account, source_id)
        )

    def forget_channels(self, account: str, channels: tuple[str, ...]) -> None:
        marks = ",".join("?" * len(channels))
        self._conn.execute(
            f"DELETE FROM interactions WHERE account = ? AND channel IN ({marks})", (account, *channels)
        )

    def interaction_count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])

    def has_synced(self) -> bool:
        """An account has finished a sync (its cursor is written only then), or an interaction is stored."""
        row = self._conn.execute(
            "SELECT EXISTS (SELECT 1 FROM cursors) OR EXISTS (SELECT 1 FROM interactions)"
        ).fetchone()
        return bool(row[0])

    # -- cursors --------------------------------------------------------------

    def cursor(self, account: str, role: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT value FROM cursors WHERE account = ? AND role = ?", (account, role)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def set_cursor(self, account: str, role: str, value: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO cursors (account, role, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account, role) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (account, role, json.dumps(value, sort_keys=True), iso(datetime.now(UTC))),
        )

    def cursor_times(self) -> dict[tuple[str, str], datetime]:
        rows = self._conn.execute("SELECT account, role, updated_at FROM cursors")
        return {(a, r): parse_iso(t) for a, r, t in rows}  # type: ignore[misc]

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
