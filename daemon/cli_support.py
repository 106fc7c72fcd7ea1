"""What every CLI module shares: the console, the error wrapper and the test clock option."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console

from .errors import CirclebackError

console = Console(highlight=False, soft_wrap=True)  # one message, one line: greppable
if not console.is_terminal and "COLUMNS" not in os.environ:
    console.width = 120  # piped or captured: rich would assume 80 and squeeze every table

now_option = click.option("--now", "now_text", hidden=True, help="Pin the clock (ISO 8601, for tests).")


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our exceptions into one sentence and an exit code, never a traceback (STYLE.md #7)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CirclebackError as exc:
            click.echo(f"error: {exc}", err=True)  # plain: one unwrapped line per problem
            sys.exit(exc.exit_code)

    return wrapper


def parse_now(text: str | None) -> datetime | None:
    """A pinned clock from ``--now`` (naive means UTC), or None for the real one."""
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
