"""The IMAP connector against a real Dovecot on loopback (tests/servers.py).

Each test gets its own mailbox (a fresh Dovecot user) on one shared server.
Connection cuts come from a TCP proxy between the connector and Dovecot, so
the real imaplib/IMAPClient code sees a real broken socket.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from circleback.connectors.base import Direction, DraftRef, MailRecord
from circleback.connectors.errors import AuthRevoked, ConnectorError
from circleback.connectors.imap import (
    FolderPlan,
    ImapAccount,
    ImapConnector,
    read_password,
    uid_sets,
)
from tests.support.contract import (
    CONTEXT,
    ME,
    NOW,
    build_message,
    draft_message,
)
from tests.support.imap import PASSWORD_ENV, ImapBackend, _fill, make_backend
from tests.support.servers import DovecotServer

pytestmark = pytest.mark.needs_server















# --- first sync --------------------------------------------------------------


def test_first_sync_reads_headers_with_internaldate_and_direction(backend: ImapBackend) -> None:
    delivered = NOW - timedelta(days=3, hours=5)
    backend.add_message(
        build_message(1, sender="Alice Example <alice@example.com>", to=f"{ME}, bob@example.net"),
        when=delivered,  # the Date header says NOW - 1 day, after it arrived: INTERNALDATE must win
    )
    backend.add_message(build_message(2, sender=ME, to="carol@example.com"))  # INBOX, from me
    backend.add_message(build_message(3, sender=ME, to="dan@example.com"), folder="Sent")
    backend.add_message(build_message(4), folder="Projects/2025")
    backend.add_message(build_message(5), folder="Junk")
    backend.add_message(build_message(6), folder="Trash")
    backend.add_message(build_message(7), folder="Drafts")
    backend.add_message(build_message(8), when=NOW - timedelta(days=400))  # beyond the lookback

    result = backend.connector.sync_mail(None)

    got = {r.message_id: r for r in result.records}
    assert set(got) == {"msg1@test", "msg2@test", "msg3@test", "msg4@test"}
    first = got["msg1@test"]
    assert first.timestamp == delivered
    assert first.timestamp.tzinfo is not None and first.timestamp.utcoffset() == timedelta(0)
    assert first.direction is Direction.RECEIVED
    assert first.sender is not None and first.sender.name == "Alice Example"
    assert [a.email for a in first.to] == [ME, "bob@example.net"]
    assert first.folder == "INBOX"
    assert got["msg2@test"].direction is Direction.SENT  # From is one of my addresses
    assert got["msg3@test"].direction is Direction.SENT
    assert got["msg3@test"].folder == "Sent"
    assert got["msg4@test"].folder == "Projects/2025"
    assert set(result.cursor["folders"]) == {"INBOX", "Sent", "Projects/2025"}  # no Junk, Trash, Drafts
    assert result.skipped == []


@pytest.mark.parametrize("first_is_old", [True, False])
def test_first_sync_keeps_the_lookback_whichever_way_it_searches(proxied: ImapBackend, first_is_old: bool) -> None:
    old, young = NOW - timedelta(days=400), NOW - timedelta(days=2)
    proxied.add_message(build_message(1), when=old if first_is_old else young)
    proxied.add_message(build_message(2), when=young)
    proxied.add_message(build_message(3), when=old)  # moved in later: a high UID, an old date
    proxied.add_message(build_message(4), when=NOW - timedelta(days=364))
    assert proxied.proxy is not None

    result = proxied.connector.sync_mail(None)

    kept = {"msg2@test", "msg4@test"} | (set() if first_is_old else {"msg1@test"})
    assert sorted(r.message_id for r in result.records) == sorted(kept)
    assert result.skipped == []
    searches = re.findall(rb"UID SEARCH ([^\r]*)", proxied.proxy.sent_bytes())
    # The first message decides: an old one, and the server picks by date (SEARCH
    # SINCE); a young one, and every UID is fetched and the dates checked here.
    assert [s.split(b" ")[0] for s in searches[1:]] == ([b"SINCE"] if first_is_old else [b"ALL"])


def test_sync_fetches_only_header_fields(proxied: ImapBackend) -> None:
    proxied.add_message(build_message(1))
    proxied.connector.sync_mail(None)

    assert proxied.proxy is not None
    sent = proxied.proxy.sent_bytes()

    assert b"BODY.PEEK[HEADER.FIELDS (" in sent
    assert b"RFC822" not in sent and b"BODY[]" not in sent and b"BODY.PEEK[]" not in sent


def test_folder_the_server_refuses_is_skipped_and_the_rest_read(backend: ImapBackend) -> None:
    backend.add_message(build_message(1))
    box = backend.connector
    gone = [FolderPlan("Gone", is_sent=False), FolderPlan("INBOX", is_sent=False)]
    box.plan_folders = lambda client: (gone, [])  # type: ignore[method-assign]

    result = box.sync_mail(None)

    assert [r.message_id for r in result.records] == ["msg1@test"]
    assert [s.where for s in result.skipped] == ["imap:mail/Gone"]
    assert set(result.cursor["folders"]) == {"INBOX"}


def test_explicit_folder_list_and_missing_folder(dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    made = make_backend(dovecot, monkeypatch, folders=["Sent", "Nope"])
    try:
        made.add_message(build_message(1))
        made.add_message(build_message(2, sender=ME), folder="Sent")

        result = made.connector.sync_mail(None)

        assert [r.message_id for r in result.records] == ["msg2@test"]
        assert [s.where for s in result.skipped] == ["mail/Nope"]
    finally:
        made.close()


# --- incremental -------------------------------------------------------------


def test_new_message_appears_once_then_idle(backend: ImapBackend) -> None:
    backend.add_message(build_message(1))
    first = backend.connector.sync_mail(None)
    backend.add_message(build_message(2), folder="Sent")
    backend.add_message(build_message(3))

    second = backend.connector.sync_mail(first.cursor)
    third = backend.connector.sync_mail(second.cursor)

    assert sorted(r.message_id for r in second.records) == ["msg2@test", "msg3@test"]
    assert third.records == []
    assert third.cursor == second.cursor


def test_idle_poll_is_status_only(proxied: ImapBackend) -> None:
    for n in range(1, 4):
        proxied.add_message(build_message(n))
    first = proxied.connector.sync_mail(None)
    assert proxied.proxy is not None
    proxied.proxy.clear()

    second = proxied.connector.sync_mail(first.cursor)

    commands = proxied.proxy.commands()
    assert second.records == []
    assert "FETCH" not in commands and "SEARCH" not in commands
    assert "SELECT" not in commands and "EXAMINE" not in commands
    assert commands.count("STATUS") == len(first.cursor["folders"])


def test_new_mail_in_one_folder_selects_only_that_folder(proxied: ImapBackend) -> None:
    proxied.add_message(build_message(1))
    proxied.add_message(build_message(2), folder="Sent")
    first = proxied.connector.sync_mail(None)
    assert proxied.proxy is not None
    proxied.proxy.clear()
    proxied.add_message(build_message(3), folder="Sent")

    second = proxied.connector.sync_mail(first.cursor)

    assert [r.message_id for r in second.records] == ["msg3@test"]
    assert proxied.proxy.commands().count("EXAMINE") == 1
    assert proxied.proxy.commands().count("FETCH") == 1


def test_many_messages_take_few_round_trips(proxied: ImapBackend) -> None:
    proxied.seed.multiappend("INBOX", [build_message(n) for n in range(1, 1201)])
    assert proxied.proxy is not None

    result = proxied.connector.sync_mail(None)

    assert len({r.message_id for r in result.records}) == 1200
    assert proxied.proxy.commands().count("FETCH") == 1  # 1,200 UIDs, one UID FETCH


def test_uidvalidity_change_rereads_only_that_folder(backend: ImapBackend) -> None:
    backend.add_message(build_message(1))
    backend.add_message(build_message(2), folder="Projects")
    first = backend.connector.sync_mail(None)
    old_validity = first.cursor["folders"]["Projects"]["uidvalidity"]
    backend.seed.delete_folder("Projects")
    backend.seed.create_folder("Projects")
    backend.add_message(build_message(2), folder="Projects")
    backend.add_message(build_message(3), folder="Projects")

    second = backend.connector.sync_mail(first.cursor)

    assert sorted(r.message_id for r in second.records) == ["msg2@test", "msg3@test"]
    assert {r.folder for r in second.records} == {"Projects"}
    assert second.cursor["folders"]["Projects"]["uidvalidity"] != old_validity
    assert second.cursor["folders"]["INBOX"] == first.cursor["folders"]["INBOX"]


def test_cursor_survives_json(backend: ImapBackend) -> None:
    import json

    backend.add_message(build_message(1))
    first = backend.connector.sync_mail(None)
    backend.add_message(build_message(2))

    second = backend.connector.sync_mail(json.loads(json.dumps(first.cursor)))

    assert [r.message_id for r in second.records] == ["msg2@test"]


# --- connection cuts ----------------------------------------------------------




def test_cut_mid_fetch_raises_and_rerun_reads_everything_once(proxied: ImapBackend) -> None:
    assert proxied.proxy is not None
    proxied.add_message(build_message(1000))
    base = proxied.connector.sync_mail(None)
    expected = _fill(proxied, 400)
    proxied.connector.attempts = 1  # no retry: the failure itself must leave no trace
    proxied.proxy.cut_after_server_bytes(30_000)  # well inside ~250 kB of FETCH response

    with pytest.raises(ConnectorError, match="nothing recorded"):
        proxied.connector.sync_mail(base.cursor)
    rerun = proxied.connector.sync_mail(base.cursor)

    assert proxied.proxy.cuts == 1
    ids = [r.message_id for r in rerun.records]
    assert len(ids) == len(set(ids)) and set(ids) == expected


def test_cut_mid_fetch_is_retried_within_one_sync(proxied: ImapBackend) -> None:
    assert proxied.proxy is not None
    expected = _fill(proxied, 400)
    proxied.connector.attempts = 3
    proxied.proxy.cut_after_server_bytes(30_000)

    result = proxied.connector.sync_mail(None)
    again = proxied.connector.sync_mail(result.cursor)

    ids = [r.message_id for r in result.records]
    assert proxied.proxy.cuts == 1 and proxied.proxy.connections == 2
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert again.records == []


def test_server_gone_for_good_raises_connector_error(proxied: ImapBackend) -> None:
    assert proxied.proxy is not None
    proxied.add_message(build_message(1))
    proxied.connector.attempts = 2
    proxied.proxy.close()

    with pytest.raises(ConnectorError):
        proxied.connector.sync_mail(None)


def _reconcile(box: ImapConnector, message: bytes, key: str) -> None:
    """What the outbox does with an intent whose APPEND failed: look, then maybe create."""
    if not any(d.key == key for d in box.list_drafts()):
        box.create_draft(message, key)


@pytest.mark.parametrize(
    ("marker", "stored_before_cut"),
    [(b"MIDDLE-OF-DRAFT", False), (b"END-OF-DRAFT\r\n\r\n", True)],
    ids=["cut-inside-literal", "cut-before-tagged-OK"],
)
def test_cut_mid_append_never_duplicates(proxied: ImapBackend, marker: bytes, stored_before_cut: bool) -> None:
    assert proxied.proxy is not None
    message = draft_message("k-cut").replace(
        b"How have you been?", b"How have you been? MIDDLE-OF-DRAFT " + b"z" * 4000 + b" END-OF-DRAFT"
    )
    proxied.connector.list_drafts()  # connected and idle, as before a real create
    proxied.proxy.cut_after_client_sends(marker)

    with pytest.raises(ConnectorError, match="APPEND"):
        proxied.connector.create_draft(message, "k-cut")
    # Let Dovecot finish whatever it received; under load that can take longer than a moment.
    deadline = time.monotonic() + (5.0 if stored_before_cut else 0.5)
    while True:
        stored = [d for d in proxied.connector.list_drafts() if d.key == "k-cut"]
        if stored or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    _reconcile(proxied.connector, message, "k-cut")

    assert len(stored) == (1 if stored_before_cut else 0)
    assert [d.key for d in proxied.connector.list_drafts()] == ["k-cut"]


# --- drafts --------------------------------------------------------------------


def test_draft_is_appended_as_draft_and_seen(backend: ImapBackend) -> None:
    ref = backend.connector.create_draft(draft_message("k-flags"), "k-flags")

    backend.seed.select_folder("Drafts", readonly=True)
    uid = int(ref.ref.split(":")[1])
    flags = backend.seed.get_flags([uid])[uid]

    assert {b"\\Draft", b"\\Seen"} <= set(flags)
    assert ref.account == "mail"


def test_list_drafts_reports_foreign_drafts_without_key(backend: ImapBackend) -> None:
    backend.add_message(build_message(1), folder="Drafts")  # the user's own draft
    mine = backend.connector.create_draft(draft_message("k-own"), "k-own")

    listed = backend.connector.list_drafts()

    assert sorted(d.key for d in listed) == ["", "k-own"]
    assert mine in listed


def test_key_must_match_exactly(backend: ImapBackend) -> None:
    backend.connector.create_draft(draft_message("k-10"), "k-10")
    backend.connector.create_draft(draft_message("k-1"), "k-1")

    assert sorted(d.key for d in backend.connector.list_drafts()) == ["k-1", "k-10"]


def test_deleted_draft_is_gone(backend: ImapBackend) -> None:
    ref = backend.connector.create_draft(draft_message("k-del"), "k-del")
    backend.seed.select_folder("Drafts")
    backend.seed.delete_messages([int(ref.ref.split(":")[1])])
    backend.seed.expunge()

    assert backend.connector.get_draft(ref) is None
    assert backend.connector.list_drafts() == []


def test_stale_uidvalidity_ref_is_gone(backend: ImapBackend) -> None:
    ref = backend.connector.create_draft(draft_message("k-uv"), "k-uv")

    stale = DraftRef(ref.account, "1:" + ref.ref.split(":")[1], ref.key)

    assert backend.connector.get_draft(stale) is None


def test_create_draft_refuses_message_without_its_key(backend: ImapBackend) -> None:
    with pytest.raises(ValueError, match="X-Circleback-Key"):
        backend.connector.create_draft(draft_message("k-a"), "k-b")
    assert backend.connector.list_drafts() == []


def test_close_logs_out_and_next_use_reconnects(backend: ImapBackend) -> None:
    backend.add_message(build_message(1))
    backend.connector.sync_mail(None)
    backend.connector.close()

    assert backend.connector._conn is None
    assert len(backend.connector.sync_mail(None).records) == 1


# --- login and configuration -----------------------------------------------------


def test_wrong_password_is_auth_revoked(dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # From 127.0.0.2: Dovecot delays every later login from a failing IP by seconds.
    made = make_backend(dovecot, monkeypatch, source="127.0.0.2")
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    try:
        with pytest.raises(AuthRevoked, match="refused the login"):
            made.connector.sync_mail(None)
    finally:
        made.close()


def _account(**kw: Any) -> ImapAccount:
    base: dict[str, Any] = {
        "name": "m",
        "kind": "imap",
        "host": "imap.example.com",
        "username": "me",
        "password_env": "X",
    }
    return ImapAccount(**(base | kw))


def test_config_defaults_are_tls_with_the_matching_port() -> None:
    assert _account().security == "ssl" and _account().effective_port == 993
    assert _account(security="starttls").effective_port == 143
    assert _account(port=1993).effective_port == 1993


@pytest.mark.parametrize("host", ["imap.example.com", "10.0.0.2", "127.0.0.1.evil.com"])
def test_cleartext_refused_off_loopback(host: str) -> None:
    with pytest.raises(ValidationError, match="only allowed for 127.0.0.1"):
        _account(host=host, security="none")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_cleartext_allowed_on_loopback(host: str) -> None:
    assert _account(host=host, security="none").security == "none"


def test_plain_password_key_is_refused_with_alternatives() -> None:
    with pytest.raises(ValidationError, match="password_command"):
        _account(password="hunter2")  # noqa: S106 - the refused key is the point


def test_exactly_one_password_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        _account(password_command="pass show x")  # noqa: S106 - a command, not a secret
    with pytest.raises(ValidationError, match="exactly one"):
        ImapAccount(name="m", kind="imap", host="h", username="me")


def test_password_command_first_line_without_shell(tmp_path: Any) -> None:
    script = tmp_path / "secret tool"
    script.write_text("#!/bin/sh\nprintf 's3cret;rm -rf /\\nsecond line\\n'\n")
    script.chmod(0o755)
    account = _account(password_env=None, password_command=f"'{script}' --arg")

    assert read_password(account) == "s3cret;rm -rf /"


def test_password_command_failure_says_which_command() -> None:
    account = _account(password_env=None, password_command="false")  # noqa: S106
    with pytest.raises(ConnectorError, match="'false' exited 1"):
        read_password(account)


def test_password_from_env_and_systemd_credential(tmp_path: Any) -> None:
    assert read_password(_account(), {"X": "from-env"}) == "from-env"
    (tmp_path / "imap-pass").write_text("from-credential\n")
    account = _account(password_env=None, credential="imap-pass")

    assert read_password(account, {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == "from-credential"
    with pytest.raises(ConnectorError, match="CREDENTIALS_DIRECTORY"):
        read_password(account, {})


# --- wire-level helpers ---------------------------------------------------------


def test_uid_sets_are_compact_and_bounded() -> None:
    sets = list(uid_sets([1, 2, 3, 7, 9, 10, 11, 20], chunk=5))

    assert [s for s, _ in sets] == ["1:3,7,9", "10:11,20"]
    assert sets[1][1] == {10, 11, 20}


class _FakeGmail:
    """Only what folder planning asks: Gmail's capability and its LIST answer."""

    def capabilities(self) -> tuple[bytes, ...]:
        return (b"IMAP4REV1", b"X-GM-EXT-1", b"UIDPLUS")

    def list_folders(self) -> list[tuple[tuple[bytes, ...], bytes, str]]:
        return [
            ((b"\\HasNoChildren",), b"/", "INBOX"),
            ((b"\\HasChildren", b"\\Noselect"), b"/", "[Gmail]"),
            ((b"\\All", b"\\HasNoChildren"), b"/", "[Gmail]/All Mail"),
            ((b"\\Drafts", b"\\HasNoChildren"), b"/", "[Gmail]/Drafts"),
            ((b"\\HasNoChildren", b"\\Sent"), b"/", "[Gmail]/Sent Mail"),
            ((b"\\HasNoChildren", b"\\Junk"), b"/", "[Gmail]/Spam"),
            ((b"\\HasNoChildren",), b"/", "Work"),
        ]


def test_gmail_reads_all_mail_only() -> None:
    connector = ImapConnector(_account(host="imap.gmail.com"), CONTEXT)

    plans, skipped = connector.plan_folders(_FakeGmail())  # type: ignore[arg-type]

    assert [(p.name, p.gmail_all) for p in plans] == [("[Gmail]/All Mail", True)]
    assert skipped == []


def test_records_are_mail_records(backend: ImapBackend) -> None:
    backend.add_message(build_message(1))

    (record,) = backend.connector.sync_mail(None).records

    assert isinstance(record, MailRecord) and record.source_id == "msg1@test"


class _FakeCyrus:
    """Cyrus IMAP with Debian's defaults: every folder under INBOX, '.' between, no SPECIAL-USE."""

    def capabilities(self) -> tuple[bytes, ...]:
        return (b"IMAP4REV1", b"UIDPLUS", b"CONDSTORE")

    def list_folders(self) -> list[tuple[tuple[bytes, ...], bytes, str]]:
        return [((b"\\HasChildren",), b".", "INBOX"),
                *(((b"\\HasNoChildren",), b".", f"INBOX.{name}") for name in ("Drafts", "Junk", "Trash", "Sent",
                                                                                "Projects", "Spam filter ideas"))]


def test_cyrus_folders_under_inbox_are_found_by_their_role_names() -> None:
    connector = ImapConnector(_account(), CONTEXT)

    plans, skipped = connector.plan_folders(_FakeCyrus())  # type: ignore[arg-type]

    # Junk, Trash and Drafts are not read as mail (a spoofed spam set someone's last contact);
    # Sent is read as sent; a folder merely starting with a role word is mail.
    assert [(p.name, p.is_sent) for p in plans] == [
        ("INBOX", False), ("INBOX.Sent", True), ("INBOX.Projects", False), ("INBOX.Spam filter ideas", False)]
    assert skipped == []
    assert connector._drafts_folder(_FakeCyrus()) == "INBOX.Drafts"  # type: ignore[arg-type]


def test_junk_and_trash_folders_the_user_names_are_never_read(
        dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A spam quarantine or a trash folder under a name no rule knows: the user names it, and a
    spoofed spam in it sets no one's last contact."""
    made = make_backend(dovecot, monkeypatch, junk_folders=["Quarantine"], trash_folders=["papierkorb"])
    try:
        made.add_message(build_message(1, sender="friend@example.com"))
        made.add_message(build_message(2, sender="spoofed@example.com"), folder="Quarantine")
        made.add_message(build_message(3, sender="deleted@example.com"), folder="Papierkorb")
        made.add_message(build_message(4, sender="archived@example.com"), folder="Quarantine-notes")

        senders = {r.sender.email for r in made.connector.sync_mail(None).records}
    finally:
        made.close()

    assert senders == {"friend@example.com", "archived@example.com"}


def test_named_junk_folders_are_matched_by_their_last_name_under_inbox() -> None:
    connector = ImapConnector(_account(junk_folders=["Quarantine"], trash_folders=["INBOX.Projects"]), CONTEXT)

    class _Listing(_FakeCyrus):
        def list_folders(self) -> list[tuple[tuple[bytes, ...], bytes, str]]:
            return [*super().list_folders(), ((b"\\HasNoChildren",), b".", "INBOX.Quarantine")]

    plans, _ = connector.plan_folders(_Listing())  # type: ignore[arg-type]
    assert [p.name for p in plans] == ["INBOX", "INBOX.Sent", "INBOX.Spam filter ideas"]


# --- the time of a message: Date where plausible, else INTERNALDATE ----------------------------


def test_the_date_header_is_the_time_where_it_is_plausible_against_internaldate(backend: ImapBackend) -> None:
    copied = NOW - timedelta(hours=6)  # INTERNALDATE of a mailbox migrated today
    cases = {
        1: (NOW - timedelta(days=730), copied, NOW - timedelta(days=730)),  # migrated: the Date it was written
        2: (copied - timedelta(minutes=3), copied, copied - timedelta(minutes=3)),  # delivered 3 minutes on
        3: (copied + timedelta(days=1), copied, copied + timedelta(days=1)),  # a sender's clock a day fast
        4: (copied + timedelta(days=30), copied, copied),  # a Date after it arrived: a wrong clock
        5: (datetime(1970, 1, 1, tzinfo=UTC), copied, copied),  # a zero, not a time
        6: (datetime(1979, 12, 31, tzinfo=UTC), copied, copied),  # before 1980: an accident
    }
    for n, (date, internaldate, _expected) in cases.items():
        backend.add_message(build_message(n, date=date), when=internaldate)
    backend.add_message(build_message(7).replace(b"\nDate: ", b"\nX-Old-Date: "), when=copied)  # no Date at all

    got = {r.message_id: r.timestamp for r in backend.connector.sync_mail(None).records}

    assert got == {f"msg{n}@test": expected for n, (_d, _i, expected) in cases.items()} | {"msg7@test": copied}
