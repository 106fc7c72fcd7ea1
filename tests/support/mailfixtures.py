"""File-level helpers for the Maildir and mbox tests (no fixtures: plain functions)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

_names = itertools.count()


def make_maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def deliver(folder: Path, raw: bytes, *, sub: str = "new", mtime: float | None = None) -> Path:
    """Write one message file the way an MDA does (flags only in cur/)."""
    make_maildir(folder)
    name = f"1700000000.M{next(_names)}P1Q1.test" + (":2,S" if sub == "cur" else "")
    path = folder / sub / name
    path.write_bytes(raw)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def mbox_entry(raw: bytes) -> bytes:
    """One mboxrd entry: separator line, body lines starting with "From " quoted, blank line."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
    return b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + b"\n".join(quoted).rstrip(b"\n") + b"\n\n"


def append_mbox(path: Path, raw: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(mbox_entry(raw))
