"""Raw SQL on a ledger, for tests that set up or inspect what no Ledger method writes or reads.

The ledger's connection is private: daemon code goes through Ledger methods. A test that must
reach under them (a row no method writes, a PRAGMA, the trigger-kept totals, a reference
computation over every row) says so by calling this.
"""

from __future__ import annotations

import sqlite3

from circleback.daemon.store.ledger import Ledger


def raw_sql(ledger: Ledger) -> sqlite3.Connection:
    return ledger._conn
