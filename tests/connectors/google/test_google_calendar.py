"""The Google Calendar connector against the fake Google server (real googleapiclient)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from circleback.connectors.base import ResponseStatus
from circleback.connectors.errors import AuthRevoked, ConnectorError
from circleback.connectors.google.auth import GoogleCalendarAccount
from circleback.connectors.google.calendar import GoogleCalendarConnector
from tests.support.contract import CONTEXT, ME, NOW
from tests.support.fake_google import FakeGoogle
from tests.support.google import FAST, token_file
from tests.support.hostile import GUEST, HOSTILE_ATTENDEES, HOSTILE_ORGANIZER


def calendar_account(tmp_path: Path, fake: FakeGoogle, **over: Any) -> GoogleCalendarAccount:
    base: dict[str, Any] = {
        "name": "cal",
        "client_secrets": str(tmp_path / "client_secret.json"),
        "token_path": str(token_file(tmp_path, fake)),
        "api_endpoint": fake.url,
        "token_uri": fake.token_uri,
    }
    return GoogleCalendarAccount.model_validate({**base, **over})


@pytest.fixture
def connector(
    fake_google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> Iterator[GoogleCalendarConnector]:
    monkeypatch.setattr(GoogleCalendarConnector, "retry_policy", FAST)
    yield GoogleCalendarConnector(calendar_account(tmp_path, fake_google), CONTEXT, sleep=lambda s: None)


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meeting(event_id: str, *, days_ago: float = 3, attendees: list[dict[str, Any]] | None = None,
            **extra: Any) -> dict[str, Any]:
    start = NOW - timedelta(days=days_ago)
    return {
        "id": event_id,
        "iCalUID": f"{event_id}@google.com",
        "status": "confirmed",
        "summary": f"Coffee {event_id}",
        "start": {"dateTime": stamp(start)},
        "end": {"dateTime": stamp(start + timedelta(hours=1))},
        "organizer": {"email": "ann@example.com", "displayName": "Ann"},
        "attendees": attendees if attendees is not None else [
            {"email": "ann@example.com", "displayName": "Ann", "organizer": True, "responseStatus": "accepted"},
            {"email": ME, "self": True, "responseStatus": "tentative"},
            {"email": "bob@example.com", "responseStatus": "declined"},
            {"email": "room-1@resource.calendar.google.com", "resource": True, "responseStatus": "accepted"},
        ],
        **extra,
    }


def test_first_sync_reads_attendees_and_my_answer(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector,
) -> None:
    fake_google.put_event(meeting("e1"))

    (event,) = connector.sync_events(None).records

    assert event.source_id == "e1" and event.uid == "e1@google.com"
    assert event.start == (NOW - timedelta(days=3)).replace(microsecond=0)
    assert event.my_status is ResponseStatus.TENTATIVE
    by_email = {a.email: a for a in event.attendees}
    assert by_email["ann@example.com"].is_organizer
    assert by_email["bob@example.com"].status is ResponseStatus.DECLINED
    assert by_email["room-1@resource.calendar.google.com"].is_resource
    assert event.organizer == "ann@example.com"


def test_all_day_events_are_dates_in_my_zone(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector,
) -> None:
    fake_google.put_event({"id": "d1", "status": "confirmed", "summary": "Offsite",
                           "start": {"date": "2025-03-07"}, "end": {"date": "2025-03-08"}})

    (event,) = connector.sync_events(None).records

    assert event.all_day
    assert event.start == datetime(2025, 3, 7, tzinfo=UTC)


def test_incremental_uses_only_the_sync_token_and_sees_cancellations(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector,
) -> None:
    fake_google.put_event(meeting("e1"))
    fake_google.put_event(meeting("e2"))
    first = connector.sync_events(None)
    fake_google.cancel_event("e1")
    fake_google.put_event(meeting("e3", days_ago=1))

    second = connector.sync_events(first.cursor)
    third = connector.sync_events(second.cursor)

    assert sorted((r.source_id, r.cancelled) for r in second.records) == [("e1", True), ("e3", False)]
    assert not second.full
    assert third.records == []


def test_an_expired_sync_token_reads_everything_again_as_a_full_result(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector,
) -> None:
    fake_google.put_event(meeting("e1"))
    first = connector.sync_events(None)
    fake_google.put_event(meeting("e2"))
    fake_google.expired_sync_tokens.add(first.cursor["calendars"]["primary"])

    second = connector.sync_events(first.cursor)

    assert second.full
    assert sorted(r.source_id for r in second.records) == ["e1", "e2"]
    assert second.cursor["calendars"]["primary"] != first.cursor["calendars"]["primary"]


def test_several_calendars_each_keep_their_token(fake_google: FakeGoogle, tmp_path: Path) -> None:
    fake_google.calendars["team@group.calendar.google.com"] = {}
    fake_google.put_event(meeting("p1"))
    fake_google.put_event(meeting("t1"), calendar="team@group.calendar.google.com")
    conn = GoogleCalendarConnector(
        calendar_account(tmp_path, fake_google, calendars=["primary", "team@group.calendar.google.com"]), CONTEXT)

    result = conn.sync_events(None)

    assert sorted(r.source_id for r in result.records) == ["p1", "t1"]
    assert set(result.cursor["calendars"]) == {"primary", "team@group.calendar.google.com"}


def test_old_events_are_outside_the_lookback(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector,
) -> None:
    fake_google.put_event(meeting("old", days_ago=400))
    fake_google.put_event(meeting("new", days_ago=4))

    assert [r.source_id for r in connector.sync_events(None).records] == ["new"]


@pytest.mark.parametrize("kind", ["429", "403-user", "500", "503", "drop", "truncate"])
def test_transient_errors_are_retried(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector, kind: str,
) -> None:
    fake_google.put_event(meeting("e1"))
    fake_google.inject("events.list", kind, times=2)

    assert [r.source_id for r in connector.sync_events(None).records] == ["e1"]


def test_forbidden_is_not_retried(fake_google: FakeGoogle, connector: GoogleCalendarConnector) -> None:
    fault = fake_google.inject("events.list", "403-other", times=3)

    with pytest.raises(ConnectorError, match="forbidden"):
        connector.sync_events(None)
    assert fault.times == 2


def test_a_revoked_token_pauses_the_account(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector,
) -> None:
    fake_google.refresh_tokens["rt-good"] = False

    with pytest.raises(AuthRevoked, match="circleback auth google cal"):
        connector.sync_events(None)


def test_a_hostile_organizer_or_attendee_becomes_no_person(
    fake_google: FakeGoogle, connector: GoogleCalendarConnector,
) -> None:
    people = [{"email": a, "responseStatus": "accepted"} for a in HOSTILE_ATTENDEES]
    fake_google.put_event(meeting("h1", organizer={"email": HOSTILE_ORGANIZER, "displayName": "Boss"}, attendees=[
        {"email": HOSTILE_ORGANIZER, "organizer": True, "responseStatus": "accepted"}, *people,
        {"email": GUEST, "responseStatus": "accepted"}, {"email": ME, "self": True, "responseStatus": "accepted"}]))

    (event,) = connector.sync_events(None).records

    assert event.organizer == ""
    assert {a.email for a in event.attendees} == {GUEST, ME}
