"""Write docs/reliability.md from the tests themselves: the fault matrix, the chaos and the fuzz counts.

    python benchmarks/fault_matrix.py                      # run the matrix's tests, rewrite the page
    python benchmarks/fault_matrix.py --quick              # no test run, nothing written: the recorded figures
    python benchmarks/fault_matrix.py --chaos-kills 1000   # also run the chaos long mode, record its counts
    python benchmarks/fault_matrix.py --fuzz-examples 100000  # also run the fuzz targets that long
    python benchmarks/fault_matrix.py --add-chaos FILE     # record a long run done by hand
                                                           # (CIRCLEBACK_CHAOS_RESULTS=FILE pytest tests/system/chaos)
    python benchmarks/fault_matrix.py --add-fuzz-log LOG --fuzz-examples N  # record a fuzz run done by hand
                                                           # (pytest ... --hypothesis-show-statistics > LOG)

The table runs exactly the node ids in tests/support/fault_matrix.py (``pytest -rA --junitxml``) and reads
the JUnit XML: ✓ every case passed, ✗ a case failed (or is a strict xfail: a known gap),
○ skipped here (e.g. no Dovecot), — no test because the fault cannot happen there.
Long-run counts are kept in docs/reliability-runs.json, so a plain rerun keeps them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET  # noqa: S405 - our own pytest's report
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fault_matrix import CONNECTORS, FAULTS, NOT_APPLICABLE, SCENARIOS, UNTESTED  # noqa: E402

PAGE = ROOT / "docs" / "reliability.md"
RUNS = ROOT / "docs" / "reliability-runs.json"
FUZZ_TARGETS = (
    "tests/daemon/core/test_message.py::test_hostile_names_and_subjects_never_add_a_header",
    "tests/daemon/core/test_message.py::test_clean_header_value_leaves_one_safe_line",
    "tests/system/test_faults_extra.py::test_fuzz_raw_headers_through_parser_and_draft_never_add_a_header",
)
SYMBOL = {"passed": "✓", "failed": "✗", "xfailed": "✗", "skipped": "○"}


# -- running the tests ---------------------------------------------------------------------------------


def run_pytest(nodes: list[str], env: dict[str, str] | None = None, extra: list[str] | None = None) -> Path:
    xml = Path(tempfile.mkdtemp(prefix="cb-faults-")) / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", f"--junitxml={xml}",
           *(extra or []), *nodes]
    subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, check=False)
    return xml


def node_of(case: ET.Element) -> str:
    return case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")


def outcome_of(case: ET.Element) -> tuple[str, str]:
    for tag in ("failure", "error"):
        found = case.find(tag)
        if found is not None:
            return "failed", (found.get("message") or "")[:200]
    skipped = case.find("skipped")
    if skipped is not None:
        kind = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        return kind, skipped.get("message") or ""
    return "passed", ""


def read_junit(xml: Path) -> dict[str, tuple[str, str]]:
    tree = ET.parse(xml)  # noqa: S314 - written a moment ago by our own pytest run
    return {node_of(case): outcome_of(case) for case in tree.iter("testcase")}


NOT_RUN = "not run (not collected?)"


def cell_outcome(node: str, results: dict[str, tuple[str, str]]) -> tuple[str, str, int]:
    """(outcome, note, cases) for one registered node id, over all its parameters."""
    cases = [(n, r) for n, r in results.items() if n == node or n.startswith(node + "[")]
    if not cases:
        return "failed", NOT_RUN, 0
    for worst in ("failed", "xfailed", "skipped"):
        hit = [r for _, r in cases if r[0] == worst]
        if hit:
            return worst, hit[0][1], len(cases)
    return "passed", "", len(cases)


# -- links -----------------------------------------------------------------------------------------------


def link(node: str) -> str:
    path, _, name = node.partition("::")
    func = name.split("[", 1)[0]
    line = ""
    try:
        for number, text in enumerate((ROOT / path).read_text().splitlines(), 1):
            if re.match(rf"\s*def {re.escape(func)}\(", text):
                line = f"#L{number}"
                break
    except OSError:
        pass
    return f"../{path}{line}"


# -- long runs ---------------------------------------------------------------------------------------


def load_runs() -> dict[str, list[dict]]:
    if RUNS.exists():
        return json.loads(RUNS.read_text())
    return {"chaos": [], "fuzz": []}


def save_runs(runs: dict[str, list[dict]]) -> None:
    RUNS.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n")


def add_chaos(runs: dict[str, list[dict]], path: Path, command: str) -> None:
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            runs["chaos"] = [r for r in runs["chaos"] if r["backend"] != row["backend"] or r["kills"] >= row["kills"]]
            if not any(r["backend"] == row["backend"] for r in runs["chaos"]):
                runs["chaos"].append({**row, "date": day, "command": command})


def run_chaos(runs: dict[str, list[dict]], kills: int, only: str) -> None:
    results = Path(tempfile.mkdtemp(prefix="cb-chaos-")) / "chaos.jsonl"
    extra = ["-m", "chaos", "-s"] + (["-k", only] if only else [])
    env = {"CIRCLEBACK_CHAOS_KILLS": str(kills), "CIRCLEBACK_CHAOS_RESULTS": str(results)}
    run_pytest(["tests/system/chaos"], env, extra)
    if results.exists():
        add_chaos(runs, results, f"CIRCLEBACK_CHAOS_KILLS={kills} python -m pytest tests/system/chaos -m chaos"
                  + (f" -k {only}" if only else ""))


def add_fuzz(runs: dict[str, list[dict]], stats: str, outcomes: dict[str, tuple[str, str]], examples: int,
             seconds: float, command: str) -> None:
    """``stats`` is pytest's --hypothesis-show-statistics output; ``outcomes`` by node id (or test name)."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    for block in re.split(r"\n(?=\S+::test_)", stats):
        head = block.split(":\n", 1)[0].strip()
        if "::test_" not in head:
            continue
        name = head.split("::")[-1].strip(":")
        # Hypothesis has printed both "- 10 passing examples, 0 failing examples, 3 invalid examples"
        # and "- 10 passing, 0 failing, and 3 invalid test cases".
        passing = sum(int(n) for n in re.findall(r"- (\d+) passing\b", block))
        failing = sum(int(n) for n in re.findall(r"(\d+) failing\b", block))
        invalid = sum(int(n) for n in re.findall(r"(\d+) invalid\b", block))
        phases = sum(float(n) for n in re.findall(r"during \w+ phase \(([\d.]+) seconds\)", block))
        node = next((n for n in FUZZ_TARGETS if n.endswith("::" + name)), head)
        outcome = next((o for n, (o, _) in outcomes.items() if n.split("::")[-1] == name), "unknown")
        runs["fuzz"] = [r for r in runs["fuzz"] if r["test"] != node or r["examples"] > examples]
        if not any(r["test"] == node for r in runs["fuzz"]):
            runs["fuzz"].append({"test": node, "examples": examples, "passing": passing, "failing": failing,
                                 "invalid": invalid, "outcome": outcome, "seconds": round(phases or seconds),
                                 "date": day, "command": command})


def run_fuzz(runs: dict[str, list[dict]], examples: int) -> None:
    started = time.perf_counter()
    xml = Path(tempfile.mkdtemp(prefix="cb-fuzz-")) / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics",
           f"--junitxml={xml}", *FUZZ_TARGETS]
    out = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "CIRCLEBACK_FUZZ_EXAMPLES": str(examples)},
                         capture_output=True, text=True, check=False)
    add_fuzz(runs, out.stdout, read_junit(xml), examples, time.perf_counter() - started,
             f"CIRCLEBACK_FUZZ_EXAMPLES={examples} python -m pytest --hypothesis-show-statistics "
             + " ".join(FUZZ_TARGETS))


# -- the page ----------------------------------------------------------------------------------------------


def table(results: dict[str, tuple[str, str]]) -> tuple[list[str], dict[str, int]]:
    lines = ["| fault | " + " | ".join(CONNECTORS) + " |", "|---|" + "---|" * len(CONNECTORS)]
    totals = {"passed": 0, "failed": 0, "xfailed": 0, "skipped": 0, "n/a": 0, "untested": 0}
    for scenario in SCENARIOS:
        cells = []
        for connector in CONNECTORS:
            node = FAULTS.get((scenario, connector))
            if node is None and (scenario, connector) in UNTESTED:
                why = UNTESTED[(scenario, connector)].replace(chr(34), chr(39))
                cells.append(f'[?](#untested "no test yet: {why}")')
                totals["untested"] += 1
                continue
            if node is None:
                cells.append("—")
                totals["n/a"] += 1
                continue
            outcome, note, _ = cell_outcome(node, results)
            totals[outcome] += 1
            title = node + (f" ({outcome}: {note})" if note else "")
            cells.append(f'[{SYMBOL[outcome]}]({link(node)} "{title.replace(chr(34), chr(39))}")')
        lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return lines, totals


def figures(results: dict[str, tuple[str, str]], runs: dict[str, list[dict]]) -> str:
    """The last line: cell counts, cells without a result, and the smallest long-run counts on record."""
    _, totals = table(results)
    unrecorded = sum(cell_outcome(n, results)[1] == NOT_RUN for n in set(FAULTS.values()))
    kills = min((r["kills"] for r in runs["chaos"]), default=0)
    examples = min((r["examples"] for r in runs["fuzz"]), default=0)
    return (f"cells_passed={totals['passed']} cells_failed={totals['failed']} known_gaps={totals['xfailed']} "
            f"cells_skipped={totals['skipped']} cells_untested={totals['untested']} not_applicable={totals['n/a']} "
            f"unrecorded={unrecorded} chaos_backends={len(runs['chaos'])} chaos_kills_min={kills} "
            f"fuzz_targets={len(runs['fuzz'])} fuzz_examples_min={examples}")


def known_gaps(results: dict[str, tuple[str, str]]) -> list[str]:
    out = []
    for (scenario, connector), node in FAULTS.items():
        outcome, note, _ = cell_outcome(node, results)
        if outcome != "passed":
            out.append(f"- **{scenario} / {connector}** — {outcome}: {note} (`{node}`)")
    return out


def render(results: dict[str, tuple[str, str]], runs: dict[str, list[dict]], command: str) -> str:
    rows, totals = table(results)
    day = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "# Reliability: the fault matrix, chaos and fuzz figures",
        "",
        f"*Generated by `benchmarks/fault_matrix.py` on {day} from the test results; do not edit by hand.*",
        "",
        "## Fault matrix",
        "",
        "Each cell is one test (hover or follow the link for its node id): ✓ passed, ✗ failed or a known gap "
        "(strict xfail), ○ skipped on this machine, ? the fault can happen there but no test proves it yet "
        "(see below), — the fault cannot happen on that connector. "
        "The registry is `tests/support/fault_matrix.py`; `tests/system/test_fault_matrix.py` collects every "
        "node id in it.",
        "",
        *rows,
        "",
        f"Cells: {totals['passed']} ✓, {totals['failed'] + totals['xfailed']} ✗ "
        f"({totals['xfailed']} known gap(s)), {totals['skipped']} ○, {totals['untested']} ?, {totals['n/a']} —.",
        "",
    ]
    gaps = known_gaps(results)
    if gaps:
        parts += ["### Not passing", "", *gaps, ""]
    untested = [f"- **{s} / {c}** — {why}" for (s, c), why in UNTESTED.items()]
    parts += ['### <a id="untested"></a>No test yet', "",
              *(untested or ["None: every cell where the fault can happen names its test."]), ""]
    parts += ["### Not applicable", "", *[f"- {k}: {v}" for k, v in NOT_APPLICABLE.items()], ""]
    parts += ["## Chaos: SIGKILL and restart", "",
              "Daemon cycles forked and killed (SIGKILL at a random moment, or at a random checkpoint between "
              "every ledger commit and every draft-box write), restarted each time. After every kill: "
              "`PRAGMA integrity_check` ok, no duplicate draft by `X-Circleback-Key` nor by recipient+kind+period "
              "in the outbox, no draft without its intent, no intent marked drafted without its draft; after every "
              "completed restart: exactly the drafts, intents and interactions of one clean run "
              "(`tests/system/chaos/`). The default suite runs 3 kills per backend. maildir/ics runs the real CLI "
              "(`circleback run --once`) and dies at a checkpoint through `daemon/faults.py`'s hook (`os._exit`, "
              "as `CIRCLEBACK_CRASH_AFTER` does); the other backends run the engine in the forked child, which "
              "SIGKILLs itself at the checkpoint. Random-moment kills are real SIGKILLs from the parent. "
              "CalDAV has no draft box of its own: its backend pairs a real Radicale with a local Maildir "
              "that holds the mail and the drafts.", ""]
    if runs["chaos"]:
        parts += ["| backend | kills | at a checkpoint | at a random moment | restarts | drafts per run | time | "
                  "date | command |", "|---|---|---|---|---|---|---|---|---|"]
        for r in runs["chaos"]:
            parts.append(f"| {r['backend']} | {r['kills']:,} | {r['at_checkpoint']:,} | {r['at_random_time']:,} | "
                         f"{r['restarts']:,} | {r['clean_drafts']} | {r['seconds']:.0f} s | {r['date']} | "
                         f"`{r['command']}` |")
    else:
        parts.append("No long chaos run recorded yet.")
    parts += ["", "## Fuzz: header injection", ""]
    if runs["fuzz"]:
        parts += ["| target | examples asked | passing | failing | result | time | date |",
                  "|---|---|---|---|---|---|---|"]
        for r in runs["fuzz"]:
            parts.append(f"| `{r['test']}` | {r['examples']:,} | {r['passing']:,} | {r['failing']:,} | "
                         f"{r['outcome']} | {r['seconds']:,} s | {r['date']} |")
        parts += ["", "Commands:", ""] + sorted({f"    {r['command']}" for r in runs["fuzz"]})
    else:
        parts.append("No long fuzz run recorded yet.")
    parts += ["", "## Regenerate", "", "    " + command, "",
              "Long modes (each records its counts in `docs/reliability-runs.json`):", "",
              "    python benchmarks/fault_matrix.py --chaos-kills 1000            # every backend",
              "    python benchmarks/fault_matrix.py --chaos-kills 1000 --chaos-only local",
              "    python benchmarks/fault_matrix.py --fuzz-examples 100000", ""]
    return "\n".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chaos-kills", type=int, default=0, help="run the chaos long mode with N kills per backend")
    parser.add_argument("--chaos-only", default="", help="pytest -k expression to pick chaos backends")
    parser.add_argument("--fuzz-examples", type=int, default=0, help="run the fuzz targets with N examples")
    parser.add_argument("--add-chaos", type=Path, help="record a CIRCLEBACK_CHAOS_RESULTS file from a run by hand")
    parser.add_argument("--add-chaos-command", help="the command that produced --add-chaos",
                        default="CIRCLEBACK_CHAOS_KILLS=1000 python -m pytest tests/system/chaos -m chaos")
    parser.add_argument("--add-fuzz-log", type=Path, help="record a --hypothesis-show-statistics pytest log")
    parser.add_argument("--add-fuzz-seconds", type=float, default=0.0)
    parser.add_argument("--add-fuzz-command", default="")
    parser.add_argument("--skip-matrix", action="store_true", help="keep the last results (docs only)")
    parser.add_argument("--quick", action="store_true",
                        help="run no test and write nothing: the figures of the recorded results, and how many "
                             "registered cells have none (benchmarks/run_all's quick mode)")
    args = parser.parse_args()
    if args.quick:
        cache = RUNS.with_name("reliability-matrix.json")
        recorded = {k: tuple(v) for k, v in json.loads(cache.read_text()).items()} if cache.exists() else {}
        print(f"recorded results of {cache.relative_to(ROOT)}; rerun without --quick to test every cell")
        print(figures(recorded, load_runs()))  # type: ignore[arg-type]
        return 0

    runs = load_runs()
    if args.add_chaos:
        add_chaos(runs, args.add_chaos, args.add_chaos_command)
    if args.add_fuzz_log:
        text = args.add_fuzz_log.read_text()
        outcome = "passed" if re.search(r"\b\d+ passed\b", text) and " failed" not in text else "failed"
        outcomes = {n: (outcome, "") for n in FUZZ_TARGETS}
        add_fuzz(runs, text, outcomes, args.fuzz_examples, args.add_fuzz_seconds, args.add_fuzz_command)
    elif args.fuzz_examples:
        run_fuzz(runs, args.fuzz_examples)
    if args.chaos_kills:
        run_chaos(runs, args.chaos_kills, args.chaos_only)
    save_runs(runs)

    cache = RUNS.with_name("reliability-matrix.json")
    if args.skip_matrix and cache.exists():
        results = {k: tuple(v) for k, v in json.loads(cache.read_text()).items()}
    else:
        results = read_junit(run_pytest(sorted(set(FAULTS.values()))))
        cache.write_text(json.dumps(results, indent=0, sort_keys=True) + "\n")
    PAGE.write_text(render(results, runs, "python benchmarks/fault_matrix.py"))  # type: ignore[arg-type]
    failed = [n for n in set(FAULTS.values()) if cell_outcome(n, results)[0] == "failed"]  # type: ignore[arg-type]
    print(f"wrote {PAGE.relative_to(ROOT)}; {len(failed)} failing cell test(s)")
    print(figures(results, runs))  # type: ignore[arg-type]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
