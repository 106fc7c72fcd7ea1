"""IcsConnector over small .ics folders built in tmp_path, with a pinned clock."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from circleback.connectors.base import ConnectorContext, EventRecord, ResponseStatus
from circleback.connectors.icalendar_events import parse_address
from circleback.connectors.ics import IcsConnector
from circleback.connectors.text import clean_text
from circleback.daemon.config import IcsAccount
from tests.support.hostile import GUEST, HOSTILE_ATTENDEES, HOSTILE_ORGANIZER

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
ME = "me@example.org"


def ics(*events: str, method: str = "", zones: str = "") -> str:
    head = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + (f"METHOD:{method}\n" if method else "")
    return head + zones + "".join(events) + "END:VCALENDAR\n"


def vevent(uid: str, *lines: str) -> str:
    return "BEGIN:VEVENT\n" + f"UID:{uid}\nDTSTAMP:20260101T000000Z\n" + "\n".join(lines) + "\nEND:VEVENT\n"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace("\n", "\r\n"))
    return path


def connector(path: Path, now: datetime = NOW, tz: str = "UTC", lookback: float = 60) -> IcsConnector:
    context = ConnectorContext(
        my_addresses=frozenset({ME}), lookback_days=lookback, lookahead_days=30, timezone=tz, now=now
    )
    return IcsConnector(IcsAccount(name="cal", kind="ics", path=str(path)), context)


def by_id(records: list[EventRecord]) -> dict[str, EventRecord]:
    return {r.source_id: r for r in records}


def touch_later(path: Path, text: str) -> None:
    """Rewrite a file so that mtime surely changes, even on coarse clocks."""
    path.write_text(text.replace("\n", "\r\n"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


MEETING = vevent(
    "meet-1",
    "DTSTART:20260310T150000Z",
    "DTEND:20260310T160000Z",
    "SUMMARY:Coffee\\, with Ann",
    "ORGANIZER;CN=Ann Lee:MAILTO:Ann@Example.COM",
    "ATTENDEE;CN=Ann Lee;PARTSTAT=ACCEPTED:mailto:ann@example.com",
    "ATTENDEE;CN=Me;PARTSTAT=TENTATIVE:mailto:ME@example.org",
    "ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.com",
    "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:cy@example.com",
    "ATTENDEE;CUTYPE=ROOM;CN=Room 4;PARTSTAT=ACCEPTED:mailto:room4@example.com",
)


def test_single_event_with_attendees_and_room(tmp_path: Path) -> None:
    write(tmp_path, "a.ics", ics(MEETING))
    [event] = connector(tmp_path).sync_events(None).records
    assert event.source_id == event.uid == "meet-1"
    assert (event.start, event.end) == (datetime(2026, 3, 10, 15, tzinfo=UTC), datetime(2026, 3, 10, 16, tzinfo=UTC))
    assert event.title == "Coffee, with Ann"
    assert event.organizer == "ann@example.com"
    people = {a.email: a for a in event.attendees}
    assert people["ann@example.com"].is_organizer and people["ann@example.com"].name == "Ann Lee"
    assert people["me@example.org"].status is ResponseStatus.TENTATIVE
    assert people["bob@example.com"].status is ResponseStatus.DECLINED
    assert people["cy@example.com"].status is ResponseStatus.NEEDS_ACTION
    assert people["room4@example.com"].is_resource
    assert not people["ann@example.com"].is_resource
    assert event.my_status is ResponseStatus.TENTATIVE
    assert not event.cancelled and not event.all_day


def test_organizer_not_listed_is_added_as_accepted_and_i_organize(tmp_path: Path) -> None:
    write(tmp_path, "a.ics", ics(vevent(
        "org", "DTSTART:20260310T150000Z", "ORGANIZER:mailto:me@example.org",
        "ATTENDEE:mailto:zed@example.com", "SUMMARY:Line\\nbreak\u2028and more",
    )))
    [event] = connector(tmp_path).sync_events(None).records
    organizer = next(a for a in event.attendees if a.is_organizer)
    assert (organizer.email, organizer.status) == (ME, ResponseStatus.ACCEPTED)
    # Was UNKNOWN here; the CalDAV side was right: RFC 5545 3.2.12 says a missing PARTSTAT is NEEDS-ACTION.
    assert next(a for a in event.attendees if a.email == "zed@example.com").status is ResponseStatus.NEEDS_ACTION
    assert event.my_status is ResponseStatus.ACCEPTED
    assert event.end == event.start  # no DTEND, no DURATION: timed event lasts no time
    assert "\n" not in event.title and "\u2028" not in event.title


WEEKLY = [
    vevent(
        "weekly",
        "DTSTART;TZID=Europe/Berlin:20260302T100000",
        "DURATION:PT30M",
        "RRULE:FREQ=WEEKLY;COUNT=5",
        "EXDATE;TZID=Europe/Berlin:20260309T100000",
        "SUMMARY:Weekly sync",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@example.org",
    ),
    vevent(  # the 16th moved to Tuesday 14:00
        "weekly",
        "RECURRENCE-ID;TZID=Europe/Berlin:20260316T100000",
        "DTSTART;TZID=Europe/Berlin:20260317T140000",
        "DURATION:PT30M",
        "SUMMARY:Weekly sync (moved)",
    ),
    vevent(  # the 23rd cancelled
        "weekly",
        "RECURRENCE-ID;TZID=Europe/Berlin:20260323T100000",
        "DTSTART;TZID=Europe/Berlin:20260323T100000",
        "DURATION:PT30M",
        "STATUS:CANCELLED",
        "SUMMARY:Weekly sync",
    ),
]


def test_weekly_rrule_with_exdate_override_and_cancelled_occurrence(tmp_path: Path) -> None:
    write(tmp_path, "w.ics", ics(*WEEKLY))
    records = by_id(connector(tmp_path).sync_events(None).records)
    # Ids now take the CalDAV side's RFC 5545 UTC form of the RECURRENCE-ID (shared module).
    assert set(records) == {
        "weekly/20260302T090000Z",  # Berlin is UTC+1 in March before the 29th
        "weekly/20260316T090000Z",  # named by its RECURRENCE-ID though moved
        "weekly/20260323T090000Z",
        "weekly/20260330T080000Z",  # after the switch to summer time
    }  # the 9th is EXDATE'd
    moved = records["weekly/20260316T090000Z"]
    assert moved.start == datetime(2026, 3, 17, 13, tzinfo=UTC)
    assert moved.end == moved.start + timedelta(minutes=30)
    assert moved.title == "Weekly sync (moved)"
    assert records["weekly/20260323T090000Z"].cancelled
    assert not records["weekly/20260330T080000Z"].cancelled
    assert records["weekly/20260302T090000Z"].my_status is ResponseStatus.ACCEPTED


def test_all_day_is_midnight_in_the_users_zone(tmp_path: Path) -> None:
    write(tmp_path, "d.ics", ics(vevent("day", "DTSTART;VALUE=DATE:20260312", "SUMMARY:Offsite")))
    [event] = connector(tmp_path, tz="America/New_York").sync_events(None).records
    assert event.all_day
    assert event.start == datetime(2026, 3, 12, 4, tzinfo=UTC)  # EDT began on March 8th
    assert event.end == datetime(2026, 3, 13, 4, tzinfo=UTC)


def test_floating_time_is_read_in_the_users_zone(tmp_path: Path) -> None:
    write(tmp_path, "f.ics", ics(vevent("float", "DTSTART:20260310T090000", "DTEND:20260310T100000")))
    [event] = connector(tmp_path, tz="Asia/Tokyo").sync_events(None).records
    assert event.start == datetime(2026, 3, 10, 0, tzinfo=UTC)
    assert event.end == datetime(2026, 3, 10, 1, tzinfo=UTC)


CUSTOM_ZONE = """BEGIN:VTIMEZONE
TZID:My Office Zone
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
END:STANDARD
END:VTIMEZONE
"""


def test_tzid_with_vtimezone_windows_names_and_unknown_zone(tmp_path: Path) -> None:
    write(tmp_path, "z.ics", ics(
        vevent("custom", "DTSTART;TZID=My Office Zone:20260310T100000"),
        vevent("windows", "DTSTART;TZID=Pacific Standard Time:20260310T100000"),
        vevent("outlook", "DTSTART;TZID=\"(UTC-05:00) Eastern Time (US & Canada)\":20260310T100000"),
        vevent("unknown", "DTSTART;TZID=Atlantis/Lost:20260310T100000"),
        zones=CUSTOM_ZONE,
    ))
    conn = connector(tmp_path)
    records = by_id(conn.sync_events(None).records)
    assert records["custom"].start == datetime(2026, 3, 10, 4, 30, tzinfo=UTC)
    assert records["windows"].start == datetime(2026, 3, 10, 17, tzinfo=UTC)  # PDT
    assert records["outlook"].start == datetime(2026, 3, 10, 14, tzinfo=UTC)  # EDT
    assert records["unknown"].start == datetime(2026, 3, 10, 10, tzinfo=UTC)  # UTC fallback
    assert conn.zone_fallbacks == 1


def test_an_unknown_zone_is_told_once_per_series_though_every_time_is_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "z.ics", ics(vevent(
        "lost", "DTSTART;TZID=Atlantis/Lost:20260302T100000", "DTEND;TZID=Atlantis/Lost:20260302T110000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
    ), vevent(
        "lost", "RECURRENCE-ID;TZID=Atlantis/Lost:20260309T100000", "DTSTART;TZID=Atlantis/Lost:20260309T120000",
    )))
    conn = connector(tmp_path)
    with caplog.at_level("WARNING"):
        records = conn.sync_events(None).records

    assert len(records) == 3 and conn.zone_fallbacks == 4  # DTSTART, DTEND, RECURRENCE-ID, DTSTART
    assert [r.getMessage() for r in caplog.records] == [
        "z.ics: unknown time zone 'Atlantis/Lost' in lost; reading it as UTC"]


def test_what_the_ical_libraries_guess_is_a_debug_line_not_a_python_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    """Evolution's vendor-prefixed TZIDs make icalendar warn GloballyUniqueTZIDGuessed:
    no Python warning may reach stderr; the guess is one DEBUG line naming the file."""
    write(tmp_path, "e.ics", ics(vevent(
        "evo", "DTSTART;TZID=/softwarestudio.org/Tzfile/America/Chicago:20260310T090000",
        "DTEND;TZID=/softwarestudio.org/Tzfile/America/Chicago:20260310T100000",
    )))
    with caplog.at_level("DEBUG", logger="circleback.connectors.icalendar_events"):
        [event] = connector(tmp_path).sync_events(None).records

    assert [str(w.message) for w in recwarn] == []
    assert event.start == datetime(2026, 3, 10, 14, tzinfo=UTC)  # Chicago, CDT
    told = [(r.levelname, r.getMessage()) for r in caplog.records if "GloballyUniqueTZIDGuessed" in r.getMessage()]
    assert len(told) == 1 and told[0][0] == "DEBUG" and told[0][1].startswith("e.ics: ")


def test_method_cancel_cancels_everything_in_it(tmp_path: Path) -> None:
    write(tmp_path, "c.ics", ics(MEETING, method="CANCEL"))
    [event] = connector(tmp_path).sync_events(None).records
    assert event.cancelled


def test_bad_input_is_skipped_in_one_line_and_the_rest_is_used(tmp_path: Path) -> None:
    write(tmp_path, "good.ics", ics(MEETING))
    write(tmp_path, "junk.ics", "this is not a calendar\n")
    write(tmp_path, "mixed.ics", ics(
        vevent("no-start", "SUMMARY:When?"),
        vevent("bad-rule", "DTSTART:20260310T090000Z", "RRULE:FREQ=WEEKLY;UNTL=2026"),
        vevent("fine", "DTSTART:20260311T090000Z"),
    ))
    # An impossible offset in the VTIMEZONE sinks icalendar's whole-file parse;
    # each event is then parsed alone, without the broken zone.
    write(tmp_path, "sub/broken.ics", ics(
        vevent("zoned", "DTSTART;TZID=Broken Zone:20260312T090000"),
        vevent("survivor", "DTSTART:20260312T090000Z"),
        zones=CUSTOM_ZONE.replace("+0530", "+5328").replace("My Office", "Broken"),
    ))
    conn = connector(tmp_path)
    result = conn.sync_events(None)
    assert set(by_id(result.records)) == {"meet-1", "fine", "survivor", "zoned"}
    assert conn.zone_fallbacks == 1  # "zoned" lost its zone: read as UTC, counted
    wheres = sorted(s.where for s in result.skipped)
    assert wheres == ["junk.ics", "mixed.ics bad-rule", "mixed.ics no-start"]
    assert all(s.why and "\n" not in s.why for s in result.skipped)


def test_cursor_is_json_and_an_unchanged_folder_gives_nothing(tmp_path: Path) -> None:
    write(tmp_path, "a.ics", ics(MEETING))
    write(tmp_path, "w.ics", ics(*WEEKLY))
    conn = connector(tmp_path)
    first = conn.sync_events(None)
    cursor = json.loads(json.dumps(first.cursor))
    second = conn.sync_events(cursor)
    assert second.records == [] and second.skipped == []
    assert second.cursor == cursor


def test_changed_file_gives_its_records_and_cancels_what_vanished(tmp_path: Path) -> None:
    path = write(tmp_path, "w.ics", ics(*WEEKLY))
    write(tmp_path, "a.ics", ics(MEETING))
    conn = connector(tmp_path)
    cursor = conn.sync_events(None).cursor
    touch_later(path, ics(WEEKLY[0].replace("COUNT=5", "COUNT=2")))  # series shortened
    result = conn.sync_events(cursor)
    records = by_id(result.records)
    # Occurrence ids in RFC 5545 UTC form, as CalDAV gives them (one shared reading).
    assert {sid for sid, r in records.items() if not r.cancelled} == {"weekly/20260302T090000Z"}
    assert {sid for sid, r in records.items() if r.cancelled} == {
        "weekly/20260316T090000Z",
        "weekly/20260323T090000Z",
        "weekly/20260330T080000Z",
    }
    assert "meet-1" not in records  # its file did not change


def test_deleted_file_cancels_its_events(tmp_path: Path) -> None:
    path = write(tmp_path, "a.ics", ics(MEETING))
    conn = connector(tmp_path)
    cursor = conn.sync_events(None).cursor
    path.unlink()
    [gone] = conn.sync_events(cursor).records
    assert (gone.source_id, gone.uid, gone.cancelled) == ("meet-1", "meet-1", True)
    assert conn.sync_events(conn.sync_events(cursor).cursor).records == []


DAILY = vevent("daily", "DTSTART:20260101T090000Z", "DURATION:PT15M", "RRULE:FREQ=DAILY")


def test_window_slide_adds_new_days_and_never_cancels_the_past(tmp_path: Path) -> None:
    write(tmp_path, "d.ics", ics(DAILY, MEETING))
    first = connector(tmp_path, lookback=5).sync_events(None)
    starts = sorted(r.start for r in first.records if r.uid == "daily")
    assert starts[0] == datetime(2026, 3, 16, 9, tzinfo=UTC)  # NOW - 5 days, rounded up to 09:00
    assert starts[-1] == datetime(2026, 4, 19, 9, tzinfo=UTC)  # NOW + 30 days

    # Half a day later the window barely moved: nothing is re-read, nothing emitted.
    assert connector(tmp_path, NOW + timedelta(hours=12), lookback=5).sync_events(first.cursor).records == []

    # Three days later: three new days enter at the far end; the three days that
    # slid out of the lookback happened and are NOT cancelled; the meeting on the
    # 10th is long outside and stays untouched.
    later = connector(tmp_path, NOW + timedelta(days=3), lookback=5).sync_events(first.cursor)
    assert not any(r.cancelled for r in later.records)
    assert sorted(r.start for r in later.records) == [
        datetime(2026, 4, d, 9, tzinfo=UTC) for d in (20, 21, 22)
    ]


def test_window_slide_cancels_what_vanished_inside_the_new_window(tmp_path: Path) -> None:
    path = write(tmp_path, "d.ics", ics(DAILY))
    first = connector(tmp_path, lookback=5).sync_events(None)
    # The series is cut short on the 25th, and the window moves on by three days.
    touch_later(path, ics(DAILY.replace("FREQ=DAILY", "FREQ=DAILY;UNTIL=20260325T090000Z")))
    later = connector(tmp_path, NOW + timedelta(days=3), lookback=5).sync_events(first.cursor)
    cancelled = sorted(r.source_id for r in later.records if r.cancelled)
    # Occurrence ids in RFC 5545 UTC form, as CalDAV gives them (one shared reading).
    assert cancelled[0] == "daily/20260326T090000Z"
    assert cancelled[-1] == "daily/20260419T090000Z"  # the old window's last day
    assert len(cancelled) == 25
    # The 16th to 18th slid out of the lookback: still happened, not cancelled.
    assert not any(sid < "daily/20260319" for sid in cancelled)


def test_single_file_mode_and_stable_source_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "one.ics", ics(*WEEKLY))
    first = connector(path).sync_events(None)
    again = connector(path).sync_events(None)
    assert [r.source_id for r in first.records] == [r.source_id for r in again.records]
    assert list(first.cursor["files"]) == ["one.ics"]


def test_unusable_cursor_means_a_fresh_read(tmp_path: Path) -> None:
    write(tmp_path, "a.ics", ics(MEETING))
    assert len(connector(tmp_path).sync_events({"files": "nonsense"}).records) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("MAILTO:Ann@X.Org", "ann@x.org"), ("mailto: bo@y.io ", "bo@y.io"), ("urn:uuid:123", "")],
)
def test_parse_address(raw: str, expected: str) -> None:
    assert parse_address(raw) == expected


HOSTILE = vevent(
    "hostile-1",
    "DTSTART:20260310T150000Z",
    "DTEND:20260310T160000Z",
    "SUMMARY:Quick sync",
    f"ORGANIZER;CN=Boss:mailto:{HOSTILE_ORGANIZER}",
    *(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{a}" for a in HOSTILE_ATTENDEES),
    f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{GUEST}",
    f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}",
)


def test_a_hostile_organizer_or_attendee_becomes_no_person(tmp_path: Path) -> None:
    write(tmp_path, "hostile.ics", ics(HOSTILE))

    (event,) = connector(tmp_path).sync_events(None).records

    assert event.organizer == ""
    assert {a.email for a in event.attendees} == {GUEST, ME}


def test_clean_text_strips_controls() -> None:
    assert clean_text("a\r\nb\x00c\x85d\u2029e") == "a b c d e"


def iso_id(source_id: str) -> str:
    """An occurrence id as the ics connector wrote it before the shared reading."""
    uid, stamp = source_id.split("/")
    return f"{uid}/{datetime.strptime(stamp, '%Y%m%dT%H%M%SZ').replace(tzinfo=UTC).isoformat()}"


def test_a_cursor_with_the_old_iso_ids_is_migrated_without_double_counting(tmp_path: Path) -> None:
    write(tmp_path, "w.ics", ics(*WEEKLY))
    conn = connector(tmp_path)
    cursor = conn.sync_events(None).cursor
    # As written before the shared reading: ISO ids, and a fingerprint of zone and addresses only.
    iso = {sid: iso_id(sid) for sid in cursor["files"]["w.ics"][2]}
    cursor["files"]["w.ics"][2] = {iso[sid]: start for sid, start in cursor["files"]["w.ics"][2].items()}
    cursor["context"] = hashlib.sha256(f"UTC|{ME}".encode()).hexdigest()[:16]

    result = conn.sync_events(cursor)

    assert {r.source_id for r in result.records if r.cancelled} == set(iso.values()) | {"weekly/20260323T090000Z"}
    assert {r.source_id for r in result.records if not r.cancelled} == set(iso) - {"weekly/20260323T090000Z"}
    assert conn.sync_events(result.cursor).records == []
