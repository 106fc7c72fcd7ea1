"""The Outlook mail sync's fast reader (MessageReader) against the reference (message_record): the same
record, or the same skip, for every corpus item and for generated ones, hostile values included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from circleback.connectors.microsoft.outlook import MessageReader, message_record
from tests.support.contract import ME
from tests.support.corpus import CORPUS

MINE = frozenset({ME})
SAMPLES = sorted(p for p in (CORPUS / "api" / "msgraph").iterdir() if "message" in p.name)


def both(items: list[Any], sent_folder: bool) -> None:
    reader = MessageReader(MINE)
    for _ in range(2):  # the second time from the reader's caches
        for item in items:
            if not isinstance(item, dict):
                continue
            fast = reader.record(item, "Inbox", sent_folder)
            assert fast == message_record(item, folder="Inbox", sent_folder=sent_folder, mine=MINE), item


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("sent_folder", [False, True])
def test_corpus_items_read_the_same(path: Path, sent_folder: bool) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        pytest.skip("not JSON")
    both(data.get("value") if isinstance(data.get("value"), list) else [data], sent_folder)


names = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.booleans(),
    st.floats(allow_nan=False),
    st.sampled_from(["Ann Example", "Ann\r\nBcc: x@y", "\u2028", ""]),
    st.integers(),
    st.lists(st.text(max_size=3), max_size=2),
)
addresses = st.one_of(
    st.sampled_from(
        [
            ME,
            "ME@Example.org",
            "ann@example.com",
            "ann@relay.example.net",
            "bad address",
            "a@b@c",
            "",
            "<x@y.z>",
            " ann@example.com ",
        ]
    ),
    st.text(max_size=20),
    st.none(),
    st.integers(),
    st.booleans(),
)
person = st.one_of(
    st.fixed_dictionaries({"emailAddress": st.fixed_dictionaries({"address": addresses}, optional={"name": names})}),
    st.fixed_dictionaries({"emailAddress": st.one_of(st.none(), st.text(max_size=5), st.just({}))}),
    st.none(),
    st.text(max_size=5),
    st.just({}),
)
times = st.one_of(
    st.sampled_from(
        [
            "2025-03-01T10:00:00Z",
            "2025-03-01T10:00:00.0000000",
            "2025-03-01T10:00:00.1234567Z",
            "2025-03-01T10:00:00+02:00",
            "2025-13-01T10:00:00Z",
            "2025-03-01 10:00:00Z",
            "2025-03-01T10:00:0000Z",
            " 2025-03-01T10:00:00",
            "2025-03-01T10:00:00z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2025-03-01T10:00:60Z",
            "20250301T100000+0000Z",
            "",
        ]
    ),
    st.text(min_size=18, max_size=22),
    st.none(),
    st.integers(),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
)
subjects = st.one_of(
    st.sampled_from(
        [
            "Automatic reply: x",
            "RE: Automatic reply: x",
            "自动回复：计划",
            "a:b",
            "Réponse automatique\u00a0: x",
            "\x00Out of Office:",
        ]
    ),
    st.text(max_size=20),
    st.none(),
    st.integers(),
)
headers = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["List-Id", "Precedence", "auto-submitted", "X-A"]), "value": st.text(max_size=8)}
    ),
    max_size=3,
)
items = st.fixed_dictionaries(
    {"id": st.one_of(st.just("AAMk1="), st.text(max_size=4), st.none(), st.integers())},
    optional={
        "from": person,
        "sender": person,
        "toRecipients": st.one_of(st.lists(person, max_size=3), person),
        "ccRecipients": st.lists(person, max_size=3),
        "sentDateTime": times,
        "receivedDateTime": times,
        "subject": subjects,
        "internetMessageId": st.one_of(st.text(max_size=8), st.none(), st.integers()),
        "conversationId": st.one_of(st.text(max_size=4), st.none()),
        "isDraft": st.one_of(st.booleans(), st.none()),
        "internetMessageHeaders": st.one_of(headers, st.none(), st.text(max_size=3)),
        "@removed": st.just({"reason": "deleted"}),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items, min_size=1, max_size=4), st.booleans())
@example(
    [
        {
            "id": "m",
            "from": {"emailAddress": {"address": "ann@example.com"}},
            "sender": {"emailAddress": {"address": "bounce@mcsv.net"}},
            "receivedDateTime": "2025-03-01T10:00:00Z",
        }
    ],
    False,
)
def test_generated_items_read_the_same(batch: list[dict[str, Any]], sent_folder: bool) -> None:
    both(batch, sent_folder)
