"""Ledger.person_for_address: which display name a person keeps as headers come and go."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from circleback.daemon.store.ledger import Ledger
from circleback.daemon.store.schema import SCHEMA_VERSION
from tests.support.ledger_sql import raw_sql

ANNA = "anna@example.com"


def names(ledger: Ledger, address: str = ANNA) -> tuple[str, str]:
    """(the person's name, the address's display name)."""
    row = raw_sql(ledger).execute(
        "SELECT p.name, a.display_name FROM addresses a JOIN people p ON p.id = a.person_id WHERE a.address = ?",
        (address,),
    ).fetchone()
    return row[0], row[1]


def seen(ledger: Ledger, *headers: str, address: str = ANNA) -> int:
    with ledger.transaction():
        ids = {ledger.person_for_address(address, name) for name in headers}
    (person_id,) = ids
    return person_id


@pytest.mark.parametrize("bare", ["", "   ", ANNA, "Anna@Example.com", f'"{ANNA}"'])
def test_a_later_bare_address_keeps_the_known_name(ledger: Ledger, bare: str) -> None:
    seen(ledger, "Anna Berg", bare)
    assert names(ledger) == ("Anna Berg", "Anna Berg")


def test_a_name_seen_after_a_bare_address_becomes_the_persons_name(ledger: Ledger) -> None:
    seen(ledger, "", "Anna Berg")
    assert names(ledger) == ("Anna Berg", "Anna Berg")


def test_the_most_recent_non_empty_name_wins(ledger: Ledger) -> None:
    seen(ledger, "Anna Berg", "", "Anna Berg-Lund", "")
    assert names(ledger) == ("Anna Berg-Lund", "Anna Berg-Lund")


@pytest.mark.parametrize("configured", ["Anna Berg", ""])
def test_a_configured_name_is_kept_whatever_the_headers_say(ledger: Ledger, configured: str) -> None:
    # Blank included: a hostile or wrong calendar name must not become how a draft addresses them.
    with ledger.transaction():
        ledger.apply_configured_person(configured, [ANNA])
    seen(ledger, "A. Berg (Acme)", "")
    assert names(ledger) == (configured, "A. Berg (Acme)")


def test_an_imported_name_is_kept_whatever_the_headers_say(ledger: Ledger) -> None:
    with ledger.transaction():
        ledger.add_imported_person(name="Anna Berg", company="", title="", linkedin="", source="vcard",
                                   emails=[ANNA], now=datetime(2026, 1, 1, tzinfo=UTC))
    seen(ledger, "Berg, Anna")
    assert names(ledger) == ("Anna Berg", "Berg, Anna")


def test_two_processes_opening_a_new_ledger_at_once_both_get_it_migrated(tmp_path: Path) -> None:
    # `snooze` beside a `run` that is starting: both read schema 0, and one migrates first.
    path = tmp_path / "ledger.sqlite3"
    Ledger.open(path).close()  # the other process won the race

    class StaleFirstRead:  # this process read user_version before the other committed
        def __init__(self) -> None:
            self.conn, self.stale = sqlite3.connect(path, isolation_level=None, timeout=30), True

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if self.stale and sql == "PRAGMA user_version":
                self.stale = False
                return self.conn.execute("SELECT 0")
            return self.conn.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.conn, name)

    late = Ledger(StaleFirstRead(), path)  # type: ignore[arg-type]
    late._migrate()  # applied nothing twice ("table people already exists" before)
    assert late.schema_version == SCHEMA_VERSION
