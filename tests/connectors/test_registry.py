"""The table of kinds (connectors/registry.py): it agrees with the config and the classes, and
every kind passes the contract of every role it declares (tests/contract.py).

The contracts are parametrized from the table itself, so a new kind runs through them as soon as
it is registered: it needs a backend below (an adapter that puts messages or events where its
connector will find them) or its contract tests fail. Remote kinds run against real local
servers (Dovecot, Radicale) or the HTTP fakes (fake_google.py, fake_graph.py), so the real
client libraries run.
"""

from __future__ import annotations

import ast
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import icalendar
import pytest
import recurring_ical_events

from circleback.connectors.accounts import (
    AccountConfig,
    CalDavAccount,
    GmailAccount,
    GoogleCalendarAccount,
    IcsAccount,
    ImapAccount,
    MaildirAccount,
    MboxAccount,
    OutlookAccount,
)
from circleback.connectors.base import CALENDAR, DRAFTS, MAIL, ROLES, Connector, DraftDeleter
from circleback.connectors.registry import ACCOUNT_KINDS, KINDS, connector_class, open_connector
from circleback.connectors.tokens import write_private
from circleback.daemon.config import ACCOUNT_KINDS as CONFIG_KINDS
from tests.support import ROOT
from tests.support.contract import CONTEXT, ME, CalendarSourceContract, DraftBoxContract, MailSourceContract
from tests.support.fake_google import FakeGoogle
from tests.support.fake_graph import TOKEN, FakeGraph
from tests.support.imap import header_date
from tests.support.mailfixtures import append_mbox, deliver, make_maildir

# --- the table agrees with the config and the classes ---------------------------------------------


def test_the_table_the_config_union_and_the_connector_classes_agree() -> None:
    union = get_args(get_args(AccountConfig)[0])  # Annotated[A | B | ..., Field(discriminator="kind")]
    assert list(union) == [kind.account for kind in KINDS.values()]  # same models, in the same order
    assert ACCOUNT_KINDS == CONFIG_KINDS == tuple(KINDS)
    for name, kind in KINDS.items():
        assert kind.name == name
        assert get_args(kind.account.model_fields["kind"].annotation) == (name,), name
        cls = connector_class(name)
        assert issubclass(cls, Connector) and cls.kind == name
        assert cls.roles() == kind.roles, f"{name}: the table says {sorted(kind.roles)}"
        assert kind.roles and kind.roles <= set(ROLES)
        assert kind.provider in ("", "google", "microsoft"), name
        assert DRAFTS in kind.roles or not issubclass(cls, DraftDeleter), f"{name} deletes drafts it cannot hold"


def test_an_unknown_kind_is_named_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no connector of kind 'pop3'; known: caldav, gmail"):
        connector_class("pop3")


def test_open_connector_builds_the_registered_class(tmp_path: Path) -> None:
    conn = open_connector(MboxAccount(name="a", kind="mbox", path=str(tmp_path)), CONTEXT)
    assert type(conn) is connector_class("mbox") and conn.account == "a"


def test_connectors_never_import_the_daemon() -> None:
    found = []
    for path in sorted((ROOT / "connectors").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if "daemon" in n.split(".")]
    assert found == []


# --- backends: where each kind's connector finds what the contracts put there ----------------------


@dataclass
class MaildirBackend:
    root: Path
    layout: str  # "maildir++" (.Sent) or "nested" (Sent/cur, mbsync SubFolders Verbatim)
    connector: Connector

    def add_message(self, raw: bytes, folder: str = "INBOX") -> None:
        if folder == "INBOX":
            where = self.root
        else:
            where = self.root / ("." + folder.replace("/", ".") if self.layout == "maildir++" else folder)
        deliver(where, raw)


@dataclass
class MboxBackend:
    root: Path
    connector: Connector

    def add_message(self, raw: bytes, folder: str = "INBOX") -> None:
        append_mbox(self.root / folder, raw)


@dataclass
class IcsBackend:
    root: Path
    connector: Connector

    def add_event(self, uid: str, text: str) -> None:
        (self.root / f"{uid}.ics").write_text(text, encoding="utf-8")

    def remove_event(self, uid: str) -> None:
        (self.root / f"{uid}.ics").unlink()


@dataclass
class ImapBackend:
    seed: Any  # an IMAPClient logged in straight to Dovecot
    connector: Connector

    def add_message(self, raw: bytes, folder: str = "INBOX") -> None:
        if not self.seed.folder_exists(folder):
            self.seed.create_folder(folder)
        self.seed.append(folder, raw, msg_time=header_date(raw))  # INTERNALDATE as a delivery sets it


@dataclass
class CalDavBackend:
    calendar: Any  # the caldav library's Calendar, straight to Radicale
    connector: Connector

    def add_event(self, uid: str, text: str) -> None:
        self.calendar.save_event(text)

    def remove_event(self, uid: str) -> None:
        self.calendar.event_by_uid(uid).delete()


@dataclass
class Occurrence:
    """One occurrence of the contract's VEVENT, as a server that expands recurrences serves it."""

    uid: str
    start: datetime
    end: datetime
    title: str
    organizer: tuple[str, str]  # (address, name)
    attendees: list[tuple[str, str, str]]  # (address, name, PARTSTAT)
    recurring: bool


def occurrences(text: str) -> list[Occurrence]:
    calendar = icalendar.Calendar.from_ical(text)
    (master,) = calendar.walk("VEVENT")
    recurring = "RRULE" in master
    found = []
    for event in recurring_ical_events.of(calendar).all():
        organizer = event["ORGANIZER"]
        found.append(Occurrence(
            uid=str(event["UID"]),
            start=event.decoded("DTSTART").astimezone(UTC),
            end=event.decoded("DTEND").astimezone(UTC),
            title=str(event.get("SUMMARY", "")),
            organizer=(_address(organizer), str(organizer.params.get("CN", ""))),
            attendees=[(_address(a), str(a.params.get("CN", "")), str(a.params.get("PARTSTAT", "NEEDS-ACTION")))
                       for a in _as_list(event.get("ATTENDEE"))],
            recurring=recurring,
        ))
    return found


def _address(value: Any) -> str:
    return str(value).removeprefix("mailto:").lower()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


_GOOGLE_STATUS = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}


@dataclass
class GoogleBackend:
    fake: FakeGoogle
    connector: Connector
    events: dict[str, list[str]] = field(default_factory=dict)  # uid -> event ids

    def add_message(self, raw: bytes, folder: str = "INBOX") -> None:
        self.fake.add_message(raw, ("SENT",) if folder == "Sent" else ("INBOX", "CATEGORY_PERSONAL"))

    def add_event(self, uid: str, text: str) -> None:
        for o in occurrences(text):
            # singleEvents=true: each occurrence is its own event, id "<series id>_<start>".
            event_id = f"{uid}_{o.start:%Y%m%dT%H%M%SZ}" if o.recurring else uid
            self.fake.put_event({
                "id": event_id, "iCalUID": o.uid, "status": "confirmed", "summary": o.title,
                "start": {"dateTime": _stamp(o.start)}, "end": {"dateTime": _stamp(o.end)},
                "organizer": {"email": o.organizer[0], "displayName": o.organizer[1], "self": o.organizer[0] == ME},
                "attendees": [{"email": a, "displayName": n, "self": a == ME, "organizer": a == o.organizer[0],
                               "responseStatus": _GOOGLE_STATUS.get(s, "needsAction")} for a, n, s in o.attendees],
                **({"recurringEventId": uid} if o.recurring else {}),
            })
            self.events.setdefault(uid, []).append(event_id)

    def remove_event(self, uid: str) -> None:
        for event_id in self.events.pop(uid):
            self.fake.cancel_event(event_id)


_GRAPH_RESPONSE = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentativelyAccepted"}


@dataclass
class GraphBackend:
    fake: FakeGraph
    connector: Connector
    events: dict[str, list[str]] = field(default_factory=dict)  # uid -> Graph ids

    def add_message(self, raw: bytes, folder: str = "INBOX") -> None:
        self.fake.add_message(raw, folder)

    def add_event(self, uid: str, text: str) -> None:
        for o in occurrences(text):
            mine = o.organizer[0] == ME
            graph_id = self.fake.add_event({
                "iCalUId": o.uid, "subject": o.title, "type": "occurrence" if o.recurring else "singleInstance",
                "start": {"dateTime": _graph_time(o.start), "timeZone": "UTC"},
                "end": {"dateTime": _graph_time(o.end), "timeZone": "UTC"},
                "isAllDay": False, "isCancelled": False, "isOrganizer": mine,
                "responseStatus": {"response": "organizer" if mine else "none"},
                "organizer": {"emailAddress": {"address": o.organizer[0], "name": o.organizer[1]}},
                "attendees": [{"emailAddress": {"address": a, "name": n}, "type": "required",
                               "status": {"response": _GRAPH_RESPONSE.get(s, "notResponded")}}
                              for a, n, s in o.attendees],
            })
            self.events.setdefault(uid, []).append(graph_id)

    def remove_event(self, uid: str) -> None:
        for graph_id in self.events.pop(uid):
            self.fake.remove(graph_id)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _graph_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000")


# --- the servers behind them ---------------------------------------------------------------------


@pytest.fixture
def fake_graph() -> Iterator[FakeGraph]:
    graph = FakeGraph().start()
    yield graph
    graph.stop()


# --- one builder per kind: (request, variant) -> backend ------------------------------------------

_imap_users = itertools.count(1)
IMAP_PASSWORD_ENV = "CIRCLEBACK_TEST_REGISTRY_IMAP_PASSWORD"  # noqa: S105 - the variable's name


def _maildir(request: pytest.FixtureRequest, layout: str) -> MaildirBackend:
    root = make_maildir(request.getfixturevalue("tmp_path") / "Mail")
    make_maildir(root / (".Sent" if layout == "maildir++" else "Sent"))
    account = MaildirAccount(name="local", kind="maildir", path=str(root))
    return MaildirBackend(root, layout, connector_class("maildir")(account, CONTEXT))


def _mbox(request: pytest.FixtureRequest, variant: str) -> MboxBackend:
    root: Path = request.getfixturevalue("tmp_path")
    account = MboxAccount(name="archive", kind="mbox", path=str(root))
    return MboxBackend(root, connector_class("mbox")(account, CONTEXT))


def _ics(request: pytest.FixtureRequest, variant: str) -> IcsBackend:
    root = request.getfixturevalue("tmp_path") / "calendar"
    root.mkdir()
    account = IcsAccount(name="cal", kind="ics", path=str(root))
    return IcsBackend(root, connector_class("ics")(account, CONTEXT))


def _imap(request: pytest.FixtureRequest, variant: str) -> ImapBackend:
    from imapclient import IMAPClient
    from tenacity import wait_none

    server = request.getfixturevalue("dovecot")
    user = f"registry{next(_imap_users)}@example.org"
    password = server.add_user(user)
    request.getfixturevalue("monkeypatch").setenv(IMAP_PASSWORD_ENV, password)
    account = ImapAccount(name="mail", kind="imap", host=server.host, port=server.port, security="none",
                          username=user, password_env=IMAP_PASSWORD_ENV, timeout=10)
    conn = connector_class("imap")(account, CONTEXT)
    conn.backoff = wait_none()  # type: ignore[attr-defined] - no waiting between retries here
    seed = IMAPClient(server.host, server.port, ssl=False)
    seed.login(user, password)
    request.addfinalizer(seed.logout)
    request.addfinalizer(conn.close)
    return ImapBackend(seed, conn)


def _caldav(request: pytest.FixtureRequest, variant: str) -> CalDavBackend:
    import caldav

    url = request.getfixturevalue("radicale").url
    request.getfixturevalue("monkeypatch").setenv("CB_TEST_CALDAV_PASSWORD", "not-checked")
    # Radicale with `auth = none` still wants a user name to find the principal.
    client = caldav.DAVClient(url=url, username="alice", password="x")  # noqa: S106
    calendar = client.principal().make_calendar(name="Contract")
    account = CalDavAccount(name="dav", url=url, calendars=["Contract"], username="alice",
                            password_env="CB_TEST_CALDAV_PASSWORD")
    return CalDavBackend(calendar, connector_class("caldav")(account, CONTEXT))


def _google(kind: str) -> Callable[[pytest.FixtureRequest, str], GoogleBackend]:
    def build(request: pytest.FixtureRequest, variant: str) -> GoogleBackend:
        from circleback.connectors.google.auth import RetryPolicy

        fake: FakeGoogle = request.getfixturevalue("fake_google")
        tmp_path: Path = request.getfixturevalue("tmp_path")
        token = tmp_path / "tokens" / f"google-{kind}.json"
        info = {"refresh_token": "rt-good", "client_id": "cid.apps.googleusercontent.com", "client_secret": "cs"}
        write_private(token, json.dumps(info).encode())
        model = GmailAccount if kind == "gmail" else GoogleCalendarAccount
        account = model(name="g", client_secrets=str(tmp_path / "client_secret.json"), token_path=str(token),
                        api_endpoint=fake.url, token_uri=fake.token_uri)
        cls = connector_class(kind)
        request.getfixturevalue("monkeypatch").setattr(cls, "retry_policy", RetryPolicy(4, 0.01, 0.05))
        conn = cls(account, CONTEXT, sleep=lambda seconds: None)  # type: ignore[call-arg]
        request.addfinalizer(conn.close)
        return GoogleBackend(fake, conn)

    return build


def _outlook(request: pytest.FixtureRequest, variant: str) -> GraphBackend:
    from circleback.connectors.microsoft.outlook import StaticToken

    fake: FakeGraph = request.getfixturevalue("fake_graph")
    account = OutlookAccount(name="work", client_id="00000000-0000-0000-0000-0000000000aa",
                             graph_endpoint=fake.endpoint)
    cls = connector_class("outlook")
    conn = cls(account, CONTEXT, tokens=StaticToken(TOKEN), sleep=lambda seconds: None)  # type: ignore[call-arg]
    request.addfinalizer(conn.close)
    return GraphBackend(fake, conn)


BUILDERS: dict[str, Callable[[pytest.FixtureRequest, str], Any]] = {
    "maildir": _maildir,
    "mbox": _mbox,
    "ics": _ics,
    "imap": _imap,
    "caldav": _caldav,
    "outlook": _outlook,
    "gmail": _google("gmail"),
    "google_calendar": _google("google_calendar"),
}
VARIANTS = {"maildir": ("maildir++", "nested")}  # both folder layouts
NEEDS_SERVER = {"imap", "caldav"}  # a real Dovecot or Radicale: see tests/servers.py


def cases(role: str) -> list[Any]:
    """One parameter per registered kind that plays ``role`` (and per variant of its backend)."""
    return [
        pytest.param((name, variant), id=f"{name}-{variant}" if variant else name,
                     marks=[pytest.mark.needs_server] if name in NEEDS_SERVER else [])
        for name, kind in KINDS.items() if role in kind.roles
        for variant in VARIANTS.get(name, ("",))
    ]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Any:
    name, variant = request.param
    return BUILDERS[name](request, variant)


def test_every_kind_has_a_backend_for_its_contracts() -> None:
    assert set(BUILDERS) == set(KINDS)


# --- the contracts, over every kind that plays the role --------------------------------------------


@pytest.mark.parametrize("backend", cases(MAIL), indirect=True)
class TestMailSources(MailSourceContract):
    pass


@pytest.mark.parametrize("backend", cases(DRAFTS), indirect=True)
class TestDraftBoxes(DraftBoxContract):
    pass


@pytest.mark.parametrize("backend", cases(CALENDAR), indirect=True)
class TestCalendarSources(CalendarSourceContract):
    pass
