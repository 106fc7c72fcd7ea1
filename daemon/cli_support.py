"""What every CLI module shares: the console, the error wrapper and the test clock option."""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import CirclebackError

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


def command_prefix(config_path: Path, state_dir: Path) -> str:
    """``circleback``, with ``--config`` and ``--state-dir`` where this run's are not the defaults.

    Every command the CLI suggests starts with it: ``auth`` given another state directory
    than ``run`` saves a token that ``run`` never finds (README, "Accounts").
    """
    from . import controllers

    words = ["circleback"]
    if Path(config_path) != controllers.default_config_path():
        words += ["--config", str(config_path)]
    if Path(state_dir) != controllers.default_state_dir():
        words += ["--state-dir", str(state_dir)]
    return shlex.join(words)


def command(obj: Any, *words: str) -> str:
    """A command line to suggest, shell-quoted: ``circleback --state-dir st auth google personal``.

    ``obj`` is the CLI's context object (its ``config_path`` and ``state_dir``).
    """
    return " ".join([command_prefix(obj.config_path, obj.state_dir), *map(shlex.quote, words)])


# The commands connectors name in their messages ("authorise with: circleback auth google NAME"):
# they know nothing of the CLI's options, so the CLI completes them when it prints the message.
_BARE_COMMAND = re.compile(r"(?<![\w/.-])circleback(?= auth )")  # not in a path


def complete_commands(obj: Any, text: str) -> str:
    """``text`` with each ``circleback auth …`` it quotes given this run's --config and --state-dir."""
    prefix = command_prefix(obj.config_path, obj.state_dir)
    return _BARE_COMMAND.sub(lambda _: prefix, text)


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
