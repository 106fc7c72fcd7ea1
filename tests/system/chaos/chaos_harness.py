"""The chaos loop shared by every backend: kill a daemon cycle, restart it, check the invariants.

A *round* starts from a fresh remote (the backend's :meth:`Backend.reset`) and an
empty state directory. One to three cycles are killed in a row — at a random
checkpoint (between every ledger commit and every draft-box write, see
``daemon/faults.py``) or by SIGKILL at a random moment of the cycle — each followed
by the checks that hold at any instant; then a cycle runs to the end and the
full checks run: exactly the drafts and interactions of a clean single run.

Each cycle is a forked child (as ``tests/test_end_to_end.py::run_child``), so a kill
is a real process death: no ``finally``, no rollback, no atexit.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Protocol

from circleback.daemon.core.faults import CRASH_EXIT_CODE

KEY_HEADER = "X-Circleback-Key"
KILLED = (-signal.SIGKILL, CRASH_EXIT_CODE)
CHILD_TIMEOUT = 120.0


class Backend(Protocol):
    name: str

    def reset(self) -> None:
        """A fresh remote world: the mail and calendar a clean run starts from, no drafts."""

    def run_cycle(self, state: Path, crash_at: int) -> int:
        """One daemon cycle in this (forked) process over ``state``, dying at checkpoint ``crash_at``
        (0: never); returns the checkpoints it passed."""

    def draft_keys(self) -> list[str]:
        """Our key header of every draft in the backend's draft box, read from the backend itself."""

    def settle(self) -> None:
        """Wait for requests a killed child left in flight to finish on the server side."""

    def close(self) -> None: ...


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)


def header_key(raw: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(raw).get(KEY_HEADER, "")).strip()


# -- the forked child ----------------------------------------------------------------------------


class SigkillAt:
    """A checkpoint hook that SIGKILLs its own process at the Nth checkpoint: a real kill, at exactly there."""

    def __init__(self, crash_at: int) -> None:
        self.crash_at = crash_at
        self.seen = 0

    def __call__(self, label: str) -> None:
        self.seen += 1
        if self.crash_at and self.seen >= self.crash_at:
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(60)  # not reached: the signal cannot be caught


def _child(backend: Backend, state: str, crash_at: int, count_file: str) -> None:
    code, seen = 0, -1
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the CLI's cycle summary, thousands of times over, says nothing the checks do not
    try:
        seen = backend.run_cycle(Path(state), crash_at)
    except BaseException:  # noqa: BLE001 - the exit code says it; the traceback goes to stderr
        import traceback

        traceback.print_exc()
        code = 1
    partial = Path(count_file + ".tmp")  # a kill mid-write must not leave a half-written count
    partial.write_text(str(seen))
    partial.replace(count_file)
    os._exit(code)


@dataclass
class ChildResult:
    code: int  # 0, 1, -SIGKILL, or CRASH_EXIT_CODE from daemon/faults.py's own hook

    @property
    def killed(self) -> bool:
        return self.code in KILLED
    checkpoints: int  # seen by a child that finished; -1 when it was killed
    seconds: float


def run_child(backend: Backend, state: Path, *, crash_at: int = 0, kill_after: float | None = None) -> ChildResult:
    ctx = multiprocessing.get_context("fork")
    count_file = state.parent / f".{state.name}-checkpoints"
    count_file.write_text("-1")
    started = time.perf_counter()
    proc = ctx.Process(target=_child, args=(backend, str(state), crash_at, str(count_file)))
    proc.start()
    if kill_after is not None:
        proc.join(kill_after)
        if proc.is_alive():
            os.kill(proc.pid or 0, signal.SIGKILL)
    proc.join(CHILD_TIMEOUT)
    if proc.is_alive():
        os.kill(proc.pid or 0, signal.SIGKILL)
        proc.join()
        raise AssertionError(f"{backend.name}: a cycle hung for {CHILD_TIMEOUT}s")
    seconds = time.perf_counter() - started
    text = count_file.read_text().strip()
    seen = int(text) if text.lstrip("-").isdigit() else -1
    return ChildResult(proc.exitcode if proc.exitcode is not None else -999, seen, seconds)


# -- what the ledger and the box say ------------------------------------------------------------


@dataclass
class Snapshot:
    integrity: str
    interactions: list[tuple]
    intents: list[tuple[str, str, str, str, str]]  # key, recipient, kind, period, state
    box: list[str]  # our keys in the draft box


def snapshot(backend: Backend, state: Path) -> Snapshot:
    db = state / "ledger.sqlite3"
    box = backend.draft_keys()
    if not db.exists():
        return Snapshot("ok", [], [], box)
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"interactions", "outbox"} <= tables:  # killed before the first migration committed
            return Snapshot(integrity, [], [], box)
        interactions = conn.execute(
            "SELECT i.account, i.source_id, a.address, i.channel, i.at FROM interactions i "
            "JOIN addresses a ON a.person_id = i.person_id ORDER BY 1, 2, 3, 4, 5"
        ).fetchall()
        intents = conn.execute("SELECT key, recipient, kind, period, state FROM outbox ORDER BY key").fetchall()
    finally:
        conn.close()
    return Snapshot(integrity, interactions, intents, box)


def check_any_instant(where: str, snap: Snapshot) -> None:
    """What must hold right after any kill, before the restart."""
    assert snap.integrity == "ok", f"{where}: integrity_check says {snap.integrity}"
    dupes = [k for k, n in Counter(snap.box).items() if n > 1]
    assert not dupes, f"{where}: duplicate drafts by {KEY_HEADER}: {dupes}"
    live = [(r, k, p) for _, r, k, p, s in snap.intents if s != "withdrawn"]
    twice = [t for t, n in Counter(live).items() if n > 1]
    assert not twice, f"{where}: two intents for the same recipient+kind+period: {twice}"
    intents = {k: s for k, _, _, _, s in snap.intents}
    orphans = [k for k in snap.box if k not in intents]
    assert not orphans, f"{where}: drafts with no intent in the outbox: {orphans}"
    lost = [k for k, s in intents.items() if s == "drafted" and k not in snap.box]
    assert not lost, f"{where}: intents marked drafted whose draft is not in the box: {lost}"


def check_after_restart(where: str, snap: Snapshot, clean: Snapshot) -> None:
    """What must hold once a restarted cycle ran to its end: exactly a clean single run."""
    check_any_instant(where, snap)
    states = Counter(s for *_, s in snap.intents)
    assert set(states) <= {"drafted"}, f"{where}: intents not drafted after a full cycle: {states}"
    assert sorted(snap.box) == sorted(clean.box), f"{where}: drafts {sorted(snap.box)} != clean {sorted(clean.box)}"
    assert [i[0] for i in snap.intents] == [i[0] for i in clean.intents], f"{where}: intents differ from a clean run"
    assert snap.interactions == clean.interactions, f"{where}: interactions differ from a clean run"


# -- the loop -------------------------------------------------------------------------------------


@dataclass
class ChaosResult:
    backend: str
    kills: int = 0
    at_checkpoint: int = 0
    at_random_time: int = 0
    restarts: int = 0
    rounds: int = 0
    clean_checkpoints: int = 0
    clean_drafts: int = 0
    seconds: float = 0.0
    checkpoint_labels: Counter[int] = field(default_factory=Counter)

    def line(self) -> str:
        return (f"{self.backend}: {self.kills} kills ({self.at_checkpoint} at a checkpoint, "
                f"{self.at_random_time} at a random moment), {self.restarts} restarts, {self.rounds} rounds, "
                f"{self.clean_drafts} drafts per clean run, {self.clean_checkpoints} checkpoints per clean run, "
                f"{self.seconds:.0f}s: no duplicate, no lost intent, integrity ok")


def clean_run(backend: Backend, tmp: Path) -> tuple[Snapshot, ChildResult]:
    backend.reset()
    state = tmp / f"{slug(backend.name)}-clean"
    shutil.rmtree(state, ignore_errors=True)
    result = run_child(backend, state)
    assert result.code == 0, f"{backend.name}: the clean run failed ({result.code})"
    clean = snapshot(backend, state)
    check_any_instant(f"{backend.name} clean run", clean)
    assert clean.box, f"{backend.name}: a clean run wrote no draft; the chaos would prove nothing"
    again = run_child(backend, state)  # a second cycle over the same world adds nothing
    assert again.code == 0
    assert sorted(snapshot(backend, state).box) == sorted(clean.box)
    shutil.rmtree(state)
    return clean, result


def chaos(backend: Backend, tmp: Path, kills_wanted: int, *, seed: int = 20261122,
          max_rounds: int | None = None) -> ChaosResult:
    started = time.perf_counter()
    rng = random.Random(seed)
    clean, clean_result = clean_run(backend, tmp)
    out = ChaosResult(backend.name, clean_checkpoints=clean_result.checkpoints, clean_drafts=len(clean.box))
    checkpoints, seconds = clean_result.checkpoints, clean_result.seconds
    state = tmp / f"{slug(backend.name)}-state"
    limit = max_rounds if max_rounds is not None else kills_wanted * 4 + 20
    while out.kills < kills_wanted and out.rounds < limit:
        out.rounds += 1
        backend.reset()
        shutil.rmtree(state, ignore_errors=True)
        for attempt in range(rng.randint(1, 4)):
            where = f"{backend.name} round {out.rounds} kill {attempt + 1}"
            if rng.random() < 0.6:
                step = rng.randint(1, max(1, checkpoints))
                result = run_child(backend, state, crash_at=step)
                where += f" (checkpoint {step})"
            else:
                delay = rng.uniform(0.0, seconds)
                result = run_child(backend, state, kill_after=delay)
                where += f" (after {delay:.3f}s)"
            assert result.code == 0 or result.killed, f"{where}: the cycle failed with exit code {result.code}"
            if result.killed:
                out.kills += 1
                if "checkpoint" in where:
                    out.at_checkpoint += 1
                    out.checkpoint_labels[step] += 1
                else:
                    out.at_random_time += 1
                backend.settle()
            check_any_instant(where, snapshot(backend, state))
        result = run_child(backend, state)
        out.restarts += 1
        assert result.code == 0, f"{backend.name} round {out.rounds}: the restart failed ({result.code})"
        check_after_restart(f"{backend.name} round {out.rounds} after restart", snapshot(backend, state), clean)
    out.seconds = time.perf_counter() - started
    return out
