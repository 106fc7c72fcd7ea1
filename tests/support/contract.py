"""The connector contract every MailSource, DraftBox and CalendarSource passes (vdirsyncer StorageTests style).

``tests/test_registry.py`` runs every registered kind through the contract of each role it
declares; its ``backend`` fixture returns an object with

* ``.connector`` - the connector under test, built with :data:`CONTEXT` or a
  context holding :data:`ME` in ``my_addresses``;
* ``.add_message(raw: bytes, folder: str = "INBOX")`` - put one RFC 5322
  message where the connector will find it; ``folder="Sent"`` means the
  account's sent folder, whatever the backend calls it.

Nothing here knows about files, sockets or HTTP, so IMAP, Gmail and Graph fakes
plug in the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from typing import Any

from circleback.connectors.base import ConnectorContext, Direction, DraftRef, MailRecord

ME = "me@example.org"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
CONTEXT = ConnectorContext(my_addresses=frozenset({ME}), lookback_days=365, now=NOW)


def build_message(
    n: int,
    *,
    sender: str = "alice@example.com",
    to: str = ME,
    date: datetime | None = None,
    subject: str | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    """A small, valid message with a predictable Message-ID ``msg{n}@test``."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject or f"message {n}"
    msg["Date"] = date or NOW - timedelta(days=n)
    msg["Message-ID"] = f"<msg{n}@test>"
    for name, value in (extra or {}).items():
        msg[name] = value
    msg.set_content(f"body {n}\n")
    return msg.as_bytes()


def draft_message(key: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = ME
    msg["To"] = "bob@example.net"
    msg["Subject"] = "Long time no see"
    msg["X-Circleback-Key"] = key
    msg.set_content("How have you been?\n")
    return msg.as_bytes()


def by_id(records: list[MailRecord]) -> dict[str, MailRecord]:
    return {r.message_id: r for r in records}


class MailSourceContract:
    """A MailSource returns each message once, with UTC times and the right direction."""

    def test_first_sync_returns_added_messages(self, backend: Any) -> None:
        backend.add_message(build_message(1))
        backend.add_message(build_message(2, sender="Bob <bob@example.net>"))
        backend.add_message(build_message(3, sender=ME, to="carol@example.com"), folder="Sent")

        result = backend.connector.sync_mail(None)

        got = by_id(result.records)
        assert set(got) == {"msg1@test", "msg2@test", "msg3@test"}
        for n in (1, 2, 3):
            stamp = got[f"msg{n}@test"].timestamp
            assert stamp.utcoffset() == timedelta(0)
            assert stamp == (NOW - timedelta(days=n)).replace(microsecond=0)
        assert got["msg1@test"].direction is Direction.RECEIVED
        assert got["msg2@test"].sender is not None
        assert got["msg2@test"].sender.email == "bob@example.net"
        assert got["msg3@test"].direction is Direction.SENT
        assert [a.email for a in got["msg3@test"].to] == ["carol@example.com"]

    def test_second_sync_with_cursor_returns_nothing_new(self, backend: Any) -> None:
        backend.add_message(build_message(1))
        backend.add_message(build_message(2), folder="Sent")
        first = backend.connector.sync_mail(None)

        second = backend.connector.sync_mail(first.cursor)

        assert len(first.records) == 2
        assert second.records == []

    def test_message_added_later_appears_exactly_once(self, backend: Any) -> None:
        backend.add_message(build_message(1))
        first = backend.connector.sync_mail(None)
        backend.add_message(build_message(4, date=NOW))

        second = backend.connector.sync_mail(first.cursor)
        third = backend.connector.sync_mail(second.cursor)

        assert [r.message_id for r in second.records] == ["msg4@test"]
        assert third.records == []

    def test_malformed_message_is_counted_never_raised(self, backend: Any) -> None:
        backend.add_message(b"\x00\xff\xfe garbage without any header\n\n\x00body\n")
        backend.add_message(build_message(5))

        result = backend.connector.sync_mail(None)

        assert "msg5@test" in by_id(result.records)
        assert len(result.records) + len(result.skipped) == 2
        assert all(s.why for s in result.skipped)

    def test_encoded_name_with_comma_stays_one_person(self, backend: Any) -> None:
        raw = build_message(6, to="x@example.org").replace(
            b"To: x@example.org", b"To: =?UTF-8?Q?H=C3=B6rst=2C_Kenny?= <K.Hoerst@example.org>"
        )
        backend.add_message(raw)

        (record,) = backend.connector.sync_mail(None).records

        assert [(a.email, a.name) for a in record.to] == [("k.hoerst@example.org", "Hörst, Kenny")]


class DraftBoxContract:
    """A DraftBox stores what it is given, finds it by key, and never dedupes on its own."""

    def test_created_draft_is_listed_with_its_key(self, backend: Any) -> None:
        ref = backend.connector.create_draft(draft_message("k-1"), "k-1")

        listed = backend.connector.list_drafts()

        assert ref.key == "k-1"
        assert [(d.ref, d.key) for d in listed] == [(ref.ref, "k-1")]

    def test_get_draft_returns_the_message_with_its_key(self, backend: Any) -> None:
        ref = backend.connector.create_draft(draft_message("k-2"), "k-2")

        raw = backend.connector.get_draft(ref)

        assert raw is not None
        parsed = BytesParser(policy=default).parsebytes(raw)
        assert parsed["X-Circleback-Key"] == "k-2"
        assert parsed["Subject"] == "Long time no see"

    def test_two_creates_give_two_drafts(self, backend: Any) -> None:
        first = backend.connector.create_draft(draft_message("k-3"), "k-3")
        second = backend.connector.create_draft(draft_message("k-3"), "k-3")

        listed = backend.connector.list_drafts()

        assert first.ref != second.ref
        assert sorted(d.ref for d in listed) == sorted([first.ref, second.ref])
        assert {d.key for d in listed} == {"k-3"}

    def test_unknown_ref_gives_none(self, backend: Any) -> None:
        backend.connector.create_draft(draft_message("k-4"), "k-4")
        account = backend.connector.account

        assert backend.connector.get_draft(DraftRef(account, "no-such-draft", "k-4")) is None


def vevent(uid: str, start: datetime, *, title: str = "Design review", rrule: str = "", hours: int = 1) -> str:
    """One VCALENDAR with one VEVENT: me organising, Ann accepted, Bo declined."""
    fmt = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//circleback//contract//EN", "BEGIN:VEVENT",
        f"UID:{uid}", "DTSTAMP:20250101T000000Z",
        f"DTSTART:{start.astimezone(UTC).strftime(fmt)}",
        f"DTEND:{(start + timedelta(hours=hours)).astimezone(UTC).strftime(fmt)}",
        f"SUMMARY:{title}", f"ORGANIZER;CN=Me:mailto:{ME}",
        f"ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:{ME}",
        "ATTENDEE;CN=Ann Lee;PARTSTAT=ACCEPTED:mailto:ann@example.com",
        "ATTENDEE;CN=Bo;PARTSTAT=DECLINED:mailto:bo@example.com",
        *([rrule] if rrule else []),
        "END:VEVENT", "END:VCALENDAR", "",
    ]
    return "\r\n".join(lines)


class CalendarSourceContract:
    """Every CalendarSource: ics folders, CalDAV, Google Calendar, Graph calendarView.

    The ``backend`` fixture offers ``.connector``, ``.add_event(uid, ics_text)``
    and ``.remove_event(uid)``.
    """

    def test_first_sync_returns_events_in_utc_with_attendees(self, backend: Any) -> None:
        start = NOW - timedelta(days=3, hours=2)
        backend.add_event("e1", vevent("e1", start))
        result = backend.connector.sync_events(None)
        (event,) = [r for r in result.records if r.uid == "e1"]
        assert event.start == start and event.start.utcoffset() == timedelta(0)
        assert event.end == start + timedelta(hours=1)
        assert event.title == "Design review" and not event.cancelled
        statuses = {a.email: a.status.value for a in event.attendees}
        assert statuses["ann@example.com"] == "accepted"
        assert statuses["bo@example.com"] == "declined"
        assert event.my_status.value == "accepted"

    def test_second_sync_with_cursor_returns_nothing_new(self, backend: Any) -> None:
        backend.add_event("e1", vevent("e1", NOW - timedelta(days=3)))
        first = backend.connector.sync_events(None)
        again = backend.connector.sync_events(first.cursor)
        assert again.records == []

    def test_event_added_later_appears_exactly_once(self, backend: Any) -> None:
        backend.add_event("e1", vevent("e1", NOW - timedelta(days=3)))
        first = backend.connector.sync_events(None)
        backend.add_event("e2", vevent("e2", NOW - timedelta(days=1), title="Pricing chat"))
        second = backend.connector.sync_events(first.cursor)
        assert [(r.uid, r.title) for r in second.records] == [("e2", "Pricing chat")]
        assert backend.connector.sync_events(second.cursor).records == []

    def test_removed_event_comes_back_cancelled(self, backend: Any) -> None:
        backend.add_event("e1", vevent("e1", NOW - timedelta(days=3)))
        first = backend.connector.sync_events(None)
        (source_id,) = [r.source_id for r in first.records if r.uid == "e1"]
        backend.remove_event("e1")
        second = backend.connector.sync_events(first.cursor)
        assert [(r.source_id, r.cancelled) for r in second.records] == [(source_id, True)]

    def test_recurring_occurrences_have_distinct_stable_ids(self, backend: Any) -> None:
        backend.add_event("w1", vevent("w1", NOW - timedelta(days=28), rrule="RRULE:FREQ=WEEKLY;COUNT=4"))
        ids = sorted(r.source_id for r in backend.connector.sync_events(None).records if r.uid == "w1")
        assert len(ids) == 4 and len(set(ids)) == 4
        again = sorted(r.source_id for r in backend.connector.sync_events(None).records if r.uid == "w1")
        assert ids == again
