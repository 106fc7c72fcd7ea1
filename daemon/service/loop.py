"""``circleback run``: one process, one scheduler over every account (docs/DESIGN.md, "Service").

Each account polls at its own interval and backs off on its own when it fails;
drafting happens in the same tick, through the same :class:`Engine` as
``run --once``. Config edits apply without a restart (SIGHUP, or the file's
content changing); an invalid file keeps the running settings and says why in
one log line and in ``state_dir/service-status.json``. systemd hears READY,
STATUS, WATCHDOG (only after real progress), RELOADING and STOPPING.

This module wires things together; it knows nothing of click (docs/STYLE.md #1).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from circleback.connectors.base import Connector
from circleback.connectors.errors import AccountConfigError, AuthRevoked, CertificateRefused

from ..app.session import Session
from ..app.statusfile import error_fields, status_path, write_status
from ..config import Settings, load_settings, what_changed
from ..core import faults
from ..core.engine import AccountReport, CycleReport, Engine, account_error
from ..core.planner import BUDGETED_KINDS
from ..errors import AllAccountsRevoked, CirclebackError, ConfigError
from ..store.ledger import Ledger
from ..store.timestamps import iso, iso_or_none
from .clock import ServiceClock
from .schedule import AccountState, Schedule, poll_intervals
from .sdnotify import Notifier, watchdog_seconds
from .watch import CONFIG_CHECK_SECONDS, ConfigWatcher

log = logging.getLogger(__name__)



class _StopRequested(Exception):
    """SIGTERM arrived during a sync: the synced accounts are committed, drafting is skipped."""


class _DueView(Mapping[str, Connector]):
    """The due connectors, in order; iteration stops early once a stop is requested."""

    def __init__(self, connectors: Mapping[str, Connector], due: Sequence[str], stop: threading.Event) -> None:
        self._connectors = connectors
        self._due = [n for n in due if n in connectors]
        self._stop = stop

    def __getitem__(self, name: str) -> Connector:
        if name not in self._due:
            raise KeyError(name)
        return self._connectors[name]

    def __iter__(self) -> Iterator[str]:
        for name in self._due:
            if self._stop.is_set():
                return  # checked between accounts: what synced is committed
            yield name

    def __len__(self) -> int:
        return len(self._due)


class ScheduledEngine(Engine):
    """Engine whose sync touches only the accounts due now; drafting still sees every account."""

    def __init__(self, *args: Any, stop: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stop = stop
        self.due: Sequence[str] = ()
        self.synced: list[AccountReport] = []

    def run_due(self, due: Sequence[str], now: datetime) -> CycleReport:
        self.due, self.synced = due, []
        return self.run_cycle(now)

    def sync(self) -> list[AccountReport]:
        everything = self.connectors
        self.connectors = _DueView(everything, self.due, self.stop)
        try:
            self.synced = super().sync()
        finally:
            self.connectors = everything
        if self.stop.is_set():
            raise _StopRequested
        return self.synced


# -- the service --------------------------------------------------------------------------


class Service:
    """The long-running loop. ``run()`` returns 0 after SIGTERM or raises a CirclebackError."""

    def __init__(self, config_path: Path, state_dir: Path, settings: Settings, *, default_interval: float,
                 clock: ServiceClock | None = None, notifier: Notifier | None = None) -> None:
        self.config_path = config_path
        self.state_dir = state_dir
        self.settings = settings
        self.default_interval = default_interval
        self.clock = clock or ServiceClock()
        self.notifier = notifier or Notifier.from_env()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.reload_requested = False
        self.watcher = ConfigWatcher(config_path)
        self.schedule = Schedule()
        # Open while run() runs: the instance lock, held until its connectors and ledger are closed.
        self.session = Session(settings, state_dir, engine=self._engine)
        self.reload_error: str | None = None
        self.reload_error_at: datetime | None = None
        self.loaded_at = self.clock.now()
        self.started_at = self.loaded_at
        self.last_tick: datetime | None = None
        self.drafts_this_week = 0
        self.final_state = "stopped"
        self.cycles = 0  # completed sync+draft cycles since start (the soak benchmark counts them)
        self.drafts_problem = ""  # why the last cycle could not write the drafts it wanted, or ""

    # -- signals ---------------------------------------------------------------

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stop.set()
        self.wake.set()

    def _on_hup(self, signum: int, _frame: FrameType | None) -> None:
        self.reload_requested = True
        self.wake.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    # -- lifecycle ---------------------------------------------------------------

    def run(self) -> int:
        self.install_signal_handlers()
        self.watcher.remember()
        with self.session:
            try:
                self._apply(self.settings)
                self._refresh_drafts_count()
                self._publish("running")
                self.notifier.ready(self.summary())
                log.info("started: %d account(s), pid %d", len(self.settings.accounts), os.getpid())
                while not self.stop.is_set():
                    self.tick()
                    self._sleep()
                log.info("stopping on signal; state committed")
                return 0
            finally:
                self.notifier.stopping()
                self._publish(self.final_state)

    def _engine(self, settings: Settings, ledger: Ledger, connectors: dict[str, Connector]) -> ScheduledEngine:
        return ScheduledEngine(settings, ledger, connectors, stop=self.stop, checkpoint=self._checkpoint)

    @property
    def connectors(self) -> dict[str, Connector]:
        return self.session.connectors

    @property
    def engine(self) -> ScheduledEngine:
        engine = self.session.engine
        assert isinstance(engine, ScheduledEngine)
        return engine

    def tick(self) -> None:
        """One pass of the loop: reload if asked, sync and draft what is due, ping the watchdog."""
        self._maybe_reload()
        due = self.schedule.due(self.clock.monotonic())
        if due and not self.stop.is_set():
            self._cycle(due)
            if self.schedule.all_revoked():
                self.final_state = "exited: every account's credential was revoked"
                raise AllAccountsRevoked("every account's credential was revoked",
                                         remedy="re-authorise, then restart circleback")
        # Reached only when the tick completed: a hung sync never gets here, so systemd's
        # watchdog fires and restarts us (WatchdogSec= in the unit).
        self.notifier.watchdog()

    def _sleep(self) -> None:
        waits = [CONFIG_CHECK_SECONDS]
        upcoming = self.schedule.next_due()
        if upcoming is not None:
            waits.append(self.clock.real_seconds(upcoming - self.clock.monotonic()))
        period = watchdog_seconds()
        if period:
            waits.append(period / 3)  # systemd recommends pinging at half the period; a third is safer
        if not self.stop.is_set() and not self.reload_requested:
            self.wake.wait(max(0.0, min(waits)))
        self.wake.clear()

    # -- settings ---------------------------------------------------------------

    def _apply(self, settings: Settings) -> None:
        intervals = poll_intervals(settings, self.default_interval)
        self.session.adopt(settings)  # closes every connector; the engine is rebuilt for these settings
        self.settings = settings
        self.schedule.update(settings, intervals)
        for account in settings.accounts:
            self._open(account.name)

    def _open(self, name: str) -> bool:
        """Build one account's connector; a failure counts against that account only."""
        if name in self.connectors:
            return True
        now = self.clock.now() if self.clock.artificial else None
        try:
            self.session.connect(now, only=name)
        except AuthRevoked as exc:
            self._revoked(name, account_error(name, exc), exc)
            return False
        except AccountConfigError as exc:
            self._misconfigured(name, account_error(name, exc), exc)
            return False
        except (CirclebackError, OSError, ValueError) as exc:
            why = account_error(name, exc)
            self.schedule.accounts[name].failed(self.clock.monotonic(), why, error_fields(name, exc))
            log.warning("account %s: cannot open: %s", name, why)
            return False
        return True

    def _maybe_reload(self) -> None:
        forced = self.reload_requested
        self.reload_requested = False
        if not (self.watcher.changed() or forced):
            return
        self.notifier.reloading()
        try:
            settings = load_settings(self.config_path)
        except ConfigError as exc:
            self.reload_error = str(exc).replace("\n", "; ")
            self.reload_error_at = self.clock.now()
            log.error("config not reloaded, keeping the running settings: %s", self.reload_error)
        else:
            changed = what_changed(self.settings, settings)
            self._apply(settings)
            self.reload_error = self.reload_error_at = None
            self.loaded_at = self.clock.now()
            log.info("config reloaded: %s", changed)
        self._publish("running")
        self.notifier.send(READY=1, STATUS=self.summary())  # READY=1 ends the reload for systemd

    # -- one cycle ----------------------------------------------------------------

    def _cycle(self, due: list[str]) -> None:
        due = [name for name in due if self._open(name)]
        if not due:
            return
        mono, now = self.clock.monotonic(), self.clock.now()
        try:
            report = self.engine.run_due(due, now)
        except _StopRequested:
            self._record(self.engine.synced, mono, now)
            return
        except CirclebackError as exc:
            log.error("cycle failed: %s", exc)  # e.g. the templates: every due account waits and retries
            for name in due:
                self.schedule.accounts[name].failed(mono, str(exc))
            return
        self._record(report.accounts, mono, now)
        self.drafts_problem = report.drafts_problem  # the last cycle's: a cycle that writes clears it
        self.cycles += 1
        self._log_cycle(report)
        self.last_tick = now
        self._refresh_drafts_count()
        self.session.keep_a_copy()  # once a day, after a cycle that finished
        self._publish("running")
        self.notifier.status(self.summary())

    def _record(self, reports: Sequence[AccountReport], mono: float, now: datetime) -> None:
        for rep in reports:
            if rep.needs_auth:
                self._revoked(rep.name, rep.error, rep.failure)
            elif rep.needs_config:
                self._misconfigured(rep.name, rep.error, rep.failure)
            elif rep.error:
                self.schedule.accounts[rep.name].failed(mono, rep.error, error_fields(rep.name, rep.failure))
                log.warning("account %s: sync failed: %s", rep.name, rep.error)
            else:
                self.schedule.accounts[rep.name].succeeded(mono, now)

    def _revoked(self, name: str, why: str, failure: BaseException | None) -> None:
        state = self._pause(name, why, failure)
        state.revoked = why
        from ..app.suggest import account_failure  # the command to run, with this service's --config/--state-dir

        log.error("account %s: paused, credential revoked: %s (re-authorise, then reload)", name,
                  account_failure(self, name, failure) if failure is not None else why)

    def _misconfigured(self, name: str, why: str, failure: BaseException | None) -> None:
        """Pause an account that cannot work as configured: its server presents the same certificate
        next time, so retrying (backing off until six hours apart) only repeats the line; the
        config edit that fixes it is what resumes it."""
        self._pause(name, why, failure).misconfigured = why
        if isinstance(failure, CertificateRefused):
            config = next((a for a in self.settings.accounts if a.name == name), None)
            keys = "ca_file or verify_tls" if hasattr(config, "verify_tls") else "ca_file"
            what = f"change the account's {keys} in the config"
        else:
            what = "change the account in the config"
        log.error("account %s: paused, cannot work as configured: %s (%s; it resumes when the config is reloaded)",
                  name, why, what)

    def _pause(self, name: str, why: str, failure: BaseException | None) -> AccountState:
        state = self.schedule.accounts[name]
        state.last_error = why
        state.last_error_fields = error_fields(name, failure)
        connector = self.connectors.pop(name, None)
        if connector is not None:
            connector.close()
        return state

    def _log_cycle(self, report: CycleReport) -> None:
        new = sum((a.mail.records if a.mail else 0) + (a.events.records if a.events else 0) for a in report.accounts)
        written = len(report.outbox.created)
        level = logging.INFO if (new or written or report.problems) else logging.DEBUG
        log.log(level, "synced %s: %d new record(s); drafts: %d written",
                ", ".join(a.name for a in report.accounts) or "nothing", new, written)
        for line in report.problems:
            log.warning("problem: %s", line)

    def _checkpoint(self, label: str) -> None:
        faults.checkpoint(label)
        # A committed step inside a long first sync is progress too: without this a
        # mailbox that takes longer than WatchdogSec to read would be killed forever.
        self.notifier.watchdog()

    # -- what we tell systemd and `status` ---------------------------------------------

    def _refresh_drafts_count(self) -> None:
        since = self.clock.now() - timedelta(days=7)
        self.drafts_this_week = self.session.ledger.drafts_created_since(since, BUDGETED_KINDS)

    def summary(self) -> str:
        accounts = self.schedule.accounts.values()
        failing = sum(1 for s in accounts if s.failures and not s.paused)
        revoked = sum(1 for s in accounts if s.revoked)
        misconfigured = sum(1 for s in accounts if s.misconfigured and not s.revoked)
        parts = [f"{len(self.schedule.accounts)} account(s)"]
        if failing:
            parts.append(f"{failing} failing")
        if revoked:
            parts.append(f"{revoked} paused (credential revoked)")
        if misconfigured:
            parts.append(f"{misconfigured} paused (cannot work as configured)")
        last = max((s.last_sync for s in accounts if s.last_sync), default=None)
        parts.append(f"last sync {iso_or_none(last) or 'never'}")
        parts.append(f"{self.drafts_this_week}/{self.settings.drafting.budget_per_week} drafts this week")
        if self.reload_error:
            parts.append("config edit rejected (see circleback status)")
        if self.drafts_problem:
            parts.append("drafts could not be written (see circleback status)")
        return ", ".join(parts)

    def status_data(self, state: str) -> dict[str, Any]:
        mono = self.clock.monotonic()
        now = self.clock.now()
        return {
            "state": state,
            "pid": os.getpid(),
            "summary": self.summary(),
            "config_path": str(self.config_path),
            "started_at": iso_or_none(self.started_at),
            "config_loaded_at": iso_or_none(self.loaded_at),
            "reload_error": self.reload_error,
            "reload_error_at": iso_or_none(self.reload_error_at),
            "last_cycle_at": iso_or_none(self.last_tick),
            "updated_at": iso_or_none(now),
            "drafts_this_week": self.drafts_this_week,
            "drafts_problem": self.drafts_problem or None,
            "cycles": self.cycles,
            "accounts": {
                s.name: {
                    "kind": s.kind,
                    "poll_interval_seconds": s.interval,
                    "last_sync": iso_or_none(s.last_sync),
                    "last_error": s.last_error or None,
                    "error": s.last_error_fields,
                    "failures": s.failures,
                    "paused": s.paused,
                    "paused_for": "credential" if s.revoked else "configuration" if s.misconfigured else None,
                    "next_sync": None if s.paused else iso(now + timedelta(seconds=max(0.0, s.next_due - mono))),
                }
                for s in self.schedule.accounts.values()
            },
        }

    def _publish(self, state: str) -> None:
        try:
            write_status(self.state_dir, self.status_data(state))
        except OSError as exc:
            log.warning("cannot write %s: %s", status_path(self.state_dir), exc)
