"""Introductions: who is suggested, the double-opt-in walk from ask to follow-up, decline
and expiry, and a Hypothesis state machine over replies, sends, deletions and restarts."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import tempfile
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from hypothesis import event
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from circleback.connectors.base import Address, Direction
from circleback.daemon.config import Settings
from circleback.daemon.core.engine import Engine
from circleback.daemon.core.intros import (
    ASK,
    FOLLOWUP,
    INTRO,
    OPEN,
    STATES,
    Introducer,
    IntroError,
    list_intros,
    suggestions,
)
from circleback.daemon.core.lifecycle import find_person, stale_drafts, stale_summary
from circleback.daemon.core.templating import TemplateRenderer
from circleback.daemon.store.ledger import Ledger
from tests.support.boxes import Box
from tests.support.records import ME, NOW, days_ago, mail

MATEO, RAFAEL = "mateo@x.example", "rafael@x.example"
LUKAS, NADIA = "lukas@x.example", "nadia@x.example"
COLD, APART = "cold@x.example", "apart@x.example"


def make_settings(**intros: object) -> Settings:
    return Settings.model_validate({
        "me": {"name": "Alex Morgan", "addresses": [ME]},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 0},  # check-ins out of the way: only introductions here
        "intros": intros,
        "people": [
            {"name": "Mateo García", "emails": [MATEO], "seeks": ["Fundraising"], "company": "Trailhead Maps",
             "offers": ["hiking routes"]},
            {"name": "Rafael Costa", "emails": [RAFAEL], "offers": ["seed funding"], "seeks": ["hiking routes"],
             "linkedin": "https://www.linkedin.com/in/rafael-costa-demo", "title": "Angel investor"},
            {"name": "Lukas Becker", "emails": [LUKAS], "seeks": ["user research"]},
            {"name": "Nadia Petrova", "emails": [NADIA], "offers": ["UX research"]},
            {"name": "Cole Cold", "emails": [COLD], "offers": ["seed funding"]},
            {"name": "Ada Apart", "emails": [APART], "offers": ["user research"], "keep_apart": ["Lukas Becker"]},
        ],
    })


def warm_box() -> Box:
    box = Box()
    box.inbox += [
        mail(f"w-{addr}", sender=ME, to=(addr,), when=days_ago(10), subject="Catching up")
        for addr in (MATEO, RAFAEL, LUKAS, NADIA, APART)
    ]
    box.inbox.append(mail("w-cold", sender=ME, to=(COLD,), when=days_ago(200), subject="Long ago"))
    return box


def cycle(ledger: Ledger, s: Settings, box: Box, when):  # noqa: ANN001, ANN201
    return Engine(s, ledger, {"box": box}).run_cycle(when)


def introducer(ledger: Ledger, s: Settings) -> Introducer:
    return Introducer(ledger, s, TemplateRenderer(), "box")


def ask_ids(ledger: Ledger) -> dict[str, str]:
    return {e.recipient: e.message_id for e in ledger.outbox() if e.kind == ASK}


def reply(box: Box, sender: str, thread: str, when) -> None:  # noqa: ANN001
    m = mail(f"reply-{sender}-{when.timestamp()}", sender=sender, when=when, subject="Re: introduction")
    box.inbox.append(dataclasses.replace(m, thread_id=thread, in_reply_to=thread))


def send(box: Box, ref: str, when) -> None:  # noqa: ANN001
    """The user sends a draft: it leaves Drafts, and its Sent copy (with our key) syncs."""
    key, raw = box.drafts.pop(ref)
    msg = message_from_bytes(raw, policy=policy.default)
    to = tuple(a.addr_spec for a in msg["To"].addresses)
    sent = mail(f"sent-{key}", sender=ME, to=to, when=when, subject=str(msg["Subject"]))
    box.inbox.append(dataclasses.replace(sent, circleback_key=key, direction=Direction.SENT))


def body(raw: bytes) -> str:
    return message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()


def test_suggestions_follow_the_rules(ledger: Ledger) -> None:
    s = make_settings()
    box = warm_box()
    Engine(s, ledger, {"box": box}).sync()
    found = suggestions(ledger, s, NOW)
    pairs = [(x.a.emails[0], x.b.emails[0]) for x in found]
    # Synonyms join "Fundraising" to "seed funding", "user research" to "UX research";
    # the help goes both ways for Mateo and Rafael, so they come first.
    assert pairs == [(MATEO, RAFAEL), (LUKAS, NADIA)]
    assert found[0].reason == ("Mateo García seeks seed funding; Rafael Costa offers it; and Rafael Costa "
                               "seeks hiking routes, which Mateo García offers")
    # Cole is cold (200 days, 30-day cadence); Ada is to be kept apart from Lukas.
    assert all(COLD not in p and APART not in p for p in pairs)


def test_people_who_already_correspond_are_not_suggested(ledger: Ledger) -> None:
    s = make_settings()
    box = warm_box()
    box.inbox.append(mail("both", sender=ME, to=(LUKAS, NADIA), when=days_ago(300), subject="Dinner"))
    Engine(s, ledger, {"box": box}).sync()
    assert [(x.a.emails[0], x.b.emails[0]) for x in suggestions(ledger, s, NOW)] == [(MATEO, RAFAEL)]


def test_an_introduction_from_ask_to_follow_up(ledger: Ledger) -> None:
    s = make_settings()
    box = warm_box()
    cycle(ledger, s, box, NOW)
    mateo, rafael = find_person(ledger, s, MATEO, NOW), find_person(ledger, s, RAFAEL, NOW)
    intro = introducer(ledger, s).ask(mateo, rafael, NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    ((first_ref, (_, ask_to_mateo)),) = box.drafts.items()  # Mateo first; Rafael hears nothing yet
    assert MATEO.encode() in ask_to_mateo and RAFAEL.encode() not in ask_to_mateo
    text = body(ask_to_mateo)
    assert "Rafael Costa, Angel investor" in text and "rafael-costa-demo" in text
    assert "Rafael could help with seed funding, and I think a conversation would be worth your while." in \
        " ".join(text.split())  # a topic of any shape reads right ("could help with publishing deals in Asia")
    assert "no pressure" in text.lower() and text.rstrip().count("?") >= 1
    assert "hiking" not in text  # what Rafael seeks is his to tell, once he has agreed
    assert "I'll check with Rafael first and then put you in touch" in " ".join(text.split())
    with pytest.raises(IntroError, match="already in an open introduction"):
        introducer(ledger, s).ask(mateo, find_person(ledger, s, NADIA, NOW), NOW)

    send(box, first_ref, NOW + timedelta(hours=1))
    cycle(ledger, s, box, NOW + timedelta(hours=2))
    assert box.drafts == {} and list(ask_ids(ledger)) == [MATEO]  # still nothing to Rafael
    reply(box, MATEO, ask_ids(ledger)[MATEO], NOW + timedelta(days=1))
    cycle(ledger, s, box, NOW + timedelta(days=1, hours=1))
    (now_intro,) = list_intros(ledger)
    assert now_intro.state == "asked" and now_intro.a_replied_at and not now_intro.b_replied_at
    ((second_ref, (_, ask_to_rafael)),) = box.drafts.items()  # Mateo answered: now Rafael is asked
    assert RAFAEL.encode() in ask_to_rafael and MATEO.encode() not in ask_to_rafael.split(b"\n\n")[0]
    text = " ".join(body(ask_to_rafael).split())
    assert "Mateo García, Founder" not in text  # Mateo has no title; his company says who he is
    assert "Mateo could use some help with seed funding, which is right up your street, and could help you with" \
        " hiking routes in turn." in text
    assert "check with" not in text
    send(box, second_ref, NOW + timedelta(days=1, hours=2))
    cycle(ledger, s, box, NOW + timedelta(days=1, hours=3))
    assert box.drafts == {}  # no introduction until both said yes

    reply(box, RAFAEL, ask_ids(ledger)[RAFAEL], NOW + timedelta(days=2))
    cycle(ledger, s, box, NOW + timedelta(days=2, hours=1))
    assert list_intros(ledger)[0].state == "intro_drafted"
    ((ref, (key, raw)),) = box.drafts.items()
    msg = message_from_bytes(raw, policy=policy.default)
    assert sorted(a.addr_spec for a in msg["To"].addresses) == [MATEO, RAFAEL]
    send(box, ref, NOW + timedelta(days=3))
    cycle(ledger, s, box, NOW + timedelta(days=3, hours=1))
    assert list_intros(ledger)[0].state == "intro_sent"

    cycle(ledger, s, box, NOW + timedelta(days=20))
    assert box.drafts == {}  # not yet: followup_after is 21 days from the send
    cycle(ledger, s, box, NOW + timedelta(days=24, hours=2))
    assert list_intros(ledger)[0].state == "followup"
    follow = sorted(e.recipient for e in ledger.outbox() if e.kind == FOLLOWUP)
    assert follow == [MATEO, RAFAEL] and len(box.drafts) == 2
    assert all("How did it go" in str(message_from_bytes(r, policy=policy.default)["Subject"])
               or "You and" in str(message_from_bytes(r, policy=policy.default)["Subject"])
               for _, r in box.drafts.values())
    box.drafts.clear()  # the user sends or deletes them
    cycle(ledger, s, box, NOW + timedelta(days=25))
    assert list_intros(ledger)[0].state == "done"
    assert intro.id == list_intros(ledger)[0].id
    kinds = sorted(e.kind for e in ledger.outbox())
    assert kinds == sorted([ASK, ASK, INTRO, FOLLOWUP, FOLLOWUP])  # nothing drafted twice


def test_decline_closes_quietly_and_frees_both(ledger: Ledger, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="circleback.daemon.core.intros")
    s = make_settings()
    box = warm_box()
    Engine(s, ledger, {"box": box}).sync()
    lukas, nadia = find_person(ledger, s, LUKAS, NOW), find_person(ledger, s, NADIA, NOW)
    introducer(ledger, s).ask(lukas, nadia, NOW)  # committed, not yet delivered
    introducer(ledger, s).decline(nadia, lukas, NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=5))
    assert box.drafts == {}  # the pending asks were withdrawn, never written
    assert [i.state for i in list_intros(ledger)] == ["declined"]
    assert {e.state for e in ledger.outbox()} == {"withdrawn"}
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("introduction of Lukas Becker and Nadia Petrova:") and m.endswith("-> declined")
               for m in said), said
    # Never suggested again, and each is free for another introduction.
    assert [(x.a.emails[0], x.b.emails[0]) for x in suggestions(ledger, s, NOW)] == [(MATEO, RAFAEL)]
    with pytest.raises(IntroError, match="no open introduction"):
        introducer(ledger, s).decline(nadia, lukas, NOW)


def lukas_asked_first(ledger: Ledger) -> tuple[Settings, Box]:
    """Lukas (who seeks) asked, asks expiring after 14 days; his ask is in Drafts."""
    s = make_settings(ask_expires_after="14d")
    box = warm_box()
    cycle(ledger, s, box, NOW)
    introducer(ledger, s).ask(find_person(ledger, s, LUKAS, NOW), find_person(ledger, s, NADIA, NOW), NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    return s, box


def test_an_unanswered_ask_expires(ledger: Ledger) -> None:
    s, box = lukas_asked_first(ledger)
    cycle(ledger, s, box, NOW + timedelta(days=13, hours=23))
    assert list_intros(ledger)[0].state == "asked"
    cycle(ledger, s, box, NOW + timedelta(days=14, minutes=2))
    assert list_intros(ledger)[0].state == "expired"  # Lukas never answered: Nadia never heard of it
    assert list(ask_ids(ledger)) == [LUKAS]


def test_the_second_ask_has_its_own_time_to_be_answered(ledger: Ledger) -> None:
    s, box = lukas_asked_first(ledger)
    reply(box, LUKAS, ask_ids(ledger)[LUKAS], NOW + timedelta(days=10))
    cycle(ledger, s, box, NOW + timedelta(days=10, hours=1))  # Nadia is asked on day 10
    assert sorted(ask_ids(ledger)) == [LUKAS, NADIA]
    cycle(ledger, s, box, NOW + timedelta(days=23))
    assert list_intros(ledger)[0].state == "asked"  # 14 days for Nadia from her ask, not from Lukas's
    cycle(ledger, s, box, NOW + timedelta(days=24, hours=2))
    assert list_intros(ledger)[0].state == "expired"


def test_whoever_seeks_is_asked_first_whichever_order_the_user_named_them(ledger: Ledger) -> None:
    s = make_settings()
    box = warm_box()
    cycle(ledger, s, box, NOW)
    nadia, lukas = find_person(ledger, s, NADIA, NOW), find_person(ledger, s, LUKAS, NOW)
    intro = introducer(ledger, s).ask(nadia, lukas, NOW)  # Nadia offers; Lukas seeks
    assert (intro.a, intro.b) == (lukas.person_id, nadia.person_id)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    ((_, (_, raw)),) = box.drafts.items()
    assert LUKAS.encode() in raw and NADIA.encode() not in raw.split(b"\n\n")[0]
    # A reply from Nadia to something else is no answer to an ask she never had.
    box.inbox.append(mail("nadia-hello", sender=NADIA, to=(ME,), when=NOW + timedelta(hours=3), subject="Hi"))
    cycle(ledger, s, box, NOW + timedelta(hours=4))
    (only,) = list_intros(ledger)
    assert only.state == "asked" and only.b_replied_at is None and list(ask_ids(ledger)) == [LUKAS]


def test_auto_ask_stays_within_the_monthly_limit(ledger: Ledger) -> None:
    s = make_settings(auto_ask=True, max_asks_per_month=1)
    box = warm_box()
    report = cycle(ledger, s, box, NOW)
    assert len(report.intros.asked) == 1 and len(box.drafts) == 1  # the first ask only
    cycle(ledger, s, box, NOW + timedelta(days=1))
    assert len(list_intros(ledger)) == 1  # Lukas and Nadia wait for next month


class IntroMachine(RuleBasedStateMachine):
    """Any order of replies, sends, deletions, declines, time and restarts: every
    introduction is in a legal state, and no draft is ever written twice."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="intro-sm-"))
        self.ledger = Ledger.open(self.dir / "l.db")
        self.settings = make_settings(ask_expires_after="20d", followup_after="10d")
        self.box = warm_box()
        self.now = NOW
        self.written: list[str] = []  # every key ever created in the box
        real_create = self.box.create_draft

        def create(message: bytes, key: str, reply_to: str | None = None):  # noqa: ANN202
            self.written.append(key)
            return real_create(message, key, reply_to)

        self.box.create_draft = create
        self.run_cycle()

    def run_cycle(self) -> None:
        Engine(self.settings, self.ledger, {"box": self.box}).run_cycle(self.now)

    @rule(pair=st.sampled_from([(MATEO, RAFAEL), (LUKAS, NADIA), (RAFAEL, NADIA)]))
    def ask(self, pair: tuple[str, str]) -> None:
        a, b = (find_person(self.ledger, self.settings, x, self.now) for x in pair)
        with contextlib.suppress(IntroError):  # busy, already paired, or they correspond: nothing written
            introducer(self.ledger, self.settings).ask(a, b, self.now)

    @rule(who=st.sampled_from([MATEO, RAFAEL, LUKAS, NADIA]))
    def party_replies(self, who: str) -> None:
        threads = [e.message_id for e in self.ledger.outbox() if e.kind == ASK and e.recipient == who]
        if threads:
            reply(self.box, who, threads[-1], self.now)

    @rule()
    def everyone_asked_replies(self) -> None:
        # Steers the search toward the later states: both parties of each ask answer at once.
        for e in self.ledger.outbox():
            if e.kind == ASK:
                reply(self.box, e.recipient, e.message_id, self.now)

    @rule()
    def user_sends_everything(self) -> None:
        for ref in sorted(self.box.drafts):
            send(self.box, ref, self.now)

    @rule()
    def user_follows_through(self) -> None:
        # Sends whatever waits, then lets the follow-up delay pass: reaches followup and done.
        self.user_sends_everything()
        self.time_passes(11)

    @precondition(lambda self: bool(self.box.drafts))
    @rule(data=st.data(), sends=st.booleans())
    def user_acts_on_a_draft(self, data: st.DataObject, sends: bool) -> None:
        ref = data.draw(st.sampled_from(sorted(self.box.drafts)))
        if sends:
            send(self.box, ref, self.now)
        else:
            del self.box.drafts[ref]

    @rule(pair=st.sampled_from([(MATEO, RAFAEL), (LUKAS, NADIA)]))
    def decline(self, pair: tuple[str, str]) -> None:
        a, b = (find_person(self.ledger, self.settings, x, self.now) for x in pair)
        with contextlib.suppress(IntroError):
            introducer(self.ledger, self.settings).decline(a, b, self.now)

    @rule(days=st.sampled_from([0.01, 1, 3, 11, 25]))
    def time_passes(self, days: float) -> None:
        self.now += timedelta(days=days)
        self.run_cycle()

    @rule()
    def restart(self) -> None:
        self.ledger.close()
        self.ledger = Ledger.open(self.dir / "l.db")
        self.run_cycle()

    @invariant()
    def states_are_legal(self) -> None:
        for i in list_intros(self.ledger):
            assert i.state in STATES
            event(f"reached {i.state}")
            if i.state in ("intro_drafted", "intro_sent", "followup", "done"):
                assert i.a_replied_at and i.b_replied_at, i
            if i.state in ("intro_sent", "followup", "done"):
                assert i.sent_at is not None
            assert (i.closed_at is None) == (i.state in OPEN)

    @invariant()
    def the_second_party_hears_nothing_before_the_first_answered(self) -> None:
        intros = {i.id: i for i in list_intros(self.ledger)}
        for e in self.ledger.outbox():
            if e.kind == ASK and e.intro_id is not None and e.person_id == intros[e.intro_id].b:
                assert intros[e.intro_id].a_replied_at is not None, e

    @invariant()
    def one_open_introduction_per_person(self) -> None:
        people = [p for i in list_intros(self.ledger, OPEN) for p in (i.a, i.b)]
        assert len(people) == len(set(people))

    @invariant()
    def no_draft_twice(self) -> None:
        assert len(self.written) == len(set(self.written)), self.written
        per_intro: dict[tuple[int, str], int] = {}
        for e in self.ledger.outbox():
            if e.intro_id is not None:
                per_intro[(e.intro_id, e.kind)] = per_intro.get((e.intro_id, e.kind), 0) + 1
        for (_, kind), n in per_intro.items():
            assert n <= (1 if kind == INTRO else 2), per_intro

    def teardown(self) -> None:
        self.ledger.close()


TestIntroMachine = IntroMachine.TestCase
TestIntroMachine.settings = hsettings(max_examples=60, stateful_step_count=40, deadline=None)


# -- end to end: the demo world's Maildir and .ics, through the CLI ------------------------


def test_cli_walks_an_introduction_on_the_demo_maildir(tmp_path: Path) -> None:
    import sqlite3
    from datetime import UTC, datetime

    from click.testing import CliRunner

    from circleback.daemon.app.demo_world import build_world
    from circleback.daemon.cli import main
    from circleback.daemon.cli.people import intros as intros_cmd

    when = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    world = build_world(tmp_path / "w", anchor=when)
    state = tmp_path / "state"
    base = ["--config", str(world.config_path), "--state-dir", str(state)]

    class Obj:
        state_dir = state

        def settings(self) -> Settings:
            from circleback.daemon.config import load_settings

            return load_settings(world.config_path, environ=False)

    def run(at: datetime) -> None:
        out = CliRunner().invoke(main, [*base, "run", "--once", "--now", at.isoformat()])
        assert out.exit_code == 0, out.output

    def intros(*args: str, at: datetime = when) -> str:
        out = CliRunner().invoke(intros_cmd, [*args, "--now", at.isoformat()], obj=Obj())
        assert out.exit_code == 0, out.output
        return out.output

    def intro_rows() -> list[tuple[str, str]]:
        conn = sqlite3.connect(state / "ledger.sqlite3")
        rows = conn.execute("SELECT reason, state FROM intros ORDER BY id").fetchall()
        conn.close()
        return rows

    def drafts() -> dict[Path, bytes]:
        return {p: p.read_bytes() for p in (world.maildir / ".Drafts" / "cur").glob("*")}

    def deliver_reply(sender: str, thread: str, at: datetime, n: int) -> None:
        raw = (f"From: {sender}\nTo: alex@morgan.example\nSubject: Re: introduction\n"
               f"Date: {at.strftime('%a, %d %b %Y %H:%M:%S +0000')}\nMessage-ID: <reply{n}@x.example>\n"
               f"In-Reply-To: <{thread}>\nReferences: <{thread}>\n\nYes, happy to!\n")
        (world.maildir / "new" / f"{int(at.timestamp())}.reply{n}.test").write_text(raw)

    run(when)
    listing = intros()
    assert "Lukas Becker ↔ Nadia Petrova: Lukas Becker seeks UX research; Nadia Petrova offers it" in listing
    before = set(drafts())
    out = intros("ask", "nadia.petrova@example.com", "Lukas Becker")
    assert "an opt-in note to Lukas Becker is in" in out and "Nadia Petrova is asked once Lukas replies" in out
    (ask,) = [raw for p, raw in drafts().items() if p not in before]
    assert b"no pressure" in ask.replace(b"=\n", b"").lower()
    assert "asked (Lukas Becker first; Nadia Petrova once Lukas Becker replies) since" in intros()

    def threads() -> dict[str, str]:
        conn = sqlite3.connect(state / "ledger.sqlite3")
        found = dict(conn.execute("SELECT recipient, message_id FROM outbox WHERE kind = 'intro-ask'"))
        conn.close()
        return found

    deliver_reply("lukas.becker@work.example", threads()["lukas.becker@work.example"], when, 1)
    run(when + timedelta(hours=1))
    assert "asked (replied: Lukas Becker) since" in intros()
    deliver_reply("nadia.petrova@example.com", threads()["nadia.petrova@example.com"], when, 2)
    later = when + timedelta(hours=2)
    run(later)
    assert intro_rows()[0][1] == "intro_drafted"
    (intro_path,) = [p for p, raw in drafts().items() if re.search(rb"X-Circleback-Key: intro-[0-9a-f]+\n", raw)]

    # The user sends it: the draft moves to Sent, still carrying our key.
    sent_dir = world.maildir / ".Sent" / "cur"
    intro_path.rename(sent_dir / (intro_path.name.split(":")[0] + ":2,S"))
    run(later + timedelta(hours=1))
    assert intro_rows()[0][1] == "intro_sent"
    run(later + timedelta(days=22))
    assert intro_rows()[0][1] == "followup"
    follow = [raw for raw in drafts().values() if b"intro-followup" in raw]
    assert len(follow) == 2

    # A second introduction, declined; a third, unanswered, expires.
    intros("ask", "Mateo", "Rafael", at=later + timedelta(days=22))
    intros("decline", "Rafael", "Mateo", at=later + timedelta(days=23))
    intros("ask", "Ben Cohen", "Margaret", at=later + timedelta(days=23))
    run(later + timedelta(days=60))
    assert [s for _, s in intro_rows()] == ["followup", "declined", "expired"]


@pytest.mark.parametrize("name", ["Jo Park", ""])
def test_someone_without_a_first_name_is_never_introduced(ledger: Ledger, name: str) -> None:
    """ "I'd like to introduce you to ," is worse than no introduction: j.park@ gives no first name."""
    jo = "j.park@x.example"
    s = Settings.model_validate({
        "me": {"name": "Alex Morgan", "addresses": [ME]},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 0},
        "people": [{"name": "Lukas Becker", "emails": [LUKAS], "seeks": ["user research"]},
                   {"name": name, "emails": [jo], "offers": ["UX research"]}],
    })
    box = Box()
    for addr in (LUKAS, jo):
        warm = mail(f"w-{addr}", sender=ME, to=(addr,), when=days_ago(10), subject="Catching up")
        box.inbox.append(dataclasses.replace(warm, to=(Address(addr),)))  # a bare address: no display name
    Engine(s, ledger, {"box": box}).sync()
    lukas, them = find_person(ledger, s, LUKAS, NOW), find_person(ledger, s, jo, NOW)

    pairs = [(x.a.emails[0], x.b.emails[0]) for x in suggestions(ledger, s, NOW)]

    if name:
        assert pairs == [(LUKAS, jo)]
        assert introducer(ledger, s).ask(lukas, them, NOW).state == "asked"
    else:
        assert pairs == []
        with pytest.raises(IntroError, match=r"^cannot introduce Lukas Becker and j\.park@x\.example: "
                                             r"j\.park@x\.example has no first name .* under \[\[people\]\]$"):
            introducer(ledger, s).ask(lukas, them, NOW)


@pytest.mark.parametrize("withdraw", [False, True])
def test_asks_already_in_drafts_of_a_declined_introduction_go_stale(ledger: Ledger, withdraw: bool) -> None:
    s = make_settings().model_copy(update={"drafting": make_settings().drafting.model_copy(
        update={"withdraw_stale": withdraw})})
    box = warm_box()
    Engine(s, ledger, {"box": box}).sync()
    lukas, nadia = find_person(ledger, s, LUKAS, NOW), find_person(ledger, s, NADIA, NOW)
    introducer(ledger, s).ask(lukas, nadia, NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    reply(box, LUKAS, ask_ids(ledger)[LUKAS], NOW + timedelta(minutes=30))  # his yes (from a sent copy)
    cycle(ledger, s, box, NOW + timedelta(minutes=40))
    assert len(box.drafts) == 2  # Lukas's ask (the user had another copy sent) and now Nadia's
    introducer(ledger, s).decline(nadia, lukas, NOW + timedelta(hours=1))

    stale = stale_drafts(ledger)
    assert sorted(e.kind for e, _ in stale.values()) == [ASK, ASK]
    assert {why for _, why in stale.values()} == {"the introduction was called off"}
    assert stale_summary(ledger) == " (2 stale: the introduction was called off)"
    report = cycle(ledger, s, box, NOW + timedelta(hours=2))
    if withdraw:  # never written by the user: taken back, no cool-down
        assert box.drafts == {} and len(report.lifecycle.withdrawn) == 2
        assert {e.state for e in ledger.outbox()} == {"withdrawn"}
    else:
        assert len(box.drafts) == 2 and len(report.lifecycle.stale) == 2


def test_an_ask_says_the_topic_as_a_field_never_a_claim_the_user_did_not_make(
    tmp_path: Path, ledger: Ledger
) -> None:
    """From a blind review: "You mentioned you're looking for ux research" put words in their mouth,
    lower-cased an acronym, and read as broken English with a job title ("spanish employment lawyer")."""
    from email import message_from_bytes, policy

    from circleback.daemon.app.demo import run_demo

    result = run_demo(tmp_path / "demo", now=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    asks = []
    for path in result.drafts_dir.rglob("*"):
        if path.is_file():
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            if str(msg["X-Circleback-Key"]).startswith("intro-ask-"):
                asks.append(msg.get_body(("plain",)).get_content())
    (first,) = asks  # the one who seeks; the one who offers is asked once they reply
    assert "You mentioned" not in first and "ux research" not in first
    # Her title says it already ("Head of UX Research"): not "... knows UX research well" after it.
    assert "Head of UX Research at Lumen Health?" in first and "knows UX research" not in first

    s = make_settings()
    box = warm_box()
    cycle(ledger, s, box, NOW)
    introducer(ledger, s).ask(find_person(ledger, s, LUKAS, NOW), find_person(ledger, s, NADIA, NOW), NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    reply(box, LUKAS, ask_ids(ledger)[LUKAS], NOW + timedelta(hours=2))
    cycle(ledger, s, box, NOW + timedelta(hours=3))
    (to_nadia,) = [body(raw) for _, raw in box.drafts.values() if NADIA.encode() in raw.split(b"\n\n")[0]]
    assert "Lukas could use some help with UX research" in " ".join(to_nadia.split())


def test_a_need_that_is_theirs_alone_is_never_asked_on_its_own_and_never_named(ledger: Ledger) -> None:
    """From a blind review: "Iain could use some help with trauma counselling, which is right up your
    street, and I think you'd enjoy each other" — a cheerful form letter about a trauma referral."""
    iain, morven = "iain@x.example", "morven@x.example"
    s = Settings.model_validate({
        "me": {"name": "Catriona MacLeod", "addresses": [ME], "signature": "Cat"},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 0},
        "intros": {"auto_ask": True},
        "people": [{"name": "Iain Grant", "emails": [iain], "seeks": ["trauma counselling"]},
                   {"name": "Morven Sinclair", "emails": [morven], "offers": ["trauma counselling"],
                    "title": "Clinical Psychologist"}],
    })
    box = Box()
    box.inbox += [mail(f"w-{a}", sender=ME, to=(a,), when=days_ago(10), subject="Catching up") for a in (iain, morven)]
    report = cycle(ledger, s, box, NOW)
    (found,) = suggestions(ledger, s, NOW)
    assert found.sensitive and report.intros.asked == [] and box.drafts == {}  # auto_ask leaves it to the user

    introducer(ledger, s).ask(find_person(ledger, s, iain, NOW), find_person(ledger, s, morven, NOW), NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    ((_, (_, first)),) = box.drafts.items()
    text = " ".join(body(first).split())
    assert "trauma" not in text and "right up your street" not in text and "enjoy each other" not in text
    assert "Would it help if I put you in touch with Morven Sinclair, Clinical Psychologist?" in text
    assert "stays between us" in text and text.endswith("Cat")  # signed as the user signs, not "Catriona"

    reply(box, iain, ask_ids(ledger)[iain], NOW + timedelta(hours=2))
    cycle(ledger, s, box, NOW + timedelta(hours=3))
    (second,) = [body(raw) for _, raw in box.drafts.values() if morven.encode() in raw.split(b"\n\n")[0]]
    second = " ".join(second.split())
    assert "trauma" not in second and "enjoy each other" not in second
    assert "Would you be open to hearing from Iain Grant?" in second and second.endswith("Cat")


def test_a_child_is_never_introduced(ledger: Ledger) -> None:
    kid = "ellie@x.example"
    s = make_settings()
    s = s.model_copy(update={"people": [*s.people, s.people[3].model_copy(
        update={"name": "Ellie Cameron", "emails": [kid], "note": "15, u16 squad", "seeks": ["UX research"]})]})
    box = warm_box()
    box.inbox.append(mail("w-kid", sender=ME, to=(kid,), when=days_ago(10), subject="Race day"))
    Engine(s, ledger, {"box": box}).sync()
    assert all(kid not in (x.a.emails + x.b.emails) for x in suggestions(ledger, s, NOW))
    with pytest.raises(IntroError, match="your note says Ellie Cameron is under 18"):
        introducer(ledger, s).ask(find_person(ledger, s, kid, NOW), find_person(ledger, s, NADIA, NOW), NOW)


def test_status_says_an_ask_waits_for_someone_not_due(ledger: Ledger) -> None:
    """From a blind review: Iain's row said "due in 21d" while his introduction ask sat in Drafts."""
    from circleback.daemon.core.planner import assess

    s, box = lukas_asked_first(ledger)
    (lukas,) = [x for x in assess(ledger, s, NOW + timedelta(hours=1)) if LUKAS in x.contact.emails]
    assert not lukas.due and lukas.reason == "a draft is waiting in Drafts"


def test_an_ask_about_a_job_search_goes_to_their_own_address(ledger: Ledger) -> None:
    """From a second blind review: an ask about leaving Ashland went to his Ashland mailbox."""
    work, own, terrell = "apruitt@ashland-u.example", "andy.pruitt@gmail.com", "terrell@x.example"
    s = Settings.model_validate({
        "me": {"name": "Hank Mueller", "addresses": [ME]}, "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 0}, "intros": {"auto_ask": True},
        "people": [{"name": "Andy Pruitt", "emails": [work, own], "seeks": ["high school coaching jobs"]},
                   {"name": "Terrell Banks", "emails": [terrell], "offers": ["high school coaching jobs"]}],
    })
    box = Box()
    box.inbox += [mail(f"w-{a}", sender=ME, to=(a,), when=days_ago(10), subject="Catching up") for a in (work, terrell)]
    report = cycle(ledger, s, box, NOW)
    assert report.intros.asked == [] and box.drafts == {}  # a job search is theirs: never asked on its own
    introducer(ledger, s).ask(find_person(ledger, s, work, NOW), find_person(ledger, s, terrell, NOW), NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    ((_, (_, raw)),) = box.drafts.items()
    to = message_from_bytes(raw, policy=policy.default)["To"].addresses[0].addr_spec
    assert to == own and "coaching jobs" not in body(raw)


def test_a_secret_in_the_note_makes_the_introduction_discreet_and_private(ledger: Ledger) -> None:
    """A sixth blind review: Grace's note says "applying to NHS UK, secret pa dont tell priya"; the
    check-in held back, yet an ask to her hospital address said she could use help with her NHS application."""
    work, own, kristine = "grace.okafor@alnoorhospital.example", "graceokafor.rn@gmail.example", "k@x.example"
    s = Settings.model_validate({
        "me": {"name": "Maricel Dela Cruz", "addresses": [ME], "signature": "Cel"},
        "cadence": {"default": "30d"}, "drafting": {"budget_per_week": 0}, "intros": {"auto_ask": True},
        "people": [{"name": "Grace Okafor", "emails": [work, own], "seeks": ["NHS UK application"],
                    "note": "charge nurse. applying to NHS UK, secret pa dont tell priya"},
                   {"name": "Kristine Bautista", "emails": [kristine], "offers": ["NHS UK application"]}],
    })
    box = Box()
    box.inbox += [mail(f"w-{a}", sender=ME, to=(a,), when=days_ago(10), subject="Catching up")
                  for a in (work, kristine)]
    report = cycle(ledger, s, box, NOW)
    (found,) = suggestions(ledger, s, NOW)
    assert found.sensitive and report.intros.asked == [] and box.drafts == {}  # never asked on its own
    introducer(ledger, s).ask(find_person(ledger, s, work, NOW), find_person(ledger, s, kristine, NOW), NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    ((_, (_, raw)),) = box.drafts.items()
    to = message_from_bytes(raw, policy=policy.default)["To"].addresses[0].addr_spec
    text = " ".join(body(raw).split())
    assert to == own and "NHS" not in text and "stays between us" in text


def test_an_ask_greets_them_as_greet_says(ledger: Ledger) -> None:
    """A sixth review: `greet = "Nana Yaa"`, yet the ask opened "Hi Yaa"."""
    s = make_settings()
    people = [p.model_copy(update={"greet": "Nana Lukas"}) if LUKAS in p.emails else p for p in s.people]
    s = s.model_copy(update={"people": people})
    box = warm_box()
    cycle(ledger, s, box, NOW)
    introducer(ledger, s).ask(find_person(ledger, s, LUKAS, NOW), find_person(ledger, s, NADIA, NOW), NOW)
    cycle(ledger, s, box, NOW + timedelta(minutes=1))
    ((_, (_, raw)),) = box.drafts.items()
    assert body(raw).startswith("Hi Nana Lukas,")
