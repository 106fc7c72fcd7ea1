"""One exception family for what the user must act on (STYLE.md #7).

Each carries a sentence that says what went wrong and what to do; the CLI
prints it without a traceback and exits with the code given here.
"""

from __future__ import annotations


class CirclebackError(Exception):
    exit_code = 1


class ConfigError(CirclebackError):
    """The config file is missing, unreadable or invalid."""

    exit_code = 78  # EX_CONFIG; the systemd unit lists it in RestartPreventExitStatus=


class StateError(CirclebackError):
    """The state directory or ledger cannot be used."""

    exit_code = 73  # EX_CANTCREAT


class TemplateError(CirclebackError):
    """A template failed to render, escaped the sandbox, or rendered an unusable draft."""


class DraftBuildError(CirclebackError):
    """A draft could not be built into a message whose headers are exactly the intended ones."""
