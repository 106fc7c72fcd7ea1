"""A damaged ledger: found before anything writes to it, said in one line, and recovered.

SQLite reports a damaged file (a disk that lied, a copy taken mid-write) as SQLITE_CORRUPT or
SQLITE_NOTADB. Whoever writes (``run``, ``run --once``, ``plan --sync``) runs a quick check
first and refuses a damaged ledger instead of writing on; ``doctor`` runs the same check;
every other command turns the error into one line. Once a day, after a check that passed,
the writer keeps a copy (SQLite's online backup, consistent while others read) beside the
ledger: ``circleback ledger recover`` puts it back, or lets the next run rebuild from the
accounts when there is none.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import LedgerDamaged
from ..store.ledger import Ledger, damaged, is_damage
from ..store.timestamps import utcnow

BACKUP_NAME = "ledger.backup.sqlite3"
BACKUP_EVERY = timedelta(days=1)

# What a rebuild from the accounts brings back and what it cannot.
REBUILT = "who you were in touch with and when (read again from your accounts)"
LOST = ("your snoozes and skips, introductions in flight, and the record of drafts you deleted "
        "(their cool-down)")


def problems(ledger: Ledger) -> list[str]:
    """What ``PRAGMA quick_check`` finds wrong; [] for a sound file."""
    try:
        return ledger.quick_check()
    except LedgerDamaged as exc:
        return [str(exc)]


def summary(found: list[str]) -> str:
    """One line for what the check found: the first problem, and how many more."""
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return f"{found[0]}{more}"


def check(ledger: Ledger) -> None:
    """Raise :class:`LedgerDamaged` for a damaged ledger."""
    found = problems(ledger)
    if found:
        raise damaged(ledger.path, summary(found))


def backup_path(state_dir: Path) -> Path:
    return state_dir / BACKUP_NAME


def keep_a_copy(ledger: Ledger, state_dir: Path, now: datetime | None = None) -> bool:
    """Copy a sound ledger beside it, at most once a day; whether a copy was made.

    The copy is checked first: a damaged ledger never replaces the last sound copy.
    """
    target = backup_path(state_dir)
    now = now or utcnow()
    if target.exists() and now - datetime.fromtimestamp(target.stat().st_mtime, UTC) < BACKUP_EVERY:
        return False
    check(ledger)
    temporary = target.with_name(target.name + ".tmp")
    try:
        ledger.backup_to(temporary)
        temporary.replace(target)  # a crash mid-copy never leaves half a backup under the real name
    finally:
        temporary.unlink(missing_ok=True)
    return True


@dataclass(slots=True)
class Recovery:
    sound: bool  # nothing was wrong: nothing was done
    moved_to: Path | None = None  # where the damaged file went
    restored_from: Path | None = None  # the copy put back, if any
    copy_date: datetime | None = None

    def lines(self) -> list[str]:
        if self.sound:
            return ["The ledger is sound: nothing to recover."]
        out = [f"The damaged ledger is kept at {self.moved_to}." if self.moved_to else "There was no ledger."]
        if self.restored_from is not None:
            out.append(f"Restored the copy of {self.copy_date:%Y-%m-%d %H:%M} UTC; the next run brings it up to "
                       "date from your accounts.")
        else:
            out.append(f"No sound copy to restore: the next run rebuilds {REBUILT}. Lost: {LOST}.")
        out.append("Drafts already in your Drafts folder are recognised by their key and never written twice.")
        return out


def recover(state_dir: Path, ledger_file: Path, now: datetime | None = None) -> Recovery:
    """Move a damaged ledger aside and put the last sound copy in its place (or nothing)."""
    moved: Path | None = None
    if ledger_file.exists():
        if _sound(ledger_file):  # anything but damage (a newer schema, a full disk) is raised: nothing moves
            return Recovery(sound=True)
        moved = _aside(ledger_file, (now or utcnow()).strftime("%Y%m%dT%H%M%S"))
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{ledger_file}{suffix}")
            if part.exists():
                part.replace(Path(f"{moved}{suffix}"))
    copy = backup_path(state_dir)
    if copy.exists() and _sound(copy):
        when = datetime.fromtimestamp(copy.stat().st_mtime, UTC)
        with Ledger.open(copy) as source:  # a consistent copy, not a file copy of a WAL database
            source.backup_to(ledger_file)
        return Recovery(False, moved, copy, when)
    return Recovery(False, moved)


def _aside(ledger_file: Path, stamp: str) -> Path:
    """A name for the damaged file that no earlier recovery took."""
    target, n = ledger_file.with_name(f"ledger.damaged-{stamp}.sqlite3"), 1
    while target.exists():
        n += 1
        target = ledger_file.with_name(f"ledger.damaged-{stamp}-{n}.sqlite3")
    return target


def _sound(path: Path) -> bool:
    """Is this ledger free of damage? Other trouble (a newer schema, a full disk) is raised, not called damage."""
    try:
        with Ledger.open(path) as ledger:
            return not problems(ledger)
    except LedgerDamaged:
        return False
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return False
        raise
