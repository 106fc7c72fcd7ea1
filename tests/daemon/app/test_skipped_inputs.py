"""Every input a sync could not use is named with its reason: in the run's output, once in the
log (not again on every run), and in ``doctor``."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from circleback.daemon.app import doctor
from circleback.daemon.cli import main

ME = '[me]\nname = "Alex Morgan"\naddresses = ["alex@example.org"]\n'
GOOD = b"From: Priya Shah <priya@example.com>\nTo: alex@example.org\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n" \
       b"Message-ID: <1@example.com>\nSubject: hi\n\nbody\n"


@pytest.fixture
def world(tmp_path: Path) -> list[str]:
    mail = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp"):
        (mail / sub).mkdir(parents=True)
    (mail / "cur" / "good:2,S").write_bytes(GOOD)
    (mail / "cur" / "fromless:2,S").write_bytes(b"Subject: who sent this\n\nbody\n")
    (mail / "cur" / "garbage:2,S").write_bytes(b"\x00\x01 not a message")
    config = tmp_path / "config.toml"
    config.write_text(ME + f'\n[[accounts]]\nname = "home"\nkind = "maildir"\npath = "{mail}"\n')
    return ["--config", str(config), "--state-dir", str(tmp_path / "state")]


def test_a_run_names_each_skipped_input_with_why(world: list[str]) -> None:
    out = CliRunner().invoke(main, [*world, "run", "--once"])
    assert out.exit_code == 0, out.output
    assert "home (maildir): 1 messages (1 personal), 2 skipped" in out.stdout
    skipped = sorted(ln.strip() for ln in out.stdout.splitlines() if ln.startswith("  skipped "))
    assert len(skipped) == 2, out.stdout
    assert "fromless:2,S: no usable From address" in skipped[0]
    assert "garbage:2,S: no header block" in skipped[1]


def test_each_skip_is_logged_once_as_a_warning_and_then_only_at_debug(
        world: list[str], caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG, logger="circleback.daemon.core.engine")
    CliRunner().invoke(main, [*world, "run", "--once"])
    first = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert sorted(r.levelno for r in first) == [logging.WARNING, logging.WARNING]
    assert any("fromless:2,S: no usable From address" in r.getMessage() for r in first)
    caplog.clear()
    with sqlite3.connect(tmp_path / "state" / "ledger.sqlite3") as db:
        db.execute("DELETE FROM cursors")  # read everything again: the same two inputs are skipped again
    CliRunner().invoke(main, [*world, "run", "--once"])
    again = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert sorted(r.levelno for r in again) == [logging.DEBUG, logging.DEBUG]


def test_a_skip_for_a_new_reason_is_news_again(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from circleback.daemon.store.ledger import Ledger

    at = datetime(2026, 12, 1, tzinfo=UTC)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        assert ledger.remember_skip("home", "cur/a", "no usable From address", at)
        assert not ledger.remember_skip("home", "cur/a", "no usable From address", at + timedelta(days=1))
        assert ledger.remember_skip("home", "cur/a", "unreadable (Permission denied)", at + timedelta(days=2))
        assert ledger.remember_skip("work", "cur/a", "no usable From address", at)  # another account's input
        assert [(a, p, w) for a, p, w, _ in ledger.skipped_inputs(since=at + timedelta(days=1))] == [
            ("home", "cur/a", "unreadable (Permission denied)")]
        ledger.forget_skips_before(at + timedelta(days=1))  # a month on: only what was seen since is kept
        assert [(a, p) for a, p, _w, _ in ledger.skipped_inputs()] == [("home", "cur/a")]


def test_doctor_lists_the_skipped_inputs(world: list[str], tmp_path: Path) -> None:
    CliRunner().invoke(main, [*world, "run", "--once"])
    checks = [c for c in doctor.run_checks(tmp_path / "config.toml", tmp_path / "state") if c.name == "skipped inputs"]
    assert len(checks) == 1 and checks[0].outcome == doctor.HINT
    lines = checks[0].detail.splitlines()
    assert lines[0] == "2 input(s) could not be read in the last 30 days:"
    assert sorted(lines[1:])[0].endswith("fromless:2,S: no usable From address")
    printed = doctor.format_check(checks[0])
    assert all(line.startswith("      ") for line in printed[1:])  # continuation lines stay under the check
