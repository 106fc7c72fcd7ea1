"""Google sign-in, credentials, quota and retries shared by the Gmail and Calendar connectors.

* Config models :class:`GmailAccount` and :class:`GoogleCalendarAccount` (from ``accounts.py``).
* :class:`GoogleTokens` - the user's OAuth token file (0600, atomic, refused when
  exposed, ``tokens.py``); refreshes it and turns ``invalid_grant`` into
  :class:`AuthRevoked` so a revoked account pauses instead of crash-looping.
* :func:`authorised_http` - an httplib2 stack for googleapiclient: the never-send
  guard (``http.py``, which also checks every call inside a batch body), then a Bearer token.
* :class:`QuotaLimiter` - per-user and per-project token buckets in quota units.
* :func:`call_with_retries` - tenacity: 429, 5xx, and 403 only with reason
  ``rateLimitExceeded``/``userRateLimitExceeded``, honouring Retry-After.
  Nothing else retries, and googleapiclient's own ``num_retries`` stays 0
  because it retries POSTs too (docs/PROVIDERS.md) - drafts.create is never retried.

Scopes are least privilege: ``gmail.metadata`` (headers and labels; it makes
Gmail refuse ``q`` on every call, so no call here uses ``q``), ``gmail.compose``
(drafts; it also allows send, which the HTTP layer refuses) and
``calendar.events.readonly``.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httplib2
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ..accounts import PER_PROJECT_UNITS, TOKEN_URI, GmailAccount, GoogleCalendarAccount
from ..base import Connector, ConnectorContext
from ..errors import AuthRevoked, ConnectorError
from ..http import GuardedHttp
from ..registry import GOOGLE
from ..tokens import read_private, token_file, write_private

log = logging.getLogger(__name__)

GMAIL_SCOPES = (
    "https://www.googleapis.com/auth/gmail.metadata",
    "https://www.googleapis.com/auth/gmail.compose",
)
CALENDAR_SCOPES = ("https://www.googleapis.com/auth/calendar.events.readonly",)
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
HTTP_TIMEOUT = 60.0  # seconds per request; a hung connection must not hang a cycle
SEND_LAG = 0.03  # seconds from paying quota to Google counting the call (see QuotaLimiter)


GoogleAccount = GmailAccount | GoogleCalendarAccount


def scopes_for(account: GoogleAccount) -> tuple[str, ...]:
    return CALENDAR_SCOPES if isinstance(account, GoogleCalendarAccount) else GMAIL_SCOPES


def token_path(account: GoogleAccount, state_dir: Path | None = None, *, sign_in: bool = False) -> Path:
    """The configured ``token_path``, else ``<state_dir>/tokens/google-<name>.json`` (``tokens.token_file``)."""
    if account.token_path:
        return Path(account.token_path).expanduser()
    return token_file("google", account.name, state_dir, sign_in=sign_in)


# --- credentials -------------------------------------------------------------------------------


class GoogleTokens:
    """The account's OAuth credentials: loaded from the private token file, refreshed, saved."""

    def __init__(self, account: GoogleAccount, *, path: Path | None = None, state_dir: Path | None = None) -> None:
        self.account = account
        self.path = path or token_path(account, state_dir)
        self._lock = threading.Lock()  # one refresh at a time across worker threads
        self._creds: Any = None

    def _load(self) -> Any:
        from google.oauth2.credentials import Credentials

        raw = read_private(self.path)  # TokenFileError (a ConnectorError) if others can read it
        if raw is None:
            raise AuthRevoked(f"no Google token at {self.path}", account=self.account.name, provider=GOOGLE,
                              remedy="authorise")
        try:
            info = json.loads(raw)
            creds = Credentials.from_authorized_user_info(info, scopes=list(scopes_for(self.account)))
            return creds.with_token_uri(self.account.token_uri) if self.account.token_uri != TOKEN_URI else creds
        except (ValueError, KeyError) as exc:
            raise AuthRevoked(f"unreadable token file {self.path} ({exc})", account=self.account.name,
                              provider=GOOGLE, remedy="re-authorise") from None

    def access_token(self, *, force: bool = False) -> str:
        with self._lock:
            if self._creds is None:
                self._creds = self._load()
            if force or not self._creds.valid:
                self._refresh()
            return str(self._creds.token)

    def _refresh(self) -> None:
        from google.auth import exceptions
        from google.auth.transport.requests import Request

        from ..http import GuardedSession

        try:
            self._creds.refresh(Request(session=GuardedSession()))
        except exceptions.RefreshError as exc:
            raise self._refresh_failure(exc) from None
        except exceptions.TransportError as exc:
            raise ConnectorError(f"cannot reach Google sign-in ({exc})", account=self.account.name,
                                 remedy="will retry") from None
        self.save(self._creds)

    def _refresh_failure(self, exc: Exception) -> ConnectorError:
        details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        error = str(details.get("error", ""))
        if error == "invalid_grant" or "invalid_grant" in str(exc):
            # Revoked, expired (a "Testing" OAuth client's tokens die after 7 days), or the
            # password changed: only the user can fix it, so pause the account, never loop.
            return AuthRevoked("Google refused the refresh token (invalid_grant)", account=self.account.name,
                               provider=GOOGLE, remedy="re-authorise")
        if error in ("invalid_client", "unauthorized_client"):
            return AuthRevoked(f"Google refused the OAuth client ({error})", account=self.account.name,
                               provider=GOOGLE, remedy="check client_secrets, then re-authorise")
        return ConnectorError(f"Google sign-in failed ({exc})", account=self.account.name, remedy="will retry")

    def save(self, creds: Any) -> None:
        write_private(self.path, creds.to_json().encode("utf-8"))


# --- HTTP ----------------------------------------------------------------------------------------

class _BearerHttp:
    """Adds the account's access token; one forced refresh and replay on a 401."""

    def __init__(self, http: Any, tokens: GoogleTokens) -> None:
        self._http = http
        self._tokens = tokens

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, *args: Any,
                **kwargs: Any) -> Any:
        headers = dict(headers or {})
        headers["authorization"] = f"Bearer {self._tokens.access_token()}"
        resp, content = self._http.request(uri, method, body, headers, *args, **kwargs)
        if resp.status == 401:
            headers["authorization"] = f"Bearer {self._tokens.access_token(force=True)}"
            resp, content = self._http.request(uri, method, body, headers, *args, **kwargs)
        return resp, content

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


class OneShotHttp:
    """Exactly one attempt per request, for calls that must never be replayed (drafts.create).

    httplib2 re-sends any request, POST included, once when the first answer is a
    BadStatusLine (a dropped connection): for drafts.create that replay could
    create a second draft after Google already stored the first.
    """

    def __init__(self, timeout: float = HTTP_TIMEOUT) -> None:
        self.timeout = timeout

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None,
                **_: Any) -> tuple[httplib2.Response, bytes]:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(uri)
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = kind(parts.hostname or "", parts.port, timeout=self.timeout)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request(method, target, body=body, headers=dict(headers or {}))
            answer = conn.getresponse()
            content = answer.read()
            return httplib2.Response(answer), content
        finally:
            conn.close()


def authorised_http(tokens: GoogleTokens, timeout: float = HTTP_TIMEOUT, *, one_shot: bool = False) -> Any:
    """A new http object for one thread (httplib2 objects are not thread-safe)."""
    inner = OneShotHttp(timeout) if one_shot else httplib2.Http(timeout=timeout)
    return GuardedHttp(_BearerHttp(inner, tokens))


def build_service(api: str, version: str, account: GoogleAccount, http: Any) -> Any:
    from googleapiclient.discovery import build

    options = {}
    if account.api_endpoint:
        # The override drops Calendar's "calendar/v3/" prefix (docs/PROVIDERS.md): put it back.
        prefix = "calendar/v3/" if api == "calendar" else ""
        options["api_endpoint"] = account.api_endpoint + prefix
    return build(api, version, http=http, static_discovery=True, cache_discovery=False,
                 client_options=options or None)


def batch_uri(account: GoogleAccount) -> str:
    # new_batch_http_request() ignores the endpoint override (docs/PROVIDERS.md): build it ourselves.
    return (account.api_endpoint or "https://gmail.googleapis.com/") + "batch/gmail/v1"


def lean_batch(callback: Callable[[str, Any, BaseException | None], None], uri: str) -> Any:
    """googleapiclient's BatchHttpRequest, writing each part without ``email.generator``.

    The library serialises every call of a batch through a MIME message and a
    generator that folds each header: about 10 ms of CPU per 50 calls, a third of
    the client's CPU in a first sync (``benchmarks/gmail_sync.py``). The override
    writes the same text - request line, Content-Type, MIME-Version, the request's
    headers, Host, then the body - with string joins; everything else (the outer
    multipart, Content-IDs, response parsing, 401 redo, callbacks) is the library's.
    """
    return _lean_batch_class()(callback=callback, batch_uri=uri)


@functools.cache
def _lean_batch_class() -> type:
    """The subclass, made once on first use: googleapiclient is imported only by a sync."""
    from googleapiclient.http import BatchHttpRequest

    class LeanBatch(BatchHttpRequest):
        def _serialize_request(self, request: Any) -> str:
            return serialize_request(request)

    return LeanBatch


def serialize_request(request: Any) -> str:
    """One call as ``application/http`` text, as ``BatchHttpRequest._serialize_request`` writes it."""
    from urllib.parse import urlsplit

    from googleapiclient import _auth

    parts = urlsplit(request.uri)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = dict(request.headers)
    credentials = _auth.get_credentials_from_http(request.http) if request.http is not None else None
    if credentials is not None:
        _auth.apply_credentials(credentials, headers)
    content_type = headers.pop("content-type", "application/json")
    lines = [f"{request.method} {target} HTTP/1.1", f"Content-Type: {content_type}", "MIME-Version: 1.0"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Host: {parts.netloc}")
    if request.body is not None:
        lines.append(f"content-length: {len(request.body)}")
    return "\n".join(lines) + "\n\n" + (request.body if request.body is not None else "")


class PayOnSend:
    """Pays a request's quota units as its bytes are about to leave, not before it is built.

    googleapiclient serialises a batch inside ``execute``: paid first, the units
    left the bucket up to that CPU time (more under load) before Google counted
    them, so two batches could arrive closer together than the limiter allowed and
    draw a 429. Paid here, the building overlaps the wait for quota as well.
    """

    def __init__(self, http: Any, pay: Callable[[], None]) -> None:
        self._http = http
        self._pay = pay

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._pay()
        return self._http.request(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


# --- quota -----------------------------------------------------------------------------------------


class _Bucket:
    def __init__(self, per_minute: float, burst: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = burst
        self.level = burst
        self.stamp = time.monotonic()

    def wait_for(self, units: float, now: float) -> float:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if units <= self.level else (units - self.level) / self.rate


class QuotaLimiter:
    """Spends quota units before each call so Google rarely has to say 429.

    A token bucket refilled at ``per_minute / 60`` units a second, holding at most
    ``burst`` units (default a twentieth of a minute: 300 of 6,000, enough for one
    batch of 50 messages.get). A project bucket is shared by every account in
    the process that uses the same OAuth client.

    The user bucket holds ``SEND_LAG`` seconds of refill less than Google's: Google
    counts a call when it arrives, after we paid for it. While Google's bucket is
    full, the refill of that interval is lost there but not here, and the gap shows
    up at the end of a long sync as a 429 and a backoff of a second or more.
    """

    _projects: dict[str, _Bucket] = {}
    _projects_lock = threading.Lock()

    def __init__(self, per_minute: float, *, burst: float | None = None, project: str = "",
                 project_per_minute: float = PER_PROJECT_UNITS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        full = burst or per_minute / 20
        self.user = _Bucket(per_minute, max(full - per_minute / 60 * SEND_LAG, full / 2))
        self.project = self._project_bucket(project, project_per_minute)
        self._lock = threading.Lock()
        self._sleep = sleep
        self.spent = 0

    @classmethod
    def _project_bucket(cls, key: str, per_minute: float) -> _Bucket:
        with cls._projects_lock:
            if key not in cls._projects:
                cls._projects[key] = _Bucket(per_minute, per_minute / 20)
            return cls._projects[key]

    @property
    def capacity(self) -> float:
        return min(self.user.capacity, self.project.capacity)

    def acquire(self, units: float) -> None:
        units = min(units, self.capacity)  # a call larger than the bucket waits for a full one
        while True:
            with self._lock:
                now = time.monotonic()
                wait = max(self.user.wait_for(units, now), self.project.wait_for(units, now))
                if wait == 0.0:
                    self.user.level -= units
                    self.project.level -= units
                    self.spent += int(units)
                    return
            self._sleep(wait)


# --- retries ----------------------------------------------------------------------------------------


class TruncatedAnswer(ValueError):
    """A 200 whose body is not the JSON object it should be (a response cut short)."""


def json_object(answer: Any, what: str) -> dict[str, Any]:
    # googleapiclient's JsonModel hands back the raw text when the body is not JSON.
    if not isinstance(answer, dict):
        raise TruncatedAnswer(f"{what}: the answer is not a JSON object ({str(answer)[:60]!r})")
    return answer


def error_reason(exc: BaseException) -> str:
    """The first ``errors[].reason`` (or ``error.status``) of a googleapiclient HttpError."""
    content = getattr(exc, "content", b"") or b""
    try:
        error = json.loads(content).get("error", {})
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return str(error)
    reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
    return next((r for r in reasons if r), str(error.get("status", "")))


def http_status(exc: BaseException) -> int:
    resp = getattr(exc, "resp", None)
    return int(getattr(resp, "status", 0) or 0)


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, 403 only for the rate-limit reasons, dropped or timed-out connections, cut JSON."""
    from googleapiclient.errors import HttpError

    if isinstance(exc, HttpError):
        status = http_status(exc)
        if status == 429 or status >= 500:
            return True
        return status == 403 and error_reason(exc) in RATE_REASONS
    # OSError covers resets, refused connections and socket timeouts; a response cut short
    # arrives as invalid JSON (ValueError) or a short read (httplib2/http.client errors).
    import http.client

    return isinstance(exc, OSError | ValueError | http.client.HTTPException | httplib2.HttpLib2Error)


def retry_after(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header: delta-seconds (fractions accepted) or an HTTP date."""
    resp = getattr(exc, "resp", None)
    value = resp.get("retry-after") if resp is not None and hasattr(resp, "get") else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RetryPolicy:
    """How many attempts and how long to wait: exponential with jitter, at least Retry-After."""

    def __init__(self, attempts: int = 6, base: float = 1.0, cap: float = 64.0) -> None:
        self.attempts = attempts
        self.base = base
        self.cap = cap

    def delay(self, attempt: int, exc: BaseException | None) -> float:
        backoff = min(self.cap, self.base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311
        told = retry_after(exc) if exc is not None else None
        return max(backoff, told) if told is not None else backoff


T = TypeVar("T")


def call_with_retries(call: Callable[[], T], policy: RetryPolicy, what: str,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Run an idempotent read with tenacity; never use this for drafts.create."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        seconds = policy.delay(state.attempt_number, exc)
        log.info("%s: %s; retrying in %.1fs", what, _short(exc), seconds)
        return seconds

    retrying = Retrying(retry=retry_if_exception(is_retryable), stop=stop_after_attempt(policy.attempts),
                        wait=wait, reraise=True, sleep=sleep)
    return retrying(call)


def _short(exc: BaseException | None) -> str:
    if exc is None:
        return "failed"
    status = http_status(exc)
    if status:
        return f"HTTP {status} {error_reason(exc)}".strip()
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def explain(exc: BaseException, account: str, what: str) -> ConnectorError:
    """One ConnectorError sentence for a failure that retries did not fix."""
    status = http_status(exc)
    if status == 401:
        return AuthRevoked(f"Google refused the access token during {what}", account=account, provider=GOOGLE,
                           remedy="re-authorise")
    if status == 403 and error_reason(exc) not in RATE_REASONS:
        return ConnectorError(f"{what} forbidden ({error_reason(exc) or 'no reason'})", account=account,
                              remedy="check the OAuth scopes granted")
    return ConnectorError(f"{what} failed: {_short(exc)}", account=account)


# --- sign-in (circleback auth google ACCOUNT) ---------------------------------------------------------

DEFAULT_LOGIN_PORT = 8765  # fixed, so the ssh -L line printed for a headless box stays right


def installed_flow(account: GoogleAccount) -> Any:
    """The installed-app flow for the user's own Desktop OAuth client; PKCE is on by default."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    path = Path(account.client_secrets).expanduser()
    if not path.is_file():
        raise ConnectorError(f"client_secrets file {path} not found", account=account.name,
                             remedy="download the Desktop app OAuth client JSON from the Google Cloud console")
    return InstalledAppFlow.from_client_secrets_file(str(path), scopes=list(scopes_for(account)))


def ssh_tunnel_line(port: int) -> str:
    import getpass
    import socket

    return f"ssh -L {port}:localhost:{port} {getpass.getuser()}@{socket.getfqdn()}"


def headless_login(flow: Any, port: int, show: Callable[[str], None], lines: Any) -> Any:
    """Sign in without a browser on this machine; returns the credentials.

    The user opens the printed URL elsewhere. Either an ``ssh -L`` tunnel carries
    Google's redirect to our loopback listener, or the user pastes the URL the
    browser was sent to (it fails to load without the tunnel, but holds the code).
    Both paths finish on the same Flow object, so the PKCE verifier matches.
    """
    import queue

    flow.redirect_uri = f"http://localhost:{port}/"
    url, _ = flow.authorization_url(access_type="offline", prompt="consent")
    answers: queue.Queue[str] = queue.Queue()
    server = _redirect_listener(port, answers.put)
    show(f"Open this URL in a browser on any machine:\n\n  {url}\n")
    show(f"If that browser is on another machine, first run there:\n\n  {ssh_tunnel_line(port)}\n")
    show("Or paste here the full URL the browser ends on (http://localhost:...?code=...):")
    threading.Thread(target=_read_lines, args=(lines, answers.put), daemon=True).start()
    try:
        while True:
            answer = answers.get().strip()
            if "code=" in answer:
                break
            if answer:
                show("That URL has no code=...; paste the whole address from the browser bar.")
    finally:
        server.shutdown()
        server.server_close()
    # oauthlib insists on https for the response URL; the loopback redirect is http by design.
    flow.fetch_token(authorization_response=answer.replace("http://", "https://", 1))
    return flow.credentials


def _read_lines(lines: Any, put: Callable[[str], None]) -> None:
    for line in lines:
        put(line)


def _redirect_listener(port: int, put: Callable[[str], None]) -> Any:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            ok = "code=" in self.path
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"circleback: signed in; you can close this tab." if ok else b"no code in this URL")
            if ok:
                put(f"http://localhost:{port}{self.path}")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def desktop_login(flow: Any) -> Any:
    """This machine has a browser: a loopback redirect on a free port."""
    return flow.run_local_server(port=0, open_browser=True, access_type="offline", prompt="consent")


class GoogleConnector(Connector):
    """What Gmail and Google Calendar share: the account's tokens, its quota limiter, a retry policy."""

    retry_policy: ClassVar[RetryPolicy] = RetryPolicy()

    def __init__(self, config: GmailAccount | GoogleCalendarAccount, context: ConnectorContext | None = None, *,
                 tokens: GoogleTokens | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, context)
        self.tokens = tokens or GoogleTokens(config, state_dir=self.context.state_dir)
        self.limiter = QuotaLimiter(config.quota_per_minute, project=config.client_secrets,
                                    project_per_minute=config.project_quota_per_minute, sleep=sleep)
        self._sleep = sleep
