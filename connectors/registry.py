"""The one table of account kinds (docs/STYLE.md #2): what each ``kind = "..."`` is and does.

Per kind: its ``[[accounts]]`` model (``accounts.py``), its connector class, the roles it
plays and whose sign-in it needs. Every other list of kinds is derived from :data:`KINDS`:
the config's ``ACCOUNT_KINDS``, ``GOOGLE_KINDS`` in ``tokens.py``, the kinds ``doctor``
checks on disk or for a token. A new connector is a model in ``accounts.py`` (and in its
``AccountConfig`` union), a class, and a row here; ``tests/test_registry.py`` checks that
the three agree and runs the class through the contract of every role its row declares.

Classes are named as ``"module:Class"`` strings and imported on first use, so
``circleback status`` never pays for a provider SDK it does not need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from .accounts import (
    Account,
    CalDavAccount,
    GmailAccount,
    GoogleCalendarAccount,
    IcsAccount,
    ImapAccount,
    LocalAccount,
    MaildirAccount,
    MboxAccount,
    OutlookAccount,
)
from .base import CALENDAR, DRAFTS, MAIL, Connector, ConnectorContext

GOOGLE, MICROSOFT = "google", "microsoft"  # `circleback auth google|microsoft ACCOUNT`


@dataclass(frozen=True, slots=True)
class Kind:
    name: str  # kind = "..." in an [[accounts]] table
    account: type[Account]  # that table's model
    connector: str  # "module:Class", imported on first use
    roles: frozenset[str]  # MAIL, CALENDAR, DRAFTS: the protocols in base.py the class implements
    provider: str = ""  # whose sign-in and token file it uses: GOOGLE, MICROSOFT, or "" (a path or a password)

    @property
    def signs_in(self) -> bool:
        """It needs ``circleback auth <provider>`` once before it can sync."""
        return bool(self.provider)

    @property
    def on_disk(self) -> bool:
        """It reads a path on this machine (and writes there, if it holds drafts)."""
        return issubclass(self.account, LocalAccount)


# In the order the config's error messages list them.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("maildir", MaildirAccount, "circleback.connectors.maildir:MaildirConnector", frozenset({MAIL, DRAFTS})),
        Kind("mbox", MboxAccount, "circleback.connectors.mbox:MboxConnector", frozenset({MAIL})),
        Kind("ics", IcsAccount, "circleback.connectors.ics:IcsConnector", frozenset({CALENDAR})),
        Kind("imap", ImapAccount, "circleback.connectors.imap:ImapConnector", frozenset({MAIL, DRAFTS})),
        Kind("caldav", CalDavAccount, "circleback.connectors.caldav:CalDavConnector", frozenset({CALENDAR})),
        Kind("outlook", OutlookAccount, "circleback.connectors.microsoft.outlook:OutlookConnector",
             frozenset({MAIL, CALENDAR, DRAFTS}), provider=MICROSOFT),
        Kind("gmail", GmailAccount, "circleback.connectors.google.gmail:GmailConnector",
             frozenset({MAIL, DRAFTS}), provider=GOOGLE),
        Kind("google_calendar", GoogleCalendarAccount, "circleback.connectors.google.calendar:GoogleCalendarConnector",
             frozenset({CALENDAR}), provider=GOOGLE),
    )
}

ACCOUNT_KINDS: tuple[str, ...] = tuple(KINDS)


def kinds_where(test: Callable[[Kind], bool]) -> tuple[str, ...]:
    """The names of the kinds that pass ``test``, in table order."""
    return tuple(name for name, kind in KINDS.items() if test(kind))


def connector_class(kind: str) -> type[Connector]:
    try:
        target = KINDS[kind].connector
    except KeyError:
        raise KeyError(f"no connector of kind {kind!r}; known: {', '.join(sorted(KINDS))}") from None
    module, _, name = target.partition(":")
    cls = getattr(import_module(module), name)
    if cls.kind != kind:
        raise TypeError(f"{target} declares kind {cls.kind!r}, registered as {kind!r}")
    return cls


def open_connector(account: Any, context: ConnectorContext) -> Connector:  # noqa: D103
    """Build the connector for one ``[[accounts]]`` entry: ``Cls(config, context)``."""
    return connector_class(account.kind)(account, context)
