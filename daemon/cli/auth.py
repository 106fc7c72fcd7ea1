"""``circleback auth``: sign in once per account; the daemon then refreshes on its own.

Registered by ``daemon/cli.py`` with ``main.add_command(auth)``. The work lives in
``connectors/google_auth.py``; this module only wires the CLI to it.
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
