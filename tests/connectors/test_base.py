"""connectors/base.py: the records' fast constructor builds what the dataclass builds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from circleback.connectors.base import Address, Direction, MailRecord, new_mail_record

FULL = MailRecord(
    source_id="a@x",
    timestamp=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    direction=Direction.RECEIVED,
    sender=Address("ann@x.org", "Ann"),
    to=(Address("me@y.org"),),
    cc=(Address("bo@z.org", "Bo"),),
    subject="Hello",
    message_id="a@x",
    in_reply_to="p@x",
    references=("r@x", "p@x"),
    thread_id="r@x",
    folder="INBOX",
    list_id="news.x.org",
    precedence="list",
    auto_submitted="auto-replied",
    category="updates",
    is_draft=True,
    circleback_key="k1",
)


def test_new_mail_record_equals_the_dataclass() -> None:
    values = [getattr(FULL, f.name) for f in dataclasses.fields(MailRecord)]
    made = new_mail_record(*values)
    assert type(made) is MailRecord
    assert made == FULL and repr(made) == repr(FULL) and hash(made) == hash(FULL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.subject = "changed"  # type: ignore[misc]


def test_new_mail_record_takes_every_field_and_no_more() -> None:
    values = [getattr(FULL, f.name) for f in dataclasses.fields(MailRecord)]
    with pytest.raises(TypeError):
        new_mail_record(*values[:-1])  # a default left out would be an unset slot
    with pytest.raises(TypeError):
        new_mail_record(*values, "extra")
