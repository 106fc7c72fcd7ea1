"""The explicit ``kind -> connector class`` table (STYLE.md #2).

Classes are named as ``"module:Class"`` strings and imported on first use, so
``circleback status`` never pays for a provider SDK it does not need.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import Connector, ConnectorContext

CONNECTORS: dict[str, str] = {
    "maildir": "circleback.connectors.maildir:MaildirConnector",
    "mbox": "circleback.connectors.mbox:MboxConnector",
    "ics": "circleback.connectors.ics:IcsConnector",
    "imap": "circleback.connectors.imap:ImapConnector",
    "caldav": "circleback.connectors.caldav:CalDavConnector",
    "outlook": "circleback.connectors.microsoft.outlook:OutlookConnector",
    "gmail": "circleback.connectors.google.gmail:GmailConnector",
    "google_calendar": "circleback.connectors.google.calendar:GoogleCalendarConnector",
}


def connector_class(kind: str) -> type[Connector]:
    try:
        target = CONNECTORS[kind]
    except KeyError:
        raise KeyError(f"no connector of kind {kind!r}; known: {', '.join(sorted(CONNECTORS))}") from None
    module, _, name = target.partition(":")
    cls = getattr(import_module(module), name)
    if cls.kind != kind:
        raise TypeError(f"{target} declares kind {cls.kind!r}, registered as {kind!r}")
    return cls


def open_connector(account: Any, context: ConnectorContext) -> Connector:  # noqa: D103
    """Build the connector for one ``[[accounts]]`` entry: ``Cls(config, context)``."""
    return connector_class(account.kind)(account, context)
