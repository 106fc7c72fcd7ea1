"""The first sync's progress: a rich bar with counts and ETA on a terminal, plain log lines
otherwise (systemd's journal), and never a subject or an address in either."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from circleback.connectors.google.gmail import GmailConnector
from tests.support.contract import CONTEXT
from tests.support.fake_google import FakeGoogle
from tests.support.google import PERSONAL, account
from tests.support.progress import Pipe, Terminal, as_stderr, leaks, secret_messages


def _sync(fake: FakeGoogle, tmp_path: Path) -> int:
    for raw in secret_messages(120):
        fake.add_message(raw, PERSONAL)
    conn = GmailConnector(account(tmp_path, fake, quota_per_minute=600_000), CONTEXT)
    try:
        return len(conn.sync_mail(None).records)
    finally:
        conn.close()


def test_on_a_terminal_a_bar_shows_counts_and_time_left(fake_google: FakeGoogle, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    screen = as_stderr(monkeypatch, Terminal())

    assert _sync(fake_google, tmp_path) == 120

    shown = screen.getvalue()
    assert "g: reading mail headers" in shown
    assert re.search(r"\b\d+/120 messages, ETA", shown)  # counts out of the total
    assert re.search(r"ETA \S*\d:\d\d:\d\d", shown)  # time remaining (rich's -:--:-- before any speed)
    assert "120/120" in shown
    assert leaks(shown) == []


def test_without_a_terminal_plain_log_lines_and_no_private_detail(fake_google: FakeGoogle,
                                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    stream = as_stderr(monkeypatch, Pipe())  # a pipe, as under systemd

    with caplog.at_level(logging.INFO, logger="circleback"):
        assert _sync(fake_google, tmp_path) == 120

    assert stream.getvalue() == ""  # no bar, no escape codes in the journal
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    progress = [line for line in lines if line.startswith("g: first sync") and "complete" not in line]
    assert progress[-1] == "g: first sync 100% (120 of 120 messages)"
    assert all(re.fullmatch(r"g: first sync \d+% \(\d+ of \d+ messages\), about \d+:\d\d:\d\d left"
                            r"|g: first sync \(\d+ messages so far\)", line) for line in progress[:-1])
    assert len(progress) <= 12
    assert any("first sync complete: 120 messages read" in line for line in lines)
    assert leaks("\n".join(lines)) == []
