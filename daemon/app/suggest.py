"""The commands circleback suggests to the user, with the --config and --state-dir they run with.

Plain functions, no click: the CLI, ``doctor`` and the service all print such hints.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from ..errors import CirclebackError


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


def account_failure(obj: Any, account: str, failure: BaseException) -> str:
    """Why ``account`` failed, in one line without its name (see ``engine.account_error``).

    Connectors know nothing of the CLI's options: an error that asks the user to sign in
    names its provider and account, and the command is built here, with this run's
    --config and --state-dir, so that ``auth`` saves the token where ``run`` looks for it.
    """
    from ..core.engine import account_error

    sign_in = failure.sign_in if isinstance(failure, CirclebackError) else None
    return account_error(account, failure, sign_in_command=command(obj, "auth", *sign_in) if sign_in else None)
