"""circleback's one exception family (docs/STYLE.md #7): its root, and what connectors raise.

The root lives here, not in the daemon, because connectors never import the daemon; the
daemon's own errors (``daemon/errors.py``) subclass it. An error carries, where they
apply, the ``account`` it happened to, the ``provider`` whose sign-in fixes it and a
``remedy`` that says what to do, so that a caller words its own line from the fields
(without the account's name when it prints the name itself; with the sign-in command as
the user runs it) and never by picking the message apart.
"""

from __future__ import annotations


class CirclebackError(Exception):
    """Something the user must act on, in a sentence: ``account: message; remedy``.

    ``provider`` is set when signing in again is the fix: the remedy then ends with the
    command that does it, ``<remedy> with: circleback auth PROVIDER ACCOUNT``.
    """

    exit_code = 1

    def __init__(self, message: str = "", *, account: str | None = None, provider: str | None = None,
                 remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.account = account
        self.provider = provider
        self.remedy = remedy

    @property
    def sign_in(self) -> tuple[str, str] | None:
        """``(provider, account)`` when ``circleback auth PROVIDER ACCOUNT`` is the fix."""
        return (self.provider, self.account) if self.provider and self.account else None

    def reason(self, sign_in_command: str | None = None) -> str:
        """What went wrong and what to do, without the account's name.

        ``sign_in_command`` is the command that signs in again as the caller would suggest it
        (with its ``--config`` and ``--state-dir``); by default the bare ``circleback auth …``.
        """
        if not self.remedy:
            return self.message
        if self.sign_in is None:
            return f"{self.message}; {self.remedy}"
        provider, account = self.sign_in
        command = sign_in_command or f"circleback auth {provider} {account}"
        return f"{self.message}; {self.remedy} with: {command}"

    def __str__(self) -> str:
        return f"{self.account}: {self.reason()}" if self.account else self.reason()


class ConnectorError(CirclebackError):
    """A connector could not do what was asked; the message says what to do."""


class AccountConfigError(ConnectorError):
    """The account cannot work as configured (a server certificate that does not verify):
    the user must change the config or the server; retrying, now or later, cannot help."""

    exit_code = 78  # EX_CONFIG, as the daemon's ConfigError: in the unit's RestartPreventExitStatus=


class CertificateRefused(AccountConfigError):
    """The server's TLS certificate did not verify (unknown CA, self-signed, wrong host name, expired)."""


class AuthRevoked(ConnectorError):
    """The account's credential no longer works: the user must re-authorise."""


class SendRefused(ConnectorError):
    """Something tried to reach a send endpoint. circleback never sends."""


class TokenFileError(ConnectorError):
    """A token file is missing, exposed or unreadable; the message says what to do."""
