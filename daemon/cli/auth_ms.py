"""``circleback auth microsoft ACCOUNT``: sign in to Microsoft once, by device code.

A thin command (STYLE.md #8): it finds the account in the settings and hands it
to :class:`circleback.connectors.ms_auth.MsalTokens`, which runs MSAL's
device-code flow and writes the token cache (0600, atomically). Register it
with ``auth.add_command(microsoft)``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from circleback.connectors.errors import ConnectorError
from circleback.connectors.microsoft.auth import SCOPES, MsalTokens, OutlookAccount, token_cache_path

from .auth import configured_account


def _outlook_account(obj: Any, name: str) -> OutlookAccount:
    account = configured_account(obj, name, ("outlook",), "Microsoft")
    if not isinstance(account, OutlookAccount):
        account = OutlookAccount.model_validate(account.model_dump())
    return account


@click.command("microsoft")
@click.argument("account")
@click.pass_obj
def microsoft(obj: Any, account: str) -> None:
    """Sign in to Microsoft 365 / Outlook.com for ACCOUNT (device code: works over SSH).

    circleback asks only for Mail.ReadWrite, Calendars.Read and User.Read - never
    Mail.Send. The token cache is written 0600 to the state directory.

    \b
    Example:
      circleback auth microsoft work
    """
    config = _outlook_account(obj, account)
    tokens = MsalTokens(config, path=token_cache_path(config, obj.state_dir, sign_in=True))
    click.echo(f"Permissions requested: {', '.join(SCOPES)} (never Mail.Send)", err=True)
    try:
        username = tokens.device_login(lambda text: click.echo(text, err=True))
    except ConnectorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    who = f" as {username}" if username else ""
    click.echo(f"Signed in{who}; tokens saved to {tokens.path}")
