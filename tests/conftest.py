"""Fixtures every part of the suite uses. Fixtures of one part live in that folder's conftest.py;
what the tests share beyond fixtures (fakes, servers, contracts, records) is in tests/support/."""

from __future__ import annotations

from pathlib import Path

import pytest

from circleback.daemon.store.ledger import Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """A fresh ledger on disk, migrated to the current schema."""
    return Ledger.open(tmp_path / "ledger.sqlite3")
