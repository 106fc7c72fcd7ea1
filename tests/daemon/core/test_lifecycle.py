"""The draft lifecycle after the outbox: stale, edited, withdrawn; snooze, skip and nudge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from circleback.connectors.base import DraftRef
from circleback.daemon.config import Settings
from circleback.daemon.core.engine import Engine
from circleback.daemon.core.lifecycle import (
    DraftWaiting,
    PersonNotFound,
    find_person,
    plan_nudge,
    skip,
    snooze,
    stale_drafts,
    stale_entries,
    stale_summary,
    unsnooze,
    waiting_draft,
)
from circleback.daemon.core.planner import plan_cycle
from circleback.daemon.core.templating import TemplateRenderer
from circleback.daemon.errors import CirclebackError, DraftsBusy
from circleback.daemon.store.ledger import Ledger
from circleback.daemon.store.outbox import OutboxState
from tests.support.boxes import Box
from tests.support.records import ME, NOW, days_ago, mail

ANN = "ann@x.example"
BO = "bo@x.example"




def make_settings(**drafting: object) -> Settings:
    return Settings.model_validate({
        "me": {"name": "Me Myself", "addresses": [ME]},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 10, **drafting},
        "people": [
            {"name": "Ann Lee", "emails": [ANN], "note": "your patience with my questions about sourdough"},
            {"name": "Bo Park", "emails": [BO], "note": "how you ran the Leeds meetup"},
        ],
    })


def run(ledger: Ledger, settings: Settings, box: Box, when=NOW):  # noqa: ANN001, ANN201
    return Engine(settings, ledger, {"box": box}).run_cycle(when)


def seeded_box() -> Box:
    box = Box()
    box.inbox += [
        mail("s1", sender=ME, to=(ANN,), when=days_ago(40), subject="Sourdough starter"),
        mail("s2", sender=ME, to=(BO,), when=days_ago(45), subject="Leeds meetup venue"),
    ]
    return box


def test_a_draft_goes_stale_when_the_person_writes_first_and_stays_by_default(ledger: Ledger) -> None:
    s = make_settings()
    box = seeded_box()
    run(ledger, s, box)
    assert len(box.drafts) == 2
    box.inbox.append(mail("r1", sender=ANN, when=NOW + timedelta(hours=2), subject="Long time!"))
    report = run(ledger, s, box, NOW + timedelta(hours=3))
    assert [e.recipient for e in report.lifecycle.stale] == [ANN]
    assert [e.recipient for e in stale_entries(ledger)] == [ANN]  # what `status` shows
    assert len(box.drafts) == 2 and report.lifecycle.withdrawn == []


def test_withdraw_stale_removes_only_untouched_drafts_and_starts_no_cool_down(ledger: Ledger) -> None:
    s = make_settings(withdraw_stale=True)
    box = seeded_box()
    run(ledger, s, box)
    ann_ref = next(r for r, (_, m) in box.drafts.items() if ANN.encode() in m)
    bo_ref = next(r for r in box.drafts if r != ann_ref)
    key, raw = box.drafts[bo_ref]
    box.drafts[bo_ref] = (key, raw.replace(b"Bo,", b"Bo, my friend,"))  # the user edited Bo's note
    box.inbox += [
        mail("r1", sender=ANN, when=NOW + timedelta(hours=1), subject="Sourdough news"),
        mail("r2", sender=BO, when=NOW + timedelta(hours=1), subject="Meetup again?"),
    ]
    report = run(ledger, s, box, NOW + timedelta(hours=2))
    assert [e.recipient for e in report.lifecycle.withdrawn] == [ANN]
    assert [e.recipient for e in report.lifecycle.edited] == [BO]
    assert list(box.drafts) == [bo_ref]  # the edited one is the user's now
    states = {e.recipient: e.state for e in ledger.outbox()}
    assert states == {ANN: "withdrawn", BO: "drafted"}
    # A withdrawal is not the user deleting our draft: no cool-down, no "deleted". (The user answers
    # Ann's mail; else the next note would walk past it and is held back.)
    box.inbox.append(mail("a1", sender=ME, to=(ANN,), when=NOW + timedelta(hours=3), subject="Re: Sourdough news"))
    later = run(ledger, s, box, NOW + timedelta(days=45))
    assert ANN in [d.recipient.email for d in later.drafts]


def test_withdrawal_needs_a_box_that_can_delete(ledger: Ledger) -> None:
    s = make_settings(withdraw_stale=True)
    box = seeded_box()
    del box.delete_draft
    run(ledger, s, box)
    box.inbox.append(mail("r1", sender=ANN, when=NOW + timedelta(hours=1), subject="Sourdough news"))
    report = run(ledger, s, box, NOW + timedelta(hours=2))
    assert len(box.drafts) == 2 and report.lifecycle.withdrawn == []
    assert [e.recipient for e in report.lifecycle.stale] == [ANN]


def test_a_withdrawal_interrupted_after_its_commit_finishes_next_cycle(ledger: Ledger) -> None:
    s = make_settings(withdraw_stale=True)
    box = seeded_box()
    run(ledger, s, box)
    box.inbox.append(mail("r1", sender=ANN, when=NOW + timedelta(hours=1), subject="Sourdough news"))
    real_delete = box.delete_draft

    def dies(ref: DraftRef) -> None:
        raise KeyboardInterrupt  # the process dies between the commit and the delete

    box.delete_draft = dies
    with pytest.raises(KeyboardInterrupt):
        run(ledger, s, box, NOW + timedelta(hours=2))
    assert {e.recipient: e.state for e in ledger.outbox()}[ANN] == "withdrawn"
    box.delete_draft = real_delete
    run(ledger, s, box, NOW + timedelta(hours=3))
    assert len(box.drafts) == 1 and ANN.encode() not in next(iter(box.drafts.values()))[1]
    assert {e.recipient: e.state for e in ledger.outbox()}[ANN] == "withdrawn"  # never "deleted"


def test_a_deleted_draft_of_any_kind_is_never_recreated_in_its_cool_down(ledger: Ledger) -> None:
    s = make_settings()
    box = seeded_box()
    run(ledger, s, box)
    box.drafts.clear()
    for days in (0.1, 10, 50):
        report = run(ledger, s, box, NOW + timedelta(days=days))
        assert report.drafts == [] and box.drafts == {}
    assert {e.state for e in ledger.outbox()} == {"deleted"}


def test_snooze_and_skip(ledger: Ledger) -> None:
    s = make_settings()
    box = seeded_box()
    Engine(s, ledger, {"box": box}).sync()
    who, until = snooze(ledger, s, "ann", timedelta(days=30), NOW)
    assert who.emails == [ANN] and until == NOW + timedelta(days=30)
    skip(ledger, s, BO, NOW)
    plan = plan_cycle(ledger, s, NOW)
    reasons = {st.contact.emails[0]: st.reason for st in plan.standings}
    assert plan.notes == []
    assert reasons[ANN].startswith("snoozed until") and reasons[BO].startswith("skipped on")
    later = plan_cycle(ledger, s, NOW + timedelta(days=31))
    assert sorted(n.standing.contact.emails[0] for n in later.notes) == [ANN, BO]


def test_find_person_refuses_ambiguity(ledger: Ledger) -> None:
    s = make_settings()
    Engine(s, ledger, {}).sync()
    with pytest.raises(PersonNotFound, match="matches several people"):
        snooze(ledger, s, "a", timedelta(days=3), NOW)  # in "Ann Lee" and in "Bo Park"
    with pytest.raises(PersonNotFound, match="no person matches"):
        skip(ledger, s, "zed", NOW)


def test_a_name_is_found_without_its_accents(ledger: Ledger) -> None:
    s = Settings.model_validate({
        "me": {"name": "Me Myself", "addresses": [ME]},
        "people": [{"name": "Zoë Müller", "emails": ["zoe@x.example"]}, {"name": "José Núñez", "emails": [BO]}],
    })
    Engine(s, ledger, {}).sync()
    assert find_person(ledger, s, "zoe", NOW).emails == ["zoe@x.example"]
    assert find_person(ledger, s, "JOSE NUNEZ", NOW).emails == [BO]


def test_nudge_is_outside_the_budget_and_drafted_once(ledger: Ledger) -> None:
    s = make_settings(budget_per_week=0)
    box = seeded_box()
    run(ledger, s, box)
    assert box.drafts == {}  # the budget is spent
    renderer = TemplateRenderer()
    draft, added = plan_nudge(ledger, s, renderer, "Ann", "https://example.org/sourdough", "box", NOW)
    again, added_again = plan_nudge(ledger, s, renderer, "Ann", "https://example.org/sourdough", "box", NOW)
    assert added and not added_again and again.note.key == draft.note.key
    assert "https://example.org/sourdough" in draft.rendered.body
    assert any(line.endswith("?") for line in draft.rendered.body.splitlines())  # ask and listen
    run(ledger, s, box, NOW + timedelta(minutes=5))
    assert box.keys() == [draft.note.key]


def test_nudge_refuses_while_another_draft_to_the_person_waits(ledger: Ledger) -> None:
    s = make_settings()
    box = seeded_box()
    run(ledger, s, box)  # a check-in to Ann and one to Bo, both in Drafts
    checkin = next(e for e in ledger.outbox() if e.recipient == ANN)
    assert waiting_draft(ledger, checkin.person_id) == checkin and checkin.state == "drafted"
    before = len(ledger.outbox())
    with pytest.raises(DraftWaiting) as refused:
        plan_nudge(ledger, s, TemplateRenderer(), "Ann", "https://example.org/sourdough", "box", NOW)
    assert refused.value.entry.key == checkin.key and refused.value.person.display_name == "Ann Lee"
    assert len(ledger.outbox()) == before
    with ledger.transaction():  # once it is sent, a nudge goes through
        ledger.close_intent(checkin.key, "sent", NOW + timedelta(hours=1))
    assert waiting_draft(ledger, checkin.person_id) is None
    _, added = plan_nudge(ledger, s, TemplateRenderer(), "Ann", "https://example.org/sourdough", "box", NOW)
    assert added


def test_nudge_refuses_without_a_topic(ledger: Ledger) -> None:
    s = make_settings()
    Engine(s, ledger, {}).sync()
    with pytest.raises(CirclebackError, match="--about"):
        plan_nudge(ledger, s, TemplateRenderer(), ANN, "   ", "box", NOW)


def test_a_cycle_that_cannot_take_the_drafts_lock_keeps_its_notes_pending_for_the_next(ledger: Ledger) -> None:
    s, box = make_settings(), seeded_box()

    def busy() -> Any:  # a `nudge` beside the service never let go
        raise DraftsBusy("state: another circleback has been writing drafts for 120 s", remedy="try again in a minute")

    report = Engine(s, ledger, {"box": box}, drafts_guard=busy).run_cycle(NOW)
    assert box.drafts == {}
    assert any("drafts not written this time" in p for p in report.problems), report.problems
    pending = ledger.outbox()
    assert len(pending) == 2 and {e.state for e in pending} == {OutboxState.PENDING}
    run(ledger, s, box, NOW + timedelta(minutes=5))
    assert len(box.drafts) == 2 and {e.state for e in ledger.outbox()} == {OutboxState.DRAFTED}


def test_a_note_goes_stale_when_the_user_writes_to_them_another_way(ledger: Ledger) -> None:
    s = make_settings(withdraw_stale=True)
    box = seeded_box()
    run(ledger, s, box)
    ann = next(k for k, (key, _) in box.drafts.items() if ANN in str(box.get_draft(DraftRef("box", k, key))))
    box.drafts[ann] = (box.drafts[ann][0], box.drafts[ann][1] + b"\nSee you Friday!\n")  # the user edited Ann's
    box.inbox += [mail("u1", sender=ME, to=(ANN,), when=NOW + timedelta(hours=1), subject="Friday?"),
                  mail("u2", sender=ME, to=(BO,), when=NOW + timedelta(hours=1), subject="Quick one")]
    report = run(ledger, s, box, NOW + timedelta(hours=2))
    assert [e.recipient for e in report.lifecycle.withdrawn] == [BO]  # untouched: taken back
    assert [e.recipient for e in report.lifecycle.edited] == [ANN]  # edited: the user's, left alone
    assert list(box.drafts) == [ann]
    assert stale_summary(ledger) == " (1 stale: you wrote to them since)"


def test_the_draft_the_user_sends_is_sent_not_stale(ledger: Ledger) -> None:
    s = make_settings(withdraw_stale=True)
    box = seeded_box()
    run(ledger, s, box)
    key, _ = next(iter(box.drafts.values()))
    entry = ledger.outbox_entry(key)
    assert entry is not None
    del box.drafts[entry.ref]  # sent: gone from Drafts, its copy in Sent with our Message-ID
    box.inbox.append(mail(entry.message_id, sender=ME, to=(entry.recipient,), when=NOW + timedelta(hours=1)))
    report = run(ledger, s, box, NOW + timedelta(hours=2))
    assert report.lifecycle.withdrawn == [] and stale_drafts(ledger) == {}
    assert ledger.outbox_entry(key).state == OutboxState.SENT


def test_skip_on_someone_not_due_does_nothing_and_says_when_they_are(ledger: Ledger) -> None:
    s = make_settings()
    box = seeded_box()
    box.inbox.append(mail("fresh", sender=ME, to=(ANN,), when=days_ago(2), subject="Thanks!"))
    Engine(s, ledger, {"box": box}).sync()
    who, due_at = skip(ledger, s, "ann", NOW)
    assert due_at is not None and due_at > NOW  # in touch two days ago: nothing to let go
    assert who.skipped_at is None and find_person(ledger, s, "ann", NOW).skipped_at is None
    _, due_bo = skip(ledger, s, BO, NOW)  # 45 days: due, so skipped
    assert due_bo is None and find_person(ledger, s, BO, NOW).skipped_at == NOW


def test_a_snooze_can_be_cleared(ledger: Ledger) -> None:
    s = make_settings()
    Engine(s, ledger, {"box": seeded_box()}).sync()
    snooze(ledger, s, "ann", timedelta(days=30), NOW)
    assert unsnooze(ledger, s, "ann", NOW)[1] is True
    assert find_person(ledger, s, "ann", NOW).snoozed_until is None
    assert unsnooze(ledger, s, "ann", NOW)[1] is False  # nothing to clear: said so
    assert sorted(n.standing.contact.emails[0] for n in plan_cycle(ledger, s, NOW).notes) == [ANN, BO]


def test_a_draft_sent_and_found_in_sent_by_the_sync_is_reported_as_sent(ledger: Ledger) -> None:
    s = make_settings()
    box = seeded_box()
    run(ledger, s, box)
    key, _ = next(iter(box.drafts.values()))
    entry = ledger.outbox_entry(key)
    assert entry is not None and entry.ref
    del box.drafts[entry.ref]  # sent by the user: its copy, our header intact, comes back with the sync
    box.inbox.append(mail(entry.message_id, sender=ME, to=(entry.recipient,), when=NOW + timedelta(hours=1),
                          circleback_key=key))
    report = run(ledger, s, box, NOW + timedelta(hours=2))
    assert [e.key for e in report.outbox.sent] == [key]  # `run --once` said "0 sent by you"
    assert [e.key for e in run(ledger, s, box, NOW + timedelta(hours=3)).outbox.sent] == []  # once
