"""Fixtures of the connector tests: the servers behind them (a private Dovecot and Radicale, the
fake Google, a private CA for TLS). The Microsoft and IMAP folders add their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_google import FakeGoogle
from tests.support.radicale_server import start_radicale
from tests.support.servers import DovecotServer, start_dovecot
from tests.support.tls import TlsFiles, make_tls_files


@pytest.fixture
def radicale(tmp_path: Path):
    server = start_radicale(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A private CA and a server certificate it signed for 127.0.0.1: no system store trusts it."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def radicale_tls(tmp_path: Path, tls_files: TlsFiles):
    """Radicale over https, its certificate from the private CA of ``tls_files``."""
    server = start_radicale(tmp_path, tls=tls_files)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture
def fake_google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    fake.start()
    yield fake
    fake.stop()
    assert fake.send_attempts == [], f"a send request reached the fake: {fake.send_attempts}"
    assert fake.seen_q == [], f"the q parameter was used (gmail.metadata refuses it): {fake.seen_q}"
