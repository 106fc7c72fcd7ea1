"""iCalendar text to EventRecords: the one reading every calendar connector shares.

The ics connector (files) and the CalDAV connector (server objects) both hand
their iCalendar text to :func:`events_from_calendar`, so a meeting counts the
same way whichever way it arrived: the same source ids, PARTSTAT mapping,
organizer handling, zones, all-day rules and iTIP METHOD handling.

What it does with one iCalendar object (a file, or one CalDAV resource):

* parses it whole, or - when one bad line sinks the parse - each VEVENT alone
  with the VTIMEZONEs that still parse;
* groups VEVENTs by UID and expands each series on its own, in yearly chunks,
  so one broken or runaway series is skipped alone and a cap stops the rest;
* reads floating times and dates in the user's zone, maps Outlook display
  names and Windows names to zones, reads unknown zones as UTC (counted);
* treats METHOD:CANCEL as withdrawing what it names and ignores the answers
  and proposals attendees send (REPLY, COUNTER, REFRESH).

Source ids (kept stable: the ledger and the cursors store them):

* a single event: its UID;
* an occurrence of a series: ``uid/<RECURRENCE-ID>`` in iCalendar's own UTC
  form (RFC 5545 3.3.5), ``uid/20250210T080000Z``, or ``uid/20250210`` for a
  DATE-valued one.  The RECURRENCE-ID is the original start (RFC 5545
  3.8.4.4), so a moved occurrence keeps the id of the slot it replaces; a
  date stays a date, so the id does not depend on the user's zone.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from icalendar.timezone import tzp

from .base import Attendee, ConnectorContext, EventRecord, ResponseStatus, Skip
from .mailheaders import clean_address
from .text import clean_text

log = logging.getLogger(__name__)

# Expanding a window of decades in one call cannot be interrupted; chunks let
# us stop a runaway series (the cap below) after one chunk's work.
CHUNK = timedelta(days=366)
# Floating and all-day values are placed by the library in the bounds' zone,
# not the user's: widen each query and filter on our own UTC start instead.
SLACK = timedelta(days=2)
# Occurrences one iCalendar object (a file, a CalDAV resource) may give.
MAX_OCCURRENCES = 50_000
# Sub-hourly rules are not meetings with people and can yield millions of rows.
RUNAWAY_FREQS = frozenset({"SECONDLY", "MINUTELY"})

_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
# RFC 5545 3.2.12.  A missing PARTSTAT, and any value a client does not know
# (x-name, iana-token), means NEEDS-ACTION; DELEGATED has no status of ours.
_PARTSTAT = {
    "ACCEPTED": ResponseStatus.ACCEPTED,
    "TENTATIVE": ResponseStatus.TENTATIVE,
    "DECLINED": ResponseStatus.DECLINED,
    "NEEDS-ACTION": ResponseStatus.NEEDS_ACTION,
    "DELEGATED": ResponseStatus.UNKNOWN,
}
# iTIP messages an attendee sends (RFC 5546 3.2): answers and proposals, not the
# event as it stands, so they must not overwrite what the organizer published.
_ATTENDEE_MESSAGES = frozenset({"REPLY", "COUNTER", "REFRESH"})
_RESOURCE_TYPES = frozenset({"ROOM", "RESOURCE"})
_TIME_PROPS = ("DTSTART", "DTEND", "RECURRENCE-ID")
_RECURRING_PROPS = ("RRULE", "RDATE", "RECURRENCE-ID")
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
_OCCURRENCE_ID = re.compile(r"^(?P<uid>.+)/(?P<stamp>\d{8}(?:T\d{6}Z)?)$")
_BLOCK = re.compile(r"^BEGIN:(VEVENT|VTIMEZONE)\r?$.*?^END:\1\r?$", re.MULTILINE | re.DOTALL)
_METHOD_LINE = re.compile(r"^METHOD:[^\r\n]*", re.MULTILINE)


class SeriesError(Exception):
    """One series (all components of a UID) cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@dataclass(slots=True)
class CalendarEvents:
    """What one iCalendar object gave."""

    records: dict[str, EventRecord] = field(default_factory=dict)  # source id -> occurrence
    skipped: list[Skip] = field(default_factory=list)
    # Series that could not be read this time: the ids they gave before still stand.
    failed_uids: set[str] = field(default_factory=set)
    usable: bool = True  # False: nothing in it parsed; keep what it meant before
    zone_fallbacks: int = 0  # times whose unknown TZID was read as UTC


# --- the one entry point ----------------------------------------------------------------------


def events_from_calendar(
    data: bytes | str, *, start: datetime, end: datetime, context: ConnectorContext, where: str
) -> CalendarEvents:
    """Every VEVENT occurrence in ``data`` starting inside ``[start, end)``, recurrences expanded.

    ``where`` names the object in skips and logs (a relative path, an href) and
    seeds the UID made up for an event that lacks one.  Never raises on bad
    input: what cannot be used is in ``skipped``.
    """
    reading = _Reading(context, where)
    # icalendar and recurring-ical-events warn about what they guess in a file
    # (GloballyUniqueTZIDGuessed and the like): the file's business, not a Python
    # warning for stderr.  Calendars are read on one thread, which catch_warnings needs.
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        reading.read(data, Window(start, end))
    for text in dict.fromkeys(f"{w.category.__name__}: {clean_text(w.message)}" for w in said):
        log.debug("%s: %s", where, text)
    return reading.found


# --- source ids -------------------------------------------------------------------------------


def occurrence_id(uid: str, original_start: date | datetime, zone: tzinfo) -> str:
    """``uid/20250210T080000Z`` (or ``uid/20250210`` for a date): one occurrence of a series."""
    if not isinstance(original_start, datetime):
        return f"{uid}/{original_start.strftime('%Y%m%d')}"
    return f"{uid}/{to_utc(original_start, zone).strftime('%Y%m%dT%H%M%SZ')}"


def uid_of(source_id: str) -> str:
    """The UID a source id belongs to."""
    found = _OCCURRENCE_ID.match(source_id)
    return found["uid"] if found else source_id


def cancellation(source_id: str) -> EventRecord:
    """A record that withdraws ``source_id``; only its id and uid are meaningful.

    A recurring occurrence's id ends in its original start, which becomes the
    record's time; for a single event the time is no longer known (the epoch).
    """
    found = _OCCURRENCE_ID.match(source_id)
    when = datetime.fromtimestamp(0, UTC)
    if found:
        stamp = found["stamp"]
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ" if "T" in stamp else "%Y%m%d").replace(tzinfo=UTC)
    return EventRecord(source_id=source_id, uid=uid_of(source_id), start=when, end=when, cancelled=True)


def kept_ids(earlier: Iterable[str], failed_uids: set[str]) -> list[str]:
    """The ids of ``earlier`` that belong to series which failed now: kept, not cancelled."""
    return [sid for sid in earlier if uid_of(sid) in failed_uids] if failed_uids else []


# --- small readers ----------------------------------------------------------------------------


def to_utc(value: date | datetime, zone: tzinfo) -> datetime:
    """An aware UTC instant; floating times and dates are read in the user's zone (RFC 5545 3.3.5)."""
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
    """``mailto:Ann@X.org`` -> ``ann@x.org``; "" when it is no address a note could go to.

    The rule every connector applies to mail (``addresses.py``): an ORGANIZER or ATTENDEE
    anyone can write into an invitation, such as ``mailto:=?utf-8?q?_x@evil.example?=``,
    must not become a person who is due for ever.
    """
    return clean_address(_MAILTO.sub("", str(value or "").strip()))


def _attendee(prop: Any) -> tuple[Attendee | None, bool]:
    """The person and whether a PARTSTAT was stated."""
    email = parse_address(prop)
    if not email:
        return None, False
    params = getattr(prop, "params", {})
    stated = "PARTSTAT" in params
    status = _PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), ResponseStatus.NEEDS_ACTION)
    person = Attendee(
        email=email,
        name=clean_text(params.get("CN", "")),
        status=status,
        is_resource=str(params.get("CUTYPE", "")).upper() in _RESOURCE_TYPES,
    )
    return person, stated


def attendees_of(event: icalendar.Component) -> tuple[tuple[Attendee, ...], str]:
    """Attendees (organizer included and flagged) and the organizer's address.

    The organizer takes part even when not listed (RFC 5545 lets them go
    unlisted) and, unless their own ATTENDEE line says otherwise, is going:
    ORGANIZER carries no PARTSTAT, and whoever called the meeting attends it.
    """
    found: dict[str, Attendee] = {}
    stated: set[str] = set()
    for prop in _as_list(event.get("ATTENDEE")):
        person, said = _attendee(prop)
        # Listed twice (RFC 5545's own examples do): a stated PARTSTAT wins.
        if person and (person.email not in found or (said and person.email not in stated)):
            found[person.email] = person
            if said:
                stated.add(person.email)
    organizer, said = _attendee(event.get("ORGANIZER")) if "ORGANIZER" in event else (None, False)
    if organizer is None:
        return tuple(found.values()), ""
    listed = found.get(organizer.email)
    if listed and organizer.email in stated:
        status = listed.status  # the organizer's own answer, e.g. declining their own meeting
    else:
        status = organizer.status if said else ResponseStatus.ACCEPTED
    found[organizer.email] = replace(
        listed or organizer, name=(listed and listed.name) or organizer.name, status=status, is_organizer=True
    )
    return tuple(found.values()), organizer.email


def my_status_in(attendees: tuple[Attendee, ...], mine: frozenset[str]) -> ResponseStatus:
    """My own answer: the status of the first attendee who is me."""
    return next((person.status for person in attendees if person.email in mine), ResponseStatus.UNKNOWN)


def _first(value: Any) -> Any:
    """The first of a repeated property (a broken file may carry two UIDs)."""
    return value[0] if isinstance(value, list) and value else value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _forget_other_objects_zones() -> None:
    """Empty icalendar's process-wide cache of VTIMEZONE definitions.

    icalendar keeps the first VTIMEZONE it ever saw for a custom TZID and
    ignores later ones, but Outlook names many different zones "Customized
    Time Zone": without this, one object's zone would place another's times.
    Re-selecting the same provider is the public way to start a fresh cache.
    """
    tzp.use(tzp.name)


def _salvage_events(text: str) -> tuple[list[icalendar.Component], int] | None:
    """Parse each VEVENT of a broken object alone, with the VTIMEZONEs that parse.

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


def _sub_calendar(calendar: icalendar.Component, events: list[icalendar.Component]) -> icalendar.Calendar:
    """A calendar holding one series and every VTIMEZONE, so one bad series stays alone."""
    sub = icalendar.Calendar()
    sub.update(calendar)  # METHOD, X-WR-TIMEZONE: the library reads the latter
    for tz in calendar.walk("VTIMEZONE"):
        sub.add_component(tz)
    for event in events:
        sub.add_component(event)
    return sub


# --- one object -------------------------------------------------------------------------------


class _Reading:
    """The state of reading one iCalendar object."""

    def __init__(self, context: ConnectorContext, where: str) -> None:
        self.zone = ZoneInfo(context.timezone)
        self.mine = context.my_addresses
        self.where = where
        self.found = CalendarEvents()
        self._zones_told: set[tuple[str, str]] = set()  # (TZID, UID) already logged as unknown

    def read(self, data: bytes | str, window: Window) -> None:
        calendars = self.parse(data)
        if calendars is None:
            self.found.usable = False
            return
        for calendar in calendars:
            self.read_calendar(calendar, window)

    def parse(self, data: bytes | str) -> list[icalendar.Component] | None:
        """The object's calendars; when one bad line sinks the whole, each event alone."""
        _forget_other_objects_zones()
        try:
            return icalendar.Calendar.from_ical(data, multiple=True)
        except Exception as exc:  # noqa: BLE001 - icalendar raises anything on bad input
            why = f"not iCalendar: {clean_text(exc)[:200]}"
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        salvaged = _salvage_events(text)
        if not salvaged:
            self.found.skipped.append(Skip(where=self.where, why=why))
            return None
        calendars, lost = salvaged
        if lost:
            self.found.skipped.append(Skip(where=self.where, why=f"{lost} event(s) lost: {why}"))
        return calendars

    def read_calendar(self, calendar: icalendar.Component, window: Window) -> None:
        method = str(calendar.get("METHOD", "")).upper()
        if method in _ATTENDEE_MESSAGES:
            log.debug("%s is an iTIP %s from an attendee, not calendar state", self.where, method)
            return
        cancel_all = method == "CANCEL"  # RFC 5546 3.2.5: withdraws what it names
        records = self.found.records
        for uid, series in self._series_by_uid(calendar).items():
            try:
                for record in self._expand_series(calendar, uid, series, window, cancel_all):
                    records[record.source_id] = record
                    if len(records) > MAX_OCCURRENCES:
                        raise SeriesError(f"more than {MAX_OCCURRENCES} occurrences")
            except SeriesError as exc:
                if cancel_all and self._cancel_known(uid):
                    continue  # an iTIP CANCEL names the UID only: it cancels what we have
                self._skip_series(uid, exc)
            except Exception as exc:  # noqa: BLE001 - one bad series never stops the object
                self._skip_series(uid, exc)

    def _cancel_known(self, uid: str) -> bool:
        """Mark every occurrence of ``uid`` read so far as cancelled; False if there is none."""
        records = self.found.records
        hits = [sid for sid, r in records.items() if r.uid == uid]
        for sid in hits:
            records[sid] = replace(records[sid], cancelled=True)
        return bool(hits)

    def _skip_series(self, uid: str, exc: Exception) -> None:
        self.found.failed_uids.add(uid)
        why = clean_text(exc)[:200] or type(exc).__name__
        self.found.skipped.append(Skip(where=f"{self.where} {uid}", why=why))
        log.debug("skipped %s %s: %s", self.where, uid, why)

    def _series_by_uid(self, calendar: icalendar.Component) -> dict[str, list[icalendar.Component]]:
        """VEVENTs grouped by UID; events without one get a UID derived from content."""
        series: dict[str, list[icalendar.Component]] = {}
        for event in calendar.walk("VEVENT"):
            uid = clean_text(_first(event.get("UID", "")))
            if not uid:
                # Stable across syncs as long as the event itself does not change.
                raw = f"{self.where}|{event.get('DTSTART', '')!r}|{event.get('SUMMARY', '')}"
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
        # recurring-ical-events stamps a RECURRENCE-ID on every occurrence it returns,
        # single events included, so "recurring" is decided from the source components.
        recurring = any(k in e for e in events for k in _RECURRING_PROPS)
        query = recurring_ical_events.of(_sub_calendar(calendar, events))
        chunk_start = window.start
        while chunk_start < window.end:
            chunk = Window(chunk_start, min(chunk_start + CHUNK, window.end))
            for occurrence in query.between(chunk.start - SLACK, chunk.end + SLACK):
                record = self._record(occurrence, uid, recurring, cancel_all)
                if chunk.contains(record.start):
                    yield record
            chunk_start = chunk.end

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
                log.warning("%s: %s of %s unreadable; using the default length", self.where, name, event.get("UID"))
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
            self.found.zone_fallbacks += 1
            told = (tzid, str(event.get("UID")))
            if told not in self._zones_told:  # once per series, not per DTSTART, DTEND and occurrence
                self._zones_told.add(told)
                log.warning("%s: unknown time zone %r in %s; reading it as UTC", self.where, tzid, told[1])
        del event[name]
        event.add(name, value.replace(tzinfo=zone))

    # -- one occurrence

    def _record(self, occurrence: icalendar.Component, uid: str, recurring: bool, cancel_all: bool) -> EventRecord:
        raw_start = occurrence["DTSTART"].dt
        start = to_utc(raw_start, self.zone)
        attendees, organizer = attendees_of(occurrence)
        rid = occurrence.get("RECURRENCE-ID")
        return EventRecord(
            source_id=occurrence_id(uid, rid.dt if rid is not None else raw_start, self.zone) if recurring else uid,
            uid=uid,
            start=start,
            end=self._end(occurrence, raw_start, start),
            title=clean_text(occurrence.get("SUMMARY", "")),
            organizer=organizer,
            attendees=attendees,
            cancelled=cancel_all or str(occurrence.get("STATUS", "")).upper() == "CANCELLED",
            my_status=my_status_in(attendees, self.mine),
            all_day=not isinstance(raw_start, datetime),
        )

    def _end(self, occurrence: icalendar.Component, raw_start: date, start: datetime) -> datetime:
        """DTEND, else DTSTART + DURATION, else one day (dates) or zero (times); RFC 5545 3.6.1."""
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
