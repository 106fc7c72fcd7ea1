"""The first sync's progress: a rich bar with counts and ETA on a terminal, plain log lines
otherwise (systemd's journal), and never a subject or an address in either."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from contract import CONTEXT, build_message
from fake_google import FakeGoogle, fake_google  # noqa: F401 - the fixture
from rich.console import Console
from test_gmail import PERSONAL, account

from circleback.connectors import gmail
from circleback.connectors.gmail import GmailConnector

FRIENDS = [f"friend{n}@people.example" for n in range(120)]


def _mailbox(fake: FakeGoogle) -> None:
    for n, friend in enumerate(FRIENDS, start=1):
        fake.add_message(build_message(n, sender=f"Friend {n} <{friend}>", subject=f"Secret plans {n}"), PERSONAL)


def _sync(fake: FakeGoogle, tmp_path: Path) -> int:
    conn = GmailConnector(account(tmp_path, fake, quota_per_minute=600_000), CONTEXT)
    try:
        return len(conn.sync_mail(None).records)
    finally:
        conn.close()


def _private(text: str) -> list[str]:
    return [w for w in ("@", "Secret plans", "Friend ", "people.example") if w in text]


def test_on_a_terminal_a_bar_shows_counts_and_time_left(fake_google: FakeGoogle, tmp_path: Path,  # noqa: F811
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(gmail, "_progress_console",
                        lambda: Console(file=screen, force_terminal=True, width=120, color_system=None))
    _mailbox(fake_google)

    assert _sync(fake_google, tmp_path) == len(FRIENDS)

    shown = screen.getvalue()
    assert "g: reading mail headers" in shown
    assert re.search(r"\b\d+/120 messages, ETA", shown)  # counts out of the total
    assert re.search(r"ETA \S*\d:\d\d:\d\d", shown)  # time remaining (rich's -:--:-- before any speed)
    assert "120/120" in shown
    assert _private(shown) == []


def test_without_a_terminal_plain_log_lines_and_no_private_detail(fake_google: FakeGoogle,  # noqa: F811
                                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(gmail, "_progress_console", lambda: Console(file=screen))  # a pipe, as under systemd
    _mailbox(fake_google)

    with caplog.at_level(logging.INFO, logger="circleback"):
        assert _sync(fake_google, tmp_path) == len(FRIENDS)

    assert screen.getvalue() == ""  # no bar, no escape codes in the journal
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    progress = [line for line in lines if "messages read (" in line]
    assert progress and all(re.search(r"\d+ of 120 messages read \(\d+%\), about \d+:\d\d:\d\d left", p)
                            for p in progress)
    assert any("first sync complete: 120 messages read" in line for line in lines)
    assert _private("\n".join(lines)) == []
