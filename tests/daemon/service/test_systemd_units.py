"""The unit files in systemd/: what the service code relies on, and what systemd-analyze says.

systemd-analyze comes from the Debian package ``systemd``. Without it these checks skip
with one line, except under CI=true where a missing tool is a failure.

``verify`` checks that ExecStart= names an existing executable; the units name the
installed paths (/usr/local/bin/circleback, %h/.local/bin/circleback), so the test
verifies a copy whose ExecStart points at this environment's ``circleback`` (or the
Python interpreter). ``--user`` needs a runtime directory even offline: a temp one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from circleback.daemon.errors import AllAccountsRevoked, ConfigError
from tests.support import ROOT

UNITS = ROOT / "systemd"
SYSTEM_UNIT = UNITS / "circleback-system.service"
USER_UNIT = UNITS / "circleback.service"
MAX_EXPOSURE = 1.5


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) in order; systemd allows a key more than once, so no configparser."""
    section, out = "", []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def values(path: Path, key: str) -> list[str]:
    return [v for s, k, v in unit_entries(path) if s == "Service" and k == key]


@pytest.fixture(scope="module")
def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing under CI=true: apt-get install -y systemd")
        pytest.skip("systemd-analyze not installed (Debian package: systemd)")
    return tool


def runnable_copy(unit: Path, folder: Path, name: str = "circleback.service") -> Path:
    """The unit with ExecStart='s binary replaced by one that exists here."""
    binary = shutil.which("circleback") or sys.executable
    text = re.sub(r"^(ExecStart=)\S+", lambda m: m.group(1) + binary, unit.read_text(), flags=re.M)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_text(text)
    return target


def run_analyze(tool: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""}
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, env=env)


# -- what the service code relies on -----------------------------------------------------------


@pytest.mark.parametrize("unit", [SYSTEM_UNIT, USER_UNIT], ids=["system", "user"])
def test_units_match_what_the_service_speaks(unit: Path) -> None:
    assert values(unit, "Type") == ["notify"]
    assert values(unit, "NotifyAccess") == ["main"]
    assert values(unit, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert values(unit, "WatchdogSec") and values(unit, "Restart") == ["on-failure"]
    codes = set(values(unit, "RestartPreventExitStatus")[0].split())
    assert codes == {str(ConfigError.exit_code), str(AllAccountsRevoked.exit_code)} == {"78", "77"}
    assert values(unit, "UMask") == ["0077"]
    assert values(unit, "ExecStart")[0].endswith(" run")


def test_system_unit_is_sandboxed_but_keeps_the_network() -> None:
    expected = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
        "NoNewPrivileges": "yes", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "", "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
        "ProtectClock": "yes", "ProtectHostname": "yes", "RestrictNamespaces": "yes", "LockPersonality": "yes",
        "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "PrivateUsers": "yes", "ProcSubset": "pid",
        "ProtectProc": "invisible", "SystemCallArchitectures": "native", "StateDirectory": "circleback",
        "ConfigurationDirectory": "circleback", "User": "circleback",
    }
    for key, value in expected.items():
        assert values(SYSTEM_UNIT, key) == [value], key
    assert "@system-service" in values(SYSTEM_UNIT, "SystemCallFilter")
    assert not values(SYSTEM_UNIT, "IPAddressDeny") and not values(SYSTEM_UNIT, "PrivateNetwork")
    assert "${STATE_DIRECTORY}" in values(SYSTEM_UNIT, "ExecStart")[0]


# -- systemd-analyze ----------------------------------------------------------------------------


def test_system_unit_exposure_is_at_most_1_5(analyze: str, tmp_path: Path) -> None:
    out = run_analyze(analyze, "security", "--offline=true", "--threshold=15", str(SYSTEM_UNIT), tmp_path=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout).group(1))
    assert score <= MAX_EXPOSURE, out.stdout


@pytest.mark.parametrize(("unit", "mode"), [(SYSTEM_UNIT, "--system"), (USER_UNIT, "--user")], ids=["system", "user"])
def test_units_verify_cleanly(analyze: str, tmp_path: Path, unit: Path, mode: str) -> None:
    copy = runnable_copy(unit, tmp_path / "units")
    out = run_analyze(analyze, "verify", mode, "--man=no", str(copy), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "", out.stderr  # a warning (unknown key, bad value) is a failure too


def test_verify_would_catch_a_typo(analyze: str, tmp_path: Path) -> None:
    copy = runnable_copy(SYSTEM_UNIT, tmp_path / "units")
    copy.write_text(copy.read_text().replace("Type=notify", "Tpye=notify"))
    out = run_analyze(analyze, "verify", "--man=no", str(copy), tmp_path=tmp_path)
    assert "Tpye" in out.stderr
