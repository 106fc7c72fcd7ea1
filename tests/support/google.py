"""Google accounts against the fake Google: a token file, an account, fast retries."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from circleback.connectors.google.auth import GmailAccount, RetryPolicy
from circleback.connectors.tokens import write_private
from tests.support.fake_google import FakeGoogle

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


PERSONAL = ("INBOX", "CATEGORY_PERSONAL")


def token_file(tmp_path: Path, fake: FakeGoogle, refresh: str = "rt-good") -> Path:
    path = tmp_path / "tokens" / "google-g.json"
    info = {"refresh_token": refresh, "client_id": "cid.apps.googleusercontent.com", "client_secret": "cs"}
    write_private(path, json.dumps(info).encode())
    return path


def account(tmp_path: Path, fake: FakeGoogle, **over: Any) -> GmailAccount:
    base: dict[str, Any] = {
        "name": "g",
        "client_secrets": str(tmp_path / "client_secret.json"),
        "token_path": str(token_file(tmp_path, fake)),
        "api_endpoint": fake.url,
        "token_uri": fake.token_uri,
        "concurrency": 2,
    }
    return GmailAccount.model_validate({**base, **over})


def client_secrets(tmp_path: Path, fake: FakeGoogle) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps({"installed": {
        "client_id": "cid.apps.googleusercontent.com", "client_secret": "cs",
        "auth_uri": fake.url + "auth", "token_uri": fake.token_uri, "redirect_uris": ["http://localhost"]}}))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
