"""``circleback auth google|microsoft ACCOUNT``: sign in once per account; the daemon then
refreshes on its own.

Loaded by ``cli/root.py`` when ``auth`` is asked for. The work lives in
``connectors/google/auth.py`` (a browser or a pasted redirect URL) and
``connectors/microsoft/auth.py`` (MSAL's device code, which works over SSH); this module
only finds the account in the settings and wires the CLI to them (docs/STYLE.md #8).
"""

from __future__ import annotations

import difflib
import sys
from typing import Any

import click

from circleback.connectors.errors import ConnectorError
from circleback.connectors.google.auth import (
    DEFAULT_LOGIN_PORT,
    GoogleTokens,
    desktop_login,
    headless_login,
    installed_flow,
    scopes_for,
    token_path,
)
from circleback.connectors.microsoft.auth import SCOPES, MsalTokens, OutlookAccount, token_cache_path
from circleback.connectors.registry import MICROSOFT, kinds_where
from circleback.connectors.tokens import GOOGLE_KINDS

from ..errors import CirclebackError


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
    config = configured_account(obj, account, GOOGLE_KINDS, "Google")
    try:
        flow = installed_flow(config)
        creds = headless_login(flow, port, show=click.echo, lines=sys.stdin) if no_browser else desktop_login(flow)
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - oauthlib raises assorted types; one line for the user
        raise click.ClickException(f"{account}: Google sign-in failed: {exc}") from None
    tokens = GoogleTokens(config, path=token_path(config, obj.state_dir, sign_in=True))
    tokens.save(creds)
    click.echo(f"{account}: signed in; token saved to {tokens.path} (scopes: {', '.join(scopes_for(config))})")


def configured_account(obj: Any, name: str, kinds: tuple[str, ...], provider: str) -> Any:
    """The config's account ``name`` if it is of one of ``kinds``; else one sentence with the file and the choices."""
    try:
        settings = obj.settings()
    except CirclebackError as exc:
        failure = click.ClickException(str(exc))
        failure.exit_code = exc.exit_code  # 78 for a bad config, as every other command exits
        raise failure from None
    fitting = [a.name for a in settings.accounts if a.kind in kinds]
    choices = (f"{provider} accounts there: {', '.join(fitting)}" if fitting
               else f"it has no {provider} account (kind {' or '.join(kinds)})")
    try:
        account = settings.account(name)
    except KeyError:
        guess = difflib.get_close_matches(name, fitting or [a.name for a in settings.accounts], n=1)
        did_you_mean = f"; did you mean {guess[0]!r}?" if guess else ";"
        raise click.ClickException(f"no account named {name!r} in {obj.config_path}{did_you_mean} {choices}") from None
    if account.kind not in kinds:
        raise click.ClickException(f"account {name!r} in {obj.config_path} is of kind {account.kind!r}, "
                                   f"not {' or '.join(kinds)}; {choices}")
    return account


def _outlook_account(obj: Any, name: str) -> OutlookAccount:
    account = configured_account(obj, name, kinds_where(lambda kind: kind.provider == MICROSOFT), "Microsoft")
    if not isinstance(account, OutlookAccount):
        account = OutlookAccount.model_validate(account.model_dump())
    return account


@auth.command("microsoft")
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
