"""The outbox: the rule that makes duplicate drafts impossible (docs/DESIGN.md).

1. An intent (deterministic key, rendered message) is committed before any
   call to the draft box.
2. Before creating a draft for a pending intent, the box is asked whether a
   draft carrying that key already exists (a crash between create and the
   commit of its ref leaves exactly that); if so, only the ref is recorded.
3. Draft creation is never retried blindly: a failed create stays pending
   and is reconciled on the next cycle.
4. Later cycles notice what the user did with drafted intents: sent (our key
   in Sent, or mail to the person since), or gone (deleted: cool-down).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from circleback.connectors.base import DraftBox, DraftRef

from ..store.ledger import Ledger
from ..store.outbox import OutboxEntry, OutboxState
from .kinds import KIND_LABELS

log = logging.getLogger(__name__)

Checkpoint = Callable[[str], None]


def _no_checkpoint(label: str) -> None:
    return None


def about(ledger: Ledger, entry: OutboxEntry) -> str:
    """A draft as the log names it: "check-in to Priya Shah", not its key."""
    who = (ledger.person_name(entry.person_id) if entry.person_id is not None else "") or entry.recipient
    return f"{KIND_LABELS.get(entry.kind, entry.kind)} to {who}"


@dataclass(slots=True)
class OutboxReport:
    created: list[OutboxEntry] = field(default_factory=list)
    reconciled: list[OutboxEntry] = field(default_factory=list)  # found already in Drafts
    sent: list[OutboxEntry] = field(default_factory=list)
    deleted: list[OutboxEntry] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # key -> reason (stays pending)


class Outbox:
    """One draft box's side of the outbox; reads the box's list once per cycle."""

    def __init__(
        self, ledger: Ledger, box: DraftBox, account: str, checkpoint: Checkpoint = _no_checkpoint
    ) -> None:
        self.ledger = ledger
        self.box = box
        self.account = account
        self.checkpoint = checkpoint
        self._drafts: dict[str, DraftRef] | None = None

    def drafts_by_key(self, refresh: bool = False) -> dict[str, DraftRef]:
        if self._drafts is None or refresh:
            self._drafts = {d.key: d for d in self.box.list_drafts() if d.key}
        return self._drafts

    def observe(self, now: datetime, report: OutboxReport) -> None:
        """Close drafted intents the user sent or deleted."""
        drafted = self.ledger.outbox(states=(OutboxState.DRAFTED,), account=self.account)
        present = self.drafts_by_key() if drafted else {}
        for entry in drafted:
            if entry.key in present:
                continue
            state = OutboxState.SENT if self._sent_since(entry) else OutboxState.DELETED
            with self.ledger.transaction():
                self.ledger.close_intent(entry.key, state, now)
            (report.sent if state == OutboxState.SENT else report.deleted).append(entry)
            log.info("the %s is gone from Drafts: %s", about(self.ledger, entry), state)
        self._upgrade_deleted_to_sent(now, report)

    def _sent_since(self, entry: OutboxEntry) -> bool:
        if entry.person_id is None:
            return False
        # Mail clients rewrite the Date when sending; allow a minute of clock skew.
        since = (entry.drafted_at or entry.created_at) - timedelta(minutes=1)
        return self.ledger.sent_to_since(entry.person_id, since)

    def _upgrade_deleted_to_sent(self, now: datetime, report: OutboxReport) -> None:
        """A Sent copy can arrive a sync later than the draft's disappearance."""
        for entry in self.ledger.outbox(states=(OutboxState.DELETED,), account=self.account):
            if entry.closed_at and entry.closed_at >= now - timedelta(days=2) and self._sent_since(entry):
                with self.ledger.transaction():
                    self.ledger.close_intent(entry.key, OutboxState.SENT, now)
                report.sent.append(entry)

    def deliver(self, now: datetime, report: OutboxReport) -> None:
        """Write every pending intent as a draft, reconciling by key first."""
        pending = self.ledger.outbox(states=(OutboxState.PENDING,), account=self.account)
        if not pending:
            return
        present = self.drafts_by_key()
        for entry in pending:
            found = present.get(entry.key)
            if found is not None:
                self._record(entry, found, now)
                report.reconciled.append(entry)
                continue
            with self.ledger.transaction():
                self.ledger.note_attempt(entry.key)
            self.checkpoint("before-create-draft")
            try:
                ref = self.box.create_draft(entry.message, entry.key)
            except Exception as exc:  # noqa: BLE001 - any failure leaves the intent pending, said once
                report.failed[entry.key] = f"{type(exc).__name__}: {exc}"
                log.warning("the %s was not written to Drafts (%s); will reconcile next cycle",
                            about(self.ledger, entry), exc)
                continue
            self.checkpoint("after-create-draft")
            present[entry.key] = ref
            self._record(entry, ref, now)
            report.created.append(entry)

    def _record(self, entry: OutboxEntry, ref: DraftRef, now: datetime) -> None:
        with self.ledger.transaction():
            self.ledger.mark_drafted(entry.key, ref.ref, now)
        self.checkpoint("after-record-ref")
