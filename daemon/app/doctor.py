"""``circleback doctor``: check what a months-long unattended run depends on, and say how to fix it.

Each check returns a :class:`Check`: passed, failed (the command exits non-zero),
a hint (worth knowing, not wrong: e.g. the unit file is not installed), or skipped
(it needs something an earlier check found broken: a state directory that is a file).
Nothing here writes anything but a probe file it removes again. A check the file
system refuses (EACCES on a folder above) is one line saying so, never a traceback.
"""

from __future__ import annotations

import os
import shlex
import socket
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from circleback.connectors.base import DRAFTS
from circleback.connectors.registry import GOOGLE, KINDS, MICROSOFT, kinds_where

from ..config import Settings, load_settings
from ..errors import CirclebackError
from . import session
from .suggest import command_prefix

PASS, FAIL, HINT, SKIP = "pass", "FAIL", "hint", "skip"
EARLIEST_SANE = datetime(2024, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)  # state written "tomorrow" means the clock went back
NETWORK_TIMEOUT = 5.0
LOCAL_KINDS = kinds_where(lambda kind: kind.on_disk)
OAUTH_KINDS = kinds_where(lambda kind: kind.signs_in)
MIN_JINJA = (3, 1)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    outcome: str  # PASS, FAIL or HINT
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome == FAIL


def run_checks(config_path: Path, state_dir: Path, *, now: datetime | None = None,
               home: Path | None = None) -> list[Check]:
    cli = command_prefix(config_path, state_dir)  # the fixes name the same --config and --state-dir
    checks: list[Check] = []
    settings = _check_config(config_path, checks, cli)
    state = safely("state dir", check_state_dir, state_dir)
    checks += state
    usable = not any(c.name == "state dir" and c.failed for c in state)
    checks += safely("ledger", check_ledger, state_dir) if usable else [skipped("ledger")]
    checks += safely("skipped inputs", check_skipped, state_dir, now or datetime.now(UTC), outcome=HINT) \
        if usable else []
    checks += safely("token files", check_tokens, state_dir) if usable else [skipped("token files")]
    if settings is not None:
        checks += check_accounts(settings, state_dir if usable else None, cli)
    checks += safely("clock", check_clock, state_dir if usable else None, now or datetime.now(UTC))
    checks += check_versions()
    checks += safely("systemd unit", check_unit, home or Path.home(), outcome=HINT)
    checks += check_service_status(state_dir, cli) if usable else [skipped("service")]
    return checks


def safely(name: str, check: Callable[..., Check | list[Check]], *args: Any, outcome: str = FAIL) -> list[Check]:
    """What ``check`` found, or one line for what the file system refused it (e.g. HOME=/root, not root)."""
    try:
        found = check(*args)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return [Check(name, outcome, f"could not look: {where}{exc.strerror or exc}",
                      "run doctor as the user circleback runs as, or fix the permissions on the way there")]
    return found if isinstance(found, list) else [found]


def skipped(name: str) -> Check:
    return Check(name, SKIP, "not run: the state directory is unusable (see above)")


def _check_config(path: Path, checks: list[Check], cli: str) -> Settings | None:
    try:
        settings = load_settings(path)
    except CirclebackError as exc:
        checks.append(Check("config", FAIL, str(exc).replace("\n", "; "),
                            f"edit {path} (`{cli} config init` writes a commented example when there is "
                            f"none); `{cli} config check` re-checks it"))
        return None
    checks.append(Check("config", PASS, f"{path}: valid, {len(settings.accounts)} account(s)"))
    return settings


# -- state ------------------------------------------------------------------------------------


def check_state_dir(state_dir: Path) -> list[Check]:
    """A "state dir" FAIL first when it is no folder at all: what needs the state is then skipped."""
    found = next(p for p in (state_dir, *state_dir.parents) if p.exists())  # "." or "/" at the latest
    if not found.is_dir():
        where = f"{found} is not a directory" + (f", so {state_dir} cannot be made" if found != state_dir else "")
        return [Check("state dir", FAIL, where, "move it away, or pass --state-dir a folder")]
    if found != state_dir:
        return [Check("state dir", HINT, f"{state_dir} does not exist yet; the first run creates it 0700")]
    mode = stat.S_IMODE(state_dir.stat().st_mode)
    out = [_writable(state_dir)]
    if mode & 0o077:
        out.append(Check("state dir private", FAIL, f"{state_dir} is {mode:04o}: others can read your ledger",
                         f"chmod 700 {state_dir}"))
    else:
        out.append(Check("state dir private", PASS, f"{state_dir} is {mode:04o}"))
    return out


def check_ledger(state_dir: Path) -> list[Check]:
    """SQLite's quick check of the ledger, and how old the last copy of it is."""
    from . import recovery, session

    path = session.ledger_path(state_dir)
    if not path.exists():
        return []  # nothing synced yet: the first run makes it
    from ..errors import LedgerDamaged, StateError
    from ..store.ledger import RECOVER, Ledger

    try:
        with Ledger.open(path) as ledger:
            found = recovery.problems(ledger)
    except LedgerDamaged as exc:
        found = [str(exc)]
    except StateError as exc:  # not damage: a newer schema, a full disk, a file it may not write
        return [Check("ledger", FAIL, str(exc))]  # the message ends with what to do
    if found:
        return [Check("ledger", FAIL, f"{path} is damaged: {recovery.summary(found)}",
                      f"{RECOVER} (it keeps the damaged file aside and restores the last sound copy)")]
    copy = recovery.backup_path(state_dir)
    kept = ""
    if copy.exists():
        kept = f"; last copy {datetime.fromtimestamp(copy.stat().st_mtime, UTC):%Y-%m-%d %H:%M} UTC"
    return [Check("ledger", PASS, f"{path} is sound{kept}")]


SKIPS_LISTED = 20
SKIPS_RECENT = timedelta(days=30)


def check_skipped(state_dir: Path, now: datetime) -> list[Check]:
    """The inputs (files, messages, folders) a sync could not use in the last 30 days, each with why."""
    from ..errors import StateError
    from ..store.ledger import Ledger
    from . import session

    path = session.ledger_path(state_dir)
    if not path.exists():
        return []
    try:
        with Ledger.open(path) as ledger:
            found = ledger.skipped_inputs(since=now - SKIPS_RECENT)
    except StateError:
        return []  # the ledger check says what is wrong with it
    if not found:
        return [Check("skipped inputs", PASS, "every input of the last 30 days was read")]
    lines = [f"{place if place.startswith(account) else f'{account}: {place}'}: {why}"
             for account, place, why, _ in found[:SKIPS_LISTED]]
    more = f"\n… and {len(found) - SKIPS_LISTED} more" if len(found) > SKIPS_LISTED else ""
    return [Check("skipped inputs", HINT,
                  f"{len(found)} input(s) could not be read in the last 30 days:\n" + "\n".join(lines) + more,
                  "each was skipped alone: the rest of its account was read")]


def _writable(folder: Path) -> Check:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("state dir writable", FAIL, f"{folder}: {exc.strerror}",
                     f"chown $USER {folder} (or run circleback as the user that owns it)")
    return Check("state dir writable", PASS, str(folder))


def check_tokens(state_dir: Path) -> list[Check]:
    folder = state_dir / "tokens"
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    if not files:
        return [Check("token files", PASS, f"none in {folder} (no OAuth account, or not signed in yet)")]
    loose = [(p, stat.S_IMODE(p.stat().st_mode)) for p in files if stat.S_IMODE(p.stat().st_mode) & 0o077]
    if loose:
        names = ", ".join(f"{p.name} ({m:04o})" for p, m in loose)
        return [Check("token files", FAIL, f"readable by others: {names}", f"chmod 600 {folder}/*")]
    return [Check("token files", PASS, f"{len(files)} in {folder}, all 0600 or stricter")]


# -- accounts ---------------------------------------------------------------------------------


def check_accounts(settings: Settings, state_dir: Path | None, cli: str = "circleback") -> list[Check]:
    """Each account's connector and token; ``state_dir`` None: it is unusable, token checks are skipped."""
    if not settings.accounts:
        return [Check("accounts", FAIL, "no [[accounts]] in the config: nothing to read",
                      f"add one (`{cli} config init` writes a commented example); "
                      "`circleback demo` shows it working without one")]
    checks = []
    for account in settings.accounts:
        checks += safely(f"account {account.name}", check_account, settings, account, state_dir)
        if state_dir is None:
            checks += [skipped(f"token {account.name}")] if account.kind in OAUTH_KINDS else []
        else:
            checks += safely(f"token {account.name}", check_account_token, account, state_dir, cli)
    return checks


def check_account(settings: Settings, account: Any, state_dir: Path | None = None) -> Check:
    name = f"account {account.name}"
    try:
        only = settings.model_copy(update={"accounts": [account]})
        session.close_connectors(session.open_connectors(only, state_dir=state_dir))
    except (CirclebackError, OSError, ValueError, ImportError) as exc:
        return Check(name, FAIL, f"cannot set up the {account.kind} connector: {exc}", "fix the account's settings")
    if account.kind in LOCAL_KINDS:
        return _local_reachable(name, Path(account.path), writable=DRAFTS in KINDS[account.kind].roles)
    host = getattr(account, "host", None) or getattr(account, "url", None)
    if host is None:
        return Check(name, PASS, f"{account.kind} connector set up (no cheap probe for this kind)")
    return _network_reachable(name, account)


def check_account_token(account: Any, state_dir: Path | None, cli: str = "circleback") -> list[Check]:
    """Where an OAuth account's token is, looked up exactly as ``auth`` writes it and ``run`` reads it."""
    provider = _provider(account.kind)
    if provider == GOOGLE:
        from circleback.connectors.google.auth import token_path as where
    elif provider == MICROSOFT:
        from circleback.connectors.microsoft.auth import token_cache_path as where
    else:
        return []
    name = f"token {account.name}"
    home, found = where(account, state_dir, sign_in=True), where(account, state_dir)
    if not found.exists():
        return [Check(name, FAIL, f"no token at {home}: not signed in yet",
                      _sign_in(cli, account.name, account.kind))]
    if found != home:
        return [Check(name, HINT, f"found at {found}, outside the state directory (used as it is)",
                      f"mv {shlex.quote(str(found))} {shlex.quote(str(home))}")]
    return [Check(name, PASS, str(found))]


def _local_reachable(name: str, path: Path, *, writable: bool) -> Check:
    if not path.exists():
        return Check(name, FAIL, f"{path} does not exist", "create it, mount it, or correct `path` in the config")
    need = os.R_OK | (os.W_OK if writable else 0) | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, need):
        what = "readable and writable (drafts go there)" if writable else "readable"
        return Check(name, FAIL, f"{path} is not {what} by uid {os.getuid()}", f"chown or chmod {path}")
    return Check(name, PASS, f"{path} is there and usable")


def _network_reachable(name: str, account: Any) -> Check:
    """A TCP connection to the server: cheap, needs no password, and catches DNS and firewalls."""
    host, port = _host_port(account)
    try:
        with socket.create_connection((host, port), timeout=NETWORK_TIMEOUT):
            pass
    except OSError as exc:
        return Check(name, FAIL, f"cannot reach {host}:{port}: {exc}",
                     "check the host name, the port and the network (is this machine online?)")
    return Check(name, PASS, f"{host}:{port} answers (login is checked by the first sync)")


def _host_port(account: Any) -> tuple[str, int]:
    if getattr(account, "host", None):
        port = getattr(account, "effective_port", None) or getattr(account, "port", None) or 443
        return str(account.host), int(port)
    from urllib.parse import urlsplit

    url = urlsplit(str(account.url))
    return url.hostname or "", url.port or (443 if url.scheme == "https" else 80)


# -- the machine ------------------------------------------------------------------------------


def check_clock(state_dir: Path | None, now: datetime) -> Check:
    """The time is sane and not behind the state's files (``state_dir`` None: only the first)."""
    if now < EARLIEST_SANE:
        return Check("clock", FAIL, f"the system clock says {now:%Y-%m-%d}: before 2024",
                     "enable time sync: timedatectl set-ntp true")
    newest = _newest_mtime(state_dir.glob("*") if state_dir and state_dir.is_dir() else [])
    if newest and newest - now > FUTURE_TOLERANCE:
        return Check("clock", FAIL, f"state was written at {newest:%Y-%m-%d %H:%M}Z, after now "
                     f"({now:%Y-%m-%d %H:%M}Z): the clock jumped back", "timedatectl set-ntp true; then check the time")
    return Check("clock", PASS, f"{now:%Y-%m-%d %H:%M}Z")


def _newest_mtime(paths: Iterable[Path]) -> datetime | None:
    times = [p.stat().st_mtime for p in paths if p.is_file()]
    return datetime.fromtimestamp(max(times), UTC) if times else None


def check_versions(python: tuple[int, int] = sys.version_info[:2],
                   version_of: Callable[[str], str] = metadata.version) -> list[Check]:
    out = []
    if python >= (3, 11):
        out.append(Check("python", PASS, f"{python[0]}.{python[1]}"))
    else:
        out.append(Check("python", FAIL, f"{python[0]}.{python[1]}: circleback needs 3.11 or newer",
                         "install Python 3.11+ and reinstall circleback with it (pipx install circleback)"))
    try:
        jinja = version_of("jinja2")
    except metadata.PackageNotFoundError:
        jinja = ""
    parts = tuple(int(p) for p in jinja.split(".")[:2] if p.isdigit())
    if parts >= MIN_JINJA:
        out.append(Check("jinja2", PASS, jinja))
    else:
        out.append(Check("jinja2", FAIL, f"{jinja or 'not installed'}: the sandboxed templates need 3.1+",
                         "pip install -U 'jinja2>=3.1'"))
    return out


def check_unit(home: Path, system_dir: Path = Path("/etc/systemd/system")) -> Check:
    user_dir = home / ".config" / "systemd" / "user"
    for folder, target, how in ((user_dir, "default.target", "systemctl --user"),
                                (system_dir, "multi-user.target", "systemctl")):
        unit = folder / "circleback.service"
        if unit.exists():
            if (folder / f"{target}.wants" / "circleback.service").exists():
                return Check("systemd unit", PASS, f"{unit} installed and enabled")
            return Check("systemd unit", HINT, f"{unit} installed but not enabled",
                         f"{how} enable --now circleback")
    return Check("systemd unit", HINT, "not installed (fine if you run circleback another way)",
                 f"mkdir -p {user_dir} && circleback systemd-unit --user > {user_dir}/circleback.service && "
                 "systemctl --user daemon-reload && systemctl --user enable --now circleback")


def check_service_status(state_dir: Path, cli: str = "circleback") -> list[Check]:
    from .statusfile import ONCE_STATE, read_status

    status = read_status(state_dir)
    if not status:
        return []
    if status.get("reload_error"):
        return [Check("service", HINT, f"the running service rejected a config edit: {status['reload_error']}",
                      "fix the file; it reloads on save (or systemctl --user reload circleback)")]
    accounts = status.get("accounts", {})
    misconfigured = [n for n, a in accounts.items() if a.get("paused") and a.get("paused_for") == "configuration"]
    paused = [n for n, a in accounts.items() if a.get("paused") and n not in misconfigured]
    checks = []
    if misconfigured:
        why = "; ".join(f"{n}: {accounts[n].get('last_error') or 'see circleback status'}" for n in misconfigured)
        checks.append(Check("service", FAIL, f"paused, cannot work as configured: {why}",
                            "change what it says in the config; the service resumes the account when it reloads"))
    if paused:
        how = "; ".join(_sign_in(cli, n, accounts[n].get("kind", "")) for n in paused)
        if status.get("state") == ONCE_STATE:  # written by `run --once`, not by the service
            checks.append(Check("service", FAIL, f"the last `run --once` could not sign in: {', '.join(paused)}",
                                f"{how}; then run again"))
        else:
            checks.append(Check("service", FAIL, f"paused, credential revoked: {', '.join(paused)}",
                                f"{how}; then reload or restart circleback"))
    if checks:
        return checks
    if status.get("drafts_problem"):
        who = "the last `run --once`" if status.get("state") == ONCE_STATE else "the service's last cycle"
        return [Check("drafts", FAIL, f"{who} could not write drafts: {status['drafts_problem']}",
                      "fix what it says (the account's Drafts folder, [drafting] account, or your template); "
                      "the drafts are kept and written on the next run")]
    return [Check("service", PASS, f"{status.get('state')}: {status.get('summary')}")]


def _sign_in(cli: str, account: str, kind: str) -> str:
    """How to sign ``account`` in again: an ``auth`` command, or (IMAP, CalDAV) its login in the config."""
    provider = _provider(kind)
    if provider:
        return f"{cli} auth {provider} {shlex.quote(account)}"
    return f"correct {account}'s login or password in the config"


def _provider(kind: object) -> str:
    """Whose sign-in ``kind`` needs ("google", "microsoft"); "" for none, or for what the status file
    calls a kind and no longer is one."""
    found = KINDS.get(kind) if isinstance(kind, str) else None
    return found.provider if found else ""


def format_check(check: Check) -> list[str]:
    first, *rest = check.detail.splitlines() or [""]
    lines = [f"{check.outcome:4}  {check.name}: {first}", *(f"      {line}" for line in rest)]
    if check.fix and check.outcome in (FAIL, HINT):
        lines.append(f"      fix: {check.fix}")
    return lines
