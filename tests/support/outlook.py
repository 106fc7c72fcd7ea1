"""Outlook through the fake Graph: a connector pointed at it, and a delta page and cursor some tests share."""

from __future__ import annotations

from typing import Any

from circleback.connectors.base import ConnectorContext
from circleback.connectors.microsoft.auth import OutlookAccount
from circleback.connectors.microsoft.outlook import (
    OutlookConnector,
    StaticToken,
)
from tests.support.contract import CONTEXT, ME, NOW
from tests.support.fake_graph import TOKEN

CLIENT_ID = "00000000-0000-0000-0000-0000000000aa"


GRAPH = "https://graph.microsoft.com/v1.0"


def connector(endpoint: str, context: ConnectorContext = CONTEXT, sleeps: list[float] | None = None,
              **config: Any) -> OutlookConnector:
    account = OutlookAccount(name="work", client_id=CLIENT_ID, graph_endpoint=endpoint, **config)
    waits = sleeps if sleeps is not None else []
    return OutlookConnector(account, context, tokens=StaticToken(TOKEN), sleep=waits.append)


INBOX = "AAMkInbox="


CURSOR = {"v": 1, "listed_at": NOW.isoformat(), "me": [ME], "folders": {INBOX: {"name": "Inbox", "sent": False,
                                                                              "link": None}}}


DELTA_URL = f"{GRAPH}/me/mailFolders/AAMkInbox%3D/messages/delta"


PAGE = {"value": [{"id": "m1", "from": {"emailAddress": {"address": "ann@example.com"}},
                   "receivedDateTime": "2025-03-01T10:00:00Z", "internetMessageId": "<m1@x>"}],
        "@odata.deltaLink": f"{DELTA_URL}?$deltatoken=abc"}
