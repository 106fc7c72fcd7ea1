"""CalDAV over https against a real Radicale whose certificate comes from a private CA
(tests/support/tls.py): ``ca_file`` makes it trusted; without it the server is refused once, in
full, as a configuration problem."""

from __future__ import annotations

import itertools
import warnings
from datetime import UTC, datetime

import caldav
import pytest
from tenacity import wait_none

from circleback.connectors.base import ConnectorContext
from circleback.connectors.caldav import CalDavAccount, CalDavConnector
from tests.support.radicale_server import RadicaleServer
from tests.support.servers import TcpProxy
from tests.support.tls import TlsFiles, assert_refused_once

pytestmark = pytest.mark.needs_server

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_names = itertools.count(1)
PASSWORD_ENV = "CB_TEST_CALDAV_TLS_PASSWORD"  # noqa: S105 - a variable name
EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//circleback tests//EN
BEGIN:VEVENT
UID:tls-1
DTSTAMP:20250101T000000Z
DTSTART:20250220T100000Z
DTEND:20250220T110000Z
SUMMARY:Lunch
ORGANIZER:mailto:alice@example.org
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CalDavConnector, "retry_wait", wait_none())
    monkeypatch.setenv(PASSWORD_ENV, "not-checked")


@pytest.fixture
def calendar(radicale_tls: RadicaleServer, tls_files: TlsFiles) -> RadicaleServer:
    client = caldav.DAVClient(url=radicale_tls.url, username="alice", password="x", ssl_verify_cert=str(tls_files.ca))  # noqa: S106
    client.principal().make_calendar(name="Work").save_event(EVENT)
    return radicale_tls


def tls_connector(server: RadicaleServer, name: str = "dav", **tls: object) -> CalDavConnector:
    account = CalDavAccount(name=name, url=server.url, username="alice", password_env=PASSWORD_ENV, **tls)
    context = ConnectorContext(
        my_addresses=frozenset({"alice@example.org"}), lookback_days=60, lookahead_days=30, now=NOW
    )
    return CalDavConnector(account, context)


def test_ca_file_makes_a_private_ca_trusted(calendar: RadicaleServer, tls_files: TlsFiles) -> None:
    box = tls_connector(calendar, ca_file=str(tls_files.ca))
    try:
        result = box.sync_events(None)
    finally:
        box.close()
    assert [r.source_id for r in result.records] == ["tls-1"]


def test_a_certificate_from_an_unknown_ca_is_refused_once_in_full_as_a_config_problem(
    calendar: RadicaleServer,
) -> None:
    proxy = TcpProxy("127.0.0.1", calendar.port)  # counts connections
    proxied = RadicaleServer(calendar.root, proxy.port, calendar.config, f"https://127.0.0.1:{proxy.port}/")
    box = tls_connector(proxied)
    assert box.retry_attempts > 1  # a transient failure would be retried
    assert_refused_once(lambda: box.sync_events(None), box.close, proxy, "dav")


def test_verify_tls_false_is_said_once_per_account_and_the_librarys_warnings_are_silenced(
    calendar: RadicaleServer, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"insecure{next(_names)}"  # said once per process: a name no other test used
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _cycle in range(2):  # two polls of the daemon
            box = tls_connector(calendar, name=name, verify_tls=False)
            try:
                assert [r.source_id for r in box.sync_events(None).records] == ["tls-1"]
            finally:
                box.close()
        # Only this account's reads are quiet: the same warning elsewhere still shows.
        warnings.warn("Unverified HTTPS request is being made to host 'elsewhere'", UserWarning, stacklevel=1)
    unverified = [str(w.message) for w in seen if "Unverified HTTPS request" in str(w.message)]
    assert unverified == ["Unverified HTTPS request is being made to host 'elsewhere'"]
    said = [r.getMessage() for r in caplog.records if "verify_tls" in r.getMessage()]
    assert said == [
        f"{name}: verify_tls = false: the certificate of 127.0.0.1:{calendar.port} is not checked, so anyone "
        "between here and the server can read and change what is sent; to trust a private CA, set ca_file instead"
    ]
