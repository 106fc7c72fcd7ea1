"""What counts as being in touch, and what the ledger knows of each person.

DESIGN.md, "What counts as being in touch": mail sent by me to the person
(To/Cc), mail received from them with me in To/Cc, or a past meeting both
attended (not cancelled, neither declined, at most ``max_meeting_size``
attendees). Mailing lists, bulk and auto-submitted mail, no-reply senders,
oversized threads and meetings, and my own addresses never count.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from circleback.connectors.base import (
    Direction,
    EventRecord,
    MailRecord,
    ResponseStatus,
    SyncResult,
)

from .config import Filters, Person, Settings, StrongHistory
from .ledger import Interaction, Ledger, iso

# Local parts that announce a machine, not a person.
_NOREPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|mailer-daemon|postmaster|bounces?|"
    r"notifications?|notify|alerts?|newsletter|news|info|support|billing|marketing|"
    r"calendar-notification|automated|daemon)([-+_.].*)?$",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_PROVIDER_NOISE = {"promotions", "social", "updates", "forums", "other"}


def is_machine_address(address: str) -> bool:
    local = address.split("@", 1)[0]
    return bool(_NOREPLY.match(local))


# Where a numeric mailbox is a person's own account (a QQ number, a phone number at
# NetEase or China Mobile), not a pager or SMS gateway like 9099632747@airmessage.net.
_NUMERIC_MAILBOX_DOMAINS = frozenset({"qq.com", "vip.qq.com", "foxmail.com", "163.com", "126.com", "139.com"})


def is_role_address(address: str) -> bool:
    """A shared, list, pager or help-desk mailbox rather than one person's.

    True when a word of the local part (split on "." "_" "-") names a role
    ("shift.dl-portland", "portland.shift", "help", "test.volume"), or the local part
    has no letter (a pager). A "+tag" is left out: "anna+alerts" is still Anna.
    """
    local, _, domain = address.lower().partition("@")
    words = _ADDRESS_WORD_SEPARATORS.split(local.partition("+")[0])
    if not any(c.isalpha() for c in local):
        return domain not in _NUMERIC_MAILBOX_DOMAINS
    return _names_a_role(words)


@dataclass(slots=True)
class Identity:
    """Who I am and whom to ignore, resolved once per cycle from settings."""

    mine: frozenset[str]
    filters: Filters
    configured: frozenset[str] = frozenset()  # [[people]] addresses: always people
    ignore_domains: frozenset[str] = field(init=False)
    ignore_addresses: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.ignore_domains = frozenset(d.lower().lstrip("@") for d in self.filters.ignore_domains)
        self.ignore_addresses = frozenset(a.lower() for a in self.filters.ignore_addresses)

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity:
        configured = frozenset(e for p in settings.people for e in p.emails)
        return cls(frozenset(settings.me.addresses), settings.filters, configured)

    def is_me(self, address: str) -> bool:
        return address in self.mine

    def is_person(self, address: str) -> bool:
        """Someone to keep in touch with: not me, not ignored, and not a machine or role
        mailbox, unless the user named the address under [[people]]."""
        if address in self.mine or address in self.ignore_addresses:
            return False
        domain = address.rsplit("@", 1)[-1]
        if domain in self.ignore_domains or any(domain.endswith("." + d) for d in self.ignore_domains):
            return False
        if address in self.configured:
            return True
        return not is_machine_address(address) and not is_role_address(address)


def mail_noise(record: MailRecord) -> str:
    """Why this message is not personal correspondence, or "" if it may count."""
    if record.is_draft:
        return "draft"
    if record.list_id:
        return "mailing list"
    if record.precedence.strip().lower() in _BULK_PRECEDENCE:
        return f"precedence {record.precedence.strip().lower()}"
    if record.auto_submitted and record.auto_submitted.strip().lower() != "no":
        return "auto-submitted"
    if record.direction is Direction.RECEIVED and record.category.lower() in _PROVIDER_NOISE:
        return f"category {record.category.lower()}"
    return ""


def mail_counterparts(record: MailRecord, who: Identity) -> tuple[str, list[tuple[str, str]]]:
    """(channel, [(address, name)]) that this message puts me in touch with, or a reason."""
    noise = mail_noise(record)
    if noise:
        return noise, []
    recipients = [*record.to, *record.cc]
    participants = {a.email for a in recipients} | ({record.sender.email} if record.sender else set())
    if len(participants - who.mine) > who.filters.max_thread_size:
        return "too many participants", []
    if record.direction is Direction.SENT:
        people = [(a.email, a.name) for a in recipients if who.is_person(a.email)]
        return "sent", people
    sender = record.sender
    if sender is None or not who.is_person(sender.email):
        return "machine or own sender", []
    if who.mine and not any(a.email in who.mine for a in recipients):
        return "not addressed to me", []  # Bcc'd, a list alias, or forwarded copies
    return "received", [(sender.email, sender.name)]


def meeting_counterparts(record: EventRecord, who: Identity) -> list[tuple[str, str]]:
    """People I met in this meeting; empty if it does not count."""
    if record.cancelled or record.my_status is ResponseStatus.DECLINED:
        return []
    humans = [a for a in record.attendees if not a.is_resource]
    if len({a.email for a in humans}) > who.filters.max_meeting_size:
        return []
    if who.mine and not any(a.email in who.mine for a in humans):
        return []  # someone else's calendar entry, shared with me
    return [
        (a.email, a.name)
        for a in humans
        if a.status is not ResponseStatus.DECLINED and who.is_person(a.email)
    ]


_HONORIFICS = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof", "sir", "dame", "rev"})
_NAME_WORD = re.compile(r"[^\W\d_]{2,}(?:-[^\W\d_]{2,})*")  # letters only, two or more; "anna-lena"
_LOCAL_PART = re.compile(r"\w[._]\w")  # "Jo.Park": a local part shown as a display name
# Words that name a role, a team or a company, never a person: "The Acme Team", "hr.dept@",
# "Acme Support", "Acme, Inc." give no first name, and the greeting falls back to "Hi,".
_ROLE_WORDS = frozenset({
    "the", "team", "hr", "info", "support", "admin", "sales", "office", "contact", "hello", "noreply",
    "billing", "accounts", "marketing", "jobs", "careers", "press", "news", "dept", "department", "group",
    "crew", "family", "helpdesk", "service", "services", "reception", "recruiting", "enquiries", "inquiries",
    "inc", "ltd", "llc", "gmbh",
    # Shifts, desks, lists, pagers and machines (Enron: "shift.dl-portland", "test.volume").
    "shift", "test", "help", "desk", "ops", "dl", "list", "pager", "alert", "alerts", "notification",
    "notifications", "report", "reports", "system", "mailer", "daemon", "postmaster", "webmaster",
    "hostmaster", "root", "abuse", "reply", "donotreply", "bounce", "bounces",
})
# Role words that are also surnames ("Steve Jobs", "Frank Press", "Friedrich List", "Norman
# Mailer"): they say "not a person" only as a name's first word.
_ROLE_OR_SURNAME = frozenset({"jobs", "press", "sales", "news", "list", "pager", "mailer", "root"})
_ADDRESS_WORD_SEPARATORS = re.compile(r"[._-]")


def _names_a_role(words: list[str]) -> bool:
    keys = [w.strip(".,'\"()").lower() for w in words]
    return bool(keys) and (keys[0] in _ROLE_WORDS or any(k in _ROLE_WORDS - _ROLE_OR_SURNAME for k in keys[1:]))


def _is_initial(word: str) -> bool:
    """ "J", "J." and "J.R." are initials: a greeting "Hi J.," reads like a form letter."""
    return all(len(piece) <= 1 for piece in word.split("."))


_LAST_FIRST = re.compile(r"^\s*([^\W\d_][\w'’ -]*?),\s*([^\W\d_][\w'’. -]*?)\s*$")


def natural_order(name: str) -> str:
    """ "García, José" -> "José García", as address books export it; "Acme, Inc." stays as it is."""
    if "," not in name:
        return name  # most names: no regex (display_name is read ~3 times per person per plan)
    m = _LAST_FIRST.match(name)
    if not m or m.group(2).rstrip(".").lower() in ("inc", "ltd", "llc", "gmbh", "jr", "sr", "phd", "md"):
        return name
    return f"{m.group(2)} {m.group(1)}"


def same_person_key(name: str) -> str:
    """A name as two ledger people may share it: "Shapiro, Richard", "Richard Shapiro" and "richard  shapiro"
    give "richard shapiro". Initials are left out ("Richard B. Shapiro"); a single word gives "" (too
    common to join on)."""
    if "@" in name:
        return ""
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first} {last}"
    words = [w for w in re.findall(r"[^\W\d_]+", name.lower()) if len(w) > 1 and w not in _HONORIFICS]
    return " ".join(words) if len(words) >= 2 else ""


def same_person_marks(name: str, emails: Collection[str]) -> set[str]:
    """Marks that two ledger people who share one are one person at two addresses.

    One name at one domain ("Richard Shapiro" at richard.shapiro@ and rshapiro@enron.com), one
    name with its surname in both local parts ("Sam Lee" at sam.lee@work and slee@home), or one
    long local part at two providers (jmenconi@ at two domains). Two people who only share a
    name ("John Smith" at two companies) are kept apart.
    """
    key = same_person_key(name)
    surname = key.rpartition(" ")[2]
    marks = set()
    for email in emails:
        local, _, domain = email.lower().partition("@")
        local = local.partition("+")[0]
        if key:
            marks.add(f"{key}@{domain}")
            if len(surname) >= 3 and surname in local:
                marks.add(f"{key}~")
        if len(local) >= 7 and local.isalnum() and not is_role_address(email):
            marks.add(f"local:{local}")
    return marks


def looks_like_me(address: str, name: str, my_name: str, my_addresses: Collection[str]) -> bool:
    """An address that is probably one of mine: my name as its display name, or at one of my domains
    a local part made of my name ("kaminski@", "vkaminski@", "vince.kaminski@", "vkamins@")."""
    mine = same_person_key(my_name)
    if mine and same_person_key(name) == mine:
        return True
    words = mine.split()
    if len(words) < 2:
        return False
    first, last = words[0], words[-1]
    local, _, domain = address.lower().partition("@")
    if domain not in {a.lower().rpartition("@")[2] for a in my_addresses}:
        return False
    plain = re.sub(r"[._-]", "", local.partition("+")[0])
    shapes = {last, first + last, first[0] + last, last + first, last + first[0]}
    return plain in shapes or (len(plain) >= 5 and plain.startswith(first[0] + last[:5]) and len(last) >= 5)


def first_name_of(name: str, email: str = "") -> str:
    """The first word of a name ("Dr. Jo Park" -> "Jo", "Park, Jo" -> "Jo", "KIM PARK" -> "Kim").

    Never an initial ("Baker, J.", "J. Park"), nor a role or team ("The Acme Team",
    "Acme Support"). Then the first part of an address shaped like a name ("jo.park@x" ->
    "Jo"), and otherwise "": "jsmith1987@x" is not someone's name, and "Hi," reads
    better than "Hey Jsmith1987,". A name in capitals is title-cased, as is a capitalised
    word of three letters or more ("KIM Park" -> "Kim"); mixed case ("McKenzie",
    "DeShawn") and a short one in a mixed name ("AJ Smith") are kept as written.
    """
    name = name.strip()
    if "@" in name and " " not in name:
        name, email = "", name
    if "," in name:  # "Last, First" as address books export it
        name = name.split(",", 1)[1].strip() or name.split(",", 1)[0]
    words = [w for w in name.split() if w.rstrip(".").lower() not in _HONORIFICS]
    if not words or _names_a_role(words) or _is_initial(words[0]):
        return name_from_address(email)
    first = words[0]
    if len(words) == 1 and _LOCAL_PART.search(first):
        return name_from_address(first)
    return first.title() if first.isupper() and (name.isupper() or len(first) > 2) else first


def name_from_address(email: str) -> str:
    """ "Jo" from "jo.park@x" or "jo_park@x"; "" from "jsmith1987@x", "jsmith@x", "j.park@x" or "hr.dept@x".

    Only a local part of two or more all-letter words separated by "." or "_" is
    read as first.last ("anna-lena.berg" gives "Anna-Lena"): a single word may be an
    initial glued to a surname, and a greeting with the wrong name is worse than none.
    A role or team ("hr.dept", "the.team", "press.office", "shift.dl-portland") is not a
    name either.
    """
    if is_role_address(email):
        return ""
    parts = re.split(r"[._]", email.partition("@")[0].partition("+")[0])
    if len(parts) >= 2 and all(_NAME_WORD.fullmatch(p) for p in parts[:2]) and not _names_a_role(parts[:2]):
        return "-".join(piece.capitalize() for piece in parts[0].split("-"))
    return ""


@dataclass(slots=True)
class IngestCounts:
    records: int = 0
    counted: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    skipped: int = 0


def _people_oldest_first(ledger: Ledger, batch: list[tuple[datetime, list[tuple[str, str]]]]) -> dict[str, int]:
    """The person behind each address of one sync, met in time order, oldest first.

    ``Ledger.person_for_address`` keeps the name it was given last, so this way the
    newest record's display name wins within a sync, whatever order the provider
    listed them in (Gmail lists newest first). The records themselves are still
    written in the provider's order: a calendar may list one event twice.
    """
    person_of: dict[str, int] = {}
    last_seen: dict[str, datetime] = {}
    for at, people in sorted(batch, key=itemgetter(0)):  # stable: equal times keep their order
        for addr, name in people:
            person_of[addr] = ledger.person_for_address(addr, name)
            last_seen[addr] = at
    ledger.address_used(last_seen)
    return person_of


def ingest_mail(ledger: Ledger, account: str, result: SyncResult[MailRecord], who: Identity) -> IngestCounts:
    """Write one mail sync's records and its cursor in one transaction."""
    counts = IngestCounts(records=len(result.records), skipped=len(result.skipped))
    found = [(record, *mail_counterparts(record, who)) for record in result.records]
    with ledger.transaction():
        if result.full:
            ledger.forget_channels(account, ("sent", "received"))
        person_of = _people_oldest_first(ledger, [(record.timestamp, people) for record, _, people in found])
        via: dict[int, tuple[str, datetime]] = {}
        for record, channel, people in found:
            if record.circleback_key and record.direction is Direction.SENT:
                # One of our drafts, sent with our header intact: close its intent.
                ledger.conn.execute(
                    "UPDATE outbox SET state = 'sent', closed_at = ? WHERE key = ? AND state != 'sent'",
                    (iso(record.timestamp), record.circleback_key),
                )
                # Gmail and Graph give a sent draft a new Message-ID: replies thread on that one.
                ledger.conn.execute(
                    "UPDATE outbox SET sent_thread = ? WHERE key = ?",
                    (record.thread_id or record.message_id, record.circleback_key),
                )
            if not people:
                counts.ignored[channel] += 1
                continue
            rows = [
                Interaction(person_of[addr], channel, record.timestamp, record.thread_id, record.subject)
                for addr, _ in people
            ]
            counts.counted += 1
            ledger.add_interactions(account, record.source_id, rows)
            mine = _my_address_in(record, who)
            if mine:
                for r in rows:
                    if r.person_id not in via or via[r.person_id][1] <= record.timestamp:
                        via[r.person_id] = (mine, record.timestamp)
        ledger.my_address_used(via)
        ledger.set_cursor(account, "mail", result.cursor)
    return counts


def _my_address_in(record: MailRecord, who: Identity) -> str:
    """Which of my addresses a message was from (sent) or to (received)."""
    if record.direction is Direction.SENT:
        return record.sender.email if record.sender and record.sender.email in who.mine else ""
    return next((a.email for a in (*record.to, *record.cc) if a.email in who.mine), "")


def ingest_events(ledger: Ledger, account: str, result: SyncResult[EventRecord], who: Identity) -> IngestCounts:
    """Write one calendar sync; an event seen again replaces what we knew of it."""
    counts = IngestCounts(records=len(result.records), skipped=len(result.skipped))
    found = [(record, meeting_counterparts(record, who)) for record in result.records]
    with ledger.transaction():
        if result.full:
            ledger.forget_channels(account, ("met",))
        person_of = _people_oldest_first(ledger, [(record.start, people) for record, people in found])
        via: dict[int, tuple[str, datetime]] = {}
        for record, people in found:
            ledger.forget_source(account, record.source_id)
            if not people:
                counts.ignored["cancelled" if record.cancelled else "not a meeting that counts"] += 1
                continue
            rows = [Interaction(person_of[addr], "met", record.start, record.uid, record.title) for addr, _ in people]
            counts.counted += 1
            ledger.add_interactions(account, record.source_id, rows)
            mine = next((a.email for a in record.attendees if a.email in who.mine), "")
            for r in rows if mine else ():
                if r.person_id not in via or via[r.person_id][1] <= record.start:
                    via[r.person_id] = (mine, record.start)
        ledger.my_address_used(via)
        ledger.set_cursor(account, "calendar", result.cursor)
    return counts


# -- per-person summaries ------------------------------------------------------


@dataclass(slots=True)
class Contact:
    """What the ledger knows of one person, as of ``now``."""

    person_id: int
    name: str
    emails: list[str]
    configured: bool
    last_sent: datetime | None
    last_received: datetime | None
    last_met: datetime | None
    next_meeting: datetime | None
    sent_count: int
    met_count: int
    received_count: int
    snoozed_until: datetime | None
    profile: Person | None = None
    skipped_at: datetime | None = None  # `circleback skip`: the lapse before this is let go
    imported: bool = False  # from a LinkedIn or vCard import: a person the user chose to keep

    @property
    def last_contact(self) -> datetime | None:
        # Read three times per person by `status --json`: no list, no max() (benchmarks/core.py).
        last = self.last_sent
        for t in (self.last_received, self.last_met):
            if t is not None and (last is None or t > last):
                last = t
        return last

    @property
    def last_channel(self) -> str:
        last = self.last_contact
        for label, t in (("met", self.last_met), ("sent", self.last_sent), ("received", self.last_received)):
            if t and t == last:
                return label
        return ""

    @property
    def ball_in_my_court(self) -> bool:
        """They wrote last and I have not answered (nor met them since)."""
        if not self.last_received:
            return False
        answered = [t for t in (self.last_sent, self.last_met) if t]
        return not answered or self.last_received > max(answered)

    @property
    def tracked(self) -> bool:
        """Someone I keep in touch with: named in config, written to, or met."""
        return self.configured or self.sent_count > 0 or self.met_count > 0

    @property
    def awaiting_reply(self) -> bool:
        """Not tracked, but wrote to me personally more than once without an answer.

        Shown in status ("your turn") but never drafted to: a stranger's repeated
        mail may be a pitch, and a check-in to a salesperson would embarrass.
        """
        return not self.tracked and self.received_count >= 2

    @property
    def first_name(self) -> str:
        """What a note may call them ("Jo"), or "" when only an address like jsmith1987@ is known.

        An introduction or a "you and Jo" line needs it: without one they are left out.
        """
        p = self.profile
        emails = p.emails if p and p.emails else self.emails
        return first_name_of(p.name if p and p.name else self.name, emails[0] if emails else "")

    @property
    def greeting_name(self) -> str:
        """What a note to them says after "Hi": their ``greet`` ("Dad"), else their first name."""
        p = self.profile
        return p.greet.strip() if p and p.greet.strip() else self.first_name

    @property
    def display_name(self) -> str:
        if self.profile and self.profile.name:
            return self.profile.name
        return natural_order(self.name) or (self.emails[0] if self.emails else f"person {self.person_id}")


IMPORT_SOURCES = frozenset({"linkedin", "vcard"})


@dataclass(frozen=True, slots=True)
class History:
    """How personal a history is: mail and meetings among a few people, and over how long."""

    sent: int = 0
    received: int = 0
    met: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def is_strong(self, rule: StrongHistory) -> bool:
        """Direct two-way mail, or small meetings, over months (``[drafting.strong_history]``)."""
        if self.first is None or self.last is None or self.last - self.first < rule.span:
            return False
        two_way = self.sent >= rule.sent and self.received >= rule.received
        return two_way or self.met >= rule.meetings


def personal_history(ledger: Ledger, person_ids: Collection[int], small: int, now: datetime) -> dict[int, History]:
    """Per person: mail and meetings they shared with me and at most ``small - 1`` others.

    A Cc list or a big meeting says little about two people: only messages and meetings
    with few people count. Read for due people only, one statement.
    """
    rows = ledger.conn.execute(
        """WITH mine AS (SELECT i.person_id, i.account, i.source_id, i.channel, i.at FROM json_each(:ids) d
                         JOIN interactions i ON i.person_id = d.value),
                sizes AS (SELECT m.account, m.source_id, COUNT(DISTINCT j.person_id) AS n
                          FROM (SELECT DISTINCT account, source_id FROM mine) m
                          JOIN interactions j ON j.account = m.account AND j.source_id = m.source_id
                          GROUP BY m.account, m.source_id)
           SELECT m.person_id, m.channel, COUNT(*), MIN(m.at), MAX(m.at) FROM mine m
           JOIN sizes s ON s.account = m.account AND s.source_id = m.source_id
           WHERE s.n <= :small AND m.at <= :now GROUP BY m.person_id, m.channel""",
        {"ids": json.dumps(sorted(person_ids)), "small": small, "now": iso(now)},
    )
    counts: dict[int, dict[str, Any]] = {}
    for pid, channel, n, first, last in rows:
        h = counts.setdefault(pid, {"first": None, "last": None})
        h[channel] = n
        f, la = _stamp(first), _stamp(last)
        h["first"] = f if h["first"] is None or (f and f < h["first"]) else h["first"]
        h["last"] = la if h["last"] is None or (la and la > h["last"]) else h["last"]
    return {pid: History(**h) for pid, h in counts.items()}


def _stamp(text: str | None) -> datetime | None:
    """``parse_iso`` for the ledger's own fixed-width UTC text, without strptime.

    ``datetime.fromisoformat`` (3.11+ reads the trailing Z) gives the same aware
    UTC value about twenty times faster; on 50,000 people strptime was most of
    ``contacts`` (benchmarks/core.py).
    """
    return datetime.fromisoformat(text) if text else None


def _channel_sql(channel: str, alias: str) -> str:
    """(latest at or before :now, how many) for one channel, from its total where that is exact.

    A total is exact while its latest row is not after :now. Mail dated after now (a provider
    clock decades off) counts only once its date arrives: it must never make a person look
    recently contacted. Only then are the person's rows read (an index range). Sent and received
    counts include future rows; met counts do not (a meeting ahead is not a meeting held).
    """
    exact = f"{alias}.last_at IS NULL OR {alias}.last_at <= :now"
    rows = f"FROM interactions WHERE person_id = p.id AND channel = '{channel}'"
    count = f"coalesce({alias}.n, 0)"
    if channel == "met":
        count = f"CASE WHEN {exact} THEN {count} ELSE (SELECT COUNT(*) {rows} AND at <= :now) END"
    return f"CASE WHEN {exact} THEN {alias}.last_at ELSE (SELECT MAX(at) {rows} AND at <= :now) END, {count}"


# Rows: id, name, configured, snoozed, skipped, company, title, linkedin, then (last, count) for
# sent, received and met, then the next meeting. Identical to grouping the person's interactions
# (tests/test_core_fastpaths.py), without reading them.
_CONTACT_SQL = f"""
    SELECT p.id, p.name, p.configured, p.snoozed_until, p.skipped_at, p.company, p.title, p.linkedin, p.source,
           {_channel_sql("sent", "ts")}, {_channel_sql("received", "tr")}, {_channel_sql("met", "tm")},
           CASE WHEN tm.last_at > :now THEN
               (SELECT MIN(at) FROM interactions WHERE person_id = p.id AND channel = 'met' AND at > :now) END
    FROM people p
    LEFT JOIN channel_totals ts ON ts.person_id = p.id AND ts.channel = 'sent'
    LEFT JOIN channel_totals tr ON tr.person_id = p.id AND tr.channel = 'received'
    LEFT JOIN channel_totals tm ON tm.person_id = p.id AND tm.channel = 'met'
    {{where}}
    ORDER BY p.id
"""


def contacts(
    ledger: Ledger, settings: Settings, now: datetime, person_ids: Collection[int] | None = None
) -> list[Contact]:
    """Every person (or only ``person_ids``) with their last contact per channel, in one query.

    The per-channel totals come from ``channel_totals`` (ledger schema v3); see ``_CONTACT_SQL``.
    """
    where = ""
    args: dict[str, Any] = {"now": iso(now)}
    if person_ids is not None:
        where = "WHERE p.id IN (SELECT value FROM json_each(:ids))"
        args["ids"] = json.dumps(sorted(person_ids))
    rows = ledger.conn.execute(_CONTACT_SQL.format(where=where), args)
    emails = ledger.all_addresses() if person_ids is None else _addresses_of(ledger, args["ids"])
    profiles = _profiles_by_address(settings)
    by_linkedin = {p.linkedin: p for p in settings.people if p.linkedin and not p.emails}
    out = []
    for pid, name, configured, snoozed, skipped, company, title, linkedin, source, ls, n_sent, lr, n_received, \
            lm, n_met, nm in rows:
        addrs = emails.get(pid, [])
        profile = None
        for a in addrs:
            if a in profiles:
                profile = profiles[a]
                break
        if profile is None and linkedin and not addrs:
            profile = by_linkedin.get(linkedin)
        if company or title or linkedin:  # else nothing was imported: the config's profile as is
            profile = _with_imported(profile, name, addrs, company, title, linkedin)
        out.append(
            Contact(
                person_id=pid,
                name=name,
                emails=addrs,
                configured=bool(configured),
                last_sent=_stamp(ls),
                last_received=_stamp(lr),
                last_met=_stamp(lm),
                next_meeting=_stamp(nm),
                sent_count=n_sent,
                met_count=n_met,
                received_count=n_received,
                snoozed_until=_stamp(snoozed),
                profile=profile,
                skipped_at=_stamp(skipped),
                imported=source in IMPORT_SOURCES,
            )
        )
    return out


def _addresses_of(ledger: Ledger, ids_json: str) -> dict[int, list[str]]:
    """``Ledger.all_addresses`` for a few people: the same lists, in the same (address) order."""
    out: dict[int, list[str]] = {}
    rows = ledger.conn.execute(
        "SELECT address, person_id FROM addresses WHERE person_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY address",
        (ids_json,),
    )
    for address, pid in rows:
        out.setdefault(pid, []).append(address)
    return out


def _with_imported(
    profile: Person | None, name: str, addrs: list[str], company: str, title: str, linkedin: str
) -> Person | None:
    """The config's profile with blanks filled from an import; the config always wins."""
    found = {"company": company, "title": title, "linkedin": linkedin}
    found = {k: v for k, v in found.items() if v}
    if not found:
        return profile
    if profile is None:
        return Person(name=name, emails=addrs, **found) if (name or addrs) else None
    blanks = {k: v for k, v in found.items() if not getattr(profile, k)}
    return profile.model_copy(update=blanks) if blanks else profile


def _profiles_by_address(settings: Settings) -> dict[str, Person]:
    return {e: p for p in settings.people for e in p.emails}


def cadence_for(contact: Contact, settings: Settings) -> timedelta:
    """Person's own cadence, else their group's, else the default."""
    p = contact.profile
    if p and p.cadence:
        return p.cadence
    if p and p.group and p.group in settings.cadence.groups:
        return settings.cadence.groups[p.group]
    return settings.cadence.default


def group_weight(contact: Contact, settings: Settings) -> float:
    group = contact.profile.group if contact.profile else ""
    return settings.cadence.weights.get(group, 1.0)


def apply_people(ledger: Ledger, settings: Settings) -> None:
    """Make every ``[[people]]`` entry one ledger person with all its addresses."""
    with ledger.transaction():
        for p in settings.people:
            if p.emails:
                ledger.apply_configured_person(p.name, p.emails)
            elif p.linkedin:  # no address: the LinkedIn note goes to me, ready to paste
                ledger.configured_without_address(p.name, p.linkedin)
