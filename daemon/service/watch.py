"""Config edits apply without a restart: the watcher notices the file's content changing."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

CONFIG_CHECK_SECONDS = 2.0  # real seconds between mtime checks of the config file


class ConfigWatcher:
    """Notices content changes cheaply: a stat per check, a hash only when the stat moved."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stat: tuple[int, int, int] | None = None
        self.digest = ""

    def _read(self) -> tuple[tuple[int, int, int] | None, str]:
        try:
            st = os.stat(self.path)
            data = self.path.read_bytes()
        except OSError:
            return None, "missing"
        return (st.st_mtime_ns, st.st_size, st.st_ino), hashlib.sha256(data).hexdigest()

    def remember(self) -> None:
        """Record the file as it is now (call right after loading it)."""
        self._stat, self.digest = self._read()

    def changed(self) -> bool:
        try:
            st = os.stat(self.path)
            now = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            now = None
        if now == self._stat:
            return False
        self._stat, digest = self._read()
        if digest == self.digest:
            return False  # touched, or saved unchanged: nothing to reload
        self.digest = digest
        return True


# -- status file --------------------------------------------------------------------------
