"""Fixtures of the IMAP tests: a private Dovecot for the module, a mailbox on it, the same behind
a cutting proxy; a Dovecot that speaks TLS with a certificate from a private CA."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.imap import ImapBackend, make_backend
from tests.support.servers import DovecotServer, start_dovecot
from tests.support.tls import TlsFiles


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


@pytest.fixture(scope="module")
def dovecot_tls(tls_files: TlsFiles) -> Iterator[DovecotServer]:
    """A Dovecot with STARTTLS on ``port`` and implicit TLS on ``tls_port``, its certificate from the private CA."""
    server = start_dovecot(tls=tls_files)
    yield server
    server.stop()
