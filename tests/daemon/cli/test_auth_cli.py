"""`circleback auth google|microsoft NAME` with a name that is wrong: the file, the choices, a guess."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest
from click.testing import CliRunner

from circleback.daemon.cli.auth import auth, microsoft
from circleback.daemon.config import load_settings
from circleback.daemon.errors import ConfigError
from tests.support.cli import CONFIG, cli_obj


@pytest.fixture
def obj(tmp_path: Path) -> SimpleNamespace:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return SimpleNamespace(settings=lambda: load_settings(path), config_path=path, state_dir=tmp_path / "state")


def run_auth(obj: SimpleNamespace, *args: str) -> click.testing.Result:
    group = click.Group("auth", commands={**auth.commands, "microsoft": microsoft})
    return CliRunner().invoke(group, list(args), obj=obj)


def test_a_misspelt_google_account_names_the_file_the_google_accounts_and_a_guess(obj: SimpleNamespace) -> None:
    out = run_auth(obj, "google", "persnal")

    assert out.exit_code == 1 and "Traceback" not in out.output
    assert (f"no account named 'persnal' in {obj.config_path}; did you mean 'personal'? "
            "Google accounts there: personal, cal") in out.output


def test_a_misspelt_microsoft_account_names_the_file_the_microsoft_accounts_and_a_guess(
        obj: SimpleNamespace) -> None:
    out = run_auth(obj, "microsoft", "wrk")

    assert out.exit_code == 1
    assert (f"no account named 'wrk' in {obj.config_path}; did you mean 'work'? "
            "Microsoft accounts there: work") in out.output


def test_no_guess_when_nothing_is_close(obj: SimpleNamespace) -> None:
    out = run_auth(obj, "google", "zzzzzz")

    assert "did you mean" not in out.output
    assert f"no account named 'zzzzzz' in {obj.config_path}; Google accounts there: personal, cal" in out.output


def test_an_account_of_another_kind_says_which_accounts_would_do(obj: SimpleNamespace) -> None:
    out = run_auth(obj, "microsoft", "personal")

    assert out.exit_code == 1
    assert (f"account 'personal' in {obj.config_path} is of kind 'gmail', not outlook; "
            "Microsoft accounts there: work") in out.output


def test_a_config_without_such_accounts_says_so(tmp_path: Path) -> None:
    home = SimpleNamespace(name="home", kind="maildir")

    out = run_auth(cli_obj(tmp_path, home), "google", "home")

    assert "it has no Google account (kind gmail or google_calendar)" in out.output


def test_a_broken_config_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    def broken() -> Any:
        raise ConfigError(f"{tmp_path / 'config.toml'}: accounts.0.kind: 'gmial' is not a known kind")

    obj = SimpleNamespace(settings=broken, config_path=tmp_path / "config.toml", state_dir=tmp_path / "state")
    out = run_auth(obj, "google", "personal")

    assert out.exit_code == 78 and isinstance(out.exception, SystemExit)  # click's exit, not a crash
    assert "'gmial' is not a known kind" in out.output and "Traceback" not in out.output
