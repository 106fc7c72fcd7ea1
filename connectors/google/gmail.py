"""Gmail as a MailSource and a DraftBox, over the Gmail API with the ``gmail.metadata`` scope.

First sync - the plan, chosen by quota units and wall time (``benchmarks/gmail_sync.py``):

1. ``getProfile`` first: its historyId is where the incremental sync starts, so
   mail arriving during a long first sync is not missed (Gmail sync guide).
2. Cheap id lists (5 units per page of up to 500 ids, 0.01 unit per message):
   everything newest first, minus the ids listed under CATEGORY_PROMOTIONS /
   SOCIAL / UPDATES / FORUMS. ``messages.list`` cannot exclude a label without
   ``q``, and ``gmail.metadata`` refuses ``q``, so the exclusion is a set
   difference here. Listing CATEGORY_PERSONAL + SENT instead would save about
   0.01 unit per message but miss mail when categories are off (or predate them).
   Sent mail carries no noise category, so it stays in. Where the lookback ends
   is found by a ``messages.get(format=minimal)`` of each page's oldest id, run
   beside the listing (never waited for between pages), then a binary search
   inside the first page that reaches past it.
3. Headers only for what is left, grouped by thread: a thread with ``n`` wanted
   messages costs ``n x messages.get`` (5 each) or one ``threads.get`` (10),
   whichever is cheaper with the configured costs; a noise message is never
   read, even inside a thread that is read (its answer is filtered to the ids
   asked for). With 5/10 units this is the least any plan that reads every
   wanted message can spend: one call per thread, and two messages cost as much
   as their thread. Every message stays a record (the ledger counts them).
4. Steps 2 and 3 overlap: a thread is read as soon as the lists settle it (see
   :meth:`GmailConnector._plan`), in batches of at most 50 calls (Gmail advises
   against more), several batches in parallel, each call paid to the
   :class:`QuotaLimiter` first - so the quota, not the listing, sets the pace.

The first sync is resumable: it returns at most ``full_sync_chunk`` messages per
call with a cursor holding the historyId and the thread groups still to fetch,
newest first, so a kill loses one chunk and the ledger sees recent mail first.

Incremental: ``history.list(startHistoryId)`` over messages added and deleted and labels
added and removed; an idle poll is one request (2 units), drafts waiting or not: what
becomes of our drafts is read from the same history (``gmail_drafts.py``). Only a 404
on history.list - Gmail's answer for a start id it no longer keeps - starts a new first
sync (lieer #301), and drafts.list then says what is in Drafts.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from ..base import ConnectorContext, Cursor, DraftRef, MailRecord, Skip, SyncResult
from ..errors import ConnectorError, TokenFileError
from ..mailheaders import RECORD_HEADERS, header_block, parse_mail_headers
from ..progress import SyncProgress
from .auth import (
    GmailAccount,
    GoogleConnector,
    GoogleTokens,
    PayOnSend,
    TruncatedAnswer,
    authorised_http,
    batch_uri,
    build_service,
    call_with_retries,
    error_reason,
    explain,
    http_status,
    is_retryable,
    json_object,
    lean_batch,
)
from .gmail_drafts import Draft, DraftsView, older

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
BATCH_LIMIT = 50  # Gmail: at most 100 per batch, more than 50 not recommended (docs/PROVIDERS.md)
PAGE_SIZE = 500  # messages.list / history.list maximum
PROBE_EVERY = 8  # date probes: pages 1, 2, 4, 8, then every 8th, and the last (see _probe_due)
# A first sync (chunk) shows progress from more than one batch on: each batch waits for quota.
PROGRESS_FROM = BATCH_LIMIT + 1
FULL_SYNC_TRIES = 3  # a thread that fails in three first-sync calls is reported and dropped
# Only the headers a MailRecord uses; fewer headers, smaller answers.
METADATA_HEADERS = RECORD_HEADERS
KEY_HEADER = "X-Circleback-Key"
# New mail, and what becomes of drafts (gmail_drafts.py): deleted, or moved to Sent.
HISTORY_TYPES = ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]
NOISE_LABELS = {
    "CATEGORY_PROMOTIONS": "promotions",
    "CATEGORY_SOCIAL": "social",
    "CATEGORY_UPDATES": "updates",
    "CATEGORY_FORUMS": "forums",
}
NEVER_MAIL = frozenset({"DRAFT", "SPAM", "TRASH", "CHAT"})  # not correspondence (yet, or at all)


@dataclass(frozen=True, slots=True)
class Call:
    """One API call inside a batch: its quota method, a request builder, and a key."""

    method: str
    key: str
    build: Callable[[Any], Any]


@dataclass(slots=True)
class Outcome:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)

    def merge(self, other: Outcome) -> None:
        self.results.update(other.results)
        self.failed.update(other.failed)


class _HistoryExpired(Exception):
    """history.list answered 404: the start id is older than Gmail keeps."""


class GmailConnector(GoogleConnector):
    kind: ClassVar[str] = "gmail"

    def __init__(self, config: GmailAccount, context: ConnectorContext | None = None, *,
                 tokens: GoogleTokens | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, context, tokens=tokens, sleep=sleep)
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._list_pool: ThreadPoolExecutor | None = None  # the first sync's lists and date probes
        self.requests = 0  # HTTP requests made (a batch is one): benchmarks read it
        # draft id -> the message id drafts.create gave it: Gmail gives a draft a new message id
        # each time it is saved (drafts.update, an edit in Gmail), so an unchanged id is an unedited draft.
        self._written: dict[str, str] = {}
        # Which draft holds which message and key, followed through history (gmail_drafts.py);
        # None until a sync or a drafts.list in this process made it current.
        self._view: DraftsView | None = None
        self._synced_to = ""  # the history id the last sync in this process reached
        self._saved_view = b""  # what the drafts state file holds, as this process last wrote it

    def close(self) -> None:
        for pool in (self._pool, self._list_pool):
            if pool is not None:
                pool.shutdown(wait=True)
        self._pool = self._list_pool = None

    # -- plumbing ------------------------------------------------------------------------------

    def _thread_service(self) -> tuple[Any, Any]:
        if getattr(self._local, "service", None) is None:
            http = authorised_http(self.tokens)
            self._local.http = http
            self._local.service = build_service("gmail", "v1", self.config, http)
            self._local.api = _Resources(self._local.service)
        return self._local.service, self._local.http

    def _api(self) -> tuple[_Resources, Any]:
        _, http = self._thread_service()
        return self._local.api, http

    def _read(self, method: str, build: Callable[[Any], Any], what: str,
              answer: Callable[[Any, str], Any] = json_object) -> Any:
        """One idempotent call: quota first, retried on 429/5xx/rate-limit 403 only."""

        def attempt() -> Any:
            api, http = self._api()
            self.limiter.acquire(self.config.cost(method))
            self.requests += 1
            return answer(build(api).execute(http=http, num_retries=0), what)

        try:
            return call_with_retries(attempt, self.retry_policy, f"{self.account}: {what}", sleep=self._sleep)
        except Exception as exc:
            if method == "history.list" and http_status(exc) == 404:
                raise _HistoryExpired(str(exc)) from None
            if _is_api_error(exc):
                error = explain(exc, self.account, what)
                error.status = http_status(exc)  # type: ignore[attr-defined]
                raise error from None
            raise

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix=f"gmail-{self.account}")
        return self._pool

    def run_calls(self, calls: list[Call], on_batch: Callable[[Outcome], None] | None = None) -> Outcome:
        """Run ``calls`` in parallel batches; retry retryable items per item, the rest fail."""
        outcome = Outcome()
        futures = [self._executor().submit(self._batch_task, b) for b in self._batches(calls)] if calls else []
        for done in as_completed(futures):
            part = done.result()
            outcome.merge(part)
            if on_batch:
                on_batch(part)
        return outcome

    def _batch_task(self, calls: list[Call]) -> Outcome:
        """One batch, then its retryable failures again (in this worker) until the policy gives up."""
        outcome = Outcome()
        pending = calls
        attempt = 0
        while pending:
            attempt += 1
            items = self._run_batch(pending)
            retry: list[Call] = []
            errors: list[BaseException] = []
            for call in pending:
                response, exc = items[call.key]
                if exc is None:
                    outcome.results[call.key] = response
                elif is_retryable(exc) and attempt < self.retry_policy.attempts:
                    retry.append(call)
                    errors.append(exc)
                else:
                    outcome.failed[call.key] = exc
            if retry:
                wait = max(self.retry_policy.delay(attempt, e) for e in errors)
                log.info("%s: %d call(s) to retry (%s); waiting %.1fs", self.account, len(retry),
                         _describe(errors[0]), wait)
                self._sleep(wait)
            pending = retry
        return outcome

    def _batches(self, calls: list[Call]) -> Iterator[list[Call]]:
        # A batch must fit the limiter's bucket, or it could never be paid for at once.
        budget = max(self.limiter.capacity, max(self.config.cost(c.method) for c in calls))
        chunk: list[Call] = []
        spent = 0
        for call in calls:
            cost = self.config.cost(call.method)
            if chunk and (len(chunk) >= BATCH_LIMIT or spent + cost > budget):
                yield chunk
                chunk, spent = [], 0
            chunk.append(call)
            spent += cost
        if chunk:
            yield chunk

    def _run_batch(self, calls: list[Call]) -> dict[str, tuple[Any, BaseException | None]]:
        api, http = self._api()
        out: dict[str, tuple[Any, BaseException | None]] = {}

        def keep(request_id: str, response: Any, exception: BaseException | None) -> None:
            if exception is None and not isinstance(response, dict):
                response, exception = None, TruncatedAnswer(f"{request_id}: not a JSON object")
            out[request_id] = (response, exception)

        def pay() -> None:  # once the body is built, just before it is sent (PayOnSend)
            self.limiter.acquire(sum(self.config.cost(c.method) for c in calls))
            self.requests += 1

        batch = lean_batch(keep, batch_uri(self.config))
        for call in calls:
            batch.add(call.build(api), request_id=call.key)
        try:
            batch.execute(http=PayOnSend(http, pay))
        except Exception as exc:  # noqa: BLE001 - sorted below: retryable or a per-item failure
            if not (is_retryable(exc) or _is_api_error(exc)):
                raise
            return {c.key: (None, exc) for c in calls}
        missing = BatchMissing("no answer for this call in the batch response")
        return {c.key: out.get(c.key, (None, missing)) for c in calls}

    # -- MailSource ----------------------------------------------------------------------------

    def sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]:
        result = self._sync_mail(cursor)
        self._synced_to = str(result.cursor["history_id"])
        if result.cursor.get("mode") != "incremental" and self._view is not None:
            # No history followed (``_current_view(None)`` marked the view stale): drafts.list is the
            # only truth until the first sync is done; history is followed from here on.
            self._view.history_id = str(result.cursor["history_id"])
        self._save_view()
        return result

    def _sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]:
        if cursor and cursor.get("version") == CURSOR_VERSION:
            if cursor.get("mode") == "full":
                self._current_view(None)
                return self._continue_full(cursor)
            try:
                return self._incremental(str(cursor["history_id"]))
            except _HistoryExpired:
                log.warning("%s: Gmail no longer keeps history from id %s; reading the mailbox again",
                            self.account, cursor["history_id"])
        self._current_view(None)
        return self._first_sync()

    def _since(self) -> datetime:
        return self.context.current_time() - timedelta(days=self.context.lookback_days)

    def _first_sync(self) -> SyncResult[MailRecord]:
        """Profile, then the lists and the reading at once: a thread is read as soon as the
        lists settle it, while later pages are still being listed (see the module docstring)."""
        since_ms = int(self._since().timestamp() * 1000)
        state = _PlanState(since_ms, list(NOISE_LABELS))
        listers = self._start_lists(state)  # they get ready (client, connection) meanwhile
        try:
            # Before any list: mail that arrives while the lists run comes with the first poll.
            profile = self._read("getProfile", lambda u: u.users.getProfile(userId="me"), "getProfile")
        except BaseException:
            self._stop_lists(state, listers)
            raise
        cursor: Cursor = {"version": CURSOR_VERSION, "mode": "full", "history_id": str(profile["historyId"]),
                          "since_ms": since_ms, "pending": [], "done": 0}
        return self._run_chunk(cursor, [], _Planner(state), listers)

    def _continue_full(self, cursor: Cursor) -> SyncResult[MailRecord]:
        """The next chunk: groups already planned first, then the listing where it stopped."""
        pending: list[list[Any]] = list(cursor["pending"])  # [thread, ids, tries]
        listing = cursor.get("listing")
        if not listing:
            return self._run_chunk(cursor, pending, None, [])
        state, groups = _PlanState.restore(int(cursor["since_ms"]), list(NOISE_LABELS), listing)
        return self._run_chunk(cursor, pending, _Planner(state, groups), self._start_lists(state))

    def _run_chunk(self, cursor: Cursor, pending: list[list[Any]], planner: _Planner | None,
                   listers: list[Future[None]]) -> SyncResult[MailRecord]:
        """Reads up to ``full_sync_chunk`` messages: ``pending`` groups, then new ones from the lists.

        Once the chunk is full the lists go on while its last batches are read, then stop
        at a page boundary; what they listed goes into the cursor with the groups still to
        read, so a kill in a later chunk neither lists nor reads this one's part again.
        """
        collector = _Collector(self, int(cursor["since_ms"]))
        count = 0
        with SyncProgress(self.account, "reading mail headers", min_total=PROGRESS_FROM, unit="messages") as progress:
            reader = _Reader(self, progress, collector)
            try:
                while pending and count < self.config.full_sync_chunk:
                    group = pending.pop(0)
                    reader.add(group)
                    count += len(group[1])
                if planner is not None:
                    planner.state.go.set()
                    while count < self.config.full_sync_chunk and (found := planner.next()) is not None:
                        reader.add([found[0], found[1], 0])
                        count += len(found[1])
                reader.finish()
            except BaseException:
                if planner is not None:
                    self._stop_lists(planner.state, listers)
                reader.abandon()
                raise
        listing = None
        if planner is not None:
            self._stop_lists(planner.state, listers)
            ready, listing = planner.suspend()
            pending += [[thread, ids, 0] for thread, ids in ready]
        result = collector.result
        pending += self._requeue(collector.failures(), result.skipped)
        return self._after_chunk(cursor, result, pending, count, listing)

    def plan_first_sync(self, since_ms: int) -> list[tuple[str, list[str]]]:
        """Thread groups of the message ids worth reading, newest first (the whole plan at once)."""
        state = _PlanState(since_ms, list(NOISE_LABELS))
        listers = self._start_lists(state)
        state.go.set()
        planner = _Planner(state)
        try:
            return list(iter(planner.next, None))
        finally:
            self._stop_lists(state, listers)

    def _start_lists(self, state: _PlanState) -> list[Future[None]]:
        """The listing threads, each waiting for ``state.go``; see :class:`_Planner`."""
        pool = self._list_executor()
        probes: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        if state.unconfirmed():
            probes.put(len(state.ordered))  # resumed: what was listed last may not be dated yet
        return [pool.submit(self._run_lister, state, self._list_all, state, probes),
                pool.submit(self._run_lister, state, self._probe_dates, state, probes),
                *(pool.submit(self._run_lister, state, self._list_noise, state, label) for label in NOISE_LABELS)]

    @staticmethod
    def _stop_lists(state: _PlanState, listers: list[Future[None]]) -> None:
        state.stop()
        state.go.set()
        for future in listers:
            future.result()

    def _list_executor(self) -> ThreadPoolExecutor:
        if self._list_pool is None:
            self._list_pool = ThreadPoolExecutor(2 + len(NOISE_LABELS), thread_name_prefix=f"gmail-list-{self.account}")
        return self._list_pool

    def _run_lister(self, state: _PlanState, work: Callable[..., None], *args: Any) -> None:
        try:
            self._thread_service()
            state.go.wait()
            if not state.halted():
                work(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the planning thread, which raises it
            state.fail(exc)

    def _list_all(self, state: _PlanState, probes: queue.SimpleQueue[int | None]) -> None:
        """Every id, newest first, 500 a page; where a page ends goes to the date prober.

        A resumed list starts again at its last page: a page token taken days ago may
        count from a mailbox that has lost messages since, and skipping ids loses mail.
        """
        token = state.all_from
        try:
            while not state.stopping() and not state.all_listed():
                page = self._list_page([], token)
                after = page.get("nextPageToken")
                start, end, pages = state.add_page([(m["id"], m["threadId"]) for m in page.get("messages", [])],
                                                   token, after)
                if end and (not after or (end > start and _probe_due(pages))):
                    probes.put(end)  # the last page always: the list's end must be dated too
                token = after
        finally:
            probes.put(None)

    def _probe_dates(self, state: _PlanState, probes: queue.SimpleQueue[int | None]) -> None:
        """Confirm pages inside the lookback; at the first page that reaches past it, a binary search."""
        while (end := probes.get()) is not None:
            if state.stopping():
                continue
            if self._inside(state, end - 1):
                state.confirm(end)
                continue
            lo, hi = state.confirmed_end(), end - 1  # lo..hi-1 unknown, hi known too old
            while lo < hi:
                if state.halted():
                    return  # the chunk is over: the next one probes again
                mid = (lo + hi) // 2
                if self._inside(state, mid):
                    lo = mid + 1
                else:
                    hi = mid
            state.set_boundary(lo)

    def _inside(self, state: _PlanState, position: int) -> bool:
        """Whether the listed message at ``position`` is inside the lookback (one date probe).

        A message deleted since it was listed counts as inside: erring that way costs a few
        reads, whose records the lookback filter drops anyway; erring the other way loses mail.
        """
        mid = state.id_at(position)
        try:
            found = self._read("messages.get", lambda u: u.messages.get(userId="me", id=mid, format="minimal"),
                               "messages.get (date probe)")
        except ConnectorError as exc:
            if getattr(exc, "status", 0) == 404:
                return True
            raise
        return int(found.get("internalDate", 0)) >= state.since_ms

    def _list_noise(self, state: _PlanState, label: str) -> None:
        """Ids under a noise category, newest first, kept at most two pages ahead of the full list."""
        while True:
            with state.cond:
                state.cond.wait_for(lambda: state.halted() or state.label_may_fetch(label))
                if state.halted() or state.label_done(label):
                    return  # halted: the cursor keeps the page token for the next chunk
                if state.label_passed_end(label):
                    state.label_finished(label)
                    return
                token = state.label_tokens[label]
            page = self._list_page([label], token)
            after = page.get("nextPageToken")
            state.add_noise(label, [m["id"] for m in page.get("messages", [])], after)
            if not after:
                return

    def _list_page(self, labels: list[str], token: str | None) -> dict[str, Any]:
        def build(users: Any) -> Any:
            return users.messages.list(userId="me", labelIds=labels or None, maxResults=PAGE_SIZE,
                                         pageToken=token, includeSpamTrash=False)

        return self._read("messages.list", build, f"messages.list {labels or 'all'}")

    def _after_chunk(self, cursor: Cursor, result: SyncResult[MailRecord], pending: list[list[Any]],
                     count: int, listing: dict[str, Any] | None) -> SyncResult[MailRecord]:
        done = int(cursor.get("done", 0)) + count
        if pending or listing:
            result.cursor = {**cursor, "pending": pending, "done": done, "listing": listing}
        else:
            log.info("%s: first sync complete: %d messages read", self.account, done)
            result.cursor = {"version": CURSOR_VERSION, "mode": "incremental", "history_id": cursor["history_id"]}
        return result

    def _requeue(self, failed: list[tuple[list[Any], BaseException]], skipped: list[Skip]) -> list[list[Any]]:
        """Groups whose calls failed go to the back of the queue; after three tries, a Skip line."""
        again = []
        for group, exc in failed:
            tries = (group[2] if len(group) > 2 else 0) + 1
            if tries < FULL_SYNC_TRIES:
                again.append([group[0], group[1], tries])
            else:
                skipped += [Skip(f"gmail:{mid}", f"not read after {tries} syncs: {_describe(exc)}") for mid in group[1]]
        if failed:
            log.warning("%s: %d thread(s) not read this time (%s); kept for the next sync", self.account,
                        len(failed), _describe(failed[0][1]))
        return again

    def _calls_for(self, thread: str, ids: list[str]) -> list[Call]:
        # threads.get answers every message of the thread for one price. The key is the group's
        # first id, not the thread's: a thread can (rarely) come in two groups.
        if len(ids) * self.config.cost("messages.get") >= self.config.cost("threads.get") and len(ids) > 1:
            return [Call("threads.get", f"t:{ids[0]}", _thread_request(thread))]
        return [Call("messages.get", f"m:{mid}", _message_request(mid)) for mid in ids]

    def _records(self, messages: Iterable[dict[str, Any]], since_ms: int = 0) -> SyncResult[MailRecord]:
        result: SyncResult[MailRecord] = SyncResult(records=[], cursor={})
        seen: set[str] = set()
        for msg in messages:
            self._add_record(result, seen, msg, since_ms)
        return result

    def _add_record(self, result: SyncResult[MailRecord], seen: set[str], msg: dict[str, Any], since_ms: int) -> None:
        if msg["id"] in seen or NEVER_MAIL & set(msg.get("labelIds", [])):
            return
        seen.add(msg["id"])
        if int(msg.get("internalDate", 0)) < since_ms:
            return
        made = gmail_record(msg, self.context.my_addresses)
        (result.skipped if isinstance(made, Skip) else result.records).append(made)  # type: ignore[arg-type]

    def _incremental(self, history_id: str) -> SyncResult[MailRecord]:
        ids: dict[str, None] = {}
        token: str | None = None
        latest = history_id
        known = self._current_view(history_id)
        # Followed on a copy, kept only once the whole poll succeeded (a failed one is read again).
        view = DraftsView(dict(known.drafts), known.history_id, known.stale) if known is not None else None
        while True:
            page = self._read("history.list", _history_request(history_id, token), "history.list")
            for mid in _added_ids(page):
                ids[mid] = None
            if view is not None:
                view.follow(page)
            latest = str(page.get("historyId", latest))
            token = page.get("nextPageToken")
            if not token:  # no nextPageToken: caught up (Gmail sync guide)
                break
        outcome = self.run_calls([Call("messages.get", f"m:{m}", _message_request(m)) for m in ids]) if ids \
            else Outcome()
        failed = [e for e in outcome.failed.values() if http_status(e) != 404]  # 404: deleted since
        if failed:
            # Keep the old start id: the next poll reads the same changes again (the ledger
            # ignores what it already has), so nothing is lost.
            raise ConnectorError(f"{len(failed)} new message(s) could not be read ({_describe(failed[0])})",
                                 account=self.account, remedy="will retry from the same point")
        result = self._records(outcome.results.values())
        result.cursor = {"version": CURSOR_VERSION, "mode": "incremental", "history_id": latest}
        if view is not None:
            view.history_id = latest
            self._view = view
        return result

    # -- what is in Drafts, followed through history (gmail_drafts.py) ----------------------------

    def _view_path(self) -> Path:
        """Beside the account's token file: the same private folder, one file per account."""
        return self.tokens.path.with_name(f"gmail-{self.account}-drafts.json")

    def _current_view(self, start: str | None) -> DraftsView | None:
        """The view a sync from history id ``start`` (None: no history followed) can follow."""
        if self._view is None:
            self._view = DraftsView.load(self._view_path())
        if self._view is not None and (start is None or older(self._view.history_id, start)):
            self._view.stale = True  # it may have missed what happened before ``start``
        return self._view

    def _save_view(self) -> None:
        if self._view is None:
            return
        data = self._view.to_json()
        if data == self._saved_view:
            return  # an idle poll changes nothing: no write, no fsync
        try:
            self._view.save(self._view_path(), data)
            self._saved_view = data
        except (OSError, TokenFileError) as exc:  # the next process finds an older view: stale, listed again
            log.warning("%s: cannot save the drafts state (%s)", self.account, exc)

    def _refresh_drafts(self) -> DraftsView:
        """drafts.list, and a drafts.get (its key) only for a draft id never seen before."""
        base = self._view or DraftsView.load(self._view_path()) or DraftsView()
        listed: list[tuple[str, str]] = []
        token: str | None = None
        while True:
            page = self._read("drafts.list", _drafts_page(token), "drafts.list")
            listed += [(str(d["id"]), str((d.get("message") or {}).get("id", ""))) for d in page.get("drafts", [])]
            token = page.get("nextPageToken")
            if not token:
                break
        new = base.unknown(listed)
        outcome = self.run_calls([Call("drafts.get", did, _draft_header_request(did)) for did in new]) if new \
            else Outcome()
        real = {k: e for k, e in outcome.failed.items() if http_status(e) != 404}  # deleted meanwhile
        if real:
            # A draft we could not read might be ours: guessing "absent" could duplicate it.
            first = _describe(next(iter(real.values())))
            raise ConnectorError(f"cannot read {len(real)} draft(s): {first}", account=self.account)
        keys = {did: _key_of(found) for did, found in outcome.results.items()}
        self._view = base.refreshed(listed, keys, self._written)
        # As it is now: valid from where this process's last sync reached (replaying from there is safe).
        self._view.history_id = self._synced_to or base.history_id
        self._save_view()
        return self._view

    # -- DraftBox ---------------------------------------------------------------------------------

    def create_draft(self, message: bytes, key: str, reply_to: str | None = None) -> DraftRef:
        """drafts.create, never retried: the outbox looks for the key in list_drafts() first.

        ``reply_to`` is the Gmail thread id (``MailRecord.thread_id``); In-Reply-To,
        References and the matching Subject are already in ``message``.
        """
        if _draft_key(message) != key:
            raise ValueError(f"the draft must carry '{KEY_HEADER}: {key}' in its header")
        body: dict[str, Any] = {"message": {"raw": base64.urlsafe_b64encode(message).decode("ascii")}}
        if reply_to and "@" not in reply_to:
            body["message"]["threadId"] = reply_to
        api, _ = self._api()
        once = authorised_http(self.tokens, one_shot=True)
        self.limiter.acquire(self.config.cost("drafts.create"))
        self.requests += 1
        try:
            created = api.drafts.create(userId="me", body=body).execute(http=once, num_retries=0)
            created = json_object(created, "drafts.create")
        except Exception as exc:
            if _is_api_error(exc) and http_status(exc) == 401:
                raise explain(exc, self.account, "drafts.create") from None
            raise ConnectorError(f"drafts.create failed ({_describe(exc)})", account=self.account,
                                 remedy="not retried: the outbox looks for the key in list_drafts() first") from exc
        draft_id = str(created["id"])
        message_id = str((created.get("message") or {}).get("id", ""))
        self._written[draft_id] = message_id
        if self._view is not None:
            self._view.drafts[draft_id] = Draft(message_id, key, message_id)
            self._save_view()
        return DraftRef(self.account, draft_id, key)

    def list_drafts(self) -> list[DraftRef]:
        """Every draft with its key: from the view history keeps current (no request), else drafts.list."""
        view = self._view
        if view is None or view.stale:
            view = self._refresh_drafts()
        return [DraftRef(self.account, did, draft.key) for did, draft in view.drafts.items()]

    def get_draft(self, ref: DraftRef) -> bytes | None:
        """The draft's header block (RFC 5322 headers and the blank line; no body).

        ``format=metadata``: Google refuses ``raw`` and ``full`` whenever ``gmail.metadata``
        is granted, even beside ``gmail.compose`` (docs/PROVIDERS.md), so a body is never read.
        """
        found = self._draft_metadata(ref.ref)
        if found is None:
            return None
        return _header_bytes((found.get("message") or {}).get("payload", {}).get("headers", []))

    def draft_unchanged(self, ref: DraftRef, message: bytes) -> bool | None:
        """Whether the draft still is ``message`` as written; None once it is gone (DraftChangeCheck).

        gmail.metadata reads no body, so two signs, each enough to say "changed": the draft's
        message id is no longer the one drafts.create gave it (Gmail saves every edit as a new
        message), or a header the user can edit (recipients, subject) or our key differs. Only
        those are compared: Gmail may add or rewrite others (Message-ID is unverified).
        """
        view = self._view
        if view is not None and not view.stale:  # what history says, without a request every cycle:
            kept = view.drafts.get(ref.ref)
            if kept is None:
                return None  # gone
            if kept.written and kept.message_id != kept.written:
                return False  # saved again since we wrote it: edited for good
        found = self._draft_metadata(ref.ref)  # "unchanged" leads to a delete: asked, never assumed
        if found is None:
            return None
        current = (found.get("message") or {})
        kept = view.drafts.get(ref.ref) if view is not None else None
        written = (kept.written if kept else "") or self._written.get(ref.ref)
        if written and str(current.get("id", "")) != written:
            return False
        theirs = _editable_headers(_header_bytes((current.get("payload") or {}).get("headers", [])))
        return _editable_headers(header_block(message)) == theirs

    def delete_draft(self, ref: DraftRef) -> bool:
        """drafts.delete (gmail.compose allows it); False if the draft was gone already.

        Safe to retry: a delete that went through before its answer was lost answers 404 next time.
        """
        def build(users: Any) -> Any:
            return users.drafts.delete(userId="me", id=ref.ref)

        try:
            self._read("drafts.delete", build, "drafts.delete", answer=lambda found, what: found)
            deleted = True
        except ConnectorError as exc:
            if getattr(exc, "status", 0) != 404:
                raise
            deleted = False
        self._written.pop(ref.ref, None)
        if self._view is not None and self._view.drafts.pop(ref.ref, None) is not None:
            self._save_view()
        return deleted

    def _draft_metadata(self, draft_id: str) -> dict[str, Any] | None:
        try:
            return self._read("drafts.get", _draft_header_request(draft_id), "drafts.get")
        except ConnectorError as exc:
            if getattr(exc, "status", 0) == 404:
                return None
            raise


# --- records -------------------------------------------------------------------------------------


def gmail_record(msg: dict[str, Any], my_addresses: frozenset[str]) -> MailRecord | Skip:
    """One ``format=metadata`` message -> MailRecord, parsed by the same rules as every connector."""
    labels = set(msg.get("labelIds", []))
    when = datetime.fromtimestamp(int(msg.get("internalDate", 0)) / 1000, UTC)
    headers = (msg.get("payload") or {}).get("headers", [])
    made = parse_mail_headers(
        _header_bytes(headers),
        folder="SENT" if "SENT" in labels else "INBOX" if "INBOX" in labels else "ARCHIVE",
        is_sent_folder="SENT" in labels,
        my_addresses=my_addresses,
        fallback_time=when,  # the Date header where plausible against internalDate (mailheaders.message_time)
        source_hint=f"gmail:{msg['id']}",
    )
    if isinstance(made, Skip):
        return made
    category = next((name for label, name in NOISE_LABELS.items() if label in labels), "")
    return dataclasses.replace(
        made,
        source_id=made.message_id or f"gmail:{msg['id']}",
        thread_id=str(msg.get("threadId", made.thread_id)),
        category=category,
        is_draft="DRAFT" in labels,
    )


def _header_bytes(headers: list[dict[str, Any]]) -> bytes:
    """A ``payload.headers`` list as an RFC 5322 header block (ending in the blank line)."""
    block = "".join(f"{h['name']}: {_one_line(h.get('value', ''))}\r\n" for h in headers) + "\r\n"
    return block.encode("utf-8", "surrogateescape")


EDITABLE_HEADERS = ("to", "cc", "bcc", "subject", KEY_HEADER.lower())


def _editable_headers(block: bytes) -> dict[str, list[str]]:
    """The headers a user edits in a mail client (and our key), values with whitespace folded."""
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    parsed = BytesHeaderParser(policy=compat32).parsebytes(block)
    return {name: sorted(_decoded(str(v)) for v in parsed.get_all(name, [])) for name in EDITABLE_HEADERS}


def _decoded(value: str) -> str:
    """One header value with encoded words decoded and whitespace folded: Gmail may answer either form."""
    from email.header import decode_header, make_header

    with contextlib.suppress(ValueError, LookupError):  # a malformed encoded word: compare it as written
        value = str(make_header(decode_header(value)))
    return " ".join(value.split())


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _message_request(mid: str) -> Callable[[Any], Any]:
    return lambda users: users.messages.get(userId="me", id=mid, format="metadata",
                                              metadataHeaders=list(METADATA_HEADERS))


def _thread_request(thread: str) -> Callable[[Any], Any]:
    return lambda users: users.threads.get(userId="me", id=thread, format="metadata",
                                             metadataHeaders=list(METADATA_HEADERS))


def _history_request(start: str, token: str | None) -> Callable[[Any], Any]:
    return lambda users: users.history.list(userId="me", startHistoryId=start, maxResults=PAGE_SIZE,
                                              historyTypes=HISTORY_TYPES, pageToken=token)


def _drafts_page(token: str | None) -> Callable[[Any], Any]:
    return lambda users: users.drafts.list(userId="me", maxResults=PAGE_SIZE, pageToken=token)


def _draft_header_request(did: str) -> Callable[[Any], Any]:
    # drafts.get takes no metadataHeaders (unlike messages.get): format=metadata sends them all.
    return lambda users: users.drafts.get(userId="me", id=did, format="metadata")


def _added_ids(page: dict[str, Any]) -> Iterator[str]:
    """Messages that became correspondence: added, taken out of spam, a noise category or
    Drafts (a draft sent), or put in Sent."""
    for record in page.get("history", []):
        for added in record.get("messagesAdded", []):
            if _is_candidate(added["message"].get("labelIds", [])):
                yield added["message"]["id"]
        for removed in record.get("labelsRemoved", []):
            now = removed["message"].get("labelIds", [])
            taken = set(removed.get("labelIds", []))
            # Out of Drafts only counts into Sent: a draft that merely lost its label was never mail.
            if (taken & ({"SPAM", "TRASH"} | set(NOISE_LABELS)) or ("DRAFT" in taken and "SENT" in now)) and \
                    _is_candidate(now):
                yield removed["message"]["id"]
        for put in record.get("labelsAdded", []):
            if "SENT" in put.get("labelIds", []) and _is_candidate(put["message"].get("labelIds", [])):
                yield put["message"]["id"]


def _is_candidate(labels: list[str]) -> bool:
    return not (set(labels) & (NEVER_MAIL | set(NOISE_LABELS)))


def _key_of(draft: dict[str, Any]) -> str:
    for h in ((draft.get("message") or {}).get("payload") or {}).get("headers", []):
        if h.get("name", "").lower() == KEY_HEADER.lower():
            return str(h.get("value", "")).strip()
    return ""


def _draft_key(message: bytes) -> str:
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    value = BytesHeaderParser(policy=compat32).parsebytes(header_block(message))[KEY_HEADER]
    return str(value or "").strip()


def _count(groups: list[list[Any]]) -> int:
    return sum(len(group[1]) for group in groups)


def _is_api_error(exc: BaseException) -> bool:
    from googleapiclient.errors import HttpError

    return isinstance(exc, HttpError)


def _describe(exc: BaseException) -> str:
    status = http_status(exc)
    if status:
        return f"HTTP {status} {error_reason(exc)}".strip()
    return f"{type(exc).__name__}: {str(exc)[:120]}"


class _Resources:
    """One thread's Gmail resources, built once: googleapiclient builds every method of a
    resource each time ``users()`` or ``messages()`` is called (most of a batch's CPU)."""

    def __init__(self, service: Any) -> None:
        self.users = service.users()
        self.messages = self.users.messages()
        self.threads = self.users.threads()
        self.drafts = self.users.drafts()
        self.history = self.users.history()


class BatchMissing(ConnectorError):
    """A batch answered without a part for one of its calls."""


class _PlanState:
    """The first sync's lists as they grow, shared by the listing threads and the planner.

    Positions index the everything list (newest first). ``settled()`` is how far the
    planner may go: inside the lookback (confirmed by a date probe, or before the
    boundary) and reached by every noise category list.
    """

    def __init__(self, since_ms: int, labels: list[str]) -> None:
        self.since_ms = since_ms
        self.cond = threading.Condition()
        self.ordered: list[tuple[str, str]] = []
        self.pos: dict[str, int] = {}
        self.noise: set[str] = set()
        self.error: BaseException | None = None
        self.go = threading.Event()  # set once the profile's historyId is read
        self._confirmed = 0  # positions below are inside the lookback
        self._boundary: int | None = None  # positions from here are older than the lookback
        self._listed_all = False  # the everything list has no next page
        self._label_lasts: dict[str, list[str]] = {label: [] for label in labels}  # last id of each page
        self._label_done: dict[str, bool] = dict.fromkeys(labels, False)
        self._stop = False
        # Where each list goes on (the cursor keeps these between chunks):
        self.all_from: str | None = None  # the page token of the everything list's last page
        self.all_pages = 0
        self.label_tokens: dict[str, str | None] = dict.fromkeys(labels)
        self._last_page: list[str] = []  # the ids of the everything list's last page
        self._skip: set[str] = set()  # settled in an earlier chunk (a resumed list lists its last page again)
        self._relisting = False  # the next page is the last one listed before this chunk, listed again

    # -- between chunks ---------------------------------------------------------------------------

    def snapshot(self, done: int, groups: dict[str, list[str]]) -> dict[str, Any]:
        """What the lists know beyond the first ``done`` positions (which the planner settled),
        as JSON for the cursor. Call with the listing threads stopped."""
        with self.cond:
            def unsettled(mid: str) -> bool:  # not listed by the everything list yet, or after done
                return mid not in self._skip and self.pos.get(mid, done) >= done

            return {
                "all": {"from": self.all_from, "pages": self.all_pages, "done": self._listed_all},
                "labels": {label: {"token": self.label_tokens[label], "done": self._label_done[label],
                                   "lasts": [m for m in self._label_lasts[label] if unsettled(m)][-2:]}
                           for label in self._label_lasts},
                "listed": [list(item) for item in self.ordered[done:]],
                "skip": [m for m in self._last_page if m in self._skip or not unsettled(m)],
                "open": [[thread, ids] for thread, ids in groups.items()],
                "noise": sorted(m for m in self.noise if unsettled(m)),
                "confirmed": max(0, self._confirmed - done),
                "boundary": None if self._boundary is None else self._boundary - done,
            }

    @classmethod
    def restore(cls, since_ms: int, labels: list[str],
                snap: dict[str, Any]) -> tuple[_PlanState, dict[str, list[str]]]:
        """A state where :meth:`snapshot` left off, and the planner's open thread groups."""
        state = cls(since_ms, labels)
        for mid, thread in snap["listed"]:
            state.pos[mid] = len(state.ordered)
            state.ordered.append((mid, thread))
        state.noise = set(snap["noise"])
        state._skip = set(snap["skip"])
        # The last page is its settled ids and (a tail of) the listed ones: a chunk that lists
        # no page must still pass on those it settles, or the relisted page brings them back.
        state._last_page = [*snap["skip"], *(mid for mid, _ in snap["listed"])]
        state._confirmed = int(snap["confirmed"])
        state._boundary = snap["boundary"]
        state._listed_all = bool(snap["all"]["done"])
        state.all_from = snap["all"]["from"]
        state.all_pages = int(snap["all"]["pages"])
        state._relisting = state.all_pages > 0 and not state._listed_all  # its last page is listed again
        for label in labels:
            saved = snap["labels"].get(label) or {}
            state.label_tokens[label] = saved.get("token")
            state._label_done[label] = bool(saved.get("done"))
            state._label_lasts[label] = list(saved.get("lasts", []))
        return state, {thread: list(ids) for thread, ids in snap["open"]}

    # -- written by the listing threads ---------------------------------------------------------

    def add_page(self, items: list[tuple[str, str]], token: str | None, after: str | None) -> tuple[int, int, int]:
        """One page of the everything list, listed from ``token``; ``after`` is its next page token."""
        with self.cond:
            start = len(self.ordered)
            for mid, thread in items:
                if mid not in self.pos and mid not in self._skip:
                    self.pos[mid] = len(self.ordered)
                    self.ordered.append((mid, thread))
            self._listed_all = self._listed_all or not after
            self.all_from = token
            self.all_pages += 0 if self._relisting else 1
            self._relisting = False
            self._last_page = [mid for mid, _ in items]
            self.cond.notify_all()
            return start, len(self.ordered), self.all_pages

    def confirm(self, end: int) -> None:
        with self.cond:
            self._confirmed = max(self._confirmed, end)
            self.cond.notify_all()

    def set_boundary(self, position: int) -> None:
        with self.cond:
            self._boundary = position
            self._confirmed = max(self._confirmed, position)
            self.cond.notify_all()

    def add_noise(self, label: str, ids: list[str], after: str | None) -> None:
        with self.cond:
            self.noise.update(ids)
            if ids:
                self._label_lasts[label].append(ids[-1])
            self._label_done[label] = self._label_done[label] or not after
            self.label_tokens[label] = after
            self.cond.notify_all()

    def label_finished(self, label: str) -> None:
        with self.cond:
            self._label_done[label] = True
            self.cond.notify_all()

    def fail(self, exc: BaseException) -> None:
        with self.cond:
            self.error = self.error or exc
            self._stop = True
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self._stop = True
            self.cond.notify_all()

    # -- read under the condition's lock (or racy but monotone) ---------------------------------

    def halted(self) -> bool:
        """The sync is over (or failed): every list stops."""
        return self._stop

    def label_done(self, label: str) -> bool:
        return self._label_done[label]

    def all_listed(self) -> bool:
        return self._listed_all

    def unconfirmed(self) -> bool:
        """Listed positions wait for a date probe (after a resume, no page may bring one)."""
        with self.cond:
            return self._boundary is None and self._confirmed < len(self.ordered)

    def stopping(self) -> bool:
        """The everything list and the date probes stop: halted, or the lookback's end is found."""
        return self._stop or self._boundary is not None

    def id_at(self, position: int) -> str:
        with self.cond:
            return self.ordered[position][0]

    def confirmed_end(self) -> int:
        with self.cond:
            return self._confirmed

    def _limit(self) -> int:
        return self._boundary if self._boundary is not None else self._confirmed

    def _listing_final(self) -> bool:
        return self._boundary is not None or (self._listed_all and self._confirmed >= len(self.ordered))

    def _frontier(self, label: str) -> float:
        lasts = self._label_lasts[label]
        if self._label_done[label]:
            return float("inf")
        if not lasts:
            return 0
        where = self.pos.get(lasts[-1])
        return len(self.ordered) if where is None else where + 1

    def label_may_fetch(self, label: str) -> bool:
        """The category's next page is due: at most two pages ahead of the everything list."""
        lasts = self._label_lasts[label]
        return len(lasts) < 2 or lasts[-2] in self.pos or self.label_passed_end(label)

    def label_passed_end(self, label: str) -> bool:
        """The category list has listed past the lookback (or past the end of the full list)."""
        lasts = self._label_lasts[label]
        if not self._listing_final() or not lasts:
            return False
        where = self.pos.get(lasts[-1])
        return where is None or where >= self._limit()

    def settled(self) -> int:
        frontier = min((self._frontier(label) for label in self._label_lasts), default=float("inf"))
        return int(min(self._limit(), frontier, len(self.ordered)))

    def finished(self) -> bool:
        return self._listing_final() and all(self._frontier(label) >= self._limit() for label in self._label_lasts)


class _Planner:
    """Thread groups of the message ids worth reading, each handed out once the lists settle it.

    Three kinds of list run side by side (in the listing pool): everything, newest
    first; each noise category, never more than two pages ahead of the everything
    list; and the date probes, which check each everything page's oldest id off the
    listing's critical path. A listed position is settled once it is known to be
    inside the lookback and every category list has reached it (both lists run
    newest first, so a noise id newer than a category's last listed id is in it).
    A thread's group is complete when its first message (Gmail's thread id is the id
    of the thread's first message) is settled: its later messages are newer, listed
    before it. Groups whose first message is older than the lookback, or that never
    show one, come when the lists end. If Gmail's orders ever disagree, a noise
    message may be read (units) - a wanted one is never dropped.
    """

    def __init__(self, state: _PlanState, groups: dict[str, list[str]] | None = None) -> None:
        self.state = state
        self.groups: dict[str, list[str]] = groups or {}  # thread -> settled ids, first message not yet
        self.ready: deque[tuple[str, list[str]]] = deque()
        self.done = 0  # positions below are settled and sorted into groups
        self.finished = False

    def next(self) -> tuple[str, list[str]] | None:
        """The next complete group, waiting for the lists if need be; None once they are done."""
        state = self.state
        while not self.ready:
            if self.finished:
                return None
            with state.cond:
                state.cond.wait_for(lambda: state.error is not None or state.settled() > self.done
                                    or state.finished())
                if state.error is not None:
                    raise state.error
                self._absorb()
        return self.ready.popleft()

    def _absorb(self) -> None:
        """Sorts the newly settled positions into groups (under the state's lock)."""
        state = self.state
        end = state.settled()
        noise = state.noise
        complete: list[str] = []
        for mid, thread in state.ordered[self.done:end]:
            if mid not in noise:
                self.groups.setdefault(thread, []).append(mid)
            if mid == thread and thread in self.groups:
                complete.append(thread)
        # After the whole slice: a reply older than its thread's first message may follow it.
        self.ready.extend((thread, self.groups.pop(thread)) for thread in complete if thread in self.groups)
        self.done = end
        if state.finished():
            self.ready.extend(self.groups.items())  # first message older than the lookback (or unknown)
            self.groups = {}
            self.finished = True

    def suspend(self) -> tuple[list[tuple[str, list[str]]], dict[str, Any] | None]:
        """With the lists stopped: the complete groups not handed out, and the listing's state
        for the cursor (None if the lists are done)."""
        with self.state.cond:
            if not self.finished:
                self._absorb()
        ready = list(self.ready)
        self.ready.clear()
        return ready, None if self.finished else self.state.snapshot(self.done, self.groups)


class _Collector:
    """Records from batch answers as they arrive, so parsing overlaps the waiting for quota.

    Only the ids a group asked for become records (a threads.get answer holds the
    thread's noise too); a group whose call failed (other than 404: deleted since) is
    kept for the next sync.
    """

    def __init__(self, conn: GmailConnector, since_ms: int) -> None:
        self.conn = conn
        self.since_ms = since_ms
        self.result: SyncResult[MailRecord] = SyncResult(records=[], cursor={})
        self._seen: set[str] = set()
        self._wanted: set[str] = set()
        self._plan: dict[str, list[Any]] = {}
        self._covers: dict[str, int] = {}
        self._failed: dict[int, tuple[list[Any], BaseException]] = {}

    def expect(self, group: list[Any]) -> list[Call]:
        """The calls that read ``group``, registered so that their answers are recognised."""
        # A key already asked for (an id listed twice: page tokens moved by new or deleted mail)
        # is read once; two parts with one Content-ID would fail the whole batch.
        calls = [c for c in self.conn._calls_for(group[0], group[1]) if c.key not in self._plan]  # noqa: SLF001
        self._wanted.update(group[1])
        for call in calls:
            self._plan[call.key] = group
            self._covers[call.key] = len(group[1]) if call.method == "threads.get" else 1
        return calls

    def take(self, part: Outcome) -> int:
        """Adds one batch's answers; returns how many wanted messages they held (for progress)."""
        for response in part.results.values():
            for msg in response.get("messages", [response]):
                if msg.get("id") in self._wanted:
                    self.conn._add_record(self.result, self._seen, msg, self.since_ms)  # noqa: SLF001
        for key, exc in part.failed.items():
            if http_status(exc) != 404:
                self._failed[id(self._plan[key])] = (self._plan[key], exc)
        return sum(self._covers[k] for k in part.results)

    def failures(self) -> list[tuple[list[Any], BaseException]]:
        return list(self._failed.values())


class _Reader:
    """Reads thread groups while the plan is still being made: full batches go out at once."""

    def __init__(self, conn: GmailConnector, progress: SyncProgress, collector: _Collector) -> None:
        self.conn = conn
        self.progress = progress
        self.collector = collector
        self.buffer: list[Call] = []
        self.futures: list[Future[Outcome]] = []
        self._open: list[Future[Outcome]] = []

    def add(self, group: list[Any]) -> None:
        self.progress.grow(len(group[1]))
        self.buffer += self.collector.expect(group)
        batches = list(self.conn._batches(self.buffer)) if self.buffer else []  # noqa: SLF001
        full = batches if batches and len(batches[-1]) >= BATCH_LIMIT else batches[:-1]
        for batch in full:
            self._submit(batch)
        self.buffer = [] if len(full) == len(batches) else batches[-1]
        for future in [f for f in self._open if f.done()]:
            self._collect(future)

    def _submit(self, batch: list[Call]) -> None:
        future = self.conn._executor().submit(self.conn._batch_task, batch)  # noqa: SLF001
        self.futures.append(future)
        self._open.append(future)

    def _collect(self, future: Future[Outcome]) -> None:
        self._open.remove(future)
        self.progress.advance(self.collector.take(future.result()))

    def finish(self) -> None:
        if self.buffer:
            for batch in self.conn._batches(self.buffer):  # noqa: SLF001
                self._submit(batch)
            self.buffer = []
        for future in as_completed(list(self._open)):
            self._collect(future)

    def abandon(self) -> None:
        for future in self.futures:
            future.cancel()
        for future in self.futures:
            if not future.cancelled():
                future.exception()  # wait; the planning error is the one to report


def _probe_due(page: int) -> bool:
    """Which pages (1-based) of the everything list get a date probe of their oldest id (the last
    page always does): 1, 2, 4, 8, then every ``PROBE_EVERY``-th.

    A probe per page costs 5 units per 500 ids (1,000 units for 100,000 messages, a
    second of quota at 6,000 a minute x 10); these cost about 140. The price: ids wait up
    to ``PROBE_EVERY`` pages for the probe that clears them, the list runs up to as far
    past the lookback, and the binary search takes three probes more. The reading is far
    behind the listing anyway (quota), so the wait costs no wall time.
    """
    return page % PROBE_EVERY == 0 or page & (page - 1) == 0
