"""Calendar events from a folder of .ics files (vdirsyncer) or one .ics file.

Each sync expands recurrences inside a window around now (lookback and
lookahead from the context) and yields one :class:`EventRecord` per
occurrence.  Reading a file's iCalendar text is :mod:`.icalendar_events`, the
same code the CalDAV connector uses; this module finds the files and keeps the
cursor.  The cursor remembers, per file, its mtime, size and the occurrences
it gave, so unchanged files are not re-read and occurrences that disappeared
from a changed or deleted file come back as cancellations.

Cursor (JSON-able)::

    {"version": 1,
     "files": {relpath: [mtime_ns, size, {source_id: start_utc_iso}]},
     "window_start": iso, "window_end": iso, "context": fingerprint}

The start is kept next to each id because a vanished occurrence is only a
cancellation when it lies inside the current window: one that merely slid out
of the lookback still happened and must stay in the ledger.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .base import Connector, ConnectorContext, Cursor, EventRecord, Skip, SyncResult
from .errors import ConnectorError
from .icalendar_events import CalendarEvents, Window, cancellation, events_from_calendar, kept_ids
from .text import clean_text

if TYPE_CHECKING:
    from .accounts import IcsAccount

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
# A window that moved less than this keeps the old expansion (see sync_events).
SLIDE_TOLERANCE = timedelta(days=1)
# Part of the context fingerprint: cursors written before occurrence ids took
# iCalendar's UTC form (uid/20260302T090000Z) re-read every file, which cancels
# the old ids inside the window and emits the new ones.
SOURCE_ID_FORMAT = "rfc5545-utc"


class IcsConnector(Connector):
    """CalendarSource over local .ics files, one occurrence per record."""

    kind: ClassVar[str] = "ics"

    def __init__(self, config: IcsAccount, context: ConnectorContext | None = None) -> None:
        super().__init__(config, context)
        self.root = Path(config.path)
        # Times whose TZID neither icalendar nor the file could resolve were
        # read as UTC; counted so `circleback status` can say so.
        self.zone_fallbacks = 0

    # ----------------------------------------------------------------- sync

    def sync_events(self, cursor: Cursor | None) -> SyncResult[EventRecord]:
        """Records of new, changed and vanished occurrences since ``cursor``."""
        window = self._current_window()
        old_files, old_window = self._read_cursor(cursor)
        if old_window and not self._slid(old_window, window):
            window = old_window  # keep expanding as before: one window per cursor
        re_expand_all = old_window is None or window != old_window

        records: list[EventRecord] = []
        skipped: list[Skip] = []
        new_files: dict[str, list[Any]] = {}
        for relpath, path in self._ics_files():
            stat = path.stat()
            old = old_files.get(relpath)
            unchanged = old is not None and old[0] == stat.st_mtime_ns and old[1] == stat.st_size
            if unchanged and not re_expand_all:
                new_files[relpath] = old
                continue
            parsed = self._read_file(path, relpath, window, skipped)
            if parsed is None:  # unreadable: keep what we knew, retry next sync
                if old is not None:
                    new_files[relpath] = old
                continue
            ids = self._ids_with_carry_over(parsed, old)
            new_files[relpath] = [stat.st_mtime_ns, stat.st_size, ids]
            known = old[2] if (old is not None and unchanged) else {}
            records.extend(r for sid, r in parsed.records.items() if sid not in known)

        records.extend(self._cancellations(old_files, new_files, window))
        new_cursor = self._write_cursor(new_files, window)
        log.info(
            "ics %s: %d records, %d skipped, %d files",
            self.account,
            len(records),
            len(skipped),
            len(new_files),
        )
        return SyncResult(records=records, cursor=new_cursor, skipped=skipped)

    def _current_window(self) -> Window:
        now = self.context.current_time().astimezone(UTC)
        return Window(
            now - timedelta(days=self.context.lookback_days),
            now + timedelta(days=self.context.lookahead_days),
        )

    @staticmethod
    def _slid(old: Window, new: Window) -> bool:
        return abs(new.start - old.start) > SLIDE_TOLERANCE or abs(new.end - old.end) > SLIDE_TOLERANCE

    def _context_fingerprint(self) -> str:
        # Floating times and my_status depend on these: a change re-reads all.
        mine = ",".join(sorted(self.context.my_addresses))
        return hashlib.sha256(f"{SOURCE_ID_FORMAT}|{self.context.timezone}|{mine}".encode()).hexdigest()[:16]

    def _read_cursor(self, cursor: Cursor | None) -> tuple[dict[str, list[Any]], Window | None]:
        if not cursor:
            return {}, None
        try:
            if cursor["version"] != CURSOR_VERSION:
                raise ValueError(f"version {cursor['version']}")
            window = Window(
                datetime.fromisoformat(cursor["window_start"]),
                datetime.fromisoformat(cursor["window_end"]),
            )
            files = {str(k): list(v) for k, v in cursor["files"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("ics %s: cursor unusable (%s); reading every file again", self.account, exc)
            return {}, None
        if cursor.get("context") != self._context_fingerprint():
            # Same files, but the zone or my addresses changed: every record may differ.
            return {k: [None, None, v[2]] for k, v in files.items()}, window
        return files, window

    def _write_cursor(self, files: dict[str, list[Any]], window: Window) -> Cursor:
        return {
            "version": CURSOR_VERSION,
            "files": files,
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "context": self._context_fingerprint(),
        }

    @staticmethod
    def _ids_with_carry_over(parsed: CalendarEvents, old: list[Any] | None) -> dict[str, str]:
        """New id -> start map; ids of series that failed this time are kept, not cancelled."""
        ids = {sid: r.start.isoformat() for sid, r in parsed.records.items()}
        earlier: dict[str, str] = old[2] if old is not None else {}
        for sid in kept_ids(earlier, parsed.failed_uids):
            ids.setdefault(sid, earlier[sid])
        return ids

    @staticmethod
    def _cancellations(
        old_files: dict[str, list[Any]], new_files: dict[str, list[Any]], window: Window
    ) -> list[EventRecord]:
        """Occurrences that vanished from inside the window.

        One that is gone because its start fell behind the window start still
        happened: it is not cancelled.  An id still present in another file
        (the same UID in two files) is not cancelled either.
        """
        present = {sid for entry in new_files.values() for sid in entry[2]}
        gone: dict[str, EventRecord] = {}
        for entry in old_files.values():
            for sid, start_iso in entry[2].items():
                if sid in present or sid in gone:
                    continue
                if window.contains(datetime.fromisoformat(start_iso)):
                    gone[sid] = cancellation(sid)
        return list(gone.values())

    def _ics_files(self) -> Iterator[tuple[str, Path]]:
        """(relpath, path) of every .ics file, sorted so syncs are reproducible."""
        if self.root.is_file():
            yield self.root.name, self.root
            return
        if not self.root.is_dir():
            # An unmounted or mistyped path is an error, never "every event was deleted".
            raise ConnectorError(f"{self.root} is neither a folder nor a .ics file", account=self.account)
        for path in sorted(self.root.rglob("*")):
            if path.suffix.lower() == ".ics" and path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix(), path

    # ------------------------------------------------------------ one file

    def _read_file(self, path: Path, relpath: str, window: Window, skipped: list[Skip]) -> CalendarEvents | None:
        """Every occurrence in ``path`` inside ``window``; None if the file is unusable."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            skipped.append(Skip(where=relpath, why=f"unreadable: {clean_text(exc)[:200]}"))
            return None
        found = events_from_calendar(raw, start=window.start, end=window.end, context=self.context, where=relpath)
        skipped.extend(found.skipped)
        self.zone_fallbacks += found.zone_fallbacks
        return found if found.usable else None
