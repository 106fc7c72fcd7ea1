"""Fixtures of the connector tests: a private Radicale for the CalDAV ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.radicale_server import start_radicale


@pytest.fixture
def radicale(tmp_path: Path):
    server = start_radicale(tmp_path)
    try:
        yield server
    finally:
        server.stop()
