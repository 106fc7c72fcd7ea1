"""Build a draft as RFC 5322 bytes that carry exactly the headers we intend.

Every value that reaches a header came from someone else's mail or calendar
(display names, subjects), so it is treated as hostile: encoded-words are
decoded *before* control characters are stripped, because Python 3.11/3.12's
email package lets an RFC 2047-encoded newline through into a new header
(CVE-2024-6923, docs/PROVIDERS.md).  Then the serialised bytes are parsed again and
compared with what we meant to write; any difference raises DraftBuildError.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid

from circleback.connectors.addresses import ATEXT as _ATEXT
from circleback.connectors.addresses import addr_spec_problem
from circleback.connectors.base import Address

from ..errors import DraftBuildError

log = logging.getLogger(__name__)

# --- header values -----------------------------------------------------------

# An RFC 2047 encoded-word: encoded text holds neither "?" nor whitespace.
_EW = r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?="
_ENCODED_WORD = re.compile(_EW)
# RFC 2047 6.2: whitespace between two adjacent encoded-words is not displayed.
_EW_GAP = re.compile(rf"(?<=\?=)\s+(?={_EW})")
# Double or triple encoding happens in forwarded mail; more than this is an attack.
_MAX_DECODE_ROUNDS = 4
# Everything a mail parser or a terminal may treat as a line break or control:
# C0 (incl. TAB, VT, FF, FS/GS/RS), DEL, C1 (incl. NEL), LINE/PARAGRAPH SEPARATOR.
_HEADER_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bidi overrides/isolates and the BOM are invisible and can make a display name
# read as something else; they carry no meaning in a name or subject.
_INVISIBLES = re.compile("[\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
# Only defuse "=?" when a "?=" follows: nothing else can parse as an encoded-word.
_EW_OPENER = re.compile(r"=\?(?=.*\?=)", re.DOTALL)


def clean_header_value(value: str) -> str:
    """``value`` as one safe line: decoded, no controls, single spaces, no encoded-words."""
    text = _SURROGATES.sub("\ufffd", value)
    for _ in range(_MAX_DECODE_ROUNDS):
        decoded = _decode_encoded_words(text)
        if decoded == text:
            break
        text = decoded
    text = _INVISIBLES.sub("", _HEADER_CONTROLS.sub(" ", text))
    text = re.sub(r"\s+", " ", text).strip()
    return _EW_OPENER.sub("= ?", text)


def _decode_encoded_words(text: str) -> str:
    return _ENCODED_WORD.sub(_decode_word, _EW_GAP.sub("", text))


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.groups()
    try:
        if encoding in "Qq":
            raw = binascii.a2b_qp(payload.encode("ascii", "replace"), header=True)
        else:
            raw = base64.b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        return match.group(0)  # left as is; clean_header_value defuses it
    return _decode_bytes(raw, charset.split("*", 1)[0])


def _decode_bytes(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset, "replace")
    except Exception:  # noqa: BLE001 - the charset name is attacker-chosen; any codec may fail
        return raw.decode("utf-8", "replace")


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary where one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


# Long enough for any real name or subject; longer ones are noise or an attack.
MAX_SUBJECT = 200
MAX_DISPLAY_NAME = 100

# --- addresses and ids --------------------------------------------------------

# Printable ASCII except space " ( ) < > \ - the characters that end, quote or
# comment an id in a header.
_MSG_ID = re.compile(r"[!#-'*-;=?-\[\]-~]+")


def checked_addr_spec(email: str) -> str:
    """``email`` as a plain ``local@domain`` we are willing to write, or DraftBuildError.

    The rule is ``connectors/addresses.py``'s, which every connector applies when it reads:
    an address that could not be written to is never tracked as a person either.
    """
    written, problem = addr_spec_problem(email)
    if problem:
        raise DraftBuildError(f"address {email!r} {problem}; fix it in the person's record")
    return written


def checked_msg_id(value: str, what: str) -> str:
    """A message id without brackets, or DraftBuildError saying which one is bad."""
    bare = value.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1]
    if not bare or len(bare) > 250 or not _MSG_ID.fullmatch(bare) or "=?" in bare:
        raise DraftBuildError(
            f"{what} {value!r} is not a usable message id "
            "(printable ASCII, no spaces, controls or <>, at most 250 characters)"
        )
    return bare


def new_message_id(domain: str) -> str:
    """A fresh Message-ID (without brackets) under ``domain``, the sender's mail domain."""
    host = domain.rpartition("@")[2]
    return checked_msg_id(make_msgid(domain=host)[1:-1], "generated Message-ID")


# --- the draft ---------------------------------------------------------------

Mailbox = tuple[str, str]  # (display name, addr_spec) exactly as they must parse back


@dataclass(frozen=True, slots=True)
class DraftHeaders:
    """What a draft must carry once parsed back: cleaned values, checked addresses."""

    sender: Mailbox
    to: tuple[Mailbox, ...]
    subject: str
    message_id: str  # without brackets
    key: str
    date: datetime
    cc: tuple[Mailbox, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    body: str | None = None  # None: the body is not compared

    def header_names(self) -> Counter[str]:
        names = ["from", "to", "subject", "date", "message-id", "x-circleback-key"]
        names += ["mime-version", "content-type", "content-transfer-encoding"]
        names += ["cc"] * bool(self.cc) + ["in-reply-to"] * bool(self.in_reply_to)
        names += ["references"] * bool(self.references)
        return Counter(names)


# We fold these headers ourselves.  Python 3.11's folder turns a long id into an
# encoded-word (no client then matches it for threading), and it splits long or
# non-ASCII subjects and names so that its own parser reads them back with a
# space more or less (found by the fuzz test in tests/test_message.py).
_TOKEN_HEADERS = frozenset({"in-reply-to", "references", "x-circleback-key"})
_ADDRESS_HEADERS = frozenset({"from", "to", "cc"})
_PLAIN_PHRASE = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")
# 40 bytes make a 66-character encoded-word, so "Subject: " plus one fits in the
# 76 characters RFC 2047 section 2 allows a line holding encoded-words.
_EW_BYTES = 40
_LINE = 78  # RFC 5322 2.1.1


def _encoded_words(text: str, max_bytes: int = _EW_BYTES) -> list[str]:
    """``text`` as UTF-8 B encoded-words, split between characters, never inside one."""
    chunks: list[str] = []
    chunk, size = "", 0
    for char in text:
        width = len(char.encode("utf-8"))
        if chunk and size + width > max_bytes:
            chunks.append(chunk)
            chunk, size = "", 0
        chunk, size = chunk + char, size + width
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(c.encode()).decode()}?=" for c in chunks if c]


def _is_plain(text: str) -> bool:
    """Printable ASCII whose every word fits on a folded line as it is."""
    return text.isascii() and text.isprintable() and all(len(w) < _LINE - 2 for w in text.split())


def _subject_tokens(subject: str) -> list[str]:
    # Adjacent encoded-words in unstructured text join without the space between
    # them (RFC 2047 6.2), in Python and in mail clients alike.
    return subject.split(" ") if _is_plain(subject) else _encoded_words(subject)


def _phrase_tokens(name: str) -> list[str]:
    """A display name as phrase tokens that every decoder reads back the same."""
    if not name:
        return []
    if not (name.isascii() and name.isprintable()):
        # One encoded-word, even past RFC 2047's 75 characters: between adjacent
        # words in a phrase Python keeps the space that clients drop, so any
        # split would show a different name somewhere.  Long words decode everywhere.
        return _encoded_words(name, max_bytes=4 * MAX_DISPLAY_NAME)
    if _PLAIN_PHRASE.fullmatch(name) and _is_plain(name):
        return name.split(" ")
    return ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']


def _mailbox_tokens(addresses: Sequence[MailAddress]) -> list[str]:
    tokens: list[str] = []
    for index, address in enumerate(addresses):
        comma = "," if index < len(addresses) - 1 else ""
        phrase = _phrase_tokens(address.display_name)
        tokens += [*phrase, f"<{address.addr_spec}>{comma}"] if phrase else [address.addr_spec + comma]
    return tokens


class _DraftPolicy(EmailPolicy):
    def fold(self, name: str, value: str) -> str:
        lower = name.lower()
        if lower in _TOKEN_HEADERS:
            return self._fold_tokens(name, str(value).split())
        if lower == "subject":
            return self._fold_tokens(name, _subject_tokens(str(value)))
        if lower in _ADDRESS_HEADERS:
            return self._fold_tokens(name, _mailbox_tokens(value.addresses))  # type: ignore[attr-defined]
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _TOKEN_HEADERS | _ADDRESS_HEADERS | {"subject"}:
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)

    def _fold_tokens(self, name: str, tokens: list[str]) -> str:
        lines = [f"{name}:"]
        for index, token in enumerate(tokens):
            # Fold only where a space already is (RFC 5322 3.2.2); a token never
            # splits, so one longer than a line gets a line of its own.
            if index and len(lines[-1]) + 1 + len(token) > _LINE:
                lines.append("")
            lines[-1] += f" {token}"
        return self.linesep.join(lines) + self.linesep


def build_draft(
    *,
    sender: Address,
    to: Sequence[Address],
    subject: str,
    body: str,
    message_id: str,
    key: str,
    date: datetime,
    cc: Sequence[Address] = (),
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    linesep: str = "\n",
) -> bytes:
    """The draft as RFC 5322 bytes, proven by a re-parse to hold exactly these headers."""
    expected = plan_draft(
        sender=sender, to=to, subject=subject, body=body, message_id=message_id, key=key,
        date=date, cc=cc, in_reply_to=in_reply_to, references=references,
    )  # fmt: skip
    if linesep not in ("\n", "\r\n"):
        raise DraftBuildError(f"line separator {linesep!r} must be '\\n' or '\\r\\n'")
    raw = _compose(expected, _DraftPolicy(linesep=linesep)).as_bytes()
    verify_draft(raw, expected)
    log.debug("built draft %s (%d bytes)", key, len(raw))
    return raw


def plan_draft(
    *,
    sender: Address,
    to: Sequence[Address],
    subject: str,
    body: str,
    message_id: str,
    key: str,
    date: datetime,
    cc: Sequence[Address] = (),
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
) -> DraftHeaders:
    """Clean and check every input; the result is what the draft must parse back to."""
    if not to:
        raise DraftBuildError("a draft needs at least one To address")
    if date.tzinfo is None or date.utcoffset() is None:
        raise DraftBuildError(f"draft date {date!r} must be timezone-aware")
    clean_subject = _clip(clean_header_value(subject), MAX_SUBJECT)
    if not clean_subject:
        raise DraftBuildError("the draft's subject is empty once control characters are removed")
    return DraftHeaders(
        sender=_mailbox(sender),
        to=tuple(_mailbox(a) for a in to),
        cc=tuple(_mailbox(a) for a in cc),
        subject=clean_subject,
        message_id=checked_msg_id(message_id, "Message-ID"),
        key=_checked_key(key),
        date=date.replace(microsecond=0),  # RFC 5322 dates carry whole seconds
        in_reply_to=checked_msg_id(in_reply_to, "In-Reply-To") if in_reply_to else None,
        references=tuple(checked_msg_id(r, "References id") for r in references),
        body=clean_body(body),
    )


def _mailbox(address: Address) -> Mailbox:
    name = _clip(clean_header_value(address.name), MAX_DISPLAY_NAME)
    return name, checked_addr_spec(address.email)


def _checked_key(key: str) -> str:
    if not key or len(key) > 200 or not _MSG_ID.fullmatch(key) or "=?" in key:
        raise DraftBuildError(f"outbox key {key!r} must be 1-200 printable ASCII characters without spaces")
    return key


_BODY_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_BODY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")


def clean_body(body: str) -> str:
    """Plain text with "\\n" line ends, no controls but tab and newline, one final newline."""
    text = _BODY_BREAKS.sub("\n", _SURROGATES.sub("\ufffd", body))
    return _BODY_CONTROLS.sub("", text).rstrip("\n") + "\n"


def _compose(expected: DraftHeaders, policy: EmailPolicy) -> EmailMessage:
    msg = EmailMessage(policy=policy)
    msg["From"] = _mail_address(expected.sender)
    msg["To"] = [_mail_address(m) for m in expected.to]
    if expected.cc:
        msg["Cc"] = [_mail_address(m) for m in expected.cc]
    msg["Subject"] = expected.subject
    msg["Date"] = format_datetime(expected.date)
    msg["Message-ID"] = f"<{expected.message_id}>"
    if expected.in_reply_to:
        msg["In-Reply-To"] = f"<{expected.in_reply_to}>"
    if expected.references:
        msg["References"] = " ".join(f"<{r}>" for r in expected.references)
    msg["X-Circleback-Key"] = expected.key
    # Quoted-printable: 7-bit safe for every IMAP server, any line length.
    msg.set_content(expected.body or "\n", charset="utf-8", cte="quoted-printable")
    return msg


def _mail_address(mailbox: Mailbox) -> MailAddress:
    name, addr_spec = mailbox
    try:
        return MailAddress(display_name=name, addr_spec=addr_spec)
    except (ValueError, TypeError) as exc:
        raise DraftBuildError(f"address {addr_spec!r} was refused by the email package: {exc}") from exc


# --- verification ------------------------------------------------------------


def verify_draft(raw: bytes, expected: DraftHeaders) -> EmailMessage:
    """Parse ``raw`` and prove it carries exactly ``expected``; DraftBuildError if not."""
    msg = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(msg, EmailMessage)  # policy.default always builds EmailMessage
    _verify_header_set(msg, expected)
    _verify_addresses(msg, expected)
    _verify_values(msg, expected)
    return msg


def _differs(header: str, found: object, wanted: object) -> DraftBuildError:
    return DraftBuildError(f"draft header {header} differs after re-parsing: found {found!r}, intended {wanted!r}")


def _verify_header_set(msg: EmailMessage, expected: DraftHeaders) -> None:
    found = Counter(name.lower() for name in msg)
    wanted = expected.header_names()
    if found != wanted:
        extra = sorted((found - wanted).elements())
        missing = sorted((wanted - found).elements())
        raise DraftBuildError(f"draft headers differ after re-parsing: unexpected {extra}, missing {missing}")
    for name, value in msg.items():
        if {"\r", "\n"} & set(str(value)):
            raise _differs(name, str(value), "a single line")


def _verify_addresses(msg: EmailMessage, expected: DraftHeaders) -> None:
    for header, wanted in (("From", (expected.sender,)), ("To", expected.to), ("Cc", expected.cc)):
        if not wanted:
            continue
        found = tuple((a.display_name, a.addr_spec) for a in msg[header].addresses)
        if found != tuple(wanted):
            raise _differs(header, found, tuple(wanted))


def _verify_values(msg: EmailMessage, expected: DraftHeaders) -> None:
    pairs = [
        ("Subject", str(msg["Subject"]), expected.subject),
        ("Message-ID", str(msg["Message-ID"]).strip(), f"<{expected.message_id}>"),
        ("X-Circleback-Key", str(msg["X-Circleback-Key"]), expected.key),
        ("Date", msg["Date"].datetime, expected.date),
        ("Content-Type", msg.get_content_type(), "text/plain"),
    ]
    if expected.in_reply_to:
        pairs.append(("In-Reply-To", str(msg["In-Reply-To"]), f"<{expected.in_reply_to}>"))
    if expected.references:
        found_refs = " ".join(str(msg["References"]).split())
        pairs.append(("References", found_refs, " ".join(f"<{r}>" for r in expected.references)))
    if expected.body is not None:
        pairs.append(("body", msg.get_content().replace("\r\n", "\n"), expected.body))
    for header, found, wanted in pairs:
        if found != wanted:
            raise _differs(header, found, wanted)
