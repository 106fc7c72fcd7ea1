"""Private files for OAuth tokens and caches: 0600, written atomically, refused if exposed.

A token file is written to a temporary file in the same directory (created
0600), flushed and fsynced, then renamed over the old one, and the directory
is fsynced: a crash leaves the old token or the new one, never half of either.
Reading refuses a file that group or others may read, or that another user
owns, because a leaked refresh token is a leaked mailbox.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

from .errors import TokenFileError
from .registry import GOOGLE, kinds_where

log = logging.getLogger(__name__)

# Account kinds that sign in to Google and keep a token here (`auth google`).
GOOGLE_KINDS = kinds_where(lambda kind: kind.provider == GOOGLE)


def write_private(path: Path, data: bytes) -> None:
    path = Path(path)
    private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents 0700 (``mkdir(parents=True)`` leaves parents to the umask).

    A first ``circleback auth`` may create the state directory itself; ``doctor`` fails one others can read.
    """
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        each.mkdir(mode=0o700, exist_ok=True)


def read_private(path: Path) -> bytes | None:
    """The file's bytes, None if it does not exist; TokenFileError if others can read it."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TokenFileError(f"{path}: cannot read token file: {exc}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise TokenFileError(
                f"{path}: token file is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                f"run: chmod 600 {path}"
            )
        if st.st_uid != os.getuid():
            raise TokenFileError(f"{path}: token file belongs to another user (uid {st.st_uid})")
        return fh.read()


def default_token_path(provider: str, account: str) -> Path:
    """``<user state dir>/tokens/<provider>-<account>.json``: where tokens went before ``--state-dir`` held them."""
    import platformdirs  # only the cloud connectors need it, and only at sign-in or first use

    return platformdirs.user_state_path("circleback") / "tokens" / f"{provider}-{account}.json"


def token_file(provider: str, account: str, state_dir: Path | None, *, sign_in: bool = False) -> Path:
    """``<state_dir>/tokens/<provider>-<account>.json``, for a config that names no path.

    Sign-in writes there, and ``doctor`` checks there. A token signed in before the
    state directory held tokens sits at :func:`default_token_path`; when only that one
    exists it is used as it is (not moved behind the user's back), and said once.
    """
    legacy = default_token_path(provider, account)
    if state_dir is None:
        return legacy
    path = Path(state_dir) / "tokens" / f"{provider}-{account}.json"
    if sign_in or path == legacy or path.exists() or not legacy.exists():
        return path
    if legacy not in _told:
        _told.add(legacy)
        log.warning("%s: using the %s token found at %s; move it to %s (or sign in again) to keep it "
                    "with the rest of the state", account, provider, legacy, path)
    return legacy


_told: set[Path] = set()  # legacy token paths already logged: connectors are reopened on every reload
