"""Progress on a long first sync: a bar on a terminal, ten plain log lines otherwise, nothing for small syncs."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from circleback.connectors import maildir as maildir_module
from circleback.connectors import mbox as mbox_module
from circleback.connectors.maildir import MaildirConnector
from circleback.connectors.mbox import MboxConnector
from circleback.connectors.progress import SyncProgress
from circleback.daemon.config import MaildirAccount, MboxAccount
from tests.contract import CONTEXT, build_message
from tests.mailfixtures import append_mbox, deliver, make_maildir

LOGGER = "circleback.connectors.progress"


class Terminal(io.StringIO):
    """What rich sees as an interactive terminal."""

    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def read(stream: io.StringIO, *plans: int, min_total: int = 10) -> SyncProgress:
    """A sync that plans ``plans`` messages one after another and reads each as soon as it is planned."""
    with SyncProgress("work", "reading mail headers", min_total=min_total, stream=stream) as progress:
        for planned in plans:
            progress.grow(planned)
            for _ in range(planned):
                progress.advance()
        if progress._bar is not None:
            progress._bar.refresh()  # what the refresh thread draws ten times a second
    return progress


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


@pytest.fixture(autouse=True)
def _info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)


def test_a_terminal_gets_a_bar_with_the_account_count_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    screen = Terminal()
    read(screen, 40)
    drawn = screen.getvalue()
    assert "work: reading mail headers" in drawn
    assert "100%" in drawn
    assert "0:00:00" in drawn  # the ETA column
    assert logged(caplog) == []  # the bar replaces the log lines, it does not double them


def test_without_a_terminal_ten_plain_lines_with_percent_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    stream = Pipe()
    read(stream, 100)
    lines = logged(caplog)
    assert lines[0] == "work: first sync 10% (10 of 100)"
    assert lines[-1] == "work: first sync 100% (100 of 100)"
    assert len(lines) == 10
    assert stream.getvalue() == ""  # no escape codes in a journal


def test_a_small_sync_shows_nothing(caplog: pytest.LogCaptureFixture) -> None:
    screen = Terminal()
    read(screen, 999, min_total=1000)
    assert screen.getvalue() == ""
    assert logged(caplog) == []


def test_a_growing_total_keeps_percentages_honest(caplog: pytest.LogCaptureFixture) -> None:
    """Gmail plans while it reads: the total grows; a percentage never passes 100."""
    read(Pipe(), 20, 180)
    lines = logged(caplog)
    percents = [int(line.split("% ")[0].rsplit(" ", 1)[1]) for line in lines]
    assert max(percents) == 100
    assert len(percents) <= 21  # about ten lines per plan, never one per message
    assert lines[-1] == "work: first sync 100% (200 of 200)"


def test_maildir_first_sync_logs_progress_without_subjects_or_addresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(maildir_module, "PROGRESS_FROM", 10)
    root = make_maildir(tmp_path / "mail")
    for n in range(30):
        deliver(root, build_message(n))
    connector = MaildirConnector(MaildirAccount(name="home", kind="maildir", path=str(root)), CONTEXT)

    with caplog.at_level(logging.INFO):
        first = connector.sync_mail(None)
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(first.records) == 30
    assert lines[-1] == "home: first sync 100% (30 of 30)"
    text = caplog.text
    for record in first.records:
        assert record.subject not in text
        assert all(a.email not in text for a in record.to)

    caplog.clear()
    deliver(root, build_message(99))
    with caplog.at_level(logging.INFO):
        again = connector.sync_mail(first.cursor)
    assert len(again.records) == 1
    assert not [r for r in caplog.records if r.name == LOGGER]  # one new message: no progress to show


def test_mbox_first_sync_counts_bytes_and_ends_at_the_file_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(mbox_module, "PROGRESS_FROM", 1000)
    path = tmp_path / "Takeout.mbox"
    for n in range(40):
        append_mbox(path, build_message(n))
    size = path.stat().st_size
    connector = MboxConnector(MboxAccount(name="takeout", kind="mbox", path=str(path)), CONTEXT)

    with caplog.at_level(logging.INFO, logger=LOGGER):
        result = connector.sync_mail(None)
    lines = [r.getMessage() for r in caplog.records]
    assert len(result.records) == 40
    assert lines[-1] == f"takeout: first sync 100% ({size:,} of {size:,} bytes)"
    assert 5 <= len(lines) <= 11
