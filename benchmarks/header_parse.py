"""Header parsing alone: ``parse_mail_headers`` (fast path) vs ``_parse_mail_headers_full`` (stdlib only).

    python benchmarks/header_parse.py --quick    # well under a minute
    python benchmarks/header_parse.py            # more synthetic messages, more passes

Two inputs, both measured for both paths in the same run:

* ``enron``: every message of the Enron mbox folders in the test corpus
  (tests/data/corpus/email/enron, see tests/corpus.py), as the mbox
  connector hands them over (From line + header block);
* ``synthetic``: realistic IMAP-shaped header blocks (CRLF, the fields circleback
  fetches plus Received and DKIM noise, a third sent, names with commas and
  RFC 2047 words for non-ASCII names), a crowd of 2,000 people.

A pass parses every message once.  The fast path's value caches are cleared
before each pass ("cold": what a first sync sees, where only repeats inside the
mailbox hit), and one more pass runs warm.  The first pass also checks that both
paths agree on every message.  The last line is ``key=value`` pairs;
``msgs_per_s`` is the cold fast path over both inputs, ``vs_full_path`` its ratio
to the stdlib path.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.header import Header
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from circleback.connectors import mailheaders  # noqa: E402
from circleback.connectors.mbox import ScanState, scan_mbox  # noqa: E402
from tests.support.corpus import CORPUS  # noqa: E402

ME = "me@example.org"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Greta", "Hiro", "Ines", "José", "Kai", "Lena"]
LAST = ["Smith", "Müller", "García", "Rossi", "Tanaka", "Kowalski", "Nguyen", "Dubois", "O'Neil", "Hörst"]

Parse = Callable[..., object]


def enron_messages() -> list[bytes]:
    found = []
    for path in sorted((CORPUS / "email" / "enron").iterdir()):
        with path.open("rb") as fh:
            found += [block for _offset, block in scan_mbox(fh, ScanState(0, True), settled=True)]
    return found


def mailbox(rng: random.Random, n: int) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    address = f"{first.lower().encode('ascii', 'ignore').decode()}.{n}@example{n % 40}.com"
    if rng.random() < 0.2:
        return f'"{last}, {first}" <{address}>'  # Outlook's "Last, First"
    name = f"{first} {last}"
    if not name.isascii():
        return f"{Header(name, 'utf-8').encode()} <{address}>"  # RFC 2047, as real clients write
    return f"{name} <{address}>" if rng.random() < 0.9 else address


def synthetic_messages(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    crowd = [mailbox(rng, n) for n in range(2000)]
    out = []
    for n in range(1, count + 1):
        sent = rng.random() < 0.3
        other = [rng.choice(crowd) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        when = NOW - timedelta(seconds=rng.randrange(2 * 365 * 86400))
        lines = [
            f"From: {'Me Myself <' + ME + '>' if sent else other[0]}",
            f"To: {', '.join(other) if sent else 'Me Myself <' + ME + '>'}",
            f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
            f"Subject: {'Re: ' if n % 3 else ''}Notes on project {n % 997} and next steps",
            f"Message-ID: <{n}.{rng.randrange(10**9)}@mail.example.org>",
            f"Received: from mx{n % 7}.example.net by mx.example.org;\r\n\t{when.isoformat()}",
            f"DKIM-Signature: v=1; a=rsa-sha256; d=example.net;\r\n\tb={'A' * 70}\r\n\t{'B' * 70}",
        ]
        if rng.random() < 0.3:
            lines.append(f"Cc: {rng.choice(crowd)}")
        if n % 3:
            parent = f"<{n - 1}.thread@mail.example.org>"
            lines += [f"In-Reply-To: {parent}", f"References: <{n - 2}.root@mail.example.org>\r\n {parent}"]
        if rng.random() < 0.1:
            lines += ["List-Id: Project news <news.example.org>", "Precedence: list"]
        out.append(("\r\n".join(lines) + "\r\n\r\n").encode())
    return out


def parse_all(parse: Parse, messages: list[bytes]) -> list[object]:
    return [
        parse(
            raw,
            folder="INBOX",
            is_sent_folder=False,
            my_addresses=frozenset({ME}),
            fallback_time=NOW,
            source_hint="bench:INBOX",
        )
        for raw in messages
    ]


def clear_caches() -> None:
    for cached in (mailheaders._mailboxes_of_value_cached, mailheaders._subject_full_cached):
        cached.cache_clear()


def rate(parse: Parse, messages: list[bytes], passes: int, *, cold: bool) -> float:
    """Best messages/s over ``passes`` passes (the least disturbed by the machine)."""
    best = 0.0
    for _ in range(passes):
        if cold:
            clear_caches()
        started = time.perf_counter()
        parse_all(parse, messages)
        best = max(best, len(messages) / (time.perf_counter() - started))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 synthetic messages, fewer passes")
    args = parser.parse_args(argv)
    count, passes = (3000, 3) if args.quick else (20000, 5)
    inputs = {"enron": enron_messages(), "synthetic": synthetic_messages(count)}
    totals = {"fast": 0.0, "full": 0.0, "warm": 0.0}  # seconds per message summed over inputs
    figures = {}
    mismatches = 0
    for label, messages in inputs.items():
        clear_caches()
        fast_results = parse_all(mailheaders.parse_mail_headers, messages)
        full_results = parse_all(mailheaders._parse_mail_headers_full, messages)
        mismatches += sum(repr(a) != repr(b) for a, b in zip(fast_results, full_results, strict=True))
        full = rate(mailheaders._parse_mail_headers_full, messages, max(1, passes - 2), cold=False)
        fast = rate(mailheaders.parse_mail_headers, messages, passes, cold=True)
        warm = rate(mailheaders.parse_mail_headers, messages, passes, cold=False)
        print(  # noqa: T201 - a benchmark's report is its output
            f"{label:<10} {len(messages):>6} msgs  full path {full:>8,.0f}/s  "
            f"fast path {fast:>8,.0f}/s cold, {warm:>8,.0f}/s warm  ({fast / full:.1f}x cold)",
            flush=True,
        )
        figures[label] = fast
        for key, value in (("fast", fast), ("full", full), ("warm", warm)):
            totals[key] += len(messages) / value
    total = sum(len(m) for m in inputs.values())
    fast, full, warm = (total / totals[k] for k in ("fast", "full", "warm"))
    print(  # noqa: T201
        f"messages={total} msgs_per_s={fast:.0f} full_msgs_per_s={full:.0f} vs_full_path={fast / full:.1f} "
        f"warm_msgs_per_s={warm:.0f} enron_msgs_per_s={figures['enron']:.0f} "
        f"synthetic_msgs_per_s={figures['synthetic']:.0f} mismatches={mismatches}"
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
