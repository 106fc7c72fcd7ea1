"""Who is due, what specific thing we could say to them, and this cycle's notes.

Due (docs/DESIGN.md, "Cadence and planning"): last contact + cadence <= now, not
snoozed, no meeting with them inside the upcoming window, no open draft of
ours for them, and not inside the cool-down after the user deleted one.
"No hook, no draft": a due person with nothing specific to mention is listed
as needing a note instead of getting a generic one.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING

from ..config import Settings
from ..store.ledger import Ledger
from ..store.timestamps import iso
from .contacts import Contact, cadence_for, contacts, group_weight, personal_history
from .kinds import CHECKIN, LINKEDIN
from .names import looks_like_me, same_person_marks
from .subjects import has_reply_prefix, is_specific

if TYPE_CHECKING:  # the note reader and the moments are loaded when a plan needs them, not by `status`
    from .moments import Moment
    from .notes import ReadNote


BUDGETED_KINDS = (CHECKIN, LINKEDIN)

@dataclass(frozen=True, slots=True)
class Hook:
    kind: str  # note | meeting | thread
    text: str  # what the note can mention, for `plan` and `status`
    at: datetime | None = None
    moment: Moment | None = None  # a meeting or thread: the shared moment it names
    note: ReadNote | None = None  # a note: the user's note (or `say`) as read


@dataclass(slots=True)
class Standing:
    """One person's place in the plan, with the reason in words."""

    contact: Contact
    cadence: timedelta
    due: bool
    reason: str
    overdue: float  # time since last contact / cadence
    priority: float
    hook: Hook | None = None
    # Filled by plan_cycle where it can be read: the notes, and people whose hook it may be.
    mutual: list[Contact] = field(default_factory=list)
    suggested: bool = False  # due, but neither named nor close: listed, never written to


@dataclass(slots=True)
class PlannedNote:
    standing: Standing
    kind: str
    period: str
    key: str
    about: str = ""  # a nudge's link or topic, as the user typed it


@dataclass(slots=True)
class Plan:
    now: datetime
    standings: list[Standing]
    notes: list[PlannedNote]
    needs_note: list[Standing]
    over_budget: list[Standing]
    budget_left: int
    quiet: bool
    # Drifting, but neither named nor with a strong personal history: listed, never written to.
    suggested: list[Standing] = field(default_factory=list)


def intent_key(kind: str, canonical_address: str, period: str) -> str:
    """Deterministic outbox key: the same person, kind and period always give the same key."""
    digest = hashlib.sha256(f"{kind}|{canonical_address}|{period}".encode()).hexdigest()[:24]
    return f"{kind}-{digest}"


def checkin_period(contact: Contact, cadence: timedelta, now: datetime) -> str:
    """The lapse this check-in answers: the last contact and how many cadences ago.

    After a deleted draft's cool-down, the next lapse gives a new key; until
    the person is contacted, the same lapse always gives the same key.
    """
    last = contact.last_contact
    if last is None:
        return "never"
    lapse = max(1, int((now - last) / cadence))
    return f"{iso(last)}#{lapse}"


def _open_and_cooling(ledger: Ledger, now: datetime, cooldown: timedelta) -> tuple[set[int], set[int]]:
    return ledger.people_with_open_intents(), ledger.people_deleted_since(now - cooldown)


def assess(ledger: Ledger, settings: Settings, now: datetime, *, imported: bool = False) -> list[Standing]:
    """Every tracked person's standing, most urgent first; with ``imported``, the people an import
    added whom you have not written to or met yet, too (never due: see core/imports.py)."""
    d = settings.drafting
    open_ids, cooling = _open_and_cooling(ledger, now, d.cooldown)
    out = []
    is_me = _my_aliases(settings)
    for c in contacts(ledger, settings, now):
        if is_me(c):
            continue
        cadence = cadence_for(c, settings)
        if c.awaiting_reply:
            why = f"wrote to you {c.received_count} times; you have not replied (not drafted: never written to)"
            out.append(Standing(c, cadence, False, why, 0.0, 0.0))
            continue
        if not c.tracked:
            if imported and c.imported:
                out.append(Standing(c, cadence, False, "imported; no note until you write to or meet them", 0.0, 0.0))
            continue
        last = c.last_contact
        overdue = (now - last) / cadence if last else 1.0
        due, reason = _due(c, last, cadence, now, d.upcoming_window, open_ids, cooling)
        out.append(Standing(c, cadence, due, reason, overdue, overdue * group_weight(c, settings)))
    out.sort(key=lambda s: (not s.due, -s.priority, s.contact.display_name))
    return out


def _my_aliases(settings: Settings) -> Callable[[Contact], bool]:
    """Is this ledger person really me: my name, or my name at my own domain ("kaminski@", "vkamins@")?

    A cheap look at the domain and the name first: `status` asks it of every person.
    """
    me = settings.me
    domains = {a.rpartition("@")[2] for a in me.addresses}
    last = me.name.replace(",", " ").split()[-1].lower() if me.name.split() and "," not in me.name else (
        me.name.partition(",")[0].strip().lower()
    )

    at_mine = tuple("@" + d for d in domains)

    def is_me(c: Contact) -> bool:
        if c.configured or not last:
            return False
        near = last in c.name.lower() or any(e.endswith(at_mine) for e in c.emails)
        return near and any(looks_like_me(e, c.name, me.name, me.addresses) for e in c.emails or [""])

    return is_me


def _due(
    c: Contact,
    last: datetime | None,
    cadence: timedelta,
    now: datetime,
    window: timedelta,
    open_ids: set[int],
    cooling: set[int],
) -> tuple[bool, str]:
    if c.profile and c.profile.do_not_contact:
        return False, "do not contact"
    if c.snoozed_until and c.snoozed_until > now:
        return False, f"snoozed until {c.snoozed_until:%Y-%m-%d}"
    if c.person_id in open_ids:  # said before "due in": an introduction ask waits even for someone not due
        return False, "a draft is waiting in Drafts"
    if last and last + cadence > now:
        return False, f"due in {(last + cadence - now).days}d"
    if c.skipped_at and c.skipped_at + cadence > now:
        return False, f"skipped on {c.skipped_at:%Y-%m-%d}; due again in {(c.skipped_at + cadence - now).days}d"
    if c.next_meeting and c.next_meeting <= now + window:
        return False, f"meeting on {c.next_meeting:%Y-%m-%d}"
    if c.person_id in cooling:
        return False, "draft deleted recently (cool-down)"
    if last is None:
        return True, "never in touch"
    return True, f"{(now - last).days}d since last contact; cadence {cadence.days}d"


def find_hook(ledger: Ledger, standing: Standing, now: datetime) -> Hook | None:
    """The most specific thing a note to this person can mention, or None."""
    latest = _latest_titles(ledger, [standing.contact.person_id], now)
    return _pick_hook(ledger, standing, *latest.get(standing.contact.person_id, (None, None)), now)


def _pick_hook(
    ledger: Ledger,
    standing: Standing,
    meeting: tuple[str, str] | None,
    thread: tuple[str, str] | None,
    now: datetime,
    facts: _Facts | None = None,
) -> Hook | None:
    """The user's own words first (``say``, then a note the reader could carry), else a shared moment.

    Only the latest meeting and the latest mail are looked at (older ones would read oddly),
    and only one that names a moment we shared, in a small meeting or a thread they wrote in
    (``_moment``). No mutual hook: that two people shared a Cc list says nothing about either.
    """
    c = standing.contact
    note = read_profile_note(c)
    if note is not None:
        return Hook("note", note.preview(), note=note)
    candidates = []
    for kind, title, at in _titles_to_read(meeting, thread):
        moment = _moment(ledger, c, kind, title, at, facts)
        if moment is not None:
            candidates.append(Hook(kind, moment.phrase, datetime.fromisoformat(at), moment))
    if candidates:
        hook = max(candidates, key=lambda h: h.at or now)
        last = c.last_contact
        # "It's been five months since the talk" when they wrote last month is not true: the moment
        # must be where we left off (within a few days of the last contact either way).
        if hook.at is not None and last is not None and last - hook.at > _LEFT_OFF:
            return None
        return hook
    return None


_LEFT_OFF = timedelta(days=3)


def _titles_to_read(meeting: tuple[str, str] | None, thread: tuple[str, str] | None) -> list[tuple[str, str, str]]:
    """(kind, title, at) of the latest meeting and mail whose words may name a moment."""
    from .moments import could_be_moment

    return [
        (kind, row[0], row[1])
        for kind, row in (("meeting", meeting), ("thread", thread))
        if row is not None and could_be_moment(row[0]) and is_specific(row[0])
    ]


# "Never a thread of more than about five people": a moment is shared by a few.
MOMENT_MAX_PEOPLE = 5


# Per (person, kind, title, at): the message or meeting's channel and thread, how many people were on
# it, whether they ever wrote in the thread, and who wrote its first message.
_Facts = dict[tuple[int, str, str, str], tuple[str, str, int, int, str | None]]


def _moment(
    ledger: Ledger, c: Contact, kind: str, title: str, at: str, facts: _Facts | None = None
) -> Moment | None:
    """The moment a title names, if the meeting was small or the thread was two-sided; else None.

    Who sent the photos or wrote about the new role is read from the thread's first message,
    not its latest reply. A recurring meeting is no hook on its own: "It's been six weeks since
    our last monthly session" said nothing a reader would send (three blind reviews). ``facts``:
    what ``_moment_facts`` read for the whole plan at once; without it, this one is read.
    """
    from .moments import MINE_OR_THEIRS, read_moment

    names = _names_of(c)
    moment = read_moment(title, met=kind == "meeting", sent_by_me=False, names=names)
    if moment is None:
        return None  # the words name no moment: no need to look at who was there
    key = (c.person_id, kind, title, at)
    found = (facts if facts is not None else _moment_facts(ledger, [key])).get(key)
    if found is None:
        return None
    channel, thread, others, they_wrote, first = found
    if others > MOMENT_MAX_PEOPLE - 1:  # the people besides me
        return None
    if kind == "thread" and channel == "sent" and not they_wrote:
        return None  # a thread they never answered is not an exchange
    if moment.kind not in MINE_OR_THEIRS:
        return moment  # a meal, a trip, an event: ours, whoever wrote first
    if kind == "thread" and thread and first:
        channel = first
    return read_moment(title, met=kind == "meeting", sent_by_me=channel == "sent", names=names)


def _moment_facts(ledger: Ledger, keys: list[tuple[int, str, str, str]]) -> _Facts:
    """What ``_moment`` needs to know of each title, for many people in one statement."""
    if not keys:
        return {}
    rows = ledger.moment_facts(keys)
    return {keys[k]: (channel, thread, others, they_wrote, first) for k, channel, thread, others, they_wrote, first
            in rows}


def _names_of(c: Contact) -> frozenset[str]:
    """Their name's words ("fiona", "hélène") and what I call them ("mum"): a title naming them is said without."""
    words = {w.lower() for w in re.findall(r"[^\W\d_]{2,}", c.display_name) if "@" not in c.display_name}
    if c.profile and c.profile.greet:
        words |= {w.lower() for w in re.findall(r"[^\W\d_]{2,}", c.profile.greet)}
    return frozenset(words)


def _latest_titles(
    ledger: Ledger, person_ids: list[int], now: datetime
) -> dict[int, tuple[tuple[str, str] | None, tuple[str, str] | None]]:
    """Per person: (title, at) of the latest past meeting and of the latest mail, in one statement.

    Each channel's latest row is kept in ``channel_totals`` (ledger schema v3); only a
    channel whose latest row is dated after ``now`` (a meeting ahead) is looked up in the
    interactions, one seek down the (person, channel, at) index. "Latest" is the greatest
    (at, title), as in ``channel_totals``. ``at`` is fixed-width ISO text (20 characters),
    so it is packed in front of the title and the later mail is the greater string.
    """
    rows = ledger.latest_titles(person_ids, now)
    return {pid: (_unpack(met), _unpack(max(sent or "", received or "") or None)) for pid, met, sent, received in rows}


def _unpack(packed: str | None) -> tuple[str, str] | None:
    return None if packed is None else (packed[20:], packed[:20])


def mutual_contacts(ledger: Ledger, person_id: int, by_id: dict[int, Contact], limit: int = 3) -> list[Contact]:
    """Tracked people who shared a thread or a meeting with this person, most often first."""
    return _mutual_for(ledger, [person_id], by_id, limit).get(person_id, [])


def _mutual_for(
    ledger: Ledger, person_ids: list[int], by_id: dict[int, Contact], limit: int = 3
) -> dict[int, list[Contact]]:
    """``mutual_contacts`` for many people: one join, counted here rather than grouped by SQLite.

    Per person: the 20 most frequent companions (ties by id), of them the tracked ones with a
    first name a note can use ("you and Jo", never "you and ,"), the first ``limit``.
    """
    shared: dict[int, Counter[int]] = {pid: Counter() for pid in person_ids}
    rows = ledger.companion_rows(person_ids)
    for pid, other in rows:
        shared[pid][other] += 1
    out = {}
    for pid, counts in shared.items():
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        found = (by_id[other] for other, _ in top if other in by_id and by_id[other].tracked)
        out[pid] = list(islice((c for c in found if c.first_name), limit))
    return out


def in_quiet_hours(settings: Settings, now: datetime) -> bool:
    q = settings.drafting.quiet_hours
    return bool(q and q.contains(now.astimezone(settings.me.zone).time()))


def plan_cycle(ledger: Ledger, settings: Settings, now: datetime) -> Plan:
    """This cycle's notes, within the weekly budget and outside quiet hours.

    Every due person gets their hook (``needs_note`` and ``over_budget`` are exact), but
    mutual contacts, a join over everyone they shared a thread or meeting with, are
    looked up only where they can matter: for a person with no note and no specific
    title (the hook may be them), and for this cycle's notes (their template may name
    them). An over-budget person with a note, meeting or thread hook keeps ``mutual``
    empty. On 50,000 people that is a sixth of the due list (benchmarks/core.py).
    """
    standings = assess(ledger, settings, now)
    by_id = {s.contact.person_id: s.contact for s in standings}
    used = ledger.drafts_created_since(now - timedelta(days=7), BUDGETED_KINDS)
    budget_left = max(0, settings.drafting.budget_per_week - used)
    quiet = in_quiet_hours(settings, now)
    notes: list[PlannedNote] = []
    needs_note: list[Standing] = []
    over_budget: list[Standing] = []
    due = _one_per_person([s for s in standings if s.due], [s for s in standings if not s.due])
    _hooks(ledger, due, by_id, now)
    mark_suggested(ledger, settings, due, now, hooked_only=True)
    suggested = [s for s in due if s.suggested]
    due = [s for s in due if not s.suggested]
    last_from_them = _latest_received(ledger, [s.contact.person_id for s in due], now)
    for s in due:
        held = _held_back(s, last_from_them.get(s.contact.person_id, ""), now)
        if held:
            s.hook = None
            s.reason += "; " + held
        if s.hook is None:
            if not held and (advice := _note_advice(s.contact)):
                s.reason += "; " + advice
            needs_note.append(s)
        elif quiet or len(notes) >= budget_left:
            over_budget.append(s)
        else:
            kind = note_kind(s, settings, now)
            period = checkin_period(s.contact, s.cadence, now)
            notes.append(PlannedNote(s, kind, period, intent_key(kind, canonical_address(s.contact), period)))
    _fill_mutual(ledger, [n.standing for n in notes if not n.standing.mutual], by_id)
    return Plan(now, standings, notes, needs_note, over_budget, budget_left, quiet, suggested)


def _one_per_person(due: list[Standing], not_due: list[Standing]) -> list[Standing]:
    """The due, one per person: ledger people who are one person at two addresses get one note.

    ``relations.same_person_marks`` says who they are ("Shapiro, Richard" at rshapiro@ and
    richard.shapiro@enron.com). Only the most urgent is kept, and none if the other is not due
    (in touch recently, or a draft is waiting). The not-due are marked only where a word of
    their name or a local part meets one of the due's: on 50,000 people most are not looked at.
    """
    marks = [same_person_marks(s.contact.display_name, s.contact.emails) for s in due]
    words = {w for ms in marks for m in ms for w in _mark_words(m)}
    seen: set[str] = set()
    for s in not_due:
        c = s.contact
        near = any(e.partition("@")[0] in words for e in c.emails) or any(
            w in words for w in c.display_name.lower().replace(",", " ").split()
        )
        if near:
            seen |= same_person_marks(c.display_name, c.emails)
    keep = []
    for s, ms in zip(due, marks, strict=True):
        if ms & seen:
            continue
        seen |= ms
        keep.append(s)
    return keep


def _mark_words(mark: str) -> tuple[str, ...]:
    """The words a mark was made from: a name's last word, or a local part."""
    if mark.startswith("local:"):
        return (mark[6:],)
    name = mark.partition("@")[0].rstrip("~")
    return (name.rpartition(" ")[2],)


def mark_suggested(
    ledger: Ledger, settings: Settings, standings: list[Standing], now: datetime, *, hooked_only: bool = False
) -> None:
    """Set ``suggested`` on the due who are neither named nor close: they are listed, never written to.

    A note goes to someone the user named under [[people]] or imported, or with a strong
    personal history (``[drafting.strong_history]``: two-way mail or meetings among a few
    people, over months). With ``hooked_only`` (the plan), an unnamed person with no hook is a
    suggestion without looking further (naming them, with a note, is the advice either way),
    and the history is read only for those a note could be written to: on 50,000 people that
    is the difference between reading every due person's mail and reading a few.
    """
    unnamed = [s for s in standings if s.due and not _named(s.contact)]
    if not unnamed:
        return
    rule = settings.drafting.strong_history
    # The totals bound the small-thread counts from above: most people are ruled out without a query.
    ids = [
        s.contact.person_id for s in unnamed
        if ((s.contact.sent_count >= rule.sent and s.contact.received_count >= rule.received)
            or s.contact.met_count >= rule.meetings)
        and (s.hook is not None or not hooked_only)
    ]
    history = personal_history(ledger, ids, rule.small + 1, now) if ids and settings.drafting.unnamed else {}
    for s in unnamed:
        h = history.get(s.contact.person_id)
        s.suggested = h is None or not h.is_strong(rule)
        if s.suggested:
            s.hook = None


def _named(c: Contact) -> bool:
    return c.configured or c.imported


def _held_back(s: Standing, theirs: str, now: datetime) -> str:
    """Why no check-in goes to this due person now, whatever the hook ("" when nothing holds it back).

    ``theirs``: the subject of their latest mail to me. The reasons are said in `status`.
    """
    from .drafting import is_family_group
    from .moments import says_goodbye
    from .notes import big_news, is_deceased, is_minor, says_wait

    c = s.contact
    note = c.profile.note if c.profile else ""
    say = c.profile.say.strip() if c.profile else ""
    if is_deceased(note):
        return "your note says they have died: set do_not_contact = true under [[people]] to stop listing them"
    if is_minor(note) and not is_family_group(c.profile.group if c.profile else ""):
        return "your note says they are under 18: circleback writes no note to a child (write to them, or to a parent)"
    if says_goodbye(theirs) and len(c.emails) < 2:  # with two addresses, we write to the newer one
        return "their last mail said goodbye: that address may be dead (add a newer one to [[people]])"
    if c.ball_in_my_court and theirs and not has_reply_prefix(theirs):  # their own mail, not a reply to mine
        if "?" in theirs:
            return "their last mail asked you something and has no answer: reply to it instead"
        # "What's new with you?" under an unanswered mail about the generator reads as if I never read it;
        # a note whose hook is that very mail ("since you sent me your Stockholm photos") answers it.
        answers_it = s.hook is not None and s.hook.kind == "thread" and s.hook.at == c.last_received
        recent = c.last_received is not None and now - c.last_received <= _UNANSWERED_FOR
        if recent and not answers_it:
            return "they wrote last and have no answer from you: reply to that instead"
    if s.hook is None:
        return ""
    if is_careful(c) and not say:  # "Thanks again for your photos" to an aunt whose husband just had a stroke
        return _SENSITIVE_ADVICE
    if says_wait(note):
        return "your note says to wait for them to get in touch"
    if big_news(note):  # a birth, a wedding: a stock note would be worse than none
        return "your note records big news for them: this one is yours to write"
    if not c.greeting_name:
        return "no name to greet them by (add `name` under [[people]])"
    return ""


# How long their unanswered mail holds a note back: after half a year a fresh note beats a late reply.
_UNANSWERED_FOR = timedelta(days=180)
_SENSITIVE_ADVICE = ("your note touches something sensitive (health, loss, money, work, the law, a secret): "
                     "circleback neither quotes it nor writes around it; put your own words under `say`")


def _note_advice(c: Contact) -> str:
    """Why the user's own note gave no hook, said in `status` ("" with no note, or with `say`)."""
    from .notes import FOREIGN, SENSITIVE

    p = c.profile
    if p is None or p.say.strip() or not p.note.strip():
        return ""
    shape = _read(p.note.strip(), frozenset(w.lower() for w in c.display_name.split()[:1])).shape
    if shape == SENSITIVE:
        return _SENSITIVE_ADVICE
    if shape == FOREIGN:
        return "your note is not in English: put your words to them under `say`"
    return "your note cannot be said back as it is (`circleback notes` says why)"


def is_careful(c: Contact) -> bool:
    """Does the user's note say they are going through something hard (no breezy lines, no drinks)?"""
    from .notes import SENSITIVE

    return bool(c.profile and c.profile.note.strip()) and _read(c.profile.note.strip(), frozenset()).shape == SENSITIVE


def _latest_received(ledger: Ledger, person_ids: list[int], now: datetime) -> dict[int, str]:
    """The subject of each person's latest mail to me ("My last day at Acme", "Christmas do at ours?")."""
    if not person_ids:
        return {}
    return ledger.latest_received_titles(person_ids, now)


def _hooks(ledger: Ledger, due: list[Standing], by_id: dict[int, Contact], now: datetime) -> None:
    """Set ``hook`` on each due standing: what ``_pick_hook`` gives with all its facts.

    The latest titles are read only for people without a note the reader could carry.
    """
    from .moments import read_moment

    titled = [s.contact.person_id for s in due if read_profile_note(s.contact) is None]
    latest = _latest_titles(ledger, titled, now) if titled else {}
    # Every title that reads as a moment is looked up in one statement, not one query each.
    keys = [
        (pid, kind, title, at)
        for pid in titled
        for kind, title, at in _titles_to_read(*latest.get(pid, (None, None)))
        if read_moment(title, met=kind == "meeting", sent_by_me=False, names=_names_of(by_id[pid])) is not None
    ]
    facts = _moment_facts(ledger, keys)
    for s in due:
        s.hook = _pick_hook(ledger, s, *latest.get(s.contact.person_id, (None, None)), now, facts)


def read_profile_note(c: Contact) -> ReadNote | None:
    """The person's ``say``, else their ``note`` as the reader carries it; None if neither can be quoted."""
    from .notes import read_say

    p = c.profile
    if p is None:
        return None
    if p.say.strip():
        return read_say(p.say)
    if not p.note.strip():
        return None
    note = _read(p.note, frozenset(w.lower() for w in c.display_name.split()[:1]))
    return note if note.quotable else None


@lru_cache(maxsize=4096)
def _read(text: str, names: frozenset[str]) -> ReadNote:
    from .notes import read_note

    return read_note(text, names)


def _fill_mutual(ledger: Ledger, standings: list[Standing], by_id: dict[int, Contact]) -> None:
    if not standings:
        return
    mutual = _mutual_for(ledger, [s.contact.person_id for s in standings], by_id)
    for s in standings:
        s.mutual = mutual[s.contact.person_id]


def canonical_address(c: Contact) -> str:
    """What names this person in an outbox key: first address, else LinkedIn URL, else the ledger id."""
    if c.emails:
        return c.emails[0]
    if c.profile and c.profile.linkedin:
        return c.profile.linkedin
    return str(c.person_id)


def note_kind(s: Standing, settings: Settings, now: datetime) -> str:
    """A LinkedIn-style note after a long silence, for the configured groups, or with no address."""
    c = s.contact
    p = c.profile
    if not c.emails:
        return LINKEDIN
    if p and p.group and p.group in settings.drafting.linkedin_groups:
        return LINKEDIN
    last = c.last_contact
    if last is not None and now - last >= settings.drafting.reconnect_after:
        return LINKEDIN
    return CHECKIN
