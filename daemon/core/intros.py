"""Who should meet whom, and the double-opt-in introduction (docs/DESIGN.md, "Introductions").

    (suggested) -> asked (A) -> A replied -> asked (B) -> B replied -> intro_drafted
                -> intro_sent -> followup -> done     exits: declined, expired

*Suggested* is never stored: it is worked out from ``offers``/``seeks`` each time.
The opt-in is asked one party at a time. A is the one who seeks (what they need
is theirs to share), asked first; B learns of A only once A has answered, so
nobody hears of someone's need, or of an introduction, that may never happen.
The first ask says nothing of what B seeks, for the same reason. An
introduction row is written the moment the user (or ``auto_ask``) asks, in the
same transaction as A's opt-in intent, so a crash leaves either both or
neither; B's intent is written in the step that sees A's reply. Every later
draft (B's ask, the introduction, the follow-ups) is an outbox intent keyed by
(kind, recipient, introduction id): advancing twice, or after a restart, finds
the key taken and writes nothing new.

Replies are known from thread membership only (headers, never bodies): a
received message from a party whose thread is the ask's Message-ID, or the
thread the sent ask became (providers may give a sent draft a new Message-ID).
A "no" is the user's to record: ``circleback intros decline A B``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..config import Person, Settings
from ..errors import CirclebackError, IntroError
from ..store.ledger import Ledger
from ..store.outbox import OPEN_STATES, OutboxEntry, OutboxState
from ..store.timestamps import parse_iso
from .contacts import Contact, cadence_for, contacts
from .drafting import build_message, me_context, person_context, relation_of
from .kinds import ASK, FOLLOWUP, INTRO
from .notes import is_deceased, is_minor
from .planner import canonical_address, intent_key
from .templating import TemplateRenderer, topics
from .wording import personal_sensitive, sensitive_topic

log = logging.getLogger(__name__)

INTRO_KINDS = (ASK, INTRO, FOLLOWUP)
class IntroState(StrEnum):
    """An introduction's state; the value is the text stored in ``intros.state``."""

    ASKED = "asked"  # opt-in asked of A, then (once A replied) of B; waiting for the replies
    INTRO_DRAFTED = "intro_drafted"  # both said yes: the introduction waits in Drafts
    INTRO_SENT = "intro_sent"
    FOLLOWUP = "followup"  # "how did it go?" drafted to each
    DONE = "done"
    DECLINED = "declined"
    EXPIRED = "expired"


STATES = tuple(IntroState)
OPEN = (IntroState.ASKED, IntroState.INTRO_DRAFTED, IntroState.INTRO_SENT, IntroState.FOLLOWUP)
# How long a deleted introduction draft waits for a late Sent copy before it counts as "not made".
_LATE_SENT = timedelta(days=2)

# A few everyday equivalences; the user adds their own under [intros] synonyms.
_SYNONYMS: dict[str, list[str]] = {
    "seed funding": ["fundraising", "angel investment", "seed investment", "pre-seed funding", "investors"],
    "ux research": ["user research", "usability research", "design research"],
    "hiring": ["recruiting", "recruitment", "talent"],
    "mentoring": ["mentorship", "career advice", "coaching"],
    "engineering": ["software engineering", "developers"],
}


def _canonical_tags(settings: Settings) -> dict[str, str]:
    table: dict[str, str] = {}
    for canon, others in [*_SYNONYMS.items(), *settings.intros.synonyms.items()]:
        c = _clean(canon)
        table[c] = table.get(c, c)
        for o in others:
            table[_clean(o)] = table[c]
    return table


def _clean(tag: str) -> str:
    text = re.sub(r"[^\w\s]+", " ", tag.lower())
    return " ".join(text.split())


def normalise(tag: str, table: dict[str, str]) -> str:
    c = _clean(tag)
    if c in table:
        return table[c]
    if c.endswith("s") and c[:-1] in table:  # "investors" / "investor"
        return table[c[:-1]]
    return c


# -- suggestions --------------------------------------------------------------------------


@dataclass(slots=True)
class Suggestion:
    a: Contact  # the one who seeks
    b: Contact  # the one who offers
    tags: list[str]  # what b offers that a seeks, in b's wording ("UX research")
    back: list[str]  # what a offers that b seeks (empty when the help goes one way)
    context: list[str] = field(default_factory=list)  # shared context, in words
    sensitive: bool = False  # a topic theirs alone: auto_ask leaves it to the user


    @property
    def reason(self) -> str:
        text = f"{self.a.display_name} seeks {topics(self.tags)}; {self.b.display_name} offers it"
        if self.back:
            text += f"; and {self.b.display_name} seeks {topics(self.back)}, which {self.a.display_name} offers"
        return text


def _warm(c: Contact, settings: Settings, now: datetime) -> bool:
    last = c.last_contact
    return last is not None and now - last <= cadence_for(c, settings) * settings.intros.warm_within


def _named_in(person: Person, other: Contact) -> bool:
    """``keep_apart`` lists names or addresses."""
    wanted = {k.strip().lower() for k in person.keep_apart}
    return bool(wanted & ({other.display_name.lower()} | set(other.emails)))


def already_correspond(ledger: Ledger, a: int, b: int) -> bool:
    """Ever together in one thread or meeting: the same source in the same account."""
    return ledger.ever_together(a, b)


def _ever_paired(ledger: Ledger) -> set[frozenset[int]]:
    return ledger.intro_pairs()


def busy_people(ledger: Ledger) -> set[int]:
    return ledger.people_in_intros(OPEN)


def pair_problem(ledger: Ledger, a: Contact, b: Contact) -> str:
    """Why these two must not be introduced, or ""."""
    problem = _pair_problem(a, b, busy_people(ledger), lambda x, y: already_correspond(ledger, x, y))
    unnamed = [x.display_name for x in (a, b) if not x.first_name]
    if not problem and unnamed:  # else "I'd like to introduce you to ," and "An introduction to ?"
        problem = f"{unnamed[0]} has no first name to introduce them by; give them a name under [[people]]"
    return problem


def _pair_problem(a: Contact, b: Contact, busy: set[int], correspond: Callable[[int, int], bool]) -> str:
    for x, y in ((a, b), (b, a)):
        if x.profile and x.profile.do_not_contact:
            return f"{x.display_name} is marked do_not_contact"
        if x.profile and _named_in(x.profile, y):
            return f"{x.display_name} is to be kept apart from {y.display_name}"
        if not x.emails:
            return f"{x.display_name} has no address to write to"
        if x.profile and is_minor(x.profile.note):
            return f"your note says {x.display_name} is under 18"
        if x.profile and is_deceased(x.profile.note):
            return f"your note says {x.display_name} has died"
    if a.person_id == b.person_id:
        return "that is one person"
    for x in (a, b):
        if x.person_id in busy:
            return f"{x.display_name} is already in an open introduction"
    if correspond(a.person_id, b.person_id):
        return f"{a.display_name} and {b.display_name} already correspond"
    return ""


class _Companions:
    """Who shared a thread or meeting with whom, read once per person for one suggestions pass.

    A pass looks at every pair of people with offers or seeks; asking SQLite per pair
    ("already correspond?", "whom do both know?") cost a self-join per pair, 8 ms each on
    a million interactions (benchmarks/core.py). Each person's companions are read once
    instead, in the order the per-pair query walked them.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._walks: dict[int, list[int]] = {}
        self._sets: dict[int, set[int]] = {}
        self._names: dict[int, str] = {}

    def walk(self, person_id: int) -> list[int]:
        """Companions, repeated once per shared row: the person's rows in index order, then by id."""
        if person_id not in self._walks:
            rows = self.ledger.companions(person_id)
            self._walks[person_id] = [pid for pid, _ in rows]
            self._sets[person_id] = {pid for pid, _ in rows}
            self._names.update(rows)
        return self._walks[person_id]

    def of(self, person_id: int) -> set[int]:
        self.walk(person_id)
        return self._sets[person_id]

    def correspond(self, a: int, b: int) -> bool:
        return b in self.of(a)

    def both_know(self, a: int, b: int, limit: int = 3) -> list[str]:
        """Names of people in a thread or meeting with a and with b (at most ``limit``, blanks dropped)."""
        theirs = self.of(b)
        names: list[str] = []
        for pid in self.walk(a):
            if pid in (a, b) or pid not in theirs:
                continue
            name = self._names[pid]
            if name not in names:
                names.append(name)
                if len(names) == limit:
                    break
        return [n for n in names if n]


def suggestions(ledger: Ledger, settings: Settings, now: datetime) -> list[Suggestion]:
    """Pairs where one seeks what the other offers, both warm and with a first name, best first."""
    table = _canonical_tags(settings)
    people = [
        c for c in contacts(ledger, settings, now, _profiled_ids(ledger, settings))
        if c.profile and (c.profile.offers or c.profile.seeks) and c.first_name  # as pair_problem asks
    ]
    busy = busy_people(ledger)
    paired = _ever_paired(ledger)
    companions = _Companions(ledger)
    offers = {c.person_id: {normalise(t, table) for t in c.profile.offers} for c in people if c.profile}
    warm = {c.person_id: _warm(c, settings, now) for c in people}
    found: list[Suggestion] = []
    for a in people:
        assert a.profile is not None
        seeks = {normalise(t, table) for t in a.profile.seeks}
        for b in people:
            assert b.profile is not None
            if a.person_id == b.person_id or frozenset((a.person_id, b.person_id)) in paired:
                continue
            if not seeks & offers[b.person_id] or a.person_id in busy or b.person_id in busy:
                continue
            if not (warm[a.person_id] and warm[b.person_id]):
                continue
            if _pair_problem(a, b, busy, companions.correspond):
                continue
            tags = _match_as_offered(b.profile.offers, a.profile.seeks, table)
            back = _match_as_offered(a.profile.offers, b.profile.seeks, table)
            found.append(Suggestion(a, b, tags, back, _shared_context(ledger, a, b, now, companions),
                                    theirs_alone([*tags, *back]) or private_note(a) or bool(back) and private_note(b)))
    # Mutual help first, then the warmest pair; one suggestion per unordered pair.
    found.sort(key=lambda s: (not s.back, -min(_ts(s.a), _ts(s.b)), s.a.display_name, s.b.display_name))
    seen: set[frozenset[int]] = set()
    out = []
    for s in found:
        pair = frozenset((s.a.person_id, s.b.person_id))
        if pair not in seen:
            seen.add(pair)
            out.append(s)
    return out


def _profiled_ids(ledger: Ledger, settings: Settings) -> set[int]:
    """Everyone a ``[[people]]`` entry can be the profile of: only they can offer or seek.

    ``contacts`` finds a profile by address, or by LinkedIn URL for an entry without
    addresses; asking it for these people alone gives the same profiles as asking
    for everyone, without aggregating the whole ledger.
    """
    emails = [e for p in settings.people for e in p.emails]
    urls = [p.linkedin for p in settings.people if p.linkedin and not p.emails]
    return ledger.people_with_addresses(emails) | ledger.people_with_linkedin(urls)


def _ts(c: Contact) -> float:
    return c.last_contact.timestamp() if c.last_contact else 0.0


def _shared_context(
    ledger: Ledger, a: Contact, b: Contact, now: datetime, companions: _Companions | None = None
) -> list[str]:
    out = []
    if a.profile and b.profile and a.profile.group and a.profile.group == b.profile.group:
        out.append(f"both in your {a.profile.group}")
    names = (companions or _Companions(ledger)).both_know(a.person_id, b.person_id)
    if names:
        out.append("both know " + ", ".join(names))
    if a.profile and b.profile and a.profile.company and a.profile.company == b.profile.company:
        out.append(f"both at {a.profile.company}")
    return out


# -- the state machine --------------------------------------------------------------------


@dataclass(slots=True)
class Intro:
    id: int
    a: int
    b: int
    state: str
    reason: str
    created_at: datetime
    updated_at: datetime
    a_replied_at: datetime | None
    b_replied_at: datetime | None
    sent_at: datetime | None
    closed_at: datetime | None

    def replied(self, person_id: int) -> datetime | None:
        return self.a_replied_at if person_id == self.a else self.b_replied_at


def list_intros(ledger: Ledger, states: tuple[str, ...] | None = None) -> list[Intro]:
    out = []
    for r in ledger.intro_rows(states):
        out.append(Intro(r[0], r[1], r[2], r[3], r[4], *(parse_iso(t) for t in r[5:])))  # type: ignore[arg-type]
    return out


def _set_state(ledger: Ledger, intro: Intro, state: str, now: datetime, sent_at: datetime | None = None) -> None:
    assert state in STATES, state
    ledger.set_intro_state(intro.id, state, now, closed=state not in OPEN, sent_at=sent_at)
    log.info("introduction of %s and %s: %s -> %s", ledger.person_name(intro.a) or f"person {intro.a}",
             ledger.person_name(intro.b) or f"person {intro.b}", intro.state, state)
    intro.state = state


def _entries(ledger: Ledger, intro_id: int, kind: str) -> list[OutboxEntry]:
    return ledger.intro_entries(intro_id, kind)


@dataclass(slots=True)
class IntroReport:
    asked: list[int] = field(default_factory=list)  # introduction ids
    changed: list[tuple[int, str]] = field(default_factory=list)  # (id, new state)
    drafts: int = 0  # intents committed
    problems: list[str] = field(default_factory=list)


class Introducer:
    """Asks, advances, declines; renders with the user's templates, writes outbox intents."""

    def __init__(self, ledger: Ledger, settings: Settings, renderer: TemplateRenderer, account: str) -> None:
        self.ledger = ledger
        self.settings = settings
        self.renderer = renderer
        self.account = account

    def _people(self, now: datetime) -> dict[int, Contact]:
        return {c.person_id: c for c in contacts(self.ledger, self.settings, now)}

    # -- asking ----------------------------------------------------------------------------

    def ask(self, a: Contact, b: Contact, now: datetime, reason: str = "") -> Intro:
        """Start an introduction: the row and the first opt-in intent in one transaction.

        The one who seeks is asked first (``seeker_first``); the other is asked once
        they have answered, by ``advance``.
        """
        problem = pair_problem(self.ledger, a, b)
        if problem:
            raise IntroError(f"cannot introduce {a.display_name} and {b.display_name}: {problem}")
        table = _canonical_tags(self.settings)
        reason = reason or _reason(a, b, table)
        a, b = seeker_first(a, b, table)
        with self.ledger.transaction():
            intro_id = self.ledger.add_intro(a.person_id, b.person_id, reason, now)
            self._intent(ASK, intro_id, a, [a], b, now, table, other_agreed=False)
        (intro,) = [i for i in list_intros(self.ledger) if i.id == intro_id]
        return intro

    def auto_ask(self, now: datetime, report: IntroReport) -> None:
        limit = self.settings.intros.max_asks_per_month
        local = now.astimezone(self.settings.me.zone)
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        used = self.ledger.intros_created_since(month_start)
        while used < limit:
            found = [s for s in suggestions(self.ledger, self.settings, now) if not s.sensitive]
            if not found:
                return
            intro = self.ask(found[0].a, found[0].b, now, found[0].reason)
            report.asked.append(intro.id)
            report.drafts += 1
            used += 1

    # -- advancing ---------------------------------------------------------------------------

    def advance(self, now: datetime, report: IntroReport) -> None:
        """Move every open introduction as far as what the ledger shows allows."""
        people = self._people(now)
        for intro in list_intros(self.ledger, OPEN):
            a, b = people.get(intro.a), people.get(intro.b)
            if a is None or b is None:
                continue
            before = intro.state
            try:
                with self.ledger.transaction():
                    self._step(intro, a, b, now, report)
            except CirclebackError as exc:
                report.problems.append(f"introduction {a.display_name} / {b.display_name}: {exc}")
                continue
            if intro.state != before:
                report.changed.append((intro.id, intro.state))

    def _step(self, intro: Intro, a: Contact, b: Contact, now: datetime, report: IntroReport) -> None:
        table = _canonical_tags(self.settings)
        if intro.state == IntroState.ASKED:
            for party in (a, b):
                if intro.replied(party.person_id) is None:
                    at = self._reply_at(intro, party)
                    if at is not None:
                        if party.person_id == intro.a:
                            self.ledger.set_intro_replied(intro.id, "a", at)
                            intro.a_replied_at = at
                        else:
                            self.ledger.set_intro_replied(intro.id, "b", at)
                            intro.b_replied_at = at
            if intro.a_replied_at and not self._asked(intro, b):
                # A answered: now B may hear of A. A "no" from A is the user's to record
                # (`intros decline`) before they send B's ask; it waits in Drafts till then.
                report.drafts += self._intent(ASK, intro.id, b, [b], a, now, table)
            if intro.a_replied_at and intro.b_replied_at:
                report.drafts += self._intent(INTRO, intro.id, a, [a, b], b, now, table)
                _set_state(self.ledger, intro, IntroState.INTRO_DRAFTED, now)
            elif now - self._last_asked(intro) >= self.settings.intros.ask_expires_after:
                self._withdraw_pending(intro.id, now)
                _set_state(self.ledger, intro, IntroState.EXPIRED, now)
        if intro.state == IntroState.INTRO_DRAFTED:
            sent_at = self._intro_sent_at(intro, a, b)
            if sent_at is not None:
                _set_state(self.ledger, intro, IntroState.INTRO_SENT, now, sent_at=sent_at)
                intro.sent_at = sent_at
            else:
                entries = _entries(self.ledger, intro.id, INTRO)
                deleted = [e for e in entries if e.state == OutboxState.DELETED]
                if any(e.closed_at and now - e.closed_at >= _LATE_SENT for e in deleted):
                    _set_state(self.ledger, intro, IntroState.DECLINED, now)  # the user chose not to make it
        followup_due = intro.sent_at and now - intro.sent_at >= self.settings.intros.followup_after
        if intro.state == IntroState.INTRO_SENT and followup_due:
            for party, other in ((a, b), (b, a)):
                report.drafts += self._intent(FOLLOWUP, intro.id, party, [party], other, now, table)
            _set_state(self.ledger, intro, IntroState.FOLLOWUP, now)
        if intro.state == IntroState.FOLLOWUP:
            entries = _entries(self.ledger, intro.id, FOLLOWUP)
            if entries and all(e.state not in OPEN_STATES for e in entries):
                _set_state(self.ledger, intro, IntroState.DONE, now)

    def _asked(self, intro: Intro, party: Contact) -> bool:
        return any(e.person_id == party.person_id for e in _entries(self.ledger, intro.id, ASK))

    def _last_asked(self, intro: Intro) -> datetime:
        """When the newest ask was committed: each party has ``ask_expires_after`` to answer."""
        return max([intro.created_at, *(e.created_at for e in _entries(self.ledger, intro.id, ASK))])

    def _reply_at(self, intro: Intro, party: Contact) -> datetime | None:
        asks = [e for e in _entries(self.ledger, intro.id, ASK) if e.person_id == party.person_id]
        threads = sorted({t for e in asks for t in (e.message_id, e.sent_thread) if t})
        if not threads:
            return None
        return self.ledger.first_reply_in(party.person_id, threads)

    def _intro_sent_at(self, intro: Intro, a: Contact, b: Contact) -> datetime | None:
        for e in _entries(self.ledger, intro.id, INTRO):
            if e.state == OutboxState.SENT:
                return e.closed_at or e.drafted_at or e.created_at
        # The user may have written the introduction in their own words: one sent message to both.
        return self.ledger.first_sent_to_both(a.person_id, b.person_id, intro.created_at)

    # -- declining ---------------------------------------------------------------------------

    def decline(self, a: Contact, b: Contact, now: datetime) -> Intro:
        pair = {a.person_id, b.person_id}
        found = [i for i in list_intros(self.ledger, OPEN) if {i.a, i.b} == pair]
        if not found:
            raise IntroError(f"no open introduction between {a.display_name} and {b.display_name}")
        intro = found[0]
        with self.ledger.transaction():
            self._withdraw_pending(intro.id, now)
            _set_state(self.ledger, intro, IntroState.DECLINED, now)
        return intro

    def _withdraw_pending(self, intro_id: int, now: datetime) -> None:
        """Intents not yet in Drafts are not written any more; drafts already there are the user's."""
        self.ledger.withdraw_pending_for_intro(intro_id, now)

    # -- drafts ------------------------------------------------------------------------------

    def _intent(
        self, kind: str, intro_id: int, person: Contact, to: list[Contact], other: Contact, now: datetime,
        table: dict[str, str], other_agreed: bool = True,
    ) -> int:
        """Render one draft and commit its intent; 1 when new, 0 when its key was taken.

        ``other_agreed`` is False for the first ask: what the other seeks is not said.
        """
        from circleback.connectors.base import Address

        from .drafting import TEMPLATES, address_to

        key = intent_key(kind, canonical_address(person), f"intro{intro_id}")
        if self.ledger.outbox_entry(key) is not None:
            return 0
        context = intro_context(self.settings, person, other, table, key, now, self._sent_at(intro_id), other_agreed)
        rendered = self.renderer.render(TEMPLATES[kind], context)
        private = bool(context["sensitive"])  # a job search goes to their own address, not the employer's
        recipients: list[Address] = [address_to(c, self.ledger, private=private) for c in to]
        message_id, message = build_message(self.settings, recipients, rendered, key, now)
        added = self.ledger.add_intent(
            key=key, person_id=person.person_id, kind=kind, period=f"intro{intro_id}", account=self.account,
            recipient=", ".join(r.email for r in recipients), message_id=message_id, message=message, now=now,
            intro_id=intro_id,
        )  # fmt: skip
        return int(added)

    def _sent_at(self, intro_id: int) -> datetime | None:
        return self.ledger.intro_sent_at(intro_id)


def seeker_first(a: Contact, b: Contact, table: dict[str, str]) -> tuple[Contact, Contact]:
    """The pair in the order they are asked: the one who seeks what the other offers first.

    When the help goes both ways, or neither way, the order given stands.
    """
    ap, bp = a.profile, b.profile
    a_seeks = _match(bp.offers if bp else [], ap.seeks if ap else [], table)
    b_seeks = _match(ap.offers if ap else [], bp.seeks if bp else [], table)
    return (b, a) if b_seeks and not a_seeks else (a, b)


def private_note(c: Contact) -> bool:
    """Does the user's note on them hold something sensitive ("applying to NHS UK, secret pa dont tell priya")?

    Then an introduction is theirs to start: never asked on its own, and discreet when asked.
    """
    return bool(c.profile and c.profile.note and personal_sensitive(c.profile.note))


def theirs_alone(topics_matched: list[str]) -> bool:
    """Does what one seeks of the other touch something theirs alone (``wording.sensitive_topic``)?"""
    return any(sensitive_topic(t) for t in topics_matched)


def _reason(a: Contact, b: Contact, table: dict[str, str]) -> str:
    ap, bp = a.profile, b.profile
    gives = _match_as_offered(bp.offers if bp else [], ap.seeks if ap else [], table)
    gets = _match_as_offered(ap.offers if ap else [], bp.seeks if bp else [], table)
    parts = []
    if gives:
        parts.append(f"{a.display_name} seeks {topics(gives)}; {b.display_name} offers it")
    if gets:
        parts.append(f"{b.display_name} seeks {topics(gets)}; {a.display_name} offers it")
    return "; ".join(parts) or "introduced by hand"


def _match(offers: list[str], seeks: list[str], table: dict[str, str]) -> list[str]:
    return sorted({normalise(t, table) for t in offers} & {normalise(t, table) for t in seeks})


def _match_as_offered(offers: list[str], seeks: list[str], table: dict[str, str]) -> list[str]:
    """What matches, in the offerer's own wording ("UX research", not the key "ux research").

    The offerer's words read right in every sentence the templates build ("Nadia knows
    UX research inside out", "you're looking for UX research, and Nadia knows that world").
    Their order is the order the user listed them; one entry per matched key.
    """
    wanted = {normalise(t, table) for t in seeks}
    shown: dict[str, str] = {}
    for tag in offers:
        key = normalise(tag, table)
        if key in wanted and key not in shown:
            shown[key] = " ".join(tag.split())
    return list(shown.values())


def intro_context(
    settings: Settings, person: Contact, other: Contact, table: dict[str, str], key: str, now: datetime,
    sent_at: datetime | None = None, other_agreed: bool = True,
) -> dict[str, Any]:
    """What intro templates see: ``person`` (the recipient), ``other`` (the other party),
    ``gives`` (what other offers that person seeks), ``gets`` (the reverse), ``asked_first``
    (this is the first ask: the other has not been asked yet), ``key``.

    ``sensitive``: what one seeks of the other is theirs alone (``theirs_alone``), or the note on one who
    seeks holds something sensitive (``private_note``): never named, and sent to their own address.
    ``gives`` and ``gets`` are matched on normalised tags but shown as the user wrote them.
    Before the other has agreed, ``gets`` is empty and ``other.seeks`` too: what someone
    needs is theirs to share, not to be told to a person they may never meet.
    """
    pp, op = person.profile, other.profile
    shown_other = person_context(other)
    if not other_agreed:
        shown_other["seeks"] = []
    gives = _match_as_offered(op.offers if op else [], pp.seeks if pp else [], table)
    gets = _match_as_offered(pp.offers if pp else [], op.seeks if op else [], table)
    return {
        # A need of someone whose note holds a secret is theirs: the one who seeks decides who hears of it.
        "sensitive": theirs_alone([*gives, *gets]) or bool(gives) and private_note(person)
        or bool(gets) and private_note(other),
        "me": me_context(settings),
        "person": {**person_context(person), "first_name": person.greeting_name},  # "Hi Nana Yaa," as `greet` says
        "other": shown_other,
        "other_relation": relation_of(other, settings),
        "gives": gives,
        "gets": gets if other_agreed else [],
        "asked_first": not other_agreed,
        "days_since_intro": (now - sent_at).days if sent_at else None,
        "key": key,
    }


def find_pair(ledger: Ledger, settings: Settings, a: str, b: str, now: datetime) -> tuple[Contact, Contact]:
    from .lifecycle import find_person

    return find_person(ledger, settings, a, now), find_person(ledger, settings, b, now)
