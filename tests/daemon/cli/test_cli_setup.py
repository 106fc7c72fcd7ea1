"""`circleback config init` and `circleback systemd-unit`: the packaged files, written or printed right."""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from circleback.daemon.app import session
from circleback.daemon.cli import setup as cli_setup
from circleback.daemon.cli.setup import config_init, packaged_file, systemd_quote, systemd_unit, unit_text
from circleback.daemon.config import load_settings
from tests.support import ROOT

PACKAGED = [cli_setup.EXAMPLE_CONFIG, *cli_setup.UNIT_FILES.values()]


def cli() -> click.Group:
    config = click.Group("config", commands={"init": config_init})
    return click.Group("circleback", commands={"config": config, "systemd-unit": systemd_unit})


def context(config: Path, state: Path | None = None) -> SimpleNamespace:
    return SimpleNamespace(config_path=config, state_dir=state or session.default_state_dir())


# --- package data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PACKAGED)
def test_the_packaged_files_are_found_through_importlib_resources(name: str) -> None:
    assert packaged_file(name).read_bytes() == (ROOT / name).read_bytes()


@pytest.mark.parametrize("name", PACKAGED)
def test_pyproject_ships_every_file_the_commands_read(name: str) -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"]["circleback"] == "."
    assert any(fnmatch.fnmatch(name, pattern) for pattern in setuptools["package-data"]["circleback"])


# --- config init -------------------------------------------------------------------------------------


def test_config_init_writes_the_example_0600_and_says_what_next(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    obj = context(path)

    out = CliRunner().invoke(cli(), ["config", "init"], obj=obj)

    assert out.exit_code == 0, out.output
    assert path.read_bytes() == (ROOT / "config.example.toml").read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert f"Wrote {path}" in out.output and f"circleback --config {path} config check" in out.output
    assert load_settings(path).accounts  # what it writes is a config circleback accepts


def test_config_init_makes_every_missing_folder_0700_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "home" / ".config" / "circleback" / "config.toml"
    old = os.umask(0o022)
    try:
        out = CliRunner().invoke(cli(), ["config", "init"], obj=context(path))
    finally:
        os.umask(old)

    assert out.exit_code == 0, out.output
    made = [tmp_path / "home", tmp_path / "home" / ".config", path.parent]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in made} == {p.name: 0o700 for p in made}


def test_config_init_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n")

    out = CliRunner().invoke(cli(), ["config", "init"], obj=context(path))

    assert out.exit_code == 1 and f"{path} already exists" in out.output
    assert path.read_text() == "# mine\n"


def test_config_init_names_the_state_dir_in_its_next_steps(tmp_path: Path) -> None:
    path, state = tmp_path / "my config.toml", tmp_path / "st"

    out = CliRunner().invoke(cli(), ["config", "init"], obj=context(path, state))

    assert out.exit_code == 0, out.output
    assert f"circleback --config '{path}' --state-dir {state} auth google|microsoft NAME" in out.output


def test_a_failed_write_leaves_no_file_and_the_next_init_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    real_fsync = os.fsync

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(cli_setup.os, "fsync", disk_full)
    out = CliRunner().invoke(cli(), ["config", "init"], obj=context(path))

    assert out.exit_code == 1 and f"{path}: cannot write the config: No space left on device" in out.output
    assert list(tmp_path.iterdir()) == []  # neither the config nor the temp file
    monkeypatch.setattr(cli_setup.os, "fsync", real_fsync)
    again = CliRunner().invoke(cli(), ["config", "init"], obj=context(path))
    assert again.exit_code == 0, again.output
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_config_init_given_a_folder_or_a_file_for_a_folder_says_so(tmp_path: Path) -> None:
    folder = CliRunner().invoke(cli(), ["config", "init"], obj=context(tmp_path))
    (tmp_path / "file").write_text("")
    under_file = CliRunner().invoke(cli(), ["config", "init"], obj=context(tmp_path / "file" / "c.toml"))

    assert folder.exit_code == 1 and f"{tmp_path} is a folder; give --config the path of the file" in folder.output
    assert under_file.exit_code == 1 and "cannot write the config: Not a directory" in under_file.output
    assert "already exists" not in folder.output + under_file.output


# --- systemd-unit --------------------------------------------------------------------------------------


def exec_start(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("ExecStart="))


def installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, script: str = "/opt/cb/bin/circleback",
              python: str = "/usr/bin/python3.11", code: str = "/opt/cb/lib/python3.11/site-packages/circleback",
              ) -> None:
    """Pretend circleback is installed there; ``python`` is where the venv's python symlink leads."""
    link = tmp_path / "venv" / "bin" / "python3"
    link.parent.mkdir(parents=True)
    link.symlink_to(python)
    monkeypatch.setattr(cli_setup, "circleback_command", lambda: [script])
    monkeypatch.setattr(sys, "executable", str(link))
    monkeypatch.setattr(cli_setup, "code_folder", lambda: Path(code))


@pytest.mark.parametrize(("flag", "unit"),
                         [("--user", "circleback.service"), ("--system", "circleback-system.service")])
def test_the_unit_runs_this_installation(flag: str, unit: str, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    installed(monkeypatch, tmp_path)
    shipped = (ROOT / "systemd" / unit).read_text()

    out = CliRunner().invoke(cli(), ["systemd-unit", flag])

    assert out.exit_code == 0, out.output
    assert exec_start(out.output).startswith("ExecStart=/opt/cb/bin/circleback ")
    # Only the executable changes: the arguments and every other line are the shipped unit's.
    assert exec_start(out.output).split(" ", 1)[1:] == exec_start(shipped).split(" ", 1)[1:]
    assert out.output.replace(exec_start(out.output), "") == shipped.replace(exec_start(shipped), "")


def test_user_is_the_default_and_no_home_path_is_left() -> None:
    out = CliRunner().invoke(cli(), ["systemd-unit"])

    assert "WantedBy=default.target" in out.output and "%h/.local/bin" not in exec_start(out.output)


def test_the_command_is_the_script_beside_this_python_or_python_dash_m(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    script = tmp_path / "bin" / "circleback"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python3"))
    assert cli_setup.circleback_command() == [str(script)]

    script.unlink()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli_setup.circleback_command() == [str(tmp_path / "bin" / "python3"), "-m", "circleback.daemon.cli"]


def test_unusual_paths_are_quoted_for_systemd() -> None:
    assert systemd_quote("/opt/cb/bin/circleback") == "/opt/cb/bin/circleback"
    assert systemd_quote("/home/a b/100%/$x/circleback") == '"/home/a b/100%%/$$x/circleback"'
    assert exec_start(unit_text("user", ["/a b/python", "-m", "circleback.daemon.cli"])) == (
        'ExecStart="/a b/python" -m circleback.daemon.cli run'
    )


def test_a_system_unit_for_a_copy_under_home_warns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    installed(monkeypatch, tmp_path, script="/home/me/.venv/bin/circleback")

    out = CliRunner().invoke(cli(), ["systemd-unit", "--system"])
    user = CliRunner().invoke(cli(), ["systemd-unit", "--user"])

    assert out.exit_code == 0 and "ExecStart=/home/me/.venv/bin/circleback " in out.stdout
    assert out.stderr.splitlines()[0] == ("warning: /home/me/.venv/bin/circleback (the circleback command) is under "
                                          "/home, which this unit's sandbox hides from the service")
    assert "warning" not in out.stdout
    assert user.stderr == ""  # a user unit may run from the home directory


def test_a_system_unit_warns_of_a_python_or_code_the_sandbox_hides(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    # A venv in /opt whose python leads into /root/.pyenv, running an editable install's checkout in /tmp.
    installed(monkeypatch, tmp_path, python="/root/.pyenv/versions/3.11.7/bin/python3.11", code="/tmp/src/circleback")

    system = CliRunner().invoke(cli(), ["systemd-unit", "--system"])
    user = CliRunner().invoke(cli(), ["systemd-unit", "--user"])

    assert system.exit_code == 0
    assert system.stderr.splitlines()[:2] == [
        "warning: /root/.pyenv/versions/3.11.7/bin/python3.11 (the Python it runs on) is under /root, "
        "which this unit's sandbox hides from the service",
        "warning: /tmp/src/circleback (circleback's code) is under /tmp, which this unit's sandbox hides from "
        "the service",
    ]
    assert "/opt/cb/bin/circleback" not in system.stderr  # the script itself is fine
    assert user.stderr.splitlines()[0].startswith("warning: /tmp/src/circleback (circleback's code) is under /tmp")
    assert "/root" not in user.stderr  # a user unit does not hide the home directory


def test_a_user_unit_runs_with_the_config_and_state_dir_given_to_it(monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    installed(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    obj = context(Path("mine.toml"), Path("state"))

    out = CliRunner().invoke(cli(), ["systemd-unit", "--user"], obj=obj)

    assert out.exit_code == 0, out.output
    assert exec_start(out.stdout) == (f"ExecStart=/opt/cb/bin/circleback --config {tmp_path / 'mine.toml'} "
                                      f"--state-dir {tmp_path / 'state'} run")
    assert f"{tmp_path / 'state'} is under /tmp" in out.stderr  # the user unit's PrivateTmp hides it


def test_a_system_unit_keeps_its_own_locations_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    installed(monkeypatch, tmp_path)
    shipped = (ROOT / "systemd" / "circleback-system.service").read_text()

    out = CliRunner().invoke(cli(), ["systemd-unit", "--system"],
                                             obj=context(tmp_path / "mine.toml"))

    assert exec_start(out.stdout).split(" ", 1)[1] == exec_start(shipped).split(" ", 1)[1]
    assert "the --config/--state-dir given here are not in it" in out.stderr
