"""parse_mail_headers: one header block to one MailRecord, whatever the input looks like."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from circleback.connectors.base import Direction, MailRecord, Skip
from circleback.connectors.mailheaders import (
    _parse_mail_headers_full,
    clean_address,
    parse_mail_headers,
    read_header_block,
)

MTIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ME = frozenset({"me@example.org"})


def parse(raw: bytes, *, sent: bool = False) -> MailRecord | Skip:
    return parse_mail_headers(
        raw,
        folder="INBOX",
        is_sent_folder=sent,
        my_addresses=ME,
        fallback_time=MTIME,
        source_hint="acct:INBOX/1",
    )


def record(raw: bytes, *, sent: bool = False) -> MailRecord:
    found = parse(raw, sent=sent)
    assert isinstance(found, MailRecord), found
    return found


def test_encoded_comma_in_name_is_one_person_and_groups_yield_members() -> None:
    r = record(
        b"From: =?UTF-8?Q?H=C3=B6rst=2C_Kenny?= <K.Hoerst@Example.org>\n"
        b'To: undisclosed-recipients:;, Team: a@x.org, "B" <b@y.org>;\n'
        b"Cc: plain@z.org\n\n"
    )
    assert r.sender is not None and (r.sender.email, r.sender.name) == (
        "k.hoerst@example.org",
        "Hörst, Kenny",
    )
    assert [(a.email, a.name) for a in r.to] == [("a@x.org", ""), ("b@y.org", "B")]
    assert [a.email for a in r.cc] == ["plain@z.org"]


def test_controls_and_encoded_newlines_never_reach_names_or_subject() -> None:
    # CVE-2024-6923: an encoded CR/LF must not survive into a value we may copy.
    r = record(
        b"From: =?UTF-8?Q?Eve=0D=0ABcc=3A_x=40evil?= <eve@x.org>\n"
        b"Subject: =?UTF-8?Q?hi=0ABcc:_x@evil=E2=80=A8there?=\n\n"
    )
    assert r.sender is not None and r.sender.name == "Eve Bcc: x@evil"
    assert r.subject == "hi Bcc: x@evil there"


@pytest.mark.parametrize(
    "value",
    [
        "no-at-sign", "a@b@c", "@x.org", "a@", "two words@x.org", "a\x01b@x.org",
        # Enron's converted headers: no letter or digit, or a quote or dot at an end.
        "'hotmail.com@enron.com", "'@enron.com", "carol.st.@enron.com", ".hall@enron.com", "---@x.org",
        "`x@x.org", "Pat <pat'@x.org>",
    ],
)
def test_unusable_addresses_are_dropped(value: str) -> None:
    r = record(f"From: ok@x.org\nTo: {value}, good@x.org\n\n".encode())
    assert [a.email for a in r.to] == ["good@x.org"]
    assert clean_address(value.rpartition("<")[2].rstrip(">")) == ""


def test_odd_but_real_local_parts_are_kept() -> None:
    r = record(b"From: Pat O'Neill <Pat.O'Neill@x.org>\nTo: 9099632747@airmessage.net\n\n")
    assert r.sender is not None and r.sender.email == "pat.o'neill@x.org"
    assert [a.email for a in r.to] == ["9099632747@airmessage.net"]


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?_attacker@evil.example?=",  # a hostile encoded word; decoded: "_attacker@evil.example?="
        "_attacker@evil.example?=",  # what it leaves: its domain is no host name
        "<_attacker@evil.example?=>",
        "Eve <eve@evil.example?=>",
        "r..brackett@enron.com",  # obsolete syntax (RFC 5322 4.4): no draft can be written to it
        "ops@localhost",  # one label: no host name on the Internet
    ],
)
def test_an_address_no_draft_could_be_written_to_is_not_read(value: str) -> None:
    """Reading keeps exactly what the draft builder would write to (connectors/addresses.py): a
    person who could never get a note would be due forever, with a problem line every run."""
    r = record(f"From: ok@x.org\nTo: {value}, good@x.org\nCc: {value}\n\n".encode())
    assert [a.email for a in r.to] == ["good@x.org"] and r.cc == ()
    assert clean_address(value.rpartition("<")[2].rstrip(">")) == ""


def test_a_message_from_a_mangled_address_says_why_it_is_skipped() -> None:
    skipped = Skip("acct:INBOX/1", "no usable From address")
    assert parse(b"From: legal <.hall@enron.com>\nTo: me@example.org\n\n") == skipped


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (b"Date: Tue, 30 Apr 2024 10:00:00 +0200\n", datetime(2024, 4, 30, 8, 0, tzinfo=UTC)),
        (b"Date: Tue, 30 Apr 2024 10:00:00 -0000\n", datetime(2024, 4, 30, 10, 0, tzinfo=UTC)),
        (b"Date: 30 Apr 24 10:00 EDT\n", datetime(2024, 4, 30, 14, 0, tzinfo=UTC)),
        (b"", MTIME),
        (b"Date: yesterday-ish\n", MTIME),
        (b"Date: Thu, 01 Jan 1970 00:00:00 +0000\n", MTIME),  # before 1980: a zeroed clock
        (b"Date: Fri, 01 Jan 2038 00:00:00 +0000\n", MTIME),  # long after the file's mtime
    ],
)
def test_timestamp_is_utc_with_mtime_fallback(date: bytes, expected: datetime) -> None:
    r = record(b"From: a@x.org\n" + date + b"\n")
    assert r.timestamp == expected and r.timestamp.tzinfo == UTC


@pytest.mark.parametrize("date", [b"Date: Mon, 2 Mar 2026 10:00:00 +0100\r\n", b"Date: not a date\r\n", b""])
def test_a_provider_timestamp_is_the_time_whatever_the_date_header_says(date: bytes) -> None:
    raw = b"From: Ann <a@x.org>\r\nTo: me@example.org\r\n" + date + b"Message-ID: <m@x.org>\r\n\r\n"
    delivered = datetime(2026, 3, 3, 8, 30, tzinfo=UTC)  # IMAP INTERNALDATE

    given = parse_mail_headers(
        raw, folder="INBOX", is_sent_folder=False, my_addresses=ME, fallback_time=MTIME, source_hint="h",
        timestamp=delivered,
    )  # fmt: skip
    by_headers = parse(raw)

    assert isinstance(given, MailRecord) and isinstance(by_headers, MailRecord)
    assert given.timestamp == delivered
    assert given == replace(by_headers, timestamp=delivered)  # and nothing else changes


def test_ids_thread_and_source_id() -> None:
    r = record(
        b"From: a@x.org\nMessage-ID:  <m1@x.org> \nIn-Reply-To: <p@x.org>\nReferences: <root@x.org>\n <p@x.org>\n\n"
    )
    assert (r.source_id, r.message_id, r.in_reply_to) == ("m1@x.org", "m1@x.org", "p@x.org")
    assert r.references == ("root@x.org", "p@x.org")
    assert r.thread_id == "root@x.org"


def test_without_message_id_source_id_hashes_hint_and_headers() -> None:
    raw = b"From: a@x.org\nSubject: s\n\nbody one\n"
    first = record(raw)
    same_headers_other_body = record(b"From: a@x.org\nSubject: s\n\nbody two\n")
    other = parse_mail_headers(
        raw,
        folder="INBOX",
        is_sent_folder=False,
        my_addresses=ME,
        fallback_time=MTIME,
        source_hint="acct:INBOX/2",
    )
    assert first.source_id.startswith("sha1:") and first.thread_id == first.source_id
    assert same_headers_other_body.source_id == first.source_id  # bodies are never read
    assert isinstance(other, MailRecord) and other.source_id != first.source_id


def test_direction_and_noise_fields() -> None:
    mine = record(b"From: Me <ME@example.org>\nTo: b@x.org\n\n")
    listy = record(
        b"From: l@x.org\nList-Id: Dev <dev.x.org>\nPrecedence: Bulk\nAuto-Submitted: no\nX-Circleback-Key: k1\n\n"
    )
    assert mine.direction is Direction.SENT
    assert record(b"From: a@x.org\n\n", sent=True).direction is Direction.SENT
    assert (listy.list_id, listy.precedence, listy.auto_submitted) == ("Dev <dev.x.org>", "bulk", "")
    assert listy.circleback_key == "k1"
    assert record(b"From: a@x.org\nAuto-Submitted: auto-replied\n\n").auto_submitted == ("auto-replied")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "no header block"),
        (b"\x00\x01\xff\xfe\x89PNG binary", "no header block"),
        (b"\nFrom: a@x.org\n", "no header block"),
        (b"To: a@x.org\nSubject: who wrote this?\n\n", "no usable From"),
        (b"From: undisclosed-recipients:;\n\n", "no usable From"),
    ],
)
def test_skips_say_why(raw: bytes, why: str) -> None:
    found = parse(raw)
    assert isinstance(found, Skip) and found.why.startswith(why)


def test_sent_message_without_from_is_kept() -> None:
    r = record(b"To: a@x.org\nSubject: draft-ish\n\n", sent=True)
    assert r.sender is None and r.direction is Direction.SENT


def test_lenient_header_lines() -> None:
    r = record(
        b"\xef\xbb\xbfFrom MAILER-DAEMON Mon Apr 18 14:18:23 2022\n"
        b"Received: from a\nby b; unindented continuation\n"
        b"From  : Obs <obs@x.org>\nSubject: caf\xc3\xa9 \xe2\x80\xa8 line\n\n"
    )
    assert r.sender is not None and r.sender.email == "obs@x.org"
    assert r.subject == "café line"


@pytest.mark.parametrize(
    ("raw", "name", "subject"),
    [
        # Pre-MIME 8-bit headers are Latin-1 or Windows-1252, not UTF-8 with U+FFFD.
        (b'From: "Ingo L\xfctkebohle" <i@x.org>\nSubject: Die Hasen und die Fr\xf6sche\n\n',
         "Ingo Lütkebohle", "Die Hasen und die Frösche"),
        (b"From: Ingo L\xfctkebohle <i@x.org>\nSubject: \x93Fr\xf6sche\x94 \x80 5\n\n",
         "Ingo Lütkebohle", "“Frösche” € 5"),
        # Raw UTF-8 (RFC 6532) stays UTF-8; an encoded word next to raw Latin-1 keeps its own text.
        (b"From: J\xc3\xb6rg <j@x.org>\nSubject: Fr\xc3\xb6sche\n\n", "Jörg", "Frösche"),
        (b"From: j@x.org\nSubject: Fr\xf6sche =?utf-8?q?K=C3=A4se?=\n\n", "", "Frösche Käse"),
        # A byte Windows-1252 leaves undefined is blanked like any control, never U+FFFD.
        (b"From: j@x.org\nSubject: a\x81b\n\n", "", "a b"),
    ],
)
def test_raw_8bit_names_and_subjects_are_decoded_not_mangled(raw: bytes, name: str, subject: str) -> None:
    r = record(raw)
    assert r.sender is not None and (r.sender.name, r.subject) == (name, subject)
    full = _parse_mail_headers_full(
        raw, folder="INBOX", is_sent_folder=False, my_addresses=ME, fallback_time=MTIME, source_hint="acct:INBOX/1"
    )
    assert full == r


def test_read_header_block_stops_at_first_empty_line() -> None:
    fh = io.BytesIO(b"From: a@x.org\r\nTo: b@x.org\r\n\r\nBODY\r\n")
    assert read_header_block(fh) == b"From: a@x.org\r\nTo: b@x.org\r\n\r\n"
    assert fh.read() == b"BODY\r\n"
    assert read_header_block(io.BytesIO(b"X: " + b"y" * 100), limit=10) == b"X: yyyyyyy"
