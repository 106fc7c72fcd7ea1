"""A local Maildir (mbsync, offlineimap, getmail): mail headers in, drafts out.

Both folder layouts are read: Maildir++ (``.Sent``, ``.Archive.2019``, as Dovecot
and offlineimap write them) and plain nested maildirs (``Sent/cur``, as mbsync
writes with ``SubFolders Verbatim``).  Only header blocks are read, never bodies.

The cursor keeps, per folder, the mtimes of ``cur/`` and ``new/`` (a directory's
mtime changes whenever a file is added, removed or renamed in it), the newest
file mtime seen, and the unique names seen within 2 s of it: an unchanged folder
is not even listed, and a changed one only has its newest files read.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any, ClassVar

from .base import Connector, Cursor, DraftRef, MailRecord, Skip, SyncResult
from .errors import ConnectorError
from .mailheaders import parse_mail_headers, read_header_block
from .progress import SyncProgress
from .text import clean_text

log = logging.getLogger(__name__)

SLACK_NS = 2_000_000_000  # file and directory mtimes are only this trustworthy (coarse clocks)
_SUBDIRS = ("new", "cur")  # new/ before cur/: a file renamed new -> cur mid-sync is still seen
PROGRESS_FROM = 2000  # messages to read before a first sync shows progress (a few seconds of work)
_SKIP_DIRS = ("cur", "new", "tmp")
_KEY_PARSER = BytesHeaderParser(policy=compat32)  # one plain header; nothing to decode
_counter = itertools.count()


@dataclasses.dataclass(frozen=True, slots=True)
class Folder:
    name: str  # "INBOX", "Sent", "Archive/2019"
    path: Path


def unique_part(filename: str) -> str:
    """The stable part of a maildir file name: flags after ":" change, this does not."""
    return filename.split(":", 1)[0]


class MaildirConnector(Connector):
    kind: ClassVar[str] = "maildir"

    @property
    def root(self) -> Path:
        return Path(self.config.path)

    def _require_root(self) -> None:
        # A missing root is an unmounted disk or a typo, never "no mail and no drafts":
        # reading it as empty would make every draft look deleted by the user.
        if not self.root.is_dir():
            raise ConnectorError(f"{self.root} is not a folder (unmounted, moved, or a typo in path?)",
                                 account=self.account)

    # -- MailSource -------------------------------------------------------------

    def sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]:
        self._require_root()
        old = (cursor or {}).get("folders", {})
        cutoff = None
        if cursor is None:  # a first sync reads only this far back
            cutoff = self.context.current_time() - timedelta(days=self.context.lookback_days)
        records: list[MailRecord] = []
        skipped: list[Skip] = []
        folders: dict[str, Any] = {}
        with SyncProgress(self.account, "reading mail headers", min_total=PROGRESS_FROM) as progress:
            for folder in self.mail_folders():
                state = old.get(folder.name)
                folders[folder.name] = self._sync_folder(folder, state, cutoff, records, skipped, progress)
        return SyncResult(records, {"folders": folders}, skipped)

    def mail_folders(self) -> list[Folder]:
        """Every folder to read: INBOX, Maildir++ and nested ones, minus drafts and skips."""
        skip = {n.lower() for n in (*self.config.skip_folders, self.config.drafts_folder)}
        found = [f for f in _find_folders(self.root) if _last(f.name).lower() not in skip]
        return sorted(found, key=lambda f: f.name)

    def is_sent_folder(self, name: str) -> bool:
        return _last(name).lower() in {n.lower() for n in self.config.sent_folders}

    def _sync_folder(
        self,
        folder: Folder,
        state: dict[str, Any] | None,
        cutoff: datetime | None,
        records: list[MailRecord],
        skipped: list[Skip],
        progress: SyncProgress,
    ) -> dict[str, Any]:
        dir_mtimes = {sub: _mtime_ns(folder.path / sub) for sub in _SUBDIRS}
        if state and all(state.get(sub) == dir_mtimes[sub] for sub in _SUBDIRS):
            return state  # nothing added, removed or renamed: not even listed
        high = state["high"] if state else 0
        seen = set(state["seen"]) if state else set()
        files = list(_message_files(folder.path))
        oldest = cutoff.timestamp() * 1e9 if cutoff else 0  # delivered before the lookback: not even opened
        todo = [
            (path, mtime_ns, unique)
            for path, mtime_ns in files
            if mtime_ns >= high - SLACK_NS and mtime_ns >= oldest and (unique := unique_part(path.name)) not in seen
        ]
        progress.grow(len(todo))
        for path, mtime_ns, unique in todo:
            progress.advance()
            if unique in seen:
                continue  # listed in new/ and again in cur/: moved by the mail client between the two listings
            if self._read_message(folder, path, mtime_ns, cutoff, records, skipped):
                seen.add(unique)
        new_high = max([high, *(m for _, m in files)])
        recent = {unique_part(p.name) for p, m in files if m >= new_high - SLACK_NS}
        return {
            **{sub: _settled(m) for sub, m in dir_mtimes.items()},
            "high": new_high,
            "seen": sorted(recent & seen),
        }

    def _read_message(
        self,
        folder: Folder,
        path: Path,
        mtime_ns: int,
        cutoff: datetime | None,
        records: list[MailRecord],
        skipped: list[Skip],
    ) -> bool:
        """Parse one file; False when it could not be opened (it may reappear renamed)."""
        where = f"{self.account}:{folder.name}/{path.name}"
        try:
            with path.open("rb") as fh:
                block = read_header_block(fh)
        except OSError as exc:  # renamed or deleted by mbsync/mutt between listing and open
            skipped.append(Skip(where, f"unreadable ({exc.strerror or exc})"))
            return False
        found = parse_mail_headers(
            block,
            folder=folder.name,
            is_sent_folder=self.is_sent_folder(folder.name),
            my_addresses=self.context.my_addresses,
            fallback_time=datetime.fromtimestamp(mtime_ns / 1e9, UTC),
            source_hint=f"{self.account}:{folder.name}/{unique_part(path.name)}",
        )
        if isinstance(found, Skip):
            skipped.append(Skip(where, found.why))
        elif cutoff is None or found.timestamp >= cutoff:
            if "D" in _flags(path.name):  # maildir info ":2,D" marks a draft
                found = dataclasses.replace(found, is_draft=True)
            records.append(found)
        return True

    # -- DraftBox -----------------------------------------------------------------

    def drafts_path(self) -> Path:
        """``.Drafts`` on a Maildir++ root (Dovecot, mutt), else nested ``Drafts/`` (mbsync)."""
        name = self.config.drafts_folder
        if _is_maildirpp(self.root, name):
            return self.root / ("." + name.replace("/", "."))
        return self.root / name

    def create_draft(self, message: bytes, key: str, reply_to: str | None = None) -> DraftRef:
        """Deliver ``message`` into Drafts the maildir way: tmp/, fsync, rename to cur/."""
        self._require_root()
        drafts = self.drafts_path()
        for sub in ("cur", "new", "tmp"):
            (drafts / sub).mkdir(parents=True, exist_ok=True)
        unique = new_unique_name()
        tmp = drafts / "tmp" / unique
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(message)
            fh.flush()
            os.fsync(fh.fileno())
        # ":2,D": the Draft flag, so mutt and mbsync show and sync it as a draft.
        os.rename(tmp, drafts / "cur" / f"{unique}:2,D")
        _fsync_dir(drafts / "cur")
        log.info("draft %s written to %s", unique, drafts)
        return DraftRef(self.account, unique, key)

    def list_drafts(self) -> list[DraftRef]:
        self._require_root()
        refs = []
        for path, _ in _message_files(self.drafts_path()):
            try:
                with path.open("rb") as fh:
                    block = read_header_block(fh)
            except OSError:
                continue  # removed while we looked: it is no longer a draft
            refs.append(DraftRef(self.account, unique_part(path.name), _draft_key(block)))
        return refs

    def get_draft(self, ref: DraftRef) -> bytes | None:
        wanted = ref.ref
        if not wanted or "/" in wanted or wanted.startswith("."):
            return None
        for path, _ in _message_files(self.drafts_path()):
            if unique_part(path.name) == wanted:
                try:
                    return path.read_bytes()
                except OSError:
                    return None
        return None

    def delete_draft(self, ref: DraftRef) -> bool:
        """Remove one of our drafts (only ever called for drafts the user never edited)."""
        wanted = ref.ref
        if not wanted or "/" in wanted or wanted.startswith("."):
            return False
        for path, _ in _message_files(self.drafts_path()):
            if unique_part(path.name) == wanted:
                path.unlink(missing_ok=True)
                _fsync_dir(path.parent)
                return True
        return False


def new_unique_name() -> str:
    """``time.MusecPpidQn.host`` (maildir spec, qmail maildir(5) and Courier's usage)."""
    now = time.time()
    # The spec asks "/" and ":" in the host name to be written as octal escapes.
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
    return f"{int(now)}.M{int(now * 1e6) % 1_000_000}P{os.getpid()}Q{next(_counter)}.{host}"


def _find_folders(root: Path) -> Iterator[Folder]:
    if _is_maildir(root):
        yield Folder("INBOX", root)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if not entry.is_dir() or entry.name in _SKIP_DIRS:
            continue
        path = Path(entry.path)
        if entry.name.startswith("."):
            if entry.name not in (".", "..") and _is_maildir(path):
                # Maildir++: ".Archive.2019" is Archive/2019; no deeper nesting exists.
                yield Folder(entry.name[1:].replace(".", "/"), path)
            continue
        yield from _find_nested(path, entry.name)


def _find_nested(path: Path, name: str) -> Iterator[Folder]:
    if _is_maildir(path):
        yield Folder(name, path)
    try:
        children = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return
    for child in children:
        if child.is_dir() and not child.name.startswith(".") and child.name not in _SKIP_DIRS:
            yield from _find_nested(Path(child.path), f"{name}/{child.name}")


def _message_files(folder: Path) -> Iterator[tuple[Path, int]]:
    """(path, mtime_ns) of every message file in new/ then cur/; dot files are not mail."""
    for sub in _SUBDIRS:
        try:
            entries = list(os.scandir(folder / sub))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_file():
                    yield Path(entry.path), entry.stat().st_mtime_ns
            except OSError:
                continue  # vanished between listing and stat: a rename we will see


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() or (path / "new").is_dir()


def _is_maildirpp(root: Path, drafts_name: str) -> bool:
    if (root / ("." + drafts_name)).is_dir():
        return True
    try:
        return any(
            e.name.startswith(".") and e.name not in (".", "..") and _is_maildir(Path(e.path)) for e in os.scandir(root)
        )
    except OSError:
        return False


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def _settled(mtime_ns: int) -> int:
    """A directory mtime safe to compare next time, or -1 to force a listing.

    Directory mtimes come from a coarse clock: a file added within the same tick
    after our listing leaves the mtime unchanged.  A directory changed in the last
    2 s is therefore listed again next time (the seen names keep that cheap).
    """
    return -1 if mtime_ns > time.time_ns() - SLACK_NS else mtime_ns


def _flags(filename: str) -> str:
    _, sep, info = filename.partition(":2,")
    return info if sep else ""


def _last(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _draft_key(block: bytes) -> str:
    value = _KEY_PARSER.parsebytes(block).get("X-Circleback-Key", "")
    return clean_text(str(value))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # make the rename itself durable (the maildir delivery contract)
    finally:
        os.close(fd)
