"""The core on a large ledger: the due list, this cycle's plan, introduction suggestions, and `status` start-up.

    python benchmarks/core.py --quick     # 5,000 people, 100,000 interactions: well under a minute
    python benchmarks/core.py             # 50,000 people, 1,000,000 interactions

The ledger is synthetic and built with ``executemany`` in one transaction
(outside the timed part): a heavy-tailed number of interactions per person
(most people a handful, a few hundred people thousands), one message or
meeting in six with two to four of the user's contacts on it (so "mutual
contacts" and "already correspond" have joins to do), mail in threads,
subjects and meeting titles both specific and generic, three years of
history and a few meetings ahead. The config names 200 ``[[people]]`` (groups,
cadences, notes, ``offers``/``seeks`` from a shared vocabulary, a few
``keep_apart`` and ``do_not_contact``), applied with the real
``relations.apply_people``.

Timed, each the median of several runs on a warm page cache:

* ``due_list_s``: ``planner.assess`` - every person's standing, due or not, and priority;
* ``plan_s``: ``planner.plan_cycle`` - the above plus each due person's hook (mutual contacts only where
  they can decide it, and for this cycle's notes);
* ``suggestions_s``: ``intros.suggestions``;
* ``core_s`` = ``plan_s + suggestions_s`` (goal: under 2 s at full size);
* ``status_startup_ms``: wall time of ``python -m circleback.daemon.cli status --json`` on an empty
  ledger with the same config (interpreter start, imports, config validation; goal: under 300 ms);
  ``status_big_ms`` is the same command on the large ledger;
* ``import_ms``: the sum of ``python -X importtime`` self times for that command, and
  ``sdk_imports`` the number of provider SDKs (googleapiclient, msal, imapclient, caldav,
  requests, icalendar, httplib2) it imported - it should be 0.

Naive baselines, measured in the same run on the same ledger:

* due list: a per-person loop - one query per person for their addresses and one for all their
  interactions, with the last contact, counts and due test worked out in Python (same due rule,
  checked: ``due_mismatches`` must be 0);
* plan: ``planner.assess`` and who may get a note (``planner.mark_suggested``), then for every such
  due person one query for the latest meeting and one for the latest mail, and the hook from those
  (checked: ``hook_mismatches`` must be 0);
* suggestions: every ordered pair of people with ``offers``/``seeks``, each pair checked with
  per-pair queries (both people's last contact, "already correspond") before the tags are compared;
* start-up: the same ``status --json`` command with every connector module imported first, as a CLI
  that registered its connectors at import time would do; ``bare_python_ms`` (``python -c pass``)
  is the floor no change to circleback can go below.

The last line is ``key=value`` pairs; ``*_vs_naive`` is naive time / circleback time.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from circleback.daemon.config import Settings, load_settings
from circleback.daemon.core.contacts import apply_people
from circleback.daemon.core.intros import _canonical_tags, normalise, suggestions
from circleback.daemon.core.planner import Hook, _pick_hook, assess, mark_suggested, plan_cycle
from circleback.daemon.store.ledger import Ledger
from circleback.daemon.store.timestamps import iso, parse_iso

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HISTORY = timedelta(days=3 * 365)
ME = "me@home.example"
CONFIGURED = 200
SDKS = ("googleapiclient", "msal", "imapclient", "caldav", "requests", "icalendar", "httplib2")
CONNECTOR_MODULES = ("maildir", "mbox", "ics", "imap", "caldav", "microsoft.outlook", "google.gmail", "google.calendar")
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
         "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rafael", "Sofia", "Tomás", "Uma", "Viktor", "Wen", "Yara"]
LAST = ["Abara", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ivanova", "Jensen",
        "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrova", "Rossi", "Schmidt", "Tanaka"]
SPECIFIC = ["Trail map for the Dolomites", "Your talk at PyCon", "Seed round deck", "Kitchen renovation",
            "The Lisbon offsite", "Draft of chapter 3", "Hiring a data engineer", "Marathon training plan",
            "Grant proposal review", "Wedding photos", "Board meeting notes", "Berlin apartment"]
GENERIC = ["Re: hi", "Quick question", "Catch-up", "Re: Re: update", "Thanks!", "1:1", "Call"]
TAGS = ["seed funding", "fundraising", "ux research", "user research", "hiring", "recruiting", "mentoring",
        "engineering", "design", "marketing", "legal advice", "sales", "product management", "data science",
        "climbing partners", "housing in berlin", "public speaking", "grant writing", "translation", "investors"]


def _sql(ledger: Ledger) -> sqlite3.Connection:
    """The ledger's private connection: the synthetic ledger and the naive baselines are raw SQL on purpose."""
    return ledger._conn


# -- building the ledger ----------------------------------------------------------------------


def _person_weights(rng: random.Random, n: int) -> list[float]:
    """Heavy-tailed: most people weigh about 1, a few weigh hundreds (Pareto, alpha 1.3)."""
    return [min(rng.paretovariate(1.3), 2000.0) for _ in range(n)]


def _stamps(rng: random.Random, count: int) -> list[str]:
    """``count`` past timestamps as ledger text; recent months busier than three years ago."""
    base = NOW.timestamp()
    span = HISTORY.total_seconds()
    return [
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base - span * (1 - rng.triangular(0, 1, 0.9))))
        for _ in range(count)
    ]


def _interactions(rng: random.Random, people: int, total: int) -> list[tuple[str, str, int, str, str, str, str]]:
    """``total`` interaction rows; every person has at least one (the ledger only knows people it saw)."""
    cum = list(itertools.accumulate(_person_weights(rng, people)))
    mains = list(range(1, people + 1)) + rng.choices(range(1, people + 1), cum_weights=cum, k=total)
    stamps = _stamps(rng, min(total, 400_000))  # formatting a million stamps would be most of the build
    titles = SPECIFIC + GENERIC
    upcoming = [iso(NOW + timedelta(days=d, hours=h)) for d in range(1, 61) for h in range(8, 18)]
    rows: list[tuple[str, str, int, str, str, str, str]] = []
    random_ = rng.random
    for n, main in enumerate(mains):
        if len(rows) >= total:
            break
        kind = random_()
        channel = "sent" if kind < 0.30 else "received" if kind < 0.85 else "met"
        party = [main]
        if channel != "received" and random_() < 1 / 6:
            # Colleagues of one circle: neighbours in id order share threads and meetings.
            party += {min(people, max(1, main + rng.randint(-40, 40))) for _ in range(rng.randint(1, 3))} - {main}
        title = titles[int(random_() * len(titles))]
        if channel == "met":
            account, source = "cal", f"ev{n}"
            stamp = upcoming[int(random_() * len(upcoming))] if random_() < 0.03 else stamps[n % len(stamps)]
            thread = source
        else:
            account, source = "mail", f"<m{n}@bench.example>"
            stamp, thread = stamps[n % len(stamps)], f"t{main}-{int(random_() * 8)}"
        rows += [(account, source, pid, channel, stamp, thread, title) for pid in party]
    return rows[:total]


def _config(rng: random.Random, people: int, path: Path) -> list[int]:
    """Write the config; return the person ids it names (as ``[[people]]`` entries)."""
    ids = sorted(rng.sample(range(1, people + 1), min(CONFIGURED, people)))
    lines = [
        "[me]", 'name = "Alex Morgan"', f'addresses = ["{ME}"]', 'timezone = "Europe/Berlin"', "",
        "[cadence]", 'default = "91d"', 'groups = { family = "14d", friends = "30d", colleagues = "60d" }',
        "weights = { family = 3.0, friends = 2.0 }", "",
        "[drafting]", "budget_per_week = 5", "",
        "[intros]", "warm_within = 3.0", 'synonyms = { "housing in berlin" = ["berlin flats"] }', "",
    ]
    for k, pid in enumerate(ids):
        name = f"{FIRST[pid % len(FIRST)]} {LAST[pid % len(LAST)]} {pid}"
        lines += ["[[people]]", f'name = "{name}"', f'emails = ["{address(pid)}"]']
        lines.append(f'group = "{("family", "friends", "colleagues", "")[k % 4]}"')
        if k % 3 == 0:
            lines.append(f'note = "{rng.choice(SPECIFIC)}"')
        if k % 10 < 7:
            lines.append(f"offers = {_tags(rng)}")
            lines.append(f"seeks = {_tags(rng)}")
        if k % 25 == 0:
            lines.append(f'keep_apart = ["{address(ids[(k + 1) % len(ids)])}"]')
        if k % 40 == 0:
            lines.append("do_not_contact = true")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return ids


def _tags(rng: random.Random) -> str:
    return "[" + ", ".join(f'"{t}"' for t in rng.sample(TAGS, rng.randint(1, 3))) + "]"


def address(pid: int) -> str:
    return f"p{pid}@d{pid % 997}.example"


def build(root: Path, people: int, total: int) -> tuple[Path, Settings]:
    rng = random.Random(8)
    config = root / "config.toml"
    _config(rng, people, config)
    settings = load_settings(config, environ=False)
    rows = _interactions(rng, people, total)
    rows.sort()  # primary-key order: the table's B-tree is appended to, not split at random
    ledger = Ledger.open(root / "state" / "ledger.sqlite3")
    _sql(ledger).execute("PRAGMA cache_size = -262144")  # 256 MiB for this connection: the index fits
    created = iso(NOW - HISTORY)
    c = _sql(ledger)
    with ledger.transaction():
        c.executemany(
            "INSERT INTO people (id, name, created_at) VALUES (?, ?, ?)",
            ((pid, f"{FIRST[pid % len(FIRST)]} {LAST[pid % len(LAST)]}", created) for pid in range(1, people + 1)),
        )
        c.executemany(
            "INSERT INTO addresses (address, person_id, display_name) VALUES (?, ?, '')",
            ((address(pid), pid) for pid in range(1, people + 1)),
        )
        c.executemany(
            "INSERT INTO interactions (account, source_id, person_id, channel, at, thread, title) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    apply_people(ledger, settings)
    _sql(ledger).execute("ANALYZE")  # what `PRAGMA optimize` would leave behind on a long-lived ledger
    ledger.close()
    return config, settings


# -- naive baselines ----------------------------------------------------------------------------


def naive_due_list(ledger: Ledger, settings: Settings, now: datetime) -> list[tuple[int, bool, float]]:
    """(person id, due, priority) by one query per person and Python for the rest."""
    profiles = {e: p for p in settings.people for e in p.emails}
    window = settings.drafting.upcoming_window
    out = []
    for pid, configured in _sql(ledger).execute("SELECT id, configured FROM people").fetchall():
        addrs = [a for (a,) in _sql(ledger).execute("SELECT address FROM addresses WHERE person_id = ?", (pid,))]
        last: dict[str, datetime] = {}
        counts = {"sent": 0, "received": 0, "met": 0}
        upcoming = None
        for channel, at_text in _sql(ledger).execute(
            "SELECT channel, at FROM interactions WHERE person_id = ?", (pid,)
        ):
            at = parse_iso(at_text)
            assert at is not None
            if channel == "met" and at > now:
                upcoming = at if upcoming is None else min(upcoming, at)
                continue
            counts[channel] += 1
            last[channel] = max(last.get(channel, at), at)
        profile = next((profiles[a] for a in addrs if a in profiles), None)
        if not (configured or counts["sent"] or counts["met"]):
            continue
        cadence = settings.cadence.default
        if profile and profile.cadence:
            cadence = profile.cadence
        elif profile and profile.group in settings.cadence.groups:
            cadence = settings.cadence.groups[profile.group]
        contact = max(last.values()) if last else None
        overdue = (now - contact) / cadence if contact else 1.0
        due = not (profile and profile.do_not_contact) and (contact is None or contact + cadence <= now)
        due = due and not (upcoming and upcoming <= now + window)
        weight = settings.cadence.weights.get(profile.group if profile else "", 1.0)
        out.append((pid, due, overdue * weight))
    out.sort(key=lambda r: (not r[1], -r[2]))
    return out


def naive_hooks(ledger: Ledger, settings: Settings, now: datetime) -> dict[int, Hook | None]:
    """Every due person's hook from per-person queries (the latest meeting and mail of each), then
    who may be written to (``planner.mark_suggested``)."""
    standings = assess(ledger, settings, now)
    due = [s for s in standings if s.due]
    for s in due:
        met, mail = (
            _sql(ledger).execute(
                f"SELECT title, at FROM interactions WHERE person_id = ? AND channel IN ({channels}) AND at <= ? "
                "ORDER BY at DESC, title DESC LIMIT 1",
                (s.contact.person_id, iso(now)),
            ).fetchone()
            for channels in ("'met'", "'sent', 'received'")
        )
        s.hook = _pick_hook(ledger, s, met, mail, now)
    mark_suggested(ledger, settings, due, now, hooked_only=True)
    return {s.contact.person_id: s.hook if s.contact.greeting_name else None for s in due if not s.suggested}


def naive_suggestions(ledger: Ledger, settings: Settings, now: datetime) -> int:
    """Every ordered pair, each checked with per-pair queries first; returns the pairs found."""
    conn = _sql(ledger)
    table = _canonical_tags(settings)
    people = []
    for p in settings.people:
        if p.emails and (p.offers or p.seeks) and not p.do_not_contact:
            (pid,) = conn.execute("SELECT person_id FROM addresses WHERE address = ?", (p.emails[0],)).fetchone()
            people.append((pid, p))
    found = 0
    for a, pa in people:
        for b, pb in people:
            if a == b:
                continue
            warm = []
            for pid, p in ((a, pa), (b, pb)):
                (last,) = conn.execute(
                    "SELECT MAX(at) FROM interactions WHERE person_id = ? AND at <= ?", (pid, iso(now))
                ).fetchone()
                cadence = p.cadence or settings.cadence.groups.get(p.group, settings.cadence.default)
                warm.append(last is not None and now - parse_iso(last) <= cadence * settings.intros.warm_within)
            together = conn.execute(
                "SELECT 1 FROM interactions x JOIN interactions y ON x.account = y.account "
                "AND x.source_id = y.source_id WHERE x.person_id = ? AND y.person_id = ? LIMIT 1", (a, b)
            ).fetchone()
            tags = {normalise(t, table) for t in pa.seeks} & {normalise(t, table) for t in pb.offers}
            if all(warm) and together is None and tags:
                found += 1
    return found


# -- timing ----------------------------------------------------------------------------------------


def best_of(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median wall time of ``runs`` calls, and the last result.

    The previous call's result is let go first: a daemon cycle holds one plan, and a
    second 50,000-person result alive makes every garbage collection inside the timed
    call walk it too (a tenth of ``plan_s`` at full size).
    """
    times, result = [], None
    for _ in range(runs):
        result = None
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run_cli(args: list[str], prelude: str = "") -> float:
    """Wall seconds of one ``status``-style subprocess (``prelude``: Python run before the CLI)."""
    if prelude:
        code = f"{prelude}; import runpy, sys; sys.argv = ['circleback', *sys.argv[1:]]; " \
               "runpy.run_module('circleback.daemon.cli.root', run_name='__main__')"
        cmd = [sys.executable, "-c", code, *args]
    else:
        cmd = [sys.executable, "-m", "circleback.daemon.cli", *args]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the empty ledger's hint
    return time.perf_counter() - started


def import_profile(args: list[str]) -> tuple[float, list[str], list[tuple[float, str]]]:
    """(total import ms, provider SDKs imported, the costliest top-level imports) from -X importtime."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "circleback.daemon.cli", *args],
                          check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    total, sdks, top = 0.0, set(), []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        total += int(m[1]) / 1000
        name = m[4]
        if name.split(".")[0] in SDKS:
            sdks.add(name.split(".")[0])
        if not m[3].strip() and len(m[3]) == 1:
            top.append((int(m[2]) / 1000, name))
    return total, sorted(sdks), sorted(top, reverse=True)[:6]


def startup(root: Path, config: Path, runs: int) -> dict[str, Any]:
    empty = ["--config", str(config), "--state-dir", str(root / "empty-state"), "-q", "status", "--json"]
    big = ["--config", str(config), "--state-dir", str(root / "state"), "-q", "status", "--json"]
    run_cli(empty)  # creates the empty ledger and warms the page cache
    eager = "import " + ", ".join(f"circleback.connectors.{m}" for m in CONNECTOR_MODULES)
    bare = statistics.median(_wall([sys.executable, "-c", "pass"]) for _ in range(runs))
    ours = statistics.median(run_cli(empty) for _ in range(runs))
    naive = statistics.median(run_cli(empty, eager) for _ in range(runs))
    big_ms = statistics.median(run_cli(big) for _ in range(max(1, runs // 3)))
    imports = [import_profile(empty) for _ in range(max(1, runs // 2))]
    import_ms = statistics.median(t for t, _, _ in imports)
    return {"bare_python_ms": bare * 1000, "status_startup_ms": ours * 1000, "naive_startup_ms": naive * 1000,
            "status_big_ms": big_ms * 1000, "import_ms": import_ms, "sdks": imports[-1][1],
            "top_imports": imports[-1][2]}


def _wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


# -- the report ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 people and 100,000 interactions")
    parser.add_argument("--people", type=int, help="default 50,000 (quick: 5,000)")
    parser.add_argument("--interactions", type=int, help="default 1,000,000 (quick: 100,000)")
    args = parser.parse_args(argv)
    people = args.people or (5_000 if args.quick else 50_000)
    total = args.interactions or (100_000 if args.quick else 1_000_000)
    runs = 3 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="circleback-core-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        config, settings = build(root, people, total)
        build_s = time.perf_counter() - started
        print(f"ledger: {people:,} people, {total:,} interactions, {len(settings.people)} configured; "
              f"built in {build_s:.1f}s", flush=True)
        ledger = Ledger.open(root / "state" / "ledger.sqlite3")
        due_s, standings = best_of(lambda: assess(ledger, settings, NOW), runs)
        ours_due = {s.contact.person_id for s in standings if s.due}
        standings_count = len(standings)
        del standings  # not alive while the plan is timed (see best_of)
        plan_s, plan = best_of(lambda: plan_cycle(ledger, settings, NOW), runs)
        planned = [n.standing for n in plan.notes] + plan.needs_note + plan.over_budget
        hooks = {s.contact.person_id: s.hook for s in planned}
        sugg_s, found = best_of(lambda: suggestions(ledger, settings, NOW), runs)
        naive_plan_s, naive_hooked = best_of(lambda: naive_hooks(ledger, settings, NOW), 1)
        # The plan keeps one ledger person per real person (same_person_marks): compare those it kept.
        hook_mismatches = sum(naive_hooked.get(pid, "missing") != hook for pid, hook in hooks.items())
        naive_due_s, naive = best_of(lambda: naive_due_list(ledger, settings, NOW), 1)
        naive_sugg_s, naive_found = best_of(lambda: naive_suggestions(ledger, settings, NOW), 1)
        ledger.close()
        mismatches = len(ours_due ^ {pid for pid, due, _ in naive if due})
        due_count = len(ours_due)
        print(f"due list: {standings_count:,} standings, {due_count:,} due, in {due_s:.3f}s "
              f"(naive per-person loop {naive_due_s:.3f}s, {naive_due_s / due_s:.1f}x; {mismatches} mismatches)")
        print(f"plan: {len(plan.notes)} notes, {len(plan.needs_note):,} need a note, "
              f"{len(plan.over_budget):,} over budget, in {plan_s:.3f}s (naive per-person hooks "
              f"{naive_plan_s:.3f}s, {naive_plan_s / plan_s:.1f}x; {hook_mismatches} hook mismatches)")
        print(f"suggestions: {len(found)} in {sugg_s:.3f}s (naive pair loop: {naive_found} pairs in "
              f"{naive_sugg_s:.3f}s, {naive_sugg_s / sugg_s:.1f}x)")
        s = startup(root, config, 5 if args.quick else 9)
    print(f"status --json: {s['status_startup_ms']:.0f} ms on an empty ledger, {s['status_big_ms']:.0f} ms on this "
          f"one; python -c pass {s['bare_python_ms']:.0f} ms; every connector imported eagerly "
          f"{s['naive_startup_ms']:.0f} ms; imports {s['import_ms']:.0f} ms (-X importtime); "
          f"provider SDKs imported: {', '.join(s['sdks']) or 'none'}")
    print("costliest top-level imports: " + ", ".join(f"{name} {ms:.0f} ms" for ms, name in s["top_imports"]))
    figures: dict[str, Any] = {
        "people": people, "interactions": total, "build_s": build_s, "due": due_count,
        "due_list_s": due_s, "naive_due_list_s": naive_due_s, "due_list_vs_naive": naive_due_s / due_s,
        "due_mismatches": mismatches, "plan_s": plan_s, "naive_plan_s": naive_plan_s,
        "plan_vs_naive": naive_plan_s / plan_s, "hook_mismatches": hook_mismatches,
        "suggestions_s": sugg_s, "suggestions": len(found),
        "naive_suggestions_s": naive_sugg_s, "suggestions_vs_naive": naive_sugg_s / sugg_s,
        "core_s": plan_s + sugg_s, "status_startup_ms": s["status_startup_ms"],
        "naive_startup_ms": s["naive_startup_ms"], "startup_vs_naive": s["naive_startup_ms"] / s["status_startup_ms"],
        "bare_python_ms": s["bare_python_ms"], "status_big_ms": s["status_big_ms"], "import_ms": s["import_ms"],
        "sdk_imports": len(s["sdks"]),
    }
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    return 1 if mismatches or hook_mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
