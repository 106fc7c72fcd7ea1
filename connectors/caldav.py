"""Any CalDAV server (RFC 4791) as a CalendarSource, kept current with RFC 6578.

A first sync asks each chosen calendar for the objects with an instance inside
``[now - lookback, now + lookahead)`` (a calendar-query time-range REPORT) and
expands recurrences here, not on the server: server-side ``<expand>`` is
optional and unevenly implemented.  Each object's iCalendar text is read by
:mod:`.icalendar_events`, the same code the ics connector uses, so both count
a meeting the same way (source ids, PARTSTAT, organizer, zones, all-day).

Later syncs ask per calendar what changed since the stored ``sync-token``
(RFC 6578 sync-collection).  A server without sync tokens is compared by
``getctag`` and ETags instead.  The cursor keeps, per calendar, which event ids
each object (href) produced, so a deleted object turns into cancellations of
exactly those ids.

``import caldav`` below is the library, not this module: imports are absolute,
and this module is ``circleback.connectors.caldav``.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

import caldav
from caldav.elements import dav
from caldav.elements.base import ValuedBaseElement
from caldav.lib import error as dav_error
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from . import secrets
from .accounts import CalDavAccount
from .base import Connector, ConnectorContext, Cursor, EventRecord, Skip, SyncResult
from .errors import AuthRevoked, ConnectorError
from .icalendar_events import cancellation, events_from_calendar, kept_ids
from .text import SERVER_TEXT_LIMIT, clean_text, server_text, shorten
from .tls import certificate_failure, certificate_refused

log = logging.getLogger(__name__)

T = TypeVar("T")

CURSOR_VERSION = 1
# InsecureRequestWarning by its text: niquests may raise urllib3-future's copy, a class apart from urllib3's.
_UNVERIFIED_WARNING = r"Unverified HTTPS request"
_WARNED_UNVERIFIED: set[str] = set()  # accounts whose verify_tls = false this process has already said


# --- configuration ---------------------------------------------------------------------------


def resolve_password(account: CalDavAccount) -> str | None:
    """The account's password from its configured source, or None for no auth."""
    return secrets.read_password(account)


# --- the cursor ------------------------------------------------------------------------------


@dataclass
class CalendarState:
    """What one calendar's cursor remembers."""

    mode: Literal["sync-token", "etag"]
    token: str  # RFC 6578 DAV:sync-token, or CS:getctag in etag mode ("" if none)
    horizon: datetime  # occurrences before this were already expanded
    ids: dict[str, list[str]] = field(default_factory=dict)  # href -> source ids it produced
    etags: dict[str, str] = field(default_factory=dict)  # etag mode: href -> ETag

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "token": self.token,
            "horizon": self.horizon.isoformat(),
            "ids": self.ids,
            "etags": self.etags,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CalendarState:
        return cls(
            mode=raw["mode"],
            token=raw["token"],
            horizon=datetime.fromisoformat(raw["horizon"]),
            ids={k: list(v) for k, v in raw["ids"].items()},
            etags=dict(raw.get("etags", {})),
        )

    def all_ids(self) -> set[str]:
        return {i for ids in self.ids.values() for i in ids}


@dataclass
class _Pass:
    """What one calendar's sync produced."""

    state: CalendarState
    records: list[EventRecord] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # source ids that no longer exist
    skipped: list[Skip] = field(default_factory=list)


class _TokenInvalid(Exception):
    """The server refused our sync-token (RFC 6578 3.2, DAV:valid-sync-token)."""


class _GetCtag(ValuedBaseElement):
    # Apple's CalendarServer extension; most servers without RFC 6578 still offer it.
    tag: ClassVar[str] = "{http://calendarserver.org/ns/}getctag"


# --- the connector ---------------------------------------------------------------------------


class CalDavConnector(Connector):
    kind: ClassVar[str] = "caldav"

    # Reads are idempotent, so they retry; tests shorten the wait.
    retry_attempts: ClassVar[int] = 4
    retry_wait: ClassVar[Any] = wait_exponential(multiplier=0.5, max=8)
    timeout_seconds: ClassVar[int] = 30

    def __init__(self, config: CalDavAccount, context: ConnectorContext | None = None) -> None:
        super().__init__(config, context)
        self._client: caldav.DAVClient | None = None
        # Times whose TZID could not be resolved were read as UTC; counted as in the ics connector.
        self.zone_fallbacks = 0

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- CalendarSource

    def sync_events(self, cursor: Cursor | None) -> SyncResult[EventRecord]:
        now = self.context.current_time()
        window_start = _window_start(cursor, now - timedelta(days=self.context.lookback_days))
        horizon = now + timedelta(days=self.context.lookahead_days)
        before = _states(cursor)
        calendars = self._chosen_calendars()
        states: dict[str, CalendarState] = {}
        # A cursor we cannot read (an older layout) means starting over: say so.
        result: SyncResult[EventRecord] = SyncResult(records=[], cursor={}, full=bool(cursor) and not _readable(cursor))
        gone: set[str] = set()
        failures: list[ConnectorError] = []
        for cal in calendars:
            key = _href(cal.url)
            try:
                done = self._sync_calendar(cal, before.get(key), window_start, horizon)
            except AuthRevoked:
                raise
            except ConnectorError as exc:
                failures.append(exc)
                log.warning("%s", exc)
                result.skipped.append(Skip(where=key, why=str(exc)))
                if key in before:  # a calendar that fails keeps its old cursor
                    states[key] = before[key]
                continue
            states[key] = done.state
            result.records.extend(done.records)
            result.skipped.extend(done.skipped)
            gone |= done.gone
        if failures and len(failures) == len(calendars):
            raise failures[0]
        for key in before.keys() - {_href(c.url) for c in calendars}:
            log.info("%s: calendar %s is no longer chosen; its events are dropped", self.account, key)
            gone |= before[key].all_ids()
        result.records.extend(_cancellations(gone, states, result.records))
        result.cursor = {
            "version": CURSOR_VERSION,
            "window_start": window_start.isoformat(),
            "calendars": {k: s.to_json() for k, s in states.items()},
        }
        return result

    # -- one calendar

    def _sync_calendar(
        self, cal: caldav.Calendar, state: CalendarState | None, start: datetime, end: datetime
    ) -> _Pass:
        if state is None:
            return self._full_sync(cal, None, start, end)
        try:
            if state.mode == "sync-token":
                return self._sync_by_token(cal, state, start, end)
            return self._sync_by_etag(cal, state, start, end)
        except _TokenInvalid:
            # Only this calendar starts over; the others keep their tokens.  Emitting
            # cancellations for what vanished (rather than SyncResult.full, which
            # resets the whole account) keeps their incremental state valid.
            log.info(
                "%s: sync token of %s no longer valid; reading it again",
                self.account,
                _href(cal.url),
            )
            return self._full_sync(cal, state, start, end)

    def _full_sync(self, cal: caldav.Calendar, previous: CalendarState | None, start: datetime, end: datetime) -> _Pass:
        # The token is read before the query: a change racing with it comes again next time.
        mode, token = self._collection_token(cal)
        objects = self._read("time-range query", cal, lambda: cal.search(event=True, start=start, end=end))
        done = _Pass(state=CalendarState(mode=mode, token=token, horizon=end))
        for obj in objects:
            href = _href(obj.url)
            self._absorb(done, href, obj.data, start, end, previous.ids.get(href, ()) if previous else ())
            if mode == "etag":
                done.state.etags[href] = _etag(obj)
        if previous is not None:
            done.gone = previous.all_ids() - done.state.all_ids()
        return done

    def _sync_by_token(self, cal: caldav.Calendar, state: CalendarState, start: datetime, end: datetime) -> _Pass:
        changes = self._read(
            "sync-collection report",
            cal,
            lambda: cal.get_objects_by_sync_token(sync_token=state.token, load_objects=False, disable_fallback=True),
        )
        deleted = {_href(u) for u in changes.deleted_urls}
        changed = [_href(o.url) for o in changes if _href(o.url) not in deleted]
        state = CalendarState(
            mode="sync-token",
            token=str(changes.sync_token),
            horizon=state.horizon,
            ids=dict(state.ids),
        )
        return self._apply_changes(cal, state, changed, deleted, start, end)

    def _sync_by_etag(self, cal: caldav.Calendar, state: CalendarState, start: datetime, end: datetime) -> _Pass:
        _, ctag = self._collection_token(cal)
        unchanged = bool(ctag) and ctag == state.token  # nothing in the collection changed
        known = state.etags
        state = CalendarState("etag", ctag, state.horizon, dict(state.ids), dict(known))
        if unchanged:
            return self._advance_horizon(_Pass(state=state), cal, end)
        state.etags = self._member_etags(cal)
        changed = [h for h, e in state.etags.items() if known.get(h) != e]
        deleted = set(known) - set(state.etags)
        return self._apply_changes(cal, state, changed, deleted, start, end)

    def _apply_changes(
        self,
        cal: caldav.Calendar,
        state: CalendarState,
        changed: list[str],
        deleted: set[str],
        start: datetime,
        end: datetime,
    ) -> _Pass:
        done = _Pass(state=state)
        before = {h: set(state.ids.get(h, ())) for h in (*changed, *deleted)}
        fetched = self._fetch(cal, changed) if changed else {}
        for href in deleted | (set(changed) - fetched.keys()):  # missing from multiget = gone too
            state.ids.pop(href, None)
            state.etags.pop(href, None)
        for href, data in fetched.items():
            self._absorb(done, href, data, start, state.horizon, state.ids.pop(href, ()))
        for href, ids in before.items():
            done.gone |= ids - set(state.ids.get(href, ()))
        return self._advance_horizon(done, cal, end)

    def _advance_horizon(self, done: _Pass, cal: caldav.Calendar, end: datetime) -> _Pass:
        """Read occurrences that moved into the lookahead since the last sync.

        An unchanged weekly meeting never shows up in sync-collection again, yet its
        next instances must still be counted as the window slides forward.
        """
        begin = done.state.horizon
        if end <= begin:
            return done
        objects = self._read("time-range query", cal, lambda: cal.search(event=True, start=begin, end=end))
        for obj in objects:  # changed objects were expanded up to ``begin`` only
            href = _href(obj.url)
            self._absorb(done, href, obj.data, begin, end, done.state.ids.get(href, ()), keep=True)
        done.state.horizon = end
        return done

    def _absorb(
        self,
        done: _Pass,
        href: str,
        data: str | bytes,
        start: datetime,
        end: datetime,
        earlier: Iterable[str] = (),
        keep: bool = False,
    ) -> None:
        """Read one object into ``done``.

        ``earlier`` are the ids the object gave before: ``keep`` adds to them (a later
        span of the same object); otherwise they are replaced, except those of series
        that cannot be read now, and all of them when nothing in it can: those still
        stand, nothing is cancelled.
        """
        found = events_from_calendar(data, start=start, end=end, context=self.context, where=href)
        done.skipped.extend(found.skipped)
        self.zone_fallbacks += found.zone_fallbacks
        kept = list(earlier) if keep or not found.usable else kept_ids(earlier, found.failed_uids)
        ids = list(dict.fromkeys([*kept, *found.records]))
        if ids:
            done.state.ids[href] = ids
        done.records.extend(found.records.values())

    # -- server reads

    def _chosen_calendars(self) -> list[caldav.Calendar]:
        principal = self._read("principal discovery", None, lambda: self._dav().principal())
        found = self._read("calendar list", None, principal.calendars)
        if self.config.calendars is None:
            return [c for c in found if self._holds_events(c)]
        named = {self._read("calendar name", c, c.get_display_name) or "": c for c in found}
        by_url = {_href(c.url).rstrip("/"): c for c in found}
        chosen = []
        for wanted in self.config.calendars:
            cal = named.get(wanted) or by_url.get(_href(principal.url.join(wanted)).rstrip("/"))
            if cal is None:
                known = ", ".join(sorted(n for n in named if n)) or "(none)"
                raise ConnectorError(f"no calendar {wanted!r} on the server; found: {known}", account=self.account)
            chosen.append(cal)
        return chosen

    def _holds_events(self, cal: caldav.Calendar) -> bool:
        # RFC 4791 5.2.3: no supported-calendar-component-set means any component.
        kinds = self._read("supported components", cal, cal.get_supported_components)
        return not kinds or "VEVENT" in kinds

    def _collection_token(self, cal: caldav.Calendar) -> tuple[Literal["sync-token", "etag"], str]:
        props = self._read("PROPFIND", cal, lambda: cal.get_properties([dav.SyncToken(), _GetCtag()]))
        token = props.get(dav.SyncToken.tag)
        if token:
            return "sync-token", str(token)
        return "etag", str(props.get(_GetCtag.tag) or "")

    def _member_etags(self, cal: caldav.Calendar) -> dict[str, str]:
        response = self._read(
            "PROPFIND",
            cal,
            lambda: cal.get_properties([dav.GetEtag()], depth=1, parse_response_xml=False),
        )
        found = response.expand_simple_props([dav.GetEtag()])
        own = _href(cal.url)
        return {
            _href(cal.url.join(h)): str(p.get(dav.GetEtag.tag) or "")
            for h, p in found.items()
            if _href(cal.url.join(h)) != own
        }

    def _fetch(self, cal: caldav.Calendar, hrefs: list[str]) -> dict[str, str]:
        # One calendar-multiget REPORT (RFC 4791 7.9) instead of a GET per object.
        objects = self._read("calendar-multiget", cal, lambda: cal.multiget([cal.url.join(h) for h in hrefs]))
        return {_href(o.url): o.data for o in objects if o.data}

    def _dav(self) -> caldav.DAVClient:
        if self._client is None:
            self._client = caldav.DAVClient(
                url=self.config.url,
                username=self.config.username or None,
                password=resolve_password(self.config),
                # A CA file (a private CA) or the system's store; False checks nothing.
                ssl_verify_cert=self.config.ca_file or self.config.verify_tls,
                timeout=self.timeout_seconds,
            )
        return self._client

    @contextmanager
    def _unverified(self) -> Iterator[None]:
        """Around this account's requests: with ``verify_tls = false``, our one line instead of the
        library's ``InsecureRequestWarning`` on every request (about nine a sync, every poll in
        the journal). Said once per account per process; other accounts' warnings stay as they are."""
        if self.config.verify_tls or urlsplit(self.config.url).scheme != "https":
            yield
            return
        if self.account not in _WARNED_UNVERIFIED:
            _WARNED_UNVERIFIED.add(self.account)
            log.warning(
                "%s: verify_tls = false: the certificate of %s is not checked, so anyone between here and the "
                "server can read and change what is sent; to trust a private CA, set ca_file instead",
                self.account,
                _server(self.config.url),
            )
        with warnings.catch_warnings():  # the filters as they were come back when the read ends
            warnings.filterwarnings("ignore", message=_UNVERIFIED_WARNING)
            yield

    def _read(self, what: str, cal: caldav.Calendar | None, call: Callable[[], T]) -> T:
        """Run an idempotent read, retrying transient failures with backoff."""
        where = what + (f" on {_href(cal.url)}" if cal is not None else "")
        retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self.retry_attempts),
            wait=self.retry_wait,
            reraise=True,
        )
        try:
            with self._unverified():
                return retrying(call)
        except dav_error.DAVError as exc:
            if dav.ValidSyncToken.tag in exc.preconditions:
                raise _TokenInvalid(str(exc)) from None
            if isinstance(exc, dav_error.AuthorizationError) and exc.status == 401:
                raise AuthRevoked(
                    f"{where}: the server refused the credentials ({exc.status}) for "
                    f"{self.config.username or '(no username)'}",
                    account=self.account, remedy=_password_hint(self.config),
                ) from None
            raise ConnectorError(f"{where} failed: {_dav_failure(exc)}", account=self.account) from None
        except OSError as exc:  # connection refused, reset, timeout (niquests errors are OSErrors)
            refused = certificate_failure(exc)
            if refused is not None:  # tried once: see _transient
                raise certificate_refused(
                    refused, server=_server(self.config.url), account=self.account, ca_file=self.config.ca_file
                ) from None
            raise ConnectorError(f"{where} failed after {self.retry_attempts} tries: {_one_line(exc)}",
                                 account=self.account) from None


# --- small helpers ---------------------------------------------------------------------------


def _password_hint(account: CalDavAccount) -> str:
    """Where the password the server refused came from: what the user has to fix."""
    if account.password_command:
        return "check what password_command prints"
    if account.password_env:
        return f"check the password in ${account.password_env}"
    if account.credential:
        return f"check the systemd credential {account.credential!r}"
    return "the account has no password configured"


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, dav_error.DAVError):
        return exc.status in (429, 500, 502, 503, 504)
    # A certificate that does not verify is an OSError too, but the server presents the same one next time.
    return isinstance(exc, OSError) and certificate_failure(exc) is None


def _server(url: str) -> str:
    """``host:port`` of an http(s) URL, as a certificate error names the server."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _href(url: Any) -> str:
    return str(url.canonical() if hasattr(url, "canonical") else url)


def _etag(obj: Any) -> str:
    return str((getattr(obj, "props", None) or {}).get(dav.GetEtag.tag) or "")


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _one_line(exc: BaseException) -> str:
    text = clean_text(str(exc))
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    return shorten(text, SERVER_TEXT_LIMIT) if text else type(exc).__name__


def _dav_failure(exc: dav_error.DAVError) -> str:
    """What the server answered, in full but safe: its status, the preconditions it named
    (RFC 4918 16) and what its body says as one line of text (a proxy's HTML page reduced to its
    words). Built from the error's fields: caldav 3 puts "status reason\n\nbody" where its
    ``str()`` says the URL."""
    if not exc.status:
        return _one_line(exc)
    try:
        words = [f"HTTP {exc.status} {HTTPStatus(exc.status).phrase}"]
    except ValueError:
        words = [f"HTTP {exc.status}"]
    if exc.preconditions:
        named = ", ".join(p.rpartition("}")[2] for p in exc.preconditions)
        words.append(f"(precondition failed: {clean_text(named)})")
    said = server_text(exc.body)
    return " ".join(words) + (f"; the server says: {said}" if said else "")


def _readable(cursor: Cursor | None) -> bool:
    return cursor is not None and cursor.get("version") == CURSOR_VERSION


def _window_start(cursor: Cursor | None, default: datetime) -> datetime:
    # Fixed at the first sync: re-expanding a changed object over the same span means
    # an occurrence that disappears was really removed, not merely aged out.
    if cursor and _readable(cursor):
        return datetime.fromisoformat(cursor["window_start"])
    return default


def _states(cursor: Cursor | None) -> dict[str, CalendarState]:
    if not cursor or not _readable(cursor):
        return {}
    return {k: CalendarState.from_json(v) for k, v in cursor.get("calendars", {}).items()}


def _cancellations(
    gone: set[str], states: dict[str, CalendarState], emitted: Iterable[EventRecord]
) -> list[EventRecord]:
    """Cancellation records for ids no object produces any more.

    The same event may sit in two chosen calendars (an invitation copied into a
    shared one); an id still produced elsewhere is not gone.
    """
    alive = {r.source_id for r in emitted}
    for state in states.values():
        alive |= state.all_ids()
    return [cancellation(sid) for sid in sorted(gone - alive)]
