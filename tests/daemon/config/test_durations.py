"""Durations as people write them: "m" alone is refused, since it could mean minutes or months."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from circleback.daemon.cli import main
from circleback.daemon.config.durations import format_duration, months, parse_duration, parse_poll_interval


@pytest.mark.parametrize(
    ("text", "days"),
    [("30d", 30), ("6w", 42), ("3mo", 90), (" 3 MO ", 90), ("1y", 365), ("quarterly", 91), ("monthly", 30),
     ("12h", 0.5), ("90min", 1 / 16), (45, 45), ("2.5d", 2.5), (timedelta(days=2), 2)],
)  # fmt: skip
def test_durations(text: object, days: float) -> None:
    assert parse_duration(text) == timedelta(days=days)


@pytest.mark.parametrize(("days", "n"), [(45, 1), (59, 2), (200, 7), (365, 12), (729, 24)])
def test_months_rounds_to_the_nearest_average_month(days: int, n: int) -> None:
    # 30.44 days, not the config's 30: 365 days is twelve months, not "12 mo" plus five days.
    assert months(days) == n


@pytest.mark.parametrize("text", ["", "d", "30", "0d", "-3d", "often", "3mon", True, None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["15m", "15M", " 15 m "])
def test_a_bare_m_is_refused_with_both_spellings(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    both = 'write "15min" for minutes or "15mo" for months'
    assert str(info.value) == f'{text!r}: "m" could mean minutes or months; {both}'


def test_a_poll_interval_m_asks_for_minutes_only() -> None:
    with pytest.raises(ValueError, match=r'^\'15m\': "m" could mean minutes or months; write "15min" for minutes$'):
        parse_poll_interval("15m")
    assert parse_poll_interval("15min") == 900


@pytest.mark.parametrize(("days", "text"), [(1 / 96, "15min"), (0.5, "12h"), (42, "6w"), (90, "90d")])
def test_format_round_trips(days: float, text: str) -> None:
    assert format_duration(timedelta(days=days)) == text
    assert parse_duration(text) == timedelta(days=days)


def test_snooze_refuses_m_before_touching_the_state(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["--config", str(tmp_path / "none.toml"), "--state-dir", str(tmp_path / "s"),
                                    "snooze", "ann", "15m"])  # fmt: skip
    assert out.exit_code == 2
    assert '"15min" for minutes or "15mo" for months' in out.output
    assert not (tmp_path / "s").exists()
