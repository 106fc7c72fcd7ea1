"""The Outlook mail sync's JSON $batch against the fake Graph server: an idle poll is one request for up to
20 folders, each folder keeps its own deltaLink, and a throttled, expired or failed item inside a batch
costs that folder alone."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from circleback.connectors.errors import SendRefused
from tests.support.contract import build_message
from tests.support.fake_graph import TOKEN, FakeGraph
from tests.support.outlook import GRAPH, connector

READ = 3  # the fake's folders that are read: Inbox, Sent Items, Archive


def with_folders(fake: FakeGraph, extra: int) -> list[str]:
    ids = [fake.add_folder(f"Folder {n}") for n in range(extra)]
    for n, folder in enumerate(ids):
        fake.add_json(
            folder,
            {
                "from": {"emailAddress": {"address": f"p{n}@example.com"}},
                "receivedDateTime": "2025-03-01T10:00:00Z",
                "internetMessageId": f"<f{n}@x>",
            },
        )
    return ids


def batches(fake: FakeGraph) -> list[list[str]]:
    """The requests made, each a list of the paths it carried (one for a plain request)."""
    out: list[list[str]] = []
    for r in fake.log:
        if not r.batched:
            out.append([] if r.path.endswith("/$batch") else [r.path])
        else:
            out[-1].append(r.path)
    return out


@pytest.mark.parametrize(("extra", "requests_made"), [(0, 1), (4, 1), (17, 1), (18, 2)])
def test_an_idle_poll_is_one_request_for_up_to_20_folders(fake: FakeGraph, extra: int, requests_made: int) -> None:
    with_folders(fake, extra)
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    fake.reset_log()

    idle = conn.sync_mail(first.cursor)

    assert idle.records == [] and idle.skipped == []
    assert len(fake.requests()) == requests_made and all(r.path == "/v1.0/$batch" for r in fake.requests())
    assert sum(len(b) for b in batches(fake)) == READ + extra  # one delta item per folder, none twice
    assert fake.throttled == 0 and fake.max_in_flight <= 4


def test_a_batch_of_more_than_four_runs_serially_and_is_never_throttled(fake: FakeGraph) -> None:
    with_folders(fake, 5)
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    fake.reset_log()

    conn.sync_mail(first.cursor)

    (batch,) = fake.requests()
    items = json.loads(batch.body)["requests"]
    assert [i.get("dependsOn") for i in items] == [None, *[[str(n)] for n in range(1, len(items))]]
    assert fake.throttled == 0


def test_the_fake_throttles_more_than_four_parallel_items() -> None:
    fake = FakeGraph().start()
    try:
        items = [{"id": str(n), "method": "GET", "url": "/me"} for n in range(1, 7)]
        answer = requests.post(
            f"{fake.endpoint}/$batch",
            json={"requests": items},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ).json()
        statuses = [r["status"] for r in answer["responses"]]
        assert statuses.count(200) == 4 and statuses.count(429) == 2
        assert all(r["headers"]["Retry-After"] for r in answer["responses"] if r["status"] == 429)
    finally:
        fake.stop()


@pytest.mark.parametrize("extra", [0, 5])  # three items in parallel, or eight in series
def test_an_item_throttled_inside_a_batch_waits_its_retry_after_then_goes_alone(fake: FakeGraph, extra: int) -> None:
    with_folders(fake, extra)
    fake.add_message(build_message(1))
    conn = connector(fake.endpoint, sleeps=(waits := []))
    first = conn.sync_mail(None)
    fake.add_message(build_message(2))
    inbox = fake.folder_id("inbox")
    fake.fail_next(
        "GET",
        f"{inbox}/messages/delta",
        429,
        headers={"Retry-After": "7"},
        body={"error": {"code": "ApplicationThrottled", "message": "slow down"}},
    )
    fake.reset_log()

    second = conn.sync_mail(first.cursor)

    assert [r.message_id for r in second.records] == ["msg2@test"] and second.skipped == []
    assert waits == [7.0]
    inbox_reads = [r for r in fake.log if inbox in r.path]
    assert [(r.batched, r.status) for r in inbox_reads] == [(True, 429), (False, 200)]
    later = [r.status for r in fake.log if r.batched][1:]
    assert set(later) == ({424} if extra else {200})  # in series, the items after it never ran
    assert "$deltatoken=" in second.cursor["folders"][inbox]["link"]
    assert conn.sync_mail(second.cursor).records == []  # nothing read twice, nothing lost


@pytest.mark.parametrize("style", ["410", "SyncStateNotFound"])
def test_an_expired_item_inside_a_batch_resyncs_that_folder_only(fake: FakeGraph, style: str) -> None:
    fake.add_message(build_message(1))
    fake.add_message(build_message(2), "Sent")
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    fake.expire_tokens(fake.folder_id("inbox"), style)
    fake.reset_log()

    second = conn.sync_mail(first.cursor)

    assert [r.message_id for r in second.records] == ["msg1@test"] and second.skipped == []
    sent = [r for r in fake.log if fake.folder_id("sentitems") in r.path]
    assert len(sent) == 1 and sent[0].batched and sent[0].query.get("$deltatoken")
    assert conn.sync_mail(second.cursor).records == []


def test_an_item_that_fails_otherwise_is_one_skip_and_keeps_its_place(fake: FakeGraph) -> None:
    fake.add_message(build_message(1))
    conn = connector(fake.endpoint)
    first = conn.sync_mail(None)
    inbox = fake.folder_id("inbox")
    fake.fail_next(
        "GET", f"{inbox}/messages/delta", 400, body={"error": {"code": "ErrorInvalidRequest", "message": "bad"}}
    )

    second = conn.sync_mail(first.cursor)

    assert [s.where for s in second.skipped] == ["Inbox"] and "ErrorInvalidRequest" in second.skipped[0].why
    assert second.cursor["folders"][inbox]["link"] == first.cursor["folders"][inbox]["link"]


def test_a_batch_answered_503_is_retried_as_the_read_it_is(fake: FakeGraph) -> None:
    fake.add_message(build_message(1))
    conn = connector(fake.endpoint, sleeps=(waits := []))
    first = conn.sync_mail(None)
    fake.add_message(build_message(2))
    fake.fail_next("POST", "/$batch", 503)
    fake.reset_log()

    second = conn.sync_mail(first.cursor)

    assert [r.message_id for r in second.records] == ["msg2@test"] and waits == [1.0]
    assert [r.status for r in fake.requests()] == [503, 200]


def test_a_first_sync_reads_each_folder_alone_and_a_long_change_goes_on_alone(fake: FakeGraph) -> None:
    fake.add_message(build_message(1))
    fake.add_message(build_message(20), "Sent")
    conn = connector(fake.endpoint, page_size=2)

    first = conn.sync_mail(None)

    assert len(first.records) == 2 and not [r for r in fake.log if r.path.endswith("/$batch")]
    for n in range(2, 7):
        fake.add_message(build_message(n))
    fake.reset_log()

    second = conn.sync_mail(first.cursor)

    inbox = fake.folder_id("inbox")
    assert len(second.records) == 5
    reads = [(r.batched, "$deltatoken" in r.query, "$skiptoken" in r.query) for r in fake.log if inbox in r.path]
    assert reads == [(True, True, False), (False, False, True), (False, False, True)]  # 2 + 2 + 1


def test_no_send_request_can_ride_inside_a_batch(fake: FakeGraph) -> None:
    conn = connector(fake.endpoint)
    fake.reset_log()

    for url in ("/me/sendMail", "/me/messages/abc/send", "/me/messages/abc/forward"):
        with pytest.raises(SendRefused):
            conn.client.session.post(
                f"{fake.endpoint}/$batch", json={"requests": [{"id": "1", "method": "POST", "url": url}]}
            )
    with pytest.raises(ValueError, match="GET"):
        conn.client.batch([{"id": "1", "method": "POST", "url": "/me/messages"}])
    # A batch however its URL is spelled, or sent as a prepared request, is looked into all the same.
    batch = {"requests": [{"id": "1", "method": "POST", "url": "/me/sendMail"}]}
    with pytest.raises(SendRefused):
        conn.client.session.post(f"{fake.endpoint}/%24batch", json=batch)
    prepared = requests.Request("POST", f"{fake.endpoint}/anything", json=batch).prepare()
    with pytest.raises(SendRefused):
        conn.client.session.send(prepared)

    assert fake.log == []


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "1", "status": "oops"},
        {"id": "1", "status": 200, "body": [1]},
        {"id": "1", "status": 500, "headers": "x", "body": "gone"},
    ],
)
def test_a_malformed_batch_answer_is_one_skip(answer: dict[str, object]) -> None:
    cursor = {
        "v": 1,
        "listed_at": "2025-03-10T12:00:00+00:00",
        "me": [],
        "folders": {
            f"F{n}": {
                "name": f"F{n}",
                "sent": False,
                "link": f"{GRAPH}/me/mailFolders/F{n}/messages/delta?$deltatoken=t{n}",
            }
            for n in (1, 2)
        },
    }
    with responses.RequestsMock() as mock:
        mock.post(
            f"{GRAPH}/$batch",
            json={
                "responses": [
                    answer,
                    {
                        "id": "2",
                        "status": 200,
                        "body": {
                            "value": [],
                            "@odata.deltaLink": f"{GRAPH}/me/mailFolders/F2/messages/delta?$deltatoken=u2",
                        },
                    },
                ]
            },
        )
        result = connector(GRAPH).sync_mail(cursor)

    assert [s.where for s in result.skipped] == ["F1"]
    assert result.cursor["folders"]["F1"]["link"].endswith("$deltatoken=t1")  # keeps its place
    assert result.cursor["folders"]["F2"]["link"].endswith("$deltatoken=u2")
