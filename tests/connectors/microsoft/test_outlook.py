"""The Outlook connector (its contracts run in test_registry.py): behaviour against the fake Graph server,
request shapes and faults with `responses`, the real corpus samples, and an engine cycle."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import signal
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import responses

from circleback.connectors.base import ConnectorContext, Direction, EventRecord, ResponseStatus
from circleback.connectors.errors import SendRefused
from circleback.connectors.microsoft.auth import OutlookAccount
from circleback.connectors.microsoft.outlook import (
    MESSAGE_FIELDS,
    GraphError,
    OutlookConnector,
    event_record,
    message_record,
)
from tests.support.contract import CONTEXT, ME, NOW, build_message, draft_message
from tests.support.corpus import CORPUS
from tests.support.fake_graph import TOKEN, FakeGraph
from tests.support.hostile import GUEST, HOSTILE_ATTENDEES, HOSTILE_ORGANIZER
from tests.support.outlook import CLIENT_ID, CURSOR, DELTA_URL, GRAPH, INBOX, PAGE, connector

MSGRAPH = CORPUS / "api" / "msgraph"






# --- mail sync against the fake ----------------------------------------------------------------------


def test_folders_junk_deleted_drafts_outbox_are_skipped_and_subfolders_read(fake: FakeGraph) -> None:
    projects = fake.add_folder("Projects", parent=fake.folder_id("inbox"))
    fake.add_json(projects, {"from": {"emailAddress": {"address": "p@example.com"}},
                             "receivedDateTime": "2025-03-01T10:00:00Z", "internetMessageId": "<p@x>"})
    for n, folder in enumerate(("junkemail", "deleteditems", "drafts", "outbox"), start=10):
        fake.add_message(build_message(n), folder)
    fake.add_message(build_message(1))

    result = connector(fake.endpoint).sync_mail(None)

    assert {r.message_id: r.folder for r in result.records} == {"msg1@test": "Inbox", "p@x": "Inbox/Projects"}
    read = {p.split("/")[4] for p in fake.paths() if p.endswith("/messages/delta")}
    skipped = {fake.folder_id(n) for n in ("junkemail", "deleteditems", "drafts", "outbox")}
    assert read and not read & skipped


def test_delta_asks_for_headers_only_with_a_page_size(fake: FakeGraph) -> None:
    fake.add_message(build_message(1))

    connector(fake.endpoint, page_size=7).sync_mail(None)

    first = next(r for r in fake.log if r.path.endswith("/messages/delta"))
    assert first.query["$select"] == [MESSAGE_FIELDS]
    assert "body" not in MESSAGE_FIELDS.split(",")
    assert first.headers["prefer"] == "odata.maxpagesize=7"


def test_every_page_is_followed_to_the_delta_link(fake: FakeGraph) -> None:
    for n in range(1, 8):
        fake.add_message(build_message(n))

    result = connector(fake.endpoint, page_size=2).sync_mail(None)

    inbox = fake.folder_id("inbox")
    assert len(result.records) == 7
    assert len([p for p in fake.paths() if inbox in p]) == 4  # 2+2+2+1
    assert "$deltatoken=" in result.cursor["folders"][inbox]["link"]


def test_idle_poll_is_one_batch_request(fake: FakeGraph) -> None:
    fake.add_message(build_message(1))
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    fake.reset_log()

    second = conn.sync_mail(first.cursor)

    assert second.records == [] and second.skipped == []
    assert [f"{r.method} {r.path}" for r in fake.requests()] == ["POST /v1.0/$batch"]
    items = [r for r in fake.log if r.batched]
    assert len(items) == len(first.cursor["folders"]) == 3  # Inbox, Sent Items, Archive
    assert all(r.query.get("$deltatoken") and r.status == 200 for r in items)
    links = {fid: f["link"] for fid, f in second.cursor["folders"].items()}
    assert links.keys() == first.cursor["folders"].keys()  # every folder keeps its own deltaLink
    assert all(f"/mailFolders/{fid}/messages/delta?$deltatoken=" in link for fid, link in links.items())


def test_removed_messages_are_ignored_and_updates_deduped(fake: FakeGraph) -> None:
    keep = fake.add_message(build_message(1))
    gone = fake.add_message(build_message(2))
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    fake.remove(gone)
    fake.update(keep, isRead=True)  # a flag change replays the message

    second = conn.sync_mail(first.cursor)

    assert [r.message_id for r in second.records] == ["msg1@test"]
    assert second.skipped == []


def test_direction_category_and_timestamps(fake: FakeGraph) -> None:
    fake.add_message(build_message(1, sender=ME, to="dora@example.com"))  # mine, though in Inbox
    fake.add_message(build_message(2, extra={"List-Id": "<news.example.com>"}))

    got = {r.message_id: r for r in connector(fake.endpoint).sync_mail(None).records}

    assert got["msg1@test"].direction is Direction.SENT
    assert got["msg2@test"].category == ""  # Focused Inbox "other" is no verdict of bulk
    assert got["msg2@test"].timestamp == NOW - timedelta(days=2)


def test_my_address_from_graph_decides_direction_without_config(fake: FakeGraph) -> None:
    fake.add_message(build_message(1, sender=ME, to="dora@example.com"))
    context = ConnectorContext(lookback_days=365, now=NOW)  # no configured addresses

    (record,) = connector(fake.endpoint, context).sync_mail(None).records

    assert record.direction is Direction.SENT


@pytest.mark.parametrize("style", ["410", "SyncStateNotFound", "resyncRequired"])
def test_an_expired_folder_token_resyncs_that_folder_only(fake: FakeGraph, style: str) -> None:
    fake.add_message(build_message(1))
    fake.add_message(build_message(2), "Sent")
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    fake.add_message(build_message(3))
    fake.expire_tokens(fake.folder_id("inbox"), style)
    fake.reset_log()

    second = conn.sync_mail(first.cursor)

    assert sorted(r.message_id for r in second.records) == ["msg1@test", "msg3@test"]  # Inbox read again
    assert second.full is False and second.skipped == []
    sent = [r for r in fake.log if fake.folder_id("sentitems") in r.path]
    assert len(sent) == 1 and sent[0].query.get("$deltatoken")
    third = conn.sync_mail(second.cursor)
    assert third.records == []


def test_other_errors_are_not_a_resync_and_resume_from_the_same_link(fake: FakeGraph) -> None:
    fake.add_message(build_message(1))
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    inbox = fake.folder_id("inbox")
    fake.fail_next("GET", f"{inbox}/messages/delta", 400,
                   body={"error": {"code": "ErrorInvalidRequest", "message": "bad"}})
    fake.reset_log()

    second = conn.sync_mail(first.cursor)

    assert len([r for r in fake.log if inbox in r.path]) == 1  # no restart from scratch
    assert [s.where for s in second.skipped] == ["Inbox"] and "resumes next cycle" in second.skipped[0].why
    assert second.cursor["folders"][inbox]["link"] == first.cursor["folders"][inbox]["link"]


def test_never_more_than_four_requests_in_flight(fake: FakeGraph) -> None:
    fake.rtt = 0.01
    for n in range(12):
        folder = fake.add_folder(f"Folder {n}")
        for m in range(3):
            fake.add_json(folder, {"from": {"emailAddress": {"address": f"a{m}@example.com"}},
                                   "receivedDateTime": "2025-03-01T10:00:00Z"})

    result = connector(fake.endpoint, page_size=1).sync_mail(None)

    assert len(result.records) == 36
    assert 2 <= fake.max_in_flight <= 4  # used in parallel, never beyond the limit
    assert fake.throttled == 0


# --- calendar ---------------------------------------------------------------------------------------


def meeting(start: datetime, *, subject: str = "Coffee", me_response: str = "accepted", cancelled: bool = False,
            attendees: list[tuple[str, str, str]] | None = None) -> dict[str, Any]:
    people = attendees or [("ann@example.com", "required", "accepted"), ("room@example.com", "resource", "none")]
    return {
        "subject": subject, "iCalUId": f"uid-{subject}", "isAllDay": False, "isCancelled": cancelled,
        "isOrganizer": False, "type": "singleInstance",
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "organizer": {"emailAddress": {"name": "Ann", "address": "ann@example.com"}},
        "responseStatus": {"response": me_response, "time": "2025-01-01T00:00:00Z"},
        "attendees": [
            {"type": kind, "status": {"response": resp, "time": "0001-01-01T00:00:00Z"},
             "emailAddress": {"name": addr.split("@")[0], "address": addr}}
            for addr, kind, resp in [*people, (ME, "required", me_response)]
        ],
    }


def test_calendar_window_utc_and_attendees(fake: FakeGraph) -> None:
    fake.add_event(meeting(NOW - timedelta(days=3)))
    fake.add_event(meeting(NOW + timedelta(days=400), subject="Too far"))

    result = connector(fake.endpoint).sync_events(None)

    (event,) = result.records
    assert result.full is True
    assert event.start == NOW - timedelta(days=3) and event.uid == "uid-Coffee"
    assert event.my_status is ResponseStatus.ACCEPTED and event.organizer == "ann@example.com"
    statuses = {a.email: (a.status, a.is_resource, a.is_organizer) for a in event.attendees}
    assert statuses["ann@example.com"] == (ResponseStatus.ACCEPTED, False, True)
    assert statuses["room@example.com"][1] is True
    first = fake.log[0]
    assert first.query["startDateTime"] == [(NOW - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert first.query["endDateTime"] == [(NOW + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert 'outlook.timezone="UTC"' in first.headers["prefer"]


def test_a_hostile_organizer_or_attendee_becomes_no_person(fake: FakeGraph) -> None:
    people = [(a, "required", "accepted") for a in (HOSTILE_ORGANIZER, *HOSTILE_ATTENDEES, GUEST)]
    event = meeting(NOW - timedelta(days=3), attendees=people)
    fake.add_event({**event, "organizer": {"emailAddress": {"name": "Boss", "address": HOSTILE_ORGANIZER}}})

    (record,) = connector(fake.endpoint).sync_events(None).records

    assert record.organizer == ""
    assert {a.email for a in record.attendees} == {GUEST, ME}


def test_calendar_changes_removals_and_declines(fake: FakeGraph) -> None:
    keep = fake.add_event(meeting(NOW - timedelta(days=3)))
    drop = fake.add_event(meeting(NOW - timedelta(days=2), subject="Lunch"))
    conn = connector(fake.endpoint)
    first = conn.sync_events(None)
    fake.remove(drop)
    fake.update(keep, responseStatus={"response": "declined"})

    second = conn.sync_events(first.cursor)

    got = {e.source_id: e for e in second.records}
    assert second.full is False
    assert got[drop].cancelled is True
    assert got[keep].my_status is ResponseStatus.DECLINED
    assert conn.sync_events(second.cursor).records == []


def test_moving_the_window_is_a_planned_full_resync(fake: FakeGraph) -> None:
    fake.add_event(meeting(NOW - timedelta(days=3)))
    first = connector(fake.endpoint).sync_events(None)
    later = ConnectorContext(my_addresses=frozenset({ME}), lookback_days=365, now=NOW + timedelta(days=31))

    moved = connector(fake.endpoint, later).sync_events(first.cursor)

    assert moved.full is True and len(moved.records) == 1
    assert moved.cursor["start"] != first.cursor["start"]


@pytest.mark.parametrize("style", ["410", "syncStateNotFound"])
def test_an_expired_calendar_token_is_a_full_resync(fake: FakeGraph, style: str) -> None:
    fake.add_event(meeting(NOW - timedelta(days=3)))
    conn = connector(fake.endpoint)
    first = conn.sync_events(None)
    fake.expire_tokens("calendar", style)

    again = conn.sync_events(first.cursor)

    assert again.full is True and len(again.records) == 1


def test_all_day_events_belong_to_the_users_zone() -> None:
    item = {**meeting(datetime(2025, 3, 1, tzinfo=UTC)), "id": "e1", "isAllDay": True}

    record = event_record(item, mine=frozenset({ME}), zone=ZoneInfo("Europe/Berlin"), now=NOW)

    assert isinstance(record, EventRecord) and record.all_day
    assert record.start == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)  # midnight in Berlin


# --- drafts ------------------------------------------------------------------------------------------


def reply_message(key: str, in_reply_to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = ME
    msg["To"] = "ann@example.com"
    msg["Subject"] = "Re: the plan"
    msg["In-Reply-To"] = f"<{in_reply_to}>"
    msg["X-Circleback-Key"] = key
    msg.set_content("How did it go?\n")
    return msg.as_bytes()


def test_a_reply_draft_is_one_create_reply_carrying_the_whole_draft(fake: FakeGraph) -> None:
    original = fake.add_message(build_message(1, sender="ann@example.com"))
    conn = connector(fake.endpoint)

    conn.create_draft(reply_message("k-r", "msg1@test"), "k-r")

    calls = [p for p in fake.paths() if "/me/messages" in p]
    assert calls[-1] == f"POST /v1.0/me/messages/{original}/createReply"
    assert not [p for p in calls if p.startswith("PATCH")]
    (draft,) = fake.drafts()
    assert draft.data["replyTo"] == original
    assert draft.data["body"] == {"contentType": "text", "content": "How did it go?\n"}
    assert draft.data["subject"] == "Re: the plan"
    assert [d.key for d in conn.list_drafts()] == ["k-r"]


def test_a_create_reply_stored_but_answered_503_leaves_a_whole_draft(fake: FakeGraph) -> None:
    # Graph stored the reply and the answer was lost: what reconciliation then finds by its tag must
    # be the draft we meant, not a tagged reply whose body was never written.
    original = fake.add_message(build_message(1, sender="ann@example.com"))
    conn = connector(fake.endpoint)
    fake.fail_next("POST", f"{original}/createReply", 503, after=True,
                   body={"error": {"code": "ServiceUnavailable", "message": "try later"}})

    with pytest.raises(GraphError):
        conn.create_draft(reply_message("k-r", "msg1@test"), "k-r")

    (ref,) = conn.list_drafts()
    assert ref.key == "k-r"  # what the outbox reconciles by
    (draft,) = fake.drafts()
    assert draft.data["body"] == {"contentType": "text", "content": "How did it go?\n"}
    assert draft.data["toRecipients"] == [{"emailAddress": {"address": "ann@example.com", "name": ""}}]
    assert b"How did it go?" in (conn.get_draft(ref) or b"")


def test_a_new_draft_is_one_json_post_with_our_header(fake: FakeGraph) -> None:
    conn = connector(fake.endpoint)
    fake.reset_log()

    conn.create_draft(draft_message("k-n"), "k-n")

    (post,) = [r for r in fake.log if r.method == "POST"]
    (draft,) = fake.drafts()
    assert post.path == "/v1.0/me/messages"
    assert json.loads(post.body)["singleValueExtendedProperties"] == [
        {"id": "String {00020386-0000-0000-C000-000000000046} Name x-circleback-key", "value": "k-n"}]
    assert fake.draft_key(draft) == "k-n"
    assert "x-circleback-key: k-n" in conn.get_draft(conn.list_drafts()[0]).decode().lower()  # a MIME header
    assert draft.data["toRecipients"] == [{"emailAddress": {"address": "bob@example.net", "name": ""}}]
    assert draft.data["subject"] == "Long time no see"


def test_a_draft_without_its_key_is_refused_before_any_request(fake: FakeGraph) -> None:
    fake.reset_log()
    with pytest.raises(ValueError, match="X-Circleback-Key"):
        connector(fake.endpoint).create_draft(draft_message("k-1"), "k-2")
    assert fake.log == []


def test_no_request_ever_reaches_a_send_path(fake: FakeGraph) -> None:
    fake.add_message(build_message(1, sender="ann@example.com"))
    conn = connector(fake.endpoint)
    conn.sync_mail(None)
    conn.sync_events(None)
    conn.create_draft(reply_message("k-s", "msg1@test"), "k-s")
    conn.create_draft(draft_message("k-t"), "k-t")
    conn.list_drafts()
    made = fake.paths()
    fake.reset_log()

    sends = ("/me/sendMail", "/me/messages/abc/send", "/me/messages/abc/reply", "/me/messages/abc/replyAll",
             "/me/messages/abc/forward")
    for path in sends:
        with pytest.raises(SendRefused):
            conn.client.write("POST", fake.endpoint + path, {})
    for path in sends[:2]:
        with pytest.raises(SendRefused):  # the shared session refuses these on its own
            conn.client.session.post(fake.endpoint + path, json={})
    assert fake.log == []  # not one byte reached the server
    assert any(p.endswith("/createReply") for p in made)
    assert not [p for p in made if re.search(r"(?i)/(send|sendmail|reply|replyall|forward)$", p)]


# --- request shapes and faults with `responses` ------------------------------------------------------



@pytest.fixture
def graph() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def test_429_waits_for_retry_after(graph: responses.RequestsMock) -> None:
    graph.get(DELTA_URL, status=429, headers={"Retry-After": "7"})
    graph.get(DELTA_URL, json=PAGE)
    waits: list[float] = []

    result = connector(GRAPH, sleeps=waits).sync_mail(CURSOR)

    assert [r.message_id for r in result.records] == ["m1@x"] and waits == [7.0]
    assert graph.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status", [429, 503, 504])
def test_throttling_without_retry_after_backs_off(graph: responses.RequestsMock, status: int) -> None:
    graph.get(DELTA_URL, status=status)
    graph.get(DELTA_URL, status=status)
    graph.get(DELTA_URL, json=PAGE)
    waits: list[float] = []

    result = connector(GRAPH, sleeps=waits).sync_mail(CURSOR)

    assert len(result.records) == 1 and waits == [1.0, 2.0]


def test_timeouts_and_truncated_json_are_retried(graph: responses.RequestsMock) -> None:
    graph.get(DELTA_URL, body=requests.ReadTimeout("slow"))
    graph.get(DELTA_URL, body=json.dumps(PAGE)[:40], content_type="application/json")
    graph.get(DELTA_URL, json=PAGE)

    result = connector(GRAPH).sync_mail(CURSOR)

    assert len(result.records) == 1 and result.skipped == []


def test_a_folder_that_keeps_failing_is_one_skip_and_keeps_its_place(graph: responses.RequestsMock) -> None:
    graph.get(DELTA_URL, body=b'{"value": [', content_type="application/json")

    result = connector(GRAPH).sync_mail({**CURSOR})

    assert result.records == [] and len(graph.calls) == 5
    assert len(result.skipped) == 1 and "not complete JSON" in result.skipped[0].why
    assert result.cursor["folders"][INBOX]["link"] is None  # starts over next time, nothing lost


def test_a_retry_after_beyond_the_cap_ends_the_cycle_instead_of_sleeping(graph: responses.RequestsMock) -> None:
    graph.get(DELTA_URL, status=429, headers={"Retry-After": "3600"})
    waits: list[float] = []

    result = connector(GRAPH, sleeps=waits).sync_mail(CURSOR)

    assert waits == [] and "Retry-After" in result.skipped[0].why


def test_410_follows_location_on_graph_only(graph: responses.RequestsMock) -> None:
    cursor = json.loads(json.dumps(CURSOR))
    cursor["folders"][INBOX]["link"] = f"{DELTA_URL}?$deltatoken=old"
    restart = f"{DELTA_URL}?$deltatoken="
    graph.get(f"{DELTA_URL}?$deltatoken=old", status=410, headers={"Location": restart},
              json={"error": {"code": "SyncStateNotFound", "message": "gone"}})
    graph.get(restart, json=PAGE)

    result = connector(GRAPH).sync_mail(cursor)

    assert len(result.records) == 1
    assert graph.calls[1].request.url == restart


def test_410_with_a_foreign_location_restarts_from_our_own_url(graph: responses.RequestsMock) -> None:
    cursor = json.loads(json.dumps(CURSOR))
    cursor["folders"][INBOX]["link"] = f"{DELTA_URL}?$deltatoken=old"
    graph.get(f"{DELTA_URL}?$deltatoken=old", status=410, headers={"Location": "https://evil.example/steal"})
    graph.get(DELTA_URL, json=PAGE)

    result = connector(GRAPH).sync_mail(cursor)

    assert len(result.records) == 1
    assert all("evil" not in c.request.url for c in graph.calls)


def test_a_next_link_to_another_host_is_not_followed(graph: responses.RequestsMock) -> None:
    graph.get(DELTA_URL, json={"value": [], "@odata.nextLink": "https://evil.example/next"})

    result = connector(GRAPH).sync_mail(CURSOR)

    assert len(graph.calls) == 1 and "nextLink" in result.skipped[0].why


def test_draft_creation_is_not_retried_on_503_but_is_on_429(graph: responses.RequestsMock) -> None:
    graph.post(f"{GRAPH}/me/messages", status=503)
    with pytest.raises(GraphError):
        connector(GRAPH).create_draft(draft_message("k"), "k")
    assert len(graph.calls) == 1

    graph.replace(responses.POST, f"{GRAPH}/me/messages", status=429, headers={"Retry-After": "1"})
    graph.add(responses.POST, f"{GRAPH}/me/messages", status=201, json={"id": "d1"})
    assert connector(GRAPH).create_draft(draft_message("k"), "k").ref == "d1"


def test_get_draft_of_an_unknown_or_malformed_id_is_none(graph: responses.RequestsMock) -> None:
    graph.get(f"{GRAPH}/me/messages/nope/$value", status=400,
              json={"error": {"code": "ErrorInvalidIdMalformed", "message": "Id is malformed."}})
    from circleback.connectors.base import DraftRef

    assert connector(GRAPH).get_draft(DraftRef("work", "nope")) is None


def test_a_401_refreshes_the_token_once(graph: responses.RequestsMock) -> None:
    graph.get(DELTA_URL, status=401, json={"error": {"code": "InvalidAuthenticationToken", "message": "expired"}})
    graph.get(DELTA_URL, json=PAGE)
    forced: list[bool] = []

    class Tokens:
        def access_token(self, *, force_refresh: bool = False) -> str:
            forced.append(force_refresh)
            return "fresh" if force_refresh else "stale"

    account = OutlookAccount(name="work", client_id=CLIENT_ID)
    conn = OutlookConnector(account, CONTEXT, tokens=Tokens(), sleep=lambda s: None)

    assert len(conn.sync_mail(CURSOR).records) == 1
    assert forced == [False, True] and graph.calls[1].request.headers["Authorization"] == "Bearer fresh"


# --- the real corpus --------------------------------------------------------------------------------

WIDE = ConnectorContext(my_addresses=frozenset({ME}), lookback_days=365 * 100, now=NOW)
MAIL_SAMPLES = sorted(p for p in MSGRAPH.iterdir() if "message" in p.name)
EVENT_SAMPLES = sorted(p for p in MSGRAPH.iterdir() if "event" in p.name or "calendar" in p.name.lower())


def load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def test_corpus_has_the_samples_the_brief_names() -> None:
    names = [p.name for p in MSGRAPH.iterdir()]
    assert any("message-delta" in n for n in names) and any(n.endswith(".json.invalid") for n in names)
    assert len(MAIL_SAMPLES) >= 10 and len(EVENT_SAMPLES) >= 10


@pytest.mark.parametrize("path", MSGRAPH.glob("*.json*"), ids=lambda p: p.name)
def test_every_corpus_item_parses_or_is_a_skip(path: Path) -> None:
    data = load(path)
    if data is None:
        assert path.name.endswith(".invalid")
        return
    items = data.get("value") if isinstance(data.get("value"), list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        message_record(item, folder="Inbox", sent_folder=False, mine=WIDE.my_addresses)
        event_record(item, mine=WIDE.my_addresses, zone=ZoneInfo("UTC"), now=NOW)


def serve_then_finish(graph: responses.RequestsMock, path: Path, first_url: str) -> None:
    graph.get(first_url, body=path.read_bytes(), content_type="application/json")
    if path.name.endswith(".invalid"):
        return  # served on every retry: it stays broken
    # The samples' nextLinks point back at graph.microsoft.com: end the round there.
    graph.get(re.compile(r"https://graph\.microsoft\.com/.*"),
              json={"value": [], "@odata.deltaLink": f"{GRAPH}/me/done?$deltatoken=x"})


@pytest.mark.parametrize("path", MAIL_SAMPLES, ids=lambda p: p.name)
def test_corpus_mail_pages_through_the_connector(path: Path) -> None:
    data = load(path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as graph:
        serve_then_finish(graph, path, DELTA_URL)
        result = connector(GRAPH, WIDE).sync_mail(CURSOR)
    if data is None or not isinstance(data.get("value"), list):
        assert result.records == [] and len(result.skipped) == 1  # one line for the folder, no crash
        return
    items = data["value"]
    removed = sum(1 for i in items if "@removed" in i)
    dead_end = not any(k in data for k in ("@odata.nextLink", "@odata.deltaLink"))  # a plain listing
    assert len(result.records) + len(result.skipped) + removed == len(items) + dead_end
    assert result.cursor["folders"][INBOX]["link"] is None or not dead_end
    assert all(r.timestamp.tzinfo is not None for r in result.records)


@pytest.mark.parametrize("path", EVENT_SAMPLES, ids=lambda p: p.name)
def test_corpus_calendar_pages_through_the_connector(path: Path) -> None:
    data = load(path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as graph:
        serve_then_finish(graph, path, f"{GRAPH}/me/calendarView/delta")
        conn = connector(GRAPH, WIDE)
        if data is None or not any(k in data for k in ("@odata.nextLink", "@odata.deltaLink")):
            # Broken JSON, or a plain listing with no way on: a ConnectorError the engine reports.
            with pytest.raises(GraphError):
                conn.sync_events(None)
            return
        result = conn.sync_events(None)
    items = data.get("value") if isinstance(data.get("value"), list) else [data]
    masters = sum(1 for i in items if str(i.get("type", "")).lower() == "seriesmaster" and "@removed" not in i)
    assert len(result.records) + len(result.skipped) + masters >= len({i.get("id") for i in items}) - 1
    for record in result.records:
        assert record.start.utcoffset() == timedelta(0)


# --- an engine cycle against the fake, killed mid-cycle -------------------------------------------------


CYCLE_NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def settings_and_mailbox(fake: FakeGraph) -> Any:
    from circleback.daemon.config import Settings

    people = []
    for n, name in enumerate(("Ann", "Ben", "Cleo", "Dev")):
        address = f"{name.lower()}@example.com"
        people.append({"name": f"{name} Example", "emails": [address], "note": f"{name} builds the best violins"})
        raw = build_message(100 + n, sender=f"{name} <{address}>", date=CYCLE_NOW - timedelta(days=200 + n))
        fake.add_message(raw)
        fake.add_message(build_message(200 + n, sender=ME, to=address, date=CYCLE_NOW - timedelta(days=190)), "Sent")
    return Settings.model_validate({"me": {"name": "Me", "addresses": [ME]}, "people": people,
                                    "drafting": {"budget_per_week": 10}})


def run_cycle(endpoint: str, settings: Any, state: Path, crash_after: int = 0) -> None:
    from circleback.daemon.core.engine import Engine
    from circleback.daemon.store.ledger import Ledger

    seen = 0

    def checkpoint(label: str) -> None:
        nonlocal seen
        seen += 1
        if crash_after and seen >= crash_after:
            os._exit(86)  # like SIGKILL: no cleanup, no commit

    context = ConnectorContext(my_addresses=frozenset({ME}), lookback_days=3 * 365, now=CYCLE_NOW)
    conn = connector(endpoint, context)
    state.mkdir(parents=True, exist_ok=True)
    ledger = Ledger.open(state / "ledger.sqlite3")
    Engine(settings, ledger, {"work": conn}, checkpoint=checkpoint).run_cycle(CYCLE_NOW)


def fork_cycle(endpoint: str, settings: Any, state: Path, crash_after: int) -> int:
    proc = multiprocessing.get_context("fork").Process(
        target=run_cycle, args=(endpoint, settings, state), kwargs={"crash_after": crash_after})
    proc.start()
    proc.join(60)
    if proc.is_alive():
        os.kill(proc.pid or 0, signal.SIGKILL)
        proc.join()
    return proc.exitcode if proc.exitcode is not None else -999


def draft_keys(fake: FakeGraph) -> list[str]:
    return [key for d in fake.drafts() if (key := fake.draft_key(d))]


def test_an_engine_cycle_leaves_one_draft_per_due_person(fake: FakeGraph, tmp_path: Path) -> None:
    settings = settings_and_mailbox(fake)

    run_cycle(fake.endpoint, settings, tmp_path)
    run_cycle(fake.endpoint, settings, tmp_path)  # a second cycle adds nothing

    keys = draft_keys(fake)
    assert len(keys) == 4 and len(set(keys)) == 4
    bodies = [d.data["body"]["content"] for d in fake.drafts()]
    assert all("violins" in b for b in bodies)
    assert all("send" not in p.lower() for p in fake.paths())


def test_killed_at_every_checkpoint_leaves_no_duplicate_draft(tmp_path: Path) -> None:
    clean = FakeGraph().start()
    try:
        run_cycle(clean.endpoint, settings_and_mailbox(clean), tmp_path / "clean")
        expected = sorted(draft_keys(clean))
    finally:
        clean.stop()
    step, kills = 1, 0
    while step < 40:
        fake = FakeGraph().start()
        try:
            settings = settings_and_mailbox(fake)
            state = tmp_path / f"s{step}"
            state.mkdir()
            code = fork_cycle(fake.endpoint, settings, state, crash_after=step)
            if code == 0:
                break  # past the last checkpoint: every kill point was covered
            assert code == 86
            kills += 1
            assert fork_cycle(fake.endpoint, settings, state, crash_after=0) == 0
            keys = draft_keys(fake)
            assert sorted(keys) == expected, f"kill at checkpoint {step}: {keys}"
            rows = sqlite3.connect(state / "ledger.sqlite3").execute("SELECT state FROM outbox").fetchall()
            assert {r[0] for r in rows} == {"drafted"}
        finally:
            fake.stop()
        step += 1
    assert kills >= 10  # two syncs, then intent / create / ref for each of four drafts


def outbox_states(state: Path) -> dict[str, str]:
    return dict(sqlite3.connect(state / "ledger.sqlite3").execute("SELECT key, state FROM outbox").fetchall())


def test_waiting_drafts_are_found_by_their_tag_though_graph_returns_no_headers(fake: FakeGraph,
                                                                                tmp_path: Path) -> None:
    settings = settings_and_mailbox(fake)
    run_cycle(fake.endpoint, settings, tmp_path)
    fake.reset_log()

    run_cycle(fake.endpoint, settings, tmp_path)  # reviews the drafts it left: all still waiting

    states = outbox_states(tmp_path)
    assert len(states) == 4 and set(states.values()) == {"drafted"}  # none "deleted by you"
    (listing,) = [r for r in fake.log if r.path.endswith("/mailFolders/drafts/messages")]
    assert listing.query["$expand"] == [
        "singleValueExtendedProperties($filter=id eq 'String {00020386-0000-0000-C000-000000000046} "
        "Name x-circleback-key')"]
    assert not [p for p in fake.paths() if p.startswith("POST /v1.0/me/messages")]


def test_a_503_after_a_stored_post_is_reconciled_by_its_tag_not_written_twice(fake: FakeGraph,
                                                                               tmp_path: Path) -> None:
    settings = settings_and_mailbox(fake)
    fake.fail_next("POST", "/me/messages", 503, after=True,
                   body={"error": {"code": "ServiceUnavailable", "message": "try later"}})

    run_cycle(fake.endpoint, settings, tmp_path)  # the first draft is stored, but its answer is a 503
    assert len(fake.drafts()) == 4 and sorted(outbox_states(tmp_path).values()).count("pending") == 1
    fake.reset_log()
    run_cycle(fake.endpoint, settings, tmp_path)

    keys = draft_keys(fake)
    assert len(keys) == 4 and len(set(keys)) == 4  # no duplicate
    assert set(outbox_states(tmp_path).values()) == {"drafted"}
    assert not [p for p in fake.paths() if p.startswith("POST /v1.0/me/messages")]  # found by its tag


# --- what the log says of a failure -----------------------------------------------------------------


def test_a_503_on_the_draft_post_says_it_tried_once(fake: FakeGraph, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_and_mailbox(fake)
    fake.fail_next("POST", "/me/messages", 503)

    with caplog.at_level(logging.INFO):
        run_cycle(fake.endpoint, settings, tmp_path)

    (line,) = [r.getMessage() for r in caplog.records if "not written" in r.getMessage()]
    assert "Graph is unavailable after 1 try; a write is not repeated blindly: HTTP 503 on POST" in line
    assert "5 tries" not in line
    assert len([p for p in fake.paths() if p == "POST /v1.0/me/messages"]) == 4  # one per draft, none again


def test_a_read_counts_the_tries_it_made(fake: FakeGraph) -> None:
    inbox = fake.folder_id("inbox")
    fake.fail_next("GET", f"{inbox}/messages/delta", 503, times=5)
    sleeps: list[float] = []

    result = connector(fake.endpoint, sleeps=sleeps).sync_mail(None)

    (skip,) = result.skipped
    assert "Graph is unavailable after 5 tries: HTTP 503 on GET" in skip.why
    assert len(sleeps) == 4 and len([p for p in fake.paths() if inbox in p]) == 5

    fake.fail_next("GET", f"{inbox}/messages/delta", 503, times=2)
    assert connector(fake.endpoint).sync_mail(None).skipped == []  # the third try went through
