"""Fixtures of the Google tests: the fake Google (Gmail, Calendar, OAuth) on a local port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_google import FakeGoogle


@pytest.fixture
def fake_google() -> Iterator[FakeGoogle]:
    fake = FakeGoogle()
    fake.start()
    yield fake
    fake.stop()
    assert fake.send_attempts == [], f"a send request reached the fake: {fake.send_attempts}"
    assert fake.seen_q == [], f"the q parameter was used (gmail.metadata refuses it): {fake.seen_q}"
