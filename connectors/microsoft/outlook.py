"""Outlook / Microsoft 365 over Microsoft Graph: mail and calendar by delta query, drafts without Mail.Send.

* Mail: one message delta round per folder (``/me/mailFolders/{id}/messages/delta``,
  docs/PROVIDERS.md: delta is per folder) over every folder except Junk Email,
  Deleted Items, Drafts and Outbox. Each folder keeps its own ``@odata.deltaLink``
  (or, mid-round, its ``@odata.nextLink``) in the cursor, so one folder's expired
  token costs a resync of that folder only.
* Calendar: ``/me/calendarView/delta`` over ``[now - lookback, now + lookahead]``.
  The window is baked into the token, so moving it is a planned full resync
  (``SyncResult.full``).
* Drafts: ``POST /me/messages`` (JSON) tagged with our ``x-circleback-key`` as a
  single-value extended property in PS_INTERNET_HEADERS: Exchange writes it into the
  MIME as a header, and it reads back through ``$expand`` whether or not Graph returns
  ``internetMessageHeaders`` for a draft (it returns none for sent items). Replies:
  one ``createReply`` on the newest message of the thread carrying the whole draft (tag,
  body, subject, recipients), so no half-written reply can exist. Nothing here can send:
  every request goes through :class:`~circleback.connectors.http.GuardedSession`.

Throttling (docs/PROVIDERS.md: 10,000 requests per 10 minutes and 4 concurrent
requests per app per mailbox): a semaphore keeps at most 4 requests in flight,
and 429/503/504 are retried after ``Retry-After``.

Batching: every folder's next delta request goes out in one JSON ``$batch`` (up to
20 a batch), so an idle poll is one request for up to 20 folders (a first sync reads
each folder alone, 4 at a time: its pages are big). The items of a
batch run in parallel and count one by one against the mailbox's limits, so a batch
of more than 4 chains them with ``dependsOn`` (Graph allows all-parallel or serial);
a failed item makes the ones after it answer 424, and those simply go again. A
folder whose first page has a ``nextLink`` goes on alone, 4 folders at a time: each
``nextLink`` comes from the previous page, so pages of one folder cannot be batched.
An item answered 429/503/504 waits for its ``Retry-After`` and goes on alone too; an
item answered 410 resyncs that folder only.
"""

from __future__ import annotations

import contextlib
import email.policy
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ..autoreply import is_auto_reply_subject
from ..base import (
    Address,
    Attendee,
    Connector,
    ConnectorContext,
    Cursor,
    Direction,
    DraftRef,
    EventRecord,
    MailRecord,
    ResponseStatus,
    Skip,
    SyncResult,
    new_mail_record,
)
from ..errors import AuthRevoked, ConnectorError, SendRefused
from ..http import GuardedSession
from ..mailheaders import clean_address
from ..progress import SyncProgress
from ..text import clean_text
from .auth import MsalTokens, OutlookAccount

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
MAX_CONCURRENT = 4  # Outlook: 4 concurrent requests per app per mailbox (docs/PROVIDERS.md)
# Messages a first sync reads before it shows progress: a delta round says nothing of its size, so
# the progress is a count, shown from here on (tens of pages, several seconds at Graph's pace).
PROGRESS_FROM = 5000
KEY_HEADER = "x-circleback-key"  # Graph: custom internetMessageHeaders must start with "x-"
# The same header as a MAPI named property of PS_INTERNET_HEADERS ([MS-OXPROPS] 1.3.2); the name
# is matched case-sensitively in $filter, so it is written and asked for exactly so.
KEY_PROPERTY = f"String {{00020386-0000-0000-C000-000000000046}} Name {KEY_HEADER}"
# Not inferenceClassification: Focused Inbox's "other" is where first contact from a stranger lands,
# not a verdict of bulk. Not internetMessageHeaders: kilobytes a message (every Received, ARC and
# X-MS-Exchange line), ten times the rest; they are read when a page carries them all the same.
MESSAGE_FIELDS = (
    "sender,from,toRecipients,ccRecipients,sentDateTime,receivedDateTime,"
    "conversationId,internetMessageId,subject,isDraft"
)
# Folders are re-listed this often; between listings an idle poll costs one request per folder.
FOLDER_REFRESH = timedelta(hours=6)
# Graph names these folders by well-known name in v1.0 paths (/me/mailFolders/sentitems).
WELL_KNOWN = frozenset({"inbox", "sentitems", "drafts", "junkemail", "deleteditems", "outbox", "archive"})
# Error codes Graph answers when a delta token can no longer be used (graph/errors, delta-query-overview).
RESYNC_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})
RETRY_STATUS = frozenset({429, 503, 504})  # throttled, or Graph's "service unavailable / gateway timeout"
BATCH_MAX = 20  # requests in one JSON $batch (json-batching)
FAILED_DEPENDENCY = 424  # a batch item that did not run because the one it depends on failed
_GRAPH_SENDS = re.compile(r"(?i)/(reply|replyall|forward)/?$")
NOT_FOUND_CODES = frozenset({"erroritemnotfound", "errorinvalididmalformed", "itemnotfound"})

_RESPONSES = {
    "accepted": ResponseStatus.ACCEPTED,
    "organizer": ResponseStatus.ACCEPTED,  # whoever called the meeting is going
    "tentativelyaccepted": ResponseStatus.TENTATIVE,
    "declined": ResponseStatus.DECLINED,
    "notresponded": ResponseStatus.NEEDS_ACTION,
    "none": ResponseStatus.NEEDS_ACTION,
}


# --- errors and the HTTP client --------------------------------------------------------------


class GraphError(ConnectorError):
    """Graph answered with an error; ``code`` is Graph's error code, lower-cased."""

    def __init__(self, message: str, *, status: int = 0, code: str = "", location: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code.lower()
        self.location = location

    @property
    def needs_resync(self) -> bool:
        # 410 Gone is the documented reset (delta-query-overview, "Synchronization reset");
        # otherwise match the exact codes, never "any 4xx" (docs/STYLE.md: lieer #301).
        return self.status == 410 or self.code in RESYNC_CODES

    @property
    def not_found(self) -> bool:
        return self.status == 404 or (self.status == 400 and self.code in NOT_FOUND_CODES)


class _Transient(Exception):
    """A failure worth another try: throttling, a gateway hiccup, a cut-off body."""

    def __init__(self, message: str, retry_after: float | None = None, status: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class TokenSource(Protocol):
    def access_token(self, *, force_refresh: bool = False) -> str: ...


class StaticToken:
    """A fixed bearer token (tests, the benchmark)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self, *, force_refresh: bool = False) -> str:
        return self.token


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (RFC 9110 10.2.3: delay-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:  # Graph sends whole seconds; a fraction costs nothing to accept
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class GraphClient:
    """Graph over a guarded requests session: at most 4 in flight, retries only what is safe."""

    attempts: ClassVar[int] = 5
    backoff_base: ClassVar[float] = 1.0  # seconds; doubles per attempt when Retry-After is absent
    backoff_max: ClassVar[float] = 60.0
    max_retry_after: ClassVar[float] = 300.0  # a longer throttle ends this cycle; the next one resumes
    timeout: ClassVar[tuple[float, float]] = (10.0, 60.0)  # connect, read

    def __init__(self, endpoint: str, tokens: TokenSource, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.tokens = tokens
        self.session = GuardedSession()
        self.session.headers["Accept"] = "application/json"
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=MAX_CONCURRENT)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        self._sleep = sleep
        self.requests_made = 0  # HTTP requests, a $batch counting one
        self.batched = 0  # requests that went inside a $batch (each counts against Graph's limits)
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def url(self, path: str, params: dict[str, str] | None = None) -> str:
        # Spaces as %20, not "+": Graph's $filter asks for URL-encoded spaces.
        query = f"?{urlencode(params, safe='$,=', quote_via=quote)}" if params else ""
        return f"{self.endpoint}{path}{query}"

    def same_origin(self, link: str) -> bool:
        """Only follow links back to our Graph endpoint: they carry our bearer token."""
        a, b = urlsplit(link), urlsplit(self.endpoint)
        return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())

    # -- public calls ----------------------------------------------------------------------

    def get_json(self, url: str, *, prefer: str = "", tried: int = 0) -> dict[str, Any]:
        """GET and decode; reads are idempotent, so every transient failure is retried.

        ``tried``: tries already made elsewhere (a throttled $batch item), counted in the budget.
        """
        headers = {"Prefer": prefer} if prefer else {}
        return self._retrying(lambda: _json_body(self._once("GET", url, headers=headers)), idempotent=True,
                              tried=tried)

    def get_bytes(self, url: str) -> bytes:
        return self._retrying(lambda: self._once("GET", url).content, idempotent=True)

    def batch(self, requests_: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """One JSON $batch of GET requests (ids "1".."n"): each item's response by id.

        Only reads are batched, so the whole batch is retried like a read; each item's own
        status is the caller's to read (a 429 item inside a 200 batch is not retried here).
        """
        if not 0 < len(requests_) <= BATCH_MAX or any(r.get("method") != "GET" for r in requests_):
            raise ValueError(f"a batch holds 1 to {BATCH_MAX} GET requests")
        body = {"requests": requests_}
        url = self.url("/$batch")
        answer = self._retrying(lambda: _json_body(self._once("POST", url, json=body)), idempotent=True)
        with self._count_lock:
            self.batched += len(requests_)
        out: dict[str, dict[str, Any]] = {}
        for item in answer.get("responses") or []:
            if isinstance(item, dict) and str(item.get("id", "")):
                out[str(item["id"])] = item
        return out

    def relative(self, link: str) -> str | None:
        """A link of ours as a batch item's URL (relative to the version root), or None."""
        if not self.same_origin(link):
            return None
        base, target = urlsplit(self.endpoint), urlsplit(link)
        if not target.path.startswith(base.path.rstrip("/") + "/"):
            return None
        rest = target.path[len(base.path.rstrip("/")):]
        return rest + (f"?{target.query}" if target.query else "")

    def write(self, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST/PATCH: retried only on 429, which Graph answers before doing anything."""
        return self._retrying(lambda: _json_body(self._once(method, url, json=body)), idempotent=False)

    # -- machinery -------------------------------------------------------------------------

    def _retrying(self, call: Callable[[], Any], *, idempotent: bool, tried: int = 0) -> Any:
        def worth_retrying(exc: BaseException) -> bool:
            if not isinstance(exc, _Transient):
                return False
            return idempotent or exc.status == 429

        tries = tried

        def attempt() -> Any:
            nonlocal tries
            tries += 1
            return call()

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.attempts - tried)),
            wait=self._wait,
            retry=retry_if_exception(worth_retrying),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Transient as exc:
            # Say how many tries were made: a write gives up after one (it reconciles next cycle).
            made = "1 try" if tries == 1 else f"{tries} tries"
            why = "" if worth_retrying(exc) else "; a write is not repeated blindly"
            raise GraphError(f"Graph is unavailable after {made}{why}: {exc}", status=exc.status) from None

    def pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = getattr(exc, "retry_after", None)
        if hinted is not None:
            if hinted > self.max_retry_after:
                raise GraphError(f"Graph asks to wait {hinted:.0f} s (Retry-After); resuming next cycle")
            return float(hinted)
        return min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))

    def _once(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        response = self._send(method, url, self.tokens.access_token(), **kwargs)
        if response.status_code == 401:
            # An access token can be revoked before it expires: refresh once, then give up.
            response = self._send(method, url, self.tokens.access_token(force_refresh=True), **kwargs)
            if response.status_code == 401:
                raise AuthRevoked(f"Graph refused a fresh token: {_error_text(response)}")
        if response.status_code in RETRY_STATUS:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            raise _Transient(f"HTTP {response.status_code} on {method} {_path(url)}", wait, response.status_code)
        if response.status_code >= 400:
            raise _graph_error(method, url, response)
        return response

    def _send(self, method: str, url: str, token: str, **kwargs: Any) -> requests.Response:
        if _GRAPH_SENDS.search(_path(url)):
            # Graph's reply/replyAll/forward actions send at once (createReply* only drafts);
            # the shared guard's pattern does not know them yet.
            raise SendRefused(f"refused {method} {_path(url)}: circleback never sends mail")
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        with self._slots:
            with self._count_lock:
                self.requests_made += 1
            try:
                return self.session.request(
                    method, url, headers=headers, timeout=self.timeout, allow_redirects=False, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise _Transient(f"{type(exc).__name__} on {method} {_path(url)}") from None


def _json_body(response: requests.Response) -> dict[str, Any]:
    content = response.content
    if not content:
        return {}
    try:
        # json.loads reads the bytes itself (RFC 8259 8.1: UTF-8): no guessing and decoding copy first
        data = json.loads(content)
    except ValueError:
        # A body cut off mid-stream: a network problem, worth a retry of the same read.
        raise _Transient(f"response is not complete JSON ({len(response.content)} bytes)") from None
    if not isinstance(data, dict):
        raise GraphError(f"expected a JSON object, got {type(data).__name__}")
    return data


def _graph_error(method: str, url: str, response: requests.Response) -> GraphError:
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = str(response.json().get("error", {}).get("code", ""))
    return GraphError(
        f"HTTP {response.status_code} on {method} {_path(url)}: {_error_text(response)}",
        status=response.status_code,
        code=code,
        location=response.headers.get("Location", ""),
    )


def _error_text(response: requests.Response) -> str:
    try:
        err = response.json().get("error", {})
        return f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        return response.reason or ""


def _path(url: str) -> str:
    return urlsplit(url).path


# --- Graph JSON -> records ----------------------------------------------------------------------


def graph_time(value: Any) -> datetime | None:
    """A Graph timestamp ("2016-12-09T20:30:00.0000000", "...Z") as aware UTC, or None."""
    if not isinstance(value, str) or len(value) < 19:
        return None
    text = value.strip().removesuffix("Z")
    head, dot, frac = text.partition(".")
    text = head + (dot + frac[:6] if frac else "")  # Graph writes 7 fractional digits; Python reads 6
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def graph_address(value: Any) -> Address | None:
    """``{"emailAddress": {"name", "address"}}`` -> Address, cleaned like every connector's."""
    inner = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(inner, dict):
        return None
    email_addr = clean_address(str(inner.get("address") or ""))
    if not email_addr:
        return None
    return Address(email_addr, clean_text(str(inner.get("name") or "")))


def graph_addresses(values: Any) -> tuple[Address, ...]:
    found: dict[str, Address] = {}
    for value in values if isinstance(values, list) else []:
        addr = graph_address(value)
        if addr:
            found.setdefault(addr.email, addr)
    return tuple(found.values())


def message_record(
    item: dict[str, Any], *, folder: str, sent_folder: bool, mine: frozenset[str]
) -> MailRecord | Skip | None:
    """One message of a delta page; None for ``@removed`` (a removed message still happened)."""
    graph_id = str(item.get("id") or "")
    where = f"{folder}/{graph_id or '?'}"
    if "@removed" in item:
        return None
    if not graph_id:
        return Skip(where, "message without id")
    sender = graph_address(item.get("from")) or graph_address(item.get("sender"))
    if sender is None and not sent_folder:
        return Skip(where, "no usable From address")
    sent = sent_folder or (sender is not None and sender.email in mine)
    first, second = ("sentDateTime", "receivedDateTime") if sent else ("receivedDateTime", "sentDateTime")
    when = graph_time(item.get(first)) or graph_time(item.get(second))
    if when is None:
        return Skip(where, f"no usable {first}")
    message_id = str(item.get("internetMessageId") or "").strip().strip("<>").strip()
    subject = clean_text(str(item.get("subject") or ""))
    headers = _noise_headers(item.get("internetMessageHeaders"))
    precedence = headers.get("precedence", "")
    if not sent and not precedence and _sent_on_behalf(graph_address(item.get("sender")), sender):
        precedence = "bulk"
    auto_submitted = headers.get("auto-submitted", "")
    if not auto_submitted and is_auto_reply_subject(subject):
        auto_submitted = "auto-replied"  # delta shows no Auto-Submitted: the subject says it
    return MailRecord(
        source_id=message_id or f"graph:{graph_id}",
        timestamp=when,
        direction=Direction.SENT if sent else Direction.RECEIVED,
        sender=sender,
        to=graph_addresses(item.get("toRecipients")),
        cc=graph_addresses(item.get("ccRecipients")),
        subject=subject,
        message_id=message_id,
        thread_id=str(item.get("conversationId") or message_id or graph_id),
        folder=folder,
        list_id=headers.get("list-id", ""),
        precedence=precedence,
        auto_submitted=auto_submitted,
        is_draft=item.get("isDraft") is True,
        list_unsubscribe=headers.get("list-unsubscribe", ""),
    )


_ADDRESS_CACHE_MAX = 50_000


class MessageReader:
    """:func:`message_record` for one sync, faster: the same records (tests/connectors/microsoft/
    test_outlook_fastpath.py compares the two over the corpus and generated pages).

    A first sync is CPU-bound (docs/performance.md), so this reads only the ``$select``ed fields,
    cleans each distinct address and name once (a mailbox repeats a few thousand people), takes
    Graph's usual "2025-03-01T10:00:00Z" with one ``fromisoformat``, and builds the record
    positionally. Anything out of the common shape goes through the reference functions.
    """

    __slots__ = ("mine", "_addresses")

    def __init__(self, mine: frozenset[str]) -> None:
        self.mine = mine
        self._addresses: dict[tuple[Any, Any], Address | None] = {}

    def address(self, value: Any) -> Address | None:
        try:
            inner = value["emailAddress"]
            key = (inner["address"], inner.get("name"))
        except (TypeError, KeyError, AttributeError):  # not the usual shape
            return graph_address(value)
        if type(key[0]) is not str or (key[1] is not None and type(key[1]) is not str):
            return graph_address(value)  # only strings are cached: True and 1 are one key, not one name
        try:
            return self._addresses[key]
        except KeyError:
            pass
        found = graph_address(value)
        if len(self._addresses) >= _ADDRESS_CACHE_MAX:
            self._addresses.clear()
        self._addresses[key] = found
        return found

    def addresses(self, values: Any) -> tuple[Address, ...]:
        if type(values) is not list:
            return ()
        if len(values) == 1:
            one = self.address(values[0])
            return (one,) if one else ()
        found: dict[str, Address] = {}
        for value in values:
            addr = self.address(value)
            if addr:
                found.setdefault(addr.email, addr)
        return tuple(found.values())

    @staticmethod
    def time(value: Any) -> datetime | None:
        if type(value) is str and len(value) == 20 and value[19] == "Z" and value[10] == "T":
            try:
                return datetime.fromisoformat(value)  # 3.11 reads the "Z" as UTC
            except ValueError:
                return None
        return graph_time(value)

    def record(self, item: dict[str, Any], folder: str, sent_folder: bool) -> MailRecord | Skip | None:
        if "@removed" in item:
            return None
        graph_id = item.get("id")
        if type(graph_id) is not str or not graph_id:
            return message_record(item, folder=folder, sent_folder=sent_folder, mine=self.mine)
        author = item.get("from")
        relay = item.get("sender")
        sender = self.address(author) or self.address(relay)
        if sender is None and not sent_folder:
            return Skip(f"{folder}/{graph_id}", "no usable From address")
        sent = sent_folder or (sender is not None and sender.email in self.mine)
        if sent:
            when = self.time(item.get("sentDateTime")) or self.time(item.get("receivedDateTime"))
        else:
            when = self.time(item.get("receivedDateTime")) or self.time(item.get("sentDateTime"))
        if when is None:
            return Skip(f"{folder}/{graph_id}", f"no usable {'sentDateTime' if sent else 'receivedDateTime'}")
        message_id = item.get("internetMessageId")
        message_id = message_id.strip().strip("<>").strip() if type(message_id) is str else str(
            message_id or "").strip().strip("<>").strip()
        subject = item.get("subject")
        subject = clean_text(subject if type(subject) is str else str(subject or ""))
        raw_headers = item.get("internetMessageHeaders")
        headers = _noise_headers(raw_headers) if raw_headers else {}
        precedence = headers.get("precedence", "")
        if not sent and not precedence and relay != author and _sent_on_behalf(self.address(relay), sender):
            precedence = "bulk"
        auto_submitted = headers.get("auto-submitted", "")
        if not auto_submitted and (":" in subject or "：" in subject) and is_auto_reply_subject(subject):
            auto_submitted = "auto-replied"
        thread = item.get("conversationId")
        return new_mail_record(  # positional, in MailRecord's field order (base.new_mail_record checks the count)
            message_id or f"graph:{graph_id}",
            when,
            Direction.SENT if sent else Direction.RECEIVED,
            sender,
            self.addresses(item.get("toRecipients")),
            self.addresses(item.get("ccRecipients")),
            subject,
            message_id,
            "",
            (),
            str(thread or message_id or graph_id),
            folder,
            headers.get("list-id", ""),
            precedence,
            auto_submitted,
            "",
            item.get("isDraft") is True,
            "",
            headers.get("list-unsubscribe", ""),
        )


_NOISE_HEADERS = frozenset({"list-id", "precedence", "auto-submitted", "list-unsubscribe"})


def _noise_headers(values: Any) -> dict[str, str]:
    """List-Id, Precedence, Auto-Submitted and List-Unsubscribe from ``internetMessageHeaders``, when given."""
    found: dict[str, str] = {}
    for header in values if isinstance(values, list) else ():
        if isinstance(header, dict):
            name = str(header.get("name") or "").strip().lower()
            if name in _NOISE_HEADERS and name not in found:
                found[name] = clean_text(str(header.get("value") or ""))
    return found


def _sent_on_behalf(relay: Address | None, author: Address | None) -> bool:
    """Graph's ``sender`` (the Sender header) is a mailbox of another domain than ``from``.

    That is how list servers and bulk senders relay an author's mail (Sender:
    list-bounces@lists.example, bounce-mc.us5_1234@mail.mcsv.net). A colleague or an assistant
    sending on someone's behalf writes from the same domain, and still counts.
    """
    if author is None or relay is None or relay.email == author.email:
        return False
    return relay.email.rpartition("@")[2] != author.email.rpartition("@")[2]


def event_record(item: dict[str, Any], *, mine: frozenset[str], zone: ZoneInfo, now: datetime) -> EventRecord | Skip:
    """One event of a calendarView delta page (asked for in UTC)."""
    graph_id = str(item.get("id") or "").strip()
    if not graph_id:
        return Skip("calendar/?", "event without id")
    if "@removed" in item:
        # Only the id survives; the ledger forgets what it knew of it (start/end are placeholders).
        return EventRecord(source_id=graph_id, uid=graph_id, start=now, end=now, cancelled=True)
    all_day = item.get("isAllDay") is True
    start = _event_time(item.get("start"), zone, all_day)
    end = _event_time(item.get("end"), zone, all_day)
    if start is None:
        return Skip(f"calendar/{graph_id}", "no usable start time")
    organizer = graph_address(item.get("organizer"))
    attendees = _attendees(item.get("attendees"), organizer)
    return EventRecord(
        source_id=graph_id,  # calendarView gives each occurrence its own id
        uid=str(item.get("iCalUId") or graph_id),
        start=start,
        end=max(end or start, start),
        title=clean_text(str(item.get("subject") or "")),
        organizer=organizer.email if organizer else "",
        attendees=attendees,
        cancelled=item.get("isCancelled") is True,
        my_status=_my_status(item, attendees, mine),
        all_day=all_day,
    )


def _event_time(value: Any, zone: ZoneInfo, all_day: bool) -> datetime | None:
    if not isinstance(value, dict):
        return None
    when = graph_time(value.get("dateTime"))
    if when is None:
        return None
    if all_day:
        # An all-day date belongs to the user's own zone, whatever zone Graph printed it in.
        return datetime.combine(when.date(), datetime.min.time(), zone).astimezone(UTC)
    tz_name = str(value.get("timeZone") or "UTC")
    if tz_name.upper() in ("UTC", "Z", "COORDINATED UNIVERSAL TIME"):
        return when
    try:  # we ask for UTC (Prefer: outlook.timezone); an IANA name is still readable
        return when.replace(tzinfo=ZoneInfo(tz_name)).astimezone(UTC)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # a Windows zone name we cannot map: say so rather than guess


def _attendees(values: Any, organizer: Address | None) -> tuple[Attendee, ...]:
    found: dict[str, Attendee] = {}
    for value in values if isinstance(values, list) else []:
        addr = graph_address(value)
        if addr is None or addr.email in found:
            continue
        status = value.get("status") if isinstance(value.get("status"), dict) else {}
        response = str(status.get("response") or "").lower()
        found[addr.email] = Attendee(
            email=addr.email,
            name=addr.name,
            status=_RESPONSES.get(response, ResponseStatus.UNKNOWN),
            is_organizer=organizer is not None and addr.email == organizer.email,
            is_resource=str(value.get("type") or "").lower() == "resource",
        )
    if organizer and organizer.email not in found:
        # Graph lists the organizer apart from the attendees; they take part all the same.
        return (Attendee(organizer.email, organizer.name, ResponseStatus.ACCEPTED, True), *found.values())
    return tuple(found.values())


def _my_status(item: dict[str, Any], attendees: tuple[Attendee, ...], mine: frozenset[str]) -> ResponseStatus:
    if item.get("isOrganizer") is True:
        return ResponseStatus.ACCEPTED
    own = item.get("responseStatus")
    if isinstance(own, dict) and own.get("response"):
        return _RESPONSES.get(str(own["response"]).lower(), ResponseStatus.UNKNOWN)
    for person in attendees:
        if person.email in mine:
            return person.status
    return ResponseStatus.UNKNOWN


# --- drafts: RFC 5322 bytes -> Graph JSON ---------------------------------------------------------

_PARSER = BytesParser(policy=email.policy.default)


def draft_json(message: bytes, key: str) -> tuple[dict[str, Any], str]:
    """The POST /me/messages body for ``message``, and the Message-ID it answers ("" if none)."""
    msg = _PARSER.parsebytes(message)
    if str(msg.get(KEY_HEADER, "")).strip() != key:
        raise ValueError(f"the draft must carry 'X-Circleback-Key: {key}' in its header")
    body = {
        "subject": clean_text(str(msg.get("subject", ""))),
        "body": {"contentType": "text", "content": _plain_body(msg)},
        "toRecipients": _recipients(msg, "to"),
        "ccRecipients": _recipients(msg, "cc"),
        "singleValueExtendedProperties": [{"id": KEY_PROPERTY, "value": key}],
    }
    return body, str(msg.get("in-reply-to", "")).strip().strip("<>")


def _plain_body(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


def _recipients(msg: EmailMessage, name: str) -> list[dict[str, Any]]:
    out = []
    for header in msg.get_all(name) or []:
        for addr in getattr(header, "addresses", ()):
            email_addr = clean_address(addr.addr_spec)
            if email_addr:
                out.append({"emailAddress": {"address": email_addr, "name": clean_text(addr.display_name)}})
    return out


# --- cursor state ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Folder:
    id: str
    name: str
    sent: bool = False


# A folder that goes on alone after its batch: (its pass, the URL, seconds to wait first, tries made).
Onward = tuple["FolderPass", str, float, int]


@dataclass(slots=True)
class FolderPass:
    """One folder's share of a mail sync."""

    folder: Folder
    link: str | None  # where the next sync resumes: a deltaLink, or a nextLink mid-round
    records: list[MailRecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    requests: int = 0
    resynced: bool = False


# --- the connector ---------------------------------------------------------------------------------


class OutlookConnector(Connector):
    kind: ClassVar[str] = "outlook"

    def __init__(
        self,
        config: OutlookAccount,
        context: ConnectorContext | None = None,
        *,
        tokens: TokenSource | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(config, context)
        self.config: OutlookAccount = config
        tokens = tokens or MsalTokens(config, state_dir=self.context.state_dir)
        self.client = GraphClient(config.graph_endpoint, tokens, sleep=sleep)
        self.skip_names = frozenset(s.lower() for s in config.skip_folders)

    def close(self) -> None:
        self.client.close()

    # -- MailSource ---------------------------------------------------------------------------

    def sync_mail(self, cursor: Cursor | None) -> SyncResult[MailRecord]:
        state = cursor if cursor and cursor.get("v") == CURSOR_VERSION else None
        now = self.context.current_time()
        folders, me, listed_at = self._folders(state, now)
        links = {fid: f.get("link") for fid, f in (state or {}).get("folders", {}).items()}
        reader = MessageReader(self.context.my_addresses | frozenset(me))
        progress = SyncProgress(self.account, "reading mail headers", None, min_total=PROGRESS_FROM, unit="messages")
        lock = threading.Lock()  # the folders are read by several threads

        def count(read: int) -> None:
            with lock:
                progress.advance(read)

        passes = [FolderPass(f, links.get(f.id)) for f in folders]
        counters = {p.folder.id: None if p.link else count for p in passes}  # first reads only
        with progress, ThreadPoolExecutor(max_workers=MAX_CONCURRENT,
                                          thread_name_prefix=f"graph-{self.account}") as pool:
            # A folder read for the first time goes alone at once: its pages are big, and in a batch of
            # more than 4 they would run one after the other. A batch of one is one request all the same.
            linked = [p for p in passes if p.link]
            onward: list[Onward] = [(p, self._initial_mail_url(p.folder), 0.0, 0) for p in passes if not p.link]
            if len(linked) == 1:
                onward.append((linked[0], str(linked[0].link), 0.0, 0))
            elif linked:
                onward += self._first_pages(linked, reader, counters)
            wait = max((job[2] for job in onward), default=0.0)
            if wait:
                self.client.pause(wait)  # a throttled item's Retry-After, once for all of them
            list(pool.map(lambda job: self._follow(job[0], job[1], reader, counters[job[0].folder.id], job[3]),
                          onward))
        return self._mail_result(passes, me, listed_at, now)

    def _first_pages(self, passes: list[FolderPass], reader: MessageReader,
                     counters: dict[str, Callable[[int], None] | None]) -> list[Onward]:
        """Every folder's next delta page in JSON batches; what goes on alone: (pass, url, wait, tried)."""
        onward: list[Onward] = []
        todo: list[tuple[FolderPass, str]] = []
        for p in passes:
            url = str(p.link)
            if self.client.relative(url) is None:
                onward.append((p, url, 0.0, 0))  # not ours to batch (a link of another shape): alone
            else:
                todo.append((p, url))
        for start in range(0, len(todo), BATCH_MAX):
            chunk = todo[start : start + BATCH_MAX]
            try:
                answers = self.client.batch(self._batch_items([url for _, url in chunk]))
            except GraphError as exc:
                if exc.status not in (400, 404, 405, 501):
                    for p, _ in chunk:
                        p.skipped.append(Skip(p.folder.name, f"sync stopped, resumes next cycle: {exc}"))
                    continue
                log.info("%s: $batch refused (%s); reading folders one by one", self.account, exc.status)
                onward += [(p, url, 0.0, 0) for p, url in chunk]
                continue
            for n, (p, url) in enumerate(chunk, start=1):
                job = self._batch_answer(p, url, answers.get(str(n)), reader, counters[p.folder.id])
                if job is not None:
                    onward.append((p, *job))
        return onward

    def _batch_items(self, urls: list[str]) -> list[dict[str, Any]]:
        headers = {"Prefer": f"odata.maxpagesize={self.config.page_size}"}
        items: list[dict[str, Any]] = []
        for n, url in enumerate(urls, start=1):
            item: dict[str, Any] = {"id": str(n), "method": "GET", "url": self.client.relative(url), "headers": headers}
            if len(urls) > MAX_CONCURRENT and n > 1:
                item["dependsOn"] = [str(n - 1)]  # serial: never more than 4 at once in the mailbox
            items.append(item)
        return items

    def _batch_answer(self, p: FolderPass, url: str, answer: dict[str, Any] | None, reader: MessageReader,
                      count: Callable[[int], None] | None) -> tuple[str, float, int] | None:
        """One folder's item of a batch: its page taken, or where it goes on alone (url, wait, tried)."""
        answer = answer or {}
        status = answer.get("status")
        status = status if type(status) is int else 0  # an answer without a status is an error of its own
        raw_headers = answer.get("headers")
        headers = {str(k).lower(): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
        body = answer.get("body")
        if status == 200 and isinstance(body, dict):
            onward = self._take_page(p, body, reader, count)
            return (onward, 0.0, 0) if onward else None
        if status in RETRY_STATUS:
            wait = retry_after_seconds(headers.get("retry-after"))
            if wait is not None and wait > self.client.max_retry_after:
                p.skipped.append(Skip(p.folder.name, f"Graph asks to wait {wait:.0f} s (Retry-After); "
                                                     "resuming next cycle"))
                return None
            return url, wait if wait is not None else self.client.backoff_base, 1
        if status == FAILED_DEPENDENCY or not answer:
            return url, 0.0, 0  # it never ran: it goes again
        error = body.get("error", {}) if isinstance(body, dict) else {}
        exc = GraphError(f"HTTP {status} on GET {_path(url)} (in $batch): {error.get('code', '')}".rstrip(": "),
                         status=status, code=str(error.get("code", "")), location=headers.get("location", ""))
        restart = self._on_error(p, exc)
        return (restart, 0.0, 0) if restart else None

    def _mail_result(self, passes: list[FolderPass], me: list[str], listed_at: str, now: datetime) -> SyncResult:
        horizon = now - timedelta(days=self.context.lookback_days)
        seen: set[str] = set()
        records: list[MailRecord] = []
        skipped: list[Skip] = []
        for p in passes:
            skipped += p.skipped
            for r in p.records:
                # The same change can come twice (delta replays); and older mail is outside lookback.
                if r.source_id not in seen and r.timestamp >= horizon:
                    seen.add(r.source_id)
                    records.append(r)
        cursor = {
            "v": CURSOR_VERSION,
            "listed_at": listed_at,
            "me": me,
            "folders": {p.folder.id: {"name": p.folder.name, "sent": p.folder.sent, "link": p.link} for p in passes},
        }
        return SyncResult(records=records, cursor=cursor, skipped=skipped)

    def _folders(self, state: Cursor | None, now: datetime) -> tuple[list[Folder], list[str], str]:
        listed = graph_time(state.get("listed_at")) if state else None
        if state and listed and now - listed < FOLDER_REFRESH:
            known = [Folder(fid, f["name"], bool(f["sent"])) for fid, f in state["folders"].items()]
            return known, list(state.get("me", [])), state["listed_at"]
        folders, me = self.discover()
        return folders, me, now.isoformat()

    def discover(self) -> tuple[list[Folder], list[str]]:
        """Every mail folder to read (Sent Items marked) and my own addresses, in a few round trips."""
        # Independent lookups go out together; the semaphore keeps them within 4 in flight.
        names = sorted({"sentitems"} | (self.skip_names & set(WELL_KNOWN)))
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT, thread_name_prefix=f"graph-{self.account}") as pool:
            me = pool.submit(self._my_addresses)
            top = pool.submit(self._folder_pages, "/me/mailFolders")
            ids = dict(zip(names, pool.map(self._well_known_id, names), strict=True))
            skip_ids = {fid for name, fid in ids.items() if fid and name in self.skip_names}
            found = list(self._walk_folders(top.result(), "", skip_ids))
            return [Folder(fid, name, sent=fid == ids["sentitems"]) for fid, name in found], me.result()

    def discover_folders(self) -> list[Folder]:
        return self.discover()[0]

    def _my_addresses(self) -> list[str]:
        me = self.client.get_json(self.client.url("/me", {"$select": "mail,userPrincipalName"}))
        found = {clean_address(str(me.get(k) or "")) for k in ("mail", "userPrincipalName")}
        return sorted(a for a in found if a)

    def _well_known_id(self, name: str) -> str:
        # v1.0 mailFolder has no wellKnownName property, but a well-known name works as
        # the folder id in the path; ids do not change, so this runs once per refresh.
        try:
            folder = self.client.get_json(self.client.url(f"/me/mailFolders/{name}", {"$select": "id"}))
        except GraphError as exc:
            if exc.not_found:
                return ""  # e.g. a mailbox without an archive folder
            raise
        return str(folder.get("id", ""))

    def _folder_pages(self, path: str) -> list[dict[str, Any]]:
        params = {"$select": "id,displayName,childFolderCount", "$top": "100"}
        url: str | None = self.client.url(path, params)
        out: list[dict[str, Any]] = []
        while url:
            page = self.client.get_json(url)
            out += [f for f in page.get("value", []) if isinstance(f, dict)]
            url = self._next(page)
        return out

    def _walk_folders(self, level: list[dict[str, Any]], prefix: str, skip_ids: set[str]) -> Iterator[tuple[str, str]]:
        for f in level:
            fid, name = str(f.get("id", "")), clean_text(str(f.get("displayName", "")))
            if not fid or fid in skip_ids or name.lower() in self.skip_names:
                continue  # a skipped folder's subfolders go with it
            full = f"{prefix}/{name}" if prefix else name
            yield fid, full
            if int(f.get("childFolderCount") or 0) > 0:
                children = self._folder_pages(f"/me/mailFolders/{quote(fid, safe='')}/childFolders")
                yield from self._walk_folders(children, full, skip_ids)

    def _next(self, page: dict[str, Any]) -> str | None:
        link = page.get("@odata.nextLink")
        if link and not self.client.same_origin(str(link)):
            raise GraphError(f"refusing to follow a nextLink to another host: {urlsplit(str(link)).netloc}")
        return str(link) if link else None

    def _initial_mail_url(self, folder: Folder) -> str:
        path = f"/me/mailFolders/{quote(folder.id, safe='')}/messages/delta"
        return self.client.url(path, {"$select": MESSAGE_FIELDS})

    def _follow(self, result: FolderPass, url: str, reader: MessageReader,
                count: Callable[[int], None] | None, tried: int = 0) -> None:
        """Read one folder's delta pages from ``url`` to its deltaLink, one after the other."""
        prefer = f"odata.maxpagesize={self.config.page_size}"
        next_url: str | None = url
        while next_url:
            try:
                page = self.client.get_json(next_url, prefer=prefer, tried=tried)
                tried = 0
            except GraphError as exc:
                next_url = self._on_error(result, exc)
                continue
            next_url = self._take_page(result, page, reader, count)

    def _on_error(self, result: FolderPass, exc: GraphError) -> str | None:
        """Where to restart a folder after ``exc`` (its delta state expired), or None: skipped, once."""
        folder = result.folder
        if exc.needs_resync and not result.resynced:
            log.info("%s: folder %s: delta state expired (%s); resyncing that folder", self.account,
                     folder.name, exc.code or exc.status)
            result.resynced = True
            return self._restart_url(exc, folder)
        result.skipped.append(Skip(folder.name, f"sync stopped, resumes next cycle: {exc}"))
        return None

    def _take_page(self, result: FolderPass, page: dict[str, Any], reader: MessageReader,
                   count: Callable[[int], None] | None) -> str | None:
        """Take one delta page's messages; the nextLink to read next, or None at the deltaLink."""
        folder = result.folder
        result.requests += 1
        if not self._take_messages(page, folder, reader, result):
            return None  # not a delta page at all: keep the old link, say it once
        if count is not None:
            count(len(page["value"]))
        next_link, delta_link = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        follow = str(next_link or delta_link or "")
        if not follow or not self.client.same_origin(follow):
            result.skipped.append(Skip(folder.name, "delta page without a usable nextLink or deltaLink"))
            return None
        result.link = follow
        return follow if next_link else None

    def _restart_url(self, exc: GraphError, folder: Folder) -> str:
        # 410 carries a Location to restart from (delta-query-overview); follow it only home.
        if exc.location and self.client.same_origin(exc.location):
            return exc.location
        return self._initial_mail_url(folder)

    def _take_messages(self, page: dict[str, Any], folder: Folder, reader: MessageReader, into: FolderPass) -> bool:
        values = page.get("value")
        if not isinstance(values, list):
            into.skipped.append(Skip(folder.name, "delta page without a value list"))
            return False
        read, name, sent = reader.record, folder.name, folder.sent
        records, skipped = into.records, into.skipped
        for item in values:
            if type(item) is not dict:
                skipped.append(Skip(name, "delta item is not an object"))
                continue
            got = read(item, name, sent)
            if type(got) is MailRecord:
                records.append(got)
            elif got is not None:
                skipped.append(got)
        return True

    # -- CalendarSource -----------------------------------------------------------------------

    def sync_events(self, cursor: Cursor | None) -> SyncResult[EventRecord]:
        now = self.context.current_time()
        lookahead = self.config.lookahead or timedelta(days=self.context.lookahead_days)
        lookback = timedelta(days=self.context.lookback_days)
        state = cursor if cursor and cursor.get("v") == CURSOR_VERSION else None
        full = state is None or self._window_moves(state, now, lookback, lookahead)
        if full:
            state = self._new_window(now, lookback, lookahead)
        assert state is not None
        try:
            records, skipped, link = self._calendar_round(state["link"], now)
        except GraphError as exc:
            if full or not exc.needs_resync:
                raise
            log.info("%s: calendar delta state expired (%s); full resync", self.account, exc.code or exc.status)
            state, full = self._new_window(now, lookback, lookahead), True
            records, skipped, link = self._calendar_round(state["link"], now)
        return SyncResult(records=records, cursor={**state, "link": link}, skipped=skipped, full=full)

    def _window_moves(self, state: Cursor, now: datetime, lookback: timedelta, lookahead: timedelta) -> bool:
        start, end = graph_time(state.get("start")), graph_time(state.get("end"))
        if start is None or end is None or not state.get("link"):
            return True
        if state.get("span") != [lookback.total_seconds(), lookahead.total_seconds()]:
            return True  # the configured window changed
        # Re-anchor once half the lookahead is used up, so meetings ahead stay visible.
        return end - now < lookahead / 2

    def _new_window(self, now: datetime, lookback: timedelta, lookahead: timedelta) -> Cursor:
        start, end = now - lookback, now + lookahead
        params = {"startDateTime": _iso(start), "endDateTime": _iso(end)}
        return {
            "v": CURSOR_VERSION,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "span": [lookback.total_seconds(), lookahead.total_seconds()],
            "link": self.client.url("/me/calendarView/delta", params),
        }

    def _calendar_round(self, url: str, now: datetime) -> tuple[list[EventRecord], list[Skip], str]:
        # Prefer preferences may share one header (RFC 7240 2); UTC keeps times unambiguous.
        prefer = f'odata.maxpagesize={self.config.page_size}, outlook.timezone="UTC"'
        zone = ZoneInfo(self.context.timezone)
        records: dict[str, EventRecord] = {}
        skipped: list[Skip] = []
        while True:
            page = self.client.get_json(url, prefer=prefer)
            for item in page.get("value") or []:
                got = event_record(item, mine=self.context.my_addresses, zone=zone, now=now) if isinstance(
                    item, dict) else Skip("calendar/?", "delta item is not an object")
                if isinstance(got, Skip):
                    skipped.append(got)
                elif str(item.get("type", "")).lower() != "seriesmaster":  # occurrences carry the meetings
                    records[got.source_id] = got  # a replayed change: the later copy wins
            follow = str(page.get("@odata.nextLink") or page.get("@odata.deltaLink") or "")
            if not follow or not self.client.same_origin(follow):
                raise GraphError("calendar delta page without a usable nextLink or deltaLink")
            url = follow
            if not page.get("@odata.nextLink"):
                return list(records.values()), skipped, url

    # -- DraftBox -----------------------------------------------------------------------------

    def create_draft(self, message: bytes, key: str, reply_to: str | None = None) -> DraftRef:
        """Save ``message`` in Drafts; never retried blindly (the outbox reconciles first)."""
        body, in_reply_to = draft_json(message, key)
        original = self._find_message(reply_to or in_reply_to) if (reply_to or in_reply_to) else None
        if original:
            draft = self._create_reply(original, body)
        else:
            draft = self.client.write("POST", self.client.url("/me/messages"), body)
        draft_id = str(draft.get("id") or "")
        if not draft_id:
            raise GraphError("Graph created a draft but returned no id")
        return DraftRef(self.account, draft_id, key)

    def _create_reply(self, original: str, body: dict[str, Any]) -> dict[str, Any]:
        # The whole draft goes in with createReply, tag and body together: createReply takes "any
        # writeable properties" in its message parameter (message-createreply; only comment and
        # message.body together are refused). createReply then PATCH left, when createReply was
        # stored but answered 503, a tagged draft the outbox reconciled as written while its body
        # never was. One request is stored whole or not at all.
        reply_url = self.client.url(f"/me/messages/{quote(original, safe='')}/createReply")
        return self.client.write("POST", reply_url, {"message": body})

    def _find_message(self, message_id: str) -> str | None:
        """The Graph id of the newest message with this Message-ID, or None."""
        wanted = "<" + message_id.strip().strip("<>") + ">"
        params = {
            "$filter": f"internetMessageId eq '{wanted.replace(chr(39), chr(39) * 2)}'",
            "$select": "id,receivedDateTime",
        }
        page = self.client.get_json(self.client.url("/me/messages", params))
        found = [m for m in page.get("value", []) if isinstance(m, dict) and m.get("id")]
        if not found:
            log.info("%s: %s not found; the draft starts a new thread", self.account, wanted)
            return None
        newest = max(found, key=lambda m: graph_time(m.get("receivedDateTime")) or datetime.min.replace(tzinfo=UTC))
        return str(newest["id"])

    def list_drafts(self) -> list[DraftRef]:
        # The tag by $expand: Graph need not return internetMessageHeaders for a draft. They are
        # still asked for (a few lines a draft), so a draft tagged only by header is found too.
        params = {
            "$select": "internetMessageHeaders",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{KEY_PROPERTY}')",
            "$top": "100",
        }
        url: str | None = self.client.url("/me/mailFolders/drafts/messages", params)
        out: list[DraftRef] = []
        while url:
            page = self.client.get_json(url)
            for item in page.get("value", []):
                if isinstance(item, dict) and item.get("id"):
                    out.append(DraftRef(self.account, str(item["id"]), _key_of(item)))
            url = self._next(page)
        return out

    def get_draft(self, ref: DraftRef) -> bytes | None:
        try:
            return self.client.get_bytes(self.client.url(f"/me/messages/{quote(ref.ref, safe='')}/$value"))
        except GraphError as exc:
            if exc.not_found:  # Graph answers 400 ErrorInvalidIdMalformed for ids it never issued
                return None
            raise


def _key_of(item: dict[str, Any]) -> str:
    for prop in item.get("singleValueExtendedProperties") or []:
        # Graph answers the id as it stores it, which need not be the case we asked in.
        if isinstance(prop, dict) and str(prop.get("id", "")).lower() == KEY_PROPERTY.lower():
            return clean_text(str(prop.get("value", "")))
    for header in item.get("internetMessageHeaders") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == KEY_HEADER:
            return clean_text(str(header.get("value", "")))
    return ""


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
