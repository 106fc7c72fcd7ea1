"""IMAP over TLS against a real Dovecot whose certificate comes from a private CA (tests/support/tls.py).

The system's store does not trust that CA, so these tests show both sides: with ``ca_file`` the
connector verifies the server and reads the mailbox; without it, it refuses the server, once (a
certificate does not heal by retrying), in full, as a configuration problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from tenacity import wait_none

from circleback.connectors.errors import CertificateRefused
from circleback.connectors.imap import ImapAccount, ImapConnector
from tests.support.contract import CONTEXT, build_message
from tests.support.servers import DovecotServer, TcpProxy
from tests.support.tls import TlsFiles, assert_refused_once, make_tls_files

pytestmark = pytest.mark.needs_server

PASSWORD_ENV = "CIRCLEBACK_TEST_IMAP_TLS_PASSWORD"  # noqa: S105 - the variable's name


def tls_connector(
    server: DovecotServer, security: Literal["ssl", "starttls"], ca_file: str | None, port: int | None = None
) -> ImapConnector:
    account = ImapAccount(
        name="tls",
        kind="imap",
        host="127.0.0.1",
        port=port or (server.tls_port if security == "ssl" else server.port),
        security=security,
        username=server.user,
        password_env=PASSWORD_ENV,
        ca_file=ca_file,
        timeout=10,
    )
    connector = ImapConnector(account, CONTEXT)
    connector.backoff = wait_none()
    return connector


@pytest.fixture
def seeded(dovecot_tls: DovecotServer, tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> DovecotServer:
    monkeypatch.setenv(PASSWORD_ENV, dovecot_tls.password)
    seed = tls_connector(dovecot_tls, "ssl", str(tls_files.ca))._client()
    if seed.select_folder("INBOX")[b"EXISTS"] == 0:
        seed.append("INBOX", build_message(1))
    seed.logout()
    return dovecot_tls


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_ca_file_makes_a_private_ca_trusted(seeded: DovecotServer, tls_files: TlsFiles, security) -> None:
    box = tls_connector(seeded, security, str(tls_files.ca))
    try:
        result = box.sync_mail(None)
    finally:
        box.close()
    assert [r.message_id for r in result.records] == ["msg1@test"]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_from_an_unknown_ca_is_refused_once_in_full_as_a_config_problem(
    seeded: DovecotServer, security
) -> None:
    proxy = TcpProxy(seeded.host, seeded.tls_port if security == "ssl" else seeded.port)  # counts connections
    box = tls_connector(seeded, security, None, port=proxy.port)
    assert box.attempts > 1  # a transient failure would be retried
    assert_refused_once(lambda: box.sync_mail(None), box.close, proxy, "tls")


def test_the_wrong_ca_file_is_named_in_the_remedy(seeded: DovecotServer, tmp_path: Path) -> None:
    other = make_tls_files(tmp_path / "other")  # a CA that signed nothing this server presents
    box = tls_connector(seeded, "ssl", str(other.ca))
    try:
        with pytest.raises(CertificateRefused) as info:
            box.sync_mail(None)
    finally:
        box.close()
    assert (
        info.value.remedy
        == f"check that ca_file ({other.ca}) holds the CA certificate that signed the server's certificate"
    )
