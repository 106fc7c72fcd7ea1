"""When a message was written, from a real Dovecot to the ledger's last contact.

A mailbox migrated without its dates (imapsync, a client's "copy to server") has every INTERNALDATE
on the day of the copy. Read as the time of contact, everyone in it looks "in touch today" and no
one is ever due. The Date header keeps the real time: it wins where it is plausible against
INTERNALDATE, and INTERNALDATE wins over a Date that is not (connectors/mailheaders.message_time).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from circleback.daemon.config import Settings
from circleback.daemon.core.classify import Identity
from circleback.daemon.core.contacts import contacts
from circleback.daemon.core.ingest import ingest_mail
from circleback.daemon.store.ledger import Ledger
from tests.support.contract import ME, NOW, build_message
from tests.support.imap import make_backend
from tests.support.servers import DovecotServer, start_dovecot

pytestmark = pytest.mark.needs_server

COPIED = NOW - timedelta(hours=6)  # the migration: every INTERNALDATE is today
TWO_YEARS_AGO = NOW - timedelta(days=730)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot()
    yield server
    server.stop()


def test_a_migrated_mailbox_keeps_the_last_contact_its_dates_say(
    dovecot: DovecotServer, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = make_backend(dovecot, monkeypatch)
    try:
        box.add_message(build_message(1, sender="ann@example.com", date=TWO_YEARS_AGO), when=COPIED)
        box.add_message(
            build_message(2, sender=ME, to="ann@example.com", date=TWO_YEARS_AGO - timedelta(days=3)),
            folder="Sent",
            when=COPIED,
        )
        result = box.connector.sync_mail(None)
    finally:
        box.close()
    settings = Settings.model_validate({"me": {"name": "Me", "addresses": [ME]}})
    ingest_mail(ledger, "mail", result, Identity.from_settings(settings))

    (ann,) = [c for c in contacts(ledger, settings, NOW) if "ann@example.com" in c.emails]
    assert ann.last_contact == TWO_YEARS_AGO  # not COPIED: "in touch today" would hide her for good
    assert ann.last_received == TWO_YEARS_AGO
    assert ann.last_sent == TWO_YEARS_AGO - timedelta(days=3)
