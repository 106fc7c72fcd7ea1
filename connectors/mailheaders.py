"""One RFC 5322 header block -> one :class:`MailRecord`, shared by maildir, mbox and IMAP.

Only headers are ever parsed: callers hand over the header block (or a whole
message, from which the header block is cut first).  Decoding happens *after*
structural parsing (docs/PROVIDERS.md, "Python's email package"): the
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
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email import _encoded_words
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from typing import BinaryIO

from .addresses import is_usable_address
from .base import Address, Direction, MailRecord, Skip, new_mail_record
from .text import clean_text, has_surrogates

log = logging.getLogger(__name__)

HEADER_LIMIT = 262144  # bytes; a header block larger than this is hostile or broken

_PARSER = BytesHeaderParser(policy=email.policy.default)

# When a message was written (message_time): its Date header, if plausible against the time the
# mailbox keeps for it (IMAP INTERNALDATE, Gmail internalDate, a file's mtime), else that time.
_EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)  # older dates are clock or parser accidents (1970: a zero)
_FUTURE_SLACK = timedelta(days=2)  # a Date this far after the mailbox's time: a wrong clock, not a delay

_BAD_IN_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\ufffd]")
# Local parts no one reads mail at, common in converted archives (Enron's To: headers
# hold "'hotmail.com@enron.com", "'@enron.com", "carol.st.@enron.com"): no letter or
# digit, or a quote or dot at either end.  "o'neill" is fine.
_IMPLAUSIBLE_LOCAL = re.compile(r"""[.'"`]|.*[.'"`]\Z|[\W_]*+\Z""", re.DOTALL)
_MSGID = re.compile(r"<([^<>]*)>")
_ONE_PLAIN_ID = re.compile(r"<[!-;=?-~]++>")  # one id of printable ASCII: no space, no brackets inside
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"[!-9;-~]+:")  # RFC 5322 2.2: printable US-ASCII except ":"
_OBS_FIELD = re.compile(rb"([!-9;-~]+)[ \t]+:")  # RFC 5322 4.5: obs WSP before the colon
_LOOSE_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"]+@[^\s<>()\[\],;:\"]+")
_BOM = b"\xef\xbb\xbf"
_NO_HEADER_BLOCK = "no header block (empty, or not a mail message)"
_NO_FROM = "no usable From address"


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


def clean_address(value: str) -> str:
    """A lower-cased ``local@domain``, or "" if it is not one usable address.

    Usable is what the draft builder would write to (``addresses.py``), and more: no
    local part no one reads mail at.
    """
    addr = value.strip()
    if has_surrogates(addr):  # raw UTF-8 in an address is legal since RFC 6532
        addr = addr.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    addr = addr.lower()
    local, at, domain = addr.partition("@")
    if (
        not at
        or not local
        or not domain
        or "@" in domain
        or _BAD_IN_ADDRESS.search(addr)
        or _IMPLAUSIBLE_LOCAL.match(local)
        or not is_usable_address(addr)
    ):
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
    timestamp: datetime | None = None,
) -> MailRecord | Skip:
    """Build the record for one message from its headers, or say in one line why not.

    The record's time is :func:`message_time`'s: the Date header when it is plausible
    against ``fallback_time`` (the time the mailbox keeps: IMAP INTERNALDATE, Gmail
    internalDate, a file's mtime), else ``fallback_time``. ``timestamp``, when given,
    is the time whatever the Date header says (Graph's receivedDateTime).

    The same result as :func:`_parse_mail_headers_full`, an order of magnitude
    faster: the header block is split into fields here (exactly as the stdlib
    parser would split it, or not at all), and each value takes a fast path only
    where that provably gives what the stdlib header objects give, else the
    stdlib itself for that value.  tests/test_mailheaders_fastpath.py holds the two
    paths equal over the corpus and generated headers.
    """
    block = _header_block_fast(raw)
    if not block or block.isspace():  # = not block.strip(), without the copy
        return Skip(source_hint, _NO_HEADER_BLOCK)
    seen, fields = _split_fields(block)
    if not seen:
        return Skip(source_hint, _NO_HEADER_BLOCK)
    get = fields.get
    senders = _addresses(get("from"), "from")
    sender = senders[0] if senders else None
    if sender is None and not is_sent_folder:
        return Skip(source_hint, _NO_FROM)
    # Absent fields (the usual case for most) skip their helpers: each gives "" or () for none.
    values = get("message-id")
    message_id = _first_id(values) if values else ""
    values = get("references")
    references = tuple(_ids(" ".join(values))) if values else ()
    values = get("in-reply-to")
    in_reply_to = _first_id(values) if values else ""
    source_id = (
        message_id
        or "sha1:"
        + hashlib.sha1(  # noqa: S324 - an id, not security
            source_hint.encode("utf-8", "surrogateescape") + block
        ).hexdigest()
    )
    sent = is_sent_folder or (sender is not None and sender.email in my_addresses)
    subjects = get("subject")
    list_id, precedence, auto_submitted, key, unsubscribe = _NO_NOISE if _NOISE.isdisjoint(fields) else _noise(get)
    # Positional, in MailRecord's field order: a keyword call costs a microsecond per
    # message.  The differential tests compare with the full path's keyword call.
    return MailRecord(
        source_id,
        _message_time_fast(get("date"), fallback_time) if timestamp is None else timestamp,
        Direction.SENT if sent else Direction.RECEIVED,
        sender,
        _addresses(get("to"), "to"),
        _addresses(get("cc"), "cc"),
        _subject_of(subjects[0]) if subjects else "",
        message_id,
        in_reply_to,
        references,
        references[0] if references else in_reply_to or message_id or source_id,  # thread_id
        folder,
        list_id,
        precedence,
        auto_submitted,
        "",  # category: IMAP and files have none
        False,  # is_draft
        key,  # circleback_key
        unsubscribe,  # list_unsubscribe
    )


_NOISE = frozenset({"list-id", "precedence", "auto-submitted", "x-circleback-key", "list-unsubscribe"})
_NO_NOISE = ("", "", "", "", "")


def _noise(get: Callable[[str], list[str] | None]) -> tuple[str, str, str, str, str]:
    """(list_id, precedence, auto_submitted, circleback_key, list_unsubscribe) as the full path reads them."""
    return (
        _plain_fast(get("list-id")),
        _plain_fast(get("precedence")).lower(),
        _auto_submitted_fast(get("auto-submitted")),
        _plain_fast(get("x-circleback-key")),
        _plain_fast(get("list-unsubscribe")),
    )


def parse_header_fields(
    raw: bytes,
    *,
    folder: str,
    is_sent_folder: bool,
    my_addresses: frozenset[str],
    fallback_time: datetime,
    source_hint: str,
) -> MailRecord | Skip:
    """:func:`parse_mail_headers` for an IMAP server's answer to ``BODY.PEEK[HEADER.FIELDS (...)]``.

    The server sends the fields asked for (``imap.HEADER_FIELDS``) as the message has
    them, then an empty line.  When that answer has the plain shape - ASCII, CRLF line
    ends and no other CR or LF, every line one wanted field, none folded, none twice -
    one regex match finds every value, and each goes through the same helpers as in
    :func:`parse_mail_headers`.  Any other block (8-bit, folded, a duplicate, an mbox
    line, an unwanted field, a bare CR or LF) is :func:`parse_mail_headers`' to read.
    tests/connectors/test_mailheaders_fastpath.py holds both equal to the stdlib path.
    """
    values = _fetched_field_values(raw)
    if values is None:
        return parse_mail_headers(
            raw,
            folder=folder,
            is_sent_folder=is_sent_folder,
            my_addresses=my_addresses,
            fallback_time=fallback_time,
            source_hint=source_hint,
        )
    from_, to, cc, date, subject, message_id, in_reply_to, references, list_id, precedence, auto, key, unsub = values
    senders = _mailboxes_of_value(from_) if from_ is not None else ()
    sender = senders[0] if senders else None
    if sender is None and not is_sent_folder:
        return Skip(source_hint, _NO_FROM)
    message_id = _first_id_of(message_id) if message_id is not None else ""
    ids = tuple(_ids(references)) if references is not None else ()
    in_reply_to = _first_id_of(in_reply_to) if in_reply_to is not None else ""
    # In this shape the header block is the whole of raw (no empty line before the last).
    source_id = (
        message_id or "sha1:" + hashlib.sha1(source_hint.encode("utf-8", "surrogateescape") + raw).hexdigest()  # noqa: S324
    )
    sent = is_sent_folder or (sender is not None and sender.email in my_addresses)
    if list_id is None and precedence is None and auto is None and key is None and unsub is None:
        list_id = precedence = auto = key = unsub = ""
    else:
        list_id, precedence = _plain_of(list_id), _plain_of(precedence).lower()
        auto, key, unsub = _auto_submitted_of(auto), _plain_of(key), _plain_of(unsub)
    return new_mail_record(
        source_id,
        _message_time_of(date, fallback_time),
        Direction.SENT if sent else Direction.RECEIVED,
        sender,
        _mailboxes_of_value(to) if to is not None else (),
        _mailboxes_of_value(cc) if cc is not None else (),
        _subject_of(subject) if subject is not None else "",
        message_id,
        in_reply_to,
        ids,
        ids[0] if ids else in_reply_to or message_id or source_id,  # thread_id
        folder,
        list_id,
        precedence,
        auto,
        "",  # category: IMAP has none
        False,  # is_draft
        key,  # circleback_key
        unsub,  # list_unsubscribe
    )


# The header fields a MailRecord is built from, as they are spelt: IMAP fetches these
# (imap.HEADER_FIELDS), Gmail asks for them (gmail.METADATA_HEADERS), and _FETCHED_BLOCK's
# groups follow this order.
RECORD_HEADERS = (
    "From", "To", "Cc", "Date", "Subject", "Message-ID", "In-Reply-To", "References",
    "List-Id", "Precedence", "Auto-Submitted", "X-Circleback-Key", "List-Unsubscribe",
)
_FETCHED_NAMES = tuple(name.lower() for name in RECORD_HEADERS)
# One field per line, each a wanted name (any case) and its value up to CRLF, then the
# empty line.  A line matches one alternative or the whole block fails: a folded line
# starts with whitespace, an unwanted field or "From " has no alternative.  The value
# is what email.policy.default keeps: the text after the colon and its leading blanks.
_FETCHED_BLOCK = re.compile(
    "(?:" + "|".join(f"{re.escape(name)}:[ \\t]*+([^\\r]*+)\\r\\n" for name in _FETCHED_NAMES) + ")++\\r\\n",
    re.IGNORECASE | re.ASCII,
)


def _fetched_field_values(raw: bytes) -> list[str | None] | None:
    """The values of _FETCHED_NAMES in ``raw`` as _split_fields finds them (None: absent), or None.

    None unless ``raw`` has the plain shape :func:`parse_header_fields` describes.
    """
    if len(raw) > HEADER_LIMIT or not raw.isascii():
        return None
    text = raw.decode("ascii")
    m = _FETCHED_BLOCK.fullmatch(text)
    if m is None:
        return None
    lines = text.count("\n") - 1  # field lines; the block ends in the empty one
    values = list(m.groups())
    # A CR the regex let through ends a line, so equal counts mean no LF inside a value;
    # a field seen twice keeps one group, so fewer groups than lines mean a duplicate.
    if text.count("\r") != lines + 1 or len(values) - values.count(None) != lines:
        return None
    # lenient_header_lines folds the closing empty line into the last field.
    values[m.lastindex - 1] += " "  # type: ignore[operator]
    return values


def _parse_mail_headers_full(
    raw: bytes,
    *,
    folder: str,
    is_sent_folder: bool,
    my_addresses: frozenset[str],
    fallback_time: datetime,
    source_hint: str,
) -> MailRecord | Skip:
    """:func:`parse_mail_headers` through the stdlib parser alone: the reference the fast path must equal."""
    block = header_block(raw)
    msg = _PARSER.parsebytes(lenient_header_lines(block)) if block.strip() else None
    if msg is None or not list(msg.raw_items()):
        return Skip(source_hint, _NO_HEADER_BLOCK)
    senders = mailbox_list(msg, "from")
    sender = senders[0] if senders else None
    if sender is None and not is_sent_folder:
        return Skip(source_hint, _NO_FROM)
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
        list_unsubscribe=_plain(msg, "list-unsubscribe"),
    )


def message_time(date_values: list[str], fallback_time: datetime) -> datetime:
    """The Date header in UTC; the fallback when it is missing, broken or implausible.

    ``fallback_time`` is the time the mailbox keeps for the message (IMAP INTERNALDATE,
    Gmail internalDate, a file's mtime): the time of delivery, or of the copy when a
    mailbox was migrated without its dates. The Date header is the time the message was
    written, which a migration keeps, so it wins when it is plausible: not before 1980
    (a zero or a parser accident) and not more than two days after the mailbox's time
    (a message is not written after it arrives: a sender's wrong clock). Anything older
    is plausible: migrated mail is years older than its copy.
    """
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
        return _without_header_object(raw)  # the header object raised or kept nothing
    return parsed


def _without_header_object(raw: str) -> list[Address]:
    parsed = _from_compat_string(raw)
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
        return clean_text(_header_text(msg["subject"]))
    except Exception:  # noqa: BLE001 - fall back to decoding the raw value ourselves
        values = _raw_values(msg, "subject")
        return clean_text(_decode(values[0])) if values else ""


def _header_text(header: object) -> str:
    """``str(header)`` with raw 8-bit bytes still surrogate escapes, for clean_text to decode.

    The stdlib's str decodes them as UTF-8 and makes anything else U+FFFD
    (headerregistry.BaseHeader.__new__), which loses a Latin-1 subject.
    """
    if not header:
        return ""
    return str(getattr(header, "_parse_tree", header))  # the decoded text before that step


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
        found = _first_id_of(value)
        if found:
            return found
    return ""


def _first_id_of(value: str) -> str:
    """The first message id in one value, or ""."""
    if _ONE_PLAIN_ID.fullmatch(value):
        return value[1:-1]  # what _ids gives for it, without the general steps
    ids = _ids(value)
    return ids[0] if ids else ""


def _ids(value: str) -> list[str]:
    """Message ids without angle brackets; bare tokens when a writer forgot them."""
    found = _MSGID.findall(value)
    if found:
        joined = "".join(found)
        if joined.isascii() and joined.isprintable() and " " not in joined and "" not in found:
            return found  # no whitespace to take out, no surrogates, none empty: as below, faster
    else:
        found = value.split()
    return [i for i in ("".join(x.split()) for x in found) if i and not has_surrogates(i)]


def _as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 5322 "-0000" and naive dates: treat as UTC
    return when.astimezone(UTC)


# --- the fast path -------------------------------------------------------------------
#
# Profiling the stdlib path shows ~70% of the time in building header objects
# (email.headerregistry creates a class per header and runs the full RFC 5322
# grammar) and ~20% in the feed parser.  Everything below reproduces what those
# steps yield, for the inputs where that can be shown equal, and hands anything
# else to the very same stdlib calls.  Nothing here may change a result: the
# differential test (tests/test_mailheaders_fastpath.py) runs both paths.

_HEADER_FACTORY = email.policy.default.header_factory  # what msg.get_all(...) calls per value

# Lines end at CR, LF and CRLF, as for bytes.splitlines in lenient_header_lines and
# for email.feedparser (str.splitlines would also split on \x0b, \x0c, \x1c-\x1e).
_FEED_LINES = re.compile(r"\r\n|\r|\n")
_FIELD_TEXT = re.compile(_FIELD.pattern.decode())
_OBS_FIELD_TEXT = re.compile(_OBS_FIELD.pattern.decode())
_BOM_TEXT = _BOM.decode("ascii", "surrogateescape")
# A block lenient_header_lines passes through unchanged: an optional mbox "From "
# line (never "From :", an obsolete field), then fields with their continuation
# lines, every line ended, and at most the one empty line that ends the block.
# Named groups: the mbox line, the last continuation line's first character (None:
# nothing is folded) and the empty line.
_CLEAN_BLOCK = re.compile(
    r"(?P<mbox>From(?![ \t]++:)[ \t][^\n]*+\n)?+"
    r"(?:[!-9;-~]++:[^\n]*+\n(?:(?P<fold>[ \t])[^\n]*+\n)*+)++(?P<blank>\n)?+"
)
_FIELD_AND_VALUE = re.compile(r"^([!-9;-~]++):[ \t]*+([^\n]*+(?:\n[ \t][^\n]*+)*+)", re.MULTILINE)
# The same for a block with CRLF line ends only (IMAP's, and most files'), without
# rewriting it first.  "[^\r]" rather than "[^\r\n]", which the regex engine walks
# several times slower: the caller makes sure no LF stands alone.  A field starts
# where the last one ended, so no "^" to try at every character.
_CLEAN_CRLF_BLOCK = re.compile(
    r"(?P<mbox>From(?![ \t]++:)[ \t][^\r]*+\r\n)?+"
    r"(?:[!-9;-~]++:[^\r]*+\r\n(?:(?P<fold>[ \t])[^\r]*+\r\n)*+)++(?P<blank>\r\n)?+"
)
_FIELD_AND_VALUE_CRLF = re.compile(r"([^:]++):[ \t]*+([^\r]*+(?:\r\n[ \t][^\r]*+)*+)\r\n")  # names checked already
# The fields a MailRecord is built from (imap.HEADER_FIELDS fetches the same).
_WANTED = frozenset(_FETCHED_NAMES)

# The common address forms, where the stdlib grammar provably yields one mailbox
# per element with display name = the phrase without its quotes: bare
# ``local@domain``, ``<local@domain>``, ``Name <local@domain>``, ``"Last, First"
# <local@domain>``, ``=?utf-8?b?...?= <local@domain>`` (a name that is exactly one
# RFC 2047 word, as Header(...).encode() writes short names), comma-separated.
# Dot-atom domains only; no comments, groups, backslashes, domain literals or route
# syntax; "=?" anywhere else sends the value to the stdlib.  Possessive
# quantifiers keep the match linear on hostile input.
_ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~"
_DOT_ATOM = f"[{_ATEXT}]++(?:\\.[{_ATEXT}]++)*+"
# The local part may be an obs-local-part with dots anywhere ("m..driscoll",
# "carol.st.", ".hall": Enron is full of them); the stdlib keeps it verbatim.
_ADDR_SPEC = f"[{_ATEXT}.]++@{_DOT_ATOM}"
# Raw 8-bit bytes (RFC 6532 UTF-8, or pre-MIME Latin-1) reach us as surrogate
# escapes; the stdlib keeps them in names as they are, and so does clean_text.
_RAW_8BIT = "\\udc80-\\udcff"
_QUOTED = f'"[\\t !#-\\[\\]-~{_RAW_8BIT}]*+"'  # no quote or backslash inside, no controls
# A phrase starts with a word: the stdlib's display_name raises on a leading "."
# (and on a "." right before the "<", refused in _simple_mailboxes).
_PHRASE = f"(?:[{_ATEXT}{_RAW_8BIT}]|{_QUOTED})(?:[{_ATEXT}{_RAW_8BIT}. \t]|{_QUOTED})*+"
# One encoded word the way the stdlib tokenises it: it cuts at the first "?=",
# so the text holds no "?", and Q text opening with "=" must be an =XX escape
# (the one "?=" inside a word it re-joins).  No "*lang", no whitespace.
_ENCODED_WORD = "=\\?[A-Za-z0-9_-]++\\?(?:[bB]\\?[A-Za-z0-9+/]++=*+|[qQ]\\?(?:=[0-9A-Fa-f]{2}|[!-<>@-~])[!->@-~]*+)\\?="
# The usual address, whose local part clean_address keeps for sure: it starts with a
# letter or digit and ends in no dot or quote.  The grammar tells it from the rest
# (the "odd" groups, same text), so only those need _IMPLAUSIBLE_LOCAL.
_PLAIN_ADDR_SPEC = f"[A-Za-z0-9][{_ATEXT}.]*+(?<![.'`])@{_DOT_ATOM}"
_ONE_MAILBOX = re.compile(
    f"[ \t]*+(?:(?P<bare>{_PLAIN_ADDR_SPEC})|(?P<odd_bare>{_ADDR_SPEC})"
    f"|(?:(?P<word>{_ENCODED_WORD})[ \t]*+|(?P<name>{_PHRASE})[ \t]*+)?"
    f"<(?:(?P<angle>{_PLAIN_ADDR_SPEC})|(?P<odd_angle>{_ADDR_SPEC}))>)"
    "[ \t]*+(?P<comma>,)?"
)

# RFC 5322 3.3 as nearly every writer emits it: "Mon, 14 May 2001 16:39:00 -0700",
# optionally with a trailing "(PDT)" that email.utils ignores.
_MONTHS = {
    m: n for n, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
_MONTH_DIGITS = {m: f"{n:02d}" for m, n in _MONTHS.items()}
_RFC5322_DATE = re.compile(
    r"[ \t]*(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),[ \t]*)?"
    rf"([0-9]{{1,2}})[ \t]+({'|'.join(_MONTHS)})[ \t]+([1-9][0-9]{{3}})[ \t]+"
    r"([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?[ \t]+([+-][0-9]{4})(?:[ \t]+\([A-Za-z]{1,5}\))?[ \t]*"
)
# The same as nearly every writer spaces it (one space apart, seconds given), its clock
# in one group: a value it matches, _RFC5322_DATE matches too, with the same fields.
_USUAL_DATE = re.compile(
    rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{{1,2}}) ({'|'.join(_MONTHS)}) ([1-9][0-9]{{3}}) "
    r"([0-9]{2}:[0-9]{2}:[0-9]{2}) ([+-][0-9]{4})(?: \([A-Za-z]{1,5}\))?"
)

# Caches are keyed by the raw value: people and subjects repeat across a mailbox.
# Both bounds keep memory to a few MB per cache in a long-running daemon (a
# hostile 200 kB To: is computed every time rather than kept).
_CACHE_ENTRIES = 8192
_CACHE_MAX_LEN = 512


def _split_fields(block: bytes) -> tuple[bool, dict[str, list[str]]]:
    """What the full path's parser finds in ``block``: (any field at all, the fields we read).

    The fields map a lower-cased name to its raw values, unfolded, in order: what
    ``_raw_values`` returns after ``lenient_header_lines``, ``email.feedparser``
    and ``policy.default.header_source_parse``.  A block where every line is a
    field or a continuation (after an optional mbox ``From `` line), LF or CRLF,
    is cut by two regexes; any other goes line by line.
    """
    text = block.decode("ascii", "surrogateescape").removeprefix(_BOM_TEXT)
    clean = _CLEAN_CRLF_BLOCK.fullmatch(text) if "\r" in text else None
    if clean is not None and text.count("\n") == text.count("\r"):  # each CR ends a CRLF: no lone LF
        pairs, line_end = _FIELD_AND_VALUE_CRLF.findall(text, max(clean.end("mbox"), 0)), "\r\n"
    else:
        if "\r" in text:
            lf = text.replace("\r\n", "\n")
            if "\r" in lf:
                return _split_field_lines(text)  # a bare CR ends a line too
            text = lf  # line ends vanish from the values anyway
        clean = _CLEAN_BLOCK.fullmatch(text)
        if clean is None:
            return _split_field_lines(text)
        pairs, line_end = _FIELD_AND_VALUE.findall(text, max(clean.end("mbox"), 0)), "\n"
    # One value per name and nothing folded (the usual block): a comprehension does.
    fields = {name.lower(): [value] for name, value in pairs}
    if len(fields) != len(pairs) or clean["fold"] is not None:
        fields = {}
        for name, value in pairs:
            fields.setdefault(name.lower(), []).append(value.replace(line_end, ""))
    if clean["blank"]:
        # lenient_header_lines turns the empty line that ends the block into a
        # continuation, so the last field's value ends in a space.
        fields[pairs[-1][0].lower()][-1] += " "
    if not fields.keys() <= _WANTED:
        fields = {k: v for k, v in fields.items() if k in _WANTED}
    return True, fields  # a clean block holds at least one field


def _split_field_lines(text: str) -> tuple[bool, dict[str, list[str]]]:
    """``_split_fields`` for any block: lenient_header_lines line by line.

    Its output needs no second pass: every line it emits is one the feedparser
    takes as a field (name = up to the first colon) or a continuation.
    """
    lines = _FEED_LINES.split(text)
    if not lines[-1]:
        lines.pop()  # what follows the last line break is no line
    fields: dict[str, list[str]] = {}
    seen = False
    name = ""  # of the field being read; "" when it is not one we keep
    parts: list[str] = []
    for number, line in enumerate(lines):
        if line[:1] in (" ", "\t"):
            if name:
                parts.append(line)
            continue  # (before the first field, lenient_header_lines drops it)
        if m := _FIELD_TEXT.match(line):
            start, colon = m.end(), m.end() - 1
        elif m := _OBS_FIELD_TEXT.match(line):
            start, colon = m.end(), m.end(1)
        elif number and seen:
            if name:
                parts.append(" " + line)  # a folded line someone forgot to indent, or the blank one
            continue
        else:
            continue  # an mbox "From " line or junk before the first field
        if name:
            fields.setdefault(name, []).append("".join(parts))
        seen = True
        name = line[:colon].lower()
        if name in _WANTED:
            parts = [line[start:].lstrip(" \t")]
        else:
            name = ""
    if name:
        fields.setdefault(name, []).append("".join(parts))
    return seen, fields


def _header_block_fast(raw: bytes) -> bytes:
    """``header_block(raw)``, finding the first ``\\r?\\n\\r?\\n`` with two bytes.find.

    The regex tries a match at every byte; the first match's end is fixed by the
    first LF followed by LF or by CRLF, whatever precedes it.
    """
    raw = raw[:HEADER_LIMIT]
    if raw.startswith((b"\n", b"\r\n")):
        return b""
    lf, crlf = raw.find(b"\n\n"), raw.find(b"\n\r\n")
    if lf < 0 and crlf < 0:
        return raw
    if crlf < 0 or 0 <= lf < crlf:
        return raw[: lf + 2]
    return raw[: crlf + 3]


def _mailboxes(name: str, values: list[str] | None) -> tuple[Address, ...]:
    """``mailbox_list(msg, name)`` from the raw values of ``name``."""
    if not values:
        return ()
    if len(values) == 1:
        return _mailboxes_of_value(values[0])
    per_value = [_simple_mailboxes(v) for v in values]
    if any(found is None for found in per_value):
        # Not cached: a header factory failing on one value drops the header
        # objects of all values of that name (_header_objects), so values of a
        # duplicated header are not independent.
        return _mailbox_list_full(name, values)
    found: dict[str, Address] = {}
    for addresses in per_value:
        for addr in addresses or ():
            found.setdefault(addr.email, addr)
    return tuple(found.values())


def _addresses(values: list[str] | None, name: str) -> tuple[Address, ...]:
    """``_mailboxes(name, values)``, one call shorter for the usual single value."""
    if values and len(values) == 1 and len(values[0]) <= _CACHE_MAX_LEN:
        return _mailboxes_of_value_cached(values[0])
    return _mailboxes(name, values)


def _mailboxes_of_value(value: str) -> tuple[Address, ...]:
    if len(value) > _CACHE_MAX_LEN:
        return _mailboxes_of_value_uncached(value)
    return _mailboxes_of_value_cached(value)


def _mailboxes_of_value_uncached(value: str) -> tuple[Address, ...]:
    simple = _simple_mailboxes(value)
    return simple if simple is not None else _mailbox_list_full("to", [value])


_mailboxes_of_value_cached = lru_cache(maxsize=_CACHE_ENTRIES)(_mailboxes_of_value_uncached)


def _simple_mailboxes(value: str) -> tuple[Address, ...] | None:
    """The addresses of an address-list value in a common form, or None if it is not one."""
    found: dict[str, Address] = {}
    pos, end = 0, len(value)
    while True:
        m = _ONE_MAILBOX.match(value, pos)
        if m is None:
            return None
        spec, phrase, word = m["bare"] or m["angle"], m["name"], m["word"]
        implausible = False
        if spec is None:
            # An address clean_address refuses (Enron's "'hotmail.com@enron.com") is left
            # out, as the full path leaves it out.
            spec = m["odd_bare"] or m["odd_angle"]
            if spec[0] == "." and m.start("odd_bare") > m.start():
                # After whitespace, the stdlib header factory raises on it (a TypeError
                # in get_name_addr, CPython 3.11), and the full path then reads every
                # value of the header with getaddresses: the stdlib decides.
                return None
            implausible = _IMPLAUSIBLE_LOCAL.match(spec, 0, spec.index("@")) is not None
        if "=?" in spec or (phrase and ("=?" in phrase or phrase.endswith("."))):
            # The stdlib tries "=?" as encoded words, even inside quotes.  The phrase
            # takes trailing whitespace along, so a final "." sits right before the "<".
            return None
        if word:
            # The decoder the stdlib parser itself calls, so the text is the same.
            name = _encoded_words.decode(word)[0]
            if "\r" in name or "\n" in name:
                return None  # headerregistry.Address refuses CR/LF: the stdlib goes another way
        else:
            name = phrase.replace('"', "") if phrase else ""
        if not implausible and is_usable_address(spec.lower()):  # the rule clean_address applies
            addr = Address(spec.lower(), clean_text(name))
            found.setdefault(addr.email, addr)
        pos = m.end()
        if not m["comma"]:
            if pos != end:
                return None
            if not found:
                # All refused: the header object keeps none, so _addresses_of reads the
                # value without it, as here (the stdlib header parse costs a millisecond).
                for addr in _without_header_object(value):
                    found.setdefault(addr.email, addr)
            return tuple(found.values())


def _mailbox_list_full(name: str, values: list[str]) -> tuple[Address, ...]:
    """``mailbox_list`` with the stdlib header objects, built as ``msg.get_all`` builds them."""
    try:
        headers: list[object] = [_HEADER_FACTORY(name, v) for v in values]
    except Exception as exc:  # noqa: BLE001 - the header factory itself may raise (see _header_objects)
        log.debug("cannot build %s header objects: %s", name, exc)
        headers = [None] * len(values)
    found: dict[str, Address] = {}
    for raw, header in zip(values, headers, strict=True):
        for addr in _addresses_of(raw, header):
            found.setdefault(addr.email, addr)
    return tuple(found.values())


def _subject_of(value: str) -> str:
    """``_subject(msg)`` from the first raw Subject value."""
    if value.isascii() and "=?" not in value:
        # get_unstructured keeps every character of such a value (whitespace
        # tokens stringify to their source text), so str(header) == value.
        return clean_text(value)
    if len(value) > _CACHE_MAX_LEN:
        return _subject_full(value)
    return _subject_full_cached(value)


def _subject_full(value: str) -> str:
    try:
        return clean_text(_header_text(_HEADER_FACTORY("subject", value)))
    except Exception:  # noqa: BLE001 - as in _subject
        return clean_text(_decode(value))


_subject_full_cached = lru_cache(maxsize=_CACHE_ENTRIES)(_subject_full)


def _plain_fast(values: list[str] | None) -> str:
    """``_plain(msg, name)`` from the raw values of ``name``."""
    return _plain_of(values[0]) if values else ""


def _plain_of(value: str | None) -> str:
    """``_plain(msg, name)`` from the first raw value of ``name`` (None: there is none)."""
    if value is None:
        return ""
    # decode_header returns a value without "=?" as one uncharset chunk, and
    # str(make_header(...)) gives that chunk back unchanged.
    return clean_text(value if "=?" not in value else _decode(value))


def _auto_submitted_fast(values: list[str] | None) -> str:
    return _auto_submitted_of(values[0] if values else None)


def _auto_submitted_of(value: str | None) -> str:
    value = _plain_of(value).lower()
    return "" if value == "no" else value


def _message_time_fast(date_values: list[str] | None, fallback_time: datetime) -> datetime:
    """``message_time`` with the Date parse fast for the common form."""
    return _message_time_of(date_values[0] if date_values else None, fallback_time)


def _message_time_of(value: str | None, fallback_time: datetime) -> datetime:
    """``_message_time_fast`` from the first Date value (None: there is none)."""
    # IMAP's INTERNALDATE comes in UTC already; astimezone would copy it for nothing.
    fallback = fallback_time if fallback_time.tzinfo is UTC else _as_utc(fallback_time)
    if value is not None:
        # Not cached: a Date is nearly unique to its message, so a cache of the last 8,192
        # misses on a first sync and costs a fifth of a microsecond a message doing so.
        when = _date_utc_uncached(value)
        if when is not None and _EARLIEST <= when <= fallback + _FUTURE_SLACK:
            return when
    return fallback


def _date_utc_uncached(value: str) -> datetime | None:
    """``_as_utc(parsedate_to_datetime(value))``, or None where message_time would skip the value."""
    m = _USUAL_DATE.fullmatch(value)
    if m is not None:
        # Five groups rather than seven, the clock as it stands: a third less than below.
        day, month, year, clock, zone = m.groups()
        try:
            day = day if len(day) == 2 else "0" + day
            when = datetime.fromisoformat(f"{year}-{_MONTH_DIGITS[month]}-{day}T{clock}{zone}")
            return when if zone == "+0000" else when.astimezone(UTC)
        except (ValueError, OverflowError):
            pass  # as below, where _date_utc_general decides
    m = _RFC5322_DATE.fullmatch(value)
    if m is None:
        return _date_utc_general(value, None)
    day, month, year, hour, minute, second, zone = m.groups()
    try:
        # The usual value in ISO order for datetime.fromisoformat (C), a third faster than the
        # arithmetic below; what it refuses (31 Feb, an offset of a day, a year's edge) goes there.
        day = day if len(day) == 2 else "0" + day  # (no format spec: it costs a tenth of the parse)
        iso = f"{year}-{_MONTH_DIGITS[month]}-{day}T{hour}:{minute}:{second or '00'}{zone}"
        when = datetime.fromisoformat(iso)
        return when if zone == "+0000" else when.astimezone(UTC)
    except (ValueError, OverflowError):
        return _date_utc_general(value, m)


def _date_utc_general(value: str, m: re.Match[str] | None) -> datetime | None:
    """``_date_utc_uncached`` by email.utils' own arithmetic (``m``: the common form's match, if any)."""
    try:
        if m is None:
            return _as_utc(parsedate_to_datetime(value))
        day, month, year, hour, minute, second, zone = m.groups()
        # The arithmetic of email._parseaddr._parsedate_tz and parsedate_to_datetime.
        offset: int | None = int(zone)
        if offset == 0 and zone.startswith("-"):
            offset = None  # "-0000": UTC, source zone unknown (RFC 5322 3.3)
        elif offset:
            sign, offset = (-1, -offset) if offset < 0 else (1, offset)
            offset = sign * ((offset // 100) * 3600 + (offset % 100) * 60)
        when = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
        if not offset:  # None or 0
            return when
        if not -86400 < offset < 86400:
            return None  # datetime.timezone refuses it: ValueError, as message_time skips it
        return when - timedelta(seconds=offset)  # = astimezone(UTC), OverflowError alike
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
