"""Every real-world mail file in the corpus: parsed or skipped with a reason, never a crash.

The corpus is read in place (tests/data/corpus/email, see tests/corpus.py); only the Maildir test
copies single messages, into a temp dir.  ``corpus_counts()`` measures the
figures reported in notes:

    python -c "from tests.test_corpus_mail import corpus_counts; print(corpus_counts())"
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from circleback.connectors.base import ConnectorContext, Direction, MailRecord, Skip
from circleback.connectors.maildir import MaildirConnector
from circleback.connectors.mailheaders import parse_mail_headers
from circleback.connectors.mbox import MboxConnector
from circleback.daemon.config import MaildirAccount, MboxAccount
from tests.support.corpus import CORPUS as SHARED_CORPUS

CORPUS = SHARED_CORPUS / "email"
FAR = datetime(2030, 1, 1, tzinfo=UTC)  # a fallback later than every real Date in the table
CONTEXT = ConnectorContext(lookback_days=100 * 365)  # the corpus goes back to 1991

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="tests/data/corpus/email not present")


def mbox_files() -> list[Path]:
    """The Enron folders, *.mbox, and any file that starts like an mbox ("From " line)."""
    found = [p for p in sorted(CORPUS.rglob("*")) if p.is_file()]
    return [p for p in found if p.parent.name == "enron" or p.suffix == ".mbox" or _starts_mbox(p)]


def single_files() -> list[Path]:
    return [p for p in sorted(CORPUS.iterdir()) if p.is_file() and p.suffix != ".mbox"]


def _starts_mbox(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(8).removeprefix(b"\xef\xbb\xbf").startswith(b"From ")


def parse_file(path: Path, fallback: datetime = FAR) -> MailRecord | Skip:
    return parse_mail_headers(
        path.read_bytes(),
        folder="INBOX",
        is_sent_folder=False,
        my_addresses=frozenset(),
        fallback_time=fallback,
        source_hint=path.name,
    )


def sync_mbox_files() -> tuple[list[MailRecord], list[Skip]]:
    records: list[MailRecord] = []
    skipped: list[Skip] = []
    for path in mbox_files():
        account = MboxAccount(name="corpus", kind="mbox", path=str(path))
        result = MboxConnector(account, CONTEXT).sync_mail(None)
        records += result.records
        skipped += result.skipped
    return records, skipped


def sync_as_maildir(root: Path) -> tuple[list[MailRecord], list[Skip]]:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for n, path in enumerate(single_files()):
        shutil.copyfile(path, root / "new" / f"1700000000.M{n}P1Q1.corpus")
    account = MaildirAccount(name="corpus", kind="maildir", path=str(root))
    result = MaildirConnector(account, CONTEXT).sync_mail(None)
    return result.records, result.skipped


def corpus_counts() -> dict[str, dict[str, object]]:
    """Files parsed and skipped per connector, with the skip reasons counted."""
    singles = [parse_file(p) for p in single_files()]
    mbox_records, mbox_skips = sync_mbox_files()
    with tempfile.TemporaryDirectory() as tmp:
        maildir_records, maildir_skips = sync_as_maildir(Path(tmp))
    single_skips = [s for s in singles if isinstance(s, Skip)]
    return {
        "parse_mail_headers": _summary(len(singles) - len(single_skips), single_skips),
        "mbox": {"files": len(mbox_files()), **_summary(len(mbox_records), mbox_skips)},
        "maildir": _summary(len(maildir_records), maildir_skips),
    }


def _summary(parsed: int, skips: list[Skip]) -> dict[str, object]:
    return {"parsed": parsed, "skipped": len(skips), "why": dict(Counter(s.why for s in skips))}


def test_every_single_message_parses_or_skips_with_a_reason() -> None:
    results = [parse_file(p) for p in single_files()]

    skips = [r for r in results if isinstance(r, Skip)]
    assert len(results) > 500
    assert all(s.why for s in skips)
    assert len(skips) < len(results) // 5  # most real mail must parse
    for r in results:
        if isinstance(r, MailRecord):
            assert r.timestamp.tzinfo == UTC
            assert all("@" in a.email and a.email == a.email.lower() for a in (*r.to, *r.cc))


def test_enron_and_other_mbox_files_through_the_connector() -> None:
    records, skipped = sync_mbox_files()

    enron = [r for r in records if r.folder.startswith("enron__")]
    enron_skips = [s for s in skipped if "enron__" in s.where]
    assert len(enron) + len(enron_skips) == 423  # every message of the three mailboxes (corpus README)
    # Four are from Enron's mangled "carol.st.@enron.com" and "legal <.hall@enron.com>":
    # a dot at the end of a local part reaches no one, so there is no sender to keep. Nine
    # are from "a..cordova@enron.com" and the like: obsolete syntax (RFC 5322 4.4) that no
    # draft can be written to, so reading keeps no such person either (connectors/addresses.py).
    assert len(enron_skips) == 13 and {s.why for s in enron_skips} == {"no usable From address"}
    sent = {r.folder for r in enron if r.direction is Direction.SENT}
    assert sent == {f"enron__enron.{u}.sent_items" for u in ("phanis-s", "sanchez-m", "slinger-r")}
    assert all(s.why for s in skipped)


def test_single_messages_through_a_maildir(tmp_path: Path) -> None:
    records, skipped = sync_as_maildir(tmp_path)

    direct = [parse_file(p) for p in single_files()]
    assert len(records) == sum(isinstance(r, MailRecord) for r in direct)
    assert len(skipped) == sum(isinstance(r, Skip) for r in direct)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# file: (sender, sender name, To addresses, timestamp, extra fields to check)
EXPECTED = {
    # RFC 2047 name holding a comma: one person, decoded after parsing (docs/PROVIDERS.md).
    # "To: undisclosed recipients: ;" - an empty group, no recipients.
    "rubymail__error_emails_empty_group_lists.eml": (
        "ceciledwards@sbcglobal.net",
        "Cecil Edwards",
        [],
        _utc(2009, 12, 3, 18, 50, 22),
        {},
    ),
    # Unparseable Date: the fallback time.
    "rubymail__error_emails_bad_date_header.eml": (
        "infoz@reactive-outpost.com",
        "Grants-Notification",
        ["someone@yahoo.com"],
        FAR,
        {"precedence": "junk"},
    ),
    # Mailing list traffic.
    "james__frnog.eml": (
        "ggenty@waycom.net",
        "Guillaume Genty",
        ["frnog@frnog.org"],
        _utc(2015, 6, 2, 10, 0, 55),
        {"list_id": "<frnog.frnog.org>", "precedence": "list"},
    ),
    # An Exchange bounce: auto-replied, threaded to what bounced.
    "flanker__bounce_office365.eml": (
        "postmaster@example.no",
        "",
        ["postmaster@ninomail.com"],
        _utc(2017, 10, 13, 11, 10, 16),
        {
            "auto_submitted": "auto-replied",
            "thread_id": "20171013111011.20866.254C2F3A4D7AA526@ninomail.com",
        },
    ),
    # From duplicated: one sender, not two.
    "phpmimemailparser__m0016.eml": (
        "dwsauder@example.com",
        "Doug Sauder",
        ["blow@example.com"],
        _utc(2000, 5, 18, 3, 47, 8),
        {"subject": "Test message with multiple From headers"},
    ),
    # Folded in odd places, whitespace-only continuation lines.
    "thunderbird__badly-folded-headers.eml": (
        "sender@example.com",
        "",
        ["recipient@example.com"],
        _utc(2018, 4, 14, 12, 1, 30),
        {"subject": "Badly folded headers, one line with space between To and From"},
    ),
    # RFC 5322 4.5 obsolete syntax: "From  :" with a space before the colon.
    "rubymail__rfc2822_example13.eml": (
        "jdoe@machine.example",
        "John Doe",
        ["mary@example.net"],
        FAR,  # "09(comment):   55  :  06" is beyond parsedate
        {"subject": "Saying Hello"},
    ),
    # 8-bit Latin-1 name from 1997, and "From: Big Bug bb@bug.com" without brackets.
    "flanker__from-encoding.eml": (
        "ingo@blank.pages.de",
        "Ingo Lütkebohle",
        ["new-httpd@apache.org"],
        _utc(1997, 7, 12, 20, 11, 13),
        {"precedence": "bulk"},
    ),
    "rubymail__plain_emails_mix_caps_content_type.eml": (
        "bb@bug.com",
        "",
        ["rubymail@ruby-lang.org"],
        _utc(2010, 2, 19, 7, 8, 29),
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nasty_files_give_exact_results(name: str) -> None:
    sender, sender_name, to, timestamp, extra = EXPECTED[name]

    r = parse_file(CORPUS / name)

    assert isinstance(r, MailRecord), r
    assert r.sender is not None and (r.sender.email, r.sender.name) == (sender, sender_name)
    assert [a.email for a in r.to] == to
    assert r.timestamp == timestamp
    for field, value in extra.items():
        assert getattr(r, field) == value, field


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("thunderbird__mail-without-from.eml", "no usable From address"),
        # From "Hörst, Kenny" <K.Hoerst@invalid>: one label, no host name a draft could go to.
        ("thunderbird__utf8MailboxStrings.eml", "no usable From address"),
        ("letters__test_english_empty.txt", "no header block (empty, or not a mail message)"),
    ],
)
def test_unusable_files_are_skipped_with_the_reason(name: str, why: str) -> None:
    r = parse_file(CORPUS / name)

    assert isinstance(r, Skip) and r.why == why
