"""One RFC 5322 header block -> one :class:`MailRecord`, shared by maildir, mbox and IMAP.

Only headers are ever parsed: callers hand over the header block (or a whole
message, from which the header block is cut first).  Decoding happens *after*
structural parsing (PROVIDERS.md, "Python's email package"): the
``policy.default`` header objects keep ``=?UTF-8?Q?H=C3=B6rst=2C_Kenny?= <k@x>``
as one person, where decoding first and splitting on commas makes two.

Malformed input is the norm in real mail, so every header is read on its own:
one broken header costs that header, never the message, and never an exception.
"""

from __future__ import annotations

import email.policy
import hashlib
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import BinaryIO

from .base import Address, Direction, MailRecord, Skip

log = logging.getLogger(__name__)

HEADER_LIMIT = 262144  # bytes; a header block larger than this is hostile or broken

_PARSER = BytesHeaderParser(policy=email.policy.default)

_EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)  # older dates are clock or parser accidents
_FUTURE_SLACK = timedelta(days=2)  # beyond this past the file's mtime: a wrong clock

# C0, DEL, C1 and the Unicode line/paragraph separators: none belongs in a name or a
# subject, and CR/LF in a value we later copy into a draft header is CVE-2024-6923.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BAD_IN_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\ufffd]")
_MSGID = re.compile(r"<([^<>]*)>")
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"[!-9;-~]+:")  # RFC 5322 2.2: printable US-ASCII except ":"
_OBS_FIELD = re.compile(rb"([!-9;-~]+)[ \t]+:")  # RFC 5322 4.5: obs WSP before the colon
_LOOSE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"]+@[^\s<>()\[\],;:\"]+")
_BOM = b"\xef\xbb\xbf"


def read_header_block(fileobj: BinaryIO, limit: int = HEADER_LIMIT) -> bytes:
    """Read lines up to and including the first empty line (LF or CRLF); never the body."""
    lines: list[bytes] = []
    total = 0
    while total < limit:
        line = fileobj.readline(limit - total)
        if not line:
            break
        lines.append(line)
        total += len(line)
        if line in (b"\n", b"\r\n"):
            break
    return b"".join(lines)


def header_block(raw: bytes) -> bytes:
    """The header part of ``raw``: up to and including the first empty line."""
    raw = raw[:HEADER_LIMIT]
    if raw.startswith((b"\n", b"\r\n")):
        return b""  # RFC 5322 section 2.1: an empty first line means no headers at all
    end = _BLANK_LINE.search(raw)
    return raw if end is None else raw[: end.end()]


def lenient_header_lines(block: bytes) -> bytes:
    """Rewrite a header block so the stdlib parser reads every field in it.

    Everything before the first empty line is header material (RFC 5322 2.1), but
    Python stops at the first line that is neither a field nor a continuation and
    drops the rest into the body.  Real mail has such lines: an unindented folded
    Received, ``From  :`` (obsolete syntax), a BOM, an mbox ``From `` line.
    """
    out: list[bytes] = []
    for number, line in enumerate(block.removeprefix(_BOM).splitlines(keepends=True)):
        if line[:1] in (b" ", b"\t"):
            if out:  # whitespace-only lines too: obs-FWS (RFC 5322 4.2) folds them in
                out.append(line)
        elif _FIELD.match(line):
            out.append(line)
        elif obs := _OBS_FIELD.match(line):
            out.append(obs.group(1) + b":" + line[obs.end() :])
        elif number and out:
            out.append(b" " + line)  # a folded line someone forgot to indent
        # else: the mbox "From " separator or junk before the first field
    return b"".join(out) + b"\n"


def clean_text(value: str) -> str:
    """Decoded header text safe to show and to copy: no controls, single spaces."""
    if _has_surrogates(value):
        # The bytes parser keeps raw 8-bit header bytes as surrogates; RFC 6532 mail
        # is UTF-8, and anything else becomes U+FFFD rather than an unencodable str.
        value = _undo_surrogates(value)
    return " ".join(_CONTROLS.sub(" ", value).split())


def _undo_surrogates(value: str) -> str:
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Pre-MIME 8-bit names ("Ingo L\xfctkebohle", 1997) are Latin-1/Windows-1252.
        return raw.decode("cp1252", "replace")


def clean_address(value: str) -> str:
    """A lower-cased ``local@domain``, or "" if it is not one usable address."""
    addr = value.strip()
    if _has_surrogates(addr):  # raw UTF-8 in an address is legal since RFC 6532
        addr = addr.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    addr = addr.lower()
    local, at, domain = addr.partition("@")
    if not at or not local or not domain or "@" in domain or _BAD_IN_ADDRESS.search(addr):
        return ""
    return addr


def parse_mail_headers(
    raw: bytes,
    *,
    folder: str,
    is_sent_folder: bool,
    my_addresses: frozenset[str],
    fallback_time: datetime,
    source_hint: str,
) -> MailRecord | Skip:
    """Build the record for one message from its headers, or say in one line why not."""
    block = header_block(raw)
    msg = _PARSER.parsebytes(lenient_header_lines(block)) if block.strip() else None
    if msg is None or not list(msg.raw_items()):
        return Skip(source_hint, "no header block (empty, or not a mail message)")
    senders = mailbox_list(msg, "from")
    sender = senders[0] if senders else None
    if sender is None and not is_sent_folder:
        return Skip(source_hint, "no usable From address")
    message_id = _first_id(_raw_values(msg, "message-id"))
    references = tuple(_ids(" ".join(_raw_values(msg, "references"))))
    in_reply_to = _first_id(_raw_values(msg, "in-reply-to"))
    source_id = (
        message_id
        or "sha1:"
        + hashlib.sha1(  # noqa: S324 - an id, not security
            source_hint.encode("utf-8", "surrogateescape") + block
        ).hexdigest()
    )
    sent = is_sent_folder or (sender is not None and sender.email in my_addresses)
    return MailRecord(
        source_id=source_id,
        timestamp=message_time(_raw_values(msg, "date"), fallback_time),
        direction=Direction.SENT if sent else Direction.RECEIVED,
        sender=sender,
        to=mailbox_list(msg, "to"),
        cc=mailbox_list(msg, "cc"),
        subject=_subject(msg),
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        thread_id=(references[0] if references else in_reply_to or message_id or source_id),
        folder=folder,
        list_id=_plain(msg, "list-id"),
        precedence=_plain(msg, "precedence").lower(),
        auto_submitted=_auto_submitted(msg),
        is_draft=False,
        circleback_key=_plain(msg, "x-circleback-key"),
    )


def message_time(date_values: list[str], fallback_time: datetime) -> datetime:
    """The Date header in UTC; the fallback when it is missing, broken or absurd."""
    fallback = _as_utc(fallback_time)
    for value in date_values[:1]:  # a duplicated Date: the first one wins, as in most MUAs
        try:
            when = _as_utc(parsedate_to_datetime(value))
        except (TypeError, ValueError, OverflowError, IndexError):
            continue
        if _EARLIEST <= when <= fallback + _FUTURE_SLACK:
            return when
    return fallback


def mailbox_list(msg: Message, name: str) -> tuple[Address, ...]:
    """Every usable address in every ``name`` header; groups yield their members."""
    found: dict[str, Address] = {}
    for raw, header in zip(_raw_values(msg, name), _header_objects(msg, name), strict=False):
        for addr in _addresses_of(raw, header):
            found.setdefault(addr.email, addr)
    return tuple(found.values())


def _addresses_of(raw: str, header: object) -> list[Address]:
    parsed = _from_header_object(header)
    if parsed is None or (not parsed and "@" in raw):
        parsed = _from_compat_string(raw)  # the header object raised or kept nothing
    if not parsed and "@" in raw:
        # Last resort for "Big Bug bb@bug.com": the one token that looks like an address.
        parsed = _usable((("", m) for m in _LOOSE_ADDRESS.findall(raw)), decoded=True)
    return parsed


def _from_header_object(header: object) -> list[Address] | None:
    try:
        # AddressHeader.addresses flattens groups (RFC 5322 3.4: "Team: a@x, b@y;").
        items = header.addresses  # type: ignore[attr-defined]
        pairs = [(a.display_name, a.addr_spec) for a in items]
    except Exception as exc:  # noqa: BLE001 - CPython's header parser raises assorted types
        log.debug("header object failed (%s); falling back to getaddresses", exc)
        return None
    return _usable(pairs, decoded=True)


def _from_compat_string(raw: str) -> list[Address]:
    try:
        pairs = getaddresses([raw])
    except Exception as exc:  # noqa: BLE001 - same: never let one header stop a message
        log.debug("getaddresses failed on %r: %s", raw[:80], exc)
        return []
    return _usable(pairs, decoded=False)


def _usable(pairs: Iterable[tuple[str, str]], *, decoded: bool) -> list[Address]:
    out = []
    for name, addr_spec in pairs:
        email_addr = clean_address(addr_spec)
        if email_addr:
            out.append(Address(email_addr, clean_text(name if decoded else _decode(name))))
    return out


def _decode(value: str) -> str:
    """RFC 2047 words in an already-split display name or an unparsed header."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001 - bad charsets and broken base64 are common
        return value


def _subject(msg: Message) -> str:
    try:
        return clean_text(str(msg["subject"] or ""))
    except Exception:  # noqa: BLE001 - fall back to decoding the raw value ourselves
        values = _raw_values(msg, "subject")
        return clean_text(_decode(values[0])) if values else ""


def _plain(msg: Message, name: str) -> str:
    values = _raw_values(msg, name)
    return clean_text(_decode(values[0])) if values else ""


def _auto_submitted(msg: Message) -> str:
    value = _plain(msg, "auto-submitted").lower()
    return "" if value == "no" else value  # RFC 3834 5: "no" means a human sent it


def _raw_values(msg: Message, name: str) -> list[str]:
    """The unparsed (compat32) values of every ``name`` header, unfolded."""
    return [v.replace("\r", "").replace("\n", "") for k, v in msg.raw_items() if k.strip().lower() == name]


def _header_objects(msg: Message, name: str) -> list[object]:
    if not isinstance(msg, EmailMessage):
        return []
    try:
        return list(msg.get_all(name) or [])
    except Exception as exc:  # noqa: BLE001 - the header factory itself may raise
        log.debug("cannot build %s header objects: %s", name, exc)
        return [None] * len(_raw_values(msg, name))


def _first_id(values: list[str]) -> str:
    for value in values:
        ids = _ids(value)
        if ids:
            return ids[0]
    return ""


def _ids(value: str) -> list[str]:
    """Message ids without angle brackets; bare tokens when a writer forgot them."""
    found = _MSGID.findall(value) or value.split()
    return [i for i in ("".join(x.split()) for x in found) if i and not _has_surrogates(i)]


def _as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 5322 "-0000" and naive dates: treat as UTC
    return when.astimezone(UTC)


def _has_surrogates(value: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in value)
