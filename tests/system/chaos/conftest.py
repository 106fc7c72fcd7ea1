"""Chaos tests: daemon cycles SIGKILLed at random points over every backend, restarted each time.

The default suite runs a short mode (a few kills per backend). The long mode runs
``CIRCLEBACK_CHAOS_KILLS`` kills per backend (e.g. 1000), or ``--chaos-kills N``::

    CIRCLEBACK_CHAOS_KILLS=1000 python -m pytest tests/system/chaos -m chaos -q -s
"""

from __future__ import annotations

import os

import pytest

SHORT_KILLS = 3


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: SIGKILL-and-restart chaos runs (long mode: CIRCLEBACK_CHAOS_KILLS=N)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--chaos-kills", type=int, default=0,
                     help="kills per backend for the chaos tests (default: env CIRCLEBACK_CHAOS_KILLS, else short)")


@pytest.fixture
def chaos_kills(request: pytest.FixtureRequest) -> int:
    """Kills wanted per backend: the option, else the environment, else the short mode."""
    option = int(request.config.getoption("--chaos-kills") or 0)
    env = os.environ.get("CIRCLEBACK_CHAOS_KILLS", "")
    return option or (int(env) if env.isdigit() and int(env) > 0 else SHORT_KILLS)
