"""connectors/imap_fetch.py: UID FETCH read off the socket, against a scripted server.

A small loopback server answers real imaplib commands with exactly the bytes a
test gives it, cut into pieces as small as one byte, so the reader sees what a
slow or odd server sends.  The property test puts the same generated answers
through imaplib + IMAPClient's parser (what the connector used before) and
through the reader, and wants the same messages from both.
"""

from __future__ import annotations

import contextlib
import imaplib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imapclient.response_parser import parse_fetch_response

from circleback.connectors import imap_fetch
from circleback.connectors.imap_fetch import (
    Fetched,
    Unreadable,
    from_attributes,
    parse_internaldate,
    parse_message,
    uid_fetch,
    widen_read_buffer,
)

ITEMS = "(UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])"
SECTION = b"BODY[HEADER.FIELDS (FROM SUBJECT)]"
TAG = b"$TAG"  # the scripted answer's placeholder for the command's tag


class ScriptedImap:
    """Loopback IMAP server: LOGIN, EXAMINE and NOOP succeed; UID answers with ``answer``.

    ``piece`` bytes go out per send (with a pause, so the client's reads split
    where they fall); 0 sends the whole answer at once.
    """

    def __init__(self) -> None:
        self.answer = b""
        self.piece = 0
        self.hangup = False  # close the connection after the answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as commands:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1] scripted\r\n")
            for line in commands:
                tag, _, rest = line.partition(b" ")
                verb = rest.split(b" ", 1)[0].strip().upper()
                if verb == b"EXAMINE":
                    conn.sendall(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag + b" OK [READ-ONLY] done\r\n")
                elif verb == b"UID":
                    self._send(conn, self.answer.replace(TAG, tag))
                    if self.hangup:
                        return
                elif verb == b"LOGOUT":
                    conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                    return
                else:  # LOGIN, NOOP, CAPABILITY
                    conn.sendall(tag + b" OK done\r\n")

    def _send(self, conn: socket.socket, data: bytes) -> None:
        if not self.piece:
            conn.sendall(data)
            return
        for start in range(0, len(data), self.piece):
            conn.sendall(data[start : start + self.piece])
            time.sleep(0.0005)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedImap]:
    scripted = ScriptedImap()
    yield scripted
    scripted.close()


def connect(server: ScriptedImap) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    imap.login("me", "secret")
    imap.select("INBOX", readonly=True)
    return imap


@pytest.fixture
def imap(server: ScriptedImap) -> Iterator[imaplib.IMAP4]:
    client = connect(server)
    yield client
    with contextlib.suppress(OSError, imaplib.IMAP4.error):  # a test may end with the socket shut
        client.logout()


def fetch(server: ScriptedImap, imap: imaplib.IMAP4, answer: bytes, piece: int = 0) -> list[Fetched | Unreadable]:
    server.answer, server.piece = answer, piece
    return [msg for batch in uid_fetch(imap, "1:*", ITEMS, batch=2) for msg in batch]


def dovecot_shaped(
    uid: int, body: bytes, flags: bytes = b"\\Seen", date: bytes = b"02-Mar-2026 10:11:12 +0100"
) -> bytes:
    return (
        b"* %d FETCH (UID %d FLAGS (%s) INTERNALDATE \"%s\" %s {%d}\r\n%s)\r\n"
        % (uid, uid, flags, date, SECTION, len(body), body)
    )  # fmt: skip


HEAD = b"From: Ann <ann@example.org>\r\nSubject: hi\r\n\r\n"
DONE = TAG + b" OK Fetch completed.\r\n"


# --- what comes back ---------------------------------------------------------------


def test_the_common_shape_gives_every_item(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    answer = dovecot_shaped(41, HEAD, b"\\Seen $Forwarded \\Draft") + dovecot_shaped(42, HEAD, b"") + DONE

    got = fetch(server, imap, answer)

    assert got == [
        Fetched(41, datetime(2026, 3, 2, 9, 11, 12, tzinfo=UTC), frozenset({b"\\seen", b"$forwarded", b"\\draft"}),
                frozenset(), HEAD),
        Fetched(42, datetime(2026, 3, 2, 9, 11, 12, tzinfo=UTC), frozenset(), frozenset(), HEAD),
    ]  # fmt: skip
    assert imap.noop()[0] == "OK"  # imaplib is in step with the server afterwards


def test_the_common_shape_never_needs_imapclients_parser(
    server: ScriptedImap, imap: imaplib.IMAP4, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(data: list[object]) -> None:
        raise AssertionError(f"the general parser was asked to read {data!r}")

    monkeypatch.setattr(imap_fetch, "parse_message", refuse)
    answer = dovecot_shaped(7, HEAD, b"") + dovecot_shaped(8, b"", b"\\Seen \\Answered $Label1 NILS") + DONE

    assert [m.uid for m in fetch(server, imap, answer, piece=11)] == [7, 8]  # type: ignore[union-attr]


def test_a_response_split_across_many_reads(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    answer = b"".join(dovecot_shaped(uid, HEAD + b"x" * uid) for uid in range(1, 6)) + DONE

    whole = fetch(server, imap, answer)
    split = fetch(server, imap, answer, piece=3)

    assert split == whole and [m.uid for m in split] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]


def test_odd_literals_are_read_by_their_length(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    lookalike = b"Subject: )\r\n* 9 FETCH (UID 9 FLAGS () BODY[] {3}\r\nA10 OK done\r\n\r\n"
    raw_bytes = b"From: J\xf6rg <j@example.org>\r\nSubject: \xff\xfe\r\x00\r\n\r\n"
    answer = dovecot_shaped(1, lookalike) + dovecot_shaped(2, b"") + dovecot_shaped(3, raw_bytes) + DONE

    got = fetch(server, imap, answer)

    assert [(m.uid, m.body) for m in got] == [(1, lookalike), (2, b""), (3, raw_bytes)]  # type: ignore[union-attr]


def test_nil_and_quoted_sections_and_any_order(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    answer = (
        b'* 1 FETCH (UID 1 FLAGS () INTERNALDATE "02-Mar-2026 10:11:12 +0000" ' + SECTION + b" NIL)\r\n"
        b"* 2 FETCH (" + SECTION + b' "From: \\"Q\\" \\\\ <q@example.org>" UID 2 FLAGS (\\Seen))\r\n'
        b"* 3 FETCH (FLAGS (\\Seen) " + SECTION + b" {%d}\r\n%s UID 3 "
        b'INTERNALDATE " 2-Mar-2026 10:11:12 -0130")\r\n' % (len(HEAD), HEAD)
    ) + DONE

    one, two, three = fetch(server, imap, answer)

    assert one == Fetched(1, datetime(2026, 3, 2, 10, 11, 12, tzinfo=UTC), frozenset(), frozenset(), b"")
    assert two == Fetched(2, None, frozenset({b"\\seen"}), frozenset(), b'From: "Q" \\ <q@example.org>')
    assert three == Fetched(3, datetime(2026, 3, 2, 11, 41, 12, tzinfo=UTC), frozenset({b"\\seen"}), frozenset(), HEAD)


def test_gmail_labels_are_read_with_quotes_and_escapes(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    answer = (
        b"* 5 FETCH (X-GM-LABELS (\\Inbox \\Sent \"My \\\"Label\\\"\" 2024) UID 50 FLAGS (\\Seen) "
        + SECTION + b" {%d}\r\n%s)\r\n" % (len(HEAD), HEAD)
    ) + DONE  # fmt: skip

    (msg,) = fetch(server, imap, answer)

    assert isinstance(msg, Fetched) and msg.uid == 50
    assert msg.labels == {b"\\inbox", b"\\sent", b'my "label"', b"2024"}


def test_untagged_expunge_exists_and_flag_updates_are_passed_over(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    answer = (
        dovecot_shaped(1, HEAD)
        + b"* 3 EXPUNGE\r\n* 4 EXISTS\r\n* 2 FETCH (FLAGS (\\Deleted) UID 2)\r\n* OK [HIGHESTMODSEQ 9] ok\r\n"
        + dovecot_shaped(3, HEAD)
        + b"* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n"
        + DONE
    )

    got = fetch(server, imap, answer, piece=7)

    assert [m.uid for m in got] == [1, 3]  # type: ignore[union-attr]
    assert imap.noop()[0] == "OK"


def test_an_unreadable_response_is_reported_and_the_rest_read(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    broken = b"* 2 FETCH (UID 2 FLAGS (\\Seen " + SECTION + b" {%d}\r\n%s)\r\n" % (len(HEAD), HEAD)
    no_uid = b"* 3 FETCH (FLAGS () " + SECTION + b" {%d}\r\n%s)\r\n" % (len(HEAD), HEAD)
    answer = dovecot_shaped(1, HEAD) + broken + no_uid + dovecot_shaped(4, HEAD) + DONE

    got = fetch(server, imap, answer)

    assert [type(m).__name__ for m in got] == ["Fetched", "Unreadable", "Unreadable", "Fetched"]
    assert (got[1].seq, got[1].uid) == (2, 2)  # type: ignore[union-attr]
    assert (got[2].seq, got[2].uid) == (3, None)  # type: ignore[union-attr]
    assert imap.noop()[0] == "OK"


@pytest.mark.parametrize(
    "odd",
    [
        b"* 2 FETCH (UID 2 FLAGS ((\\Seen) x) " + SECTION + b" {2}\r\n\r\n)\r\n",  # a list inside FLAGS
        b"* 2 FETCH (UID 2 X-GM-LABELS (a (b)) " + SECTION + b" NIL)\r\n",
        b"* 2 FETCH (UID 2 " + SECTION + b" (a b))\r\n",  # a list where the section's string belongs
        b"* 2 FETCH (UID two " + SECTION + b" NIL)\r\n",
        b'* 2 FETCH (UID 2 INTERNALDATE ("x") ' + SECTION + b" NIL)\r\n",
        b"* 2 FETCH (UID 2 " + SECTION + b" {2}\r\n\r\n UID 3 " + SECTION + b" {0}\r\n)\r\n",  # two of each
        b"* two FETCH (UID 2 " + SECTION + b" NIL)\r\n",
        b"* 2 FETCH \x00\xff\r\n",
    ],
)
def test_odd_responses_never_stop_the_read(server: ScriptedImap, imap: imaplib.IMAP4, odd: bytes) -> None:
    got = fetch(server, imap, dovecot_shaped(1, HEAD) + odd + dovecot_shaped(4, HEAD) + DONE)

    assert got[0].uid == 1 and got[-1].uid == 4  # type: ignore[union-attr]
    assert all(isinstance(m, Fetched | Unreadable) for m in got)
    assert imap.noop()[0] == "OK"


# --- failures ------------------------------------------------------------------------


def test_tagged_no_raises_imaplib_error(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    with pytest.raises(imaplib.IMAP4.error, match="UID FETCH failed: NO") as caught:
        fetch(server, imap, dovecot_shaped(1, HEAD) + TAG + b" NO [SERVERBUG] try later\r\n")

    assert not isinstance(caught.value, imaplib.IMAP4.abort)
    assert imap.noop()[0] == "OK"  # the answer was read to its end: the connection stays usable


@pytest.mark.parametrize(
    "answer",
    [
        dovecot_shaped(1, HEAD)[:-40],  # the line drops inside a literal
        dovecot_shaped(1, HEAD)[:30],  # ... inside the first line
        dovecot_shaped(1, HEAD) + b"* BYE shutting down\r\n",
    ],
    ids=["eof-in-literal", "eof-in-line", "bye"],
)
@pytest.mark.parametrize("widened", [False, True], ids=["8k-reader", "64k-reader"])
def test_a_dropped_answer_aborts_and_shuts_the_socket(server: ScriptedImap, answer: bytes, widened: bool) -> None:
    client = connect(server)
    if widened:
        widen_read_buffer(client)
    server.answer, server.piece, server.hangup = answer, 0, True
    try:
        with pytest.raises(imaplib.IMAP4.abort):
            list(uid_fetch(client, "1:*", ITEMS, batch=1))
    finally:
        server.hangup = False

    with pytest.raises((OSError, imaplib.IMAP4.abort)):
        client.noop()


def test_a_caller_that_stops_early_leaves_no_half_read_connection(server: ScriptedImap) -> None:
    client = connect(server)
    server.answer, server.piece = dovecot_shaped(1, HEAD) + dovecot_shaped(2, HEAD) + DONE, 0
    reader = uid_fetch(client, "1:*", ITEMS, batch=1)

    assert [m.uid for m in next(reader)] == [1]  # type: ignore[union-attr]
    reader.close()

    with pytest.raises((OSError, imaplib.IMAP4.abort)):
        client.noop()


# --- the reader's buffer -----------------------------------------------------------


def test_a_widened_reader_reads_the_same_and_stays_in_step(server: ScriptedImap, imap: imaplib.IMAP4) -> None:
    # Some 200 kB: many reads of either buffer's size, literals cut at every place.
    answer = b"".join(dovecot_shaped(uid, HEAD + b"x" * (uid * 7 % 1500)) for uid in range(1, 400)) + DONE
    small = b"".join(dovecot_shaped(uid, HEAD + b"y" * uid) for uid in range(1, 6)) + DONE
    narrow, narrow_split = fetch(server, imap, answer), fetch(server, imap, small, piece=3)

    widen_read_buffer(imap)

    assert fetch(server, imap, answer) == narrow and len(narrow) == 399
    assert fetch(server, imap, small, piece=3) == narrow_split
    assert imap.noop()[0] == "OK"


def test_a_widened_reader_lets_the_socket_close(server: ScriptedImap) -> None:
    client = connect(server)
    sock = client.sock
    widen_read_buffer(client)

    client.logout()

    assert sock.fileno() == -1  # no reader left holding the socket open


def test_an_imaplib_with_a_buffer_of_its_own_is_left_alone() -> None:
    class OwnBuffer(imaplib.IMAP4):  # Python 3.14's imaplib: IMAP4.file is a read-only property
        @property
        def file(self) -> None:
            raise AssertionError("IMAP4.file touched")

    widen_read_buffer(OwnBuffer.__new__(OwnBuffer))  # not connected: nothing may be read or set


# --- INTERNALDATE ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"02-Mar-2026 10:11:12 +0100", datetime(2026, 3, 2, 9, 11, 12, tzinfo=UTC)),
        (b" 2-Mar-2026 10:11:12 -0500", datetime(2026, 3, 2, 15, 11, 12, tzinfo=UTC)),
        (b"31-Dec-2025 23:59:59 -0000", datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (b"2-Mar-2026 10:11:12 +0000", datetime(2026, 3, 2, 10, 11, 12, tzinfo=UTC)),
        (b"yesterday", None),
        (b"02-Foo-2026 10:11:12 +0000", None),
        (b"31-Feb-2026 10:11:12 +0000", None),
        (b"02-Mar-2026 10:11:12 +2500", None),  # an offset of more than a day is no time
        (b"31-Dec-9999 23:00:00 -0100", None),  # in UTC past year 9999: no time, not an OverflowError
    ],
)
def test_internaldate(value: bytes, expected: datetime | None) -> None:
    assert parse_internaldate(value) == expected


# --- the same messages as imaplib + IMAPClient -----------------------------------------


@dataclass
class Generated:
    uid: int
    flags: list[bytes]
    date: bytes | None
    body: bytes | None  # None: NIL
    quoted_body: bool
    labels: list[bytes] | None
    order: list[str]

    def response(self, seq: int) -> bytes:
        items = {
            "UID": b"UID %d" % self.uid,
            "FLAGS": b"FLAGS (" + b" ".join(self.flags) + b")",
            "INTERNALDATE": b'INTERNALDATE "' + self.date + b'"' if self.date is not None else b"",
            "X-GM-LABELS": b"X-GM-LABELS (" + b" ".join(self.labels) + b")" if self.labels is not None else b"",
            "BODY": SECTION + b" " + self._body(),
        }
        parts = [items[name] for name in self.order if items[name]]
        return b"* %d FETCH (" % seq + b" ".join(parts) + b")\r\n"

    def _body(self) -> bytes:
        if self.body is None:
            return b"NIL"
        if self.quoted_body:
            return b'"' + self.body.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        return b"{%d}\r\n" % len(self.body) + self.body


ATOM = (st.text("abcXYZ019$\\_-.*", min_size=1, max_size=8) | st.just("NIL")).map(str.encode)
QUOTED_TEXT = st.binary(max_size=20).map(lambda b: bytes(c for c in b if c not in b"\r\n\x00"))
ZONES = st.tuples(st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59)).map(
    lambda z: f"{z[0]}{z[1]:02d}{z[2]:02d}"
)
GOOD_DATES = st.builds(
    lambda when, zone: f"{when:%d-%b-%Y %H:%M:%S} {zone}".encode(),
    st.datetimes(datetime(1000, 1, 2), datetime(9999, 12, 30)),
    ZONES,
)
ODD_DATES = st.sampled_from(
    [
        b" 2-Mar-2026 10:11:12 -0000",
        b"2-Mar-2026 10:11:12 +2400",
        b"31-Feb-2026 10:11:12 +0000",
        b"02-Mar-2026 10:11:12",
        b"02-Mar-0099 10:11:12 +0000",
        b"garbage",
        b"",
    ]
)
LABEL = ATOM | QUOTED_TEXT.map(lambda t: b'"' + t.replace(b"\\", b"").replace(b'"', b"") + b'"')
ITEM_NAMES = ["UID", "FLAGS", "INTERNALDATE", "X-GM-LABELS", "BODY"]


@st.composite
def generated(draw: st.DrawFn) -> Generated:
    """Half in the one shape the fast path takes (with any flags, dates, bytes), half anything."""
    uid, flags = draw(st.integers(1, 2**32 - 1)), draw(st.lists(ATOM, max_size=4))
    if draw(st.booleans()):
        body = draw(st.binary(max_size=60))
        return Generated(uid, flags, draw(GOOD_DATES | ODD_DATES), body, False, None, ITEM_NAMES)
    quoted = draw(st.booleans())
    return Generated(
        uid=uid,
        flags=flags,
        date=draw(st.none() | GOOD_DATES | ODD_DATES),
        body=draw(st.none() | (QUOTED_TEXT if quoted else st.binary(max_size=60))),
        quoted_body=quoted,
        labels=draw(st.none() | st.lists(LABEL, max_size=3)),
        order=draw(st.permutations(ITEM_NAMES)),
    )


def imapclient_messages(imap: imaplib.IMAP4) -> list[Fetched | Unreadable | None]:
    """The answer as the connector read it before: imaplib's data, IMAPClient's parser."""
    typ, data = imap.uid("FETCH", "1:*", ITEMS)
    assert typ == "OK"
    return [from_attributes(seq, attrs) for seq, attrs in parse_fetch_response(data, False, False).items()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(generated(), min_size=1, max_size=4), st.sampled_from([0, 7]))
def test_the_reader_reads_what_imapclient_reads(server: ScriptedImap, messages: list[Generated], piece: int) -> None:
    answer = b"".join(m.response(seq) for seq, m in enumerate(messages, start=1)) + DONE
    imap = connect(server)
    try:
        server.answer, server.piece = answer, 0
        expected = [m for m in imapclient_messages(imap) if m is not None]
        server.piece = piece
        got = [msg for batch in uid_fetch(imap, "1:*", ITEMS, batch=3) for msg in batch]
    finally:
        imap.shutdown()

    assert got == expected


def test_parse_message_takes_imaplibs_shape() -> None:
    data = [(b'7 (UID 42 FLAGS (\\Seen) INTERNALDATE "02-Mar-2026 10:11:12 +0000" ' + SECTION + b" {2}", b"\r\n"), b")"]

    assert parse_message(data) == Fetched(
        42, datetime(2026, 3, 2, 10, 11, 12, tzinfo=UTC), frozenset({b"\\seen"}), frozenset(), b"\r\n"
    )
    assert parse_message([b"8 (FLAGS (\\Deleted) UID 43)"]) is None  # no section: not a message
    assert isinstance(parse_message([b"9 (UID 44 ((("]), Unreadable)


def test_a_zone_less_imapclient_date_is_utc() -> None:
    naive = datetime(2026, 3, 2, 10, 11, 12)
    aware = naive.replace(tzinfo=timezone(timedelta(hours=2)))

    assert from_attributes(1, {b"UID": 1, SECTION: b"", b"INTERNALDATE": naive}).internaldate == naive.replace(  # type: ignore[union-attr]
        tzinfo=UTC
    )
    assert from_attributes(1, {b"UID": 1, SECTION: b"", b"INTERNALDATE": aware}).internaldate == datetime(  # type: ignore[union-attr]
        2026, 3, 2, 8, 11, 12, tzinfo=UTC
    )
