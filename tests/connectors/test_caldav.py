"""The CalDAV connector against a real Radicale, driven by the real caldav client."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import caldav
import pytest
from pydantic import ValidationError
from tenacity import wait_fixed, wait_none

import tests.support.radicale_server as radicale_server
from circleback.connectors.base import ConnectorContext, EventRecord, ResponseStatus
from circleback.connectors.caldav import CalDavAccount, CalDavConnector, resolve_password
from circleback.connectors.errors import AuthRevoked, ConnectorError
from tests.support.hostile import GUEST, HOSTILE_ATTENDEES, HOSTILE_ORGANIZER
from tests.support.radicale_server import RadicaleServer

pytestmark = pytest.mark.needs_server

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ME = "alice@example.org"
STALE_TOKEN = "http://radicale.org/ns/sync/" + "0" * 64  # well-formed, unknown to the server


def vcal(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT\n" for e in events)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//circleback tests//EN\n{body}END:VCALENDAR\n"


def meeting(title: str = "Roadmap", bob: str = "ACCEPTED") -> str:
    return vcal(f"""
UID:meet-1
DTSTAMP:20250101T000000Z
DTSTART:20250220T100000Z
DTEND:20250220T110000Z
SUMMARY:{title}
ORGANIZER;CN=Alice:mailto:{ME}
ATTENDEE;CN=Bob;PARTSTAT={bob}:mailto:Bob@Example.org
ATTENDEE;PARTSTAT=DECLINED:mailto:carol@example.org
ATTENDEE:mailto:dave@example.org
ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room-4@example.org
""")


WEEKLY_MASTER = """
UID:weekly-1
DTSTAMP:20250101T000000Z
DTSTART;TZID=Europe/Berlin:20250203T090000
DTEND;TZID=Europe/Berlin:20250203T093000
RRULE:FREQ=WEEKLY;COUNT=6
SUMMARY:Weekly 1:1
ORGANIZER:mailto:erin@example.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:erin@example.org
ATTENDEE;PARTSTAT=TENTATIVE:mailto:alice@example.org
"""
WEEKLY_OVERRIDE = """
UID:weekly-1
DTSTAMP:20250101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20250210T090000
DTSTART;TZID=Europe/Berlin:20250211T150000
DTEND;TZID=Europe/Berlin:20250211T153000
SUMMARY:Weekly 1:1 (moved)
ORGANIZER:mailto:erin@example.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:erin@example.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org
"""
# Berlin is UTC+1 in February and March: occurrence ids are their original starts in UTC.
WEEKLY_IDS = [f"weekly-1/{d}T080000Z" for d in ("20250203", "20250210", "20250217", "20250224", "20250303", "20250310")]
CANCELLED = vcal("""
UID:gone-1
DTSTAMP:20250101T000000Z
DTSTART:20250225T150000Z
DTEND:20250225T160000Z
STATUS:CANCELLED
SUMMARY:Called off
ATTENDEE;PARTSTAT=ACCEPTED:mailto:frank@example.org
""")
LONG_AGO = vcal("""
UID:old-1
DTSTAMP:20200101T000000Z
DTSTART:20200105T100000Z
DTEND:20200105T110000Z
SUMMARY:Outside the window
""")


ALL_DAY = vcal("""
UID:offsite-1
DTSTAMP:20250101T000000Z
DTSTART;VALUE=DATE:20250214
SUMMARY:Offsite
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org
ATTENDEE:mailto:gina@example.org
""")
FLOATING_WITH_DURATION = vcal("""
UID:float-1
DTSTAMP:20250101T000000Z
DTSTART:20250218T090000
DURATION:PT45M
SUMMARY:Floating
ORGANIZER:mailto:hank@example.org
ATTENDEE;PARTSTAT=DECLINED:mailto:hank@example.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org
""")


def single(uid: str, day: str = "20250215") -> str:
    return vcal(f"""
UID:{uid}
DTSTAMP:20250101T000000Z
DTSTART:{day}T100000Z
DTEND:{day}T110000Z
SUMMARY:{uid}
ATTENDEE;PARTSTAT=ACCEPTED:mailto:{uid}@example.org
""")


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CalDavConnector, "retry_wait", wait_none())
    monkeypatch.setattr(CalDavConnector, "retry_attempts", 2)
    monkeypatch.setenv("CB_TEST_CALDAV_PASSWORD", "not-checked")


def principal(server: RadicaleServer) -> Any:
    return caldav.DAVClient(url=server.url, username="alice", password="x").principal()  # noqa: S106


def connector(
    server: RadicaleServer, calendars: list[str] | None = None, now: datetime = NOW, url: str = ""
) -> CalDavConnector:
    account = CalDavAccount(
        name="dav",
        url=url or server.url,
        username="alice",
        password_env="CB_TEST_CALDAV_PASSWORD",  # noqa: S106 - a variable name
        calendars=calendars,
    )
    context = ConnectorContext(
        my_addresses=frozenset({ME}),
        lookback_days=60,
        lookahead_days=30,
        now=now,
        timezone="Europe/Berlin",
    )
    return CalDavConnector(account, context)


def by_id(records: list[EventRecord]) -> dict[str, EventRecord]:
    ids = [r.source_id for r in records]
    assert len(ids) == len(set(ids)), f"duplicate source ids: {ids}"
    return {r.source_id: r for r in records}


def replace(cal: Any, uid: str, ics: str) -> None:
    event = cal.event_by_uid(uid)
    event.data = ics
    event.save()


@pytest.fixture
def work(radicale: RadicaleServer) -> Any:
    cal = principal(radicale).make_calendar(name="Work")
    cal.save_event(meeting())
    cal.save_event(vcal(WEEKLY_MASTER, WEEKLY_OVERRIDE))
    cal.save_event(CANCELLED)
    cal.save_event(LONG_AGO)
    return cal


# --- first and repeated syncs ----------------------------------------------------------------


def test_first_sync_reads_the_window_with_attendees_recurrences_and_cancellations(radicale, work):
    result = connector(radicale).sync_events(None)
    got = by_id(result.records)

    assert set(got) == {"meet-1", "gone-1", *WEEKLY_IDS}  # old-1 lies before the lookback
    assert not result.full and not result.skipped

    meet = got["meet-1"]
    assert (meet.start, meet.end) == (
        datetime(2025, 2, 20, 10, tzinfo=UTC),
        datetime(2025, 2, 20, 11, tzinfo=UTC),
    )
    assert meet.organizer == ME and meet.my_status is ResponseStatus.ACCEPTED
    people = {a.email: a for a in meet.attendees}
    assert people["bob@example.org"].status is ResponseStatus.ACCEPTED
    assert people["carol@example.org"].status is ResponseStatus.DECLINED
    assert people["dave@example.org"].status is ResponseStatus.NEEDS_ACTION  # no PARTSTAT
    assert people["room-4@example.org"].is_resource
    assert people[ME].is_organizer  # the unlisted organizer still takes part
    # Was UNKNOWN here; the ics side was right: ORGANIZER has no PARTSTAT, and who calls a meeting attends it.
    assert people[ME].status is ResponseStatus.ACCEPTED

    moved = got["weekly-1/20250210T080000Z"]  # keeps the id of the slot it replaces
    assert moved.start == datetime(2025, 2, 11, 14, tzinfo=UTC)
    assert moved.my_status is ResponseStatus.ACCEPTED
    assert got["weekly-1/20250217T080000Z"].my_status is ResponseStatus.TENTATIVE
    assert got["weekly-1/20250303T080000Z"].start == datetime(2025, 3, 3, 8, tzinfo=UTC)

    assert got["gone-1"].cancelled
    assert not any(r.cancelled for sid, r in got.items() if sid != "gone-1")


def test_caldav_and_ics_turn_the_same_objects_into_the_same_records(radicale, work, tmp_path):
    from circleback.connectors.ics import IcsConnector
    from circleback.daemon.config import IcsAccount

    extra = [ALL_DAY, FLOATING_WITH_DURATION]
    for text in extra:
        work.save_event(text)
    folder = tmp_path / "ics"  # not tmp_path itself: Radicale keeps its storage there
    folder.mkdir()
    for n, text in enumerate([meeting(), vcal(WEEKLY_MASTER, WEEKLY_OVERRIDE), CANCELLED, LONG_AGO, *extra]):
        (folder / f"{n}.ics").write_text(text)
    dav = connector(radicale)
    files = IcsConnector(IcsAccount(name="files", kind="ics", path=str(folder)), dav.context)

    got = by_id(dav.sync_events(None).records)

    assert got == by_id(files.sync_events(None).records)  # one reading: same ids, statuses, times
    day = got["offsite-1"]  # a date without DTEND lasts one day (RFC 5545 3.6.1), in the user's zone
    assert (day.all_day, day.start, day.end) == (
        True,
        datetime(2025, 2, 13, 23, tzinfo=UTC),
        datetime(2025, 2, 14, 23, tzinfo=UTC),
    )
    assert {a.email: a.status for a in day.attendees}["gina@example.org"] is ResponseStatus.NEEDS_ACTION
    floating = got["float-1"]  # floating time read in Berlin; DURATION gives the end
    assert (floating.start, floating.end) == (
        datetime(2025, 2, 18, 8, tzinfo=UTC),
        datetime(2025, 2, 18, 8, 45, tzinfo=UTC),
    )
    # The organizer's own stated PARTSTAT wins over "the organizer attends".
    assert {a.email: a.status for a in floating.attendees}["hank@example.org"] is ResponseStatus.DECLINED


def test_second_sync_with_the_cursor_brings_nothing(radicale, work):
    dav = connector(radicale)
    first = dav.sync_events(None)
    second = dav.sync_events(first.cursor)
    assert second.records == []
    assert second.cursor["calendars"] == first.cursor["calendars"]


def test_a_modified_event_comes_back_updated_alone(radicale, work):
    dav = connector(radicale)
    cursor = dav.sync_events(None).cursor
    replace(work, "meet-1", meeting(title="Roadmap v2", bob="DECLINED"))

    result = dav.sync_events(cursor)

    [record] = result.records
    assert record.source_id == "meet-1" and record.title == "Roadmap v2"
    bob = next(a for a in record.attendees if a.email == "bob@example.org")
    assert bob.status is ResponseStatus.DECLINED


def test_an_occurrence_removed_by_exdate_is_cancelled(radicale, work):
    dav = connector(radicale)
    cursor = dav.sync_events(None).cursor
    master = WEEKLY_MASTER.replace("RRULE:", "EXDATE;TZID=Europe/Berlin:20250224T090000\nRRULE:")
    replace(work, "weekly-1", vcal(master, WEEKLY_OVERRIDE))

    got = by_id(dav.sync_events(cursor).records)

    assert got["weekly-1/20250224T080000Z"].cancelled
    assert {sid for sid, r in got.items() if not r.cancelled} == set(WEEKLY_IDS) - {"weekly-1/20250224T080000Z"}


def test_a_deleted_object_cancels_every_id_it_produced(radicale, work):
    dav = connector(radicale)
    cursor = dav.sync_events(None).cursor
    work.event_by_uid("weekly-1").delete()

    result = dav.sync_events(cursor)

    assert {r.source_id for r in result.records} == set(WEEKLY_IDS)
    assert all(r.cancelled for r in result.records)
    assert dav.sync_events(result.cursor).records == []


def test_occurrences_entering_the_lookahead_arrive_without_a_change(radicale):
    cal = principal(radicale).make_calendar(name="Work")
    cal.save_event(vcal(WEEKLY_MASTER.replace("COUNT=6", "COUNT=20")))
    cursor = connector(radicale).sync_events(None).cursor

    later = connector(radicale, now=NOW + timedelta(days=14)).sync_events(cursor)

    # The lookahead ended on 31 March; two weeks on it reaches 14 April.
    assert [r.source_id for r in later.records] == [
        "weekly-1/20250407T070000Z",
        "weekly-1/20250414T070000Z",
    ]


# --- choosing calendars ----------------------------------------------------------------------


@pytest.fixture
def two_calendars(radicale: RadicaleServer) -> tuple[Any, Any]:
    me = principal(radicale)
    work, home = me.make_calendar(name="Work"), me.make_calendar(name="Personal")
    work.save_event(single("work-1"))
    home.save_event(single("home-1"))
    me.make_calendar(name="Chores", supported_calendar_component_set=["VTODO"])
    return work, home


def test_config_chooses_calendars_by_name_or_url(radicale, two_calendars):
    work, _ = two_calendars
    assert [r.uid for r in connector(radicale, ["Work"]).sync_events(None).records] == ["work-1"]
    assert [r.uid for r in connector(radicale, [str(work.url)]).sync_events(None).records] == ["work-1"]
    every = connector(radicale).sync_events(None)
    assert sorted(r.uid for r in every.records) == ["home-1", "work-1"]
    assert len(every.cursor["calendars"]) == 2  # the VTODO-only list is not an event calendar


def test_the_principal_url_works_as_well_as_the_server_root(radicale, two_calendars):
    home = str(principal(radicale).url)
    assert [r.uid for r in connector(radicale, ["Work"], url=home).sync_events(None).records] == ["work-1"]


def test_a_cursor_of_another_layout_means_a_full_resync(radicale, work):
    result = connector(radicale).sync_events({"version": 0, "whatever": 1})
    assert result.full and len(result.records) == 8


def test_an_unknown_calendar_name_is_an_error_that_lists_the_real_ones(radicale, two_calendars):
    with pytest.raises(ConnectorError, match=r"no calendar 'Wrok'.*Personal, Work"):
        connector(radicale, ["Wrok"]).sync_events(None)


def test_a_calendar_dropped_from_the_config_cancels_its_events(radicale, two_calendars):
    cursor = connector(radicale).sync_events(None).cursor
    result = connector(radicale, ["Work"]).sync_events(cursor)
    assert [(r.source_id, r.cancelled) for r in result.records] == [("home-1", True)]


# --- invalid tokens and failures -------------------------------------------------------------


def test_an_invalid_sync_token_resyncs_only_that_calendar(radicale, two_calendars):
    work, home = two_calendars
    dav = connector(radicale)
    cursor = dav.sync_events(None).cursor
    work.save_event(single("work-2"))
    work.event_by_uid("work-1").delete()
    home.save_event(single("home-2"))
    work_key, home_key = str(work.url.canonical()), str(home.url.canonical())
    cursor["calendars"][work_key]["token"] = STALE_TOKEN  # as if the server had expired it

    result = dav.sync_events(cursor)

    got = {r.source_id: r.cancelled for r in result.records}
    assert got == {"work-2": False, "work-1": True, "home-2": False}  # home: incremental only
    assert result.cursor["calendars"][work_key]["token"] != STALE_TOKEN
    assert not result.full  # the other calendar's state stays valid
    assert dav.sync_events(result.cursor).records == []
    assert home_key in result.cursor["calendars"]


def _stop_on_call(mp: pytest.MonkeyPatch, server: RadicaleServer, method: str, nth: int = 1) -> None:
    """Stop Radicale when the caldav client makes its ``nth`` ``method`` call."""
    original = getattr(caldav.Calendar, method)
    calls = {"n": 0}

    def stopping(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == nth:
            server.stop()
        return original(self, *args, **kwargs)

    mp.setattr(caldav.Calendar, method, stopping)


def test_server_down_mid_sync_raises_keeps_the_cursor_and_a_rerun_catches_up(
    radicale,
    two_calendars,
    monkeypatch,
):
    work, _ = two_calendars
    dav = connector(radicale)
    cursor = dav.sync_events(None).cursor
    work.save_event(single("work-2"))
    with monkeypatch.context() as mp, pytest.raises(ConnectorError) as failed:
        _stop_on_call(mp, radicale, "get_objects_by_sync_token")
        dav.sync_events(cursor)
    assert "\n" not in str(failed.value) and "Connection refused" in str(failed.value)

    radicale.start()
    assert [r.source_id for r in connector(radicale).sync_events(cursor).records] == ["work-2"]


def test_one_failing_calendar_keeps_its_cursor_while_the_other_advances(
    radicale,
    two_calendars,
    monkeypatch,
):
    work, home = two_calendars
    dav = connector(radicale)
    cursor = dav.sync_events(None).cursor
    work.save_event(single("work-2"))
    home.save_event(single("home-2"))
    # Calendars are synced in the server's listing order; the second one fails.
    with monkeypatch.context() as mp:
        _stop_on_call(mp, radicale, "get_objects_by_sync_token", nth=2)
        result = dav.sync_events(cursor)

    [skip] = result.skipped
    failed = skip.where
    assert result.cursor["calendars"][failed] == cursor["calendars"][failed]
    [record] = result.records
    assert record.source_id in {"work-2", "home-2"} and failed not in record.source_id

    radicale.start()
    rerun = connector(radicale).sync_events(result.cursor)
    assert [r.source_id for r in rerun.records] == [{"work-2": "home-2", "home-2": "work-2"}[record.source_id]]


def test_a_read_that_fails_once_is_retried(radicale, work, monkeypatch):
    monkeypatch.setattr(CalDavConnector, "retry_wait", wait_fixed(0.5))
    monkeypatch.setattr(CalDavConnector, "retry_attempts", 8)
    radicale.stop()
    comeback = threading.Timer(0.2, radicale.start)  # back within the retries
    comeback.start()
    try:
        assert len(connector(radicale).sync_events(None).records) == 8
    finally:
        comeback.join()  # the fixture's teardown must find the process it stops


# --- servers without RFC 6578 ----------------------------------------------------------------


def test_without_sync_tokens_ctag_and_etags_find_changes_and_deletions(radicale, work, monkeypatch):
    def no_sync_token(self: CalDavConnector, cal: Any) -> tuple[str, str]:
        # Radicale offers both; act as a server with only CS:getctag would.
        return "etag", self._read("ctag", cal, lambda: _ctag(cal))

    monkeypatch.setattr(CalDavConnector, "_collection_token", no_sync_token)
    dav = connector(radicale)
    first = dav.sync_events(None)
    assert first.cursor["calendars"][str(work.url.canonical())]["mode"] == "etag"
    assert dav.sync_events(first.cursor).records == []

    replace(work, "meet-1", meeting(title="Renamed"))
    work.event_by_uid("gone-1").delete()
    got = {r.source_id: (r.title, r.cancelled) for r in dav.sync_events(first.cursor).records}

    assert got == {"meet-1": ("Renamed", False), "gone-1": ("", True)}


def _ctag(cal: Any) -> str:
    from circleback.connectors.caldav import _GetCtag

    return str(cal.get_properties([_GetCtag()])[_GetCtag.tag])


# --- configuration ---------------------------------------------------------------------------


def account_from(keys: dict[str, str]) -> CalDavAccount:
    return CalDavAccount.model_validate({"name": "dav", "url": "https://dav.example.org/", **keys})


def test_the_config_refuses_a_plain_password_and_conflicting_sources():
    with pytest.raises(ValidationError, match="not accepted in the config file"):
        account_from({"username": "alice", "password": "hunter2"})
    with pytest.raises(ValidationError, match="only one of"):
        account_from({"username": "alice", "password_env": "A", "credential": "b"})
    with pytest.raises(ValidationError, match="username is empty"):
        account_from({"password_env": "A"})


def test_passwords_come_from_a_systemd_credential_a_command_or_the_environment(tmp_path, monkeypatch):
    (tmp_path / "dav-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert resolve_password(account_from({"username": "alice", "credential": "dav-password"})) == "s3cret"
    assert (
        resolve_password(account_from({"username": "alice", "password_command": "echo from-command"})) == "from-command"
    )
    assert (
        resolve_password(account_from({"username": "alice", "password_env": "CB_TEST_CALDAV_PASSWORD"}))
        == "not-checked"
    )
    monkeypatch.delenv("CB_TEST_CALDAV_PASSWORD")
    with pytest.raises(ConnectorError, match="CB_TEST_CALDAV_PASSWORD is not set"):
        resolve_password(account_from({"username": "alice", "password_env": "CB_TEST_CALDAV_PASSWORD"}))


# --- credentials, a silent server, clocks far off, hostile titles ---------------------------------------


@pytest.fixture
def guarded(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Radicale asking for alice's password (htpasswd), which the connector reads from the environment."""
    monkeypatch.setenv("CB_TEST_CALDAV_PASSWORD", "right-password")
    server = radicale_server.start_radicale(tmp_path, users={"alice": "right-password"})
    try:
        yield server
    finally:
        server.stop()


def _calendar_as(server: RadicaleServer, password: str) -> Any:
    return caldav.DAVClient(url=server.url, username="alice", password=password).principal().make_calendar(name="Work")


def test_a_revoked_password_is_one_clear_auth_error_and_loses_nothing(guarded, monkeypatch):
    _calendar_as(guarded, "right-password").save_event(single("before"))
    dav = connector(guarded)
    first = dav.sync_events(None)
    assert [r.uid for r in first.records] == ["before"]

    guarded.set_password("alice", "changed-by-the-admin")  # the password the daemon holds is revoked
    admin = caldav.DAVClient(url=guarded.url, username="alice", password="changed-by-the-admin")  # noqa: S106
    admin.principal().calendars()[0].save_event(single("during"))
    from tests.support.servers import TcpProxy

    monkeypatch.setattr(CalDavConnector, "retry_attempts", 4)
    proxy = TcpProxy("127.0.0.1", guarded.port)  # to count the requests the refused sync makes
    try:
        with pytest.raises(AuthRevoked) as refused:
            connector(guarded, url=f"http://127.0.0.1:{proxy.port}/").sync_events(first.cursor)
        requests = re.findall(rb"[A-Z]+ /\S* HTTP/1\.1\r\n", proxy.sent_bytes())  # bodies end without a newline
    finally:
        proxy.close()
    message = str(refused.value)
    assert "\n" not in message and message.startswith("dav: ") and "refused the credentials (401) for alice" in message
    assert message.endswith("check the password in $CB_TEST_CALDAV_PASSWORD")  # what to fix, named
    assert "right-password" not in message and "changed-by-the-admin" not in message
    # The client's probe without credentials and its one try with them; never the 4 tries of a transient
    # failure: a refused password does not heal by asking again (the service pauses the account instead).
    assert 1 <= len(requests) <= 2, requests

    monkeypatch.setenv("CB_TEST_CALDAV_PASSWORD", "changed-by-the-admin")  # the user re-enters it
    caught_up = connector(guarded).sync_events(first.cursor)  # the cursor from before the refusal
    assert [r.uid for r in caught_up.records] == ["during"]


def test_a_wrong_password_from_the_start_is_auth_revoked(guarded, monkeypatch):
    _calendar_as(guarded, "right-password").save_event(single("work-1"))
    monkeypatch.setenv("CB_TEST_CALDAV_PASSWORD", "typo")
    with pytest.raises(AuthRevoked, match=r"^dav: principal discovery: the server refused the credentials \(401\) "
                       r"for alice; check the password in \$CB_TEST_CALDAV_PASSWORD$"):
        connector(guarded).sync_events(None)


def test_the_daemon_pauses_a_caldav_account_whose_password_is_refused(guarded, tmp_path, monkeypatch):
    """Through `circleback run`: the refused account is paused with its reason (no retry loop); with no
    other account left the daemon exits 77, as for any revoked credential."""
    import os
    import subprocess
    import sys

    from circleback.daemon.app import statusfile

    _calendar_as(guarded, "right-password").save_event(single("work-1"))
    config = tmp_path / "config.toml"
    config.write_text('[me]\naddresses = ["alice@example.org"]\n'
                      f'[[accounts]]\nname = "dav"\nkind = "caldav"\nurl = "{guarded.url}"\nusername = "alice"\n'
                      'password_env = "CB_TEST_CALDAV_PASSWORD"\n')
    env = {**os.environ, "CB_TEST_CALDAV_PASSWORD": "revoked"}
    out = subprocess.run([sys.executable, "-m", "circleback.daemon.cli", "--config", str(config),
                          "--state-dir", str(tmp_path / "state"), "run", "--interval", "0.2s"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 77, out.stderr
    assert "every account's credential was revoked" in out.stderr and "Traceback" not in out.stderr
    status = statusfile.read_status(tmp_path / "state")
    assert status is not None
    dav = status["accounts"]["dav"]
    assert dav["paused"] and "refused the credentials (401) for alice" in dav["last_error"], dav


def test_a_server_that_goes_silent_times_out_and_is_retried_with_nothing_lost(radicale, work, monkeypatch):
    """The server stops answering in the middle of a REPORT (the connection stays open): the client's
    timeout ends the wait. With one try the calendar's sync fails with one clear line and its cursor
    stays; retried, the same sync reads every change exactly once."""
    from tests.support.servers import TcpProxy

    monkeypatch.setattr(CalDavConnector, "timeout_seconds", 1)
    proxy = TcpProxy("127.0.0.1", radicale.port)
    url = f"http://127.0.0.1:{proxy.port}/"
    try:
        proxy.stall_after_client_sends(b"REPORT ", server_bytes=200)  # the time-range query of the first sync
        first = connector(radicale, url=url).sync_events(None)
        assert proxy.stalls == 1
        assert len(by_id(first.records)) == 8 and not first.skipped

        work.save_event(single("work-2"))
        monkeypatch.setattr(CalDavConnector, "retry_attempts", 1)
        proxy.stall_after_client_sends(b"REPORT ")  # the sync-collection report, silent from its first byte
        with pytest.raises(ConnectorError) as failed:
            connector(radicale, url=url).sync_events(first.cursor)
        assert proxy.stalls == 2
        assert "\n" not in str(failed.value) and "sync-collection report" in str(failed.value)
        assert "timed out" in str(failed.value).lower(), failed.value

        monkeypatch.setattr(CalDavConnector, "retry_attempts", 2)
        proxy.stall_after_client_sends(b"REPORT ")
        second = connector(radicale, url=url).sync_events(first.cursor)  # the cursor from before the failure
        assert proxy.stalls == 3
        assert [r.source_id for r in second.records] == ["work-2"]
        assert connector(radicale, url=url).sync_events(second.cursor).records == []
    finally:
        proxy.close()


FAR_OFF = [
    single("past-1", day="19710104"),  # a server clock decades behind
    single("future-1", day="21000101"),  # or decades ahead
    single("edge-1", day="99991231"),  # the last day iCalendar can say
    vcal("""
UID:forever-1
DTSTAMP:21000101T000000Z
DTSTART:19710104T100000Z
DTEND:19710104T110000Z
RRULE:FREQ=WEEKLY
SUMMARY:Weekly since 1971
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ivy@example.org
"""),
]


def test_dates_far_off_never_crash_and_only_the_window_is_read(radicale, work):
    """Events dated decades away (as a server with a wrong clock, or a bad import, writes them): nothing
    crashes, nothing outside [now - lookback, now + lookahead) comes through, a series begun in 1971 gives
    exactly its occurrences inside the window, and the incremental path (our own expansion of what
    sync-collection reports) agrees with the first sync (the server's time-range query)."""
    dav = connector(radicale)
    before = dav.sync_events(None)
    for text in FAR_OFF:
        work.save_event(text)

    incremental = dav.sync_events(before.cursor)
    added = by_id(incremental.records)
    fresh = by_id(connector(radicale).sync_events(None).records)

    mondays = [datetime(2025, 1, 6, 10, tzinfo=UTC) + timedelta(weeks=n) for n in range(13)]  # to 31 March
    assert set(added) == {f"forever-1/{d:%Y%m%dT%H%M%SZ}" for d in mondays}
    assert all(r.start.tzinfo is not None and not r.cancelled for r in added.values())
    assert set(fresh) == set(added) | {r.source_id for r in before.records}
    assert not incremental.skipped and dav.sync_events(incremental.cursor).records == []


# --- what a failing server said --------------------------------------------------------------------

NGINX_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
             b"</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")
# A real explanation longer than 200 characters, with a terminal escape and a CR LF in it.
LONG_500 = (b"Internal error while reading the collection /alice/work/: the storage backend refused to open "
            b"its index because another process holds the lock (pid 4242, since 09:41); retry after it exits, "
            b"or remove the stale lock file\r\n\x1b[31m /var/lib/radicale/collections/.Radicale.lock\x1b[0m "
            b"by hand")
# A proxy's block page: mostly script, style and markup; only its words belong in our line.
BLOCK_PAGE = (b"<!DOCTYPE html><html><head><meta charset=utf-8><title>Attention Required! | Example Shield</title>"
              b"<style>" + b"body{margin:0}" * 500 + b"</style><script>" + b"var t=1;" * 2000 + b"</script></head>"
              b"<body><h1>Sorry, you have been blocked</h1><p>" + b"You are unable to access dav.example.org. " * 50
              + b"</p></body></html>")


class _Answering:
    """An HTTP server that answers every request with one status and body, as a broken server or a
    proxy in front of it does: the caldav library runs against it unchanged."""

    def __init__(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PROPFIND = do_REPORT = do_OPTIONS = answer  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("status", "body", "says"), [
    (502, NGINX_502, "principal discovery failed: HTTP 502 Bad Gateway; the server says: 502 Bad Gateway "
                     "nginx/1.25.3"),
    (500, LONG_500, "principal discovery failed: HTTP 500 Internal Server Error; the server says: "
                    + " ".join(LONG_500.decode().replace("\x1b", " ").split())),
], ids=["proxy-html", "long-explanation"])
def test_a_server_error_is_reported_in_full_as_one_safe_line(monkeypatch, status: int, body: bytes,
                                                             says: str) -> None:
    monkeypatch.setattr(CalDavConnector, "retry_wait", wait_none())
    server = _Answering(status, body)
    try:
        with pytest.raises(ConnectorError) as failed:
            connector(None, url=server.url).sync_events(None)  # type: ignore[arg-type]
    finally:
        server.close()
    assert str(failed.value) == f"dav: {says}"


def test_a_huge_error_page_is_its_words_cut_between_two(monkeypatch) -> None:
    monkeypatch.setattr(CalDavConnector, "retry_wait", wait_none())
    server = _Answering(403, BLOCK_PAGE)
    try:
        with pytest.raises(ConnectorError) as failed:
            connector(None, url=server.url).sync_events(None)  # type: ignore[arg-type]
    finally:
        server.close()
    text = str(failed.value)
    head = "dav: principal discovery failed: HTTP 403 Forbidden; the server says: Attention Required! | Example Shield "
    assert text.startswith(head + "Sorry, you have been blocked You are unable to access dav.example.org.")
    said = text.removeprefix(head)
    assert len(said) <= 400 and said.endswith("…")
    assert said[:-1].split()[-1] in "You are unable to access dav.example.org.".split()  # cut between words
    assert not re.search(r"[<>{}\x00-\x1f]|var t|margin", text)


def test_a_hostile_organizer_or_attendee_becomes_no_person(radicale):
    hostile = vcal("\n".join([
        "UID:hostile-1",
        "DTSTAMP:20250101T000000Z",
        "DTSTART:20250220T100000Z",
        "DTEND:20250220T110000Z",
        "SUMMARY:Quick sync",
        f"ORGANIZER;CN=Boss:mailto:{HOSTILE_ORGANIZER}",
        *(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{a}" for a in HOSTILE_ATTENDEES),
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{GUEST}",
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}",
    ]) + "\n")
    principal(radicale).make_calendar(name="Work").save_event(hostile)

    (event,) = connector(radicale).sync_events(None).records

    assert event.organizer == ""
    assert {a.email for a in event.attendees} == {GUEST, ME}
