"""Fault cells the connector suites did not cover yet (see tests/fault_matrix.py and docs/reliability.md):
a full disk under the ledger, provider clocks far off, Graph 500s and dropped connections, Google
Calendar's exhausted retries and expired access token, an IMAP server that goes silent, hostile
header values and event titles through the provider fakes as far as a draft, and a fuzz target from
raw header bytes through the header parser, draft building and a re-parse."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from circleback.connectors.base import Address, Direction, MailRecord, Skip, SyncResult
from circleback.connectors.mailheaders import parse_mail_headers
from circleback.daemon.app.demo_world import build_world
from circleback.daemon.cli import main
from circleback.daemon.core.message import build_draft, clean_header_value
from circleback.daemon.errors import DraftBuildError, LedgerFull
from circleback.daemon.store.ledger import Ledger
from tests.support.contract import CONTEXT, ME, NOW, build_message
from tests.support.fake_google import FakeGoogle
from tests.support.fake_graph import FakeGraph
from tests.support.ledger_sql import raw_sql

DEMO_NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # outside the demo world's quiet hours
FUZZ_EXAMPLES = int(os.environ.get("CIRCLEBACK_FUZZ_EXAMPLES", "300"))
CONTROLS = "".join(map(chr, [*range(0, 32), 127])) + "\x85\u2028\u2029"


# --- a full disk under the ledger -------------------------------------------------------------------


def _drafts(world: Any) -> list[bytes]:
    folder = world.maildir / ".Drafts"
    return [p.read_bytes() for sub in ("cur", "new") for p in (folder / sub).iterdir()]


def _keys(world: Any) -> list[str]:
    return sorted(str(message_from_bytes(raw, policy=policy.default)["X-Circleback-Key"]) for raw in _drafts(world))


def _limit_ledger_pages(monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    """SQLite's own quota: past ``pages`` pages every write fails with SQLITE_FULL, as on a full disk."""
    real_open = Ledger.open.__func__  # type: ignore[attr-defined]

    def limited(cls: type[Ledger], path: Path | str) -> Ledger:
        ledger = real_open(cls, path)
        raw_sql(ledger).execute(f"PRAGMA max_page_count = {pages}")
        return ledger

    monkeypatch.setattr(Ledger, "open", classmethod(limited))


def _run_once(world: Any, state: Path) -> Any:
    return CliRunner().invoke(main, ["--config", str(world.config_path), "--state-dir", str(state), "run", "--once",
                                     "--now", DEMO_NOW.isoformat()])


class _FailingCommits:
    """The ledger's connection, whose COMMITs from the ``after``-th on fail as SQLite's unix VFS
    fails them when the disk does: SQLITE_IOERR (a short write, an fsync that could not finish)."""

    def __init__(self, conn: sqlite3.Connection, after: int) -> None:
        self._conn, self._left = conn, after

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            self._left -= 1
            if self._left < 0:
                exc = sqlite3.OperationalError("disk I/O error")
                exc.sqlite_errorcode, exc.sqlite_errorname = 778, "SQLITE_IOERR_WRITE"
                raise exc
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.mark.parametrize(("free", "said"), [(1 << 20, "disk is full"), (50 << 30, "failed to read or write")],
                         ids=["full", "failing"])
def test_a_disk_io_error_says_full_or_failing_disk_not_a_broken_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, free: int, said: str,
) -> None:
    import shutil

    from circleback.daemon.store import ledger as ledger_module

    world = build_world(tmp_path / "w", anchor=DEMO_NOW)
    real_open = Ledger.open.__func__  # type: ignore[attr-defined]

    def failing(cls: type[Ledger], path: Path | str) -> Ledger:
        opened = real_open(cls, path)
        opened._conn = _FailingCommits(opened._conn, after=3)  # type: ignore[assignment]
        return opened

    monkeypatch.setattr(Ledger, "open", classmethod(failing))
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(ledger_module.shutil, "disk_usage", lambda _: usage._replace(free=free))
    out = _run_once(world, tmp_path / "state")
    assert out.exit_code == 73, out.output
    lines = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and said in lines[0] and "Traceback" not in out.output, out.output
    assert "unusable" not in lines[0] and "damaged" not in lines[0]
    with sqlite3.connect(tmp_path / "state" / "ledger.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_full_disk_stops_the_run_with_one_clear_line_and_an_intact_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run with the ledger capped at a few sizes, from "full during the first sync" to "full while writing
    draft intents": each run stops with exit 73 and one line naming the state directory and the full disk;
    the ledger passes integrity_check with no half-written intent; freed, the next run ends exactly as a
    clean run (same drafts, no duplicate)."""
    clean_world = build_world(tmp_path / "clean", anchor=DEMO_NOW)
    clean_state = tmp_path / "clean-state"
    assert _run_once(clean_world, clean_state).exit_code == 0
    conn = sqlite3.connect(clean_state / "ledger.sqlite3")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    clean_keys = _keys(clean_world)
    assert clean_keys

    stopped = 0
    for n, limit in enumerate(sorted({pages // 3, pages - 6, pages - 1})):
        world = build_world(tmp_path / f"w{n}", anchor=DEMO_NOW)
        state = tmp_path / f"s{n}"
        with monkeypatch.context() as patch:
            _limit_ledger_pages(patch, limit)
            out = _run_once(world, state)
        if out.exit_code == 0:
            continue  # this limit happened to fit: nothing to check beyond the rerun below
        stopped += 1
        assert out.exit_code == 73, out.output
        assert isinstance(out.exception, SystemExit)
        lines = [line for line in out.output.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, out.output
        assert str(state) in lines[0] and "disk is full" in lines[0] and "free some space" in lines[0]
        assert "Traceback" not in out.output

        conn = sqlite3.connect(state / "ledger.sqlite3")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT key, state, message, ref FROM outbox").fetchall()
        conn.close()
        in_box = _keys(world)
        for key, state_name, message, ref in rows:  # no half-written intent
            assert state_name in ("pending", "drafted"), state_name
            parsed = BytesParser(policy=policy.default).parsebytes(message)
            assert parsed["X-Circleback-Key"] == key and parsed.get_body(("plain",)) is not None
            assert (state_name == "drafted") == (ref is not None)
            assert state_name == "pending" or key in in_box
        assert set(in_box) <= {r[0] for r in rows}

        assert _run_once(world, state).exit_code == 0  # space freed: the run finishes the job
        assert _keys(world) == clean_keys
    assert stopped >= 2, f"only {stopped} capped run(s) ran out of space; the page limits need a look"


def test_ledger_full_is_a_state_error_that_rolls_the_step_back(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "state" / "ledger.sqlite3")
    raw_sql(ledger).execute("CREATE TABLE filler (x BLOB)")
    pages = raw_sql(ledger).execute("PRAGMA page_count").fetchone()[0]
    raw_sql(ledger).execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(LedgerFull, match="state: the state directory's disk is full") as caught, \
            ledger.transaction():
        ledger.set_cursor("acc", "mail", {"n": 1})
        for _ in range(20):
            raw_sql(ledger).execute("INSERT INTO filler VALUES (zeroblob(4000))")
    assert caught.value.exit_code == 73 and "\n" not in str(caught.value)
    assert ledger.cursor("acc", "mail") is None  # the whole step was rolled back
    assert not raw_sql(ledger).in_transaction and ledger.integrity_ok()
    raw_sql(ledger).execute(f"PRAGMA max_page_count = {pages + 100}")
    with ledger.transaction():  # usable again once there is room
        ledger.set_cursor("acc", "mail", {"n": 2})
    assert ledger.cursor("acc", "mail") == {"n": 2}
    ledger.close()


# --- provider clocks far off -----------------------------------------------------------------------------

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
FAR_PAST = datetime(1971, 1, 1, tzinfo=UTC)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    fake.start()
    yield fake
    assert fake.send_attempts == []
    fake.stop()


def _google_account(cls: Any, tmp_path: Path, fake: FakeGoogle) -> Any:
    from circleback.connectors.tokens import write_private

    token = tmp_path / "tokens" / "google.json"
    info = {"refresh_token": "rt-good", "client_id": "cid.apps.googleusercontent.com", "client_secret": "cs"}
    write_private(token, json.dumps(info).encode())
    return cls.model_validate({"name": "g", "client_secrets": str(tmp_path / "client_secret.json"),
                               "token_path": str(token), "api_endpoint": fake.url, "token_uri": fake.token_uri})


def test_gmail_internal_dates_far_off_never_crash_and_the_past_is_skipped(google: FakeGoogle, tmp_path: Path) -> None:
    from circleback.connectors.google.auth import GmailAccount
    from circleback.connectors.google.gmail import GmailConnector

    personal = ["INBOX", "CATEGORY_PERSONAL"]
    google.add_message(build_message(1), personal)
    google.add_message(build_message(2, sender="fut@example.com"), personal,
                       internal_ms=int(FAR_FUTURE.timestamp() * 1000))
    google.add_message(build_message(3, sender="old@example.com"), personal,
                       internal_ms=int(FAR_PAST.timestamp() * 1000))
    conn = GmailConnector(_google_account(GmailAccount, tmp_path, google), CONTEXT)
    try:
        result = conn.sync_mail(None)
        again = conn.sync_mail(result.cursor)
    finally:
        conn.close()
    when = {r.message_id: r.timestamp for r in result.records}
    assert set(when) == {"msg1@test", "msg2@test"}  # 1971 lies beyond the lookback: not read
    assert all(t.tzinfo is not None for t in when.values())
    assert again.records == [] and again.skipped == []


def test_google_calendar_events_far_off_never_crash_and_the_past_is_skipped(google: FakeGoogle, tmp_path: Path) -> None:
    from circleback.connectors.google.auth import GoogleCalendarAccount
    from circleback.connectors.google.calendar import GoogleCalendarConnector

    def event(eid: str, start: datetime) -> dict[str, Any]:
        stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"id": eid, "iCalUID": f"{eid}@google.com", "status": "confirmed", "summary": eid,
                "start": {"dateTime": stamp}, "end": {"dateTime": stamp},
                "attendees": [{"email": "ann@example.com", "responseStatus": "accepted"},
                              {"email": ME, "self": True, "responseStatus": "accepted"}]}

    google.put_event(event("soon", NOW - timedelta(days=2)))
    google.put_event(event("future", FAR_FUTURE))
    google.put_event(event("past", FAR_PAST))
    conn = GoogleCalendarConnector(_google_account(GoogleCalendarAccount, tmp_path, google), CONTEXT)
    try:
        result = conn.sync_events(None)
    finally:
        conn.close()
    titles = [r.title for r in result.records]
    assert "soon" in titles and "past" not in titles  # 1971 lies beyond the lookback
    # A meeting in 2100 may come through: an upcoming meeting that far out lies outside every planning window.
    assert all(r.start.tzinfo is not None for r in result.records)


def test_outlook_dates_far_off_never_crash(tmp_path: Path) -> None:
    from circleback.connectors.microsoft.auth import OutlookAccount
    from circleback.connectors.microsoft.outlook import OutlookConnector, StaticToken
    from tests.support.fake_graph import TOKEN

    fake = FakeGraph().start()
    try:
        fake.add_message(build_message(1))
        fake.add_message(build_message(2, sender="fut@example.com", date=FAR_FUTURE))
        fake.add_message(build_message(3, sender="old@example.com", date=FAR_PAST))
        account = OutlookAccount(name="work", client_id="00000000-0000-0000-0000-0000000000aa",
                                 graph_endpoint=fake.endpoint)
        conn = OutlookConnector(account, CONTEXT, tokens=StaticToken(TOKEN), sleep=lambda s: None)
        result = conn.sync_mail(None)
        again = conn.sync_mail(result.cursor)
    finally:
        fake.stop()
    assert {"msg1@test", "msg2@test"} <= {r.message_id for r in result.records}
    assert all(r.timestamp.tzinfo is not None for r in result.records)
    assert again.records == []


def test_google_calendar_a_slow_response_times_out_and_is_retried(
    google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import circleback.connectors.google.auth as google_auth
    from circleback.connectors.google.auth import GoogleCalendarAccount, RetryPolicy
    from circleback.connectors.google.calendar import GoogleCalendarConnector

    monkeypatch.setattr(google_auth, "HTTP_TIMEOUT", 0.3)
    monkeypatch.setattr(google_auth.authorised_http, "__defaults__", (0.3,))
    monkeypatch.setattr(GoogleCalendarConnector, "retry_policy", RetryPolicy(attempts=4, base=0.01, cap=0.05))
    start = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    google.put_event({"id": "e1", "iCalUID": "e1@google.com", "status": "confirmed", "summary": "Coffee",
                      "start": {"dateTime": start}, "end": {"dateTime": start},
                      "attendees": [{"email": "ann@example.com", "responseStatus": "accepted"},
                                    {"email": ME, "self": True, "responseStatus": "accepted"}]})
    fault = google.inject("events.list", "slow", delay=1.0)
    conn = GoogleCalendarConnector(_google_account(GoogleCalendarAccount, tmp_path, google), CONTEXT,
                                   sleep=lambda s: None)
    try:
        result = conn.sync_events(None)
    finally:
        conn.close()
    assert [r.title for r in result.records] == ["Coffee"]
    assert fault.times == 0  # the slow call happened, timed out, and was retried


def _coffee(eid: str, days_ago: float) -> dict[str, Any]:
    start = (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": eid, "iCalUID": f"{eid}@google.com", "status": "confirmed", "summary": f"Coffee {eid}",
            "start": {"dateTime": start}, "end": {"dateTime": start},
            "attendees": [{"email": "ann@example.com", "responseStatus": "accepted"},
                          {"email": ME, "self": True, "responseStatus": "accepted"}]}


def test_google_calendar_retries_exhausted_are_one_clear_error_and_the_cursor_waits(
    google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """events.list answers 503 to every try: the sync gives up after the policy's attempts with one line
    naming the call and the status, returns no partial result, and the next sync from the same cursor reads
    the change exactly once."""
    from circleback.connectors.errors import ConnectorError
    from circleback.connectors.google.auth import GoogleCalendarAccount, RetryPolicy
    from circleback.connectors.google.calendar import GoogleCalendarConnector

    monkeypatch.setattr(GoogleCalendarConnector, "retry_policy", RetryPolicy(attempts=4, base=0.01, cap=0.05))
    google.put_event(_coffee("e1", 3))
    conn = GoogleCalendarConnector(_google_account(GoogleCalendarAccount, tmp_path, google), CONTEXT,
                                   sleep=lambda s: None)
    try:
        cursor = conn.sync_events(None).cursor
        google.put_event(_coffee("e2", 1))
        fault = google.inject("events.list", "503", times=100)
        with pytest.raises(ConnectorError) as failed:
            conn.sync_events(cursor)
        assert 100 - fault.times == 4  # the policy's four attempts, then no more
        message = str(failed.value)
        assert "\n" not in message and "events.list primary" in message and "503" in message, message
        fault.times = 0
        caught_up = conn.sync_events(cursor)
    finally:
        conn.close()
    assert [r.source_id for r in caught_up.records] == ["e2"] and not caught_up.full


def test_google_calendar_an_expired_access_token_is_refreshed_once_and_the_call_replayed(
    google: FakeGoogle, tmp_path: Path,
) -> None:
    """Google drops the access token early (401 on events.list): one refresh at the token endpoint, the
    same call again, and the sync goes on from its cursor with nothing lost or doubled."""
    from circleback.connectors.google.auth import GoogleCalendarAccount
    from circleback.connectors.google.calendar import GoogleCalendarConnector

    google.put_event(_coffee("e1", 3))
    conn = GoogleCalendarConnector(_google_account(GoogleCalendarAccount, tmp_path, google), CONTEXT,
                                   sleep=lambda s: None)
    try:
        first = conn.sync_events(None)
        google.put_event(_coffee("e2", 1))
        google.access_tokens.clear()  # every token issued so far is now refused
        requests_before = google.http_requests
        second = conn.sync_events(first.cursor)
        third = conn.sync_events(second.cursor)
    finally:
        conn.close()
    assert [r.source_id for r in first.records] == ["e1"]
    assert [r.source_id for r in second.records] == ["e2"] and third.records == []
    assert len(google.access_tokens) == 1  # refreshed once
    assert google.http_requests - requests_before == 4  # 401, token refresh, the replayed call, the third sync


# --- IMAP on a real Dovecot: hostile headers and INTERNALDATEs far off ------------------------------------


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Any]:
    from tests.support.servers import start_dovecot

    server = start_dovecot()
    yield server
    server.stop()


def _imap_sync(server: Any, monkeypatch: pytest.MonkeyPatch, messages: list[tuple[bytes, datetime]]) -> Any:
    from imapclient import IMAPClient
    from tenacity import wait_none

    from circleback.connectors.imap import ImapConnector
    from circleback.daemon.config import ImapAccount

    user = f"faults-{os.getpid()}-{len(messages)}-{id(messages)}@example.org"
    password = server.add_user(user)
    monkeypatch.setenv("CIRCLEBACK_FAULTS_IMAP_PASSWORD", password)
    seed = IMAPClient(server.host, server.port, ssl=False)
    seed.login(user, password)
    for raw, when in messages:
        seed.append("INBOX", raw, msg_time=when)
    seed.logout()
    account = ImapAccount(name="mail", kind="imap", host=server.host, port=server.port, security="none",
                          username=user, password_env="CIRCLEBACK_FAULTS_IMAP_PASSWORD", timeout=10)
    conn = ImapConnector(account, CONTEXT)
    conn.backoff = wait_none()
    try:
        first = conn.sync_mail(None)
        again = conn.sync_mail(first.cursor)
    finally:
        conn.close()
    return first, again


@pytest.mark.needs_server
def test_imap_hostile_header_values_come_out_clean(dovecot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = _imap_sync(dovecot, monkeypatch, [(_hostile(1), NOW - timedelta(days=3))])
    _assert_clean(first.records)


@pytest.mark.needs_server
def test_imap_internal_dates_far_off_never_crash_and_the_past_is_skipped(
    dovecot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, again = _imap_sync(dovecot, monkeypatch, [
        (build_message(1), NOW - timedelta(days=1)),
        (build_message(2, sender="fut@example.com"), FAR_FUTURE),
        (build_message(3, sender="old@example.com"), FAR_PAST),
    ])
    ids = {r.message_id for r in first.records}
    assert "msg1@test" in ids and "msg3@test" not in ids  # 1971 lies beyond the lookback
    assert all(r.timestamp.tzinfo is not None for r in first.records)
    assert again.records == []


class _RecordingWait:
    """A tenacity wait that records each backoff the connector asks for and sleeps none of it."""

    def __init__(self) -> None:
        self.waits = 0

    def __call__(self, retry_state: Any) -> float:
        self.waits += 1
        return 0.0


@pytest.mark.needs_server
def test_imap_a_stalled_server_times_out_and_is_retried_after_a_backoff(
    dovecot: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server goes silent in the middle of a FETCH answer (the connection stays open): the socket
    timeout ends the wait. With one try the sync fails with one clear line and records nothing; with
    more, it reconnects after a backoff within the same sync and reads every message exactly once."""
    from imapclient import IMAPClient

    from circleback.connectors.errors import ConnectorError
    from circleback.connectors.imap import ImapConnector
    from circleback.daemon.config import ImapAccount
    from tests.support.servers import TcpProxy

    user = f"stall-{os.getpid()}@example.org"
    password = dovecot.add_user(user)
    monkeypatch.setenv("CIRCLEBACK_FAULTS_IMAP_PASSWORD", password)
    padding = {"X-Padding": "x" * 200}
    seed = IMAPClient(dovecot.host, dovecot.port, ssl=False)
    seed.login(user, password)
    seed.multiappend("INBOX", [build_message(n, extra=padding) for n in range(1, 61)])  # ~30 kB of headers
    seed.logout()
    expected = {f"msg{n}@test" for n in range(1, 61)}
    proxy = TcpProxy(dovecot.host, dovecot.port)
    account = ImapAccount(name="mail", kind="imap", host=proxy.host, port=proxy.port, security="none",
                          username=user, password_env="CIRCLEBACK_FAULTS_IMAP_PASSWORD", timeout=1)
    conn = ImapConnector(account, CONTEXT)
    conn.backoff = backoff = _RecordingWait()
    try:
        conn.attempts = 1  # no retry: the timed-out sync itself must leave no trace
        proxy.stall_after_client_sends(b"FETCH", server_bytes=2000)  # part of the answer, then silence
        with pytest.raises(ConnectorError) as failed:
            conn.sync_mail(None)
        assert proxy.stalls == 1 and "\n" not in str(failed.value)
        assert "timed out" in str(failed.value).lower(), failed.value

        conn.attempts = 3
        proxy.stall_after_client_sends(b"FETCH", server_bytes=2000)
        connections, backoff.waits = proxy.connections, 0
        result = conn.sync_mail(None)
        again = conn.sync_mail(result.cursor)
    finally:
        conn.close()
        proxy.close()
    assert proxy.stalls == 2 and backoff.waits == 1  # stalled once, waited once, then reconnected
    assert proxy.connections == connections + 2  # the stalled connection and the reconnect
    ids = [r.message_id for r in result.records]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert again.records == [] and again.skipped == []


class _OneShotMail:
    """A MailSource that hands the engine fixed records: the core's side of a provider clock far off."""

    kind = "maildir"

    def __init__(self, records: list[MailRecord]) -> None:
        self.records = records

    def sync_mail(self, cursor: Any) -> SyncResult[MailRecord]:
        return SyncResult(self.records if cursor is None else [], {"done": True}, full=cursor is None)

    def close(self) -> None:
        return None


def _mail(n: int, who: str, when: datetime, direction: Direction) -> MailRecord:
    me, them = Address(ME, "Me"), Address(f"{who.lower()}@example.com", who)
    sent = direction is Direction.SENT
    return MailRecord(source_id=f"m{n}", timestamp=when, direction=direction, sender=me if sent else them,
                      to=(them,) if sent else (me,), cc=(), subject=f"Violins {n}", message_id=f"m{n}@x",
                      in_reply_to="", references=(), thread_id=f"m{n}@x", folder="INBOX")


def test_core_a_mail_dated_far_in_the_future_never_hides_a_person() -> None:
    from circleback.daemon.config import Settings
    from circleback.daemon.core.engine import Engine
    from circleback.daemon.core.planner import plan_cycle

    settings = Settings.model_validate({"me": {"name": "Me", "addresses": [ME]}, "people": [
        {"name": "Ann Example", "emails": ["ann@example.com"], "note": "Ann builds the best violins"},
        {"name": "Ben Example", "emails": ["ben@example.com"], "note": "Ben builds the best violins"}]})
    now = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    records = [_mail(1, "Ann", now - timedelta(days=200), Direction.SENT),
               _mail(2, "Ben", now - timedelta(days=200), Direction.SENT),
               _mail(3, "Ben", FAR_FUTURE, Direction.RECEIVED)]  # a provider clock decades off
    ledger = Ledger.memory()
    report = Engine(settings, ledger, {"m": _OneShotMail(records)}).run_cycle(now, write=False)  # never a crash
    assert [a.error for a in report.accounts] == [""]
    due = sorted(n.standing.contact.display_name for n in plan_cycle(ledger, settings, now).notes)
    assert due == ["Ann Example", "Ben Example"]


# --- Graph: a 500 and a dropped connection ------------------------------------------------------------


@pytest.fixture
def graph() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def _graph_case() -> tuple[Any, str, dict[str, Any], dict[str, Any]]:
    from tests.support.outlook import CURSOR, DELTA_URL, GRAPH, PAGE, connector

    return connector(GRAPH), DELTA_URL, PAGE, CURSOR


def test_outlook_a_500_is_one_skip_that_keeps_its_place(graph: responses.RequestsMock) -> None:
    conn, url, page, cursor = _graph_case()
    graph.get(url, status=500, json={"error": {"code": "InternalServerError", "message": "oops"}})
    graph.get(url, json=page)

    first = conn.sync_mail({**cursor})
    second = conn.sync_mail(first.cursor)

    assert first.records == [] and len(first.skipped) == 1 and "\n" not in first.skipped[0].why
    assert [r.message_id for r in second.records] == ["m1@x"]


def test_outlook_a_dropped_connection_is_retried(graph: responses.RequestsMock) -> None:
    conn, url, page, cursor = _graph_case()
    graph.get(url, body=requests.ConnectionError("connection reset by peer"))
    graph.get(url, json=page)

    result = conn.sync_mail({**cursor})

    assert [r.message_id for r in result.records] == ["m1@x"] and result.skipped == []


# --- hostile header values through the provider fakes --------------------------------------------------

HOSTILE_FROM = "=?utf-8?q?Eve=0D=0ABcc=3A_x=40evil.test?= <eve@example.com>"
HOSTILE_SUBJECT = "Hi\r\n X-Evil: injected =?utf-8?b?DQpCY2M6IGV2ZUBldmlsLnRlc3Q=?= \x00\u2028end"


def _hostile(n: int) -> bytes:
    head = (f"From: {HOSTILE_FROM}\r\nTo: {ME}\r\nSubject: {HOSTILE_SUBJECT}\r\n"
            f"Date: Mon, 03 Mar 2025 10:00:00 +0000\r\nMessage-ID: <hostile{n}@test>\r\n\r\nbody\r\n")
    return head.encode("utf-8", "surrogateescape")


def _assert_clean(records: list[MailRecord]) -> None:
    (record,) = [r for r in records if r.message_id.startswith("hostile")]
    assert record.sender is not None and record.sender.email == "eve@example.com"
    for text in (record.sender.name, record.subject):
        assert not any(c in CONTROLS for c in text), repr(text)


def test_gmail_hostile_header_values_come_out_clean(google: FakeGoogle, tmp_path: Path) -> None:
    from circleback.connectors.google.auth import GmailAccount
    from circleback.connectors.google.gmail import GmailConnector

    google.add_message(_hostile(1), ["INBOX", "CATEGORY_PERSONAL"])
    conn = GmailConnector(_google_account(GmailAccount, tmp_path, google), CONTEXT)
    try:
        _assert_clean(conn.sync_mail(None).records)
    finally:
        conn.close()


def test_outlook_hostile_header_values_come_out_clean() -> None:
    from circleback.connectors.microsoft.auth import OutlookAccount
    from circleback.connectors.microsoft.outlook import OutlookConnector, StaticToken
    from tests.support.fake_graph import TOKEN, message_json

    fake = FakeGraph().start()
    try:
        # Graph hands out decoded JSON: the hostile name arrives already decoded, controls and all.
        data = message_json(_hostile(1))
        data["from"] = data["sender"] = {"emailAddress": {"name": "Eve\r\nBcc: x@evil.test\x00\u2028",
                                                          "address": "eve@example.com"}}
        fake.add_json(fake.folder_id("inbox"), data)
        account = OutlookAccount(name="work", client_id="00000000-0000-0000-0000-0000000000aa",
                                 graph_endpoint=fake.endpoint)
        _assert_clean(OutlookConnector(account, CONTEXT, tokens=StaticToken(TOKEN)).sync_mail(None).records)
    finally:
        fake.stop()


# --- hostile calendar event titles and attendee names, as far as a draft ------------------------------------

HOSTILE_TITLE = ("Hi\r\nBcc: eve@evil.test\x00\x1b[2J\u2028 =?utf-8?b?DQpCY2M6IGV2ZUBldmlsLnRlc3Q=?= "
                 + "very long " * 300)  # 3,000 characters
HOSTILE_NAME = "Eve\r\nBcc: x@evil.test\x00"
MET = NOW - timedelta(days=200)  # long enough ago that Ann is due


def _calendar_draft(calendar: Any, tmp_path: Path) -> tuple[Any, list[bytes]]:
    """One daemon cycle over ``calendar`` with a Maildir draft box: Ann, configured without a name or a note,
    is due, and the meeting's title is the only hook her note can quote. Returns the cycle and the drafts."""
    import mailbox

    from circleback.connectors.maildir import MaildirConnector
    from circleback.daemon.config import MaildirAccount, Settings
    from circleback.daemon.core.engine import Engine

    mail = tmp_path / "mail"
    mailbox.Maildir(mail, create=True).add_folder("Drafts")
    # A note, so that Ann gets a check-in whatever the title: a hostile title is never a hook (no
    # quoted titles), yet it sits in the ledger beside the draft that is built and re-parsed.
    settings = Settings.model_validate({"me": {"name": "Me", "addresses": [ME]},
                                        "people": [{"name": "Ann Example", "emails": ["ann@example.com"],
                                                    "note": "always brings the best snacks"}]})
    box = MaildirConnector(MaildirAccount(name="box", kind="maildir", path=str(mail)), CONTEXT)
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    try:
        report = Engine(settings, ledger, {"cal": calendar, "box": box}).run_cycle(NOW)
    finally:
        calendar.close()
        ledger.close()
    drafts = [f.read_bytes() for sub in ("cur", "new") for f in (mail / ".Drafts" / sub).iterdir()]
    return report, drafts


def _assert_draft_headers_clean(report: Any, drafts: list[bytes]) -> str:
    """The draft re-parses to exactly our headers, each one clean line; returns the decoded body."""
    assert [a.error for a in report.accounts] == ["", ""]
    (raw,) = drafts
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert Counter(k.lower() for k in msg) == INTENDED
    assert all(not any(c in CONTROLS for c in str(v)) for v in msg.values())
    assert [a.addr_spec for a in msg["To"].addresses] == ["ann@example.com"]
    assert "evil" not in str(msg["Subject"]) and "evil" not in str(msg["To"])
    for line in raw.split(b"\n\n", 1)[0].split(b"\n"):
        assert line[:1] in (b" ", b"\t") or line.split(b":", 1)[0].lower().decode() in INTENDED, line
    body = msg.get_body(("plain",)).get_content()
    assert not any(c in CONTROLS for c in body.replace("\n", "")), repr(body[:200])
    return body


def _assert_title_stays_out_of_the_body(body: str) -> None:
    # The default templates quote no title at all; the note's own words carry it.
    assert "evil" not in body and "Bcc" not in body and "very long" not in body, repr(body[:200])
    assert "how you always bring the best snacks" in body


def _assert_event_clean(records: list[Any]) -> None:
    (event,) = records
    for text in (event.title, *(a.name for a in event.attendees)):
        assert not any(c in CONTROLS for c in text), repr(text[:80])


def _google_hostile_event(google: FakeGoogle) -> None:
    when = MET.strftime("%Y-%m-%dT%H:%M:%SZ")
    google.put_event({"id": "h1", "iCalUID": "h1@google.com", "status": "confirmed", "summary": HOSTILE_TITLE,
                      "start": {"dateTime": when}, "end": {"dateTime": when},
                      "attendees": [{"email": "ann@example.com", "displayName": HOSTILE_NAME,
                                     "responseStatus": "accepted"},
                                    {"email": ME, "self": True, "responseStatus": "accepted"}]})


def test_google_calendar_hostile_event_titles_never_reach_a_draft_header(google: FakeGoogle, tmp_path: Path) -> None:
    """A title or attendee name with CR/LF, NUL, escape codes, an RFC 2047 word and 3,000 characters: the
    draft that quotes the meeting still re-parses to exactly our headers, each one clean line."""
    from circleback.connectors.google.auth import GoogleCalendarAccount
    from circleback.connectors.google.calendar import GoogleCalendarConnector

    _google_hostile_event(google)
    calendar = GoogleCalendarConnector(_google_account(GoogleCalendarAccount, tmp_path, google), CONTEXT)
    _assert_draft_headers_clean(*_calendar_draft(calendar, tmp_path))


def test_google_calendar_hostile_event_titles_come_out_as_one_clean_line(google: FakeGoogle, tmp_path: Path) -> None:
    """As the mail connectors do with subjects and names (and the CalDAV/ics reader with titles): a hostile
    title and attendee name come out of the connector as one clean line, and so does the note's quote."""
    from circleback.connectors.google.auth import GoogleCalendarAccount
    from circleback.connectors.google.calendar import GoogleCalendarConnector

    _google_hostile_event(google)
    account = _google_account(GoogleCalendarAccount, tmp_path, google)
    read = GoogleCalendarConnector(account, CONTEXT)
    try:
        records = read.sync_events(None).records
    finally:
        read.close()
    body = _assert_draft_headers_clean(*_calendar_draft(GoogleCalendarConnector(account, CONTEXT), tmp_path))
    _assert_title_stays_out_of_the_body(body)
    _assert_event_clean(records)


@pytest.mark.needs_server
def test_caldav_hostile_event_titles_come_out_clean_and_never_reach_a_draft_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same hostile title and name through a real Radicale: iCalendar escapes (\\n in SUMMARY, RFC 6868
    ^n in CN) decode to line breaks, which the reader folds into one clean line; the draft's headers stay
    exactly ours and its quote of the title stays on one line."""
    import caldav

    from circleback.connectors.caldav import CalDavConnector
    from circleback.daemon.config import CalDavAccount
    from tests.support.radicale_server import start_radicale

    server = start_radicale(tmp_path)
    try:
        title = HOSTILE_TITLE.replace("\r\n", "\\n").replace("\x00", "").replace("\x1b", "")  # TEXT escapes
        ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//circleback tests//EN\r\nBEGIN:VEVENT\r\n"
               "UID:h1\r\nDTSTAMP:20250101T000000Z\r\n"
               f"DTSTART:{MET:%Y%m%dT%H%M%SZ}\r\nDTEND:{MET + timedelta(hours=1):%Y%m%dT%H%M%SZ}\r\n"
               f"SUMMARY:{title}\r\nATTENDEE;CN=\"Eve^nBcc: x@evil.test\";PARTSTAT=ACCEPTED:mailto:ann@example.com\r\n"
               f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
        admin = caldav.DAVClient(url=server.url, username="alice", password="x")  # noqa: S106 - auth is none
        admin.principal().make_calendar(name="Work").save_event(ics)
        monkeypatch.setenv("CB_FAULTS_CALDAV_PASSWORD", "x")
        account = CalDavAccount(name="dav", url=server.url, username="alice", password_env="CB_FAULTS_CALDAV_PASSWORD")
        read = CalDavConnector(account, CONTEXT)
        try:
            records = read.sync_events(None).records
        finally:
            read.close()
        _assert_event_clean(records)
        assert records[0].title.startswith("Hi Bcc: eve@evil.test")
        body = _assert_draft_headers_clean(*_calendar_draft(CalDavConnector(account, CONTEXT), tmp_path))
        _assert_title_stays_out_of_the_body(body)
    finally:
        server.stop()


# --- fuzz: raw header bytes -> parse_mail_headers -> build_draft -> re-parse ------------------------------

INTENDED = Counter(["from", "to", "subject", "date", "message-id", "x-circleback-key", "mime-version",
                    "content-type", "content-transfer-encoding"])
HEADER_PIECES = [
    b"\r\n", b"\n", b"\r", b"\r\n ", b"\n\t", b"\x00", b"\xff", b"\xc3\xa9", b"\xe2\x80\xa8", b":", b";", b",",
    b"<", b">", b"@", b'"', b"\\", b"(", b")", b"=?utf-8?q?", b"?=", b"=0D=0A", b"=?utf-8?b?DQpCY2M6IGV2ZQ==?=",
    b"Bcc: eve@evil.test", b"X-Evil: 1", b"From: ", b"Subject: ", b"To: ", b"eve@evil.test", b"ann@example.com",
    b"Ann <ann@example.com>", b'"Ann, Jr." <ann@example.com>', b"undisclosed-recipients:;", b"a" * 200,
]  # fmt: skip
header_value = st.lists(st.one_of(st.sampled_from(HEADER_PIECES), st.binary(max_size=24)), max_size=10).map(b"".join)
header_block = st.lists(
    st.tuples(st.sampled_from([b"From", b"Subject", b"To", b"Cc", b"Date", b"Message-ID", b"References",
                               b"X-Circleback-Key", b"Content-Type", b"from", b"SUBJECT", b"X-Other"]),
              st.sampled_from([b": ", b":", b" : ", b":\t"]), header_value),
    max_size=8,
).map(lambda fields: b"".join(name + sep + value + b"\r\n" for name, sep, value in fields) + b"\r\nbody\r\n")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw=header_block)
@example(raw=b"From: =?utf-8?q?Eve=0D=0ABcc:_x@evil.test?= <eve@example.com>\r\n"
             b"Subject: Hi\r\n X-Evil: 1 =?utf-8?b?DQpCY2M6IGV2ZUBldmlsLnRlc3Q=?=\r\n\r\nbody\r\n")
@example(raw=b"From: \xff\xfe <ann@example.com>\nSubject: \x00\n\n")
def test_fuzz_raw_headers_through_parser_and_draft_never_add_a_header(raw: bytes) -> None:
    """The path a hostile inbound message takes: its header bytes are parsed (connectors/mailheaders.py),
    the parsed name and subject go into one of our drafts, which is serialised and parsed again. No
    exception but a refusal, and never a header beyond the intended ones."""
    parsed = parse_mail_headers(raw, folder="INBOX", is_sent_folder=False, my_addresses=frozenset({ME}),
                                fallback_time=NOW, source_hint="fuzz")
    if isinstance(parsed, Skip):
        assert parsed.why and "\n" not in parsed.why
        return
    assert parsed.sender is not None
    name, subject = parsed.sender.name, "Re: " + parsed.subject
    try:
        draft = build_draft(sender=Address(ME, "Me"), to=[Address("jo@example.org", name)], subject=subject,
                            body="How are you?\n", message_id="m1@example.org", key="k1", date=NOW)
    except DraftBuildError:
        assert clean_header_value(subject) == ""  # the only refusal a valid address may see
        return
    msg = BytesParser(policy=policy.default).parsebytes(draft)
    assert Counter(k.lower() for k in msg) == INTENDED
    assert all(not any(c in CONTROLS for c in str(v)) for v in msg.values())
    (to,) = msg["To"].addresses
    assert to.addr_spec == "jo@example.org"
    assert msg["X-Circleback-Key"] == "k1"
    head = draft.split(b"\n\n", 1)[0]
    for line in head.split(b"\n"):
        if line[:1] not in (b" ", b"\t"):
            assert line.split(b":", 1)[0].lower().decode() in INTENDED, line


def test_fuzz_example_count_comes_from_the_environment() -> None:
    assert int(os.environ.get("CIRCLEBACK_FUZZ_EXAMPLES", "300")) == FUZZ_EXAMPLES
