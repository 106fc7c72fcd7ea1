"""The weekly digest: a draft to the user, once a week at or after [digest] day and hour, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from circleback.daemon.cli.people import draft_kinds
from circleback.daemon.config import Settings
from circleback.daemon.core.digest import DIGEST, KIND_LABELS, digest_period
from circleback.daemon.core.engine import Engine
from circleback.daemon.core.goals import goal_line, goal_streak, month_goal
from circleback.daemon.core.intros import INTRO_KINDS
from circleback.daemon.core.kinds import CHECKIN, LINKEDIN, NUDGE
from circleback.daemon.core.planner import plan_cycle
from circleback.daemon.store.ledger import Ledger
from tests.support.boxes import Box
from tests.support.records import ME, mail

ANN, BO, CY = "ann@x.example", "bo@x.example", "cy@x.example"
DEV = "dev.null@x.example"
# Monday 15 June 2026, 08:00 in Berlin (UTC+2): the configured digest time.
MONDAY_8 = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)


class DigestBox(Box):
    """A mail source and draft box in memory that, like a real one, keeps drafts across a crash."""

    def __init__(self) -> None:
        super().__init__(deletable=False)
        self.inbox = [
            mail(f"old-{a}", sender=ME, to=(a,), when=MONDAY_8 - timedelta(days=40), subject="Hi")
            for a in (ANN, BO, CY, DEV)
        ]

    def digests(self) -> list[bytes]:
        return [raw for k, raw in self.drafts.values() if k.startswith(f"{DIGEST}-")]


def make_settings(enabled: bool = True, budget: int = 1, **digest: object) -> Settings:
    return Settings.model_validate(
        {
            "me": {"name": "Me Myself", "addresses": [ME], "timezone": "Europe/Berlin"},
            "cadence": {"default": "30d"},
            "drafting": {"budget_per_week": budget, "quiet_hours": "21:00-07:00"},
            "goals": {"people_per_month": 3},
            "digest": {"enabled": enabled, "day": "monday", "hour": 8, **digest},
            "people": [
                {"name": "Ann Lee", "emails": [ANN], "note": "your patience with my sourdough questions"},
                {"name": "Bo Park", "emails": [BO]},  # no note, no specific thread: needs a note
                {"name": "Cy Young", "emails": [CY], "note": "how you ran the Leeds meetup"},
            ],
        }
    )


def run(ledger: Ledger, settings: Settings, box: Box, when: datetime, checkpoint=None):  # noqa: ANN001, ANN201
    engine = Engine(settings, ledger, {"box": box}, **({"checkpoint": checkpoint} if checkpoint else {}))
    return engine.run_cycle(when)


def text(raw: bytes) -> str:
    return message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()


def test_every_kind_of_draft_reads_as_words() -> None:
    assert set(KIND_LABELS) == {CHECKIN, LINKEDIN, NUDGE, *INTRO_KINDS, DIGEST}
    assert draft_kinds({DIGEST: 1, CHECKIN: 2}) == "2 check-ins, 1 weekly digest"  # as `demo` and `nudge` say it


def test_the_period_is_the_iso_week_from_the_configured_local_day_and_hour() -> None:
    s = make_settings()
    assert digest_period(s, MONDAY_8 - timedelta(minutes=1)) is None  # 07:59 in Berlin
    assert digest_period(s, MONDAY_8) == "2026-W25"
    assert digest_period(s, MONDAY_8 + timedelta(days=6, hours=15)) == "2026-W25"  # Sunday 23:00
    # The Sunday before belongs to the week before, whose Monday 08:00 has long passed.
    assert digest_period(s, MONDAY_8 - timedelta(days=1)) == "2026-W24"
    # 00:30 on Monday 4 January 2027 in Berlin is still 2026 in UTC; ISO week 1 of 2027.
    late = make_settings(hour=0)
    assert digest_period(late, datetime(2027, 1, 3, 23, 30, tzinfo=UTC)) == "2027-W01"


def test_it_appears_once_in_its_week_not_before_the_day_and_hour(ledger: Ledger) -> None:
    s, box = make_settings(), DigestBox()
    run(ledger, s, box, MONDAY_8 - timedelta(hours=5))  # Monday 03:00: quiet hours, and too early
    run(ledger, s, box, MONDAY_8 - timedelta(minutes=30))  # Monday 07:30
    run(ledger, s, box, MONDAY_8 - timedelta(minutes=1))  # Monday 07:59
    assert box.digests() == []
    for later in (timedelta(0), timedelta(hours=1), timedelta(days=2), timedelta(days=6, hours=12)):
        run(ledger, s, box, MONDAY_8 + later)
    assert len(box.digests()) == 1
    run(ledger, s, box, MONDAY_8 + timedelta(days=7))  # the next Monday: the next week's digest
    assert len(box.digests()) == 2
    periods = sorted(e.period for e in ledger.outbox() if e.kind == DIGEST)
    assert periods == ["2026-W25", "2026-W26"]


def test_a_missed_day_is_made_up_later_in_the_week(ledger: Ledger) -> None:
    s, box = make_settings(), DigestBox()
    run(ledger, s, box, MONDAY_8 + timedelta(days=3))  # the machine was off until Thursday
    assert len(box.digests()) == 1


def test_quiet_hours_hold_it_back(ledger: Ledger) -> None:
    s, box = make_settings(hour=6), DigestBox()  # 06:00 is inside quiet hours (21:00-07:00)
    run(ledger, s, box, MONDAY_8 - timedelta(hours=1, minutes=30))  # 06:30
    assert box.digests() == []
    run(ledger, s, box, MONDAY_8 - timedelta(hours=1))  # 07:00: quiet hours are over
    assert len(box.digests()) == 1


def test_deleting_it_does_not_bring_it_back(ledger: Ledger) -> None:
    s, box = make_settings(), DigestBox()
    run(ledger, s, box, MONDAY_8)
    (ref,) = [r for r, (k, _) in box.drafts.items() if k.startswith(DIGEST)]
    del box.drafts[ref]
    run(ledger, s, box, MONDAY_8 + timedelta(hours=2))
    assert box.digests() == []
    assert [e.state for e in ledger.outbox() if e.kind == DIGEST] == ["deleted"]


def test_it_is_off_unless_enabled(ledger: Ledger) -> None:
    box = DigestBox()
    run(ledger, make_settings(enabled=False), box, MONDAY_8)
    assert box.digests() == [] and box.drafts  # the notes were still drafted


def test_it_goes_to_me_and_says_who_is_due_and_the_goal(ledger: Ledger) -> None:
    s, box = make_settings(budget=1), DigestBox()
    run(ledger, s, box, MONDAY_8)
    (raw,) = box.digests()
    msg = message_from_bytes(raw, policy=policy.default)
    assert [a.addr_spec for a in msg["To"].addresses] == [ME]
    assert msg["From"].addresses[0].addr_spec == ME
    body = text(raw)
    waiting, _, rest = body.partition("Due, no draft yet")
    # The budget of one went to the most overdue with a hook; the other is due but held back.
    drafted = {e.person_id for e in ledger.outbox() if e.kind == "checkin"}
    assert len(drafted) == 1
    assert ("Ann Lee" in waiting) != ("Cy Young" in waiting)
    assert ("Ann Lee" in rest) != ("Cy Young" in rest) and "over budget" in rest
    assert "Bo Park <bo@x.example>" in body and "needs a note" in body
    # Dev, never named and written to once: a suggestion with the way to add them, never a note.
    assert "Drifting, but circleback writes only to people you named" in body and DEV in body
    assert all(e.recipient != DEV for e in ledger.outbox())
    assert goal_line(month_goal(ledger, s, MONDAY_8), goal_streak(ledger, s, MONDAY_8)) in body
    assert all(len(line) <= 100 for line in body.splitlines())


def test_it_is_not_counted_against_the_weekly_budget(ledger: Ledger) -> None:
    s, box = make_settings(budget=3), DigestBox()
    run(ledger, s, box, MONDAY_8)
    assert len(box.digests()) == 1 and len(box.drafts) == 3  # Ann, Cy and the digest
    assert plan_cycle(ledger, s, MONDAY_8 + timedelta(hours=1)).budget_left == 1


class Crash(Exception):
    pass


def crash_at(n: int, seen: list[str]):  # noqa: ANN201
    def checkpoint(label: str) -> None:
        seen.append(label)
        if len(seen) == n:
            raise Crash(label)

    return checkpoint


def test_a_crash_at_any_checkpoint_never_writes_it_twice(tmp_path: Path) -> None:
    clean_labels: list[str] = []
    clean_box = DigestBox()
    run(Ledger.open(tmp_path / "clean.db"), make_settings(budget=3), clean_box, MONDAY_8, crash_at(0, clean_labels))
    assert "after-digest-commit" in clean_labels  # between the digest's intent and its draft
    clean_keys = sorted(k for k, _ in clean_box.drafts.values())
    for n in range(1, len(clean_labels) + 1):
        ledger, box, seen = Ledger.open(tmp_path / f"{n}.db"), DigestBox(), []
        with pytest.raises(Crash):
            run(ledger, make_settings(budget=3), box, MONDAY_8, crash_at(n, seen))
        run(ledger, make_settings(budget=3), box, MONDAY_8 + timedelta(minutes=5))
        keys = sorted(k for k, _ in box.drafts.values())
        assert keys == clean_keys, f"crash at {seen[-1]}"
        assert all(e.state == "drafted" for e in ledger.outbox())
        ledger.close()
