"""Microsoft sign-in: the real MSAL against a `responses`-mocked login.microsoftonline.com."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import time
from pathlib import Path
from urllib.parse import parse_qs

import click
import pytest
import responses
from click.testing import CliRunner
from pydantic import ValidationError

from circleback.connectors.errors import AuthRevoked, ConnectorError, TokenFileError
from circleback.connectors.microsoft.auth import SCOPES, MsalTokens, OutlookAccount, token_cache_path
from circleback.daemon.cli.auth import microsoft
from tests.support.cli import cli_obj

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "99999999-8888-7777-6666-555555555555"
LOGIN = "https://login.microsoftonline.com/organizations"
TOKEN_URL = f"{LOGIN}/oauth2/v2.0/token"
DEVICE_URL = f"{LOGIN}/oauth2/v2.0/devicecode"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def token_response(n: int) -> dict:
    now = int(time.time())
    claims = {
        "iss": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0", "aud": CLIENT_ID, "sub": "subject",
        "oid": "object-id", "tid": TENANT_ID, "preferred_username": "me@example.org", "iat": now,
        "nbf": now, "exp": now + 3600,
    }
    return {
        "token_type": "Bearer", "scope": " ".join(SCOPES), "expires_in": 3600, "ext_expires_in": 3600,
        "access_token": f"access-{n}", "refresh_token": f"refresh-{n}",
        "id_token": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.sig",
        "client_info": _b64({"uid": "object-id", "utid": TENANT_ID}),
    }


@pytest.fixture
def login() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{LOGIN}/v2.0/.well-known/openid-configuration", json={
            "authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize",
            "token_endpoint": TOKEN_URL,
            "device_authorization_endpoint": DEVICE_URL,
            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
        })
        # MSAL looks up the host's aliases before it gives up on cached tokens.
        mock.get(re.compile(r"https://login\.microsoftonline\.com/common/discovery/instance.*"), json={
            "tenant_discovery_endpoint": f"{LOGIN}/v2.0/.well-known/openid-configuration",
            "metadata": [{"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
                          "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com"]}],
        })
        mock.post(DEVICE_URL, json={
            "device_code": "dev-code", "user_code": "ABCD-EFGH", "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900, "interval": 0,
            "message": "To sign in, use a web browser to open https://microsoft.com/devicelogin and enter ABCD-EFGH.",
        })
        yield mock


@pytest.fixture
def account(tmp_path: Path) -> OutlookAccount:
    return OutlookAccount(name="work", client_id=CLIENT_ID, token_cache=str(tmp_path / "tokens" / "ms.json"))


def form(call: responses.Call) -> dict[str, list[str]]:
    body = call.request.body
    return parse_qs(body if isinstance(body, str) else body.decode())


def signed_in(account: OutlookAccount, login: responses.RequestsMock) -> MsalTokens:
    login.post(TOKEN_URL, json=token_response(1))
    tokens = MsalTokens(account)
    shown: list[str] = []
    assert tokens.device_login(shown.append) == "me@example.org"
    assert shown and "ABCD-EFGH" in shown[0]
    return tokens


def test_device_flow_asks_for_exactly_our_scopes_and_never_mail_send(account, login) -> None:
    signed_in(account, login)

    device_calls = [c for c in login.calls if c.request.url.startswith(DEVICE_URL)]
    scopes = set(form(device_calls[0])["scope"][0].split())
    assert scopes - {"offline_access", "openid", "profile"} == {"Mail.ReadWrite", "Calendars.Read", "User.Read"}
    assert not any("send" in s.lower() for s in scopes)
    assert SCOPES == ("Mail.ReadWrite", "Calendars.Read", "User.Read")


def test_sign_in_writes_the_cache_0600(account, login) -> None:
    signed_in(account, login)

    path = Path(account.token_cache or "")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "refresh-1" in path.read_text()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_silent_token_comes_from_the_cache_without_a_request(account, login) -> None:
    signed_in(account, login)
    before = [c for c in login.calls if c.request.url == TOKEN_URL]

    assert MsalTokens(account).access_token() == "access-1"  # a new process: read from disk
    assert [c for c in login.calls if c.request.url == TOKEN_URL] == before


def test_every_refresh_rotates_and_writes_the_new_refresh_token(account, login) -> None:
    signed_in(account, login)
    login.replace(responses.POST, TOKEN_URL, json=token_response(2))
    tokens = MsalTokens(account)

    assert tokens.access_token(force_refresh=True) == "access-2"

    refresh = [form(c) for c in login.calls if c.request.url == TOKEN_URL][-1]
    assert refresh["grant_type"] == ["refresh_token"] and refresh["refresh_token"] == ["refresh-1"]
    text = Path(account.token_cache or "").read_text()
    assert "refresh-2" in text and "refresh-1" not in text


@pytest.mark.parametrize(
    ("error", "description"),
    [
        ("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired."),
        ("invalid_grant", "AADSTS50173: The provided grant has expired due to it being revoked."),
        ("interaction_required", "AADSTS65001: The user or administrator has not consented to use the application."),
    ],
)
def test_a_refused_refresh_says_how_to_reauthorise(account, login, error: str, description: str) -> None:
    signed_in(account, login)
    login.replace(responses.POST, TOKEN_URL, status=400, json={"error": error, "error_description": description})

    with pytest.raises(AuthRevoked, match="re-authorise with: circleback auth microsoft work") as caught:
        MsalTokens(account).access_token(force_refresh=True)
    assert description.split(":")[0] in str(caught.value)


def test_a_login_server_outage_is_not_a_revocation(account, login) -> None:
    signed_in(account, login)
    login.replace(responses.POST, TOKEN_URL, status=503,
                  json={"error": "temporarily_unavailable", "error_description": "AADSTS90033: try later"})

    with pytest.raises(ConnectorError) as caught:
        MsalTokens(account).access_token(force_refresh=True)
    assert not isinstance(caught.value, AuthRevoked)


def test_never_signed_in_is_auth_revoked(account, login) -> None:
    with pytest.raises(AuthRevoked, match="circleback auth microsoft work"):
        MsalTokens(account).access_token()


def test_an_exposed_cache_file_is_refused(account, login) -> None:
    signed_in(account, login)
    os.chmod(account.token_cache or "", 0o644)

    with pytest.raises(TokenFileError, match="chmod 600"):
        MsalTokens(account).access_token()


def test_public_client_flows_off_is_explained(account, login) -> None:
    login.replace(responses.POST, DEVICE_URL, status=400, json={
        "error": "invalid_client",
        "error_description": "AADSTS7000218: The request body must contain the following parameter: client_assertion",
    })

    with pytest.raises(ConnectorError, match="Allow public client flows"):
        MsalTokens(account).device_login(print)


# --- the config model ----------------------------------------------------------------------------


def test_config_model_defaults_and_forbids_unknown_keys() -> None:
    acct = OutlookAccount.model_validate({"kind": "outlook", "name": "work", "client_id": CLIENT_ID})
    assert acct.authority_url == "https://login.microsoftonline.com/organizations"
    assert acct.graph_endpoint == "https://graph.microsoft.com/v1.0"
    assert set(acct.skip_folders) == {"junkemail", "deleteditems", "drafts", "outbox"}
    assert token_cache_path(acct).name == "microsoft-work.json"
    assert token_cache_path(acct).parent.name == "tokens"
    with pytest.raises(ValidationError, match="extra"):
        OutlookAccount.model_validate({"kind": "outlook", "name": "w", "client_id": CLIENT_ID, "scopes": ["Mail.Send"]})


@pytest.mark.parametrize(
    ("key", "value"),
    [("client_id", "not-a-guid"), ("graph_endpoint", "http://graph.example.com/v1.0"), ("authority", "a b"),
     ("page_size", 0)],
)
def test_config_model_names_the_bad_value(key: str, value: object) -> None:
    with pytest.raises(ValidationError, match=key):
        OutlookAccount.model_validate({"kind": "outlook", "name": "w", "client_id": CLIENT_ID, key: value})


def test_consumers_and_loopback_endpoint_are_accepted() -> None:
    acct = OutlookAccount(name="home", client_id=CLIENT_ID, authority="consumers",
                          graph_endpoint="http://127.0.0.1:8080/v1.0", calendar_lookahead="30d")
    assert acct.authority_url.endswith("/consumers")
    assert acct.lookahead is not None and acct.lookahead.days == 30


# --- the command ---------------------------------------------------------------------------------


def test_auth_command_prints_the_device_message_and_saves(account, login, tmp_path: Path) -> None:
    login.post(TOKEN_URL, json=token_response(1))
    obj = cli_obj(tmp_path, account)
    group = click.Group("auth", commands={"microsoft": microsoft})

    out = CliRunner().invoke(group, ["microsoft", "work"], obj=obj)

    assert out.exit_code == 0, out.output
    assert "ABCD-EFGH" in out.output and "never Mail.Send" in out.output
    assert "Signed in as me@example.org" in out.output
    assert Path(account.token_cache or "").exists()


def test_auth_with_a_state_dir_writes_there_and_the_connector_side_reads_it(login, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))  # the old default location: kept empty
    login.post(TOKEN_URL, json=token_response(1))
    account = OutlookAccount(name="work", client_id=CLIENT_ID)  # no token_cache: the state dir decides
    obj = cli_obj(tmp_path, account)

    out = CliRunner().invoke(click.Group("auth", commands={"microsoft": microsoft}), ["microsoft", "work"], obj=obj)

    assert out.exit_code == 0, out.output
    cache = obj.state_dir / "tokens" / "microsoft-work.json"
    assert f"tokens saved to {cache}" in out.output and stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert not (tmp_path / "xdg").exists()
    refreshes = [c for c in login.calls if c.request.url == TOKEN_URL]
    assert MsalTokens(account, state_dir=obj.state_dir).access_token() == "access-1"  # from the file, no refresh
    assert [c for c in login.calls if c.request.url == TOKEN_URL] == refreshes
