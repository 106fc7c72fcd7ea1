"""What becomes of a draft after the outbox wrote it, and the user's own say over a person.

The outbox notices sent and deleted drafts. This module adds the rest of the
lifecycle (docs/DESIGN.md, "Drafts and the outbox", step 5):

* **edited** - the draft in Drafts no longer has the bytes we wrote: the user
  made it theirs, and circleback never touches it again;
* **stale** - the draft is still waiting but no longer fits: the person wrote to
  the user after it appeared, or the user wrote to them (another mail), or it is
  an opt-in ask or introduction whose introduction was declined or expired. Shown
  in ``status`` with the reason; with ``withdraw_stale = true`` the draft is
  removed, but only if the connector can delete drafts (a :class:`DraftDeleter`)
  and only if the user never edited it.

Withdrawal follows the outbox's rule: the decision is committed first
(state ``withdrawn``), the draft box is touched second, and a withdrawn draft
still present next cycle is removed then. So a crash can delay a withdrawal,
never turn it into a "user deleted" cool-down.

It also holds what ``snooze``, ``skip`` and ``nudge`` do, as plain functions.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from circleback.connectors.base import DraftBox, DraftChangeCheck, DraftDeleter, DraftRef

from ..config import Settings
from ..errors import CirclebackError, DraftWaiting, PersonNotFound
from ..store.ledger import Ledger
from ..store.outbox import OutboxEntry, OutboxState
from .contacts import Contact, cadence_for, contacts, short_link
from .drafting import Draft, compose
from .intros import IntroState
from .kinds import CHECKIN, LINKEDIN, NUDGE
from .names import folded
from .outbox import about
from .planner import Hook, PlannedNote, Standing, canonical_address, intent_key
from .templating import TemplateRenderer

log = logging.getLogger(__name__)

# Keep-in-touch notes go stale when either side writes first; an opt-in ask or an
# introduction does not: it is about someone else, and the user still means it, until
# the introduction is declined or expires.
STALE_KINDS = (CHECKIN, LINKEDIN, NUDGE)
THEY_WROTE, YOU_WROTE, INTRO_CLOSED = "they wrote first", "you wrote to them since", "the introduction was called off"
_CLOSED_INTROS = (IntroState.DECLINED, IntroState.EXPIRED)


@dataclass(slots=True)
class LifecycleReport:
    stale: list[OutboxEntry] = field(default_factory=list)  # waiting in Drafts, but they wrote first
    edited: list[OutboxEntry] = field(default_factory=list)  # the user changed it: left alone
    withdrawn: list[OutboxEntry] = field(default_factory=list)  # removed this cycle


def stale_drafts(ledger: Ledger, account: str | None = None) -> dict[str, tuple[OutboxEntry, str]]:
    """Drafts still waiting that no longer fit, by key, each with why (the first reason found)."""
    found: dict[str, tuple[OutboxEntry, str]] = {}
    for entries, why in (
        (ledger.answered_drafts(STALE_KINDS, account), THEY_WROTE),
        (ledger.overtaken_drafts(STALE_KINDS, account), YOU_WROTE),
        (ledger.drafts_of_closed_intros(_CLOSED_INTROS, account), INTRO_CLOSED),
    ):
        for entry in entries:
            found.setdefault(entry.key, (entry, why))
    return dict(sorted(found.items(), key=lambda kv: (kv[1][0].created_at, kv[0])))


def stale_entries(ledger: Ledger, account: str | None = None) -> list[OutboxEntry]:
    """The drafts of :func:`stale_drafts`, oldest first."""
    return [entry for entry, _ in stale_drafts(ledger, account).values()]


def stale_summary(ledger: Ledger) -> str:
    """" (2 stale: they wrote first)" or " (3 stale: 2 they wrote first, 1 the introduction was called off)"."""
    whys = Counter(why for _, why in stale_drafts(ledger).values())
    if not whys:
        return ""
    if len(whys) == 1:
        ((why, n),) = whys.items()
        return f" ({n} stale: {why})"
    return f" ({whys.total()} stale: {', '.join(f'{n} {why}' for why, n in whys.most_common())})"


def is_unedited(box: DraftBox, entry: OutboxEntry) -> bool | None:
    """True when the draft still holds exactly our bytes; None when it is gone."""
    if not entry.ref:
        return None
    ref = DraftRef(entry.account, entry.ref, entry.key)
    if isinstance(box, DraftChangeCheck):  # a box that reads drafts back as headers only (Gmail)
        return box.draft_unchanged(ref, entry.message)
    found = box.get_draft(ref)
    if found is None:
        return None
    return found == entry.message


def review(
    ledger: Ledger, box: DraftBox, account: str, settings: Settings, now: datetime, report: LifecycleReport
) -> None:
    """Mark stale drafts; with ``withdraw_stale``, remove the ones the user never touched."""
    can_delete = isinstance(box, DraftDeleter)  # only some connectors can
    withdraw = settings.drafting.withdraw_stale and can_delete
    for entry, why in stale_drafts(ledger, account).values():
        if not withdraw:
            report.stale.append(entry)
            continue
        unedited = is_unedited(box, entry)
        if unedited is None:
            continue  # gone already: the outbox decides sent or deleted
        if not unedited:
            report.edited.append(entry)
            report.stale.append(entry)
            continue
        with ledger.transaction():
            ledger.close_intent(entry.key, OutboxState.WITHDRAWN, now)
        _delete(ledger, box, entry, why)
        report.withdrawn.append(entry)
    if can_delete:
        _finish_withdrawals(ledger, box, account)


def _finish_withdrawals(ledger: Ledger, box: DraftBox, account: str) -> None:
    """A withdrawal committed just before a crash: its draft may still be there."""
    for entry in ledger.outbox(states=(OutboxState.WITHDRAWN,), account=account):
        if is_unedited(box, entry):
            _delete(ledger, box, entry, "finishing a withdrawal")


def _delete(ledger: Ledger, box: DraftBox, entry: OutboxEntry, why: str) -> None:
    assert entry.ref and isinstance(box, DraftDeleter)
    box.delete_draft(DraftRef(entry.account, entry.ref, entry.key))
    log.info("withdrew the %s from Drafts: %s", about(ledger, entry), why)


# -- the user's say over one person -------------------------------------------------------


def find_person(ledger: Ledger, settings: Settings, query: str, now: datetime) -> Contact:
    """The one person an address, a name or a unique part of a name points to."""
    q = folded(query.strip())
    people = contacts(ledger, settings, now)
    link = short_link(query) if "linkedin.com/" in q else ""
    handled = [c for c in people if q == c.handle or q in c.emails or (link and link == c.handle)
               or q == f"#{c.person_id}"]
    if len(handled) == 1:
        return handled[0]
    exact = [c for c in people if folded(c.display_name) == q]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [c for c in people if q and q in folded(c.display_name)]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise PersonNotFound(f"no person matches {query!r}: give an address or a name from `circleback status`")
    names = ", ".join(sorted(f"{c.display_name} ({c.handle})" for c in partial)[:6])
    raise PersonNotFound(f"{query!r} matches several people: {names}; give the one in brackets")


def snooze(
    ledger: Ledger, settings: Settings, query: str, length: timedelta, now: datetime
) -> tuple[Contact, datetime]:
    person = find_person(ledger, settings, query, now)
    until = now + length
    with ledger.transaction():
        ledger.set_snooze(person.person_id, until)
    return person, until


def skip(ledger: Ledger, settings: Settings, query: str, now: datetime) -> tuple[Contact, datetime | None]:
    """Let this lapse go: the person is due again one cadence from now, as if just in touch.

    Returns the person and, when they are not due (nothing to let go, nothing done), when they will be.
    """
    person = find_person(ledger, settings, query, now)
    cadence = cadence_for(person, settings)
    last = max((t for t in (person.last_contact, person.skipped_at) if t), default=None)
    if last is not None and last + cadence > now:
        return person, last + cadence
    with ledger.transaction():
        ledger.set_skipped(person.person_id, now)
    return person, None


def unsnooze(ledger: Ledger, settings: Settings, query: str, now: datetime) -> tuple[Contact, bool]:
    """Clear a snooze; whether there was one to clear."""
    person = find_person(ledger, settings, query, now)
    was = person.snoozed_until is not None and person.snoozed_until > now
    with ledger.transaction():
        ledger.set_snooze(person.person_id, None)
    return person, was


def nudge_note(contact: Contact, settings: Settings, about: str, now: datetime) -> PlannedNote:
    about = " ".join(about.split())
    if not about:
        raise CirclebackError('nudge needs --about "a link or a topic": it is what the note is about')
    if not contact.emails:
        raise CirclebackError(f"{contact.display_name} has no address to write to; add one under [[people]] emails")
    # The same person, topic and day give the same key: running the command twice drafts once.
    period = f"{now.astimezone(settings.me.zone):%Y-%m-%d}:{hashlib.sha256(about.encode()).hexdigest()[:12]}"
    standing = Standing(contact, cadence_for(contact, settings), True, "nudge", 0.0, 0.0, Hook("about", about))
    return PlannedNote(standing, NUDGE, period, intent_key(NUDGE, canonical_address(contact), period), about)


def plan_nudge(
    ledger: Ledger,
    settings: Settings,
    renderer: TemplateRenderer,
    query: str,
    about: str,
    account: str,
    now: datetime,
) -> tuple[Draft, bool]:
    """Render and commit a nudge intent (outside the budget); (draft, newly added).

    DraftWaiting if another draft to the person is still unsent; the same nudge again is
    not another draft: it gives (draft, False).
    """
    person = find_person(ledger, settings, query, now)
    if person.profile and person.profile.do_not_contact:
        raise CirclebackError(f"{person.display_name} is marked do_not_contact in your config")
    note = nudge_note(person, settings, about, now)
    waiting = waiting_draft(ledger, person.person_id)
    if waiting is not None and waiting.key != note.key:
        raise DraftWaiting(person, waiting)
    draft = compose(ledger, settings, renderer, note, now)
    with ledger.transaction():
        added = ledger.add_intent(
            key=note.key, person_id=person.person_id, kind=NUDGE, period=note.period, account=account,
            recipient=draft.recipient.email, message_id=draft.message_id, message=draft.message, now=now,
        )  # fmt: skip
    return draft, added


def waiting_draft(ledger: Ledger, person_id: int) -> OutboxEntry | None:
    """The oldest draft to this person that the user has not sent or deleted yet, if any."""
    return ledger.oldest_open_entry(person_id)
