"""A mailbox on the private Dovecot, seen through the IMAP connector, directly or through a proxy
that can cut the line."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from imapclient import IMAPClient
from tenacity import wait_none

from circleback.connectors.base import (
    ConnectorContext,
)
from circleback.connectors.imap import (
    ImapAccount,
    ImapConnector,
)
from tests.support.contract import (
    CONTEXT,
    build_message,
)
from tests.support.servers import DovecotServer, TcpProxy

PASSWORD_ENV = "CIRCLEBACK_TEST_IMAP_PASSWORD"  # noqa: S105 - the variable's name


@dataclass
class ImapBackend:
    """One fresh mailbox, a seeding client straight to Dovecot, and the connector."""

    server: DovecotServer
    user: str
    password: str
    connector: ImapConnector
    proxy: TcpProxy | None = None
    _seed: IMAPClient | None = field(default=None, repr=False)

    @property
    def seed(self) -> IMAPClient:
        if self._seed is None:
            self._seed = IMAPClient(self.server.host, self.server.port, ssl=False)
            self._seed.login(self.user, self.password)
        return self._seed

    def add_message(self, raw: bytes, folder: str = "INBOX", when: datetime | None = None) -> int:
        """APPEND with INTERNALDATE = ``when``, else the Date header, as a delivery sets it."""
        if when is None:
            when = header_date(raw)
        if not self.seed.folder_exists(folder):
            self.seed.create_folder(folder)
        response = self.seed.append(folder, raw, msg_time=when)
        return int(response.split(b"]")[0].split()[-1])  # [APPENDUID v uid]

    def close(self) -> None:
        self.connector.close()
        if self._seed is not None:
            self._seed.logout()
        if self.proxy is not None:
            self.proxy.close()


def header_date(raw: bytes) -> datetime | None:
    value = BytesHeaderParser().parsebytes(raw).get("Date")
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def make_backend(
    server: DovecotServer,
    monkeypatch: pytest.MonkeyPatch,
    *,
    context: ConnectorContext = CONTEXT,
    proxied: bool = False,
    source: str = "",
    **account: Any,
) -> ImapBackend:
    user = f"user{next(_users)}@example.org"
    password = server.add_user(user)
    monkeypatch.setenv(PASSWORD_ENV, password)
    proxy = TcpProxy(server.host, server.port, source) if proxied or source else None
    config = ImapAccount(
        name="mail",
        kind="imap",
        host=server.host,
        port=proxy.port if proxy else server.port,
        security="none",
        username=user,
        password_env=PASSWORD_ENV,
        timeout=10,
        **account,
    )
    connector = ImapConnector(config, context)
    connector.backoff = wait_none()  # the retries themselves are under test, not the waiting
    return ImapBackend(server, user, password, connector, proxy)


def _fill(backend: ImapBackend, count: int, start: int = 1) -> set[str]:
    padding = {"X-Padding": "x" * 200, "References": " ".join(f"<r{i}@test>" for i in range(8))}
    backend.seed.multiappend("INBOX", [build_message(n, extra=padding) for n in range(start, start + count)])
    return {f"msg{n}@test" for n in range(start, start + count)}


_users = itertools.count(1)
