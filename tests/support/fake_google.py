"""A fake Google: the Gmail v1 and Calendar v3 subset circleback calls, over real HTTP.

The real ``googleapiclient`` (static discovery, ``client_options={"api_endpoint": ...}``)
talks to a :class:`ThreadingHTTPServer` on 127.0.0.1, so request building, the
batch multipart format, error parsing and retries are exercised as in production
(docs/STYLE.md #3: fake the remote at the HTTP level, never the client library).

The fake keeps a synthetic mailbox and calendars, charges quota units per method
(docs/PROVIDERS.md table) against a per-user token bucket that can be time-scaled for
benchmarks, serves a token endpoint for refreshes, and injects faults on demand.
Any request to a send endpoint is recorded in :attr:`FakeGoogle.send_attempts`;
the ``fake_google`` fixture fails the test if that list is not empty.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

GMAIL = "/gmail/v1/users/me"
# Units per call, developers.google.com/workspace/gmail/api/reference/quota (docs/PROVIDERS.md).
GMAIL_COSTS = {
    "messages.list": 5,
    "messages.get": 5,
    "threads.get": 10,
    "history.list": 2,
    "drafts.create": 10,
    "drafts.list": 5,
    "drafts.get": 5,
    "drafts.delete": 10,
    "getProfile": 1,
    "events.list": 1,
}
NOISE_CATEGORIES = ("CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "CATEGORY_UPDATES", "CATEGORY_FORUMS")
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


class HttpProblem(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def google_error(status: int, reason: str, message: str) -> HttpProblem:
    return HttpProblem(status, {"error": {"code": status, "message": message, "errors": [
        {"domain": "global", "reason": reason, "message": message}]}})


@dataclass
class Fault:
    """One injected failure: ``kind`` on the next ``times`` calls whose method matches."""

    method: str  # "messages.get", "batch", "token", "*", ...
    kind: str  # 429 | 403-user | 403-other | 500 | 503 | slow | drop | truncate | 404-history | 410-sync
    times: int = 1
    retry_after: float = 0.0
    delay: float = 0.0


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    labels: set[str]
    internal_ms: int
    raw: bytes
    history_id: int
    _header_cache: tuple[bytes, list[tuple[str, str]]] | None = field(default=None, repr=False, compare=False)

    def headers(self, wanted: list[str] | None) -> list[dict[str, str]]:
        keep = {w.lower() for w in wanted} if wanted else None
        return [
            {"name": k, "value": v}
            for k, v in self._parsed()
            if keep is None or k.lower() in keep
        ]

    def _parsed(self) -> list[tuple[str, str]]:
        # Parsed once per stored message: a benchmark's batches would otherwise spend the
        # fake's CPU (and, in-process, the client's GIL) re-parsing the same headers.
        if self._header_cache is None or self._header_cache[0] is not self.raw:
            self._header_cache = (self.raw, [(k, str(v)) for k, v in _HEADERS.parsebytes(self.raw).items()])
        return self._header_cache[1]

    def resource(self, fmt: str, wanted: list[str] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "threadId": self.thread_id, "labelIds": sorted(self.labels),
                               "historyId": str(self.history_id), "internalDate": str(self.internal_ms),
                               "sizeEstimate": len(self.raw)}
        if fmt == "raw":
            out["raw"] = base64.urlsafe_b64encode(self.raw).decode()
        elif fmt in ("metadata", "full"):
            out["payload"] = {"mimeType": "text/plain", "headers": self.headers(wanted)}
        return out


@dataclass
class StoredEvent:
    data: dict[str, Any]
    version: int


class Bucket:
    """A per-user token bucket: ``per_minute`` units refill over ``60 / time_scale`` seconds."""

    def __init__(self, per_minute: float, burst: float, time_scale: float = 1.0) -> None:
        self.rate = per_minute * time_scale / 60.0
        self.capacity = burst
        self.level = burst
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self, units: float) -> float:
        """0 if taken, else seconds until ``units`` are available (nothing taken)."""
        with self.lock:
            now = time.monotonic()
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now
            if units <= self.level + 1e-9:
                self.level -= units
                return 0.0
            return (units - self.level) / self.rate


@dataclass
class FakeGoogle:
    me: str = "me@example.org"
    latency: float = 0.0  # seconds added to every HTTP round trip
    quota_per_minute: float | None = None  # None: no per-user limit
    burst: float | None = None  # bucket size; default: three seconds' worth, like the client's limiter
    time_scale: float = 1.0
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    drafts: dict[str, str] = field(default_factory=dict)  # draft id -> message id
    calendars: dict[str, dict[str, StoredEvent]] = field(default_factory=lambda: {"primary": {}})
    history: list[tuple[int, str, str, list[str]]] = field(default_factory=list)  # (hid, type, msg id, labels)
    min_history_id: int = 0  # start ids below this answer 404
    history_id: int = 1000
    calendar_version: int = 0
    expired_sync_tokens: set[str] = field(default_factory=set)
    refresh_tokens: dict[str, bool] = field(default_factory=lambda: {"rt-good": True})  # token -> valid
    access_tokens: set[str] = field(default_factory=set)
    require_auth: bool = True
    faults: list[Fault] = field(default_factory=list)
    units: Counter[str] = field(default_factory=Counter)  # method -> units charged
    calls: Counter[str] = field(default_factory=Counter)  # method -> calls served (batch items each)
    http_requests: int = 0
    send_attempts: list[str] = field(default_factory=list)
    seen_q: list[str] = field(default_factory=list)
    throttled: int = 0
    # What the user granted. With gmail.metadata among them Google refuses format=raw and
    # format=full on every read, even when gmail.compose is granted too (docs/PROVIDERS.md).
    scopes: frozenset[str] = frozenset({"gmail.metadata", "gmail.compose"})

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.threads: dict[str, list[str]] = {}  # thread id -> message ids
        self._sorted: dict[tuple[tuple[str, ...], bool], tuple[tuple[int, int], list[str]]] = {}
        self._ids = itertools.count(0x18F0000000000000)
        self.bucket: Bucket | None = None
        if self.quota_per_minute:
            burst = self.burst or self.quota_per_minute * self.time_scale / 20
            self.bucket = Bucket(self.quota_per_minute, burst, self.time_scale)
        self.server: ThreadingHTTPServer | None = None

    # -- mailbox -------------------------------------------------------------

    def new_id(self) -> str:
        return f"{next(self._ids):016x}"

    def add_message(self, raw: bytes, labels: tuple[str, ...] | list[str] = ("INBOX",), *,
                    thread_id: str | None = None, internal_ms: int | None = None,
                    record_history: bool = True) -> StoredMessage:
        with self.lock:
            mid = self.new_id()
            self.history_id += 1
            msg = StoredMessage(mid, thread_id or mid, set(labels), internal_ms or _date_ms(raw),
                                raw, self.history_id)
            self.messages[mid] = msg
            self.threads.setdefault(msg.thread_id, []).append(mid)
            if record_history:
                self.history.append((self.history_id, "messageAdded", mid, sorted(msg.labels)))
            return msg

    def remove_labels(self, mid: str, labels: list[str]) -> None:
        with self.lock:
            self.history_id += 1
            self.messages[mid].labels -= set(labels)
            self.messages[mid].history_id = self.history_id
            self.history.append((self.history_id, "labelRemoved", mid, labels))

    def add_labels(self, mid: str, labels: list[str]) -> None:
        with self.lock:
            self.history_id += 1
            self.messages[mid].labels |= set(labels)
            self.messages[mid].history_id = self.history_id
            self.history.append((self.history_id, "labelAdded", mid, labels))

    def send_draft(self, did: str) -> str:
        """The user sends the draft from Gmail: its message leaves Drafts for Sent (one history
        record each). The fake never sends anything anywhere; this only moves the message."""
        with self.lock:
            mid = self.drafts.pop(did)
            self.remove_labels(mid, ["DRAFT"])
            self.add_labels(mid, ["SENT"])
            return mid

    def discard_draft(self, did: str) -> None:
        """The user deletes the draft in Gmail ("Discard drafts"): the message is gone for good."""
        with self.lock:
            self.delete_message(self.drafts.pop(did))

    def delete_message(self, mid: str) -> None:
        """Gone for good (drafts.delete, or emptied from Trash): history keeps a messageDeleted."""
        with self.lock:
            self.history_id += 1
            msg = self.messages.pop(mid)
            self.threads[msg.thread_id].remove(mid)
            self.history.append((self.history_id, "messageDeleted", mid, sorted(msg.labels)))

    def edit_draft(self, did: str, raw: bytes) -> StoredMessage:
        """The user saves the draft again (Gmail web, drafts.update): same draft id, a new message."""
        with self.lock:
            old = self.messages[self.drafts[did]]
            self.delete_message(old.id)
            new = self.add_message(raw, ["DRAFT"], thread_id=old.thread_id)
            self.drafts[did] = new.id
            return new

    def expire_history(self) -> None:
        """Every start id handed out so far becomes too old (Gmail keeps ~a week, sometimes hours)."""
        with self.lock:
            self.min_history_id = self.history_id + 1
            self.history_id += 1

    def sorted_ids(self, labels: list[str], include_spam_trash: bool) -> list[str]:
        # Memoised per label filter until the mailbox changes (every change adds a message,
        # bumps history_id or removes a message): sorting 100,000 messages for every list
        # page, under the lock, would make the fake - not the client - the benchmark's bottleneck.
        with self.lock:
            stamp = (len(self.messages), self.history_id)
            key = (tuple(sorted(labels)), include_spam_trash)
            cached = self._sorted.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            found = [
                m for m in self.messages.values()
                if all(lab in m.labels for lab in labels)
                and (include_spam_trash or not m.labels & {"SPAM", "TRASH"})
            ]
            found.sort(key=lambda m: (m.internal_ms, m.id), reverse=True)  # Gmail lists newest first
            ordered = [m.id for m in found]
            self._sorted[key] = (stamp, ordered)
            return ordered

    # -- calendar ------------------------------------------------------------

    def put_event(self, event: dict[str, Any], calendar: str = "primary") -> None:
        with self.lock:
            self.calendar_version += 1
            self.calendars.setdefault(calendar, {})[event["id"]] = StoredEvent(dict(event), self.calendar_version)

    def cancel_event(self, event_id: str, calendar: str = "primary") -> None:
        with self.lock:
            stored = self.calendars[calendar][event_id]
            self.put_event({"id": event_id, "status": "cancelled", "start": stored.data.get("start"),
                            "end": stored.data.get("end")}, calendar)

    # -- quota and faults ----------------------------------------------------

    def charge(self, method: str) -> None:
        cost = GMAIL_COSTS.get(method, 1)
        if self.bucket is not None:
            wait = self.bucket.take(cost)
            if wait:
                with self.lock:
                    self.throttled += 1
                raise _rate_limited(wait)
        with self.lock:
            self.units[method] += cost
            self.calls[method] += 1

    def next_fault(self, method: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                wire = f.kind in ("drop", "truncate")  # the handler applies those on the wire
                if f.times > 0 and not wire and (f.method == method or f.method == "*"):
                    f.times -= 1
                    return f
        return None

    def inject(self, method: str, kind: str, times: int = 1, **kw: Any) -> Fault:
        fault = Fault(method, kind, times, **kw)
        with self.lock:
            self.faults.append(fault)
        return fault

    @property
    def total_units(self) -> int:
        return sum(self.units.values())

    # -- server --------------------------------------------------------------

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def token_uri(self) -> str:
        return self.url + "token"


def _rate_limited(wait: float) -> HttpProblem:
    problem = google_error(429, "rateLimitExceeded", "User-rate limit exceeded.")
    problem.headers["Retry-After"] = f"{max(wait, 0.001):.3f}"  # fractional: the fake's clock is scaled
    return problem


def _date_ms(raw: bytes) -> int:
    try:
        return int(parsedate_to_datetime(str(_HEADERS.parsebytes(raw)["Date"])).timestamp() * 1000)
    except (TypeError, ValueError, IndexError):
        return int(time.time() * 1000)


# --- routing -----------------------------------------------------------------------------------

Route = tuple[str, re.Pattern[str], str, Callable[..., Any]]


class _Api:
    """The API calls, each ``(fake, params, body, *groups) -> (status, json)``."""

    @staticmethod
    def profile(fake: FakeGoogle, p: dict, body: Any) -> dict:
        return {"emailAddress": fake.me, "messagesTotal": len(fake.messages), "historyId": str(fake.history_id)}

    @staticmethod
    def messages_list(fake: FakeGoogle, p: dict, body: Any) -> dict:
        ids = fake.sorted_ids(p.get("labelIds", []), _flag(p, "includeSpamTrash"))
        start, size = int(_one(p, "pageToken", "0")), min(int(_one(p, "maxResults", "100")), 500)
        page = ids[start : start + size]
        out: dict[str, Any] = {"messages": [{"id": i, "threadId": fake.messages[i].thread_id} for i in page],
                               "resultSizeEstimate": len(ids)}
        if start + size < len(ids):
            out["nextPageToken"] = str(start + size)
        if not page:
            del out["messages"]
        return out

    @staticmethod
    def messages_get(fake: FakeGoogle, p: dict, body: Any, mid: str) -> dict:
        msg = fake.messages.get(mid)
        if msg is None:
            raise google_error(404, "notFound", "Requested entity was not found.")
        return msg.resource(_format(fake, p), p.get("metadataHeaders"))

    @staticmethod
    def threads_get(fake: FakeGoogle, p: dict, body: Any, tid: str) -> dict:
        found = sorted((fake.messages[m] for m in fake.threads.get(tid, []) if m in fake.messages),
                       key=lambda m: m.internal_ms)
        if not found:
            raise google_error(404, "notFound", "Requested entity was not found.")
        fmt, wanted = _format(fake, p), p.get("metadataHeaders")
        return {"id": tid, "historyId": str(fake.history_id), "messages": [m.resource(fmt, wanted) for m in found]}

    @staticmethod
    def history_list(fake: FakeGoogle, p: dict, body: Any) -> dict:
        start = int(_one(p, "startHistoryId", "0"))
        if start < fake.min_history_id:
            raise google_error(404, "notFound", "Requested entity was not found.")
        types = set(p.get("historyTypes", [])) or {"messageAdded", "messageDeleted", "labelAdded", "labelRemoved"}
        offset, size = int(_one(p, "pageToken", "0")), min(int(_one(p, "maxResults", "100")), 500)
        with fake.lock:
            rows = [h for h in fake.history if h[0] > start and h[1] in types]
            current = fake.history_id
        page = rows[offset : offset + size]
        out: dict[str, Any] = {"historyId": str(current)}
        if page:
            out["history"] = [_history_record(fake, h) for h in page]
        if offset + size < len(rows):
            out["nextPageToken"] = str(offset + size)
        return out

    @staticmethod
    def drafts_create(fake: FakeGoogle, p: dict, body: Any) -> dict:
        message = (body or {}).get("message") or {}
        raw = base64.urlsafe_b64decode(message.get("raw", "") + "==")
        thread = message.get("threadId")
        if thread and thread not in fake.threads:
            raise google_error(404, "notFound", "Requested entity was not found.")
        stored = fake.add_message(raw, ["DRAFT"], thread_id=thread)
        did = "r" + fake.new_id()[-12:]
        fake.drafts[did] = stored.id
        return {"id": did, "message": {"id": stored.id, "threadId": stored.thread_id, "labelIds": ["DRAFT"]}}

    @staticmethod
    def drafts_list(fake: FakeGoogle, p: dict, body: Any) -> dict:
        ids = sorted(fake.drafts, reverse=True)
        start, size = int(_one(p, "pageToken", "0")), min(int(_one(p, "maxResults", "100")), 500)
        page = ids[start : start + size]
        out: dict[str, Any] = {"drafts": [{"id": d, "message": {"id": fake.drafts[d]}} for d in page],
                               "resultSizeEstimate": len(ids)}
        if start + size < len(ids):
            out["nextPageToken"] = str(start + size)
        return out

    @staticmethod
    def drafts_get(fake: FakeGoogle, p: dict, body: Any, did: str) -> dict:
        if did not in fake.drafts:
            raise google_error(404, "notFound", "Requested entity was not found.")
        fmt = _format(fake, p)
        msg = fake.messages[fake.drafts[did]]
        return {"id": did, "message": msg.resource(fmt, p.get("metadataHeaders"))}

    @staticmethod
    def drafts_delete(fake: FakeGoogle, p: dict, body: Any, did: str) -> None:
        if did not in fake.drafts:
            raise google_error(404, "notFound", "Requested entity was not found.")
        fake.delete_message(fake.drafts.pop(did))
        return None  # 204 No Content

    @staticmethod
    def events_list(fake: FakeGoogle, p: dict, body: Any, calendar: str) -> dict:
        events = fake.calendars.get(calendar)
        if events is None:
            raise google_error(404, "notFound", "Not Found")
        token = _one(p, "syncToken", "")
        if token:
            if set(p) & {"timeMin", "timeMax", "q", "orderBy", "updatedMin"}:
                raise google_error(400, "invalid", "Sync token cannot be used with other parameters")
            if token in fake.expired_sync_tokens:
                raise google_error(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
            since = int(token.removeprefix("st-"))
            chosen = [e for e in events.values() if e.version > since]
        else:
            chosen = [e for e in events.values() if e.data.get("status") != "cancelled"
                      and _in_range(e.data, _one(p, "timeMin", ""), _one(p, "timeMax", ""))]
        chosen.sort(key=lambda e: e.version)
        offset, size = int(_one(p, "pageToken", "0")), min(int(_one(p, "maxResults", "250")), 2500)
        out: dict[str, Any] = {"items": [e.data for e in chosen[offset : offset + size]]}
        if offset + size < len(chosen):
            out["nextPageToken"] = str(offset + size)
        else:  # nextSyncToken only on the last page (docs/PROVIDERS.md, Calendar)
            out["nextSyncToken"] = f"st-{fake.calendar_version}"
        return out


def _history_record(fake: FakeGoogle, row: tuple[int, str, str, list[str]]) -> dict[str, Any]:
    hid, kind, mid, labels = row
    msg = fake.messages.get(mid)  # None: deleted since (history keeps the entry)
    thread = msg.thread_id if msg else mid
    ref = {"id": mid, "threadId": thread, "labelIds": sorted(msg.labels) if msg else labels}
    record: dict[str, Any] = {"id": str(hid), "messages": [{"id": mid, "threadId": thread}]}
    if kind == "messageAdded":
        record["messagesAdded"] = [{"message": ref}]
    elif kind == "messageDeleted":
        record["messagesDeleted"] = [{"message": ref}]
    else:  # labelAdded -> labelsAdded, labelRemoved -> labelsRemoved
        record[kind.replace("label", "labels")] = [{"message": ref, "labelIds": labels}]
    return record


def _in_range(data: dict[str, Any], lo: str, hi: str) -> bool:
    start = (data.get("start") or {}).get("dateTime") or (data.get("start") or {}).get("date", "")
    end = (data.get("end") or {}).get("dateTime") or (data.get("end") or {}).get("date", "")
    return (not lo or end >= lo[: len(end)]) and (not hi or start < hi[: len(start)])


_CAL = r"(?:/calendar/v3)?/calendars/([^/]+)/events"
ROUTES: list[Route] = [
    ("GET", re.compile(rf"^{GMAIL}/profile$"), "getProfile", _Api.profile),
    ("GET", re.compile(rf"^{GMAIL}/messages$"), "messages.list", _Api.messages_list),
    ("GET", re.compile(rf"^{GMAIL}/messages/([^/]+)$"), "messages.get", _Api.messages_get),
    ("GET", re.compile(rf"^{GMAIL}/threads/([^/]+)$"), "threads.get", _Api.threads_get),
    ("GET", re.compile(rf"^{GMAIL}/history$"), "history.list", _Api.history_list),
    ("POST", re.compile(rf"^{GMAIL}/drafts$"), "drafts.create", _Api.drafts_create),
    ("GET", re.compile(rf"^{GMAIL}/drafts$"), "drafts.list", _Api.drafts_list),
    ("GET", re.compile(rf"^{GMAIL}/drafts/([^/]+)$"), "drafts.get", _Api.drafts_get),
    ("DELETE", re.compile(rf"^{GMAIL}/drafts/([^/]+)$"), "drafts.delete", _Api.drafts_delete),
    ("GET", re.compile(rf"^{_CAL}$"), "events.list", _Api.events_list),
]
_SEND = re.compile(r"(?i)/send\b|:send\b")


def dispatch(fake: FakeGoogle, method: str, target: str, body: bytes, headers: dict[str, str]) -> HttpProblem:
    """Serve one API call; the outcome always comes back as an HttpProblem (200 included)."""
    parts = urlsplit(target)
    path = parts.path
    if _SEND.search(path):
        fake.send_attempts.append(f"{method} {path}")
        return google_error(500, "backendError", "the fake refuses to send; circleback must never get here")
    params = parse_qs(parts.query)
    for method_, pattern, name, fn in ROUTES:
        found = pattern.match(path)
        if method_ == method and found:
            return _call(fake, name, fn, params, body, tuple(unquote(g) for g in found.groups()))
    return google_error(404, "notFound", f"no route {method} {path}")


def _call(fake: FakeGoogle, name: str, fn: Callable[..., Any], params: dict, body: bytes, groups: tuple) -> HttpProblem:
    if "q" in params and name.startswith(("messages", "threads", "history", "drafts")):
        fake.seen_q.append(params["q"][0])
        # gmail.metadata refuses q on every method (docs/PROVIDERS.md; google-api-python-client#582).
        return google_error(403, "forbidden", "Metadata scope does not support 'q' parameter")
    fault = fake.next_fault(name)
    try:
        if fault is not None:
            _apply_fault(fault)
        fake.charge(name)
        data = json.loads(body) if body else None
        with fake.lock:
            result = fn(fake, params, data, *groups)
        return HttpProblem(200 if result is not None else 204, result)
    except HttpProblem as problem:
        return problem


def _apply_fault(fault: Fault) -> None:
    kind = fault.kind
    if kind == "429":
        problem = google_error(429, "rateLimitExceeded", "Too many concurrent requests for user.")
        problem.headers["Retry-After"] = f"{fault.retry_after:g}"
        raise problem
    if kind == "403-user":
        raise google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded")
    if kind == "403-other":
        raise google_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
    if kind in ("500", "503"):
        raise google_error(int(kind), "backendError", "Backend Error")
    if kind == "slow":
        time.sleep(fault.delay)
    if kind == "404-history":
        raise google_error(404, "notFound", "Requested entity was not found.")
    if kind == "410-sync":
        raise google_error(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
    # "drop" and "truncate" are applied by the handler, on the wire


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogle
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the second waits for the
    # client's delayed ACK (about 40 ms on Linux), which would add an unstated 40 ms to
    # the stated round trip (``latency``) of every call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        fake = self.fake
        with fake.lock:
            fake.http_requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if _SEND.search(path):
            fake.send_attempts.append(f"{method} {path}")
            return self._reply(google_error(500, "backendError", "send refused by the fake"))
        if path == "/token":
            return self._reply(_token(fake, body))
        if fake.require_auth and not self._authorised():
            return self._reply(google_error(401, "authError", "Invalid Credentials"))
        if path.startswith("/batch"):
            return self._batch(body)
        wire_fault = self._wire_fault(path, method)
        if wire_fault == "drop":
            return self._drop()
        outcome = dispatch(fake, method, self.path, body, dict(self.headers))
        time.sleep(fake.latency)
        self._reply(outcome, truncate=wire_fault == "truncate")

    def _wire_fault(self, path: str, method: str) -> str:
        name = next((n for m, p, n, _ in ROUTES if m == method and p.match(path)), "")
        with self.fake.lock:
            for f in self.fake.faults:
                if f.times > 0 and f.kind in ("drop", "truncate") and f.method in (name, "*"):
                    f.times -= 1
                    return f.kind
        return ""

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        return given.startswith("Bearer ") and given[7:] in self.fake.access_tokens

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(2)  # the peer sees the connection end with no response

    def _reply(self, outcome: HttpProblem, truncate: bool = False) -> None:
        data = b"" if outcome.status == 204 else json.dumps(outcome.body).encode()
        if truncate:
            data = data[: max(1, len(data) // 2)]
        self._send(outcome.status, "application/json; charset=UTF-8", data, outcome.headers, truncate)

    def _send(self, status: int, ctype: str, data: bytes, headers: dict[str, str], truncate: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _batch(self, body: bytes) -> None:
        fake = self.fake
        boundary = _boundary(self.headers.get("Content-Type", ""))
        if fake.next_fault("batch") is not None:  # the whole batch fails: 503 on the outer request
            return self._reply(google_error(503, "backendError", "Backend Error"))
        parts = []
        for content_id, method, target, inner_body in _batch_parts(body, boundary):
            if _SEND.search(urlsplit(target).path):
                fake.send_attempts.append(f"{method} {target} (in a batch)")
            outcome = dispatch(fake, method, target, inner_body, {})
            parts.append(_batch_part(content_id, outcome))
        time.sleep(fake.latency)
        out_boundary = "batch_fake_" + fake.new_id()
        data = "".join(f"--{out_boundary}\r\n{p}\r\n" for p in parts) + f"--{out_boundary}--\r\n"
        self._send(200, f"multipart/mixed; boundary={out_boundary}", data.encode(), {})


def _boundary(ctype: str) -> str:
    found = re.search(r'boundary="?([^";]+)"?', ctype)
    if not found:
        raise ValueError(f"batch without boundary: {ctype!r}")
    return found.group(1)


def _batch_parts(body: bytes, boundary: str) -> Iterator[tuple[str, str, str, bytes]]:
    text = body.decode("utf-8")
    for chunk in text.split(f"--{boundary}")[1:]:
        if chunk.startswith("--"):
            break
        outer, _, inner = chunk.strip("\r\n").replace("\r\n", "\n").partition("\n\n")
        content_id = next((ln.split(":", 1)[1].strip() for ln in outer.split("\n")
                           if ln.lower().startswith("content-id:")), "<x + 0>")
        request_line, _, rest = inner.partition("\n")
        method, target, _ = request_line.split(" ", 2)
        _, _, inner_body = rest.partition("\n\n")
        yield content_id, method, target, inner_body.strip().encode()


def _batch_part(content_id: str, outcome: HttpProblem) -> str:
    payload = json.dumps(outcome.body)
    extra = "".join(f"{k}: {v}\r\n" for k, v in outcome.headers.items())
    return (
        "Content-Type: application/http\r\n"
        f"Content-ID: <response-{content_id.strip('<>')}>\r\n\r\n"
        f"HTTP/1.1 {outcome.status} {'OK' if outcome.status == 200 else 'Error'}\r\n"
        f"Content-Type: application/json; charset=UTF-8\r\n{extra}"
        f"Content-Length: {len(payload)}\r\n\r\n{payload}"
    )


def _token(fake: FakeGoogle, body: bytes) -> HttpProblem:
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    fault = fake.next_fault("token")
    if fault is not None and fault.kind in ("500", "503"):
        return HttpProblem(int(fault.kind), {"error": "server_error"})
    if form.get("grant_type") == "refresh_token":
        if not fake.refresh_tokens.get(form.get("refresh_token", "")):
            revoked = "Token has been expired or revoked."
            return HttpProblem(400, {"error": "invalid_grant", "error_description": revoked})
        return HttpProblem(200, _issue(fake))
    if form.get("grant_type") == "authorization_code" and form.get("code") == "good-code":
        if not form.get("code_verifier"):
            return HttpProblem(400, {"error": "invalid_grant", "error_description": "Missing code verifier."})
        answer = _issue(fake)
        answer["refresh_token"] = "rt-good"
        return HttpProblem(200, answer)
    return HttpProblem(400, {"error": "invalid_grant", "error_description": "Bad Request"})


def _issue(fake: FakeGoogle) -> dict[str, Any]:
    token = f"at-{fake.new_id()}"
    with fake.lock:
        fake.access_tokens.add(token)
    return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}


def _format(fake: FakeGoogle, p: dict[str, list[str]]) -> str:
    """The format asked for (Google's default is full), refused as Google does under gmail.metadata."""
    fmt = _one(p, "format", "full").lower()
    if fmt in ("raw", "full") and "gmail.metadata" in fake.scopes:
        raise google_error(403, "forbidden", f"Metadata scope doesn't allow format {fmt.upper()}")
    return fmt


def _one(p: dict[str, list[str]], name: str, default: str) -> str:
    return p.get(name, [default])[0]


def _flag(p: dict[str, list[str]], name: str) -> bool:
    return _one(p, name, "false").lower() == "true"


