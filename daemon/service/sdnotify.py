"""The sd_notify protocol (systemd.exec(5), sd_notify(3)): one datagram per state change.

Written here rather than taken from PyPI: the protocol is a dozen lines, the
``sdnotify`` package has been unmaintained since 2019 and silently swallows
every error, and ``systemd-python`` needs libsystemd headers to build. What we
need beyond the basics: abstract socket names (``@...``), ``RELOADING=1`` with
``MONOTONIC_USEC=`` (systemd >= 253 requires it for ``Type=notify-reload`` and
accepts it everywhere), and the watchdog period from ``WATCHDOG_USEC``.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 2.0


def _address(raw: str) -> str | bytes:
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()  # Linux abstract namespace
    return raw


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, the clock systemd compares MONOTONIC_USEC= against."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class Notifier:
    """Sends state lines to $NOTIFY_SOCKET; without it (not under systemd) every call is a no-op."""

    def __init__(self, address: str | None) -> None:
        self.address = _address(address) if address else None
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_env(cls) -> Notifier:
        return cls(os.environ.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *, wait: bool = True, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines in one datagram; False if it could not be delivered.

        ``wait=False`` drops the datagram rather than block when the manager's queue is
        full: right for WATCHDOG and STATUS, which the next tick repeats anyway.
        """
        if self.address is None:
            return False
        # A newline would start a new assignment: a STATUS built from data must not forge one.
        text = "\n".join(f"{k}={str(v).replace(chr(10), ' ')}" for k, v in fields.items())
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # A datagram send blocks while the receiver's queue is full; a stuck
                # manager must not stall the loop for longer than this.
                self._sock.settimeout(SEND_TIMEOUT_SECONDS)
            flags = 0 if wait else socket.MSG_DONTWAIT
            self._sock.sendto(text.encode(), flags, self.address)
        except OSError as exc:
            # systemd gone or socket full: the service keeps working; say so once, not per tick.
            if not self._warned:
                log.warning("sd_notify to %s failed: %s", os.environ.get("NOTIFY_SOCKET"), exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(READY=1, STATUS=status)

    def status(self, status: str) -> bool:
        return self.send(wait=False, STATUS=status)

    def watchdog(self) -> bool:
        return self.send(wait=False, WATCHDOG=1)

    def reloading(self) -> bool:
        return self.send(RELOADING=1, MONOTONIC_USEC=monotonic_usec())

    def stopping(self, status: str = "stopping") -> bool:
        return self.send(STOPPING=1, STATUS=status)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_seconds() -> float | None:
    """The watchdog period systemd expects pings within, if it is for this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (we were forked or exec'd by the real service)
    return int(usec) / 1_000_000
