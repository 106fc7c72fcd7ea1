"""A config with sign-in accounts, and the click object the auth commands get."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

ME = """
[me]
name = "Me"
addresses = ["me@example.org"]
"""


CONFIG = ME + """
[[accounts]]
name = "personal"
kind = "gmail"
client_secrets = "client.json"

[[accounts]]
name = "cal"
kind = "google_calendar"
client_secrets = "client.json"

[[accounts]]
name = "work"
kind = "outlook"
client_id = "00000000-0000-0000-0000-000000000001"

[[accounts]]
name = "home"
kind = "maildir"
path = "Mail"
"""


def cli_obj(tmp_path: Path, *accounts: Any) -> SimpleNamespace:
    """What the auth commands read from the CLI's context object (daemon/cli.py, ``Context``)."""
    by_name = {a.name: a for a in accounts}

    def account(name: str) -> Any:
        return by_name[name]  # KeyError, as Settings.account raises

    settings = SimpleNamespace(accounts=list(accounts), account=account)
    return SimpleNamespace(settings=lambda: settings, config_path=tmp_path / "config.toml", config_given=True,
                           state_dir=tmp_path / "state")
