"""A damaged ledger is found before anything writes to it, said in one line, and recovered
from the daily copy (or rebuilt from the accounts), as docs/reliability.md promises."""

from __future__ import annotations

import os
import random
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from circleback.daemon.app import recovery
from circleback.daemon.app.demo import DemoResult, run_demo
from circleback.daemon.cli import main
from circleback.daemon.errors import LedgerDamaged
from circleback.daemon.store.ledger import Ledger

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # outside the demo's quiet hours
LATER = "2026-11-21T10:00:00+00:00"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """One synced demo world (its run keeps the day's copy of the ledger), copied for each test."""
    return run_demo(tmp_path_factory.mktemp("demo") / "demo", now=NOW)


@pytest.fixture
def world(demo_template: DemoResult, tmp_path: Path) -> tuple[list[str], Path]:
    import shutil

    target = tmp_path / "demo"
    shutil.copytree(demo_template.world_dir, target)
    config = target / demo_template.config_path.relative_to(demo_template.world_dir)
    config.write_text(config.read_text().replace(str(demo_template.world_dir), str(target)))
    state = target / demo_template.state_dir.relative_to(demo_template.world_dir)
    return ["--config", str(config), "--state-dir", str(state)], state


def cli(base: list[str], *args: str) -> tuple[int, str, str]:
    out = CliRunner().invoke(main, [*base, *args])
    return out.exit_code, out.stdout, out.stderr


def scribble(path: Path, *, header: bool = False) -> None:
    """Damage the file as a lying disk does: pages overwritten in the middle (or the header)."""
    rnd = random.Random(7)
    with path.open("r+b") as f:
        if header:
            f.write(rnd.randbytes(100))
            return
        size = path.stat().st_size
        for offset in range(4096 * 2, size, 4096 * 3):
            f.seek(offset + 100)
            f.write(rnd.randbytes(600))


def people_count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM people").fetchone()[0])


def intros_count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM intros").fetchone()[0])


@pytest.mark.parametrize("header", [False, True], ids=["pages", "header"])
def test_status_on_a_damaged_ledger_is_one_line_and_exit_73(world: tuple[list[str], Path], header: bool) -> None:
    base, state = world
    scribble(state / "ledger.sqlite3", header=header)
    code, out, err = cli(base, "status")
    assert code == 73, (out, err)
    assert "Traceback" not in out + err and "┃" not in out  # no half table, no traceback
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "the ledger is damaged" in lines[0] and "circleback ledger recover" in lines[0], err


def test_run_once_refuses_a_damaged_ledger_without_writing_to_it(world: tuple[list[str], Path]) -> None:
    base, state = world
    ledger = state / "ledger.sqlite3"
    scribble(ledger)
    before = ledger.read_bytes()
    code, out, err = cli(base, "run", "--once", "--now", LATER)
    assert code == 73, (out, err)
    assert "the ledger is damaged" in err and "circleback ledger recover" in err
    assert ledger.read_bytes() == before
    assert not Path(f"{ledger}-wal").exists() or Path(f"{ledger}-wal").stat().st_size == 0


def test_doctor_and_ledger_check_fail_on_a_damaged_ledger(world: tuple[list[str], Path]) -> None:
    base, state = world
    assert cli(base, "ledger", "check")[0] == 0
    scribble(state / "ledger.sqlite3")
    code, out, err = cli(base, "doctor")
    assert code != 0
    failed = [ln for ln in out.splitlines() if ln.startswith("FAIL") and "ledger" in ln]
    assert failed and "is damaged" in failed[0], out
    assert "circleback ledger recover" in out
    code, _, err = cli(base, "ledger", "check")
    assert code == 73 and "is damaged" in err and "circleback ledger recover" in err


def test_recover_restores_the_daily_copy_with_its_introductions(world: tuple[list[str], Path]) -> None:
    base, state = world
    ledger, copy = state / "ledger.sqlite3", state / recovery.BACKUP_NAME
    people, intros = people_count(ledger), intros_count(ledger)
    assert copy.exists() and people_count(copy) == people and intros_count(copy) == intros > 0
    scribble(ledger)
    code, out, err = cli(base, "ledger", "recover")
    assert code == 0, err
    aside = sorted(state.glob("ledger.damaged-*.sqlite3"))
    assert len(aside) == 1 and f"kept at {aside[0]}" in out
    assert "Restored the copy of" in out
    assert people_count(ledger) == people and intros_count(ledger) == intros  # intros in flight survive
    drafts = sorted((state.parent / "Mail" / ".Drafts" / "cur").iterdir())
    code, out, err = cli(base, "run", "--once", "--now", LATER)
    assert code == 0, (out, err)
    assert sorted((state.parent / "Mail" / ".Drafts" / "cur").iterdir()) == drafts  # nothing written twice
    assert cli(base, "ledger", "recover")[1].startswith("The ledger is sound: nothing to recover.")


def test_recover_without_a_copy_sets_the_file_aside_and_the_next_run_rebuilds(world: tuple[list[str], Path]) -> None:
    base, state = world
    ledger = state / "ledger.sqlite3"
    people = people_count(ledger)
    (state / recovery.BACKUP_NAME).unlink()
    scribble(ledger, header=True)
    code, out, _ = cli(base, "ledger", "recover")
    assert code == 0
    assert "No sound copy to restore" in out and "Lost: your snoozes and skips, introductions in flight" in out
    assert not ledger.exists() and len(list(state.glob("ledger.damaged-*.sqlite3"))) == 1
    code, out, err = cli(base, "run", "--once", "--now", LATER)
    assert code == 0, (out, err)
    assert people_count(ledger) == people  # who you were in touch with comes back from the accounts


def test_recover_refuses_while_another_circleback_holds_the_state(world: tuple[list[str], Path]) -> None:
    from circleback.daemon.app.session import instance_lock

    base, state = world
    scribble(state / "ledger.sqlite3")
    with instance_lock(state):
        code, _, err = cli(base, "ledger", "recover")
    assert code == 73 and "another circleback" in err
    assert not list(state.glob("ledger.damaged-*"))


def test_the_copy_is_kept_once_a_day_and_never_from_a_damaged_ledger(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    copy = state / recovery.BACKUP_NAME
    with Ledger.open(state / "ledger.sqlite3") as ledger:
        assert recovery.keep_a_copy(ledger, state)
        assert oct(copy.stat().st_mode & 0o777) == "0o600"
        assert not recovery.keep_a_copy(ledger, state)  # the same day: nothing
        day_old = time.time() - 25 * 3600
        os.utime(copy, (day_old, day_old))
        assert recovery.keep_a_copy(ledger, state)
        assert copy.stat().st_mtime > day_old + 3600
    os.utime(copy, (day_old, day_old))
    sound = copy.read_bytes()
    scribble(state / "ledger.sqlite3", header=True)
    with pytest.raises(LedgerDamaged), Ledger.open(state / "ledger.sqlite3") as ledger:
        recovery.keep_a_copy(ledger, state)
    assert copy.read_bytes() == sound


def test_recover_never_moves_a_ledger_that_is_not_damaged(world: tuple[list[str], Path]) -> None:
    """A ledger from a newer circleback (after a downgrade) is not damage: recover says so and moves nothing."""
    base, state = world
    with sqlite3.connect(state / "ledger.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")
    code, out, err = cli(base, "ledger", "recover")
    assert code != 0 and "newer than this circleback" in err and "Lost" not in out
    assert not list(state.glob("ledger.damaged-*")) and (state / "ledger.sqlite3").exists()
    code, out, _ = cli(base, "doctor")  # doctor says it and goes on with its other checks
    assert code != 0 and any(ln.startswith("FAIL") and "ledger" in ln for ln in out.splitlines())
    assert "clock" in out


def test_recover_with_no_ledger_moves_nothing_and_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    done = recovery.recover(state, state / "ledger.sqlite3")
    assert done.moved_to is None and done.lines()[0] == "There was no ledger."
    assert list(state.iterdir()) == []


def test_a_copy_that_fails_leaves_no_half_file_and_never_fails_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from circleback.daemon.app.session import Session
    from circleback.daemon.config import Settings

    def full(self: Ledger, target: Path) -> None:
        target.write_bytes(b"half")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Ledger, "backup_to", full)
    settings = Settings.model_validate({"me": {"name": "A", "addresses": ["a@x.org"]}})
    state = tmp_path / "state"
    with Session(settings, state):
        pass  # the work went well; the copy fails at close
    assert not (state / recovery.BACKUP_NAME).exists()
    assert not list(state.glob("*.tmp"))
