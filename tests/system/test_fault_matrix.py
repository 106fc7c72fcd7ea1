"""Every cell of the fault matrix (tests/support/fault_matrix.py) names a test that exists: collect them all."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT
from tests.support.fault_matrix import CONNECTORS, FAULTS, SCENARIOS, UNTESTED


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


def _page_script() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("fault_matrix_page", ROOT / "benchmarks" / "fault_matrix.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fuzz_counts_are_read_from_both_hypothesis_statistics_formats() -> None:
    page = _page_script()
    target = "tests/system/test_faults_extra.py::test_fuzz_raw_headers_through_parser_and_draft_never_add_a_header"
    name = target.split("::")[1]
    older = f"{target}:\n\n  - during generate phase (12.50 seconds):\n" \
            "    - 9000 passing examples, 2 failing examples, 31 invalid examples\n"
    newer = f"{target}:\n\n  - during generate phase (365.20 seconds):\n" \
            "    - 100000 passing, 0 failing, and 1048 invalid test cases\n"
    runs: dict[str, list[dict]] = {"fuzz": []}

    page.add_fuzz(runs, older, {target: ("failed", "")}, 10_000, 20, "cmd")  # type: ignore[attr-defined]
    page.add_fuzz(runs, newer, {name: ("passed", "")}, 100_000, 400, "cmd")  # type: ignore[attr-defined]

    [run] = runs["fuzz"]  # the longer run replaces the shorter one
    assert (run["examples"], run["passing"], run["failing"], run["invalid"]) == (100_000, 100_000, 0, 1048)
    assert (run["outcome"], run["seconds"]) == ("passed", 365)


def test_the_quick_mode_prints_the_recorded_figures_on_its_last_line_and_writes_nothing() -> None:
    page = (ROOT / "docs" / "reliability.md").read_bytes()
    out = subprocess.run([sys.executable, "benchmarks/fault_matrix.py", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    figures = dict(pair.split("=") for pair in out.stdout.splitlines()[-1].split())
    assert {"cells_passed", "cells_failed", "unrecorded", "chaos_kills_min", "fuzz_examples_min"} <= set(figures)
    assert int(figures["cells_passed"]) + int(figures["cells_failed"]) + int(figures["known_gaps"]) \
        + int(figures["cells_skipped"]) == len(FAULTS)
    assert (ROOT / "docs" / "reliability.md").read_bytes() == page
