"""Every command's --help teaches: a description and at least one example."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from circleback.daemon.cli import main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append((path, cmd))
        if isinstance(cmd, click.Group):
            found += all_commands(cmd, path)
    return found


COMMANDS = all_commands(main)


def test_the_main_help_says_where_to_start() -> None:
    out = CliRunner().invoke(main, ["--help"])
    assert out.exit_code == 0
    assert "circleback demo" in out.output and "never sends" in out.output.lower()


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_is_documented_with_an_example(path: tuple[str, ...], cmd: click.Command) -> None:
    out = CliRunner().invoke(main, [*path, "--help"])
    assert out.exit_code == 0, out.output
    assert cmd.help and len(cmd.help.split()) >= 5, f"{' '.join(path)} needs a real description"
    if not isinstance(cmd, click.Group):
        assert "Example" in out.output, f"'circleback {' '.join(path)} --help' shows no example"
