"""An IMAP first sync's progress against a real Dovecot: a bar on a terminal, a bounded number
of plain log lines otherwise, nothing for an incremental sync, and never a subject or an address."""

from __future__ import annotations

import logging
import re
from functools import partial

import pytest

from circleback.connectors import imap, imap_fetch
from tests.support.imap import ImapBackend, _fill
from tests.support.progress import LOGGER, Pipe, Terminal, as_stderr, leaks, logged, secret_messages

pytestmark = pytest.mark.needs_server


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A threshold and FETCH batches small enough for a mailbox of tens of messages."""
    monkeypatch.setattr(imap, "PROGRESS_FROM", 50)
    monkeypatch.setattr(imap, "uid_fetch", partial(imap_fetch.uid_fetch, batch=4))
    caplog.set_level(logging.INFO, logger=LOGGER)


def _mailbox(box: ImapBackend) -> None:
    """60 messages in INBOX and 20 in a second folder, each with a private subject and sender."""
    messages = secret_messages(80)
    box.seed.create_folder("Projects")
    box.seed.multiappend("INBOX", messages[:60])
    box.seed.multiappend("Projects", messages[60:])


def test_a_terminal_gets_a_bar_with_counts_and_eta(backend: ImapBackend, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    screen = as_stderr(monkeypatch, Terminal())
    _mailbox(backend)

    assert len(backend.connector.sync_mail(None).records) == 80

    drawn = screen.getvalue()
    assert "mail: reading mail headers" in drawn
    assert "80/80 messages, ETA" in drawn  # both folders counted in one bar
    assert re.search(r"ETA \S*\d:\d\d:\d\d", drawn)
    assert leaks(drawn) == []
    assert logged(caplog) == []


def test_without_a_terminal_a_few_plain_lines_and_a_last_one(backend: ImapBackend,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    stream = as_stderr(monkeypatch, Pipe())
    _mailbox(backend)

    with caplog.at_level(logging.INFO):
        first = backend.connector.sync_mail(None)

    lines = logged(caplog)
    assert len(first.records) == 80
    assert lines[-1] == "mail: first sync 100% (80 of 80 messages)"
    assert all(re.fullmatch(r"mail: first sync \d\d?% \(\d+ of \d+ messages\), about \d+:\d\d:\d\d left", line)
               for line in lines[:-1])
    assert 5 <= len(lines) <= 21  # about ten per folder read, not one per message or per batch
    assert leaks(caplog.text) == []
    assert stream.getvalue() == ""

    caplog.clear()
    _fill(backend, 60, start=200)  # above the threshold, but in a folder already read
    again = backend.connector.sync_mail(first.cursor)
    assert len(again.records) == 60
    assert logged(caplog) == []


def test_a_cut_and_retry_mid_fetch_does_not_count_twice(proxied: ImapBackend,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    assert proxied.proxy is not None
    as_stderr(monkeypatch, Pipe())
    _fill(proxied, 400)
    proxied.connector.attempts = 3
    proxied.proxy.cut_after_server_bytes(30_000)  # well inside ~250 kB of FETCH response

    result = proxied.connector.sync_mail(None)

    assert proxied.proxy.cuts == 1
    assert len(result.records) == 400
    assert logged(caplog)[-1] == "mail: first sync 100% (400 of 400 messages)"


def test_a_small_first_sync_shows_nothing(backend: ImapBackend, monkeypatch: pytest.MonkeyPatch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    screen = as_stderr(monkeypatch, Terminal())
    _fill(backend, 49)

    assert len(backend.connector.sync_mail(None).records) == 49
    assert screen.getvalue() == ""
    assert logged(caplog) == []
