"""What the ledger knows of each person: their contact summary, their history with me, their cadence."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..config import Person, Settings, StrongHistory
from ..store.ledger import Ledger
from ..store.timestamps import parse_iso
from .names import first_name_of, natural_order

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

    @property
    def handle(self) -> str:
        """What names this person and no one else on the command line: an address, a profile link, or ``#12``."""
        if self.emails:
            return self.emails[0]
        link = self.profile.linkedin if self.profile else ""
        return short_link(link) if link else f"#{self.person_id}"


def short_link(url: str) -> str:
    """``https://www.linkedin.com/in/maya-patel/`` is ``linkedin.com/in/maya-patel``: how a handle shows a link."""
    text = url.strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("www.")
    return text.split("?", 1)[0].rstrip("/")


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
    rows = ledger.personal_history_rows(person_ids, small, now)
    counts: dict[int, dict[str, Any]] = {}
    for pid, channel, n, first, last in rows:
        h = counts.setdefault(pid, {"first": None, "last": None})
        h[channel] = n
        f, la = parse_iso(first), parse_iso(last)
        h["first"] = f if h["first"] is None or (f and f < h["first"]) else h["first"]
        h["last"] = la if h["last"] is None or (la and la > h["last"]) else h["last"]
    return {pid: History(**h) for pid, h in counts.items()}


def contacts(
    ledger: Ledger, settings: Settings, now: datetime, person_ids: Collection[int] | None = None
) -> list[Contact]:
    """Every person (or only ``person_ids``) with their last contact per channel, in one query.

    The per-channel totals come from ``channel_totals`` (ledger schema v3); see store/reads.py.
    """
    rows = ledger.contact_rows(now, person_ids)
    emails = ledger.all_addresses() if person_ids is None else ledger.addresses_by_person(person_ids)
    profiles = _profiles_by_address(settings)
    by_linkedin = {p.linkedin: p for p in settings.people if p.linkedin and not p.emails}
    lists = ledger.list_addresses()  # learned after my posts to them were counted: no person
    out = []
    for pid, name, configured, snoozed, skipped, company, title, linkedin, source, ls, n_sent, lr, n_received, \
            lm, n_met, nm in rows:
        addrs = emails.get(pid, [])
        if lists and addrs and not configured and all(a in lists for a in addrs):
            continue
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
                last_sent=parse_iso(ls),
                last_received=parse_iso(lr),
                last_met=parse_iso(lm),
                next_meeting=parse_iso(nm),
                sent_count=n_sent,
                met_count=n_met,
                received_count=n_received,
                snoozed_until=parse_iso(snoozed),
                profile=profile,
                skipped_at=parse_iso(skipped),
                imported=source in IMPORT_SOURCES,
            )
        )
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
        return Person(name=natural_order(name), emails=addrs, **found) if (name or addrs) else None
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
