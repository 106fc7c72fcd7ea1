"""What every CLI module shares: the console, the error wrapper and the test clock option."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from ..errors import CirclebackError
from ..store.ledger import storage_error

if TYPE_CHECKING:
    from rich.console import Console


@functools.cache
def console() -> Console:
    """The one rich console, made on first use.

    rich costs about 25 ms of imports; ``status --json``, ``doctor`` and ``config`` print
    with click alone and never pay it (benchmarks/core.py, ``status_startup_ms``).
    """
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)  # one message, one line: greppable
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = 120  # piped or captured: rich would assume 80 and squeeze every table
    return out


class HelpGroup(click.Group):
    """A command group that, run bare, prints its help and exits 0: asking what it does is no mistake.

    click's own groups exit 2 ("missing command"), which scripts and shells report as a failure.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        return super().parse_args(ctx, args)


now_option = click.option("--now", "now_text", hidden=True, help="Pin the clock (ISO 8601, for tests).")


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our exceptions into one sentence and an exit code, never a traceback (docs/STYLE.md #7)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CirclebackError as exc:
            click.echo(f"error: {exc}", err=True)  # plain: one unwrapped line per problem
            sys.exit(exc.exit_code)
        except sqlite3.DatabaseError as exc:  # the ledger's disk or file failed mid-command: one line, what to do
            said = storage_error(exc, None)
            if said is None:
                raise
            click.echo(f"error: {said}", err=True)
            sys.exit(said.exit_code)

    return wrapper


def parse_now(text: str | None) -> datetime | None:
    """A pinned clock from ``--now`` (naive means UTC), or None for the real one."""
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
