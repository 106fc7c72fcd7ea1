"""Passwords for IMAP and CalDAV accounts: never in the config file.

An account names one source (see ``accounts.py``'s ``PasswordSource``):
``password_command`` (run without a shell, first line of its output, as
``pass show mail/fastmail`` prints it), ``password_env`` (an environment
variable) or ``credential`` (a systemd credential, read from
``$CREDENTIALS_DIRECTORY`` as ``LoadCredential=`` provides it).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConnectorError

PASSWORD_COMMAND_TIMEOUT = 60  # seconds: a GPG agent may ask for a passphrase


def read_password(account: Any, environ: Mapping[str, str] | None = None) -> str | None:
    """The account's password from its configured source, or None when it names none."""
    env = os.environ if environ is None else environ
    if account.password_command:
        return _from_command(account.name, account.password_command)
    if account.password_env:
        value = env.get(account.password_env)
        if not value:
            raise ConnectorError(f"environment variable {account.password_env} is not set", account=account.name)
        return value
    if account.credential:
        return _from_credential(account.name, account.credential, env)
    return None


def _from_command(account: str, command: str) -> str:
    argv = shlex.split(command)
    try:
        done = subprocess.run(  # no shell: the command line is split, never interpreted
            argv, capture_output=True, text=True, timeout=PASSWORD_COMMAND_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConnectorError(f"password_command {argv[0]!r} failed: {exc}", account=account) from None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines or not lines[0]:
        raise ConnectorError(
            f"password_command {argv[0]!r} exited {done.returncode} without a password on its first line",
            account=account,
        )
    return lines[0]


def _from_credential(account: str, name: str, env: Mapping[str, str]) -> str:
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not folder:
        raise ConnectorError(
            f"credential {name!r} needs $CREDENTIALS_DIRECTORY (LoadCredential= in the systemd unit)", account=account,
        )
    try:
        return (Path(folder) / name).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ConnectorError(f"cannot read credential {name!r}: {exc.strerror}", account=account) from None
