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

from platformdirs import user_config_path, user_state_path

from circleback.connectors.base import Connector, ConnectorContext
from circleback.connectors.registry import open_connector

from .config import Settings
from .errors import StateError
from .ledger import Ledger
from .planner import Standing, assess
from .relations import Contact

APP = "circleback"


def default_config_path() -> Path:
    return user_config_path(APP) / "config.toml"


def default_state_dir() -> Path:
    return user_state_path(APP)


def ledger_path(state_dir: Path) -> Path:
    return state_dir / "ledger.sqlite3"


def open_state(state_dir: Path) -> Ledger:
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StateError(f"{state_dir}: cannot create the state directory: {exc}") from None
    return Ledger.open(ledger_path(state_dir))


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[None]:
    """One circleback at a time per state directory (two could race on a draft)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / "circleback.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
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


def open_connectors(settings: Settings, now: datetime | None = None) -> dict[str, Connector]:
    context = ConnectorContext(
        my_addresses=frozenset(settings.me.addresses),
        lookback_days=settings.sync.lookback.total_seconds() / 86400,
        lookahead_days=settings.sync.lookahead.total_seconds() / 86400,
        timezone=settings.me.timezone,
        now=now,
    )
    return {a.name: open_connector(a, context) for a in settings.accounts}


def close_connectors(connectors: dict[str, Connector]) -> None:
    for conn in connectors.values():
        conn.close()


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- status ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthGoal:
    month: str
    people: int
    goal: int


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


def standings(ledger: Ledger, settings: Settings, now: datetime) -> list[Standing]:
    return assess(ledger, settings, now)
