"""One exception family: its root in connectors/errors.py, the daemon's errors in daemon/errors.py,
and a line for the user worded from the error's fields (account, provider, remedy)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import circleback.daemon
from circleback.connectors.errors import AuthRevoked, CirclebackError, ConnectorError
from circleback.daemon import errors
from circleback.daemon.core.engine import account_error


def family(root: type[BaseException]) -> set[type[BaseException]]:
    found, todo = set(), [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_the_daemons_errors_live_in_daemon_errors_and_share_the_connectors_root() -> None:
    for module in pkgutil.walk_packages(circleback.daemon.__path__, "circleback.daemon."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    daemon_errors = {c for c in family(CirclebackError) if c.__module__.startswith("circleback.daemon")}
    assert {c.__module__ for c in daemon_errors} == {"circleback.daemon.errors"}
    assert {errors.StateError, errors.LedgerFull, errors.PersonNotFound, errors.AllAccountsRevoked} <= daemon_errors
    assert issubclass(ConnectorError, CirclebackError) and errors.CirclebackError is CirclebackError


@pytest.mark.parametrize(("error", "text"), [
    (ConnectorError("it broke"), "it broke"),
    (ConnectorError("it broke", account="home"), "home: it broke"),
    (ConnectorError("it broke", account="home", remedy="will retry"), "home: it broke; will retry"),
    (ConnectorError("it broke", account="home", provider="google", remedy="will retry"),
     "home: it broke; will retry with: circleback auth google home"),
    (AuthRevoked("no token", account="work", provider="microsoft", remedy="authorise"),
     "work: no token; authorise with: circleback auth microsoft work"),
    (AuthRevoked("no token", provider="google", remedy="authorise"), "no token; authorise"),  # no account: no command
    (errors.AllAccountsRevoked("every account's credential was revoked", remedy="re-authorise, then restart"),
     "every account's credential was revoked; re-authorise, then restart"),
])
def test_the_sentence_is_built_from_the_fields(error: CirclebackError, text: str) -> None:
    assert str(error) == text


def test_an_accounts_line_drops_its_own_name_only_from_the_fields() -> None:
    revoked = AuthRevoked("no token", account="home", provider="google", remedy="authorise")
    assert account_error("home", revoked) == "no token; authorise with: circleback auth google home"
    assert account_error("home", revoked, sign_in_command="circleback --state-dir st auth google home") == \
        "no token; authorise with: circleback --state-dir st auth google home"
    assert account_error("work", revoked) == str(revoked)  # about another account: named
    # A message that merely starts with the name is not taken apart.
    assert account_error("home", OSError("home: is a folder")) == "home: is a folder"
    assert account_error("home", ConnectorError("")) == "ConnectorError"
