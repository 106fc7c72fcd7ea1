"""Who is due, what specific thing we could say to them, and this cycle's notes.

Due (DESIGN.md, "Cadence and planning"): last contact + cadence <= now, not
snoozed, no meeting with them inside the upcoming window, no open draft of
ours for them, and not inside the cool-down after the user deleted one.
"No hook, no draft": a due person with nothing specific to mention is listed
as needing a note instead of getting a generic one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import Settings
from .ledger import Ledger, iso, parse_iso
from .relations import Contact, cadence_for, contacts, group_weight

CHECKIN = "checkin"
LINKEDIN = "linkedin"  # "emphasize the link": short enough to paste as a LinkedIn note
NUDGE = "nudge"  # `circleback nudge`: asked for by the user, outside the budget
BUDGETED_KINDS = (CHECKIN, LINKEDIN)

_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|wg|tr|rif|r)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# Subjects and titles that say nothing about the person: not a hook.
_GENERIC = {
    "", "hi", "hello", "hey", "hi there", "(no subject)", "no subject", "question", "quick question",
    "update", "follow up", "follow-up", "following up", "thanks", "thank you", "meeting", "call",
    "catch up", "catch-up", "catchup", "sync", "test", "busy", "blocked", "hold", "1:1", "1-1",
    "one on one", "zoom", "teams meeting", "invitation", "fyi", "checking in", "ping",
}


def strip_reply_prefix(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject).strip()


def is_specific(text: str) -> bool:
    return strip_reply_prefix(text).strip(" .!?-").lower() not in _GENERIC


@dataclass(frozen=True, slots=True)
class Hook:
    kind: str  # note | meeting | thread | mutual
    text: str  # what the note can mention, for `plan` and `status`
    at: datetime | None = None


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
    mutual: list[Contact] = field(default_factory=list)


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
    open_ids = {
        pid
        for (pid,) in ledger.conn.execute(
            "SELECT DISTINCT person_id FROM outbox WHERE state IN ('pending', 'drafted') AND person_id IS NOT NULL"
        )
    }
    cooling = {
        pid
        for (pid,) in ledger.conn.execute(
            "SELECT DISTINCT person_id FROM outbox WHERE state = 'deleted' AND closed_at >= ?",
            (iso(now - cooldown),),
        )
    }
    return open_ids, cooling


def assess(ledger: Ledger, settings: Settings, now: datetime) -> list[Standing]:
    """Every tracked person's standing, most urgent first."""
    d = settings.drafting
    open_ids, cooling = _open_and_cooling(ledger, now, d.cooldown)
    out = []
    for c in contacts(ledger, settings, now):
        cadence = cadence_for(c, settings)
        if c.awaiting_reply:
            why = f"wrote to you {c.received_count} times; you have not replied (not drafted: never written to)"
            out.append(Standing(c, cadence, False, why, 0.0, 0.0))
            continue
        if not c.tracked:
            continue
        last = c.last_contact
        overdue = (now - last) / cadence if last else 1.0
        due, reason = _due(c, last, cadence, now, d.upcoming_window, open_ids, cooling)
        out.append(Standing(c, cadence, due, reason, overdue, overdue * group_weight(c, settings)))
    out.sort(key=lambda s: (not s.due, -s.priority, s.contact.display_name))
    return out


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
    if last and last + cadence > now:
        return False, f"due in {(last + cadence - now).days}d"
    if c.skipped_at and c.skipped_at + cadence > now:
        return False, f"skipped on {c.skipped_at:%Y-%m-%d}; due again in {(c.skipped_at + cadence - now).days}d"
    if c.next_meeting and c.next_meeting <= now + window:
        return False, f"meeting on {c.next_meeting:%Y-%m-%d}"
    if c.person_id in open_ids:
        return False, "a draft is waiting in Drafts"
    if c.person_id in cooling:
        return False, "draft deleted recently (cool-down)"
    if last is None:
        return True, "never in touch"
    return True, f"{(now - last).days}d since last contact; cadence {cadence.days}d"


def find_hook(ledger: Ledger, standing: Standing, now: datetime) -> Hook | None:
    """The most specific thing a note to this person can mention, or None."""
    c = standing.contact
    if c.profile and c.profile.note.strip():
        return Hook("note", c.profile.note.strip())
    meeting = ledger.conn.execute(
        "SELECT title, at FROM interactions WHERE person_id = ? AND channel = 'met' AND at <= ? "
        "ORDER BY at DESC LIMIT 10",
        (c.person_id, iso(now)),
    ).fetchall()
    thread = ledger.conn.execute(
        "SELECT title, at FROM interactions WHERE person_id = ? AND channel IN ('sent', 'received') "
        "ORDER BY at DESC LIMIT 10",
        (c.person_id,),
    ).fetchall()
    candidates = [
        Hook(kind, strip_reply_prefix(title), parse_iso(at))
        for kind, rows in (("meeting", meeting), ("thread", thread))
        for title, at in rows[:1]  # only the latest of each: older ones would read oddly
        if is_specific(title)
    ]
    if candidates:
        return max(candidates, key=lambda h: h.at or now)
    if standing.mutual:
        return Hook("mutual", ", ".join(m.display_name for m in standing.mutual))
    return None


def mutual_contacts(ledger: Ledger, person_id: int, by_id: dict[int, Contact], limit: int = 3) -> list[Contact]:
    """Tracked people who shared a thread or a meeting with this person, most often first."""
    rows = ledger.conn.execute(
        """
        SELECT b.person_id, COUNT(*) AS n FROM interactions a
        JOIN interactions b ON a.account = b.account AND a.source_id = b.source_id
             AND b.person_id != a.person_id
        WHERE a.person_id = ? GROUP BY b.person_id ORDER BY n DESC, b.person_id LIMIT 20
        """,
        (person_id,),
    )
    found = [by_id[pid] for pid, _ in rows if pid in by_id and by_id[pid].tracked]
    return found[:limit]


def in_quiet_hours(settings: Settings, now: datetime) -> bool:
    q = settings.drafting.quiet_hours
    return bool(q and q.contains(now.astimezone(settings.me.zone).time()))


def plan_cycle(ledger: Ledger, settings: Settings, now: datetime) -> Plan:
    """This cycle's notes, within the weekly budget and outside quiet hours."""
    standings = assess(ledger, settings, now)
    by_id = {s.contact.person_id: s.contact for s in standings}
    used = ledger.drafts_created_since(now - timedelta(days=7), BUDGETED_KINDS)
    budget_left = max(0, settings.drafting.budget_per_week - used)
    quiet = in_quiet_hours(settings, now)
    notes: list[PlannedNote] = []
    needs_note: list[Standing] = []
    over_budget: list[Standing] = []
    for s in standings:
        if not s.due:
            continue
        s.mutual = mutual_contacts(ledger, s.contact.person_id, by_id)
        s.hook = find_hook(ledger, s, now)
        if s.hook is None:
            needs_note.append(s)
        elif quiet or len(notes) >= budget_left:
            over_budget.append(s)
        else:
            kind = note_kind(s, settings, now)
            period = checkin_period(s.contact, s.cadence, now)
            notes.append(PlannedNote(s, kind, period, intent_key(kind, canonical_address(s.contact), period)))
    return Plan(now, standings, notes, needs_note, over_budget, budget_left, quiet)


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
