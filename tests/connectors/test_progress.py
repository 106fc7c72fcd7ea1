"""Progress on a long first sync: a bar on a terminal, ten plain log lines otherwise, nothing for small syncs."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from circleback.connectors import maildir as maildir_module
from circleback.connectors import mbox as mbox_module
from circleback.connectors.maildir import MaildirConnector
from circleback.connectors.mbox import MboxConnector
from circleback.connectors.progress import SyncProgress
from circleback.daemon.config import MaildirAccount, MboxAccount
from tests.support.contract import CONTEXT, build_message
from tests.support.mailfixtures import append_mbox, deliver, make_maildir
from tests.support.progress import LOGGER, Pipe, Terminal, logged


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




@pytest.fixture(autouse=True)
def _info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)


# --- for the connectors' progress tests ----------------------------------------------------------









def test_a_terminal_gets_a_bar_with_the_account_count_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    screen = Terminal()
    read(screen, 40)
    drawn = screen.getvalue()
    assert "work: reading mail headers" in drawn
    assert "40/40, ETA" in drawn  # the counts
    assert re.search(r"ETA \S*\d:\d\d:\d\d", drawn)  # the time left (-:--:-- before rich knows a speed)
    assert logged(caplog) == []  # the bar replaces the log lines, it does not double them


def test_without_a_terminal_ten_plain_lines_with_percent_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    stream = Pipe()
    read(stream, 100)
    lines = logged(caplog)
    assert re.fullmatch(r"work: first sync 10% \(10 of 100\), about \d+:\d\d:\d\d left", lines[0])
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
    assert percents.count(100) == 1  # only the end says 100%, not the moment reading catches up with planning
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


class CountingPipe(Pipe):
    """A pipe that counts how often it is asked whether it is a terminal."""

    asked = 0

    def isatty(self) -> bool:
        self.asked += 1
        return False


def test_the_display_is_touched_a_bounded_number_of_times_however_many_messages() -> None:
    """advance() is on the connectors' hot path: a counter, not a redraw per message."""
    with SyncProgress("work", "reading mail headers", min_total=10, stream=Terminal()) as progress:
        progress.grow(0)
        progress.grow(100)  # the bar starts here
        updates: list[dict[str, int]] = []
        update = progress._bar.update
        progress._bar.update = lambda *a, **kw: (updates.append(kw), update(*a, **kw))
        for _ in range(100):
            progress.advance()
        for _ in range(999):
            progress.grow(100)  # Gmail grows once per thread group
            for _ in range(100):
                progress.advance()
    assert progress.done == 100_000
    assert sum("completed" in kw for kw in updates) <= 1000  # 100,000 advances; a step is a hundredth
    assert updates[-1] == {"completed": 100_000}


def test_whether_the_stream_is_a_terminal_is_asked_once(caplog: pytest.LogCaptureFixture) -> None:
    """Gmail grows the total once per thread group; isatty() each time was measurable CPU."""
    stream = CountingPipe()
    with SyncProgress("work", "reading mail headers", min_total=10, stream=stream) as progress:
        for _ in range(1000):
            progress.grow(3)
            progress.advance(3)
    assert stream.asked == 1
    lines = logged(caplog)  # reading keeps pace with planning: no percentage to give, a count per doubling
    assert lines[:2] == ["work: first sync (12 so far)", "work: first sync (24 so far)"]
    assert len(lines) <= 10
    assert lines[-1] == "work: first sync 100% (3,000 of 3,000)"


def test_a_failed_sync_logs_no_last_line(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(OSError), SyncProgress("work", "reading mail headers", 100, min_total=10,
                                              stream=Pipe()) as progress:
        for _ in range(55):
            progress.advance()
        raise OSError("connection reset")
    lines = logged(caplog)
    assert len(lines) == 5
    assert "100%" not in lines[-1]


def test_an_unknown_total_is_counted_a_line_per_doubling_then_the_total(caplog: pytest.LogCaptureFixture) -> None:
    with SyncProgress("work", "reading mail headers", None, min_total=100, unit="messages",
                      stream=Pipe()) as progress:
        for _ in range(10_000):
            progress.advance(3)
    lines = logged(caplog)
    assert lines[:3] == ["work: first sync (102 messages so far)", "work: first sync (204 messages so far)",
                         "work: first sync (408 messages so far)"]
    assert len(lines) == 10  # 102 ... 26,112: eight doublings, then the end
    assert lines[-1] == "work: first sync 100% (30,000 of 30,000 messages)"


def test_an_unknown_total_below_the_threshold_shows_nothing(caplog: pytest.LogCaptureFixture) -> None:
    screen = Terminal()
    with SyncProgress("work", "reading mail headers", None, min_total=100, stream=screen) as progress:
        progress.advance(99)
    assert screen.getvalue() == ""
    assert logged(caplog) == []
