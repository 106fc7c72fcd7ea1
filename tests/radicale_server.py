"""A real Radicale CalDAV server on loopback, one per test, for the caldav connector.

Radicale runs as its own process (``python -m radicale --config FILE``) so the
real ``caldav`` client talks real HTTP to it; see PROVIDERS.md "Real servers
for tests".  Auth is ``none``: the tests are about CalDAV, not passwords.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

START_TIMEOUT = 15.0  # seconds; Radicale starts in well under one on these machines


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require_radicale() -> None:
    """Skip without Radicale, except in CI where a missing server is a broken setup."""
    try:
        import radicale  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("radicale is not installed; CI must test a real server", pytrace=False)
        pytest.skip("radicale is not installed (pip install radicale)")


def _write_config(root: Path, port: int) -> Path:
    config = root / "radicale.conf"
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\n"
        "type = none\n"
        # The caldav client asks once without credentials; Radicale answers 401 after
        # its anti-brute-force delay (1 s by default), which tests need not pay.
        "delay = 0\n"
        "[storage]\n"
        f"filesystem_folder = {root / 'collections'}\n"
        "[logging]\n"
        "level = warning\n"
        "mask_passwords = True\n",
        encoding="utf-8",
    )
    return config


@dataclass
class RadicaleServer:
    """One Radicale process; ``stop`` and ``start`` keep the port and the storage."""

    root: Path
    port: int
    config: Path
    url: str
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        log_file = (self.root / "radicale.log").open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"radicale exited with {self._proc.returncode}: {self._log_tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=1):  # noqa: S310 - our loopback URL
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is serving
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"radicale did not answer on {self.url} within {START_TIMEOUT}s")

    def _log_tail(self) -> str:
        path = self.root / "radicale.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def start_radicale(tmp_path: Path) -> RadicaleServer:
    """Start Radicale on a free loopback port with its own storage under ``tmp_path``."""
    _require_radicale()
    root = tmp_path / "radicale"
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = RadicaleServer(root=root, port=port, config=_write_config(root, port), url=f"http://127.0.0.1:{port}/")
    server.start()
    return server


@pytest.fixture
def radicale(tmp_path: Path):
    server = start_radicale(tmp_path)
    try:
        yield server
    finally:
        server.stop()
