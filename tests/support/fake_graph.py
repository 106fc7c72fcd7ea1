"""A fake Microsoft Graph on loopback: a synthetic mailbox, a calendar and a Drafts folder.

It speaks just enough of Graph v1.0 for the Outlook connector, its contract tests,
an end-to-end engine cycle and the benchmark, over real HTTP so ``requests`` and
the guarded session run unchanged:

* ``GET /me``, ``/me/mailFolders`` (+ well-known names, ``childFolders``),
  ``/me/mailFolders/{id}/messages/delta`` with skip/delta tokens, ``$select``,
  ``Prefer: odata.maxpagesize``, ``@removed``; non-delta ``/messages`` listing with
  ``$top``/``$skip`` (the benchmark's naive baseline);
* ``/me/calendarView/delta`` with the window baked into its tokens;
* ``POST /me/messages``, ``createReply``, ``PATCH`` (which, like Graph, refuses
  ``internetMessageHeaders`` after create), ``/$value`` as MIME,
  ``$filter=internetMessageId eq '...'``;
* single-value extended properties: set at create or by PATCH, read with
  ``$expand=singleValueExtendedProperties($filter=id eq '...')`` (the Name matched
  case-sensitively, as Graph does). Custom headers set at create are stored as
  PS_INTERNET_HEADERS properties, as Exchange stores them, and a draft's reads never
  carry ``internetMessageHeaders``: whether Graph returns them for drafts is unverified,
  and it returns none for sent items, so nothing may rely on them.

Limits as Outlook applies them (docs/PROVIDERS.md): more than ``max_concurrent``
requests in flight, or more than ``rate_limit`` requests inside ``rate_window``
seconds, answer 429 with Retry-After. ``rtt`` adds a round trip to every request.
Faults can be queued with :meth:`FakeGraph.fail_next`. Every request is logged.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "fake-graph-token"  # noqa: S105 - a test bearer token
ME = "me@example.org"
WELL_KNOWN = {  # well-known name -> display name
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "drafts": "Drafts",
    "junkemail": "Junk Email",
    "deleteditems": "Deleted Items",
    "outbox": "Outbox",
    "archive": "Archive",
}
CONTRACT_FOLDERS = {"INBOX": "inbox", "Sent": "sentitems"}  # tests/contract.py's names


@dataclass(slots=True)
class Item:
    """A message or event with its change sequence number."""

    id: str
    container: str  # folder id, or "calendar"
    data: dict[str, Any]
    seq: int
    removed: bool = False
    mime: bytes | None = None


@dataclass(slots=True)
class Fault:
    method: str
    path_contains: str
    status: int
    body: bytes
    headers: dict[str, str]
    times: int
    after: bool = False  # do the request, then answer the fault: a 503 after the draft was stored


@dataclass(slots=True)
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0
    body: bytes = b""
    batched: bool = False  # an item of a $batch, not an HTTP request of its own


@dataclass
class FakeGraph:
    token: str = TOKEN
    me: str = ME
    rtt: float = 0.0
    max_concurrent: int = 4
    rate_limit: int = 10_000
    rate_window: float = 600.0  # seconds; the benchmark scales it down
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    log: list[Logged] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self._seq = 0
        self._ids = 0
        self.epoch: dict[str, int] = {}  # container -> token generation; bumping it expires tokens
        self.in_flight = 0
        self.max_in_flight = 0
        self.throttled = 0
        self._recent: deque[float] = deque()
        self.faults: list[Fault] = []
        self.expired_style: dict[str, str] = {}  # container -> "410" | code
        self.round_cache: dict[tuple[str, int, int], list[Item]] = {}
        for wk, name in WELL_KNOWN.items():
            self.add_folder(name, well_known=wk)
        self.server: ThreadingHTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeGraph:
        graph = self

        class Handler(_Handler):
            fake = graph

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True, name="fake-graph").start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1.0"

    # -- building the mailbox ---------------------------------------------------------------

    def new_id(self, prefix: str = "AAMkAD") -> str:
        with self.lock:
            self._ids += 1
            return f"{prefix}{self._ids:07d}="  # Graph ids carry "=": the client must quote them

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_folder(self, name: str, *, well_known: str = "", parent: str = "") -> str:
        folder_id = self.new_id("AQMkFLD")
        self.folders[folder_id] = {"id": folder_id, "displayName": name, "wellKnown": well_known, "parent": parent}
        return folder_id

    def folder_id(self, name_or_wk: str) -> str:
        wk = CONTRACT_FOLDERS.get(name_or_wk, name_or_wk).lower()
        for f in self.folders.values():
            if f["wellKnown"] == wk or f["displayName"] == name_or_wk:
                return str(f["id"])
        raise KeyError(name_or_wk)

    def add_message(self, raw: bytes, folder: str = "INBOX") -> str:
        """Put one RFC 5322 message in ``folder`` (a display name, well-known name, or INBOX/Sent)."""
        return self.add_json(self.folder_id(folder), message_json(raw), mime=raw)

    def add_json(self, folder_id: str, data: dict[str, Any], mime: bytes | None = None) -> str:
        with self.lock:
            item_id = self.new_id()
            self.items[item_id] = Item(item_id, folder_id, {**data, "id": item_id}, self._next_seq(), mime=mime)
            return item_id

    def remove(self, item_id: str) -> None:
        with self.lock:
            item = self.items[item_id]
            item.removed, item.seq = True, self._next_seq()

    def update(self, item_id: str, **changes: Any) -> None:
        with self.lock:
            item = self.items[item_id]
            item.data.update(changes)
            item.seq = self._next_seq()

    def add_event(self, data: dict[str, Any]) -> str:
        return self.add_json("calendar", data)

    def expire_tokens(self, container: str, style: str = "410") -> None:
        """Old tokens of ``container`` now fail: ``"410"`` (Gone + Location) or an error code."""
        with self.lock:
            self.epoch[container] = self.epoch.get(container, 0) + 1
            self.expired_style[container] = style

    def fail_next(self, method: str, path_contains: str, status: int, *, body: bytes | dict[str, Any] = b"",
                  headers: dict[str, str] | None = None, times: int = 1, after: bool = False) -> None:
        """Answer the next ``times`` matching requests with ``status``; with ``after``, once done."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        self.faults.append(Fault(method, path_contains, status, raw, headers or {}, times, after))

    # -- what tests look at ----------------------------------------------------------------

    def drafts(self) -> list[Item]:
        drafts_id = self.folder_id("drafts")
        return [i for i in self.items.values() if i.container == drafts_id and not i.removed]

    def draft_key(self, item: Item) -> str:
        """The x-circleback-key a draft carries, as Exchange stores it (a PS_INTERNET_HEADERS property)."""
        return _internet_headers(item.data).get("x-circleback-key", "")

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.log]

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()
            self.max_in_flight = 0
            self.throttled = 0

    # -- limits ----------------------------------------------------------------------------

    @contextmanager
    def admitted(self) -> Iterator[float | None]:
        """Yields None when the request may run, else the Retry-After to answer 429 with."""
        with self.lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] > self.rate_window:
                self._recent.popleft()
            wait: float | None = None
            if self.in_flight >= self.max_concurrent:
                wait = 1.0
            elif len(self._recent) >= self.rate_limit:
                wait = self.rate_window - (now - self._recent[0])
            if wait is not None:
                self.throttled += 1
            else:
                self._recent.append(now)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield wait
        finally:
            if wait is None:
                with self.lock:
                    self.in_flight -= 1

    def admit_item(self, over_concurrency: bool) -> float | None:
        """A $batch item against the limits (lock held): None to run it, else its Retry-After."""
        now = time.monotonic()
        while self._recent and now - self._recent[0] > self.rate_window:
            self._recent.popleft()
        if over_concurrency:
            wait: float | None = 1.0
        elif len(self._recent) >= self.rate_limit:
            wait = self.rate_window - (now - self._recent[0])
        else:
            self._recent.append(now)
            return None
        self.throttled += 1
        return wait

    def requests(self) -> list[Logged]:
        """The HTTP requests made, a $batch counting one (its items are in the log as well)."""
        return [r for r in self.log if not r.batched]

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.path_contains in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None


# --- RFC 5322 -> Graph message JSON -------------------------------------------------------------


def message_json(raw: bytes) -> dict[str, Any]:
    """What Graph shows of a delivered message: parsed with policy.default, like Exchange would."""
    msg = message_from_bytes(raw, policy=policy.default)
    data: dict[str, Any] = {"isDraft": False, "inferenceClassification": "focused"}
    people = {k: _people(msg, k) for k in ("from", "to", "cc", "sender")}
    if people["from"]:
        data["from"] = data["sender"] = people["from"][0]
    if people["sender"]:
        data["sender"] = people["sender"][0]  # Graph's sender is the Sender header where there is one
    data["toRecipients"], data["ccRecipients"] = people["to"], people["cc"]
    for name, key in (("subject", "subject"), ("message-id", "internetMessageId")):
        try:
            if msg[name] is not None:
                data[key] = str(msg[name])
        except Exception:  # noqa: BLE001, S110 - a broken header is simply absent
            pass
    stamp = _date(msg)
    if stamp:
        data["sentDateTime"] = data["receivedDateTime"] = stamp
    data["conversationId"] = "conv-" + str(msg.get("references", "") or data.get("internetMessageId", "")).split(
        " ")[0].strip("<>")
    if msg.get("list-id"):
        data["inferenceClassification"] = "other"
    # Every header as Graph lists them, served only when $select asks for them.
    data["internetMessageHeaders"] = _headers(msg)
    return data


def _headers(msg: EmailMessage) -> list[dict[str, str]]:
    out = []
    for name, raw in msg.raw_items():
        try:
            value = str(msg.policy.header_fetch_parse(name, raw))
        except Exception:  # noqa: BLE001 - a broken header is served as it came
            value = str(raw)
        out.append({"name": name, "value": value})
    return out


def _people(msg: EmailMessage, name: str) -> list[dict[str, Any]]:
    out = []
    try:
        for header in msg.get_all(name) or []:
            for addr in header.addresses:
                out.append({"emailAddress": {"name": addr.display_name, "address": addr.addr_spec}})
    except Exception:  # noqa: BLE001 - garbage stays garbage
        return []
    return out


def _date(msg: EmailMessage) -> str:
    try:
        when = msg["date"].datetime if msg["date"] is not None else None
    except Exception:  # noqa: BLE001
        return ""
    if when is None:
        return ""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def draft_mime(data: dict[str, Any], me: str) -> bytes:
    """A draft as /$value returns it: MIME built from its properties, custom headers included."""
    msg = EmailMessage()
    msg["From"] = me
    for key, header in (("toRecipients", "To"), ("ccRecipients", "Cc")):
        addrs = [r["emailAddress"]["address"] for r in data.get(key) or []]
        if addrs:
            msg[header] = ", ".join(addrs)
    msg["Subject"] = data.get("subject", "")
    msg["Date"] = format_datetime(datetime.now(UTC))
    for name, value in _internet_headers(data).items():
        msg[name] = value
    msg.set_content(str((data.get("body") or {}).get("content", "")))
    return msg.as_bytes()


PS_INTERNET_HEADERS = "String {00020386-0000-0000-c000-000000000046} Name "  # how Graph answers the id


def _property_id(text: str) -> str:
    """An extended property id as Graph writes it back: GUID lower-cased, the Name as given."""
    head, sep, name = text.strip().partition(" Name ")
    return " ".join(head.split()).lower().replace("string", "String", 1) + sep + name if sep else text.strip()


def _internet_headers(data: dict[str, Any]) -> dict[str, str]:
    """The custom headers a message carries: PS_INTERNET_HEADERS properties, by lower-cased name."""
    return {p["id"][len(PS_INTERNET_HEADERS):].lower(): str(p.get("value", ""))
            for p in data.get("singleValueExtendedProperties") or [] if p["id"].startswith(PS_INTERNET_HEADERS)}


# --- the HTTP side ------------------------------------------------------------------------------


def _token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(text: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGraph
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/_stats":  # the benchmark reads the fake's counters from another process
            stats = {"max_in_flight": self.fake.max_in_flight, "throttled": self.fake.throttled,
                     "requests": len(self.fake.requests()),
                     "batched": len(self.fake.log) - len(self.fake.requests())}
            return self._send(Logged(method, parts.path, {}, {}), 200, stats)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        entry = Logged(method, "/" + "/".join(segments), query, {k.lower(): v for k, v in self.headers.items()},
                       body=body)
        with self.fake.lock:
            self.fake.log.append(entry)
        with self.fake.admitted() as wait:
            if self.fake.rtt:
                time.sleep(self.fake.rtt)
            if wait is not None:
                seconds = f"{wait:.3f}" if wait < 1 else str(math.ceil(wait))
                return self._send(entry, 429, _error("ApplicationThrottled", "too many requests"),
                                  {"Retry-After": seconds})
            if self.headers.get("Authorization") != f"Bearer {self.fake.token}":
                return self._send(entry, 401, _error("InvalidAuthenticationToken", "bad token"))
            fault = self.fake.take_fault(method, entry.path)
            if fault and not fault.after:
                return self._send_raw(entry, fault.status, fault.body, fault.headers)
            if method == "POST" and segments[1:] == ["$batch"]:
                status, payload, headers = self._batch(body)
                return self._send(entry, status, payload, headers)
            status, payload, headers = Routes(self.fake, self.headers, parts.path, query, body).route(
                method, segments[1:])
            if fault:  # done, and the answer lost: the client cannot tell
                return self._send_raw(entry, fault.status, fault.body, fault.headers)
            return self._send(entry, status, payload, headers)

    def _batch(self, body: bytes) -> Response:
        """JSON batching as Graph does it: up to 20 requests, all parallel or serial by ``dependsOn``.

        Each item counts against the limits on its own: parallel items beyond the mailbox's
        concurrency, or beyond the rate window, answer 429 with Retry-After; an item after a
        failed one it depends on answers 424. Faults queued with ``fail_next`` apply per item.
        Serial items take a round trip each, as they run one after the other.
        """
        try:
            items = json.loads(body or b"{}")["requests"]
            assert isinstance(items, list) and 0 < len(items) <= 20
        except (ValueError, KeyError, TypeError, AssertionError):
            return 400, _error("BadRequest", "a batch holds 1 to 20 requests"), {}
        ids = [str(i.get("id", "")) for i in items]
        serial = any(i.get("dependsOn") for i in items)
        if serial and any(i.get("dependsOn") != [ids[n - 1]] for n, i in enumerate(items) if n):
            return 400, _error("BadRequest", "dependsOn must make the batch serial"), {}
        responses: list[dict[str, Any]] = []
        failed = False
        for n, item in enumerate(items):
            if serial and failed:
                url = urlsplit("/" + str(item.get("url", "")).lstrip("/"))
                with self.fake.lock:
                    self.fake.log.append(Logged(str(item.get("method", "GET")), "/v1.0" + unquote(url.path),
                                                parse_qs(url.query), {}, status=424, batched=True))
                responses.append({"id": ids[n], "status": 424, "body": _error("FailedDependency", "dependency")})
                continue
            if serial and n and self.fake.rtt:
                time.sleep(self.fake.rtt)
            over = not serial and n >= self.fake.max_concurrent - (self.fake.in_flight - 1)
            status, payload, headers = self._batch_item(item, over)
            responses.append({"id": ids[n], "status": status, "headers": headers, "body": payload})
            failed = status >= 400
        return 200, {"responses": responses}, {}

    def _batch_item(self, item: dict[str, Any], over_concurrency: bool) -> Response:
        method, url = str(item.get("method", "GET")).upper(), str(item.get("url", ""))
        parts = urlsplit(url if url.startswith("/") else "/" + url)
        segments = [unquote(s) for s in parts.path.split("/") if s]
        headers = {**{k: v for k, v in (item.get("headers") or {}).items()}, "Host": self.headers.get("Host", "")}
        entry = Logged(method, "/v1.0/" + "/".join(segments), parse_qs(parts.query, keep_blank_values=True),
                       {k.lower(): str(v) for k, v in headers.items()}, batched=True)
        with self.fake.lock:
            self.fake.log.append(entry)
            wait = self.fake.admit_item(over_concurrency)
        if wait is not None:
            seconds = f"{wait:.3f}" if wait < 1 else str(math.ceil(wait))
            entry.status = 429
            return 429, _error("ApplicationThrottled", "too many requests"), {"Retry-After": seconds}
        fault = self.fake.take_fault(method, entry.path)
        if fault:
            entry.status = fault.status
            payload = json.loads(fault.body) if fault.body else {}
            return fault.status, payload, dict(fault.headers)
        status, payload, out_headers = Routes(self.fake, headers, "/v1.0" + parts.path, entry.query, b"").route(
            method, segments)
        entry.status = status
        return status, payload, out_headers

    def _send(self, entry: Logged, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(payload, bytes):
            raw, ctype = payload, "message/rfc822"
        else:
            raw, ctype = json.dumps(payload).encode(), "application/json"
        self._send_raw(entry, status, raw, {"Content-Type": ctype, **(headers or {})})

    def _send_raw(self, entry: Logged, status: int, raw: bytes, headers: dict[str, str]) -> None:
        entry.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


Response = tuple[int, Any, dict[str, str]]


class Routes:
    def __init__(self, fake: FakeGraph, headers: Any, path: str, query: dict[str, list[str]], body: bytes) -> None:
        # headers: the request's (a batch item's own, with the batch's Host); path: its URL path
        self.fake, self.headers, self.path, self.query, self.body = fake, headers, path, query, body

    def q(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]

    def base(self) -> str:
        host = self.headers.get("Host", "")
        return f"http://{host}/v1.0"

    def route(self, method: str, seg: list[str]) -> Response:  # noqa: C901 - a routing table
        if not seg or seg[0] != "me":
            return 404, _error("ResourceNotFound", "unknown path"), {}
        rest = seg[1:]
        with self.fake.lock:
            if method == "GET" and rest == []:
                return 200, {"mail": self.fake.me, "userPrincipalName": self.fake.me}, {}
            if rest[:1] == ["mailFolders"]:
                return self.mail_folders(method, rest[1:])
            if rest[:2] == ["calendarView", "delta"] and method == "GET":
                return self.calendar_delta()
            if rest[:1] == ["messages"]:
                return self.messages(method, rest[1:])
        return 404, _error("ResourceNotFound", "unknown path"), {}

    # -- folders and mail ------------------------------------------------------------------

    def _folder(self, ref: str) -> dict[str, Any] | None:
        for f in self.fake.folders.values():
            if f["id"] == ref or (f["wellKnown"] and f["wellKnown"] == ref.lower()):
                return f
        return None

    def _folder_json(self, f: dict[str, Any]) -> dict[str, Any]:
        children = sum(1 for c in self.fake.folders.values() if c["parent"] == f["id"])
        return {"id": f["id"], "displayName": f["displayName"], "childFolderCount": children}

    def mail_folders(self, method: str, rest: list[str]) -> Response:
        if not rest:
            return self._page([self._folder_json(f) for f in self.fake.folders.values() if not f["parent"]])
        folder = self._folder(rest[0])
        if folder is None:
            return 404, _error("ErrorItemNotFound", "The specified object was not found in the store."), {}
        tail = rest[1:]
        if not tail:
            return 200, self._folder_json(folder), {}
        if tail == ["childFolders"]:
            return self._page([self._folder_json(f) for f in self.fake.folders.values() if f["parent"] == folder["id"]])
        if tail == ["messages", "delta"]:
            return self.delta(folder["id"])
        if tail == ["messages"] and method == "GET":
            return self.listing(folder["id"])
        return 404, _error("ResourceNotFound", "unknown path"), {}

    def _page(self, values: list[dict[str, Any]]) -> Response:
        top, skip = int(self.q("$top", "10")), int(self.q("$skip", "0"))
        page = values[skip : skip + top]
        out: dict[str, Any] = {"value": page}
        if skip + top < len(values):
            out["@odata.nextLink"] = f"http://{self.headers['Host']}{self.path}?$top={top}&$skip={skip + top}"
        return 200, out, {}

    def _page_size(self) -> int:
        prefer = self.headers.get("Prefer", "")
        for part in prefer.split(","):
            name, _, value = part.strip().partition("=")
            if name == "odata.maxpagesize" and value.isdigit():
                return int(value)
        return 10  # Graph's default page for message delta

    def _select(self, data: dict[str, Any], select: str) -> dict[str, Any]:
        hidden = {"singleValueExtendedProperties"}  # only by $expand
        if data.get("isDraft"):
            hidden.add("internetMessageHeaders")  # never on a draft's read (see the module's docstring)
        if not select:
            return {k: v for k, v in data.items() if k not in hidden}
        wanted = (set(select.split(",")) | {"id"}) - hidden
        return {k: v for k, v in data.items() if k in wanted}

    def _read(self, data: dict[str, Any]) -> dict[str, Any]:
        """An item as a read returns it: $select, then $expand of extended properties."""
        out = self._select(data, self.q("$select"))
        expand = self.q("$expand")
        if expand:
            prefix = "singleValueExtendedProperties($filter=id eq '"
            if not (expand.startswith(prefix) and expand.endswith("')")):
                raise _BadRequest(f"unsupported $expand: {expand}")
            wanted = _property_id(expand[len(prefix):-2])
            found = [p for p in data.get("singleValueExtendedProperties") or [] if p["id"] == wanted]
            if found:  # Graph leaves the collection out when nothing matches
                out["singleValueExtendedProperties"] = found
        return out

    def _changes(self, container: str, since: int, upto: int) -> list[Item]:
        # One round's pages share a (since, upto) range: compute it once (100,000 messages in the benchmark).
        key = (container, since, upto)
        cache = self.fake.round_cache
        if key not in cache:
            found = [i for i in self.fake.items.values() if i.container == container and since < i.seq <= upto]
            if len(cache) > 64:
                cache.clear()
            cache[key] = sorted(found, key=lambda i: i.seq)
        return cache[key]

    def _expired(self, container: str, state: dict[str, Any], initial: str) -> Response | None:
        if state.get("e", 0) == self.fake.epoch.get(container, 0):
            return None
        style = self.fake.expired_style.get(container, "410")
        if style == "410":
            return 410, _error("SyncStateNotFound", "gone"), {"Location": initial}
        return 400, _error(style, "The sync state generation is not found."), {}

    def delta(self, folder_id: str) -> Response:
        path = f"{self.base()}/me/mailFolders/{folder_id}/messages/delta"
        token = self.q("$skiptoken") or self.q("$deltatoken")
        if token:
            state = _untoken(token)
            gone = self._expired(folder_id, state, f"{path}?$select={state['s']}")
            if gone:
                return gone
        else:
            state = {"since": 0, "upto": self.fake._seq, "off": 0, "s": self.q("$select"),
                     "e": self.fake.epoch.get(folder_id, 0)}
        if self.q("$deltatoken"):
            state = {**state, "since": state["upto"], "upto": self.fake._seq, "off": 0}
        changes = self._changes(folder_id, state["since"], state["upto"])
        size = self._page_size()
        chunk = changes[state["off"] : state["off"] + size]
        values = [
            {"id": i.id, "@removed": {"reason": "deleted"}} if i.removed else self._select(i.data, state["s"])
            for i in chunk
        ]
        out: dict[str, Any] = {"@odata.context": f"{self.base()}/$metadata#Collection(message)", "value": values}
        if state["off"] + size < len(changes):
            out["@odata.nextLink"] = f"{path}?$skiptoken={_token({**state, 'off': state['off'] + size})}"
        else:
            out["@odata.deltaLink"] = f"{path}?$deltatoken={_token({**state, 'off': 0})}"
        return 200, out, {}

    def listing(self, folder_id: str) -> Response:
        live = [i for i in self.fake.items.values() if i.container == folder_id and not i.removed]
        try:
            return self._page([self._read(i.data) for i in live])
        except _BadRequest as exc:
            return 400, _error("BadRequest", str(exc)), {}

    # -- calendar --------------------------------------------------------------------------

    def calendar_delta(self) -> Response:
        path = f"{self.base()}/me/calendarView/delta"
        token = self.q("$skiptoken") or self.q("$deltatoken")
        if token:
            state = _untoken(token)
            initial = f"{path}?startDateTime={state['ws']}&endDateTime={state['we']}"
            gone = self._expired("calendar", state, initial)
            if gone:
                return gone
        else:
            if not self.q("startDateTime") or not self.q("endDateTime"):
                return 400, _error("ErrorInvalidParameter", "startDateTime and endDateTime are required"), {}
            state = {"since": 0, "upto": self.fake._seq, "off": 0, "ws": self.q("startDateTime"),
                     "we": self.q("endDateTime"), "e": self.fake.epoch.get("calendar", 0)}
        if self.q("$deltatoken"):
            state = {**state, "since": state["upto"], "upto": self.fake._seq, "off": 0}
        lo, hi = _utc(state["ws"]), _utc(state["we"])
        changes = [i for i in self._changes("calendar", state["since"], state["upto"])
                   if i.removed or _overlaps(i.data, lo, hi)]
        size = self._page_size()
        chunk = changes[state["off"] : state["off"] + size]
        values = [{"id": i.id, "@removed": {"reason": "deleted"}} if i.removed else dict(i.data) for i in chunk]
        out: dict[str, Any] = {"value": values}
        if state["off"] + size < len(changes):
            out["@odata.nextLink"] = f"{path}?$skiptoken={_token({**state, 'off': state['off'] + size})}"
        else:
            out["@odata.deltaLink"] = f"{path}?$deltatoken={_token({**state, 'off': 0})}"
        return 200, out, {}

    # -- messages and drafts ---------------------------------------------------------------

    def messages(self, method: str, rest: list[str]) -> Response:
        if not rest:
            if method == "POST":
                return self.create(json.loads(self.body or b"{}"))
            return self.find_by_message_id()
        item = self.fake.items.get(rest[0])
        if item is None or item.removed:
            return 404, _error("ErrorItemNotFound", "The specified object was not found in the store."), {}
        if rest[1:] == ["$value"] and method == "GET":
            return 200, item.mime or draft_mime(item.data, self.fake.me), {}
        if rest[1:] == ["createReply"] and method == "POST":
            return self.create_reply(item, json.loads(self.body or b"{}"))
        if not rest[1:] and method == "PATCH":
            return self.patch(item, json.loads(self.body or b"{}"))
        if not rest[1:] and method == "GET":
            try:
                return 200, self._read(item.data), {}
            except _BadRequest as exc:
                return 400, _error("BadRequest", str(exc)), {}
        return 404, _error("ResourceNotFound", "unknown path"), {}

    def _check_headers(self, data: dict[str, Any]) -> Response | None:
        for h in data.get("internetMessageHeaders") or []:
            if not str(h.get("name", "")).lower().startswith("x-"):
                return 400, _error("InvalidInternetMessageHeader", "custom headers must start with x-"), {}
        for p in data.get("singleValueExtendedProperties") or []:
            if not isinstance(p, dict) or not str(p.get("id", "")).startswith(("String ", "Integer ", "Binary ")):
                return 400, _error("ErrorInvalidExtendedPropertyValue", "malformed extended property"), {}
        return None

    def _properties(self, data: dict[str, Any], old: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Extended properties after a write; custom headers at create are PS_INTERNET_HEADERS ones."""
        found = {p["id"]: p for p in old or []}
        for h in data.get("internetMessageHeaders") or []:
            found[PS_INTERNET_HEADERS + h["name"]] = {"id": PS_INTERNET_HEADERS + h["name"], "value": h["value"]}
        for p in data.get("singleValueExtendedProperties") or []:
            pid = _property_id(str(p["id"]))
            found[pid] = {"id": pid, "value": str(p.get("value", ""))}
        return list(found.values())

    def create(self, data: dict[str, Any]) -> Response:
        bad = self._check_headers(data)
        if bad:
            return bad
        draft = {**data, "isDraft": True, "from": {"emailAddress": {"address": self.fake.me}},
                 "singleValueExtendedProperties": self._properties(data)}
        item_id = self.fake.add_json(self.fake.folder_id("drafts"), draft)
        return 201, self._select(self.fake.items[item_id].data, ""), {}

    def create_reply(self, original: Item, params: dict[str, Any]) -> Response:
        message = params.get("message") or {}
        bad = self._check_headers(message)
        if bad:
            return bad
        if params.get("comment") is not None and "body" in message:
            # message-createreply: "Specifying both will return an HTTP 400 Bad Request error."
            return 400, _error("ErrorInvalidRequest", "specify either a comment or message.body"), {}
        sender = (original.data.get("from") or {}).get("emailAddress", {}).get("address", "")
        quoted = f"<hr><b>From:</b> {sender}<br><b>Subject:</b> {original.data.get('subject', '')}"
        draft = {
            "subject": "RE: " + str(original.data.get("subject", "")),
            "toRecipients": [original.data["from"]] if original.data.get("from") else [],
            "conversationId": original.data.get("conversationId", ""),
            "replyTo": original.id,
            # Graph's reply draft quotes the original (after the comment, if any) until a body is given.
            "body": {"contentType": "html", "content": f"{params.get('comment') or ''}{quoted}"},
            **message,
        }
        return self.create(draft)

    def patch(self, item: Item, changes: dict[str, Any]) -> Response:
        if "internetMessageHeaders" in changes:
            # Graph: internetMessageHeaders can only be set when the message is created.
            return 400, _error("ErrorInvalidPropertyUpdateSentMessage", "headers are set at create only"), {}
        bad = self._check_headers(changes)
        if bad:
            return bad
        if "singleValueExtendedProperties" in changes:
            changes = {**changes, "singleValueExtendedProperties": self._properties(
                changes, item.data.get("singleValueExtendedProperties"))}
        self.fake.update(item.id, **changes)
        return 200, self._select(item.data, ""), {}

    def find_by_message_id(self) -> Response:
        wanted = self.q("$filter").partition("eq '")[2].rstrip("'").replace("''", "'")
        found = [i.data for i in self.fake.items.values()
                 if not i.removed and str(i.data.get("internetMessageId", "")) == wanted]
        return 200, {"value": [self._select(d, self.q("$select")) for d in found]}, {}


class _BadRequest(Exception):
    pass


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _overlaps(data: dict[str, Any], lo: datetime, hi: datetime) -> bool:
    try:
        start = _utc(data["start"]["dateTime"][:19])
        end = _utc(data["end"]["dateTime"][:19])
    except (KeyError, TypeError, ValueError):
        return True  # malformed test events are served as they are
    return start < hi and end > lo
