"""Which addresses are people and which mail counts as being in touch.

docs/DESIGN.md, "What counts as being in touch": mail sent by me to the person
(To/Cc), mail received from them with me in To/Cc, or a past meeting both
attended (not cancelled, neither declined, at most ``max_meeting_size``
attendees). Mailing lists, bulk and auto-submitted mail, mail with List-Unsubscribe, no-reply senders,
oversized threads and meetings, and my own addresses never count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from circleback.connectors.base import (
    Direction,
    EventRecord,
    MailRecord,
    ResponseStatus,
)

from ..config import Filters, Settings

# Local parts that announce a machine, not a person.
_NOREPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|mailer-daemon|postmaster|bounces?|"
    # "do not reply" as other languages write it
    r"n[aã]o[-_.]?responda|no[-_.]?responder|ne[-_.]?pas[-_.]?repondre|nepasrepondre|nicht[-_.]?antworten|"
    r"keine[-_.]?antwort|non[-_.]?rispondere|niet[-_.]?beantwoorden|"
    r"communications?|comunica[cç][aã]o|comunicaciones|comms|"
    r"notifications?|notify|alerts?|newsletter|news|info|support|billing|marketing|"
    r"calendar-notification|automated|daemon)([-+_.].*)?$",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
# Gmail's categories. Not Outlook's Focused Inbox "other": first contact from a stranger lands there.
_PROVIDER_NOISE = {"promotions", "social", "updates", "forums"}


def is_machine_address(address: str) -> bool:
    local = address.split("@", 1)[0]
    return bool(_NOREPLY.match(local))


# Where a numeric mailbox is a person's own account (a QQ number, a phone number at
# NetEase or China Mobile), not a pager or SMS gateway like 9099632747@airmessage.net.
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


def names_a_role(words: list[str]) -> bool:
    keys = [w.strip(".,'\"()").lower() for w in words]
    return bool(keys) and (keys[0] in _ROLE_WORDS or any(k in _ROLE_WORDS - _ROLE_OR_SURNAME for k in keys[1:]))


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
    return names_a_role(words)


@dataclass(slots=True)
class Identity:
    """Who I am and whom to ignore, resolved once per cycle from settings."""

    mine: frozenset[str]
    filters: Filters
    configured: frozenset[str] = frozenset()  # [[people]] addresses: always people
    lists: set[str] = field(default_factory=set)  # mailing lists' addresses (ledger.list_addresses)
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
        if address in self.lists:
            return False
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
    if record.direction is Direction.RECEIVED and record.list_unsubscribe:  # a newsletter or a campaign
        return "list-unsubscribe"
    return ""


def list_addresses_in(record: MailRecord) -> list[str]:
    """The mailing list's own address among a list message's recipients: the one its List-Id names.

    RFC 2919 builds the id from the address (leeds-climbers@groups.example is
    ``<leeds-climbers.groups.example>``), so a person in To or Cc of a reply on the list is
    never taken for the list.
    """
    list_id = record.list_id.rpartition("<")[2].partition(">")[0].strip().lower() or record.list_id.strip().lower()
    if not list_id:
        return []
    return [a.email for a in (*record.to, *record.cc) if a.email.lower().replace("@", ".", 1) == list_id]


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
