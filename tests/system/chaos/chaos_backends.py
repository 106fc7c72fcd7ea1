"""The backends the chaos loop runs over: the local demo world through the real CLI, the fake
Google server (Gmail + Google Calendar), the fake Graph server (Outlook), a real Dovecot, and a
real Radicale (CalDAV) beside a local Maildir that holds the drafts."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from mailbox import Maildir
from pathlib import Path
from typing import Any

import caldav
from chaos_harness import SigkillAt, header_key
from imapclient import IMAPClient

# Imported here, in the parent, so that a forked cycle spends its time cycling, not importing.
from circleback.connectors.base import ConnectorContext
from circleback.connectors.caldav import CalDavConnector
from circleback.connectors.google.auth import GmailAccount, GoogleCalendarAccount
from circleback.connectors.google.calendar import GoogleCalendarConnector
from circleback.connectors.google.gmail import GmailConnector
from circleback.connectors.imap import ImapConnector
from circleback.connectors.maildir import MaildirConnector
from circleback.connectors.microsoft.auth import OutlookAccount
from circleback.connectors.microsoft.outlook import OutlookConnector, StaticToken
from circleback.connectors.tokens import write_private
from circleback.daemon.app.demo_world import build_world
from circleback.daemon.cli import main
from circleback.daemon.config import CalDavAccount, ImapAccount, MaildirAccount, Settings
from circleback.daemon.core import faults
from circleback.daemon.core.engine import Engine
from circleback.daemon.store.ledger import Ledger
from tests.support.contract import ME, build_message
from tests.support.fake_google import FakeGoogle
from tests.support.fake_graph import TOKEN, FakeGraph

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # a Tuesday, 10:00 UTC: outside default quiet hours
DEMO_NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # as tests/test_end_to_end.py
PEOPLE = ("Ann", "Ben", "Cleo", "Dev", "Eli")  # overdue, each with a note (the hook)
RECENT = "Fay"  # in touch last week: never due
IMAP_PASSWORD_ENV = "CIRCLEBACK_CHAOS_IMAP_PASSWORD"  # noqa: S105 - the variable's name
CALDAV_PASSWORD_ENV = "CIRCLEBACK_CHAOS_CALDAV_PASSWORD"  # noqa: S105 - the variable's name


def address(name: str) -> str:
    return f"{name.lower()}@example.com"


def settings() -> Any:

    people = [{"name": f"{n} Example", "emails": [address(n)], "note": f"{n} builds the best violins"} for n in PEOPLE]
    people.append({"name": f"{RECENT} Example", "emails": [address(RECENT)], "note": "Fay restores the finest organs"})
    return Settings.model_validate({"me": {"name": "Me", "addresses": [ME]}, "people": people,
                                    "drafting": {"budget_per_week": 10}})


def context() -> Any:

    return ConnectorContext(my_addresses=frozenset({ME}), lookback_days=3 * 365, now=NOW)


def mailbox() -> list[tuple[str, bytes]]:
    """(folder, raw): for each person one message in and one out; noise that must not count."""
    out: list[tuple[str, bytes]] = []
    for n, name in enumerate((*PEOPLE, RECENT)):
        days = 5 if name == RECENT else 200 + n
        out.append(("INBOX", build_message(100 + n, sender=f"{name} <{address(name)}>",
                                           date=NOW - timedelta(days=days), subject=f"Violins {n}")))
        out.append(("Sent", build_message(200 + n, sender=ME, to=f"{name} <{address(name)}>",
                                          date=NOW - timedelta(days=days - 1), subject=f"Re: Violins {n}")))
    for n in range(300, 306):
        out.append(("INBOX", build_message(n, sender="news@shop.example", date=NOW - timedelta(days=n - 290),
                                           extra={"List-Id": "<news.shop.example>", "Precedence": "bulk"})))
    return out


def run_engine(connectors: dict[str, Any], state: Path, crash_at: int) -> int:

    hook = SigkillAt(crash_at)
    state.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.open(state / "ledger.sqlite3")
    try:
        Engine(settings(), ledger, connectors, checkpoint=hook).run_cycle(NOW)
    finally:
        for conn in connectors.values():
            close = getattr(conn, "close", None)
            if close:
                close()
        ledger.close()
    return hook.seen


def settle_http(timeout: float = 3.0) -> None:
    """Let a fake HTTP server finish the requests a killed child had already sent."""
    deadline = time.monotonic() + timeout
    time.sleep(0.01)
    while time.monotonic() < deadline:
        if not any("process_request_thread" in t.name for t in threading.enumerate() if t.is_alive()):
            return
        time.sleep(0.01)


# -- the local demo world, through the real CLI entry point --------------------------------------------


class LocalBackend:
    """Maildir + .ics (demo_world.build_world) through ``circleback run --once`` and faults.py's hook."""

    name = "maildir/ics"

    def __init__(self, root: Path) -> None:

        self.world = build_world(root / "world", anchor=DEMO_NOW)
        self.drafts = self.world.maildir / ".Drafts"

    def reset(self) -> None:
        for sub in ("cur", "new", "tmp"):
            folder = self.drafts / sub
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)

    def run_cycle(self, state: Path, crash_at: int) -> int:
        # faults.py's own hook: os._exit(86) at checkpoint N, as CIRCLEBACK_CRASH_AFTER=N does.
        faults.checkpoint.limit, faults.checkpoint.seen = crash_at or 10**9, 0
        main(["--config", str(self.world.config_path), "--state-dir", str(state), "run", "--once",
              "--now", DEMO_NOW.isoformat()], standalone_mode=False)
        return faults.checkpoint.seen

    def draft_keys(self) -> list[str]:
        return [header_key(p.read_bytes()) for sub in ("cur", "new") for p in (self.drafts / sub).iterdir()]

    def settle(self) -> None:
        return None

    def close(self) -> None:
        return None


# -- Gmail and Google Calendar on the fake Google server --------------------------------------------------


class GoogleBackend:
    name = "gmail+google_calendar"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fake: Any = None

    def reset(self) -> None:

        self.close()
        self.fake = FakeGoogle()
        self.fake.start()
        ids: dict[str, str] = {}
        for folder, raw in mailbox():
            labels = ["SENT"] if folder == "Sent" else ["INBOX", "CATEGORY_PERSONAL"]
            if b"List-Id" in raw:
                labels = ["INBOX", "CATEGORY_PROMOTIONS"]
            subject = raw.split(b"Subject: ", 1)[1].split(b"\n", 1)[0].removeprefix(b"Re: ")
            thread = ids.get(subject.decode())
            made = self.fake.add_message(raw, labels, **({"thread_id": thread} if thread else {}))
            ids.setdefault(subject.decode(), made.id)
        for n, (who, days) in enumerate((("Ann", 150), ("Ben", 160), (RECENT, 2))):
            start = NOW - timedelta(days=days)
            stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
            end = (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.fake.put_event({
                "id": f"ev{n}", "iCalUID": f"ev{n}@google.com", "status": "confirmed", "summary": f"Coffee {who}",
                "start": {"dateTime": stamp}, "end": {"dateTime": end},
                "organizer": {"email": address(who), "displayName": who},
                "attendees": [{"email": address(who), "displayName": who, "organizer": True,
                               "responseStatus": "accepted"},
                              {"email": ME, "self": True, "responseStatus": "accepted"}],
            })
        info = {"refresh_token": "rt-good", "client_id": "cid.apps.googleusercontent.com", "client_secret": "cs"}
        write_private(self.root / "tokens" / "google.json", json.dumps(info).encode())

    def _account(self, cls: Any, name: str) -> Any:
        return cls.model_validate({
            "name": name, "client_secrets": str(self.root / "client_secret.json"),
            "token_path": str(self.root / "tokens" / "google.json"),
            "api_endpoint": self.fake.url, "token_uri": self.fake.token_uri,
        })

    def run_cycle(self, state: Path, crash_at: int) -> int:
        connectors = {
            "g": GmailConnector(self._account(GmailAccount, "g"), context()),
            "cal": GoogleCalendarConnector(self._account(GoogleCalendarAccount, "cal"), context()),
        }
        return run_engine(connectors, state, crash_at)

    def draft_keys(self) -> list[str]:
        return [header_key(self.fake.messages[m].raw) for m in list(self.fake.drafts.values())]

    def settle(self) -> None:
        settle_http()

    def close(self) -> None:
        if self.fake is not None:
            assert self.fake.send_attempts == [], self.fake.send_attempts
            self.fake.stop()
            self.fake = None


# -- Outlook on the fake Graph server ------------------------------------------------------------------


class GraphBackend:
    name = "outlook"

    def __init__(self, root: Path) -> None:
        self.fake: Any = None

    def reset(self) -> None:
        self.close()
        self.fake = FakeGraph().start()
        for folder, raw in mailbox():
            self.fake.add_message(raw, folder)

    def run_cycle(self, state: Path, crash_at: int) -> int:

        account = OutlookAccount(name="work", client_id="00000000-0000-0000-0000-0000000000aa",
                                 graph_endpoint=self.fake.endpoint)
        conn = OutlookConnector(account, context(), tokens=StaticToken(TOKEN))
        return run_engine({"work": conn}, state, crash_at)

    def draft_keys(self) -> list[str]:
        return [key for d in self.fake.drafts() if (key := self.fake.draft_key(d))]

    def settle(self) -> None:
        settle_http()

    def close(self) -> None:
        if self.fake is not None:
            assert not [p for p in self.fake.paths() if "send" in p.lower()]
            self.fake.stop()
            self.fake = None


# -- IMAP on a real Dovecot ----------------------------------------------------------------------------


class DovecotBackend:
    name = "imap (Dovecot)"
    _users = itertools.count(1)

    def __init__(self, root: Path, server: Any) -> None:
        self.server = server
        self.user = ""
        self.password = ""

    def _client(self) -> Any:

        client = IMAPClient(self.server.host, self.server.port, ssl=False, timeout=20)
        client.login(self.user, self.password)
        return client

    def reset(self) -> None:
        self.user = f"chaos{os.getpid()}-{next(self._users)}@example.org"
        self.password = self.server.add_user(self.user)
        os.environ[IMAP_PASSWORD_ENV] = self.password  # read by the forked children
        client = self._client()
        try:
            for folder, raw in mailbox():
                when = datetime.strptime(raw.split(b"Date: ", 1)[1].split(b"\n", 1)[0].decode().strip(),
                                         "%a, %d %b %Y %H:%M:%S %z")
                client.append(folder, raw, msg_time=when)
        finally:
            client.logout()

    def run_cycle(self, state: Path, crash_at: int) -> int:
        account = ImapAccount(name="mail", kind="imap", host=self.server.host, port=self.server.port,
                              security="none", username=self.user, password_env=IMAP_PASSWORD_ENV, timeout=20)
        return run_engine({"mail": ImapConnector(account, context())}, state, crash_at)

    def draft_keys(self) -> list[str]:
        client = self._client()
        try:
            client.select_folder("Drafts", readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (X-CIRCLEBACK-KEY)]"]) if uids else {}
            return [header_key(data[b"BODY[HEADER.FIELDS (X-CIRCLEBACK-KEY)]"]) for data in fetched.values()]
        finally:
            client.logout()

    def settle(self) -> None:
        time.sleep(0.1)  # an APPEND whose literal was fully sent still completes after the client died

    def close(self) -> None:
        os.environ.pop(IMAP_PASSWORD_ENV, None)


# -- CalDAV on a real Radicale, drafts in a local Maildir ------------------------------------------------


def _ics(uid: str, start: datetime, who: str, extra: str = "") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//circleback chaos//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
            f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}\r\n{extra}SUMMARY:Coffee {who}\r\n"
            f"ORGANIZER;CN={who}:mailto:{address(who)}\r\n"
            f"ATTENDEE;CN={who};PARTSTAT=ACCEPTED:mailto:{address(who)}\r\n"
            f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


class CalDavBackend:
    """Meetings on Radicale (one fresh principal per round), mail and the draft box in a local Maildir:
    the engine syncs both, and the drafts that the meetings shape land in the Maildir's Drafts."""

    name = "caldav (Radicale) + maildir"
    _users = itertools.count(1)

    def __init__(self, root: Path, server: Any) -> None:
        self.root = root
        self.server = server
        self.user = ""
        self.maildir = root / "caldav-mail"
        os.environ[CALDAV_PASSWORD_ENV] = "unchecked"  # auth = none; the account still names a source

    def reset(self) -> None:
        self.user = f"chaos{os.getpid()}-{next(self._users)}"
        shutil.rmtree(self.maildir, ignore_errors=True)
        box = Maildir(self.maildir, create=True)
        sent = box.add_folder("Sent")
        box.add_folder("Drafts")
        for folder, raw in mailbox():
            (sent if folder == "Sent" else box).add(raw)
        client = caldav.DAVClient(url=self.server.url, username=self.user, password="unchecked")  # noqa: S106
        cal = client.principal().make_calendar(name="Work")
        for n, (who, days) in enumerate((("Ann", 150), ("Ben", 160), (RECENT, 2))):
            cal.save_event(_ics(f"ev{n}", NOW - timedelta(days=days), who))
        # A series, so the cycle expands recurrences too: monthly with Cleo, ended long ago.
        cal.save_event(_ics("series", NOW - timedelta(days=500), "Cleo", "RRULE:FREQ=MONTHLY;COUNT=6\r\n"))
        client.close()

    def run_cycle(self, state: Path, crash_at: int) -> int:
        mail = MaildirConnector(MaildirAccount(name="mail", kind="maildir", path=str(self.maildir)), context())
        account = CalDavAccount(name="cal", url=self.server.url, username=self.user, password_env=CALDAV_PASSWORD_ENV)
        return run_engine({"mail": mail, "cal": CalDavConnector(account, context())}, state, crash_at)

    def draft_keys(self) -> list[str]:
        drafts = self.maildir / ".Drafts"
        return [header_key(p.read_bytes()) for sub in ("cur", "new") for p in (drafts / sub).iterdir()]

    def settle(self) -> None:
        return None  # the cycle only reads from Radicale; the Maildir's writes are local renames

    def close(self) -> None:
        os.environ.pop(CALDAV_PASSWORD_ENV, None)
