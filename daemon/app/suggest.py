"""The commands circleback suggests to the user, with the --config and --state-dir they run with.

Plain functions, no click: the CLI, ``doctor`` and the service all print such hints.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any


def command_prefix(config_path: Path, state_dir: Path) -> str:
    """``circleback``, with ``--config`` and ``--state-dir`` where this run's are not the defaults.

    Every command the CLI suggests starts with it: ``auth`` given another state directory
    than ``run`` saves a token that ``run`` never finds (README, "Accounts").
    """
    from . import session

    words = ["circleback"]
    if Path(config_path) != session.default_config_path():
        words += ["--config", str(config_path)]
    if Path(state_dir) != session.default_state_dir():
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
