"""Progress on a long first sync: a rich bar on a terminal, a log line per tenth under systemd.

A first sync of a large mailbox can take minutes; someone who ran
``circleback run --once`` from a shell should see it move, with a count and an
ETA, while the journal of a service gets ten plain lines, not a redraw per
message. The lines name the account and a percentage, never a subject or an
address (INFO logs carry no message content).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

log = logging.getLogger("circleback.connectors.progress")


class SyncProgress:
    """Counts messages read against a total that may grow while the sync runs.

    Nothing is shown below ``min_total`` messages: a small sync is over before a bar
    could help. ``stream`` is where the bar goes (stderr); the bar is drawn only if it
    is a terminal.
    """

    def __init__(
        self,
        account: str,
        what: str,
        total: int = 0,
        *,
        min_total: int = 1000,
        unit: str = "",
        stream: TextIO | None = None,
    ) -> None:
        self.account = account
        self.what = what
        self.unit = f" {unit}" if unit else ""
        self.total = total
        self.done = 0
        self.min_total = min_total
        self._stream = stream
        self._bar: Any = None
        self._task: Any = None
        self._next_log = 0

    def __enter__(self) -> SyncProgress:
        self._show()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def _show(self) -> None:
        if self.total < self.min_total:
            return
        if self._bar is None and self._task is None and self.stream.isatty():
            from rich.console import Console  # only a terminal pays for rich
            from rich.progress import Progress

            self._bar = Progress(console=Console(file=self.stream), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(f"{self.account}: {self.what}", total=self.total)
        if not self._next_log:
            self._next_log = max(self.total // 10, 1)

    def grow(self, messages: int) -> None:
        """More to read than planned (a listing that is still going on)."""
        self.total += messages
        self._show()
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def advance(self, messages: int = 1) -> None:
        self.done += messages
        if self._bar is not None:
            self._bar.update(self._task, completed=min(self.done, self.total))
        elif self.total >= self.min_total and (self.done >= self._next_log or self.done == self.total):
            log.info("%s: first sync %d%% (%s of %s%s)", self.account, min(100, 100 * self.done // self.total),
                     f"{self.done:,}", f"{self.total:,}", self.unit)
            self._next_log = self.done + max(self.total // 10, 1)
