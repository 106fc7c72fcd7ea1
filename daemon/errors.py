"""The daemon's errors: what the user must act on (docs/STYLE.md #7).

They belong to circleback's one exception family, whose root is in ``connectors/errors.py``
(connectors never import the daemon). Each carries a sentence that says what went wrong
and what to do; the CLI prints it without a traceback and exits with the code given here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from circleback.connectors.errors import CirclebackError

if TYPE_CHECKING:
    from .core.contacts import Contact
    from .store.outbox import OutboxEntry

__all__ = [
    "AllAccountsRevoked",
    "CirclebackError",
    "ConfigError",
    "DraftBuildError",
    "DraftWaiting",
    "ImportError_",
    "IntroError",
    "DraftsBusy",
    "LedgerDamaged",
    "LedgerFull",
    "PersonNotFound",
    "StateError",
    "TemplateError",
]


class ConfigError(CirclebackError):
    """The config file is missing, unreadable or invalid."""

    exit_code = 78  # EX_CONFIG; the systemd unit lists it in RestartPreventExitStatus=


class StateError(CirclebackError):
    """The state directory or ledger cannot be used."""

    exit_code = 73  # EX_CANTCREAT


class DraftsBusy(StateError):
    """Another circleback process kept writing drafts for longer than we wait (app/session.drafts_lock)."""

    exit_code = 75  # EX_TEMPFAIL: try again in a moment


class LedgerDamaged(StateError):
    """SQLite says the ledger file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB); see app/recovery.py."""


class LedgerFull(StateError):
    """The disk (or quota, or ``max_page_count``) under the ledger is full: the step was rolled back."""


class AllAccountsRevoked(CirclebackError):
    """Every account's credential was revoked: nothing left to do until the user re-authorises."""

    exit_code = 77  # EX_NOPERM; in RestartPreventExitStatus= so systemd does not crash-loop


class TemplateError(CirclebackError):
    """A template failed to render, escaped the sandbox, or rendered an unusable draft."""


class DraftBuildError(CirclebackError):
    """A draft could not be built into a message whose headers are exactly the intended ones."""


class PersonNotFound(CirclebackError):
    """No person, or more than one, matches what the user typed."""


class DraftWaiting(CirclebackError):
    """A draft to this person is already waiting: a nudge now would make two notes at once."""

    def __init__(self, person: Contact, entry: OutboxEntry) -> None:
        super().__init__(f"{person.display_name}: a draft to {entry.recipient} is already waiting; nothing new drafted")
        self.person = person
        self.entry = entry


class IntroError(CirclebackError):
    """An introduction the rules do not allow, or one that does not exist."""


class ImportError_(CirclebackError):  # noqa: N801 - "ImportError" is a builtin
    """The file is not the export it claims to be."""
