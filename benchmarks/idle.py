"""Soak: the real `circleback run` idling over the demo world for a compressed week of polls.

    python benchmarks/idle.py --quick     # a virtual week: 672 polls of 15 minutes, under a minute
    python benchmarks/idle.py             # four virtual weeks: 2,688 polls

The daemon runs as a subprocess with the test-only compressed clock
(CIRCLEBACK_CLOCK_SPEEDUP) and 15-minute polls of both accounts (a Maildir of
~700 messages and a folder of .ics files). After its first cycle (the full
first sync and the first drafts) the clock for the figures starts: RSS and CPU
time come from /proc/<pid>; CPU per idle poll includes every tick in between
(config-file checks and all). In the same run, the baseline is the naive
service: each poll re-reads everything from scratch into a fresh ledger and
plans (no drafts), which is what a cron job around a one-shot script does.

The last line is ``key=value`` pairs: rss_start_mb, rss_end_mb, rss_growth_mb,
cpu_ms_per_idle_poll, naive_cpu_ms_per_poll, vs_naive, polls, wall_s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from circleback.daemon.app import session
from circleback.daemon.app.demo_world import build_world
from circleback.daemon.app.statusfile import read_status
from circleback.daemon.config import load_settings
from circleback.daemon.core.engine import Engine
from circleback.daemon.service.clock import SPEEDUP_ENV

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
POLL_SECONDS = 15 * 60
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE / 2**20


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def wait_cycles(state: Path, proc: subprocess.Popen[bytes], count: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(state) or {}
        if status.get("cycles", 0) >= count:
            return status
        if proc.poll() is not None:
            raise SystemExit(f"the daemon exited with {proc.returncode}")
        time.sleep(0.02)
    raise SystemExit(f"fewer than {count} cycles in {timeout:.0f}s")


def soak(root: Path, polls: int, speedup: float) -> dict[str, float]:
    world = build_world(root / "world", anchor=NOW)
    state = root / "state"
    env = {**os.environ, SPEEDUP_ENV: str(speedup)}
    env.pop("NOTIFY_SOCKET", None)
    cmd = [sys.executable, "-m", "circleback.daemon.cli", "--config", str(world.config_path), "--state-dir",
           str(state), "-q", "run", "--interval", "15min", "--now", NOW.isoformat()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_cycles(state, proc, 1, timeout=120)  # the first, full sync: not idle
        rss_start, cpu_start, wall_start = rss_mb(proc.pid), cpu_seconds(proc.pid), time.monotonic()
        status = wait_cycles(state, proc, 1 + polls, timeout=polls * 5)
        rss_end, cpu_end = rss_mb(proc.pid), cpu_seconds(proc.pid)
        wall = time.monotonic() - wall_start
        done = status["cycles"] - 1
        proc.send_signal(signal.SIGTERM)
        if proc.wait(10) != 0:
            raise SystemExit(f"the daemon exited with {proc.returncode} after SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
    return {"polls": done, "rss_start_mb": rss_start, "rss_end_mb": rss_end, "rss_growth_mb": rss_end - rss_start,
            "cpu_ms_per_idle_poll": (cpu_end - cpu_start) * 1000 / done, "wall_s": wall,
            "drafts_this_week": status["drafts_this_week"]}


def naive(root: Path, polls: int) -> float:
    """CPU ms per poll when every poll starts from nothing: fresh ledger, full sync, plan."""
    world = build_world(root / "naive-world", anchor=NOW)
    settings = load_settings(world.config_path, environ=False)
    started = time.process_time()
    for n in range(polls):
        ledger = session.open_state(root / f"naive-state-{n}")
        connectors = session.open_connectors(settings, NOW, state_dir=root / f"naive-state-{n}")
        try:
            Engine(settings, ledger, connectors).run_cycle(NOW, write=False)
        finally:
            session.close_connectors(connectors)
            ledger.close()
    return (time.process_time() - started) * 1000 / polls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one virtual week instead of four")
    parser.add_argument("--polls", type=int, help="idle polls to measure (default: 2688, quick: 672)")
    parser.add_argument("--speedup", type=float, default=30000.0,
                        help="virtual seconds per real second (30000: a 15-minute poll every 30 ms)")
    args = parser.parse_args()
    polls = args.polls or (672 if args.quick else 4 * 672)
    with tempfile.TemporaryDirectory(prefix="circleback-idle-") as tmp:
        figures = soak(Path(tmp), polls, args.speedup)
        figures["naive_cpu_ms_per_poll"] = naive(Path(tmp), 3 if args.quick else 10)
    figures["vs_naive"] = figures["naive_cpu_ms_per_poll"] / max(figures["cpu_ms_per_idle_poll"], 1e-9)
    print(f"{figures['polls']} idle polls of 15 min ({figures['polls'] / 96:.1f} virtual days) in "
          f"{figures['wall_s']:.1f}s; RSS {figures['rss_start_mb']:.1f} -> {figures['rss_end_mb']:.1f} MB; "
          f"{figures['drafts_this_week']} drafts in the last virtual week")
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(figures.items())))


if __name__ == "__main__":
    main()
