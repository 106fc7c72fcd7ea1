"""A real Radicale CalDAV server on loopback, one per test, for the caldav connector.

Radicale runs as its own process (``python -m radicale --config FILE``) so the
real ``caldav`` client talks real HTTP to it; see docs/PROVIDERS.md "Real servers
for tests".  Auth is ``none`` unless a test passes ``users``: then Radicale checks
an htpasswd file (plain text: a loopback test server), which ``set_password``
rewrites while it runs, as an administrator revoking a password would.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.tls import TlsFiles

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


def _auth_section(root: Path, users: dict[str, str] | None) -> str:
    if users is None:
        return "type = none\n"
    _write_htpasswd(root / "htpasswd", users)
    # No htpasswd_cache: Radicale reads the file at each login, so a changed password counts at once.
    return f"type = htpasswd\nhtpasswd_filename = {root / 'htpasswd'}\nhtpasswd_encryption = plain\n"


def _write_htpasswd(path: Path, users: dict[str, str]) -> None:
    partial = path.with_suffix(".tmp")  # Radicale never reads a half-written file
    partial.write_text("".join(f"{user}:{password}\n" for user, password in users.items()), encoding="utf-8")
    partial.replace(path)


def _write_config(root: Path, port: int, users: dict[str, str] | None = None, tls: TlsFiles | None = None) -> Path:
    config = root / "radicale.conf"
    ssl = f"ssl = True\ncertificate = {tls.cert}\nkey = {tls.key}\n" if tls else ""
    config.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        f"{ssl}"
        "[auth]\n"
        f"{_auth_section(root, users)}"
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
    tls: TlsFiles | None = None
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
                context = ssl.create_default_context(cafile=self.tls.ca) if self.tls else None
                with urllib.request.urlopen(self.url, timeout=1, context=context):  # noqa: S310 - our loopback URL
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

    def set_password(self, user: str, password: str) -> None:
        """Change (or add) ``user``'s password in the running server's htpasswd file."""
        path = self.root / "htpasswd"
        assert path.exists(), "this Radicale runs without auth: start it with users={...}"
        users = dict(line.split(":", 1) for line in path.read_text(encoding="utf-8").splitlines() if line)
        _write_htpasswd(path, {**users, user: password})

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


def start_radicale(tmp_path: Path, users: dict[str, str] | None = None, tls: TlsFiles | None = None) -> RadicaleServer:
    """Start Radicale on a free loopback port with its own storage under ``tmp_path``;
    with ``users`` (name -> password) it asks for those credentials, else for none; with ``tls``
    it serves https with that certificate."""
    _require_radicale()
    root = tmp_path / "radicale"
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = _write_config(root, port, users, tls)
    scheme = "https" if tls else "http"
    server = RadicaleServer(root=root, port=port, config=config, url=f"{scheme}://127.0.0.1:{port}/", tls=tls)
    server.start()
    return server
