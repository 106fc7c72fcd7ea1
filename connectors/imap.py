"""Any mail provider over IMAP: header-only sync and drafts by APPEND.

Roles: MailSource (``sync_mail``) and DraftBox (``create_draft``, ``list_drafts``,
``get_draft``).  IMAP has no send command, so this connector cannot send.

Sync reads only the header fields circleback uses, thousands of messages per
round trip, and remembers per folder ``{uidvalidity, last_uid}`` (RFC 3501
2.3.1.1): an idle poll is one LIST plus one STATUS per folder, with no SELECT
and no FETCH.  A folder's cursor advances only once all its messages are
fetched; reads retry with backoff after a dropped connection, APPEND never
does (the outbox reconciles by ``X-Circleback-Key``).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.wait import wait_base

from . import secrets
from .accounts import ImapAccount
from .base import Connector, ConnectorContext, Cursor, DraftRef, MailRecord, Skip, SyncResult
from .errors import AuthRevoked, CertificateRefused, ConnectorError
from .imap_fetch import Fetched, Unreadable, uid_fetch, widen_read_buffer
from .mailheaders import RECORD_HEADERS, parse_header_fields
from .progress import SyncProgress
from .text import clean_text
from .tls import certificate_refused

log = logging.getLogger(__name__)

# The header fields a MailRecord is built from; nothing else leaves the server.
HEADER_FIELDS = " ".join(name.upper() for name in RECORD_HEADERS)
FETCH_CHUNK = 5000  # messages per UID FETCH: one round trip, a few MB of headers
PROGRESS_FROM = 2 * FETCH_CHUNK  # messages a first sync reads before it shows progress (seconds on a real server)
CURSOR_VERSION = 1
KEY_HEADER = "X-Circleback-Key"

# RFC 5530 response codes that describe a passing condition, worth a retry.
_TRANSIENT_CODES = ("[UNAVAILABLE]", "[SERVERBUG]", "[INUSE]", "[LIMIT]", "[OVERQUOTA]")
# RFC 6154 attributes of folders that hold no interactions or duplicate others.
_SKIP_USES = {b"\\junk", b"\\trash", b"\\drafts", b"\\all", b"\\flagged", b"\\important"}
_UNSELECTABLE = {b"\\noselect", b"\\nonexistent"}
# Used only when the server announces no SPECIAL-USE attribute for that role.
_JUNK_NAMES = {"junk", "spam", "junk e-mail", "bulk mail"}
_TRASH_NAMES = {"trash", "deleted items", "deleted messages", "bin"}


def _under_inbox(name: str) -> str:
    """A folder's name without an ``INBOX.`` or ``INBOX/`` parent: Cyrus and Courier keep every
    folder under INBOX (``INBOX.Drafts``, ``INBOX.Junk``), often with no SPECIAL-USE marks."""
    return name[6:] if name[:6].lower() in ("inbox.", "inbox/") else name


# --- configuration ---------------------------------------------------------


def read_password(account: ImapAccount, environ: dict[str, str] | None = None) -> str:
    """The account's password (exactly one source is configured; see PasswordSource)."""
    password = secrets.read_password(account, environ)
    if password is None:  # the config model forbids this; keep the type honest
        raise ConnectorError("no password source configured", account=account.name)
    return password


# --- the wire: FETCH responses ---------------------------------------------

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)


def uid_sets(uids: Iterable[int], chunk: int = FETCH_CHUNK) -> Iterator[tuple[str, frozenset[int]]]:
    """Sorted ``uids`` in groups of ``chunk``, each as a compact sequence-set ``1:40,45``."""
    ordered = sorted(set(uids))
    for start in range(0, len(ordered), chunk):
        group = ordered[start : start + chunk]
        yield _compact(group), frozenset(group)


def _compact(ordered: list[int]) -> str:
    runs: list[str] = []
    first = prev = ordered[0]
    for uid in ordered[1:]:
        if uid != prev + 1:
            runs.append(f"{first}:{prev}" if prev != first else str(first))
            first = uid
        prev = uid
    runs.append(f"{first}:{prev}" if prev != first else str(first))
    return ",".join(runs)


def draft_key(header: bytes) -> str:
    """The unfolded ``X-Circleback-Key`` value in a header block, or ""."""
    match = re.search(rb"(?im)^x-circleback-key:[ \t]*(.*(?:\r?\n[ \t].*)*)", header)
    if not match:
        return ""
    return clean_text(match.group(1).decode("utf-8", "replace"))  # unfolded, as maildir and Graph read it


# --- connection handling ---------------------------------------------------


class UidValidityChanged(ConnectorError):
    """The folder's UIDs were reassigned (RFC 3501 2.3.1.1) while we were reading it."""


@dataclass(frozen=True, slots=True)
class FolderPlan:
    name: str
    is_sent: bool  # every message in it was written by the user
    gmail_all: bool = False  # Gmail's All Mail: direction from X-GM-LABELS and From


@dataclass(frozen=True, slots=True)
class Selected:
    name: str
    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None


def is_transient(exc: BaseException) -> bool:
    """A dropped connection, a timeout, BYE or a NO that says "try later"."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False  # a wrong certificate does not heal by retrying
    if isinstance(exc, imaplib.IMAP4.abort | OSError | EOFError):
        return True
    if isinstance(exc, imaplib.IMAP4.error):
        return any(code in str(exc).upper() for code in _TRANSIENT_CODES)
    return False


T = TypeVar("T")


class ImapConnector(Connector):
    kind: ClassVar[str] = "imap"
    attempts: int = 4  # tries per idempotent read before the sync gives up for this cycle
    backoff: wait_base = wait_exponential(multiplier=1, min=1, max=30)

    def __init__(self, config: ImapAccount, context: ConnectorContext | None = None) -> None:
        super().__init__(config, context)
        self.config: ImapAccount = config
        self._conn: IMAPClient | None = None
        self._selected: Selected | None = None
        self._password: str | None = None
        self._ssl_context: ssl.SSLContext | None = None

    # -- connection --

    def _client(self) -> IMAPClient:
        if self._conn is None:
            self._conn = self._connect()
            self._selected = None
        return self._conn

    def _connect(self) -> IMAPClient:
        cfg = self.config
        context = self._tls_context()
        log.debug("%s: connecting to %s:%d (%s)", self.account, cfg.host, cfg.effective_port, cfg.security)
        try:
            client = IMAPClient(
                cfg.host,
                cfg.effective_port,
                ssl=cfg.security == "ssl",
                ssl_context=context,
                timeout=cfg.timeout,
            )
        except ssl.SSLCertVerificationError as exc:
            raise self._certificate_refused(exc) from None
        # IMAPClient sets imaplib's debug level to 5, which formats a repr of every
        # response line and literal even with logging off: a third of a big FETCH.
        client._imap.debug = 0
        try:
            if cfg.security == "starttls":
                client.starttls(context)
            # Now, between commands: after the greeting, or STARTTLS and the CAPABILITY that follows it.
            widen_read_buffer(client._imap)
            client.login(cfg.username, self._secret())
        except LoginError as exc:
            _shutdown_quietly(client)
            if is_transient(exc):
                raise
            self._password = None
            raise AuthRevoked(f"the IMAP server refused the login for {cfg.username}: {exc}",
                              account=self.account) from None
        except ssl.SSLCertVerificationError as exc:  # STARTTLS
            _shutdown_quietly(client)  # the half-wrapped socket may be closed already: EBADF must not hide this
            raise self._certificate_refused(exc) from None
        except BaseException:
            _shutdown_quietly(client)
            raise
        return client

    def _certificate_refused(self, exc: ssl.SSLCertVerificationError) -> CertificateRefused:
        cfg = self.config
        return certificate_refused(
            exc, server=f"{cfg.host}:{cfg.effective_port}", account=self.account, ca_file=cfg.ca_file
        )

    def _tls_context(self) -> ssl.SSLContext | None:
        """One verifying context per connector (loading the CA store takes tens of ms); none in clear text."""
        if self.config.security == "none":
            return None
        if self._ssl_context is None:
            # Verifies the certificate and host name: against the account's own CA file when it
            # names one (a private CA, load_verify_locations), else the system's store.
            self._ssl_context = ssl.create_default_context(cafile=self.config.ca_file)
        return self._ssl_context

    def _secret(self) -> str:
        if self._password is None:
            self._password = read_password(self.config)
        return self._password

    def _drop(self) -> None:
        conn, self._conn, self._selected = self._conn, None, None
        if conn is not None:
            try:
                conn.shutdown()
            except Exception as exc:  # noqa: BLE001 - the socket is already broken
                log.debug("%s: shutdown after error: %s", self.account, exc)

    def _read(self, op: Callable[[IMAPClient], T], what: str) -> T:
        """Run an idempotent read; reconnect with backoff when the connection drops."""

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s: %s failed (%s); reconnecting", self.account, what, exc)

        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.attempts),
            wait=self.backoff,
            before_sleep=before_sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                try:
                    return op(self._client())
                except BaseException as exc:
                    if is_transient(exc):
                        self._drop()  # imaplib's state is unknown after a broken read
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        conn, self._conn, self._selected = self._conn, None, None
        if conn is None:
            return
        try:
            conn.logout()
        except Exception as exc:  # noqa: BLE001 - logging out of a dead connection
            log.debug("%s: logout: %s", self.account, exc)
            conn.shutdown()

    # -- folders --

    def _list(self, client: IMAPClient) -> list[tuple[frozenset[bytes], str]]:
        return [(frozenset(f.lower() for f in flags), str(name)) for flags, _delim, name in client.list_folders()]

    def plan_folders(self, client: IMAPClient) -> tuple[list[FolderPlan], list[Skip]]:
        """The folders a sync reads, by RFC 6154 SPECIAL-USE where the server has it."""
        listing = self._list(client)
        sent = self._special(listing, b"\\sent", self.config.sent_folder)
        if b"X-GM-EXT-1" in client.capabilities():
            # Gmail shows one message under every label; All Mail holds each once.
            all_mail = [name for flags, name in listing if b"\\all" in flags]
            if not all_mail:
                raise ConnectorError("Gmail shows no All Mail folder", account=self.account,
                                     remedy="enable 'Show in IMAP' for All Mail in Gmail's settings")
            return [FolderPlan(all_mail[0], is_sent=False, gmail_all=True)], []
        if self.config.folders is not None:
            return self._configured(listing, sent)
        skip = self._skipped_names(listing)
        plans = [
            FolderPlan(name, is_sent=name == sent)
            for flags, name in listing
            if not flags & (_UNSELECTABLE | _SKIP_USES) and name not in skip
        ]
        return plans, []

    def _configured(
        self, listing: list[tuple[frozenset[bytes], str]], sent: str | None
    ) -> tuple[list[FolderPlan], list[Skip]]:
        known = {name for _flags, name in listing}
        plans, skipped = [], []
        for name in self.config.folders or []:
            if name in known:
                plans.append(FolderPlan(name, is_sent=name == sent))
            else:
                skipped.append(Skip(f"{self.account}/{name}", "no such folder on the server"))
        return plans, skipped

    def _skipped_names(self, listing: list[tuple[frozenset[bytes], str]]) -> set[str]:
        """Junk, Trash and Drafts by name, for the roles the server marks nowhere."""
        uses = set().union(*(flags for flags, _name in listing)) if listing else set()
        names = set()
        for use, candidates in (
            (b"\\junk", _JUNK_NAMES),
            (b"\\trash", _TRASH_NAMES),
            (b"\\drafts", {self.config.drafts_folder.lower()}),
        ):
            if use not in uses:
                names |= {name for _f, name in listing if _under_inbox(name).lower() in candidates}
        chosen = {n.lower() for n in (*self.config.junk_folders, *self.config.trash_folders)}
        names |= {name for _f, name in listing if name.lower() in chosen or _under_inbox(name).lower() in chosen}
        return names

    @staticmethod
    def _special(listing: list[tuple[frozenset[bytes], str]], use: bytes, fallback: str) -> str | None:
        for flags, name in listing:
            if use in flags:
                return name
        exact = next((name for _f, name in listing if name == fallback), None)
        return exact or next((name for _f, name in listing if _under_inbox(name).lower() == fallback.lower()), None)

    def _select(self, client: IMAPClient, folder: str) -> Selected:
        # EXAMINE (read-only): reading never sets \Seen or expunges (RFC 3501 6.3.2).
        info = client.select_folder(folder, readonly=True)
        self._selected = Selected(
            name=folder,
            uidvalidity=int(info[b"UIDVALIDITY"]),
            uidnext=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
            exists=int(info.get(b"EXISTS", 0)),
            highestmodseq=int(info[b"HIGHESTMODSEQ"]) if b"HIGHESTMODSEQ" in info else None,
        )
        return self._selected

    def _status(self, client: IMAPClient, folder: str) -> dict[bytes, int]:
        if self._selected is not None and self._selected.name == folder:
            # RFC 3501 6.3.10: STATUS SHOULD NOT be used on the selected mailbox.
            self._unselect(client)
        items = [b"UIDNEXT", b"UIDVALIDITY"]
        if client.has_capability("CONDSTORE"):
            items.append(b"HIGHESTMODSEQ")
        return {k: int(v) for k, v in client.folder_status(folder, items).items()}

    def _unselect(self, client: IMAPClient) -> None:
        if client.has_capability("UNSELECT"):
            client.unselect_folder()
        else:
            client.close_folder()  # CLOSE after EXAMINE expunges nothing (RFC 3501 6.4.2)
        self._selected = None

    def _uid_fetch(self, client: IMAPClient, uidset: str, items: str) -> dict[int, Fetched]:
        """``{uid: message}`` for a small FETCH (drafts); an unreadable response is logged and left out."""
        out: dict[int, Fetched] = {}
        for batch in uid_fetch(client._imap, uidset, items):
            for msg in batch:
                if isinstance(msg, Unreadable):
                    log.warning("%s: %s (message %s, UID %s)", self.account, msg.why, msg.seq, msg.uid)
                else:
                    out[msg.uid] = msg
        return out

    # -- MailSource --

    def sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]:
        """Headers of messages new since ``cursor``; ``None`` reads the lookback window."""
        old = dict((cursor or {}).get("folders", {}))
        records: list[MailRecord] = []
        folders: dict[str, Any] = {}
        try:
            plans, skipped = self._read(self.plan_folders, "LIST")
            progress = SyncProgress(self.account, "reading mail headers", min_total=PROGRESS_FROM, unit="messages")
            with progress:
                for plan in plans:
                    state = self._sync_or_skip(plan, old.get(plan.name), records, skipped, progress)
                    if state is not None:
                        folders[plan.name] = state
        except BaseException as exc:
            self._drop()
            if is_transient(exc) or isinstance(exc, imaplib.IMAP4.error):
                raise ConnectorError(f"IMAP sync of {self.config.host} failed ({exc})", account=self.account,
                                     remedy="nothing recorded, the next cycle retries") from exc
            raise
        return SyncResult(records, {"version": CURSOR_VERSION, "folders": folders}, skipped)

    def _sync_or_skip(
        self,
        plan: FolderPlan,
        old: dict[str, Any] | None,
        records: list[MailRecord],
        skipped: list[Skip],
        progress: SyncProgress,
    ) -> dict[str, Any] | None:
        """One folder; a folder the server refuses (deleted since LIST, no rights) is skipped."""
        try:
            return self._sync_folder(plan, old, records, skipped, progress)
        except imaplib.IMAP4.error as exc:
            if is_transient(exc):
                raise
            skipped.append(Skip(f"imap:{self.account}/{plan.name}", f"folder not read: {exc}"))
            return old  # its cursor stays where it was

    def _sync_folder(
        self,
        plan: FolderPlan,
        old: dict[str, Any] | None,
        records: list[MailRecord],
        skipped: list[Skip],
        progress: SyncProgress,
    ) -> dict[str, Any]:
        uidnext = None  # on a first read, SELECT tells all that STATUS would
        if old:
            status = self._read(lambda c: self._status(c, plan.name), f"STATUS {plan.name}")
            uidvalidity, uidnext = status.get(b"UIDVALIDITY"), status.get(b"UIDNEXT")
            if old.get("uidvalidity") == uidvalidity:
                if uidnext is not None and uidnext <= int(old["last_uid"]) + 1:
                    return old  # idle: UIDNEXT only grows within one UIDVALIDITY (RFC 3501 2.3.1.1)
            else:
                log.info("%s: %s has a new UIDVALIDITY; reading it again", self.account, plan.name)
                old = None
        try:
            return self._read_folder(plan, old, uidnext, records, skipped, progress)
        except UidValidityChanged:
            log.info("%s: %s changed UIDVALIDITY mid-sync; rereading", self.account, plan.name)
            return self._read_folder(plan, None, uidnext, records, skipped, progress)

    def _read_folder(
        self,
        plan: FolderPlan,
        old: dict[str, Any] | None,
        status_uidnext: int | None,
        records: list[MailRecord],
        skipped: list[Skip],
        progress: SyncProgress,
    ) -> dict[str, Any]:
        """Every wanted message of one folder, or an exception and nothing kept.

        Only a folder read from its start counts towards ``progress`` (a first sync's).
        """
        sel = self._read(lambda c: self._select(c, plan.name), f"SELECT {plan.name}")
        uidnext = sel.uidnext or status_uidnext  # RFC 3501 lets SELECT omit UIDNEXT
        top = (uidnext or 1 << 32) - 1  # messages arriving from now on wait for the next cycle
        wanted, not_before = self._wanted_uids(plan, sel, old, top)
        counting = progress if old is None else None
        if counting is not None:
            counting.grow(sum(len(members) for _s, members in wanted))
        found: list[MailRecord] = []
        lost: list[Skip] = []
        items = self._fetch_items()
        for uidset, members in wanted:
            batch = self._in_folder(
                plan.name,
                sel.uidvalidity,
                lambda c, s=uidset, m=members: self._fetch_records(c, plan, s, m, items, not_before, counting),
            )
            for key in sorted(batch):
                result = batch[key]
                if isinstance(result, MailRecord):
                    found.append(result)
                else:
                    lost.append(result)
        records.extend(found)
        skipped.extend(lost)
        if uidnext is None:  # a server that never says: the highest UID we have seen
            top = max((max(m) for _s, m in wanted), default=int((old or {}).get("last_uid", 0)))
        return {"uidvalidity": sel.uidvalidity, "last_uid": top, "highestmodseq": sel.highestmodseq}

    def _in_folder(self, folder: str, uidvalidity: int, op: Callable[[IMAPClient], T]) -> T:
        """``op`` with ``folder`` selected, reselecting after a reconnect."""

        def selected_op(client: IMAPClient) -> T:
            current = self._selected
            if current is None or current.name != folder:
                current = self._select(client, folder)
            if current.uidvalidity != uidvalidity:
                raise UidValidityChanged(f"{folder}: UIDVALIDITY changed during the sync")
            return op(client)

        return self._read(selected_op, f"reading {folder}")

    def _wanted_uids(
        self, plan: FolderPlan, sel: Selected, old: dict[str, Any] | None, top: int
    ) -> tuple[list[tuple[str, frozenset[int]]], datetime | None]:
        """The UID sets to fetch, and the INTERNALDATE below which a fetched message is dropped (or None)."""
        if sel.exists == 0:
            return [], None
        not_before = None
        if old is None:
            lookback = timedelta(days=self.context.lookback_days)
            since = (self.context.current_time() - lookback).date()
            criteria: list[Any] = ["SINCE", since]  # RFC 3501 SEARCH SINCE: by INTERNALDATE
            if self._in_folder(plan.name, sel.uidvalidity, lambda c: c.search(["1", "SINCE", since])):
                # The first message arrived inside the window, so nearly all did: the
                # server need not read every message's date twice (for SEARCH SINCE and
                # for FETCH).  The few older ones (mail moved in later) are dropped by
                # the INTERNALDATE the FETCH brings, counted from midnight UTC.
                criteria, not_before = ["ALL"], datetime.combine(since, time(), UTC)
            low = 1
        else:
            low = int(old["last_uid"]) + 1
            if top - low + 1 <= FETCH_CHUNK:  # the usual case: one range, no SEARCH
                return ([(f"{low}:{top}", frozenset(range(low, top + 1)))] if top >= low else []), None
            criteria = ["UID", f"{low}:{top}"]  # sparse UIDs: ask which exist
        uids = self._in_folder(plan.name, sel.uidvalidity, lambda c: c.search(criteria))
        return list(uid_sets(u for u in uids if low <= u <= top)), not_before

    def _fetch_items(self) -> str:
        gmail = self._conn is not None and b"X-GM-EXT-1" in self._conn.capabilities()
        labels = " X-GM-LABELS" if gmail else ""
        return f"(UID FLAGS INTERNALDATE{labels} BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"

    def _fetch_records(
        self,
        client: IMAPClient,
        plan: FolderPlan,
        uidset: str,
        members: frozenset[int],
        items: str,
        not_before: datetime | None = None,
        progress: SyncProgress | None = None,
    ) -> dict[int, MailRecord | Skip]:
        """One UID FETCH, each message made a record (or a Skip) as it arrives off the wire.

        Keyed by UID: ``*`` in a set can name a UID we did not ask for, and a server
        may report a message twice.  A retry after a cut calls this afresh.  Messages
        with an INTERNALDATE before ``not_before`` are outside the lookback: left out.
        """
        source = f"imap:{self.account}/{plan.name}"
        to_record = self._record_maker(plan, source)
        out: dict[int, MailRecord | Skip] = {}
        counted = 0
        try:
            for batch in uid_fetch(client._imap, uidset, items):
                for msg in batch:
                    if isinstance(msg, Unreadable):
                        if msg.uid is None:  # keyed below every UID, so it stays apart
                            out[-len(out) - 1] = Skip(f"{source} message {msg.seq}", msg.why)
                        elif msg.uid in members:  # a readable report of the same message wins
                            out.setdefault(msg.uid, Skip(f"{source} uid {msg.uid}", msg.why))
                    elif msg.uid in members:
                        if not_before is not None and msg.internaldate is not None and msg.internaldate < not_before:
                            continue
                        record = to_record(msg)
                        if record is not None:
                            out[msg.uid] = record
                if progress is not None:  # a batch at a time: nothing per message on this hot loop
                    progress.advance(len(batch))
                    counted += len(batch)
        except BaseException:
            if progress is not None:
                progress.advance(-counted)  # a retry reads the whole set again
            raise
        return out

    def _record_maker(self, plan: FolderPlan, source: str) -> Callable[[Fetched], MailRecord | Skip | None]:
        """What makes one fetched message of ``plan``'s folder a record, with what all share looked up once."""
        folder, is_sent, gmail_all = plan.name, plan.is_sent, plan.gmail_all
        my_addresses, current_time = self.context.my_addresses, self.context.current_time

        def to_record(msg: Fetched) -> MailRecord | Skip | None:
            if b"\\draft" in msg.flags:
                return None  # an unsent draft is no interaction (Gmail's All Mail holds drafts)
            result = parse_header_fields(
                msg.body,
                folder=folder,
                is_sent_folder=is_sent or (gmail_all and b"\\sent" in msg.labels),
                my_addresses=my_addresses,
                # The Date header where it is plausible against INTERNALDATE, else INTERNALDATE: a
                # mailbox migrated without its dates has every INTERNALDATE on the day of the copy
                # (mailheaders.message_time holds the rule).
                fallback_time=msg.internaldate or current_time(),
                # No UID in the hint: a message without Message-ID keeps its id when
                # the folder's UIDVALIDITY changes.
                source_hint=source,
            )
            if isinstance(result, Skip):
                return Skip(f"{source} uid {msg.uid}", result.why)
            return result

        return to_record

    # -- DraftBox --

    def _drafts_folder(self, client: IMAPClient) -> str:
        name = self._special(self._list(client), b"\\drafts", self.config.drafts_folder)
        if name is None:
            raise ConnectorError(
                f"no Drafts folder (none marked \\Drafts and none named {self.config.drafts_folder!r})",
                account=self.account, remedy="set drafts_folder",
            )
        return name

    def create_draft(self, message: bytes, key: str, reply_to: str | None = None) -> DraftRef:
        """APPEND ``message`` to Drafts as \\Draft \\Seen; never retried (see module doc).

        ``reply_to`` needs nothing here: threading lives in the message's own
        In-Reply-To and References headers.
        """
        if draft_key(_head(message)) != key:
            raise ValueError(f"the draft must carry '{KEY_HEADER}: {key}' in its header")
        folder = self._read(self._drafts_folder, "LIST")  # also proves the connection alive
        try:
            response = self._client().append(folder, message, flags=(b"\\Draft", b"\\Seen"))
        except Exception as exc:
            self._drop()
            raise ConnectorError(
                f"APPEND to {folder!r} failed ({exc})", account=self.account,
                remedy="not retried: the outbox looks for the key in list_drafts() first",
            ) from exc
        appended = _APPENDUID.search(response or b"")  # RFC 4315 UIDPLUS
        if appended:
            return DraftRef(self.account, f"{appended.group(1).decode()}:{appended.group(2).decode()}", key)
        ref = self._read(lambda c: self._find_by_key(c, folder, key), "SEARCH Drafts")
        if ref is None:
            raise ConnectorError(f"APPEND succeeded but the draft is not in {folder!r}", account=self.account)
        return DraftRef(self.account, ref, key)

    def list_drafts(self) -> list[DraftRef]:
        return self._read(self._list_drafts, "list drafts")

    def _list_drafts(self, client: IMAPClient) -> list[DraftRef]:
        sel = self._select(client, self._drafts_folder(client))
        if sel.exists == 0:
            return []  # "1:*" on an empty mailbox is an error on some servers
        items = f"(UID FLAGS BODY.PEEK[HEADER.FIELDS ({KEY_HEADER.upper()})])"
        fetched = self._uid_fetch(client, "1:*", items)
        return [
            DraftRef(self.account, f"{sel.uidvalidity}:{uid}", draft_key(msg.body))
            for uid, msg in sorted(fetched.items())
            if b"\\deleted" not in msg.flags
        ]

    def get_draft(self, ref: DraftRef) -> bytes | None:
        """The draft at ``ref`` (``uidvalidity:uid``); None once it is gone or renumbered.

        A client that saves an edited draft as a new message gives it a new UID;
        the outbox then finds it again by key through ``list_drafts``.
        """
        return self._read(lambda c: self._get_draft(c, ref), "get draft")

    def _get_draft(self, client: IMAPClient, ref: DraftRef) -> bytes | None:
        uidvalidity, _, uid = ref.ref.partition(":")
        if not (uid.isdigit() and uidvalidity.isdigit()):
            return None  # not a ref this connector made
        sel = self._select(client, self._drafts_folder(client))
        if int(uidvalidity) != sel.uidvalidity:
            return None  # RFC 3501 2.3.1.1: the old UID names nothing now
        return self._fetch_body(client, int(uid))

    def _fetch_body(self, client: IMAPClient, uid: int) -> bytes | None:
        msg = self._uid_fetch(client, str(uid), "(UID FLAGS BODY.PEEK[])").get(uid)
        if msg is None or b"\\deleted" in msg.flags:
            return None
        return msg.body

    def _find_by_key(self, client: IMAPClient, folder: str, key: str, *, selected: bool = False) -> str | None:
        sel = self._selected if selected and self._selected else self._select(client, folder)
        # SEARCH HEADER matches substrings (RFC 3501 6.4.4): confirm the exact key.
        uids = client.search(["HEADER", KEY_HEADER, key])
        if not uids:
            return None
        items = f"(UID FLAGS BODY.PEEK[HEADER.FIELDS ({KEY_HEADER.upper()})])"
        fetched = self._uid_fetch(client, ",".join(map(str, uids)), items)
        exact = [u for u, m in fetched.items() if draft_key(m.body) == key and b"\\deleted" not in m.flags]
        return f"{sel.uidvalidity}:{max(exact)}" if exact else None


def _shutdown_quietly(client: IMAPClient) -> None:
    """Close a connection that failed while opening, keeping the error that made it fail."""
    try:
        client.shutdown()
    except OSError as exc:
        log.debug("shutdown of a connection that failed to open: %s", exc)


def _head(message: bytes) -> bytes:
    end = re.search(rb"\r?\n\r?\n", message)
    return message if end is None else message[: end.start()]
