"""One Session for every command that works on the state: the instance lock first, then the
ledger, then the connectors and the engine; closed in reverse order, even on error."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from circleback.connectors.maildir import MaildirConnector
from circleback.daemon.app import session
from circleback.daemon.app.session import Session, instance_lock
from circleback.daemon.cli import main
from circleback.daemon.config import load_settings
from circleback.daemon.errors import DraftsBusy, StateError

ME = '[me]\nname = "Alex Morgan"\naddresses = ["alex@example.org"]\n'


def maildir_config(tmp_path: Path) -> Path:
    (tmp_path / "Mail" / "cur").mkdir(parents=True, exist_ok=True)
    config = tmp_path / "config.toml"
    config.write_text(ME + f'\n[[accounts]]\nname = "home"\nkind = "maildir"\npath = "{tmp_path / "Mail"}"\n')
    return config


def invoke(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(maildir_config(tmp_path)),
                                       "--state-dir", str(tmp_path / "state"), *args])
    return result.exit_code, result.output


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The accounts whose connector was closed, in order."""
    names: list[str] = []
    monkeypatch.setattr(MaildirConnector, "close", lambda self: names.append(self.account))
    return names


@pytest.mark.parametrize("command", [["plan", "--sync"], ["run", "--once"]], ids=" ".join)
def test_a_command_that_syncs_closes_its_connectors(tmp_path: Path, closed: list[str], command: list[str]) -> None:
    code, output = invoke(tmp_path, *command)
    assert code == 0, output
    assert closed == ["home"]  # `plan --sync` never closed them


@pytest.mark.parametrize("command", [["plan", "--sync"], ["run", "--once"]], ids=" ".join)
def test_no_ledger_is_opened_or_migrated_while_another_circleback_holds_the_lock(
        tmp_path: Path, command: list[str]) -> None:
    state = tmp_path / "state"
    state.mkdir()
    ledger = state / "ledger.sqlite3"
    sqlite3.connect(ledger).close()  # an empty database: schema version 0, as before a first run
    with instance_lock(state):  # the other circleback
        code, output = invoke(tmp_path, *command)
    assert code == 73, output
    assert "another circleback" in output
    # `plan --sync` opened and migrated the ledger before it asked for the lock
    assert ledger.stat().st_size == 0
    assert not ledger.with_name("ledger.sqlite3-wal").exists()


def test_session_opens_in_order_and_closes_in_reverse_even_on_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(maildir_config(tmp_path), environ=False)
    events: list[str] = []
    real_lock, real_open = session.instance_lock, session.open_state

    def lock(state_dir: Path):  # type: ignore[no-untyped-def]
        events.append("lock")
        with real_lock(state_dir):
            yield
        events.append("unlock")

    def open_state(state_dir: Path):  # type: ignore[no-untyped-def]
        events.append("ledger")
        ledger = real_open(state_dir)
        real_close = ledger.close
        monkeypatch.setattr(ledger, "close", lambda: (events.append("ledger closed"), real_close()))
        return ledger

    monkeypatch.setattr(session, "instance_lock", session.contextmanager(lock))
    monkeypatch.setattr(session, "open_state", open_state)
    monkeypatch.setattr(MaildirConnector, "close", lambda self: events.append(f"{self.account} closed"))
    with pytest.raises(RuntimeError, match="mid-command"), \
            Session(settings, tmp_path / "state", connect=True) as opened:
        assert opened.engine.ledger is opened.ledger and set(opened.connectors) == {"home"}
        events.append("work")
        raise RuntimeError("mid-command")
    assert events == ["lock", "ledger", "work", "home closed", "ledger closed", "unlock"]


def test_session_without_connectors_opens_none(tmp_path: Path, closed: list[str]) -> None:
    settings = load_settings(maildir_config(tmp_path), environ=False)
    with Session(settings, tmp_path / "state") as opened:
        assert opened.connectors == {} and opened.engine.connectors == {}
    assert closed == []


def test_session_refuses_a_second_instance_before_touching_the_ledger(tmp_path: Path) -> None:
    settings = load_settings(maildir_config(tmp_path), environ=False)
    state = tmp_path / "state"
    with instance_lock(state), pytest.raises(StateError, match="another circleback"), Session(settings, state):
        pass
    assert not (state / "ledger.sqlite3").exists()


def test_a_people_command_works_while_another_circleback_holds_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    card = tmp_path / "friend.vcf"
    card.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Jo Ng\nEMAIL:jo.ng@example.net\nEND:VCARD\n")
    with instance_lock(state):  # the running service
        imported = invoke(tmp_path, "import", "vcard", str(card))
        snoozed = invoke(tmp_path, "snooze", "Jo Ng", "30d")
    assert imported[0] == 0 and snoozed[0] == 0, (imported, snoozed)


def test_a_second_drafts_writer_waits_for_the_first(tmp_path: Path) -> None:
    order: list[str] = []
    with session.drafts_lock(tmp_path):
        worker = threading.Thread(target=lambda: _write(tmp_path, order))
        worker.start()
        time.sleep(0.3)
        order.append("first done")
    worker.join(5)
    assert order == ["first done", "second wrote"]


def _write(state: Path, order: list[str]) -> None:
    with session.drafts_lock(state, wait=5):
        order.append("second wrote")


def test_a_drafts_writer_that_never_lets_go_is_one_line_and_exit_75(tmp_path: Path) -> None:
    with session.drafts_lock(tmp_path), pytest.raises(DraftsBusy) as caught, session.drafts_lock(tmp_path, wait=0.2):
        pass
    assert caught.value.exit_code == 75 and "try again in a minute" in str(caught.value)


def test_status_reads_a_state_directory_it_cannot_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mail = tmp_path / "Mail" / "cur"
    mail.mkdir(parents=True)
    (mail / "1:2,S").write_bytes(b"From: Priya Shah <priya@example.com>\nTo: alex@example.org\n"
                                 b"Date: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <1@x>\n\nhi\n")
    config = maildir_config(tmp_path)
    config.write_text(config.read_text() + '\n[[people]]\nname = "Priya Shah"\nemails = ["priya@example.com"]\n')

    def invoke(_: Path, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["--config", str(config), "--state-dir", str(tmp_path / "state"), *args])
        return result.exit_code, result.output

    assert invoke(tmp_path, "run", "--once")[0] == 0
    state = tmp_path / "state"
    writable = invoke(tmp_path, "status", "--json")
    assert '"priya@example.com"' in writable[1]
    before = sorted(p.name for p in state.iterdir() if not p.name.startswith("ledger.sqlite3-"))
    real_access = session.os.access
    monkeypatch.setattr(session.os, "access",
                        lambda path, mode: not (Path(path) == state and mode & os.W_OK) and real_access(path, mode))
    assert invoke(tmp_path, "status", "--json") == writable
    code, out = invoke(tmp_path, "status")
    assert code == 0, out
    # Nothing written (SQLite's -wal/-shm aside: as root it may make them; a user who cannot write cannot).
    assert sorted(p.name for p in state.iterdir() if not p.name.startswith("ledger.sqlite3-")) == before
    with sqlite3.connect(session.ledger_path(state)) as db:
        db.execute("PRAGMA user_version = 1")  # an older ledger cannot be migrated here
    code, out = invoke(tmp_path, "status")
    assert code == 73 and "read-only" in out and "run --once" in out


def test_status_in_an_unwritable_state_directory_with_no_ledger_says_never_synced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    state.mkdir()
    real_access = session.os.access
    monkeypatch.setattr(session.os, "access",
                        lambda path, mode: not (Path(path) == state and mode & os.W_OK) and real_access(path, mode))
    code, out = invoke(tmp_path, "status")
    assert code == 0, out
    assert not list(state.iterdir())
