"""Microsoft sign-in for the Outlook connector: MSAL device code, then silent refresh.

``circleback auth microsoft ACCOUNT`` runs the device-code flow once
(``initiate_device_flow`` -> show ``flow["message"]`` -> ``acquire_token_by_device_flow``);
every later sync calls ``acquire_token_silent_with_error``. The refresh token
rotates on every use (docs/PROVIDERS.md, MSAL), so the serialised cache is written
whenever MSAL says it changed - atomically and 0600 through ``tokens.py`` -
or the next start would present a refresh token the service already retired.

The scopes are exactly :data:`SCOPES`. ``Mail.Send`` is never requested: drafts
need only ``Mail.ReadWrite`` (docs/PROVIDERS.md, Microsoft Graph), and the HTTP layer
refuses send paths anyway. MSAL adds ``offline_access``, ``openid`` and
``profile`` itself.

:class:`OutlookAccount` is the account's config model (``accounts.py``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from msal.exceptions import MsalError

from ..accounts import OutlookAccount
from ..errors import AuthRevoked, ConnectorError
from ..registry import MICROSOFT
from ..tokens import read_private, token_file, write_private

log = logging.getLogger(__name__)

# Delegated permissions, least privilege that still writes drafts. Never Mail.Send.
SCOPES: tuple[str, ...] = ("Mail.ReadWrite", "Calendars.Read", "User.Read")
MSAL_TIMEOUT = 30  # seconds per token-endpoint call; a hung login server must not hang a cycle

# OAuth error codes (RFC 6749 5.2 and AADSTS) that mean "try again later", not "revoked".
_TRANSIENT_OAUTH = frozenset({"temporarily_unavailable", "server_error"})


def token_cache_path(account: OutlookAccount, state_dir: Path | None = None, *, sign_in: bool = False) -> Path:
    """The configured ``token_cache``, else ``<state_dir>/tokens/microsoft-<name>.json`` (``tokens.token_file``)."""
    if account.token_cache:
        return Path(account.token_cache).expanduser()
    return token_file("microsoft", account.name, state_dir, sign_in=sign_in)


AppFactory = Callable[..., Any]


def _default_app(client_id: str, authority: str, token_cache: Any) -> Any:
    import msal

    return msal.PublicClientApplication(client_id, authority=authority, token_cache=token_cache, timeout=MSAL_TIMEOUT)


class MsalTokens:
    """Access tokens for one account; the cache file follows every change MSAL makes."""

    def __init__(self, account: OutlookAccount, *, path: Path | None = None, state_dir: Path | None = None,
                 app_factory: AppFactory = _default_app) -> None:
        self.account = account
        self.path = path or token_cache_path(account, state_dir)
        self._app_factory = app_factory
        self._lock = threading.Lock()  # one refresh at a time: a rotated RT must not be used twice
        self._cache: Any = None
        self._app: Any = None

    def _application(self) -> Any:
        if self._app is None:
            import msal

            self._cache = msal.SerializableTokenCache()
            raw = read_private(self.path)
            if raw:
                self._cache.deserialize(raw.decode("utf-8"))
            self._app = self._app_factory(self.account.client_id, self.account.authority_url, self._cache)
        return self._app

    def _persist(self) -> None:
        if self._cache is not None and self._cache.has_state_changed:
            write_private(self.path, self._cache.serialize().encode("utf-8"))
            self._cache.has_state_changed = False
            log.debug("%s: token cache written to %s", self.account.name, self.path)

    def access_token(self, *, force_refresh: bool = False) -> str:
        """A valid access token, refreshed silently; AuthRevoked when only the user can fix it."""
        with self._lock:
            # Never signed in: building the app would go to the network first. Checked until the
            # app is built, not on every Graph request; MSAL's cache in memory holds from then on.
            if self._app is None and not self.path.exists():
                raise self._sign_in_again(f"no Microsoft sign-in saved at {self.path}", remedy="authorise")
            app = self._application()
            accounts = app.get_accounts()
            if not accounts:
                raise self._sign_in_again("not signed in to Microsoft")
            try:
                result = app.acquire_token_silent_with_error(
                    list(SCOPES), account=accounts[0], force_refresh=force_refresh
                )
            except (MsalError, requests.RequestException) as exc:
                # A 5xx from the login server or no network: transient, the refresh token still holds.
                raise ConnectorError(f"Microsoft sign-in is unreachable ({exc})", account=self.account.name,
                                     remedy="will retry") from None
            finally:
                self._persist()  # even a failed refresh may have changed the cache
            return self._token_from(result)

    def _token_from(self, result: dict[str, Any] | None) -> str:
        if result and "access_token" in result:
            return str(result["access_token"])
        if not result:  # MSAL found no refresh token for these scopes
            raise self._sign_in_again("no usable Microsoft sign-in")
        error = str(result.get("error", "unknown_error"))
        detail = str(result.get("error_description", "")).splitlines()[0:1]
        said = f"{error}: {detail[0]}" if detail else error
        if error in _TRANSIENT_OAUTH:
            raise ConnectorError(f"Microsoft sign-in is unavailable ({said})", account=self.account.name,
                                 remedy="will retry")
        # invalid_grant (revoked, expired, password changed), interaction_required (consent
        # withdrawn, MFA), invalid_client (app registration changed): only the user can fix these.
        raise self._sign_in_again(f"Microsoft sign-in no longer works ({said})")

    def _sign_in_again(self, message: str, *, remedy: str = "re-authorise") -> AuthRevoked:
        """Only the user can fix it, with ``circleback auth microsoft ACCOUNT``."""
        return AuthRevoked(message, account=self.account.name, provider=MICROSOFT, remedy=remedy)

    def device_login(self, show: Callable[[str], None]) -> str:
        """Run the device-code flow; return the signed-in username. ``show`` gets MSAL's instructions."""
        with self._lock:
            app = self._application()
            flow = app.initiate_device_flow(scopes=list(SCOPES))
            if "user_code" not in flow:
                raise ConnectorError(f"cannot start Microsoft sign-in: {_oauth_error(flow)}", account=self.account.name)
            show(str(flow["message"]))
            try:
                result = app.acquire_token_by_device_flow(flow)
            finally:
                self._persist()
            if "access_token" not in result:
                raise ConnectorError(f"Microsoft sign-in failed: {_oauth_error(result)}", account=self.account.name)
            claims = result.get("id_token_claims") or {}
            return str(claims.get("preferred_username") or claims.get("email") or "")


def _oauth_error(result: dict[str, Any]) -> str:
    text = f"{result.get('error', 'unknown_error')}: {result.get('error_description', '')}".strip()
    # AADSTS7000218: the app registration does not allow public client flows.
    if "AADSTS7000218" in text:
        text += ' (turn on "Allow public client flows" in the app registration\'s Authentication page)'
    return text.splitlines()[0]


def cache_json(path: Path) -> dict[str, Any]:
    """The decoded cache file (tests and ``status`` use it; never log it)."""
    raw = read_private(path)
    return json.loads(raw) if raw else {}
