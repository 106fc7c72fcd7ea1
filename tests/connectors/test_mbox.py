"""MboxConnector: the streaming scanner, sent-file names and the size/offset cursor."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from circleback.connectors.base import Direction
from circleback.connectors.mbox import MboxConnector, ScanState, scan_mbox
from circleback.daemon.config import MboxAccount
from tests.support.contract import CONTEXT, build_message
from tests.support.mailfixtures import append_mbox, mbox_entry


def connector_for(path: Path) -> MboxConnector:
    return MboxConnector(MboxAccount(name="archive", kind="mbox", path=str(path)), CONTEXT)


def test_body_from_lines_do_not_start_messages_unless_after_blank_line() -> None:
    data = (
        b"From a Thu Jan  1 00:00:00 1970\nFrom: a@x.org\nSubject: one\n\n"
        b"body\nFrom here on, not after a blank line\nFrom someone unquoted (mboxo)\n\n"
        b"From b Thu Jan  1 00:00:00 1970\nFrom: b@x.org\n\nbody\n"
    )
    state = ScanState(0, True)

    found = list(scan_mbox(io.BytesIO(data), state, settled=True))

    assert [offset for offset, _ in found] == [0, data.index(b"From b")]
    assert found[1][1] == b"From b Thu Jan  1 00:00:00 1970\nFrom: b@x.org\n\n"
    assert state.offset == len(data)


def test_header_block_still_being_written_is_read_next_time() -> None:
    done = b"From a Thu Jan  1 00:00:00 1970\nFrom: a@x.org\n\nbody\n\n"
    partial = done + b"From b Thu Jan  1 00:00:00 1970\nFrom: b@x.org\nSubj"
    state = ScanState(0, True)

    first = list(scan_mbox(io.BytesIO(partial), state, settled=False))
    assert [o for o, _ in first] == [0]
    assert state.offset == len(done)

    whole = partial + b"ect: hi\n\nbody\n"
    second = list(scan_mbox(io.BytesIO(whole), state, settled=False))
    assert [o for o, _ in second] == [len(done)]
    assert b"Subject: hi" in second[0][1]


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("Sent", True),
        ("sent.mbox", True),
        ("enron__enron.phanis-s.sent_items", True),
        ("Sent Mail", True),
        ("Inbox.sbd/Sent", True),
        ("Inbox", False),
        ("enron__enron.phanis-s.inbox", False),
        ("presentations", False),
    ],
)
def test_sent_file_names(tmp_path: Path, name: str, sent: bool) -> None:
    assert connector_for(tmp_path).is_sent_file(name) is sent


def test_appended_message_is_read_from_the_saved_offset(tmp_path: Path) -> None:
    box = tmp_path / "Inbox"
    append_mbox(box, build_message(1))
    connector = connector_for(box)
    cursor = connector.sync_mail(None).cursor
    offset = cursor["files"]["Inbox"]["offset"]
    append_mbox(box, build_message(2))

    result = connector.sync_mail(cursor)

    assert offset == len(mbox_entry(build_message(1)))
    assert [r.message_id for r in result.records] == ["msg2@test"]


def test_rewritten_file_is_rescanned_from_the_start(tmp_path: Path) -> None:
    box = tmp_path / "Inbox"
    append_mbox(box, build_message(1))
    append_mbox(box, build_message(2))
    connector = connector_for(box)
    cursor = connector.sync_mail(None).cursor
    # Compaction after deleting message 1: smaller file, different head.
    box.write_bytes(mbox_entry(build_message(2)) + mbox_entry(build_message(3)))
    os.utime(box, (1, 1))

    result = connector.sync_mail(cursor)

    assert sorted(r.message_id for r in result.records) == ["msg2@test", "msg3@test"]


def test_hidden_and_thunderbird_index_files_are_ignored(tmp_path: Path) -> None:
    append_mbox(tmp_path / "Inbox", build_message(1))
    (tmp_path / "Inbox.msf").write_bytes(b'// <!-- <mdb:mork:z v="1.4"/> -->\n')
    (tmp_path / ".hidden").write_bytes(mbox_entry(build_message(2)))
    (tmp_path / "notes.txt").write_bytes(b"just some notes\n")

    result = connector_for(tmp_path).sync_mail(None)

    assert [r.message_id for r in result.records] == ["msg1@test"]
    assert [(s.where, s.why) for s in result.skipped] == [("archive:notes.txt", "not an mbox (no leading From line)")]


def test_from_my_address_in_an_inbox_file_counts_as_sent(tmp_path: Path) -> None:
    append_mbox(tmp_path / "Inbox", build_message(1, sender="Me <ME@example.org>"))

    (record,) = connector_for(tmp_path).sync_mail(None).records

    assert record.direction is Direction.SENT
