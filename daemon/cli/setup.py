"""``circleback config init`` and ``circleback systemd-unit``: a first install's files, from the package.

``config.example.toml`` and the unit files in ``systemd/`` are package data of
``circleback`` (``pyproject.toml``), so an install without the source tree has
them too. ``daemon/cli.py`` registers the commands (``config.add_command(config_init)``,
``main.add_command(systemd_unit)``) and imports this module for every command,
``status`` included: nothing here is imported before a command runs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from circleback.connectors.tokens import private_dirs

from ..app.suggest import command_prefix

EXAMPLE_CONFIG = "config.example.toml"
UNIT_FILES = {"user": "systemd/circleback.service", "system": "systemd/circleback-system.service"}
# What each unit's sandbox hides from the service: PrivateTmp= in both, ProtectHome= in the system unit.
_TEMP = ("/tmp", "/var/tmp")  # noqa: S108 - folders to warn about, not to write to
HIDDEN_FROM = {"user": _TEMP, "system": ("/home", "/root", "/run/user", *_TEMP)}
_EXEC_START = re.compile(r"^ExecStart=\S+", re.MULTILINE)


def packaged_file(name: str) -> Path:
    """A file shipped with circleback: ``config.example.toml`` or ``systemd/<unit>``.

    They sit in the ``circleback`` package, which has no ``__init__.py``. On Python
    3.11 importlib.resources cannot open that namespace package under an editable
    install (its placeholder path entry is not a directory), so the lookup starts at
    the regular package ``circleback.daemon`` and goes up one level: the same folder
    in a wheel install, an editable install and a source checkout.
    """
    from importlib import resources

    return Path(str(resources.files("circleback.daemon"))).parent / name


def read_packaged(name: str) -> bytes:
    path = packaged_file(name)
    try:
        return path.read_bytes()
    except OSError:
        raise click.ClickException(f"{path} is missing from this installation; reinstall circleback") from None


# -- config init ------------------------------------------------------------------------------------


def write_example_config(path: Path) -> None:
    """The example config at ``path``, 0600 from the first byte; FileExistsError if there is one.

    Written whole or not at all: a temp file beside it (mkstemp makes it 0600), synced, then
    linked into place, which fails if ``path`` exists. A full disk leaves no half a config
    that the next ``init`` would refuse to replace.
    """
    text = read_packaged(EXAMPLE_CONFIG)
    try:
        private_dirs(path.parent)  # every folder it makes 0700, not only the last
    except FileExistsError:  # a file where the folder should be: not "the config already exists"
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)) from None
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        _link_new(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):  # moved into place where links are not supported
            os.unlink(temp)


def _link_new(temp: str, path: Path) -> None:
    """``temp`` also at ``path``, never over an existing file."""
    try:
        os.link(temp, path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP):
            raise
        # No hard links on this file system (vfat, some FUSE mounts): look, then rename. Only
        # another `config init` in the same instant could slip in between.
        if path.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(path)) from None
        os.rename(temp, path)


@click.command("init")
@click.pass_obj
def config_init(obj: Any) -> None:
    """Write a commented example config (0600) where circleback looks for it; never overwrites.

    \b
    Example:
      circleback config init
      circleback --config ./trial.toml config init
    """
    path = Path(obj.config_path)
    if path.is_dir():
        raise click.ClickException(f"{path} is a folder; give --config the path of the file to write, "
                                   f"e.g. --config {path / 'config.toml'}")
    try:
        write_example_config(path)
    except FileExistsError:
        raise click.ClickException(f"{path} already exists; edit it, or move it away to start again") from None
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot write the config: {exc.strerror}") from None
    cmd = command_prefix(path, obj.state_dir)
    click.echo(f"Wrote {path} (mode 0600), the documented example. Next:\n"
               "  1. edit it:          your name, addresses and time zone under [me], then your [[accounts]]\n"
               f"  2. check it:         {cmd} config check\n"
               f"  3. sign in:          {cmd} auth google|microsoft NAME   (gmail, google_calendar, outlook)\n"
               f"  4. one cycle:        {cmd} run --once, then {cmd} status\n"
               "  5. keep it running:  circleback systemd-unit --user   (its first lines say where it goes)")


# -- systemd-unit -------------------------------------------------------------------------------------


def circleback_command() -> list[str]:
    """This installation's command: the script beside the interpreter, else on PATH, else ``python -m``."""
    import shutil

    beside = Path(sys.executable).parent / "circleback"  # not resolved: a venv's python is a symlink
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("circleback")
    if found:
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "circleback.daemon.cli"]


def systemd_quote(word: str) -> str:
    """One ExecStart= word: % and $ doubled (specifiers, variables), quoted if it has blanks or quotes."""
    word = word.replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\;]", word):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def unit_text(scope: str, command: list[str]) -> str:
    """The packaged unit for ``scope`` ("user" or "system") with ExecStart= running ``command``."""
    text = read_packaged(UNIT_FILES[scope]).decode("utf-8")
    exec_start = "ExecStart=" + " ".join(systemd_quote(w) for w in command)
    return _EXEC_START.sub(lambda _: exec_start, text, count=1)


def hidden_by_sandbox(scope: str, path: str) -> str:
    """The folder holding ``path`` that the unit's sandbox hides, or ""."""
    return next((d for d in HIDDEN_FROM[scope] if Path(path).is_relative_to(d)), "")


def what_the_service_runs(command: list[str]) -> dict[str, str]:
    """Each path the service needs to see, and what it is.

    Not only the script: a venv's python is a symlink that may resolve into /root/.pyenv, and an
    editable install imports its code from the source checkout, wherever that is.
    """
    return {command[0]: "the circleback command",
            str(Path(sys.executable).resolve()): "the Python it runs on",
            str(code_folder()): "circleback's code"}


def code_folder() -> Path:
    """Where circleback's code is imported from: site-packages, or an editable install's checkout."""
    return packaged_file("").resolve()  # the ``circleback`` package folder (see packaged_file)


def sandbox_warnings(scope: str, command: list[str]) -> list[str]:
    """One line for each path the service needs that the unit's sandbox hides."""
    lines = []
    for path, what in what_the_service_runs(command).items():
        hidden = hidden_by_sandbox(scope, path)
        if hidden:
            lines.append(f"warning: {path} ({what}) is under {hidden}, which this unit's sandbox hides from "
                         "the service")
    if lines:
        lines.append("warning: install circleback outside it (e.g. a venv in /opt or /usr/local, not an editable "
                     "install) before enabling the unit")
    return lines


@click.command("systemd-unit")
@click.option("--user", "scope", flag_value="user", default=True,
              help="A user service (default): ~/.config/systemd/user/circleback.service.")
@click.option("--system", "scope", flag_value="system",
              help="A sandboxed system service for a dedicated user: /etc/systemd/system/circleback.service.")
@click.pass_obj
def systemd_unit(obj: Any, scope: str) -> None:
    """Print the systemd unit, its ExecStart= naming this installation's circleback.

    The instructions are at the top of the unit; redirect the output to the file they name.

    \b
    Example:
      mkdir -p ~/.config/systemd/user
      circleback systemd-unit --user > ~/.config/systemd/user/circleback.service
      systemctl --user daemon-reload && systemctl --user enable --now circleback
      circleback systemd-unit --system | sudo tee /etc/systemd/system/circleback.service

    A --config or --state-dir given before systemd-unit goes into a user unit's ExecStart=, so the
    service reads the same file and ledger as your commands; the system unit keeps its own
    (/etc/circleback, /var/lib/circleback).
    """
    command = circleback_command()
    chosen = chosen_locations(obj)
    if scope == "user":
        command = [*command, *chosen]
    click.echo(unit_text(scope, command), nl=False)
    for line in sandbox_warnings(scope, command):
        click.echo(line, err=True)
    for path in chosen[1::2] if scope == "user" else ():
        if hidden := hidden_by_sandbox(scope, path):
            click.echo(f"warning: {path} is under {hidden}, which this unit's sandbox hides from the service",
                       err=True)
    if scope == "system" and chosen:
        click.echo("warning: the system unit reads /etc/circleback/config.toml and keeps its state in "
                   "/var/lib/circleback; the --config/--state-dir given here are not in it", err=True)


def chosen_locations(obj: Any) -> list[str]:
    """``--config``/``--state-dir`` with absolute paths, for those this run did not leave at the default."""
    from ..app import session

    words: list[str] = []
    for option, given, default in (
        ("--config", getattr(obj, "config_path", None), session.default_config_path()),
        ("--state-dir", getattr(obj, "state_dir", None), session.default_state_dir()),
    ):
        if given is not None and Path(given) != default:
            words += [option, os.path.abspath(given)]
    return words
