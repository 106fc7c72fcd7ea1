"""The never-send guard and private token files: shared by every cloud connector."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import responses

from circleback.connectors.base import refuse_send
from circleback.connectors.errors import SendRefused, TokenFileError
from circleback.connectors.http import GuardedHttp, GuardedSession
from circleback.connectors.tokens import read_private, write_private

SEND_URLS = [
    ("POST", "https://gmail.googleapis.com/gmail/v1/users/me/messages/send"),
    ("POST", "https://gmail.googleapis.com/gmail/v1/users/me/drafts/send"),
    ("POST", "https://gmail.googleapis.com/upload/gmail/v1/users/me/messages/send?uploadType=multipart"),
    ("POST", "https://graph.microsoft.com/v1.0/me/sendMail"),
    ("POST", "https://graph.microsoft.com/v1.0/me/messages/AAMk=/send"),
    ("POST", "https://graph.microsoft.com/v1.0/users/x@y/messages/AAMk/SEND"),
    ("POST", "https://graph.microsoft.com/v1.0/me/messages/AAMk=/reply"),
    ("POST", "https://graph.microsoft.com/v1.0/me/messages/AAMk=/replyAll"),
    ("POST", "https://graph.microsoft.com/v1.0/me/messages/AAMk=/forward"),
]
ALLOWED_URLS = [
    ("POST", "https://gmail.googleapis.com/gmail/v1/users/me/drafts"),
    ("GET", "https://gmail.googleapis.com/gmail/v1/users/me/messages?labelIds=SENT"),
    ("POST", "https://graph.microsoft.com/v1.0/me/messages"),
    ("GET", "https://graph.microsoft.com/v1.0/me/mailFolders/sentitems/messages/delta"),
    ("GET", "https://example.org/sender/profile"),
    ("POST", "https://graph.microsoft.com/v1.0/me/messages/AAMk=/createReply"),
    ("POST", "https://graph.microsoft.com/v1.0/me/messages/AAMk=/createReplyAll"),
    ("GET", "https://example.org/forwarding/rules"),
]


@pytest.mark.parametrize(("method", "url"), SEND_URLS)
def test_send_endpoints_are_refused(method: str, url: str) -> None:
    with pytest.raises(SendRefused, match="never sends"):
        refuse_send(method, url)


@pytest.mark.parametrize(("method", "url"), ALLOWED_URLS)
def test_other_endpoints_pass(method: str, url: str) -> None:
    refuse_send(method, url)


@responses.activate
def test_guarded_session_refuses_before_any_request_leaves() -> None:
    responses.add(responses.POST, "https://graph.microsoft.com/v1.0/me/sendMail", status=202)
    responses.add(responses.POST, "https://graph.microsoft.com/v1.0/me/messages", json={"id": "d1"})
    session = GuardedSession()
    with pytest.raises(SendRefused):
        session.post("https://graph.microsoft.com/v1.0/me/sendMail", json={})
    assert session.post("https://graph.microsoft.com/v1.0/me/messages", json={}).json() == {"id": "d1"}
    assert [c.request.url for c in responses.calls] == ["https://graph.microsoft.com/v1.0/me/messages"]


def test_guarded_http_wraps_httplib2_style_objects() -> None:
    calls: list[tuple[str, str]] = []

    class Http:
        timeout = 5

        def request(self, uri: str, method: str = "GET", **_: object) -> tuple[dict, bytes]:
            calls.append((method, uri))
            return {"status": "200"}, b"{}"

    http = GuardedHttp(Http())
    with pytest.raises(SendRefused):
        http.request("https://gmail.googleapis.com/gmail/v1/users/me/messages/send", "POST")
    http.request("https://gmail.googleapis.com/gmail/v1/users/me/drafts", "POST")
    assert calls == [("POST", "https://gmail.googleapis.com/gmail/v1/users/me/drafts")]
    assert http.timeout == 5


def test_token_files_are_private_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "tokens" / "google-home.json"
    write_private(path, b'{"refresh_token": "r1"}')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    write_private(path, b'{"refresh_token": "r2"}')
    assert read_private(path) == b'{"refresh_token": "r2"}'
    assert [p.name for p in path.parent.iterdir()] == ["google-home.json"]  # no temp file left


def test_exposed_token_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    write_private(path, b"{}")
    os.chmod(path, 0o644)
    with pytest.raises(TokenFileError, match="chmod 600"):
        read_private(path)
    assert read_private(tmp_path / "missing.json") is None


def test_a_failed_write_keeps_the_old_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.json"
    write_private(path, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_private(path, b"new")
    monkeypatch.undo()
    assert read_private(path) == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_guarded_http_refuses_a_send_hidden_in_a_batch_body() -> None:
    """A Google batch's URI is /batch/...; its calls are request lines in the multipart body."""
    sent: list[str] = []

    class Http:
        def request(self, uri: str, method: str = "GET", body: object = None, **_: object) -> tuple[dict, bytes]:
            sent.append(uri)
            return {"status": "200"}, b""

    def batch(*lines: str) -> str:
        parts = "".join(f"--b\r\nContent-Type: application/http\r\n\r\n{line} HTTP/1.1\r\n\r\n" for line in lines)
        return parts + "--b--\r\n"

    http = GuardedHttp(Http())
    hidden = batch("GET /gmail/v1/users/me/messages/1", "POST /gmail/v1/users/me/drafts/send")
    for call in (lambda: http.request("https://gmail.googleapis.com/batch/gmail/v1", "POST", hidden),
                 lambda: http.request("https://gmail.googleapis.com/batch/gmail/v1", "POST", body=hidden.encode())):
        with pytest.raises(SendRefused):
            call()
    http.request("https://gmail.googleapis.com/batch/gmail/v1", "POST", body=batch("GET /gmail/v1/users/me/messages/1"))
    assert sent == ["https://gmail.googleapis.com/batch/gmail/v1"]
