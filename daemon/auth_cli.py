"""``circleback auth``: sign in once per account; the daemon then refreshes on its own.

Registered by ``daemon/cli.py`` with ``main.add_command(auth)``. The work lives in
``connectors/google_auth.py``; this module only wires the CLI to it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from circleback.connectors.base import ConnectorError
from circleback.connectors.google_auth import (
    DEFAULT_LOGIN_PORT,
    GmailAccount,
    GoogleCalendarAccount,
    GoogleTokens,
    desktop_login,
    headless_login,
    installed_flow,
    scopes_for,
)


@click.group("auth")
def auth() -> None:
    """Sign in to a provider account (once; tokens are kept 0600 in the state directory)."""


@auth.command("google")
@click.argument("account")
@click.option("--no-browser", is_flag=True,
              help="Headless box: print the URL and an ssh -L line, or accept the pasted redirect URL.")
@click.option("--port", type=click.IntRange(1024, 65535), default=DEFAULT_LOGIN_PORT, show_default=True,
              help="Loopback port for --no-browser (the ssh -L line forwards it).")
@click.pass_obj
def google(obj: Any, account: str, no_browser: bool, port: int) -> None:
    """Authorise the gmail or google_calendar ACCOUNT named in the config.

    \b
    Examples:
      circleback auth google personal               # a browser opens here
      circleback auth google personal --no-browser  # on a server over ssh
    """
    config = _google_account(obj, account)
    try:
        flow = installed_flow(config)
        creds = headless_login(flow, port, show=click.echo, lines=sys.stdin) if no_browser else desktop_login(flow)
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - oauthlib raises assorted types; one line for the user
        raise click.ClickException(f"{account}: Google sign-in failed: {exc}") from None
    tokens = GoogleTokens(config)
    tokens.save(creds)
    click.echo(f"{account}: signed in; token saved to {tokens.path} (scopes: {', '.join(scopes_for(config))})")


def _google_account(obj: Any, name: str) -> GmailAccount | GoogleCalendarAccount:
    try:
        config = obj.settings().account(name)
    except KeyError:
        raise click.ClickException(f"no account named {name!r} in the config") from None
    if not isinstance(config, GmailAccount | GoogleCalendarAccount) and getattr(config, "kind", "") not in (
        "gmail", "google_calendar"
    ):
        raise click.ClickException(f"account {name!r} is of kind {config.kind!r}, not gmail or google_calendar")
    return config
