"""Daemon cycles SIGKILLed at random points over every backend, restarted each time.

After every kill: ``PRAGMA integrity_check`` ok, no duplicate draft (by our X-Circleback-Key
in the box, and by recipient+kind+period in the outbox), no draft without its intent, no
intent marked drafted without its draft. After every restart that runs to the end: the
same drafts, intents and interactions as one clean, uninterrupted run.

Short mode (default suite): a few kills per backend. Long mode, e.g. 1,000 kills each::

    CIRCLEBACK_CHAOS_KILLS=1000 python -m pytest tests/chaos -m chaos -q -s
    python -m pytest tests/chaos -m chaos --chaos-kills 1000 -q -s

Each test prints one line with its counts and appends it as JSON to the file named by
``CIRCLEBACK_CHAOS_RESULTS`` (docs/reliability.md quotes them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chaos_backends import CalDavBackend, DovecotBackend, GoogleBackend, GraphBackend, LocalBackend
from chaos_harness import Backend, ChaosResult, chaos

pytestmark = pytest.mark.chaos


def record(result: ChaosResult, wanted: int) -> None:
    print("\n" + result.line())
    path = os.environ.get("CIRCLEBACK_CHAOS_RESULTS")
    if path:
        row = {"backend": result.backend, "kills": result.kills, "at_checkpoint": result.at_checkpoint,
               "at_random_time": result.at_random_time, "restarts": result.restarts, "rounds": result.rounds,
               "clean_drafts": result.clean_drafts, "clean_checkpoints": result.clean_checkpoints,
               "seconds": round(result.seconds, 1), "wanted": wanted}
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")
    assert result.kills >= wanted, result.line()


def run(backend: Backend, tmp_path: Path, kills: int) -> None:
    try:
        record(chaos(backend, tmp_path, kills), kills)
    finally:
        backend.close()


def test_local_maildir_and_ics_survive_random_kills(tmp_path: Path, chaos_kills: int) -> None:
    run(LocalBackend(tmp_path), tmp_path, chaos_kills)


def test_gmail_and_google_calendar_survive_random_kills(tmp_path: Path, chaos_kills: int) -> None:
    run(GoogleBackend(tmp_path), tmp_path, chaos_kills)


def test_outlook_survives_random_kills(tmp_path: Path, chaos_kills: int) -> None:
    run(GraphBackend(tmp_path), tmp_path, chaos_kills)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Any]:
    from tests.support.servers import start_dovecot

    server = start_dovecot()
    yield server
    server.stop()


@pytest.mark.needs_server
def test_imap_on_dovecot_survives_random_kills(tmp_path: Path, chaos_kills: int, dovecot: Any) -> None:
    run(DovecotBackend(tmp_path, dovecot), tmp_path, chaos_kills)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.radicale_server import start_radicale

    server = start_radicale(tmp_path_factory.mktemp("chaos-radicale"))
    yield server
    server.stop()


@pytest.mark.needs_server
def test_caldav_on_radicale_with_a_maildir_draft_box_survives_random_kills(
    tmp_path: Path, chaos_kills: int, radicale: Any,
) -> None:
    run(CalDavBackend(tmp_path, radicale), tmp_path, chaos_kills)
