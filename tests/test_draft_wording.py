"""Drafts a recipient would not wince at: no greeting from an address, no title quoted back at its subject.

Each case comes from reading real drafts as their recipient would (an independent
review of `circleback demo` and of a Maildir with ordinary, messy mail).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from records import ME, NOW, days_ago, mail, meeting

from circleback.connectors.base import Address, SyncResult
from circleback.daemon.config import Settings
from circleback.daemon.drafting import compose
from circleback.daemon.ledger import Ledger
from circleback.daemon.planner import plan_cycle
from circleback.daemon.relations import Identity, apply_people, ingest_events, ingest_mail
from circleback.daemon.templating import TemplateRenderer
from tests.test_templating import KEYS, context

DANA = "dana.reyes@example.org"


def settings(people: list[dict] | None = None) -> Settings:
    return Settings.model_validate({
        "me": {"name": "Alex Kim", "addresses": [ME]},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 10},
        "people": people or [],
    })


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "ledger.sqlite3")


def only_draft(ledger: Ledger, s: Settings) -> tuple[str, str]:
    plan = plan_cycle(ledger, s, NOW)
    assert len(plan.notes) == 1, plan.notes
    draft = compose(ledger, s, TemplateRenderer(), plan.notes[0], NOW)
    parsed = message_from_bytes(draft.message, policy=policy.default)
    return str(parsed["Subject"]), parsed.get_content()


def test_a_bare_address_gets_a_greeting_without_a_made_up_name(ledger: Ledger) -> None:
    s = settings()
    record = mail("1", sender=ME, to=("jsmith1987@corp.example",), when=days_ago(60), subject="Berlin slides")
    record = dataclasses.replace(record, to=(Address("jsmith1987@corp.example"),))  # no display name at all
    ingest_mail(ledger, "home", SyncResult([record], {}), Identity.from_settings(s))

    subject, body = only_draft(ledger, s)

    assert body.splitlines()[0] in {"Hi,", "Hello,", "Hey,"}
    assert "jsmith" not in body.lower() and "jsmith" not in subject.lower()


def test_a_meeting_title_that_names_them_is_not_quoted_back_to_them(ledger: Ledger) -> None:
    s = settings([{"name": "Dana Reyes", "emails": [DANA]}])
    apply_people(ledger, s)
    event = meeting("ev1", DANA, when=days_ago(200), title="Coffee with Dana at Monmouth")
    ingest_events(ledger, "cal", SyncResult([event], {}), Identity.from_settings(s))

    subject, body = only_draft(ledger, s)

    assert "Monmouth" not in subject + body
    assert body.count("Dana") == 1  # the greeting, nowhere else
    assert re.search(r"we (last )?met|Our conversation (on|in) ", body), body


def test_a_meeting_title_about_something_else_is_still_the_hook(ledger: Ledger) -> None:
    s = settings([{"name": "Dana Reyes", "emails": [DANA]}])
    apply_people(ledger, s)
    event = meeting("ev1", DANA, when=days_ago(200), title="Pricing page workshop")
    ingest_events(ledger, "cal", SyncResult([event], {}), Identity.from_settings(s))

    subject, body = only_draft(ledger, s)

    assert "“Pricing page workshop”" in body
    assert "Pricing" not in subject  # a subject built from a calendar title reads like a mail merge


@pytest.mark.parametrize("key", KEYS)
def test_a_note_with_a_clause_of_its_own_ends_its_sentence(key: str) -> None:
    note = "the way you pushed back on the launch plan; you helped me rethink the pricing page"
    person = {**context()["person"], "note": note}
    body = TemplateRenderer().render("checkin.txt.j2", context("note", key, person=person)).body
    assert f"{note}." in body, body


@pytest.mark.parametrize("key", KEYS)
def test_no_name_means_no_dangling_space_in_any_greeting(key: str) -> None:
    renderer = TemplateRenderer()
    person = {"name": "", "first_name": "", "email": "jsmith1987@corp.example", "note": "", "company": "",
              "title": "", "group": "", "linkedin": "", "offers": [], "seeks": []}
    for template, kind in (("checkin.txt.j2", "thread"), ("linkedin.txt.j2", "thread"), ("nudge.txt.j2", "thread")):
        body = renderer.render(template, context(kind, key, person=person, about="https://example.org/x")).body
        assert body.splitlines()[0] in {"Hi,", "Hello,", "Hey,"}, (template, body)


def test_check_ins_written_together_do_not_share_their_sentences() -> None:
    renderer = TemplateRenderer()
    bodies = [renderer.render("checkin.txt.j2", context("meeting", key)).body for key in KEYS]
    closers = {b.strip().split("\n\n")[-2].split(". ")[0] for b in bodies}  # the paragraph before the sign-off
    assert len(closers) >= 4, closers
    for body in bodies:  # one invitation to talk per note, not two in other words
        assert len(re.findall(r"hear how you|how you're doing|how you are", body)) <= 1, body


def test_linkedin_note_says_whose_message_it_was() -> None:
    renderer = TemplateRenderer()
    thread = {"subject": "Re: Congrats on the new role", "date": date(2025, 1, 20), "days_ago": 500}
    received = renderer.render("linkedin.txt.j2", context("thread", last_thread={**thread, "direction": "received"}))
    sent = renderer.render("linkedin.txt.j2", context("thread", last_thread={**thread, "direction": "sent"}))
    assert "since your note about “Congrats on the new role”" in received.body
    assert "since I wrote about “Congrats on the new role”" in sent.body
