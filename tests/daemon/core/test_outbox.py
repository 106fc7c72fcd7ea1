"""The outbox rule: an intent is committed before the draft box is touched, and
reconciled by key before any retry, so no crash or failure duplicates or loses a draft."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from circleback.connectors.base import DraftRef
from circleback.daemon.core.outbox import Outbox, OutboxReport
from circleback.daemon.store.ledger import Interaction, Ledger
from tests.support.records import NOW


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, nothing is committed."""


class MemoryDraftBox:
    """A draft box that survives 'crashes' (it is the user's mailbox, not our process)."""

    def __init__(self) -> None:
        self.drafts: dict[str, tuple[str, bytes]] = {}
        self.fail_next = False
        self.created = 0

    def create_draft(self, message: bytes, key: str, reply_to: str | None = None) -> DraftRef:
        if self.fail_next:
            self.fail_next = False
            raise OSError("connection reset")
        self.created += 1
        ref = f"d{self.created}"
        self.drafts[ref] = (key, message)
        return DraftRef("box", ref, key)

    def list_drafts(self) -> list[DraftRef]:
        return [DraftRef("box", ref, key) for ref, (key, _) in self.drafts.items()]

    def get_draft(self, ref: DraftRef) -> bytes | None:
        found = self.drafts.get(ref.ref)
        return found[1] if found else None

    def draft_keys(self) -> list[str]:
        return [k for k, _ in self.drafts.values()]


def add_intent(ledger: Ledger, key: str, person: int | None = None, when=NOW) -> bool:
    with ledger.transaction():
        return ledger.add_intent(
            key=key,
            person_id=person,
            kind="checkin",
            period="p",
            account="box",
            recipient="ann@x.example",
            message_id=f"{key}@x",
            message=f"X-Circleback-Key: {key}\n\nhi\n".encode(),
            now=when,
        )


def crash_at(label: str):
    def checkpoint(seen: str) -> None:
        if seen == label:
            raise Crash(label)

    return checkpoint


def test_pending_intents_become_drafts_once(ledger: Ledger) -> None:
    box = MemoryDraftBox()
    assert add_intent(ledger, "k1") and add_intent(ledger, "k2")
    assert not add_intent(ledger, "k1")  # the same key is never planned twice
    report = OutboxReport()
    Outbox(ledger, box, "box").deliver(NOW, report)
    assert sorted(box.draft_keys()) == ["k1", "k2"]
    assert [e.state for e in ledger.outbox()] == ["drafted", "drafted"]
    Outbox(ledger, box, "box").deliver(NOW, OutboxReport())
    assert len(box.drafts) == 2


@pytest.mark.parametrize("label", ["before-create-draft", "after-create-draft", "after-record-ref"])
def test_a_crash_at_any_step_neither_duplicates_nor_loses(ledger: Ledger, tmp_path: Path, label: str) -> None:
    box = MemoryDraftBox()
    add_intent(ledger, "k1")
    with pytest.raises(Crash):
        Outbox(ledger, box, "box", crash_at(label)).deliver(NOW, OutboxReport())
    ledger.close()
    reopened = Ledger.open(tmp_path / "ledger.sqlite3")  # the restart
    report = OutboxReport()
    Outbox(reopened, box, "box").deliver(NOW, report)
    assert box.draft_keys() == ["k1"]
    (entry,) = reopened.outbox()
    assert entry.state == "drafted" and entry.ref == "d1"
    if label == "after-create-draft":
        assert [e.key for e in report.reconciled] == ["k1"]  # found by key, not created again


def test_a_failed_create_stays_pending_and_is_retried_after_reconciling(ledger: Ledger) -> None:
    box = MemoryDraftBox()
    add_intent(ledger, "k1")
    box.fail_next = True
    report = OutboxReport()
    Outbox(ledger, box, "box").deliver(NOW, report)
    assert "k1" in report.failed and box.draft_keys() == []
    (entry,) = ledger.outbox()
    assert entry.state == "pending" and entry.attempts == 1
    Outbox(ledger, box, "box").deliver(NOW, OutboxReport())
    assert box.draft_keys() == ["k1"]


def test_the_user_deleting_or_sending_a_draft_is_noticed(ledger: Ledger) -> None:
    box = MemoryDraftBox()
    with ledger.transaction():
        ann = ledger.person_for_address("ann@x.example", "Ann")
        bo = ledger.person_for_address("bo@x.example", "Bo")
    add_intent(ledger, "for-ann", ann)
    add_intent(ledger, "for-bo", bo)
    Outbox(ledger, box, "box").deliver(NOW, OutboxReport())
    box.drafts.clear()  # both gone from Drafts ...
    with ledger.transaction():  # ... but only Ann got mail from me since
        ledger.add_interactions("home", "sent-1", [Interaction(ann, "sent", NOW + timedelta(hours=2))])
    report = OutboxReport()
    Outbox(ledger, box, "box").observe(NOW + timedelta(hours=3), report)
    states = {e.key: e.state for e in ledger.outbox()}
    assert states == {"for-ann": "sent", "for-bo": "deleted"}
    assert [e.key for e in report.deleted] == ["for-bo"]


def test_a_late_sent_copy_turns_deleted_into_sent(ledger: Ledger) -> None:
    box = MemoryDraftBox()
    with ledger.transaction():
        ann = ledger.person_for_address("ann@x.example", "Ann")
    add_intent(ledger, "for-ann", ann)
    Outbox(ledger, box, "box").deliver(NOW, OutboxReport())
    box.drafts.clear()
    Outbox(ledger, box, "box").observe(NOW + timedelta(hours=1), OutboxReport())
    assert ledger.outbox()[0].state == "deleted"
    with ledger.transaction():
        ledger.add_interactions("home", "sent-1", [Interaction(ann, "sent", NOW + timedelta(minutes=30))])
    Outbox(ledger, box, "box").observe(NOW + timedelta(hours=2), OutboxReport())
    assert ledger.outbox()[0].state == "sent"


def test_the_log_names_the_draft_by_kind_and_person_never_by_key(
        ledger: Ledger, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="circleback.daemon.core.outbox")
    box = MemoryDraftBox()
    with ledger.transaction():
        ann = ledger.person_for_address("ann@x.example", "Ann Lee")
    add_intent(ledger, "checkin-818d0c2a", ann)
    add_intent(ledger, "checkin-ff0011", None)
    box.fail_next = True
    Outbox(ledger, box, "box").deliver(NOW, OutboxReport())
    Outbox(ledger, box, "box").deliver(NOW, OutboxReport())
    box.drafts.clear()
    Outbox(ledger, box, "box").observe(NOW + timedelta(hours=1), OutboxReport())
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("the check-in to Ann Lee was not written to Drafts") for m in said), said
    assert "the check-in to Ann Lee is gone from Drafts: deleted" in said
    assert "the check-in to ann@x.example is gone from Drafts: deleted" in said  # no name known: the address
    assert not any("818d" in m or "ff0011" in m for m in said)


class OutboxMachine(RuleBasedStateMachine):
    """Any interleaving of planning, crashes, failures, restarts and user deletions
    leaves at most one draft per key, and every intent drafted or closed in the end."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="outbox-sm-"))
        self.ledger = Ledger.open(self.dir / "l.db")
        self.box = MemoryDraftBox()
        self.deleted_by_user: set[str] = set()
        self.planned: set[str] = set()

    @rule(key=st.sampled_from(["a", "b", "c", "d"]))
    def plan(self, key: str) -> None:
        add_intent(self.ledger, key)
        self.planned.add(key)

    @rule(
        label=st.sampled_from(["before-create-draft", "after-create-draft", "after-record-ref", None]),
        fail=st.booleans(),
    )
    def cycle(self, label: str | None, fail: bool) -> None:
        self.box.fail_next = fail
        try:
            Outbox(self.ledger, self.box, "box", crash_at(label) if label else lambda _: None).deliver(
                NOW, OutboxReport()
            )
        except Crash:
            self.restart()
        self.box.fail_next = False

    def restart(self) -> None:
        self.ledger.close()
        self.ledger = Ledger.open(self.dir / "l.db")

    @precondition(lambda self: bool(self.box.drafts))
    @rule(data=st.data())
    def user_deletes(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(sorted(self.box.drafts)))
        key, _ = self.box.drafts.pop(ref)
        entry = self.ledger.outbox_entry(key)
        if entry and entry.state == "drafted" and entry.ref == ref:
            self.deleted_by_user.add(key)
        Outbox(self.ledger, self.box, "box").observe(NOW, OutboxReport())

    @invariant()
    def no_duplicate_drafts(self) -> None:
        keys = self.box.draft_keys()
        assert len(keys) == len(set(keys)), keys

    @invariant()
    def no_intent_lost(self) -> None:
        assert {e.key for e in self.ledger.outbox()} == self.planned

    @invariant()
    def deleted_drafts_are_not_recreated(self) -> None:
        for key in self.deleted_by_user:
            assert key not in self.box.draft_keys()
            entry = self.ledger.outbox_entry(key)
            assert entry is not None and entry.state == "deleted"

    def teardown(self) -> None:
        # After one clean cycle, everything planned and not deleted is in Drafts.
        Outbox(self.ledger, self.box, "box").deliver(NOW, OutboxReport())
        drafted = {e.key for e in self.ledger.outbox(states=("drafted",))}
        assert drafted == set(self.box.draft_keys())
        assert drafted | self.deleted_by_user == self.planned
        self.ledger.close()


TestOutboxMachine = OutboxMachine.TestCase
TestOutboxMachine.settings = hsettings(max_examples=60, stateful_step_count=25, deadline=None)
