"""Every cell of the fault matrix (tests/fault_matrix.py) names a test that exists: collect them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fault_matrix import CONNECTORS, FAULTS, SCENARIOS, UNTESTED

ROOT = Path(__file__).resolve().parent.parent


def test_cells_use_known_connectors_and_scenarios() -> None:
    assert {connector for _, connector in FAULTS} <= set(CONNECTORS)
    assert set(SCENARIOS) == {scenario for scenario, _ in FAULTS}
    assert all(node.startswith("tests/") and "::" in node for node in FAULTS.values())
    assert not set(UNTESTED) & set(FAULTS), "a cell with a test is no longer untested"
    assert {s for s, _ in UNTESTED} <= set(SCENARIOS) and {c for _, c in UNTESTED} <= set(CONNECTORS)


def test_every_registered_node_id_is_collected() -> None:
    nodes = sorted(set(FAULTS.values()))
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *nodes],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    collected = {line.strip() for line in out.stdout.splitlines() if "::" in line}
    missing = [n for n in nodes if n not in collected and not any(c.startswith(n + "[") for c in collected)]
    assert not missing, f"fault matrix cells name tests that do not exist: {missing}\n{out.stdout[-3000:]}"
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
