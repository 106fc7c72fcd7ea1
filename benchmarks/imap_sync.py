"""First IMAP header sync against a real Dovecot: circleback vs a naive imaplib loop.

    python benchmarks/imap_sync.py --quick      # 10,000 messages, well under a minute
    python benchmarks/imap_sync.py              # 100,000 messages

Messages are loaded with MULTIAPPEND (RFC 3502) before any clock starts. Then,
in the same run and against the same mailbox:

* ``circleback``: ``ImapConnector.sync_mail(None)`` - connect, LIST, SELECT,
  SEARCH, UID FETCH of the header fields in 5,000-UID sets read as they arrive
  (connectors/imap_fetch.py), and a MailRecord per message through
  ``mailheaders.parse_mail_headers``;
* ``wire``: the same FETCHes without building records (the protocol's share);
* ``naive``: imaplib, one ``UID FETCH n (RFC822.HEADER)`` per message, parsed
  with ``email.parser`` - what a first script usually does.

Each contender runs ``--runs`` times (default 3), interleaved so that a busy
moment on the machine falls on all of them alike; the best run of each counts.
The last line is ``key=value`` pairs (``msgs_per_s=``, ``vs_naive=``, ...):
``vs_wire`` is circleback's speed as a share of wire-only reading in the same run
(the goal is 0.8, issue 16), and ``cpu_us_per_msg`` / ``wire_cpu_us_per_msg`` the
client CPU each spends on a message (the best run's), which shows where the
difference goes: a sync whose CPU time equals its wall time waits on nothing.
``fast_shape`` is the share of header answers (read once more, after the timed
runs) that mailheaders.parse_header_fields reads with its one regex rather than
the general path.
Needs the ``dovecot`` binary (apt-get install dovecot-imapd) and root.
"""

from __future__ import annotations

import argparse
import email.parser
import imaplib
import logging
import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import Header
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for tests.support

from circleback.connectors.base import ConnectorContext  # noqa: E402
from circleback.connectors.imap import (  # noqa: E402
    FETCH_CHUNK,
    HEADER_FIELDS,
    ImapAccount,
    ImapConnector,
    uid_sets,
)
from circleback.connectors.imap_fetch import Fetched, uid_fetch  # noqa: E402
from circleback.connectors.mailheaders import _fetched_field_values  # noqa: E402
from tests.support.servers import DovecotServer, start_dovecot  # noqa: E402

log = logging.getLogger("benchmarks.imap_sync")

ME = "me@example.org"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SENT_SHARE = 0.3  # a third of what people keep is their own mail
APPEND_BATCH = 500  # messages per MULTIAPPEND command
PASSWORD_ENV = "CIRCLEBACK_BENCH_IMAP_PASSWORD"  # noqa: S105 - the variable's name
FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "Dmitri",
    "Eva",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "José",
    "Kai",
    "Lena",
    "Mateo",
    "Noor",
    "Olga",
    "Priya",
]
LAST = [
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Tanaka",
    "Kowalski",
    "Nguyen",
    "Dubois",
    "Jensen",
    "Silva",
    "Okafor",
    "Hörst",
]


def people(count: int, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for n in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        local = name.split()[0].lower().encode("ascii", "ignore").decode()
        out.append((name, f"{local}.{n}@example{n % 40}.com"))
    return out


def mailbox(name: str, address: str) -> str:
    if name.isascii():
        return f'"{name}" <{address}>' if "," in name else f"{name} <{address}>"
    return f"{Header(name, 'utf-8').encode()} <{address}>"  # RFC 2047, as real clients write


def message(n: int, rng: random.Random, crowd: list[tuple[str, str]]) -> tuple[str, bytes, datetime]:
    """One realistic message: (folder, bytes, internaldate)."""
    sent = rng.random() < SENT_SHARE
    other = [mailbox(*rng.choice(crowd)) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
    when = NOW - timedelta(seconds=rng.randrange(2 * 365 * 86400))
    lines = [
        f"From: {'Me Myself <' + ME + '>' if sent else other[0]}",
        f"To: {', '.join(other) if sent else 'Me Myself <' + ME + '>'}",
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
        f"Subject: {'Re: ' if n % 3 else ''}Notes on project {n % 997} and next steps",
        f"Message-ID: <{n}.{rng.randrange(10**9)}@mail.example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        f"Received: from mx{n % 7}.example.net by mx.example.org; {when.isoformat()}",
        f"DKIM-Signature: v=1; a=rsa-sha256; d=example.net; b={'A' * 180}",
    ]
    if rng.random() < 0.3:
        lines.append(f"Cc: {mailbox(*rng.choice(crowd))}")
    if n % 3:
        parent = f"<{n - 1}.thread@mail.example.org>"
        lines += [f"In-Reply-To: {parent}", f"References: <{n - 2}.root@mail.example.org> {parent}"]
    if rng.random() < 0.1:
        lines += ["List-Id: Project news <news.example.org>", "Precedence: list"]
    body = "Hello,\r\n\r\n" + "Some words about the plan for the week. " * rng.randrange(3, 20)
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()
    return ("Sent" if sent else "INBOX"), raw, when


def load(server: DovecotServer, count: int, seed: int) -> float:
    """MULTIAPPEND ``count`` messages into INBOX and Sent; returns the seconds it took."""
    rng = random.Random(seed)
    crowd = people(2000, rng)
    started = time.perf_counter()
    client = IMAPClient(server.host, server.port, ssl=False)
    client.login(server.user, server.password)
    batches: dict[str, list[dict[str, object]]] = {"INBOX": [], "Sent": []}
    for n in range(1, count + 1):
        folder, raw, when = message(n, rng, crowd)
        batches[folder].append({"msg": raw, "date": when})
        if len(batches[folder]) >= APPEND_BATCH:
            client.multiappend(folder, batches[folder])
            batches[folder] = []
    for folder, rest in batches.items():
        if rest:
            client.multiappend(folder, rest)
    client.logout()
    return time.perf_counter() - started


def connector(server: DovecotServer) -> ImapConnector:
    os.environ[PASSWORD_ENV] = server.password
    account = ImapAccount(
        name="bench",
        kind="imap",
        host=server.host,
        port=server.port,
        security="none",
        username=server.user,
        password_env=PASSWORD_ENV,
    )
    context = ConnectorContext(my_addresses=frozenset({ME}), lookback_days=3 * 365, now=NOW)
    return ImapConnector(account, context)


def cpu_seconds() -> float:
    """This process's CPU time, all threads (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_circleback(server: DovecotServer) -> tuple[float, int, int, float]:
    box = connector(server)
    cpu, started = cpu_seconds(), time.perf_counter()
    result = box.sync_mail(None)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    box.close()
    return elapsed, len(result.records), len(result.skipped), cpu


def run_wire(server: DovecotServer) -> tuple[float, int, float]:
    """The same SEARCH and FETCHes, without building MailRecords."""
    box = connector(server)
    items = f"(UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
    cpu, started = cpu_seconds(), time.perf_counter()
    client = box._client()
    fetched = 0
    for folder in ("INBOX", "Sent"):
        client.select_folder(folder, readonly=True)
        for uidset, _members in uid_sets(client.search(["ALL"]), FETCH_CHUNK):
            fetched += sum(len(batch) for batch in uid_fetch(client._imap, uidset, items))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    box.close()
    return elapsed, fetched, cpu


def fast_shape(server: DovecotServer) -> tuple[int, int]:
    """(answers the one-regex shape of mailheaders.parse_header_fields takes, answers): not timed."""
    box = connector(server)
    items = f"(UID FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
    client = box._client()
    taken = total = 0
    for folder in ("INBOX", "Sent"):
        client.select_folder(folder, readonly=True)
        for uidset, _members in uid_sets(client.search(["ALL"]), FETCH_CHUNK):
            for batch in uid_fetch(client._imap, uidset, items):
                bodies = [msg.body for msg in batch if isinstance(msg, Fetched)]
                taken += sum(_fetched_field_values(body) is not None for body in bodies)
                total += len(bodies)
    box.close()
    return taken, total


def run_naive(server: DovecotServer) -> tuple[float, int]:
    started = time.perf_counter()
    imap = imaplib.IMAP4(server.host, server.port)
    imap.login(server.user, server.password)
    parser = email.parser.BytesParser()
    seen = 0
    for folder in ("INBOX", "Sent"):
        imap.select(folder, readonly=True)
        _typ, data = imap.uid("SEARCH", "ALL")
        for uid in data[0].split():
            _typ, part = imap.uid("FETCH", uid, "(RFC822.HEADER)")
            headers = parser.parsebytes(part[0][1], headersonly=True)
            seen += bool(headers.get("From") or headers.get("To") or headers.get("Date"))
    imap.logout()
    return time.perf_counter() - started, seen


def rates(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def report(count: int, runs: int) -> Iterator[str]:
    server = start_dovecot(user=ME)
    cb: list[tuple[float, int, int, float]] = []
    wire: list[tuple[float, int, float]] = []
    naive: list[tuple[float, int]] = []
    try:
        loaded = load(server, count, seed=7)
        yield f"loaded {count} messages in {loaded:.1f}s (not timed below)"
        run_wire(server)  # warm Dovecot's index and the page cache for every contender alike
        for run in range(1, runs + 1):
            cb.append(run_circleback(server))
            wire.append(run_wire(server))
            naive.append(run_naive(server))
            yield (
                f"run {run}: circleback {rates(cb[-1][1], cb[-1][0]):,.0f}  wire {rates(wire[-1][1], wire[-1][0]):,.0f}"
                f"  naive {rates(naive[-1][1], naive[-1][0]):,.0f} msgs/s"
            )
        taken, answers = fast_shape(server)
    finally:
        server.stop()
    cb_s, cb_n, cb_skipped, cb_cpu = min(cb)
    wire_s, wire_n, wire_cpu = min(wire)
    naive_s, naive_n = min(naive)
    cb_rate, wire_rate, naive_rate = rates(cb_n, cb_s), rates(wire_n, wire_s), rates(naive_n, naive_s)
    cpu_us, wire_cpu_us = cb_cpu / max(cb_n, 1) * 1e6, wire_cpu / max(wire_n, 1) * 1e6
    yield f"best of {runs}:"
    yield f"circleback  {cb_n:>7} records in {cb_s:7.2f}s  {cb_rate:>9,.0f} msgs/s  {cpu_us:5.1f} us CPU a message"
    yield f"  wire only {wire_n:>7} messages in {wire_s:6.2f}s  {wire_rate:>9,.0f} msgs/s  {wire_cpu_us:5.1f} us CPU"
    yield f"naive       {naive_n:>7} messages in {naive_s:6.2f}s  {naive_rate:>9,.0f} msgs/s"
    yield f"circleback is {cb_rate / naive_rate:.1f}x the naive loop (wire only: {wire_rate / naive_rate:.1f}x)"
    yield f"circleback reads at {cb_rate / wire_rate:.2f} of wire-only speed (goal: 0.8)"
    yield f"{taken} of {answers} header answers took parse_header_fields' one-regex shape"
    yield (
        f"messages={count} records={cb_n} skipped={cb_skipped} seconds={cb_s:.2f} "
        f"msgs_per_s={cb_rate:.0f} wire_msgs_per_s={wire_rate:.0f} "
        f"naive_msgs_per_s={naive_rate:.0f} vs_naive={cb_rate / naive_rate:.1f} "
        f"wire_vs_naive={wire_rate / naive_rate:.1f} vs_wire={cb_rate / wire_rate:.2f} "
        f"cpu_us_per_msg={cpu_us:.1f} wire_cpu_us_per_msg={wire_cpu_us:.1f} "
        f"fast_shape={taken / max(answers, 1):.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 messages instead of 100,000")
    parser.add_argument("--messages", type=int, help="any other count")
    parser.add_argument("--runs", type=int, default=3, help="runs of each contender; the best counts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    count = args.messages or (10_000 if args.quick else 100_000)
    for line in report(count, max(1, args.runs)):
        print(line, flush=True)  # noqa: T201 - a benchmark's report is its output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
