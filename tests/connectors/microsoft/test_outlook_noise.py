"""What counts as being in touch on Outlook: Graph's delta shows no Auto-Submitted, List-Id or Precedence
header, so automatic replies are known by their subject, and noise by the signals Graph does give. Each
case runs through the fake Graph server and, where it matters, into the ledger as a cycle would."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from circleback.connectors.autoreply import is_auto_reply_subject
from circleback.connectors.base import Direction, MailRecord
from circleback.connectors.microsoft.outlook import message_record
from circleback.daemon.config import Settings
from circleback.daemon.core.classify import Identity, mail_noise
from circleback.daemon.core.contacts import Contact, apply_people, contacts
from circleback.daemon.core.ingest import ingest_mail
from circleback.daemon.store.ledger import Ledger
from tests.support.contract import ME, NOW, build_message
from tests.support.fake_graph import FakeGraph
from tests.support.outlook import connector

ANN = "ann@example.com"

# What Exchange writes in front of the subject of an out-of-office reply, by the replying mailbox's language.
OUTLOOK_AUTO_REPLIES = [
    "Automatic reply: the plan",
    "AUTOMATIC REPLY: the plan",
    "Auto-Reply: the plan",
    "Out of Office: the plan",
    "Out of Office AutoReply: the plan",
    "Automatische Antwort: der Plan",
    "Abwesenheitsnotiz: der Plan",
    "Réponse automatique : le plan",
    "Réponse automatique\u00a0: le plan",
    "Respuesta automática: el plan",
    "Automatisch antwoord: het plan",
    "Risposta automatica: il piano",
    "Resposta automática: o plano",
    "Automatiskt svar: planen",
    "Automatisk svar: planen",
    "Automaattinen vastaus: suunnitelma",
    "Odpowiedź automatyczna: plan",
    "Automatická odpověď: plán",
    "Автоматический ответ: план",
    "自動応答: 計画",
    "自动回复: 计划",
    "自动答复：计划",
    "自動回覆: 計畫",
    "자동 회신: 계획",
]
# A person writing about, or answering, an automatic reply: correspondence.
PERSONAL = [
    "RE: Automatic reply: the plan",
    "Re: Out of Office: back on Monday?",
    "Automatic replies are annoying",
    "Out of office party",
    "Réponse automatique",  # no colon: a subject, not a prefix
    "",
]


def settings() -> Settings:
    return Settings.model_validate(
        {"me": {"name": "Me", "addresses": [ME]}, "people": [{"name": "Ann Example", "emails": [ANN]}]}
    )


def ledger_after_sync(fake: FakeGraph, tmp_path: Path) -> tuple[Ledger, Contact]:
    s = settings()
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    apply_people(ledger, s)
    ingest_mail(ledger, "work", connector(fake.endpoint).sync_mail(None), Identity.from_settings(s))
    (ann,) = [c for c in contacts(ledger, s, NOW) if ANN in c.emails]
    return ledger, ann


@pytest.mark.parametrize("subject", OUTLOOK_AUTO_REPLIES)
def test_an_outlook_automatic_reply_is_auto_submitted(fake: FakeGraph, subject: str) -> None:
    fake.add_message(build_message(1, sender=ANN, subject=subject))

    (record,) = connector(fake.endpoint).sync_mail(None).records

    assert record.auto_submitted == "auto-replied"
    assert mail_noise(record) == "auto-submitted"


@pytest.mark.parametrize("subject", PERSONAL)
def test_a_person_mentioning_an_automatic_reply_still_counts(subject: str) -> None:
    assert not is_auto_reply_subject(subject)


def test_an_automatic_reply_sets_neither_last_received_nor_ball_in_my_court(fake: FakeGraph, tmp_path: Path) -> None:
    fake.add_message(build_message(1, sender=ME, to=ANN, subject="the plan", date=NOW - timedelta(days=9)), "Sent")
    fake.add_message(
        build_message(
            2,
            sender=f"Ann Example <{ANN}>",
            subject="Automatic reply: the plan",
            date=NOW - timedelta(days=9) + timedelta(minutes=1),
        )
    )

    _, ann = ledger_after_sync(fake, tmp_path)

    assert ann.last_sent == NOW - timedelta(days=9)
    assert ann.last_received is None
    assert ann.ball_in_my_court is False


def test_her_real_answer_after_the_automatic_reply_does_count(fake: FakeGraph, tmp_path: Path) -> None:
    fake.add_message(build_message(1, sender=ME, to=ANN, subject="the plan", date=NOW - timedelta(days=9)), "Sent")
    fake.add_message(build_message(2, sender=ANN, subject="Automatic reply: the plan", date=NOW - timedelta(days=8)))
    fake.add_message(build_message(3, sender=ANN, subject="Re: the plan", date=NOW - timedelta(days=3)))

    _, ann = ledger_after_sync(fake, tmp_path)

    assert ann.last_received == NOW - timedelta(days=3)
    assert ann.ball_in_my_court is True


def test_my_own_records_keep_their_direction(fake: FakeGraph) -> None:
    fake.add_message(build_message(1, sender=ME, to=ANN, subject="Automatic reply: the plan"), "Sent")

    (record,) = connector(fake.endpoint).sync_mail(None).records

    assert isinstance(record, MailRecord) and record.direction is Direction.SENT
    assert mail_noise(record) == "auto-submitted"  # my own out-of-office is no note to her either


# --- Focused Inbox "Other" is no verdict: the real signals are --------------------------------------


def test_first_contact_filed_under_other_counts(fake: FakeGraph, tmp_path: Path) -> None:
    stranger = fake.add_message(build_message(1, sender="Zoe Quinn <zoe@example.net>", subject="We met in Lyon"))
    fake.update(stranger, inferenceClassification="other")  # Focused Inbox puts strangers there

    s = settings()
    ledger = Ledger.open(tmp_path / "ledger.sqlite3")
    result = connector(fake.endpoint).sync_mail(None)
    ingest_mail(ledger, "work", result, Identity.from_settings(s))

    (record,) = result.records
    assert mail_noise(record) == ""
    (zoe,) = [c for c in contacts(ledger, s, NOW) if "zoe@example.net" in c.emails]
    assert zoe.last_received == NOW - timedelta(days=1) and zoe.ball_in_my_court


def test_the_delta_asks_for_neither_focused_inbox_nor_all_headers(fake: FakeGraph) -> None:
    fake.add_message(build_message(1, extra={"List-Id": "<news.example.com>"}))

    (record,) = connector(fake.endpoint).sync_mail(None).records

    (delta,) = [r for r in fake.log if r.path.endswith("/messages/delta")][:1]
    assert "inferenceClassification" not in delta.query["$select"][0]
    assert "internetMessageHeaders" not in delta.query["$select"][0]
    assert record.category == ""


@pytest.mark.parametrize(
    ("relay", "counts"),
    [
        ("bounce-mc.us5_123.456-ann=example.com@mail89.mcsv.net", False),  # a bulk sender, on her behalf
        ("climbers-bounces@lists.example.org", False),  # a list server
        ("assistant@example.com", True),  # her assistant, same domain: still her mail
        (ANN, True),
    ],
)
def test_mail_relayed_by_another_domain_is_bulk(fake: FakeGraph, tmp_path: Path, relay: str, counts: bool) -> None:
    fake.add_message(build_message(1, sender=f"Ann Example <{ANN}>", subject="Spring news", extra={"Sender": relay}))

    _, ann = ledger_after_sync(fake, tmp_path)

    (record,) = connector(fake.endpoint).sync_mail(None).records
    assert record.sender is not None and record.sender.email == ANN
    assert (mail_noise(record) == "") is counts
    assert (ann.last_received is not None) is counts


def test_headers_are_the_rule_when_a_page_carries_them() -> None:
    def item(*headers: tuple[str, str], subject: str = "hello") -> dict[str, object]:
        return {
            "id": "m1",
            "from": {"emailAddress": {"address": ANN}},
            "subject": subject,
            "receivedDateTime": "2025-03-01T10:00:00Z",
            "toRecipients": [{"emailAddress": {"address": ME}}],
            "internetMessageHeaders": [{"name": n, "value": v} for n, v in headers],
        }

    def noise(*headers: tuple[str, str], subject: str = "hello") -> str:
        record = message_record(
            item(*headers, subject=subject), folder="Inbox", sent_folder=False, mine=frozenset({ME})
        )
        assert isinstance(record, MailRecord)
        return mail_noise(record)

    assert noise(("List-Id", "Climbers <climbers.lists.example.org>")) == "mailing list"
    assert noise(("Precedence", "bulk")) == "precedence bulk"
    assert noise(("auto-submitted", "auto-replied")) == "auto-submitted"
    assert noise(("Auto-Submitted", "no"), subject="Automatic reply: hello") == ""  # the header wins
    assert noise(("Received", "from mx.example.com")) == ""
