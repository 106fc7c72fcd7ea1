"""MaildirConnector: both folder layouts, the incremental cursor, and drafts the maildir way."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from circleback.connectors import maildir as maildir_module
from circleback.connectors.base import Direction, DraftRef
from circleback.connectors.maildir import MaildirConnector
from circleback.daemon.config import MaildirAccount
from tests.support.contract import (
    CONTEXT,
    ME,
    build_message,
    draft_message,
)
from tests.support.mailfixtures import deliver, make_maildir


def connector_for(root: Path, **config: object) -> MaildirConnector:
    account = MaildirAccount(name="local", kind="maildir", path=str(root), **config)
    return MaildirConnector(account, CONTEXT)


def test_folder_names_from_both_layouts(tmp_path: Path) -> None:
    root = make_maildir(tmp_path)
    for folder in (".Archive.2019", ".Sent Items", "Archive/2020", "Work/Clients/ACME", ".Junk"):
        make_maildir(root / folder)
    (root / "not-a-folder").mkdir()

    names = [f.name for f in connector_for(root).mail_folders()]

    assert names == ["Archive/2019", "Archive/2020", "INBOX", "Sent Items", "Work/Clients/ACME"]


def test_drafts_and_skip_folders_are_not_read_and_sent_is_case_insensitive(
    tmp_path: Path,
) -> None:
    root = make_maildir(tmp_path)
    deliver(root / "drafts", build_message(1, sender=ME))
    deliver(root / "TRASH", build_message(2))
    deliver(root / "sent", build_message(3, sender="someone-else@example.com"))

    records = connector_for(root).sync_mail(None).records

    assert [(r.message_id, r.folder, r.direction) for r in records] == [("msg3@test", "sent", Direction.SENT)]


def test_a_hostile_encoded_to_address_does_not_become_a_person(tmp_path: Path) -> None:
    root = make_maildir(tmp_path)
    hostile = b"To: =?utf-8?q?_attacker@evil.example?=, Ann <ann@example.com>"
    deliver(root / "sent", build_message(7, sender=ME, to="x@example.com").replace(b"To: x@example.com", hostile))

    (record,) = connector_for(root).sync_mail(None).records

    assert [a.email for a in record.to] == ["ann@example.com"]  # not "_attacker@evil.example?="


def test_first_sync_skips_messages_older_than_lookback(tmp_path: Path) -> None:
    root = make_maildir(tmp_path)
    old = (CONTEXT.current_time().timestamp()) - 400 * 86400
    deliver(root, build_message(1), mtime=old)
    deliver(root, build_message(400))  # fresh file, but its Date is 400 days back
    deliver(root, build_message(2))

    records = connector_for(root).sync_mail(None).records

    assert [r.message_id for r in records] == ["msg2@test"]


def test_idle_sync_of_unchanged_tree_reads_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_maildir(tmp_path)
    deliver(root, build_message(1))
    deliver(root / ".Sent", build_message(2, sender=ME), sub="cur")
    connector = connector_for(root)
    cursor = connector.sync_mail(None).cursor
    # Age every directory past the 2 s trust window, as minutes of idling would.
    for folder in (root, root / ".Sent"):
        for sub in ("cur", "new"):
            os.utime(folder / sub, ns=(time.time_ns() - 10**10,) * 2)
    cursor = connector.sync_mail(cursor).cursor

    def no_reads(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("an idle sync read a message file")

    monkeypatch.setattr(maildir_module, "read_header_block", no_reads)
    listed: list[object] = []
    monkeypatch.setattr(maildir_module, "_message_files", lambda p: listed.append(p) or iter(()))

    result = connector.sync_mail(cursor)

    assert result.records == [] and result.skipped == []
    assert listed == []  # unchanged folders are not even listed


def test_flag_rename_from_new_to_cur_is_not_reemitted(tmp_path: Path) -> None:
    root = make_maildir(tmp_path)
    path = deliver(root, build_message(1))
    connector = connector_for(root)
    cursor = connector.sync_mail(None).cursor

    path.rename(root / "cur" / (path.name + ":2,S"))  # mutt marks it read
    result = connector.sync_mail(cursor)

    assert result.records == []


def test_vanished_file_is_a_skip_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_maildir(tmp_path)
    path = deliver(root, build_message(1))
    real = maildir_module._message_files

    def listing_then_gone(folder: Path):  # mbsync renames between our listing and open
        entries = list(real(folder))
        path.unlink()
        return iter(entries)

    monkeypatch.setattr(maildir_module, "_message_files", listing_then_gone)

    result = connector_for(root).sync_mail(None)

    assert result.records == []
    assert len(result.skipped) == 1 and "unreadable" in result.skipped[0].why


def test_cursor_survives_json(tmp_path: Path) -> None:
    import json

    root = make_maildir(tmp_path)
    deliver(root, build_message(1))
    connector = connector_for(root)
    cursor = json.loads(json.dumps(connector.sync_mail(None).cursor))

    assert connector.sync_mail(cursor).records == []


def test_draft_lands_in_maildirpp_drafts_with_draft_flag(tmp_path: Path) -> None:
    root = make_maildir(tmp_path)
    make_maildir(root / ".Archive")
    connector = connector_for(root)

    ref = connector.create_draft(draft_message("k"), "k")

    (written,) = (root / ".Drafts" / "cur").iterdir()
    assert written.name == f"{ref.ref}:2,D"
    assert list((root / ".Drafts" / "tmp").iterdir()) == []
    assert not (root / "Drafts").exists()


def test_draft_lands_in_nested_drafts_without_maildirpp(tmp_path: Path) -> None:
    root = make_maildir(tmp_path)
    make_maildir(root / "Sent")
    connector = connector_for(root, drafts_folder="Entwürfe")

    ref = connector.create_draft(draft_message("k"), "k")

    assert (root / "Entwürfe" / "cur" / f"{ref.ref}:2,D").is_file()
    assert [d.ref for d in connector.list_drafts()] == [ref.ref]


def test_get_draft_finds_it_after_the_user_changed_flags(tmp_path: Path) -> None:
    root = make_maildir(tmp_path)
    connector = connector_for(root)
    ref = connector.create_draft(draft_message("k"), "k")
    cur = connector.drafts_path() / "cur"
    (cur / f"{ref.ref}:2,D").rename(cur / f"{ref.ref}:2,DS")

    assert connector.get_draft(ref) == draft_message("k")
    assert connector.get_draft(type(ref)("local", "../../etc/passwd", "")) is None


def test_unique_names_follow_the_maildir_spec() -> None:
    first, second = maildir_module.new_unique_name(), maildir_module.new_unique_name()

    assert first != second
    assert "/" not in first and ":" not in first
    assert first.split(".")[1].startswith("M") and "P" in first and "Q" in first


def test_delete_draft_removes_only_that_draft(tmp_path: Path) -> None:
    from circleback.daemon.config import MaildirAccount
    from tests.support.contract import CONTEXT, draft_message

    (tmp_path / "Mail").mkdir()
    box = MaildirConnector(MaildirAccount(name="m", kind="maildir", path=str(tmp_path / "Mail")), CONTEXT)
    keep = box.create_draft(draft_message("k1"), "k1")
    gone = box.create_draft(draft_message("k2"), "k2")
    assert box.delete_draft(gone) is True
    assert [d.key for d in box.list_drafts()] == ["k1"]
    assert box.get_draft(gone) is None and box.get_draft(keep) is not None
    assert box.delete_draft(gone) is False
    assert box.delete_draft(DraftRef("m", "../escape", "")) is False


def test_a_missing_root_is_an_error_not_an_empty_mailbox(tmp_path: Path) -> None:
    from circleback.connectors.errors import ConnectorError
    from tests.support.contract import CONTEXT, draft_message

    box = MaildirConnector(MaildirAccount(name="m", kind="maildir", path=str(tmp_path / "unmounted")), CONTEXT)
    for call in (lambda: box.sync_mail(None), box.list_drafts, lambda: box.create_draft(draft_message("k"), "k")):
        with pytest.raises(ConnectorError, match="is not a folder"):
            call()
    assert not (tmp_path / "unmounted").exists()  # nothing written into an empty mount point
