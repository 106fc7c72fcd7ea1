"""Fixtures of the Microsoft tests: the fake Graph on a local port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_graph import FakeGraph


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    graph = FakeGraph().start()
    yield graph
    graph.stop()
