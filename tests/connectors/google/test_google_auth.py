"""Google sign-in, token files, refresh failures, the limiter and the account config."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from circleback.connectors.errors import AuthRevoked, ConnectorError, TokenFileError
from circleback.connectors.google import auth as google_auth
from circleback.connectors.google.auth import (
    GMAIL_SCOPES,
    GmailAccount,
    GoogleCalendarAccount,
    GoogleTokens,
    QuotaLimiter,
    headless_login,
    installed_flow,
    token_path,
)
from circleback.connectors.google.gmail import GmailConnector
from circleback.daemon.cli.auth import auth
from tests.support.cli import cli_obj
from tests.support.contract import CONTEXT, build_message
from tests.support.fake_google import FakeGoogle
from tests.support.google import FAST, PERSONAL, account, client_secrets, free_port


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GmailConnector, "retry_policy", FAST)
    # The fake's auth and token endpoints are plain http on loopback; oauthlib wants https.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


# --- config ----------------------------------------------------------------------------------------


def test_config_defaults_and_refusals(tmp_path: Path) -> None:
    gmail = GmailAccount(name="home", client_secrets="~/client.json")
    cal = GoogleCalendarAccount(name="cal", client_secrets="~/client.json")

    assert token_path(gmail).name == "google-home.json" and token_path(gmail).parent.name == "tokens"
    assert gmail.quota_per_minute == 6000 and cal.calendars == ["primary"]
    assert gmail.cost("messages.get") == 5
    assert GmailAccount(name="h", client_secrets="c", costs={"messages.get": 20}).cost("messages.get") == 20
    with pytest.raises(ValidationError, match="extra"):
        GmailAccount(name="h", client_secrets="c", pasword="x")
    with pytest.raises(ValidationError, match="unknown method"):
        GmailAccount(name="h", client_secrets="c", costs={"messages.send": 1})
    with pytest.raises(ValidationError, match="127.0.0.1"):
        GmailAccount(name="h", client_secrets="c", api_endpoint="http://gmail.example.com/")


# --- tokens ----------------------------------------------------------------------------------------


def test_a_refreshed_token_is_saved_private(fake_google: FakeGoogle, tmp_path: Path) -> None:
    config = account(tmp_path, fake_google)
    tokens = GoogleTokens(config)

    token = tokens.access_token()

    saved = json.loads(Path(config.token_path).read_text())
    assert saved["token"] == token and saved["refresh_token"] == "rt-good"
    assert stat.S_IMODE(os.stat(config.token_path).st_mode) == 0o600
    assert [p.name for p in Path(config.token_path).parent.iterdir()] == ["google-g.json"]  # no temp left


def test_an_exposed_token_file_is_refused(fake_google: FakeGoogle, tmp_path: Path) -> None:
    config = account(tmp_path, fake_google)
    os.chmod(config.token_path, 0o644)

    with pytest.raises(TokenFileError, match="chmod 600"):
        GmailConnector(config, CONTEXT).sync_mail(None)


def test_invalid_grant_pauses_the_account_without_looping(
    fake_google: FakeGoogle, tmp_path: Path,
) -> None:
    fake_google.refresh_tokens["rt-good"] = False
    conn = GmailConnector(account(tmp_path, fake_google), CONTEXT)
    before = fake_google.http_requests

    for _ in range(2):
        with pytest.raises(AuthRevoked, match="re-authorise with: circleback auth google g"):
            conn.sync_mail(None)

    assert fake_google.http_requests - before == 2  # one refresh attempt per sync, no retry storm
    assert fake_google.calls["getProfile"] == 0


def test_a_missing_token_says_how_to_sign_in(fake_google: FakeGoogle, tmp_path: Path) -> None:
    config = account(tmp_path, fake_google)
    Path(config.token_path).unlink()

    with pytest.raises(AuthRevoked, match="circleback auth google g"):
        GmailConnector(config, CONTEXT).sync_mail(None)


def test_a_token_endpoint_outage_is_not_a_revocation(fake_google: FakeGoogle, tmp_path: Path) -> None:
    fake_google.inject("token", "503", times=10)

    with pytest.raises(ConnectorError) as caught:
        GmailConnector(account(tmp_path, fake_google), CONTEXT).sync_mail(None)

    assert not isinstance(caught.value, AuthRevoked)


def test_an_expired_access_token_is_refreshed_once_and_the_call_replayed(
    fake_google: FakeGoogle, tmp_path: Path,
) -> None:
    fake_google.add_message(build_message(1), PERSONAL)
    conn = GmailConnector(account(tmp_path, fake_google), CONTEXT)
    cursor = conn.sync_mail(None).cursor
    fake_google.access_tokens.clear()  # Google revoked the access token early

    assert conn.sync_mail(cursor).records == []
    assert fake_google.access_tokens


# --- the limiter -----------------------------------------------------------------------------------


def test_the_limiter_spends_at_the_quota_rate() -> None:
    limiter = QuotaLimiter(60_000, project="t1")  # 1,000 units a second, 3,000 burst
    started = time.monotonic()
    for _ in range(20):
        limiter.acquire(250)  # 5,000 units: 3,000 at once, 2,000 at 1,000/s

    elapsed = time.monotonic() - started
    assert 1.8 <= elapsed <= 2.6
    assert limiter.spent == 5000


def test_accounts_of_one_oauth_client_share_the_project_quota() -> None:
    a = QuotaLimiter(10**9, project="shared", project_per_minute=60_000)
    b = QuotaLimiter(10**9, project="shared", project_per_minute=60_000)
    started = time.monotonic()
    a.acquire(3000)
    b.acquire(1000)  # the project bucket is empty after a: b waits a second

    assert time.monotonic() - started >= 0.9


# --- sign-in ---------------------------------------------------------------------------------------






def login_account(tmp_path: Path, fake: FakeGoogle) -> GmailAccount:
    return GmailAccount(name="g", client_secrets=str(client_secrets(tmp_path, fake)),
                        token_path=str(tmp_path / "tok" / "google-g.json"), token_uri=fake.token_uri)


def shown_state(shown: list[str]) -> str:
    while not any("auth?" in s for s in shown):
        time.sleep(0.01)
    url = next(s for s in shown if "auth?" in s).split()[-1]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]  # PKCE
    assert query["access_type"] == ["offline"]
    assert set(query["scope"][0].split()) == set(GMAIL_SCOPES)
    return query["state"][0]


def test_headless_login_with_a_pasted_redirect_url(fake_google: FakeGoogle, tmp_path: Path) -> None:
    shown: list[str] = []
    port = free_port()

    def pasted() -> Any:
        yield "not a url\n"
        yield f"http://localhost:{port}/?state={shown_state(shown)}&code=good-code&scope=x\n"

    creds = headless_login(installed_flow(login_account(tmp_path, fake_google)), port, shown.append, pasted())

    assert creds.refresh_token == "rt-good"  # the fake requires the PKCE verifier for this
    assert any(f"ssh -L {port}:localhost:{port} " in s for s in shown)
    assert any("no code=" in s for s in shown)


def test_headless_login_through_an_ssh_tunnel(fake_google: FakeGoogle, tmp_path: Path) -> None:
    shown: list[str] = []
    port = free_port()

    def browser() -> None:
        state = shown_state(shown)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/?state={state}&code=good-code", timeout=5).read()  # noqa: S310

    threading.Thread(target=browser, daemon=True).start()
    creds = headless_login(installed_flow(login_account(tmp_path, fake_google)), port, shown.append, iter(()))

    assert creds.refresh_token == "rt-good"


def test_the_auth_command_saves_a_private_token(fake_google: FakeGoogle, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    config = login_account(tmp_path, fake_google)
    port = free_port()
    real_flow = google_auth.installed_flow

    def fixed_state_flow(acc: Any) -> Any:
        flow = real_flow(acc)
        flow.oauth2session.state = "st8"
        return flow

    monkeypatch.setattr("circleback.daemon.cli.auth.installed_flow", fixed_state_flow)
    obj = cli_obj(tmp_path, config)
    pasted = f"http://localhost:{port}/?state=st8&code=good-code\n"

    out = CliRunner().invoke(auth, ["google", "g", "--no-browser", "--port", str(port)], input=pasted, obj=obj)

    assert out.exit_code == 0, out.output
    assert f"ssh -L {port}:localhost:{port}" in out.output
    assert stat.S_IMODE(os.stat(config.token_path).st_mode) == 0o600
    assert json.loads(Path(config.token_path).read_text())["refresh_token"] == "rt-good"
    assert not (obj.state_dir / "tokens").exists()  # the configured token_path wins over the state dir


def test_the_auth_command_refuses_other_kinds(tmp_path: Path) -> None:
    other = SimpleNamespace(kind="imap", name="work")

    out = CliRunner().invoke(auth, ["google", "work"], obj=cli_obj(tmp_path, other))

    assert out.exit_code != 0 and "not gmail or google_calendar" in out.output
