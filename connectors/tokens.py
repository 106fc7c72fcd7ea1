"""Private files for OAuth tokens and caches: 0600, written atomically, refused if exposed.

A token file is written to a temporary file in the same directory (created
0600), flushed and fsynced, then renamed over the old one, and the directory
is fsynced: a crash leaves the old token or the new one, never half of either.
Reading refuses a file that group or others may read, or that another user
owns, because a leaked refresh token is a leaked mailbox.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .base import ConnectorError


class TokenFileError(ConnectorError):
    """A token file is missing, exposed or unreadable; the message says what to do."""


def write_private(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    """``<user state dir>/tokens/<provider>-<account>.json``, when the config names no path."""
    import platformdirs  # only the cloud connectors need it, and only at sign-in or first use

    return platformdirs.user_state_path("circleback") / "tokens" / f"{provider}-{account}.json"
