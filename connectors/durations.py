"""Durations as people write them in the config: "30d", "6w", "3mo", "1y", "quarterly".

Here rather than in ``daemon/config`` because account tables use them too (``poll_interval``,
``calendar_lookahead``); ``daemon/config/durations.py`` re-exports them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

# "m" alone is refused: read as months it made "snooze X 15m" fifteen months, yet minutes is
# what most people mean by it. "min" and "mo" say which.
_UNITS = {"min": 1 / 1440, "h": 1 / 24, "d": 1, "w": 7, "mo": 30, "y": 365}
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
_NUMBER_AND_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
ALLOWED = 'a number with a unit min, h, d, w, mo (30 days) or y, like "30d" or "6w", or one of ' + ", ".join(
    f'"{w}"' for w in _WORDS
)


def _ambiguous_m(value: str, number: str, *, months: bool) -> ValueError:
    also = f' or "{number}mo" for months' if months else ""
    return ValueError(f'{value!r}: "m" could mean minutes or months; write "{number}min" for minutes{also}')


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
        number, unit = match.groups() if (match := _NUMBER_AND_UNIT.match(word)) else ("", "")
        if unit == "m":
            raise _ambiguous_m(value, number, months=True)
        if unit not in _UNITS:
            raise ValueError(f"{value!r} is not a duration: {ALLOWED}")
        days = float(number) * _UNITS[unit]
    if days <= 0:
        raise ValueError(f"{value!r}: a duration must be positive")
    return timedelta(days=days)


def format_duration(value: timedelta) -> str:
    days = value.total_seconds() / 86400
    if days < 1 / 24:
        return f"{round(days * 1440)}min"
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

    Minutes are ``min``; "15m" is refused with a hint, as in every duration.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        match = _NUMBER_AND_UNIT.match(value.lower())
        if not match:
            raise ValueError(f"{value!r}: {_POLL_HINT}")
        number, unit = match.group(1), match.group(2) or "s"
        if unit == "m":
            raise _ambiguous_m(value, number, months=False)
        if unit not in _POLL_UNITS:
            raise ValueError(f"{value!r}: {_POLL_HINT}")
        seconds = float(number) * _POLL_UNITS[unit]
    else:
        raise ValueError(f"{value!r}: {_POLL_HINT}")
    if seconds <= 0:
        raise ValueError(f"{value!r}: a poll interval must be positive")
    return seconds


PollInterval = Annotated[float, BeforeValidator(parse_poll_interval)]  # seconds
