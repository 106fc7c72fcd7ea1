"""Headers into the ledger: each counted message or meeting becomes one interaction per person."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter

from circleback.connectors.base import (
    Direction,
    EventRecord,
    MailRecord,
    SyncResult,
)

from ..store.ledger import Interaction, Ledger
from .classify import Identity, list_addresses_in, mail_counterparts, meeting_counterparts


@dataclass(slots=True)
class IngestCounts:
    records: int = 0
    counted: int = 0
    ignored: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    drafts_sent: list[str] = field(default_factory=list)  # keys of our drafts found in Sent: the user sent them


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
    lists = {a: (r.list_id, r.timestamp) for r in result.records for a in list_addresses_in(r)}
    who.lists |= lists.keys() | ledger.list_addresses()
    found = [(record, *mail_counterparts(record, who)) for record in result.records]
    with ledger.transaction():
        ledger.learn_list_addresses(lists)
        # No forgetting on a full resync (result.full): a message deleted since was still
        # contact, as the incremental sync, which ignores deletions, counted it (docs/DESIGN.md).
        person_of = _people_oldest_first(ledger, [(record.timestamp, people) for record, _, people in found])
        via: dict[int, tuple[str, datetime]] = {}
        for record, channel, people in found:
            # One of our drafts, sent with our header intact: close its intent (and say so once).
            sent_draft = record.circleback_key if record.direction is Direction.SENT else ""
            thread = record.thread_id or record.message_id
            if sent_draft and ledger.sent_copy_seen(sent_draft, record.timestamp, thread):
                counts.drafts_sent.append(sent_draft)
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
