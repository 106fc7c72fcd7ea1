"""The fast header path gives exactly what the stdlib path gives.

``parse_mail_headers`` (fast) and ``_parse_mail_headers_full`` (the email
package alone) run on the same input and must return equal results, down to the
datetime's tzinfo (compared by ``repr``):

* every file of the corpus (tests/data/corpus/email), every message of every mbox in it (the Enron
  folders included), each also with CRLF line ends, under three argument sets;
* generated header blocks, ordinary and hostile (Hypothesis), plus direct checks
  of the per-value helpers (dates, address lists), which reach far more values
  per second than whole blocks;
* ``parse_header_fields`` (IMAP's HEADER.FIELDS answer, whose plain shape one regex
  reads) on every corpus message as a server would send it and on generated
  answers, plain and hostile (bare CR or LF, NULs, encoded newlines, folding,
  duplicates, 8-bit bytes, lines longer than the caches keep); where the shape takes
  a block, its values must be exactly what ``_split_fields`` finds.

``CIRCLEBACK_FASTPATH_EXAMPLES`` raises the Hypothesis example counts for a long
run (default 300 blocks / 1,000 values per test).
"""

from __future__ import annotations

import os
import re
import string
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from circleback.connectors import mailheaders
from circleback.connectors.base import Address, MailRecord, Skip
from circleback.connectors.mailheaders import _parse_mail_headers_full, parse_mail_headers
from circleback.connectors.mbox import ScanState, scan_mbox
from tests.support.corpus import CORPUS

EMAIL = CORPUS / "email"
FAR = datetime(2030, 1, 1, tzinfo=UTC)
EXAMPLES = int(os.environ.get("CIRCLEBACK_FASTPATH_EXAMPLES", "0"))
BLOCK_SETTINGS = settings(max_examples=EXAMPLES or 300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALUE_SETTINGS = settings(
    max_examples=(EXAMPLES * 10) or 1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_BOM = b"\xef\xbb\xbf"


def clear_caches() -> None:
    """Both cold and warm caches must give the stdlib's answer."""
    for cached in (
        mailheaders._mailboxes_of_value_cached,
        mailheaders._subject_full_cached,
    ):
        cached.cache_clear()


ARGUMENT_SETS = {
    "inbox": {"folder": "INBOX", "is_sent_folder": False, "fallback_time": FAR},
    # The sender is "me"; a fallback that makes most corpus dates "in the future".
    "mine": {
        "folder": "archive",
        "is_sent_folder": False,
        "fallback_time": datetime(2001, 6, 1, tzinfo=timezone(timedelta(hours=-7))),
    },
    # A Sent folder; a naive fallback (message_time treats it as UTC).
    "sent": {"folder": "Sent", "is_sent_folder": True, "fallback_time": datetime(2005, 1, 1)},
}


def arguments(kind: str, hint: str, me: frozenset[str] = frozenset()) -> dict[str, object]:
    return {**ARGUMENT_SETS[kind], "my_addresses": me, "source_hint": f"{hint}/{kind}"}


def full_result(raw: bytes, kwargs: dict[str, object]) -> MailRecord | Skip:
    return _parse_mail_headers_full(raw, **kwargs)  # type: ignore[arg-type]


def assert_fast_equals(raw: bytes, kwargs: dict[str, object], full: MailRecord | Skip) -> None:
    fast = parse_mail_headers(raw, **kwargs)  # type: ignore[arg-type]
    assert type(fast) is type(full)
    assert fast == full
    assert repr(fast) == repr(full)  # also the timestamp's tzinfo


def sender_of(result: MailRecord | Skip) -> frozenset[str]:
    return frozenset({result.sender.email}) if isinstance(result, MailRecord) and result.sender else frozenset()


def assert_same_steps(raw: bytes) -> None:
    """The fast path's own steps against their slower twins: the block, then its fields."""
    block = mailheaders.header_block(raw)
    assert mailheaders._header_block_fast(raw) == block
    text = block.decode("ascii", "surrogateescape").removeprefix(mailheaders._BOM_TEXT)
    assert mailheaders._split_fields(block) == mailheaders._split_field_lines(text)


def assert_same_everywhere(raw: bytes, hint: str) -> None:
    """All three argument sets, each with cold caches and then warm ones."""
    assert_same_steps(raw)
    inbox = arguments("inbox", hint)
    first = full_result(raw, inbox)
    for kwargs in (inbox, arguments("mine", hint, sender_of(first)), arguments("sent", hint, sender_of(first))):
        full = first if kwargs is inbox else full_result(raw, kwargs)
        clear_caches()
        assert_fast_equals(raw, kwargs, full)
        assert_fast_equals(raw, kwargs, full)


# --- the corpus --------------------------------------------------------------------


def corpus_messages() -> list[tuple[str, bytes]]:
    """(name, bytes) for every corpus file as a whole and every message of every mbox in it."""
    found: list[tuple[str, bytes]] = []
    for path in sorted(p for p in EMAIL.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        found.append((path.name, raw))
        if raw.removeprefix(_BOM).startswith(b"From "):
            found += [(f"{path.name}@{offset}", block) for offset, block in mbox_messages(path)]
    return found


def mbox_messages(path: Path) -> list[tuple[int, bytes]]:
    with path.open("rb") as fh:
        start = len(_BOM) if fh.read(len(_BOM)) == _BOM else 0
        return list(scan_mbox(fh, ScanState(start, True), settled=True))


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_corpus_has_what_the_comparison_needs() -> None:
    messages = corpus_messages()
    enron = [name for name, _ in messages if name.startswith("enron__") and "@" in name]
    assert len(messages) > 1000
    assert len(enron) >= 423  # every Enron message (tests/test_corpus_mail.py)


def test_every_corpus_message_gives_the_same_result() -> None:
    """~1,150 messages x (3 argument sets + CRLF line ends), fast path cold then warm."""
    messages = corpus_messages()
    clear_caches()
    cold = {}
    for name, raw in messages:  # cold caches, the "inbox" arguments, LF and CRLF
        for variant, data in ((name, raw), (name + "/crlf", crlf(raw))):
            kwargs = arguments("inbox", variant)
            cold[variant] = full = full_result(data, kwargs)
            assert_fast_equals(data, kwargs, full)
            assert_same_steps(data)
    for name, raw in messages:  # warm caches: the same again, plus the other argument sets
        first = cold[name]
        assert_fast_equals(raw, arguments("inbox", name), first)
        assert_fast_equals(crlf(raw), arguments("inbox", name + "/crlf"), cold[name + "/crlf"])
        for kind in ("mine", "sent"):
            kwargs = arguments(kind, name, sender_of(first))
            assert_fast_equals(raw, kwargs, full_result(raw, kwargs))


# --- generated values --------------------------------------------------------------

_LOCAL_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
_atom = st.text(_LOCAL_CHARS, min_size=1, max_size=6)
_word = st.text(string.ascii_letters + string.digits, min_size=1, max_size=8)
_dot_atom = st.lists(_atom, min_size=1, max_size=3).map(".".join)
_domain = st.lists(_word, min_size=1, max_size=3).map(".".join)
_UNICODE_NAMES = st.sampled_from(["Chloé", "José Müller", "Hörst, Kenny", "Дмитрий", "山田 太郎", 'Ünal; "X"'])


@st.composite
def addr_specs(draw: st.DrawFn) -> str:
    local = draw(_dot_atom | st.text(_LOCAL_CHARS + "..", min_size=1, max_size=8))  # obs-local-part too
    spec = f"{local}@{draw(_domain)}"
    if draw(st.integers(0, 9)) == 0:
        spec = draw(
            st.sampled_from(
                [
                    "a..b@x.org",
                    ".a@x.org",
                    "a.@x.org",
                    "a@x..org",
                    "a@b@c",
                    "no-at-sign",
                    "a@[192.0.2.1]",
                    '"quoted local"@x.org',
                    "a@",
                    "@x.org",
                    "A@X.ORG",
                    "=?x@y.z",
                    "a@b.c.",
                    "\u00e9@x.org",
                ]
            )
        )
    return spec


@st.composite
def display_names(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 11))
    if kind <= 3:  # atoms, with dots anywhere (obs-phrase) and any spacing
        return draw(st.text(_LOCAL_CHARS + '.. \t"', min_size=1, max_size=12))
    if kind <= 5:
        inner = draw(st.text(string.printable.replace('"', "").replace("\\", "").strip("\r\n\x0b\x0c"), max_size=12))
        return f'"{inner}"'
    if kind == 6 and draw(st.booleans()):  # raw 8-bit (RFC 6532 UTF-8 or Latin-1), as the bytes parser sees it
        name = draw(_UNICODE_NAMES | st.text(max_size=8)).replace('"', "").replace("\\", "")
        raw = name.encode(draw(st.sampled_from(["utf-8", "latin-1"])), "replace")
        text = raw.decode("ascii", "surrogateescape")
        return f'"{text}"' if draw(st.booleans()) else text
    if kind == 6:
        name = draw(_UNICODE_NAMES | st.text(max_size=8))
        charset = draw(st.sampled_from(["utf-8", "UTF-8", "iso-8859-1", "us-ascii"]))
        try:
            return Header(name, charset).encode()
        except UnicodeEncodeError:
            return Header(name, "utf-8").encode()
    if kind == 7:
        return draw(
            st.sampled_from(
                [
                    "=?UTF-8?Q?H=C3=B6rst=2C_Kenny?=",
                    "=?utf-8?q?=41bc?=",
                    "=?utf-8?q?=4Gbc?=",
                    "=?utf-8?b?!!!?=",
                    "=?utf-8?b?QUJD?==?utf-8?b?REVG?=",
                    "=?utf-8?b?QUJD?= =?utf-8?b?REVG?=",
                    "=?utf-8?b?QUJD?=x",
                    "=?UTF-8?Q?Eve=0D=0ABcc=3A_x=40evil?=",
                    "=?unknown-8bit?q?L=FCtke?=",
                    "=?x-unknown?q?abc?=",
                    "=?utf-8*en?q?abc?=",
                    "=?utf-8?q?a?b?=",
                    "=?utf-8?q??=",
                    "=?utf-8?b?/w==?=",
                    "=?iso-8859-1?q?caf=E9?=",
                    '"=?utf-8?q?quoted?="',
                    "=?utf-8?q?x_=E2=80=A8_y?=",
                    "=?utf-8?b?4oCo?=",
                    "=?utf-16?b?AEE=?=",
                ]
            )
        )
    return draw(
        st.sampled_from(
            [
                "John Q. Public",
                ".John",
                "John .",
                "O'Brien, Pat",
                '"Smith, John"',
                '"a\\"b"',
                '"unbalanced',
                "Team (IT)",
                "a@b",
                '"" Doe',
                '"John"Doe',
                'John"Doe"',
                "Big Bug",
                "\t Tabbed \t Name",
                "Ingo L\udcfctkebohle",
                "Caf\udcc3\udca9",
                "[x]",
                "x;y",
            ]
        )
    )


@st.composite
def mailboxes(draw: st.DrawFn) -> str:
    spec = draw(addr_specs())
    kind = draw(st.integers(0, 9))
    ws = draw(st.sampled_from(["", " ", "  ", "\t"]))
    if kind <= 2:
        return f"{ws}{spec}{ws}"
    if kind == 3:
        return f"{ws}<{spec}>"
    if kind <= 7:
        return f"{ws}{draw(display_names())}{draw(st.sampled_from([' ', '', '  ']))}<{spec}>{ws}"
    return draw(
        st.sampled_from(
            [
                f"{spec} (Comment Name)",
                f"Team: {spec}, b@x.org;",
                "undisclosed-recipients:;",
                f"< {spec} >",
                f"<{spec}",
                f"{spec}>",
                f"Name {spec}",
                f"<@route.x:{spec}>",
                "",
                "<>",
                f"{spec} <{spec}>",
            ]
        )
    )


@st.composite
def address_values(draw: st.DrawFn) -> str:
    items = draw(st.lists(mailboxes(), min_size=1, max_size=4))
    sep = draw(st.sampled_from([", ", ",", " , ", ",\t"]))
    value = sep.join(items)
    tail = draw(st.sampled_from(["", "", "", ",", " ", ", ,"]))
    return value + tail


@st.composite
def date_values(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    if kind <= 2:
        when = draw(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)))
        minutes = draw(st.integers(-24 * 60 + 1, 24 * 60 - 1))
        aware = when.replace(tzinfo=timezone(timedelta(minutes=minutes)))
        text = format_datetime(aware)
        if draw(st.booleans()):
            text = text.split(", ", 1)[1]  # no day name
        if draw(st.booleans()):
            text += draw(st.sampled_from([" (PDT)", " (UTC)", " (CEST)", "(PDT)", " (GMT+1)", " extra"]))
        if draw(st.booleans()):
            text = text.replace(" ", draw(st.sampled_from(["  ", "\t", " \t"])))
        if draw(st.integers(0, 5)) == 0:
            text = text[:-5] + draw(st.sampled_from(["-0000", "+0000", "EST", "GMT", "UT", "Z", "+9999", "-2400"]))
        if draw(st.integers(0, 5)) == 0:
            text = text.replace(":" + text.split(":")[-1][:2], "", 1)  # no seconds
        return draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", " "]))
    if kind == 3:
        day = draw(st.sampled_from(["Mon, ", "Sun,", "Xyz, ", "", "mon, ", "Tue "]))
        month = draw(st.sampled_from(["Jan", "Feb", "feb", "FEB", "Dec", "Foo"]))
        return (
            f"{day}{draw(st.integers(0, 40))} {month} {draw(st.integers(0, 10000)):0{draw(st.integers(1, 4))}d} "
            f"{draw(st.integers(0, 30)):02d}:{draw(st.integers(0, 70)):02d}:{draw(st.integers(0, 70)):02d} "
            f"{draw(st.sampled_from(['+', '-']))}{draw(st.integers(0, 9999)):04d}"
        )
    if kind == 4:
        return draw(
            st.sampled_from(
                [
                    "30 Apr 24 10:00 EDT",
                    "yesterday-ish",
                    "Thu, 01 Jan 1970 00:00:00 +0000",
                    "Fri, 31 Dec 9999 23:59:59 -1200",
                    "Mon, 1 Jan 1000 00:00:00 +1200",
                    "Sat, 29 Feb 2003 10:00:00 +0000",
                    "Tue, 30 Apr 2024 10:00:00 +0200 (CEST) trailing",
                    "Tue, 30 Apr 2024 10.00.00 +0200",
                    "2024-04-30T10:00:00Z",
                    "Tue, 30 Apr 2024 10:00:60 +0000",
                    "Tue, 30 Apr 2024 24:00:00 +0000",
                    "Tue, 30 Apr 2024 10:00:00 +0060",
                    "Tue, 30 Apr 2024 10:00:00 +0099",
                    "Tue, 30 Apr 0999 10:00:00 +0000",
                    "Tue, 30 Apr 2024 10:00:00 +02:00",
                    "Tue, 30 Apr 2024 １0:00:00 +0000",
                    "Tue, 30 Apr 2024 10:00:00 \u20130200",
                ]
            )
        )
    return draw(st.text(max_size=40))


_ids = st.builds(lambda a, b: f"<{a}@{b}>", _dot_atom, _domain)


@st.composite
def id_values(draw: st.DrawFn) -> str:
    items = draw(st.lists(_ids | _dot_atom | st.sampled_from(["<>", "< a @ b >", "<x@\udcff>", "(c)"]), max_size=4))
    return draw(st.sampled_from([" ", "  ", "\t", ""])).join(items)


@st.composite
def text_values(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 4))
    if kind <= 1:
        return draw(st.text(string.printable.strip("\r\n\x0b\x0c"), max_size=40))
    if kind == 2:
        return Header(draw(st.text(max_size=20)), "utf-8").encode()
    if kind == 3:
        return draw(st.text(max_size=30)).replace("\r", "").replace("\n", "")
    return draw(
        st.sampled_from(
            [
                "=?utf-8?q?hi=0ABcc:_x@evil=E2=80=A8there?=",
                "Re: =?utf-8?b?Q2hsb8Op?= and more",
                "=?broken",
                "=?utf-8?q?a?= =?utf-8?q?b?=",
                "no",
                "No",
                "auto-replied",
                "Bulk",
                "Dev <dev.x.org>",
                "caf\udcc3\udca9",
                "L\udcfctkebohle",
            ]
        )
    )


NAMES = {
    "address": ["From", "To", "Cc", "from", "TO", "cc", "CC"],
    "date": ["Date", "DATE"],
    "id": ["Message-ID", "Message-Id", "In-Reply-To", "References"],
    "text": [
        "Subject",
        "List-Id",
        "Precedence",
        "Auto-Submitted",
        "X-Circleback-Key",
        "subject",
        "Received",
        "X-Mailer",
    ],
}
_VALUES = {"address": address_values(), "date": date_values(), "id": id_values(), "text": text_values()}


@st.composite
def fields(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["address", "address", "address", "date", "id", "text"]))
    return draw(st.sampled_from(NAMES[kind])), draw(_VALUES[kind])


def fold(value: str, draw: st.DrawFn) -> str:
    """Fold at some whitespace, as writers do (and sometimes where they should not)."""
    out = []
    for n, char in enumerate(value):
        if char in " \t" and n and draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(["\n", "\n ", "\n\t"])) if char == " " else "\n\t")
        out.append(char)
    return "".join(out)


@st.composite
def header_blocks(draw: st.DrawFn) -> bytes:
    items = draw(st.lists(fields(), min_size=0, max_size=9))
    if draw(st.integers(0, 2)):
        items.insert(draw(st.integers(0, len(items))), ("From", draw(address_values())))
    lines = []
    for name, value in items:
        colon = (
            draw(st.sampled_from([": ", ":", ":  ", ":\t", " : ", ": \n "])) if draw(st.integers(0, 9)) == 0 else ": "
        )
        lines.append(name + colon + fold(value, draw))
    extras = draw(
        st.lists(
            st.sampled_from(
                [
                    "junk line without colon",
                    " leading continuation",
                    "From MAILER-DAEMON Mon Apr 18 14:18:23 2022",
                    ": no name",
                    "X-Empty:",
                    "   ",
                    "\t",
                    "X-Ctl: a\x0bb\x1cc",
                ]
            ),
            max_size=2,
        )
    )
    for extra in extras:
        lines.insert(draw(st.integers(0, len(lines))), extra)
    text = "\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    data = text.encode(encoding, "surrogateescape" if encoding == "utf-8" else "replace")
    newline = draw(st.sampled_from([b"\n", b"\r\n", b"\r\n", b"\r", b"mixed"]))
    if newline == b"mixed":
        data = b"".join(line + draw(st.sampled_from([b"\n", b"\r\n"])) for line in data.split(b"\n"))
    else:
        data = data.replace(b"\n", newline) + newline
    prefix = draw(st.sampled_from([b"", b"", b"", b"From x@y Mon Apr 18 14:18:23 2022\n", _BOM, b"\n", b" \n"]))
    end = draw(st.sampled_from([b"\n", b"\r\n", b"\n\nbody\n", b"", b"\r\n\r\nbody", b"\n \n"]))
    return prefix + data + end


@BLOCK_SETTINGS
@given(header_blocks())
@example(b"From: =?UTF-8?Q?H=C3=B6rst=2C_Kenny?= <K.Hoerst@invalid>, new@thunderbird.bug\n\n")
@example(
    b'From: "Quoted, Name" <a@b.org>\nTo: x@y.org, Name <z@y.org>\nDate: Mon, 14 May 2001 16:39:00 -0700 (PDT)\n\n'
)
@example(b"From: a@b.org\nFrom: Team: c@d.org;\nTo: x@y, =?utf-8?q?x?= <z@y>\nTo: (c) u@v\n\n")
@example(b"From: a@x.org\nSubject: s\n\nbody one\n")
# Enron's mangled recipients, a name with an apostrophe, and pre-MIME Latin-1 text.
@example(b"From: legal <.hall@enron.com>\nTo: 'hotmail.com@enron.com, '@enron.com, o'neill@enron.com\n\n")
@example(b"From: Ingo L\xfctkebohle <i@x.de>\nSubject: Die Hasen und die Fr\xf6sche =?utf-8?q?K=C3=A4se?= \x81\n\n")
def test_generated_header_blocks_give_the_same_result(block: bytes) -> None:
    assert_same_everywhere(block, "gen")


@VALUE_SETTINGS
@given(address_values())
@example('"Smith, John" <J@X.org>, plain@y.org')
@example("=?utf-8?b?Q2hsb8OpIFNtaXRo?= <a@b.c>")
@example("=?UTF-8?Q?Eve=0D=0ABcc=3A_x=40evil?= <eve@x.org>")
@example("'hotmail.com@enron.com, ok@x.org, Carol <carol.st.@enron.com>")
@example(".hall@enron.com")
def test_address_lists_take_the_stdlib_result(value: str) -> None:
    simple = mailheaders._simple_mailboxes(value)
    full = mailheaders._mailbox_list_full("to", [value])
    assert mailheaders._mailboxes("to", [value]) == full
    if simple is not None:
        assert simple == full


def reference_date(value: str) -> datetime | None:
    try:
        return mailheaders._as_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


@VALUE_SETTINGS
@given(date_values())
@example("Mon, 14 May 2001 16:39:00 -0700 (PDT)")
@example("Tue, 30 Apr 2024 10:00:00 -0000")
@example("Fri, 31 Dec 9999 23:59:59 -1200")
@example("Sun, 1 Mar 2026 10:11:12 +0100")
@example("Sun, 29 Feb 2026 10:11:12 +0000")  # no such day
@example("Sun, 01 Mar 2026 24:00:00 +0000")
def test_dates_take_the_stdlib_result(value: str) -> None:
    expected = reference_date(value)
    got = mailheaders._date_utc_uncached(value)
    assert got == expected and repr(got) == repr(expected)


def test_the_common_forms_really_take_the_fast_path() -> None:
    """Guards the speed: these must not quietly fall back to the stdlib."""
    assert mailheaders._simple_mailboxes('"Smith, John" <j@x.org>, Ann Lee <a@y.org>, b@z.org') is not None
    assert mailheaders._simple_mailboxes("=?utf-8?b?Q2hsb8OpIFNtaXRo?= <a@b.c>") is not None
    assert mailheaders._RFC5322_DATE.fullmatch("Mon, 14 May 2001 16:39:00 -0700 (PDT)")
    assert mailheaders._USUAL_DATE.fullmatch("Mon, 14 May 2001 16:39:00 -0700 (PDT)")
    assert mailheaders._USUAL_DATE.fullmatch("Sat, 28 Feb 2026 11:32:00 +0000")
    assert mailheaders._simple_mailboxes('"M\udcc3\udcbcller, Anna" <a@x.org>, Ingo L\udcfctkebohle <i@x.org>')
    assert mailheaders._simple_mailboxes("o'neill@x.org, Pat O'Neill <pat.o'neill@x.org>, r..brackett@x.org")
    # Enron's long To lists hold mangled addresses: they are dropped here, not sent to the stdlib.
    assert mailheaders._simple_mailboxes("'hotmail.com@enron.com, Carol <carol.st.@enron.com>, ok@x.org") == (
        Address("ok@x.org"),
    )


# --- IMAP's answer to BODY.PEEK[HEADER.FIELDS (...)]: parse_header_fields -------------

_FETCHED = frozenset(mailheaders._FETCHED_NAMES)
_FIELD_START = re.compile(rb"([!-9;-~]+)[ \t]*:")


def fetched_answer(raw: bytes) -> bytes:
    """What a server sends for ``BODY.PEEK[HEADER.FIELDS (imap.HEADER_FIELDS)]`` of ``raw``.

    The wanted fields of its header block in their order, each with its folded lines,
    every line ended in CRLF, then the empty line (RFC 3501 6.4.5; Dovecot writes it so).
    """
    lines = re.split(rb"\r\n|\n", mailheaders.header_block(raw))
    kept: list[bytes] = []
    keep = False
    for line in lines:
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if keep:
                kept.append(line)
            continue
        m = _FIELD_START.match(line)
        keep = m is not None and m[1].decode("ascii").lower() in _FETCHED
        if keep:
            kept.append(line)
    return b"".join(line + b"\r\n" for line in kept) + b"\r\n"


def assert_fetched_same_everywhere(block: bytes, hint: str, kinds: tuple[str, ...] = ("inbox", "mine", "sent")) -> bool:
    """parse_header_fields == the stdlib path for each argument set, cold then warm; True if the shape took it."""
    values = mailheaders._fetched_field_values(block)
    if values is not None:
        # Exactly what _split_fields finds: one value per field, the same text.
        assert mailheaders.header_block(block) == block
        seen, fields = mailheaders._split_fields(block)
        assert seen
        expected = [fields[name] for name in mailheaders._FETCHED_NAMES if name in fields]
        assert all(len(v) == 1 for v in expected)
        assert [[v] for v in values if v is not None] == expected
        assert [name for name, v in zip(mailheaders._FETCHED_NAMES, values, strict=True) if v is not None] == [
            name for name in mailheaders._FETCHED_NAMES if name in fields
        ]
    inbox = arguments("inbox", hint)
    first = full_result(block, inbox)
    for kind in kinds:
        kwargs = inbox if kind == "inbox" else arguments(kind, hint, sender_of(first))
        full = first if kwargs is inbox else full_result(block, kwargs)
        clear_caches()
        for _warm in range(2):
            fast = mailheaders.parse_header_fields(block, **kwargs)  # type: ignore[arg-type]
            assert type(fast) is type(full)
            assert fast == full
            assert repr(fast) == repr(full)
    return values is not None


def test_every_corpus_message_as_imap_sends_it_gives_the_same_result() -> None:
    """Each corpus message's HEADER.FIELDS answer, through parse_header_fields and the stdlib alone."""
    taken = total = 0
    for name, raw in corpus_messages():
        answer = fetched_answer(raw)
        total += 1
        taken += assert_fetched_same_everywhere(answer, name)
        # The whole header block in CRLF, fields we do not ask for too (a server that ignores the list).
        assert_fetched_same_everywhere(crlf(mailheaders.header_block(raw)) or b"\r\n", name + "/all", ("inbox",))
    # Guards the speed: most real answers are plain ASCII, unfolded, one of each field.
    # (1,150 messages; 8-bit names and subjects, folded To and References are the rest.)
    print(f"fast shape: {taken} of {total} corpus answers ({taken / total:.0%})")  # noqa: T201 - with -s
    assert taken / total > 0.45, f"{taken} of {total} took the fast shape"


_BARE = st.sampled_from(["\r", "\n", "\x00", "\x0b", "\x1c", "\x85", "\u2028", "\udcff", "\udcc3\udca9"])
_HOSTILE_VALUES = st.sampled_from(
    [
        "=?utf-8?q?a=0Ab?= <x@y.org>",
        "=?utf-8?q?a=0D=0ABcc:_evil@x.org?=",
        "=?UTF-8?Q?Eve=0D=0ABcc=3A_x=40evil?= <eve@x.org>",
        "=?utf-8?b?YQ1iCmM=?=",
        "a\x00b <c@d.org>",
        "<a@b>\x00<c@d>",
        "x@y.org\x0bz@w.org",
        "Mon, 14 May 2001 16:39:00 -0700\x00",
        "Name <a@b.org>,",
        "",
        " ",
        "\t",
        "no",
        "<>",
    ]
)


@st.composite
def fetched_values(draw: st.DrawFn, kind: str, plain: bool) -> str:
    value = draw(_VALUES[kind] | _HOSTILE_VALUES) if draw(st.integers(0, 4)) == 0 else draw(_VALUES[kind])
    if plain:  # half the blocks: ASCII values on single lines, which the fast shape takes
        return value.encode("ascii", "replace").decode("ascii").replace("\r", " ").replace("\n", " ")
    shape = draw(st.integers(0, 9))
    if shape == 0:  # something a line should not hold: a bare CR or LF, a NUL, a C1 or 8-bit byte
        at = draw(st.integers(0, len(value)))
        value = value[:at] + draw(_BARE) + value[at:]
    elif shape == 1:  # a very long line (the caches keep values up to 512 characters)
        value = ", ".join([value or "a@b.org"] * draw(st.integers(20, 200)))
    elif shape == 2:
        value = fold(value, draw)
    return value


@st.composite
def fetched_blocks(draw: st.DrawFn) -> bytes:
    """IMAP answers: the wanted fields in any case and order, mostly plain, some hostile."""
    kinds = {
        "from": "address",
        "to": "address",
        "cc": "address",
        "date": "date",
        "message-id": "id",
        "in-reply-to": "id",
        "references": "id",
    }
    names = draw(st.lists(st.sampled_from(mailheaders._FETCHED_NAMES), min_size=1, max_size=9, unique=True))
    if draw(st.integers(0, 9)) == 0:
        names.append(draw(st.sampled_from(names)))  # a duplicate
    lines = []
    plain = draw(st.booleans())
    for name in names:
        spelled = draw(st.sampled_from([name, name.upper(), name.title(), name.capitalize()]))
        colon = draw(st.sampled_from([": ", ":", ":\t", ":  ", " : "])) if draw(st.integers(0, 9)) == 0 else ": "
        lines.append(spelled + colon + draw(fetched_values(kinds.get(name, "text"), plain)))
    if not plain and draw(st.integers(0, 4)) == 0:
        extra = draw(st.sampled_from(["Received: x", " continued", "From x@y Mon Apr 18 14:18:23 2022", "X-Spam: 1"]))
        lines.insert(draw(st.integers(0, len(lines))), extra)
    text = "\r\n".join(lines) + "\r\n"
    data = text.encode("utf-8", "surrogateescape")
    if not plain and draw(st.integers(0, 4)) == 0:
        data = data.replace(b"\r\n", b"\n", 1)  # one line without its CR
    end = b"\r\n" if draw(st.integers(0, 5)) else draw(st.sampled_from([b"", b"\n", b"\r\n\r\n", b"\r\nbody\r\n"]))
    return data + end


@BLOCK_SETTINGS
@given(fetched_blocks())
@example(b"From: Ann <ann@x.org>\r\nTo: me@y.org\r\nDate: Mon, 14 May 2001 16:39:00 -0700\r\n\r\n")
@example(b"From: =?utf-8?q?a=0Ab?= <x@y.org>\r\nSubject: =?utf-8?q?a=0D=0ABcc:_evil@x.org?=\r\n\r\n")
@example(b"From: a@b.org\r\nSubject: one\rtwo\r\n\r\n")  # a bare CR inside a value
@example(b"From: a@b.org\r\nSubject: one\ntwo\r\nTo: c@d.org\r\r\n\r\n")  # a bare LF, a CR before CRLF
@example(b"From: a@b.org\r\nTo: c@d.org\r\nto: e@f.org\r\n\r\n")  # a duplicate, in another case
@example(b"From: a@b.org\r\nReferences: <r@x>\r\n <p@x>\r\n\r\n")  # folded
@example(b"From: a\x00b <c@d.org>\r\nMessage-ID: <m@x>\x00\r\n\r\n")
@example(b"From: x@y.org\r\n\r\nTo: z@w.org\r\n\r\n")  # an empty line before the last
@example(b"From : a@b.org\r\n\r\n")  # obsolete space before the colon
@example(b"From: a@b.org\r\nSubject: " + b"x" * 300_000 + b"\r\n\r\n")  # longer than HEADER_LIMIT
def test_generated_imap_answers_give_the_same_result(block: bytes) -> None:
    assert_fetched_same_everywhere(block, "gen")


def test_the_plain_imap_answer_really_takes_the_fast_shape() -> None:
    """Guards the speed: the usual answer must not quietly go the general way."""
    answer = (
        b"From: =?utf-8?q?Jos=C3=A9_Rossi?= <jos@example.com>\r\nTo: Me Myself <me@example.org>\r\n"
        b"Date: Sat, 28 Feb 2026 11:32:00 +0000\r\nSubject: Re: Notes\r\nMessage-ID: <1.2@mail.example.org>\r\n"
        b"Cc: Priya <priya@example.com>\r\nIn-Reply-To: <0.t@mail.example.org>\r\n"
        b"References: <r@mail.example.org> <0.t@mail.example.org>\r\nLIST-ID: News <news.example.org>\r\n\r\n"
    )
    values = mailheaders._fetched_field_values(answer)
    assert values is not None
    assert values[mailheaders._FETCHED_NAMES.index("list-id")] == "News <news.example.org> "  # the last field's blank
    assert mailheaders._fetched_field_values(answer.replace(b"Rossi", b"R\xc3\xb6ssi")) is None


def test_list_unsubscribe_is_read_the_same_on_every_path() -> None:
    """A newsletter with no List-Id or Precedence still says what it is (RFC 2369)."""
    answer = (
        b"From: The Irish Times <news@irishtimes.example>\r\nTo: me@example.org\r\n"
        b"Date: Sat, 28 Feb 2026 11:32:00 +0000\r\nSubject: Morning briefing\r\n"
        b"List-Unsubscribe: <https://irishtimes.example/u?x=1>, <mailto:u@irishtimes.example>\r\n\r\n"
    )
    kw = dict(folder="INBOX", is_sent_folder=False, my_addresses=frozenset({"me@example.org"}),
              fallback_time=datetime(2026, 3, 1, tzinfo=UTC), source_hint="x")
    fast = mailheaders.parse_header_fields(answer, **kw)
    general = mailheaders.parse_mail_headers(answer, **kw)
    full = mailheaders._parse_mail_headers_full(answer, **kw)
    assert mailheaders._fetched_field_values(answer) is not None  # the one-regex shape
    assert fast == general == full
    assert fast.list_unsubscribe == "<https://irishtimes.example/u?x=1>, <mailto:u@irishtimes.example>"
