"""First mail sync and idle poll over Microsoft Graph: circleback's delta vs a naive listing.

    python benchmarks/graph_sync.py --quick     # 10,000 messages, well under a minute on 2 cores
    python benchmarks/graph_sync.py             # 100,000 messages

The fake Graph server (tests/fake_graph.py) runs in its own process with a
synthetic mailbox spread over several folders, a round trip of ``--rtt``
(50 ms) on every request, and Outlook's limits enforced (docs/PROVIDERS.md): 4
concurrent requests per mailbox and 10,000 requests per 10 minutes, the window
scaled by ``--time-scale``; both answer 429 with Retry-After. Then, in the same
run and against the same mailbox:

* ``circleback``: ``OutlookConnector.sync_mail(None)``, then ``sync_mail(cursor)``
  with nothing new (the idle poll: one JSON ``$batch`` holding every folder's delta
  request; ``idle_items`` says how many it held, each counting against the limits);
* ``naive``: list every folder with ``/messages?$top=&$skip=`` (no delta), the
  same page size and 4 folders at a time; its idle poll is the same listing again.

``cpu_us_per_message`` is circleback's client CPU (``time.process_time`` of this
process, around ``sync_mail`` alone: the fake server runs in another process) per
message of the first sync; ``cpu_vs_naive`` divides it by the naive listing's CPU
per message (HTTP and JSON decoding, nothing built), which carries to any machine.

``limit_min`` is the least wall time the limits allow for circleback's requests:
the longest folder's chain of pages (each nextLink comes from the previous
page), the request count over 4 slots, and the rate window, whichever is larger.
The last line is ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from circleback.connectors.base import ConnectorContext  # noqa: E402
from circleback.connectors.microsoft.auth import OutlookAccount  # noqa: E402
from circleback.connectors.microsoft.outlook import MAX_CONCURRENT, MESSAGE_FIELDS, OutlookConnector, StaticToken  # noqa: E402
from tests.support.fake_graph import ME, TOKEN, FakeGraph  # noqa: E402

log = logging.getLogger("benchmarks.graph_sync")

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Share of the mailbox per folder: most mail sits in Inbox, Sent Items and an archive.
FOLDER_SHARES = {"Inbox": 0.40, "Sent Items": 0.25, "Archive": 0.15, "Projects": 0.08, "Clients": 0.05,
                 "Newsletters": 0.04, "Travel": 0.02, "Receipts": 0.01}
RATE_LIMIT = 10_000  # requests per app per mailbox per 10 minutes (docs/PROVIDERS.md)
RATE_WINDOW = 600.0


@dataclass
class Run:
    requests: int  # HTTP requests, a $batch counting one
    wall: float
    cpu: float
    records: int = 0
    items: int = 0  # requests inside a $batch


def populate(fake: FakeGraph, messages: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    folder_ids = {}
    for name in FOLDER_SHARES:
        try:
            folder_ids[name] = fake.folder_id(name)
        except KeyError:
            folder_ids[name] = fake.add_folder(name, parent=fake.folder_id("inbox") if name == "Projects" else "")
    sizes = {}
    for name, share in FOLDER_SHARES.items():
        sizes[name] = int(messages * share)
        sent = name == "Sent Items"
        for n in range(sizes[name]):
            other = f"person{rng.randrange(2000)}@example.com"
            stamp = (NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))).strftime("%Y-%m-%dT%H:%M:%SZ")
            me, them = {"emailAddress": {"address": ME}}, {"emailAddress": {"name": "P", "address": other}}
            fake.add_json(folder_ids[name], {
                "from": me if sent else them, "sender": me if sent else them,
                "toRecipients": [them if sent else me], "ccRecipients": [],
                "sentDateTime": stamp, "receivedDateTime": stamp, "subject": f"message {n}",
                "internetMessageId": f"<{name[:3]}{n}@bench>", "conversationId": f"c{n % 5000}",
                "isDraft": False, "inferenceClassification": "focused", "bodyPreview": "x" * 200,
            })
    return sizes


def serve(messages: int, rtt: float, window: float, conn: Any) -> None:
    fake = FakeGraph(rtt=rtt, rate_limit=RATE_LIMIT, rate_window=window)
    sizes = populate(fake, messages)
    fake.start()
    conn.send((fake.endpoint, sizes))
    while True:
        time.sleep(3600)


def stats(endpoint: str) -> dict[str, int]:
    return requests.get(endpoint.removesuffix("/v1.0") + "/_stats", timeout=10).json()


def measure(call: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_circleback(endpoint: str, page_size: int) -> tuple[Run, Run]:
    account = OutlookAccount(name="bench", client_id="00000000-0000-0000-0000-00000000beef",
                             graph_endpoint=endpoint, page_size=page_size)
    context = ConnectorContext(my_addresses=frozenset({ME}), lookback_days=3 * 365, now=NOW)
    conn = OutlookConnector(account, context, tokens=StaticToken(TOKEN))
    first, wall, cpu = measure(lambda: conn.sync_mail(None))
    first_run = Run(conn.client.requests_made, wall, cpu, len(first.records), conn.client.batched)
    before, items = conn.client.requests_made, conn.client.batched
    idle, wall, cpu = measure(lambda: conn.sync_mail(first.cursor))
    idle_run = Run(conn.client.requests_made - before, wall, cpu, len(idle.records), conn.client.batched - items)
    conn.close()
    return first_run, idle_run


def naive_listing(endpoint: str, page_size: int, folder_ids: list[str]) -> Run:
    """What a first script does: page through every folder's messages, every time."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    count = [0, 0]  # requests, messages

    def one_folder(folder_id: str) -> None:
        url: str | None = f"{endpoint}/me/mailFolders/{folder_id}/messages?$top={page_size}&$select={MESSAGE_FIELDS}"
        while url:
            response = session.get(url, timeout=60)
            count[0] += 1
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            page = response.json()
            count[1] += len(page["value"])
            url = page.get("@odata.nextLink")

    _, wall, cpu = measure(lambda: list(ThreadPoolExecutor(MAX_CONCURRENT).map(one_folder, folder_ids)))
    return Run(count[0], wall, cpu, count[1])


def folder_ids(endpoint: str) -> list[str]:
    account = OutlookAccount(name="bench", client_id="00000000-0000-0000-0000-00000000beef", graph_endpoint=endpoint)
    conn = OutlookConnector(account, ConnectorContext(now=NOW), tokens=StaticToken(TOKEN))
    ids = [f.id for f in conn.discover_folders()]
    conn.close()
    return ids


def limit_min(requests_made: int, longest_chain: int, rtt: float, window: float) -> float:
    concurrency_bound = requests_made * rtt / MAX_CONCURRENT
    chain_bound = longest_chain * rtt
    rate_bound = (requests_made // RATE_LIMIT) * window  # whole windows that must pass
    return max(concurrency_bound, chain_bound, rate_bound)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 messages instead of 100,000")
    parser.add_argument("--messages", type=int)
    parser.add_argument("--rtt", type=float, default=0.05, help="seconds per round trip (default 0.05)")
    parser.add_argument("--page-size", type=int, default=OutlookAccount.model_fields["page_size"].default)
    parser.add_argument("--time-scale", type=float, default=0.01,
                        help="the 10-minute rate window is scaled by this (default 0.01: 6 s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    messages = args.messages or (10_000 if args.quick else 100_000)
    window = RATE_WINDOW * args.time_scale

    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(messages, args.rtt, window, child), daemon=True)
    started = time.perf_counter()
    server.start()
    endpoint, sizes = parent.recv()
    log.info("fake Graph with %d messages in %d folders ready in %.1f s", sum(sizes.values()), len(sizes),
             time.perf_counter() - started)
    try:
        first, idle = run_circleback(endpoint, args.page_size)
        ours_stats = stats(endpoint)
        naive = naive_listing(endpoint, args.page_size, folder_ids(endpoint))
        naive_idle = naive.requests  # a listing learns nothing from last time: the idle poll is the same walk
    finally:
        server.kill()

    chain = -(-max(sizes.values()) // args.page_size) + 1
    floor = limit_min(first.requests, chain, args.rtt, window)
    ours_total, naive_total = first.requests + idle.requests, naive.requests + naive_idle
    cpu_us = first.cpu / max(1, first.records) * 1e6
    naive_us = naive.cpu / max(1, naive.records) * 1e6
    log.info("circleback first sync: %d records, %d requests, %.2f s wall, %.2f s CPU = %.1f us a message "
             "(limit-bound minimum %.2f s)", first.records, first.requests, first.wall, first.cpu, cpu_us, floor)
    log.info("circleback idle poll : %d requests (a $batch of %d), %.3f s wall, %.3f s CPU", idle.requests,
             idle.items, idle.wall, idle.cpu)
    log.info("naive listing        : %d messages, %d requests, %.2f s wall, %.2f s CPU (and again every poll)",
             naive.records, naive.requests, naive.wall, naive.cpu)
    log.info("fake server: max %d in flight, %d answered 429 during circleback's run",
             ours_stats["max_in_flight"], ours_stats["throttled"])
    print(
        f"messages={sum(sizes.values())} folders={len(sizes)} rtt_ms={args.rtt * 1000:.0f} page={args.page_size} "
        f"requests={first.requests} wall_s={first.wall:.2f} limit_min_s={floor:.2f} "
        f"wall_vs_limit_min={first.wall / floor:.2f} cpu_s={first.cpu:.2f} cpu_us_per_message={cpu_us:.1f} "
        f"cpu_vs_naive={cpu_us / naive_us:.2f} "
        f"idle_requests={idle.requests} idle_items={idle.items} "
        f"idle_cpu_ms={idle.cpu * 1000:.1f} idle_wall_ms={idle.wall * 1000:.0f} "
        f"naive_requests={naive.requests} naive_wall_s={naive.wall:.2f} naive_idle_requests={naive_idle} "
        f"requests_vs_naive={ours_total / naive_total:.3f} idle_vs_naive={idle.requests / naive_idle:.4f} "
        f"max_in_flight={ours_stats['max_in_flight']} throttled={ours_stats['throttled']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
