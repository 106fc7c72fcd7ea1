"""Real servers for tests: a private Dovecot on loopback.

Facts this relies on (docs/PROVIDERS.md, "Real servers for tests"): Dovecot refuses
uid 0 for mail, so mail lives in a directory owned by 65534 (nobody); the whole
configuration is private to a temp dir; ``ssl = no`` and plaintext login are
fine because it listens on 127.0.0.1 only.

Without a ``dovecot`` binary the tests skip with one line, except under CI
(``CI=true``), where a missing server is a broken build, not a skip.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.tls import TlsFiles

log = logging.getLogger(__name__)

MAIL_UID = MAIL_GID = 65534  # Dovecot refuses uid 0 ("userdb returned 0 as uid")
START_TIMEOUT = 15.0  # seconds until the listener must accept and greet

_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
instance_name = circleback-test-{port}
listen = 127.0.0.1
protocols = imap
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 200
first_valid_uid = {uid}
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  # One file per user: a new user is a new file, never a stale cached one.
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
    auto = create
  }}
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Junk {{
    special_use = \\Junk
    auto = create
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = create
  }}
}}
"""


@dataclass
class DovecotServer:
    host: str
    port: int
    user: str
    password: str
    root: Path
    config: Path
    tls_port: int | None = None  # implicit TLS (993-style), when started with ``tls``
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server (``doveadm -c CONF stop``) and remove its files."""
        if self._stopped:
            return
        self._stopped = True
        pid = _master_pid(self.root)
        subprocess.run(["doveadm", "-c", str(self.config), "stop"], capture_output=True, timeout=15)
        if pid and not _wait_gone(pid, 10.0):
            log.warning("dovecot master %d ignored doveadm stop; sending SIGKILL", pid)
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self, user: str) -> str:
        """A new mailbox with its own password; passwd-file is reread when it changes."""
        password = secrets.token_urlsafe(12)
        _write_passwd(self.root, user, password)
        return password

    def log_text(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def require_dovecot() -> str:
    """The dovecot binary's path; skip the test without it (fail under CI)."""
    binary = shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None)
    if binary and shutil.which("doveadm"):
        return binary
    reason = "dovecot not installed (apt-get install dovecot-imapd)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the Dovecot tests", pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_dovecot(user: str = "me@example.org", tls: TlsFiles | None = None) -> DovecotServer:
    """Start a private Dovecot and wait (bounded) until it greets.

    With ``tls`` it also offers STARTTLS on ``port`` and implicit TLS on ``tls_port``, with that
    certificate.
    """
    binary = require_dovecot()
    password = secrets.token_urlsafe(12)
    # Not pytest's tmp_path: that is 0700 root-owned, and the mail processes
    # (uid 65534) and login processes (dovenull) must traverse the directory.
    root = Path(tempfile.mkdtemp(prefix="circleback-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    tls_port = free_port() if tls else None
    config = _write_config(root, port, user, password, tls, tls_port)
    server = DovecotServer("127.0.0.1", port, user, password, root, config, tls_port)
    # The master daemonizes; its stdio must not be our pipes or run() waits on it.
    with open(root / "startup.log", "w+b") as out:
        proc = subprocess.run([binary, "-c", str(config)], stdout=out, stderr=out, timeout=30)
        out.seek(0)
        startup = out.read().decode(errors="replace").strip()
    if proc.returncode != 0:
        server.stop()
        pytest.fail(f"dovecot did not start: {startup}", pytrace=False)
    if not _wait_greeting(server.host, port, START_TIMEOUT):
        text = server.log_text()
        server.stop()
        pytest.fail(f"dovecot not answering on port {port}: {text[-2000:]}", pytrace=False)
    return server


def _write_config(
    root: Path, port: int, user: str, password: str, tls: TlsFiles | None = None, tls_port: int | None = None
) -> Path:
    for sub in ("run", "state"):
        (root / sub).mkdir(mode=0o755)
    mail = root / "mail"
    mail.mkdir(mode=0o755)
    os.chown(mail, MAIL_UID, MAIL_GID)
    (root / "users").mkdir(mode=0o755)
    _write_passwd(root, user, password)
    config = root / "dovecot.conf"
    ssl = f"ssl = yes\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}" if tls else "ssl = no"
    config.write_text(_CONF.format(root=root, port=port, uid=MAIL_UID, gid=MAIL_GID, ssl=ssl, tls_port=tls_port or 0))
    return config


def _write_passwd(root: Path, user: str, password: str) -> None:
    passwd = root / "users" / user
    passwd.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
    # Read by the auth process, which runs as dovecot's internal user.
    try:
        shutil.chown(passwd, group="dovecot")
        passwd.chmod(0o640)
    except (LookupError, PermissionError):
        passwd.chmod(0o644)


def _wait_greeting(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                if s.recv(64).startswith(b"* OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _master_pid(root: Path) -> int | None:
    try:
        return int((root / "run" / "master.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


class TcpProxy:
    """A loopback TCP proxy in front of a server: records what the client sends and
    cuts or stalls the connection on cue, to test what a sync does when the line
    drops or the server goes silent.

    A stall keeps the connection open and forwards nothing more from the server, so
    only the client's own socket timeout ends the wait; a cut closes it at once.
    Cues are one-shot: the next connection (the client's reconnect) passes.
    """

    def __init__(self, host: str, port: int, source: str = "") -> None:
        self.upstream = (host, port)
        self.source = source  # e.g. 127.0.0.2: Dovecot's auth penalty is per client IP
        self.host = "127.0.0.1"
        self._listener = socket.create_server((self.host, 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._sent = bytearray()  # everything clients sent, for counting commands
        self._server_budget: int | None = None  # server->client bytes left before a cut
        self._client_marker: bytes | None = None  # cut once the client has sent this
        self._stall_budget: int | None = None  # server->client bytes left before a stall
        self._stall_marker: tuple[bytes, int] | None = None  # (marker, server bytes still passed after it)
        self._stalling: dict[int, int] = {}  # id(client socket) -> server bytes it still gets; 0: silent
        self._silent: set[int] = set()  # the clients already stalled, counted once each
        self._cutting: set[int] = set()  # clients whose cut is under way: the server's answer no longer reaches them
        self.cuts = 0
        self.stalls = 0
        self.connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    # -- cues --

    def cut_after_server_bytes(self, count: int) -> None:
        """Forward ``count`` more bytes from the server, then drop the connection."""
        with self._lock:
            self._server_budget = count

    def cut_after_client_sends(self, marker: bytes) -> None:
        """Forward the client's bytes up to the end of ``marker``, then drop the connection."""
        with self._lock:
            self._client_marker = marker

    def stall_after_server_bytes(self, count: int) -> None:
        """Forward ``count`` more bytes from the server, then nothing: the connection stays open, silent."""
        with self._lock:
            self._stall_budget = count

    def stall_after_client_sends(self, marker: bytes, server_bytes: int = 0) -> None:
        """Once the client has sent ``marker`` (passed on to the server), forward ``server_bytes`` more of
        the server's answer and then nothing: a server that hangs in the middle of a command."""
        with self._lock:
            self._stall_marker = (marker, server_bytes)

    def commands(self) -> list[str]:
        """IMAP command names the clients sent since the last ``clear()``: FETCH, STATUS..."""
        with self._lock:
            sent = bytes(self._sent)
        found = re.findall(rb"(?m)^[A-Za-z0-9]+ (?:UID )?([A-Za-z]+)", sent)
        return [name.decode().upper() for name in found]

    def sent_bytes(self) -> bytes:
        with self._lock:
            return bytes(self._sent)

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone does not on Linux.
        _close_quietly(self._listener)
        for sock in list(self._open):
            _close_quietly(sock)

    # -- pumping --

    def _accept(self) -> None:
        while True:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, 10, (self.source, 0))
            except OSError:
                _close_quietly(client)
                continue
            upstream.settimeout(None)
            self.connections += 1
            self._open += [client, upstream]
            pair = (client, upstream)
            threading.Thread(target=self._client_to_server, args=pair, daemon=True).start()
            threading.Thread(target=self._server_to_client, args=pair, daemon=True).start()

    def _client_to_server(self, client: socket.socket, upstream: socket.socket) -> None:
        tail = b""
        while data := _recv(client):
            with self._lock:
                self._sent += data
                marker = self._client_marker
                window = tail + data
                at = window.find(marker) if marker else -1
                if at >= 0:
                    self._client_marker = None
                if self._stall_marker and self._stall_marker[0] in window:
                    self._stalling[id(client)] = self._stall_marker[1]
                    self._stall_marker = None
                tail = window[-64:]
            if at >= 0:
                keep = at + len(marker or b"") - len(window) + len(data)
                with self._lock:  # the server may answer before the cut: the client must never hear it
                    self._cutting.add(id(client))
                _send(upstream, data[:keep])
                self._cut(client, upstream)
                return
            if not _send(upstream, data):
                break
        self._cut(client, upstream, counted=False)

    def _server_to_client(self, client: socket.socket, upstream: socket.socket) -> None:
        while data := _recv(upstream):
            with self._lock:
                if id(client) in self._cutting:
                    continue
                data = self._stall_filter(id(client), data)
                budget = self._server_budget
                if budget is not None:
                    data = data[:budget]
                    self._server_budget = budget - len(data)
            if data and not _send(client, data):
                break
            if budget is not None and self._server_budget == 0:
                with self._lock:
                    self._server_budget = None
                self._cut(client, upstream)
                return
        with self._lock:
            stalled = id(client) in self._stalling
        if stalled:  # the server hung up, but a stalled client must hear nothing, not an end of file
            _close_quietly(upstream)
            return
        self._cut(client, upstream, counted=False)

    def _stall_filter(self, key: int, data: bytes) -> bytes:
        """What of the server's ``data`` still reaches the client ``key`` (under the lock): all of it, or
        the rest of its budget before it stalls; after that nothing, while the server's bytes are drained."""
        if key not in self._stalling and self._stall_budget is not None:
            self._stalling[key], self._stall_budget = self._stall_budget, None
        left = self._stalling.get(key)
        if left is None:
            return data
        kept = data[:left]
        self._stalling[key] = left - len(kept)
        if len(kept) < len(data) and key not in self._silent:
            self._silent.add(key)
            self.stalls += 1
            log.info("proxy: stalling the connection")
        return kept

    def _cut(self, client: socket.socket, upstream: socket.socket, counted: bool = True) -> None:
        if counted:
            self.cuts += 1
            log.info("proxy: cutting the connection")
        with self._lock:
            self._stalling.pop(id(client), None)
            self._silent.discard(id(client))
            self._cutting.discard(id(client))
        for sock in (client, upstream):
            _close_quietly(sock)


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


def _close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
