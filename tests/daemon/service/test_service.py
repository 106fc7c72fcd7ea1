"""`circleback run` as systemd runs it: a subprocess over the demo world's Maildir and .ics folder,
talking sd_notify to a socket the test binds, signalled, edited under its feet, and killed."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import shutil
import signal
import socket
import socketserver
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from circleback.daemon.app import statusfile
from circleback.daemon.app.demo_world import DemoWorld, build_world
from circleback.daemon.config import MaildirAccount, durations, load_settings
from circleback.daemon.core.contacts import contacts
from circleback.daemon.service import clock, journal, schedule, watch
from circleback.daemon.service.sdnotify import Notifier, monotonic_usec
from circleback.daemon.store.ledger import Ledger

# 10:00 in London: outside the demo's quiet hours (21:00-07:00).
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
NOW_TEXT = NOW.isoformat()


# -- helpers ----------------------------------------------------------------------------------


class NotifySocket:
    """What systemd does: bind a datagram socket and read the service's KEY=value lines."""

    def __init__(self, address: str) -> None:
        self.address = address  # what goes into $NOTIFY_SOCKET
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(b"\0" + address[1:].encode() if address.startswith("@") else address)
        self.messages: list[tuple[float, dict[str, str]]] = []

    def drain(self, timeout: float = 0.0) -> None:
        self.sock.settimeout(timeout if timeout > 0 else 0.001)
        while True:
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append((time.monotonic(), fields))
            self.sock.settimeout(0.001)

    def wait_for(self, predicate: Callable[[dict[str, str]], bool], timeout: float = 20.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            self.drain(0.1)
            for _, fields in self.messages[seen:]:
                if predicate(fields):
                    return fields
            seen = len(self.messages)
        raise AssertionError(f"no matching notify message in {timeout}s; got {[m for _, m in self.messages][-5:]}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    # A short directory: AF_UNIX paths stop at 108 bytes and pytest's tmp_path can be longer.
    folder = tempfile.mkdtemp(prefix="cbn", dir="/tmp")
    sock = NotifySocket(os.path.join(folder, "notify.sock"))
    yield sock
    sock.close()
    shutil.rmtree(folder, ignore_errors=True)


class Daemon:
    """One `circleback run` subprocess with its stderr kept in a file."""

    def __init__(self, world: DemoWorld, state: Path, notify: NotifySocket | None, *args: str,
                 env: dict[str, str] | None = None, interval: str = "0.3s") -> None:
        self.state = state
        self.notify = notify
        self.stderr_path = state.parent / f"{state.name}-stderr-{time.monotonic_ns()}.log"
        full_env = {**os.environ, **(env or {})}
        full_env.pop("NOTIFY_SOCKET", None)
        full_env.pop("JOURNAL_STREAM", None)
        if notify is not None:
            full_env["NOTIFY_SOCKET"] = notify.address
        cmd = [sys.executable, "-m", "circleback.daemon.cli", "--config", str(world.config_path),
               "--state-dir", str(state), *args, "run", "--interval", interval, "--now", NOW_TEXT]
        with self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=full_env)

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def status(self) -> dict:
        return statusfile.read_status(self.state) or {}

    def wait_status(self, predicate: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.status()
            if data and predicate(data):
                return data
            assert self.proc.poll() is None, f"daemon exited {self.proc.returncode}: {self.stderr()}"
            if self.notify is not None:
                self.notify.drain(0.05)  # as systemd does: a full socket queue would block the daemon
            else:
                time.sleep(0.05)
        raise AssertionError(f"status never matched; last: {self.status()}\n{self.stderr()}")

    def stop(self, timeout: float = 5.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"no exit {timeout}s after SIGTERM"
            if self.notify is not None:
                self.notify.drain(0.05)
            else:
                time.sleep(0.05)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def world(tmp_path: Path) -> DemoWorld:
    return build_world(tmp_path / "w", anchor=NOW)


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def synced_twice(data: dict) -> bool:
    """Both demo accounts synced, and at least one more cycle after the first."""
    accounts = data["accounts"]
    return len(accounts) == 2 and all(a["last_sync"] and a["last_sync"] > NOW_TEXT[:19] for a in accounts.values())


def rewrite_config(world: DemoWorld, old: str, new: str) -> None:
    """Edit the config the way a careful editor saves: a new file renamed over the old one."""
    text = world.config_path.read_text()
    assert old in text
    tmp = world.config_path.with_name("config.toml.new")
    tmp.write_text(text.replace(old, new))
    os.replace(tmp, world.config_path)


def draft_keys(drafts_dir: Path) -> list[str]:
    files = [p for sub in ("cur", "new") for p in (drafts_dir / sub).glob("*") if p.is_file()]
    return [str(message_from_bytes(p.read_bytes(), policy=policy.default)["X-Circleback-Key"]) for p in files]


def check_no_duplicate_no_loss(world: DemoWorld, state: Path) -> list[str]:
    keys = draft_keys(world.maildir / ".Drafts")
    assert len(keys) == len(set(keys)), f"duplicate drafts: {sorted(keys)}"
    conn = sqlite3.connect(state / "ledger.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    intents = conn.execute("SELECT key, state FROM outbox ORDER BY key").fetchall()
    conn.close()
    assert all(s == "drafted" for _, s in intents), intents  # nothing lost, nothing left pending
    assert sorted(k for k, _ in intents) == sorted(keys)
    return keys


# -- the daemon as a subprocess -----------------------------------------------------------------


def test_ready_status_watchdog_then_sigterm_exits_0_with_everything_committed(
        world: DemoWorld, tmp_path: Path, notify: NotifySocket, daemons: list[Daemon]) -> None:
    d = Daemon(world, tmp_path / "s", notify, env={"WATCHDOG_USEC": "900000"})
    daemons.append(d)
    ready = notify.wait_for(lambda m: m.get("READY") == "1")
    assert "2 account(s)" in ready["STATUS"]
    d.wait_status(synced_twice)
    status = notify.wait_for(lambda m: "/5 drafts this week" in m.get("STATUS", "") and " 0/5" not in m["STATUS"])
    assert "last sync 2026-11-20T10:00" in status["STATUS"]
    notify.wait_for(lambda m: m.get("WATCHDOG") == "1")

    started = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - started < 5
    notify.wait_for(lambda m: m.get("STOPPING") == "1", timeout=2)
    final = d.status()
    assert final["state"] == "stopped" and final["drafts_this_week"] >= 3
    assert len(check_no_duplicate_no_loss(world, d.state)) == final["drafts_this_week"]
    assert "Traceback" not in d.stderr()


def test_abstract_notify_socket_and_journal_format(world: DemoWorld, tmp_path: Path, daemons: list[Daemon]) -> None:
    """'@name' means Linux's abstract namespace; under journald lines carry <N> and no timestamp."""
    sock = NotifySocket(f"@circleback-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        # JOURNAL_STREAM must name our stderr's device and inode, as systemd sets it.
        log_path = tmp_path / "journal.log"
        with log_path.open("wb") as err:
            st = os.fstat(err.fileno())
            env = {**os.environ, "NOTIFY_SOCKET": sock.address, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
            proc = subprocess.Popen(
                [sys.executable, "-m", "circleback.daemon.cli", "--config", str(world.config_path),
                 "--state-dir", str(tmp_path / "s"), "run", "--interval", "0.3s", "--now", NOW_TEXT],
                stderr=err, stdout=subprocess.DEVNULL, env=env)
        try:
            sock.wait_for(lambda m: m.get("READY") == "1")
            sock.wait_for(lambda m: "last sync 2026" in m.get("STATUS", ""))
            proc.send_signal(signal.SIGINT)
            assert proc.wait(5) == 0
        finally:
            proc.kill()
        lines = log_path.read_text().splitlines()
        assert lines and all(line[:3] in {"<3>", "<4>", "<6>", "<7>"} for line in lines), lines[:5]
        assert not any(line[3:5].isdigit() for line in lines)  # no timestamp: journald adds its own
    finally:
        sock.close()


def test_a_second_instance_is_refused_naming_the_holder(
        world: DemoWorld, tmp_path: Path, notify: NotifySocket, daemons: list[Daemon]) -> None:
    first = Daemon(world, tmp_path / "s", notify)
    daemons.append(first)
    notify.wait_for(lambda m: m.get("READY") == "1")
    second = subprocess.run(
        [sys.executable, "-m", "circleback.daemon.cli", "--config", str(world.config_path),
         "--state-dir", str(tmp_path / "s"), "run"], capture_output=True, text=True, timeout=60)
    assert second.returncode == 73
    assert f"pid {first.proc.pid}" in second.stderr
    assert first.proc.poll() is None
    assert first.stop() == 0


def test_a_valid_edit_applies_without_restart_and_sighup_reloads(
        world: DemoWorld, tmp_path: Path, notify: NotifySocket, daemons: list[Daemon]) -> None:
    d = Daemon(world, tmp_path / "s", notify, "-v")
    daemons.append(d)
    d.wait_status(synced_twice)
    rewrite_config(world, "budget_per_week = 5", "budget_per_week = 9")
    before = monotonic_usec()
    reloading = notify.wait_for(lambda m: m.get("RELOADING") == "1")
    assert before <= int(reloading["MONOTONIC_USEC"]) <= monotonic_usec()
    after = notify.wait_for(lambda m: m.get("READY") == "1" and "/9 drafts this week" in m.get("STATUS", ""))
    assert "config edit rejected" not in after["STATUS"]
    assert d.status()["reload_error"] is None
    assert "config reloaded: drafting (budget_per_week)" in d.stderr()  # what changed, not its value

    count = len([m for _, m in notify.messages if m.get("RELOADING")])
    d.proc.send_signal(signal.SIGHUP)  # `systemctl reload`: same content, reloaded anyway
    notify.wait_for(lambda m: m.get("RELOADING") == "1" and len(
        [x for _, x in notify.messages if x.get("RELOADING")]) > count)
    notify.wait_for(lambda m: m.get("READY") == "1" and len([x for _, x in notify.messages if x.get("READY")]) > 2)
    assert d.proc.poll() is None
    assert "config reloaded: no setting changed" in d.stderr()
    assert d.stop() == 0


@pytest.mark.skipif("poll_interval" not in MaildirAccount.model_fields,
                    reason="config has no per-account poll_interval key yet (lead merges it)")
def test_an_edited_poll_interval_applies_without_restart(
        world: DemoWorld, tmp_path: Path, notify: NotifySocket, daemons: list[Daemon]) -> None:
    d = Daemon(world, tmp_path / "s", notify, interval="0.5s")
    daemons.append(d)
    d.wait_status(synced_twice)
    assert d.status()["accounts"]["mail"]["poll_interval_seconds"] == 0.5
    rewrite_config(world, 'kind = "maildir"', 'kind = "maildir"\npoll_interval = "2s"')
    data = d.wait_status(lambda s: s["accounts"]["mail"]["poll_interval_seconds"] == 2.0)
    assert data["accounts"]["calendar"]["poll_interval_seconds"] == 0.5
    assert data["pid"] == d.proc.pid


def test_an_invalid_edit_keeps_the_running_settings_and_logs_one_line(
        world: DemoWorld, tmp_path: Path, notify: NotifySocket, daemons: list[Daemon]) -> None:
    d = Daemon(world, tmp_path / "s", notify)
    daemons.append(d)
    d.wait_status(synced_twice)
    rewrite_config(world, "budget_per_week = 5", "budget_per_week = 5\nbudget = 3")
    data = d.wait_status(lambda s: s["reload_error"] is not None)
    assert data["reload_error"] == f"{world.config_path}: drafting.budget: unknown key " \
                                   "(check the spelling against config.example.toml)"
    time.sleep(1.5)  # several more ticks over the same bad file: still one line
    complaints = [ln for ln in d.stderr().splitlines() if str(world.config_path) in ln]
    assert len(complaints) == 1, complaints
    assert "drafting.budget: unknown key" in complaints[0] and "keeping the running settings" in complaints[0]
    notify.wait_for(lambda m: "config edit rejected" in m.get("STATUS", "") and "/5 drafts" in m["STATUS"])
    assert d.status()["accounts"]["mail"]["last_sync"]  # still polling on the old settings

    rewrite_config(world, "\nbudget = 3", "")
    d.wait_status(lambda s: s["reload_error"] is None)
    assert d.stop() == 0


# -- a fake IMAP server: hangs, or refuses the login ------------------------------------------


class FakeImap(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FakeImapHandler)
        self.mode = "refuse"  # or "hang": accept and say nothing, like a wedged server
        self.release = threading.Event()
        self.connections = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _FakeImapHandler(socketserver.StreamRequestHandler):
    server: FakeImap

    def handle(self) -> None:
        self.server.connections += 1
        if self.server.mode == "hang":
            self.server.release.wait(60)
            return  # closing the connection: the client's read fails
        self.wfile.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready\r\n")
        for line in self.rfile:
            tag, _, rest = line.decode().partition(" ")
            command = rest.split(" ", 1)[0].strip().upper()
            if command == "CAPABILITY":
                self.wfile.write(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n".encode())
            elif command == "LOGOUT":
                self.wfile.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                return
            else:  # LOGIN: the password was revoked
                self.wfile.write(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n".encode())


def imap_account(name: str, port: int) -> str:
    return (f'\n[[accounts]]\nname = "{name}"\nkind = "imap"\nhost = "127.0.0.1"\nport = {port}\n'
            f'security = "none"\nusername = "alex"\npassword_env = "CB_TEST_PASSWORD"\ntimeout = 30\n')


@pytest.fixture
def fake_imap() -> Iterator[FakeImap]:
    server = FakeImap()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()



def test_a_failing_account_backs_off_alone(
        world: DemoWorld, tmp_path: Path, notify: NotifySocket, daemons: list[Daemon], fake_imap: FakeImap) -> None:
    # An IMAP account whose password source is broken fails at every sync; the others go on.
    rewrite_config(world, "[cadence]", imap_account("work", fake_imap.port).replace(
        "CB_TEST_PASSWORD", "CB_UNSET_PASSWORD") + "\n[cadence]")
    d = Daemon(world, tmp_path / "s", notify, interval="0.2s")
    daemons.append(d)
    data = d.wait_status(lambda s: s["accounts"]["work"]["failures"] >= 3, timeout=30)
    work = data["accounts"]["work"]
    assert "CB_UNSET_PASSWORD is not set" in work["last_error"] and not work["paused"]
    # Backoff: the next try is 2**3 intervals after the third failure, not one.
    assert datetime.fromisoformat(work["next_sync"]) - datetime.fromisoformat(data["updated_at"]) >= \
        timedelta(seconds=0.2 * 2 ** 3 - 1)
    calendar_seen = data["accounts"]["calendar"]["last_sync"]
    later = d.wait_status(lambda s: s["accounts"]["calendar"]["last_sync"] > calendar_seen)
    assert later["accounts"]["mail"]["failures"] == 0 and later["accounts"]["mail"]["last_sync"]
    assert "1 failing" in later["summary"]
    assert later["accounts"]["work"]["failures"] <= 6  # doubling: about log2(elapsed / interval) tries
    assert d.stop() == 0

def test_watchdog_pings_stop_while_a_sync_hangs_and_resume_after(
        world: DemoWorld, tmp_path: Path, notify: NotifySocket, daemons: list[Daemon], fake_imap: FakeImap) -> None:
    d = Daemon(world, tmp_path / "s", notify, env={"WATCHDOG_USEC": "600000", "CB_TEST_PASSWORD": "x"})
    daemons.append(d)
    d.wait_status(synced_twice)
    notify.wait_for(lambda m: m.get("WATCHDOG") == "1")

    fake_imap.mode = "hang"
    with world.config_path.open("a") as fh:  # the user adds an account whose server is wedged
        fh.write(imap_account("work", fake_imap.port))
    deadline = time.monotonic() + 20
    while fake_imap.connections == 0:
        assert time.monotonic() < deadline, d.stderr()
        time.sleep(0.02)
    notify.drain()  # everything sent before the sync reached the wedged server
    seen = len(notify.messages)
    time.sleep(2.5)  # four watchdog periods of the loop
    notify.drain()
    assert not [m for _, m in notify.messages[seen:] if m.get("WATCHDOG")], "the watchdog was pinged during a hang"

    fake_imap.mode = "refuse"
    fake_imap.release.set()  # the wedged connection drops; the reconnect finds a revoked password
    notify.wait_for(lambda m: m.get("WATCHDOG") == "1", timeout=30)
    data = d.wait_status(lambda s: s["accounts"].get("work", {}).get("paused"))
    assert "refused the login" in data["accounts"]["work"]["last_error"]
    assert "1 paused (credential revoked)" in data["summary"]
    assert d.proc.poll() is None  # one revoked account pauses itself; the others go on
    assert d.stop() == 0


ME = '[me]\nname = "Alex Morgan"\naddresses = ["alex@example.org"]\n'


def test_every_account_revoked_exits_77(tmp_path: Path, notify: NotifySocket, fake_imap: FakeImap) -> None:
    config = tmp_path / "config.toml"
    config.write_text(ME + imap_account("work", fake_imap.port) + imap_account("home", fake_imap.port))
    env = {**os.environ, "NOTIFY_SOCKET": notify.address, "CB_TEST_PASSWORD": "x"}
    out = subprocess.run([sys.executable, "-m", "circleback.daemon.cli", "--config", str(config),
                          "--state-dir", str(tmp_path / "s"), "run", "--interval", "0.2s"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 77, out.stderr
    assert "every account's credential was revoked" in out.stderr
    status = statusfile.read_status(tmp_path / "s")
    assert status and status["state"].startswith("exited") and all(a["paused"] for a in status["accounts"].values())
    notify.wait_for(lambda m: m.get("STOPPING") == "1", timeout=2)


def test_an_invalid_config_at_start_exits_78_before_ready(tmp_path: Path, notify: NotifySocket) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[me]\naddresses = ["me@example.org"]\n[drafting]\nbudget = 3\n')
    env = {**os.environ, "NOTIFY_SOCKET": notify.address}
    out = subprocess.run([sys.executable, "-m", "circleback.daemon.cli", "--config", str(config),
                          "--state-dir", str(tmp_path / "s"), "run"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 78
    assert out.stderr.strip().splitlines() == [f"error: {config}: drafting.budget: unknown key "
                                               "(check the spelling against config.example.toml)"]
    notify.drain(0.2)
    assert not [m for _, m in notify.messages if m.get("READY")]


# -- SIGKILL at random moments of a looping service -----------------------------------------------

SPEEDUP = 21600  # 0.2 s of real time is 72 minutes: weeks pass, people fall due, budgets renew


def _service_child(args: list[str]) -> None:
    os.environ[clock.SPEEDUP_ENV] = str(SPEEDUP)
    os.environ.pop("NOTIFY_SOCKET", None)
    from circleback.daemon.cli import main

    code = 0
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report through the exit code
        code = 1
    os._exit(code)


def test_sigkill_at_random_moments_of_the_loop_never_duplicates_a_draft(tmp_path: Path) -> None:
    """More than 100 real SIGKILLs of the looping service (forked, so each start is cheap), with a
    compressed clock so cycles keep drafting; after each world a clean cycle: no duplicate, no
    lost intent, an intact ledger."""
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(20261122)
    kills = 0
    started = time.monotonic()
    logging.getLogger().handlers.clear()  # the children configure their own
    for w in range(4):
        world = build_world(tmp_path / f"w{w}", anchor=NOW)
        state = tmp_path / f"s{w}"
        virtual = NOW  # each start continues the compressed clock where the last one died
        world_kills = 0
        while world_kills < 26:
            args = ["--config", str(world.config_path), "--state-dir", str(state), "-q",
                    "run", "--interval", f"{0.2 * SPEEDUP}s", "--now", virtual.isoformat()]
            proc = ctx.Process(target=_service_child, args=(args,))
            t0 = time.monotonic()
            proc.start()
            proc.join(rng.uniform(0.05, 0.9))
            assert proc.is_alive(), f"the service exited by itself: {proc.exitcode}"
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(10)
            assert proc.exitcode == -signal.SIGKILL
            virtual += timedelta(seconds=(time.monotonic() - t0) * SPEEDUP)
            world_kills += 1
        kills += world_kills
        # A clean finish at 10:00 on a later day: anything pending is delivered, nothing twice.
        later = (virtual + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        final = ["--config", str(world.config_path), "--state-dir", str(state), "-q",
                 "run", "--once", "--now", later.isoformat()]
        proc = ctx.Process(target=_service_child, args=(final,))
        proc.start()
        proc.join(60)
        assert proc.exitcode == 0
        keys = check_no_duplicate_no_loss(world, state)
        assert len(keys) >= 5, keys  # the kills landed among real drafting, not only idle polls
    assert kills >= 100
    assert time.monotonic() - started < 120


# -- the scheduler's pieces, in process -----------------------------------------------------------


def test_backoff_doubles_per_failure_and_is_capped() -> None:
    assert schedule.backoff_seconds(900, 0) == 900
    assert [schedule.backoff_seconds(900, n) for n in (1, 2, 3)] == [1800, 3600, 7200]
    assert schedule.backoff_seconds(900, 30) == schedule.MAX_BACKOFF_SECONDS
    assert schedule.backoff_seconds(86400, 5) == 86400  # a daily account never polls more often when failing


def test_poll_intervals_come_from_the_account_when_config_has_them() -> None:
    settings = SimpleNamespace(accounts=[SimpleNamespace(name="mail", kind="imap", poll_interval="5min"),
                                         SimpleNamespace(name="cal", kind="caldav")])
    assert schedule.poll_intervals(settings, 900.0) == {"mail": 300.0, "cal": 900.0}  # type: ignore[arg-type]
    assert durations.parse_poll_interval(timedelta(hours=1)) == 3600
    assert durations.parse_poll_interval("90s") == durations.parse_poll_interval(90) == 90
    for bad in ("15m", "0s", "soon", True):
        with pytest.raises(ValueError):
            durations.parse_poll_interval(bad)


def test_schedule_keeps_history_of_unchanged_accounts_and_retimes_them() -> None:
    a = SimpleNamespace(name="mail", kind="maildir", path="/m")
    b = SimpleNamespace(name="cal", kind="ics", path="/c")
    sched = schedule.Schedule()
    sched.update(SimpleNamespace(accounts=[a, b]), {"mail": 900.0, "cal": 900.0})  # type: ignore[arg-type]
    assert sched.due(0.0) == ["mail", "cal"]
    sched.accounts["mail"].succeeded(10.0, NOW)
    sched.accounts["cal"].failed(10.0, "boom")
    assert sched.due(100.0) == [] and sched.next_due() == 910.0
    sched.accounts["cal"].revoked = "revoked"
    b2 = SimpleNamespace(name="cal", kind="ics", path="/elsewhere")
    sched.update(SimpleNamespace(accounts=[a, b2]), {"mail": 60.0, "cal": 60.0})  # type: ignore[arg-type]
    assert sched.accounts["mail"].last_sync == NOW and sched.accounts["mail"].next_due == 70.0
    assert sched.accounts["cal"].failures == 0 and not sched.accounts["cal"].revoked  # changed: starts afresh
    assert sched.due(71.0) == ["mail", "cal"]


def test_all_revoked_means_at_least_one_account() -> None:
    sched = schedule.Schedule()
    assert not sched.all_revoked()
    sched.update(SimpleNamespace(accounts=[SimpleNamespace(name="x", kind="imap")]), {"x": 1.0})  # type: ignore[arg-type]
    sched.accounts["x"].revoked = "gone"
    assert sched.all_revoked() and sched.due(1e9) == [] and sched.next_due() is None


def test_config_watcher_ignores_a_touch_and_sees_a_content_change(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("a = 1\n")
    watcher = watch.ConfigWatcher(path)
    watcher.remember()
    assert not watcher.changed()
    os.utime(path, ns=(1, 1))
    assert not watcher.changed()  # the mtime moved, the content did not
    path.write_text("a = 2\n")
    assert watcher.changed()
    assert not watcher.changed()
    path.unlink()
    assert watcher.changed()  # gone is a change: the reload says "no such file" once


def test_status_file_is_private_and_replaced_atomically(tmp_path: Path) -> None:
    statusfile.write_status(tmp_path, {"state": "running"})
    statusfile.write_status(tmp_path, {"state": "stopped"})
    path = statusfile.status_path(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == {"state": "stopped"}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_journal_formatter_one_line_with_priority() -> None:
    record = logging.LogRecord("circleback.x", logging.ERROR, __file__, 1, "bad: %s", ("a\nb",), None)
    assert journal.OneLineFormatter(journal=True).format(record) == "<3>circleback.x: bad: a; b"
    plain = journal.OneLineFormatter(journal=False).format(record)
    assert plain.endswith("ERROR circleback.x: bad: a; b") and plain[:4].isdigit()


def test_journal_stream_must_be_our_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    assert not journal.journal_stream()  # inherited from a parent whose stderr was the journal
    st = os.fstat(2)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    assert journal.journal_stream()


def test_notifier_strips_newlines_and_is_silent_without_a_socket(notify: NotifySocket) -> None:
    assert Notifier(None).ready("x") is False
    n = Notifier(notify.address)
    assert n.status("one\nREADY=1")
    notify.drain(0.5)
    assert notify.messages[-1][1] == {"STATUS": "one READY=1"}
    n.close()


def test_the_clock_can_be_pinned_and_compressed_for_tests_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.SPEEDUP_ENV, raising=False)
    real = clock.ServiceClock.from_env(None)
    assert not real.artificial and abs(real.now() - datetime.now(UTC)) < timedelta(seconds=2)
    monkeypatch.setenv(clock.SPEEDUP_ENV, "3600")
    fast = clock.ServiceClock.from_env(NOW)
    time.sleep(0.05)
    assert fast.now() - NOW >= timedelta(seconds=150)  # 0.05 s real is three virtual minutes
    assert fast.real_seconds(3600) == 1.0
    assert fast.now().microsecond == 0  # drafts' Date headers carry whole seconds


@pytest.mark.parametrize("accounts", [("work", "home"), ("work",)], ids=["all", "some"])
def test_run_once_exits_like_the_service_when_accounts_need_authorising(
        tmp_path: Path, fake_imap: FakeImap, accounts: tuple[str, ...]) -> None:
    """77 whenever an account needs re-authorising, as the service when all do: not 75, which cron retries for ever."""
    (tmp_path / "Mail" / "cur").mkdir(parents=True)
    config = tmp_path / "config.toml"
    maildir = f'\n[[accounts]]\nname = "home"\nkind = "maildir"\npath = "{tmp_path / "Mail"}"\n'
    every = len(accounts) == 2
    working = "" if every else maildir
    config.write_text(ME + "".join(imap_account(name, fake_imap.port) for name in accounts) + working)
    out = subprocess.run([sys.executable, "-m", "circleback.daemon.cli", "--config", str(config),
                          "--state-dir", str(tmp_path / "s"), "run", "--once"],
                         env={**os.environ, "CB_TEST_PASSWORD": "x"}, capture_output=True, text=True, timeout=60)
    assert out.returncode == 77, out.stderr
    assert "work (imap): needs authorising: the IMAP server refused the login for alex" in out.stdout
    status = statusfile.read_status(tmp_path / "s")
    assert status and status["state"] == statusfile.ONCE_STATE
    assert status["accounts"]["work"]["paused"]
    assert status["accounts"]["home"]["paused"] is every  # "home" is IMAP in one case, Maildir in the other


def test_a_paused_account_names_the_sign_in_for_this_services_config_and_state_dir(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The fix is built from the error's fields (account, provider), the command from the service's options."""
    from click.testing import CliRunner

    from circleback.daemon.cli import main
    from circleback.daemon.config import load_settings
    from circleback.daemon.service import loop

    (tmp_path / "Mail" / "cur").mkdir(parents=True)
    config, state = tmp_path / "config.toml", tmp_path / "state"
    config.write_text(
        ME + f'\n[[accounts]]\nname = "home"\nkind = "maildir"\npath = "{tmp_path / "Mail"}"\n'
        f'\n[[accounts]]\nname = "personal"\nkind = "gmail"\nclient_secrets = "{tmp_path / "cs.json"}"\n')
    service = loop.Service(config, state, load_settings(config), default_interval=60.0, notifier=Notifier(None))
    with service.session:
        service._apply(service.settings)
        with caplog.at_level(logging.ERROR, logger=loop.__name__):
            service.tick()
        service._publish("running")
    fix = f"authorise with: circleback --config {config} --state-dir {state} auth google personal"
    assert [r.getMessage() for r in caplog.records] == [
        f"account personal: paused, credential revoked: no Google token at {state}/tokens/google-personal.json; "
        f"{fix} (re-authorise, then reload)"]
    entry = statusfile.read_status(state)["accounts"]["personal"]
    assert entry["paused"] and entry["last_error"].endswith("authorise with: circleback auth google personal")
    assert entry["error"] == {"message": f"no Google token at {state}/tokens/google-personal.json",
                              "remedy": "authorise", "provider": "google"}
    shown = CliRunner().invoke(main, ["--config", str(config), "--state-dir", str(state), "status"])
    assert shown.exit_code == 0, shown.output
    assert f"  personal: paused: no Google token at {state}/tokens/google-personal.json; {fix}\n" in shown.output


# -- everyday commands beside the running service -------------------------------------------


def test_every_everyday_command_works_while_the_service_runs(world: DemoWorld, tmp_path: Path,
                                                             daemons: list[Daemon]) -> None:
    d = Daemon(world, tmp_path / "s", None)
    daemons.append(d)
    d.wait_status(synced_twice)
    due = [p.name for p in world.with_status("due")]
    recent = [p.name for p in world.with_status("recent")]
    card = tmp_path / "friend.vcf"
    card.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:Jo Ng\nEMAIL:jo.ng@example.net\nEND:VCARD\n")
    base = [sys.executable, "-m", "circleback.daemon.cli", "--config", str(world.config_path),
            "--state-dir", str(d.state)]
    commands = [
        ["snooze", due[0], "30d", "--now", NOW_TEXT],
        ["skip", due[1], "--now", NOW_TEXT],
        ["intros", "--now", NOW_TEXT],
        ["import", "vcard", str(card)],
        ["nudge", recent[0], "--about", "the Lisbon meetup talk", "--now", NOW_TEXT],
    ]
    for args in commands:
        out = subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        assert "another circleback" not in out.stderr
    cycles = d.status()["cycles"]
    d.wait_status(lambda data: data["cycles"] >= cycles + 2)  # the service went on, and saw the nudge
    assert d.stop() == 0

    ledger = Ledger.open(d.state / "ledger.sqlite3")
    try:
        settings = load_settings(world.config_path, environ=False)
        snoozed = {c.display_name for c in contacts(ledger, settings, NOW) if c.snoozed_until}
        imported = {c.display_name for c in contacts(ledger, settings, NOW) if c.imported}
        nudges = [e for e in ledger.outbox() if e.kind == "nudge"]
    finally:
        ledger.close()
    assert due[0] in snoozed and "Jo Ng" in imported
    assert len(nudges) == 1 and nudges[0].state == "drafted"
    keys = draft_keys(world.maildir / ".Drafts")
    assert keys.count(nudges[0].key) == 1  # written once, by the command, not again by the service


@pytest.mark.needs_server
def test_a_refused_certificate_pauses_the_account_until_the_config_is_reloaded(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like a revoked password, and unlike a server that is down: retrying cannot help, so the account
    is not retried (nor its line repeated) until the config that fixes it is loaded."""
    from circleback.daemon.service import loop
    from tests.support.radicale_server import start_radicale
    from tests.support.tls import make_tls_files

    tls = make_tls_files(tmp_path / "tls")
    server = start_radicale(tmp_path, tls=tls)
    monkeypatch.setenv("CB_TEST_PASSWORD", "not-checked")
    config, state = tmp_path / "config.toml", tmp_path / "state"
    dav = (f'\n[[accounts]]\nname = "dav"\nkind = "caldav"\nurl = "{server.url}"\nusername = "alice"\n'
           'password_env = "CB_TEST_PASSWORD"\n')
    config.write_text(ME + dav)
    service = loop.Service(config, state, load_settings(config), default_interval=60.0, notifier=Notifier(None))
    try:
        with service.session:
            service._apply(service.settings)
            with caplog.at_level(logging.INFO, logger=loop.__name__):
                service.tick()
                assert service.schedule.due(service.clock.monotonic() + 1e6) == []  # not even in six hours
                service.tick()
            service._publish("running")
            lines = [r.getMessage() for r in caplog.records if "dav" in r.getMessage()]
            paused = statusfile.read_status(state)

            config.write_text(ME + dav + f'ca_file = "{tls.ca}"\n')  # the fix the line asked for
            service.reload_requested = True
            service.tick()
            service._publish("running")
            resumed = statusfile.read_status(state)
    finally:
        server.stop()

    port = server.url.rstrip("/").rsplit(":", 1)[1]
    assert lines == [
        f"account dav: paused, cannot work as configured: the TLS certificate of 127.0.0.1:{port} did not verify: "
        "unable to get local issuer certificate; if the server's certificate comes from your own CA, set ca_file "
        "to that CA's certificate (PEM); otherwise fix the server's certificate (change the account's ca_file or "
        "verify_tls in the config; it resumes when the config is reloaded)"]
    entry = paused["accounts"]["dav"]
    assert entry["paused"] and entry["paused_for"] == "configuration" and entry["next_sync"] is None
    assert entry["failures"] == 0  # paused, not backing off
    assert "1 paused (cannot work as configured)" in paused["summary"]
    dav_now = resumed["accounts"]["dav"]
    assert not dav_now["paused"] and dav_now["last_sync"] and dav_now["failures"] == 0
