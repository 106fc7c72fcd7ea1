"""Where state lives and how a command opens it: the state folder, the ledger, the one-instance
lock, the connectors."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from circleback.connectors.base import Connector, ConnectorContext
from circleback.connectors.registry import open_connector

from ..config import Settings
from ..errors import StateError
from ..store.ledger import Ledger

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
    return not ledger.has_synced()


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


# -- status ------------------------------------------------------------------
























