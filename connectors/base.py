"""The connector interface: records, roles and the never-send guard, in one place.

A connector is a small class registered by ``kind`` (see ``registry.py``). It
offers some of three roles:

* :class:`MailSource` - ``sync(cursor) -> SyncResult[MailRecord]``
* :class:`CalendarSource` - ``sync(cursor) -> SyncResult[EventRecord]``
* :class:`DraftBox` - ``create_draft``, ``list_drafts``, ``get_draft``

and may have capabilities beyond its roles, each a protocol too: :class:`DraftDeleter`
(``delete_draft``) and :class:`DraftChangeCheck` (``draft_unchanged``). Callers ask
``isinstance(conn, MailSource)``, never ``hasattr``.

Records carry headers only, never bodies.  Cursors are opaque JSON-able dicts
that the ledger stores per account and role; a connector must accept ``None``
(first sync) and any cursor it produced itself.

There is no send method anywhere, and :func:`refuse_send` is the one guard the
HTTP-based connectors route every request through.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from functools import partial
from itertools import repeat
from operator import call
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from .errors import SendRefused

if TYPE_CHECKING:  # the models import pydantic; a connector module needs only the name
    from .accounts import Account

Cursor = dict[str, Any]


class Direction(StrEnum):
    SENT = "sent"  # written by the user (From is one of my addresses, or found in Sent)
    RECEIVED = "received"


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: a lower-cased address and the display name as written."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class MailRecord:
    """What circleback keeps of one message: its headers, never its body."""

    source_id: str  # stable within the account: Message-ID if present, else a provider id
    timestamp: datetime  # aware, UTC; the provider's internal date where it has one
    direction: Direction
    sender: Address | None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    subject: str = ""
    message_id: str = ""  # without angle brackets
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    thread_id: str = ""  # provider thread id, or derived from References
    folder: str = ""
    # Noise signals, reported as found; the daemon decides what counts.
    list_id: str = ""
    precedence: str = ""
    auto_submitted: str = ""
    category: str = ""  # provider category (Gmail promotions, social, updates, forums)
    is_draft: bool = False
    circleback_key: str = ""  # our X-Circleback-Key, when a draft of ours was sent
    list_unsubscribe: str = ""  # RFC 2369 List-Unsubscribe: a newsletter or a campaign, not a person's mail


# A frozen dataclass's __init__ sets each field through object.__setattr__, about a
# tenth of a microsecond each: 1.9 us for a MailRecord, a tenth of reading one off
# IMAP.  Its slots' own descriptors set them in 1.35 us, and called by map() rather
# than a Python loop in 1.05 us (tests/connectors/test_base.py holds the result
# equal to MailRecord(...)).
_MAIL_RECORD_SLOTS = tuple(MailRecord.__dict__[f.name].__set__ for f in fields(MailRecord))
_RUN_THROUGH = partial(deque, maxlen=0)  # runs an iterator to its end, keeping nothing


def new_mail_record(
    *values: Any,
    _new: Any = object.__new__,
    _slots: Any = _MAIL_RECORD_SLOTS,
    _run_through: Any = _RUN_THROUGH,
) -> MailRecord:
    """``MailRecord(*values)`` for a reader's hot loop: every field, positional, in field order."""
    if len(values) != len(_slots):
        raise TypeError(f"new_mail_record takes {len(_slots)} values, not {len(values)}")
    record = _new(MailRecord)
    _run_through(map(call, _slots, repeat(record), values))  # set_slot(record, value) for each field
    return record


class ResponseStatus(StrEnum):
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    NEEDS_ACTION = "needs-action"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    name: str = ""
    status: ResponseStatus = ResponseStatus.UNKNOWN
    is_organizer: bool = False
    is_resource: bool = False  # rooms and equipment never count as people


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One occurrence of a calendar event (recurrences are expanded)."""

    source_id: str  # uid plus the occurrence's start for recurring events
    uid: str
    start: datetime  # aware, UTC
    end: datetime
    title: str = ""
    organizer: str = ""
    attendees: tuple[Attendee, ...] = ()
    cancelled: bool = False  # a cancelled or removed event: drop what we knew of it
    my_status: ResponseStatus = ResponseStatus.UNKNOWN
    all_day: bool = False


@dataclass(frozen=True, slots=True)
class DraftRef:
    """Where a draft lives in a DraftBox, and the outbox key it carries."""

    account: str
    ref: str  # provider id: file name, draft id, UID
    key: str = ""  # our X-Circleback-Key, "" for drafts that are not ours


@dataclass(slots=True)
class Skip:
    """One input a connector could not use, said in one line."""

    where: str
    why: str


R = TypeVar("R")


@dataclass(slots=True)
class SyncResult(Generic[R]):
    records: list[R]
    cursor: Cursor
    skipped: list[Skip] = field(default_factory=list)
    # A full resync: for a calendar the ledger forgets what the account knew before (e.g.
    # its sync token expired) and takes these records instead; for mail it adds them, since
    # mail that was exchanged stays contact even once deleted (docs/DESIGN.md).
    full: bool = False


@runtime_checkable
class MailSource(Protocol):
    def sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]: ...


@runtime_checkable
class CalendarSource(Protocol):
    def sync_events(self, cursor: Cursor | None) -> SyncResult[EventRecord]: ...


@runtime_checkable
class DraftBox(Protocol):
    def create_draft(self, message: bytes, key: str, reply_to: str | None = None) -> DraftRef:
        """Store ``message`` (RFC 5322 bytes carrying ``X-Circleback-Key: key``) as a draft."""
        ...

    def list_drafts(self) -> list[DraftRef]:
        """Every draft in the Drafts folder, with our key where it carries one."""
        ...

    def get_draft(self, ref: DraftRef) -> bytes | None:
        """The draft's RFC 5322 bytes, or None if it is gone."""
        ...


@runtime_checkable
class DraftDeleter(Protocol):
    """A capability only some draft boxes have: lifecycle's ``withdraw_stale`` needs it."""

    def delete_draft(self, ref: DraftRef) -> bool:
        """Remove the draft; False if it was gone already."""
        ...


@runtime_checkable
class DraftChangeCheck(Protocol):
    """A capability of draft boxes that read drafts back as headers only (Gmail under
    ``gmail.metadata``): ``get_draft`` cannot give the bytes to compare, so the box says itself
    whether the draft still is what was written."""

    def draft_unchanged(self, ref: DraftRef, message: bytes) -> bool | None:
        """True if the draft is still ``message`` as written, False if the user changed it, None if gone."""
        ...


MAIL, CALENDAR, DRAFTS = "mail", "calendar", "drafts"
# A role's name (registry.py's table, Connector.roles) and the protocol that plays it.
ROLES: dict[str, type] = {MAIL: MailSource, CALENDAR: CalendarSource, DRAFTS: DraftBox}


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What every connector may know besides its own account config."""

    my_addresses: frozenset[str] = frozenset()  # lower-cased; decides Direction
    lookback_days: float = 3 * 365  # a first sync reads this far back
    lookahead_days: float = 60  # calendars are read this far ahead
    timezone: str = "UTC"  # the user's IANA zone: floating times and all-day dates
    now: datetime | None = None  # tests pin the clock; None means the real one
    state_dir: Path | None = None  # tokens live in <state_dir>/tokens; None: the user's default state dir

    def current_time(self) -> datetime:
        from datetime import UTC

        return self.now or datetime.now(UTC)


class Connector:
    """Base class; subclasses implement their roles.

    Constructed as ``Cls(config, context)``: ``config`` is the account's
    pydantic model from ``accounts.py`` (it has ``name`` and ``kind``).
    """

    kind: ClassVar[str] = ""

    def __init__(self, config: Account, context: ConnectorContext | None = None) -> None:
        self.config = config
        self.account: str = config.name
        self.context = context or ConnectorContext()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""

    @classmethod
    def roles(cls) -> frozenset[str]:
        """The roles this class plays, found by the protocols it implements."""
        return frozenset(name for name, protocol in ROLES.items() if issubclass(cls, protocol))


# Any path that sends mail on Gmail, Graph or EWS-like APIs.  Checked against the
# path of every outgoing HTTP request by the shared HTTP layer.  Graph's /reply,
# /replyAll and /forward actions send at once (only createReply* and
# createForward make drafts), so they are refused too.
_SEND_PATH = re.compile(r"(?i)(/send(mail)?\b|:send\b|/messages/send|/drafts/send|/(reply|replyall|forward)/?$)")


def refuse_send(method: str, url: str) -> None:
    """Raise SendRefused if ``url`` is a send endpoint; circleback never sends."""
    path = url.split("?", 1)[0]
    if _SEND_PATH.search(path):
        raise SendRefused(f"refused {method} {path}: circleback never sends mail")


def addresses_in(records: Iterable[MailRecord]) -> set[str]:
    """Every address that appears in ``records`` (handy in tests and imports)."""
    seen: set[str] = set()
    for r in records:
        if r.sender:
            seen.add(r.sender.email)
        seen.update(a.email for a in (*r.to, *r.cc))
    return seen
