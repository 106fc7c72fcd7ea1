"""Drafts carry exactly the headers we intend, whatever names and subjects arrive."""

from __future__ import annotations

import base64
import os
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from circleback.connectors.base import Address
from circleback.daemon.core.message import (
    MAX_DISPLAY_NAME,
    MAX_SUBJECT,
    build_draft,
    checked_addr_spec,
    clean_header_value,
    new_message_id,
    plan_draft,
    verify_draft,
)
from circleback.daemon.errors import DraftBuildError

ME = Address("ana@example.com", "Ana Lima")
JO = Address("jo@example.org", "Jo Park")
DATE = datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
BASE_HEADERS = ["from", "to", "subject", "date", "message-id", "x-circleback-key"]
MIME_HEADERS = ["content-type", "content-transfer-encoding", "mime-version"]
# Long runs: CIRCLEBACK_FUZZ_EXAMPLES=20000 pytest tests/test_message.py
FUZZ_EXAMPLES = int(os.environ.get("CIRCLEBACK_FUZZ_EXAMPLES", "300"))


def draft(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "sender": ME,
        "to": [JO],
        "subject": "Catching up",
        "body": "Hi Jo,\n\nHow are you?\n\nAna\n",
        "message_id": "123.456@example.com",
        "key": "jo:checkin:2025-W11",
        "date": DATE,
    }
    args.update(overrides)
    return build_draft(**args)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def header_block(raw: bytes) -> str:
    return re.split(r"\r?\n\r?\n", raw.decode("ascii"), maxsplit=1)[0]


def logical_header_lines(raw: bytes) -> list[str]:
    """Header lines after unfolding (RFC 5322 2.2.3), straight from the bytes."""
    return re.sub(r"\r?\n[ \t]", " ", header_block(raw)).splitlines()


# --- a normal draft ------------------------------------------------------------


def test_normal_draft_has_exactly_the_intended_headers_and_values() -> None:
    raw = draft()
    msg = parse(raw)

    assert [k.lower() for k in msg] == BASE_HEADERS + MIME_HEADERS
    assert msg["From"] == "Ana Lima <ana@example.com>"
    assert msg["To"] == "Jo Park <jo@example.org>"
    assert msg["Subject"] == "Catching up"
    assert msg["Date"] == "Wed, 12 Mar 2025 09:30:00 +0000"
    assert msg["Message-ID"] == "<123.456@example.com>"
    assert msg["X-Circleback-Key"] == "jo:checkin:2025-W11"
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content() == "Hi Jo,\n\nHow are you?\n\nAna\n"
    assert b"\r" not in raw


def test_cc_and_several_recipients_keep_their_order() -> None:
    bo = Address("bo@example.net", "")
    msg = parse(draft(to=[JO, bo], cc=[Address("cy@example.com", "Cy, the Third")]))

    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("Jo Park", "jo@example.org"),
        ("", "bo@example.net"),
    ]
    assert msg["Cc"].addresses[0].display_name == "Cy, the Third"
    assert Counter(k.lower() for k in msg)["cc"] == 1


def test_reply_headers_are_written_with_brackets_and_checked() -> None:
    msg = parse(draft(in_reply_to="<abc@mail.example.org>", references=["root@x.org", "<abc@mail.example.org>"]))

    assert msg["In-Reply-To"] == "<abc@mail.example.org>"
    assert msg["References"] == "<root@x.org> <abc@mail.example.org>"
    assert sorted(k.lower() for k in msg) == sorted(BASE_HEADERS + MIME_HEADERS + ["in-reply-to", "references"])


def test_long_references_fold_between_ids_never_inside_one() -> None:
    refs = [f"{'r' * 60}.{i}@mail.example.org" for i in range(6)]
    raw = draft(references=refs)

    assert b"=?" not in raw  # the email package would have made encoded-words of them
    assert parse(raw)["References"].split() == [f"<{r}>" for r in refs]


def test_crlf_mode_ends_every_line_with_crlf() -> None:
    raw = draft(linesep="\r\n", body="one\ntwo\rthree\r\nfour")

    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert raw.endswith(b"\r\n")
    assert parse(raw).get_content().replace("\r\n", "\n") == "one\ntwo\nthree\nfour\n"


def test_body_controls_are_removed_but_tabs_and_newlines_stay() -> None:
    body = "Hi\x00 Jo\x1b[31m,\tthere\x85next\u2028line\x7f\n"
    assert parse(draft(body=body)).get_content() == "Hi Jo[31m,\tthere\nnext\nline\n"


def test_non_ascii_names_and_subject_round_trip() -> None:
    msg = parse(draft(to=[Address("kenji@example.jp", "山田 健二")], subject="Ça va, 健二?"))

    assert msg["To"].addresses[0].display_name == "山田 健二"
    assert msg["Subject"] == "Ça va, 健二?"


def test_idn_domain_is_written_as_punycode() -> None:
    msg = parse(draft(to=[Address("jo@bücher.example", "Jo")]))
    assert msg["To"].addresses[0].addr_spec == "jo@xn--bcher-kva.example"


def test_new_message_id_uses_the_senders_domain_without_brackets() -> None:
    mid = new_message_id("example.com")
    assert mid.endswith("@example.com") and "<" not in mid
    assert new_message_id("ana@example.com").endswith("@example.com")
    assert new_message_id("example.com") != mid
    assert parse(draft(message_id=mid))["Message-ID"] == f"<{mid}>"


# --- refusals --------------------------------------------------------------------

BAD_ADDRESSES = [
    "",
    "jo.example.org",
    "jo@@example.org",
    "jo@eve@example.org",
    "@example.org",
    "jo@",
    "jo@localhost",
    "jo park@example.org",
    "jo\r\n@example.org",
    "jo@example.org\r\nBcc: eve@evil.test",
    "<jo@example.org>",
    "jo@example.org>",
    "jo@example.org, eve@evil.test",
    "jo@exa mple.org",
    "jo@example..org",
    "jo@-example.org",
    "jo@example.123",
    "jo@[1.2.3]",
    "jo@[IPv6:1.2.3.4]",
    '"jo"@example.org',
    "jö@example.org",
    ".jo@example.org",
    "=?utf-8?q?eve?=@example.org",
    "j" * 65 + "@example.org",
    "jo@" + "a" * 64 + ".org",
    "jo@example.org\x00",
]


@pytest.mark.parametrize("email", BAD_ADDRESSES)
def test_invalid_recipient_raises_naming_the_address(email: str) -> None:
    with pytest.raises(DraftBuildError) as caught:
        draft(to=[Address(email, "Jo")])
    assert repr(email) in str(caught.value)


@pytest.mark.parametrize("field", ["sender", "cc"])
def test_invalid_sender_or_cc_raises(field: str) -> None:
    bad = Address("not an address", "X")
    with pytest.raises(DraftBuildError, match="not an address"):
        draft(**{field: bad if field == "sender" else [bad]})


@pytest.mark.parametrize(
    "email", ["o'brien+tag@example.co.uk", "jo@[192.0.2.1]", "jo@[IPv6:2001:db8::1]", "a_b-c@x.io"]
)
def test_unusual_but_valid_addresses_are_written(email: str) -> None:
    assert parse(draft(to=[Address(email, "Jo")]))["To"].addresses[0].addr_spec == email


@pytest.mark.parametrize(
    "overrides",
    [
        {"in_reply_to": "a b@example.org"},
        {"in_reply_to": "a\r\nX-Evil: 1@example.org"},
        {"references": ["ok@example.org", "<a>b@example.org>"]},
        {"references": ["=?utf-8?q?x?=@example.org"]},
        {"message_id": ""},
        {"key": "has space"},
        {"key": ""},
        {"key": "k\nX-Evil: 1"},
        {"to": []},
        {"date": datetime(2025, 3, 12, 9, 30)},
        {"subject": "\r\n\x00 \u2028"},
        {"linesep": "\r"},
    ],
)
def test_bad_ids_keys_dates_and_empty_subjects_raise(overrides: dict[str, object]) -> None:
    with pytest.raises(DraftBuildError):
        draft(**overrides)


def test_checked_addr_spec_returns_the_ascii_form() -> None:
    assert checked_addr_spec("jo@Bücher.example") == "jo@xn--bcher-kva.example"


# --- CVE-2024-6923 and other injection ---------------------------------------------

EVIL_SUBJECT = "=?UTF-8?Q?Hello=0AX-Evil:=20injected?="
EVIL_NAME = "=?UTF-8?Q?Jo=0D=0AX-Evil:=20injected=0D=0ABcc:=20eve@evil.test?="


def test_encoded_newlines_in_subject_and_name_inject_nothing() -> None:
    raw = draft(subject=EVIL_SUBJECT, to=[Address("jo@example.org", EVIL_NAME)])
    msg = parse(raw)

    assert "X-Evil" not in msg and "Bcc" not in msg
    assert [k.lower() for k in msg] == BASE_HEADERS + MIME_HEADERS
    # one logical line per header, straight from the bytes
    lines = logical_header_lines(raw)
    assert [line.split(":", 1)[0].lower() for line in lines] == BASE_HEADERS + MIME_HEADERS
    assert msg["Subject"] == "Hello X-Evil: injected"
    assert msg["To"].addresses[0].display_name == "Jo X-Evil: injected Bcc: eve@evil.test"
    assert msg["To"].addresses[0].addr_spec == "jo@example.org"


def test_double_encoded_and_base64_newlines_are_decoded_then_stripped() -> None:
    inner = "=?UTF-8?Q?Hi=0D=0AX-Evil:_1?="
    outer = "=?UTF-8?B?" + base64.b64encode(inner.encode()).decode() + "?="
    b64_newline = "=?utf-8?b?" + base64.b64encode(b"Hi\r\nX-Evil: 2").decode() + "?="
    raw = draft(subject=outer, to=[Address("jo@example.org", b64_newline)])
    msg = parse(raw)

    assert "X-Evil" not in msg
    assert msg["Subject"] == "Hi X-Evil: 1"
    assert msg["To"].addresses[0].display_name == "Hi X-Evil: 2"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Hello\r\n\tworld  ", "Hello world"),
        ("a\x00b\x1fc\x7fd\x85e\x9ff", "a b c d e f"),
        ("line\u2028para\u2029vt\x0bff\x0c.", "line para vt ff ."),
        ("=?UTF-8?Q?Hello=0AX-Evil:=20injected?=", "Hello X-Evil: injected"),
        ("=?utf-8?q?Caf=C3=A9?= =?utf-8?q?_au_lait?=", "Café au lait"),
        ("=?iso-8859-1?q?J=F6rg?=", "Jörg"),
        ("=?x-no-such-charset?q?abc?=", "abc"),
        ("=?utf-8?b?!!!not base64?=", "= ?utf-8?b?!!!not base64?="),
        ("=?utf-8*en?q?lang_tag?=", "lang tag"),
        ("=?base64?q?abc?=", "abc"),  # a codec that is not a text encoding
        ("is 2+2=? yes", "is 2+2=? yes"),
        ("=?utf-8?q?=3D=3Fraw=3F=3D?=", "= ?raw?="),
        ("\u202egnp.exe", "gnp.exe"),
        ("x\ud800y", "x\ufffdy"),
    ],
)
def test_clean_header_value(raw: str, clean: str) -> None:
    assert clean_header_value(raw) == clean


def test_deeply_nested_encoding_is_defused_not_decoded_forever() -> None:
    text = "X-Evil: deep"
    for _ in range(10):
        text = "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="
    cleaned = clean_header_value(text)
    assert "=?" not in cleaned
    assert_clipped_equal(parse(draft(subject=text))["Subject"], cleaned, MAX_SUBJECT)


def test_long_subject_and_name_are_clipped_at_a_word() -> None:
    msg = parse(draft(subject="word " * 100, to=[Address("jo@example.org", "Jo " * 80)]))
    assert len(msg["Subject"]) <= MAX_SUBJECT and msg["Subject"].endswith("word\u2026")
    assert len(msg["To"].addresses[0].display_name) <= MAX_DISPLAY_NAME


# --- verify_draft on bytes someone else touched --------------------------------------


def expected_for(**overrides: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "sender": ME, "to": [JO], "subject": "Catching up", "body": "Hi\n",
        "message_id": "1@example.com", "key": "k1", "date": DATE,
    }  # fmt: skip
    args.update(overrides)
    return plan_draft(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (lambda r: r.replace(b"Subject:", b"X-Evil: 1\nSubject:"), "unexpected \\['x-evil'\\]"),
        (lambda r: r.replace(b"Subject: Catching up", b"Subject: Catching UP"), "Subject"),
        (lambda r: r.replace(b"To: Jo Park", b"To: Eve"), "To"),
        (lambda r: r.replace(b"To:", b"Cc: eve@evil.test\nTo:"), "unexpected \\['cc'\\]"),
        (lambda r: r.replace(b"X-Circleback-Key: k1", b"X-Circleback-Key: k2"), "X-Circleback-Key"),
        (lambda r: r.replace(b"Subject:", b"To: eve@evil.test\nSubject:"), "unexpected \\['to'\\]"),
        (lambda r: r.replace(b"\n\nHi", b"\n\nHo"), "body"),
    ],
)
def test_verify_draft_names_the_header_that_differs(tamper, named: str) -> None:  # type: ignore[no-untyped-def]
    expected = expected_for()
    raw = draft(body="Hi\n", message_id="1@example.com", key="k1")
    verify_draft(raw, expected)  # untouched: fine
    with pytest.raises(DraftBuildError, match=named):
        verify_draft(tamper(raw), expected)


def test_verify_draft_accepts_the_same_instant_in_another_zone() -> None:
    other_zone = DATE.astimezone(timezone(timedelta(hours=-5)))
    raw = draft(date=other_zone, body="Hi\n", message_id="1@example.com", key="k1")
    verify_draft(raw, expected_for())


# --- fuzz ---------------------------------------------------------------------------


def _b64_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8", "replace")).decode() + "?="


def _q_word(data: bytes) -> str:
    return "=?utf-8?q?" + "".join(f"={b:02X}" for b in data) + "?="


HOSTILE_PIECES = [
    "\r", "\n", "\r\n", "\n\n", "\x00", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\t",
    '"', "'", ",", "<", ">", "@", ";", ":", "\\", "(", ")", "[", "]", "=?", "?=", " ", "_",
    "X-Evil: injected", "\r\nBcc: eve@evil.test", "eve@evil.test", "<eve@evil.test>",
    "=?UTF-8?Q?Hello=0AX-Evil:=20injected?=", "=?utf-8?q?=0D=0ABcc:_eve@evil.test?=",
    _b64_word("\r\nX-Evil: b64"), _b64_word(_b64_word("\nX-Evil: twice")),
    "=?x-unknown?q?abc?=", "=?utf-8?b?!!!?=", "=?utf-16?b?AAoA?=",
    "Ωμέγα", "山田太郎", "مرحبا بك", "Ñoño", "\u202e", "👩‍💻", "a" * 90,
]  # fmt: skip
hostile_text = st.lists(
    st.one_of(
        st.sampled_from(HOSTILE_PIECES),
        st.text(max_size=30),
        st.text(max_size=30).map(_b64_word),
        st.binary(max_size=20).map(_q_word),
    ),
    max_size=12,
).map("".join) | st.text(min_size=150, max_size=1500)

INTENDED = Counter(BASE_HEADERS + MIME_HEADERS + ["cc"])
KNOWN_NAMES = {name.lower() for name in INTENDED}


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sender_name=hostile_text, to_name=hostile_text, cc_name=hostile_text, subject=hostile_text)
@example(sender_name="", to_name=EVIL_NAME, cc_name='"', subject=EVIL_SUBJECT)
def test_hostile_names_and_subjects_never_add_a_header(
    sender_name: str, to_name: str, cc_name: str, subject: str
) -> None:
    try:
        raw = draft(
            sender=Address("ana@example.com", sender_name),
            to=[Address("jo@example.org", to_name)],
            cc=[Address("cy@example.net", cc_name)],
            subject=subject,
        )
    except DraftBuildError:
        # The only refusal a valid address may see: nothing left of the subject.
        assert clean_header_value(subject) == ""
        return

    msg = parse(raw)
    assert Counter(k.lower() for k in msg) == INTENDED
    assert all("\r" not in str(v) and "\n" not in str(v) for v in msg.values())
    # Independently of the email package: every unfolded raw line starts a known header.
    for line in logical_header_lines(raw):
        assert line.split(":", 1)[0].lower() in KNOWN_NAMES, line
    for header, name, email in (
        ("From", sender_name, "ana@example.com"),
        ("To", to_name, "jo@example.org"),
        ("Cc", cc_name, "cy@example.net"),
    ):
        (found,) = msg[header].addresses
        assert found.addr_spec == email
        assert_clipped_equal(found.display_name, clean_header_value(name), MAX_DISPLAY_NAME)
    assert_clipped_equal(str(msg["Subject"]), clean_header_value(subject), MAX_SUBJECT)


def assert_clipped_equal(found: str, cleaned: str, limit: int) -> None:
    if len(cleaned) <= limit:
        assert found == cleaned
    else:
        assert found.endswith("\u2026") and cleaned.startswith(found[:-1]) and len(found) <= limit


CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(hostile_text)
def test_clean_header_value_leaves_one_safe_line(text: str) -> None:
    cleaned = clean_header_value(text)
    assert not CONTROLS.search(cleaned)
    assert cleaned == cleaned.strip() and "  " not in cleaned
    assert not re.search(r"=\?.*\?=", cleaned)
    assert clean_header_value(cleaned) == cleaned


def test_a_clock_with_microseconds_still_builds_a_draft() -> None:
    """The real clock has microseconds; RFC 5322 dates do not. The draft must still verify."""
    from datetime import UTC, datetime

    from circleback.connectors.base import Address
    from circleback.daemon.core.message import build_draft

    raw = build_draft(sender=Address("me@example.org", "Me"), to=[Address("ann@example.com", "Ann")],
                      subject="Hello", body="How are you?\n", message_id="m1@example.org", key="k1",
                      date=datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=UTC))
    assert b"Date: Fri, 20 Nov 2026 10:00:00 +0000" in raw
