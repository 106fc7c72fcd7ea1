"""Durations as people write them in the config: "30d", "6w", "3m", "1y", "quarterly"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"h": 1 / 24, "d": 1, "w": 7, "m": 30, "y": 365}
_WORDS = {
    "daily": 1,
    "weekly": 7,
    "fortnightly": 14,
    "biweekly": 14,
    "monthly": 30,
    "bimonthly": 61,
    "quarterly": 91,
    "half-yearly": 182,
    "semiannually": 182,
    "yearly": 365,
    "annually": 365,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdwmy])\s*$", re.IGNORECASE)
ALLOWED = 'a number with a unit h, d, w, m (30 days) or y, like "30d" or "6w", or one of ' + ", ".join(
    f'"{w}"' for w in _WORDS
)


def parse_duration(value: object) -> timedelta:
    """Parse a config duration; raise ValueError saying what is allowed."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration: {ALLOWED}")
    if isinstance(value, int | float):
        days = float(value)  # a bare number means days
    else:
        word = value.strip().lower()
        if word in _WORDS:
            return timedelta(days=_WORDS[word])
        match = _PATTERN.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration: {ALLOWED}")
        days = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if days <= 0:
        raise ValueError(f"{value!r}: a duration must be positive")
    return timedelta(days=days)


def format_duration(value: timedelta) -> str:
    days = value.total_seconds() / 86400
    if days < 1:
        return f"{round(days * 24)}h"
    if days % 7 == 0 and days < 365:
        return f"{int(days // 7)}w"
    return f"{days:g}d"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


_POLL_UNITS = {"s": 1, "sec": 1, "min": 60, "h": 3600}
_POLL_HINT = 'write a poll interval like "90s", "15min" or "1h"'


def parse_poll_interval(value: object) -> float:
    """Seconds from a timedelta, a number of seconds, or "90s" / "15min" / "1h".

    Minutes are ``min``: elsewhere in the config ``m`` means a month, so "15m"
    is refused with a hint rather than silently meaning fifteen months.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", value.lower())
        if not match:
            raise ValueError(f"{value!r}: {_POLL_HINT}")
        number, unit = match.group(1), match.group(2) or "s"
        if unit == "m":
            raise ValueError(f"{value!r}: 'm' means months in circleback; write {number}min for minutes")
        if unit not in _POLL_UNITS:
            raise ValueError(f"{value!r}: {_POLL_HINT}")
        seconds = float(number) * _POLL_UNITS[unit]
    else:
        raise ValueError(f"{value!r}: {_POLL_HINT}")
    if seconds <= 0:
        raise ValueError(f"{value!r}: a poll interval must be positive")
    return seconds


PollInterval = Annotated[float, BeforeValidator(parse_poll_interval)]  # seconds
