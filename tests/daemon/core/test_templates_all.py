"""Every default template, and the LinkedIn-style note's rules: when it is used, its length
limit checked after rendering, and the paste-ready draft for a person with no address."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from circleback.connectors.base import SyncResult
from circleback.daemon.config import Settings
from circleback.daemon.core.classify import Identity
from circleback.daemon.core.contacts import apply_people
from circleback.daemon.core.drafting import compose
from circleback.daemon.core.ingest import ingest_mail
from circleback.daemon.core.kinds import CHECKIN, LINKEDIN
from circleback.daemon.core.notes import read_note
from circleback.daemon.core.planner import plan_cycle
from circleback.daemon.core.templating import TemplateRenderer
from circleback.daemon.errors import TemplateError
from circleback.daemon.store.ledger import Ledger
from tests.support.records import ME, NOW, days_ago, mail
from tests.support.templating import KEYS, context

OLD = "old@x.example"
RECENT = "recent@x.example"


def make_settings(people: list[dict], **drafting: object) -> Settings:
    return Settings.model_validate({
        "me": {"name": "Me Myself", "addresses": [ME]},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 10, **drafting},
        "people": people,
    })


def feed(ledger: Ledger, s: Settings) -> None:
    apply_people(ledger, s)
    ingest_mail(ledger, "home", SyncResult([  # their mail: a thread they wrote in
        mail("1", sender=OLD, when=days_ago(500), subject="Congrats on the new role!"),
        mail("2", sender=RECENT, when=days_ago(40), subject="Berlin slides"),
    ], {}), Identity.from_settings(s))


def kinds(plan) -> dict[str, str]:  # noqa: ANN001
    return {n.standing.contact.emails[0] if n.standing.contact.emails else "": n.kind for n in plan.notes}


def test_a_long_silence_gets_a_linkedin_note_within_the_limit(ledger: Ledger) -> None:
    s = make_settings([{"name": "Olga Old", "emails": [OLD]}, {"name": "Rita Recent", "emails": [RECENT]}])
    feed(ledger, s)
    plan = plan_cycle(ledger, s, NOW)
    assert kinds(plan) == {OLD: LINKEDIN, RECENT: CHECKIN}
    note = next(n for n in plan.notes if n.kind == LINKEDIN)
    draft = compose(ledger, s, TemplateRenderer(), note, NOW)
    assert len(draft.rendered.body.strip()) <= 300
    assert "since you told me about your new role." in draft.rendered.body and "?" in draft.rendered.body
    assert draft.recipient.email == OLD


def test_groups_can_ask_for_the_linkedin_style(ledger: Ledger) -> None:
    s = make_settings([{"name": "Rita Recent", "emails": [RECENT], "group": "network"}],
                      linkedin_groups=["network"])
    feed(ledger, s)
    assert kinds(plan_cycle(ledger, s, NOW))[RECENT] == LINKEDIN


def test_an_over_long_note_is_refused_naming_the_template(ledger: Ledger) -> None:
    long_note = "the way you " + "patiently explained every corner of the billing system, " * 2 + "and more"
    s = make_settings([{"name": "Olga Old", "emails": [OLD], "note": long_note}], linkedin_limit=200)
    feed(ledger, s)
    note = next(n for n in plan_cycle(ledger, s, NOW).notes if n.kind == LINKEDIN)
    with pytest.raises(TemplateError, match=r'template "linkedin.txt.j2" rendered a LinkedIn note of \d+ characters; '
                                            r"the limit is 200"):
        compose(ledger, s, TemplateRenderer(), note, NOW)


def test_no_address_means_a_paste_ready_draft_to_myself(ledger: Ledger) -> None:
    url = "https://www.linkedin.com/in/dana-lee-demo"
    s = make_settings([{"name": "Dana Lee", "linkedin": url, "note": "your talk on accessible maps"}])
    feed(ledger, s)
    plan = plan_cycle(ledger, s, NOW)
    (note,) = [n for n in plan.notes if n.standing.contact.display_name == "Dana Lee"]
    assert note.kind == LINKEDIN
    draft = compose(ledger, s, TemplateRenderer(), note, NOW)
    msg = message_from_bytes(draft.message, policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == ME
    body = msg.get_body(("plain",)).get_content()
    assert url in body and "accessible maps" in body
    assert len(body.split("---\n", 1)[1].strip()) <= 300  # the part to paste fits
    again = plan_cycle(ledger, s, NOW + timedelta(hours=1))
    assert [n.key for n in again.notes if not n.standing.contact.emails] == [note.key]  # stable key


# The longest note the reader quotes (MAX_QUOTED, 160 characters) and a long moment.
LONG_NOTE = read_note("the way you walked the whole team through the billing migration last spring and "
                      "kept everyone calm when the old ledger refused to balance").as_context()
LONG_MOMENT = {"kind": "photos", "phrase": "your Lake District photos",
               "since": "you sent me your photos from the Lake District", "days_ago": 600}


@pytest.mark.parametrize("kind", ["note", "meeting", "thread"])
def test_every_linkedin_variant_fits_the_limit_and_is_signed(kind: str) -> None:
    person = {**context()["person"], "name": "Maximiliane Oberhausen", "first_name": "Maximiliane"}
    me = {"name": "Alexandrina Kowalczyk", "first_name": "Alexandrina", "signature": ""}
    assert LONG_NOTE["how"]
    renderer = TemplateRenderer()
    follows = set()
    for key in KEYS:
        body = renderer.render("linkedin.txt.j2", context(kind, key, person=person, me=me, note=LONG_NOTE,
                                                          moment=LONG_MOMENT)).body.strip()
        assert len(body) <= 300, body
        assert body.endswith("\n\nAlexandrina"), body
        link_line = body.split("\n\n")[1]
        follows.add(re.split(r"(?<=[.!?]) ", link_line)[1])
    assert "I'm glad to know you." not in follows  # says nothing about the hook before it
    assert len(follows) >= 2  # several wordings, chosen per person
