"""Fixtures of the IMAP tests: a private Dovecot for the module, a mailbox on it, the same behind
a cutting proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.imap import ImapBackend, make_backend
from tests.support.servers import DovecotServer


@pytest.fixture
def backend(dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapBackend]:
    made = make_backend(dovecot, monkeypatch)
    yield made
    made.close()


@pytest.fixture
def proxied(dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapBackend]:
    made = make_backend(dovecot, monkeypatch, proxied=True)
    yield made
    made.close()
