"""Google Calendar as a CalendarSource: events.list with singleEvents, then sync tokens.

A first sync asks each configured calendar (default ``primary``) for its events
from ``now - lookback`` on, recurrences expanded by Google (``singleEvents=true``),
and keeps the ``nextSyncToken`` that comes with the last page. Later syncs send
only the token: Calendar refuses timeMin/timeMax/q/orderBy/updatedMin next to a
syncToken (docs/PROVIDERS.md) and returns changed events, cancelled ones included.

A 410 with reason ``fullSyncRequired`` means the token expired: every chosen
calendar is read again and the result says ``full=True`` so the ledger drops
what this account knew before and takes the fresh picture.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from ..base import Attendee, ConnectorContext, Cursor, EventRecord, ResponseStatus, Skip, SyncResult
from ..errors import ConnectorError
from ..mailheaders import clean_address
from ..text import clean_text
from .auth import (
    GoogleCalendarAccount,
    GoogleConnector,
    GoogleTokens,
    authorised_http,
    build_service,
    call_with_retries,
    error_reason,
    explain,
    http_status,
    json_object,
)

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
PAGE_SIZE = 2500  # events.list maximum with singleEvents
_STATUS = {
    "accepted": ResponseStatus.ACCEPTED,
    "tentative": ResponseStatus.TENTATIVE,
    "declined": ResponseStatus.DECLINED,
    "needsAction": ResponseStatus.NEEDS_ACTION,
}
# Addresses Google generates for rooms and shared calendars: never people.
_GENERATED = ("@resource.calendar.google.com", "@group.calendar.google.com", "@import.calendar.google.com")
_EPOCH = datetime.fromtimestamp(0, UTC)


class _SyncTokenExpired(Exception):
    """events.list answered 410 fullSyncRequired."""


class GoogleCalendarConnector(GoogleConnector):
    kind: ClassVar[str] = "google_calendar"

    def __init__(self, config: GoogleCalendarAccount, context: ConnectorContext | None = None, *,
                 tokens: GoogleTokens | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(config, context, tokens=tokens, sleep=sleep)
        self._service: Any = None
        self._http: Any = None

    def _events(self) -> Any:
        if self._service is None:
            self._http = authorised_http(self.tokens)
            self._service = build_service("calendar", "v3", self.config, self._http)
        return self._service.events()

    # -- CalendarSource

    def sync_events(self, cursor: Cursor | None) -> SyncResult[EventRecord]:
        tokens = _tokens(cursor)
        if tokens and set(tokens) == set(self.config.calendars):
            try:
                return self._sync_all(tokens)
            except _SyncTokenExpired as exc:
                log.warning("%s: %s; reading every calendar again", self.account, exc)
        result = self._sync_all({})
        result.full = bool(cursor)  # the ledger forgets what it knew and takes this picture
        return result

    def _sync_all(self, tokens: dict[str, str]) -> SyncResult[EventRecord]:
        result: SyncResult[EventRecord] = SyncResult(records=[], cursor={})
        new_tokens = {}
        for calendar in self.config.calendars:
            items, new_tokens[calendar] = self._read_calendar(calendar, tokens.get(calendar))
            for item in items:
                made = event_record(item, self.context)
                (result.skipped if isinstance(made, Skip) else result.records).append(made)  # type: ignore[arg-type]
        result.cursor = {"version": CURSOR_VERSION, "calendars": new_tokens}
        return result

    def _read_calendar(self, calendar: str, token: str | None) -> tuple[list[dict[str, Any]], str]:
        items: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            page = self._page(calendar, token, page_token)
            items += page.get("items", [])
            page_token = page.get("nextPageToken")
            if not page_token:
                # nextSyncToken comes only with the last page (docs/PROVIDERS.md, Calendar).
                return items, str(page.get("nextSyncToken", ""))

    def _page(self, calendar: str, token: str | None, page_token: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"calendarId": calendar, "singleEvents": True, "maxResults": PAGE_SIZE,
                                  "pageToken": page_token}
        if token:
            params["syncToken"] = token  # nothing else that narrows: Calendar refuses it
        else:
            since = self.context.current_time() - timedelta(days=self.context.lookback_days)
            params["timeMin"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
            params["showDeleted"] = False

        def attempt() -> dict[str, Any]:
            self.limiter.acquire(self.config.cost("events.list"))
            return json_object(self._events().list(**params).execute(http=self._http, num_retries=0), "events.list")

        try:
            return call_with_retries(attempt, self.retry_policy, f"{self.account}: events.list {calendar}",
                                     sleep=self._sleep)
        except Exception as exc:
            if http_status(exc) == 410 and token:
                raise _SyncTokenExpired(f"sync token of {calendar} expired ({error_reason(exc)})") from None
            if http_status(exc):
                raise explain(exc, self.account, f"events.list {calendar}") from None
            if isinstance(exc, ConnectorError):
                raise
            raise ConnectorError(f"events.list {calendar} failed: {exc}", account=self.account) from None


# --- records -------------------------------------------------------------------------------------


def event_record(item: dict[str, Any], context: ConnectorContext) -> EventRecord | Skip:
    """One Calendar API event -> EventRecord; cancelled events keep only their id."""
    event_id = str(item.get("id", ""))
    if not event_id:
        return Skip("google-calendar", "event without id")
    uid = str(item.get("iCalUID") or event_id)
    if item.get("status") == "cancelled":
        return EventRecord(source_id=event_id, uid=uid, start=_EPOCH, end=_EPOCH, cancelled=True)
    zone = ZoneInfo(context.timezone)
    try:
        start, all_day = _when(item.get("start") or {}, zone)
        end, _ = _when(item.get("end") or item.get("start") or {}, zone)
    except ValueError as exc:
        return Skip(f"google-calendar:{event_id}", f"unusable start or end: {exc}")
    organizer = _email((item.get("organizer") or {}).get("email", ""))
    attendees = _attendees(item, organizer)
    return EventRecord(
        source_id=event_id,
        uid=uid,
        start=start,
        end=max(end, start),
        title=clean_text(str(item.get("summary") or "")),
        organizer=organizer,
        attendees=attendees,
        my_status=_my_status(item, attendees, context.my_addresses),
        all_day=all_day,
    )


def _when(value: dict[str, Any], zone: ZoneInfo) -> tuple[datetime, bool]:
    if "dateTime" in value:
        when = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=ZoneInfo(value.get("timeZone") or zone.key))
        return when.astimezone(UTC), False
    if "date" in value:
        # All-day dates belong to the user's own zone, as in the ics and CalDAV connectors.
        day = date.fromisoformat(str(value["date"]))
        return datetime.combine(day, dtime(), zone).astimezone(UTC), True
    raise ValueError("neither dateTime nor date")


def _attendees(item: dict[str, Any], organizer: str) -> tuple[Attendee, ...]:
    found: list[Attendee] = []
    for a in item.get("attendees", []):
        email = _email(a.get("email", ""))
        if not email:
            continue
        found.append(Attendee(
            email=email,
            name=clean_text(str(a.get("displayName") or "")),
            status=_STATUS.get(str(a.get("responseStatus", "")), ResponseStatus.UNKNOWN),
            is_organizer=bool(a.get("organizer")) or email == organizer,
            is_resource=bool(a.get("resource")) or email.endswith(_GENERATED),
        ))
    if organizer and not organizer.endswith(_GENERATED) and all(a.email != organizer for a in found):
        name = clean_text(str((item.get("organizer") or {}).get("displayName") or ""))
        found.insert(0, Attendee(email=organizer, name=name, is_organizer=True))
    return tuple(found)


def _my_status(item: dict[str, Any], attendees: tuple[Attendee, ...], mine: frozenset[str]) -> ResponseStatus:
    if (item.get("organizer") or {}).get("self"):
        return ResponseStatus.ACCEPTED
    for raw in item.get("attendees", []):
        if raw.get("self"):
            return _STATUS.get(str(raw.get("responseStatus", "")), ResponseStatus.UNKNOWN)
    for a in attendees:
        if a.email in mine:
            return a.status
    # Alone on my own calendar (no attendee list): I take part.
    return ResponseStatus.ACCEPTED if not item.get("attendees") else ResponseStatus.UNKNOWN


def _email(value: object) -> str:
    # The rule every connector applies to mail (addresses.py): anyone who invites us writes these.
    return clean_address(str(value or ""))


def _tokens(cursor: Cursor | None) -> dict[str, str]:
    if not cursor or cursor.get("version") != CURSOR_VERSION:
        return {}
    found = cursor.get("calendars") or {}
    return {str(k): str(v) for k, v in found.items() if v}
