"""An Outlook first sync's progress against the fake Graph server. A delta round says nothing of
its size, so the progress is a count: a bar with the count and the time so far on a terminal, a
line per doubling otherwise and a last line with the total, and never a subject or an address."""

from __future__ import annotations

import logging
import re

import pytest

from circleback.connectors.microsoft import outlook
from tests.support.contract import build_message
from tests.support.fake_graph import FakeGraph
from tests.support.outlook import connector
from tests.support.progress import LOGGER, Pipe, Terminal, as_stderr, leaks, logged, secret_messages


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(outlook, "PROGRESS_FROM", 10)
    caplog.set_level(logging.INFO, logger=LOGGER)


def _mailbox(graph: FakeGraph) -> None:
    """60 messages in the Inbox and 20 in Sent Items, each with a private subject and sender."""
    for n, raw in enumerate(secret_messages(80), start=1):
        graph.add_message(raw, "INBOX" if n <= 60 else "sentitems")


def test_a_terminal_gets_a_bar_with_the_count_and_time_so_far(fake: FakeGraph,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    screen = as_stderr(monkeypatch, Terminal())
    _mailbox(fake)

    assert len(connector(fake.endpoint, page_size=5).sync_mail(None).records) == 80

    drawn = screen.getvalue()
    assert "work: reading mail headers" in drawn
    assert re.search(r"\b80 messages\S* \S*\d:\d\d:\d\d", drawn)  # the count, then the time elapsed
    assert leaks(drawn) == []
    assert logged(caplog) == []


def test_without_a_terminal_a_line_per_doubling_and_a_last_one(fake: FakeGraph,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    stream = as_stderr(monkeypatch, Pipe())
    _mailbox(fake)
    work = connector(fake.endpoint, page_size=5)

    with caplog.at_level(logging.INFO):
        first = work.sync_mail(None)

    lines = logged(caplog)
    assert len(first.records) == 80
    assert lines[-1] == "work: first sync 100% (80 of 80 messages)"
    counts = [int(re.fullmatch(r"work: first sync \((\d+) messages so far\)", line)[1]) for line in lines[:-1]]
    assert counts and counts[0] >= 10 and all(b >= 2 * a for a, b in zip(counts, counts[1:], strict=False))
    assert len(lines) <= 5  # 10, 20, 40, 80, then the end: not a line per page
    assert leaks(caplog.text) == []
    assert stream.getvalue() == ""

    caplog.clear()
    for n in range(100, 130):  # more than the threshold, but in folders already read
        fake.add_message(build_message(n))
    assert len(work.sync_mail(first.cursor).records) == 30
    assert logged(caplog) == []


def test_a_small_first_sync_shows_nothing(fake: FakeGraph, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    screen = as_stderr(monkeypatch, Terminal())
    for raw in secret_messages(9):
        fake.add_message(raw)

    assert len(connector(fake.endpoint, page_size=5).sync_mail(None).records) == 9
    assert screen.getvalue() == ""
    assert logged(caplog) == []
