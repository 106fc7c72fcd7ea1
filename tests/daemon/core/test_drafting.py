"""What drafting hands the templates: the user's own calendar day, a title fit to quote, and
whether a past thread was an exchange or one of my notes (for the user's own templates: the
defaults quote no title); and what the note is signed with."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import pytest

from circleback.connectors.base import SyncResult
from circleback.daemon.config import Settings
from circleback.daemon.core.classify import Identity
from circleback.daemon.core.contacts import apply_people
from circleback.daemon.core.drafting import me_context, note_context
from circleback.daemon.core.ingest import ingest_events, ingest_mail
from circleback.daemon.core.planner import plan_cycle
from circleback.daemon.core.templating import TemplateRenderer
from circleback.daemon.store.ledger import Ledger
from tests.support.records import ME, NOW, days_ago, mail, meeting
from tests.support.templating import KEYS

DANA = "dana.reyes@example.org"


def settings(timezone: str = "UTC", name: str = "Alex Kim") -> Settings:
    return Settings.model_validate({
        "me": {"name": name, "addresses": [ME], "timezone": timezone},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 10},
        # A note, so that Dana always gets a check-in: these tests read what else drafting passes.
        "people": [{"name": "Dana Reyes", "emails": [DANA], "note": "taught me to love SQL"}],
    })


def context_for(ledger: Ledger, s: Settings, *mails: Any, events: tuple = ()) -> dict[str, Any]:
    apply_people(ledger, s)
    who = Identity.from_settings(s)
    ingest_mail(ledger, "home", SyncResult(list(mails), {}), who)
    ingest_events(ledger, "cal", SyncResult(list(events), {}), who)
    (note,) = [n for n in plan_cycle(ledger, s, NOW).notes if DANA in n.standing.contact.emails]
    return note_context(ledger, s, note, NOW)


# -- dates are the user's calendar days -------------------------------------------------------------


@pytest.mark.parametrize(("zone", "day"), [
    ("America/Chicago", date(2026, 1, 10)),  # 21:40 on the 10th in Chicago
    ("Asia/Tokyo", date(2026, 1, 11)),  # 12:40 on the 11th in Tokyo
    ("UTC", date(2026, 1, 11)),
])
def test_a_thread_is_dated_on_the_users_own_day(ledger: Ledger, zone: str, day: date) -> None:
    sent = datetime(2026, 1, 11, 3, 40, tzinfo=UTC)
    ctx = context_for(ledger, settings(zone), mail("1", sender=ME, to=(DANA,), when=sent, subject="Berlin slides"))
    assert ctx["last_thread"]["date"] == day


def test_a_meeting_is_dated_on_the_users_own_day(ledger: Ledger) -> None:
    evening = datetime(2026, 1, 11, 1, 30, tzinfo=UTC)  # 19:30 on the 10th in Chicago
    ctx = context_for(ledger, settings("America/Chicago"), events=(meeting("ev1", DANA, when=evening),))
    assert ctx["last_meeting"]["date"] == date(2026, 1, 10)


# -- titles fit to quote ----------------------------------------------------------------------------------


def test_a_garbled_subject_is_never_quoted(ledger: Ledger) -> None:
    garbled = mail("1", sender=ME, to=(DANA,), when=days_ago(60), subject="Re: Caf\ufffd offsite plans")
    s = settings()
    ctx = context_for(ledger, s, garbled)
    assert ctx["last_thread"]["subject"] == ""
    for key in KEYS:
        body = TemplateRenderer().render("checkin.txt.j2", {**ctx, "key": key}).body
        assert "\ufffd" not in body and "offsite" not in body and "“" not in body


# -- an exchange, or one of my notes ----------------------------------------------------------------------


def in_thread(record: Any, thread: str = "t1") -> Any:
    return dataclasses.replace(record, thread_id=thread)


def group_mail() -> Any:
    """Mine, to Dana and four others: the last mail in thread t1."""
    others = tuple(f"p{n}@example.org" for n in range(4))
    return in_thread(mail("1", sender=ME, to=(DANA, *others), when=days_ago(60), subject="Ameren"))


def checkin_openings(ctx: dict[str, Any]) -> str:
    renderer = TemplateRenderer()
    return " ".join(renderer.render("checkin.txt.j2", {**ctx, "key": key}).body for key in KEYS)


def test_a_group_mail_they_never_answered_is_not_our_exchange(ledger: Ledger) -> None:
    ctx = context_for(ledger, settings(), group_mail())
    assert ctx["hook"]["kind"] == "note" and ctx["last_thread"]["they_wrote"] is False
    bodies = checkin_openings(ctx)
    assert "Ameren" not in bodies and "exchange" not in bodies  # the default never quotes a subject


def test_a_thread_they_wrote_in_is_our_exchange(ledger: Ledger) -> None:
    theirs = mail("2", sender=DANA, when=days_ago(61), subject="Ameren")
    ctx = context_for(ledger, settings(), in_thread(theirs), group_mail())
    assert ctx["last_thread"]["direction"] == "sent" and ctx["last_thread"]["they_wrote"] is True
    assert "Ameren" not in checkin_openings(ctx)


def test_their_answer_in_another_thread_does_not_make_this_one_an_exchange(ledger: Ledger) -> None:
    elsewhere = in_thread(mail("2", sender=DANA, when=days_ago(90), subject="Lunch"), "t0")
    ctx = context_for(ledger, settings(), elsewhere, group_mail())
    assert ctx["last_thread"]["they_wrote"] is False


# -- the sign-off ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "signed"), [("Alex Kim", "Alex"), ("J. Park", "J. Park"), ("", "")])
def test_notes_are_signed_with_a_first_name_or_else_the_whole_name(name: str, signed: str) -> None:
    assert me_context(settings(name=name))["first_name"] == signed


@pytest.mark.parametrize(("note", "sign_as", "elder"), [
    ("mzee wa kweli, Isiolo. showed me how to read a camel's mood from its ears", "", True),
    ("taught me to love SQL", "Dad", False),
])
def test_the_person_carries_how_the_note_is_signed_and_whether_they_are_an_elder(
    ledger: Ledger, note: str, sign_as: str, elder: bool
) -> None:
    s = Settings.model_validate({
        "me": {"name": "Alex Kim", "addresses": [ME]},
        "cadence": {"default": "30d"},
        "people": [{"name": "Dana Reyes", "emails": [DANA], "note": note, "sign_as": sign_as}],
    })
    person = context_for(ledger, s, mail("m1", sender=ME, to=(DANA,), when=days_ago(40)))["person"]
    assert (person["sign_as"], person["elder"]) == (sign_as, elder)


@pytest.mark.parametrize("group", ["family", "pamilya", "Rodzina", "jamaa", "가족", "ahel", "giadinh"])
def test_a_family_group_in_the_users_own_language_is_family(group: str) -> None:
    """A sixth review: a Filipino user's "pamilya" lost "Love," and the family rules."""
    from circleback.daemon.core.drafting import is_family_group

    assert is_family_group(group)
