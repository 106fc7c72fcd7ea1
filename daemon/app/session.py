"""Where state lives and how a command opens it: the state folder, the ledger, the one-instance
lock, the connectors, and the :class:`Session` that holds them for one command."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from circleback.connectors.base import Connector, ConnectorContext
from circleback.connectors.registry import open_connector

from ..config import Settings
from ..errors import DraftsBusy, StateError
from ..store.ledger import Ledger

if TYPE_CHECKING:
    from ..core.engine import Engine

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
        raise StateError(f"{state_dir}: exists and is not a directory", remedy="pass another --state-dir") from None
    except OSError as exc:
        raise StateError(f"{state_dir}: cannot create the state directory ({exc.strerror})",
                         remedy="pass another --state-dir") from None
    # os.access, not a test write: it answers for the real user without leaving a file behind.
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise StateError(f"{state_dir}: the state directory is not writable",
                         remedy="fix its permissions or pass another --state-dir")


def open_state(state_dir: Path, *, read_only: bool = False) -> Ledger:
    """The ledger in ``state_dir``, created and migrated if need be.

    ``read_only`` (``status``): in a state directory this user cannot write, it is read as it is,
    and an empty ledger stands for one not made yet; nothing is created.
    """
    if read_only and state_dir.is_dir() and not os.access(state_dir, os.W_OK | os.X_OK):
        path = ledger_path(state_dir)
        return Ledger.open_read_only(path) if path.exists() else Ledger.memory()
    _usable_state_dir(state_dir)
    return Ledger.open(ledger_path(state_dir))


@contextmanager
def instance_lock(state_dir: Path) -> Iterator[None]:
    """One circleback at a time per state directory (two could race on a draft)."""
    _usable_state_dir(state_dir)
    path = state_dir / "circleback.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"{path}: cannot open the lock file ({exc.strerror})",
                         remedy="fix the state directory's permissions or pass another --state-dir") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StateError(
                f"{state_dir}: another circleback (pid {holder}) is using this state directory",
                remedy="stop it first or pass another --state-dir",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


log = logging.getLogger(__name__)

DRAFTS_WAIT_SECONDS = 120.0  # a cycle writing a week's notes to IMAP or Graph takes seconds, not minutes


@contextmanager
def drafts_lock(state_dir: Path, wait: float = DRAFTS_WAIT_SECONDS) -> Iterator[None]:
    """Held while pending intents become drafts: by the service's cycle and by ``nudge`` or
    ``intros ask`` beside it, so that no intent is written twice. It waits for the other
    writer (seconds) rather than refusing, as the instance lock does."""
    path = state_dir / "drafts.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DraftsBusy(f"{state_dir}: another circleback has been writing drafts for {wait:.0f} s",
                                     remedy="try again in a minute") from None
                time.sleep(0.1)
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
    opened: dict[str, Connector] = {}
    try:
        for account in settings.accounts:
            opened[account.name] = open_connector(account, context)
    except BaseException:
        close_connectors(opened)  # the ones already open, when a later account cannot be
        raise
    return opened


def close_connectors(connectors: dict[str, Connector]) -> None:
    for conn in connectors.values():
        conn.close()


# -- one command's session ---------------------------------------------------------------------

EngineFactory = Callable[[Settings, Ledger, dict[str, Connector]], "Engine"]


class Session:
    """What one command works on: the instance lock, the ledger, the connectors and the engine.

    Opened in that order, the lock first: no second circleback opens (or migrates) the ledger
    while another holds it. Closed in reverse, connectors, ledger, lock, even when the command
    fails. ``lock=False`` is for commands that work beside a running service: those that only
    read (``plan`` without ``--sync``, ``status``) and the people commands, whose short
    transactions SQLite serialises (WAL, a busy timeout); the drafts they write go through
    :meth:`drafts_lock`. The connectors are opened when asked,
    ``connect=True`` or :meth:`connect`; the engine is built the first time it is used (it
    loads the templates, which ``snooze`` and ``skip`` never need).
    """

    def __init__(self, settings: Settings, state_dir: Path, *, lock: bool = True, connect: bool = False,
                 now: datetime | None = None, engine: EngineFactory | None = None) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.connectors: dict[str, Connector] = {}
        self._lock, self._connect, self._now = lock, connect, now
        self._engine_factory = engine
        self._engine: Engine | None = None
        self._ledger: Ledger | None = None
        self._stack = ExitStack()

    def __enter__(self) -> Session:
        with ExitStack() as stack:
            if self._lock:
                stack.enter_context(instance_lock(self.state_dir))
            self._ledger = open_state(self.state_dir)
            stack.callback(self._close_ledger)
            if self._lock:  # a writer never writes on into a damaged file
                from . import recovery

                recovery.check(self._ledger)
            stack.callback(self.disconnect)
            if self._connect:
                self.connect(self._now)
            self._stack = stack.pop_all()  # from here on, __exit__ closes them
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if kind is None:
                self.keep_a_copy()
        finally:
            self._stack.close()

    def keep_a_copy(self) -> None:
        """A writer's daily copy of the ledger after its work (see app/recovery.py); never fails the command."""
        if not self._lock or self._ledger is None:
            return
        from . import recovery

        try:
            recovery.keep_a_copy(self._ledger, self.state_dir)
        except (OSError, StateError, sqlite3.Error) as exc:  # a full disk, a damaged file: said; the next run refuses
            log.warning("cannot keep a copy of the ledger: %s", exc)

    def _close_ledger(self) -> None:
        ledger, self._ledger, self._engine = self._ledger, None, None
        if ledger is not None:
            ledger.close()

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("the session is not open")
        return self._ledger

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ..core.engine import Engine

            factory = self._engine_factory or Engine
            self._engine = factory(self.settings, self.ledger, self.connectors)
            self._engine.drafts_guard = self.drafts_lock
        return self._engine

    def drafts_lock(self) -> AbstractContextManager[None]:
        """Hold while writing pending intents to the draft box (see :func:`drafts_lock`)."""
        return drafts_lock(self.state_dir)

    def connect(self, now: datetime | None = None, *, only: str | None = None) -> dict[str, Connector]:
        """Open the connector of every account, or of account ``only``, not open yet; they close with the session."""
        accounts = [self.settings.account(only)] if only is not None else self.settings.accounts
        closed = [a for a in accounts if a.name not in self.connectors]
        if closed:
            wanted = self.settings.model_copy(update={"accounts": closed})
            self.connectors.update(open_connectors(wanted, now, state_dir=self.state_dir))
        return self.connectors

    def disconnect(self) -> None:
        """Close every open connector (the engine keeps the same, now empty, mapping)."""
        try:
            close_connectors(self.connectors)
        finally:
            self.connectors.clear()

    def adopt(self, settings: Settings) -> None:
        """New settings (the service's reload): the connectors are closed, the engine rebuilt when next used."""
        self.disconnect()
        self.settings = settings
        self._engine = None
