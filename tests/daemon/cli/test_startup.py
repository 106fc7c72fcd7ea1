"""What a quick command imports: the guarantee behind ``status_startup_ms`` (benchmarks/core.py).

``circleback status`` and friends are run by hand and by scripts, so their start-up is
mostly imports. The provider SDKs, rich, jinja2 and pydantic-settings are each tens of
milliseconds; these tests run the real command in a fresh interpreter and look at
``sys.modules`` when it exits, so a new eager import anywhere on the path fails here
rather than quietly slowing every command down. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from circleback.connectors.registry import KINDS
from tests.support import ROOT

EXAMPLE = ROOT / "config.example.toml"

# Runs the CLI as ``python -m circleback.daemon.cli`` would, then writes the loaded module names to argv[1].
_WRAPPER = """
import json, runpy, sys
out, sys.argv = sys.argv[1], ["circleback", *sys.argv[2:]]
code = 0
try:
    runpy.run_module("circleback.daemon.cli", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""

PROVIDER_SDKS = ("googleapiclient", "google_auth_oauthlib", "msal", "imapclient", "caldav", "requests",
                 "icalendar", "httplib2")
CONNECTORS = tuple(kind.connector.partition(":")[0] for kind in KINDS.values())  # the modules, imported on first use
HEAVY = (*PROVIDER_SDKS, *CONNECTORS, "rich", "jinja2", "pydantic_settings")


def run_cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                                                     set[str]]:
    modules_file = tmp_path / "modules.json"
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("CIRCLEBACK_")}
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(modules_file), *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**clean, **(env or {})},
    )
    return proc, set(json.loads(modules_file.read_text()))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The names in ``names`` that were imported, as packages or any of their submodules."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def common(tmp_path: Path) -> list[str]:
    return ["--config", str(EXAMPLE), "--state-dir", str(tmp_path / "state"), "-q"]


def test_status_json_imports_no_sdk_nor_rich(tmp_path: Path) -> None:
    proc, modules = run_cli(tmp_path, *common(tmp_path), "status", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []  # a fresh ledger: nobody yet
    assert loaded(modules, HEAVY) == []
    assert "circleback.daemon.core.planner" in modules  # the check itself sees the modules status does use


@pytest.mark.parametrize("args", [["config", "check"], ["config", "path"], ["--help"]], ids=" ".join)
def test_other_quick_commands_stay_light(tmp_path: Path, args: list[str]) -> None:
    proc, modules = run_cli(tmp_path, *common(tmp_path), *args)
    assert proc.returncode == 0, proc.stderr
    assert loaded(modules, HEAVY) == []


def test_the_table_view_still_loads_rich(tmp_path: Path) -> None:
    proc, modules = run_cli(tmp_path, *common(tmp_path), "status")
    assert proc.returncode == 0, proc.stderr
    assert "circleback status" in proc.stdout and "Drafts waiting for you: 0." in proc.stdout
    assert "rich" in modules and loaded(modules, PROVIDER_SDKS) == []


def test_a_setting_in_the_environment_is_still_read(tmp_path: Path) -> None:
    """pydantic-settings is imported only for such a variable, and still does the parsing."""
    proc, modules = run_cli(tmp_path, "--config", str(EXAMPLE), "config", "path",
                            env={"CIRCLEBACK_STATE_DIR": str(tmp_path / "s")})
    assert proc.returncode == 0, proc.stderr
    assert "pydantic_settings" not in modules  # CIRCLEBACK_STATE_DIR is the CLI's own option, not a setting

    bad = {"CIRCLEBACK_DRAFTING__BUDGET_PER_WEEK": "lots"}
    proc, modules = run_cli(tmp_path, *common(tmp_path), "config", "check", env=bad)
    assert proc.returncode == 78
    assert "drafting.budget_per_week" in proc.stderr
    assert "pydantic_settings" in modules
