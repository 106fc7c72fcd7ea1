"""What the CLI commands do, without the CLI: open state, run cycles, build reports.

``cli.py`` parses arguments and prints; everything here takes plain values
and returns plain data, so tests and the service loop use it directly.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from circleback.connectors.base import Connector, ConnectorContext
from circleback.connectors.registry import open_connector

from .config import Settings
from .errors import StateError
from .ledger import Ledger, iso
from .planner import Standing, assess, mark_suggested
from .relations import Contact

APP = "circleback"


def default_config_path() -> Path:
    from platformdirs import user_config_path  # imported here: not needed when --config is given

    return user_config_path(APP) / "config.toml"


def default_state_dir() -> Path:
    from platformdirs import user_state_path

    return user_state_path(APP)


def ledger_path(state_dir: Path) -> Path:
    return state_dir / "ledger.sqlite3"


def _usable_state_dir(state_dir: Path) -> None:
    """Create the state directory if need be; a StateError naming it and the problem if it cannot be used."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        raise StateError(f"{state_dir}: exists and is not a directory; pass another --state-dir") from None
    except OSError as exc:
        raise StateError(f"{state_dir}: cannot create the state directory ({exc.strerror}); "
                         "pass another --state-dir") from None
    # os.access, not a test write: it answers for the real user without leaving a file behind.
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise StateError(f"{state_dir}: the state directory is not writable; "
                         "fix its permissions or pass another --state-dir")


def open_state(state_dir: Path) -> Ledger:
    _usable_state_dir(state_dir)
    return Ledger.open(ledger_path(state_dir))


def never_synced(ledger: Ledger) -> bool:
    """No account has finished a sync (its cursor is written only then) and the ledger holds no interaction."""
    row = ledger.conn.execute(
        "SELECT EXISTS (SELECT 1 FROM cursors) OR EXISTS (SELECT 1 FROM interactions)"
    ).fetchone()
    return not row[0]


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[None]:
    """One circleback at a time per state directory (two could race on a draft)."""
    _usable_state_dir(state_dir)
    path = state_dir / "circleback.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"{path}: cannot open the lock file ({exc.strerror}); "
                         "fix the state directory's permissions or pass another --state-dir") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StateError(
                f"{state_dir}: another circleback (pid {holder}) is using this state directory; "
                "stop it first or pass another --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def open_connectors(settings: Settings, now: datetime | None = None, *,
                    state_dir: Path | None) -> dict[str, Connector]:
    """One connector per account; OAuth tokens are looked up in ``state_dir/tokens`` (as ``auth`` writes them).

    ``state_dir`` is required so no caller quietly gets the pre-``--state-dir`` token location;
    None is for ``doctor`` on an unusable state directory, which opens connectors but reads no token.
    """
    context = ConnectorContext(
        my_addresses=frozenset(settings.me.addresses),
        lookback_days=settings.sync.lookback.total_seconds() / 86400,
        lookahead_days=settings.sync.lookahead.total_seconds() / 86400,
        timezone=settings.me.timezone,
        now=now,
        state_dir=state_dir,
    )
    return {a.name: open_connector(a, context) for a in settings.accounts}


def close_connectors(connectors: dict[str, Connector]) -> None:
    for conn in connectors.values():
        conn.close()


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)  # the ledger and mail dates keep whole seconds


# -- status ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthGoal:
    month: str
    people: int
    goal: int

    @property
    def met(self) -> bool:
        return self.goal > 0 and self.people >= self.goal


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def person_json(s: Standing) -> dict[str, Any]:
    c: Contact = s.contact
    return {
        "name": c.display_name,
        "emails": c.emails,
        "group": c.profile.group if c.profile else "",
        "last_contact": _iso(c.last_contact),
        "last_channel": c.last_channel or None,
        "last_sent": _iso(c.last_sent),
        "last_received": _iso(c.last_received),
        "last_met": _iso(c.last_met),
        "next_meeting": _iso(c.next_meeting),
        "ball_in_my_court": c.ball_in_my_court,
        "due": s.due,
        "reason": s.reason,
        "named": c.configured or c.imported,
        "cadence_days": round(s.cadence.total_seconds() / 86400, 2),
        "overdue": round(s.overdue, 3),
    }


def month_goal(ledger: Ledger, settings: Settings, now: datetime) -> MonthGoal:
    local = now.astimezone(settings.me.zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    (n,) = ledger.conn.execute(
        "SELECT COUNT(DISTINCT person_id) FROM interactions WHERE at >= ? AND at <= ? "
        "AND channel IN ('sent', 'met')",
        (start.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ).fetchone()
    return MonthGoal(f"{local:%B %Y}", int(n), settings.goals.people_per_month)


# What counts towards the goal: reaching out (a note sent, a meeting held), not mail received.
_GOAL_CHANNELS = ("sent", "met")


def _month_of(at: str, zone: ZoneInfo) -> tuple[int, int]:
    local = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(zone)
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
    rows = ledger.conn.execute(
        f"SELECT person_id, at FROM interactions WHERE channel IN ({','.join('?' * len(_GOAL_CHANNELS))}) "
        "AND at <= ? ORDER BY at DESC",
        (*_GOAL_CHANNELS, iso(now)),
    )
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


def standings(ledger: Ledger, settings: Settings, now: datetime, *, marked: int = 0) -> list[Standing]:
    """Everyone's standing; the first ``marked`` rows also say whether they are only a suggestion.

    Whether an unnamed person is close enough for notes reads their history: `status` asks it
    of the rows it shows, not of 50,000 people.
    """
    rows = assess(ledger, settings, now)
    if marked:
        mark_suggested(ledger, settings, rows[:marked], now)
    return rows
