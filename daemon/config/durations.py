"""Durations as people write them in the config ("30d", "6w", "quarterly"), and months for saying them.

The parsers live in ``connectors/durations.py`` because account tables use them too; the daemon
imports them from here.
"""

from __future__ import annotations

from circleback.connectors.durations import (
    Duration,
    PollInterval,
    format_duration,
    parse_duration,
    parse_poll_interval,
)

__all__ = [
    "MONTH_DAYS",
    "Duration",
    "PollInterval",
    "format_duration",
    "months",
    "parse_duration",
    "parse_poll_interval",
]

# An average month (365.25 / 12, rounded) for saying how long ago something was: 200 days is
# "about seven months" in a draft and "7 mo ago" in `status`. Config durations keep "mo" and
# "monthly" at 30 days, as ALLOWED says: a cadence should not depend on rounding.
MONTH_DAYS = 30.44


def months(days: float) -> int:
    """``days`` in whole average months, to the nearest: 200 -> 7, 45 -> 1."""
    return int(days / MONTH_DAYS + 0.5)
