"""UID FETCH read straight off imaplib's socket, message by message as it arrives.

A first sync is one big FETCH: tens of thousands of ``* n FETCH (...)`` responses
of a few hundred bytes each.  imaplib would gather the whole answer in memory as
lines and literals, logging each, and IMAPClient's generic parser would then walk
it byte by byte; together they cost more than the rest of the sync.  Here the
command goes out through imaplib (its tags, its state checks), and the answer is
read with imaplib's own ``readline``/``read`` as it arrives and handed on a few
hundred messages at a time, so records are built while the server is still
sending the rest.

Each response takes a fast path when it has the one shape servers such as Dovecot
send for what the sync asks (``UID n FLAGS (...) INTERNALDATE "..." BODY[...]
{len}``); any other shape goes to IMAPClient's parser, and one that even that
cannot read becomes an :class:`Unreadable` for the caller to count and pass over.
tests/test_imap_fetch.py holds the fast path equal to IMAPClient's parser.
"""

from __future__ import annotations

import imaplib
import logging
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import parse_fetch_response as imapclient_parse_fetch

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Fetched:
    """One message of a UID FETCH response: what we asked for, nothing parsed yet."""

    uid: int
    internaldate: datetime | None
    flags: frozenset[bytes]  # lower-cased (RFC 3501 2.3.2: flags are case-insensitive)
    labels: frozenset[bytes]  # Gmail's X-GM-LABELS, lower-cased
    body: bytes  # the BODY[...] section: a header block or the whole message


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A ``* n FETCH`` response neither path could read; the rest of the answer goes on."""

    seq: int | None
    uid: int | None  # when the response still shows it
    why: str


# One line of the common shape, up to the literal that holds the section.  The
# flags exclude everything IMAPClient's lexer treats specially (quotes,
# parentheses, "%", "[", braces, controls); a NIL among them takes the general path.
_FAST = re.compile(
    rb"\* ([0-9]+) FETCH \(UID ([0-9]+) FLAGS \(([^\x00-\x1f()\"%\[\]{}]*+)\) "
    rb'INTERNALDATE "([^"\\\x00-\x1f]*+)" BODY\[[^\]]*+\] \{([0-9]{1,9})\}\r\n'
)
BATCH = 256  # messages per list handed on: parsing a run of them at a time beats one by one
READ_BUFFER = 65536  # bytes imaplib's reader takes off the socket at a time (io's default: 8 KiB)
_LITERAL_AT_END = re.compile(rb"~?\{([0-9]{1,9})\}\r?\n?$")
_UNTAGGED_FETCH = re.compile(rb"\* ([0-9]+) FETCH ", re.IGNORECASE)
_LOOSE_UID = re.compile(rb"\bUID ([0-9]+)", re.IGNORECASE)

_MONTHS = {
    m: f"{i:02d}"
    for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)
}
# RFC 3501 date-time; read as text, it goes to datetime.fromisoformat (C) in ISO order,
# which takes the zone as it stands ("+0100") since Python 3.11.
_INTERNALDATE = re.compile(
    r"([ 0-9]?[0-9])-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-([1-9][0-9]{3}) "
    r"([0-9]{2}:[0-9]{2}:[0-9]{2}) ([+-](?:[01][0-9]|2[0-3])[0-9]{2})"
)
_FLAG_SETS: dict[bytes, frozenset[bytes]] = {}  # "\Seen $Forwarded" -> its set; a mailbox has few
_FLAG_SETS_MAX = 1024
_NO_LABELS: frozenset[bytes] = frozenset()  # the fast path's shape has no X-GM-LABELS


def parse_internaldate(value: bytes) -> datetime | None:
    """``" 2-Mar-2026 10:11:12 +0100"`` (RFC 3501 date-time) -> aware UTC; None if unreadable.

    The fixed format by hand; anything else as IMAPClient reads an INTERNALDATE.
    """
    m = _INTERNALDATE.fullmatch(value.decode("latin-1"))
    if m is None:
        return _internaldate_lenient(value)
    day, month, year, clock, zone = m.groups()
    if len(day) != 2 or day[0] == " ":  # "2" or " 2" -> "02" (by hand: a format spec costs a tenth of the parse)
        day = "0" + day.strip()
    try:
        when = datetime.fromisoformat(f"{year}-{_MONTHS[month]}-{day}T{clock}{zone}")
        return when if when.tzinfo is UTC else when.astimezone(UTC)  # "+0000" gives UTC itself
    except (ValueError, OverflowError):  # "31-Feb", "24:00:00", UTC past year 9999: as IMAPClient, no date
        return _internaldate_lenient(value)


def _internaldate_lenient(value: bytes) -> datetime | None:
    try:
        return _as_utc(parse_to_datetime(value, normalise=False))
    except (ValueError, OverflowError, TypeError, IndexError):
        log.debug("unreadable INTERNALDATE %r", value)
        return None


def _as_utc(when: datetime) -> datetime | None:
    """Aware UTC; a zone-less time ("-0000") is UTC, and an offset of a day or more is no time."""
    try:
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _flag_set(flags: bytes) -> frozenset[bytes] | None:
    """``\\Seen $Forwarded`` -> its lower-cased set; None for a NIL among them (IMAPClient's None)."""
    found = _FLAG_SETS.get(flags)
    if found is None:
        atoms = flags.split()
        if b"NIL" in atoms:
            return None
        found = frozenset(atom.lower() for atom in atoms)
        if len(_FLAG_SETS) < _FLAG_SETS_MAX:
            _FLAG_SETS[flags] = found
    return found


# --- the command and its answer ------------------------------------------------------


def widen_read_buffer(imap: imaplib.IMAP4) -> None:
    """Give imaplib's socket reader a READ_BUFFER-sized buffer in place of io's 8 KiB.

    A first sync's FETCH answers are megabytes: read in 64 KiB rather than 8 KiB
    pieces they take an eighth of the recv calls, about 0.3 us of client CPU a
    message less (benchmarks/imap_sync.py).  Call it only between commands, after
    a tagged response (or the greeting) has been read, when the server has nothing
    more to send: whatever the old reader had buffered would be lost.  Python
    3.14's imaplib reads through a buffer of its own (``IMAP4.file`` is a read-only
    property there); it is left as it is.
    """
    if isinstance(getattr(type(imap), "file", None), property):
        return
    old = imap.file
    imap.file = imap.sock.makefile("rb", buffering=READ_BUFFER)
    old.close()  # the socket closes for real only once every reader made of it is closed


def uid_fetch(imap: imaplib.IMAP4, uidset: str, items: str, batch: int = BATCH) -> Iterator[list[Fetched | Unreadable]]:
    """Send ``UID FETCH uidset items`` and yield the messages as they are read, ``batch`` at a time.

    Responses without a BODY section (a flag change the server reports on its own,
    RFC 3501 7.4.2) and other untagged responses (EXPUNGE, EXISTS) are passed over.
    A tagged NO/BAD raises ``imaplib.IMAP4.error`` (after the messages before it),
    EOF or BYE ``imaplib.IMAP4.abort``.  If the answer is not read to its end (an
    error, or the caller stopping early), the socket is shut: imaplib could not find
    its place in the stream again, and the next command fails as a dropped
    connection does.
    """
    tag = imap._command("UID", "FETCH", uidset, items)
    status: bytes | None = None
    try:
        status, rest = yield from _responses(imap, tag, batch)
    finally:
        imap.tagged_commands.pop(tag, None)
        if status is None:
            _shut(imap)
    if rest:
        yield rest
    if status.split(b" ", 1)[0].upper() != b"OK":
        raise imaplib.IMAP4.error(f"UID FETCH failed: {status.decode('utf-8', 'replace').strip()}")


def _responses(
    imap: imaplib.IMAP4, tag: bytes, batch: int
) -> Generator[list[Fetched | Unreadable], None, tuple[bytes, list[Fetched | Unreadable]]]:
    """Full batches of the answer to ``tag``; returns its tagged status and the last, partial batch."""
    readline, read = imap.readline, imap.read
    tagged = tag + b" "
    found: list[Fetched | Unreadable] = []
    while True:
        if len(found) >= batch:
            yield found
            found = []
        line = readline()
        m = _FAST.fullmatch(line)
        if m is not None:
            body = _read_exact(read, int(m[5]))
            tail = readline()
            flags = _flag_set(m[3])
            if tail == b")\r\n" and flags is not None:
                found.append(Fetched(int(m[2]), parse_internaldate(m[4]), flags, _NO_LABELS, body))
                continue
            parts: list[Any] = [(line, body)]
            line = tail
        elif line.startswith(tagged):
            return line[len(tagged) :], found
        else:
            parts = []
        if not line.endswith(b"\n"):
            raise imaplib.IMAP4.abort("socket error: EOF in the middle of a FETCH response")
        while (literal := _LITERAL_AT_END.search(line)) is not None:
            parts.append((line, _read_exact(read, int(literal[1]))))
            line = readline()
            if not line:
                raise imaplib.IMAP4.abort("socket error: EOF in the middle of a FETCH response")
        parts.append(line)
        msg = _untagged(parts)
        if msg is not None:
            found.append(msg)


def _read_exact(read: Any, size: int) -> bytes:
    data = read(size)
    if len(data) != size:
        raise imaplib.IMAP4.abort("socket error: EOF in the middle of a FETCH literal")
    return data


def _untagged(parts: list[Any]) -> Fetched | Unreadable | None:
    """One untagged response (lines with their literals): a message, or None for anything else."""
    first = parts[0][0] if isinstance(parts[0], tuple) else parts[0]
    if first[:6].upper() in (b"* BYE ", b"* BYE\r"):
        raise imaplib.IMAP4.abort(first.decode("utf-8", "replace").strip())
    fetch = _UNTAGGED_FETCH.match(first)
    if fetch is None:
        return None  # EXISTS, EXPUNGE, RECENT, OK [...]: nothing a header read needs
    return parse_message(_imaplib_shape(parts, fetch.end()))


def _imaplib_shape(parts: list[Any], start: int) -> list[Any]:
    """What ``imaplib`` returns for one FETCH response: ``seq (...`` lines and (line, literal) pairs."""
    out: list[Any] = []
    for number, part in enumerate(parts):
        line, literal = part if isinstance(part, tuple) else (part, None)
        line = line.rstrip(b"\r\n")
        if number == 0:
            line = line[2 : start - len(b"FETCH ")] + line[start:]  # "* 5 FETCH (" -> "5 ("
        out.append(line if literal is None else (line, literal))
    return out


def parse_message(data: list[Any]) -> Fetched | Unreadable | None:
    """One message's FETCH response in imaplib's shape, read by IMAPClient's parser.

    None when it holds no BODY section (an unsolicited flag update).
    """
    try:
        parsed = imapclient_parse_fetch(data, normalise_times=False, uid_is_key=False)
        if len(parsed) != 1:
            return _unreadable(data, "not one message in a FETCH response")
        ((seq, attrs),) = parsed.items()
        return from_attributes(seq, attrs)
    except Exception as exc:  # noqa: BLE001 - ProtocolError, or whatever else hostile input trips
        return _unreadable(data, f"unreadable FETCH response ({exc})")


def from_attributes(seq: int, attrs: dict[bytes, Any]) -> Fetched | Unreadable | None:
    """IMAPClient's ``{b"UID": 4, b"FLAGS": (...), ...}`` for one message -> Fetched."""
    sections = [key for key in attrs if key.startswith(b"BODY[")]
    if not sections:
        return None
    uid = attrs.get(b"UID")
    if not isinstance(uid, int):
        return Unreadable(seq, None, "a FETCH response without its UID")
    body = attrs[sections[0]]
    if body is None:
        body = b""  # NIL: the server has no such section
    if not isinstance(body, bytes):
        return Unreadable(seq, uid, f"a FETCH response whose {sections[0].decode(errors='replace')} is no string")
    stamp = attrs.get(b"INTERNALDATE")
    return Fetched(
        uid=uid,
        internaldate=_as_utc(stamp) if isinstance(stamp, datetime) else None,
        flags=_atoms(attrs.get(b"FLAGS")),
        labels=_atoms(attrs.get(b"X-GM-LABELS")),
        body=body,
    )


def _atoms(value: Any) -> frozenset[bytes]:
    """A parsed list of flags or labels, lower-cased; IMAPClient makes ints of digit-only atoms."""
    if not isinstance(value, tuple):
        return frozenset()
    return frozenset(
        (str(v).encode() if isinstance(v, int) else v).lower() for v in value if isinstance(v, bytes | int)
    )


def _unreadable(data: list[Any], why: str) -> Unreadable:
    head = data[0][0] if isinstance(data[0], tuple) else data[0]
    seq = head.split(b" ", 1)[0]
    uid = _LOOSE_UID.search(head)
    log.debug("%s: %r", why, head[:200])
    return Unreadable(int(seq) if seq.isdigit() else None, int(uid[1]) if uid else None, why)


def _shut(imap: imaplib.IMAP4) -> None:
    try:
        imap.shutdown()
    except OSError as exc:
        log.debug("shutdown after an unfinished FETCH: %s", exc)
