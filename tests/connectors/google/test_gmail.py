"""The Gmail connector against the fake Google server, driven by the real googleapiclient.

Every fault test checks the outcome that matters: the right records arrive once,
nothing is lost, nothing retries that must not, and no request ever sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest

from circleback.connectors.base import Direction, DraftRef
from circleback.connectors.errors import ConnectorError, SendRefused
from circleback.connectors.google.auth import build_service
from circleback.connectors.google.gmail import GmailConnector
from tests.support.contract import CONTEXT, ME, NOW, build_message, draft_message
from tests.support.fake_google import FakeGoogle
from tests.support.google import FAST, PERSONAL, account


@dataclass
class Backend:
    fake: FakeGoogle
    connector: GmailConnector
    waits: list[float]

    def add_message(self, raw: bytes, folder: str = "INBOX", **kw: Any) -> str:
        labels = kw.pop("labels", None) or (("SENT",) if folder == "Sent" else PERSONAL)
        return self.fake.add_message(raw, labels, **kw).id


@pytest.fixture
def backend(fake_google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    monkeypatch.setattr(GmailConnector, "retry_policy", FAST)
    waits: list[float] = []
    conn = GmailConnector(account(tmp_path, fake_google), CONTEXT, sleep=waits.append)
    yield Backend(fake_google, conn, waits)
    conn.close()


def ids(records: list[Any]) -> list[str]:
    return sorted(r.message_id for r in records)


def fill(backend: Backend, n: int, **kw: Any) -> None:
    for i in range(1, n + 1):
        backend.add_message(build_message(i), **kw)


# --- the plan --------------------------------------------------------------------------------


def test_noise_categories_are_never_fetched_and_threads_cost_one_call(backend: Backend) -> None:
    fake = backend.fake
    first = backend.add_message(build_message(1))
    for n in (2, 3):  # a three-message thread: one threads.get (10) beats three messages.get (15)
        backend.add_message(build_message(n, sender=ME, to="alice@example.com"), "Sent", thread_id=first)
    for n in range(10, 30):
        backend.add_message(build_message(n, sender="deals@shop.example"),
                            labels=("INBOX", "CATEGORY_PROMOTIONS"))
    backend.add_message(build_message(40), labels=("INBOX",))  # categories off: no category label at all

    result = backend.connector.sync_mail(None)

    assert ids(result.records) == ["msg1@test", "msg2@test", "msg3@test", "msg40@test"]
    assert fake.calls["threads.get"] == 1
    assert fake.calls["messages.get"] <= 2  # msg40, plus at most one date probe
    assert {r.thread_id for r in result.records if r.message_id != "msg40@test"} == {first}
    assert [r.direction for r in result.records if r.message_id == "msg2@test"] == [Direction.SENT]


def test_mail_older_than_the_lookback_is_neither_fetched_nor_returned(backend: Backend) -> None:
    for n in (1, 2, 3):
        backend.add_message(build_message(n))
    for n in (400, 500, 600):  # CONTEXT looks back 365 days
        backend.add_message(build_message(n))

    result = backend.connector.sync_mail(None)

    assert ids(result.records) == ["msg1@test", "msg2@test", "msg3@test"]
    # three records, one probe of the page's oldest id, a binary search of 3 probes: never the old ones
    assert backend.fake.calls["messages.get"] <= 3 + 1 + 3


def test_internal_date_and_gmail_thread_id_are_used(backend: Backend) -> None:
    when = NOW - timedelta(days=3, hours=5)
    backend.add_message(build_message(1, date=NOW), internal_ms=int(when.timestamp() * 1000))  # Date after arrival

    (record,) = backend.connector.sync_mail(None).records

    assert record.timestamp == when
    assert record.thread_id and record.thread_id != record.message_id


def test_a_killed_first_sync_resumes_where_it_stopped(backend: Backend, tmp_path: Path) -> None:
    fake = backend.fake
    fill(backend, 120)
    conn = GmailConnector(account(tmp_path, fake, full_sync_chunk=50), CONTEXT)

    first = conn.sync_mail(None)
    conn.close()  # the process dies here; only the cursor the ledger committed survives
    profile_calls, gets = fake.calls["getProfile"], fake.calls["messages.get"]
    again = GmailConnector(account(tmp_path, fake, full_sync_chunk=50), CONTEXT)
    second = again.sync_mail(first.cursor)
    third = again.sync_mail(second.cursor)
    again.close()

    assert first.cursor["mode"] == "full" and len(first.records) == 50
    assert third.cursor["mode"] == "incremental"
    got = ids(first.records + second.records + third.records)
    assert got == sorted(f"msg{n}@test" for n in range(1, 121))  # each message exactly once
    assert fake.calls["getProfile"] == profile_calls  # no restart from zero
    assert fake.calls["messages.get"] - gets == 70


def test_mail_arriving_during_a_first_sync_comes_with_the_next_poll(backend: Backend, tmp_path: Path) -> None:
    fill(backend, 60)
    conn = GmailConnector(account(tmp_path, backend.fake, full_sync_chunk=50), CONTEXT)
    first = conn.sync_mail(None)
    backend.add_message(build_message(0, date=NOW))  # after the profile's historyId was read
    rest = conn.sync_mail(first.cursor)
    poll = conn.sync_mail(rest.cursor)
    conn.close()

    assert "msg0@test" in ids(rest.records + poll.records)


# --- incremental -----------------------------------------------------------------------------


def test_an_idle_poll_is_one_request(backend: Backend) -> None:
    fill(backend, 5)
    cursor = backend.connector.sync_mail(None).cursor
    before = backend.fake.http_requests

    result = backend.connector.sync_mail(cursor)

    assert result.records == []
    assert backend.fake.http_requests - before == 1
    assert result.cursor == cursor


def _api_calls(fake: FakeGoogle) -> int:
    """API calls served (batch items each; a token refresh is not one)."""
    return sum(fake.calls.values())


def _waiting(backend: Backend, n: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A synced mailbox with ``n`` of our drafts waiting, as a daemon leaves it: the cursor and {key: draft id}."""
    fill(backend, 3)
    conn = backend.connector
    cursor = conn.sync_mail(None).cursor
    conn.list_drafts()  # the outbox looks before it creates
    refs = [conn.create_draft(draft_message(f"k-{i}"), f"k-{i}") for i in range(n)]
    cursor = conn.sync_mail(cursor).cursor  # history shows the drafts it made: nothing to ask
    return cursor, {r.key: r.ref for r in refs}


def test_an_idle_poll_with_drafts_waiting_is_one_request(backend: Backend) -> None:
    cursor, drafts = _waiting(backend, 10)
    before_requests, before_calls = backend.fake.http_requests, _api_calls(backend.fake)

    backend.connector.sync_mail(cursor)
    listed = backend.connector.list_drafts()  # what the outbox asks every cycle

    assert backend.fake.http_requests - before_requests == 1
    assert _api_calls(backend.fake) - before_calls == 1 and backend.fake.calls["history.list"] >= 1
    assert {d.key: d.ref for d in listed} == drafts


def test_a_draft_deleted_in_gmail_is_seen_through_history_and_one_drafts_list(backend: Backend) -> None:
    cursor, drafts = _waiting(backend, 3)
    backend.fake.discard_draft(drafts["k-1"])
    gets = backend.fake.calls["drafts.get"]

    backend.connector.sync_mail(cursor)
    listed = backend.connector.list_drafts()

    assert sorted(d.key for d in listed) == ["k-0", "k-2"]
    assert backend.fake.calls["drafts.get"] == gets  # known drafts are not read again


def test_a_draft_sent_from_gmail_is_read_as_sent_mail_with_its_key(backend: Backend) -> None:
    cursor, drafts = _waiting(backend, 3)
    backend.fake.send_draft(drafts["k-2"])
    lists = backend.fake.calls["drafts.list"]

    result = backend.connector.sync_mail(cursor)
    listed = backend.connector.list_drafts()

    assert [(r.circleback_key, r.direction) for r in result.records] == [("k-2", Direction.SENT)]
    assert sorted(d.key for d in listed) == ["k-0", "k-1"]
    assert backend.fake.calls["drafts.list"] == lists  # history said it all


def test_only_a_draft_that_went_to_sent_is_read_as_mail(backend: Backend) -> None:
    cursor = backend.connector.sync_mail(None).cursor
    kept = backend.fake.add_message(build_message(1, sender=ME, date=NOW), ["DRAFT"]).id  # the user's own
    sent = backend.fake.add_message(build_message(2, sender=ME, date=NOW), ["DRAFT"]).id
    cursor = backend.connector.sync_mail(cursor).cursor  # two drafts: no mail yet
    backend.fake.remove_labels(kept, ["DRAFT"])  # out of Drafts, but never sent
    backend.fake.remove_labels(sent, ["DRAFT"])
    backend.fake.add_labels(sent, ["SENT"])

    result = backend.connector.sync_mail(cursor)

    assert [(r.message_id, r.direction) for r in result.records] == [("msg2@test", Direction.SENT)]


def test_a_draft_the_user_edited_in_gmail_stays_listed_as_ours_and_is_changed(backend: Backend) -> None:
    cursor, drafts = _waiting(backend, 2)
    message = draft_message("k-0")
    backend.fake.edit_draft(drafts["k-0"], message.replace(b"How have you been?", b"Hi Bob!"))

    backend.connector.sync_mail(cursor)
    listed = backend.connector.list_drafts()

    assert {d.key: d.ref for d in listed} == drafts  # still waiting in Drafts: deleted it was not
    assert backend.connector.draft_unchanged(DraftRef("g", drafts["k-0"], "k-0"), message) is False


def test_a_restart_keeps_which_draft_holds_which_key(backend: Backend, tmp_path: Path) -> None:
    cursor, drafts = _waiting(backend, 4)
    backend.connector.close()
    again = GmailConnector(account(tmp_path, backend.fake), CONTEXT)
    before = _api_calls(backend.fake)
    try:
        again.sync_mail(cursor)
        listed = again.list_drafts()
        unchanged = again.draft_unchanged(DraftRef("g", drafts["k-3"], "k-3"), draft_message("k-3"))
    finally:
        again.close()

    assert {d.key: d.ref for d in listed} == drafts
    assert _api_calls(backend.fake) - before == 2  # history.list, and drafts.get before any withdrawal
    assert unchanged is True


def test_a_draft_created_but_its_answer_lost_is_found_by_key_after_the_next_poll(backend: Backend) -> None:
    cursor, drafts = _waiting(backend, 1)
    backend.fake.inject("drafts.create", "truncate")
    with pytest.raises(ConnectorError):
        backend.connector.create_draft(draft_message("k-lost"), "k-lost")  # Gmail stored it all the same

    backend.connector.sync_mail(cursor)
    listed = backend.connector.list_drafts()

    assert sorted(d.key for d in listed) == ["k-0", "k-lost"]  # the outbox reconciles, never duplicates


def test_expired_history_lists_the_drafts_again(backend: Backend) -> None:
    cursor, drafts = _waiting(backend, 3)
    backend.fake.discard_draft(drafts["k-0"])
    backend.fake.expire_history()
    gets = backend.fake.calls["drafts.get"]

    result = backend.connector.sync_mail(cursor)
    listed = backend.connector.list_drafts()

    assert result.cursor["mode"] == "incremental" and backend.fake.calls["getProfile"] == 2  # read again
    assert sorted(d.key for d in listed) == ["k-1", "k-2"]
    assert backend.fake.calls["drafts.get"] == gets  # the keys of known draft ids are kept


def test_incremental_skips_noise_and_picks_up_mail_moved_out_of_promotions(backend: Backend) -> None:
    cursor = backend.connector.sync_mail(None).cursor
    backend.add_message(build_message(1, date=NOW))
    promo = backend.add_message(build_message(2, date=NOW), labels=("INBOX", "CATEGORY_PROMOTIONS"))
    backend.add_message(build_message(3, date=NOW), labels=("SPAM",))

    second = backend.connector.sync_mail(cursor)
    backend.fake.remove_labels(promo, ["CATEGORY_PROMOTIONS"])
    third = backend.connector.sync_mail(second.cursor)

    assert ids(second.records) == ["msg1@test"]
    assert ids(third.records) == ["msg2@test"]


def test_history_pages_are_followed_until_no_next_page_token(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    import circleback.connectors.google.gmail as gmail

    cursor = backend.connector.sync_mail(None).cursor
    fill(backend, 7)
    monkeypatch.setattr(gmail, "PAGE_SIZE", 3)

    result = backend.connector.sync_mail(cursor)

    assert len(result.records) == 7
    assert backend.fake.calls["history.list"] == 3


def test_expired_history_id_starts_over_and_loses_nothing(backend: Backend) -> None:
    fill(backend, 3)
    cursor = backend.connector.sync_mail(None).cursor
    backend.add_message(build_message(9, date=NOW))
    backend.fake.expire_history()

    result = backend.connector.sync_mail(cursor)

    assert "msg9@test" in ids(result.records)
    assert ids(result.records) == ["msg1@test", "msg2@test", "msg3@test", "msg9@test"]
    assert backend.fake.calls["getProfile"] == 2
    assert int(result.cursor["history_id"]) >= backend.fake.min_history_id


def test_a_404_on_a_message_is_not_an_expired_history(backend: Backend) -> None:
    cursor = backend.connector.sync_mail(None).cursor
    gone = backend.add_message(build_message(1, date=NOW))
    backend.add_message(build_message(2, date=NOW))
    backend.fake.messages.pop(gone)  # deleted between history.list and messages.get

    result = backend.connector.sync_mail(cursor)

    assert ids(result.records) == ["msg2@test"]
    assert result.skipped == []
    assert backend.fake.calls["getProfile"] == 1  # no full resync


# --- faults: retried where safe, never where not -----------------------------------------------


@pytest.mark.parametrize("kind", ["429", "403-user", "500", "503"])
def test_retryable_errors_inside_a_batch_are_retried_per_item(backend: Backend, kind: str) -> None:
    fill(backend, 6)
    backend.fake.inject("messages.get", kind, times=3, retry_after=0.02)

    result = backend.connector.sync_mail(None)

    assert ids(result.records) == [f"msg{n}@test" for n in range(1, 7)]
    assert result.skipped == []


def test_retry_after_is_honoured(backend: Backend) -> None:
    fill(backend, 2)
    backend.fake.inject("messages.list", "429", retry_after=7)

    backend.connector.sync_mail(None)

    assert max(backend.waits) >= 7


@pytest.mark.parametrize("kind", ["429", "403-user", "500", "503", "drop", "truncate"])
def test_retryable_errors_on_single_calls_are_retried(backend: Backend, kind: str) -> None:
    fill(backend, 4)
    backend.fake.inject("messages.list", kind, times=2)
    backend.fake.inject("getProfile", kind)

    result = backend.connector.sync_mail(None)

    assert len(result.records) == 4


def test_a_whole_batch_failing_is_retried(backend: Backend) -> None:
    fill(backend, 4)
    backend.fake.inject("batch", "503", times=2)

    assert len(backend.connector.sync_mail(None).records) == 4


def test_slow_responses_time_out_and_are_retried(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    import circleback.connectors.google.auth as google_auth

    monkeypatch.setattr(google_auth, "HTTP_TIMEOUT", 0.3)
    monkeypatch.setattr(google_auth.authorised_http, "__defaults__", (0.3,))
    fill(backend, 3)
    backend.fake.inject("messages.list", "slow", delay=1.0)

    result = backend.connector.sync_mail(None)

    assert len(result.records) == 3
    assert backend.fake.faults[0].times == 0  # the slow call happened, timed out, and was retried


def test_forbidden_for_another_reason_is_not_retried(backend: Backend) -> None:
    fill(backend, 2)
    fault = backend.fake.inject("getProfile", "403-other", times=5)

    with pytest.raises(ConnectorError, match="insufficientPermissions"):
        backend.connector.sync_mail(None)

    assert fault.times == 4


def test_retries_give_up_with_one_clear_error(backend: Backend) -> None:
    backend.fake.inject("getProfile", "503", times=100)

    with pytest.raises(ConnectorError, match="getProfile failed: HTTP 503"):
        backend.connector.sync_mail(None)


def test_threads_still_failing_after_retries_wait_in_the_cursor(backend: Backend) -> None:
    for n in (1, 3, 5):  # three two-message threads: read with threads.get
        first = backend.add_message(build_message(n))
        backend.add_message(build_message(n + 1), thread_id=first)
    fault = backend.fake.inject("threads.get", "500", times=100)

    first_try = backend.connector.sync_mail(None)
    fault.times = 0
    second_try = backend.connector.sync_mail(first_try.cursor)

    assert first_try.records == [] and first_try.cursor["mode"] == "full"
    assert ids(second_try.records) == [f"msg{n}@test" for n in range(1, 7)]
    assert second_try.cursor["mode"] == "incremental"


def test_a_thread_failing_three_syncs_is_reported_once_and_dropped(backend: Backend) -> None:
    first = backend.add_message(build_message(1))
    backend.add_message(build_message(2), thread_id=first)
    backend.add_message(build_message(3))
    backend.fake.inject("threads.get", "500", times=1000)

    results = [backend.connector.sync_mail(None)]
    while results[-1].cursor["mode"] == "full":
        results.append(backend.connector.sync_mail(results[-1].cursor))

    assert len(results) == 3
    assert ids([r for res in results for r in res.records]) == ["msg3@test"]
    assert sorted(s.where for res in results for s in res.skipped) == sorted(
        f"gmail:{m.id}" for m in backend.fake.messages.values() if m.thread_id == first)


def test_an_incremental_poll_that_cannot_read_new_mail_keeps_its_start(backend: Backend) -> None:
    cursor = backend.connector.sync_mail(None).cursor
    backend.add_message(build_message(1, date=NOW))
    fault = backend.fake.inject("messages.get", "500", times=1000)

    with pytest.raises(ConnectorError, match="will retry from the same point"):
        backend.connector.sync_mail(cursor)
    fault.times = 0
    result = backend.connector.sync_mail(cursor)

    assert ids(result.records) == ["msg1@test"]


def test_the_limiter_keeps_under_the_per_user_quota(fake_google: FakeGoogle, tmp_path: Path) -> None:
    fake = FakeGoogle(quota_per_minute=6000, time_scale=60)  # 6,000 units a second here
    fake.start()
    try:
        for n in range(1, 400):
            fake.add_message(build_message(n % 300 + 1), PERSONAL)
        conn = GmailConnector(account(tmp_path, fake, quota_per_minute=6000 * 60), CONTEXT)
        result = conn.sync_mail(None)
        conn.close()
    finally:
        fake.stop()
    assert len({r.source_id for r in result.records}) == 300
    assert fake.throttled == 0


# --- drafts ----------------------------------------------------------------------------------


def test_draft_create_is_never_retried(backend: Backend) -> None:
    fault = backend.fake.inject("drafts.create", "503", times=5)

    with pytest.raises(ConnectorError, match="not retried"):
        backend.connector.create_draft(draft_message("k-1"), "k-1")

    assert fault.times == 4
    assert backend.connector.list_drafts() == []


def test_a_dropped_draft_create_is_not_retried_either(backend: Backend) -> None:
    fault = backend.fake.inject("drafts.create", "drop", times=5)

    with pytest.raises(ConnectorError, match="not retried"):
        backend.connector.create_draft(draft_message("k-1"), "k-1")

    assert fault.times == 4


def test_a_reply_draft_joins_the_thread(backend: Backend) -> None:
    thread = backend.add_message(build_message(1))

    ref = backend.connector.create_draft(draft_message("k-r"), "k-r", reply_to=thread)

    stored = backend.fake.messages[backend.fake.drafts[ref.ref]]
    assert stored.thread_id == thread


@pytest.mark.parametrize("fmt", ["raw", "full"])
def test_the_fake_refuses_bodies_under_the_metadata_scope_even_with_compose(backend: Backend, fmt: str) -> None:
    """Control for the next test: the fake enforces Google's scope rule, so passing means something."""
    ref = backend.connector.create_draft(draft_message("k-s"), "k-s")
    service, http = backend.connector._thread_service()

    with pytest.raises(Exception, match="403") as caught:  # noqa: PT011 - googleapiclient's HttpError
        service.users().drafts().get(userId="me", id=ref.ref, format=fmt).execute(http=http, num_retries=0)

    assert "Metadata scope" in str(caught.value)
    assert backend.fake.scopes >= {"gmail.metadata", "gmail.compose"}


def test_get_draft_reads_the_headers_in_a_format_the_scopes_allow(backend: Backend) -> None:
    from email.parser import BytesParser
    from email.policy import default

    ref = backend.connector.create_draft(draft_message("k-g"), "k-g")

    raw = backend.connector.get_draft(ref)

    assert raw is not None
    parsed = BytesParser(policy=default).parsebytes(raw)
    assert (parsed["X-Circleback-Key"], parsed["Subject"]) == ("k-g", "Long time no see")
    assert parsed.get_payload() == ""  # headers only: gmail.metadata never gives a body
    assert backend.fake.calls["drafts.get"] == 1


def test_delete_draft_removes_the_draft_and_a_second_delete_says_it_was_gone(backend: Backend) -> None:
    fake = backend.fake
    ref = backend.connector.create_draft(draft_message("k-d"), "k-d")
    message_id = fake.drafts[ref.ref]

    assert backend.connector.delete_draft(ref) is True
    assert backend.connector.delete_draft(ref) is False

    assert fake.drafts == {} and message_id not in fake.messages
    assert backend.connector.list_drafts() == []
    assert fake.calls["drafts.delete"] == 2


def test_a_draft_saved_again_in_gmail_is_changed_even_with_the_same_headers(backend: Backend) -> None:
    message = draft_message("k-e")
    ref = backend.connector.create_draft(message, "k-e")
    assert backend.connector.draft_unchanged(ref, message) is True

    backend.fake.edit_draft(ref.ref, message.replace(b"How have you been?", b"How have you been, old friend?"))

    assert backend.connector.draft_unchanged(ref, message) is False
    backend.connector.delete_draft(ref)
    assert backend.connector.draft_unchanged(ref, message) is None


def test_a_draft_whose_recipient_the_user_changed_is_changed(backend: Backend, tmp_path: Path) -> None:
    message = draft_message("k-t")
    ref = backend.connector.create_draft(message, "k-t")
    fresh = GmailConnector(account(tmp_path, backend.fake), CONTEXT)  # another process: no memory of the create
    try:
        assert fresh.draft_unchanged(ref, message) is True
        backend.fake.messages[backend.fake.drafts[ref.ref]].raw = message.replace(b"bob@", b"robert@")
        assert fresh.draft_unchanged(ref, message) is False
    finally:
        fresh.close()


def test_a_draft_without_its_key_header_is_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="X-Circleback-Key"):
        backend.connector.create_draft(draft_message("k-1"), "k-2")


def test_no_send_request_can_leave_the_connector(backend: Backend) -> None:
    service, http = backend.connector._thread_service()
    send = service.users().messages().send(userId="me", body={"raw": "eA"})
    draft_send = service.users().drafts().send(userId="me", body={"id": "r1"})

    for request in (send, draft_send):
        with pytest.raises(SendRefused):
            request.execute(http=http, num_retries=0)


def test_a_send_hidden_in_a_batch_is_refused(backend: Backend) -> None:
    from googleapiclient.http import BatchHttpRequest

    from circleback.connectors.google.auth import batch_uri

    service, http = backend.connector._thread_service()
    batch = BatchHttpRequest(batch_uri=batch_uri(backend.connector.config))
    batch.add(service.users().messages().list(userId="me"))
    batch.add(service.users().messages().send(userId="me", body={"raw": "eA"}))

    with pytest.raises(SendRefused):
        batch.execute(http=http)


def test_the_real_client_with_plain_httplib2_would_reach_the_fake(fake_google: FakeGoogle, tmp_path: Path) -> None:
    """Control for the two tests above: without our HTTP layer the fake does see the send."""
    fake_google.require_auth = False
    service = build_service("gmail", "v1", account(tmp_path, fake_google), httplib2.Http())
    with pytest.raises(Exception):  # noqa: B017, PT011 - the fake answers 500 to any send
        service.users().messages().send(userId="me", body={"raw": "eA"}).execute(num_retries=0)
    assert fake_google.send_attempts
    fake_google.send_attempts.clear()  # the fixture would fail the test otherwise


# --- the daemon over a Gmail account ------------------------------------------------------------


class _Killed(BaseException):
    """Stands for a SIGKILL at a checkpoint: nothing after it runs, committed rows stay."""


def _world(fake: FakeGoogle) -> None:
    """Two people overdue with a hook (a thread we had), one recent, and noise that must not count."""
    bob = fake.add_message(build_message(1, sender=ME, to="Bob <bob@example.net>", date=NOW - timedelta(days=45),
                                         subject="Berlin conference slides"), ["SENT"]).id
    fake.add_message(build_message(2, sender="Bob <bob@example.net>", date=NOW - timedelta(days=44),
                                   subject="Re: Berlin conference slides"), PERSONAL, thread_id=bob)
    fake.add_message(build_message(3, sender=ME, to="Carol <carol@example.com>", date=NOW - timedelta(days=70),
                                   subject="Lisbon trip photos"), ["SENT"])
    fake.add_message(build_message(4, sender=ME, to="Dan <dan@example.org>", date=NOW - timedelta(days=3),
                                   subject="Dinner on Friday"), ["SENT"])
    for n in range(10, 20):
        fake.add_message(build_message(n, sender="news@shop.example", date=NOW - timedelta(days=n)),
                         ["INBOX", "CATEGORY_PROMOTIONS"])


def _engine(fake: FakeGoogle, tmp_path: Path, ledger: Any, checkpoint: Any = None, **drafting: Any) -> Any:
    from circleback.daemon.config import Settings
    from circleback.daemon.core.engine import Engine

    settings = Settings.model_validate({
        "me": {"name": "Me Myself", "addresses": [ME], "timezone": "Europe/London"},
        "cadence": {"default": "30d"},
        "drafting": {"budget_per_week": 10, **drafting},
        "people": [{"name": "Bob Baker", "emails": ["bob@example.net"], "note": "always brings the best snacks"},
                   {"name": "Carol Cho", "emails": ["carol@example.com"], "note": "a natural teacher"}],
    })
    conn = GmailConnector(account(tmp_path, fake), CONTEXT)
    kwargs = {"checkpoint": checkpoint} if checkpoint else {}
    return Engine(settings, ledger, {"g": conn}, **kwargs)


def _draft_keys(fake: FakeGoogle) -> list[str]:
    from email.parser import BytesHeaderParser

    return sorted(str(BytesHeaderParser().parsebytes(fake.messages[m].raw)["X-Circleback-Key"])
                  for m in fake.drafts.values())


def _cycle(fake: FakeGoogle, tmp_path: Path, db: Path, checkpoint: Any = None, now: Any = NOW,
           **drafting: Any) -> Any:
    from circleback.daemon.store.ledger import Ledger

    ledger = Ledger.open(db)
    engine = _engine(fake, tmp_path, ledger, checkpoint, **drafting)
    try:
        return engine.run_cycle(now)
    finally:
        for conn in engine.connectors.values():
            conn.close()
        ledger.close()


def test_a_daemon_cycle_over_gmail_leaves_drafts_once(fake_google: FakeGoogle, tmp_path: Path) -> None:
    _world(fake_google)

    report = _cycle(fake_google, tmp_path, tmp_path / "ledger.db")
    again = _cycle(fake_google, tmp_path, tmp_path / "ledger.db")

    assert [a.error for a in report.accounts] == [""]
    recipients = sorted(d.recipient.email for d in report.drafts)
    assert recipients == ["bob@example.net", "carol@example.com"]
    assert len(_draft_keys(fake_google)) == 2 and again.drafts == []
    assert _draft_keys(fake_google) == sorted(d.key for d in report.plan.notes)


def _draft_of(fake: FakeGoogle, address: str) -> str:
    return next(did for did, mid in fake.drafts.items() if address.encode() in fake.messages[mid].raw)


def test_a_daemon_over_gmail_idles_on_one_request_and_sees_drafts_sent_and_deleted(
        fake_google: FakeGoogle, tmp_path: Path) -> None:
    _world(fake_google)
    db = tmp_path / "ledger.db"
    _cycle(fake_google, tmp_path, db)  # every cycle is a new process: the mapping must be on disk
    before = _api_calls(fake_google)

    idle = _cycle(fake_google, tmp_path, db, now=NOW + timedelta(hours=1))

    assert _api_calls(fake_google) - before == 1 and idle.drafts == []  # history.list; 2 drafts waiting
    fake_google.send_draft(_draft_of(fake_google, "bob@example.net"))
    fake_google.discard_draft(_draft_of(fake_google, "carol@example.com"))

    report = _cycle(fake_google, tmp_path, db, now=NOW + timedelta(hours=2))

    assert [e.recipient for e in report.outbox.sent] == ["bob@example.net"]
    assert [e.recipient for e in report.outbox.deleted] == ["carol@example.com"]


def test_withdraw_stale_removes_an_untouched_gmail_draft_and_keeps_an_edited_one(
        fake_google: FakeGoogle, tmp_path: Path) -> None:
    _world(fake_google)
    db = tmp_path / "ledger.db"
    _cycle(fake_google, tmp_path, db, withdraw_stale=True)
    bob, carol = _draft_of(fake_google, "bob@example.net"), _draft_of(fake_google, "carol@example.com")
    carol_raw = fake_google.messages[fake_google.drafts[carol]].raw
    fake_google.edit_draft(carol, carol_raw.replace(b"Subject: ", b"Subject: Coffee? "))  # the user made it theirs
    for who, n in (("Bob <bob@example.net>", 50), ("Carol <carol@example.com>", 51)):  # both write first
        fake_google.add_message(build_message(n, sender=who, date=NOW + timedelta(hours=1)), PERSONAL)

    report = _cycle(fake_google, tmp_path, db, now=NOW + timedelta(hours=2), withdraw_stale=True)

    assert [e.recipient for e in report.lifecycle.withdrawn] == ["bob@example.net"]
    assert [e.recipient for e in report.lifecycle.edited] == ["carol@example.com"]
    assert bob not in fake_google.drafts and carol in fake_google.drafts
    assert fake_google.calls["drafts.delete"] == 1
    before = _api_calls(fake_google)
    _cycle(fake_google, tmp_path, db, now=NOW + timedelta(hours=3), withdraw_stale=True)
    assert _api_calls(fake_google) - before == 1  # the withdrawn and the edited draft cost nothing idle


def _bob_contact(fake: FakeGoogle, tmp_path: Path, db: Path) -> tuple[Any, Any]:
    from circleback.daemon.core.contacts import contacts
    from circleback.daemon.store.ledger import Ledger

    ledger = Ledger.open(db)
    engine = _engine(fake, tmp_path, ledger)
    try:
        bob = next(c for c in contacts(ledger, engine.settings, NOW) if "bob@example.net" in c.emails)
        return bob.last_sent, bob.last_received
    finally:
        for conn in engine.connectors.values():
            conn.close()
        ledger.close()


def test_mail_deleted_in_gmail_keeps_counting_through_history_and_through_a_full_resync(
        fake_google: FakeGoogle, tmp_path: Path) -> None:
    """Mail that was exchanged was contact (docs/DESIGN.md): both paths give one last contact."""
    _world(fake_google)
    db = tmp_path / "ledger.db"
    _cycle(fake_google, tmp_path, db)
    first = _bob_contact(fake_google, tmp_path, db)
    fake_google.delete_message(next(m.id for m in fake_google.messages.values() if b"From: Bob" in m.raw))

    _cycle(fake_google, tmp_path, db, now=NOW + timedelta(hours=1))
    incremental = _bob_contact(fake_google, tmp_path, db)
    fake_google.expire_history()
    _cycle(fake_google, tmp_path, db, now=NOW + timedelta(hours=2))
    resynced = _bob_contact(fake_google, tmp_path, db)

    assert first[1] == NOW - timedelta(days=44)  # Bob's reply, deleted since
    assert first == incremental == resynced
    assert fake_google.calls["getProfile"] == 2  # the mailbox was read again


def test_a_cycle_killed_at_any_checkpoint_never_duplicates_a_draft(tmp_path: Path) -> None:
    clean = FakeGoogle()
    clean.start()
    try:
        _world(clean)
        _cycle(clean, tmp_path / "clean", tmp_path / "clean.db")
        expected = _draft_keys(clean)
    finally:
        clean.stop()
    seen = 0
    for step in range(1, 30):
        fake = FakeGoogle()
        fake.start()
        try:
            _world(fake)
            counter = {"n": 0}

            def die_at(label: str, step: int = step, counter: dict[str, int] = counter) -> None:
                counter["n"] += 1
                if counter["n"] == step:
                    raise _Killed(label)

            try:
                _cycle(fake, tmp_path / f"s{step}", tmp_path / f"s{step}.db", die_at)
            except _Killed:
                seen += 1
            else:
                break  # this run passed every checkpoint: all of them were tried
            _cycle(fake, tmp_path / f"s{step}", tmp_path / f"s{step}.db")
            assert _draft_keys(fake) == expected, f"killed at checkpoint {step}"
            assert fake.send_attempts == []
        finally:
            fake.stop()
    assert seen >= 5  # two syncs, then intent, create and ref per draft


# --- the first sync's plan: lists, date probes and reads at once --------------------------------


def _pages_of(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    import circleback.connectors.google.gmail as gmail

    monkeypatch.setattr(gmail, "PAGE_SIZE", size)


def _read_keys(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of every call the first sync reads with (``m:<id>`` / ``t:<first id>``)."""
    keys: list[str] = []
    real = GmailConnector._batch_task

    def spy(self: GmailConnector, calls: list[Any]) -> Any:
        keys.extend(c.key for c in calls)
        return real(self, calls)

    monkeypatch.setattr(GmailConnector, "_batch_task", spy)
    return keys


def test_a_personal_exchange_inside_a_long_noise_thread_is_read_and_its_noise_is_not(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    _pages_of(monkeypatch, 3)
    keys = _read_keys(monkeypatch)
    updates = ("INBOX", "CATEGORY_UPDATES")
    root = backend.add_message(build_message(30, sender="jira@tracker.example"), labels=updates)
    noise = [root] + [backend.add_message(build_message(n, sender="jira@tracker.example"), labels=updates,
                                          thread_id=root) for n in range(29, 21, -1)]
    mine = backend.add_message(build_message(21, sender=ME, to="dana@example.com"), "Sent", thread_id=root)
    hers = backend.add_message(build_message(20, sender="dana@example.com"), thread_id=root)
    for n in range(40, 60):
        backend.add_message(build_message(n, sender="deals@shop.example"), labels=("INBOX", "CATEGORY_PROMOTIONS"))

    result = backend.connector.sync_mail(None)

    assert ids(result.records) == ["msg20@test", "msg21@test"]  # the thread's nine notifications: not records
    assert {r.direction for r in result.records} == {Direction.SENT, Direction.RECEIVED}
    assert keys == [f"t:{hers}"]  # two wanted messages: one threads.get (10), as cheap as two messages.get
    assert not {f"m:{m}" for m in noise} & set(keys) and mine != hers


def test_with_categories_turned_off_every_message_is_read(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    _pages_of(monkeypatch, 3)
    for n in range(1, 11, 2):  # five two-message threads, no category label anywhere
        first = backend.add_message(build_message(n + 1), labels=("INBOX",))
        backend.add_message(build_message(n, sender=ME, to="alice@example.com"), "Sent", thread_id=first)

    result = backend.connector.sync_mail(None)

    assert ids(result.records) == sorted(f"msg{n}@test" for n in range(1, 11))
    assert backend.fake.calls["threads.get"] == 5
    assert backend.fake.calls["messages.list"] == 4 + 4  # everything (10 ids, 3 a page), one empty page a category


def test_the_lookback_boundary_is_found_pages_deep_and_nothing_older_is_read(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    _pages_of(monkeypatch, 3)
    keys = _read_keys(monkeypatch)
    recent = [backend.add_message(build_message(n)) for n in range(1, 12)]
    old = [backend.add_message(build_message(n)) for n in range(400, 420)]  # CONTEXT looks back 365 days
    promos = [backend.add_message(build_message(n, sender="deals@shop.example"),
                                  labels=("INBOX", "CATEGORY_PROMOTIONS")) for n in (*range(100, 120), 500)]

    result = backend.connector.sync_mail(None)

    assert ids(result.records) == sorted(f"msg{n}@test" for n in range(1, 12))
    assert sorted(keys) == sorted(f"m:{m}" for m in recent)
    assert not {f"m:{m}" for m in old + promos} & set(keys)
    assert result.cursor["mode"] == "incremental"


def test_reading_starts_while_the_listing_is_still_running(backend: Backend, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    import time

    _pages_of(monkeypatch, 10)
    backend.fake.latency = 0.02
    events: list[tuple[str, float]] = []
    real_list, real_batch = GmailConnector._list_page, GmailConnector._batch_task

    def list_page(self: GmailConnector, labels: list[str], token: str | None) -> Any:
        page = real_list(self, labels, token)
        if not labels:
            events.append(("listed", time.monotonic()))
        return page

    def batch_task(self: GmailConnector, calls: list[Any]) -> Any:
        events.append(("read", time.monotonic()))
        return real_batch(self, calls)

    monkeypatch.setattr(GmailConnector, "_list_page", list_page)
    monkeypatch.setattr(GmailConnector, "_batch_task", batch_task)
    fill(backend, 150)  # 150 single-message threads: three batches of 50, fifteen pages of 10
    conn = GmailConnector(account(tmp_path, backend.fake, quota_per_minute=600_000), CONTEXT)  # no quota waits

    result = conn.sync_mail(None)
    conn.close()

    assert len(result.records) == 150
    first_read = min(t for kind, t in events if kind == "read")
    last_page = max(t for kind, t in events if kind == "listed")
    assert first_read < last_page


def test_a_reply_listed_after_its_thread_s_first_message_is_still_read_once(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gmail's thread id is its first message's id, and later messages are newer - usually.
    An imported reply dated before the first message comes later in the list: read anyway."""
    _pages_of(monkeypatch, 2)
    root = backend.add_message(build_message(2))
    backend.add_message(build_message(3), thread_id=root)
    backend.add_message(build_message(9), thread_id=root)  # older than the root, listed pages later
    for n in (4, 5, 6, 7, 8):
        backend.add_message(build_message(n))

    result = backend.connector.sync_mail(None)

    got = [r.message_id for r in result.records]
    assert sorted(got) == sorted(f"msg{n}@test" for n in range(2, 10))
    assert len(got) == len(set(got))
    assert {r.thread_id for r in result.records if r.message_id in ("msg2@test", "msg9@test")} == {root}


def test_a_list_failing_for_good_fails_the_sync_and_stops_every_list(backend: Backend) -> None:
    fill(backend, 5)
    fault = backend.fake.inject("messages.list", "403-other", times=100)

    with pytest.raises(ConnectorError, match="insufficientPermissions"):
        backend.connector.sync_mail(None)
    fault.times = 0
    # The listing pool has one worker per list: a list left waiting would starve this sync.
    result = backend.connector.sync_mail(None)

    assert len(result.records) == 5 and result.cursor["mode"] == "incremental"


def test_a_probed_message_deleted_meanwhile_counts_as_inside_the_lookback(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    from circleback.connectors.google import gmail

    fill(backend, 4)
    real = gmail.GmailConnector._inside

    def deleting(self: GmailConnector, state: Any, position: int) -> bool:
        backend.fake.messages.pop(state.id_at(position), None)
        return real(self, state, position)

    monkeypatch.setattr(gmail.GmailConnector, "_inside", deleting)

    result = backend.connector.sync_mail(None)

    assert ids(result.records) == ["msg1@test", "msg2@test", "msg3@test"]  # msg4, the page's oldest, was deleted
    assert result.skipped == []


# --- a first sync resumed: the listing is in the cursor too --------------------------------------


def test_a_kill_while_listing_resumes_the_lists_and_rereads_only_the_killed_chunk(
        backend: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Chunk 1 commits; the process dies while chunk 2 lists; the restart goes on from chunk 1's
    cursor: no page listed before it from the top again, nothing chunk 1 read read again,
    every personal message recorded once."""
    _pages_of(monkeypatch, 4)
    keys = _read_keys(monkeypatch)
    backend.fake.latency = 0.005  # the lists take ~100 round trips; a chunk settles in ~15
    for n in range(1, 301):
        backend.add_message(build_message(n))
        if n % 5 == 0:
            backend.add_message(build_message(1000 + n, sender="deals@shop.example", date=NOW - timedelta(days=n)),
                                labels=("INBOX", "CATEGORY_PROMOTIONS"))
    phase = {"n": 1}
    pages: dict[int, list[tuple[tuple[str, ...], str | None]]] = {1: [], 2: [], 3: []}
    real_list = GmailConnector._list_page

    def list_page(self: GmailConnector, labels: list[str], token: str | None) -> Any:
        pages[phase["n"]].append((tuple(labels), token))
        if phase["n"] == 2 and sum(1 for lab, _ in pages[2] if not lab) == 3:
            raise _Killed("SIGKILL while listing")
        return real_list(self, labels, token)

    monkeypatch.setattr(GmailConnector, "_list_page", list_page)
    wide = {"full_sync_chunk": 50, "quota_per_minute": 600_000}

    def connector() -> GmailConnector:
        return GmailConnector(account(tmp_path, backend.fake, **wide), CONTEXT)

    conn = connector()
    first = conn.sync_mail(None)
    committed = json.loads(json.dumps(first.cursor))  # the ledger keeps it as JSON
    conn.close()
    read_first = set(keys)
    assert committed["mode"] == "full" and committed["listing"], "chunk 1 should end before the lists do"
    resume_token = committed["listing"]["all"]["from"]

    phase["n"] = 2
    killed = connector()
    with pytest.raises(_Killed):
        killed.sync_mail(committed)
    killed.close()  # the process is gone: nothing of chunk 2 was committed
    read_killed = set(keys) - read_first

    phase["n"] = 3
    del keys[:]
    conn = connector()
    results = [conn.sync_mail(committed)]
    while results[-1].cursor["mode"] == "full" and len(results) < 12:  # 300 messages, 50 a chunk
        results.append(conn.sync_mail(json.loads(json.dumps(results[-1].cursor))))
    conn.close()

    assert results[-1].cursor["mode"] == "incremental"

    recorded = [r.message_id for res in [first, *results] for r in res.records]
    assert sorted(recorded) == sorted(f"msg{n}@test" for n in range(1, 301))  # each once, none lost
    assert not read_first & set(keys)  # chunk 1 is never read again
    assert len(keys) == len(set(keys)) == 300 - len(read_first)
    assert sum(1 for labels, _ in pages[2] if not labels) == 3  # chunk 2 died in its listing
    everything = [token for labels, token in pages[3] if not labels]
    assert everything[0] == resume_token is not None  # not from the top: chunk 1's last page again
    assert everything.count(resume_token) == 1
    listed_before = {token for labels, token in pages[1] if not labels}
    assert listed_before & set(everything) == {resume_token}
    noise = {f"m:{m.id}" for m in backend.fake.messages.values() if "CATEGORY_PROMOTIONS" in m.labels}
    assert not noise & (set(keys) | read_first | read_killed)


def test_a_resumed_list_drops_the_settled_ids_of_the_page_it_lists_again() -> None:
    """The everything list resumes at its last page (a token may count from a mailbox that lost
    messages since): that page's ids already settled are not planned twice; unsettled ones stay."""
    from circleback.connectors.google.gmail import _PlanState

    labels = ["CATEGORY_PROMOTIONS"]
    state = _PlanState(0, labels)
    state.add_page([("a", "a"), ("b", "b")], None, "t2")
    state.add_page([("c", "c"), ("d", "d")], "t2", "t3")
    state.add_noise("CATEGORY_PROMOTIONS", ["b", "x"], "n2")  # "x": listed by the category only so far

    snap = json.loads(json.dumps(state.snapshot(3, {"c": ["c"]})))  # a, b, c settled; d not
    again, groups = _PlanState.restore(0, labels, snap)
    start, end, pages = again.add_page([("c", "c"), ("d", "d"), ("e", "e")], "t2", "t3")

    assert snap["all"]["from"] == "t2" and again.all_from == "t2" and pages == snap["all"]["pages"]
    assert again.ordered == [("d", "d"), ("e", "e")]  # c settled before the kill; d kept once
    assert groups == {"c": ["c"]}
    assert again.noise == {"x"} and again.label_tokens == {"CATEGORY_PROMOTIONS": "n2"}


def test_a_chunk_that_lists_no_page_passes_the_lists_position_on_unchanged() -> None:
    """Chunks that end before the everything list answers must not wear down its page count
    or forget the settled ids of the page the next chunk lists again, nor those it settles."""
    from circleback.connectors.google.gmail import _PlanState

    labels = ["CATEGORY_PROMOTIONS"]
    state = _PlanState(0, labels)
    state.add_page([("a", "a"), ("b", "b")], None, "t2")
    state.add_page([("c", "c"), ("d", "d"), ("e", "e")], "t2", "t3")
    snap = json.loads(json.dumps(state.snapshot(3, {})))  # a, b, c settled

    idle = _PlanState.restore(0, labels, snap)[0].snapshot(0, {})  # lists nothing, settles nothing
    again = json.loads(json.dumps(_PlanState.restore(0, labels, idle)[0].snapshot(1, {})))  # settles d

    assert idle["skip"] == snap["skip"] == ["c"] and idle["all"] == snap["all"]
    assert again["all"] == snap["all"] and again["skip"] == ["c", "d"]
    last = _PlanState.restore(0, labels, again)[0]
    pages = last.add_page([("c", "c"), ("d", "d"), ("e", "e"), ("f", "f")], "t2", "t3")[2]
    assert last.ordered == [("e", "e"), ("f", "f")] and pages == 2


# --- header values as Gmail may hand them: RFC 2047 encoded words, or already decoded -------------


def _record_from(headers: dict[str, str]) -> Any:
    from circleback.connectors.google.gmail import gmail_record

    msg = {"id": "m1", "threadId": "m1", "labelIds": ["INBOX"], "internalDate": "1741600000000",
           "payload": {"headers": [{"name": k, "value": v} for k, v in headers.items()]}}
    return gmail_record(msg, frozenset({ME}))


@pytest.mark.parametrize("sender", [
    '"Doe, Jörg" <jorg@example.com>',  # decoded by Gmail, quoted as RFC 5322 requires
    "=?UTF-8?Q?Doe=2C_J=C3=B6rg?= <jorg@example.com>",  # left encoded (Q)
    "=?UTF-8?B?RG9lLCBKw7ZyZw==?= <jorg@example.com>",  # left encoded (B)
])
def test_a_display_name_with_a_comma_gives_one_address_decoded_or_encoded(sender: str) -> None:
    record = _record_from({"From": sender, "To": f'{ME}, "Roe, Ann" <ann@example.com>',
                           "Cc": "=?UTF-8?Q?M=C3=BCller=2C_Bea?= <bea@example.com>", "Message-ID": "<x@test>"})

    assert record.sender.email == "jorg@example.com" and record.sender.name == "Doe, Jörg"
    assert [a.email for a in record.to] == [ME, "ann@example.com"]
    assert [(a.email, a.name) for a in record.cc] == [("bea@example.com", "Müller, Bea")]


def test_a_decoded_name_whose_comma_lost_its_quotes_still_gives_one_right_address() -> None:
    """Were Gmail to decode an encoded word into a bare ``Doe, Jörg`` (no quotes), the comma
    splits the field: the stray word must not become an address of its own."""
    record = _record_from({"From": "Doe, Jörg <jorg@example.com>", "To": ME, "Message-ID": "<y@test>"})

    assert record.sender.email == "jorg@example.com"
    assert [a.email for a in record.to] == [ME]


def test_encoded_words_through_the_real_client_and_the_fake(backend: Backend) -> None:
    raw = (b"From: =?UTF-8?Q?Doe=2C_J=C3=B6rg?= <jorg@example.com>\r\nTo: " + ME.encode() +
           b'\r\nCc: "Roe, Ann" <ann@example.com>\r\nSubject: hi\r\nMessage-ID: <e@test>\r\n'
           b"Date: Sun, 09 Mar 2025 12:00:00 +0000\r\n\r\nbody\r\n")  # as it came over SMTP
    backend.add_message(raw)

    (record,) = backend.connector.sync_mail(None).records

    assert (record.sender.email, record.sender.name) == ("jorg@example.com", "Doe, Jörg")
    assert [a.email for a in record.cc] == ["ann@example.com"]


# --- the time of a message: Date where plausible against internalDate, else internalDate -----------


def test_the_date_header_is_the_time_where_it_is_plausible_against_internal_date(backend: Backend) -> None:
    inserted = NOW - timedelta(hours=6)  # messages.insert's default internalDate: the time of the copy
    cases = {
        1: (NOW - timedelta(days=730), NOW - timedelta(days=730)),  # migrated: the Date it was written
        2: (inserted - timedelta(minutes=3), inserted - timedelta(minutes=3)),  # delivered three minutes on
        3: (inserted + timedelta(days=30), inserted),  # a Date after it arrived: a wrong clock
        4: (datetime(1970, 1, 1, tzinfo=UTC), inserted),  # a zero, not a time
    }
    for n, (date, _expected) in cases.items():
        backend.add_message(build_message(n, date=date), internal_ms=int(inserted.timestamp() * 1000))

    got = {r.message_id: r.timestamp for r in backend.connector.sync_mail(None).records}

    assert got == {f"msg{n}@test": expected for n, (_date, expected) in cases.items()}


def test_a_hostile_encoded_to_address_does_not_become_a_person(backend: Backend) -> None:
    hostile = b"To: =?utf-8?q?_attacker@evil.example?=, Ann <ann@example.com>"
    backend.add_message(build_message(7, sender=ME, to="x@example.com").replace(b"To: x@example.com", hostile), "Sent")

    (record,) = backend.connector.sync_mail(None).records

    assert [a.email for a in record.to] == ["ann@example.com"]  # not "_attacker@evil.example?="
