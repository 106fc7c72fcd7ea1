"""Gmail as a MailSource and a DraftBox, over the Gmail API with the ``gmail.metadata`` scope.

First sync - the plan, chosen by quota units (measured in ``benchmarks/gmail_sync.py``):

1. ``getProfile`` first: its historyId is where the incremental sync starts, so
   mail arriving during a long first sync is not missed (Gmail sync guide).
2. Cheap id lists (5 units per page of up to 500 ids, 0.01 unit per message):
   everything newest first, stopped at the lookback, minus the ids listed under
   CATEGORY_PROMOTIONS / SOCIAL / UPDATES / FORUMS. ``messages.list`` cannot
   exclude a label without ``q``, and ``gmail.metadata`` refuses ``q``, so the
   exclusion is a set difference here. Listing CATEGORY_PERSONAL instead would
   miss mail when the user turned categories off. Sent mail carries no noise
   category, so it stays in.
3. Headers only for what is left, grouped by thread: a thread with ``n`` wanted
   messages costs ``n x messages.get`` (5 each) or one ``threads.get`` (10),
   whichever is cheaper with the configured costs. Calls go in batches of at
   most 50 (Gmail advises against more), several batches in parallel, each
   call paid to the :class:`QuotaLimiter` first.

The first sync is resumable: it returns at most ``full_sync_chunk`` messages per
call with a cursor holding the historyId and the thread groups still to fetch,
newest first, so a kill loses one chunk and the ledger sees recent mail first.

Incremental: ``history.list(startHistoryId, historyTypes=messageAdded,labelRemoved)``;
an idle poll is one request (2 units). Only a 404 on history.list - Gmail's
answer for a start id it no longer keeps - starts a new first sync (lieer #301).
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .base import (
    Connector,
    ConnectorContext,
    ConnectorError,
    Cursor,
    DraftRef,
    MailRecord,
    Skip,
    SyncResult,
)
from .google_auth import (
    GmailAccount,
    GoogleTokens,
    QuotaLimiter,
    RetryPolicy,
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
)
from .mailheaders import header_block, parse_mail_headers

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
BATCH_LIMIT = 50  # Gmail: at most 100 per batch, more than 50 not recommended (PROVIDERS.md)
PAGE_SIZE = 500  # messages.list / history.list maximum
FULL_SYNC_TRIES = 3  # a thread that fails in three first-sync calls is reported and dropped
# Only the headers a MailRecord uses; fewer headers, smaller answers.
METADATA_HEADERS = (
    "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References",
    "List-Id", "Precedence", "Auto-Submitted", "X-Circleback-Key",
)
KEY_HEADER = "X-Circleback-Key"
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


class _HistoryExpired(Exception):
    """history.list answered 404: the start id is older than Gmail keeps."""


class GmailConnector(Connector):
    kind: ClassVar[str] = "gmail"
    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()

    def __init__(self, config: GmailAccount, context: ConnectorContext | None = None, *,
                 tokens: GoogleTokens | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, context)
        self.tokens = tokens or GoogleTokens(config)
        self.limiter = QuotaLimiter(config.quota_per_minute, project=config.client_secrets,
                                    project_per_minute=config.project_quota_per_minute, sleep=sleep)
        self._sleep = sleep
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self.requests = 0  # HTTP requests made (a batch is one): benchmarks read it

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

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

    def _read(self, method: str, build: Callable[[Any], Any], what: str) -> dict[str, Any]:
        """One idempotent call: quota first, retried on 429/5xx/rate-limit 403 only."""

        def attempt() -> dict[str, Any]:
            api, http = self._api()
            self.limiter.acquire(self.config.cost(method))
            self.requests += 1
            return json_object(build(api).execute(http=http, num_retries=0), what)

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

    def run_calls(self, calls: list[Call], on_batch: Callable[[int], None] | None = None) -> Outcome:
        """Run ``calls`` in parallel batches; retry retryable items per item, the rest fail."""
        outcome = Outcome()
        pending = list(calls)
        attempt = 0
        while pending:
            attempt += 1
            retry: list[Call] = []
            errors: list[BaseException] = []
            by_key = {c.key: c for c in pending}
            futures = [self._executor().submit(self._run_batch, b) for b in self._batches(pending)]
            for done in as_completed(futures):
                items = self._collect(done)
                for key, (response, exc) in items.items():
                    if exc is None:
                        outcome.results[key] = response
                    elif is_retryable(exc) and attempt < self.retry_policy.attempts:
                        retry.append(by_key[key])
                        errors.append(exc)
                    else:
                        outcome.failed[key] = exc
                if on_batch:
                    on_batch(sum(1 for _, e in items.values() if e is None))
            if retry:
                wait = max(self.retry_policy.delay(attempt, e) for e in errors)
                log.info("%s: %d call(s) to retry (%s); waiting %.1fs", self.account, len(retry),
                         _describe(errors[0]), wait)
                self._sleep(wait)
            pending = retry
        return outcome

    def _collect(self, done: Future[dict[str, tuple[Any, BaseException | None]]]) -> dict[str, Any]:
        return done.result()

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
        from googleapiclient.http import BatchHttpRequest

        api, http = self._api()
        out: dict[str, tuple[Any, BaseException | None]] = {}

        def keep(request_id: str, response: Any, exception: BaseException | None) -> None:
            if exception is None and not isinstance(response, dict):
                response, exception = None, TruncatedAnswer(f"{request_id}: not a JSON object")
            out[request_id] = (response, exception)

        batch = BatchHttpRequest(callback=keep, batch_uri=batch_uri(self.config))
        for call in calls:
            batch.add(call.build(api), request_id=call.key)
        self.limiter.acquire(sum(self.config.cost(c.method) for c in calls))
        self.requests += 1
        try:
            batch.execute(http=http)
        except Exception as exc:  # noqa: BLE001 - sorted below: retryable or a per-item failure
            if not (is_retryable(exc) or _is_api_error(exc)):
                raise
            return {c.key: (None, exc) for c in calls}
        missing = BatchMissing("no answer for this call in the batch response")
        return {c.key: out.get(c.key, (None, missing)) for c in calls}

    # -- MailSource ----------------------------------------------------------------------------

    def sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]:
        if cursor and cursor.get("version") == CURSOR_VERSION:
            if cursor.get("mode") == "full":
                return self._continue_full(cursor)
            try:
                return self._incremental(str(cursor["history_id"]))
            except _HistoryExpired:
                log.warning("%s: Gmail no longer keeps history from id %s; reading the mailbox again",
                            self.account, cursor["history_id"])
        return self._continue_full(self._start_full())

    def _since(self) -> datetime:
        return self.context.current_time() - timedelta(days=self.context.lookback_days)

    def _start_full(self) -> Cursor:
        profile = self._read("getProfile", lambda u: u.users.getProfile(userId="me"), "getProfile")
        since_ms = int(self._since().timestamp() * 1000)
        groups = self.plan_first_sync(since_ms)
        log.info("%s: first sync: %d messages in %d threads to read", self.account,
                 sum(len(ids) for _, ids in groups), len(groups))
        return {"version": CURSOR_VERSION, "mode": "full", "history_id": str(profile["historyId"]),
                "since_ms": since_ms, "pending": [[t, ids, 0] for t, ids in groups], "done": 0}

    def plan_first_sync(self, since_ms: int) -> list[tuple[str, list[str]]]:
        """Thread groups of the message ids worth reading, newest thread first."""
        listed = _Listing()
        pool = self._executor()
        everything = pool.submit(self._list_everything, since_ms, listed)
        noise = [pool.submit(self._list_label, label, listed) for label in NOISE_LABELS]
        ordered = everything.result()
        excluded = set().union(*(f.result() for f in noise))
        groups: dict[str, list[str]] = {}
        for mid, thread in ordered:
            if mid not in excluded:
                groups.setdefault(thread, []).append(mid)
        return list(groups.items())

    def _list_everything(self, since_ms: int, listed: _Listing) -> list[tuple[str, str]]:
        """(id, threadId) newest first down to the lookback; each page's oldest id is probed."""
        token: str | None = None
        try:
            while True:
                page = self._list_page([], token)
                items = [(m["id"], m["threadId"]) for m in page.get("messages", [])]
                if items and self._internal_ms(items[-1][0]) < since_ms:
                    keep = self._boundary(items, since_ms)
                    listed.add(items[:keep])
                    return listed.ordered
                listed.add(items)
                token = page.get("nextPageToken")
                if not token:
                    return listed.ordered
        finally:
            listed.finished.set()

    def _boundary(self, items: list[tuple[str, str]], since_ms: int) -> int:
        """How many of a page's ids are inside the lookback: a binary search, 9 probes for 500."""
        lo, hi = 0, len(items) - 1  # items[hi] is known to be too old
        while lo < hi:
            mid = (lo + hi) // 2
            if self._internal_ms(items[mid][0]) >= since_ms:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _internal_ms(self, mid: str) -> int:
        found = self._read("messages.get", lambda u: u.messages.get(userId="me", id=mid, format="minimal"),
                           "messages.get (date probe)")
        return int(found.get("internalDate", 0))

    def _list_label(self, label: str, listed: _Listing) -> set[str]:
        """Ids under ``label``, newest first, until the list passes the lookback boundary."""
        found: set[str] = set()
        token: str | None = None
        while True:
            page = self._list_page([label], token)
            ids = [m["id"] for m in page.get("messages", [])]
            found.update(ids)
            token = page.get("nextPageToken")
            if not token or (ids and listed.past_boundary(ids[-1])):
                return found

    def _list_page(self, labels: list[str], token: str | None) -> dict[str, Any]:
        def build(users: Any) -> Any:
            return users.messages.list(userId="me", labelIds=labels or None, maxResults=PAGE_SIZE,
                                         pageToken=token, includeSpamTrash=False)

        return self._read("messages.list", build, f"messages.list {labels or 'all'}")

    def _continue_full(self, cursor: Cursor) -> SyncResult[MailRecord]:
        pending: list[list[Any]] = list(cursor["pending"])  # [thread, ids, tries]
        chunk: list[list[Any]] = []
        count = 0
        while pending and count < self.config.full_sync_chunk:
            chunk.append(pending.pop(0))
            count += len(chunk[-1][1])
        result, failed = self._fetch_groups(chunk, int(cursor["since_ms"]), total=count + _count(pending))
        pending += self._requeue(failed, result.skipped)
        done = int(cursor.get("done", 0)) + count
        if pending:
            result.cursor = {**cursor, "pending": pending, "done": done}
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

    def _fetch_groups(self, groups: list[list[Any]], since_ms: int,
                      total: int) -> tuple[SyncResult[MailRecord], list[tuple[list[Any], BaseException]]]:
        wanted = {mid for _, ids, *_ in groups for mid in ids}
        plan = {call.key: group for group in groups for call in self._calls_for(group[0], group[1])}
        calls = [call for group in groups for call in self._calls_for(group[0], group[1])]
        with _Progress(self.account, total) as progress:
            outcome = self.run_calls(calls, progress.advance_by_calls(calls))
        messages: list[dict[str, Any]] = []
        for response in outcome.results.values():
            messages.extend(response.get("messages", [response]))
        result = self._records([m for m in messages if m.get("id") in wanted], since_ms)
        failed = {id(plan[k]): (plan[k], e) for k, e in outcome.failed.items() if http_status(e) != 404}
        return result, list(failed.values())

    def _calls_for(self, thread: str, ids: list[str]) -> list[Call]:
        # threads.get answers every message of the thread for one price.
        if len(ids) * self.config.cost("messages.get") >= self.config.cost("threads.get") and len(ids) > 1:
            return [Call("threads.get", f"t:{thread}", _thread_request(thread))]
        return [Call("messages.get", f"m:{mid}", _message_request(mid)) for mid in ids]

    def _records(self, messages: Iterable[dict[str, Any]], since_ms: int = 0) -> SyncResult[MailRecord]:
        result: SyncResult[MailRecord] = SyncResult(records=[], cursor={})
        seen: set[str] = set()
        for msg in messages:
            if msg["id"] in seen or NEVER_MAIL & set(msg.get("labelIds", [])):
                continue
            seen.add(msg["id"])
            if int(msg.get("internalDate", 0)) < since_ms:
                continue
            made = gmail_record(msg, self.context.my_addresses)
            (result.skipped if isinstance(made, Skip) else result.records).append(made)  # type: ignore[arg-type]
        return result

    def _incremental(self, history_id: str) -> SyncResult[MailRecord]:
        ids: dict[str, None] = {}
        token: str | None = None
        latest = history_id
        while True:
            page = self._read("history.list", _history_request(history_id, token), "history.list")
            for mid in _added_ids(page):
                ids[mid] = None
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
            raise ConnectorError(f"{self.account}: {len(failed)} new message(s) could not be read "
                                 f"({_describe(failed[0])}); will retry from the same point")
        result = self._records(outcome.results.values())
        result.cursor = {"version": CURSOR_VERSION, "mode": "incremental", "history_id": latest}
        return result

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
            raise ConnectorError(f"{self.account}: drafts.create failed ({_describe(exc)}); not retried: "
                                 "the outbox looks for the key in list_drafts() first") from exc
        return DraftRef(self.account, str(created["id"]), key)

    def list_drafts(self) -> list[DraftRef]:
        draft_ids: list[str] = []
        token: str | None = None
        while True:
            page = self._read("drafts.list", _drafts_page(token), "drafts.list")
            draft_ids += [d["id"] for d in page.get("drafts", [])]
            token = page.get("nextPageToken")
            if not token:
                break
        outcome = self.run_calls([Call("drafts.get", did, _draft_header_request(did)) for did in draft_ids])
        real = {k: e for k, e in outcome.failed.items() if http_status(e) != 404}  # deleted meanwhile
        if real:
            # A draft we could not read might be ours: guessing "absent" could duplicate it.
            first = _describe(next(iter(real.values())))
            raise ConnectorError(f"{self.account}: cannot read {len(real)} draft(s): {first}")
        return [DraftRef(self.account, did, _key_of(outcome.results[did])) for did in draft_ids
                if did in outcome.results]

    def get_draft(self, ref: DraftRef) -> bytes | None:
        def build(users: Any) -> Any:
            return users.drafts.get(userId="me", id=ref.ref, format="raw")

        try:
            found = self._read("drafts.get", build, "drafts.get")
        except ConnectorError as exc:
            if getattr(exc, "status", 0) == 404:
                return None
            raise
        return base64.urlsafe_b64decode(found["message"]["raw"] + "==")


# --- records -------------------------------------------------------------------------------------


def gmail_record(msg: dict[str, Any], my_addresses: frozenset[str]) -> MailRecord | Skip:
    """One ``format=metadata`` message -> MailRecord, parsed by the same rules as every connector."""
    labels = set(msg.get("labelIds", []))
    when = datetime.fromtimestamp(int(msg.get("internalDate", 0)) / 1000, UTC)
    headers = (msg.get("payload") or {}).get("headers", [])
    block = "".join(f"{h['name']}: {_one_line(h.get('value', ''))}\r\n" for h in headers) + "\r\n"
    made = parse_mail_headers(
        block.encode("utf-8", "surrogateescape") if headers else b"\r\n",
        folder="SENT" if "SENT" in labels else "INBOX" if "INBOX" in labels else "ARCHIVE",
        is_sent_folder="SENT" in labels,
        my_addresses=my_addresses,
        fallback_time=when,
        source_hint=f"gmail:{msg['id']}",
    )
    if isinstance(made, Skip):
        return made
    category = next((name for label, name in NOISE_LABELS.items() if label in labels), "")
    return dataclasses.replace(
        made,
        source_id=made.message_id or f"gmail:{msg['id']}",
        timestamp=when,  # internalDate: more reliable than the Date header (PROVIDERS.md)
        thread_id=str(msg.get("threadId", made.thread_id)),
        category=category,
        is_draft="DRAFT" in labels,
    )


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
                                              historyTypes=["messageAdded", "labelRemoved"], pageToken=token)


def _drafts_page(token: str | None) -> Callable[[Any], Any]:
    return lambda users: users.drafts.list(userId="me", maxResults=PAGE_SIZE, pageToken=token)


def _draft_header_request(did: str) -> Callable[[Any], Any]:
    # drafts.get takes no metadataHeaders (unlike messages.get): format=metadata sends them all.
    return lambda users: users.drafts.get(userId="me", id=did, format="metadata")


def _added_ids(page: dict[str, Any]) -> Iterator[str]:
    """Messages that became correspondence: added, or taken out of spam or a noise category."""
    for record in page.get("history", []):
        for added in record.get("messagesAdded", []):
            if _is_candidate(added["message"].get("labelIds", [])):
                yield added["message"]["id"]
        for removed in record.get("labelsRemoved", []):
            if set(removed.get("labelIds", [])) & ({"SPAM", "TRASH"} | set(NOISE_LABELS)) and \
                    _is_candidate(removed["message"].get("labelIds", [])):
                yield removed["message"]["id"]


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


class _Listing:
    """The "everything" list as it grows, shared with the label lists running beside it."""

    def __init__(self) -> None:
        self.ordered: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.finished = threading.Event()
        self._lock = threading.Lock()

    def add(self, items: list[tuple[str, str]]) -> None:
        with self._lock:
            self.ordered.extend(items)
            self.ids.update(mid for mid, _ in items)

    def past_boundary(self, mid: str) -> bool:
        """True once the full list is done and ``mid`` lies beyond it (older than the lookback).

        Both lists run newest first, so a label list that reaches an id the full list
        never took has passed the lookback boundary.
        """
        if not self.finished.is_set():
            self.finished.wait()
        with self._lock:
            return mid not in self.ids


class _Progress:
    """A rich bar on a first sync when stderr is a terminal; a log line per tenth otherwise."""

    def __init__(self, account: str, total: int) -> None:
        self.account = account
        self.total = max(total, 1)
        self.done = 0
        self._bar: Any = None
        self._task: Any = None
        self._next_log = self.total // 10

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty() and self.total > BATCH_LIMIT:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(f"{self.account}: reading mail headers", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance_by_calls(self, calls: list[Call]) -> Callable[[int], None]:
        per_call = self.total / max(len(calls), 1)  # a threads.get call covers several messages

        def advance(succeeded: int) -> None:
            self.done += succeeded * per_call
            if self._bar is not None:
                self._bar.update(self._task, completed=min(self.done, self.total))
            elif self.done >= self._next_log and self.total > BATCH_LIMIT:
                log.info("%s: first sync %d%%", self.account, min(100, int(100 * self.done / self.total)))
                self._next_log += max(self.total // 10, 1)

        return advance
