"""connectors/text.py: the one cleaner, and the same raw title or name stored the same from every source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import Header
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from circleback.connectors.base import ConnectorContext, EventRecord, MailRecord
from circleback.connectors.google import calendar as google_calendar
from circleback.connectors.icalendar_events import events_from_calendar
from circleback.connectors.mailheaders import parse_mail_headers
from circleback.connectors.microsoft import outlook
from circleback.connectors.text import clean_text, server_text, shorten

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=1)
CONTEXT = ConnectorContext(my_addresses=frozenset({"me@example.org"}), now=NOW)

# What providers really send: padding, doubled and no-break spaces, a tab, a line break
# (an .ics file escapes it as \n), a line separator, C1 and C0 controls, an ANSI escape.
RAW_TITLE = "  Design\u00a0 review:\tQ3\r\n plan\u2028for\x85 Zoë \x00\x1b[31m  "
TITLE = "Design review: Q3 plan for Zoë [31m"
RAW_NAME = " Zoë\u00a0 van  der Berg "
NAME = "Zoë van der Berg"


@pytest.mark.parametrize(("raw", "clean"), [
    ("", ""),
    (None, ""),
    ("plain", "plain"),
    ("  two  spaces\tand a tab ", "two spaces and a tab"),
    ("folded\r\n continuation", "folded continuation"),
    ("a\r\nb\x00c\x85d\u2029e", "a b c d e"),
    ("no-break\u00a0space and\u3000ideographic", "no-break space and ideographic"),
    ("Fr\udcf6sche", "Frösche"),  # a raw 8-bit byte the bytes parser kept: Windows-1252
    ("Zo\udcc3\udcab", "Zoë"),  # raw UTF-8 (RFC 6532)
    (RAW_TITLE, TITLE),
])
def test_clean_text(raw: object, clean: str) -> None:
    assert clean_text(raw) == clean


def test_anything_not_text_is_read_as_its_text() -> None:
    assert clean_text(ValueError("bad\nline")) == "bad line"
    assert clean_text(icalendar.vText("  Lunch ")) == "Lunch" and type(clean_text(icalendar.vText("x"))) is str


# --- one raw title, every path ---------------------------------------------------------------------


def from_icalendar(title: str, name: str) -> EventRecord:
    """.ics files and CalDAV: both read through events_from_calendar."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//circleback//test//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", "t1")
    event.add("dtstamp", NOW)
    event.add("dtstart", START)
    event.add("dtend", START + timedelta(hours=1))
    event.add("summary", title)
    event.add("organizer", "mailto:ann@example.com", parameters={"CN": name})
    calendar.add_component(event)
    found = events_from_calendar(calendar.to_ical(), start=NOW - timedelta(days=30), end=NOW, context=CONTEXT,
                                 where="t.ics")
    (record,) = found.records.values()
    return record


def from_google(title: str, name: str) -> EventRecord:
    when = {"dateTime": START.strftime("%Y-%m-%dT%H:%M:%SZ")}
    item = {"id": "t1", "summary": title, "start": when, "end": when,
            "organizer": {"email": "ann@example.com", "displayName": name}}
    record = google_calendar.event_record(item, CONTEXT)
    assert isinstance(record, EventRecord)
    return record


def from_graph(title: str, name: str) -> EventRecord:
    when = {"dateTime": START.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}
    item = {"id": "t1", "subject": title, "start": when, "end": when,
            "organizer": {"emailAddress": {"address": "ann@example.com", "name": name}}}
    record = outlook.event_record(item, mine=CONTEXT.my_addresses, zone=ZoneInfo("UTC"), now=NOW)
    assert isinstance(record, EventRecord)
    return record


def from_headers(title: str, name: str) -> MailRecord:
    """Maildir, mbox, IMAP and Gmail: RFC 5322 headers, here with the title as an encoded word."""
    raw = (f"From: {Header(name, 'utf-8').encode()} <ann@example.com>\r\nTo: me@example.org\r\n"
           f"Subject: {Header(title, 'utf-8').encode()}\r\nDate: Sun, 09 Mar 2025 12:00:00 +0000\r\n"
           "Message-ID: <t1@example.com>\r\n\r\n").encode()
    record = parse_mail_headers(raw, folder="INBOX", is_sent_folder=False, my_addresses=CONTEXT.my_addresses,
                                fallback_time=NOW, source_hint="t1")
    assert isinstance(record, MailRecord)
    return record


def from_graph_mail(title: str, name: str) -> MailRecord:
    item = {"id": "m1", "subject": title, "internetMessageId": "<t1@example.com>",
            "from": {"emailAddress": {"address": "ann@example.com", "name": name}},
            "receivedDateTime": START.strftime("%Y-%m-%dT%H:%M:%SZ")}
    record = outlook.message_record(item, folder="Inbox", sent_folder=False, mine=CONTEXT.my_addresses)
    assert isinstance(record, MailRecord)
    return record


EVENT_PATHS = {"ics-and-caldav": from_icalendar, "google": from_google, "graph": from_graph}
MAIL_PATHS = {"headers": from_headers, "graph": from_graph_mail}


@pytest.mark.parametrize("path", EVENT_PATHS)
def test_a_meeting_title_and_its_organizer_are_stored_the_same_from_every_calendar(path: str) -> None:
    record = EVENT_PATHS[path](RAW_TITLE, RAW_NAME)
    organizer = [a for a in record.attendees if a.email == "ann@example.com"]
    assert record.title == TITLE
    assert [a.name for a in organizer] == [NAME]


@pytest.mark.parametrize("path", MAIL_PATHS)
def test_a_subject_and_a_sender_are_stored_the_same_from_every_mailbox(path: str) -> None:
    record: Any = MAIL_PATHS[path](RAW_TITLE, RAW_NAME)
    assert record.subject == TITLE
    assert record.sender.name == NAME


def test_shorten_cuts_between_words_and_marks_the_cut() -> None:
    assert shorten("short enough", 40) == "short enough"
    assert shorten("the server refused the request, because", 30) == "the server refused the…"
    assert shorten("x" * 50, 20) == "x" * 19 + "…"  # one endless token: cut all the same


def test_server_text_reads_an_error_page_as_its_words() -> None:
    page = (b"<html><head><title>503 Service Unavailable</title><script>var a = '<b>';</script></head>"
            b"<body><h1>Service Unavailable</h1><p>Back at 10:00 &amp; sorry.</p>\x00</body></html>")
    assert server_text(page) == "503 Service Unavailable Service Unavailable Back at 10:00 & sorry."
    assert server_text(b"plain\r\ntext\x1b[0m") == "plain text [0m"
    assert server_text(None) == server_text(b"") == ""
