"""mbox files (Thunderbird, mutt, Enron exports, Google Takeout): mail headers only.

A streaming scanner, never the stdlib ``mailbox`` module: that one loads every
message's text, and we want only header blocks.  A message starts at a line
beginning with ``From `` at the start of the file or after an empty line (the
mboxo/mboxrd rule every writer follows); body lines are skipped one by one.

Incremental by size and offset: appending writers (procmail, mutt, Thunderbird)
only ever grow the file, so the next sync continues where the last complete
message ended.  A shrunk, replaced or rewritten file (compaction, expunge) is
rescanned from the start; the ledger dedupes what it already had.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from .base import Connector, Cursor, MailRecord, Skip, SyncResult
from .mailheaders import HEADER_LIMIT, parse_mail_headers, read_header_block
from .progress import SyncProgress

log = logging.getLogger(__name__)

HEAD_BYTES = 4096  # the file's first bytes identify it across syncs (a rewrite changes them)
QUIET_NS = 2_000_000_000  # a file untouched this long is not being appended to
_NOT_MAIL = (".msf", ".dat", ".json")  # Thunderbird's summary, filter and state files
_BOM = b"\xef\xbb\xbf"
PROGRESS_FROM = 256 * 1024 * 1024  # bytes to scan before a first sync shows progress (Takeout files run to GBs)
_LINE = 65536  # read bodies in slices: a base64 blob without newlines must not fill memory


@dataclass(slots=True)
class ScanState:
    """Where scanning stopped: everything before ``offset`` is consumed."""

    offset: int
    after_blank: bool  # was the line before ``offset`` empty (or is it the file start)?


def scan_mbox(fh: BinaryIO, state: ScanState, *, settled: bool) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, From line + header block)`` per message; update ``state`` as it goes.

    ``settled``: the file is not being written, so a header block cut off by the
    end of the file is complete (a message with no body and no final empty line).
    """
    fh.seek(state.offset)
    pos, blank, mid_line = state.offset, state.after_blank, False
    while line := fh.readline(_LINE):
        if not line.endswith(b"\n"):
            if len(line) < _LINE:
                return  # a last line still being written: read it next time
            pos, blank, mid_line = pos + len(line), False, True
            continue
        start, pos = pos, pos + len(line)
        if blank and not mid_line and line.startswith(b"From "):
            header = read_header_block(fh)
            pos += len(header)
            ended = header.endswith((b"\n\n", b"\r\n\r\n")) or len(header) >= HEADER_LIMIT
            if not ended and not (settled and header.endswith(b"\n")):
                return  # the header block is still being appended: offset stays before it
            yield start, line + header
            blank = True  # the block's empty line: a From line may follow at once
        else:
            blank = line in (b"\n", b"\r\n") and not mid_line
        mid_line = False
        state.offset, state.after_blank = pos, blank


class MboxConnector(Connector):
    kind: ClassVar[str] = "mbox"

    @property
    def root(self) -> Path:
        return Path(self.config.path)

    def sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]:
        old = (cursor or {}).get("files", {})
        cutoff = None
        if cursor is None:  # a first sync reads only this far back
            cutoff = self.context.current_time() - timedelta(days=self.context.lookback_days)
        records: list[MailRecord] = []
        skipped: list[Skip] = []
        files: dict[str, Any] = {}
        with SyncProgress(self.account, "reading mbox", min_total=PROGRESS_FROM, unit="bytes") as progress:
            for name, path in self.mbox_files():
                state = self._sync_file(name, path, old.get(name), cutoff, records, skipped, progress)
                if state is not None:
                    files[name] = state
        return SyncResult(records, {"files": files}, skipped)

    def mbox_files(self) -> list[tuple[str, Path]]:
        """(name relative to the configured path, path) of every mbox file to read."""
        if self.root.is_file():
            return [(self.root.name, self.root)]
        found = []
        for path in sorted(self.root.rglob("*")):
            rel = path.relative_to(self.root)
            if any(p.startswith(".") for p in rel.parts) or path.suffix.lower() in _NOT_MAIL:
                continue
            if path.is_file():
                found.append((rel.as_posix(), path))
        return found

    def is_sent_file(self, name: str) -> bool:
        """``Sent``, ``Sent.mbox``, ``enron.x.sent_items``: any naming that ends in a sent name."""
        wanted = {n.lower() for n in self.config.sent_files}
        base = name.rsplit("/", 1)[-1].lower()
        return bool({base, Path(base).stem, *_tails(base)} & wanted)

    def _sync_file(
        self,
        name: str,
        path: Path,
        state: dict[str, Any] | None,
        cutoff: datetime | None,
        records: list[MailRecord],
        skipped: list[Skip],
        progress: SyncProgress,
    ) -> dict[str, Any] | None:
        where = f"{self.account}:{name}"
        try:
            st = path.stat()
            if state and _unchanged(state, st):
                return state  # idle: not even opened
            with path.open("rb") as fh:
                return self._scan_file(name, fh, st, state, cutoff, records, skipped, progress)
        except OSError as exc:
            skipped.append(Skip(where, f"unreadable ({exc.strerror or exc})"))
            return state

    def _scan_file(
        self,
        name: str,
        fh: BinaryIO,
        st: os.stat_result,
        state: dict[str, Any] | None,
        cutoff: datetime | None,
        records: list[MailRecord],
        skipped: list[Skip],
        progress: SyncProgress,
    ) -> dict[str, Any] | None:
        head_len = min(HEAD_BYTES, st.st_size)
        head = _head(fh, head_len)
        scan = _resume_point(state, st, fh)
        if scan.offset == 0:
            fh.seek(0)
            first = fh.read(len(_BOM) + 5)
            scan.offset = len(_BOM) if first.startswith(_BOM) else 0  # some exporters add one
            if first and not first[scan.offset :].startswith(b"From "):
                skipped.append(Skip(f"{self.account}:{name}", "not an mbox (no leading From line)"))
                return None
        mtime = datetime.fromtimestamp(st.st_mtime, UTC)
        settled = st.st_mtime_ns < time.time_ns() - QUIET_NS
        progress.grow(st.st_size - scan.offset)
        read_to = scan.offset
        for offset, block in scan_mbox(fh, scan, settled=settled):
            progress.advance(offset - read_to)
            read_to = offset
            found = parse_mail_headers(
                block,
                folder=name,
                is_sent_folder=self.is_sent_file(name),
                my_addresses=self.context.my_addresses,
                # From-line dates can be conversion dates (the Enron export): use mtime.
                fallback_time=mtime,
                source_hint=f"{self.account}:{name}",
            )
            if isinstance(found, Skip):
                skipped.append(Skip(f"{self.account}:{name}@{offset}", found.why))
            elif cutoff is None or found.timestamp >= cutoff:
                records.append(found)
        progress.advance(st.st_size - read_to)  # the last message's body, or a tail left for next time
        return {
            "size": st.st_size,
            "mtime": st.st_mtime_ns,
            "inode": st.st_ino,
            "head": head,
            "head_len": head_len,
            "offset": scan.offset,
            "after_blank": scan.after_blank,
        }


def _unchanged(state: dict[str, Any], st: os.stat_result) -> bool:
    return (state.get("size"), state.get("mtime"), state.get("inode")) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ino,
    )


def _resume_point(state: dict[str, Any] | None, st: os.stat_result, fh: BinaryIO) -> ScanState:
    """Continue at the saved offset only if the file merely grew; else rescan from 0."""
    if not state or state.get("inode") != st.st_ino or st.st_size < state.get("size", 0):
        return ScanState(0, True)
    if _head(fh, state.get("head_len", 0)) != state.get("head"):
        return ScanState(0, True)  # same inode, new content: rewritten in place
    return ScanState(int(state.get("offset", 0)), bool(state.get("after_blank", True)))


def _head(fh: BinaryIO, length: int) -> str:
    fh.seek(0)
    return hashlib.sha1(fh.read(length)).hexdigest()  # noqa: S324 - identity, not security


def _tails(base: str) -> list[str]:
    """The last dot- or underscore-separated part: ``enron.x.sent_items`` -> sent_items."""
    return [base.rsplit(sep, 1)[-1] for sep in (".", "_")]
