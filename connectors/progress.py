"""Progress on a long first sync: a rich bar on a terminal, a log line per tenth under systemd.

A first sync of a large mailbox can take minutes; someone who ran
``circleback run --once`` from a shell should see it move, with a count and an
ETA, while the journal of a service gets about ten plain lines, not a redraw per
message. The lines name the account, a percentage and counts, never a subject
or an address (INFO logs carry no message content).

Connectors call :meth:`SyncProgress.advance` per message or per batch on their
hot path, so it costs a counter increment and one comparison; the display is
touched only at the next step (a hundredth of the total for the bar, which rich
redraws ten times a second on its own thread; a tenth for the log).

When no total is known up front (a Graph delta round says nothing of its size),
the progress is a count: shown once ``min_total`` is read, logged at each
doubling, so a journal gets a line per doubling whatever the mailbox's size.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta
from typing import Any, TextIO

log = logging.getLogger("circleback.connectors.progress")

_NEVER = sys.maxsize  # ``advance`` compares against this while there is nothing to show


class SyncProgress:
    """Counts what a sync has read against a total that may grow while it runs (or ``None``: unknown).

    Nothing is shown below ``min_total``: a small sync is over before a bar could help.
    ``stream`` is where the bar goes (stderr by default); the bar is drawn only if it is
    a terminal, asked once. A clean exit logs a last line, so a journal always shows
    where the sync ended; a sync that fails leaves it to its error to say so.
    Not thread-safe: a caller that counts from several threads holds its own lock.
    """

    def __init__(
        self,
        account: str,
        what: str,
        total: int | None = 0,
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
        self._shown = False
        self._bar: Any = None
        self._task: Any = None
        self._due = min_total if total is None else _NEVER
        self._logged_at = -1
        self._started = time.monotonic()

    def __enter__(self) -> SyncProgress:
        self._show()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._bar is not None:
            self._draw()  # the last step may have fallen short of the end
            self._bar.stop()
            self._bar = None
        elif self._shown and exc_type is None:
            if self.total is None:
                self.total = self.done  # at the end, the count is the total
            self._log()

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def _show(self) -> None:
        if self._shown or (self.done if self.total is None else self.total) < self.min_total:
            return
        self._shown = True
        if self.stream.isatty():
            self._bar = self._make_bar()
            self._bar.start()
            self._task = self._bar.add_task(f"{self.account}: {self.what}", total=self.total, completed=self.done)
        self._plan_next()

    def _make_bar(self) -> Any:
        from rich.console import Console  # only a terminal pays for rich
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        if self.total is None:  # a pulsing bar, the count and the time so far
            counts, clock = TextColumn(f"{{task.completed:,.0f}}{self.unit}"), TimeElapsedColumn()
        else:
            counts = TextColumn(f"{{task.completed:,.0f}}/{{task.total:,.0f}}{self.unit}, ETA")
            clock = TimeRemainingColumn()
        return Progress(TextColumn("{task.description}"), BarColumn(), counts, clock,
                        console=Console(file=self.stream), transient=True)

    def grow(self, more: int) -> None:
        """More to read than planned (a listing that is still going on, the next folder)."""
        assert self.total is not None, "grow() needs a known total"
        self.total += more
        if not self._shown:
            self._show()
            return
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)
        self._due = min(self._due, self.done + self._step())  # a larger total: lines by its tenths

    def advance(self, read: int = 1) -> None:
        self.done += read
        if self.done >= self._due:
            self._report()

    def _report(self) -> None:
        if not self._shown:
            self._show()  # an unknown total: the count has just reached min_total
        if self._bar is not None:
            self._draw()
        elif self.total is not None and self.done < self.total:
            self._log(f", about {self._time_left(self.total)} left")
        elif self.done >= 2 * self._logged_at:  # no total, or reading keeps pace with planning
            log.info("%s: first sync (%s%s so far)", self.account, f"{self.done:,}", self.unit)
            self._logged_at = self.done
        self._plan_next()

    def _draw(self) -> None:
        self._bar.update(self._task, completed=self.done if self.total is None else min(self.done, self.total))

    def _plan_next(self) -> None:
        if self.total is None or self.done >= self.total:  # a count: a line per doubling
            self._due = self.done + max(self.done // 100 if self._bar is not None else self.done, 1)
        else:
            self._due = self.done + self._step()

    def _step(self) -> int:
        return max((self.total or 0) // (100 if self._bar is not None else 10), 1)

    def _log(self, tail: str = "") -> None:
        total = self.total or 0
        log.info("%s: first sync %d%% (%s of %s%s)%s", self.account, min(100, 100 * self.done // max(total, 1)),
                 f"{self.done:,}", f"{total:,}", self.unit, tail)
        self._logged_at = self.done

    def _time_left(self, total: int) -> str:
        elapsed = time.monotonic() - self._started
        return str(timedelta(seconds=round(elapsed * (total - self.done) / max(self.done, 1))))
