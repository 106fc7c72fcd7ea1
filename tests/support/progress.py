"""A sync's progress as the user sees it: a terminal or a pipe, the log lines, and what they must never show."""

from __future__ import annotations

import io
from typing import TypeVar

import pytest

from tests.support.contract import build_message

LOGGER = "circleback.connectors.progress"


class Terminal(io.StringIO):
    """What rich sees as an interactive terminal."""

    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


Screen = TypeVar("Screen", Terminal, Pipe)


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


SECRETS = ("@", "Secret plans", "Friend ", "people.example")  # what no bar or progress line may show


def secret_messages(count: int) -> list[bytes]:
    """Messages whose subjects and senders must never reach the progress display."""
    return [build_message(n, sender=f"Friend {n} <friend{n}@people.example>", subject=f"Secret plans {n}")
            for n in range(1, count + 1)]


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def as_stderr(monkeypatch: pytest.MonkeyPatch, stream: Screen) -> Screen:
    """``stream`` as stderr, where a connector's progress goes; called in a test's body, because
    pytest's output capture puts its own stderr back between a fixture's setup and the test."""
    monkeypatch.setattr("sys.stderr", stream)
    return stream
