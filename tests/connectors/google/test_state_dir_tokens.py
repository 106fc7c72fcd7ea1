"""OAuth tokens live in ``<state dir>/tokens``: ``auth``, ``run`` and ``doctor`` agree on the file.

The old default (the user's platformdirs state dir) is pointed at a temp folder through
XDG_STATE_HOME in every test, so nothing here reads or writes the real home directory.
"""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from circleback.connectors.google import auth as google_auth
from circleback.connectors.google.auth import GmailAccount, token_path
from circleback.connectors.microsoft.auth import OutlookAccount, token_cache_path
from circleback.connectors.tokens import token_file, write_private
from circleback.daemon.app import doctor, session
from circleback.daemon.cli import auth as auth_cli
from circleback.daemon.cli import main
from circleback.daemon.config import load_settings
from tests.support.cli import ME
from tests.support.fake_google import FakeGoogle
from tests.support.google import client_secrets, free_port

TOKEN_LOG = "circleback.connectors.tokens"


@pytest.fixture(autouse=True)
def old_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where tokens went before the state dir held them (platformdirs follows XDG_STATE_HOME)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake's endpoints are plain http on loopback
    return tmp_path / "xdg" / "circleback" / "tokens"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def saved_token(path: Path) -> Path:
    info = {"refresh_token": "rt-good", "client_id": "cid.apps.googleusercontent.com", "client_secret": "cs"}
    write_private(path, json.dumps(info).encode())
    return path


# --- where the file is ------------------------------------------------------------------------------


def test_the_state_dir_decides_and_a_configured_path_still_wins(state: Path, old_default: Path,
                                                                 tmp_path: Path) -> None:
    gmail = GmailAccount(name="home", client_secrets="c.json")
    outlook = OutlookAccount(name="work", client_id="00000000-0000-0000-0000-000000000001")

    assert token_path(gmail, state) == state / "tokens" / "google-home.json"
    assert token_cache_path(outlook, state) == state / "tokens" / "microsoft-work.json"
    assert token_path(gmail) == old_default / "google-home.json"  # no state dir given: as before
    mine = tmp_path / "elsewhere" / "t.json"
    assert token_path(gmail.model_copy(update={"token_path": str(mine)}), state) == mine
    assert token_cache_path(outlook.model_copy(update={"token_cache": str(mine)}), state) == mine


def test_a_token_only_at_the_old_place_is_used_there_and_said_once(state: Path, old_default: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    old = saved_token(old_default / "google-home.json")
    caplog.set_level(logging.INFO, logger=TOKEN_LOG)

    assert token_file("google", "home", state) == old
    assert token_file("google", "home", state) == old

    said = [r.getMessage() for r in caplog.records if r.name == TOKEN_LOG]
    assert len(said) == 1 and str(old) in said[0] and str(state / "tokens" / "google-home.json") in said[0]
    assert old.exists()  # used where it is, never moved behind the user's back
    assert token_file("google", "home", state, sign_in=True) == state / "tokens" / "google-home.json"


def test_a_token_in_the_state_dir_beats_the_old_one(state: Path, old_default: Path) -> None:
    saved_token(old_default / "google-home.json")
    new = saved_token(state / "tokens" / "google-home.json")

    assert token_file("google", "home", state) == new


# --- auth, run and doctor agree ---------------------------------------------------------------------------


def write_config(tmp_path: Path, fake: FakeGoogle) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(ME + f"""
[[accounts]]
name = "personal"
kind = "gmail"
client_secrets = "{client_secrets(tmp_path, fake)}"
api_endpoint = "{fake.url}"
token_uri = "{fake.token_uri}"
""")
    return path


def sign_in(config: Path, state: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    real_flow = google_auth.installed_flow

    def fixed_state_flow(account: Any) -> Any:
        flow = real_flow(account)
        flow.oauth2session.state = "st8"
        return flow

    monkeypatch.setattr(auth_cli, "installed_flow", fixed_state_flow)
    port = free_port()
    pasted = f"http://localhost:{port}/?state=st8&code=good-code\n"
    args = ["--config", str(config), "--state-dir", str(state), "auth", "google", "personal",
            "--no-browser", "--port", str(port)]
    return CliRunner().invoke(main, args, input=pasted)


def token_check(config: Path, state: Path, home: Path) -> doctor.Check:
    checks = doctor.run_checks(config, state, home=home)
    return next(c for c in checks if c.name == "token personal")


def test_auth_with_a_state_dir_is_what_run_and_doctor_find(fake_google: FakeGoogle, tmp_path: Path, state: Path,
                                                           old_default: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path, fake_google)
    before = token_check(config, state, tmp_path)
    assert before.failed and before.fix == f"circleback --config {config} --state-dir {state} auth google personal"

    out = sign_in(config, state, monkeypatch)

    assert out.exit_code == 0, out.output
    token = state / "tokens" / "google-personal.json"
    assert f"token saved to {token}" in out.output
    assert stat.S_IMODE(state.stat().st_mode) == 0o700  # auth may be the first to create the state dir
    assert not old_default.exists()
    checks = doctor.run_checks(config, state, home=tmp_path)
    assert [c for c in checks if c.failed] == []
    assert next(c for c in checks if c.name == "token personal").detail == str(token)
    connector = session.open_connectors(load_settings(config), state_dir=state)["personal"]
    try:
        assert connector.tokens.path == token
        assert connector.tokens.access_token()  # refreshed with the refresh token auth saved
    finally:
        connector.close()


def test_an_old_token_keeps_working_and_doctor_says_where_to_move_it(fake_google: FakeGoogle, tmp_path: Path,
                                                                     state: Path, old_default: Path) -> None:
    config = write_config(tmp_path, fake_google)
    old = saved_token(old_default / "google-personal.json")

    connector = session.open_connectors(load_settings(config), state_dir=state)["personal"]
    try:
        assert connector.tokens.path == old and connector.tokens.access_token()
    finally:
        connector.close()
    check = token_check(config, state, tmp_path)
    assert check.outcome == doctor.HINT and not check.failed
    assert check.fix == f"mv {old} {state / 'tokens' / 'google-personal.json'}"


def test_opening_connectors_needs_the_state_dir_said_out_loud(tmp_path: Path, fake_google: FakeGoogle) -> None:
    settings = load_settings(write_config(tmp_path, fake_google))
    with pytest.raises(TypeError, match="state_dir"):  # no quiet fall-back to the pre-state-dir token folder
        session.open_connectors(settings)
