"""When each account polls next: its own interval, and its own backoff when it fails."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import Settings
from ..config.durations import parse_poll_interval

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 15 * 60.0
MAX_BACKOFF_SECONDS = 6 * 3600.0  # a dead server is retried at least four times a day


def poll_intervals(settings: Settings, default: float) -> dict[str, float]:
    """Each account's poll interval; ``poll_interval`` on the account when config has it."""
    out = {}
    for account in settings.accounts:
        raw = getattr(account, "poll_interval", None)
        out[account.name] = parse_poll_interval(raw) if raw is not None else default
    return out


def backoff_seconds(interval: float, failures: int) -> float:
    """The wait after ``failures`` failures in a row: doubling, capped (never below the interval)."""
    if failures <= 0:
        return interval
    return min(interval * 2.0 ** failures, max(interval, MAX_BACKOFF_SECONDS))


# -- schedule --------------------------------------------------------------------------


@dataclass
class AccountState:
    name: str
    kind: str
    interval: float
    next_due: float = 0.0  # virtual monotonic seconds
    last_attempt: float | None = None
    last_sync: datetime | None = None
    last_error: str = ""
    last_error_fields: dict[str, Any] | None = None  # statusfile.error_fields: `status` words the fix from them
    failures: int = 0
    revoked: str = ""  # set: paused until the config is reloaded (the credential no longer works)
    misconfigured: str = ""  # set: paused until the config is reloaded (e.g. a certificate refused)

    @property
    def paused(self) -> bool:
        # Neither heals by retrying: backing off would only say the same failure four times a day.
        return bool(self.revoked or self.misconfigured)

    def succeeded(self, mono: float, now: datetime) -> None:
        self.last_attempt, self.last_sync = mono, now
        self.failures, self.last_error, self.last_error_fields = 0, "", None
        self.next_due = mono + self.interval

    def failed(self, mono: float, error: str, fields: dict[str, Any] | None = None) -> None:
        self.last_attempt, self.last_error, self.last_error_fields = mono, error, fields
        self.failures += 1
        self.next_due = mono + backoff_seconds(self.interval, self.failures)

    def retime(self, interval: float) -> None:
        """A new interval applies from the last attempt, so a shorter one takes effect at once."""
        self.interval = interval
        if self.last_attempt is not None:
            self.next_due = self.last_attempt + backoff_seconds(interval, self.failures)


class Schedule:
    def __init__(self) -> None:
        self.accounts: dict[str, AccountState] = {}
        self._configs: dict[str, Any] = {}

    def update(self, settings: Settings, intervals: Mapping[str, float]) -> None:
        """Adopt new settings: unchanged accounts keep their history, changed ones sync now."""
        fresh: dict[str, AccountState] = {}
        for account in settings.accounts:
            old = self.accounts.get(account.name)
            if old is not None and self._configs.get(account.name) == account:
                old.retime(intervals[account.name])
                if old.paused:
                    # A reload is how the user says "I re-authorised" or "I fixed it" (a CA file
                    # replaced where ca_file points leaves the config as it was): try it now.
                    old.revoked = old.misconfigured = ""
                    old.next_due = 0.0
                fresh[account.name] = old
            else:
                fresh[account.name] = AccountState(account.name, account.kind, intervals[account.name])
        self.accounts = fresh
        self._configs = {a.name: a for a in settings.accounts}

    def due(self, mono: float) -> list[str]:
        return [s.name for s in self.accounts.values() if not s.paused and s.next_due <= mono]

    def next_due(self) -> float | None:
        waiting = [s.next_due for s in self.accounts.values() if not s.paused]
        return min(waiting) if waiting else None

    def all_revoked(self) -> bool:
        # Only credentials: an account paused on its configuration resumes when the edited file is
        # seen, so the service stays to see it.
        return bool(self.accounts) and all(s.revoked for s in self.accounts.values())


# -- config file watch -------------------------------------------------------------------
