"""Calendar events from a folder of .ics files (vdirsyncer) or one .ics file.

Each sync expands recurrences inside a window around now (lookback and
lookahead from the context) and yields one :class:`EventRecord` per
occurrence.  The cursor remembers, per file, its mtime, size and the
occurrences it gave, so unchanged files are not re-read and occurrences that
disappeared from a changed or deleted file come back as cancellations.

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
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from icalendar.timezone import tzp

from .base import (
    Attendee,
    Connector,
    ConnectorContext,
    Cursor,
    EventRecord,
    ResponseStatus,
    Skip,
    SyncResult,
)

if TYPE_CHECKING:
    from ..daemon.config import IcsAccount

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Expanding a window of decades in one call cannot be interrupted; chunks let
# us stop a runaway series (the cap below) after one chunk's work.
CHUNK = timedelta(days=366)
# Floating and all-day values are placed by the library in the bounds' zone,
# not the user's: widen each query and filter on our own UTC start instead.
SLACK = timedelta(days=2)
MAX_OCCURRENCES_PER_FILE = 50_000
# A window that moved less than this keeps the old expansion (see sync_events).
SLIDE_TOLERANCE = timedelta(days=1)
# Sub-hourly rules are not meetings with people and can yield millions of rows.
RUNAWAY_FREQS = frozenset({"SECONDLY", "MINUTELY"})

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
_PARTSTAT = {
    "ACCEPTED": ResponseStatus.ACCEPTED,
    "TENTATIVE": ResponseStatus.TENTATIVE,
    "DECLINED": ResponseStatus.DECLINED,
    "NEEDS-ACTION": ResponseStatus.NEEDS_ACTION,
}
# iTIP messages an attendee sends (RFC 5546 3.2): answers and proposals, not the
# event as it stands, so they must not overwrite what the organizer published.
_ATTENDEE_MESSAGES = frozenset({"REPLY", "COUNTER", "REFRESH"})
_RESOURCE_TYPES = frozenset({"ROOM", "RESOURCE"})
_TIME_PROPS = ("DTSTART", "DTEND", "RECURRENCE-ID")
# Outlook writes display names as TZIDs ("(UTC-05:00) Eastern Time (US & Canada)")
# that icalendar's Windows-name table does not know.  The common ones, by the
# city list or region Outlook shows; matched as substrings, first hit wins.
_OUTLOOK_DISPLAY_ZONES = (
    ("eastern time", "America/New_York"),
    ("central time", "America/Chicago"),
    ("mountain time", "America/Denver"),
    ("pacific time", "America/Los_Angeles"),
    ("amsterdam, berlin", "Europe/Berlin"),
    ("amsterdam, belgrade", "Europe/Berlin"),
    ("brussels, copenhagen", "Europe/Paris"),
    ("dublin, edinburgh", "Europe/London"),
    ("canberra, melbourne, sydney", "Australia/Sydney"),
    ("auckland, wellington", "Pacific/Auckland"),
    ("osaka, sapporo, tokyo", "Asia/Tokyo"),
)
_DISPLAY_OFFSET = re.compile(r"^\((?:UTC|GMT) ?([+-])(\d\d?)[:.]?(\d\d)?\)")


class SeriesError(Exception):
    """One series (all components of a UID) cannot be used; the message says why."""


@dataclass(slots=True)
class FileEvents:
    """What one parsed file gave: its occurrences and the UIDs that failed."""

    records: dict[str, EventRecord] = field(default_factory=dict)
    failed_uids: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def clean_text(value: Any) -> str:
    """One line of text: CR, LF, C0/C1 controls and line separators become spaces."""
    return _CONTROLS.sub(" ", str(value or "")).strip()


def to_utc(value: date | datetime, zone: tzinfo) -> datetime:
    """An aware UTC instant; floating times and dates are read in the user's zone."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), zone).astimezone(UTC)


def zone_from_display_name(tzid: str) -> tzinfo | None:
    """A zone for an Outlook display-name TZID, or None if it names none we know."""
    lowered = tzid.lower()
    for needle, name in _OUTLOOK_DISPLAY_ZONES:
        if needle in lowered:
            return ZoneInfo(name)
    offset = _DISPLAY_OFFSET.match(tzid.strip())
    if offset:  # right outside daylight saving time, which is the best the name allows
        sign = -1 if offset[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3] or 0)))
    return None


def parse_address(value: Any) -> str:
    """``mailto:Ann@X.org`` -> ``ann@x.org``; "" when it is no mail address."""
    address = _MAILTO.sub("", str(value or "").strip()).strip().lower()
    return address if "@" in address else ""


def _attendee(prop: Any, *, is_organizer: bool = False) -> Attendee | None:
    email = parse_address(prop)
    if not email:
        return None
    params = getattr(prop, "params", {})
    status = _PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), ResponseStatus.UNKNOWN)
    if is_organizer and "PARTSTAT" not in params:
        status = ResponseStatus.ACCEPTED  # whoever called the meeting is going
    return Attendee(
        email=email,
        name=clean_text(params.get("CN", "")),
        status=status,
        is_organizer=is_organizer,
        is_resource=str(params.get("CUTYPE", "")).upper() in _RESOURCE_TYPES,
    )


def _first(value: Any) -> Any:
    """The first of a repeated property (a broken file may carry two UIDs)."""
    return value[0] if isinstance(value, list) and value else value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def attendees_of(event: icalendar.Component) -> tuple[tuple[Attendee, ...], str]:
    """Attendees (organizer included and flagged) and the organizer's address."""
    found: dict[str, Attendee] = {}
    for prop in _as_list(event.get("ATTENDEE")):
        person = _attendee(prop)
        # Listed twice (RFC 5545's own examples do): a stated PARTSTAT wins.
        if person and (person.email not in found or found[person.email].status is ResponseStatus.UNKNOWN):
            found[person.email] = person
    organizer = _attendee(event.get("ORGANIZER"), is_organizer=True) if "ORGANIZER" in event else None
    if organizer:
        listed = found.get(organizer.email)
        if listed:
            found[organizer.email] = Attendee(
                listed.email, listed.name or organizer.name, listed.status, True, listed.is_resource
            )
        else:
            found[organizer.email] = organizer
    return tuple(found.values()), organizer.email if organizer else ""


def my_status_in(attendees: tuple[Attendee, ...], mine: frozenset[str]) -> ResponseStatus:
    for person in attendees:
        if person.email in mine:
            if person.status is ResponseStatus.UNKNOWN and person.is_organizer:
                return ResponseStatus.ACCEPTED
            return person.status
    return ResponseStatus.UNKNOWN


_BLOCK = re.compile(r"^BEGIN:(VEVENT|VTIMEZONE)\r?$.*?^END:\1\r?$", re.MULTILINE | re.DOTALL)
_METHOD_LINE = re.compile(r"^METHOD:[^\r\n]*", re.MULTILINE)


def _forget_other_files_zones() -> None:
    """Empty icalendar's process-wide cache of VTIMEZONE definitions.

    icalendar keeps the first VTIMEZONE it ever saw for a custom TZID and
    ignores later ones, but Outlook names many different zones "Customized
    Time Zone": without this, one file's zone would place another file's times.
    Re-selecting the same provider is the public way to start a fresh cache.
    """
    tzp.use(tzp.name)


def _cancel_known(result: FileEvents, uid: str) -> bool:
    """Mark every occurrence of ``uid`` read so far as cancelled; False if there is none."""
    hits = [sid for sid, r in result.records.items() if r.uid == uid]
    for sid in hits:
        result.records[sid] = replace(result.records[sid], cancelled=True)
    return bool(hits)


def _salvage_events(text: str) -> tuple[list[icalendar.Component], int] | None:
    """Parse each VEVENT of a broken file alone, with the VTIMEZONEs that parse.

    Returns the calendars that parsed and how many events did not, or None
    when nothing could be saved.
    """
    blocks = [(m[1], m[0]) for m in _BLOCK.finditer(text)]
    header = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//circleback//salvage//EN\r\n"
    method = _METHOD_LINE.search(text)
    if method:
        header += method[0] + "\r\n"
    zones = [b for kind, b in blocks if kind == "VTIMEZONE" and _parses(header + b)]
    calendars, lost = [], 0
    for kind, block in blocks:
        if kind != "VEVENT":
            continue
        try:
            calendars.append(icalendar.Calendar.from_ical(header + "\r\n".join([*zones, block, "END:VCALENDAR"])))
        except Exception:  # noqa: BLE001 - this event is the broken part
            lost += 1
    return (calendars, lost) if calendars else None


def _parses(text: str) -> bool:
    try:
        icalendar.Calendar.from_ical(text + "\r\nEND:VCALENDAR")
    except Exception:  # noqa: BLE001
        return False
    return True


class IcsConnector(Connector):
    """CalendarSource over local .ics files, one occurrence per record."""

    kind: ClassVar[str] = "ics"

    def __init__(self, config: IcsAccount, context: ConnectorContext | None = None) -> None:
        super().__init__(config, context)
        self.root = Path(config.path)
        self.zone = ZoneInfo(self.context.timezone)
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
            self.account, len(records), len(skipped), len(new_files),
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
        return (
            abs(new.start - old.start) > SLIDE_TOLERANCE or abs(new.end - old.end) > SLIDE_TOLERANCE
        )

    def _context_fingerprint(self) -> str:
        # Floating times and my_status depend on these: a change re-reads all.
        mine = ",".join(sorted(self.context.my_addresses))
        return hashlib.sha256(f"{self.context.timezone}|{mine}".encode()).hexdigest()[:16]

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
    def _ids_with_carry_over(parsed: FileEvents, old: list[Any] | None) -> dict[str, str]:
        """New id -> start map; ids of series that failed this time are kept, not cancelled."""
        ids = {sid: r.start.isoformat() for sid, r in parsed.records.items()}
        if old is None or not parsed.failed_uids:
            return ids
        for sid, start in old[2].items():
            if any(sid == uid or sid.startswith(uid + "/") for uid in parsed.failed_uids):
                ids.setdefault(sid, start)
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
                    gone[sid] = EventRecord(
                        source_id=sid, uid=sid.split("/", 1)[0] if "/" in sid else sid,
                        start=EPOCH, end=EPOCH, cancelled=True,
                    )
        return list(gone.values())

    def _ics_files(self) -> Iterator[tuple[str, Path]]:
        """(relpath, path) of every .ics file, sorted so syncs are reproducible."""
        if self.root.is_file():
            yield self.root.name, self.root
            return
        if not self.root.is_dir():
            log.warning("ics %s: %s is neither a folder nor a file", self.account, self.root)
            return
        for path in sorted(self.root.rglob("*")):
            if path.suffix.lower() == ".ics" and path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix(), path

    # ------------------------------------------------------------ one file

    def _read_file(
        self, path: Path, relpath: str, window: Window, skipped: list[Skip]
    ) -> FileEvents | None:
        """Every occurrence in ``path`` inside ``window``; None if the file is unusable."""
        try:
            raw = path.read_bytes()
        except OSError as exc:
            skipped.append(Skip(where=relpath, why=f"unreadable: {clean_text(exc)[:200]}"))
            return None
        calendars = self._parse_calendars(raw, relpath, skipped)
        if calendars is None:
            return None
        result = FileEvents()
        for calendar in calendars:
            self._read_calendar(calendar, relpath, window, result, skipped)
        return result

    @staticmethod
    def _parse_calendars(
        raw: bytes, relpath: str, skipped: list[Skip]
    ) -> list[icalendar.Component] | None:
        """The file's calendars; when one bad line sinks the whole file, each event alone."""
        _forget_other_files_zones()
        try:
            return icalendar.Calendar.from_ical(raw, multiple=True)
        except Exception as exc:  # noqa: BLE001 - icalendar raises anything on bad input
            why = f"not iCalendar: {clean_text(exc)[:200]}"
        salvaged = _salvage_events(raw.decode("utf-8", errors="replace"))
        if not salvaged:
            skipped.append(Skip(where=relpath, why=why))
            return None
        calendars, lost = salvaged
        if lost:
            skipped.append(Skip(where=relpath, why=f"{lost} event(s) lost: {why}"))
        return calendars

    def _read_calendar(
        self,
        calendar: icalendar.Component,
        relpath: str,
        window: Window,
        result: FileEvents,
        skipped: list[Skip],
    ) -> None:
        method = str(calendar.get("METHOD", "")).upper()
        if method in _ATTENDEE_MESSAGES:
            log.debug("ics: %s is an iTIP %s from an attendee, not calendar state", relpath, method)
            return
        cancel_all = method == "CANCEL"
        for uid, series in self._series_by_uid(calendar, relpath).items():
            try:
                for record in self._expand_series(calendar, uid, series, window, cancel_all):
                    result.records[record.source_id] = record
                    if len(result.records) > MAX_OCCURRENCES_PER_FILE:
                        raise SeriesError(f"more than {MAX_OCCURRENCES_PER_FILE} occurrences")
            except SeriesError as exc:
                if cancel_all and _cancel_known(result, uid):
                    continue  # an iTIP CANCEL names the UID only: it cancels what we have
                self._skip_series(relpath, uid, exc, result, skipped)
            except Exception as exc:  # noqa: BLE001 - one bad series never stops the file
                self._skip_series(relpath, uid, exc, result, skipped)

    @staticmethod
    def _skip_series(relpath: str, uid: str, exc: Exception, result: FileEvents, skipped: list[Skip]) -> None:
        result.failed_uids.add(uid)
        why = clean_text(exc)[:200] or type(exc).__name__
        skipped.append(Skip(where=f"{relpath} {uid}", why=why))
        log.debug("ics: skipped %s %s: %s", relpath, uid, why)

    @staticmethod
    def _series_by_uid(
        calendar: icalendar.Component, relpath: str
    ) -> dict[str, list[icalendar.Component]]:
        """VEVENTs grouped by UID; events without one get a UID derived from content."""
        series: dict[str, list[icalendar.Component]] = {}
        for event in calendar.walk("VEVENT"):
            uid = clean_text(_first(event.get("UID", "")))
            if not uid:
                # Stable across syncs as long as the event itself does not change.
                raw = f"{relpath}|{event.get('DTSTART', '')!r}|{event.get('SUMMARY', '')}"
                uid = "no-uid-" + hashlib.sha256(raw.encode()).hexdigest()[:16]
            event["UID"] = uid  # also collapses a repeated UID the library cannot group by
            series.setdefault(uid, []).append(event)
        return series

    def _expand_series(
        self,
        calendar: icalendar.Component,
        uid: str,
        events: list[icalendar.Component],
        window: Window,
        cancel_all: bool,
    ) -> Iterator[EventRecord]:
        for event in events:
            self._repair(event)
        recurring = any(k in e for e in events for k in ("RRULE", "RDATE", "RECURRENCE-ID"))
        query = recurring_ical_events.of(self._sub_calendar(calendar, events))
        chunk_start = window.start
        while chunk_start < window.end:
            chunk = Window(chunk_start, min(chunk_start + CHUNK, window.end))
            for occurrence in query.between(chunk.start - SLACK, chunk.end + SLACK):
                record = self._record(occurrence, uid, recurring, cancel_all)
                if chunk.contains(record.start):
                    yield record
            chunk_start = chunk.end

    @staticmethod
    def _sub_calendar(
        calendar: icalendar.Component, events: list[icalendar.Component]
    ) -> icalendar.Calendar:
        """A calendar holding one series and every VTIMEZONE, so one bad series stays alone."""
        sub = icalendar.Calendar()
        sub.update(calendar)  # METHOD, X-WR-TIMEZONE: the library reads the latter
        for tz in calendar.walk("VTIMEZONE"):
            sub.add_component(tz)
        for event in events:
            sub.add_component(event)
        return sub

    def _repair(self, event: icalendar.Component) -> None:
        """Make a salvageable event usable, or raise SeriesError saying why not."""
        start = event.get("DTSTART")
        if start is None or isinstance(start, icalendar.vBroken):
            raise SeriesError("no usable DTSTART")
        for rule in _as_list(event.get("RRULE")):
            freqs = {str(f).upper() for f in _as_list(rule.get("FREQ"))} if hasattr(rule, "get") else set()
            if freqs & RUNAWAY_FREQS:
                raise SeriesError(f"FREQ={'/'.join(sorted(freqs))} is not a meeting series")
        for name in ("DTEND", "DURATION"):
            if isinstance(event.get(name), icalendar.vBroken):
                log.warning("ics: %s of %s unreadable; using the default length", name, event.get("UID"))
                del event[name]
        for name in _TIME_PROPS:
            self._resolve_unknown_zone(event, name)

    def _resolve_unknown_zone(self, event: icalendar.Component, name: str) -> None:
        """A TZID icalendar could not resolve leaves a naive time: place it ourselves.

        Outlook display names are mapped; anything else is read as UTC and
        counted, which is wrong by the zone's offset but never by days.
        """
        prop = event.get(name)
        value = getattr(prop, "dt", None)
        if not isinstance(value, datetime) or value.tzinfo or "TZID" not in prop.params:
            return
        tzid = str(prop.params["TZID"])
        zone = zone_from_display_name(tzid)
        if zone is None:
            zone = UTC
            self.zone_fallbacks += 1
            log.warning("ics %s: unknown time zone %r in %s; reading it as UTC", self.account, tzid, event.get("UID"))
        del event[name]
        event.add(name, value.replace(tzinfo=zone))

    # ------------------------------------------------------- one occurrence

    def _record(
        self, occurrence: icalendar.Component, uid: str, recurring: bool, cancel_all: bool
    ) -> EventRecord:
        raw_start = occurrence["DTSTART"].dt
        all_day = not isinstance(raw_start, datetime)
        start = to_utc(raw_start, self.zone)
        end = self._end(occurrence, raw_start, start)
        attendees, organizer = attendees_of(occurrence)
        return EventRecord(
            source_id=self._source_id(occurrence, uid, recurring, start),
            uid=uid,
            start=start,
            end=end,
            title=clean_text(occurrence.get("SUMMARY", "")),
            organizer=organizer,
            attendees=attendees,
            cancelled=cancel_all or str(occurrence.get("STATUS", "")).upper() == "CANCELLED",
            my_status=my_status_in(attendees, self.context.my_addresses),
            all_day=all_day,
        )

    def _end(self, occurrence: icalendar.Component, raw_start: date, start: datetime) -> datetime:
        """DTEND, else DTSTART + DURATION, else one day (dates) or zero (times)."""
        if "DTEND" in occurrence:
            end = to_utc(occurrence["DTEND"].dt, self.zone)
        elif "DURATION" in occurrence:
            end = start + occurrence["DURATION"].dt
        elif isinstance(raw_start, datetime):
            end = start
        else:
            end = to_utc(raw_start + timedelta(days=1), self.zone)
        # An end before the start (negative DURATION, swapped DTEND) is a typo:
        # the event still happened, for no time at all.
        return max(end, start)

    def _source_id(
        self, occurrence: icalendar.Component, uid: str, recurring: bool, start: datetime
    ) -> str:
        """uid for single events; uid/original-start for occurrences of a series.

        The original start is the RECURRENCE-ID (RFC 5545 3.8.4.4): it names the
        occurrence even after it was moved, so a moved meeting updates in place.
        """
        if not recurring:
            return uid
        rid = occurrence.get("RECURRENCE-ID")
        instant = to_utc(rid.dt, self.zone) if rid is not None else start
        return f"{uid}/{instant.isoformat()}"
