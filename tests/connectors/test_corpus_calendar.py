"""Every real-world .ics in the corpus (tests/data/corpus/calendar) through IcsConnector, read in place.

Run the figures by hand with::

    python -c "from tests.test_corpus_calendar import corpus_counts; print(corpus_counts())"
"""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, datetime
from functools import cache

import pytest

from circleback.connectors.base import ConnectorContext, EventRecord, ResponseStatus, Skip
from circleback.connectors.ics import IcsConnector
from circleback.daemon.config import IcsAccount
from tests.support.corpus import CORPUS as SHARED_CORPUS

CORPUS = SHARED_CORPUS / "calendar"
# Wide enough for the corpus' 1996-2026 dates, pinned so results never drift.
CONTEXT = ConnectorContext(
    my_addresses=frozenset({"jsmith@example.com"}),
    lookback_days=365 * 40,
    lookahead_days=60,
    timezone="UTC",
    now=datetime(2026, 11, 1, tzinfo=UTC),
)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="tests/data/corpus/calendar not present")


# What syncing each file put on stderr: (Python warnings, WARNING log lines).
SAID: dict[str, tuple[list[str], list[str]]] = {}


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@cache
def sync_file(name: str) -> tuple[tuple[EventRecord, ...], tuple[Skip, ...]]:
    """Single-file mode straight on the corpus file: nothing is copied."""
    connector = IcsConnector(IcsAccount(name="corpus", kind="ics", path=str(CORPUS / name)), CONTEXT)
    told, logger = _Lines(), logging.getLogger("circleback.connectors")
    logger.addHandler(told)
    try:
        with warnings.catch_warnings(record=True) as leaked:
            warnings.simplefilter("always")
            result = connector.sync_events(None)
    finally:
        logger.removeHandler(told)
    SAID[name] = ([f"{w.category.__name__}: {w.message}" for w in leaked], told.lines)
    return tuple(result.records), tuple(result.skipped)


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix.lower() == ".ics")


def corpus_counts() -> tuple[int, int, int, int]:
    """(files that gave events or parsed clean, files skipped whole, events, skips)."""
    parsed = skipped_files = events = skips = 0
    for name in corpus_files():
        records, skipped = sync_file(name)
        events += len(records)
        skips += len(skipped)
        whole_file = any(s.where == name for s in skipped) and not records
        skipped_files += whole_file
        parsed += not whole_file
    return parsed, skipped_files, events, skips


@pytest.mark.parametrize("name", corpus_files() if CORPUS.is_dir() else [])
def test_every_file_syncs_without_crashing(name: str) -> None:
    records, skipped = sync_file(name)
    for skip in skipped:
        assert skip.where.startswith(name)
        assert skip.why.strip() and "\n" not in skip.why and "\r" not in skip.why
    for record in records:
        assert record.start.utcoffset() is not None and record.end >= record.start
        assert record.source_id.startswith(record.uid)
    leaked, told = SAID[name]
    assert leaked == []  # icalendar's GloballyUniqueTZIDGuessed and the like are DEBUG lines
    assert len(told) == len(set(told)), told  # each unknown zone or unreadable DTEND said once


def one(name: str, source_id_end: str = "") -> EventRecord:
    records, _ = sync_file(name)
    hits = [r for r in records if r.source_id.endswith(source_id_end)]
    assert len(hits) == 1, [r.source_id for r in records]
    return hits[0]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# (file, source id suffix, start, end, all_day) - instants checked by reading each file.
# Suffixes are RFC 5545 UTC RECURRENCE-IDs, the form the CalDAV side used (one shared reading now).
EXPECTED_TIMES = [
    # TZID=W. Europe Standard Time (a Windows name), CEST in April: 14:00 -> 12:00Z.
    ("allenporter-ical__office_365_extended_timezone.ics", "", utc(2024, 4, 26, 12), utc(2024, 4, 26, 13), False),
    # TZID=Customized Time Zone has no VTIMEZONE: read as UTC (counted fallback).
    ("allenporter-ical__office_365_invalid_timezone.ics", "", utc(2024, 4, 26, 14), utc(2024, 4, 26, 15), False),
    # All-day 2007-06-28..07-09; the negative DURATION is the VALARM's and must not matter.
    ("allenporter-ical__duration_negative.ics", "", utc(2007, 6, 28), utc(2007, 7, 9), True),
    # Buenos Aires 17:00-19:00 (-03:00) despite X-WR-TIMEZONE:Etc/GMT; daily series.
    (
        "allenporter-ical__google_calendar_invalid_offset.ics",
        "/20030203T200000Z",
        utc(2003, 2, 3, 20),
        utc(2003, 2, 3, 22),
        False,
    ),
    # Override of the 2nd occurrence ("Edited Title"), New York 10:00 EST -> 15:00Z.
    (
        "allenporter-ical__recurring_with_single_change.ics",
        "/20260202T150000Z",
        utc(2026, 2, 2, 15),
        utc(2026, 2, 2, 16),
        False,
    ),
    # Outlook's "Canberra, Melbourne, Sydney" VTIMEZONE: 09:30 AEDT (+11) -> 22:30Z the day before.
    (
        "ical4j__Standup.ics",
        "/20090309T223000Z",
        utc(2009, 3, 9, 22, 30),
        utc(2009, 3, 9, 22, 45),
        False,
    ),
]


@pytest.mark.parametrize(("name", "sid_end", "start", "end", "all_day"), EXPECTED_TIMES)
def test_nasty_files_give_the_right_instants(
    name: str, sid_end: str, start: datetime, end: datetime, all_day: bool
) -> None:
    event = one(name, sid_end)
    assert (event.start, event.end, event.all_day) == (start, end, all_day)


def test_google_daily_series_honours_date_exdates_and_until() -> None:
    records, _ = sync_file("allenporter-ical__google_calendar_invalid_offset.ics")
    days = sorted(r.start.day for r in records)
    assert days == [3, 4, 5, 6, 7, 10, 11, 12]  # EXDATE 8th, 9th; UNTIL 13th 16:00Z < 20:00Z


def test_override_keeps_its_own_title() -> None:
    # Ids in RFC 5545 UTC form, as the CalDAV side gave them (one shared reading now).
    assert one("allenporter-ical__recurring_with_single_change.ics", "/20260202T150000Z").title == "Edited Title"
    assert one("allenporter-ical__recurring_with_single_change.ics", "/20260203T150000Z").title == "Initial Title"


def test_rfc_attendee_examples_keep_the_stated_partstat() -> None:
    # jsmith is listed five times; only one line says PARTSTAT=DECLINED.
    event = one("allenporter-ical__event_cal_address.ics")
    people = {a.email: a for a in event.attendees}
    assert people["jsmith@example.com"].status is ResponseStatus.DECLINED
    assert event.my_status is ResponseStatus.DECLINED
    assert people["jimdo@example.com"].is_organizer
    assert people["jimdo@example.com"].status is ResponseStatus.ACCEPTED  # organizer without PARTSTAT


def test_itip_cancel_without_dtstart_cancels_the_request_before_it() -> None:
    # incoming.ics: REQUESTs for ...777, attendee REPLYs, a METHOD:CANCEL naming
    # ...777 by UID only (no DTSTART), then an attendee's COUNTER that must not
    # bring the meeting back.
    records, skipped = sync_file("ical4j__incoming.ics")
    [event] = [r for r in records if r.uid == "calsrv.example.com-873970198738777@example.com"]
    assert event.cancelled
    assert event.start == utc(1996, 7, 1, 18)  # the last REQUEST says 1996, as published
    assert skipped == ()


def test_unparseable_files_are_skipped_whole_with_a_reason() -> None:
    records, skipped = sync_file("ical4j__invalid_boeing.ics")
    assert records == ()
    assert [s.where for s in skipped] == ["ical4j__invalid_boeing.ics"]
    assert "2006717T080000Z" in skipped[0].why


def test_corpus_figures() -> None:
    parsed, skipped_files, events, skips = corpus_counts()
    assert parsed + skipped_files == len(corpus_files())
    assert skipped_files <= 5 and events > 1000
